// VmaTree: the container. It knows ordering and gaps, nothing else: no Linux
// rules, no merging, no seal checks (those live in AddressSpace).
//
// VMAs are stored by value. Pointers and references returned by the tree stay
// valid until the next call that changes the tree's structure (insert, erase,
// set_bounds, clear, assignment); changing the non-key fields of a VMA through
// such a pointer (flags, pgoff, file, anon_vma, ...) is allowed and cheap.
//
// Two implementations share this interface: VmaTree, a B+tree whose inner nodes
// track the largest free gap beneath them, and ReferenceVmaTree (std::map based,
// obviously correct, slow gap search). Tests cross-check the two.
#pragma once

// First, before any standard header: types.hpp's Errno enumerators (EPERM, ...)
// are also <cerrno> macro names, so it only compiles ahead of <cerrno>.
#include "vmseal/engine/vma.hpp"

#include <cstddef>
#include <memory>
#include <optional>

namespace vmseal {

// A half-open range of addresses [start, end).
struct Range {
  Addr start = 0;
  Addr end = 0;
  friend constexpr bool operator==(const Range&, const Range&) = default;
};

class VmaTree {
 public:
  VmaTree();
  ~VmaTree();
  VmaTree(const VmaTree&);
  VmaTree& operator=(const VmaTree&);
  VmaTree(VmaTree&&) noexcept;
  VmaTree& operator=(VmaTree&&) noexcept;

  std::size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  void clear() noexcept;

  // The VMA containing addr, or nullptr.
  Vma* find(Addr addr) noexcept;
  const Vma* find(Addr addr) const noexcept;
  // The first VMA with end > addr (the kernel's find_vma()), or nullptr.
  Vma* lower(Addr addr) noexcept;
  const Vma* lower(Addr addr) const noexcept;
  // The last VMA with end <= addr, or nullptr.
  Vma* before(Addr addr) noexcept;
  const Vma* before(Addr addr) const noexcept;
  Vma* first() noexcept;
  Vma* last() noexcept;
  const Vma* first() const noexcept;
  const Vma* last() const noexcept;

  // Inserts a VMA. Precondition: start < end, and it overlaps no stored VMA.
  Vma& insert(const Vma& vma);
  // Removes the VMA that starts at `start`. Precondition: one does.
  void erase(Addr start) noexcept;
  // Moves the bounds of the VMA starting at `start` to [new_start, new_end).
  // Precondition: one starts there, new_start < new_end, and the new range
  // overlaps no other VMA. Returns the VMA.
  Vma& set_bounds(Addr start, Addr new_start, Addr new_end);
  // Splits the stored VMA `v` at `at` (v.start < at < v.end): v keeps
  // [v.start, at), and a copy of it, its pgoff advanced to `at`, takes
  // [at, v.end). Returns the new upper part. Gaps do not change, so with room
  // in v's leaf this is one move of the slots above v. Invalidates pointers
  // as insert() does (the lower part is prev_of() the result).
  Vma& split(Vma& v, Addr at);

  // Free-range search (the basis of get_unmapped_area). A gap is a maximal
  // range not covered by any VMA; it is clipped to [low, high). Returns the
  // clipped gap of size >= `size` that is highest (gap_rev) or lowest (gap) in
  // the window, or nullopt. O(log n).
  // The gaps are [0, first.start), [a.end, b.start) between neighbours and
  // [last.end, 2^64). `high` is exclusive and at most 2^64-1, so the byte at
  // 2^64-1 is never returned. A clipped gap must be non-empty (size 0 acts as
  // size 1); low >= high gives nullopt. The whole clipped gap is returned.
  std::optional<Range> gap_rev(Addr low, Addr high, Addr size) const noexcept;
  std::optional<Range> gap(Addr low, Addr high, Addr size) const noexcept;

  // Visits every VMA in address order. `f` must not change the tree's structure.
  template <class F>
  void for_each(F&& f) const {
    for (const Vma* v = first(); v != nullptr; v = next_of(*v)) f(*v);
  }
  // The VMA after / before `v` (by address), or nullptr.
  const Vma* next_of(const Vma& v) const noexcept;
  const Vma* prev_of(const Vma& v) const noexcept;
  Vma* next_of(const Vma& v) noexcept;
  Vma* prev_of(const Vma& v) noexcept;

  // Bytes the tree holds, everything included: its header and every chunk of
  // its node arena (live nodes, freed nodes kept for reuse, and the unused
  // tail of the newest chunk). For the bytes-per-VMA benchmark.
  std::size_t memory_bytes() const noexcept;
  // Bytes of the header and the nodes in use only (what memory_bytes() would
  // be with no free nodes and no unused chunk tail).
  std::size_t live_bytes() const noexcept;
  // Checks ordering, non-overlap and the gap augmentation. For tests.
  bool check_invariants() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vmseal
