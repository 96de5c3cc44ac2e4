// vmseal difftest: the op model, the generator's confinement, and short runs
// against the kernel.
#include "support/cli_run.hpp"
#include "vmseal/difftest/runner.hpp"

#include <gtest/gtest.h>

#include <rapidcheck/gtest.h>
#include <sched.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "vmseal/kernel/pagemap.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::difftest {
namespace {

constexpr std::uint64_t P = kPageSize;

GenContext context() {
  GenContext c;
  c.window.base = 0x600000010000ULL;
  c.window.pages = 64;
  c.window.guard_pages = 16;
  c.window.filler = c.window.end() + 16 * P;
  c.fds = {3, 4, 5, 6, 7};
  c.start_brk = 0x555555559000ULL;
  c.initial_brk = 0x55555557a000ULL;
  return c;
}

TEST(DifftestOp, RendersStraceSyntax) {
  const Fds f{3, 4, 5, 6, 7};
  Op m{OpKind::Mmap, {0x600000010000ULL, 8192, 3, 0x22 | 0x10, ~std::uint64_t{0}, 0}};
  EXPECT_EQ(strace_line(m, SysResult::ok(0x600000010000ULL), f),
            "mmap(0x600000010000, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, "
            "-1, 0) = "
            "0x600000010000");
  Op s{OpKind::Mseal, {0x600000010000ULL, 4096, 0, 0, 0, 0}};
  EXPECT_EQ(strace_line(s, SysResult(Errno::PERM), f),
            "mseal(0x600000010000, 4096, 0) = -1 EPERM (EPERM)");
  Op fault{OpKind::WriteFault, {0x600000011000ULL, 0, 0, 0, 0, 0}};
  EXPECT_EQ(strace_line(fault, SysResult::ok(0), f), "read(7</dev/zero>, 0x600000011000, 1) = 1");
}

TEST(DifftestMix, ParsesWeightsAndRejectsUnknownNames) {
  Mix m = Mix::defaults();
  std::string err;
  ASSERT_TRUE(m.parse("fork=0,mseal=40", &err)) << err;
  EXPECT_EQ(m.weight[static_cast<std::size_t>(OpKind::Fork)], 0U);
  EXPECT_EQ(m.weight[static_cast<std::size_t>(OpKind::Mseal)], 40U);
  EXPECT_FALSE(m.parse("frobnicate=1", &err));
  EXPECT_NE(err.find("frobnicate"), std::string::npos);
  Mix only;
  ASSERT_TRUE(only.parse("only:mmap=1", &err));
  EXPECT_EQ(only.weight[static_cast<std::size_t>(OpKind::Munmap)], 0U);
  EXPECT_FALSE(only.parse("only:mmap=0", &err));
}

TEST(DifftestConfinement, RefusesRangesLeavingTheWindow) {
  const GenContext c = context();
  const Addr b = c.window.base;
  EXPECT_TRUE(is_confined({OpKind::Munmap, {b, 64 * P}}, c));
  EXPECT_FALSE(is_confined({OpKind::Munmap, {b, 65 * P}}, c));
  EXPECT_FALSE(is_confined({OpKind::Madvise, {b - P, 2 * P, 4}}, c));
  // Refused by the kernel on the arguments alone: allowed.
  EXPECT_TRUE(is_confined({OpKind::Madvise, {b, ~std::uint64_t{0}, 4}}, c));
  EXPECT_TRUE(is_confined({OpKind::Munmap, {b + 1, 1ULL << 40}}, c));
  // mlock rounds the start down: an unaligned start just above the window's
  // last page still covers it.
  EXPECT_FALSE(is_confined({OpKind::Mlock, {c.window.end() - 1, 2}}, c));
  EXPECT_FALSE(is_confined({OpKind::Mremap, {b, P, 2 * P, 3, c.window.end()}}, c));
  EXPECT_TRUE(
      is_confined({OpKind::Mmap, {0, 1ULL << 30, 3, 0x22, ~std::uint64_t{0}, 0}}, c));  // a hint
  EXPECT_FALSE(is_confined({OpKind::Mmap, {b + 60 * P, 8 * P, 3, 0x32, ~std::uint64_t{0}, 0}}, c));
}

RC_GTEST_PROP(DifftestGenerator, EveryCallIsConfined, (std::uint64_t seed)) {
  const GenContext c = context();
  Generator g(c, Mix::defaults(), seed);
  AddressSpace as;
  for (int i = 0; i < 200; ++i) {
    const Op op = g.next(as);
    RC_ASSERT(is_confined(op, c));
    // Keep the engine moving so later calls see a layout.
    if (op.kind == OpKind::Mmap) as.mmap(op.a[0], op.a[1], op.a[2], op.a[3], -1, op.a[5]);
    if (op.kind == OpKind::Munmap) as.munmap(op.a[0], op.a[1]);
    if (op.kind == OpKind::Mseal) as.mseal(op.a[0], op.a[1], op.a[2]);
  }
}

TEST(DifftestRun, AgreesWithTheKernelOnSealingBasics) {
  if (kernel::probe_mseal().support != kernel::MsealSupport::Available)
    GTEST_SKIP() << kernel::describe(kernel::probe_mseal());
  // The mix the engine models completely today (guard regions are not yet
  // modelled: see the README's difftest section).
  Options o;
  o.seed = 20261204;
  o.sequences = 20;
  o.ops_per_sequence = 60;
  o.window_pages = 64;
  o.near_limit_every = 0;
  ASSERT_TRUE(o.mix.parse("only:mmap=6,munmap=3,mprotect=4,mseal=3,mremap=2,fault=2", nullptr));
  Progress progress;
  const Summary s = run(o, progress);
  EXPECT_TRUE(s.error.empty()) << s.error;
  EXPECT_EQ(s.sequences, 20U);
  EXPECT_EQ(s.ops_compared, progress.ops.load());
  EXPECT_GT(s.ops_compared, 1000U);
  for (const auto& d : s.divergences) ADD_FAILURE() << d.what << "\n" << d.sim_input;
}

TEST(DifftestRun, ShrinksADivergenceAndWritesBothReproductions) {
  if (kernel::probe_mseal().support != kernel::MsealSupport::Available)
    GTEST_SKIP() << kernel::describe(kernel::probe_mseal());
  // No real divergence is left to shrink, so the engine is given a wrong view
  // of the machine: a commit limit of 8 pages. Mapping 16 accounted pages
  // then fails with ENOMEM in the engine only. The shrinker must bring the
  // padded sequence down to that one call.
  Options o;
  o.window_pages = 64;
  o.adjust_engine_config = [](Config& c) { c.commit_limit_pages = 8; };
  Job job(7, o);
  ASSERT_TRUE(job.ready(nullptr));
  const Addr b = job.context().window.base;
  const std::uint64_t anon_fixed = 0x32;  // MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
  std::vector<Op> ops = {
      {OpKind::Mmap, {b, 4 * P, 1, anon_fixed, ~std::uint64_t{0}, 0}},
      {OpKind::Mprotect, {b + 2 * P, P, 3}},
      {OpKind::Madvise, {b + P, P, 102}},
      {OpKind::Mseal, {b + 3 * P, P, 0}},
      {OpKind::Mmap, {b + 8 * P, 16 * P, 3, anon_fixed, ~std::uint64_t{0}, 0}},
  };
  auto r = job.replay(ops, false, std::nullopt, nullptr);
  ASSERT_TRUE(r.diverged);
  ASSERT_EQ(r.index, 4U);
  EXPECT_NE(r.what.find("ENOMEM"), std::string::npos) << r.what;
  std::string what = r.what;
  const auto small = job.shrink(ops, false, what);
  ASSERT_EQ(small.size(), 1U);
  EXPECT_EQ(small[0].kind, OpKind::Mmap);
  EXPECT_EQ(small[0].a[1], 16 * P);
  const std::string sim = job.sim_input(small, what);
  EXPECT_NE(sim.find("mmap("), std::string::npos);
  EXPECT_EQ(sim.find("MADV_GUARD_INSTALL"), std::string::npos);
  const std::string c = job.c_program(small, what);
  EXPECT_NE(c.find("int main(void)"), std::string::npos);
  EXPECT_NE(c.find("SYS_mmap"), std::string::npos);
  EXPECT_EQ(c.find("SYS_madvise"), std::string::npos);
}

// The C program of a sequence compiles, runs and prints the kernel's side:
// each call's result, and after it the window's smaps lines and guard pages.
TEST(DifftestRun, CProgramCompilesAndShowsTheKernelsSide) {
  if (kernel::probe_mseal().support != kernel::MsealSupport::Available)
    GTEST_SKIP() << kernel::describe(kernel::probe_mseal());
  if (std::system("command -v cc >/dev/null 2>&1") != 0) GTEST_SKIP() << "no C compiler (cc)";
  Options o;
  o.window_pages = 64;
  Job job(8, o);
  ASSERT_TRUE(job.ready(nullptr));
  const Addr b = job.context().window.base;
  const std::vector<Op> ops = {
      {OpKind::Mmap, {b, 4 * P, 3, 0x32, ~std::uint64_t{0}, 0}},
      {OpKind::Madvise, {b + P, P, 102}},  // MADV_GUARD_INSTALL
      {OpKind::WriteFault, {b + P, 0, 0, 0, 0, 0}},
  };
  const std::string src = vmseal::test::temp_path("repro.c");
  const std::string bin = vmseal::test::temp_path("repro");
  {
    std::ofstream f(src);
    f << job.c_program(ops, "a test");
  }
  ASSERT_EQ(std::system(("cc -o " + bin + " " + src + " 2>" + bin + ".cc.log").c_str()), 0)
      << "see " << bin << ".cc.log";
  FILE* run = popen(bin.c_str(), "r");
  ASSERT_NE(run, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, run) != nullptr) out += buf;
  EXPECT_EQ(pclose(run), 0) << out;
  EXPECT_NE(out.find("VmFlags: rd wr mr mw me gu ac"), std::string::npos) << out;
  char guard[64];
  std::snprintf(guard, sizeof guard, "guard pages: %#llx", static_cast<unsigned long long>(b + P));
  if (kernel::pagemap_reports_guards()) {
    EXPECT_NE(out.find(guard), std::string::npos) << out;
  }
  EXPECT_NE(out.find("= -1 EFAULT"), std::string::npos) << out;  // the write into the guard page
}

