// What `vmseal run` (and `vmseal predict`) must know before it execs a
// program through the preload: which ELF file the kernel will really load
// (following `#!` lines as binfmt_script does), and every reason the preload
// could not seal it. Each reason is decided the way the kernel and glibc's
// loader decide it, so that `--enforce` refuses exactly the programs that
// would otherwise run their own code unsealed.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vmseal::sealing {

enum class LaunchObstacle {
  None,
  Unreadable,     // the caller cannot read a file of the chain: nothing can be checked
  NotElf,         // the kernel would not run it as ELF or script (left to the kernel)
  Static,         // no PT_INTERP: no loader to preload into
  SecureExec,     // AT_SECURE for this caller: the loader ignores LD_PRELOAD
  ForeignLoader,  // PT_INTERP is not glibc's ld.so: the preload (glibc) cannot load
  NoStartHook,    // the entry is not glibc's _start: the preload may never reach main
  Audit,          // DT_AUDIT, DT_DEPAUDIT or LD_AUDIT: an audit library may veto the preload
  TooDeep,        // more nested `#!` interpreters than the kernel follows
  // A Go program with no library to load (-buildmode=pie, CGO_ENABLED=0):
  // glibc's ld.so relocates it and protects its RELRO, then jumps to the Go
  // runtime's entry; no libc, no __libc_start_main for the preload to wrap.
  GoRuntime,
};
const char* launch_obstacle_name(LaunchObstacle o) noexcept;

// Whether `vmseal run` seals a program with this obstacle from outside,
// through ptrace (static_launch.hpp), rather than through the preload:
// static programs and Go programs that load no library.
bool sealed_through_ptrace(LaunchObstacle o) noexcept;

struct LaunchPlan {
  std::string program;                    // the file given to exec
  std::vector<std::string> interpreters;  // `#!` interpreters, outermost first
  std::string loaded;                     // the ELF file the kernel loads in the end
  LaunchObstacle obstacle = LaunchObstacle::None;
  std::string why;  // a sentence for the user ("" when no obstacle)
  // Sealable, but the file sealed is a launcher that execs the real program
  // (`#!/usr/bin/env python3`): without --follow-exec only it is sealed.
  bool execs_another = false;
};

// Follows `program`'s `#!` chain and checks the ELF file at its end. Reads
// files only; runs nothing.
LaunchPlan plan_launch(const std::string& program);

// Whether exec of `path` by this process would set AT_SECURE (glibc's loader
// then ignores LD_PRELOAD): the set-user-ID and set-group-ID bits as the
// kernel applies them (not on a nosuid mount, not under no_new_privs, the
// group bit only with group execute), and file capabilities, judged against
// this process's real and effective IDs. `why` says which.
bool secure_exec_for_caller(const std::string& path, std::string* why);

// Whether `path` is a vmseal preload library of this machine's kind: an ELF
// shared object for this class and machine that defines the preload's marker
// symbol. Anything else would load (or fail to load) and seal nothing.
bool is_vmseal_preload(const std::string& path, std::string* why);

// The marker symbol the preload defines (src/preload/preload.cpp).
inline constexpr const char* kPreloadMarker = "vmseal_preload_abi_1";

// What a launcher asks of the preload (vmseal run's and predict's options).
struct PreloadSettings {
  std::string profile = "default";
  std::vector<std::string> opt_out;  // globs; none may contain ':'
  std::string relro;                 // "" : the preload's default
  std::string text;
  bool dry_run = false;
  std::string report;  // absolute
  bool enforce = false;
  bool follow_exec = false;
  std::string script;       // the #! script whose interpreter is run (VMSEAL_SCRIPT)
  std::string predict_dir;  // predict's snapshot directory (VMSEAL_PREDICT)
};

// The environment that starts a program with `preload` and `settings`
// (preload_env.hpp), in a fixed order: LD_PRELOAD first (with `inherited_ld_preload`
// after the preload), then only the variables the settings need. A launcher
// drops every other inherited VMSEAL_* variable: the settings alone decide
// what is sealed.
// The names of the VMSEAL_* variables in `envp` (the caller's environment):
// what a launcher removes before it sets the settings' own.
std::vector<std::string> inherited_contract_variables(char** envp);

std::vector<std::pair<std::string, std::string>> preload_environment(
    const std::string& preload, const PreloadSettings& settings, const char* inherited_ld_preload);

}  // namespace vmseal::sealing
