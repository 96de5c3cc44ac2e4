// The seal designs of seal_policy.hpp, drawn: one layout before, one call, and
// for each policy the result and the layout after. A row names every policy
// it checks; the rows are the questions of the LKML debate (../shared/seeds):
// what a failed call leaves behind (up-front versus partial failure), what
// madvise may discard, what typed seals allow, how mimmutable treats holes,
// who may get past the kernel's own seal.
//
// Evidence. linux-6.18 cells are the kernel this project runs on: each was
// either probed on 6.18.44 (labels from docs/kernel-rules.md: F11, D9, C-rows)
// or follows from a rule the engine's reference tests pin. The other policies
// are models of code that cannot run here: linux-6.10/6.11 from mm/mseal.c at
// 23c57d1f and the 6.10 series diffs (can_modify_mm() call sites), rfc-v3 from
// the RFC v3 patches 01, 04 and 05 (../shared/seeds/002), openbsd from the
// mimmutable(2) man page and the uvm notes in userspace-adopters.md,
// kernel-seal from seed 003 (kseal.cpp).
#include "support/layout.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "vmseal/engine/seal_policy.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

using test::PS;
namespace a = abi;

constexpr std::uint64_t kAnonFixed = a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_FIXED;
constexpr std::uint64_t kR = a::PROT_READ;
constexpr std::uint64_t kRW = a::PROT_READ | a::PROT_WRITE;

struct Ctx {
  AddressSpace* as = nullptr;
  test::Window w;
  Addr P(std::int64_t page) const { return w.P(page); }
};
using Call = std::function<std::string(Ctx&)>;

struct Cell {
  const char* policy;  // a seal_policy::parse() spec
  const char* ret;
  const char* after;
};

struct Row {
  const char* name;
  const char* before;
  Call call;
  std::vector<Cell> cells;
};
void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

#define CTX(c)                                              \
  AddressSpace& as = *(c).as;                               \
  auto P = [&c](std::int64_t page) { return (c).P(page); }; \
  (void)as;                                                 \
  (void)P
#define RET(...)                       \
  [](Ctx& c) -> std::string {          \
    CTX(c);                            \
    return test::ret_str(__VA_ARGS__); \
  }
#define AT(...)                 \
  [](Ctx& c) -> std::string {   \
    CTX(c);                     \
    return c.w.at(__VA_ARGS__); \
  }

void run_cell(const Row& row, const Cell& cell) {
  SCOPED_TRACE(std::string(row.name) + " under " + cell.policy);
  Config cfg;
  cfg.set_privileged(true);
  std::string error;
  ASSERT_TRUE(seal_policy::parse(cell.policy, cfg.seal, &error)) << error;
  AddressSpace as(cfg);
  test::install_probe_files(as);
  Ctx c;
  c.as = &as;
  c.w = test::make_window(as, 16);
  ASSERT_TRUE(test::build(c.w, row.before));
  const std::string before = c.w.draw();
  const std::string got = row.call(c);
  EXPECT_EQ(got, cell.ret) << "policy " << cell.policy << "\n  before " << before;
  EXPECT_EQ(c.w.draw(), test::canonical(cell.after))
      << "policy " << cell.policy << "\n  before " << before << "\n  returned " << got;
}

class SealPolicyTable : public ::testing::TestWithParam<Row> {};
TEST_P(SealPolicyTable, Row) {
  for (const Cell& cell : GetParam().cells) run_cell(GetParam(), cell);
}

