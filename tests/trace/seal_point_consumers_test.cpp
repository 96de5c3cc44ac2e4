// The one seal-point assembler (trace/seal_point.hpp) and its two consumers:
// predict seals as the preload does (a run of adjacent ranges per mseal),
// compare one range per mseal. Fed the same markers, they must seal the same
// bytes: the same later calls fail.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "vmseal/compare/compare.hpp"
#include "vmseal/engine/seal_policy.hpp"
#include "vmseal/predict/predict.hpp"
#include "vmseal/trace/seal_point.hpp"

namespace vmseal::trace {
namespace {
using namespace vmseal::predict;

std::string marker(const std::string& text) {
  return "100  write(-1, \"vmseal-predict " + text + "\", " + std::to_string(15 + text.size()) +
         ") = -1 EBADF (Bad file descriptor)\n";
}

// An object of three ranges: text and rodata adjacent (one mseal for the
// preload, two for compare), a gap, then relro.
const std::string kMarkers =
    marker("begin startup 100 1 /tmp/x/smaps-100-1") + marker("object program dry-run /bin/p") +
    marker("range 555555554000 555555556000 text") +
    marker("range 555555556000 555555557000 rodata") +
    marker("range 555555557000 555555558000 gap") +
    marker("range 555555558000 555555559000 relro anon") + marker("end 100 1");
constexpr const char* kSnapshot =
    "555555554000-555555556000 r-xp 00000000 fe:00 42      /bin/p\n"
    "VmFlags: rd ex mr mw me \n"
    "555555556000-555555557000 r--p 00002000 fe:00 42      /bin/p\n"
    "VmFlags: rd mr mw me \n"
    "555555557000-555555558000 ---p 00000000 00:00 0 \n"
    "VmFlags: mr mw me \n"
    "555555558000-555555559000 r--p 00003000 fe:00 42      /bin/p\n"
    "VmFlags: rd mr mw me ac \n"
    "555555559000-55555555a000 rw-p 00004000 fe:00 42      /bin/p\n"
    "VmFlags: rd wr mr mw me ac \n";
// After the seal point: one mprotect a page, each recorded as the unsealed
// run saw it (0), and one across text and rodata.
const std::string kProbes = [] {
  std::string out;
  for (const char* page : {"0x555555554000", "0x555555555000", "0x555555556000", "0x555555557000",
                           "0x555555558000", "0x555555559000"})
    out += std::string("100  mprotect(") + page + ", 4096, PROT_READ) = 0\n";
  out += "100  mprotect(0x555555555000, 8192, PROT_READ) = 0\n";
  return out;
}();

TEST(SealPointAssembler, PerRunAndPerRangeSealTheSameBytes) {
  SealPointAssembler a;
  for (const auto& item : parse_strace_text(kMarkers)) {
    const auto& ev = std::get<TraceEvent>(item);
    SealPointMarker m;
    ASSERT_TRUE(read_seal_point_marker(ev, m, nullptr));
    std::string problem;
    const auto step = a.feed(ev.pid, ev.line, m, &problem);
    EXPECT_TRUE(problem.empty()) << problem;
    if (step != SealPointAssembler::Step::Completed) continue;
    const AssembledSealPoint p = a.take(ev.pid);
    ASSERT_EQ(p.objects.size(), 1U);
    const auto runs = seal_calls(p, SealGranularity::PerRun);
    const auto each = seal_calls(p, SealGranularity::PerRange);
    ASSERT_EQ(runs.size(), 3U);  // text+rodata, the gap alone, relro
    EXPECT_EQ(runs[0].end - runs[0].start, 0x3000U);
    EXPECT_TRUE(runs[1].gap);
    ASSERT_EQ(each.size(), 4U);
    std::set<Addr> by_run, by_range;
    for (const SealCall& c : runs)
      for (Addr x = c.start; x < c.end; x += 0x1000) by_run.insert(x);
    for (const SealCall& c : each)
      for (Addr x = c.start; x < c.end; x += 0x1000) by_range.insert(x);
    EXPECT_EQ(by_run, by_range);
  }
  EXPECT_TRUE(a.open().empty());
  // A marker outside a seal point is a problem, not a crash.
  SealPointMarker stray;
  stray.kind = SealPointMarker::Kind::Range;
  stray.text = "range 1000 2000 text";
  std::string problem;
  a.feed(7, 1, stray, &problem);
  EXPECT_NE(problem.find("outside a seal point"), std::string::npos);
}

TEST(SealPointConsumers, PredictAndCompareSealTheSameBytes) {
  const std::string trace = kMarkers + kProbes;
  auto snapshots = [](const std::string& name) -> std::optional<std::string> {
    if (name == "/tmp/x/smaps-100-1") return std::string(kSnapshot);
    return std::nullopt;
  };
  // predict: the probes it says fail once sealed.
  PredictOptions po;
  Predictor predictor(po, snapshots);
  std::istringstream in(trace);
  for (std::string line; std::getline(in, line);) predictor.feed(line);
  predictor.finish(false);
  std::set<std::size_t> predict_fails;
  for (const PredictedCall& c : predictor.result().failures) predict_fails.insert(c.line);
  // compare under Linux 6.18 only: the probes that fail there.
  compare::CompareOptions co;
  SealPolicy linux_618;
  ASSERT_TRUE(seal_policy::parse("linux-6.18", linux_618));
  co.policies = {linux_618};
  co.all_calls = true;
  co.snapshots = snapshots;
  compare::PolicyComparison cmp(co);
  std::set<std::size_t> compare_fails;
  const auto report = [&](const compare::CallComparison& cc) {
    if (cc.call.rfind("mprotect", 0) == 0 && cc.outcomes[0].result.is_error())
      compare_fails.insert(cc.line);
  };
  std::istringstream in2(trace);
  for (std::string line; std::getline(in2, line);) cmp.feed(line, report);
  cmp.finish(report);
  // The text pages, rodata, the gap, relro and the call across text and
  // rodata fail in both; the data page after relro is never sealed.
  EXPECT_EQ(predict_fails, compare_fails);
  EXPECT_GE(predict_fails.size(), 4U);
  EXPECT_EQ(predict_fails.count(13), 0U) << "the data page is not sealed";
}

}  // namespace
}  // namespace vmseal::trace

