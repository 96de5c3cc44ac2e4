// vmseal run: starts a program with libvmseal_preload.so, which seals its
// loaded images the way OpenBSD's ld.so does (src/preload/preload.cpp). This
// side checks what can be checked before the exec (the program exists, is
// dynamically linked and not setuid; mseal works), turns the options into
// the preload's environment and replaces itself with the program: no extra
// process stays around, so signals and exit status are the program's own.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "manual.hpp"
#include "vmseal/kernel/syscalls.hpp"
#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/launch.hpp"
#include "vmseal/sealing/plan.hpp"
#include "vmseal/sealing/preload_env.hpp"
#include "vmseal/sealing/safe_file.hpp"
#include "vmseal/sealing/static_launch.hpp"
#include "vmseal/version.hpp"

extern char** environ;

namespace vmseal::cli {
namespace {

namespace fs = std::filesystem;

void warn(const std::string& msg) { std::fprintf(stderr, "vmseal run: %s\n", msg.c_str()); }

}  // namespace

// Where `name` is found, as execvp would find it; "" when nowhere.
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  const std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t pos = 0;
  while (pos <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', pos), dirs.size());
    const std::string dir = end > pos ? dirs.substr(pos, end - pos) : ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0)
      return candidate;
    pos = end + 1;
  }
  return "";
}

// The libvmseal_preload.so beside this binary (the build tree) or where the
// installation put it relative to this binary (kPreloadFromBindir:
// PREFIX/bin/vmseal, PREFIX/LIBDIR/vmseal/libvmseal_preload.so).
// Never from the environment: an inherited variable must not choose the
// library that loads into every program vmseal runs.
std::string find_preload(const std::string& given) {
  if (!given.empty()) return fs::absolute(given).string();
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const fs::path dir = self.parent_path();
  for (const fs::path& candidate : {dir / "libvmseal_preload.so", dir / kPreloadFromBindir}) {
    if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  }
  return "";
}

// Why a preload cannot work in the program, or "" when it can
// (sealing::plan_launch: the `#!` chain, AT_SECURE, static, the loader, the
// start-up hook). A file that is not ELF is left to the kernel.
std::string why_preload_cannot_run(const std::string& program) {
  const sealing::LaunchPlan plan = sealing::plan_launch(program);
  return plan.obstacle == sealing::LaunchObstacle::NotElf ? "" : plan.why;
}

namespace {

void write_unsealed_report(const RunOptions& o, const std::string& reason) {
  if (o.report.empty()) return;
  nlohmann::json j;
  j["vmseal"] = kVersion;
  j["profile"] = o.profile;
  j["sealed_before_main"] = false;
  j["reason"] = reason;
  j["objects"] = nlohmann::json::array();
  const std::string text = j.dump(2) + "\n";
  if (const int err = sealing::write_file_safely(o.report.c_str(), text.data(), text.size());
      err != 0)
    warn("cannot write the report " + o.report + ": " +
         (err == EEXIST ? "it exists as a symlink or another user's file" : std::strerror(err)));
}

}  // namespace

