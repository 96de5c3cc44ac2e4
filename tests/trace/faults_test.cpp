// What a trace cannot show (issue 18, item 5): page faults, and the order in
// which the kernel ran calls that threads made at once. `sim --check` infers
// them when they explain a recorded result, names them, counts them apart,
// and goes on with the kernel's state; a result nothing explains stays a
// mismatch.
//
// Layouts are drawn in pages from a base address: "[4-6 rw-]" is a VMA from
// base + 4 pages to base + 6 pages, readable and writable.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "support/cli_run.hpp"
#include "vmseal/trace/sim.hpp"

namespace vmseal::trace {
namespace {

constexpr Addr kBase = 0x10000000;

// The VMAs overlapping [kBase, kBase + pages), drawn.
std::string draw(const AddressSpace& as, std::uint64_t pages = 16) {
  std::string out;
  const Addr end = kBase + pages * kPageSize;
  for (const Vma* v = as.vmas().lower(kBase); v != nullptr && v->start < end;
       v = as.vmas().next_of(*v)) {
    out += "[" + std::to_string((v->start - kBase) / kPageSize) + "-" +
           std::to_string((v->end - kBase) / kPageSize) + " ";
    out += (v->flags & vm::READ) != 0 ? 'r' : '-';
    out += (v->flags & vm::WRITE) != 0 ? 'w' : '-';
    out += (v->flags & vm::EXEC) != 0 ? 'x' : '-';
    out += "]";
  }
  return out;
}

struct Replay {
  SimSummary summary;
  std::vector<SimRecord> records;  // as apply() returned them, revisions applied
  std::vector<SimRecord> revisions;
  std::string layout;  // draw() of pid 100's mm
};

Replay replay(std::string_view text, bool infer = true, bool zero_page = true) {
  SimOptions o;
  o.check = true;
  o.infer = infer;
  o.config.read_fault_zero_page = zero_page;
  Simulator sim(o);
  Replay run;
  for (const ParseItem& item : parse_strace_text(text)) {
    const auto* ev = std::get_if<TraceEvent>(&item);
    EXPECT_NE(ev, nullptr) << std::get<ParseError>(item).to_string();
    if (ev == nullptr) continue;
    std::string error;
    if (auto rec = sim.apply(*ev, &error)) run.records.push_back(*rec);
    EXPECT_EQ(error, "");
    for (SimRecord& r : sim.take_revisions()) {
      for (SimRecord& old : run.records)
        if (old.line == r.line && old.pid == r.pid) old = r;
      run.revisions.push_back(std::move(r));
    }
  }
  run.summary = sim.summary();
  if (const AddressSpace* as = sim.address_space(100)) run.layout = draw(*as);
  return run;
}

const SimRecord& last(const Replay& r) { return r.records.back(); }

// ---- unseen faults ------------------------------------------------------------------

// A PROT_NONE reservation [0-16 ---] and three pages in it.
const std::string kThreeVmas =
    "100 mmap(0x10000000, 65536, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = "
    "0x10000000\n"
    "100 mmap(0x10004000, 12288, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, "
    "0) = 0x10004000\n"
    // [0-4 ---][4-5 rw-][5-6 r--][6-7 rw-][7-16 ---]
    "100 mprotect(0x10005000, 4096, PROT_READ) = 0\n"
    // unseen: writes to pages 4 and 6 (two anon_vmas)
    // kernel [4-6 rw-][6-7 rw-]; without the writes [4-7 rw-]
    "100 mprotect(0x10005000, 4096, PROT_READ|PROT_WRITE) = 0\n";
const std::string kGrowAll = "100 mremap(0x10004000, 12288, 16384, 0) ";

TEST(UnseenFaults, TwoWritesExplainATwoWayMerge) {
  const Replay r = replay(kThreeVmas + kGrowAll + "= -1 EFAULT (Bad address)\n");
  const SimRecord& grow = last(r);
  EXPECT_EQ(grow.verdict, Verdict::Explained) << grow.render();
  EXPECT_EQ(grow.engine, SysResult(Errno::FAULT));
  ASSERT_EQ(grow.faults.size(), 2u);
  EXPECT_EQ(grow.faults[0].addr, kBase + 4 * kPageSize);
  EXPECT_EQ(grow.faults[1].addr, kBase + 6 * kPageSize);
  for (const InferredFault& f : grow.faults) {
    EXPECT_EQ(f.access, Access::Write);
    EXPECT_EQ(f.before_line, 4u);  // between the two mprotects
  }
  EXPECT_NE(grow.render().find("explained by an unseen write fault at 0x10004000"),
            std::string::npos)
      << grow.render();
  EXPECT_EQ(r.summary.explained, 1u);
  EXPECT_EQ(r.summary.mismatched, 0u);
  // The simulator goes on with the kernel's layout.
  EXPECT_EQ(r.layout, "[0-4 ---][4-6 rw-][6-7 rw-][7-16 ---]");
}

TEST(UnseenFaults, StrictModeInfersNothing) {
  const Replay r = replay(kThreeVmas + kGrowAll + "= -1 EFAULT (Bad address)\n", false);
  EXPECT_EQ(last(r).verdict, Verdict::Mismatch);
  EXPECT_EQ(last(r).engine, SysResult(Errno::NOMEM));
  EXPECT_TRUE(last(r).faults.empty());
  EXPECT_EQ(r.summary.mismatched, 1u);
  EXPECT_EQ(r.summary.explained, 0u);
  EXPECT_EQ(r.layout, "[0-4 ---][4-7 rw-][7-16 ---]");
}

TEST(UnseenFaults, AResultNoFaultExplainsStaysAMismatch) {
  const Replay r = replay(kThreeVmas + kGrowAll + "= -1 EINVAL (Invalid argument)\n");
  EXPECT_EQ(last(r).verdict, Verdict::Mismatch);
  EXPECT_TRUE(last(r).faults.empty());
  EXPECT_EQ(r.summary.mismatched, 1u);
  EXPECT_EQ(r.layout, "[0-4 ---][4-7 rw-][7-16 ---]");  // the engine's own
}

TEST(UnseenFaults, NothingIsInferredWhereTheEngineAgrees) {
  const Replay r = replay(kThreeVmas + kGrowAll + "= -1 ENOMEM (Cannot allocate memory)\n");
  EXPECT_EQ(last(r).verdict, Verdict::Match);
  EXPECT_EQ(r.summary.explained, 0u);
  EXPECT_EQ(r.summary.matched, 4u);  // the first MAP_FIXED may replace what the trace never saw
  EXPECT_EQ(r.summary.unverifiable, 1u);
}

// Read-only outer pages: a read maps the zero page (no anon_vma) on upstream
// Linux, so nothing the program could do splits the merge; a kernel whose
// read faults allocate (docs/kernel-rules.md 0.1) gives them anon_vmas.
const std::string kReadOnly =
    "100 mmap(0x10000000, 65536, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = "
    "0x10000000\n"
    "100 mmap(0x10004000, 12288, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = "
    "0x10004000\n"
    // [4-5 r--][5-6 ---][6-7 r--]
    "100 mprotect(0x10005000, 4096, PROT_NONE) = 0\n"
    "100 mprotect(0x10005000, 4096, PROT_READ) = 0\n"
    "100 mremap(0x10004000, 12288, 16384, 0) = -1 EFAULT (Bad address)\n";

TEST(UnseenFaults, OnlyAccessesTheProgramCouldMakeAreInferred) {
  const Replay zero = replay(kReadOnly);
  EXPECT_EQ(last(zero).verdict, Verdict::Mismatch) << last(zero).render();
  const Replay alloc = replay(kReadOnly, true, false);
  ASSERT_EQ(last(alloc).verdict, Verdict::Explained) << last(alloc).render();
  ASSERT_EQ(last(alloc).faults.size(), 2u);
  EXPECT_EQ(last(alloc).faults[0].access, Access::Read);
  EXPECT_EQ(alloc.layout, "[0-4 ---][4-6 r--][6-7 r--][7-16 ---]");
}

// Shared memory: a write fault gives no anon_vma, so it cannot explain.
TEST(UnseenFaults, SharedMappingsGetNoAnonVma) {
  std::string text = kThreeVmas + kGrowAll + "= -1 EFAULT (Bad address)\n";
  const std::string priv = "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x10004000";
  text.replace(text.find(priv), priv.size(),
               "MAP_SHARED|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x10004000");
  const Replay r = replay(text);
  EXPECT_EQ(last(r).verdict, Verdict::Mismatch) << last(r).render();
}

// [0-4 rw-] hole [6-8 rw-], both written: the grow of A to 6 pages stops at
// B (a different anon_vma), so the grow of all 8 pages spans two VMAs.
TEST(UnseenFaults, AGrowInPlaceDoesNotSwallowAWrittenNeighbour) {
  const Replay r = replay(
      "100 mmap(0x10000000, 65536, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = "
      "0x10000000\n"
      "100 mmap(0x10000000, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, "
      "0) = 0x10000000\n"
      "100 mmap(0x10006000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, "
      "0) = 0x10006000\n"
      "100 munmap(0x10004000, 8192) = 0\n"
      // [0-4 rw-] [6-8 rw-][8-16 ---]; unseen writes to both
      "100 mremap(0x10000000, 16384, 24576, 0) = 0x10000000\n"
      // kernel [0-6 rw-][6-8 rw-]; without the writes [0-8 rw-]
      "100 mremap(0x10000000, 32768, 40960, 0) = -1 EFAULT (Bad address)\n");
  EXPECT_EQ(last(r).verdict, Verdict::Explained) << last(r).render();
  EXPECT_EQ(last(r).faults.size(), 2u);
  EXPECT_EQ(r.summary.mismatched, 0u);
  EXPECT_EQ(r.layout, "[0-6 rw-][6-8 rw-][8-16 ---]");
}

// A write before fork() gives the child an anon_vma chained to the
// parent's: it no longer merges with a VMA that has none, and no fault the
// child could make reproduces that. The write was the parent's.
TEST(UnseenFaults, AWriteBeforeForkIsTheParents) {
  const std::string text =
      "99 mmap(0x10000000, 65536, PROT_NONE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = "
      "0x10000000\n"
      "99 mmap(0x10004000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, "
      "0) = 0x10004000\n"
      // parent [4-6 rw-]; unseen: a write to page 4
      "99 clone(child_stack=NULL, flags=SIGCHLD) = 100\n"
      "100 mmap(0x10006000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, "
      "0) = 0x10006000\n"
      // child: kernel [4-6 rw-][6-8 rw-]; without the write [4-8 rw-]
      "100 mremap(0x10004000, 16384, 20480, 0) = -1 EFAULT (Bad address)\n";
  const Replay r = replay(text);
  ASSERT_EQ(last(r).verdict, Verdict::Explained) << last(r).render();
  ASSERT_EQ(last(r).faults.size(), 1u);
  EXPECT_EQ(last(r).faults[0].parent_pid, 99);
  EXPECT_EQ(last(r).faults[0].before_line, 3u);
  EXPECT_NE(last(r).note.find("in pid 99 before it forked this process (line 3)"),
            std::string::npos)
      << last(r).note;
  EXPECT_EQ(r.layout, "[0-4 ---][4-6 rw-][6-8 rw-][8-16 ---]");
  // A thread shares the mm: there is no fork to have written before.
  std::string thread = text;
  const std::string fork = "flags=SIGCHLD";
  thread.replace(thread.find(fork), fork.size(), "flags=CLONE_VM|CLONE_THREAD");
  EXPECT_EQ(last(replay(thread)).verdict, Verdict::Mismatch);
}

// The faults must have happened within the calls the simulator keeps
// (64 to 128 of the mm's): with 200 unrelated calls between the writes and
// the result they decide, the merge is history and nothing explains it.
TEST(UnseenFaults, FaultsOutsideTheKeptCallsAreNotInferred) {
  std::string text = kThreeVmas;
  for (int i = 0; i < 200; ++i)
    text +=
        "100 mmap(0x20000000, 4096, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = "
        "0x20000000\n";
  const Replay r = replay(text + kGrowAll + "= -1 EFAULT (Bad address)\n");
  EXPECT_EQ(last(r).verdict, Verdict::Mismatch);
}

// ---- the order of concurrent calls ----------------------------------------------------

const std::string kThreads =
    "100 mmap(0x10000000, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, "
    "0) = 0x10000000\n"
    "100 clone(child_stack=NULL, flags=CLONE_VM|CLONE_THREAD) = 101\n";

// Chromium's pattern: one thread unmaps a window while another's mmap gets it
// back, and strace prints the mmap's result first. The mmap disagrees when
// it is simulated; the munmap, when it comes, explains it.
TEST(ConcurrentOrder, ALaterCallTheKernelRanFirstExplainsAnEarlierLine) {
  const Replay r = replay(kThreads +
                          "100 munmap(0x10000000, 65536 <unfinished ...>\n"
                          "101 mmap(NULL, 65536, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
                          "0x10000000\n"
                          "100 <... munmap resumed>) = 0\n");
  ASSERT_EQ(r.records.size(), 3u);
  ASSERT_EQ(r.revisions.size(), 1u);
  const SimRecord& mmap = r.records[1];
  EXPECT_EQ(mmap.line, 4u);
  EXPECT_EQ(mmap.verdict, Verdict::Reordered) << mmap.render();
  EXPECT_EQ(mmap.engine, SysResult::ok(kBase));
  EXPECT_NE(mmap.note.find("the kernel ran the munmap of line 3 (pid 100) first"),
            std::string::npos)
      << mmap.note;
  const SimRecord& munmap = r.records[2];
  EXPECT_EQ(munmap.verdict, Verdict::Match);
  EXPECT_EQ(munmap.ran_before_line, 4u);
  EXPECT_EQ(r.summary.mismatched, 0u);
  EXPECT_EQ(r.summary.reordered, 1u);
  EXPECT_EQ(r.layout, "[0-16 r--]");
}

// The call printed later disagrees itself: moved before the other thread's.
TEST(ConcurrentOrder, ACallPrintedLaterRanFirst) {
  const Replay r = replay(kThreads +
                          "100 mprotect(0x10000000, 65536, PROT_READ <unfinished ...>\n"
                          "101 munmap(0x10000000, 65536) = 0\n"
                          "100 <... mprotect resumed>) = 0\n");
  const SimRecord& mprotect = last(r);
  EXPECT_EQ(mprotect.verdict, Verdict::Reordered) << mprotect.render();
  EXPECT_EQ(mprotect.ran_before_line, 4u);
  EXPECT_EQ(r.summary.mismatched, 0u);
  EXPECT_EQ(r.summary.reordered, 1u);
  EXPECT_EQ(r.layout, "");
}

// Calls strace printed whole, one after the other, did not overlap: their
// order is the kernel's, and a disagreement stays one.
TEST(ConcurrentOrder, CallsThatDidNotOverlapAreNotReordered) {
  const Replay r = replay(kThreads +
                          "101 munmap(0x10000000, 65536) = 0\n"
                          "100 mprotect(0x10000000, 65536, PROT_READ) = 0\n");
  EXPECT_EQ(last(r).verdict, Verdict::Mismatch);
  EXPECT_EQ(r.summary.reordered, 0u);
  const Replay strict = replay(kThreads +
                                   "100 mprotect(0x10000000, 65536, PROT_READ <unfinished ...>\n"
                                   "101 munmap(0x10000000, 65536) = 0\n"
                                   "100 <... mprotect resumed>) = 0\n",
                               false);
  EXPECT_EQ(last(strict).verdict, Verdict::Mismatch);
}

// No order of the two explains a result neither gives.
TEST(ConcurrentOrder, AResultNoOrderExplainsStaysAMismatch) {
  const Replay r = replay(kThreads +
                          "100 mprotect(0x10000000, 65536, PROT_READ <unfinished ...>\n"
                          "101 munmap(0x10000000, 65536) = 0\n"
                          "100 <... mprotect resumed>) = -1 EACCES (Permission denied)\n");
  EXPECT_EQ(last(r).verdict, Verdict::Mismatch);
  EXPECT_EQ(r.summary.mismatched, 1u);
}

// Without "<unfinished ...>" (strace -ff logs merged by time): -ttt and -T
// times that overlap allow either order; times that do not, only theirs.
TEST(ConcurrentOrder, OverlappingTimesAllowEitherOrder) {
  const std::string setup =
      "100 1700000000.000100 mmap(0x10000000, 65536, PROT_READ|PROT_WRITE, "
      "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x10000000 <0.000010>\n"
      "100 1700000000.000200 clone(child_stack=NULL, flags=CLONE_VM|CLONE_THREAD) = 101 "
      "<0.000050>\n";
  const Replay overlap =
      replay(setup +
             "101 1700000000.001000 munmap(0x10000000, 65536) = 0 <0.000100>\n"
             "100 1700000000.001050 mprotect(0x10000000, 65536, PROT_READ) = 0 <0.000020>\n");
  EXPECT_EQ(last(overlap).verdict, Verdict::Reordered) << last(overlap).render();
  const Replay apart =
      replay(setup +
             "101 1700000000.001000 munmap(0x10000000, 65536) = 0 <0.000100>\n"
             "100 1700000000.001200 mprotect(0x10000000, 65536, PROT_READ) = 0 <0.000020>\n");
  EXPECT_EQ(last(apart).verdict, Verdict::Mismatch);
  // -tt: the time of day.
  const Replay tt = replay(
      "100 10:00:00.000100 mmap(0x10000000, 65536, PROT_READ|PROT_WRITE, "
      "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x10000000 <0.000010>\n"
      "100 10:00:00.000200 clone(child_stack=NULL, flags=CLONE_VM|CLONE_THREAD) = 101 <0.000050>\n"
      "101 10:00:00.001000 munmap(0x10000000, 65536) = 0 <0.000100>\n"
      "100 10:00:00.001050 mprotect(0x10000000, 65536, PROT_READ) = 0 <0.000020>\n");
  EXPECT_EQ(last(tt).verdict, Verdict::Reordered) << last(tt).render();
  // Without -T, how long a call took is unknown: printed order.
  const Replay untimed =
      replay(setup +
             "101 1700000000.001000 munmap(0x10000000, 65536) = 0\n"
             "100 1700000000.001050 mprotect(0x10000000, 65536, PROT_READ) = 0\n");
  EXPECT_EQ(last(untimed).verdict, Verdict::Mismatch);
}

// A grow the kernel made in place because another thread had unmapped what
// was in the way, printed before that munmap returned (Chromium's
// mremap(MREMAP_MAYMOVE) grows).
TEST(ConcurrentOrder, AGrowInPlaceAfterAnUnmapPrintedLater) {
  const Replay r = replay(kThreads +
                          "100 munmap(0x10004000, 16384 <unfinished ...>\n"
                          // [0-4 rw-][4-8 rw-]...: the engine in printed order must move the grow
                          "101 mremap(0x10000000, 16384, 32768, MREMAP_MAYMOVE) = 0x10000000\n"
                          "100 <... munmap resumed>) = 0\n");
  EXPECT_EQ(r.records[1].verdict, Verdict::Reordered) << r.records[1].render();
  EXPECT_EQ(r.summary.mismatched, 0u);
}

// ---- logs of real programs (tests/data/faults/README.md) --------------------------------

struct Logged {
  SimSummary summary;
  std::vector<SimRecord> records;  // as simulate() gives them: final
  std::string first_mismatch;
};

Logged replay_log(const std::string& text, bool infer = true) {
  SimOptions o;
  o.check = true;
  o.infer = infer;
  Simulator sim(o);
  Logged out;
  std::istringstream in(text);
  const SimStream run = simulate(
      in, sim, false, [&](const SimRecord& r) { out.records.push_back(r); },
      [](const std::string& problem) { ADD_FAILURE() << problem; });
  EXPECT_EQ(run.bad_lines, 0u);
  out.summary = sim.summary();
  for (const SimRecord& r : out.records)
    if (r.verdict == Verdict::Mismatch && out.first_mismatch.empty())
      out.first_mismatch = r.render();
  return out;
}

std::string log_text(const std::string& name) {
  const std::string text = test::slurp(std::string(VMSEAL_TEST_DATA_DIR "/faults/") + name);
  EXPECT_FALSE(text.empty()) << name;
  return text;
}

TEST(FaultLogs, WritesBetweenMergesReplayWithoutMismatch) {
  for (const char* who : {"root", "user"}) {
    const std::string text = log_text(std::string("merges.") + who + ".strace");
    const Logged r = replay_log(text);
    EXPECT_EQ(r.summary.mismatched, 0u) << who << ": " << r.first_mismatch;
    // Scenarios 1 to 3 of merges.c, each by two named writes; 4 and 5 need
    // none; 6 by one write of the parent before it forked.
    EXPECT_EQ(r.summary.explained, 4u) << who;
    std::size_t named = 0;
    std::size_t in_parent = 0;
    for (const SimRecord& rec : r.records) {
      if (rec.verdict != Verdict::Explained) continue;
      EXPECT_TRUE(rec.call.starts_with("mremap(")) << rec.render();
      EXPECT_EQ(rec.engine, SysResult(Errno::FAULT));
      const bool forked = rec.pid != r.records.front().pid;
      EXPECT_EQ(rec.faults.size(), forked ? 1u : 2u) << rec.render();
      for (const InferredFault& f : rec.faults) {
        EXPECT_EQ(f.access, Access::Write);
        EXPECT_NE(rec.note.find(f.describe()), std::string::npos);
        EXPECT_EQ(f.parent_pid, forked ? r.records.front().pid : 0) << rec.render();
        in_parent += f.parent_pid != 0;
        ++named;
      }
    }
    EXPECT_EQ(named, 7u) << who;
    EXPECT_EQ(in_parent, 1u) << who;
    EXPECT_GE(r.summary.matched, 20u) << who;
    EXPECT_LE(r.summary.unverifiable, 2u) << who;  // ld.so's RELRO mprotects
    // Without inference, the four are mismatches: the writes matter.
    EXPECT_EQ(replay_log(text, false).summary.mismatched, 4u) << who;
  }
}

TEST(FaultLogs, AWrongResultStillFails) {
  std::string text = log_text("merges.root.strace");
  // The first grow claimed EINVAL: neither a write nor anything else explains it.
  const std::string efault = "= -1 EFAULT (Bad address)";
  const std::size_t pos = text.find(efault, text.find("mremap("));
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, efault.size(), "= -1 EINVAL (Invalid argument)");
  const Logged r = replay_log(text);
  EXPECT_EQ(r.summary.mismatched, 1u);
  EXPECT_EQ(r.summary.explained, 3u);
}

TEST(FaultLogs, ThreadsReplayInTheKernelsOrder) {
  for (const char* who : {"root", "user"}) {
    const std::string text = log_text(std::string("threads.") + who + ".strace");
    const Logged r = replay_log(text);
    EXPECT_EQ(r.summary.mismatched, 0u) << who << ": " << r.first_mismatch;
    EXPECT_GE(r.summary.reordered, 1u) << who;
    EXPECT_EQ(r.summary.explained, 0u) << who;
    EXPECT_GE(r.summary.matched + r.summary.placed, 1000u) << who;
    // simulate() gives each record once, final: a reordered line is never
    // given first as a mismatch.
    std::size_t reordered = 0;
    for (const SimRecord& rec : r.records) reordered += rec.verdict == Verdict::Reordered;
    EXPECT_EQ(reordered, r.summary.reordered) << who;
    EXPECT_GT(replay_log(text, false).summary.mismatched, 0u) << who;
  }
}

TEST(FaultLogs, AWrongThreadResultStillFails) {
  std::string text = log_text("threads.root.strace");
  const std::string ok = "<... munmap resumed>)             = 0";
  const std::size_t pos = text.find(ok);
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, ok.size(), "<... munmap resumed>)             = -1 EINVAL (Invalid argument)");
  EXPECT_GE(replay_log(text).summary.mismatched, 1u);
}