// userfaultfd in a sequence: the registration splits the mapping and shows
// as um, a multi-VMA move stops at it, the last close merges it back; the C
// program makes the same calls (the fd moved to where the run had it).
TEST(DifftestRun, UserfaultfdAgreesWithTheKernel) {
  if (kernel::probe_mseal().support != kernel::MsealSupport::Available)
    GTEST_SKIP() << kernel::describe(kernel::probe_mseal());
  Options o;
  o.window_pages = 64;
  Job job(9, o);
  ASSERT_TRUE(job.ready(nullptr));
  if (!job.context().uffd) GTEST_SKIP() << "no userfaultfd here";
  const Addr b = job.context().window.base;
  const std::uint64_t fd = kUffdFdBase + 1;
  const std::vector<Op> ops = {
      {OpKind::Mmap, {b, 8 * P, 3, 0x32, ~std::uint64_t{0}, 0}},
      {OpKind::Userfaultfd, {0x80800, fd}},                 // O_CLOEXEC|O_NONBLOCK
      {OpKind::UffdioRegister, {fd, b + 2 * P, 2 * P, 1}},  // before UFFDIO_API: EINVAL
      {OpKind::UffdioApi, {fd, 0xaa, 1ULL << 7}},           // UFFD_FEATURE_SIGBUS
      {OpKind::UffdioRegister, {fd, b + 2 * P, 2 * P, 1}},
      {OpKind::UffdioRegister, {fd, b + 4 * P, 2 * P, 4}},  // MINOR on anonymous memory: EINVAL
      {OpKind::Mremap, {b, 8 * P, 8 * P, 3, b + 16 * P}},   // EFAULT at the armed VMA
      {OpKind::Close, {fd}},
      {OpKind::Mremap, {b + 16 * P, 2 * P, 2 * P, 3, b}},
  };
  std::vector<Op> copy = ops;
  const auto r = job.replay(copy, false, std::nullopt, nullptr);
  EXPECT_FALSE(r.diverged) << r.what;
  EXPECT_EQ(r.compared, ops.size());
  if (std::system("command -v cc >/dev/null 2>&1") != 0) return;
  const std::string src = vmseal::test::temp_path("uffd.c");
  const std::string bin = vmseal::test::temp_path("uffd");
  {
    std::ofstream f(src);
    f << job.c_program({ops.begin(), ops.begin() + 5}, "userfaultfd");
  }
  ASSERT_EQ(std::system(("cc -o " + bin + " " + src + " 2>" + bin + ".cc.log").c_str()), 0)
      << "see " << bin << ".cc.log";
  FILE* run = popen(bin.c_str(), "r");
  ASSERT_NE(run, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, run) != nullptr) out += buf;
  EXPECT_EQ(pclose(run), 0) << out;
  EXPECT_NE(out.find("VmFlags: rd wr mr mw me um ac"), std::string::npos) << out;
  EXPECT_NE(out.find("UFFDIO_REGISTER"), std::string::npos) << out;
}