const Row kRows[] = {
    // ---- unmapping: atomic everywhere, but 6.12+ may leave a split ----------
    {"munmap from inside an unsealed VMA onto a sealed one",
     "[0-4 r--p][4-6 r--p sl]",
     RET(as.munmap(P(2), 4 * PS)),
     {{"linux-6.18", "EPERM", "[0-2 r--p][2-4 r--p][4-6 r--p sl]"},  // B-rows: the split stays
      {"linux-6.12", "EPERM", "[0-2 r--p][2-4 r--p][4-6 r--p sl]"},
      {"linux-6.11", "EPERM", "[0-4 r--p][4-6 r--p sl]"},
      {"linux-6.10", "EPERM", "[0-4 r--p][4-6 r--p sl]"},
      {"openbsd", "EPERM", "[0-4 r--p][4-6 r--p sl]"},
      {"rfc-v3", "EACCES", "[0-4 r--p][4-6 r--p sl]"}}},
    {"MAP_FIXED from inside an unsealed VMA onto a sealed one",
     "[0-4 r--p][4-6 r--p sl]",
     AT(as.mmap(P(2), 4 * PS, kRW, kAnonFixed, -1, 0)),
     {{"linux-6.18", "EPERM", "[0-2 r--p][2-4 r--p][4-6 r--p sl]"},  // E-rows
      {"linux-6.10", "EPERM", "[0-4 r--p][4-6 r--p sl]"},
      {"openbsd", "EPERM", "[0-4 r--p][4-6 r--p sl]"},
      {"rfc-v3", "EACCES", "[0-4 r--p][4-6 r--p sl]"}}},

    // ---- mprotect: partial in 6.12+, all-or-nothing elsewhere ---------------
    {"mprotect across an unsealed and a sealed VMA",
     "[0-2 r--p][2-4 r--p sl]",
     RET(as.mprotect(P(0), 4 * PS, kRW)),
     {{"linux-6.18", "EPERM", "[0-2 rw-p ac][2-4 r--p sl]"},  // C-rows: the first VMA changed
      {"linux-6.11", "EPERM", "[0-2 r--p][2-4 r--p sl]"},
      {"linux-6.10", "EPERM", "[0-2 r--p][2-4 r--p sl]"},
      {"openbsd", "EPERM", "[0-2 r--p][2-4 r--p sl]"},
      {"rfc-v3", "EACCES", "[0-2 r--p][2-4 r--p sl]"},
      // MM_SEAL_BASE alone does not seal the protection.
      {"rfc-v3:base", "0", "[0-2 rw-p ac][2-4 rw-p ac sl]"}}},
    {"mprotect: a seal beats the ENOMEM of a later hole only up front",
     "[0-2 r--p][4-6 r--p sl]",
     RET(as.mprotect(P(0), 6 * PS, kRW)),
     {{"linux-6.18", "ENOMEM", "[0-2 rw-p ac][4-6 r--p sl]"},
      {"linux-6.10", "EPERM", "[0-2 r--p][4-6 r--p sl]"},
      {"openbsd", "EPERM", "[0-2 r--p][4-6 r--p sl]"}}},
    {"mprotect to the same protection is still refused",
     "[0-2 r--p sl]",
     RET(as.mprotect(P(0), 2 * PS, kR)),
     {{"linux-6.18", "EPERM", "[0-2 r--p sl]"},
      {"linux-6.10", "EPERM", "[0-2 r--p sl]"},
      {"rfc-v3", "EACCES", "[0-2 r--p sl]"}}},

    // ---- madvise: which advice, which memory --------------------------------
    {"DONTFORK across an unsealed and a sealed read-only VMA",
     "[0-2 r--p][2-4 r--p sl]",
     RET(as.madvise(P(0), 4 * PS, a::MADV_DONTFORK)),
     {{"linux-6.18", "EPERM", "[0-2 r--p dc][2-4 r--p sl]"},  // F2: partial
      {"linux-6.10", "EPERM", "[0-2 r--p][2-4 r--p sl]"},
      // OpenBSD refuses MAP_INHERIT_ZERO, not MAP_INHERIT_NONE.
      {"openbsd", "0", "[0-2 r--p dc][2-4 r--p dc sl]"},
      // The RFC has no madvise rule at all.
      {"rfc-v3", "0", "[0-2 r--p dc][2-4 r--p dc sl]"}}},
    {"6.10's bitmask refuses harmless advice",
     "[0-2 r--p sl]",
     RET(as.madvise(P(0), 2 * PS, a::MADV_RANDOM)),
     {{"linux-6.18", "0", "[0-2 r--p rr sl]"},
      {"linux-6.11", "0", "[0-2 r--p rr sl]"},
      {"linux-6.10", "EPERM", "[0-2 r--p sl]"}}},
    {"6.10's bitmask refuses MADV_POPULATE_READ",
     "[0-2 r--p sl]",
     RET(as.madvise(P(0), 2 * PS, a::MADV_POPULATE_READ)),
     {{"linux-6.18", "0", "[0-2 r--p sl]"},
      {"linux-6.11", "0", "[0-2 r--p sl]"},
      {"linux-6.10", "EPERM", "[0-2 r--p sl]"}}},
    {"WIPEONFORK of sealed writable memory",
     "[0-2 rw-p ac sl]",
     RET(as.madvise(P(0), 2 * PS, a::MADV_WIPEONFORK)),
     {{"linux-6.18", "0", "[0-2 rw-p ac wf sl]"},
      {"linux-6.10", "0", "[0-2 rw-p ac wf sl]"},
      {"openbsd", "EPERM", "[0-2 rw-p ac sl]"}}},
    {"DONTNEED of a sealed read-only private /dev/zero mapping",
     "[0-2 r--p fd=7 sl]",
     RET(as.madvise(P(0), 2 * PS, a::MADV_DONTNEED)),
     {{"linux-6.18", "EPERM", "[0-2 r--p sl]"},  // probed: vma_is_anonymous()
      {"linux-6.12", "0", "[0-2 r--p sl]"},      // vm_file set: allowed before 6.17
      {"linux-6.10", "0", "[0-2 r--p sl]"},
      {"openbsd", "EPERM", "[0-2 r--p sl]"},
      {"rfc-v3", "0", "[0-2 r--p sl]"}}},

    // ---- mremap ----------------------------------------------------------------
    {"F11 shrink onto a sealed tail",
     "[0-4 rw-p ac][4-8 r--p sl]",
     AT(as.mremap(P(0), 8 * PS, 2 * PS, 0, 0)),
     {{"linux-6.18", "EPERM", "[0-2 rw-p ac][2-4 rw-p ac][4-8 r--p sl]"},
      {"linux-6.10", "EPERM", "[0-4 rw-p ac][4-8 r--p sl]"},
      {"rfc-v3", "EACCES", "[0-4 rw-p ac][4-8 r--p sl]"}}},
    {"D9 multi-VMA move stops at the sealed VMA",
     "[0-2 rw-p ac][2-4 r--p sl]",
     AT(as.mremap(P(0), 4 * PS, 4 * PS, a::MREMAP_MAYMOVE | a::MREMAP_FIXED, P(8))),
     {{"linux-6.18", "EPERM", "[2-4 r--p sl][8-10 rw-p ac]"},
      {"linux-6.10", "EPERM", "[0-2 rw-p ac][2-4 r--p sl]"},
      {"openbsd", "EPERM", "[0-2 rw-p ac][2-4 r--p sl]"}}},
    {"duplicating a sealed shared mapping (old_len 0)",
     "[0-2 rw-s sl]",
     AT(as.mremap(P(0), 0, 2 * PS, a::MREMAP_MAYMOVE | a::MREMAP_FIXED, P(8))),
     {{"linux-6.18", "EPERM", "[0-2 rw-s sl]"},  // D5d
      // can_modify_mm() of an empty range checks nothing: the copy is sealed too.
      {"linux-6.10", "@8", "[0-2 rw-s sl][8-10 rw-s sl]"}}},

    // ---- mseal / mimmutable ----------------------------------------------------
    {"sealing across a hole",
     "[0-2 r--p][4-6 r--p]",
     RET(as.mseal(P(0), 6 * PS, 0)),
     {{"linux-6.18", "ENOMEM", "[0-2 r--p][4-6 r--p]"},
      {"linux-6.10", "ENOMEM", "[0-2 r--p][4-6 r--p]"},
      {"rfc-v3", "ENOMEM", "[0-2 r--p][4-6 r--p]"},
      {"openbsd", "0", "[0-2 r--p sl][4-6 r--p sl]"}}},
    {"sealing an unaligned address",
     "[0-4 r--p]",
     RET(as.mseal(P(1) + 5, PS, 0)),
     {{"linux-6.18", "EINVAL", "[0-4 r--p]"},
      {"openbsd", "0", "[0-1 r--p][1-3 r--p sl][3-4 r--p]"}}},
    {"mimmutable refuses a MAP_INHERIT_ZERO region",
     "[0-2 rw-p ac][2-4 rw-p ac wf]",
     RET(as.mseal(P(0), 4 * PS, 0)),
     {{"linux-6.18", "0", "[0-2 rw-p ac sl][2-4 rw-p ac wf sl]"},
      {"openbsd", "EPERM", "[0-2 rw-p ac][2-4 rw-p ac wf]"}}},

    // ---- the kernel's own seal (seed 003): who may get past it -------------------
    // "sl K" is the kernel's seal (kernel_seal()); kernel_seal_test.cpp has
    // the windows, the limits and the probe.
    {"the kernel releases the head of its sealed range",
     "[0-8 rw-s lo sl K]",
     RET(as.kernel_release(P(0), 2 * PS)),
     {{"linux-6.18", "EPERM", "[0-8 rw-s lo sl]"},  // no way past a seal: it stays until exit
      {"linux-6.10", "EPERM", "[0-8 rw-s lo sl]"},
      {"openbsd", "EPERM", "[0-8 rw-s lo sl]"},
      {"rfc-v3", "EACCES", "[0-8 rw-s lo sl]"},
      {"kernel-seal", "0", "[2-8 rw-s lo sl]"},
      {"kernel-seal:unseal", "0", "[2-8 rw-s lo sl]"},
      {"kernel-seal:flag", "0", "[2-8 rw-s lo sl]"}}},
    {"the kernel releases the middle of its sealed range",
     "[0-8 rw-s lo sl K]",
     RET(as.kernel_release(P(2), 2 * PS)),
     {{"linux-6.18", "EPERM", "[0-8 rw-s lo sl]"},
      {"kernel-seal", "0", "[0-2 rw-s lo sl][4-8 rw-s lo sl]"},
      {"kernel-seal:unseal", "0", "[0-2 rw-s lo sl][4-8 rw-s lo sl]"},
      {"kernel-seal:flag", "0", "[0-2 rw-s lo sl][4-8 rw-s lo sl]"}}},
    {"the process unmaps part of the kernel's sealed range",
     "[0-8 rw-s lo sl K]",
     RET(as.munmap(P(2), 2 * PS)),
     {{"linux-6.18", "EPERM", "[0-8 rw-s lo sl]"},
      {"kernel-seal", "EPERM", "[0-8 rw-s lo sl]"},
      {"kernel-seal:unseal", "EPERM", "[0-8 rw-s lo sl]"},
      // Jeff Xu's first option: "this will not prevent user space from unmap the area".
      {"kernel-seal:flag", "0", "[0-2 rw-s lo sl][4-8 rw-s lo sl]"}}},
    {"the process maps over the kernel's sealed range",
     "[0-8 rw-s lo sl K]",
     AT(as.mmap(P(2), 2 * PS, kRW, kAnonFixed, -1, 0)),
     {{"kernel-seal", "EPERM", "[0-8 rw-s lo sl]"},
      {"kernel-seal:unseal", "EPERM", "[0-8 rw-s lo sl]"},
      {"kernel-seal:flag", "@2", "[0-2 rw-s lo sl][2-4 rw-p ac][4-8 rw-s lo sl]"}}},
    {"the first half of the unseal release, alone",
     "[0-8 rw-s lo sl K]",
     RET(as.kernel_unseal(P(2), 2 * PS)),
     {{"linux-6.18", "ENOSYS", "[0-8 rw-s lo sl]"},  // no design but one has an unseal
      {"kernel-seal", "ENOSYS", "[0-8 rw-s lo sl]"},
      {"kernel-seal:unseal", "0", "[0-2 rw-s lo sl][2-4 rw-s lo][4-8 rw-s lo sl]"},
      {"kernel-seal:flag", "ENOSYS", "[0-8 rw-s lo sl]"}}},
    {"a release wider than the kernel's range meets the process's seal",
     "[0-4 rw-s lo sl K][4-6 r--p sl]",
     RET(as.kernel_release(P(0), 6 * PS)),
     {{"linux-6.18", "EPERM", "[0-4 rw-s lo sl][4-6 r--p sl]"},
      // Both ways past the seal take the process's sealed mapping too.
      {"kernel-seal", "0", ""},
      {"kernel-seal:unseal", "0", ""},
      // The flag is the kernel's seal's only: the process's seal refuses.
      {"kernel-seal:flag", "EPERM", "[0-4 rw-s lo sl][4-6 r--p sl]"}}},

    // ---- msync (probed on 6.18.44 for linux-6.18) -----------------------------
    {"msync MS_INVALIDATE of sealed memory",
     "[0-2 r--p sl]",
     RET(as.msync(P(0), 2 * PS, a::MS_INVALIDATE)),
     {{"linux-6.18", "0", "[0-2 r--p sl]"},
      {"linux-6.10", "0", "[0-2 r--p sl]"},
      {"openbsd", "EPERM", "[0-2 r--p sl]"}}},
};
std::string row_name(const ::testing::TestParamInfo<Row>& param) {
  return test::test_name_of(param.param.name);
}
INSTANTIATE_TEST_SUITE_P(Designs, SealPolicyTable, ::testing::ValuesIn(kRows), row_name);

