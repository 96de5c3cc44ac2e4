// VmaTree tests: hand-written cases for the B+tree's edge cases (leaf and inner
// splits, erasing to empty, gaps spanning two leaves, clipping, addresses near
// 2^64) and differential property tests against ReferenceVmaTree.
//
// First, before any standard header (types.hpp's Errno vs <cerrno>).
#include "vmseal/engine/vma_tree.hpp"
#include "vmseal/engine/reference_vma_tree.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace vmseal {
namespace {

constexpr Addr P = kPageSize;
constexpr Addr kMax = ~Addr{0};         // 2^64-1: the largest `high`
constexpr Addr kTopEnd = kMax - P + 1;  // 2^64-4096: the highest page-aligned end

Vma mk(Addr start, Addr end, VmFlags flags = vm::READ) {
  Vma v;
  v.start = start;
  v.end = end;
  v.flags = flags;
  v.set_pgoff(start >> kPageShift);
  return v;
}

std::string show(const Vma& v) {
  std::ostringstream o;
  o << std::hex << "[0x" << v.start << ", 0x" << v.end << ") flags=0x" << v.flags;
  return o.str();
}
std::string show(const Vma* v) { return v != nullptr ? show(*v) : std::string("null"); }
std::string show(const std::optional<Range>& r) {
  if (!r) return "nullopt";
  std::ostringstream o;
  o << std::hex << "[0x" << r->start << ", 0x" << r->end << ")";
  return o.str();
}

template <class Tree>
std::vector<Vma> dump(const Tree& t) {
  std::vector<Vma> out;
  t.for_each([&](const Vma& v) { out.push_back(v); });
  return out;
}

::testing::AssertionResult same_vma(const Vma* a, const Vma* b) {
  if ((a == nullptr) != (b == nullptr) || (a != nullptr && !(*a == *b))) {
    return ::testing::AssertionFailure() << show(a) << " vs " << show(b);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult same_range(const std::optional<Range>& a,
                                      const std::optional<Range>& b) {
  if (a != b) return ::testing::AssertionFailure() << show(a) << " vs " << show(b);
  return ::testing::AssertionSuccess();
}

// ---------------------------------------------------------------------------
// Hand-written cases
// ---------------------------------------------------------------------------

TEST(VmaTree, EmptyTree) {
  VmaTree t;
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.size(), 0u);
  EXPECT_TRUE(t.check_invariants());
  EXPECT_EQ(t.find(0), nullptr);
  EXPECT_EQ(t.find(kMax), nullptr);
  EXPECT_EQ(t.lower(0), nullptr);
  EXPECT_EQ(t.before(kMax), nullptr);
  EXPECT_EQ(t.first(), nullptr);
  EXPECT_EQ(t.last(), nullptr);
  EXPECT_EQ(t.gap(0, kMax, 1), (Range{0, kMax}));
  EXPECT_EQ(t.gap_rev(0, kMax, kMax), (Range{0, kMax}));
  EXPECT_EQ(t.gap(5, 5, 0), std::nullopt);
  EXPECT_EQ(t.gap(6, 5, 0), std::nullopt);
  EXPECT_EQ(t.gap(0, 10, 11), std::nullopt);
  EXPECT_EQ(t.gap(0, 10, 0), (Range{0, 10}));  // size 0 acts as 1
  t.clear();
  EXPECT_TRUE(t.check_invariants());
  VmaTree copy(t);
  EXPECT_TRUE(copy.empty());
}

TEST(VmaTree, SingleVma) {
  VmaTree t;
  Vma& v = t.insert(mk(0x1000, 0x3000));
  EXPECT_EQ(v.start, 0x1000u);
  EXPECT_TRUE(t.check_invariants());
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.find(0x1000), &v);
  EXPECT_EQ(t.find(0x2fff), &v);
  EXPECT_EQ(t.find(0x3000), nullptr);
  EXPECT_EQ(t.find(0xfff), nullptr);
  EXPECT_EQ(t.lower(0), &v);
  EXPECT_EQ(t.lower(0x2fff), &v);
  EXPECT_EQ(t.lower(0x3000), nullptr);
  EXPECT_EQ(t.before(0x2fff), nullptr);
  EXPECT_EQ(t.before(0x3000), &v);
  EXPECT_EQ(t.before(kMax), &v);
  EXPECT_EQ(t.first(), &v);
  EXPECT_EQ(t.last(), &v);
  EXPECT_EQ(t.next_of(v), nullptr);
  EXPECT_EQ(t.prev_of(v), nullptr);
  EXPECT_EQ(t.gap(0, kMax, 0x1000), (Range{0, 0x1000}));
  EXPECT_EQ(t.gap(0, kMax, 0x1001), (Range{0x3000, kMax}));
  EXPECT_EQ(t.gap_rev(0, kMax, 1), (Range{0x3000, kMax}));
  EXPECT_EQ(t.gap_rev(0, 0x3000, 1), (Range{0, 0x1000}));
  EXPECT_EQ(t.gap_rev(0x1000, 0x3000, 1), std::nullopt);
  // Non-key fields can be changed through the pointer.
  t.find(0x1000)->flags = vm::READ | vm::WRITE;
  EXPECT_EQ(t.first()->flags, vm::READ | vm::WRITE);
  t.erase(0x1000);
  EXPECT_TRUE(t.empty());
  EXPECT_TRUE(t.check_invariants());
  EXPECT_EQ(t.memory_bytes() > 0, true);  // the impl stays allocated
}

TEST(VmaTree, VmaAtAddressZero) {
  VmaTree t;
  t.insert(mk(0, P));
  EXPECT_TRUE(t.check_invariants());
  EXPECT_EQ(t.find(0)->start, 0u);
  EXPECT_EQ(t.gap(0, kMax, 1), (Range{P, kMax}));
  EXPECT_EQ(t.gap_rev(0, P, 1), std::nullopt);
  EXPECT_EQ(t.prev_of(*t.first()), nullptr);
}

// Inserts `n` VMAs of one page separated by one page, in the given order.
template <class Tree>
void fill(Tree& t, const std::vector<std::size_t>& order, Addr base = 0x10000) {
  for (std::size_t i : order) t.insert(mk(base + 2 * P * i, base + 2 * P * i + P));
}

std::vector<std::size_t> iota(std::size_t n) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), std::size_t{0});
  return v;
}

