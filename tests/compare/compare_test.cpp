// vmseal compare: one stream of calls replayed under several seal policies.
// The library (PolicyComparison), bad input, and the
// command's exit codes and JSON.
#include "vmseal/compare/compare.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli_run.hpp"
#include "vmseal/script/script.hpp"

namespace vmseal::compare {
namespace {
using namespace vmseal::trace;

std::vector<SealPolicy> policies(const std::vector<std::string>& specs) {
  std::vector<SealPolicy> out;
  for (const std::string& s : specs) {
    SealPolicy p;
    EXPECT_TRUE(seal_policy::parse(s, p)) << s;
    out.push_back(p);
  }
  return out;
}

struct Outcome {
  std::vector<CallComparison> reported;
  CompareSummary summary;
  bool stopped = false;
};

Outcome compare(const std::string& text, const std::vector<std::string>& specs, bool all = false,
                bool keep_going = false) {
  CompareOptions o;
  o.policies = policies(specs);
  o.all_calls = all;
  o.stop_on_bad_line = !keep_going;
  PolicyComparison cmp(o);
  Outcome r;
  const auto report = [&r](const CallComparison& cc) { r.reported.push_back(cc); };
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!cmp.feed(line, report)) {
      r.stopped = true;
      break;
    }
  cmp.finish(report);
  r.summary = cmp.summary();
  return r;
}

const CallComparison* at_line(const Outcome& r, std::size_t line) {
  for (const CallComparison& cc : r.reported)
    if (cc.line == line) return &cc;
  return nullptr;
}

std::string ret(const SysResult& r) {
  return r.is_error() ? std::string(errno_name(r.error())) : std::to_string(r.value());
}

constexpr const char* kPartial = R"(# up-front versus partial failure
a = mmap(NULL, 8*PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
mseal(a + 4*PAGE, 4*PAGE, 0)
mprotect(a, 8*PAGE, PROT_READ|PROT_WRITE)
)";

TEST(Compare, PartialAgainstUpFrontFailure) {
  const Outcome r = compare(kPartial, {"linux-6.18", "linux-6.10", "rfc-v3", "rfc-v3:base"});
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.summary.calls, 3U);
  ASSERT_EQ(r.reported.size(), 1U) << "only the mprotect differs";
  const CallComparison& cc = r.reported.front();
  EXPECT_EQ(cc.line, 4U);
  EXPECT_TRUE(cc.result_differs);
  EXPECT_TRUE(cc.layout_differs);
  ASSERT_EQ(cc.outcomes.size(), 4U);
  EXPECT_EQ(ret(cc.outcomes[0].result), "EPERM");
  EXPECT_EQ(ret(cc.outcomes[1].result), "EPERM");
  EXPECT_EQ(ret(cc.outcomes[2].result), "EACCES");
  EXPECT_EQ(ret(cc.outcomes[3].result), "0");  // MM_SEAL_BASE does not seal protections
  // 6.18 changed the unsealed half before it met the seal; 6.10 changed nothing.
  EXPECT_NE(cc.outcomes[0].layout.find("rw-p ac  "), std::string::npos) << cc.outcomes[0].layout;
  EXPECT_EQ(cc.outcomes[1].layout.find("rw-p"), std::string::npos) << cc.outcomes[1].layout;
  EXPECT_NE(cc.outcomes[2].layout.find("types=base+prot_pkey+seal"), std::string::npos);
  EXPECT_EQ(r.summary.differing, 1U);
  EXPECT_EQ(r.summary.policies[0].refused, 1U);
  EXPECT_EQ(r.summary.policies[1].layout_differs, 1U);
  EXPECT_EQ(r.summary.policies[3].refused, 0U);
}

TEST(Compare, OnePolicyAgreesWithItselfAndAllCallsAreReported) {
  const Outcome r = compare(kPartial, {"linux-6.18", "linux-6.18"}, /*all=*/true);
  EXPECT_EQ(r.summary.differing, 0U);
  ASSERT_EQ(r.reported.size(), 3U);
  for (const CallComparison& cc : r.reported) EXPECT_FALSE(cc.differs()) << cc.call;
  EXPECT_EQ(r.reported[0].call.substr(0, 5), "mmap(");
}

TEST(Compare, NamesAreBoundPerPolicy) {
  // Duplicating a sealed shared mapping (old_len 0): refused since 6.12, allowed
  // by 6.10's empty can_modify_mm() walk. Only 6.10 binds `b`.
  const Outcome r =
      compare(R"(a = mmap(NULL, 2*PAGE, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0)
mseal(a, 2*PAGE, 0)
b = mremap(a, 0, 2*PAGE, MREMAP_MAYMOVE)
munmap(b, 2*PAGE)
)",
              {"linux-6.18", "linux-6.10"});
  const CallComparison* dup = at_line(r, 3);
  ASSERT_NE(dup, nullptr);
  EXPECT_EQ(ret(dup->outcomes[0].result), "EPERM");
  EXPECT_TRUE(dup->outcomes[1].result.is_ok());
  const CallComparison* unmap = at_line(r, 4);
  ASSERT_NE(unmap, nullptr);
  EXPECT_FALSE(unmap->outcomes[0].ran);
  EXPECT_NE(unmap->outcomes[0].note.find("b is unbound, line 3"), std::string::npos)
      << unmap->outcomes[0].note;
  EXPECT_TRUE(unmap->outcomes[1].ran);
  EXPECT_EQ(ret(unmap->outcomes[1].result), "EPERM");  // the copy is sealed too
  EXPECT_EQ(r.summary.policies[0].not_run, 1U);

  // A name unbound under every policy: the line runs nowhere, and says where.
  const Outcome none = compare(
      "a = mmap(NULL, 0, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
      "munmap(a, PAGE)\n",
      {"linux-6.18", "openbsd"});
  EXPECT_EQ(none.summary.calls, 1U);
  EXPECT_EQ(none.summary.policies[1].not_run, 1U);
  ASSERT_FALSE(none.summary.problems.empty());
  EXPECT_NE(none.summary.problems[0].find("line 2: not run: a is unbound, line 1"),
            std::string::npos)
      << none.summary.problems[0];
}