// ---- msync on Linux 6.18: each result probed on 6.18.44 -------------------------
TEST(Msync, ResultsProbedOnTheKernel) {
  AddressSpace as;
  test::Window w = test::make_window(as, 16);
  ASSERT_TRUE(test::build(w, "[0-2 r--p][4-6 r--p]"));
  const auto P = [&w](std::int64_t page) { return w.P(page); };
  EXPECT_EQ(test::ret_str(as.msync(P(0), 2 * PS, a::MS_SYNC)), "0");
  EXPECT_EQ(test::ret_str(as.msync(P(0), 6 * PS, a::MS_SYNC)), "ENOMEM");  // a hole: after the walk
  EXPECT_EQ(test::ret_str(as.msync(P(0), 6 * PS, a::MS_ASYNC)), "ENOMEM");  // a hole: at once
  EXPECT_EQ(test::ret_str(as.msync(P(2), 2 * PS, 0)), "ENOMEM");            // only a hole
  EXPECT_EQ(test::ret_str(as.msync(P(4), 4 * PS, 0)), "ENOMEM");            // past the last VMA
  EXPECT_EQ(test::ret_str(as.msync(P(0) + 1, PS, 0)), "EINVAL");
  EXPECT_EQ(test::ret_str(as.msync(P(0), PS, a::MS_ASYNC | a::MS_SYNC)), "EINVAL");
  EXPECT_EQ(test::ret_str(as.msync(P(0), PS, 8)), "EINVAL");
  EXPECT_EQ(test::ret_str(as.msync(P(0), 0, 0)), "0");
  EXPECT_EQ(test::ret_str(as.msync(P(0), ~std::uint64_t{0} - 4095, 0)), "ENOMEM");  // wraps
  ASSERT_EQ(test::ret_str(as.mlock(P(0), 2 * PS)), "0");
  EXPECT_EQ(test::ret_str(as.msync(P(0), 2 * PS, a::MS_INVALIDATE)), "EBUSY");
  EXPECT_EQ(test::ret_str(as.msync(P(0), 2 * PS, a::MS_SYNC)), "0");
  EXPECT_EQ(test::ret_str(as.msync(P(-2), 4 * PS, a::MS_INVALIDATE)),
            "EBUSY");  // hole, then locked
  // The flags argument is an int: high bits of the register are ignored.
  EXPECT_EQ(test::ret_str(as.msync(P(0), 2 * PS, (std::uint64_t{1} << 32) | a::MS_SYNC)), "0");
}

