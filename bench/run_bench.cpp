// Run_* and After_*: what `vmseal run` costs a program (issue 5: "the sealing
// at start-up costs under 2% of `python3 -c pass` wall time and under 200 us
// in absolute terms on this machine, and nothing after start-up").
//
// Start-up. Each run is a posix_spawn (clone(CLONE_VFORK) + execve) of the
// program, then wait4 for it; the wall time from the spawn to the reap is
// timed (UseManualTime), and wait4's rusage gives the child's CPU time and
// minor faults. The variants:
//   plain            the program alone
//   empty_preload    LD_PRELOAD of an empty shared library (vmseal_bench_empty,
//                    built beside this benchmark): the loader's fixed cost of
//                    any preload on this machine
//   vmseal_preload   LD_PRELOAD=libvmseal_preload.so VMSEAL_PROFILE=default,
//                    the environment `vmseal run` sets (`--print-env`),
//                    without vmseal's own exec
//   vmseal_run       `vmseal run -- PROGRAM ARGS`: adds the CLI's exec
//   exec_floor       vmseal_bench_exec (static, libc only) that execs the
//                    program with vmseal_preload's environment and does
//                    nothing else: the least any launcher that execs costs
// Run_Python/* and Run_True/* time one variant per benchmark (use
// --benchmark_enable_random_interleaving so repetitions of the variants mix).
// Run_PythonPaired and Run_TruePaired run the five variants back to back in
// every iteration, rotating which goes first, and report the medians of the
// per-round differences, which slow drift and background load cannot bias
// (their own minimum time, 3 s and 1 s a repetition, gives about 25 and 50
// rounds each).
// Run_SealNs/* read "seal_ns" (the preload's own timing of the sealing,
// report formatting excluded) from VMSEAL_REPORT.
// Run_PythonRelroPaired: the RELRO copy's cost, each --relro (and --text
// anon) against plain and against --relro file, paired per round.
//
// After start-up. The same file, compiled with VMSEAL_RUN_BENCH_WORKER, is
// vmseal_run_worker: a program that times a loop of system calls or dlopen
// calls after main and prints the total in ns. After_* run it plain and with
// the preload; the Time column is ns per operation (fixed iterations: each one
// is a worker process doing N operations).
#ifdef VMSEAL_RUN_BENCH_WORKER

#include <dlfcn.h>
#include <sys/mman.h>
#include <time.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

long long now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

int fail(const char* what) {
  const char* why = dlerror();
  std::fprintf(stderr, "vmseal_run_worker: %s failed: %s\n", what,
               why != nullptr ? why : std::strerror(errno));
  return 1;
}

}  // namespace

// vmseal_run_worker MODE N [LIBRARY]
int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: vmseal_run_worker MODE N [LIBRARY]\n");
    return 2;
  }
  const char* mode = argv[1];
  const long n = std::strtol(argv[2], nullptr, 10);
  const char* lib = argc > 3 ? argv[3] : "";
  long long t0 = 0;
  long long t1 = 0;
  if (std::strcmp(mode, "mmap") == 0 || std::strcmp(mode, "mmap_touch") == 0) {
    const bool touch = mode[4] != '\0';
    t0 = now_ns();
    for (long i = 0; i < n; ++i) {
      void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) return fail("mmap");
      if (touch) *static_cast<volatile char*>(p) = 1;
      if (munmap(p, 4096) != 0) return fail("munmap");
    }
    t1 = now_ns();
  } else if (std::strcmp(mode, "dlopen_fresh") == 0) {
    // Loaded and unloaded every time.
    t0 = now_ns();
    for (long i = 0; i < n; ++i) {
      void* h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
      if (h == nullptr || dlclose(h) != 0) return fail("dlopen");
    }
    t1 = now_ns();
  } else if (std::strcmp(mode, "dlopen_loaded") == 0 || std::strcmp(mode, "dlopen_soname") == 0 ||
             std::strcmp(mode, "dlopen_nodelete") == 0) {
    // Already loaded: glibc only counts references. By path, by a bare
    // soname (the interposer then checks the caller's RUNPATH and namespace),
    // or with RTLD_NODELETE (the interposer pins the object every time).
    const bool soname = mode[7] == 's';
    const int flags = RTLD_NOW | (mode[7] == 'n' ? RTLD_NODELETE : 0);
    const char* name = soname ? "libc.so.6" : lib;
    void* keep = dlopen(name, flags);
    if (keep == nullptr) return fail("dlopen");
    t0 = now_ns();
    for (long i = 0; i < n; ++i) {
      void* h = dlopen(name, flags);
      if (h == nullptr || dlclose(h) != 0) return fail("dlopen");
    }
    t1 = now_ns();
  } else {
    std::fprintf(stderr, "vmseal_run_worker: unknown mode %s\n", mode);
    return 2;
  }
  std::printf("%lld\n", t1 - t0);
  return 0;
}

