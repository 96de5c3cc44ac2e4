// The kernel-internal seal of seed 003 (kseal.cpp; the kernel-seal policy and
// the kernel's operations under every other one).
//
// First the Linux 6.18 side, replayed against the kernel: the cases of
// tests/kernel/kernel_seal.c call for call, each observation equal to the
// line the real kernel printed (tests/data/kernel_seal.expected). k1 is the
// stand-in the scripts use for secret memory, k2 a real memfd_secret mapping
// that the engine replays with the stand-in: the same lines. Under
// linux-6.18 the kernel's seal is mseal's and its release an ordinary munmap,
// so the replay also runs kernel_seal() and kernel_release() in their place.
//
// Then the designs drawn: a layout before, the kernel's or the process's
// calls, the layout after, under each way past the seal. These cells are
// models of proposals no kernel merged; the rules they rest on (splits at
// max_map_count, the unmap's gather) are probed 6.18 rules (docs/kernel-rules.md
// 1.21, 4.6; reference case c21).
#include <gtest/gtest.h>

#include "support/layout.hpp"
#include "support/probe_replay.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

using test::PS;
using test::Recorder;
namespace a = abi;

constexpr std::uint64_t kRW = a::PROT_READ | a::PROT_WRITE;
constexpr std::uint64_t kAnonFixed = a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_FIXED;
constexpr std::uint64_t kSecret =
    a::MAP_SHARED | a::MAP_ANONYMOUS | a::MAP_LOCKED | a::MAP_POPULATE | a::MAP_FIXED;

// kernel_seal.c's tries(): `kernel` runs the kernel's own seal and release
// where the probe calls mseal and munmap.
void tries(Recorder& c, bool kernel) {
  AddressSpace& as = c.as();
  c.obs_ret(kernel ? as.kernel_seal(c.P(0), 8 * PS) : as.mseal(c.P(0), 8 * PS, 0));
  c.obs_ret(as.munmap(c.P(6), 2 * PS));
  c.obs_ret(as.mprotect(c.P(0), 8 * PS, a::PROT_NONE));
  c.obs_ret(as.madvise(c.P(0), 8 * PS, a::MADV_DONTNEED));
  c.obs_addr(as.mmap(c.P(0), PS, a::PROT_READ, kAnonFixed, -1, 0));
  c.obs_addr(as.mremap(c.P(0), 8 * PS, 8 * PS, a::MREMAP_MAYMOVE | a::MREMAP_FIXED, c.P(8)));
  c.obs_ret(kernel ? as.kernel_release(c.P(0), 2 * PS) : as.munmap(c.P(0), 2 * PS));
}

void stand_in(Recorder& c, bool kernel) {
  c.region(16);
  c.mapped_at(c.as().mmap(c.P(0), 8 * PS, kRW, kSecret, -1, 0), 0, "mmap secret stand-in");
  c.ok(c.as().madvise(c.P(0), 8 * PS, a::MADV_DONTDUMP), "madvise DONTDUMP");
  tries(c, kernel);
}

TEST(KernelSealProbe, K1TheStandInSealed) {
  test::run_probe_case("kernel_seal", "k1", [](Recorder& c) { stand_in(c, false); });
}

TEST(KernelSealProbe, K2MemfdSecretAnswersAsTheStandIn) {
  test::run_probe_case("kernel_seal", "k2", [](Recorder& c) { stand_in(c, false); });
}

TEST(KernelSealProbe, UnderLinuxTheKernelsSealIsMsealAndItsReleaseIsRefused) {
  test::run_probe_case("kernel_seal", "k1", [](Recorder& c) { stand_in(c, true); });
}

// ---- the designs, drawn ----------------------------------------------------------------

struct Drawn {
  AddressSpace as;
  test::Window w;
  Drawn(const char* policy, const char* before, std::uint64_t max_map_count = 65530)
      : as(config(policy, max_map_count)) {
    w = test::make_window(as, 16);
    EXPECT_TRUE(test::build(w, before));
  }
  static Config config(const char* policy, std::uint64_t max_map_count) {
    Config cfg = test::probe_config();
    EXPECT_TRUE(seal_policy::parse(policy, cfg.seal)) << policy;
    cfg.max_map_count = max_map_count;
    return cfg;
  }
  Addr P(std::int64_t page) const { return w.P(page); }
  std::string release(std::int64_t from, std::int64_t to) {
    return test::ret_str(as.kernel_release(P(from), static_cast<std::uint64_t>(to - from) * PS));
  }
};