// ---- typed seals (RFC v3) ---------------------------------------------------------
struct Typed {
  AddressSpace as;
  test::Window w;
  explicit Typed(const char* spec) : as(config(spec)) { w = test::make_window(as, 16); }
  static Config config(const char* spec) {
    Config cfg;
    EXPECT_TRUE(seal_policy::parse(spec, cfg.seal));
    return cfg;
  }
  std::uint64_t types_at(std::int64_t page) const {
    const Vma* v = as.vmas().find(w.P(page));
    return v == nullptr ? ~std::uint64_t{0} : seal_types_of_flags(v->flags);
  }
  std::string seal(std::int64_t from, std::int64_t to, std::uint64_t types) {
    return test::ret_str(
        as.mseal_typed(w.P(from), static_cast<std::uint64_t>(to - from) * PS, types, 0));
  }
};

TEST(TypedSeals, ProtPkeyImpliesBaseAndTypesAccumulate) {
  Typed t("rfc-v3");
  ASSERT_TRUE(test::build(t.w, "[0-4 r--p]"));
  EXPECT_EQ(t.seal(0, 2, seal_type::PROT_PKEY), "0");
  EXPECT_EQ(t.types_at(0), seal_type::BASE | seal_type::PROT_PKEY);
  EXPECT_EQ(t.types_at(2), 0U);
  EXPECT_EQ(t.w.draw(), "[0-2 r--p sl][2-4 r--p]");  // the RFC's types print nothing beyond sl
  // Adding a type already there is a no-op, not a failure; a new one is added.
  EXPECT_EQ(t.seal(0, 2, seal_type::BASE), "0");
  EXPECT_EQ(t.seal(0, 2, seal_type::SEAL), "0");
  EXPECT_EQ(t.types_at(0), seal_type::ALL);
  // MM_SEAL_SEAL: repeating held types is fine, a new type is EACCES.
  EXPECT_EQ(t.seal(2, 4, seal_type::SEAL), "0");
  EXPECT_EQ(t.seal(2, 4, seal_type::SEAL), "0");
  EXPECT_EQ(t.seal(2, 4, seal_type::BASE), "EACCES");
  EXPECT_EQ(t.types_at(2), seal_type::SEAL);
  // EACCES is decided for the whole range before anything changes.
  EXPECT_EQ(t.seal(0, 4, seal_type::BASE), "EACCES");
  EXPECT_EQ(t.types_at(0), seal_type::ALL);
}

