// Replaying one stream of memory-management calls under several seal policies
// (seal_policy.hpp) at once, and finding every call whose result, or whose
// effect on the layout, differs between them. The input is an strace log
// (`strace -f -y`), a vmseal script (calls written by hand, see below), or a
// mix of both, line by line.
//
// A vmseal script (script/script.hpp) is memory calls written by hand in
// strace's syntax, without results, which may name their results for later
// lines; lines that carry a result are read as strace output.
//
// What the comparison reports, and never counts as agreement:
//   - calls that depend on mappings the input never made (a trace that starts
//     after the program did): "unverifiable";
//   - calls the input never finished (a truncated trace, a killed process);
//   - system calls that change an address space but are not modelled
//     (remap_file_pages, mbind, io_setup, ...);
//   - lines that cannot be read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/engine/seal_policy.hpp"
#include "vmseal/trace/strace.hpp"

namespace vmseal::compare {

struct CompareOptions {
  std::vector<SealPolicy> policies;  // at least one; the first is the baseline
  Config config;                     // everything but the seal policy
  // Place non-fixed mappings where a trace's recorded results put them (the
  // engine cannot know ASLR), as `vmseal sim --check` does.
  bool follow_recorded = true;
  // Report every call, not only those that differ.
  bool all_calls = false;
  // Stop at the first line that cannot be read (otherwise report and go on).
  bool stop_on_bad_line = true;
  // A trace recorded by `vmseal predict --record` carries the preload's seal
  // points ("vmseal-predict" markers): the layout there (a snapshot, by name)
  // and the ranges `vmseal run` seals. Each policy then adopts the snapshot
  // and seals those ranges with its own mseal at the marker's line, so the
  // comparison covers the program, ld.so and the stack too.
  std::function<std::optional<std::string>(const std::string& name)> snapshots;
};

// One policy's view of a call.
struct PolicyOutcome {
  bool ran = false;  // false: a script name it needs is unbound under this policy
  SysResult result;
  // The VMAs that overlap the call's ranges after the call, as
  // "7f0000000000-7f0000002000 r--p sl" items joined by "  "; "" when none.
  std::string layout;
  std::string note;  // why it did not run
};

struct CallComparison {
  std::size_t line = 0;
  int pid = 0;
  std::string call;  // the call as written, with the arguments it ran with under the baseline
  bool has_recorded = false;
  SysResult recorded;                   // what the trace says the kernel returned
  std::vector<PolicyOutcome> outcomes;  // one per policy, in CompareOptions order
  bool result_differs = false;
  bool layout_differs = false;
  bool verifiable = true;   // false: depends on mappings the input never made
  bool unfinished = false;  // the input has no end for this call
  std::string note;
  bool differs() const noexcept { return result_differs || layout_differs; }
};

struct PolicySummary {
  std::string spec;
  std::size_t calls = 0;             // calls run under this policy
  std::size_t failed = 0;            // of which returned an error
  std::size_t refused = 0;           // of which returned the policy's seal errno (EPERM / EACCES)
  std::size_t result_differs = 0;    // result differs from the baseline's
  std::size_t layout_differs = 0;    // effect on the layout differs from the baseline's
  std::size_t not_run = 0;           // script lines skipped: a name they use is unbound
  std::size_t trace_mismatches = 0;  // results that differ from the trace's record
};

struct CompareSummary {
  std::size_t lines = 0;
  std::size_t calls = 0;  // memory-management calls compared
  std::size_t differing = 0;
  std::size_t differing_unverifiable = 0;
  std::size_t unverifiable = 0;
  std::size_t unfinished = 0;
  std::size_t malformed_lines = 0;
  std::size_t unmodelled = 0;   // successful calls that change a layout but are not modelled
  std::size_t seal_points = 0;  // predict markers: seal points applied
  std::size_t seal_points_without_layout = 0;  // of which had no snapshot
  std::map<std::string, std::size_t> unmodelled_by_name;
  std::vector<std::string>
      problems;  // the first few bad lines and unmodelled calls, for the report
  std::vector<PolicySummary> policies;
};

class PolicyComparison {
 public:
  explicit PolicyComparison(CompareOptions options);
  ~PolicyComparison();
  PolicyComparison(const PolicyComparison&) = delete;
  PolicyComparison& operator=(const PolicyComparison&) = delete;

  // Reads one input line (a trace line or a script line). Every call compared
  // goes to `report` if it differs, or always with all_calls. Returns false
  // when a line could not be read and stop_on_bad_line is set.
  using Report = std::function<void(const CallComparison&)>;
  bool feed(std::string_view line, const Report& report);
  // End of input (calls still waiting for their "resumed" half are compared
  // as unfinished).
  void finish(const Report& report);

  const CompareSummary& summary() const noexcept;
  // The final layout (maps format) of each process under each policy.
  std::vector<int> pids() const;
  const AddressSpace* address_space(std::size_t policy, int pid) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmseal::compare
