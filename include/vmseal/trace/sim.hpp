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
  // With SimOptions::infer, a result that disagreed at first and agrees once
  // the simulator infers what the trace cannot show:
  Explained,  // page faults the trace never shows (SimRecord::faults)
  Reordered,  // calls of threads that ran at once, in another order than strace printed
};
std::string_view verdict_name(Verdict v) noexcept;
// A result as strace prints it for the call `name`: "0x7f12a000" for calls that
// return addresses, "0", "-1 EPERM (Operation not permitted)".
std::string format_sys_result(std::string_view name, const SysResult& r);

// A page fault the simulator inferred: a write (or, on a kernel whose read
// faults allocate, a read) to memory the program could touch, which gave a
// VMA its anon_vma and so decided later merges. Faults belong to the mm, not
// to a thread.
struct InferredFault {
  Addr addr = 0;
  Access access = Access::Write;
  Addr vma_start = 0;  // the VMA it hit, as it was then
  Addr vma_end = 0;
  // It happened before the call of this line (and after the one before it).
  std::size_t before_line = 0;
  // Made by this pid before it forked this process (at before_line); 0 when
  // made in this mm.
  int parent_pid = 0;
  // "an unseen write fault at 0x7f0000002000 (in 0x7f0000002000-0x7f0000003000) before line 12"
  std::string describe() const;
};

struct SimRecord {
  std::size_t line = 0;
  std::size_t end_line = 0;  // where the result was read: the "<... resumed>" line, or `line`
  int pid = 0;
  std::string call;  // "mmap(NULL, 4096, PROT_READ, ...)"
  SysResult engine;  // what the engine returned
  bool has_recorded = false;
  SysResult recorded;  // what the log says the kernel returned
  Verdict verdict = Verdict::NoRecord;
  std::string note;  // why unverifiable / what differs; what was inferred
  // Explained: the faults that make the engine's result the kernel's.
  std::vector<InferredFault> faults;
  // The kernel ran this call before the call of this line, which strace
  // printed first (the two overlapped in time); 0 when in printed order.
  std::size_t ran_before_line = 0;
  // The address ranges the call acts on (page-aligned, half-open): the range of
  // munmap, mprotect, ...; both ranges of mremap; the mapping mmap created.
  std::vector<std::pair<Addr, Addr>> ranges;
  bool verifiable = true;  // false when the outcome depends on state the trace never made
  // The line in strace syntax with the engine's result.
  std::string render() const;
};

class ExecFileSource;

struct SimOptions {
  bool check = false;  // compare with recorded results; place non-fixed mmaps as recorded
  Config config;       // the modelled machine and process
  // With check: when a recorded result disagrees, look for what the trace
  // cannot show that explains it (docs/engine.md, "What a trace hides"):
  // unseen page faults on memory the program could touch, and another order
  // of calls that threads of one mm made at once. An explained call is
  // Verdict::Explained or Verdict::Reordered, and the simulator goes on with
  // the kernel's state; a result nothing explains stays a mismatch.
  bool infer = false;
  // A trace is untrusted input (docs/limits.md): at most this many processes
  // alive at once, each an address space. `compare` runs one simulator per
  // design and divides the budget among them.
  std::size_t max_live_processes = std::size_t{1} << 16;
  // vmseal sim --exec-files: where to read the files execve ran, to infer
  // what the kernel mapped (exec_layout.hpp). nullptr: the trace alone. The
  // source must outlive the simulator.
  ExecFileSource* exec_files = nullptr;
};

struct SimSummary {
  std::size_t calls = 0;  // memory-management calls simulated
  std::size_t matched = 0;
  std::size_t mismatched = 0;
  std::size_t unverifiable = 0;
  std::size_t placed = 0;
  std::size_t no_record = 0;
  std::size_t explained = 0;               // by unseen faults (SimOptions::infer)
  std::size_t reordered = 0;               // by the order of concurrent calls (SimOptions::infer)
  std::size_t other_events = 0;            // non-memory calls and process events read
  std::size_t exited_layouts_dropped = 0;  // exited processes whose last layout was not kept
  // With SimOptions::exec_files: the successful execs seen, and those whose
  // layout was inferred and placed completely.
  std::size_t execs = 0;
  std::size_t exec_layouts_placed = 0;
};

