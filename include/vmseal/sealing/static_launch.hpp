// `vmseal run` for a statically linked program (static or static-pie: no
// PT_INTERP, so no loader to preload into). The program keeps vmseal's pid:
// vmseal starts a sealer process beside itself (a grandchild, re-parented at
// once, so the program never has a child it did not make), which seizes
// vmseal with ptrace (PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL); vmseal then
// execs the program. At the exec stop, before the program's first
// instruction, the sealer applies the preload's plan (plan.hpp) to the
// program's image through injected mseal calls (tracee.hpp): text, rodata,
// the gaps, and under `strict` the vDSO and vvar. It then lets the program's
// start-up run, stopping at each system call exit (PTRACE_SYSCALL: about a
// dozen in a static glibc program), until the program's libc makes RELRO
// read-only (glibc's _dl_protect_relro in _dl_non_dynamic_init). For a libc
// that never does (musl), RELRO is final once the program has relocated
// itself, before its first system call: vmseal makes it read-only there, as
// a loader would. RELRO is then replaced by a read-only anonymous copy and
// sealed, data, bss and the stack under `strict`, and the sealer detaches and
// exits. Nothing stays attached; the program's pid, stdio, signals, exit
// status and children are its own.
//
// A Go program that loads no library (-buildmode=pie with CGO_ENABLED=0:
// PT_INTERP, no DT_NEEDED, the Go runtime's own entry) goes the same way:
// the kernel maps it and ld.so, the exec stop seals its text, rodata and
// gaps, and its RELRO point is ld.so's mprotect(PROT_READ) of its RELRO.
// The holes the kernel leaves between a program's segments (ld.so reserves
// a library's PROT_NONE; the kernel maps nothing there) are reserved
// PROT_NONE by the sealer and sealed, as ld.so would have them.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "vmseal/sealing/plan.hpp"
#include "vmseal/sealing/relro.hpp"

namespace vmseal::sealing {

struct StaticSealSettings {
  Profile profile = Profile::Default;
  std::vector<std::string> opt_out;
  RelroMode relro = RelroMode::Anonymous;  // Memfd is sealed as Anonymous (a note says so)
  RelroMode text = RelroMode::File;
  bool dry_run = false;
  std::string report;  // absolute; "%p" becomes the pid
  bool enforce = false;
};

// The exit status of a program that --enforce stops because a planned range
// could not be sealed (the preload's too).
inline constexpr int kStaticEnforceExit = 125;

// Starts the sealer for this process and waits until it has seized it.
// Returns 0 when the next exec of this process will be sealed; otherwise an
// errno, with `why` saying what refused (explain_ptrace_refusal()), and no
// sealer left behind. Call it last before execv.
int start_static_sealer(const StaticSealSettings& settings, std::string* why);

// What the sealer found out about a static program's start-up: how its libc
// treats RELRO, decided from the file (read-only data naming
// GLIBC_TUNABLES: glibc, which mprotects RELRO itself; else a Go build ID
// note: the Go runtime, which has no RELRO when Go links it statically and
// never changes the protection of its image; else another libc, musl).
enum class StaticLibc : std::uint8_t { Glibc, Go, Other };
StaticLibc static_libc_of(const std::string& path);

class Tracee;

// The sealer's work on a process `tracee` has seized, stopped at its exec
// (PTRACE_EVENT_EXEC), up to its detach. Returns 0 when sealed as planned
// (or a dry run), 1 when a range could not be sealed (said on stderr and in
// the report; under --enforce the program is made to exit 125 first), 2
// when the program exited or exec'd before its start-up was done.
int seal_static_process(Tracee& tracee, pid_t pid, const StaticSealSettings& settings);

}  // namespace vmseal::sealing