// ---- the kernel's own seal (seed 003) ----------------------------------------------------

// Secret memory the kernel mapped and sealed in the process (a shared, locked
// mapping stands for memfd_secret's VMA: tests/kernel/kernel_seal.c), the
// process trying to take it back, and the kernel's release, under each way
// past the seal. Line by line, before and after:
//   s..s+8  [rw-s lo sl]            after kseal, under every design
//   munmap  s..s+2                  refused; :flag lets the process do it
//   kunseal s+2..s+4                only :unseal has it: [s+2..s+4 rw-s lo]
//   mmap    s+2..s+4 MAP_FIXED      gets in only where the range is unsealed or
//                                   the flag lets the unmap through
//   krelease s..s+8                 refused under Linux, the range stays; under
//                                   the three ways past it, nothing is left
constexpr const char* kKernelSeal = R"(# the kernel's secret memory
s = mmap(NULL, 8*PAGE, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS|MAP_LOCKED|MAP_POPULATE, -1, 0)
kseal(s, 8*PAGE)
munmap(s, 2*PAGE)
kunseal(s + 2*PAGE, 2*PAGE)
p = mmap(s + 2*PAGE, 2*PAGE, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)
krelease(s, 8*PAGE)
)";

TEST(Compare, TheKernelsSealUnderEachRelease) {
  const Outcome r =
      compare(kKernelSeal, {"linux-6.18", "kernel-seal", "kernel-seal:unseal", "kernel-seal:flag"},
              /*all=*/true);
  EXPECT_EQ(r.summary.malformed_lines, 0U)
      << (r.summary.problems.empty() ? "" : r.summary.problems[0]);
  ASSERT_EQ(r.summary.calls, 6U);
  const std::string whole = "7ffff7ff7000-7ffff7fff000 rw-s lo sl";
  const CallComparison* seal = at_line(r, 3);
  ASSERT_NE(seal, nullptr);
  EXPECT_EQ(seal->call, "kseal(0x7ffff7ff7000, 0x8000)");
  for (const PolicyOutcome& o : seal->outcomes) EXPECT_EQ(ret(o.result), "0");
  EXPECT_EQ(seal->outcomes[0].layout, whole);
  EXPECT_EQ(seal->outcomes[3].layout, whole + " unmappable");
  EXPECT_TRUE(seal->layout_differs == false) << "the flag is how a design records its seal";

  const CallComparison* unmap = at_line(r, 4);
  ASSERT_NE(unmap, nullptr);
  EXPECT_EQ(ret(unmap->outcomes[0].result), "EPERM");
  EXPECT_EQ(ret(unmap->outcomes[1].result), "EPERM");
  EXPECT_EQ(ret(unmap->outcomes[2].result), "EPERM");
  EXPECT_EQ(ret(unmap->outcomes[3].result), "0");
  EXPECT_EQ(unmap->outcomes[3].layout, "");

  const CallComparison* half = at_line(r, 5);
  ASSERT_NE(half, nullptr);
  EXPECT_EQ(ret(half->outcomes[0].result), "ENOSYS");
  EXPECT_EQ(ret(half->outcomes[1].result), "ENOSYS");
  EXPECT_EQ(ret(half->outcomes[2].result), "0");
  EXPECT_EQ(half->outcomes[1].layout, whole);
  EXPECT_EQ(half->outcomes[2].layout, "7ffff7ff9000-7ffff7ffb000 rw-s lo");

  const CallComparison* race = at_line(r, 6);
  ASSERT_NE(race, nullptr);
  EXPECT_EQ(ret(race->outcomes[0].result), "EPERM");
  EXPECT_EQ(ret(race->outcomes[1].result), "EPERM");
  EXPECT_EQ(ret(race->outcomes[2].result), std::to_string(0x7ffff7ff9000ULL));
  EXPECT_EQ(race->outcomes[2].layout, "7ffff7ff9000-7ffff7ffb000 r--p");
  EXPECT_EQ(ret(race->outcomes[3].result), std::to_string(0x7ffff7ff9000ULL));

  const CallComparison* release = at_line(r, 7);
  ASSERT_NE(release, nullptr);
  EXPECT_EQ(ret(release->outcomes[0].result), "EPERM");
  EXPECT_EQ(release->outcomes[0].layout, whole);  // it stays until exit
  for (std::size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(ret(release->outcomes[i].result), "0") << i;
    EXPECT_EQ(release->outcomes[i].layout, "") << i;  // under :unseal, the process's p too
  }
  EXPECT_EQ(r.summary.policies[0].refused, 3U);
  EXPECT_EQ(r.summary.policies[1].refused, 2U);
  EXPECT_EQ(r.summary.policies[2].refused, 1U);
  EXPECT_EQ(r.summary.policies[3].refused, 0U);
}

