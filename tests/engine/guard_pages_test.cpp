// GuardPages (runs of guard pages) against a std::set of pages: random
// installs, removes and moves must leave the same pages, stored as disjoint,
// non-adjacent runs; queries must agree.
#include "vmseal/engine/guard_pages.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <set>
#include <tuple>
#include <vector>

namespace vmseal {
namespace {

constexpr Addr kBase = 0x7f0000000000ULL;
Addr page(std::uint64_t i) { return kBase + i * kPageSize; }

std::set<Addr> pages_of(const GuardPages& g) {
  std::set<Addr> out;
  g.for_each([&](Addr s, Addr e) {
    for (Addr a = s; a < e; a += kPageSize) out.insert(a);
  });
  return out;
}

// Runs are sorted, non-empty, disjoint and not adjacent (adjacent runs merge).
bool canonical(const GuardPages& g) {
  Addr last_end = 0;
  bool first = true;
  bool ok = true;
  g.for_each([&](Addr s, Addr e) {
    if (s >= e || (!first && s <= last_end)) ok = false;
    last_end = e;
    first = false;
  });
  return ok;
}

TEST(GuardPages, InstallMergesAndRemoveSplits) {
  GuardPages g;
  g.install(page(2), page(4));
  g.install(page(6), page(8));
  g.install(page(4), page(6));  // bridges the two
  EXPECT_EQ(g.run_count(), 1U);
  EXPECT_EQ(g.page_count(), 6U);
  g.remove(page(3), page(5));
  EXPECT_EQ(g.run_count(), 2U);
  EXPECT_TRUE(g.contains(page(2)));
  EXPECT_FALSE(g.contains(page(3)));
  EXPECT_FALSE(g.contains(page(4)));
  EXPECT_TRUE(g.contains(page(5) + 123));
  EXPECT_EQ(g.first_in(page(3), page(10)), page(5));
  EXPECT_EQ(g.first_in(page(2), page(3)), page(2));
  EXPECT_FALSE(g.first_in(page(8), page(100)).has_value());
  g.move(page(0), page(6), page(100));  // [2-3) and [5-6) move; [6-8) stays
  EXPECT_EQ(pages_of(g), (std::set<Addr>{page(6), page(7), page(102), page(105)}));
}

RC_GTEST_PROP(GuardPages, MatchesAPageSet, ()) {
  GuardPages g;
  std::set<Addr> ref;
  const auto ops = *rc::gen::container<
      std::vector<std::tuple<int, std::uint64_t, std::uint64_t, std::uint64_t>>>(rc::gen::tuple(
      rc::gen::inRange(0, 3), rc::gen::inRange<std::uint64_t>(0, 64),
      rc::gen::inRange<std::uint64_t>(0, 16), rc::gen::inRange<std::uint64_t>(0, 128)));
  for (const auto& [kind, first, count, to] : ops) {
    const Addr s = page(first);
    const Addr e = page(first + count);
    if (kind == 0) {
      g.install(s, e);
      for (Addr a = s; a < e; a += kPageSize) ref.insert(a);
    } else if (kind == 1) {
      g.remove(s, e);
      for (Addr a = s; a < e; a += kPageSize) ref.erase(a);
    } else {
      // mremap never moves onto the source range.
      const Addr dst = page(64 + to);
      if (dst < e && s < dst + (e - s)) continue;
      g.move(s, e, dst);
      std::vector<Addr> moved;
      for (auto it = ref.lower_bound(s); it != ref.end() && *it < e; it = ref.erase(it))
        moved.push_back(*it - s + dst);
      ref.insert(moved.begin(), moved.end());
    }
    RC_ASSERT(canonical(g));
    RC_ASSERT(pages_of(g) == ref);
    const Addr q = page(*rc::gen::inRange<std::uint64_t>(0, 200));
    RC_ASSERT(g.contains(q) == (ref.count(q) != 0));
    const auto want = ref.lower_bound(s);
    const auto got = g.first_in(s, e);
    RC_ASSERT(got.has_value() == (want != ref.end() && *want < e));
    if (got.has_value()) RC_ASSERT(*got == *want);
  }
}

}  // namespace
}  // namespace vmseal