void expect_same(const VmaTree& t, const ReferenceVmaTree& r) {
  ASSERT_TRUE(t.check_invariants());
  ASSERT_EQ(t.size(), r.size());
  ASSERT_EQ(dump(t), dump(r));
  EXPECT_TRUE(same_vma(t.first(), r.first()));
  EXPECT_TRUE(same_vma(t.last(), r.last()));
}

TEST(VmaTree, LeafAndInnerSplitsInEveryOrder) {
  for (std::size_t n : {16u, 17u, 33u, 256u, 257u, 4097u, 5000u}) {
    std::vector<std::size_t> asc = iota(n);
    std::vector<std::size_t> desc(asc.rbegin(), asc.rend());
    std::vector<std::size_t> rnd = asc;
    std::shuffle(rnd.begin(), rnd.end(), std::mt19937_64(n));
    // Middle-out: the order top-down mmap produces between two fixed regions.
    std::vector<std::size_t> mid;
    for (std::size_t i = 0; i < n; ++i)
      mid.push_back(i % 2 == 0 ? n / 2 + i / 2 : n / 2 - 1 - i / 2);
    mid.erase(std::remove_if(mid.begin(), mid.end(), [&](std::size_t x) { return x >= n; }),
              mid.end());
    for (const auto* order : {&asc, &desc, &rnd, &mid}) {
      VmaTree t;
      ReferenceVmaTree r;
      for (std::size_t i : *order) {
        const Vma v = mk(0x10000 + 2 * P * i, 0x10000 + 2 * P * i + P);
        t.insert(v);
        r.insert(v);
        if (n <= 300) {
          ASSERT_TRUE(t.check_invariants()) << "n=" << n << " i=" << i;
        }
      }
      expect_same(t, r);
      for (std::size_t i = 0; i < n; ++i) {
        const Addr a = 0x10000 + 2 * P * i;
        ASSERT_NE(t.find(a), nullptr);
        ASSERT_EQ(t.find(a)->start, a);
        ASSERT_EQ(t.find(a + P), nullptr);
      }
      // Bytes per VMA stay bounded: the nodes in use (leaves at least 5/8
      // full), and everything the arena holds.
      EXPECT_LE(t.live_bytes() / t.size(), n < 64 ? 4096u : 80u) << n;
      EXPECT_LE(t.memory_bytes() / t.size(), n < 64 ? 8192u : 160u) << n;
    }
  }
}

// Ascending / descending inserts start a new one-VMA leaf at the end / front;
// erasing that VMA removes the leaf and widens the neighbour's first gap.
TEST(VmaTree, OneVmaLeavesAtTheEdges) {
  for (std::size_t n : {17u, 33u, 16u * 16u + 1u, 16u * 16u * 16u + 1u}) {
    for (bool ascending : {true, false}) {
      std::vector<std::size_t> order = iota(n);
      if (!ascending) std::reverse(order.begin(), order.end());
      VmaTree t;
      ReferenceVmaTree r;
      fill(t, order);
      fill(r, order);
      expect_same(t, r);
      const Addr lone = 0x10000 + 2 * P * order.back();
      t.erase(lone);
      r.erase(lone);
      expect_same(t, r);
      for (Addr size : {P, 2 * P, 3 * P}) {
        ASSERT_TRUE(same_range(t.gap(0x10000, kMax, size), r.gap(0x10000, kMax, size)));
        ASSERT_TRUE(same_range(t.gap_rev(0, kTopEnd, size), r.gap_rev(0, kTopEnd, size)));
      }
      // Again, then shrink from that edge one VMA at a time.
      t.insert(mk(lone, lone + P));
      r.insert(mk(lone, lone + P));
      expect_same(t, r);
      for (std::size_t k = 0; k < std::min<std::size_t>(n, 300); ++k) {
        const Addr a = 0x10000 + 2 * P * order[n - 1 - k];
        t.erase(a);
        r.erase(a);
        ASSERT_TRUE(t.check_invariants()) << n << " " << k;
      }
      expect_same(t, r);
    }
  }
}

TEST(VmaTree, EraseToEmptyAndReuse) {
  for (unsigned seed = 0; seed < 4; ++seed) {
    std::mt19937_64 rng(seed);
    const std::size_t n = 3000;
    std::vector<std::size_t> order = iota(n);
    std::shuffle(order.begin(), order.end(), rng);
    VmaTree t;
    ReferenceVmaTree r;
    fill(t, order);
    fill(r, order);
    expect_same(t, r);
    if (seed == 1) std::reverse(order.begin(), order.end());
    if (seed == 2) std::sort(order.begin(), order.end());
    if (seed == 3) std::sort(order.rbegin(), order.rend());
    if (seed == 0) std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t k = 0; k < n; ++k) {
      const Addr a = 0x10000 + 2 * P * order[k];
      t.erase(a);
      r.erase(a);
      ASSERT_TRUE(t.check_invariants()) << "seed " << seed << " k " << k;
      if (k % 97 == 0) {
        ASSERT_TRUE(same_range(t.gap(0, kMax, 3 * P), r.gap(0, kMax, 3 * P)));
        ASSERT_TRUE(same_range(t.gap_rev(0, kTopEnd, 3 * P), r.gap_rev(0, kTopEnd, 3 * P)));
        ASSERT_EQ(dump(t), dump(r));
      }
    }
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.first(), nullptr);
    EXPECT_EQ(t.gap(0, kMax, 1), (Range{0, kMax}));
    fill(t, iota(100));
    fill(r, iota(100));
    expect_same(t, r);
  }
}

// Erasing keeps leaves at least 5/8 full (borrowing, or three leaves into
// two), so a tree that shrank stays compact: the nodes in use stay near the
// 64-byte-per-VMA budget (65 here) while two thirds of the VMAs go, in random
// order. With the older rule (rebalance only below 6 of 16) this tree reached
// 85 bytes per VMA.
TEST(VmaTree, ShrinkingKeepsLeavesFull) {
  std::mt19937_64 rng(7);
  const std::size_t n = 30000;
  std::vector<std::size_t> order = iota(n);
  std::shuffle(order.begin(), order.end(), rng);
  VmaTree t;
  ReferenceVmaTree r;
  fill(t, order);
  fill(r, order);
  std::shuffle(order.begin(), order.end(), rng);
  for (std::size_t k = 0; k < 2 * n / 3; ++k) {
    const Addr a = 0x10000 + 2 * P * order[k];
    t.erase(a);
    r.erase(a);
    // Lookups right after an erase exercise the finger (the hinted leaf).
    const Addr probe = 0x10000 + 2 * P * order[(k * 7919) % n];
    ASSERT_EQ(t.find(probe) != nullptr, r.find(probe) != nullptr) << k;
  }
  ASSERT_TRUE(t.check_invariants());
  expect_same(t, r);
  EXPECT_LE(t.live_bytes() / t.size(), 70u) << "live bytes per VMA";
  // The arena still holds the memory of the full tree (it keeps its peak).
  EXPECT_GE(t.memory_bytes(), t.live_bytes());
}