// The release of the middle of the kernel's range at map_count = max - 1
// (the script's one mapping, max_map_count 2): the unseal's second split
// fails, the unmap's gather needs no checked one.
TEST(Compare, TheKernelsReleaseOneBelowMaxMapCount) {
  CompareOptions o;
  o.policies = policies({"kernel-seal", "kernel-seal:unseal"});
  o.config.max_map_count = 2;
  o.all_calls = true;
  PolicyComparison cmp(o);
  std::vector<CallComparison> reported;
  const auto report = [&reported](const CallComparison& cc) { reported.push_back(cc); };
  for (const char* line :
       {"s = mmap(NULL, 8*PAGE, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS|MAP_LOCKED, -1, 0)",
        "kseal(s, 8*PAGE)", "krelease(s + 2*PAGE, 2*PAGE)", "krelease(s, 2*PAGE)"})
    ASSERT_TRUE(cmp.feed(line, report)) << line;
  cmp.finish(report);
  ASSERT_EQ(reported.size(), 4U);
  const CallComparison& middle = reported[2];
  EXPECT_TRUE(middle.differs());
  EXPECT_EQ(ret(middle.outcomes[0].result), "0");
  EXPECT_EQ(middle.outcomes[0].layout, "");
  EXPECT_EQ(ret(middle.outcomes[1].result), "ENOMEM");
  EXPECT_EQ(middle.outcomes[1].layout, "7ffff7ff9000-7ffff7fff000 rw-s lo sl");
  // The split it left: the head is a VMA of its own now, and goes without one.
  EXPECT_EQ(ret(reported[3].outcomes[1].result), "0");
  EXPECT_EQ(cmp.address_space(1, 0)->map_count(), 1U);
}

// ---- traces, and what they cannot tell ------------------------------------------------

TEST(Compare, TracesCarryTheKernelsResult) {
  const Outcome r = compare(
      R"(1000  mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffb000
1000  mprotect(0x7ffff7ffb000, 8192, PROT_READ) = 0
1000  syscall_0x1ce(0x7ffff7ffb000, 0x2000, 0, 0, 0, 0) = 0
1000  madvise(0x7ffff7ffb000, 8192, MADV_DONTNEED) = -1 EPERM (Operation not permitted)
1000  msync(0x7ffff7ffb000, 8192, MS_INVALIDATE) = 0
)",
      {"linux-6.18", "rfc-v3", "openbsd"});
  EXPECT_EQ(r.summary.calls, 5U);
  const CallComparison* dn = at_line(r, 4);
  ASSERT_NE(dn, nullptr);
  ASSERT_TRUE(dn->has_recorded);
  EXPECT_EQ(ret(dn->recorded), "EPERM");
  EXPECT_EQ(ret(dn->outcomes[1].result), "0");  // no madvise rule in the RFC
  const CallComparison* ms = at_line(r, 5);
  ASSERT_NE(ms, nullptr);
  EXPECT_EQ(ret(ms->outcomes[0].result), "0");
  EXPECT_EQ(ret(ms->outcomes[2].result), "EPERM");  // OpenBSD: MS_INVALIDATE of immutable memory
  EXPECT_EQ(r.summary.policies[0].trace_mismatches, 0U);
  EXPECT_EQ(r.summary.policies[1].trace_mismatches, 1U);
}

TEST(Compare, CallsOnMappingsTheTraceNeverMadeAreUnverifiable) {
  const Outcome r = compare(
      "1000  mprotect(0x555555554000, 4096, PROT_READ) = 0\n"
      "1000  syscall_0x1ce(0x555555554000, 0x1000, 0, 0, 0, 0) = 0\n",
      {"linux-6.18", "openbsd"}, /*all=*/true);
  EXPECT_EQ(r.summary.unverifiable, 2U);
  ASSERT_EQ(r.reported.size(), 2U);
  EXPECT_FALSE(r.reported[0].verifiable);
  EXPECT_NE(r.reported[0].note.find("was not created by the trace"), std::string::npos);
  // mseal of nothing: ENOMEM on Linux, 0 for mimmutable; a difference, but on a guess.
  EXPECT_TRUE(r.reported[1].differs());
  EXPECT_EQ(r.summary.differing_unverifiable, 1U);
  // A guess is never counted against the trace.
  EXPECT_EQ(r.summary.policies[0].trace_mismatches, 0U);
}

