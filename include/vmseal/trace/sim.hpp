// The trace simulator: applies the memory-management calls of an strace log to
// engine address spaces (one per mm: threads share one, fork copies, execve
// replaces) and, when the log carries results, compares them with the engine's.
//
// What the engine cannot know: the mappings a process had before the trace
// began or that the kernel made at execve (the binary, ld.so, the stack, the
// vdso). Each address space therefore tracks the ranges whose contents the
// trace determines ("known": created or unmapped by a traced call); a call that
// touches anything else is reported as unverifiable, never as a match.
#pragma once

#include "vmseal/engine/types.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/trace/memory_call.hpp"
#include "vmseal/trace/strace.hpp"

namespace vmseal::trace {

enum class Verdict : std::uint8_t {
  Match,         // recorded result equals the engine's
  Mismatch,      // they differ
  Unverifiable,  // the outcome depends on mappings the trace never created
  Placed,        // a non-fixed mmap put where the recorded result says (see check mode)
  NoRecord,      // the input has no result for the call (or check mode is off)
};
std::string_view verdict_name(Verdict v) noexcept;
// A result as strace prints it for the call `name`: "0x7f12a000" for calls that
// return addresses, "0", "-1 EPERM (Operation not permitted)".
std::string format_sys_result(std::string_view name, const SysResult& r);

struct SimRecord {
  std::size_t line = 0;
  int pid = 0;
  std::string call;  // "mmap(NULL, 4096, PROT_READ, ...)"
  SysResult engine;  // what the engine returned
  bool has_recorded = false;
  SysResult recorded;  // what the log says the kernel returned
  Verdict verdict = Verdict::NoRecord;
  std::string note;  // why unverifiable / what differs
  // The address ranges the call acts on (page-aligned, half-open): the range of
  // munmap, mprotect, ...; both ranges of mremap; the mapping mmap created.
  std::vector<std::pair<Addr, Addr>> ranges;
  bool verifiable = true;  // false when the outcome depends on state the trace never made
  // The line in strace syntax with the engine's result.
  std::string render() const;
};

struct SimOptions {
  bool check = false;  // compare with recorded results; place non-fixed mmaps as recorded
  Config config;       // the modelled machine and process
  // A trace is untrusted input (docs/limits.md): at most this many processes
  // alive at once, each an address space. `compare` runs one simulator per
  // design and divides the budget among them.
  std::size_t max_live_processes = std::size_t{1} << 16;
};

struct SimSummary {
  std::size_t calls = 0;  // memory-management calls simulated
  std::size_t matched = 0;
  std::size_t mismatched = 0;
  std::size_t unverifiable = 0;
  std::size_t placed = 0;
  std::size_t no_record = 0;
  std::size_t other_events = 0;            // non-memory calls and process events read
  std::size_t exited_layouts_dropped = 0;  // exited processes whose last layout was not kept
};

// A set of disjoint address ranges.
class RangeSet {
 public:
  void add(Addr start, Addr end);
  bool contains(Addr start, Addr end) const;
  void clear() { ranges_.clear(); }

 private:
  std::map<Addr, Addr> ranges_;  // start -> end
};

class Simulator {
 public:
  explicit Simulator(SimOptions options);
  ~Simulator();

  // Processes one event. Returns the record of a memory-management call, nullopt
  // for other events. Never throws for bad input: a call whose arguments cannot
  // be decoded gives a record with Verdict::Mismatch and a note when check mode
  // is on, or an error through `error` (set, and nullopt returned).
  std::optional<SimRecord> apply(const TraceEvent& ev, std::string* error);
  // A memory call already typed (a script line, a seal a tool makes at a seal
  // point), run as apply() runs a decoded trace call: `shown` is its text in
  // the record, `recorded` what a log says the kernel returned, if anything.
  SimRecord apply_call(int pid, std::size_t line, MemoryCall call, std::string shown,
                       const std::optional<SysResult>& recorded = std::nullopt);

