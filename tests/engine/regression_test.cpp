// Engine bugs found by vmseal difftest, each as the smallest layout that shows it.
#include "support/layout.hpp"

#include <gtest/gtest.h>

#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

constexpr Addr P = kPageSize;
constexpr Addr kBase = 0x600000000000ULL;

// MAP_FIXED over the head of an accounted VMA splits it at the end of the new
// range; when that insert overflowed a tree node the gather read a stale
// pointer and charged another VMA's pages, so the call failed with ENOMEM
// (the kernel maps it). Every VMA of a full node is tried.
TEST(DifftestRegression, MapFixedOverTheHeadOfAVmaInAFullNode) {
  constexpr int kVmas = 40;
  for (int target = 0; target < kVmas; ++target) {
    AddressSpace as;
    ASSERT_TRUE(as.mmap(kBase, kVmas * 4 * P, abi::PROT_READ | abi::PROT_WRITE,
                        abi::MAP_PRIVATE | abi::MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0)
                    .is_ok());
    // Every other 4-page block read-only: kVmas VMAs that cannot merge.
    for (int i = 1; i < kVmas; i += 2)
      ASSERT_TRUE(as.mprotect(kBase + i * 4 * P, 4 * P, abi::PROT_READ).is_ok());
    ASSERT_EQ(as.map_count(), static_cast<std::size_t>(kVmas));
    const Addr at = kBase + target * 4 * P;
    const SysResult r = as.mmap(at, P, abi::PROT_READ | abi::PROT_WRITE | abi::PROT_EXEC,
                                abi::MAP_PRIVATE | abi::MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0);
    ASSERT_TRUE(r.is_ok()) << "target VMA " << target;
    EXPECT_EQ(as.map_count(), static_cast<std::size_t>(kVmas + 1)) << "target VMA " << target;
    EXPECT_EQ(as.vmas().find(at)->end, at + P);
  }
}

// A guard install walks the VMAs one by one, giving each an anon_vma and then
// `gu`. The second VMA saw a first with `gu` and itself without, and the
// engine counted that difference against sharing the anon_vma
// (anon_vma_compatible() ignores VM_IGNORE_MERGE flags); with three anon_vmas
// the mprotect that Linux merges into one VMA left three.
// Shrunk from vmseal difftest --seed 12, sequence 173.
TEST(DifftestRegression, GuardInstallAcrossVmasLeavesThemMergeable) {
  AddressSpace as;
  const test::Window w = test::make_window(as, 16);
  ASSERT_TRUE(test::build(w, "[2-8 --xp][8-10 r--p][10-16 --xp]"));
  // The hole [0-2) makes it ENOMEM, but the walk goes on over every VMA.
  EXPECT_EQ(test::ret_str(as.madvise(w.P(0), 16 * P, abi::MADV_GUARD_INSTALL)), "ENOMEM");
  EXPECT_EQ(w.draw(), "[2-8 --xp gu][8-10 r--p gu][10-16 --xp gu]");
  EXPECT_EQ(w.draw_guards(), "..GGGGGGGGGGGGGG");
  EXPECT_EQ(test::ret_str(as.mprotect(w.P(2), 14 * P, abi::PROT_READ)), "0");
  EXPECT_EQ(w.draw(), "[2-16 r--p gu]");
}

// A non-fixed mremap the kernel placed outside the difftest's window was
// replayed as MREMAP_FIXED to the kernel's address; near vm.max_map_count that
// hits the FIXED path's stricter limit (count >= max - 5, not max - 3) and
// failed with ENOMEM where the kernel had moved it. A RecordedPlacement keeps
// the call non-fixed. Found by vmseal difftest --seed 1001, sequence 1099.
TEST(DifftestRegression, RecordedPlacementKeepsTheNonFixedLimits) {
  for (const bool fixed : {false, true}) {
    AddressSpace as;
    const test::Window w = test::make_window(as, 16);
    ASSERT_TRUE(test::build(w, "[0-8 rw-p ac]"));
    as.config().max_map_count = as.map_count() + 4;  // count == max - 4
    const Addr elsewhere = w.base + (Addr{1} << 30);
    SysResult r;
    if (fixed) {
      r = as.mremap(w.P(0), 2 * P, 11 * P, abi::MREMAP_MAYMOVE | abi::MREMAP_FIXED, elsewhere);
      EXPECT_EQ(test::ret_str(r), "ENOMEM");
      continue;
    }
    as.set_recorded_placement({elsewhere, w.base, w.P(16)});
    r = as.mremap(w.P(0), 2 * P, 11 * P, abi::MREMAP_MAYMOVE, 0);
    EXPECT_TRUE(as.recorded_placement_used());
    as.clear_recorded_placement();
    ASSERT_TRUE(r.is_ok()) << test::ret_str(r);
    EXPECT_EQ(r.value(), elsewhere);
    EXPECT_EQ(w.draw(), "[2-8 rw-p ac]");
    EXPECT_EQ(as.vmas().find(elsewhere)->end, elsewhere + 11 * P);
  }
}

