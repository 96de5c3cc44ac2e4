// GuardPages: the pages of an address space that hold a guard marker
// (MADV_GUARD_INSTALL). A guard marker lives in the page table, not in the
// VMA: it survives mprotect, mseal, MADV_DONTNEED/FREE/REMOVE and mlock, moves
// with mremap, is copied by fork, and goes away only with MADV_GUARD_REMOVE or
// when its page is unmapped. Any access to a guard page faults (SIGSEGV), and
// so does populating it (GUP: mlock fails ENOMEM, MADV_POPULATE_* EFAULT).
//
// Stored as disjoint, non-adjacent page-aligned intervals, so a whole guard
// region costs one entry however large it is, and an address space without
// guards pays one empty() test per unmap.
#pragma once

#include <cstddef>
#include <map>
#include <optional>

#include "vmseal/engine/types.hpp"

namespace vmseal {

class GuardPages {
 public:
  bool empty() const noexcept { return runs_.empty(); }
  // Number of disjoint runs of guard pages.
  std::size_t run_count() const noexcept { return runs_.size(); }
  std::uint64_t page_count() const noexcept;

  // Marks [start, end) (page-aligned, start < end) as guard pages.
  void install(Addr start, Addr end);
  // Clears the markers in [start, end).
  void remove(Addr start, Addr end);
  // Is the page containing `addr` a guard page?
  bool contains(Addr addr) const noexcept;
  // The lowest guard page in [start, end), if any.
  std::optional<Addr> first_in(Addr start, Addr end) const noexcept;
  // Moves the markers in [start, end) to the same offsets from `to`
  // (mremap's move_page_tables()). The source range is left without markers.
  void move(Addr start, Addr end, Addr to);
  void clear() noexcept { runs_.clear(); }

  // Calls fn(start, end) for every run, in address order.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [s, e] : runs_) fn(s, e);
  }
  friend bool operator==(const GuardPages&, const GuardPages&) = default;

 private:
  std::map<Addr, Addr> runs_;  // start -> end
};

}  // namespace vmseal
