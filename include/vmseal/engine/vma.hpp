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

// 40 bytes: the tree stores VMAs by value, and bytes per VMA decide how many
// fit in the caches (the engine's budget is 64 bytes per VMA, tree included).
struct Vma {
  Addr start = 0;
  Addr end = 0;
  VmFlags flags = 0;
  // In pages; for anonymous memory addr>>PAGE_SHIFT at creation. A file offset
  // is below 2^64, so its page is below 2^52, and a VMA split off further into
  // a mapping adds at most 2^45 pages: 56 bits hold every pgoff the kernel can
  // give a VMA (kPgoffBits; the static_assert below checks the arithmetic).
  std::uint64_t pgoff : 56 = 0;
  // True when the anon_vma_chain is not singular: a VMA of a forked child that
  // shares its parent's anon_vma. Such a VMA may not take part in some merges.
  bool anon_chain_shared : 1 = false;
  SpecialKind special : 3 = SpecialKind::None;
  FileId file = 0;
  AnonVmaId anon_vma = 0;

  constexpr Addr size() const noexcept { return end - start; }
  constexpr std::uint64_t page_count() const noexcept { return (end - start) >> kPageShift; }
  constexpr bool contains(Addr a) const noexcept { return a >= start && a < end; }
  constexpr bool overlaps(Addr s, Addr e) const noexcept { return start < e && s < end; }
  constexpr bool sealed() const noexcept { return (flags & vm::SEALED) != 0; }
  constexpr bool has(VmFlags f) const noexcept { return (flags & f) == f; }
  constexpr unsigned pkey() const noexcept {
    return static_cast<unsigned>((flags & vm::PKEY_MASK) >> vm::kPkeyShift);
  }
  // Sets pgoff (which must fit in kPgoffBits; every pgoff the kernel can give
  // a VMA does).
  constexpr void set_pgoff(std::uint64_t p) noexcept { pgoff = p & ((std::uint64_t{1} << 56) - 1); }
  // The pgoff that a page at `addr` inside this VMA has.
  constexpr std::uint64_t pgoff_at(Addr addr) const noexcept {
    return pgoff + ((addr - start) >> kPageShift);
  }

  friend constexpr bool operator==(const Vma&, const Vma&) = default;
};

inline constexpr unsigned kPgoffBits = 56;
static_assert((std::uint64_t{1} << (64 - kPageShift)) + (std::uint64_t{1} << (57 - kPageShift)) <
                  (std::uint64_t{1} << kPgoffBits),
              "a pgoff (file page + pages into a 57-bit address space) must fit in Vma::pgoff");
static_assert(sizeof(Vma) == 40, "Vma is 40 bytes");

}  // namespace vmseal