  const SimSummary& summary() const noexcept { return summary_; }
  // The pids seen, in first-seen order, and their address spaces (the last one for
  // a process that exited; nullptr for a pid that never had one).
  std::vector<int> pids() const;
  const AddressSpace* address_space(int pid) const;

  // For callers that know more than the trace shows (vmseal predict, which
  // seals at the points the preload would and reads the layout there):
  // the live address space of `pid`, shared with its threads, or nullptr
  // when it has none (it exited);
  AddressSpace* mutable_address_space(int pid);
  // and a complete layout for `pid`'s mm (its threads see it too), built by
  // the caller on this simulator's file table: the mm's open files are kept,
  // and from now on every range counts as known (nothing is unverifiable).
  void adopt_layout(int pid, AddressSpace layout);
  // Whether `pid`'s mm has had a layout adopted (a fork's copy keeps it; an
  // exec starts a new mm without). A later snapshot must not replace it: the
  // mm already holds what was done to it since, seals included.
  bool layout_adopted(int pid) const;

 private:
  struct Mm;
  struct Proc;
  std::shared_ptr<Mm> mm_of(int pid);
  std::optional<SimRecord> change_tasks(int pid, const TaskChange& t, std::string* error);
  void set_proc(int pid, std::shared_ptr<Mm> mm);
  void keep_exited(int pid, std::shared_ptr<Mm> mm);
  // A memory call: decoded (memory_call.hpp), the ranges that decide it, the
  // engine, the verdict.
  struct Judgement;
  std::optional<SimRecord> apply_traced_call(int pid, const TraceEvent& ev, std::string* error);
  bool bind_call(MemoryCall& call, Mm& mm, Judgement& j);
  void need_known_ranges(const MemoryCall& call, Mm& mm, Judgement& j, SimRecord& rec);
  bool run_call(const MemoryCall& call, Mm& mm, SimRecord& rec);
  void learn_known_ranges(const MemoryCall& call, Mm& mm, SimRecord& rec, Addr brk_before);
  void judge(SimRecord& rec, const Judgement& j, bool placed);
  void track_files(int pid, const TraceCall& call);
  void learn_capabilities(int pid, const TraceCall& call);
  // userfaultfd(2) and its ioctls: the fd numbers the trace shows, a
  // registration in the mm of the fd's context.
  void apply_uffd(MemoryCall& call, Mm& mm, Judgement& j, SimRecord& rec);
  Mm* mm_with_id(const FileTable& files, std::uint32_t mm_id);
  // An open file one fd fewer holds: a userfaultfd no live process holds is
  // released (engine/address_space.hpp release_if_unheld()).
  void drop_file(FileTable& files, FileId file);
  void drop_files(Mm& mm);

  SimOptions options_;
  SimSummary summary_;
  std::map<int, std::shared_ptr<Mm>> procs_;
  std::map<int, std::shared_ptr<Mm>> exited_;  // the last layout of processes that exited
  std::deque<int> exited_order_;               // ...oldest first, at most kMaxExitedLayouts
  std::size_t live_ = 0;                       // pids with an mm
  // Documented limit (docs/limits.md): a trace is untrusted input.
  static constexpr std::size_t kMaxExitedLayouts = 4096;
  std::vector<int> order_;
  // shmid -> the segment's file, added to the file table of whichever
  // process attaches it (processes that share no ancestor share no table).
  std::map<std::uint64_t, FileInfo> shm_segments_;
};

// A whole trace through a Simulator: lines read with the documented limits
// (LineReader), parse errors and calls the simulator refuses reported through
// `problem` (and the run stopped at the first unless `keep_going`), each
// simulated call given to `record`, `progress(lines)` every 100,000 lines.
struct SimStream {
  std::size_t lines = 0;
  std::size_t bad_lines = 0;
  bool stopped = false;  // at a bad line, without keep_going
};
SimStream simulate(std::istream& in, Simulator& sim, bool keep_going,
                   const std::function<void(const SimRecord&)>& record,
                   const std::function<void(const std::string&)>& problem,
                   const std::function<void(std::size_t)>& progress = {});

}  // namespace vmseal::trace