// The window between kernel-seal:unseal's two halves, if the kernel let go
// of the mmap lock there: the process replaces the kernel's memory with its
// own and seals it, and the kernel's release then lifts the process's seal
// and unmaps the process's memory. Under bypass nothing in the window gets
// through, and the release is one step.
TEST(KernelSealDesigns, TheWindowBetweenUnsealAndUnmap) {
  Drawn u("kernel-seal:unseal", "[0-8 rw-s lo sl K]");
  EXPECT_EQ(test::ret_str(u.as.kernel_unseal(u.P(0), 8 * PS)), "0");
  EXPECT_EQ(u.w.draw(), "[0-8 rw-s lo]");
  EXPECT_EQ(test::ret_str(u.as.mprotect(u.P(0), 8 * PS, a::PROT_READ)), "0");
  EXPECT_EQ(u.w.at(u.as.mmap(u.P(0), 8 * PS, kRW, kAnonFixed, -1, 0)), "@0");
  EXPECT_EQ(test::ret_str(u.as.mseal(u.P(0), 8 * PS, 0)), "0");
  EXPECT_EQ(u.w.draw(), "[0-8 rw-p ac sl]");
  EXPECT_EQ(u.release(0, 8), "0");
  EXPECT_EQ(u.w.draw(), "");  // the process's own sealed mapping, gone

  Drawn b("kernel-seal", "[0-8 rw-s lo sl K]");
  EXPECT_EQ(test::ret_str(b.as.kernel_unseal(b.P(0), 8 * PS)), "ENOSYS");
  EXPECT_EQ(test::ret_str(b.as.mprotect(b.P(0), 8 * PS, a::PROT_READ)), "EPERM");
  EXPECT_EQ(b.w.at(b.as.mmap(b.P(0), 8 * PS, kRW, kAnonFixed, -1, 0)), "EPERM");
  EXPECT_EQ(b.w.draw(), "[0-8 rw-s lo sl]");
  EXPECT_EQ(b.release(0, 8), "0");
  EXPECT_EQ(b.w.draw(), "");
}

// Releasing the middle of a sealed pool at map_count = max - 1 (the window's
// two guard VMAs and the pool make 3). The unseal goes through
// vma_modify_flags(), whose two splits each need count < max: the first
// succeeds and stays, the second fails. The unmap's gather checks the limit
// once, before its first split, and its end split does not check it.
TEST(KernelSealDesigns, ReleasingTheMiddleOneBelowMaxMapCount) {
  Drawn u("kernel-seal:unseal", "[0-8 rw-s lo sl K]", 4);
  EXPECT_EQ(u.as.map_count(), 3U);
  EXPECT_EQ(u.release(2, 4), "ENOMEM");
  EXPECT_EQ(u.w.draw(), "[0-2 rw-s lo sl][2-8 rw-s lo sl]");  // a split, nothing released

  for (const char* p : {"kernel-seal", "kernel-seal:flag"}) {
    SCOPED_TRACE(p);
    Drawn b(p, "[0-8 rw-s lo sl K]", 4);
    EXPECT_EQ(b.release(2, 4), "0");
    EXPECT_EQ(b.w.draw(), "[0-2 rw-s lo sl][4-8 rw-s lo sl]");
    EXPECT_EQ(b.as.map_count(), 4U);
  }
  // At max itself every design fails, and nothing changes.
  for (const char* p : {"kernel-seal", "kernel-seal:unseal"}) {
    SCOPED_TRACE(p);
    Drawn m(p, "[0-8 rw-s lo sl K]", 3);
    EXPECT_EQ(m.release(2, 4), "ENOMEM");
    EXPECT_EQ(m.w.draw(), "[0-8 rw-s lo sl]");
  }
}

// A release across two of the kernel's mappings at map_count = max: the
// unseal walk unseals the first, then cannot split the second. The release
// fails, and the first stays unsealed for good: the process may now unmap
// it. The bypass's gather needs no checked split and succeeds.
TEST(KernelSealDesigns, APartialUnsealAtMaxMapCountStays) {
  Drawn u("kernel-seal:unseal", "[0-4 rw-s lo sl K][4-8 rw-s lo dd sl K]", 4);
  EXPECT_EQ(u.as.map_count(), 4U);
  EXPECT_EQ(u.release(0, 6), "ENOMEM");
  EXPECT_EQ(u.w.draw(), "[0-4 rw-s lo][4-8 rw-s lo dd sl]");
  EXPECT_EQ(test::ret_str(u.as.munmap(u.P(0), 4 * PS)), "0");  // the process takes it

  Drawn b("kernel-seal", "[0-4 rw-s lo sl K][4-8 rw-s lo dd sl K]", 4);
  EXPECT_EQ(b.release(0, 6), "0");
  EXPECT_EQ(b.w.draw(), "[6-8 rw-s lo dd sl]");
}

// Unsealing is a flag change like mprotect's: the kernel's range merges with
// a neighbour of the process whose flags now agree, and for as long as the
// window lasts the process's VMA covers the kernel's pages.
TEST(KernelSealDesigns, TheUnsealMergesWithTheProcesssNeighbour) {
  Drawn u("kernel-seal:unseal", "[0-4 rw-p ac][4-8 rw-p ac sl K]");
  EXPECT_EQ(u.as.map_count(), 4U);
  EXPECT_EQ(test::ret_str(u.as.kernel_unseal(u.P(4), 4 * PS)), "0");
  EXPECT_EQ(u.w.draw(), "[0-8 rw-p ac]");
  EXPECT_EQ(u.as.map_count(), 3U);
  EXPECT_EQ(test::ret_str(u.as.munmap(u.P(4), 4 * PS)), "0");  // split again, then removed
  EXPECT_EQ(u.w.draw(), "[0-4 rw-p ac]");
}