// This process's children, every thread's, as /proc lists them ("" for none).
std::string children_of_self() {
  std::string all;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream f(task.path() / "children");
    all.append(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  return all;
}

// `n` anonymous single pages, each a VMA of its own, from the window's base.
std::vector<Op> separate_pages(Addr base, int n) {
  std::vector<Op> ops;
  for (int i = 0; i < n; ++i)
    ops.push_back(
        {OpKind::Mmap, {base + 2 * P * static_cast<Addr>(i), P, 1, 0x32, ~std::uint64_t{0}, 0}});
  return ops;
}

// Near vm.max_map_count, each sequence's child is forked from a zygote that
// holds the filler VMAs, and the engine starts from a copy of the layout it
// imported from the first child. Mappings past the limit fail alike on both
// sides, in the first replay (imported) and the next (copied): the engine's
// VMA count is the kernel's to the last VMA.
TEST(DifftestRun, NearTheLimitEveryChildStartsFromTheSameLayout) {
  if (kernel::probe_mseal().support != kernel::MsealSupport::Available)
    GTEST_SKIP() << kernel::describe(kernel::probe_mseal());
  Options o;
  o.window_pages = 64;
  {
    Job job(9, o);
    ASSERT_TRUE(job.ready(nullptr));
    std::vector<Op> ops = separate_pages(job.context().window.base, 12);
    for (int round = 0; round < 3; ++round) {
      const auto r = job.replay(ops, true, std::nullopt, nullptr);
      EXPECT_TRUE(r.error.empty()) << r.error;
      EXPECT_FALSE(r.diverged) << "round " << round << ": " << r.what;
      EXPECT_EQ(r.compared, ops.size());
    }
    // An ordinary sequence in between comes from the other zygote.
    const auto plain = job.replay(ops, false, std::nullopt, nullptr);
    EXPECT_FALSE(plain.diverged) << plain.what;
    const auto after = job.replay(ops, true, std::nullopt, nullptr);
    EXPECT_FALSE(after.diverged) << after.what;
  }
  // The job's zygotes and children went with it.
  EXPECT_EQ(children_of_self(), "");
}

// Given a limit 2 VMAs below the kernel's, the engine refuses a mapping the
// kernel makes: the same call diverges the same way in every replay near
// the limit, and the shrinker (replaying near the limit) keeps it.
TEST(DifftestRun, ShrinksADivergenceNearTheLimit) {
  if (kernel::probe_mseal().support != kernel::MsealSupport::Available)
    GTEST_SKIP() << kernel::describe(kernel::probe_mseal());
  Options o;
  o.window_pages = 64;
  o.adjust_engine_config = [](Config& c) { c.max_map_count -= 2; };
  Job job(10, o);
  ASSERT_TRUE(job.ready(nullptr));
  std::vector<Op> ops = separate_pages(job.context().window.base, 12);
  const auto first = job.replay(ops, true, std::nullopt, nullptr);
  ASSERT_TRUE(first.diverged) << first.error;
  EXPECT_NE(first.what.find("ENOMEM"), std::string::npos) << first.what;
  const auto again = job.replay(ops, true, std::nullopt, nullptr);
  ASSERT_TRUE(again.diverged) << again.error;
  EXPECT_EQ(again.index, first.index);
  EXPECT_EQ(again.what, first.what);
  ops.resize(first.index + 1);
  std::string what = first.what;
  const auto small = job.shrink(ops, true, what);
  ASSERT_FALSE(small.empty());
  EXPECT_EQ(small.back().kind, OpKind::Mmap);
  EXPECT_LE(small.size(), ops.size());
  EXPECT_NE(what.find("ENOMEM"), std::string::npos) << what;
}

// Each job's thread ends up on one CPU of those it may use, a different one
// for consecutive jobs; with a single CPU allowed nothing changes.
TEST(DifftestRun, PinJobSpreadsJobsOverTheAllowedCpus) {
  cpu_set_t allowed;
  ASSERT_EQ(sched_getaffinity(0, sizeof allowed, &allowed), 0);
  const int n = CPU_COUNT(&allowed);
  std::vector<int> cpus;
  for (unsigned job = 0; job < 2; ++job) {
    std::thread([&] {
      pin_job(job);
      cpu_set_t now;
      ASSERT_EQ(sched_getaffinity(0, sizeof now, &now), 0);
      if (n < 2) {
        EXPECT_TRUE(CPU_EQUAL(&now, &allowed));
        return;
      }
      ASSERT_EQ(CPU_COUNT(&now), 1);
      for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &now)) cpus.push_back(c);
    }).join();
  }
  if (n >= 2) {
    ASSERT_EQ(cpus.size(), 2U);
    EXPECT_NE(cpus[0], cpus[1]);
    EXPECT_TRUE(CPU_ISSET(cpus[0], &allowed) && CPU_ISSET(cpus[1], &allowed));
  }
}