TEST(TypedSeals, ArgumentsAndHoles) {
  Typed t("rfc-v3");
  ASSERT_TRUE(test::build(t.w, "[0-2 r--p][4-6 r--p]"));
  EXPECT_EQ(t.seal(0, 2, 8), "EINVAL");  // not a type of v3
  EXPECT_EQ(test::ret_str(t.as.mseal_typed(t.w.P(0), 2 * PS, seal_type::BASE, 1)), "EINVAL");
  EXPECT_EQ(test::ret_str(t.as.mseal_typed(t.w.P(0) + 1, PS, seal_type::BASE, 0)), "EINVAL");
  EXPECT_EQ(t.seal(0, 6, seal_type::BASE), "ENOMEM");  // a hole: nothing sealed
  EXPECT_EQ(t.types_at(0), 0U);
  EXPECT_EQ(t.seal(0, 2, 0), "0");  // no types: nothing to do
  EXPECT_EQ(t.types_at(0), 0U);
}

TEST(TypedSeals, PiecesWithDifferentTypesDoNotMerge) {
  Typed t("rfc-v3");
  ASSERT_TRUE(test::build(t.w, "[0-4 r--p]"));
  EXPECT_EQ(t.seal(0, 2, seal_type::BASE), "0");
  EXPECT_EQ(t.seal(2, 4, seal_type::BASE | seal_type::SEAL), "0");
  EXPECT_EQ(t.w.draw(), "[0-2 r--p sl][2-4 r--p sl]");  // one namespace: sl + seal differ
  EXPECT_EQ(t.seal(0, 2, seal_type::SEAL), "0");
  EXPECT_EQ(t.w.draw(), "[0-4 r--p sl]");  // now equal flags: merged
  // Under MM_SEAL_BASE alone the protection may change; the unmap may not.
  Typed b("rfc-v3:base");
  ASSERT_TRUE(test::build(b.w, "[0-2 r--p sl]"));
  EXPECT_EQ(b.types_at(0), seal_type::BASE);
  EXPECT_EQ(test::ret_str(b.as.mprotect(b.w.P(0), 2 * PS, kRW)), "0");
  EXPECT_EQ(test::ret_str(b.as.munmap(b.w.P(0), 2 * PS)), "EACCES");
  // MM_SEAL_SEAL alone stops new seals only: the VMA can still be unmapped.
  Typed s("rfc-v3:seal");
  ASSERT_TRUE(test::build(s.w, "[0-2 r--p]"));
  EXPECT_EQ(test::ret_str(s.as.mseal(s.w.P(0), 2 * PS, 0)), "0");
  EXPECT_EQ(s.types_at(0), seal_type::SEAL);
  EXPECT_EQ(test::ret_str(s.as.mseal_typed(s.w.P(0), 2 * PS, seal_type::BASE, 0)), "EACCES");
  EXPECT_EQ(test::ret_str(s.as.munmap(s.w.P(0), 2 * PS)), "0");
  EXPECT_EQ(s.w.draw(), "");
}