TEST(Compare, TruncatedAndInterleavedTraces) {
  // Thread 1001 shares 1000's mm; its mmap is split around 1000's munmap; the
  // trace ends inside 1000's mprotect.
  const Outcome r = compare(
      "1000  clone(child_stack=0x7f0000000000, "
      "flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD) = 1001\n"
      "1000  mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffd000\n"
      "1001  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>\n"
      "1000  munmap(0x7ffff7ffd000, 4096) = 0\n"
      "1001  <... mmap resumed>) = 0x7ffff7ffc000\n"
      "1000  mprotect(0x7ffff7ffe000, 4096, PROT_READ|PROT_WRITE <unfinished ...>\n",
      {"linux-6.18", "linux-6.10"}, /*all=*/true);
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.summary.malformed_lines, 0U)
      << (r.summary.problems.empty() ? "" : r.summary.problems[0]);
  EXPECT_EQ(r.summary.calls, 4U);
  EXPECT_EQ(r.summary.unfinished, 1U);
  const CallComparison* last = at_line(r, 6);
  ASSERT_NE(last, nullptr);
  EXPECT_TRUE(last->unfinished);
  EXPECT_NE(last->note.find("cut short"), std::string::npos) << last->note;
  const CallComparison* resumed = at_line(r, 3);
  ASSERT_NE(resumed, nullptr);
  EXPECT_EQ(ret(resumed->recorded), std::to_string(0x7ffff7ffcULL << 12));

  // A file cut in the middle of a line: that line is reported, not guessed at.
  const Outcome cut = compare(
      "1000  mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffd000\n"
      "1000  mprotect(0x7ffff7ffe000, 4096, PROT_RE",
      {"linux-6.18"});
  EXPECT_EQ(cut.summary.calls, 1U);
  EXPECT_EQ(cut.summary.malformed_lines, 1U);
  ASSERT_FALSE(cut.summary.problems.empty());
  EXPECT_NE(cut.summary.problems[0].find("line 2"), std::string::npos) << cut.summary.problems[0];
}

TEST(Compare, BadLinesStopOrAreCounted) {
  const std::string text =
      "1000  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x10000\n"
      "1000  mprotect(0x10000, 4096, PROT_BOGUS) = 0\n"
      "x = frobnicate(1, 2\n"
      "1000  munmap(0x10000, 4096) = 0\n";
  const Outcome stop = compare(text, {"linux-6.18"});
  EXPECT_TRUE(stop.stopped);
  EXPECT_EQ(stop.summary.malformed_lines, 1U);
  ASSERT_FALSE(stop.summary.problems.empty());
  EXPECT_NE(stop.summary.problems[0].find("line 2"), std::string::npos) << stop.summary.problems[0];
  EXPECT_NE(stop.summary.problems[0].find("PROT_BOGUS"), std::string::npos);
  const Outcome go = compare(text, {"linux-6.18"}, false, /*keep_going=*/true);
  EXPECT_FALSE(go.stopped);
  EXPECT_EQ(go.summary.malformed_lines, 2U);
  EXPECT_EQ(go.summary.calls, 2U);  // mmap and munmap
}

TEST(Compare, UnmodelledCallsAreReported) {
  const Outcome r = compare(
      "1000  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0) = "
      "0x7ffff7ffd000\n"
      "1000  remap_file_pages(0x7ffff7ffd000, 4096, 0, 1, 0) = 0\n"
      "1000  syscall_0x1ce(0x7ffff7ffd000, 0x2000, 0, 0, 0, 0) = 0\n"
      // userfaultfd registration is modelled (docs/kernel-rules.md 6f)
      "1000  userfaultfd(O_CLOEXEC) = 3<anon_inode:[userfaultfd]>\n"
      "1000  ioctl(3<anon_inode:[userfaultfd]>, UFFDIO_API, {api=0xaa, features=0 => "
      "features=UFFD_FEATURE_SIGBUS, ioctls=1<<_UFFDIO_API}) = 0\n"
      "1000  ioctl(3<anon_inode:[userfaultfd]>, UFFDIO_REGISTER, {range={start=0x7ffff7ffd000, "
      "len=0x1000}, mode=UFFDIO_REGISTER_MODE_MISSING, ioctls=0x120}) = 0\n",
      {"linux-6.18", "linux-6.10"});
  EXPECT_EQ(r.summary.unmodelled, 1U);
  EXPECT_EQ(r.summary.unmodelled_by_name.at("remap_file_pages"), 1U);
}

// ---- the command ---------------------------------------------------------------------------

TEST(CompareCli, ExitCodesAndJson) {
  const std::string script = test::temp_path("partial.vms");
  {
    std::ofstream f(script);
    f << kPartial;
  }
  test::CliRun run = test::run_cli("compare --json --policies linux-6.18,linux-6.10 " + script);
  ASSERT_EQ(run.code, 1) << run.err;  // they differ
  const auto j = nlohmann::json::parse(run.out);
  ASSERT_EQ(j["calls"].size(), 1U);
  EXPECT_EQ(j["calls"][0]["line"], 4);
  EXPECT_EQ(j["calls"][0]["policies"]["linux-6.10"]["result"], "EPERM");
  EXPECT_EQ(j["summary"]["policies"][0]["policy"], "linux-6.18");
  EXPECT_EQ(j["summary"]["differing"], 1);

  run = test::run_cli("compare -q --policies linux-6.10,openbsd " + script);
  EXPECT_EQ(run.code, 0) << run.out << run.err;  // both all-or-nothing here
  EXPECT_NE(run.out.find("0 differ"), std::string::npos) << run.out;

  run = test::run_cli("compare --policies linux-5.4 " + script);
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("unknown seal policy"), std::string::npos) << run.err;

  run = test::run_cli("compare --policies kernel-seal:munseal " + script);
  EXPECT_EQ(run.code, 2);
  EXPECT_NE(run.err.find("unknown kernel release"), std::string::npos) << run.err;
  run = test::run_cli("compare -q --policies linux-6.18,kernel-seal:unseal,kseal:flag " + script);
  EXPECT_EQ(run.code, 0) << run.out << run.err;  // no kernel call: all as 6.18
  EXPECT_NE(run.out.find("kernel-seal:flag"), std::string::npos) << run.out;

  run = test::run_cli("compare " + test::temp_path("missing.vms"));
  EXPECT_EQ(run.code, 4);

  const std::string bad = test::temp_path("bad.vms");
  {
    std::ofstream f(bad);
    f << "munmap(0x1000, PAGE)\nthis is not a trace line\n";
  }
  run = test::run_cli("compare " + bad);
  EXPECT_EQ(run.code, 3) << run.out << run.err;
  EXPECT_NE(run.err.find("line 2"), std::string::npos) << run.err;
}