#else  // the benchmarks

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

extern char** environ;

namespace {

constexpr const char* kPython = "/usr/bin/python3";  // not a pyenv shim (a bash script)
constexpr const char* kTrue = "/bin/true";

enum class Via { Plain, EmptyPreload, SealPreload, VmsealRun, ExecFloor };

// A program to spawn, with its argv and environment prepared once.
class Command {
 public:
  Command(std::vector<std::string> args, std::vector<std::string> env)
      : args_(std::move(args)), env_(std::move(env)) {
    for (std::string& a : args_) argv_.push_back(a.data());
    argv_.push_back(nullptr);
    for (std::string& e : env_) envp_.push_back(e.data());
    envp_.push_back(nullptr);
  }
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;
  const std::vector<std::string>& args() const { return args_; }
  char* const* argv() const { return argv_.data(); }
  char* const* envp() const { return envp_.data(); }

 private:
  std::vector<std::string> args_, env_;
  std::vector<char*> argv_, envp_;
};

struct Sample {
  double wall_ns = 0;
  double cpu_ns = 0;  // the child's user + system time
  double minflt = 0;
};

double ns_of(const timespec& ts) {
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}
double ns_of(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) * 1e9 + static_cast<double>(tv.tv_usec) * 1e3;
}

// Spawns the command with stdin and stderr on /dev/null and stdout on
// `stdout_fd` (or /dev/null), and waits. False unless it exited 0.
bool run_once(const Command& c, Sample& s, int stdout_fd = -1) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (stdout_fd >= 0)
    posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
  else
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  timespec t0{}, t1{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, c.argv()[0], &fa, nullptr, c.argv(), c.envp());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return false;
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) != pid) return false;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  s.wall_ns = ns_of(t1) - ns_of(t0);
  s.cpu_ns = ns_of(ru.ru_utime) + ns_of(ru.ru_stime);
  s.minflt = static_cast<double>(ru.ru_minflt);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// This process's environment without LD_PRELOAD and VMSEAL_*.
std::vector<std::string> clean_env() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0 && std::strncmp(*e, "VMSEAL_", 7) != 0)
      env.emplace_back(*e);
  return env;
}

