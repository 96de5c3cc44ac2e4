// Memory-deny-write-execute (prctl PR_SET_MDWE): the cases of
// tests/kernel/mdwe.c replayed against the engine call for call; each
// observation (result and the window's layout) must equal the line the real
// kernel printed (tests/data/mdwe.expected). Then the rule drawn: a layout
// before, a call, the layout after.
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
constexpr std::uint64_t kRX = a::PROT_READ | a::PROT_EXEC;
constexpr std::uint64_t kRWX = kRW | a::PROT_EXEC;
constexpr std::uint64_t kFixed = a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_FIXED;
constexpr std::uint64_t kRefuse = a::PR_MDWE_REFUSE_EXEC_GAIN;
constexpr std::uint64_t kNoInherit = a::PR_MDWE_NO_INHERIT;

void run(const std::string& id, const std::function<void(Recorder&)>& body) {
  test::run_probe_case("mdwe", id, body);
}

SysResult set_mdwe(Recorder& c, std::uint64_t bits) {
  return c.as().prctl(a::PR_SET_MDWE, bits, 0, 0, 0);
}
SysResult get_mdwe(Recorder& c) { return c.as().prctl(a::PR_GET_MDWE, 0, 0, 0, 0); }
SysResult map(Recorder& c, std::int64_t page, std::uint64_t npages, std::uint64_t prot) {
  return c.as().mmap(c.P(page), npages * PS, prot, kFixed, -1, 0);
}

TEST(Mdwe, M1ThePrctl) {
  run("m1", [](Recorder& c) {
    c.region(2);
    c.obs_ret(get_mdwe(c));
    c.obs_ret(set_mdwe(c, kNoInherit));
    c.obs_ret(set_mdwe(c, 7));
    c.obs_ret(c.as().prctl(a::PR_SET_MDWE, kRefuse, 1, 0, 0));
    c.obs_ret(c.as().prctl(a::PR_SET_MDWE, kRefuse, 0, 0, 1));
    c.obs_ret(c.as().prctl(a::PR_GET_MDWE, 1, 0, 0, 0));
    c.obs_ret(set_mdwe(c, kRefuse));
    c.obs_ret(get_mdwe(c));
    c.obs_ret(set_mdwe(c, 0));
    c.obs_ret(set_mdwe(c, kRefuse | kNoInherit));
    c.obs_ret(set_mdwe(c, kRefuse));
    c.obs_ret(get_mdwe(c));
  });
}

TEST(Mdwe, M2Mmap) {
  run("m2", [](Recorder& c) {
    c.region(8);
    c.anon(4, 6, kRW);
    c.ok(set_mdwe(c, kRefuse), "set_mdwe");
    c.obs_addr(map(c, 0, 2, kRWX));
    c.obs_addr(map(c, 4, 2, kRWX));
    c.obs_addr(map(c, 0, 2, a::PROT_WRITE | a::PROT_EXEC));
    c.obs_addr(map(c, 0, 2, kRX));
    c.obs_addr(map(c, 2, 2, kRW));
    c.obs_addr(map(c, 6, 2, a::PROT_EXEC));
  });
}

TEST(Mdwe, M3Mprotect) {
  run("m3", [](Recorder& c) {
    c.region(8);
    c.anon(0, 2, kRW);
    c.anon(4, 6, kRX);
    c.ok(set_mdwe(c, kRefuse), "set_mdwe");
    c.obs_ret(c.as().mprotect(c.P(0), 2 * PS, kRWX));
    c.obs_ret(c.as().mprotect(c.P(0), 2 * PS, kRX));
    c.obs_ret(c.as().mprotect(c.P(4), 2 * PS, kRWX));
    c.obs_ret(c.as().mprotect(c.P(4), 2 * PS, kRX));
    c.obs_ret(c.as().mprotect(c.P(4), PS, a::PROT_EXEC));
    c.obs_ret(c.as().mprotect(c.P(4), 2 * PS, kR));
    c.obs_ret(c.as().mprotect(c.P(4), 2 * PS, kRX));
    c.obs_ret(c.as().pkey_mprotect(c.P(0), 2 * PS, kRX, -1));
    c.obs_ret(c.as().pkey_mprotect(c.P(0), 2 * PS, kR, -1));
  });
}

