// vmseal seal PID: seals the loaded images of a running process
// (vmseal/sealing/seal_pid.hpp), and says what it did: a summary, the plan
// under --dry-run, the JSON report with --json or --report.
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "manual.hpp"
#include "vmseal/sealing/safe_file.hpp"
#include "vmseal/sealing/seal_pid.hpp"

namespace vmseal::cli {
namespace {

using sealing::SealPidStatus;

int exit_code(SealPidStatus s) {
  switch (s) {
    case SealPidStatus::Sealed:
    case SealPidStatus::AlreadySealed:
    case SealPidStatus::DryRun:
      return kOk;
    case SealPidStatus::Partial:
      return 1;
    case SealPidStatus::NoProcess:
      return kNoProcess;
    case SealPidStatus::Permission:
      return kPermission;
    case SealPidStatus::AlreadyTraced:
      return kAlreadyTraced;
    case SealPidStatus::KernelThread:
      return kKernelThread;
    case SealPidStatus::Exiting:
      return kExiting;
    case SealPidStatus::Self:
      return kSelf;
    case SealPidStatus::Unsafe:
      return kUnsafe;
    case SealPidStatus::NoMseal:
      return kNoMseal;
    case SealPidStatus::Failed:
      return kIoError;
  }
  return kIoError;
}

// The plan, the preload's --dry-run format, one block per object.
void print_plan(const nlohmann::json& report) {
  for (const nlohmann::json& o : report.value("objects", nlohmann::json::array())) {
    const std::string why = o.value("why", "");
    std::printf("vmseal: dry run: %s (%s, %s): %s%s%s\n", o.value("path", "").c_str(),
                o.value("role", "").c_str(), o.value("loaded", "").c_str(),
                o.value("verdict", "").c_str(), why.empty() ? "" : ": ", why.c_str());
    for (const nlohmann::json& r : o.value("ranges", nlohmann::json::array())) {
      const bool planned = r.value("planned", false);
      const std::string what = !planned ? "leave: " + r.value("why_not", "")
                               : r.value("already_sealed", false) ? std::string("sealed already")
                                                                  : std::string("seal");
      std::printf("vmseal:   %s-%s %-7s %s\n", r.value("start", "").c_str(),
                  r.value("end", "").c_str(), r.value("kind", "").c_str(), what.c_str());
    }
  }
}

// What was done, in a few lines.
void print_summary(const nlohmann::json& report) {
  std::printf("vmseal seal: process %d: %s\n", report.value("pid", 0),
              report.value("status", "").c_str());
  if (report.value("threads", 0) > 0)
    std::printf("  stopped %d thread(s) for %llu us; %d call(s) injected in thread %d\n",
                report.value("threads", 0),
                static_cast<unsigned long long>(report.value("pause_us", 0ULL)),
                report.value("injected_calls", 0), report.value("injection_thread", 0));
  std::printf("  sealed now %llu bytes; the process had %llu bytes sealed before, %llu after\n",
              static_cast<unsigned long long>(report.value("sealed_bytes", 0ULL)),
              static_cast<unsigned long long>(report.value("process_sealed_bytes_before", 0ULL)),
              static_cast<unsigned long long>(report.value("process_sealed_bytes_after", 0ULL)));
  for (const nlohmann::json& o : report.value("objects", nlohmann::json::array())) {
    const std::string why = o.value("why", "");
    std::printf("  %-11s %s%s%s\n", o.value("verdict", "").c_str(), o.value("path", "").c_str(),
                why.empty() ? "" : ": ", why.c_str());
  }
  for (const nlohmann::json& n : report.value("notes", nlohmann::json::array()))
    std::printf("  note: %s\n", n.get<std::string>().c_str());
}

bool parse_pid(const std::string& text, pid_t& pid) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return false;
  pid = v;
  return true;
}

}  // namespace

CLI::App* add_seal(CLI::App& app, SealOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "seal",
      "Seal the loaded images of a running process. Dynamic or static, it is sealed as vmseal\n"
      "run would have sealed it at its start: the same plan, profiles and opt-outs, RELRO first\n"
      "copied to anonymous memory. Every thread is stopped for the time it takes (milliseconds),\n"
      "the calls are injected at a `syscall` instruction the process already has, every\n"
      "register, the FPU state and the blocked signals are put back, and nothing stays attached.\n"
      "A process sealed already is left as it is. If vmseal dies half-way, the process puts\n"
      "itself back (docs/run.md, \"Sealing a running process\").");
  cmd->add_option("pid", opts.pid, "the process")->required();
  add_plan_options(cmd, opts.profile, opts.opt_out);
  cmd->add_flag("--dry-run", opts.dry_run, "print the plan and seal nothing (nothing is stopped)");
  cmd->add_option("--report", opts.report,
                  "write the JSON report to this file ('%p': the pid); never through a symlink or "
                  "over another user's file");
  cmd->add_flag("--json", opts.json, "print the JSON report instead of the summary");
  cmd->footer("vmseal seal [OPTIONS] PID\n\n" + exit_status_footer("seal"));
  return cmd;
}

int run_seal(const SealOptions& o) {
  sealing::SealPidSettings settings;
  pid_t pid = 0;
  if (!parse_pid(o.pid, pid)) {
    std::fprintf(stderr, "vmseal seal: '%s' is not a process ID\n", o.pid.c_str());
    return kUsage;
  }
  sealing::profile_from_name(o.profile, settings.profile);
  settings.opt_out = o.opt_out;
  settings.dry_run = o.dry_run;
  const sealing::SealPidResult r = sealing::seal_running_process(pid, settings);
  int code = exit_code(r.status);
  if (!r.why.empty()) std::fprintf(stderr, "vmseal seal: %s\n", r.why.c_str());
  const nlohmann::json report = nlohmann::json::parse(r.report, nullptr, false);
  if (!o.report.empty() && !r.report.empty()) {
    std::string path = o.report;
    for (std::size_t at = path.find("%p"); at != std::string::npos; at = path.find("%p"))
      path.replace(at, 2, std::to_string(pid));
    if (const int err = sealing::write_file_safely(path.c_str(), r.report.data(), r.report.size());
        err != 0) {
      std::fprintf(
          stderr, "vmseal seal: cannot write the report %s: %s\n", path.c_str(),
          err == EEXIST ? "it exists as a symlink or another user's file" : std::strerror(err));
      if (code == kOk) code = kIoError;
    }
  }
  if (o.json && !r.report.empty())
    std::fputs(r.report.c_str(), stdout);
  else if (!report.is_discarded() && o.dry_run)
    print_plan(report);
  else if (!report.is_discarded())
    print_summary(report);
  return code;
}

}  // namespace vmseal::cli
