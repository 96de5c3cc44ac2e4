// mprotect(2) and pkey_mprotect(2) (mm/mprotect.c): walk the range and change
// VMA flags through modify_range(), like mseal(2) (mseal.cpp). The seal check
// of a protection change is in mprotect_fixup(): sealing blocks the effect
// (changing protection), whichever system call asks for it.
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
// NOLINTNEXTLINE(readability-function-size): mirrors do_mprotect_pkey(), mm/mprotect.c
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
    // MDWE, VMA by VMA and before the seal (probes m4, m5).
    if (map_deny_write_exec(vma->flags, newflags)) {
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
        // Memory turning into data must fit RLIMIT_DATA (probes a4.6-a4.10).
        if (!may_expand_vm(newflags, nrpages) && may_expand_vm(oldflags, nrpages)) {
          error = Errno::NOMEM;
          break;
        }
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
      const Expected<Vma*> modified = modify_range(prev, vma, nstart, tmp, newflags);
      if (!modified) {
        error = modified.error();
        break;
      }
      result = *modified;
      vm_stat_account(oldflags, -static_cast<std::int64_t>(nrpages));
      vm_stat_account(newflags, static_cast<std::int64_t>(nrpages));
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

}  // namespace vmseal
