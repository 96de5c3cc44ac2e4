// Resource limits and capabilities: the cases of tests/kernel/limits.c
// replayed against the engine call for call; each observation must equal the
// line the real kernel printed (tests/data/limits.expected). Then the rules
// the probe cannot show on this machine, drawn.
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
constexpr std::uint64_t kFixed = a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_FIXED;
constexpr std::uint64_t kLock = std::uint64_t{1} << a::CAP_IPC_LOCK;
constexpr std::uint64_t kRaw = std::uint64_t{1} << a::CAP_SYS_RAWIO;

void run(const std::string& id, const std::function<void(Recorder&)>& body) {
  test::run_probe_case("limits", id, body);
}

SysResult set_limit(Recorder& c, int resource, std::uint64_t cur, std::uint64_t max) {
  return c.as().setrlimit(resource, cur, max, c.as().config().caps);
}
SysResult drop_cap(Recorder& c, int cap) {
  const Capabilities& k = c.as().config().caps;
  const std::uint64_t bit = std::uint64_t{1} << cap;
  return c.as().capset(k.effective & ~bit, k.permitted & ~bit, k.inheritable);
}

TEST(Limits, L1MemlockAgainstCapIpcLock) {
  run("l1", [](Recorder& c) {
    c.region(8);
    c.anon(0, 8, kRW);
    c.obs_ret(set_limit(c, a::RLIMIT_MEMLOCK, 2 * PS, 2 * PS));
    c.obs_ret(c.as().mlock(c.P(0), 4 * PS));
    c.obs_ret(drop_cap(c, a::CAP_IPC_LOCK));
    c.obs_ret(c.as().mlock(c.P(4), PS));
    c.obs_ret(c.as().munlock(c.P(0), 8 * PS));
    c.obs_ret(c.as().mlock(c.P(0), 2 * PS));
    c.obs_ret(c.as().mlock(c.P(2), PS));
    c.obs_addr(c.as().mmap(c.P(4), 2 * PS, kRW, kFixed | a::MAP_LOCKED, -1, 0));
    c.obs_ret(c.as().mlockall(a::MCL_CURRENT));
    c.obs_ret(set_limit(c, a::RLIMIT_MEMLOCK, 0, 0));
    c.obs_ret(c.as().mlock(c.P(6), PS));
    c.obs_addr(c.as().mmap(c.P(6), 2 * PS, kRW, kFixed | a::MAP_LOCKED, -1, 0));
  });
}

TEST(Limits, L2Setrlimit) {
  run("l2", [](Recorder& c) {
    c.region(2);
    c.obs_ret(set_limit(c, a::RLIMIT_MEMLOCK, 8 * PS, 4 * PS));
    c.obs_ret(set_limit(c, a::RLIMIT_MEMLOCK, 4 * PS, 4 * PS));
    c.obs_ret(drop_cap(c, a::CAP_SYS_RESOURCE));
    c.obs_ret(set_limit(c, a::RLIMIT_MEMLOCK, 8 * PS, 8 * PS));
    c.obs_ret(set_limit(c, a::RLIMIT_MEMLOCK, 2 * PS, 4 * PS));
    c.obs_ret(set_limit(c, a::RLIMIT_MEMLOCK, 4 * PS, 2 * PS));
    c.obs_ret(set_limit(c, a::RLIMIT_STACK, 1 << 20, 1 << 20));
    c.obs_ret(set_limit(c, a::RLIMIT_STACK, 2 << 20, 2 << 20));
    c.obs_ret(set_limit(c, 99, 0, 0));
  });
}

TEST(Limits, L3Capset) {
  run("l3", [](Recorder& c) {
    c.region(4);
    c.anon(0, 4, kRW);
    c.ok(set_limit(c, a::RLIMIT_MEMLOCK, PS, PS), "setrlimit");
    c.obs_ret(c.as().capset(kLock, kLock, 0));
    c.obs_ret(c.as().capset(kLock | kRaw, kLock | kRaw, 0));
    c.obs_ret(c.as().capset(kRaw, kLock, 0));
    c.obs_ret(c.as().capset(0, kLock, kRaw));
    c.obs_ret(c.as().capset(0, kLock, kLock));
    c.obs_ret(c.as().mlock(c.P(0), 2 * PS));
    c.obs_ret(c.as().capset(kLock, kLock, kLock));
    c.obs_ret(c.as().mlock(c.P(0), 2 * PS));
    c.obs_ret(c.as().capset(0, 0, kLock));
    c.obs_ret(c.as().capset(kLock, kLock, kLock));
  });
}

