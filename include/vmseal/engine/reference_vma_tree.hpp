// ReferenceVmaTree: the oracle for VmaTree. Same public API and the same
// semantics (see vma_tree.hpp), implemented on std::map<Addr, Vma> with gap
// searches done by a linear scan. Slow for gaps (O(n)) but obviously correct;
// tests run both containers side by side and require identical answers.
//
// Gap search semantics, shared with VmaTree:
//   * The free ranges ("gaps") are [0, first.start), [a.end, b.start) for every
//     pair of neighbours a, b, and [last.end, 2^64). Neighbours that touch
//     leave no gap.
//   * `high` is exclusive and at most 2^64-1 (UINT64_MAX); a gap is clipped to
//     [low, high), so the byte at 2^64-1 is never part of an answer.
//   * A clipped gap qualifies when it is non-empty and end - start >= size
//     (size 0 behaves like size 1). gap() returns the lowest qualifying clipped
//     gap, gap_rev() the highest; low >= high gives nullopt.
#pragma once

// First, before any standard header (see types.hpp / vma_tree.hpp).
#include "vmseal/engine/vma.hpp"
#include "vmseal/engine/vma_tree.hpp"

#include <cstddef>
#include <map>
#include <optional>

namespace vmseal {

class ReferenceVmaTree {
 public:
  ReferenceVmaTree() = default;

  std::size_t size() const noexcept { return map_.size(); }
  bool empty() const noexcept { return map_.empty(); }
  void clear() noexcept { map_.clear(); }

  Vma* find(Addr addr) noexcept;
  const Vma* find(Addr addr) const noexcept;
  Vma* lower(Addr addr) noexcept;
  const Vma* lower(Addr addr) const noexcept;
  Vma* before(Addr addr) noexcept;
  const Vma* before(Addr addr) const noexcept;
  Vma* first() noexcept;
  Vma* last() noexcept;
  const Vma* first() const noexcept;
  const Vma* last() const noexcept;

  Vma& insert(const Vma& vma);
  void erase(Addr start) noexcept;
  Vma& set_bounds(Addr start, Addr new_start, Addr new_end);
  Vma& split(Vma& v, Addr at);

  std::optional<Range> gap_rev(Addr low, Addr high, Addr size) const noexcept;
  std::optional<Range> gap(Addr low, Addr high, Addr size) const noexcept;

  template <class F>
  void for_each(F&& f) const {
    for (const auto& [start, vma] : map_) f(vma);
  }
  // The VMA with the smallest start > v.start / the largest start < v.start.
  const Vma* next_of(const Vma& v) const noexcept;
  const Vma* prev_of(const Vma& v) const noexcept;
  Vma* next_of(const Vma& v) noexcept;
  Vma* prev_of(const Vma& v) noexcept;

  // An estimate: map nodes (value + red-black header) plus the map object.
  std::size_t memory_bytes() const noexcept;
  std::size_t live_bytes() const noexcept { return memory_bytes(); }
  bool check_invariants() const;

 private:
  std::map<Addr, Vma> map_;
};

}  // namespace vmseal