TEST(Mdwe, M4PartialFailure) {
  run("m4", [](Recorder& c) {
    c.region(8);
    c.ok(set_mdwe(c, kRefuse), "set_mdwe");
    c.mapped_at(map(c, 0, 2, kRX), 0, "mmap r-x");
    c.anon(2, 4, kRW);
    c.obs_ret(c.as().mprotect(c.P(0), 4 * PS, a::PROT_EXEC));
    c.obs_ret(c.as().mprotect(c.P(0), 4 * PS, kR));
  });
}

TEST(Mdwe, M5CheckedBeforeTheSeal) {
  run("m5", [](Recorder& c) {
    c.region(8);
    c.anon(0, 2, kR);
    c.anon(2, 4, kRX);
    c.ok(c.as().mseal(c.P(0), 4 * PS, 0), "mseal");
    c.ok(set_mdwe(c, kRefuse), "set_mdwe");
    c.obs_ret(c.as().mprotect(c.P(0), 2 * PS, kRX));
    c.obs_ret(c.as().mprotect(c.P(2), 2 * PS, kRWX));
    c.obs_ret(c.as().mprotect(c.P(2), 2 * PS, kR));
    c.obs_addr(map(c, 0, 2, kRWX));
    c.obs_addr(map(c, 0, 2, kR));
  });
}

void child_tries(Recorder& c) {
  c.fork_and([](Recorder& child) {
    child.obs_ret(get_mdwe(child));
    child.obs_addr(map(child, 0, 2, kRWX));
  });
}

TEST(Mdwe, M6ForkKeepsIt) {
  run("m6", [](Recorder& c) {
    c.region(4);
    c.ok(set_mdwe(c, kRefuse), "set_mdwe");
    child_tries(c);
  });
  run("m6n", [](Recorder& c) {
    c.region(4);
    c.obs_ret(set_mdwe(c, kRefuse | kNoInherit));
    c.obs_ret(get_mdwe(c));
    child_tries(c);
  });
}

// The exec'd image prints GET with no window of its own: an empty layout.
void exec_and_get(Recorder& c) {
  AddressSpace image = c.as().successor_for_exec();
  c.switch_to(image);
  c.obs_ret(get_mdwe(c));
}

TEST(Mdwe, M7ExecKeepsIt) {
  run("m7", [](Recorder& c) {
    c.region(2);
    c.ok(set_mdwe(c, kRefuse), "set_mdwe");
    exec_and_get(c);
  });
  run("m7n", [](Recorder& c) {
    c.region(2);
    c.ok(set_mdwe(c, kRefuse | kNoInherit), "set_mdwe");
    exec_and_get(c);
  });
}

// ---- the rule, drawn -----------------------------------------------------------------

// Under MDWE an mprotect stops at the first VMA that would gain exec; the
// VMAs before it keep their change (do_mprotect_pkey's walk).
TEST(MdweRule, MprotectStopsAtTheVmaThatWouldGainExec) {
  AddressSpace as(test::probe_config());
  test::Window w = test::make_window(as, 6);
  ASSERT_TRUE(as.mmap(w.P(0), 2 * PS, kRX, kFixed, -1, 0).is_ok());
  ASSERT_TRUE(as.mmap(w.P(2), 2 * PS, kRW, kFixed, -1, 0).is_ok());
  ASSERT_TRUE(as.prctl(a::PR_SET_MDWE, kRefuse, 0, 0, 0).is_ok());
  EXPECT_EQ(w.draw(), "[0-2 r-xp][2-4 rw-p ac]");
  EXPECT_EQ(as.mprotect(w.P(0), 4 * PS, a::PROT_EXEC), SysResult(Errno::ACCES));
  EXPECT_EQ(w.draw(), "[0-2 --xp][2-4 rw-p ac]");
}

// The seal never gets asked: MDWE refuses first, with its own errno.
TEST(MdweRule, RefusesASealedVmaWithEaccesNotEperm) {
  AddressSpace as(test::probe_config());
  test::Window w = test::make_window(as, 4);
  ASSERT_TRUE(as.mmap(w.P(0), 2 * PS, kR, kFixed, -1, 0).is_ok());
  ASSERT_TRUE(as.mseal(w.P(0), 2 * PS, 0).is_ok());
  EXPECT_EQ(as.mprotect(w.P(0), 2 * PS, kRX), SysResult(Errno::PERM));
  ASSERT_TRUE(as.prctl(a::PR_SET_MDWE, kRefuse, 0, 0, 0).is_ok());
  EXPECT_EQ(as.mprotect(w.P(0), 2 * PS, kRX), SysResult(Errno::ACCES));
  EXPECT_EQ(w.draw(), "[0-2 r--p sl]");
}

}  // namespace
}  // namespace vmseal
