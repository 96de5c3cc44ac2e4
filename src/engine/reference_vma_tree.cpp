// ReferenceVmaTree: std::map keyed by start, gaps by linear scan. Kept as
// simple as possible: this is the oracle the B+tree is tested against.
#include "vmseal/engine/reference_vma_tree.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>
#include <utility>

namespace vmseal {

namespace {

// The clipped gap [gap_start, gap_end) ∩ [low, high) if it qualifies.
// `gap_end_is_top` marks the last gap, which ends at 2^64 (not representable).
std::optional<Range> clip(Addr gap_start, Addr gap_end, bool gap_end_is_top, Addr low, Addr high,
                          Addr size) noexcept {
  const Addr s = std::max(gap_start, low);
  const Addr e = gap_end_is_top ? high : std::min(gap_end, high);
  if (e > s && e - s >= size) return Range{s, e};
  return std::nullopt;
}

}  // namespace

const Vma* ReferenceVmaTree::find(Addr addr) const noexcept {
  auto it = map_.upper_bound(addr);  // first start > addr
  if (it == map_.begin()) return nullptr;
  --it;
  return it->second.contains(addr) ? &it->second : nullptr;
}
Vma* ReferenceVmaTree::find(Addr addr) noexcept {
  return const_cast<Vma*>(std::as_const(*this).find(addr));
}

const Vma* ReferenceVmaTree::lower(Addr addr) const noexcept {
  // Either the VMA starting at or below addr (if it reaches past addr) or the
  // first one starting above addr.
  auto it = map_.upper_bound(addr);
  if (it != map_.begin() && std::prev(it)->second.end > addr) return &std::prev(it)->second;
  return it == map_.end() ? nullptr : &it->second;
}
Vma* ReferenceVmaTree::lower(Addr addr) noexcept {
  return const_cast<Vma*>(std::as_const(*this).lower(addr));
}

const Vma* ReferenceVmaTree::before(Addr addr) const noexcept {
  // Walk back from the last VMA starting at or below addr; at most two steps,
  // since only that VMA can contain addr.
  auto it = map_.upper_bound(addr);
  while (it != map_.begin()) {
    --it;
    if (it->second.end <= addr) return &it->second;
  }
  return nullptr;
}
Vma* ReferenceVmaTree::before(Addr addr) noexcept {
  return const_cast<Vma*>(std::as_const(*this).before(addr));
}

const Vma* ReferenceVmaTree::first() const noexcept {
  return map_.empty() ? nullptr : &map_.begin()->second;
}
const Vma* ReferenceVmaTree::last() const noexcept {
  return map_.empty() ? nullptr : &std::prev(map_.end())->second;
}
Vma* ReferenceVmaTree::first() noexcept { return const_cast<Vma*>(std::as_const(*this).first()); }
Vma* ReferenceVmaTree::last() noexcept { return const_cast<Vma*>(std::as_const(*this).last()); }

Vma& ReferenceVmaTree::insert(const Vma& vma) {
  assert(vma.start < vma.end);
  assert(find(vma.start) == nullptr);
  auto [it, inserted] = map_.emplace(vma.start, vma);
  assert(inserted);
  (void)inserted;
  return it->second;
}

void ReferenceVmaTree::erase(Addr start) noexcept {
  const auto n = map_.erase(start);
  assert(n == 1);
  (void)n;
}

Vma& ReferenceVmaTree::set_bounds(Addr start, Addr new_start, Addr new_end) {
  assert(new_start < new_end);
  auto node = map_.extract(start);
  assert(!node.empty());
  node.key() = new_start;
  node.mapped().start = new_start;
  node.mapped().end = new_end;
  auto result = map_.insert(std::move(node));
  assert(result.inserted);
  return result.position->second;
}

Vma& ReferenceVmaTree::split(Vma& v, Addr at) {
  assert(v.start < at && at < v.end);
  Vma upper = v;
  upper.start = at;
  upper.set_pgoff(v.pgoff_at(at));
  v.end = at;
  return insert(upper);
}

std::optional<Range> ReferenceVmaTree::gap(Addr low, Addr high, Addr size) const noexcept {
  if (low >= high) return std::nullopt;
  size = std::max<Addr>(size, 1);
  Addr prev_end = 0;
  for (const auto& [start, vma] : map_) {
    if (auto r = clip(prev_end, vma.start, false, low, high, size)) return r;
    prev_end = vma.end;
  }
  return clip(prev_end, 0, true, low, high, size);
}

std::optional<Range> ReferenceVmaTree::gap_rev(Addr low, Addr high, Addr size) const noexcept {
  if (low >= high) return std::nullopt;
  size = std::max<Addr>(size, 1);
  std::optional<Range> best;
  Addr prev_end = 0;
  for (const auto& [start, vma] : map_) {
    if (auto r = clip(prev_end, vma.start, false, low, high, size)) best = r;
    prev_end = vma.end;
  }
  if (auto r = clip(prev_end, 0, true, low, high, size)) best = r;
  return best;
}

const Vma* ReferenceVmaTree::next_of(const Vma& v) const noexcept {
  auto it = map_.upper_bound(v.start);
  return it == map_.end() ? nullptr : &it->second;
}
const Vma* ReferenceVmaTree::prev_of(const Vma& v) const noexcept {
  auto it = map_.lower_bound(v.start);
  if (it == map_.begin()) return nullptr;
  return &std::prev(it)->second;
}
Vma* ReferenceVmaTree::next_of(const Vma& v) noexcept {
  return const_cast<Vma*>(std::as_const(*this).next_of(v));
}
Vma* ReferenceVmaTree::prev_of(const Vma& v) noexcept {
  return const_cast<Vma*>(std::as_const(*this).prev_of(v));
}

std::size_t ReferenceVmaTree::memory_bytes() const noexcept {
  // libstdc++'s _Rb_tree_node: colour + three pointers (32 bytes) + the value.
  constexpr std::size_t kNode = 32 + sizeof(std::pair<const Addr, Vma>);
  return sizeof(*this) + map_.size() * kNode;
}

bool ReferenceVmaTree::check_invariants() const {
  Addr prev_end = 0;
  bool first_vma = true;
  for (const auto& [start, vma] : map_) {
    if (start != vma.start || vma.start >= vma.end) return false;
    if (!first_vma && vma.start < prev_end) return false;
    prev_end = vma.end;
    first_vma = false;
  }
  return true;
}

}  // namespace vmseal
