// mprotect(2), pkey_mprotect(2) (mm/mprotect.c) and mseal(2) (mm/mseal.c):
// both walk the range and change VMA flags through modify_range(). The seal
// check of a protection change is in mprotect_fixup(): sealing blocks the
// effect (changing protection), whichever system call asks for it.
#include <algorithm>
#include <optional>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {

SysResult AddressSpace::mprotect(Addr addr, std::uint64_t len, std::uint64_t prot) {
  return do_mprotect_pkey(addr, len, prot, -1);
}

SysResult AddressSpace::pkey_mprotect(Addr addr, std::uint64_t len, std::uint64_t prot, int pkey) {
  return do_mprotect_pkey(addr, len, prot, pkey);
}

// do_mprotect_pkey(): argument checks, then a walk that changes each VMA in
// turn. An error stops the walk; VMAs already changed stay changed.
SysResult AddressSpace::do_mprotect_pkey(Addr start, std::uint64_t len, std::uint64_t prot,
                                         int pkey) {
  const std::uint64_t grows = prot & (abi::PROT_GROWSDOWN | abi::PROT_GROWSUP);
  prot &= ~(abi::PROT_GROWSDOWN | abi::PROT_GROWSUP);
  if (grows == (abi::PROT_GROWSDOWN | abi::PROT_GROWSUP)) return Errno::INVAL;
  if (!page_aligned(start)) return Errno::INVAL;
  if (len == 0) return SysResult::ok(0);
  len = page_align_up(len);
  Addr end = start + len;
  if (end <= start) return Errno::NOMEM;
  if ((prot & ~(abi::PROT_READ | abi::PROT_WRITE | abi::PROT_EXEC | abi::PROT_SEM)) != 0)
    return Errno::INVAL;
  // mm_pkey_is_allocated(): without PKU no key is allocated, not even 0.
  if (pkey != -1 && (!cfg_.pku || pkey != 0)) return Errno::INVAL;

  Vma* vma = tree_.lower(start);
  if (vma == nullptr || vma->start >= end) return Errno::NOMEM;
  if ((grows & abi::PROT_GROWSDOWN) != 0) {
    start = vma->start;
    if ((vma->flags & vm::GROWSDOWN) == 0) return Errno::INVAL;
  } else {
    if (vma->start > start) return Errno::NOMEM;
    if ((grows & abi::PROT_GROWSUP) != 0) return Errno::INVAL;  // no VM_GROWSUP on x86
  }
  // Up-front policies: can_modify_mm() here, after the lookup of start and
  // the GROWSDOWN adjustment, before anything changes (6.10: "checking if
  // memory is sealed" just before vma_prev()). A refusal beats the ENOMEM of
  // a later hole.
  if (Errno e = check_seal_up_front(start, end, cfg_.seal.prot_seal); e != Errno::OK) return e;
  Vma* prev = start > vma->start ? vma : tree_.prev_of(*vma);

  VmFlags prot_bits = 0;
  if ((prot & abi::PROT_READ) != 0) prot_bits |= vm::READ;
  if ((prot & abi::PROT_WRITE) != 0) prot_bits |= vm::WRITE;
  if ((prot & abi::PROT_EXEC) != 0) prot_bits |= vm::EXEC;

  Addr nstart = start;
  Addr tmp = vma->start;
  Errno error = Errno::OK;
  while (vma != nullptr && vma->start < end) {
    if (vma->start != tmp) {
      error = Errno::NOMEM;
      break;
    }
    const VmFlags pkey_bits = cfg_.pku ? (vma->flags & vm::PKEY_MASK) : 0;
    VmFlags newflags = prot_bits | pkey_bits | (vma->flags & ~(vm::ACCESS_FLAGS | vm::PKEY_MASK));
    // A protection the file was not opened for: VM_MAY* bits sit 4 above VM_*.
    if ((newflags & ~(newflags >> 4) & vm::ACCESS_FLAGS) != 0) {
      error = Errno::ACCES;
      break;
    }
    tmp = std::min(vma->end, end);

    // mprotect_fixup()
    if ((vma->flags & cfg_.seal.prot_seal) != 0) {
      error = cfg_.seal.refused;
      break;
    }
    Vma* result = vma;
    if (newflags != vma->flags) {
      const VmFlags oldflags = vma->flags;
      const std::uint64_t nrpages = pages(tmp - nstart);
      if ((newflags & vm::WRITE) != 0) {
        if ((oldflags & (vm::ACCOUNT | vm::WRITE | vm::HUGETLB | vm::SHARED | vm::NORESERVE)) ==
            0) {
          if (!vm_enough_memory(nrpages)) {
            error = Errno::NOMEM;
            break;
          }
          newflags |= vm::ACCOUNT;
        }
      } else if ((oldflags & vm::ACCOUNT) != 0 && is_anonymous(*vma) && vma->anon_vma == 0) {
        newflags &= ~vm::ACCOUNT;
      }
      result = modify_range(prev, vma, nstart, tmp, newflags, error);
      if (result == nullptr) break;
      // A private VM_LOCKED VMA becoming writable is populated (COW broken now).
      if ((oldflags & (vm::WRITE | vm::SHARED | vm::LOCKED)) == vm::LOCKED &&
          (newflags & vm::WRITE) != 0) {
        const Addr rs = result->start;
        (void)populate_vma(*result, nstart, tmp);
        result = tree_.find(rs);
      }
    }
    prev = result;
    tmp = result->end;
    nstart = tmp;
    vma = tree_.lower(tmp);
  }
  if (error == Errno::OK && tmp < end) error = Errno::NOMEM;
  if (error != Errno::OK) return error;
  return SysResult::ok(0);
}

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
SysResult AddressSpace::mseal_linux(Addr start, std::uint64_t len_in, std::uint64_t flags) {
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

  return seal_apply(first, start, end, vm::SEALED);  // nothing has changed since `first` was found
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
      Errno err = Errno::OK;
      vma = modify_range(prev, vma, curr_start, curr_end, vma->flags | add, err);
      if (vma == nullptr) return err;
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