// The engine's own choice, inside the trusted range, is kept; outside it the
// recorded address is taken only if that range is free.
TEST(DifftestRegression, RecordedPlacementTrustsTheEngineInsideItsRange) {
  AddressSpace as;
  const test::Window w = test::make_window(as, 16, 0);  // the highest free gap
  const std::uint64_t anon = abi::MAP_PRIVATE | abi::MAP_ANONYMOUS;
  const std::uint64_t rw = abi::PROT_READ | abi::PROT_WRITE;
  // Trusted: the engine picks the top of the window and keeps it.
  as.set_recorded_placement({w.P(0), w.base, w.P(16)});
  SysResult r = as.mmap(0, 2 * P, rw, anon, -1, 0);
  EXPECT_EQ(w.at(r), "@14");
  EXPECT_FALSE(as.recorded_placement_used());
  // Not trusted, recorded range free: taken.
  as.set_recorded_placement({w.P(4), 0, 0});
  r = as.mmap(0, 2 * P, rw, anon, -1, 0);
  EXPECT_EQ(w.at(r), "@4");
  EXPECT_TRUE(as.recorded_placement_used());
  // Not trusted, recorded range occupied: the engine's own choice.
  as.set_recorded_placement({w.P(4), 0, 0});
  r = as.mmap(0, 2 * P, rw, anon, -1, 0);
  EXPECT_EQ(w.at(r), "@12");
  EXPECT_FALSE(as.recorded_placement_used());
  as.clear_recorded_placement();
}

// A locked stack grows only as far as RLIMIT_MEMLOCK allows once the process
// has no CAP_IPC_LOCK (acct_stack_growth() -> mlock_future_ok()). Found by
// vmseal difftest (seed 11, setrlimit=10,capset=10,...): mlockall(MCL_CURRENT|
// MCL_ONFAULT) locked a GROWSDOWN mapping, capset dropped the capability, a
// write fault below it got EFAULT from the kernel and grew the engine's stack.
TEST(DifftestRegression, ALockedStackGrowsOnlyWithinTheMemlockLimit) {
  Config cfg;
  cfg.set_privileged(true);
  AddressSpace as(cfg);
  const Addr stack = kBase + 64 * P;
  ASSERT_TRUE(as.mmap(stack, 4 * P, abi::PROT_READ | abi::PROT_WRITE,
                      abi::MAP_PRIVATE | abi::MAP_ANONYMOUS | abi::MAP_FIXED | abi::MAP_GROWSDOWN,
                      -1, 0)
                  .is_ok());
  ASSERT_TRUE(as.setrlimit(abi::RLIMIT_MEMLOCK, 4 * P, 4 * P, as.config().caps).is_ok());
  ASSERT_TRUE(as.mlockall(abi::MCL_CURRENT | abi::MCL_ONFAULT).is_ok());
  // With CAP_IPC_LOCK the stack grows past the limit.
  EXPECT_EQ(as.fault(stack - P, Access::Write), FaultResult::Ok);
  const Capabilities& k = as.config().caps;
  const std::uint64_t lock = std::uint64_t{1} << abi::CAP_IPC_LOCK;
  ASSERT_TRUE(as.capset(k.effective & ~lock, k.permitted & ~lock, k.inheritable).is_ok());
  // 5 pages locked, limit 4: no more growth, and the VMA keeps its start.
  EXPECT_EQ(as.fault(stack - 2 * P, Access::Write), FaultResult::Segv);
  EXPECT_EQ(as.vmas().find(stack)->start, stack - P);
}

}  // namespace
}  // namespace vmseal
