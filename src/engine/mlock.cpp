// mlock(2), mlock2(2), munlock(2), mlockall(2), munlockall(2) (mm/mlock.c).
// Locking changes VMA flags through modify_range(); seals do not stop it.
#include <algorithm>
#include <functional>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {

// mlock_fixup(): set the lock flags of [start, end) inside `vma`. Special,
// hugetlb, secretmem and droppable VMAs are silently left alone: a secretmem
// VMA stays locked through munlock and munlockall, and a fork child's copy
// (unlocked by dup_mmap()) cannot be locked again (probes s2, s3).
Errno AddressSpace::mlock_fixup(Vma*& prev, Vma* vma, Addr start, Addr end, VmFlags new_flags) {
  const VmFlags old = vma->flags;
  if (new_flags == old || (old & vm::SPECIAL) != 0 || (old & vm::HUGETLB) != 0 ||
      (old & vm::DROPPABLE) != 0 || is_secretmem(*vma)) {
    prev = vma;
    return Errno::OK;
  }
  const Expected<Vma*> r = modify_range(prev, vma, start, end, new_flags);
  if (!r) return r.error();
  const std::uint64_t n = pages(end - start);
  if ((new_flags & vm::LOCKED) == 0)
    counters_.locked_vm -= std::min(counters_.locked_vm, n);
  else if ((old & vm::LOCKED) == 0)
    counters_.locked_vm += n;
  prev = *r;
  return Errno::OK;
}

// apply_vma_lock_flags(): walk [start, start+len); a hole is ENOMEM, found as
// the walk reaches it (VMAs before it keep their new flags).
Errno AddressSpace::apply_vma_lock_flags(Addr start, std::uint64_t len, VmFlags flags) {
  const Addr end = start + len;
  if (end < start) return Errno::INVAL;
  if (end == start) return Errno::OK;
  Vma* vma = tree_.find(start);
  if (vma == nullptr) return Errno::NOMEM;
  Vma* prev = start > vma->start ? vma : tree_.prev_of(*vma);
  Addr nstart = start;
  Addr tmp = vma->start;
  while (vma != nullptr && vma->start < end) {
    if (vma->start != tmp) return Errno::NOMEM;
    const VmFlags new_flags = (vma->flags & ~vm::LOCKED_MASK) | flags;
    tmp = std::min(vma->end, end);
    if (Errno e = mlock_fixup(prev, vma, nstart, tmp, new_flags); e != Errno::OK) return e;
    tmp = prev->end;
    nstart = tmp;
    vma = tree_.lower(tmp);
  }
  return tmp < end ? Errno::NOMEM : Errno::OK;
}

// do_mlock(): the start is rounded down and the length up (so an unaligned
// address is fine), RLIMIT_MEMLOCK is checked, then the range is locked and
// populated.
SysResult AddressSpace::do_mlock(Addr start, std::uint64_t len, VmFlags flags) {
  if (cfg_.rlimit_memlock == 0 && !cfg_.caps.has(abi::CAP_IPC_LOCK)) return Errno::PERM;
  len = page_align_up(len + (start & (kPageSize - 1)));
  start = page_align_down(start);
  const std::uint64_t limit = cfg_.rlimit_memlock >> kPageShift;
  std::uint64_t locked = pages(len) + counters_.locked_vm;
  if (locked > limit && !cfg_.caps.has(abi::CAP_IPC_LOCK)) {
    // count_mm_mlocked_page_nr(): pages in the range that are already locked.
    std::uint64_t already = 0;
    for (const Vma* v = tree_.lower(start); v != nullptr && v->start < start + len;
         v = tree_.next_of(*v)) {
      if ((v->flags & vm::LOCKED) == 0) continue;
      already += pages(std::min(v->end, start + len) - std::max(v->start, start));
    }
    locked -= std::min(locked, already);
  }
  if (locked > limit && !cfg_.caps.has(abi::CAP_IPC_LOCK)) return Errno::NOMEM;
  if (Errno e = apply_vma_lock_flags(start, len, flags); e != Errno::OK) return e;
  // __mm_populate() errors are returned (as ENOMEM); the VMAs stay locked.
  if (populate(start, start + len, false) != Errno::OK) return Errno::NOMEM;
  return SysResult::ok(0);
}

