// RLIMIT_AS and RLIMIT_DATA: the cases of tests/kernel/address_limits.c
// replayed against the engine call for call; each observation must equal the
// line the real kernel printed (tests/data/address_limits.expected). The probe
// sets its limits relative to its VmSize and VmData; the replay sets them
// relative to the engine's total_vm and data_vm. Then the rules, drawn.
#include <gtest/gtest.h>

#include "support/layout.hpp"
#include "support/probe_replay.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

using test::PS;
using test::Recorder;
namespace a = abi;

constexpr std::uint64_t kR = a::PROT_READ;
constexpr std::uint64_t kRW = a::PROT_READ | a::PROT_WRITE;
constexpr std::uint64_t kFixed = a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_FIXED;
constexpr std::uint64_t kShared = a::MAP_SHARED | a::MAP_ANONYMOUS | a::MAP_FIXED;
constexpr Addr kHeap = 0x5555'5600'0000ULL;  // the replay's heap, far from the window

void run(const std::string& id, const std::function<void(Recorder&)>& body) {
  test::run_probe_case("address_limits", id, body);
}

// The soft limit at `pages` pages; the hard one stays.
void soft_limit(Recorder& c, int resource, std::uint64_t pages) {
  const Config& k = c.as().config();
  const std::uint64_t hard = resource == a::RLIMIT_AS ? k.rlimit_as_max : k.rlimit_data_max;
  c.ok(c.as().setrlimit(resource, pages * PS, hard, k.caps), "setrlimit");
}
void as_headroom(Recorder& c, std::uint64_t extra) {
  soft_limit(c, a::RLIMIT_AS, c.as().counters().total_vm + extra);
}
void data_headroom(Recorder& c, std::uint64_t extra) {
  soft_limit(c, a::RLIMIT_DATA, c.as().counters().data_vm + extra);
}
void touch(Recorder& c, Addr at) {
  c.obs(c.as().fault(at, Access::Write) == FaultResult::Ok ? "0" : "SIGSEGV");
}
void brk_by(Recorder& c, std::int64_t delta) {
  const Addr cur = c.as().brk_value();
  const SysResult got = c.as().brk(cur + static_cast<Addr>(delta * static_cast<std::int64_t>(PS)));
  c.obs(got.is_ok() && got.value() != cur ? "moved" : "refused");
}

TEST(AddressLimits, A1RlimitAsAndMmap) {
  run("a1", [](Recorder& c) {
    c.region(16);
    as_headroom(c, 4);
    c.obs_addr(c.as().mmap(c.P(0), 4 * PS, kRW, kFixed, -1, 0));
    c.obs_addr(c.as().mmap(c.P(4), PS, a::PROT_NONE, kFixed, -1, 0));
    c.obs_addr(c.as().mmap(c.P(4), PS, kRW, kFixed | a::MAP_NORESERVE, -1, 0));
    c.obs_addr(c.as().mmap(c.P(4), PS, kRW, kShared, -1, 0));
    c.obs_addr(c.as().mmap(c.P(2), 2 * PS, kR, kFixed, -1, 0));
    c.obs_addr(c.as().mmap(c.P(1), 4 * PS, kR, kFixed, -1, 0));
    c.obs_ret(c.as().munmap(c.P(3), PS));
    c.obs_addr(c.as().mmap(c.P(1), 3 * PS, kR, kFixed, -1, 0));
  });
}

TEST(AddressLimits, A2RlimitAsAndMremapMprotectBrk) {
  run("a2", [](Recorder& c) {
    c.region(16);
    c.as().set_brk(kHeap, kHeap);
    c.anon(0, 4, kRW);
    as_headroom(c, 2);
    c.obs_addr(c.as().mremap(c.P(0), 4 * PS, 6 * PS, 0, 0));
    c.obs_addr(c.as().mremap(c.P(0), 6 * PS, 7 * PS, 0, 0));
    c.obs_addr(c.as().mremap(c.P(0), 6 * PS, 6 * PS, a::MREMAP_MAYMOVE | a::MREMAP_FIXED, c.P(8)));
    c.obs_addr(c.as().mremap(c.P(8), 2 * PS, 2 * PS, a::MREMAP_MAYMOVE | a::MREMAP_DONTUNMAP, 0));
    c.obs_addr(c.as().mremap(c.P(8), 2 * PS, 3 * PS, a::MREMAP_MAYMOVE | a::MREMAP_FIXED, c.P(0)));
    c.obs_ret(c.as().mprotect(c.P(8), 2 * PS, kR));
    c.obs_ret(c.as().mprotect(c.P(8), 2 * PS, kRW));
    brk_by(c, 1);
    c.obs_ret(c.as().munmap(c.P(12), 2 * PS));
    brk_by(c, 1);
    brk_by(c, 1);
  });
}

