// The fleet view: every readable process of a machine inspected, summarised
// per executable, and rendered in the Prometheus text exposition format
// (also valid OpenMetrics) for node_exporter's textfile collector.
//
// Labels stay bounded the way process exporters keep them: one series per
// executable, the largest `max_groups` executables by mapped bytes kept and the
// rest summed under exe="(other)"; per-process series (pid, comm) only when
// asked for. A label value is an executable's path, which anyone who can run a
// program chooses: it is escaped, made valid UTF-8 and cut to a bounded length
// before grouping, so two paths that end up the same land in one series.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmseal/kernel/bypass.hpp"
#include "vmseal/kernel/proc.hpp"
#include "vmseal/kernel/syscalls.hpp"
#include "vmseal/sealing/inspect.hpp"

namespace vmseal::sealing {

// One live process inspected (what `vmseal inspect PID` shows): its smaps,
// its ELF objects through /proc/PID/root, and its `vmseal run` record when it
// has one. False with `failure` set when it cannot be read.
bool inspect_process(pid_t pid, Profile profile, ProcessReport& out, kernel::ProcFailure* failure);

// One process in a line: what the fleet view and `inspect --all` print.
struct ProcessSummary {
  pid_t pid = 0;
  std::string comm;
  std::string exe;
  Coverage total;                       // every mapping
  Coverage sealable;                    // the mappings a sealing loader would seal (sealed or not)
  std::uint64_t unsealed_sealable = 0;  // of those, not sealed: the gaps found
  std::uint64_t warnings = 0;
  bool vmseal_run = false;  // started by `vmseal run` (its record was read)
};
ProcessSummary summarize(const ProcessReport& report);

struct FleetScan {
  std::vector<ProcessSummary> processes;  // in pid order; kernel threads left out
  std::uint64_t denied = 0;               // processes this user may not read
  std::uint64_t exited = 0;               // gone while being read
  double seconds = 0;                     // how long the scan took
  std::int64_t finished_at = 0;           // Unix time the scan ended
};
// Scans every process in /proc. `progress(done, total)` is called after each
// one when given.
FleetScan scan_processes(Profile profile,
                         const std::function<void(std::size_t, std::size_t)>& progress = {});

// What the machine allows around the processes: rendered with the scan.
struct MachineState {
  kernel::MsealProbe mseal;
  kernel::SealBypasses bypasses;
};

struct ExpositionOptions {
  std::size_t max_groups = 50;  // executables with their own series; the rest are "(other)"
  bool per_pid = false;         // also one series per process (pid, comm, exe)
  std::string version;          // vmseal's, for vmseal_version
};

// A label value as the exposition format needs it: valid UTF-8 (a byte that
// is not becomes U+FFFD), at most kMaxLabelBytes bytes before escaping (cut at
// a character boundary, with "..." appended), and \, " and newline escaped.
inline constexpr std::size_t kMaxLabelBytes = 200;
std::string label_value(std::string_view raw);

// The whole exposition, "# EOF" last.
std::string render_exposition(const FleetScan& scan, const MachineState& machine,
                              const ExpositionOptions& options);

}  // namespace vmseal::sealing