// The command for `program args` run through `via`; `extra_env` is added
// (VMSEAL_REPORT for Run_SealNs), `profile` is the sealing profile.
std::vector<std::string> args_for(Via via, const std::vector<std::string>& program) {
  std::vector<std::string> args;
  if (via == Via::VmsealRun) args = {VMSEAL_CLI_PATH, "run", "--"};
  if (via == Via::ExecFloor) args = {VMSEAL_BENCH_EXEC_PATH};
  args.insert(args.end(), program.begin(), program.end());
  return args;
}
std::vector<std::string> env_for(Via via, const std::string& profile = "default",
                                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> env = clean_env();
  if (via == Via::EmptyPreload)
    env.emplace_back(std::string("LD_PRELOAD=") + VMSEAL_EMPTY_PRELOAD_PATH);
  if (via == Via::SealPreload || via == Via::ExecFloor) {
    // What `vmseal run --print-env` prints for this profile.
    env.emplace_back(std::string("LD_PRELOAD=") + VMSEAL_PRELOAD_PATH);
    env.emplace_back("VMSEAL_PROFILE=" + profile);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A number field of the preload's JSON report, or -1.
double report_number(const std::string& json, const char* key) {
  const std::string k = std::string("\"") + key + "\": ";
  const std::size_t at = json.find(k);
  if (at == std::string::npos) return -1;
  return std::strtod(json.c_str() + at + k.size(), nullptr);
}

std::string report_path() { return "/tmp/vmseal-run-bench-" + std::to_string(getpid()) + ".json"; }

// Before timing a sealed variant: one run with a report, which must say the
// program was sealed before main (so a silent fallback to running unsealed
// is not measured as "cheap"). "" when it was.
std::string check_sealed(Via via, const std::vector<std::string>& program,
                         const std::string& profile) {
  if (via != Via::SealPreload && via != Via::VmsealRun) return "";
  const std::string report = report_path();
  unlink(report.c_str());
  std::vector<std::string> args = args_for(via, program);
  std::vector<std::string> extra;
  if (via == Via::VmsealRun)
    args.insert(args.begin() + 2, {"--report", report});
  else
    extra.push_back("VMSEAL_REPORT=" + report);
  const Command c(args, env_for(via, profile, extra));
  Sample s;
  if (!run_once(c, s)) return "the sealed program did not exit 0";
  const std::string json = read_file(report);
  unlink(report.c_str());
  if (json.find("\"sealed_before_main\": true") == std::string::npos ||
      report_number(json, "sealed_bytes") <= 0)
    return "the program was not sealed (no mseal here?): " + json.substr(0, 200);
  return "";
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
double minimum(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::min_element(v.begin(), v.end());
}
double maximum(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}
double stat_min(const std::vector<double>& v) { return minimum(v); }
double stat_max(const std::vector<double>& v) { return maximum(v); }

// --- one variant per benchmark -----------------------------------------------
void run_variant(benchmark::State& state, const std::vector<std::string>& program, Via via,
                 const std::string& profile) {
  if (const std::string why = check_sealed(via, program, profile); !why.empty())
    return state.SkipWithError(why.c_str());
  const Command c(args_for(via, program), env_for(via, profile));
  std::vector<double> wall, cpu;
  double faults = 0;
  for (auto _ : state) {
    Sample s;
    if (!run_once(c, s)) return state.SkipWithError("the program did not exit 0");
    state.SetIterationTime(s.wall_ns / 1e9);
    wall.push_back(s.wall_ns / 1e3);
    cpu.push_back(s.cpu_ns / 1e3);
    faults += s.minflt;
  }
  // Per repetition: the fastest and the median run, in us; CPU time and
  // minor faults per run.
  state.counters["run_min_us"] = minimum(wall);
  state.counters["run_med_us"] = median(wall);
  state.counters["cpu_med_us"] = median(cpu);
  state.counters["minflt"] = faults / static_cast<double>(wall.size());
}

// --- all five variants in every iteration ------------------------------------
void run_paired(benchmark::State& state, const std::vector<std::string>& program) {
  constexpr std::size_t kN = 5;
  const Via vias[kN] = {Via::Plain, Via::EmptyPreload, Via::SealPreload, Via::VmsealRun,
                        Via::ExecFloor};
  for (Via v : vias)
    if (const std::string why = check_sealed(v, program, "default"); !why.empty())
      return state.SkipWithError(why.c_str());
  std::vector<std::unique_ptr<Command> > cmds;
  for (Via v : vias) cmds.push_back(std::make_unique<Command>(args_for(v, program), env_for(v)));
  std::vector<double> wall[kN], cpu[kN], flt[kN];
  std::size_t round = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < kN; ++k) {
      const std::size_t v = (round + k) % kN;  // each variant takes each place in turn
      Sample s;
      if (!run_once(*cmds[v], s)) return state.SkipWithError("a variant did not exit 0");
      wall[v].push_back(s.wall_ns / 1e3);
      cpu[v].push_back(s.cpu_ns / 1e3);
      flt[v].push_back(s.minflt);
    }
    ++round;
  }
  auto paired = [&](const std::vector<double>* m, std::size_t x, std::size_t y) {
    std::vector<double> d;
    for (std::size_t i = 0; i < m[x].size(); ++i) d.push_back(m[x][i] - m[y][i]);
    return median(d);
  };
  const char* names = "abcde";
  for (std::size_t v = 0; v < kN; ++v) {
    state.counters[std::string(1, names[v]) + "_med_us"] = median(wall[v]);
    state.counters[std::string(1, names[v]) + "_min_us"] = minimum(wall[v]);
  }
  // Medians of the per-round differences (wall, child CPU, minor faults).
  state.counters["b-a_us"] = paired(wall, 1, 0);
  state.counters["c-b_us"] = paired(wall, 2, 1);
  state.counters["c-a_us"] = paired(wall, 2, 0);
  state.counters["d-c_us"] = paired(wall, 3, 2);
  // vmseal run against the least a launcher that execs can cost: (e) - (c)
  // is that floor, (d) - (e) what vmseal's binary adds beyond it.
  state.counters["e-c_us"] = paired(wall, 4, 2);
  state.counters["d-e_us"] = paired(wall, 3, 4);
  state.counters["d-c_cpu_us"] = paired(cpu, 3, 2);
  state.counters["b-a_cpu_us"] = paired(cpu, 1, 0);
  state.counters["c-b_cpu_us"] = paired(cpu, 2, 1);
  state.counters["c-b_minflt"] = paired(flt, 2, 1);
  state.counters["b-a_minflt"] = paired(flt, 1, 0);
  // The same differences against 2 % of plain's median.
  const double a = median(wall[0]);
  state.counters["c-b_pct_of_a"] = a > 0 ? 100 * paired(wall, 2, 1) / a : 0;
  state.counters["c-a_pct_of_a"] = a > 0 ? 100 * paired(wall, 2, 0) / a : 0;
}

// --- what RELRO's copy costs: the preload with each --relro (and --text) ----
// Five variants in every round, rotating: plain, then the preload with
// VMSEAL_RELRO=file (the sealing without any copy), anon (the default),
// memfd, and anon with VMSEAL_TEXT=anon. The medians of the per-round
// differences against plain and against `file` isolate each copy's cost.
void run_relro_paired(benchmark::State& state, const std::vector<std::string>& program) {
  const std::vector<std::vector<std::string> > extras = {{},
                                                         {"VMSEAL_RELRO=file"},
                                                         {"VMSEAL_RELRO=anon"},
                                                         {"VMSEAL_RELRO=memfd"},
                                                         {"VMSEAL_RELRO=anon", "VMSEAL_TEXT=anon"}};
  const char* names[] = {"plain", "file", "anon", "memfd", "text_anon"};
  constexpr std::size_t kN = 5;
  if (const std::string why = check_sealed(Via::SealPreload, program, "default"); !why.empty())
    return state.SkipWithError(why.c_str());
  std::vector<std::unique_ptr<Command> > cmds;
  for (std::size_t v = 0; v < kN; ++v)
    cmds.push_back(std::make_unique<Command>(
        args_for(v == 0 ? Via::Plain : Via::SealPreload, program),
        env_for(v == 0 ? Via::Plain : Via::SealPreload, "default", extras[v])));
  std::vector<double> wall[kN];
  std::size_t round = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < kN; ++k) {
      const std::size_t v = (round + k) % kN;
      Sample smp;
      if (!run_once(*cmds[v], smp)) return state.SkipWithError("a variant did not exit 0");
      wall[v].push_back(smp.wall_ns / 1e3);
    }
    ++round;
  }
  auto paired = [&](std::size_t x, std::size_t y) {
    std::vector<double> d;
    for (std::size_t i = 0; i < wall[x].size(); ++i) d.push_back(wall[x][i] - wall[y][i]);
    return d;
  };
  const double a = median(wall[0]);
  for (std::size_t v = 1; v < kN; ++v) {
    const std::vector<double> vs_plain = paired(v, 0);
    state.counters[std::string(names[v]) + "-plain_med_us"] = median(vs_plain);
    state.counters[std::string(names[v]) + "-plain_min_us"] = minimum(vs_plain);
    state.counters[std::string(names[v]) + "-plain_max_us"] = maximum(vs_plain);
    state.counters[std::string(names[v]) + "-plain_pct"] = a > 0 ? 100 * median(vs_plain) / a : 0;
    if (v >= 2) state.counters[std::string(names[v]) + "-file_med_us"] = median(paired(v, 1));
  }
  state.counters["plain_med_us"] = a;
}

