// vmseal predict: which memory-management calls of a program would fail under
// `vmseal run`, from an strace log of an unsealed run with the preload marking
// its seal points (docs/predict.md). The replay is src/predict/predict.cpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "manual.hpp"
#include "vmseal/predict/predict.hpp"
#include "vmseal/predict/recording.hpp"
#include "vmseal/sealing/launch.hpp"
#include "vmseal/sealing/preload_env.hpp"
#include "vmseal/trace/line_reader.hpp"
#include "vmseal/version.hpp"

extern char** environ;

namespace vmseal::cli {
namespace {

namespace fs = std::filesystem;

void warn(const std::string& msg) { std::fprintf(stderr, "vmseal predict: %s\n", msg.c_str()); }

std::string hex(Addr a) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#" PRIx64, a);
  return buf;
}

std::string result_text(const SysResult& r) {
  return r.is_error() ? "-1 " + std::string(errno_name(r.error())) : hex(r.value());
}

std::string read_file(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  return s.str();
}

// Runs `argv` and waits; its exit code, -1 when it could not start. stdout of
// the child goes to `out_fd` when >= 0.
int run_and_wait(const std::vector<std::string>& argv, int out_fd, bool progress,
                 const std::string& watch) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (out_fd >= 0) dup2(out_fd, STDOUT_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  auto last = std::chrono::steady_clock::now();
  for (;;) {
    const pid_t r = waitpid(pid, &status, progress ? WNOHANG : 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return -1;
    if (progress && std::chrono::steady_clock::now() - last > std::chrono::milliseconds(500)) {
      last = std::chrono::steady_clock::now();
      std::error_code ec;
      const auto size = fs::file_size(watch, ec);
      if (!ec)
        std::fprintf(stderr, "\rvmseal predict: tracing, %ju KiB of trace",
                     static_cast<std::uintmax_t>(size / 1024));
    }
    if (progress) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (progress) std::fprintf(stderr, "\r\033[K");
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Whether this strace can print -k stacks here (it needs its unwinder).
bool strace_can_unwind(const std::string& strace) {
  const pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    const int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
    }
    execl(strace.c_str(), strace.c_str(), "-k", "-o", "/dev/null", "/bin/true",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

nlohmann::json range_json(const predict::SealedRange& r) {
  return {{"start", hex(r.start)}, {"end", hex(r.end)}, {"kind", r.kind},
          {"object", r.object},    {"role", r.role},    {"sealed_at_line", r.line},
          {"applied", r.applied}};
}

nlohmann::json call_json(const predict::PredictedCall& c) {
  nlohmann::json hits = nlohmann::json::array();
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& h : c.hits) {
    hits.push_back(range_json(h));
    keys.push_back(predict::failure_key(c.name, h, c.addr, c.len));
  }
  nlohmann::json j = {{"line", c.line},
                      {"pid", c.pid},
                      {"call", c.call},
                      {"syscall", c.name},
                      {"addr", hex(c.addr)},
                      {"len", c.len},
                      {"recorded", c.has_recorded ? nlohmann::json(result_text(c.recorded))
                                                  : nlohmann::json(nullptr)},
                      {"sealed", result_text(c.sealed)},
                      {"hits", hits},
                      {"keys", keys},
                      {"site", c.site.site},
                      {"stack", c.site.stack},
                      {"avoid", c.avoid},
                      {"after_failure", c.after_failure},
                      {"estimated_seal_point", c.estimated}};
  if (!c.note.empty()) j["note"] = c.note;
  return j;
}

void print_call(const predict::PredictedCall& c, bool failure) {
  std::printf("  line %zu, pid %d: %s = %s", c.line, c.pid, c.call.c_str(),
              c.has_recorded ? result_text(c.recorded).c_str() : "?");
  if (failure) std::printf("; sealed: %s", result_text(c.sealed).c_str());
  std::printf("%s\n", c.after_failure
                          ? "  (after an earlier failure: the program may not get this far)"
                          : "");
  for (const auto& h : c.hits)
    std::printf("    hits   %s %s %s-%s (%s, sealed at line %zu)\n", h.object.c_str(),
                h.kind.c_str(), hex(h.start).c_str(), hex(h.end).c_str(), h.role.c_str(), h.line);
  if (!c.site.site.empty()) std::printf("    from   %s\n", c.site.site.c_str());
  if (!c.note.empty()) std::printf("    note   %s\n", c.note.c_str());
  if (c.estimated)
    std::printf("    note   plain trace: the seal point is an estimate (see docs/predict.md)\n");
  if (failure) {
    if (c.avoid.empty()) {
      std::printf("    avoid  nothing but not sealing it: every profile seals text\n");
    } else {
      std::string a;
      for (const std::string& s : c.avoid) a += (a.empty() ? "" : ", or ") + s;
      std::printf("    avoid  %s\n", a.c_str());
    }
  }
}

}  // namespace

CLI::App* add_predict(CLI::App& app, PredictOptions& opts) {
  CLI::App* cmd = app.add_subcommand("predict",
                                     "Predict which memory-management calls of a program would "
                                     "fail under `vmseal run`: run it under\n"
                                     "strace with the preload marking where it would seal (sealing "
                                     "nothing), replay every call through\n"
                                     "the engine with those seals, and report each call that would "
                                     "fail, the object and mapping it hits,\n"
                                     "where it was made and the option that avoids it.");
  cmd->add_option("--profile", opts.profile, "minimal, default or strict (as for vmseal run)")
      ->check(CLI::IsMember({"minimal", "default", "strict"}));
  cmd->add_option("--opt-out", opts.opt_out,
                  "leave objects matching this glob alone, as vmseal run does (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--trace", opts.trace,
                  "read a trace instead of running a program: one from --record (with FILE.json "
                  "beside it), or a "
                  "plain `strace -f -y` log");
  cmd->add_option("--record", opts.record,
                  "keep the trace in FILE and what predict needs in FILE.json");
  cmd->add_flag("--json", opts.json,
                "print the prediction as JSON (the program's stdout goes to stderr)");
  cmd->add_flag("--follow-exec", opts.follow_exec,
                "as vmseal run --follow-exec: predict for the programs it execs too");
  cmd->add_flag("--stacks", opts.stacks,
                "record each call's stack (strace -k): call sites with symbols, but every traced "
                "call is unwound\n"
                "(node: 36 s instead of 0.5 s); without it, -i instruction pointers resolved "
                "against the layout");
  cmd->add_flag("--no-progress", opts.no_progress, "no progress line, even on a terminal");
  cmd->add_flag("--privileged", opts.privileged,
                "model processes that start as root with every capability (default: a user with\n"
                "none); capset, capget and execve in the trace change them");
  cmd->add_option("--preload", opts.preload,
                  "the preload library (default: the one installed with vmseal)");
  cmd->add_option("--strace", opts.strace, "the strace to run (default: strace on PATH)");
  cmd->add_option("command", opts.command, "the program and its arguments (best after --)");
  cmd->footer(
      "vmseal predict [OPTIONS] -- PROGRAM [ARGS...]\nvmseal predict [OPTIONS] --trace FILE\n\n" +
      exit_status_footer("predict"));
  return cmd;
}

namespace {

// The usage errors of the options alone ("" when there is none).
std::string usage_error(const PredictOptions& o) {
  if (o.trace.empty() == o.command.empty())
    return o.command.empty() ? "give a program (-- PROGRAM ARGS...) or --trace FILE"
                             : "give either a program or --trace FILE, not both";
  for (const std::string& g : o.opt_out)
    if (g.find(':') != std::string::npos) return "an opt-out glob cannot contain ':' (" + g + ")";
  if (!o.trace.empty() && !o.record.empty())
    return "--record keeps a trace it makes; with --trace there is none to make";
  return "";
}

// A recording to replay: the trace file and its snapshots, from --trace or
// made here by running the program.
struct Source {
  std::string trace_path;
  predict::Recording recording;
  std::string tmpdir;  // removed when done
  int program_status = -1;
  ~Source() {
    if (tmpdir.empty()) return;
    std::error_code ec;
    fs::remove_all(tmpdir, ec);
  }
};

// --trace FILE: the file and its sidecar; the recorded profile and opt-outs
// are the ones its seal points follow.
int read_source(PredictOptions& o, Source& src) {
  if (access(o.trace.c_str(), R_OK) != 0) {
    warn("cannot read " + o.trace + ": " + std::strerror(errno));
    return kIoError;
  }
  src.trace_path = o.trace;
  std::string error;
  if (!predict::read_sidecar(o.trace, src.recording, &error)) {
    warn(error);
    return kBadInput;
  }
  const predict::Recording& r = src.recording;
  if (!r.profile.empty()) {
    if (r.profile != o.profile && o.profile != "default")
      warn("the trace was recorded for --profile " + r.profile +
           "; its seal points follow that profile (record again for another)");
    o.profile = r.profile;
  }
  if (o.opt_out.empty()) o.opt_out = r.opt_out;
  return kOk;
}

// strace's command line for the program under the preload: its environment
// (sealing::preload_environment) through -E, inherited VMSEAL_* removed, as
// vmseal run does it.
std::vector<std::string> strace_argv(const PredictOptions& o, const std::string& strace,
                                     const std::string& program, const std::string& preload,
                                     const Source& src, bool stacks) {
  std::vector<std::string> argv = {strace, "-f", "-y",           "-s",
                                   "1024", "-o", src.trace_path, stacks ? "-k" : "-i"};
  sealing::PreloadSettings settings;
  settings.profile = o.profile;
  settings.opt_out = o.opt_out;
  settings.follow_exec = o.follow_exec;
  settings.predict_dir = src.tmpdir;
  for (const std::string& name : sealing::inherited_contract_variables(environ))
    argv.insert(argv.end(), {"-E", name});
  for (const auto& [name, value] :
       sealing::preload_environment(preload, settings, std::getenv("LD_PRELOAD")))
    argv.insert(argv.end(), {"-E", name + "=" + value});
  argv.push_back("--");
  argv.push_back(program);
  argv.insert(argv.end(), o.command.begin() + 1, o.command.end());
  return argv;
}

// What must hold before the program runs under strace: "" and kOk, or why not.
int check_live(const PredictOptions& o, std::string& strace, std::string& program,
               std::string& preload) {
  strace = resolve_program(o.strace);
  if (strace.empty() || access(strace.c_str(), X_OK) != 0) {
    warn("strace not found (" + o.strace +
         "); install it (Debian: apt-get install strace) or give --strace");
    return kNoStrace;
  }
  program = resolve_program(o.command[0]);
  if (program.empty() || access(program.c_str(), F_OK) != 0) {
    warn(o.command[0] + ": command not found");
    return kNotFound;
  }
  if (access(program.c_str(), X_OK) != 0) {
    warn(program + ": not executable");
    return kNotExecutable;
  }
  if (const std::string why = why_preload_cannot_run(program); !why.empty()) {
    warn(why + "; `vmseal run` would run it unsealed, so nothing can break");
    return kCannotSeal;
  }
  preload = find_preload(o.preload);
  if (preload.empty() || access(preload.c_str(), R_OK) != 0) {
    warn("cannot find the preload library libvmseal_preload.so; give it with --preload");
    return kIoError;
  }
  return kOk;
}

// Runs the program under strace with the preload in its predict mode, and
// keeps the trace (--record) with its snapshots.
int record_source(const PredictOptions& o, Source& src, bool tty) {
  std::string strace, program, preload;
  if (const int rc = check_live(o, strace, program, preload); rc != kOk) return rc;
  char dir_template[] = "/tmp/vmseal-predict-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    warn(std::string("cannot make a temporary directory: ") + std::strerror(errno));
    return kIoError;
  }
  src.tmpdir = dir_template;
  src.trace_path = src.tmpdir + "/trace";
  const bool stacks = o.stacks && strace_can_unwind(strace);
  if (o.stacks && !stacks)
    warn("this strace cannot print stacks (-k); using -i instruction pointers");
  std::fflush(stdout);
  src.program_status = run_and_wait(strace_argv(o, strace, program, preload, src, stacks),
                                    o.json ? STDERR_FILENO : -1, tty, src.trace_path);
  struct stat st {};
  if (src.program_status < 0 || stat(src.trace_path.c_str(), &st) != 0 || st.st_size == 0) {
    warn("strace could not trace " + program + " (ptrace denied? see kernel.yama.ptrace_scope)");
    return kNoStrace;
  }
  predict::Recording& r = src.recording;
  for (const auto& entry : fs::directory_iterator(src.tmpdir)) {
    const std::string name = entry.path().filename().string();
    bool ok = false;
    if (name.starts_with("smaps-")) r.snapshots[name] = read_file(entry.path().string(), &ok);
  }
  r.profile = o.profile;
  r.opt_out = o.opt_out;
  r.follow_exec = o.follow_exec;
  r.command = o.command;
  r.program = program;
  r.strace_flags = stacks ? "-f -y -s 1024 -k" : "-f -y -s 1024 -i";
  r.exit_status = src.program_status;
  std::string error;
  if (!o.record.empty() && !predict::write_recording(src.trace_path, r, o.record, &error)) {
    warn(error);
    return kIoError;
  }
  return kOk;
}

// The exit status a replay means (vmseal-predict(1)).
int exit_code_of(const predict::Replay& rp) {
  const predict::PredictResult& r = rp.result;
  if (r.summary.malformed != 0 || rp.lines == 0) return kBadInput;
  if (!r.failures.empty() || !r.seal_failures.empty()) return kMismatch;
  const bool incomplete =
      !r.unverifiable.empty() ||
      std::any_of(r.diagnostics.begin(), r.diagnostics.end(), [&r](const predict::Diagnostic& d) {
        return d.kind == predict::DiagnosticKind::Truncated ||
               d.kind == predict::DiagnosticKind::NoLayout ||
               (d.kind == predict::DiagnosticKind::NoSealPoint && r.plain) ||
               d.kind == predict::DiagnosticKind::UnknownPid ||
               d.kind == predict::DiagnosticKind::Unmodelled ||
               d.kind == predict::DiagnosticKind::UnknownSyscall;
      });
  return incomplete ? kIncomplete : kOk;
}

nlohmann::json result_json(const predict::PredictResult& r) {
  nlohmann::json j;
  j["failures"] = nlohmann::json::array();
  for (const auto& c : r.failures) j["failures"].push_back(call_json(c));
  j["unverifiable"] = nlohmann::json::array();
  for (const auto& c : r.unverifiable) j["unverifiable"].push_back(call_json(c));
  j["seal_failures"] = nlohmann::json::array();
  for (const auto& f : r.seal_failures)
    j["seal_failures"].push_back({{"line", f.line},
                                  {"pid", f.pid},
                                  {"range", range_json(f.range)},
                                  {"error", std::string(errno_name(f.error))}});
  j["seal_points"] = nlohmann::json::array();
  for (const auto& s : r.seal_points)
    j["seal_points"].push_back({{"line", s.line},
                                {"pid", s.pid},
                                {"kind", s.kind},
                                {"ranges", s.ranges},
                                {"layout", s.layout}});
  j["diagnostics"] = nlohmann::json::array();
  for (const auto& d : r.diagnostics)
    j["diagnostics"].push_back({{"kind", std::string(predict::diagnostic_kind_name(d.kind))},
                                {"line", d.line},
                                {"pid", d.pid},
                                {"message", d.message}});
  const auto& s = r.summary;
  j["summary"] = {{"lines", s.lines},
                  {"calls", s.calls},
                  {"before_seal", s.before_seal},
                  {"unaffected", s.unaffected},
                  {"would_fail", s.would_fail},
                  {"unverifiable", s.unverifiable},
                  {"seal_failures", s.seal_failures},
                  {"malformed", s.malformed}};
  return j;
}

void print_json(const PredictOptions& o, const std::string& target, const predict::PredictResult& r,
                int program_status, int code) {
  nlohmann::json j;
  j["vmseal"] = kVersion;
  j["target"] = target;
  j["profile"] = o.profile;
  j["opt_out"] = o.opt_out;
  j["trace"] = r.plain ? "plain" : "recorded";
  if (program_status >= 0) j["program_exit_status"] = program_status;
  j.update(result_json(r));
  j["exit_code"] = code;
  std::printf("%s\n", j.dump(2).c_str());
}

void print_text(const PredictOptions& o, const std::string& target,
                const predict::PredictResult& r) {
  std::printf("vmseal predict: %s under --profile %s%s: %zu call%s would fail\n", target.c_str(),
              o.profile.c_str(), r.plain ? " (plain trace)" : "", r.failures.size(),
              r.failures.size() == 1 ? "" : "s");
  for (const auto& c : r.failures) print_call(c, true);
  if (!r.seal_failures.empty()) {
    std::printf(
        "\nseals the preload itself could not make (it warns; with --enforce the program exits "
        "125):\n");
    for (const auto& f : r.seal_failures)
      std::printf("  line %zu, pid %d: mseal %s-%s (%s %s): %s\n", f.line, f.pid,
                  hex(f.range.start).c_str(), hex(f.range.end).c_str(), f.range.object.c_str(),
                  f.range.kind.c_str(), std::string(errno_name(f.error)).c_str());
  }
  if (!r.unverifiable.empty()) {
    std::printf("\n%zu call%s could not be verified (never counted as fine):\n",
                r.unverifiable.size(), r.unverifiable.size() == 1 ? "" : "s");
    std::size_t shown = 0;
    for (const auto& c : r.unverifiable) {
      if (++shown > 50) {
        std::printf("  ... and %zu more (--json lists them all)\n", r.unverifiable.size() - 50);
        break;
      }
      print_call(c, false);
    }
  }
  if (!r.diagnostics.empty()) {
    std::printf("\ndiagnostics:\n");
    for (const auto& d : r.diagnostics)
      std::printf("  %s%s%s: %s\n", std::string(predict::diagnostic_kind_name(d.kind)).c_str(),
                  d.line != 0 ? (", line " + std::to_string(d.line)).c_str() : "",
                  d.pid != 0 ? (", pid " + std::to_string(d.pid)).c_str() : "", d.message.c_str());
  }
  const auto& s = r.summary;
  std::fprintf(
      stderr,
      "vmseal predict: %zu lines, %zu seal point%s, %zu memory calls: %zu before sealing, %zu "
      "unaffected, "
      "%zu would fail, %zu unverifiable%s\n",
      s.lines, r.seal_points.size(), r.seal_points.size() == 1 ? "" : "s", s.calls, s.before_seal,
      s.unaffected, s.would_fail, s.unverifiable,
      s.malformed != 0 ? (", " + std::to_string(s.malformed) + " malformed lines").c_str() : "");
}

}  // namespace

int run_predict(PredictOptions o, const std::vector<std::string>& after_dashes) {
  o.command.insert(o.command.end(), after_dashes.begin(), after_dashes.end());
  if (const std::string why = usage_error(o); !why.empty()) {
    warn(why);
    return kUsage;
  }
  const bool tty = isatty(STDERR_FILENO) != 0 && !o.no_progress;
  Source src;
  if (const int rc = o.trace.empty() ? record_source(o, src, tty) : read_source(o, src); rc != kOk)
    return rc;
  predict::PredictOptions po;
  po.config.set_privileged(o.privileged);
  sealing::profile_from_name(o.profile, po.profile);
  po.opt_out = o.opt_out;
  predict::Replay rp;
  std::string error;
  if (!predict::replay(src.trace_path, src.recording, po, rp, &error, [tty](std::size_t n) {
        if (tty) std::fprintf(stderr, "\rvmseal predict: %zu lines", n);
      })) {
    warn(error);
    return kIoError;
  }
  if (tty && rp.lines >= 100000) std::fprintf(stderr, "\r\033[K");
  if (rp.lines == 0) warn("the trace is empty");
  if (!rp.markers && o.trace.empty())
    warn("the trace has no seal point marker: was the preload loaded?");
  const int code = exit_code_of(rp);
  const std::string target = !o.command.empty() ? o.command[0] : o.trace;
  if (o.json)
    print_json(o, target, rp.result, src.program_status, code);
  else
    print_text(o, target, rp.result);
  return code;
}

}  // namespace vmseal::cli
