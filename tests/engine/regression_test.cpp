// Engine bugs found by vmseal difftest, each as the smallest layout that shows it.
#include <gtest/gtest.h>

#include "vmseal/engine/address_space.hpp"
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

}  // namespace
}  // namespace vmseal