TEST(CompareCli, MaxMapCount) {
  const std::string limit =
      std::string(VMSEAL_SOURCE_DIR) + "/examples/designs/kernel-release-limit.vms";
  test::CliRun run = test::run_cli(
      "compare --json --max-map-count 5 --policies "
      "kernel-seal,kernel-seal:unseal " +
      limit);
  ASSERT_EQ(run.code, 1) << run.err;
  const auto j = nlohmann::json::parse(run.out);
  ASSERT_GE(j["calls"].size(), 1U);
  EXPECT_EQ(j["calls"][0]["line"], 16);
  EXPECT_EQ(j["calls"][0]["policies"]["kernel-seal:unseal"]["result"], "ENOMEM");
  run = test::run_cli("compare -q --policies kernel-seal,kernel-seal:unseal " + limit);
  EXPECT_EQ(run.code, 0) << run.out << run.err;  // far from the limit they agree
  run = test::run_cli("compare --max-map-count 0 " + limit);
  EXPECT_EQ(run.code, 2) << run.out << run.err;
}

// tests/data/scripts/kernel-calls.vms (also a fuzz seed): four kernel calls
// that do not read, each named with its line; the rest run.
TEST(CompareCli, TheKernelCallsOfAHostileScript) {
  const std::string script = std::string(VMSEAL_TEST_DATA_DIR) + "/scripts/kernel-calls.vms";
  test::CliRun run = test::run_cli("compare " + script);
  EXPECT_EQ(run.code, 3) << run.out << run.err;
  EXPECT_NE(run.err.find("line 5: kseal: expected 2 arguments"), std::string::npos) << run.err;
  run = test::run_cli(
      "compare --keep-going --json --policies linux-6.18,kernel-seal,"
      "kernel-seal:unseal,kernel-seal:flag " +
      script);
  EXPECT_EQ(run.code, 3) << run.out << run.err;
  const auto j = nlohmann::json::parse(run.out);
  EXPECT_EQ(j["summary"]["malformed_lines"], 4);
  EXPECT_EQ(j["summary"]["calls"], 11);
  std::string problems;
  for (const auto& p : j["summary"]["problems"]) problems += p.get<std::string>() + "\n";
  for (const char* want : {"line 6: krelease: expected 2 arguments", "line 7: kunseal: argument 2",
                           "line 8: kseal is what the kernel does"})
    EXPECT_NE(problems.find(want), std::string::npos) << want << "\n" << problems;
  const auto& last = j["calls"].back();
  EXPECT_EQ(last["line"], 19);
  EXPECT_EQ(last["policies"]["kernel-seal"]["result"], 0);
  EXPECT_EQ(last["policies"]["kernel-seal:unseal"]["result"],
            "ENOMEM");  // a hole: nothing unsealed
}

// Every seal design, the kernel seal's releases and the script's pseudo-calls
// are named wherever the designs and the language are documented: --help,
// the man pages, the README and docs/designs.md.
TEST(CompareCli, EveryDesignIsNamedInHelpManPageAndDocs) {
  const auto plain = [](std::string t) {
    for (std::size_t p; (p = t.find("\\-")) != std::string::npos;) t.replace(p, 2, "-");
    return t;
  };
  const std::string root = VMSEAL_SOURCE_DIR;
  const struct {
    std::string where;
    std::string text;
  } places[] = {{"compare --help", test::run_cli("compare --help").out},
                {"sim --help", test::run_cli("sim --help").out},
                {"vmseal-compare(1)", plain(test::run_cli("--man compare").out)},
                {"vmseal-sim(1)", plain(test::run_cli("--man sim").out)},
                {"README.md", test::slurp(root + "/README.md")},
                {"docs/designs.md", test::slurp(root + "/docs/designs.md")}};
  std::vector<std::string> names;
  for (const SealPolicy& p : seal_policy::all()) names.emplace_back(p.name);
  for (const char* release : {"bypass", "unseal", "flag"}) names.emplace_back(release);
  for (const auto& place : places) {
    ASSERT_FALSE(place.text.empty()) << place.where;
    for (const std::string& n : names)
      EXPECT_NE(place.text.find(n), std::string::npos) << place.where << " does not name " << n;
  }
  for (const trace::CallSyntax& c : script::pseudo_calls()) {
    for (const auto& place : places) {
      if (place.where.find("sim") != std::string::npos) continue;  // sim reads no scripts
      EXPECT_NE(place.text.find(std::string(c.name)), std::string::npos)
          << place.where << " does not name " << c.name;
    }
  }
}