TEST(AddressLimits, A3RlimitAsAndStackGrowth) {
  run("a3", [](Recorder& c) {
    c.region(272);
    c.mapped_at(c.as().mmap(c.P(264), 2 * PS, kRW, kFixed | a::MAP_GROWSDOWN, -1, 0), 264, "mmap");
    as_headroom(c, 1);
    touch(c, c.P(263));
    touch(c, c.P(262));
    soft_limit(c, a::RLIMIT_AS, ~0ULL / PS);
    touch(c, c.P(262));
  });
}

TEST(AddressLimits, A4RlimitDataAndMmapMprotect) {
  run("a4", [](Recorder& c) {
    c.region(16);
    data_headroom(c, 4);
    c.obs_addr(c.as().mmap(c.P(0), 2 * PS, kRW, kFixed, -1, 0));
    c.obs_addr(c.as().mmap(c.P(2), 4 * PS, kR, kFixed, -1, 0));
    c.obs_addr(c.as().mmap(c.P(6), 4 * PS, kRW, kShared, -1, 0));
    c.obs_addr(c.as().mmap(c.P(10), 4 * PS, kRW, kFixed | a::MAP_GROWSDOWN, -1, 0));
    c.obs_addr(c.as().mmap(c.P(14), 2 * PS, kRW, kFixed | a::MAP_NORESERVE, -1, 0));
    c.obs_ret(c.as().mprotect(c.P(2), 4 * PS, kRW));
    c.obs_ret(c.as().mprotect(c.P(2), PS, kRW));
    c.obs_ret(c.as().mprotect(c.P(14), 2 * PS, kR));
    c.obs_ret(c.as().mprotect(c.P(2), 3 * PS, kRW));
    c.obs_ret(c.as().mprotect(c.P(5), PS, kRW));
  });
}

TEST(AddressLimits, A5RlimitDataAndBrk) {
  run("a5", [](Recorder& c) {
    c.region(2);
    c.as().set_brk(kHeap, kHeap);
    ASSERT_EQ(c.as().brk(kHeap + 4 * PS), SysResult::ok(kHeap + 4 * PS));
    data_headroom(c, 2);
    brk_by(c, 2);
    brk_by(c, 1);
    brk_by(c, -2);
    soft_limit(c, a::RLIMIT_DATA, 1);
    brk_by(c, -1);
    brk_by(c, 1);
    soft_limit(c, a::RLIMIT_DATA, ~0ULL / PS);
    brk_by(c, -1);
  });
}

TEST(AddressLimits, A6DataLimitZeroUpToTheHardLimit) {
  run("a6", [](Recorder& c) {
    c.region(8);
    const Config& k = c.as().config();
    c.ok(c.as().setrlimit(a::RLIMIT_DATA, 0, (c.as().counters().data_vm + 4) * PS, k.caps),
         "setrlimit");
    c.obs_addr(c.as().mmap(c.P(0), 4 * PS, kRW, kFixed, -1, 0));
    c.obs_addr(c.as().mmap(c.P(4), PS, kRW, kFixed, -1, 0));
    c.obs_addr(c.as().mmap(c.P(4), 4 * PS, kR, kFixed, -1, 0));
  });
}

TEST(AddressLimits, A7ForkKeepsLimitsAndCounters) {
  run("a7", [](Recorder& c) {
    c.region(8);
    c.anon(0, 2, kRW);
    as_headroom(c, 2);
    c.fork_and([](Recorder& child) {
      child.obs_addr(child.as().mmap(child.P(2), 2 * PS, kRW, kFixed, -1, 0));
      child.obs_addr(child.as().mmap(child.P(4), PS, kRW, kFixed, -1, 0));
    });
  });
}

TEST(AddressLimits, A8RefusedStackGrowthKeepsItsAnonVma) {
  run("a8", [](Recorder& c) {
    c.region(528);
    c.mapped_at(c.as().mmap(c.P(264), 2 * PS, kR, kFixed | a::MAP_GROWSDOWN, -1, 0), 264, "mmap");
    as_headroom(c, 0);
    touch(c, c.P(263));
    soft_limit(c, a::RLIMIT_AS, ~0ULL / PS);
    c.obs_ret(c.as().mprotect(c.P(264), 2 * PS, kRW));
    c.obs_ret(c.as().mprotect(c.P(264), PS, kR));
    c.mapped_at(c.as().mmap(c.P(300), PS, kR, kFixed, -1, 0), 300, "mmap");
    c.mapped_at(c.as().mmap(c.P(520), 2 * PS, kR, kFixed | a::MAP_GROWSDOWN, -1, 0), 520, "mmap");
    touch(c, c.P(519));
    c.obs_ret(c.as().mprotect(c.P(520), 2 * PS, kRW));
    c.obs_ret(c.as().mprotect(c.P(520), PS, kR));
  });
}

