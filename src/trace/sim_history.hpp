// The simulator's memory of an mm's recent calls (SimOptions::infer), and the
// searches that use it: which unseen page faults, or which order of calls that
// threads made at once, make the engine's results the kernel's.
//
// A History holds the mm's state at some point (`base`) and every call made
// on it since, with what the trace recorded and what the engine returned.
// Replaying them on a copy of `base` gives the mm's state again; replaying
// them with a fault inserted, or with one call moved, gives the state the
// kernel would have had if that had happened, and whether every result that
// agreed with the kernel still does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/engine/syscall.hpp"
#include "vmseal/trace/exec_layout.hpp"
#include "vmseal/trace/memory_call.hpp"
#include "vmseal/trace/sim.hpp"

namespace vmseal::trace::detail {

// The engine runs a typed call; a call that chooses its address follows
// `recorded` (the kernel's choice), as `sim --check` does.
Applied run_memory_call(AddressSpace& as, const MemoryCall& call,
                        const std::optional<RecordedPlacement>& recorded);

// Where and when a call happened, as the trace shows it.
struct Timing {
  std::size_t line = 0;      // where it starts ("<unfinished ...>" part)
  std::size_t end_line = 0;  // where its result was read ("<... resumed>" part)
  double start = -1;         // -ttt / -tt time of day, seconds; < 0 unknown
  double end = -1;           // start + -T duration; < 0 unknown
};
// Whether two calls of different threads may have run in either order: they
// were both inside the kernel at once (one's "<unfinished ...>" part was
// printed before the other's result, or their -T times overlap).
bool overlap(const Timing& a, const Timing& b) noexcept;
// "1700000000.123456" (-ttt) and "12:34:56.123456" (-tt): seconds; -1 for
// anything else (no timestamp, -t's whole seconds, -r's relative times).
double parse_time(std::string_view text) noexcept;
double parse_duration(std::string_view text) noexcept;

struct Entry {
  enum class Kind : std::uint8_t { Call, Fault, Config };
  Kind kind = Kind::Call;
  std::uint64_t seq = 0;  // the call's number in the simulator, to find it again
  // Call: the call as the engine ran it (shmat's segment already bound).
  MemoryCall call;
  FileId file = 0;         // mmap of a file: the file its fd named then
  bool placement = false;  // it followed the recorded result (check mode)
  bool brk_init = false;   // it told the simulator where the heap starts
  Addr brk_value = 0;
  int pid = 0;
  Timing timing;
  bool judged = false;  // recorded and verifiable: its agreement counts
  bool agreed = false;  // the engine returned the recorded result
  SysResult recorded;
  SysResult engine;
  std::vector<std::pair<Addr, Addr>> ranges;  // what it acted on, for locality
  std::unique_ptr<SimRecord> record;          // a disagreeing call's record (a revision)
  // Fault
  Addr addr = 0;
  Access access = Access::Write;
  // Config: the process state from here on (capget, prlimit64 from another pid).
  std::unique_ptr<Config> config;
};

// A copy of an mm kept for inference: counted with the histories
// (kMaxHistories), which bound how many are kept at once.
struct KeptSpace {
  AddressSpace as;
  std::shared_ptr<std::size_t> live;
  KeptSpace(AddressSpace a, std::shared_ptr<std::size_t> counter)
      : as(std::move(a)), live(std::move(counter)) {
    ++*live;
  }
  ~KeptSpace() { --*live; }
  KeptSpace(const KeptSpace&) = delete;
  KeptSpace& operator=(const KeptSpace&) = delete;
};

struct History {
  AddressSpace base;  // the mm before entries[0]
  std::vector<Entry> entries;
  // When `base` is a fork child's mm as fork() made it: the parent's mm
  // then. A write the parent made before forking gave the child anon_vmas
  // chained to the parent's, which no fault in the child reproduces.
  std::unique_ptr<KeptSpace> fork_parent;
  int fork_parent_pid = 0;
  std::size_t fork_line = 0;          // the line of the fork
  bool stale = false;                 // changed from outside (mutable_address_space): restart
  std::shared_ptr<std::size_t> live;  // the simulator's count of histories
  explicit History(AddressSpace b, std::shared_ptr<std::size_t> counter)
      : base(std::move(b)), live(std::move(counter)) {
    ++*live;
  }
  ~History() { --*live; }
  History(const History&) = delete;
  History& operator=(const History&) = delete;
};

// Documented limits (docs/limits.md): a trace is untrusted input.
inline constexpr std::size_t kWindow = 64;          // calls kept: kWindow to 2 * kWindow
inline constexpr std::size_t kMaxHistories = 1024;  // mms with one at once
inline constexpr std::size_t kWorkPerCall = 50000;  // replayed engine calls per disagreement
inline constexpr std::size_t kWorkPerTrace = 5000000;

// One entry on `as`: a call's result (and whether it followed the recorded
// placement), or for a fault whether it gave a VMA an anon_vma.
SysResult replay_call(AddressSpace& as, const Entry& e, bool* placed = nullptr);
bool replay_fault(AddressSpace& as, const Entry& e);
void replay(AddressSpace& as, const Entry& e);

// Moves the base forward so that at most 2 * kWindow entries stay. False when
// the replay did not give the results the engine gave (then start again).
bool roll(History& h);

// What a search found.
struct Found {
  AddressSpace state{Config{}};  // the mm after the call, as the kernel had it
  SysResult result;
  bool placed = false;
  // Faults: the Fault entries, each with the index (into entries) it goes before.
  std::vector<std::pair<std::size_t, Entry>> faults;
  // Faults the parent made before it forked (History::fork_parent), and the
  // parent's and the child's mm with them.
  std::vector<Entry> parent_faults;
  std::unique_ptr<AddressSpace> new_parent;
  std::unique_ptr<AddressSpace> new_base;
  // Order: the call moved before entries[before]; the results of it and
  // then of entries [before, n) in the new order.
  std::size_t before = 0;
  std::vector<SysResult> results;
};

// Unseen faults that make entries[n] (the last) agree, the fewest first,
// every judged result that agreed still agreeing. `work` is spent per
// replayed call, up to `limit`.
std::optional<Found> infer_faults(const History& h, std::size_t n, std::size_t& work,
                                  std::size_t limit);
// Another order: entries[n] moved before calls of other threads it overlapped,
// with fewer disagreements among them and none new.
std::optional<Found> infer_order(const History& h, std::size_t n, std::size_t& work,
                                 std::size_t limit);

}  // namespace vmseal::trace::detail

namespace vmseal::trace {

// One mm of the traced processes (its threads share it).
struct Simulator::Mm {
  AddressSpace as;
  RangeSet known;
  bool brk_known = false;
  bool adopted = false;  // adopt_layout() gave it a whole layout
  // RLIMIT_AS and RLIMIT_DATA count the pages mapped before the trace began,
  // which the engine does not hold. Without an adopted layout their number is
  // unknown, at most what a call the limit let through has shown
  // (judge_unseen_pages()); nullopt: no bound yet.
  std::optional<std::uint64_t> unseen_total_max;
  std::optional<std::uint64_t> unseen_data_max;
  // What execve mapped, inferred from the files (SimOptions::exec_files).
  std::optional<ExecInference> exec;
  int tasks = 0;  // live tasks using it
  // SimOptions::infer: its recent calls.
  std::unique_ptr<detail::History> history;
  // A fork child until its first call: the parent's mm at the fork.
  std::unique_ptr<detail::KeptSpace> fork_parent;
  int fork_parent_pid = 0;
  std::size_t fork_line = 0;
  explicit Mm(AddressSpace a) : as(std::move(a)) {}
};

struct Simulator::CallTiming : detail::Timing {};

}  // namespace vmseal::trace