TEST(VmaTree, SetBoundsGrowAndShrink) {
  VmaTree t;
  ReferenceVmaTree r;
  // 200 VMAs of 4 pages with 4-page holes; then grow/shrink each at both ends.
  for (Addr i = 0; i < 200; ++i) {
    t.insert(mk(0x100000 + 8 * P * i, 0x100000 + 8 * P * i + 4 * P));
    r.insert(mk(0x100000 + 8 * P * i, 0x100000 + 8 * P * i + 4 * P));
  }
  auto check = [&] {
    expect_same(t, r);
    for (Addr size : {Addr{1}, P, 4 * P, 5 * P, 8 * P}) {
      ASSERT_TRUE(same_range(t.gap(0, kMax, size), r.gap(0, kMax, size))) << size;
      ASSERT_TRUE(same_range(t.gap_rev(0, 0x100000 + 8 * P * 200, size),
                             r.gap_rev(0, 0x100000 + 8 * P * 200, size)))
          << size;
    }
  };
  for (Addr i = 0; i < 200; ++i) {
    const Addr s = 0x100000 + 8 * P * i;
    // Grow the end to close the hole entirely (neighbours touch: gap 0).
    Vma& v = t.set_bounds(s, s, s + 8 * P);
    r.set_bounds(s, s, s + 8 * P);
    EXPECT_EQ(v.end, s + 8 * P);
    check();
  }
  // Every hole is closed but the one below the first VMA and the top gap.
  EXPECT_EQ(t.gap(0, kMax, 1), (Range{0, 0x100000}));
  EXPECT_EQ(t.gap(0x100000, kMax, 1), (Range{0x100000 + 8 * P * 200, kMax}));
  for (Addr i = 0; i < 200; i += 3) {
    const Addr s = 0x100000 + 8 * P * i;
    // Shrink from the start, then from the end.
    t.set_bounds(s, s + 2 * P, s + 8 * P);
    r.set_bounds(s, s + 2 * P, s + 8 * P);
    check();
    t.set_bounds(s + 2 * P, s + 2 * P, s + 3 * P);
    r.set_bounds(s + 2 * P, s + 2 * P, s + 3 * P);
    check();
  }
  // Grow downward into a hole, the kernel's stack expansion.
  for (Addr i = 3; i < 200; i += 3) {
    const Addr s = 0x100000 + 8 * P * i + 2 * P;
    t.set_bounds(s, s - 2 * P, s + P);
    r.set_bounds(s, s - 2 * P, s + P);
    check();
  }
}

// split() in leaves with room (slots move, nothing else) and in full ones
// (the general path), with and without a stale finger: the result must be the
// reference's, pgoffs advanced, gaps unchanged.
TEST(VmaTree, SplitInRoomyAndFullLeaves) {
  VmaTree t;
  ReferenceVmaTree r;
  // Ascending insertion leaves every leaf full; 100 VMAs of 8 pages, 8-page holes.
  for (Addr i = 0; i < 100; ++i) {
    Vma v = mk(0x100000 + 16 * P * i, 0x100000 + 16 * P * i + 8 * P);
    v.set_pgoff(1000 * i);
    t.insert(v);
    r.insert(v);
  }
  for (Addr i = 0; i < 100; i += 7) {  // full leaves: the general path
    const Addr s = 0x100000 + 16 * P * i;
    Vma& x = t.split(*t.find(s), s + 3 * P);
    const Vma& y = r.split(*r.find(s), s + 3 * P);
    ASSERT_TRUE(same_vma(&x, &y));
    EXPECT_EQ(x.pgoff, 1000 * i + 3);
    EXPECT_EQ(t.find(s)->end, s + 3 * P);
    ASSERT_TRUE(t.check_invariants());
  }
  expect_same(t, r);
  for (Addr i = 1; i < 100; i += 3) {  // split the upper part again, then its lower one
    const Addr s = 0x100000 + 16 * P * i;
    t.find(0x100000);  // move the finger away: split must find the leaf itself
    Vma& x = t.split(*t.find(s + 5 * P), s + 6 * P);
    const Vma& y = r.split(*r.find(s + 5 * P), s + 6 * P);
    ASSERT_TRUE(same_vma(&x, &y));
    Vma& lower = *t.prev_of(x);  // [s, s + 6P), or [s + 3P, s + 6P) if split above
    const Addr at = lower.start + P;
    Vma& x2 = t.split(lower, at);
    const Vma& y2 = r.split(*r.prev_of(y), at);
    ASSERT_TRUE(same_vma(&x2, &y2));
    ASSERT_TRUE(t.check_invariants());
  }
  expect_same(t, r);
  for (Addr size : {Addr{1}, P, 8 * P, 9 * P})
    EXPECT_TRUE(same_range(t.gap(0, kMax, size), r.gap(0, kMax, size))) << size;
}