TEST(TypedSeals, MsealTypedUnderALinuxPolicyReadsThreeArguments) {
  AddressSpace as;
  test::Window w = test::make_window(as, 16);
  ASSERT_TRUE(test::build(w, "[0-2 r--p]"));
  // The kernel's mseal takes (addr, len, flags): "types" lands in flags.
  EXPECT_EQ(test::ret_str(as.mseal_typed(w.P(0), 2 * PS, seal_type::BASE, 0)), "EINVAL");
  EXPECT_EQ(test::ret_str(as.mseal_typed(w.P(0), 2 * PS, 0, 5)), "0");
  EXPECT_EQ(w.draw(), "[0-2 r--p sl]");
}

// ---- the policy table --------------------------------------------------------------
TEST(SealPolicies, ParseNamesAliasesAndTypes) {
  SealPolicy p;
  std::string error;
  for (const SealPolicy& named : seal_policy::all()) {
    ASSERT_TRUE(seal_policy::parse(named.name, p, &error)) << error;
    EXPECT_EQ(p.name, named.name);
    EXPECT_EQ(p.spec(), std::string(named.name));
  }
  EXPECT_EQ(seal_policy::all().front().name, "linux-6.18");
  ASSERT_TRUE(seal_policy::parse("mimmutable", p));
  EXPECT_EQ(p.name, "openbsd");
  ASSERT_TRUE(seal_policy::parse("6.10", p));
  EXPECT_EQ(p.name, "linux-6.10");
  ASSERT_TRUE(seal_policy::parse("rfc-v3:base+prot", p, &error)) << error;
  EXPECT_EQ(p.untyped_types, seal_type::BASE | seal_type::PROT_PKEY);
  EXPECT_EQ(p.spec(), "rfc-v3:base+prot_pkey");
  ASSERT_TRUE(seal_policy::parse("rfc-v3:none", p));
  EXPECT_EQ(p.untyped_types, 0U);

  EXPECT_FALSE(seal_policy::parse("linux-5.4", p, &error));
  EXPECT_NE(error.find("choose from linux-6.18"), std::string::npos) << error;
  EXPECT_FALSE(seal_policy::parse("rfc-v3:base+", p, &error));
  EXPECT_FALSE(seal_policy::parse("rfc-v3:exec", p, &error));
  EXPECT_NE(error.find("exec"), std::string::npos) << error;
  EXPECT_FALSE(seal_policy::parse("linux-6.18:base", p, &error));
  EXPECT_NE(error.find("only rfc-v3"), std::string::npos) << error;
}