namespace vmseal::trace {
namespace {

TaskChange change_of(const std::string& line) {
  const auto items = parse_strace_text(line);
  EXPECT_EQ(items.size(), 1U) << line;
  return task_change(std::get<TraceEvent>(items.at(0)).call);
}

// The one set of process-tree rules sim and predict follow (task_change).
TEST(TaskChange, ThreadsAndVforkShareForksCopyExecsReplace) {
  using K = TaskChange::Kind;
  TaskChange t = change_of(
      "100 clone(child_stack=0x7f00, flags=CLONE_VM|CLONE_FS|CLONE_THREAD|CLONE_SYSVSEM) = 101");
  EXPECT_EQ(t.kind, K::SharesMm);
  EXPECT_EQ(t.child, 101);
  EXPECT_EQ(change_of("100 clone3({flags=CLONE_VM|CLONE_THREAD, exit_signal=0}, 88) = 102").kind,
            K::SharesMm);
  EXPECT_EQ(change_of("100 vfork() = 103").kind, K::SharesMm);
  EXPECT_EQ(change_of("100 fork() = 104").kind, K::CopiesMm);
  EXPECT_EQ(change_of("100 clone(child_stack=NULL, flags=CLONE_CHILD_SETTID|SIGCHLD) = 105").kind,
            K::CopiesMm);
  // A flag that only begins with CLONE_VM is not CLONE_VM.
  EXPECT_EQ(change_of("100 clone(child_stack=NULL, flags=CLONE_VMX|SIGCHLD) = 106").kind,
            K::CopiesMm);
  EXPECT_EQ(change_of("100 fork() = -1 EAGAIN (Resource temporarily unavailable)").kind, K::None);
  EXPECT_EQ(change_of("100 execve(\"/bin/true\", [\"true\"], 0x7ffc /* 3 vars */) = 0").kind,
            K::Exec);
  EXPECT_EQ(
      change_of("100 execve(\"/x\", [\"x\"], 0x7ffc /* 3 vars */) = -1 ENOENT (No such file or "
                "directory)")
          .kind,
      K::None);
}

}  // namespace
}  // namespace vmseal::trace
