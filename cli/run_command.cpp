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
#include <string>
#include <vector>

#include "commands.hpp"
#include "vmseal/kernel/syscalls.hpp"
#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/plan.hpp"
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
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
      return candidate;
    pos = end + 1;
  }
  return "";
}

// The libvmseal_preload.so beside this binary (the build tree) or in the
// installed layout (PREFIX/bin/vmseal, PREFIX/lib/vmseal/libvmseal_preload.so).
std::string find_preload(const std::string& given) {
  if (!given.empty()) return fs::absolute(given).string();
  if (const char* env = std::getenv("VMSEAL_PRELOAD_LIBRARY"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const fs::path dir = self.parent_path();
  for (const fs::path& candidate : {dir / "libvmseal_preload.so", dir / "../lib/vmseal/libvmseal_preload.so",
                                    dir / "../lib/libvmseal_preload.so"}) {
    if (fs::exists(candidate, ec)) return fs::weakly_canonical(candidate, ec).string();
  }
  return "";
}

// Why a preload cannot work in the program, or "" when it can. Follows one
// "#!" line to the interpreter, which is what the kernel really starts.
std::string why_preload_cannot_run(const std::string& program) {
  std::string target = program;
  {
    std::ifstream in(program, std::ios::binary);
    char head[2] = {};
    if (in.read(head, 2) && head[0] == '#' && head[1] == '!') {
      std::string line;
      std::getline(in, line);
      const std::size_t b = line.find_first_not_of(" \t");
      if (b == std::string::npos) return "";
      const std::size_t e = line.find_first_of(" \t", b);
      target = line.substr(b, e == std::string::npos ? std::string::npos : e - b);
    }
  }
  struct stat st {};
  if (stat(target.c_str(), &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID)) != 0)
    return target + " is set-user-ID or set-group-ID: the loader ignores LD_PRELOAD for it";
  sealing::ElfImage image;
  std::string error;
  if (!sealing::read_elf_image(target, image, &error)) return "";  // not ELF: let the kernel decide
  if (!image.interp) return target + " is statically linked: there is no loader to preload into";
  return "";
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
  std::ofstream out(o.report);
  out << j.dump(2) << "\n";
  if (!out) warn("cannot write the report " + o.report);
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

}  // namespace

CLI::App* add_run(CLI::App& app, RunOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run a program with its loaded images sealed the way OpenBSD's ld.so seals them: text, rodata,\n"
      "RELRO, the gaps between segments, the loader, preloads and NODELETE objects, after relocation\n"
      "and the initialisers, before main. Exit status: the program's; 2 bad usage; 5 no mseal and\n"
      "--enforce; 8 the program cannot be sealed and --enforce; 125 sealing failed inside the program\n"
      "with --enforce; 126 not executable; 127 not found.");
  cmd->add_option("--profile", opts.profile, "minimal (text), default (text, rodata, RELRO, gaps) or strict (also data, bss, the stack, [vdso], [vvar])")
      ->check(CLI::IsMember({"minimal", "default", "strict"}));
  cmd->add_option("--opt-out", opts.opt_out, "leave objects whose path or file name matches this glob alone (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_flag("--dry-run", opts.dry_run, "print the plan on stderr when the program starts and seal nothing");
  cmd->add_option("--report", opts.report, "write a JSON report of what was sealed and why the rest was not ('%p': the pid)");
  cmd->add_flag("--enforce", opts.enforce, "refuse to run the program when it cannot be sealed as asked");
  cmd->add_flag("--follow-exec", opts.follow_exec, "seal the programs it executes too (seals never survive exec)");
  cmd->add_option("--preload", opts.preload, "the preload library (default: the one installed with vmseal)");
  cmd->add_flag("--print-env", opts.print_env, "print the environment that seals a program (for a systemd unit) instead of running one");
  // main() takes everything after "--" away before CLI11 parses, so the
  // program's arguments are never read as vmseal's; without "--" the program
  // and its arguments may not look like options.
  cmd->add_option("command", opts.command, "the program and its arguments (best after --)");
  cmd->footer("vmseal run [OPTIONS] -- PROGRAM [ARGS...]");
  return cmd;
}

int run_run(RunOptions o, const std::vector<std::string>& after_dashes) {
  o.command.insert(o.command.end(), after_dashes.begin(), after_dashes.end());
  const std::string preload = find_preload(o.preload);
  if (preload.empty() || access(preload.c_str(), R_OK) != 0) {
    warn("cannot find the preload library libvmseal_preload.so" +
         (preload.empty() ? std::string() : " (" + preload + ")") + "; give it with --preload");
    return kIoError;
  }
  std::vector<std::pair<std::string, std::string>> env;
  std::string ld_preload = preload;
  if (const char* old = std::getenv("LD_PRELOAD"); old != nullptr && *old != '\0') ld_preload += std::string(":") + old;
  env.emplace_back("LD_PRELOAD", ld_preload);
  env.emplace_back("VMSEAL_PROFILE", o.profile);
  if (!o.opt_out.empty()) {
    for (const std::string& g : o.opt_out)
      if (g.find(':') != std::string::npos) {
        warn("an opt-out glob cannot contain ':' (" + g + ")");
        return kUsage;
      }
    env.emplace_back("VMSEAL_OPT_OUT", join(o.opt_out, ':'));
  }
  if (o.dry_run) env.emplace_back("VMSEAL_DRY_RUN", "1");
  if (!o.report.empty()) env.emplace_back("VMSEAL_REPORT", fs::absolute(o.report).string());
  if (o.enforce) env.emplace_back("VMSEAL_ENFORCE", "1");
  if (o.follow_exec) env.emplace_back("VMSEAL_FOLLOW_EXEC", "1");

  if (o.print_env) {
    for (const auto& [k, v] : env) std::printf("%s=%s\n", k.c_str(), v.c_str());
    return kOk;
  }
  if (o.command.empty()) {
    warn("no program given: vmseal run [OPTIONS] -- PROGRAM [ARGS...]");
    return kUsage;
  }
  const std::string program = resolve_program(o.command[0]);
  if (program.empty() || access(program.c_str(), F_OK) != 0) {
    warn(o.command[0] + ": command not found");
    return kNotFound;
  }
  std::vector<char*> argv;
  for (const std::string& a : o.command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  auto exec_program = [&]() {
    execv(program.c_str(), argv.data());
    const int e = errno;
    warn(program + ": " + std::strerror(e));
    return e == ENOENT ? kNotFound : kNotExecutable;
  };

  // Nothing to preload into, or no mseal: the program runs unchanged with
  // one warning, unless --enforce, which exits with `enforce_code`.
  auto cannot_seal = [&](const std::string& why, int enforce_code) -> int {
    if (o.enforce) {
      warn(why + "; not running the program (--enforce)");
      return enforce_code;
    }
    warn(why + "; running the program unsealed");
    write_unsealed_report(o, why);
    return exec_program();
  };
  if (const std::string why = why_preload_cannot_run(program); !why.empty()) return cannot_seal(why, kCannotSeal);
  if (const kernel::MsealProbe probe = kernel::probe_mseal(); probe.support != kernel::MsealSupport::Available)
    return cannot_seal(std::string(kernel::describe(probe)), kNoMseal);
  for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
  return exec_program();
}

}  // namespace vmseal::cli