// A binary file given as a trace: a bad line, and what reaches the terminal
// is escaped and short, never the file's raw bytes. The file holds control
// bytes and bytes that can never be UTF-8 (0x80-0xc1, 0xf5-0xff), so any byte
// of 0x80 or more in the output is a raw one.
TEST(CompareCli, ABinaryFileIsReportedEscaped) {
  const std::string junk = test::temp_path("junk.bin");
  {
    std::ofstream f(junk, std::ios::binary);
    std::string bytes = "mmap(";
    for (int i = 0; i < 4000; ++i) {
      const int pick = (i * 37) % 96;
      const int control = pick + 1 == '\n' ? 0x7f : pick + 1;  // one line: no newline inside
      bytes.push_back(static_cast<char>(pick < 31   ? control
                                        : pick < 66 ? 0x80 + (pick - 31)
                                                    : 0xf5 + (pick - 66) % 11));
    }
    f << bytes << "\n";
  }
  for (const std::string cmd :
       {"compare --policies linux-6.18,openbsd ", "predict --trace ", "sim "}) {
    const test::CliRun run = test::run_cli(cmd + junk);
    EXPECT_NE(run.code, 0) << cmd;
    const std::string all = run.out + run.err;
    EXPECT_NE(all.find("line 1"), std::string::npos) << cmd << all;
    EXPECT_NE(all.find("\\x"), std::string::npos) << cmd << all;
    for (const char c : all) {
      const auto u = static_cast<unsigned char>(c);
      ASSERT_TRUE(u == '\n' || (u >= 0x20 && u < 0x7f))
          << cmd << ": a raw byte " << int{u} << " in the output";
    }
    EXPECT_LT(all.size(), 2000u) << cmd;
  }
}

}  // namespace
}  // namespace vmseal::compare

namespace vmseal::compare {
namespace {
using namespace vmseal::trace;

// The scripts docs/designs.md quotes: they run without a bad line, and each
// shows the differences the document describes.
TEST(CompareExamples, ScriptsRunAndShowTheirDifferences) {
  const std::string dir = std::string(VMSEAL_TEST_DATA_DIR) + "/../../examples/designs/";
  struct Expect {
    const char* file;
    std::size_t calls;
    std::size_t differing;
  };
  const Expect expects[] = {{"partial-failure.vms", 9, 5},
                            {"madvise.vms", 17, 9},
                            {"typed.vms", 12, 11},
                            {"loader-span.vms", 9, 2},
                            {"kernel-seal.vms", 11, 8},
                            {"kernel-release-window.vms", 7, 3},
                            {"kernel-release-limit.vms", 10, 3}};
  std::vector<std::string> all;
  for (const SealPolicy& p : seal_policy::all()) all.emplace_back(p.name);
  for (const Expect& e : expects) {
    SCOPED_TRACE(e.file);
    std::ifstream f(dir + e.file);
    ASSERT_TRUE(f) << dir + e.file;
    std::stringstream text;
    text << f.rdbuf();
    const Outcome r = compare(text.str(), all);
    EXPECT_EQ(r.summary.malformed_lines, 0U)
        << (r.summary.problems.empty() ? "" : r.summary.problems[0]);
    EXPECT_EQ(r.summary.unverifiable, 0U);
    EXPECT_EQ(r.summary.calls, e.calls);
    EXPECT_EQ(r.summary.differing, e.differing);
  }
}

// The kernel-seal scripts under the thread's answers, with the figures
// docs/designs.md quotes ("The kernel's own seal").
Outcome compare_example(const std::string& file, std::uint64_t max_map_count = 65530) {
  std::ifstream f(std::string(VMSEAL_TEST_DATA_DIR) + "/../../examples/designs/" + file);
  EXPECT_TRUE(f) << file;
  CompareOptions o;
  o.policies = policies({"linux-6.18", "kernel-seal", "kernel-seal:unseal", "kernel-seal:flag"});
  o.config.max_map_count = max_map_count;
  o.all_calls = true;
  PolicyComparison cmp(o);
  Outcome r;
  const auto report = [&r](const CallComparison& cc) { r.reported.push_back(cc); };
  for (std::string line; std::getline(f, line);) cmp.feed(line, report);
  cmp.finish(report);
  r.summary = cmp.summary();
  EXPECT_EQ(r.summary.malformed_lines, 0U)
      << (r.summary.problems.empty() ? "" : r.summary.problems[0]);
  return r;
}

// Each policy's results of the calls on `lines`, joined: "EPERM EPERM 0 0".
std::string results_at(const Outcome& r, std::size_t line) {
  const CallComparison* cc = at_line(r, line);
  if (cc == nullptr) return "(no call on line " + std::to_string(line) + ")";
  std::string out;
  for (const PolicyOutcome& o : cc->outcomes) {
    if (!out.empty()) out += ' ';
    out += !o.ran ? "-" : o.result.is_error() ? ret(o.result) : "ok";
  }
  return out;
}

TEST(CompareExamples, TheKernelSealScriptsGiveTheFiguresOfTheDesignsDocument) {
  // linux-6.18, kernel-seal (bypass), kernel-seal:unseal, kernel-seal:flag
  const Outcome seal = compare_example("kernel-seal.vms");
  EXPECT_EQ(results_at(seal, 13), "EPERM EPERM EPERM ok");  // the process unmaps the tail
  EXPECT_EQ(results_at(seal, 15), "EPERM EPERM EPERM ok");  // maps over a page
  EXPECT_EQ(results_at(seal, 19), "EPERM ok ok ok");        // the kernel releases the head
  EXPECT_EQ(results_at(seal, 23), "EEXIST ok ok ok");       // the pages are free again

  const Outcome window = compare_example("kernel-release-window.vms");
  EXPECT_EQ(results_at(window, 8), "ENOSYS ENOSYS ok ENOSYS");  // kunseal
  EXPECT_EQ(results_at(window, 11), "EPERM EPERM ok EPERM");    // mprotect in the window
  EXPECT_EQ(results_at(window, 12), "EPERM EPERM ok ok");       // MAP_FIXED over it
  EXPECT_EQ(results_at(window, 13), "- - ok ok");               // the process seals its own
  EXPECT_EQ(results_at(window, 15), "EPERM ok ok EPERM");       // the kernel's release
  EXPECT_EQ(at_line(window, 15)->outcomes[2].layout, "");       // the process's seal, lifted

  for (const std::uint64_t max : {4, 5, 6}) {
    SCOPED_TRACE("max_map_count " + std::to_string(max));
    const Outcome limit = compare_example("kernel-release-limit.vms", max);
    // At max the unmap's limit check comes before the seal's, even under linux-6.18.
    const char* middle = max == 4   ? "ENOMEM ENOMEM ENOMEM ENOMEM"
                         : max == 5 ? "EPERM ok ENOMEM ok"
                                    : "EPERM ok ok ok";
    EXPECT_EQ(results_at(limit, 16), middle);
    EXPECT_EQ(results_at(limit, 19), max == 6 ? "EPERM ok ok ok" : "EPERM ok ENOMEM ok");
    // The unseal's partial failure leaves u unsealed: the process re-protects it.
    EXPECT_EQ(results_at(limit, 21),
              max == 6 ? "EPERM ENOMEM ENOMEM ENOMEM" : "EPERM ENOMEM ok ENOMEM");
  }
}

}  // namespace
}  // namespace vmseal::compare

