// vmseal difftest: random call sequences run natively in a forked child and in
// the engine, compared after every call (result or errno, and the layout of the
// window and the heap as /proc/PID/smaps prints them, VmFlags included).
// Divergences are shrunk to a minimal sequence and written as a `vmseal sim
// --check` input and a standalone C program.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmseal/difftest/generator.hpp"
#include "vmseal/difftest/native.hpp"
#include "vmseal/difftest/op.hpp"
#include "vmseal/engine/address_space.hpp"

namespace vmseal::difftest {

struct Options {
  std::uint64_t seed = 1;
  std::uint64_t sequences = 100;
  std::uint64_t ops_per_sequence = 200;
  Mix mix = Mix::defaults();
  unsigned jobs = 1;
  double time_limit_s = 0;  // 0: none
  std::uint64_t window_pages = 256;
  // Every Nth sequence starts with the process a few VMAs short of
  // vm.max_map_count (0: never).
  std::uint64_t near_limit_every = 50;
  bool shrink = true;
  // Keep each job, its zygotes and children on one CPU (pin_job()).
  bool pin_jobs = true;
  std::uint64_t max_divergences = 1;  // stop after this many (0: never stop)
  // Changes the engine's view of the machine after it has been read from the
  // kernel. For testing the harness itself: a wrong view makes the engine
  // diverge on purpose, where no real divergence is left to shrink.
  std::function<void(Config&)> adjust_engine_config;
};

struct Divergence {
  std::uint64_t sequence = 0;       // index of the sequence
  std::uint64_t sequence_seed = 0;  // its own seed
  bool near_limit = false;
  std::vector<Op> ops;              // shrunk when shrinking is on
  std::size_t original_length = 0;  // ops up to and including the divergent one
  std::string what;                 // which call, and what differs
  std::string sim_input;            // the sequence as `vmseal sim --check` input
  std::string c_program;            // a C program showing the kernel's side
};

struct Summary {
  std::uint64_t sequences = 0;
  std::uint64_t ops_compared = 0;
  std::uint64_t placed = 0;  // non-fixed placements taken from the kernel
  double seconds = 0;
  std::vector<Divergence> divergences;
  bool timed_out = false;
  std::string error;  // set when the run could not go on (not a divergence)
  double ops_per_second() const {
    return seconds > 0 ? static_cast<double>(ops_compared) / seconds : 0;
  }
};

struct Progress {
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> sequences{0};
  std::atomic<std::uint64_t> divergences{0};
  std::atomic<bool> shrinking{false};
};

// The seed of sequence `index` of a run with `seed`.
std::uint64_t sequence_seed(std::uint64_t seed, std::uint64_t index) noexcept;

// Runs the difftest. `progress` is updated as it goes (for a progress bar).
Summary run(const Options& options, Progress& progress);

// Binds the calling thread, and so every process it forks later, to one CPU
// of those it may run on: the job-th, round robin. Each call of a job is a
// round trip between its thread and its child. On one CPU each wakeup is a
// context switch; across CPUs it often waits 0.2 to 0.3 ms for an idle vCPU
// here, and the scheduler does not reliably keep each job's pair on a CPU of
// its own.
void pin_job(unsigned job) noexcept;

// One job's fixed environment: its window, its open files, the machine.
class Job {
 public:
  Job(unsigned index, const Options& options);
  ~Job();
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  bool ready(std::string* error) const;

  struct Result {
    bool diverged = false;
    std::size_t index = 0;  // the op that diverged
    std::string what;
    std::uint64_t compared = 0;
    std::uint64_t placed = 0;
    std::string error;  // the run itself failed
  };
  // Runs `ops`; with a seed, first generates calls after them (appended to
  // `ops`) until the sequence has options.ops_per_sequence calls.
  Result replay(std::vector<Op>& ops, bool near_limit, std::optional<std::uint64_t> generate_seed,
                Progress* progress);
  GenContext context() const { return ctx_; }
  // Shrinks a divergent sequence to a minimal one that still diverges on the
  // same kind of call.
  std::vector<Op> shrink(std::vector<Op> ops, bool near_limit, std::string& what);
  std::string sim_input(const std::vector<Op>& ops, const std::string& what) const;
  std::string c_program(const std::vector<Op>& ops, const std::string& what) const;

 private:
  struct Template;  // a zygote and what its children start with (runner.cpp)
  bool start_zygote(Template& t, bool near_limit, std::string& err);
  bool start_child(Template& t, bool near_limit, NativeProcess& np,
                   std::vector<kernel::SmapsEntry>& entries, std::string& err);

  const Options& options_;
  Config config_;
  GenContext ctx_;
  // pagemap shows guard markers here (6.14+), so they are compared too.
  bool compare_guards_ = false;
  std::string error_;
  void* reservation_ = nullptr;
  std::size_t reservation_len_ = 0;
  // The children of ordinary sequences and of those near vm.max_map_count.
  std::unique_ptr<Template> plain_;
  std::unique_ptr<Template> near_;
};

// Writes each divergence's reproductions into `dir` (created when missing):
// DIR/seedS-seqN.strace (the input for vmseal sim --check) and .c (a C
// program that replays it on the kernel). Returns the base paths, in order.
std::vector<std::string> write_reproductions(const Summary& summary, std::uint64_t seed,
                                             const std::string& dir);

}  // namespace vmseal::difftest
