// mseal(2) (mm/mseal.c), and the other designs of the same call: the
// typed-seal RFC v3 and OpenBSD's mimmutable(2), as policies of one engine
// (seal_policy.hpp). Sealing is a VMA flag (VM_SEALED) joined through
// modify_range(), like mprotect's change of protection (mprotect.cpp).
#include <algorithm>
#include <optional>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {

namespace {
// do_mseal()'s range checks, shared by Linux's and the RFC's: EINVAL for an
// unaligned start or a length that rounds to 0 or wraps; an empty range
// succeeds at once. Otherwise nullopt, with `end` set.
std::optional<SysResult> check_seal_range(Addr start, std::uint64_t len_in, Addr& end) {
  if (!page_aligned(start)) return SysResult(Errno::INVAL);
  const std::uint64_t len = page_align_up(len_in);
  if (len_in != 0 && len == 0) return SysResult(Errno::INVAL);
  end = start + len;
  if (end < start) return SysResult(Errno::INVAL);
  if (end == start) return SysResult::ok(0);
  return std::nullopt;
}
}  // namespace

SysResult AddressSpace::mseal(Addr start, std::uint64_t len, std::uint64_t flags) {
  if (cfg_.seal.typed) return mseal_typed(start, len, cfg_.seal.untyped_types, flags);
  if (cfg_.seal.seal_like_mimmutable) return mimmutable(start, len, flags);
  return mseal_linux(start, len, flags);
}

// do_mseal(): validation, then range_contains_unmapped(), then mseal_apply().
SysResult AddressSpace::mseal_linux(Addr start, std::uint64_t len_in, std::uint64_t flags,
                                    VmFlags add) {
  if (flags != 0) return Errno::INVAL;
  Addr end = 0;
  if (auto done = check_seal_range(start, len_in, end)) return *done;

  // range_contains_unmapped(): any hole means ENOMEM and no change at all.
  Vma* const first = tree_.lower(start);
  Addr covered = start;
  for (const Vma* v = first; v != nullptr && v->start < end; v = tree_.next_of(*v)) {
    if (v->start > covered) return Errno::NOMEM;
    covered = v->end;
  }
  if (covered < end) return Errno::NOMEM;

  return seal_apply(first, start, end, add);  // nothing has changed since `first` was found
}

// mseal_apply(): `add` joins the flags of each VMA in [start, end) that lacks
// one of its bits (holes are passed over); VMAs that have them all are
// skipped. A split failing at max_map_count leaves earlier VMAs sealed.
SysResult AddressSpace::seal_apply(Vma* first, Addr start, Addr end, VmFlags add) {
  Vma* vma = first;
  if (vma == nullptr || vma->start >= end) return SysResult::ok(0);
  Vma* prev = start > vma->start ? vma : tree_.prev_of(*vma);
  while (vma != nullptr && vma->start < end) {
    if ((add & ~vma->flags) != 0) {
      const Addr curr_start = std::max(vma->start, start);
      const Addr curr_end = std::min(vma->end, end);
      const Expected<Vma*> sealed = modify_range(prev, vma, curr_start, curr_end, vma->flags | add);
      if (!sealed) return sealed.error();
      vma = *sealed;
    }
    prev = vma;
    vma = tree_.next_of(*vma);
  }
  return SysResult::ok(0);
}

// The typed-seal RFC v3's do_mseal(): PROT_PKEY implies BASE; check_mm_seal()
// (a hole: ENOMEM; a new type on a VMA sealed with MM_SEAL_SEAL: EACCES)
// walks the whole range before apply_mm_seal() adds the types VMA by VMA.
// Sealed VMAs merge like any others (the series' patch 7), so the flags go
// through modify_range().
SysResult AddressSpace::mseal_typed(Addr start, std::uint64_t len_in, std::uint64_t types,
                                    std::uint64_t flags) {
  if (!cfg_.seal.typed) return mseal(start, len_in, types);  // the kernel reads 3 arguments
  if ((types & seal_type::PROT_PKEY) != 0) types |= seal_type::BASE;
  if ((types & ~seal_type::ALL) != 0 || flags != 0) return Errno::INVAL;
  Addr end = 0;
  if (auto done = check_seal_range(start, len_in, end)) return *done;

  const VmFlags add = seal_flags_of_types(types);
  Vma* const first = tree_.lower(start);
  Addr covered = start;
  for (const Vma* v = first; v != nullptr && v->start < end; v = tree_.next_of(*v)) {
    if (v->start > covered) return Errno::NOMEM;
    if ((v->flags & vm::SEAL_SEAL) != 0 && (add & ~v->flags) != 0) return Errno::ACCES;
    covered = v->end;
  }
  if (covered < end) return Errno::NOMEM;

  return seal_apply(first, start, end, add);
}

// OpenBSD's mimmutable(2) on this engine (man page, rev 1.5 2024): the range
// is rounded outwards to pages (ALIGN_ADDR) rather than refused when
// unaligned; "unmapped pages in the region do not retain immutability", so
// holes are skipped; a MAP_INHERIT_ZERO region (VM_WIPEONFORK) in the range
// fails the call with EPERM before anything changes. The `flags` argument of
// the mseal() call that stands for it must still be 0.
SysResult AddressSpace::mimmutable(Addr start, std::uint64_t len, std::uint64_t flags) {
  if (flags != 0) return Errno::INVAL;
  const Addr pageoff = start & (kPageSize - 1);
  start -= pageoff;
  if (len > ~std::uint64_t{0} - pageoff) return Errno::INVAL;
  const std::uint64_t size = page_align_up(len + pageoff);
  if (size == 0 && len + pageoff != 0) return Errno::INVAL;
  if (start > ~std::uint64_t{0} - size) return Errno::INVAL;  // wrap-around
  const Addr end = std::min(start + size, cfg_.task_size);
  if (start >= end) return SysResult::ok(0);

  Vma* const first = tree_.lower(start);
  for (const Vma* v = first; v != nullptr && v->start < end; v = tree_.next_of(*v))
    if ((v->flags & vm::WIPEONFORK) != 0) return Errno::PERM;

  return seal_apply(first, start, end, vm::SEALED);  // nothing changed since `first` was found
}

}  // namespace vmseal