// ---- the rules, drawn ------------------------------------------------------------------

// A MAP_FIXED over the middle of a VMA under a full RLIMIT_AS: the gather
// split the VMA before may_expand_vm() refused, and the split stays.
TEST(AddressLimitsRule, RefusedFixedMapLeavesTheGatherSplit) {
  AddressSpace as(test::probe_config());
  test::Window w = test::make_window(as, 8);
  ASSERT_TRUE(as.mmap(w.P(0), 4 * PS, kRW, kFixed, -1, 0).is_ok());
  ASSERT_TRUE(
      as.setrlimit(a::RLIMIT_AS, as.counters().total_vm * PS, ~0ULL, as.config().caps).is_ok());
  EXPECT_EQ(w.draw(), "[0-4 rw-p ac]");
  EXPECT_EQ(as.mmap(w.P(2), 4 * PS, kR, kFixed, -1, 0), SysResult(Errno::NOMEM));
  EXPECT_EQ(w.draw(), "[0-2 rw-p ac][2-4 rw-p ac]");
  EXPECT_EQ(as.mmap(w.P(2), 2 * PS, kR, kFixed, -1, 0), SysResult::ok(w.P(2)));
  EXPECT_EQ(w.draw(), "[0-2 rw-p ac][2-4 r--p]");
}

// data_vm follows mprotect: read-only memory is not data, so making it
// read-only gives the pages back to RLIMIT_DATA, and writable takes them.
TEST(AddressLimitsRule, MprotectMovesPagesInAndOutOfData) {
  AddressSpace as(test::probe_config());
  test::Window w = test::make_window(as, 8);
  ASSERT_TRUE(as.mmap(w.P(0), 4 * PS, kRW, kFixed, -1, 0).is_ok());
  const std::uint64_t data = as.counters().data_vm;
  ASSERT_TRUE(as.setrlimit(a::RLIMIT_DATA, data * PS, ~0ULL, as.config().caps).is_ok());
  EXPECT_EQ(as.mmap(w.P(4), PS, kRW, kFixed, -1, 0), SysResult(Errno::NOMEM));
  EXPECT_EQ(as.mprotect(w.P(0), 2 * PS, kR), SysResult::ok(0));
  EXPECT_EQ(as.counters().data_vm, data - 2);
  EXPECT_EQ(as.mmap(w.P(4), 2 * PS, kRW, kFixed, -1, 0), SysResult::ok(w.P(4)));
  EXPECT_EQ(as.mprotect(w.P(0), PS, kRW), SysResult(Errno::NOMEM));
  EXPECT_EQ(w.draw(), "[0-2 r--p][2-6 rw-p ac]");
}

// brk's own RLIMIT_DATA check counts the data segment beside the heap.
TEST(AddressLimitsRule, BrkCountsTheDataSegment) {
  AddressSpace as(test::probe_config());
  as.set_brk(kHeap, kHeap);
  as.set_data_segment(kHeap - 8 * PS, kHeap - 4 * PS);  // 4 pages of file data
  ASSERT_TRUE(as.setrlimit(a::RLIMIT_DATA, 6 * PS, ~0ULL, as.config().caps).is_ok());
  EXPECT_EQ(as.brk(kHeap + 2 * PS), SysResult::ok(kHeap + 2 * PS));
  EXPECT_EQ(as.brk(kHeap + 3 * PS), SysResult::ok(kHeap + 2 * PS));
}

// A stack growth RLIMIT_AS refuses: no page, but expand_downwards() gave the
// VMA its anon_vma first, so mprotect later keeps VM_ACCOUNT on the part it
// makes read-only, and the two halves do not merge back.
TEST(AddressLimitsRule, RefusedStackGrowthStillPreparesTheAnonVma) {
  AddressSpace as(test::probe_config());
  test::Window w = test::make_window(as, 272);  // nothing accessible within the guard gap
  ASSERT_TRUE(as.mmap(w.P(264), 2 * PS, kR, kFixed | a::MAP_GROWSDOWN, -1, 0).is_ok());
  ASSERT_TRUE(
      as.setrlimit(a::RLIMIT_AS, as.counters().total_vm * PS, ~0ULL, as.config().caps).is_ok());
  EXPECT_EQ(w.draw(), "[264-266 r--p gd]");
  EXPECT_EQ(as.fault(w.P(263), Access::Read), FaultResult::Segv);
  EXPECT_EQ(w.draw(), "[264-266 r--p gd]");
  ASSERT_EQ(as.mprotect(w.P(264), 2 * PS, kRW), SysResult::ok(0));
  ASSERT_EQ(as.mprotect(w.P(264), PS, kR), SysResult::ok(0));
  EXPECT_EQ(w.draw(), "[264-265 r--p gd ac][265-266 rw-p gd ac]");
}

}  // namespace
}  // namespace vmseal