// A set of disjoint address ranges.
class RangeSet {
 public:
  void add(Addr start, Addr end);
  bool contains(Addr start, Addr end) const;
  void clear() { ranges_.clear(); }
  // Takes [start, end) out.
  void remove(Addr start, Addr end);
  // Whether no range meets [start, end).
  bool disjoint(Addr start, Addr end) const;
  // The end of the range holding `at`, or `at` when none does.
  Addr covered_until(Addr at) const;
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [s, e] : ranges_) f(s, e);
  }

 private:
  std::map<Addr, Addr> ranges_;  // start -> end
};

namespace detail {
struct Found;  // sim_history.hpp
}

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
  // Records returned earlier whose verdict a later call changed: a call that
  // strace printed later but the kernel ran first explains them
  // (Verdict::Reordered). Each is the whole record, with its line; the
  // summary already counts it so. Taken once.
  std::vector<SimRecord> take_revisions();
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

  // With SimOptions::exec_files: each exec whose layout could not be
  // inferred, and why ("line 12, pid 7: ..."), the first 256.
  const std::vector<std::string>& exec_notes() const noexcept { return exec_notes_; }

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
  Applied run_on(const MemoryCall& call, AddressSpace& as, const SimRecord& rec) const;
  std::optional<AddressSpace> with_unseen_pages(const MemoryCall& call, const Mm& mm,
                                                Judgement& j) const;
  void judge_unseen_pages(const MemoryCall& call, Mm& mm, AddressSpace worst,
                          const MmCounters& before, Judgement& j, SimRecord& rec);
  void learn_known_ranges(const MemoryCall& call, Mm& mm, SimRecord& rec, Addr brk_before);
  static void learn_write_seal(const MemoryCall& call, Mm& mm, Judgement& j, const SimRecord& rec);
  void judge(SimRecord& rec, const Judgement& j, bool placed);
  static bool known_range(const Mm& mm, Addr start, Addr end);
  void start_exec_layout(const TraceEvent& ev, const std::string& old_exe);
  bool exec_layout_step(const MemoryCall& call, Mm& mm, SimRecord& rec, Judgement& j);
  void note_exec(std::size_t line, int pid, std::string text);
  void track_files(int pid, const TraceCall& call);
  static void track_size_changes(AddressSpace& as, const TraceCall& call);
  FileId reopened_file(int pid, const TraceCall& call);
  bool bind_file(MemoryCall& call, Mm& mm, Judgement& j);
  bool writably_mapped_elsewhere(const Mm& mm, FileId file) const;
  void follow_recorded_fd(const MemoryCall& call, Mm& mm, SimRecord& rec);
  void learn_capabilities(int pid, const TraceCall& call);
  // SimOptions::infer (sim_infer.cpp): the mm's recent calls, kept so that
  // an unseen fault or another order can be tried on them.
  struct CallTiming;
  SimRecord apply_call_timed(int pid, std::size_t line, MemoryCall call, std::string shown,
                             const std::optional<SysResult>& recorded, const CallTiming& timing);
  void remember_call(Mm& mm, const MemoryCall& call, const SimRecord& rec, const CallTiming& timing,
                     bool brk_init, bool judged);
  void remember_config(Mm& mm);
  void explain(Mm& mm, SimRecord& rec);
  void apply_faults(Mm& mm, SimRecord& rec, std::size_t n, detail::Found& found);
  void keep_record(Mm& mm, const SimRecord& rec);
  void prepare_history(Mm& mm);
  void apply_order(Mm& mm, SimRecord& rec, std::size_t n, detail::Found& found);
  std::vector<SimRecord> revisions_;
  std::size_t inference_work_ = 0;  // engine calls replayed by inference, for its budget
  std::uint64_t seq_ = 0;           // calls applied
  std::size_t event_line_ = 0;      // the line of the event apply() is on
  std::shared_ptr<std::size_t> histories_ = std::make_shared<std::size_t>(0);
  // userfaultfd(2) and its ioctls: the fd numbers the trace shows, a
  // registration in the mm of the fd's context.
  void apply_uffd(MemoryCall& call, Mm& mm, Judgement& j, SimRecord& rec);
  Mm* mm_with_id(const FileTable& files, std::uint32_t mm_id);
  // An open file one fd fewer holds: a userfaultfd no live process holds is
  // released (engine/address_space.hpp release_if_unheld()).
  void drop_file(FileTable& files, FileId file);
  void drop_files(Mm& mm);
  void end_task(int pid);

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
  // What the exec layouts could not do (SimOptions::exec_files), the first
  // kMaxExecNotes of them.
  std::vector<std::string> exec_notes_;
  static constexpr std::size_t kMaxExecNotes = 256;
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