// A hole of `big` pages between VMA k-1 and VMA k, every other hole 1 page:
// whatever the leaf layout, some k put the hole across a leaf boundary.
TEST(VmaTree, GapAcrossLeafBoundaries) {
  const std::size_t n = 70;
  for (std::size_t k = 0; k <= n; ++k) {
    for (int order = 0; order < 2; ++order) {
      VmaTree t;
      ReferenceVmaTree r;
      std::vector<Vma> vmas;
      Addr a = 0x400000;
      for (std::size_t i = 0; i < n; ++i) {
        a += (i == k ? 100 : 1) * P;
        vmas.push_back(mk(a, a + 2 * P));
        a += 2 * P;
      }
      if (order == 1) std::reverse(vmas.begin(), vmas.end());
      for (const Vma& v : vmas) {
        t.insert(v);
        r.insert(v);
      }
      ASSERT_TRUE(t.check_invariants());
      const std::optional<Range> want = r.gap(0x400000, kMax, 50 * P);
      ASSERT_TRUE(same_range(t.gap(0x400000, kMax, 50 * P), want)) << k;
      ASSERT_TRUE(same_range(t.gap_rev(0, a, 50 * P), r.gap_rev(0, a, 50 * P))) << k;
      if (k == n) {
        EXPECT_EQ(want->end, kMax);  // only the top gap is big enough
        continue;
      }
      ASSERT_TRUE(want.has_value());
      EXPECT_EQ(want->end - want->start, 100 * P);
      // Shrink the hole from below by growing the VMA before it.
      const Vma* below = t.before(want->start);
      if (below != nullptr) {
        const Addr s = below->start;
        t.set_bounds(s, s, s + 2 * P + 60 * P);
        r.set_bounds(s, s, s + 2 * P + 60 * P);
        ASSERT_TRUE(t.check_invariants()) << k;
        ASSERT_TRUE(same_range(t.gap(0x400000, kTopEnd, 50 * P), r.gap(0x400000, kTopEnd, 50 * P)))
            << k;
        ASSERT_TRUE(same_range(t.gap(0, kMax, 40 * P), r.gap(0, kMax, 40 * P))) << k;
        // Erasing it merges the hole with the one below.
        t.erase(s);
        r.erase(s);
        ASSERT_TRUE(t.check_invariants()) << k;
        ASSERT_TRUE(same_range(t.gap(0x400000, kMax, 101 * P), r.gap(0x400000, kMax, 101 * P)));
        ASSERT_TRUE(same_range(t.gap_rev(0, a, 101 * P), r.gap_rev(0, a, 101 * P)));
      }
    }
  }
}

TEST(VmaTree, GapClipping) {
  VmaTree t;
  // [0x10000,0x20000) [0x30000,0x40000) [0x80000,0x90000)
  t.insert(mk(0x10000, 0x20000));
  t.insert(mk(0x30000, 0x40000));
  t.insert(mk(0x80000, 0x90000));
  // low inside a VMA, high inside a gap.
  EXPECT_EQ(t.gap(0x18000, 0x28000, 1), (Range{0x20000, 0x28000}));
  EXPECT_EQ(t.gap(0x18000, 0x28000, 0x8000), (Range{0x20000, 0x28000}));
  EXPECT_EQ(t.gap(0x18000, 0x28000, 0x8001), std::nullopt);
  // low inside a gap: the first gap is clipped from below.
  EXPECT_EQ(t.gap(0x24000, kMax, 0xc000), (Range{0x24000, 0x30000}));
  EXPECT_EQ(t.gap(0x24000, kMax, 0xc001), (Range{0x40000, 0x80000}));
  // high inside a gap: the last gap is clipped from above.
  EXPECT_EQ(t.gap_rev(0, 0x50000, 0x10000), (Range{0x40000, 0x50000}));
  EXPECT_EQ(t.gap_rev(0, 0x48000, 0x10000), (Range{0x20000, 0x30000}));
  EXPECT_EQ(t.gap_rev(0, 0x48000, 0x8000), (Range{0x40000, 0x48000}));
  EXPECT_EQ(t.gap_rev(0, 0x50000, 0x10001), std::nullopt);
  EXPECT_EQ(t.gap_rev(0x8000, 0x50000, 0x10000), (Range{0x40000, 0x50000}));
  EXPECT_EQ(t.gap_rev(0x8000, 0x48000, 0x8000), (Range{0x40000, 0x48000}));
  EXPECT_EQ(t.gap_rev(0x8000, 0x40000, 0x8001), (Range{0x20000, 0x30000}));
  EXPECT_EQ(t.gap(0x8000, 0x40000, 0x8001), (Range{0x20000, 0x30000}));
  EXPECT_EQ(t.gap(0x8000, 0x40000, 0x8000), (Range{0x8000, 0x10000}));
  // Exact fit.
  EXPECT_EQ(t.gap(0, kMax, 0x40000), (Range{0x40000, 0x80000}));
  EXPECT_EQ(t.gap_rev(0, 0x80000, 0x40000), (Range{0x40000, 0x80000}));
  EXPECT_EQ(t.gap_rev(0, 0x7ffff, 0x40000), std::nullopt);
  // Window entirely inside one VMA, or one gap.
  EXPECT_EQ(t.gap(0x11000, 0x12000, 1), std::nullopt);
  EXPECT_EQ(t.gap(0x41000, 0x42000, 1), (Range{0x41000, 0x42000}));
  // Top gap, clipped to high.
  EXPECT_EQ(t.gap_rev(0, kMax, 1), (Range{0x90000, kMax}));
  EXPECT_EQ(t.gap(0x85000, 0x95000, 1), (Range{0x90000, 0x95000}));
  EXPECT_EQ(t.gap(0x90000, 0x90000, 0), std::nullopt);
}

// The only fitting hole is an exact fit (size == the largest gap in the tree)
// many leaves away from the window's edge, so the top-down search must find it.
TEST(VmaTree, ExactFitFarAway) {
  VmaTree t;
  ReferenceVmaTree r;
  // VMAs from address 0 up (so no big gap below the first one); the holes
  // between them are 0-2 pages, except one of 6 pages.
  Addr a = 0;
  for (int i = 0; i < 3000; ++i) {
    t.insert(mk(a, a + P));
    r.insert(mk(a, a + P));
    a += P + (i == 1500 ? 6 : i % 3) * P;
  }
  const Addr end = t.last()->end;
  ASSERT_TRUE(t.check_invariants());
  for (Addr size : {5 * P, 6 * P, 6 * P - 1, 7 * P}) {
    for (Addr edge : {P, end, end - 1000 * P, Addr{1000 * P}}) {
      EXPECT_TRUE(same_range(t.gap_rev(0, edge, size), r.gap_rev(0, edge, size)))
          << size << " " << edge;
      EXPECT_TRUE(same_range(t.gap(edge, kTopEnd, size), r.gap(edge, kTopEnd, size)))
          << size << " " << edge;
    }
  }
  const auto rev = t.gap_rev(0, end, 6 * P);
  ASSERT_TRUE(rev.has_value());
  EXPECT_EQ(rev->end - rev->start, 6 * P);
  const auto fwd = t.gap(0, kTopEnd, 6 * P);
  ASSERT_TRUE(fwd.has_value());
  EXPECT_EQ(fwd, rev);
  EXPECT_EQ(t.gap_rev(0, end, 6 * P + 1), std::nullopt);
}

