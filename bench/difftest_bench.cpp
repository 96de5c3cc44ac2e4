// Difftest_*: the speed of `vmseal difftest`, the engine compared with the
// running kernel after every call. Each iteration is one generated sequence
// of 100 calls: each call made natively in a forked child and in the engine,
// then the window's and the heap's smaps (VmFlags included) and guard pages
// read back and compared. items_per_second is calls compared per second of
// wall time; with 2 threads, two jobs (two children) run side by side, as
// `vmseal difftest -j 2` does. Sequences near vm.max_map_count are left out
// (their cost is the 65,000-VMA set-up, not the comparison).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vmseal/difftest/runner.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace {

using vmseal::difftest::Job;
using vmseal::difftest::Op;
using vmseal::difftest::Options;

void Difftest_Compare(benchmark::State& state) {
  const auto probe = vmseal::kernel::probe_mseal();
  if (probe.support != vmseal::kernel::MsealSupport::Available) {
    state.SkipWithError(std::string(vmseal::kernel::describe(probe)).c_str());
    return;
  }
  Options o;
  o.ops_per_sequence = 100;
  o.window_pages = 256;
  const auto thread = static_cast<unsigned>(state.thread_index());
  Job job(20 + thread, o);
  std::string err;
  if (!job.ready(&err)) {
    state.SkipWithError(err.c_str());
    return;
  }
  std::uint64_t compared = 0;
  std::uint64_t sequence = 0;
  for (auto _ : state) {
    std::vector<Op> ops;
    const auto seed = vmseal::difftest::sequence_seed(4242 + thread, sequence++);
    const Job::Result r = job.replay(ops, false, seed, nullptr);
    if (!r.error.empty() || r.diverged) {
      state.SkipWithError((r.error.empty() ? "divergence: " + r.what : r.error).c_str());
      return;
    }
    compared += r.compared;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(compared));
}
BENCHMARK(Difftest_Compare)->UseRealTime()->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2);

}  // namespace