// What a release writes (docs/designs.md, "What a release costs"): the
// layout after each step, the unseal's step made visible by kunseal.
TEST(KernelSealDesigns, WhatEachStepOfAReleaseLeaves) {
  struct Case {
    std::int64_t from, to;
    const char* unsealed;  // after kunseal: the splits and the flag change
    const char* released;  // after the release, under both answers
  };
  const Case cases[] = {
      {0, 8, "[0-8 rw-s lo]", ""},
      {0, 2, "[0-2 rw-s lo][2-8 rw-s lo sl]", "[2-8 rw-s lo sl]"},
      {2, 4, "[0-2 rw-s lo sl][2-4 rw-s lo][4-8 rw-s lo sl]", "[0-2 rw-s lo sl][4-8 rw-s lo sl]"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(std::to_string(k.from) + "-" + std::to_string(k.to));
    const auto len = static_cast<std::uint64_t>(k.to - k.from) * PS;
    Drawn u("kernel-seal:unseal", "[0-8 rw-s lo sl K]");
    EXPECT_EQ(test::ret_str(u.as.kernel_unseal(u.P(k.from), len)), "0");
    EXPECT_EQ(u.w.draw(), k.unsealed);
    EXPECT_EQ(u.release(k.from, k.to), "0");
    EXPECT_EQ(u.w.draw(), k.released);
    Drawn b("kernel-seal", "[0-8 rw-s lo sl K]");
    EXPECT_EQ(b.release(k.from, k.to), "0");
    EXPECT_EQ(b.w.draw(), k.released);
  }
}

// kseal under each design: the design's own seal, whatever it records.
TEST(KernelSealDesigns, TheKernelsSealIsTheDesignsSeal) {
  Drawn f("kernel-seal:flag", "[0-4 rw-s lo]");
  EXPECT_EQ(test::ret_str(f.as.kernel_seal(f.P(0), 4 * PS)), "0");
  EXPECT_EQ(f.w.draw(), "[0-4 rw-s lo sl]");
  const Vma* v = f.as.vmas().find(f.P(0));
  ASSERT_NE(v, nullptr);
  EXPECT_NE(v->flags & vm::SEALED_UNMAPPABLE, 0U);
  EXPECT_EQ(smaps_vmflags(vm::SEALED_UNMAPPABLE), "");  // never printed

  Drawn t("rfc-v3:none", "[0-4 rw-s lo]");  // the process's mseal would seal nothing
  EXPECT_EQ(test::ret_str(t.as.kernel_seal(t.P(0), 4 * PS)), "0");
  EXPECT_EQ(seal_types_of_flags(t.as.vmas().find(t.P(0))->flags), seal_type::ALL);

  Drawn o("openbsd", "[0-2 rw-s lo][4-6 rw-s lo]");  // mimmutable skips the hole
  EXPECT_EQ(test::ret_str(o.as.kernel_seal(o.P(0), 6 * PS)), "0");
  EXPECT_EQ(o.w.draw(), "[0-2 rw-s lo sl][4-6 rw-s lo sl]");

  Drawn l("linux-6.18", "[0-2 rw-s lo][4-6 rw-s lo]");
  EXPECT_EQ(test::ret_str(l.as.kernel_seal(l.P(0), 6 * PS)), "ENOMEM");
  EXPECT_EQ(l.w.draw(), "[0-2 rw-s lo][4-6 rw-s lo]");
}

TEST(KernelSealDesigns, ArgumentsAreMunmaps) {
  for (const char* p : {"linux-6.18", "kernel-seal", "kernel-seal:unseal", "kernel-seal:flag"}) {
    SCOPED_TRACE(p);
    Drawn d(p, "[0-4 rw-s lo sl K]");
    EXPECT_EQ(test::ret_str(d.as.kernel_release(d.P(0) + 1, PS)), "EINVAL");
    EXPECT_EQ(test::ret_str(d.as.kernel_release(d.P(0), 0)), "EINVAL");
    EXPECT_EQ(test::ret_str(d.as.kernel_release(d.P(0), ~std::uint64_t{0})), "EINVAL");
    EXPECT_EQ(d.w.draw(), "[0-4 rw-s lo sl]");
  }
  Drawn u("kernel-seal:unseal", "[0-2 rw-s lo sl K][4-6 rw-s lo sl K]");
  EXPECT_EQ(test::ret_str(u.as.kernel_unseal(u.P(0) + 1, PS)), "EINVAL");
  EXPECT_EQ(test::ret_str(u.as.kernel_release(u.P(0), 6 * PS)), "ENOMEM");  // a hole
  EXPECT_EQ(u.w.draw(), "[0-2 rw-s lo sl][4-6 rw-s lo sl]");
  Drawn b("kernel-seal", "[0-2 rw-s lo sl K][4-6 rw-s lo sl K]");
  EXPECT_EQ(test::ret_str(b.as.kernel_release(b.P(0), 6 * PS)), "0");  // munmap skips holes
  EXPECT_EQ(b.w.draw(), "");
}

}  // namespace
}  // namespace vmseal
