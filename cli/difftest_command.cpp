// vmseal difftest: the engine against the running kernel (see
// include/vmseal/difftest/runner.hpp).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "commands.hpp"
#include "manual.hpp"
#include "vmseal/difftest/runner.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::cli {

CLI::App* add_difftest(CLI::App& app, DifftestOptions& o) {
  CLI::App* cmd = app.add_subcommand(
      "difftest",
      "Run random memory-management call sequences natively and in the engine, and compare them");
  cmd->footer(exit_status_footer("difftest"));
  cmd->add_option("--seed", o.seed, "seed of the run ('random' picks one and prints it)")
      ->default_val("random");
  cmd->add_option("-n,--sequences", o.sequences, "number of sequences")
      ->default_val(100)
      ->check(CLI::Range(1ULL, 1ULL << 40));
  cmd->add_option("--ops", o.ops, "calls per sequence")
      ->default_val(200)
      ->check(CLI::Range(1ULL, 1ULL << 20));
  cmd->add_option("--mix", o.mix,
                  "operation weights, e.g. 'mmap=5,fork=0' or 'only:mmap=1,mseal=1'");
  cmd->add_option("-j,--jobs", o.jobs, "parallel jobs")->default_val(1)->check(CLI::Range(1U, 64U));
  cmd->add_option("--time-limit", o.time_limit, "stop starting sequences after this many seconds")
      ->default_val(0)
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--window", o.window_pages, "pages in each job's window")
      ->default_val(256)
      ->check(CLI::Range(16ULL, 65536ULL));
  cmd->add_option("--near-limit-every", o.near_limit_every,
                  "every Nth sequence runs a few VMAs short of vm.max_map_count (0: never)")
      ->default_val(50);
  cmd->add_flag("--no-shrink", o.no_shrink, "report divergences as found, without shrinking them");
  cmd->add_flag("--no-pin", o.no_pin,
                "let each job's processes move between CPUs (by default a job and its children "
                "stay on one)");
  cmd->add_option("--max-divergences", o.max_divergences,
                  "stop after this many divergences (0: never)")
      ->default_val(1);
  cmd->add_option("--out", o.out_dir,
                  "where to write divergences (.strace for vmseal sim, .c for the kernel)")
      ->default_val("difftest-divergences");
  cmd->add_flag("--json", o.json, "print the summary as JSON");
  cmd->add_flag("--no-progress", o.no_progress, "no progress bar even on a terminal");
  return cmd;
}