void add_plan_options(CLI::App* cmd, std::string& profile, std::vector<std::string>& opt_out) {
  cmd->add_option("--profile", profile,
                  "minimal (text), default (text, rodata, RELRO, gaps) or strict (also data, bss, "
                  "the stack, [vdso], [vvar])")
      ->check(CLI::IsMember({"minimal", "default", "strict"}));
  cmd->add_option("--opt-out", opt_out,
                  "leave objects whose path or file name matches this glob alone (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

CLI::App* add_run(CLI::App& app, RunOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run a program with its loaded images sealed the way OpenBSD's ld.so seals them: text, "
      "rodata,\n"
      "RELRO (first copied to anonymous memory, so no madvise can discard it), the gaps between\n"
      "segments, the loader, preloads and NODELETE objects, after relocation and the "
      "initialisers,\n"
      "before main. A dynamic program is sealed by a preload; a static or static-pie one (glibc, "
      "musl,\n"
      "Go), or a Go program that loads no library (-buildmode=pie), from outside, through ptrace,\n"
      "during its start-up only (nothing stays attached). Where neither can work it runs "
      "unsealed\n"
      "with a warning, or not at all under --enforce.");
  add_plan_options(cmd, opts.profile, opts.opt_out);
  cmd->add_option("--relro", opts.relro,
                  "what RELRO becomes before its seal: anon (a read-only anonymous copy: no "
                  "madvise can discard it; "
                  "the default), memfd (a write-sealed memfd copy, named in maps; userfaultfd can "
                  "still write it) "
                  "or file (as mapped: discardable)")
      ->check(CLI::IsMember({"anon", "memfd", "file"}));
  cmd->add_option("--text", opts.text,
                  "what sealed text and rodata become: file (as mapped, the default) or anon "
                  "(private copies: "
                  "closes MADV_DONTFORK and MADV_GUARD_INSTALL on them, costs their memory); "
                  "objects on tmpfs are "
                  "always copied")
      ->check(CLI::IsMember({"anon", "file"}));
  cmd->add_flag("--dry-run", opts.dry_run,
                "print the plan on stderr when the program starts and seal nothing");
  cmd->add_option("--report", opts.report,
                  "write a JSON report of what was sealed and why the rest was not ('%p': the "
                  "pid); never through a "
                  "symlink or over another user's file");
  cmd->add_flag("--enforce", opts.enforce,
                "refuse to run the program when it cannot be sealed as asked");
  cmd->add_flag("--follow-exec", opts.follow_exec,
                "seal the programs it executes too (seals never survive exec); a static program "
                "started by a static one is not sealed");
  cmd->add_option("--argv0", opts.argv0,
                  "the argv[0] the program gets (default: PROGRAM as given), as exec -a does");
  cmd->add_option("--preload", opts.preload,
                  "the preload library (default: the one installed with vmseal); refused unless it "
                  "is a vmseal preload");
  cmd->add_flag(
      "--print-env", opts.print_env,
      "print the environment that seals a program (for a systemd unit) instead of running one");
  // main() takes everything after "--" away before CLI11 parses, so the
  // program's arguments are never read as vmseal's; without "--" the program
  // and its arguments may not look like options.
  cmd->add_option("command", opts.command, "the program and its arguments (best after --)");
  cmd->footer("vmseal run [OPTIONS] -- PROGRAM [ARGS...]\n\n" + exit_status_footer("run"));
  return cmd;
}

namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

// The preload's environment for these options (sealing::preload_environment).
Env preload_environment(const RunOptions& o, const std::string& preload) {
  sealing::PreloadSettings settings;
  settings.profile = o.profile;
  settings.opt_out = o.opt_out;
  settings.relro = o.relro;
  settings.text = o.text;
  settings.dry_run = o.dry_run;
  if (!o.report.empty()) settings.report = fs::absolute(o.report).string();
  settings.enforce = o.enforce;
  settings.follow_exec = o.follow_exec;
  return sealing::preload_environment(preload, settings, std::getenv("LD_PRELOAD"));
}

// The launcher owns the preload's environment: a VMSEAL_* variable inherited
// from the caller (VMSEAL_OPT_OUT='*', VMSEAL_PREDICT, ...) must never change
// what is sealed, so every one is dropped before the options' are set.
void drop_inherited_environment() {
  for (const std::string& name : sealing::inherited_contract_variables(environ))
    unsetenv(name.c_str());
}

void own_environment(const Env& env) {
  drop_inherited_environment();
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
}

// The preload to use, checked: a library that is not vmseal's would load (or
// fail to load) and seal nothing, and `--enforce` could not tell.
int check_preload(const std::string& preload) {
  if (preload.empty() || access(preload.c_str(), R_OK) != 0) {
    warn("cannot find the preload library libvmseal_preload.so" +
         (preload.empty() ? std::string() : " (" + preload + ")") + "; give it with --preload");
    return kRunFailed;
  }
  if (std::string why; !sealing::is_vmseal_preload(preload, &why)) {
    warn(why + "; not running the program");
    return kRunFailed;
  }
  return kOk;
}

// What --dry-run says before the program starts: which file is sealed.
void describe_launch(const sealing::LaunchPlan& plan) {
  if (plan.interpreters.empty()) return;
  std::string chain;
  for (const std::string& i : plan.interpreters) chain += " -> " + i;
  warn(plan.program + " is a #! script (" + plan.program + chain + "): the kernel runs " +
       plan.loaded + ", and that is what the preload seals");
}

// The preload's variables are ':'-separated: a glob cannot hold one.
bool opt_out_globs_valid(const RunOptions& o) {
  for (const std::string& g : o.opt_out)
    if (g.find(':') != std::string::npos) {
      warn("an opt-out glob cannot contain ':' (" + g + ")");
      return false;
    }
  return true;
}

// Replaces this process with the program; returns only when execv fails.
int exec_program(const std::string& program, const std::vector<std::string>& command,
                 const std::optional<std::string>& argv0) {
  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  if (argv0) argv[0] = const_cast<char*>(argv0->c_str());
  argv.push_back(nullptr);
  execv(program.c_str(), argv.data());
  const int e = errno;
  warn(program + ": " + std::strerror(e));
  return e == ENOENT ? kNotFound : kNotExecutable;
}

// Nothing to preload into, or no mseal: the program runs unchanged with
// one warning, unless --enforce, which exits with `enforce_code`.
int cannot_seal(const RunOptions& o, const std::string& program, const std::string& why,
                int enforce_code) {
  if (o.enforce) {
    warn(why + "; not running the program (--enforce)");
    return enforce_code;
  }
  warn(why + "; running the program unsealed");
  write_unsealed_report(o, why);
  drop_inherited_environment();
  return exec_program(program, o.command, o.argv0);
}

// What the options and the launch plan deserve a word about before the run.
void warn_about_launch(const RunOptions& o, const sealing::LaunchPlan& plan) {
  if (o.dry_run) describe_launch(plan);
  if (plan.execs_another && !o.follow_exec)
    warn(plan.program + " starts through " + plan.loaded +
         ", which execs the real interpreter: without "
         "--follow-exec only " +
         plan.loaded + " is sealed");
}

// What the plan's obstacle makes of the run: its exit status, or nothing
// when the program is to run with the preload.
std::optional<int> obstacle_status(const RunOptions& o, const std::string& program,
                                   const sealing::LaunchPlan& plan) {
  switch (plan.obstacle) {
    case sealing::LaunchObstacle::None:
      return std::nullopt;
    case sealing::LaunchObstacle::NotElf:
      // Not an ELF file vmseal can read: the kernel decides (a malformed
      // header it ignores, binfmt_misc), so --enforce cannot promise a seal.
      if (o.enforce)
        return cannot_seal(o, program, plan.why + ": what the kernel will run cannot be checked",
                           kRunFailed);
      return std::nullopt;
    case sealing::LaunchObstacle::Unreadable:
      // The loader may still preload into it: best effort tries, --enforce cannot promise.
      if (o.enforce) return cannot_seal(o, program, plan.why, kRunFailed);
      warn(plan.why + "; trying anyway");
      return std::nullopt;
    default:
      return cannot_seal(o, program, plan.why, kRunFailed);
  }
}

sealing::StaticSealSettings static_settings(const RunOptions& o) {
  sealing::StaticSealSettings s;
  sealing::profile_from_name(o.profile, s.profile);
  s.opt_out = o.opt_out;
  sealing::relro_mode_from_name(o.relro.c_str(), s.relro);
  if (s.relro == sealing::RelroMode::Memfd) {
    warn(
        "--relro memfd is not available for a static program: its RELRO becomes an anonymous copy");
    s.relro = sealing::RelroMode::Anonymous;
  }
  sealing::relro_mode_from_name(o.text.c_str(), s.text);
  s.dry_run = o.dry_run;
  if (!o.report.empty()) s.report = fs::absolute(o.report).string();
  s.enforce = o.enforce;
  return s;
}

// A static program (no loader to preload into), or a Go program that loads
// no library: sealed from outside, through ptrace, by a sealer process that
// stays only for its start-up (sealing/static_launch.hpp). Where ptrace is
// not allowed, as before: a warning and the program unsealed, or under
// --enforce no run at all.
int run_static(const RunOptions& o, const std::string& program, const sealing::LaunchPlan& plan,
               const Env& env) {
  if (const kernel::MsealProbe probe = kernel::probe_mseal_before_exec();
      probe.support != kernel::MsealSupport::Available)
    return cannot_seal(o, program, std::string(kernel::describe(probe)), kRunFailed);
  // The preload's environment goes on only with --follow-exec: dynamic
  // programs the static one execs are then sealed by the preload. Not for a
  // program ld.so loads (a Go program): it would load the preload too.
  const bool loaded_by_ldso = plan.obstacle != sealing::LaunchObstacle::Static;
  if (o.follow_exec && loaded_by_ldso)
    warn("--follow-exec: " + program +
         " is loaded by ld.so, which would load the preload into it as well: the programs it "
         "execs are not followed");
  if (o.follow_exec && !loaded_by_ldso)
    own_environment(env);
  else
    drop_inherited_environment();
  std::string why;
  if (sealing::start_static_sealer(static_settings(o), &why) != 0)
    return cannot_seal(
        o, program,
        program +
            (loaded_by_ldso ? " is a Go program that loads no library" : " is statically linked") +
            " and cannot be sealed through ptrace: " + why,
        kRunFailed);
  return exec_program(program, o.command, o.argv0);
}

}  // namespace