// --- the preload's own timing of the sealing ---------------------------------
void run_seal_ns(benchmark::State& state, const std::vector<std::string>& program,
                 const std::string& profile, const std::vector<std::string>& extra = {}) {
  const std::string report = report_path();
  std::vector<std::string> env_extra = extra;
  env_extra.push_back("VMSEAL_REPORT=" + report);
  const Command c(args_for(Via::SealPreload, program),
                  env_for(Via::SealPreload, profile, env_extra));
  std::vector<double> seal_us;
  double bytes = 0;
  for (auto _ : state) {
    unlink(report.c_str());
    Sample s;
    if (!run_once(c, s)) return state.SkipWithError("the program did not exit 0");
    state.SetIterationTime(s.wall_ns / 1e9);
    const std::string json = read_file(report);
    const double ns = report_number(json, "seal_ns");
    bytes = report_number(json, "sealed_bytes");
    if (ns < 0 || bytes <= 0 || json.find("\"sealed_before_main\": true") == std::string::npos)
      return state.SkipWithError("no seal_ns in the report, or nothing sealed");
    seal_us.push_back(ns / 1e3);
  }
  unlink(report.c_str());
  state.counters["seal_min_us"] = minimum(seal_us);
  state.counters["seal_med_us"] = median(seal_us);
  state.counters["seal_max_us"] = maximum(seal_us);
  state.counters["sealed_KiB"] = bytes / 1024;
}

