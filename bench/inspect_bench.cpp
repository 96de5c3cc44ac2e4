// Inspect_*: `vmseal inspect` on a process with 60,000 mappings, against
// reading its /proc/PID/smaps as `cat` does. Issue 4 asks for inspect within
// 1.5x of cat. A child process is given 60,000 VMAs (a region with every
// other page made read-only) and waits; each benchmark reads it repeatedly.
//   Inspect_CatSmaps      read(2) the whole smaps file into a buffer, nothing else
//   Inspect_ParseSmaps    read and parse it into typed records
//   Inspect_Full          read, parse, open the ELF objects, classify, summarise
//   Inspect_CatCommand    run `cat /proc/PID/smaps > /dev/null`, the reference
//   Inspect_VmsealCommand run `vmseal inspect PID > /dev/null`, end to end
// Wall time (UseRealTime): the kernel's generation of smaps dominates.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "vmseal/kernel/proc.hpp"
#include "vmseal/kernel/smaps.hpp"
#include "vmseal/sealing/inspect.hpp"

namespace {

constexpr std::size_t kMappings = 60000;

// A child with about kMappings VMAs, alive for the whole run.
class ManyMappings {
 public:
  static ManyMappings& get() {
    static ManyMappings m;
    return m;
  }
  pid_t pid() const { return pid_; }
  std::string error() const { return error_; }
  ~ManyMappings() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  ManyMappings() {
    int ready[2];
    if (pipe(ready) != 0) {
      error_ = "pipe";
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      const std::size_t pages = kMappings;
      char* p = static_cast<char*>(mmap(nullptr, pages * 4096, PROT_READ | PROT_WRITE,
                                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
      char ok = p != MAP_FAILED ? 'y' : 'n';
      for (std::size_t i = 1; ok == 'y' && i < pages; i += 2)
        if (mprotect(p + i * 4096, 4096, PROT_READ) != 0) ok = 'n';
      (void)!write(ready[1], &ok, 1);
      for (;;) pause();
    }
    close(ready[1]);
    char ok = 0;
    if (read(ready[0], &ok, 1) != 1 || ok != 'y')
      error_ = "the child could not make its mappings (vm.max_map_count?)";
    close(ready[0]);
  }
  pid_t pid_ = -1;
  std::string error_;
};

void Inspect_CatSmaps(benchmark::State& state) {
  ManyMappings& m = ManyMappings::get();
  if (!m.error().empty()) return state.SkipWithError(m.error().c_str());
  const std::string path = "/proc/" + std::to_string(m.pid()) + "/smaps";
  std::vector<char> buf(1 << 20);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const int fd = open(path.c_str(), O_RDONLY);
    for (ssize_t n; (n = read(fd, buf.data(), buf.size())) > 0;)
      bytes += static_cast<std::size_t>(n);
    close(fd);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void Inspect_ParseSmaps(benchmark::State& state) {
  ManyMappings& m = ManyMappings::get();
  if (!m.error().empty()) return state.SkipWithError(m.error().c_str());
  std::vector<vmseal::kernel::SmapsEntry> entries;
  for (auto _ : state) {
    vmseal::kernel::ProcFailure f;
    if (!vmseal::kernel::read_process_smaps(m.pid(), entries, &f))
      return state.SkipWithError(f.message.c_str());
    benchmark::DoNotOptimize(entries.data());
  }
  state.counters["mappings"] = static_cast<double>(entries.size());
}

void Inspect_Full(benchmark::State& state) {
  ManyMappings& m = ManyMappings::get();
  if (!m.error().empty()) return state.SkipWithError(m.error().c_str());
  std::size_t mappings = 0;
  for (auto _ : state) {
    vmseal::kernel::ProcFailure f;
    vmseal::kernel::ProcessInfo info;
    std::vector<vmseal::kernel::SmapsEntry> entries;
    if (!vmseal::kernel::read_process_info(m.pid(), info, &f) ||
        !vmseal::kernel::read_process_smaps(m.pid(), entries, &f))
      return state.SkipWithError(f.message.c_str());
    const auto rep = vmseal::sealing::inspect_entries(std::move(entries),
                                                      vmseal::sealing::live_elf_opener(m.pid()),
                                                      vmseal::sealing::Profile::Default, info.exe);
    mappings = rep.mappings.size();
    benchmark::DoNotOptimize(rep.total.bytes);
  }
  state.counters["mappings"] = static_cast<double>(mappings);
}

// Runs argv with stdout on /dev/null and waits; false if it did not exit 0.
bool run_quiet(const std::vector<std::string>& args) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return false;
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

void Inspect_CatCommand(benchmark::State& state) {
  ManyMappings& m = ManyMappings::get();
  if (!m.error().empty()) return state.SkipWithError(m.error().c_str());
  const std::vector<std::string> args = {"/bin/cat", "/proc/" + std::to_string(m.pid()) + "/smaps"};
  for (auto _ : state)
    if (!run_quiet(args)) return state.SkipWithError("cat failed");
}

void Inspect_VmsealCommand(benchmark::State& state) {
  ManyMappings& m = ManyMappings::get();
  if (!m.error().empty()) return state.SkipWithError(m.error().c_str());
  const std::vector<std::string> args = {VMSEAL_CLI_PATH, "inspect", std::to_string(m.pid())};
  for (auto _ : state)
    if (!run_quiet(args)) return state.SkipWithError("vmseal inspect failed");
}

BENCHMARK(Inspect_CatCommand)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(Inspect_VmsealCommand)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(Inspect_CatSmaps)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(Inspect_ParseSmaps)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(Inspect_Full)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