TEST(FaultLogs, TheCliCountsExplainedLinesApart) {
  const std::string merges = VMSEAL_TEST_DATA_DIR "/faults/merges.root.strace";
  test::CliRun run = test::run_cli("sim --check -q " + merges);
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.err.find("0 mismatched"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("4 explained by unseen faults"), std::string::npos) << run.err;
  // -q still shows the explained lines, each naming its faults.
  EXPECT_NE(run.out.find("# explained by an unseen write fault at 0x"), std::string::npos);
  EXPECT_EQ(test::run_cli("sim --check --strict -q " + merges).code, 1);
  run = test::run_cli("sim --check --json " + merges);
  ASSERT_EQ(run.code, 0) << run.err;
  const nlohmann::json j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["summary"]["explained"], 4);
  EXPECT_EQ(j["summary"]["mismatched"], 0);
  std::size_t faults = 0;
  std::size_t in_parent = 0;
  for (const auto& rec : j["records"]) {
    if (rec["verdict"] != "explained") continue;
    faults += rec["inferred_faults"].size();
    for (const auto& f : rec["inferred_faults"]) in_parent += f.contains("parent_pid");
  }
  EXPECT_EQ(faults, 7u);
  EXPECT_EQ(in_parent, 1u);

  const std::string threads = VMSEAL_TEST_DATA_DIR "/faults/threads.root.strace";
  run = test::run_cli("sim --check --json " + threads);
  ASSERT_EQ(run.code, 0) << run.err;
  const nlohmann::json t = nlohmann::json::parse(run.out);
  std::size_t reordered = 0;
  std::size_t moved = 0;
  for (const auto& rec : t["records"]) {
    reordered += rec["verdict"] == "reordered";
    moved += rec.contains("ran_before_line");
  }
  EXPECT_EQ(reordered, t["summary"]["reordered"].get<std::size_t>());
  EXPECT_GE(moved, 1u);
}