TEST(VmaTree, AddressesNearTopOfAddressSpace) {
  VmaTree t;
  ReferenceVmaTree r;
  // Page-aligned: the last page [2^64-8192, 2^64-4096) leaves a 4095-byte top
  // gap below high = 2^64-1.
  const Vma top = mk(kTopEnd - P, kTopEnd);
  t.insert(top);
  r.insert(top);
  EXPECT_EQ(t.gap_rev(0, kMax, P), (Range{0, kTopEnd - P}));
  EXPECT_EQ(t.gap_rev(0, kMax, P - 1), (Range{kTopEnd, kMax}));
  EXPECT_EQ(t.gap(kTopEnd - P, kMax, 1), (Range{kTopEnd, kMax}));
  EXPECT_EQ(t.find(kTopEnd - 1)->start, kTopEnd - P);
  EXPECT_EQ(t.find(kTopEnd), nullptr);
  EXPECT_EQ(t.find(kMax), nullptr);
  EXPECT_EQ(t.lower(kMax), nullptr);
  EXPECT_EQ(t.before(kMax)->start, kTopEnd - P);
  EXPECT_EQ(t.lower(kTopEnd - 1)->start, kTopEnd - P);
  // Unaligned: a VMA ending at 2^64-1 leaves no gap at the top at all.
  const Vma last = mk(kTopEnd, kMax);
  t.insert(last);
  r.insert(last);
  EXPECT_TRUE(t.check_invariants());
  EXPECT_EQ(t.find(kMax - 1)->start, kTopEnd);
  EXPECT_EQ(t.find(kMax), nullptr);
  EXPECT_EQ(t.lower(kMax), nullptr);
  EXPECT_EQ(t.before(kMax)->start, kTopEnd);
  EXPECT_EQ(t.gap_rev(0, kMax, 1), (Range{0, kTopEnd - P}));
  EXPECT_EQ(t.gap(kTopEnd - P, kMax, 1), std::nullopt);
  // Many VMAs packed against the top, so the top spans several leaves.
  for (Addr i = 2; i < 100; ++i) {
    const Vma v = mk(kTopEnd - 2 * i * P, kTopEnd - (2 * i - 1) * P);
    t.insert(v);
    r.insert(v);
  }
  expect_same(t, r);
  for (Addr size : {Addr{1}, P, 2 * P, 1000 * P}) {
    EXPECT_TRUE(
        same_range(t.gap(kTopEnd - 300 * P, kMax, size), r.gap(kTopEnd - 300 * P, kMax, size)));
    EXPECT_TRUE(same_range(t.gap_rev(0, kMax, size), r.gap_rev(0, kMax, size)));
    EXPECT_TRUE(same_range(t.gap_rev(kTopEnd - 150 * P, kTopEnd - 7 * P, size),
                           r.gap_rev(kTopEnd - 150 * P, kTopEnd - 7 * P, size)));
  }
  for (Addr a = kTopEnd - 210 * P; a != 0; a += P / 2) {
    ASSERT_TRUE(same_vma(t.find(a), r.find(a)));
    ASSERT_TRUE(same_vma(t.lower(a), r.lower(a)));
    ASSERT_TRUE(same_vma(t.before(a), r.before(a)));
  }
}

TEST(VmaTree, NextPrevIterationAcrossLeaves) {
  VmaTree t;
  std::vector<std::size_t> order = iota(1000);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  fill(t, order);
  // Forward and backward walks visit every VMA in order.
  std::size_t n = 0;
  Addr prev = 0;
  for (const Vma* v = t.first(); v != nullptr; v = t.next_of(*v), ++n) {
    if (n > 0) {
      ASSERT_LT(prev, v->start);
    }
    prev = v->start;
  }
  EXPECT_EQ(n, 1000u);
  n = 0;
  for (const Vma* v = t.last(); v != nullptr; v = t.prev_of(*v), ++n) {
    if (n > 0) {
      ASSERT_GT(prev, v->start);
    }
    prev = v->start;
  }
  EXPECT_EQ(n, 1000u);
  // A copy of a Vma (not a pointer into the tree) works by address.
  const Vma copy = *t.find(0x10000 + 2 * P * 500);
  EXPECT_EQ(t.next_of(copy)->start, 0x10000 + 2 * P * 501);
  EXPECT_EQ(t.prev_of(copy)->start, 0x10000 + 2 * P * 499);
  // So does a VMA that is not in the tree at all.
  const Vma ghost = mk(0x10000 + 2 * P * 500 + P, 0x10000 + 2 * P * 501);
  EXPECT_EQ(t.next_of(ghost)->start, 0x10000 + 2 * P * 501);
  EXPECT_EQ(t.prev_of(ghost)->start, 0x10000 + 2 * P * 500);
  // for_each agrees, and the pointers stay usable for flag edits.
  std::size_t m = 0;
  t.for_each([&](const Vma&) { ++m; });
  EXPECT_EQ(m, 1000u);
  for (Vma* v = t.first(); v != nullptr; v = t.next_of(*v)) v->flags |= vm::WRITE;
  t.for_each([&](const Vma& v) { EXPECT_TRUE(v.has(vm::WRITE)); });
  EXPECT_TRUE(t.check_invariants());
}