namespace {

// The library's options from the command line; false with the message printed.
bool options_from(const DifftestOptions& o, difftest::Options& opt) {
  if (o.seed == "random") {
    opt.seed = std::random_device{}() | (static_cast<std::uint64_t>(std::random_device{}()) << 32);
  } else {
    try {
      std::size_t used = 0;
      opt.seed = std::stoull(o.seed, &used, 0);
      if (used != o.seed.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      std::fprintf(stderr, "vmseal difftest: --seed wants a number or 'random', not '%s'\n",
                   o.seed.c_str());
      return false;
    }
  }
  opt.sequences = o.sequences;
  opt.ops_per_sequence = o.ops;
  opt.jobs = o.jobs;
  opt.time_limit_s = o.time_limit;
  opt.window_pages = o.window_pages;
  opt.near_limit_every = o.near_limit_every;
  opt.shrink = !o.no_shrink;
  opt.pin_jobs = !o.no_pin;
  opt.max_divergences = o.max_divergences;
  std::string err;
  if (!o.mix.empty() && !opt.mix.parse(o.mix, &err)) {
    std::fprintf(stderr, "vmseal difftest: %s\n", err.c_str());
    return false;
  }
  return true;
}

// A progress bar on a terminal, redrawn five times a second while it lives.
class ProgressBar {
 public:
  ProgressBar(const difftest::Progress& progress, std::uint64_t total, bool show)
      : progress_(progress), total_(total), t0_(std::chrono::steady_clock::now()) {
    if (show) painter_ = std::thread([this] { paint(); });
  }
  ~ProgressBar() {
    done_ = true;
    if (painter_.joinable()) painter_.join();
  }

 private:
  void paint() {
    while (!done_) {
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      const std::uint64_t ops = progress_.ops.load();
      const int width = 30;
      const int fill =
          total_ ? static_cast<int>(width * std::min(1.0, static_cast<double>(ops) /
                                                              static_cast<double>(total_)))
                 : 0;
      std::fprintf(stderr, "\r[%-*s] %llu/%llu ops  %.0f ops/s  %llu divergence(s)%s   ", width,
                   std::string(static_cast<std::size_t>(fill), '=').c_str(),
                   static_cast<unsigned long long>(ops), static_cast<unsigned long long>(total_),
                   s > 0 ? static_cast<double>(ops) / s : 0.0,
                   static_cast<unsigned long long>(progress_.divergences.load()),
                   progress_.shrinking ? "  shrinking" : "");
      std::fflush(stderr);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::fprintf(stderr, "\r%*s\r", 100, "");
  }
  const difftest::Progress& progress_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<bool> done_{false};
  std::thread painter_;
};

void print_json(const difftest::Options& opt, const difftest::Summary& sum,
                const std::vector<std::string>& written) {
  nlohmann::json j;
  j["seed"] = opt.seed;
  j["sequences"] = sum.sequences;
  j["ops_compared"] = sum.ops_compared;
  j["placed_as_kernel"] = sum.placed;
  j["seconds"] = sum.seconds;
  j["ops_per_second"] = sum.ops_per_second();
  j["timed_out"] = sum.timed_out;
  j["error"] = sum.error;
  j["divergences"] = nlohmann::json::array();
  for (std::size_t i = 0; i < sum.divergences.size(); ++i) {
    const auto& d = sum.divergences[i];
    j["divergences"].push_back({{"sequence", d.sequence},
                                {"sequence_seed", d.sequence_seed},
                                {"near_max_map_count", d.near_limit},
                                {"calls", d.ops.size()},
                                {"calls_before_shrinking", d.original_length},
                                {"what", d.what},
                                {"files", written[i]}});
  }
  std::printf("%s\n", j.dump(2).c_str());
}

void print_text(const difftest::Options& opt, const difftest::Summary& sum,
                const std::vector<std::string>& written) {
  for (std::size_t i = 0; i < sum.divergences.size(); ++i) {
    const auto& d = sum.divergences[i];
    std::printf(
        "DIVERGENCE in sequence %llu (%zu calls, shrunk from %zu):\n%s\n  written to %s.strace "
        "and %s.c\n",
        static_cast<unsigned long long>(d.sequence), d.ops.size(), d.original_length,
        d.what.c_str(), written[i].c_str(), written[i].c_str());
  }
  std::printf(
      "vmseal difftest: seed %llu: %llu sequences, %llu calls compared in %.1f s (%.0f calls/s), "
      "%llu placed as the kernel placed them, %zu divergence(s)%s\n",
      static_cast<unsigned long long>(opt.seed), static_cast<unsigned long long>(sum.sequences),
      static_cast<unsigned long long>(sum.ops_compared), sum.seconds, sum.ops_per_second(),
      static_cast<unsigned long long>(sum.placed), sum.divergences.size(),
      sum.timed_out ? " (time limit reached)" : "");
}

}  // namespace

int run_difftest(const DifftestOptions& o) {
  const auto probe = kernel::probe_mseal_isolated();
  if (probe.support != kernel::MsealSupport::Available) {
    std::fprintf(stderr, "vmseal difftest: %s; nothing to compare against\n",
                 std::string(kernel::describe(probe)).c_str());
    return kNoMseal;
  }
  difftest::Options opt;
  if (!options_from(o, opt)) return kUsage;
  // The seed first, so a run cut short can still be reproduced.
  std::fprintf(stderr, "vmseal difftest: seed %llu, %llu sequences of %llu calls, %u job(s)\n",
               static_cast<unsigned long long>(opt.seed),
               static_cast<unsigned long long>(opt.sequences),
               static_cast<unsigned long long>(opt.ops_per_sequence), opt.jobs);
  difftest::Progress progress;
  difftest::Summary sum;
  {
    const ProgressBar bar(progress, opt.sequences * opt.ops_per_sequence,
                          !o.no_progress && isatty(STDERR_FILENO) != 0);
    sum = difftest::run(opt, progress);
  }
  const std::vector<std::string> written = difftest::write_reproductions(sum, opt.seed, o.out_dir);
  if (o.json)
    print_json(opt, sum, written);
  else
    print_text(opt, sum, written);
  if (!sum.error.empty()) {
    std::fprintf(stderr, "vmseal difftest: %s\n", sum.error.c_str());
    return kIoError;
  }
  return sum.divergences.empty() ? kOk : kMismatch;
}

}  // namespace vmseal::cli
