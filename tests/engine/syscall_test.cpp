// The engine's system call table (vmseal/engine/syscall.hpp): a typed call
// does what the AddressSpace function it names does, and a recorded placement
// is taken only by calls that choose their own address.
#include "support/layout.hpp"

#include <gtest/gtest.h>

#include "vmseal/engine/syscall.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

constexpr Addr P = kPageSize;

TEST(Syscall, ATypedCallDoesWhatItsFunctionDoes) {
  AddressSpace as;
  const test::Window w = test::make_window(as, 16);
  ASSERT_TRUE(test::build(w, "[0-8 rw-p ac]"));
  // before: [0-8 rw-p ac]; mprotect [2-4) read-only (which gives up its
  // commit charge: no "ac"); mseal [2-4); an munmap over it is refused whole.
  EXPECT_EQ(
      test::ret_str(apply(as, {SyscallKind::Mprotect, {w.P(2), 2 * P, abi::PROT_READ}}).result),
      "0");
  EXPECT_EQ(w.draw(), "[0-2 rw-p ac][2-4 r--p][4-8 rw-p ac]");
  EXPECT_EQ(test::ret_str(apply(as, {SyscallKind::Mseal, {w.P(2), 2 * P, 0}}).result), "0");
  EXPECT_EQ(w.draw(), "[0-2 rw-p ac][2-4 r--p sl][4-8 rw-p ac]");
  EXPECT_EQ(test::ret_str(apply(as, {SyscallKind::Munmap, {w.P(0), 8 * P}}).result), "EPERM");
  EXPECT_EQ(w.draw(), "[0-2 rw-p ac][2-4 r--p sl][4-8 rw-p ac]");
}

TEST(Syscall, OnlyACallThatChoosesItsAddressTakesTheRecordedOne) {
  AddressSpace as;
  const test::Window w = test::make_window(as, 16);
  const RecordedPlacement there{w.P(4), w.base, w.P(16)};
  // mmap without MAP_FIXED: placed where the log says.
  const Syscall anywhere{SyscallKind::Mmap,
                         {0, 2 * P, abi::PROT_READ, abi::MAP_PRIVATE | abi::MAP_ANONYMOUS,
                          static_cast<std::uint64_t>(-1), 0}};
  EXPECT_TRUE(chooses_its_address(anywhere));
  const Applied placed = apply(as, anywhere, there);
  EXPECT_TRUE(placed.placed);
  EXPECT_EQ(w.at(placed.result), "@4");
  EXPECT_EQ(w.draw(), "[4-6 r--p]");
  // MAP_FIXED chooses nothing: the recorded address is not consulted.
  Syscall fixed = anywhere;
  fixed.a[0] = w.P(10);
  fixed.a[3] |= abi::MAP_FIXED;
  EXPECT_FALSE(chooses_its_address(fixed));
  const Applied at = apply(as, fixed, there);
  EXPECT_FALSE(at.placed);
  EXPECT_EQ(w.at(at.result), "@10");
  EXPECT_EQ(w.draw(), "[4-6 r--p][10-12 r--p]");
  // mremap moves only with MREMAP_MAYMOVE and without MREMAP_FIXED.
  EXPECT_TRUE(
      chooses_its_address({SyscallKind::Mremap, {w.P(4), 2 * P, 4 * P, abi::MREMAP_MAYMOVE, 0}}));
  EXPECT_FALSE(chooses_its_address({SyscallKind::Mremap, {w.P(4), 2 * P, 4 * P, 0, 0}}));
  EXPECT_FALSE(chooses_its_address(
      {SyscallKind::Mremap,
       {w.P(4), 2 * P, 4 * P, abi::MREMAP_MAYMOVE | abi::MREMAP_FIXED, w.P(12)}}));
}

TEST(Syscall, NamesAndArgumentCountsAreStraces) {
  EXPECT_EQ(syscall_name(SyscallKind::PkeyMprotect), "pkey_mprotect");
  EXPECT_EQ(syscall_name(SyscallKind::MsealTyped), "mseal");
  EXPECT_EQ(syscall_arg_count(SyscallKind::Mmap), 6U);
  EXPECT_EQ(syscall_arg_count(SyscallKind::Munlockall), 0U);
  EXPECT_EQ(syscall_arg_count(SyscallKind::MsealTyped), 4U);
}

}  // namespace
}  // namespace vmseal