TEST(VmaTree, CopyIsDeepAndIndependent) {
  VmaTree t;
  std::vector<std::size_t> order = iota(2000);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(3));
  fill(t, order);
  const std::vector<Vma> before = dump(t);

  VmaTree c(t);
  EXPECT_TRUE(c.check_invariants());
  EXPECT_EQ(dump(c), before);
  EXPECT_EQ(c.live_bytes(), t.live_bytes());
  EXPECT_LE(c.memory_bytes(), t.memory_bytes());
  EXPECT_NE(c.first(), t.first());
  // Mutate the copy: the original does not change, and vice versa.
  for (std::size_t i = 0; i < 2000; i += 2) c.erase(0x10000 + 2 * P * i);
  c.insert(mk(0x10000 + 2 * P * 3000, 0x10000 + 2 * P * 3000 + P));
  c.find(0x10000 + 2 * P * 1)->flags = vm::EXEC;
  c.set_bounds(0x10000 + 2 * P * 3, 0x10000 + 2 * P * 3 - P, 0x10000 + 2 * P * 3 + P);
  EXPECT_TRUE(c.check_invariants());
  EXPECT_TRUE(t.check_invariants());
  EXPECT_EQ(dump(t), before);
  t.erase(0x10000 + 2 * P * 1);
  EXPECT_EQ(c.find(0x10000 + 2 * P * 1)->flags, vm::EXEC);
  EXPECT_EQ(c.size(), 1001u);

  // Assignment, self-assignment, move.
  VmaTree d;
  d.insert(mk(0, P));
  d = c;
  EXPECT_TRUE(d.check_invariants());
  EXPECT_EQ(dump(d), dump(c));
  const VmaTree& alias = d;
  d = alias;
  EXPECT_EQ(dump(d), dump(c));
  VmaTree e(std::move(d));
  EXPECT_EQ(dump(e), dump(c));
  EXPECT_TRUE(d.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty and usable
  EXPECT_TRUE(d.check_invariants());
  EXPECT_EQ(d.find(0), nullptr);
  EXPECT_EQ(d.gap(0, 10, 1), (Range{0, 10}));
  d.insert(mk(0, P));
  EXPECT_EQ(d.size(), 1u);
  d = std::move(e);
  EXPECT_EQ(dump(d), dump(c));
  d = VmaTree();
  EXPECT_TRUE(d.empty());
}

// Copy assignment reuses the destination's node memory (as std::vector reuses
// its capacity): assigning trees of the same size over and over must not grow
// it, and must leave a tree equal to the source and independent of it.
TEST(VmaTree, CopyAssignmentReusesNodeMemory) {
  VmaTree src;
  std::vector<std::size_t> order = iota(5000);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(11));
  fill(src, order);
  const std::vector<Vma> want = dump(src);

  VmaTree dst;
  dst = src;
  const std::size_t reserved = dst.memory_bytes();
  for (int round = 0; round < 20; ++round) {
    // Change the copy, then restore it from the source.
    for (std::size_t i = 0; i < 5000; i += 3) dst.erase(0x10000 + 2 * P * i);
    dst.insert(mk(0x10000 + 2 * P * 9000, 0x10000 + 2 * P * 9000 + P));
    std::set<const Vma*> old_slots;
    dst.for_each([&](const Vma& v) { old_slots.insert(&v); });
    dst = src;
    ASSERT_TRUE(dst.check_invariants());
    ASSERT_EQ(dump(dst), want);
    EXPECT_EQ(dst.memory_bytes(), reserved) << "round " << round;
    // The copy lives in the nodes the old tree had (a fresh arena would be
    // allocated while the old one still exists, so no address could repeat).
    std::size_t reused = 0;
    dst.for_each([&](const Vma& v) { reused += old_slots.count(&v); });
    EXPECT_GT(reused, 0u) << "round " << round;
  }
  EXPECT_NE(dst.first(), src.first());
  dst.find(0x10000 + 2 * P * 1)->flags = vm::EXEC;
  EXPECT_EQ(src.find(0x10000 + 2 * P * 1)->flags, want[1].flags);

  // Copy-assigning an empty tree empties it and keeps it usable.
  const VmaTree empty;
  dst = empty;
  EXPECT_TRUE(dst.empty());
  EXPECT_TRUE(dst.check_invariants());
  EXPECT_EQ(dst.find(0x10000), nullptr);
  dst.insert(mk(0, P));
  EXPECT_EQ(dst.size(), 1u);
  // Into a moved-from (empty, no storage) tree, assignment copies.
  dst = VmaTree();
  dst = src;
  EXPECT_EQ(dump(dst), want);
}

TEST(ReferenceVmaTree, Basics) {
  ReferenceVmaTree r;
  EXPECT_EQ(r.gap(0, kMax, 1), (Range{0, kMax}));
  r.insert(mk(0x1000, 0x2000));
  r.insert(mk(0x4000, 0x5000));
  EXPECT_TRUE(r.check_invariants());
  EXPECT_EQ(r.lower(0x2000)->start, 0x4000u);
  EXPECT_EQ(r.before(0x4fff)->start, 0x1000u);
  EXPECT_EQ(r.before(0x5000)->start, 0x4000u);
  EXPECT_EQ(r.gap(0, kMax, 0x2000), (Range{0x2000, 0x4000}));
  EXPECT_EQ(r.gap_rev(0, 0x4000, 1), (Range{0x2000, 0x4000}));
  r.set_bounds(0x4000, 0x3000, 0x6000);
  EXPECT_EQ(r.find(0x3000)->end, 0x6000u);
  EXPECT_EQ(r.next_of(*r.first())->start, 0x3000u);
  EXPECT_EQ(r.prev_of(*r.last())->start, 0x1000u);
  r.erase(0x1000);
  EXPECT_EQ(r.size(), 1u);
}

// ---------------------------------------------------------------------------
// Differential testing against ReferenceVmaTree
// ---------------------------------------------------------------------------

// Address distributions (all page-aligned).
enum class Dist { Dense, Sparse, Top, Mixed };

// Applies operations described by four random numbers to both trees. Each
// operation is made valid against the current contents, so any sequence of
// numbers is a valid test (and shrinks well). Throws on a mismatch.
class Harness {
 public:
  // check_invariants() runs after every `check_period` steps (default: all).
  explicit Harness(Dist d, std::uint64_t check_period = 1)
      : dist_(d), check_period_(check_period) {}

  void step(std::uint64_t kind, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    ++steps_;
    switch (kind % 20) {
      case 0:
      case 1:
      case 2:
        insert(a, b, c);
        break;
      case 3:
        for (std::uint64_t i = 0; i < 48; ++i) insert(mix(a, i), mix(b, i), c);
        break;
      case 4:
      case 5:
        erase(a);
        break;
      case 6:
        for (std::uint64_t i = 0; i < 1 + a % 24; ++i) erase(mix(b, i));
        break;
      case 7:
      case 8:
      case 9:
        set_bounds(a, b, c);
        break;
      case 10:
      case 11:
        query(a, b, c);
        break;
      case 12:
      case 13:
      case 14:
        gaps(a, b, c);
        break;
      case 15:
      case 16:
        next_prev(a, b);
        break;
      case 17:
        flags(a, c);
        break;
      case 18:
        if (a % 8 == 0)
          copies(a, b);
        else
          gaps(a, b, c);
        break;
      default:
        split(a, b);
        break;
    }
    if (steps_ % check_period_ == 0) require(t_.check_invariants(), "check_invariants");
    require(t_.size() == r_.size(), "size");
    if (r_.size() < 64 || steps_ % 16 == 0) compare_all();
  }