// --- after start-up: the worker's own timing, in ns per operation -------------
void run_after(benchmark::State& state, const std::string& mode, long n, Via via) {
  const std::vector<std::string> program = {VMSEAL_RUN_WORKER_PATH, mode, std::to_string(n),
                                            VMSEAL_EMPTY_PRELOAD_PATH};
  if (const std::string why = check_sealed(via, program, "default"); !why.empty())
    return state.SkipWithError(why.c_str());
  const Command c(args_for(via, program), env_for(via));
  for (auto _ : state) {
    int fds[2];
    if (pipe(fds) != 0) return state.SkipWithError("pipe");
    Sample s;
    const bool ok = run_once(c, s, fds[1]);
    close(fds[1]);
    char buf[64] = {};
    const ssize_t got = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    if (!ok || got <= 0) return state.SkipWithError("the worker failed");
    state.SetIterationTime(std::strtod(buf, nullptr) / static_cast<double>(n) / 1e9);
  }
}

const char* via_name(Via v) {
  switch (v) {
    case Via::Plain:
      return "plain";
    case Via::EmptyPreload:
      return "empty_preload";
    case Via::SealPreload:
      return "vmseal_preload";
    case Via::VmsealRun:
      return "vmseal_run";
    case Via::ExecFloor:
      return "exec_floor";
  }
  return "?";
}

void with_stats(benchmark::internal::Benchmark* b) {
  b->ComputeStatistics("min", stat_min)->ComputeStatistics("max", stat_max);
}