namespace vmseal::compare {
namespace {
using namespace vmseal::trace;

// A trace kept by `vmseal predict --record`: the preload's seal point markers
// and a layout snapshot. Each policy adopts the snapshot and seals the planned
// ranges with its own mseal, so calls on the program's own image compare.
constexpr const char* kRecorded =
    "100  write(-1, \"vmseal-predict begin startup 100 1 /tmp/x/smaps-100-1\", 53) = -1 EBADF (Bad "
    "file descriptor)\n"
    "100  write(-1, \"vmseal-predict object program dry-run /bin/p\", 44) = -1 EBADF (Bad file "
    "descriptor)\n"
    "100  write(-1, \"vmseal-predict range 555555554000 555555556000 text\", 51) = -1 EBADF (Bad "
    "file descriptor)\n"
    "100  write(-1, \"vmseal-predict range 555555556000 555555558000 data\", 51) = -1 EBADF (Bad "
    "file descriptor)\n"
    "100  write(-1, \"vmseal-predict end 100 1\", 24) = -1 EBADF (Bad file descriptor)\n"
    "100  mprotect(0x555555554000, 16384, PROT_READ|PROT_WRITE) = 0\n"
    "100  madvise(0x555555556000, 8192, MADV_DONTNEED) = 0\n";
constexpr const char* kSnapshot =
    "555555554000-555555556000 r-xp 00000000 fe:00 42      /bin/p\n"
    "VmFlags: rd ex mr mw me \n"
    "555555556000-555555558000 r--p 00000000 00:00 0 \n"
    "VmFlags: rd mr mw me ac \n";

// A dlopen's seal point in a thread, after the start-up one. Its snapshot,
// taken in the unsealed (dry) run, shows no seal: the mm keeps the seals it
// has, and the library's own are added.
constexpr const char* kSecondSealPoint =
    "100  clone3({flags=CLONE_VM|CLONE_THREAD}, 88) = 101\n"
    "101  openat(AT_FDCWD, \"/lib/libq.so\", O_RDONLY|O_CLOEXEC) = 3</lib/libq.so>\n"
    "101  mmap(NULL, 8192, PROT_READ|PROT_EXEC, MAP_PRIVATE, 3</lib/libq.so>, 0) = 0x7ffff7000000\n"
    "101  write(-1, \"vmseal-predict begin dlopen 100 2 /tmp/x/smaps-100-2\", 52) = -1 EBADF (Bad "
    "file descriptor)\n"
    "101  write(-1, \"vmseal-predict object library dry-run /lib/libq.so\", 50) = -1 EBADF (Bad "
    "file descriptor)\n"
    "101  write(-1, \"vmseal-predict range 7ffff7000000 7ffff7002000 text\", 51) = -1 EBADF (Bad "
    "file descriptor)\n"
    "101  write(-1, \"vmseal-predict end 100 2\", 24) = -1 EBADF (Bad file descriptor)\n"
    "101  mprotect(0x555555554000, 8192, PROT_READ|PROT_WRITE) = 0\n"
    "101  mprotect(0x7ffff7000000, 8192, PROT_READ|PROT_WRITE) = 0\n";
constexpr const char* kSecondSnapshotExtra =
    "7ffff7000000-7ffff7002000 r-xp 00000000 fe:00 43      /lib/libq.so\n"
    "VmFlags: rd ex mr mw me \n";

Outcome compare_recorded(bool with_snapshot, const std::string& text = kRecorded) {
  CompareOptions o;
  o.policies = policies({"linux-6.18", "rfc-v3"});
  o.all_calls = true;
  o.snapshots = [with_snapshot](const std::string& name) -> std::optional<std::string> {
    if (with_snapshot && name == "/tmp/x/smaps-100-1") return std::string(kSnapshot);
    if (with_snapshot && name == "/tmp/x/smaps-100-2")
      return std::string(kSnapshot) + kSecondSnapshotExtra;
    return std::nullopt;
  };
  PolicyComparison cmp(o);
  Outcome r;
  const auto report = [&r](const CallComparison& cc) { r.reported.push_back(cc); };
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) cmp.feed(line, report);
  cmp.finish(report);
  r.summary = cmp.summary();
  return r;
}

TEST(Compare, PredictRecordingsSealAtTheirSealPoints) {
  const Outcome r = compare_recorded(true);
  EXPECT_EQ(r.summary.malformed_lines, 0U)
      << (r.summary.problems.empty() ? "" : r.summary.problems[0]);
  EXPECT_EQ(r.summary.seal_points, 1U);
  EXPECT_EQ(r.summary.seal_points_without_layout, 0U);
  ASSERT_EQ(r.reported.size(), 4U);  // two seals, then the program's two calls
  EXPECT_EQ(r.reported[0].call, "mseal(0x555555554000, 0x2000, 0)");
  EXPECT_EQ(r.reported[0].line, 5U);
  EXPECT_NE(r.reported[0].note.find("/bin/p text"), std::string::npos) << r.reported[0].note;
  EXPECT_EQ(ret(r.reported[0].outcomes[0].result), "0");
  const CallComparison& mprotect = r.reported[2];
  EXPECT_TRUE(mprotect.verifiable) << mprotect.note;
  EXPECT_EQ(ret(mprotect.recorded), "0");  // the unsealed run
  EXPECT_EQ(ret(mprotect.outcomes[0].result), "EPERM");
  EXPECT_EQ(ret(mprotect.outcomes[1].result), "EACCES");
  const CallComparison& dontneed = r.reported[3];
  EXPECT_EQ(ret(dontneed.outcomes[0].result), "EPERM");  // sealed read-only anonymous
  EXPECT_EQ(ret(dontneed.outcomes[1].result), "0");      // the RFC has no madvise rule
  EXPECT_EQ(r.summary.policies[0].trace_mismatches, 2U);
  EXPECT_EQ(r.summary.policies[1].trace_mismatches, 1U);
}

// A later seal point's snapshot must not wipe the seals made at the first:
// the program's text stays sealed, and the library's is sealed too.
TEST(Compare, ALaterSealPointKeepsTheEarlierSeals) {
  const std::string text =
      std::string(kRecorded).substr(0, std::string(kRecorded).find("100  mprotect")) +
      kSecondSealPoint;
  const Outcome r = compare_recorded(true, text);
  EXPECT_EQ(r.summary.malformed_lines, 0U)
      << (r.summary.problems.empty() ? "" : r.summary.problems[0]);
  EXPECT_EQ(r.summary.seal_points, 2U);
  ASSERT_GE(r.reported.size(), 2U);
  const CallComparison& program = r.reported[r.reported.size() - 2];
  const CallComparison& library = r.reported.back();
  EXPECT_EQ(program.call, "mprotect(0x555555554000, 8192, PROT_READ|PROT_WRITE)");
  EXPECT_EQ(ret(program.outcomes[0].result), "EPERM");
  EXPECT_EQ(ret(program.outcomes[1].result), "EACCES");
  EXPECT_EQ(library.call, "mprotect(0x7ffff7000000, 8192, PROT_READ|PROT_WRITE)");
  EXPECT_EQ(ret(library.outcomes[0].result), "EPERM");
  EXPECT_EQ(ret(library.outcomes[1].result), "EACCES");
  EXPECT_EQ(r.summary.policies[0].trace_mismatches, 2U);
}

TEST(Compare, PredictRecordingsWithoutTheirSnapshotsStayUnverifiable) {
  const Outcome r = compare_recorded(false);
  EXPECT_EQ(r.summary.seal_points_without_layout, 1U);
  ASSERT_FALSE(r.summary.problems.empty());
  EXPECT_NE(r.summary.problems[0].find("no layout snapshot"), std::string::npos);
  EXPECT_EQ(r.summary.unverifiable, r.summary.calls);
  EXPECT_EQ(r.summary.policies[0].trace_mismatches, 0U);  // guesses are not counted
}

}  // namespace
}  // namespace vmseal::compare