// Regressions: divergences the difftest found in the harness and the engine.
TEST(DifftestRun, RegressionsStayFixed) {
  if (kernel::probe_mseal().support != kernel::MsealSupport::Available)
    GTEST_SKIP() << kernel::describe(kernel::probe_mseal());
  Options o;
  o.window_pages = 64;
  Job job(6, o);
  ASSERT_TRUE(job.ready(nullptr));
  const Addr b = job.context().window.base;
  const auto fd = static_cast<std::uint64_t>(job.context().fds.memfd_a);
  // brk growth in a forked child does not merge into the inherited heap VMA
  // (its anon_vma chain is shared with the parent's).
  std::vector<Op> brk = {{OpKind::Brk, {0x22000, 1}}, {OpKind::Brk, {0x30000, 1}}};
  auto r = job.replay(brk, false, std::nullopt, nullptr);
  EXPECT_FALSE(r.diverged) << r.what;
  // A MAP_SHARED_VALIDATE mapping placed by the kernel (adopted with MAP_FIXED:
  // MAP_FIXED_NOREPLACE is no legacy flag and would be refused).
  std::vector<Op> validate = {{OpKind::Mmap, {b, 4 * P, 3, 0x03, fd, 0}}};
  r = job.replay(validate, false, std::nullopt, nullptr);
  EXPECT_FALSE(r.diverged) << r.what;
  // A sealed VMA refuses munmap, mprotect and mremap; the layout stays.
  std::vector<Op> sealed = {{OpKind::Mmap, {b, 8 * P, 1, 0x32, ~std::uint64_t{0}, 0}},
                            {OpKind::Mseal, {b + 2 * P, 2 * P, 0}},
                            {OpKind::Munmap, {b, 8 * P}},
                            {OpKind::Mprotect, {b + P, 4 * P, 3}},
                            {OpKind::Mremap, {b + 2 * P, 2 * P, 4 * P, 1, 0}},
                            {OpKind::Madvise, {b + 2 * P, P, 4}}};
  r = job.replay(sealed, false, std::nullopt, nullptr);
  EXPECT_FALSE(r.diverged) << r.what;
  EXPECT_EQ(r.compared, sealed.size());
}

}  // namespace
}  // namespace vmseal::difftest