// ---- hostile input ----------------------------------------------------------------------------

// At most 1,024 mms keep what inference needs: past that, a disagreement
// stays a mismatch.
TEST(UnseenFaults, HistoriesAreBounded) {
  auto with_children = [](int children) {
    std::string text;
    for (int i = 0; i < children; ++i)
      text += "1 clone(child_stack=NULL, flags=SIGCHLD) = " + std::to_string(1000 + i) + "\n";
    std::string scenario = kThreeVmas + kGrowAll + "= -1 EFAULT (Bad address)\n";
    for (std::size_t at = 0; (at = scenario.find("100 ", at)) != std::string::npos; at += 4)
      if (at == 0 || scenario[at - 1] == '\n')
        scenario.replace(at, 4, std::to_string(1000 + children - 1) + " ");
    return last(replay(text + scenario)).verdict;
  };
  EXPECT_EQ(with_children(10), Verdict::Explained);
  EXPECT_EQ(with_children(1100), Verdict::Mismatch);
}

// Every call a disagreement on a layout of many VMAs: the searches are
// bounded per call and per trace (docs/limits.md).
TEST(UnseenFaults, SearchesAreBounded) {
  std::string text =
      "100 mmap(0x10000000, 16777216, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, "
      "-1, 0) = 0x10000000\n";
  char line[160];
  for (int i = 0; i < 2000; ++i) {
    // Split the mapping into many VMAs, each call claiming a result no
    // fault explains.
    std::snprintf(line, sizeof line,
                  "100 mprotect(%#x, 4096, PROT_READ) = -1 EINVAL (Invalid argument)\n",
                  0x10000000 + 2 * 4096 * (i % 2000));
    text += line;
  }
  const auto start = std::chrono::steady_clock::now();
  const Replay r = replay(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.summary.mismatched, 2000u);
  EXPECT_LT(seconds, 120.0);
}

}  // namespace
}  // namespace vmseal::trace