TEST(SealPolicies, TheKernelSealsReleases) {
  SealPolicy p;
  std::string error;
  ASSERT_TRUE(seal_policy::parse("kernel-seal", p, &error)) << error;
  EXPECT_EQ(p.kernel_release, KernelRelease::Bypass);
  EXPECT_EQ(p.spec(), "kernel-seal");
  ASSERT_TRUE(seal_policy::parse("kseal:unseal", p, &error)) << error;
  EXPECT_EQ(p.name, "kernel-seal");
  EXPECT_EQ(p.kernel_release, KernelRelease::Unseal);
  EXPECT_EQ(p.spec(), "kernel-seal:unseal");
  ASSERT_TRUE(seal_policy::parse("kernel-seal:flag", p, &error)) << error;
  EXPECT_EQ(p.spec(), "kernel-seal:flag");
  EXPECT_EQ(p.unmap_exempt(), vm::SEALED_UNMAPPABLE);
  ASSERT_TRUE(seal_policy::parse("kernel-seal:bypass", p, &error)) << error;
  EXPECT_EQ(p.spec(), "kernel-seal");
  EXPECT_EQ(p.unmap_exempt(), 0U);
  // Everything else is linux-6.18's.
  EXPECT_EQ(p.timing, SealTiming::InWalk);
  EXPECT_EQ(p.refused, Errno::PERM);
  EXPECT_EQ(p.discard_scope, DiscardScope::AnonReadOnly);
  for (const SealPolicy& named : seal_policy::all()) {
    if (named.name != "kernel-seal") {
      EXPECT_EQ(named.kernel_release, KernelRelease::None) << named.name;
    }
  }

  EXPECT_FALSE(seal_policy::parse("kernel-seal:munseal", p, &error));
  EXPECT_NE(error.find("choose from bypass, unseal, flag"), std::string::npos) << error;
  EXPECT_FALSE(seal_policy::parse("kernel-seal:", p, &error));
  EXPECT_FALSE(seal_policy::parse("linux-6.18:unseal", p, &error));
  EXPECT_NE(error.find("kernel-seal:RELEASE"), std::string::npos) << error;
}

TEST(SealPolicies, TypedBitsAreNeverPrintedInSmaps) {
  EXPECT_EQ(smaps_vmflags(vm::SEAL_PROT_PKEY | vm::SEAL_SEAL), "");
  EXPECT_EQ(smaps_vmflags(vm::SEALED), "sl ");
  EXPECT_EQ(seal_types_name(seal_type::ALL), "base+prot_pkey+seal");
  EXPECT_EQ(seal_types_name(0), "none");
}

}  // namespace
}  // namespace vmseal
