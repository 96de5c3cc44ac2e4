// A VMA: a plain value. It knows its range and attributes, nothing about its
// neighbours and nothing about Linux's rules (those live in AddressSpace).
#pragma once

#include <cstdint>

#include "vmseal/engine/types.hpp"
#include "vmseal/engine/vm_flags.hpp"

namespace vmseal {

// Identity of an open file description (the kernel's struct file pointer): two
// open()s of one path are different FileIds, a dup()ed fd is the same one.
// 0 means "no file". Attributes of a file live in the AddressSpace's FileTable.
using FileId = std::uint32_t;
// Identity of an anon_vma; 0 means none (the VMA was never write-faulted).
using AnonVmaId = std::uint32_t;

// Kernel-installed special mappings (vm_ops with a name; VM_DONTEXPAND etc.).
enum class SpecialKind : std::uint8_t { None, Vdso, Vvar, VvarVclock };

struct Vma {
  Addr start = 0;
  Addr end = 0;
  VmFlags flags = 0;
  std::uint64_t pgoff = 0;  // in pages; for anonymous memory addr>>PAGE_SHIFT at creation
  FileId file = 0;
  AnonVmaId anon_vma = 0;
  // True when the anon_vma_chain is not singular: a VMA of a forked child that
  // shares its parent's anon_vma. Such a VMA may not take part in some merges.
  bool anon_chain_shared = false;
  SpecialKind special = SpecialKind::None;

  constexpr Addr size() const noexcept { return end - start; }
  constexpr std::uint64_t page_count() const noexcept { return (end - start) >> kPageShift; }
  constexpr bool contains(Addr a) const noexcept { return a >= start && a < end; }
  constexpr bool overlaps(Addr s, Addr e) const noexcept { return start < e && s < end; }
  constexpr bool sealed() const noexcept { return (flags & vm::SEALED) != 0; }
  constexpr bool has(VmFlags f) const noexcept { return (flags & f) == f; }
  constexpr unsigned pkey() const noexcept {
    return static_cast<unsigned>((flags & vm::PKEY_MASK) >> vm::kPkeyShift);
  }
  // The pgoff that a page at `addr` inside this VMA has.
  constexpr std::uint64_t pgoff_at(Addr addr) const noexcept {
    return pgoff + ((addr - start) >> kPageShift);
  }

  friend constexpr bool operator==(const Vma&, const Vma&) = default;
};

}  // namespace vmseal