int run_run(RunOptions o, const std::vector<std::string>& after_dashes) {
  o.command.insert(o.command.end(), after_dashes.begin(), after_dashes.end());
  if (!opt_out_globs_valid(o)) return kRunFailed;
  const std::string preload = find_preload(o.preload);
  if (const int rc = check_preload(preload); rc != kOk) return rc;
  Env env = preload_environment(o, preload);
  if (o.print_env) {
    for (const auto& [k, v] : env) std::printf("%s=%s\n", k.c_str(), v.c_str());
    return kOk;
  }
  if (o.command.empty()) {
    warn("no program given: vmseal run [OPTIONS] -- PROGRAM [ARGS...]");
    return kRunFailed;
  }
  const std::string program = resolve_program(o.command[0]);
  if (program.empty() || access(program.c_str(), F_OK) != 0) {
    warn(o.command[0] + ": command not found");
    return kNotFound;
  }
  if (o.relro == "memfd")
    warn(
        "--relro memfd: on this kernel userfaultfd can fill a discarded page of a memfd copy with "
        "chosen bytes, "
        "and MADV_DONTFORK still leaves a hole in a child (docs/attacks.md); --relro anon refuses "
        "both");
  const sealing::LaunchPlan plan = sealing::plan_launch(program);
  warn_about_launch(o, plan);
  if (sealing::sealed_through_ptrace(plan.obstacle)) return run_static(o, program, plan, env);
  if (const std::optional<int> status = obstacle_status(o, program, plan)) return *status;
  // In a child: a seccomp filter that kills mseal's caller, or fakes it, is
  // found here, not in the program.
  if (const kernel::MsealProbe probe = kernel::probe_mseal_before_exec();
      probe.support != kernel::MsealSupport::Available)
    return cannot_seal(o, program, std::string(kernel::describe(probe)), kRunFailed);
  if (!plan.interpreters.empty())
    env.emplace_back(sealing::env::kScript, fs::absolute(program).string());
  own_environment(env);
  return exec_program(program, o.command, o.argv0);
}

}  // namespace vmseal::cli