  void compare_all() {
    require(dump(t_) == dump(r_), "contents");
    require(same(t_.first(), r_.first()), "first");
    require(same(t_.last(), r_.last()), "last");
  }

  std::size_t size() const { return r_.size(); }
  const VmaTree& tree() const { return t_; }

 private:
  static std::uint64_t mix(std::uint64_t x, std::uint64_t i) {
    // splitmix64 step: derives many numbers from one.
    std::uint64_t z = x + 0x9e3779b97f4a7c15ULL * (i + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  Addr pick(std::uint64_t a) const {
    Dist d = dist_;
    if (d == Dist::Mixed) d = static_cast<Dist>(mix(a, 99) % 3);
    switch (d) {
      case Dist::Dense:
        return (a % 4096) * P;  // [0, 16 MiB)
      case Dist::Sparse:
        return (a % (Addr{1} << 35)) * P;  // [0, 2^47)
      case Dist::Top:
        return kTopEnd - (1 + a % 4096) * P;  // just below 2^64-4096
      case Dist::Mixed:
        break;
    }
    return 0;
  }

  static bool same(const Vma* x, const Vma* y) {
    return (x == nullptr && y == nullptr) || (x != nullptr && y != nullptr && *x == *y);
  }

  void require(bool ok, const std::string& what) const {
    if (ok) return;
    std::ostringstream o;
    o << "mismatch: " << what << " at step " << steps_ << " (size " << r_.size() << ")";
    throw std::runtime_error(o.str());
  }

  const Vma& kth(std::uint64_t k) const {
    const Vma* v = r_.first();
    for (std::uint64_t i = 0; i < k; ++i) v = r_.next_of(*v);
    return *v;
  }

  void insert(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    const Addr addr = pick(a);
    if (r_.find(addr) != nullptr) return;
    const Vma* next = r_.lower(addr);
    const Addr limit = next != nullptr ? next->start : kTopEnd;
    if (addr >= limit) return;
    const Addr room = (limit - addr) / P;
    const Addr pages = std::min<Addr>(room, 1 + b % (dist_ == Dist::Sparse ? 4096 : 8));
    Vma v = mk(addr, addr + pages * P, c & 0xff);
    v.file = static_cast<FileId>(c >> 40);
    Vma& x = t_.insert(v);
    const Vma& y = r_.insert(v);
    require(x == y, "insert result");
    require(t_.find(addr) == &x, "insert pointer");
  }

  void erase(std::uint64_t a) {
    if (r_.empty()) return;
    const Addr s = kth(a % r_.size()).start;
    t_.erase(s);
    r_.erase(s);
  }

  void set_bounds(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    if (r_.empty()) return;
    const Vma v = kth(a % r_.size());
    const Vma* pv = r_.prev_of(v);
    const Vma* nx = r_.next_of(v);
    // In pages: the VMA may move anywhere inside [lo, hi).
    const Addr lo = (pv != nullptr ? pv->end : 0) / P;
    const Addr hi = (nx != nullptr ? nx->start : kTopEnd) / P;
    Addr s = v.start / P;
    Addr e = v.end / P;
    const auto delta = static_cast<std::int64_t>(c % 9) - 4;
    switch (b % 5) {
      case 0:  // move the end
        e = static_cast<Addr>(std::clamp<std::int64_t>(static_cast<std::int64_t>(e) + delta,
                                                       static_cast<std::int64_t>(s + 1),
                                                       static_cast<std::int64_t>(hi)));
        break;
      case 1:  // move the start
        s = static_cast<Addr>(std::clamp<std::int64_t>(static_cast<std::int64_t>(s) + delta,
                                                       static_cast<std::int64_t>(lo),
                                                       static_cast<std::int64_t>(e - 1)));
        break;
      case 2:  // anywhere inside the room
        s = lo + c % (hi - lo);
        e = s + 1 + (c >> 32) % (hi - s);
        break;
      case 3:  // fill the room: both neighbours touch
        s = lo;
        e = hi;
        break;
      default:  // shrink to one page
        s = s + c % (e - s);
        e = s + 1;
        break;
    }
    Vma& x = t_.set_bounds(v.start, s * P, e * P);
    const Vma& y = r_.set_bounds(v.start, s * P, e * P);
    require(x == y, "set_bounds result");
  }

  void split(std::uint64_t a, std::uint64_t b) {
    if (r_.empty()) return;
    const Vma v = kth(a % r_.size());
    const Addr pages = v.page_count();
    if (pages < 2) return;
    const Addr at = v.start + (1 + b % (pages - 1)) * P;
    Vma& x = t_.split(*t_.find(v.start), at);
    const Vma& y = r_.split(*r_.find(v.start), at);
    require(x == y, "split result");
    require(t_.find(at) == &x, "split pointer");
    require(same(t_.prev_of(x), r_.prev_of(y)), "split lower part");
  }

  Addr interesting(std::uint64_t a, std::uint64_t b) const {
    switch (b % 6) {
      case 0:
        return pick(a);
      case 1:
        return pick(a) + (mix(a, 1) % P);  // unaligned
      case 2:
      case 3: {
        if (r_.empty()) return pick(a);
        const Vma& v = kth(a % r_.size());
        const Addr cand[4] = {v.start, v.end, v.end - 1, v.start - 1};
        return cand[mix(b, 2) % 4];
      }
      case 4: {
        const Addr cand[6] = {0, 1, kMax, kMax - 1, kTopEnd, kTopEnd - 1};
        return cand[a % 6];
      }
      default:
        return mix(a, 3);  // anything
    }
  }

  void query(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    const Addr addr = interesting(a, b);
    (void)c;
    require(same(t_.find(addr), r_.find(addr)), "find");
    require(same(t_.lower(addr), r_.lower(addr)), "lower");
    require(same(t_.before(addr), r_.before(addr)), "before");
    const VmaTree& ct = t_;
    require(same(ct.find(addr), r_.find(addr)), "find const");
    require(same(ct.lower(addr), r_.lower(addr)), "lower const");
    require(same(ct.before(addr), r_.before(addr)), "before const");
  }

  void gaps(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
    Addr low = 0;
    Addr high = kMax;
    switch (a % 4) {
      case 0:
        low = 0;
        break;
      default:
        low = interesting(a >> 2, mix(a, 4));
        break;
    }
    switch (b % 4) {
      case 0:
        high = kMax;
        break;
      case 1:
        high = kTopEnd;
        break;
      default:
        high = interesting(b >> 2, mix(b, 5));
        break;
    }
    if (mix(c, 6) % 8 == 0) std::swap(low, high);  // sometimes an empty window
    Addr size = 0;
    switch (c % 6) {
      case 0:
        size = 0;
        break;
      case 1:
        size = 1;
        break;
      case 2:
        size = P * (1 + (c >> 3) % 8);
        break;
      case 3:
        size = P * (1 + (c >> 3) % 4096);
        break;
      case 4:
        size = (c >> 3) % (Addr{1} << ((c >> 40) % 64));
        break;
      default:
        size = mix(c, 7);
        break;
    }
    {
      const auto x = t_.gap(low, high, size);
      const auto y = r_.gap(low, high, size);
      require(x == y, "gap " + show(x) + " vs " + show(y));
    }
    {
      const auto x = t_.gap_rev(low, high, size);
      const auto y = r_.gap_rev(low, high, size);
      require(x == y, "gap_rev " + show(x) + " vs " + show(y));
    }
  }

  void next_prev(std::uint64_t a, std::uint64_t b) {
    if (r_.empty()) return;
    const Vma& rv = kth(a % r_.size());
    const Vma* tv = t_.find(rv.start);
    require(tv != nullptr && *tv == rv, "find for next_prev");
    // Walk some steps from a pointer into the tree, both ways.
    const Vma* x = tv;
    const Vma* y = &rv;
    for (std::uint64_t i = 0; i < b % 40 && x != nullptr; ++i) {
      x = t_.next_of(*x);
      y = r_.next_of(*y);
      require(same(x, y), "next_of");
    }
    x = tv;
    y = &rv;
    for (std::uint64_t i = 0; i < (b >> 8) % 40 && x != nullptr; ++i) {
      x = t_.prev_of(*x);
      y = r_.prev_of(*y);
      require(same(x, y), "prev_of");
    }
    // By value (not a pointer into the tree).
    const Vma copy = rv;
    require(same(t_.next_of(copy), r_.next_of(copy)), "next_of copy");
    require(same(t_.prev_of(copy), r_.prev_of(copy)), "prev_of copy");
  }

  void flags(std::uint64_t a, std::uint64_t c) {
    if (r_.empty()) return;
    const Addr s = kth(a % r_.size()).start;
    t_.find(s)->flags = c;
    r_.find(s)->flags = c;
    t_.find(s)->anon_vma = static_cast<AnonVmaId>(c >> 32);
    r_.find(s)->anon_vma = static_cast<AnonVmaId>(c >> 32);
  }

  void copies(std::uint64_t a, std::uint64_t b) {
    VmaTree c(t_);
    require(c.check_invariants(), "copy invariants");
    require(dump(c) == dump(r_), "copy contents");
    // Mutating the copy leaves the original alone (checked by the next compare).
    if (!r_.empty()) c.erase(kth(a % r_.size()).start);
    if (c.first() != nullptr) c.first()->flags = ~b;
    require(c.check_invariants(), "copy invariants after edit");
    VmaTree d;
    d = t_;
    require(dump(d) == dump(r_), "assigned contents");
    compare_all();
  }

  Dist dist_;
  std::uint64_t check_period_;
  VmaTree t_;
  ReferenceVmaTree r_;
  std::uint64_t steps_ = 0;
};

using Op = std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t>;

void run_property(Dist dist) {
  const auto n = *rc::gen::inRange<std::size_t>(1, 1500);
  const auto ops = *rc::gen::container<std::vector<Op>>(
      n, rc::gen::tuple(rc::gen::arbitrary<std::uint64_t>(), rc::gen::arbitrary<std::uint64_t>(),
                        rc::gen::arbitrary<std::uint64_t>(), rc::gen::arbitrary<std::uint64_t>()));
  Harness h(dist);
  std::size_t peak = 0;
  for (const auto& [kind, a, b, c] : ops) {
    h.step(kind, a, b, c);
    peak = std::max(peak, h.size());
  }
  h.compare_all();
  // Shows how large the trees got (printed with the test's result).
  RC_TAG(peak < 17      ? "peak <= 16 VMAs (one leaf)"
         : peak <= 256  ? "peak 17..256 VMAs"
         : peak <= 1024 ? "peak 257..1024 VMAs"
         : peak <= 4096 ? "peak 1025..4096 VMAs"
                        : "peak > 4096 VMAs");
}

RC_GTEST_PROP(VmaTreeProperty, MatchesReferenceDense, ()) { run_property(Dist::Dense); }
RC_GTEST_PROP(VmaTreeProperty, MatchesReferenceSparse, ()) { run_property(Dist::Sparse); }
RC_GTEST_PROP(VmaTreeProperty, MatchesReferenceNearTop, ()) { run_property(Dist::Top); }
RC_GTEST_PROP(VmaTreeProperty, MatchesReferenceMixed, ()) { run_property(Dist::Mixed); }

// Long deterministic runs that grow to thousands of VMAs (three or more inner
// levels) and shrink back, with the same harness.
TEST(VmaTreeProperty, LongRandomRunsGrowAndShrink) {
  for (Dist dist : {Dist::Dense, Dist::Sparse, Dist::Mixed}) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(dist) + 42);
    Harness h(dist, 4);
    std::size_t peak = 0;
    for (int phase = 0; phase < 4; ++phase) {
      const bool grow = phase % 2 == 0;
      for (int i = 0; i < 1200; ++i) {
        std::uint64_t kind = rng() % 20;
        // Growing phases favour inserts (kind 3 = 48 inserts), shrinking
        // phases favour erases (kind 6 = up to 24 erases).
        if (grow && h.size() < 8000 && rng() % 4 == 0) kind = 3;
        if (!grow && rng() % 3 == 0) kind = 6;
        h.step(kind, rng(), rng(), rng());
        peak = std::max(peak, h.size());
      }
      h.compare_all();
    }
    EXPECT_GT(peak, dist == Dist::Dense ? 1000u : 4000u) << static_cast<int>(dist);
    std::printf("distribution %d: peak %zu VMAs\n", static_cast<int>(dist), peak);
  }
}

}  // namespace
}  // namespace vmseal
