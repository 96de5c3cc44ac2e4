#include "manual.hpp"

#include <map>

#include "vmseal/version.hpp"

namespace vmseal::cli {
namespace {

using Table = std::vector<ExitStatus>;

// `vmseal seal`'s, apart: the table of tables stays short.
Table seal_statuses() {
  return {{"0", "sealed as planned, or nothing was left to seal (already sealed), or --dry-run"},
          {"1", "partly sealed: some planned ranges could not be sealed (the report says which)"},
          {"2", "bad usage (a PID that is not a positive number, a bad option)"},
          {"4", "vmseal failed: the sealer process died, or the report could not be written"},
          {"5", "the kernel has no mseal"},
          {"6", "no such process, or it exited meanwhile"},
          {"7",
           "ptrace not allowed: another user's process without CAP_SYS_PTRACE, Yama's "
           "ptrace_scope, an LSM, a process that is not dumpable"},
          {"11", "the process is already traced (a debugger, strace, another vmseal)"},
          {"12", "a kernel thread"},
          {"13", "a zombie, or exiting"},
          {"14", "vmseal's own process"},
          {"15",
           "unsafe to inject now: a vfork parent, an execve in progress, a thread that did not "
           "stop, a seccomp filter that would refuse or kill an injected call (or cannot be "
           "read), seccomp strict mode, shadow stacks, no thread where injecting is safe"}};
}

const std::map<std::string_view, Table>& tables() {
  static const std::map<std::string_view, Table> t = {
      {"vmseal",
       {{"0", "the command succeeded"},
        {"2", "bad usage"},
        {"other", "the command's own (see each command)"}}},
      {"sim",
       {{"0", "ok"},
        {"1",
         "mismatch: with --check, a recorded result the engine disagrees with that no unseen "
         "fault or order of concurrent calls explains (with --strict: any)"},
        {"2", "bad usage"},
        {"3", "malformed input (the message gives the line)"},
        {"4", "the file could not be read"}}},
      {"compare",
       {{"0", "the designs agree"},
        {"1", "they differ"},
        {"2", "bad usage"},
        {"3", "unreadable lines in the input"},
        {"4", "the file could not be read"}}},
      {"difftest",
       {{"0", "no divergence"},
        {"1", "a divergence (reproductions in --out)"},
        {"2", "bad usage"},
        {"4", "the run could not go on"},
        {"5", "the kernel has no mseal, or a seccomp filter denies it"}}},
      {"inspect",
       {{"0", "ok"},
        {"2", "bad usage (a PID that is not a positive number or self, a bad option)"},
        {"4", "a file could not be read"},
        {"5", "the kernel has no mseal, so nothing can be sealed (the report is still printed)"},
        {"6", "no such process, or it exited while being read"},
        {"7", "permission denied; the message says what is missing"}}},
      {"check",
       {{"0", "mseal works here"},
        {"2", "bad usage"},
        {"5",
         "mseal does not work here: no kernel support, or a seccomp filter denies, kills or fakes "
         "it"}}},
      {"audit",
       {{"0", "ok"},
        {"1", "with --fail-on-warning: a file has a warning"},
        {"2", "bad usage"},
        {"3", "a FILE named alone is not a loadable ELF file"},
        {"4", "a file or directory could not be read (the others are still audited)"}}},
      {"run",
       {{"other", "the program's own status, unchanged"},
        {"0", "--print-env or --help"},
        {"125",
         "vmseal failed: bad usage, the preload missing or --preload not one, an --enforce "
         "refusal, or the "
         "preload's --enforce failure inside the program"},
        {"126", "the program was found but cannot be run"},
        {"127", "the program was not found"}}},
      {"seal", seal_statuses()},
      {"predict",
       {{"0", "nothing would break"},
        {"1", "something would"},
        {"2", "bad usage"},
        {"3", "malformed trace"},
        {"4", "a file could not be read or written"},
        {"8",
         "the program cannot be sealed through the preload (static: vmseal run seals it through "
         "ptrace, which predict does not model; set-user-ID: it runs unsealed)"},
        {"9", "nothing would break, but some calls could not be verified"},
        {"10", "strace is missing or cannot trace"},
        {"126", "the program is not executable"},
        {"127", "the program was not found"}}},
  };
  return t;
}

// roff escapes: a backslash, and a leading dot or quote.
std::string roff(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '\\')
      out += "\\e";
    else if (c == '-')
      out += "\\-";
    else
      out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

std::string page_name(std::string_view command) {
  return command == "vmseal" ? std::string("vmseal") : "vmseal-" + std::string(command);
}

}  // namespace

const std::vector<std::string_view>& manual_commands() {
  static const std::vector<std::string_view> c = {"vmseal",  "sim",    "compare", "difftest",
                                                  "inspect", "check",  "audit",   "run",
                                                  "seal",    "predict"};
  return c;
}

const std::vector<ExitStatus>& exit_statuses(std::string_view command) {
  static const std::vector<ExitStatus> none;
  const auto it = tables().find(command);
  return it == tables().end() ? none : it->second;
}

std::string exit_status_footer(std::string_view command) {
  std::string out = "Exit status:";
  for (const ExitStatus& e : exit_statuses(command))
    out += "\n  " + std::string(e.code) +
           std::string(e.code.size() < 6 ? 6 - e.code.size() : 1, ' ') + std::string(e.meaning);
  return out;
}

std::string man_page(const CLI::App& app, std::string_view command) {
  const CLI::App* cmd = command == "vmseal" ? &app : app.get_subcommand(std::string(command));
  const std::string name = page_name(command);
  std::string out = ".TH " +
                    [&] {
                      std::string upper = name;
                      for (char& c : upper)
                        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                      return upper;
                    }() +
                    " 1 \"\" \"vmseal " + kVersion + "\" \"vmseal manual\"\n";
  // NAME: the description's first sentence, on one line.
  std::string what = cmd->get_description();
  if (const std::size_t end = what.find(". "); end != std::string::npos) what.resize(end);
  if (const std::size_t nl = what.find(":\n"); nl != std::string::npos) what.resize(nl);
  for (char& c : what)
    if (c == '\n') c = ' ';
  if (!what.empty() && what.back() == '.') what.pop_back();
  if (what.rfind("vmseal: ", 0) == 0) what.erase(0, 8);
  out += ".SH NAME\n" + roff(name) + " \\- " + roff(what) + "\n";
  out += ".SH SYNOPSIS\n.B vmseal\n" + (command == "vmseal"
                                            ? std::string(".I COMMAND\n[\\fIOPTIONS\\fR]\n")
                                            : ".B " + roff(command) + "\n[\\fIOPTIONS\\fR]\n");
  out += ".SH DESCRIPTION\n" + roff(cmd->get_description()) + "\n";
  if (command == "vmseal") {
    out += ".SH COMMANDS\n";
    for (const std::string_view sub_name : manual_commands()) {
      if (sub_name == "vmseal") continue;
      const CLI::App* sub = app.get_subcommand(std::string(sub_name));
      out += ".TP\n.B " + roff(sub_name) + "\n" + roff(sub->get_description()) + "\nSee \\fB" +
             roff(page_name(sub_name)) + "\\fR(1).\n";
    }
  }
  out += ".SH OPTIONS\n";
  for (const CLI::Option* opt : cmd->get_options()) {
    out +=
        ".TP\n.B " + roff(opt->get_name(false, true)) + "\n" + roff(opt->get_description()) + "\n";
  }
  out += ".SH EXIT STATUS\n";
  for (const ExitStatus& e : exit_statuses(command))
    out += ".TP\n.B " + roff(e.code) + "\n" + roff(e.meaning) + "\n";
  out += ".SH SEE ALSO\n";
  if (command != "vmseal") out += "\\fBvmseal\\fR(1), ";
  out += "\\fBvmseal\\fR(3), \\fBmseal\\fR(2). The documentation in /usr/share/doc/vmseal.\n";
  return out;
}

}  // namespace vmseal::cli