SysResult AddressSpace::mlock(Addr addr, std::uint64_t len) {
  return do_mlock(addr, len, vm::LOCKED);
}

SysResult AddressSpace::mlock2(Addr addr, std::uint64_t len, std::uint64_t flags) {
  flags &= 0xffffffffU;  // the system call's flags are an int
  if ((flags & ~abi::MLOCK_ONFAULT) != 0) return Errno::INVAL;
  VmFlags vmf = vm::LOCKED;
  if ((flags & abi::MLOCK_ONFAULT) != 0) vmf |= vm::LOCKONFAULT;
  return do_mlock(addr, len, vmf);
}

SysResult AddressSpace::munlock(Addr addr, std::uint64_t len) {
  len = page_align_up(len + (addr & (kPageSize - 1)));
  addr = page_align_down(addr);
  if (Errno e = apply_vma_lock_flags(addr, len, 0); e != Errno::OK) return e;
  return SysResult::ok(0);
}

// apply_mlockall_flags(): MCL_FUTURE goes into def_flags (new mappings are
// born locked); MCL_CURRENT relocks every VMA, ignoring per-VMA errors.
static void apply_mlockall(AddressSpace& as, VmFlags& def_flags, std::uint64_t flags,
                           const std::function<void(VmFlags)>& relock_all) {
  def_flags &= ~vm::LOCKED_MASK;
  if ((flags & abi::MCL_FUTURE) != 0) {
    def_flags |= vm::LOCKED;
    if ((flags & abi::MCL_ONFAULT) != 0) def_flags |= vm::LOCKONFAULT;
    if ((flags & abi::MCL_CURRENT) == 0) return;
  }
  VmFlags to_add = 0;
  if ((flags & abi::MCL_CURRENT) != 0) {
    to_add |= vm::LOCKED;
    if ((flags & abi::MCL_ONFAULT) != 0) to_add |= vm::LOCKONFAULT;
  }
  (void)as;
  relock_all(to_add);
}

SysResult AddressSpace::mlockall(std::uint64_t flags) {
  flags &= 0xffffffffU;  // the system call's flags are an int
  if (flags == 0 || (flags & ~(abi::MCL_CURRENT | abi::MCL_FUTURE | abi::MCL_ONFAULT)) != 0 ||
      flags == abi::MCL_ONFAULT)
    return Errno::INVAL;
  if (cfg_.rlimit_memlock == 0 && !cfg_.caps.has(abi::CAP_IPC_LOCK)) return Errno::PERM;
  if ((flags & abi::MCL_CURRENT) != 0 && !cfg_.caps.has(abi::CAP_IPC_LOCK) &&
      counters_.total_vm > (cfg_.rlimit_memlock >> kPageShift))
    return Errno::NOMEM;
  relock_all_with(flags);
  if ((flags & abi::MCL_CURRENT) != 0) populate(0, cfg_.task_size, true);
  return SysResult::ok(0);
}

SysResult AddressSpace::munlockall() {
  relock_all_with(0);
  return SysResult::ok(0);
}

void AddressSpace::relock_all_with(std::uint64_t mcl_flags) {
  apply_mlockall(*this, def_flags_, mcl_flags, [this](VmFlags to_add) {
    Vma* prev = nullptr;
    Vma* vma = tree_.first();
    while (vma != nullptr) {
      const VmFlags new_flags = (vma->flags & ~vm::LOCKED_MASK) | to_add;
      const Addr vstart = vma->start;
      if (mlock_fixup(prev, vma, vma->start, vma->end, new_flags) != Errno::OK)
        prev = tree_.find(vstart);
      vma = tree_.next_of(*prev);
    }
  });
}

}  // namespace vmseal
