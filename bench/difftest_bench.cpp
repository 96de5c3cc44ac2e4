// Difftest_*: the speed of `vmseal difftest`, the engine compared with the
// running kernel after every call. Each iteration is one generated sequence
// of 100 calls: each call made natively in a forked child and in the engine,
// then the window's and the heap's smaps (VmFlags included) and guard pages
// read back and compared. items_per_second is calls compared per second of
// wall time; with 2 threads, two jobs (two children) run side by side, as
// `vmseal difftest -j 2` does. Difftest_Compare leaves out the sequences near
// vm.max_map_count; Difftest_CompareDefaultMix has them, one in 50 as
// `vmseal difftest` does by default.
//
// Each job lives in a thread of its own for the whole process, pinned to a
// CPU, as a job of `vmseal difftest` does for its whole run: its zygotes are kept from one
// benchmark run to the next (the first sequence near the limit, in the first
// run, pays for the 65,000 VMAs and their import; the next ones fork them),
// and its allocations stay out of the main thread's [heap], which the
// children inherit and the comparison reads after every call.
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vmseal/difftest/runner.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace {

using vmseal::difftest::Job;
using vmseal::difftest::Op;
using vmseal::difftest::Options;

// A job in a thread of its own that replays the sequences it is handed.
class Worker {
 public:
  explicit Worker(unsigned index) : index_(index) {
    options_.ops_per_sequence = 100;
    options_.window_pages = 256;
    std::thread([this] { loop(); }).detach();  // lives as long as the process
  }
  // Generates and replays the sequence of `seed` (near the limit or not).
  Job::Result replay(std::uint64_t seed, bool near) {
    std::unique_lock<std::mutex> lock(mu_);
    task_ = Task{seed, near};
    cv_.notify_all();
    cv_.wait(lock, [this] { return done_.has_value(); });
    Job::Result r = std::move(*done_);
    done_.reset();
    return r;
  }

 private:
  struct Task {
    std::uint64_t seed;
    bool near;
  };
  void loop() {
    vmseal::difftest::pin_job(index_);  // as run() does (Options::pin_jobs)
    Job job(index_, options_);
    std::string err;
    const bool ready = job.ready(&err);
    for (;;) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return task_.has_value(); });
      const Task t = *task_;
      task_.reset();
      lock.unlock();
      Job::Result r;
      std::vector<Op> ops;
      if (ready)
        r = job.replay(ops, t.near, t.seed, nullptr);
      else
        r.error = err;
      lock.lock();
      done_ = std::move(r);
      cv_.notify_all();
    }
  }
  unsigned index_;
  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Task> task_;
  std::optional<Job::Result> done_;
};

// The worker of benchmark thread `thread`, and how many sequences it ran.
struct Slot {
  Worker* worker;
  std::uint64_t sequences;
};
Slot& slot(unsigned thread) {
  static Slot slots[2] = {{new Worker(20), 0}, {new Worker(21), 0}};  // never destroyed
  return slots[thread];
}

// Sequences near the limit: every `near_every`th (0: none), as run() picks them.
void compare(benchmark::State& state, std::uint64_t near_every) {
  const auto probe = vmseal::kernel::probe_mseal();
  if (probe.support != vmseal::kernel::MsealSupport::Available) {
    state.SkipWithError(std::string(vmseal::kernel::describe(probe)).c_str());
    return;
  }
  const auto thread = static_cast<unsigned>(state.thread_index());
  Slot& s = slot(thread);
  std::uint64_t compared = 0;
  for (auto _ : state) {
    const std::uint64_t index = s.sequences++;
    const bool near = near_every != 0 && index % near_every == near_every - 1;
    const Job::Result r =
        s.worker->replay(vmseal::difftest::sequence_seed(4242 + thread, index), near);
    if (!r.error.empty() || r.diverged) {
      state.SkipWithError((r.error.empty() ? "divergence: " + r.what : r.error).c_str());
      return;
    }
    compared += r.compared;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(compared));
}

void Difftest_Compare(benchmark::State& state) { compare(state, 0); }
BENCHMARK(Difftest_Compare)->UseRealTime()->Unit(benchmark::kMillisecond)->Threads(1)->Threads(2);

void Difftest_CompareDefaultMix(benchmark::State& state) {
  compare(state, Options{}.near_limit_every);
}
BENCHMARK(Difftest_CompareDefaultMix)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Threads(1)
    ->Threads(2);

}  // namespace
