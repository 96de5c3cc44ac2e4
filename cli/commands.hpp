#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace vmseal::cli {

// Exit codes shared by all subcommands.
enum Exit : int {
  kOk = 0,
  kMismatch = 1,         // sim --check found a disagreement
  kUsage = 2,            // bad command line
  kBadInput = 3,         // malformed input (trace syntax)
  kIoError = 4,          // a file could not be read; a run could not go on
  kNoMseal = 5,          // the kernel has no mseal, or a seccomp filter denies it
  kNoProcess = 6,        // no such process, or it exited while being read
  kPermission = 7,       // permission denied (the message says what is missing)
  kCannotSeal = 8,       // run --enforce: the program cannot be sealed (static, setuid)
  kIncomplete = 9,       // predict: nothing would break, but some calls could not be verified
  kNoStrace = 10,        // predict: strace is missing or cannot trace here
  kAlreadyTraced = 11,   // seal: a debugger, strace or another vmseal traces the process
  kKernelThread = 12,    // seal: a kernel thread
  kExiting = 13,         // seal: a zombie, or exiting
  kSelf = 14,            // seal: vmseal's own process
  kUnsafe = 15,          // seal: a state where injecting is not safe (the message says which)
  kPreloadFailed = 125,  // run --enforce: the preload could not seal what it planned
  // run, like env, timeout and chroot: 125 vmseal itself failed (usage, the
  // preload, --enforce refusing), 126 the program cannot be run, 127 it is
  // not found; every other status is the program's own.
  kRunFailed = 125,
  kNotExecutable = 126,  // run: the program exists but cannot be executed
  kNotFound = 127,       // run: no such program
};

struct SimOptions {
  std::string input;  // "-" = stdin
  bool check = false;
  bool smaps = false;
  bool quiet = false;
  bool privileged = false;
  bool read_fault_allocates = false;
  bool json = false;
  bool keep_going = false;
  bool strict = false;      // infer neither unseen faults nor another order
  std::string policy;       // seal_policy::parse() spec; empty = linux-6.18
  bool exec_files = false;  // read the files execve ran (under exec_root)
  std::string exec_root;    // empty: "/"
};
CLI::App* add_sim(CLI::App& app, SimOptions& opts);
int run_sim(const SimOptions& opts);

struct CompareOptions {
  std::string input;     // "-" = stdin
  std::string policies;  // comma-separated; empty = all
  bool all_calls = false;
  bool quiet = false;
  bool json = false;
  bool layouts = false;
  bool privileged = false;
  bool keep_going = false;
  unsigned long long max_map_count = 0;  // 0: the engine's default (65530)
};
CLI::App* add_compare(CLI::App& app, CompareOptions& opts);
int run_compare(const CompareOptions& opts);

struct DifftestOptions {
  std::string seed = "random";
  unsigned long long sequences = 100;
  unsigned long long ops = 200;
  std::string mix;
  unsigned jobs = 1;
  double time_limit = 0;
  unsigned long long window_pages = 256;
  unsigned long long near_limit_every = 50;
  bool no_shrink = false;
  bool no_pin = false;
  unsigned long long max_divergences = 1;
  std::string out_dir = "difftest-divergences";
  bool json = false;
  bool no_progress = false;
};
CLI::App* add_difftest(CLI::App& app, DifftestOptions& opts);
int run_difftest(const DifftestOptions& opts);

struct InspectOptions {
  std::string target;  // PID or "self"
  bool all = false;
  std::string profile = "default";
  bool json = false;   // --json: the same as --format json
  std::string format;  // table (default), json, openmetrics (--all only)
  std::string output;  // written atomically instead of stdout
  std::size_t max_groups = 50;
  bool per_pid = false;
  std::string svg;
  unsigned width = 0;  // 0: the terminal's (no limit when not a terminal)
};
CLI::App* add_inspect(CLI::App& app, InspectOptions& opts);
int run_inspect(const InspectOptions& opts);

struct CheckOptions {
  bool json = false;
};
CLI::App* add_check(CLI::App& app, CheckOptions& opts);
int run_check(const CheckOptions& opts);

struct AuditOptions {
  std::vector<std::string> paths;  // files and directories
  std::string profile = "default";
  bool json = false;
  bool fail_on_warning = false;
  std::size_t max_files = 1'000'000;
  std::size_t max_depth = 64;
};
CLI::App* add_audit(CLI::App& app, AuditOptions& opts);
int run_audit(const AuditOptions& opts);

struct RunOptions {
  std::string profile = "default";
  std::string relro = "anon";  // anon | memfd | file (sealing/relro.hpp)
  std::string text = "file";   // anon | file
  std::vector<std::string> opt_out;
  bool dry_run = false;
  std::string report;
  bool enforce = false;
  bool follow_exec = false;
  std::string preload;  // the library; found beside the vmseal binary when empty
  bool print_env = false;
  std::optional<std::string> argv0;  // the program's argv[0], when not its path
  std::vector<std::string> command;
};
CLI::App* add_run(CLI::App& app, RunOptions& opts);
int run_run(RunOptions opts, const std::vector<std::string>& remaining);

// Shared by run and predict (cli/run_command.cpp): where `name` is found on
// PATH ("" when nowhere); the preload library (`given`, $VMSEAL_PRELOAD_LIBRARY,
// or beside this binary); why a preload cannot work in `program` ("" when it can).
std::string resolve_program(const std::string& name);
std::string find_preload(const std::string& given);
std::string why_preload_cannot_run(const std::string& program);
// --profile and --opt-out, as run and seal take them (cli/run_command.cpp).
void add_plan_options(CLI::App* cmd, std::string& profile, std::vector<std::string>& opt_out);

struct SealOptions {
  std::string pid;
  std::string profile = "default";
  std::vector<std::string> opt_out;
  bool dry_run = false;
  std::string report;
  bool json = false;
};
CLI::App* add_seal(CLI::App& app, SealOptions& opts);
int run_seal(const SealOptions& opts);

struct PredictOptions {
  std::string profile = "default";
  std::vector<std::string> opt_out;
  std::string trace;   // --trace FILE: read instead of running
  std::string record;  // --record FILE: keep the trace (and FILE.json)
  bool json = false;
  bool follow_exec = false;
  bool stacks = false;
  bool no_progress = false;
  bool privileged = false;
  std::string preload;
  std::string strace = "strace";
  std::vector<std::string> command;
};
CLI::App* add_predict(CLI::App& app, PredictOptions& opts);
int run_predict(PredictOptions opts, const std::vector<std::string>& remaining);

}  // namespace vmseal::cli