TEST(Limits, L4CapSysRawioAndAddressZero) {
  run("l4", [](Recorder& c) {
    c.region(2);
    c.obs_ret(c.as().mmap(0, PS, a::PROT_READ, kFixed, -1, 0));
    c.obs_ret(c.as().munmap(0, PS));
    c.obs_ret(drop_cap(c, a::CAP_SYS_RAWIO));
    c.obs_ret(c.as().mmap(0, PS, a::PROT_READ, kFixed, -1, 0));
  });
}

TEST(Limits, L5ForkKeepsThem) {
  run("l5", [](Recorder& c) {
    c.region(8);
    c.anon(0, 8, kRW);
    c.ok(set_limit(c, a::RLIMIT_MEMLOCK, 2 * PS, 2 * PS), "setrlimit");
    c.ok(drop_cap(c, a::CAP_IPC_LOCK), "capset");
    c.fork_and([](Recorder& child) {
      child.obs_ret(child.as().mlock(child.P(0), 2 * PS));
      child.obs_ret(child.as().mlock(child.P(2), PS));
    });
  });
}

// The exec'd image maps 4 pages anywhere and mlocks them, with no window.
TEST(Limits, L6ExecKeepsTheLimitAndRootsCapabilities) {
  run("l6", [](Recorder& c) {
    c.region(2);
    c.ok(set_limit(c, a::RLIMIT_MEMLOCK, 2 * PS, 2 * PS), "setrlimit");
    c.ok(drop_cap(c, a::CAP_IPC_LOCK), "capset");
    AddressSpace image = c.as().successor_for_exec();
    c.switch_to(image);
    const SysResult p = image.mmap(0, 4 * PS, kRW, a::MAP_PRIVATE | a::MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(p.is_ok());
    c.obs_ret(image.mlock(p.value(), 4 * PS));
  });
}

TEST(Limits, L7PrlimitOnAnotherProcess) {
  run("l7", [](Recorder& c) {
    c.region(4);
    c.anon(0, 4, kRW);
    c.ok(drop_cap(c, a::CAP_IPC_LOCK), "capset");
    const Capabilities parent = c.as().config().caps;
    c.fork_and([&](Recorder& child) {
      ASSERT_TRUE(child.as().setrlimit(a::RLIMIT_MEMLOCK, 0, 0, parent).is_ok());
      child.obs_ret(child.as().mlock(child.P(0), PS));
    });
  });
}

// ---- what the probe cannot show here -----------------------------------------------

// This machine runs root without CAP_SYS_RESOURCE (a container); with it, the
// hard limit may be raised (do_prlimit()).
TEST(LimitsRule, RaisingTheHardLimitNeedsCapSysResource) {
  AddressSpace as(test::probe_config());
  ASSERT_TRUE(as.setrlimit(a::RLIMIT_MEMLOCK, PS, PS, as.config().caps).is_ok());
  EXPECT_EQ(as.setrlimit(a::RLIMIT_MEMLOCK, 4 * PS, 4 * PS, as.config().caps), SysResult::ok(0));
  EXPECT_EQ(as.config().rlimit_memlock_max, 4 * PS);
  EXPECT_EQ(as.setrlimit(a::RLIMIT_MEMLOCK, 8 * PS, 8 * PS, Capabilities{}),
            SysResult(Errno::PERM));
  EXPECT_EQ(as.config().rlimit_memlock_max, 4 * PS);
}

// Not root: execve leaves no permitted or effective capability, whatever
// the process had (no file capabilities, no ambient set).
TEST(LimitsRule, ExecOfAUserKeepsNoCapability) {
  Config cfg = test::probe_config();
  cfg.caps = Capabilities{kLock, kLock, kLock, ~std::uint64_t{0}, false};
  AddressSpace as(cfg);
  const AddressSpace image = as.successor_for_exec();
  EXPECT_EQ(image.config().caps.effective, 0u);
  EXPECT_EQ(image.config().caps.permitted, 0u);
  EXPECT_EQ(image.config().caps.inheritable, kLock);
}

}  // namespace
}  // namespace vmseal