const bool registered = [] {
  const std::vector<std::string> python = {kPython, "-c", "pass"};
  const std::vector<std::string> truth = {kTrue};
  for (const auto& [name, program] :
       {std::pair{"Run_Python", python}, std::pair{"Run_True", truth}}) {
    for (Via v : {Via::Plain, Via::EmptyPreload, Via::SealPreload, Via::VmsealRun}) {
      auto* b = benchmark::RegisterBenchmark(
          (std::string(name) + "/" + via_name(v)).c_str(),
          [program, v](benchmark::State& s) { run_variant(s, program, v, "default"); });
      b->UseManualTime()->Unit(benchmark::kMicrosecond)->Apply(with_stats);
    }
  }
  for (const char* profile : {"minimal", "strict"}) {
    auto* b =
        benchmark::RegisterBenchmark((std::string("Run_Python/vmseal_preload_") + profile).c_str(),
                                     [python, profile](benchmark::State& s) {
                                       run_variant(s, python, Via::SealPreload, profile);
                                     });
    b->UseManualTime()->Unit(benchmark::kMicrosecond)->Apply(with_stats);
  }
  benchmark::RegisterBenchmark("Run_PythonPaired",
                               [python](benchmark::State& s) { run_paired(s, python); })
      ->MinTime(3)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Apply(with_stats);
  benchmark::RegisterBenchmark("Run_TruePaired",
                               [truth](benchmark::State& s) { run_paired(s, truth); })
      ->MinTime(1)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Apply(with_stats);
  for (const auto& [name, program, profile] :
       {std::tuple{"Run_SealNs/python_default", python, "default"},
        std::tuple{"Run_SealNs/python_minimal", python, "minimal"},
        std::tuple{"Run_SealNs/python_strict", python, "strict"},
        std::tuple{"Run_SealNs/true_default", truth, "default"}}) {
    const std::string prof = profile;
    benchmark::RegisterBenchmark(
        name, [program, prof](benchmark::State& s) { run_seal_ns(s, program, prof); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        ->Apply(with_stats);
  }
  benchmark::RegisterBenchmark("Run_PythonRelroPaired",
                               [python](benchmark::State& s) { run_relro_paired(s, python); })
      ->MinTime(3)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond)
      ->Apply(with_stats);
  for (const auto& [name, extra] :
       {std::pair{"Run_SealNs/python_relro_file", std::vector<std::string>{"VMSEAL_RELRO=file"}},
        std::pair{"Run_SealNs/python_relro_anon", std::vector<std::string>{"VMSEAL_RELRO=anon"}},
        std::pair{"Run_SealNs/python_relro_memfd", std::vector<std::string>{"VMSEAL_RELRO=memfd"}},
        std::pair{"Run_SealNs/python_text_anon", std::vector<std::string>{"VMSEAL_TEXT=anon"}}}) {
    const std::vector<std::string> e = extra;
    benchmark::RegisterBenchmark(
        name, [python, e](benchmark::State& s) { run_seal_ns(s, python, "default", e); })
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond)
        ->Apply(with_stats);
  }
  // N per worker run: about 0.1 to 0.3 s of work each.
  const std::pair<const char*, long> modes[] = {
      {"mmap", 100000},          {"mmap_touch", 20000},     {"dlopen_fresh", 2000},
      {"dlopen_loaded", 100000}, {"dlopen_soname", 100000}, {"dlopen_nodelete", 50000}};
  for (const auto& [mode, n] : modes) {
    for (Via v : {Via::Plain, Via::SealPreload}) {
      const std::string m = mode;
      const long count = n;
      std::string bench = "After_" + m + "/" + via_name(v);
      benchmark::RegisterBenchmark(
          bench.c_str(), [m, count, v](benchmark::State& s) { run_after(s, m, count, v); })
          ->UseManualTime()
          ->Iterations(3)
          ->Unit(benchmark::kNanosecond)
          ->Apply(with_stats);
    }
  }
  return true;
}();

}  // namespace

#endif
