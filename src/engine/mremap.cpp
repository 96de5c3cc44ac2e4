// mremap(2), Linux 6.18 (mm/mremap.c after the 6.17 rewrite): parameter checks
// before any lookup, per-VMA checks in check_prep_vma() (where a sealed source
// is refused), then shrink / expand in place / move. Moves unmap their target
// and their source through gather_unmap(), so a sealed target refuses the move
// there. See docs/kernel-rules.md section 2 for the probes behind each rule.
#include <algorithm>

#include "merge_rules.hpp"
#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {

struct AddressSpace::Remap {
  Addr addr = 0;
  std::uint64_t old_len = 0;
  std::uint64_t new_len = 0;
  std::uint64_t flags = 0;
  Addr new_addr = 0;
  enum class Type { NoResize, Shrink, Expand } type = Type::NoResize;
  std::uint64_t delta = 0;
  bool populate_expand = false;

  bool implies_new_addr() const noexcept {
    return (flags & (abi::MREMAP_FIXED | abi::MREMAP_DONTUNMAP)) != 0;
  }
};

SysResult AddressSpace::mremap(Addr old_addr, std::uint64_t old_len, std::uint64_t new_len,
                               std::uint64_t flags, Addr new_addr) {
  Remap r;
  r.addr = old_addr;
  r.old_len = page_align_up(old_len);
  r.new_len = page_align_up(new_len);
  r.flags = flags;
  r.new_addr = new_addr;

  // check_mremap_params()
  if ((flags & ~(abi::MREMAP_FIXED | abi::MREMAP_MAYMOVE | abi::MREMAP_DONTUNMAP)) != 0)
    return Errno::INVAL;
  if (!page_aligned(r.addr)) return Errno::INVAL;
  if (r.new_len == 0) return Errno::INVAL;
  if (r.new_len > cfg_.task_size) return Errno::INVAL;
  if (r.implies_new_addr()) {
    if (r.new_addr > cfg_.task_size - r.new_len) return Errno::INVAL;
    if (!page_aligned(r.new_addr)) return Errno::INVAL;
    if ((flags & abi::MREMAP_MAYMOVE) == 0) return Errno::INVAL;
    if ((flags & abi::MREMAP_DONTUNMAP) != 0 && r.old_len != r.new_len) return Errno::INVAL;
    const Addr end_old = r.addr + r.old_len;
    const Addr end_new = r.new_addr + r.new_len;
    if (end_old > r.new_addr && end_new > r.addr) return Errno::INVAL;
    if (tree_.size() + 2 >= cfg_.max_map_count - 3) return Errno::NOMEM;
  }

  SysResult res;
  if ((flags & abi::MREMAP_FIXED) != 0 && r.old_len == r.new_len) {
    res = remap_move(r);
  } else {
    res = check_prep_vma(r);
    if (res.is_error()) return res;
    res = r.implies_new_addr() ? mremap_to(r) : mremap_at(r);
  }
  if (res.is_ok() && r.populate_expand)
    populate(res.value() + r.old_len, res.value() + r.old_len + r.delta, true);
  return res;
}

// check_prep_vma(): the VMA containing addr, its seal, then (only for an
// expansion or a move) the limits of what may be remapped.
SysResult AddressSpace::check_prep_vma(Remap& r) {
  const Vma* v = tree_.find(r.addr);
  if (v == nullptr) return Errno::FAULT;
  // The source's seal. Up-front policies check the whole of [addr,
  // addr+old_len), holes and later VMAs included, as 6.10's can_modify_mm()
  // did; an old_len of 0 (a duplicate of a shared mapping) checks nothing.
  if (cfg_.seal.timing == SealTiming::UpFront) {
    if (Errno e = check_seal_up_front(r.addr, r.addr + r.old_len, cfg_.seal.base_seal);
        e != Errno::OK)
      return e;
  } else if ((v->flags & cfg_.seal.base_seal) != 0) {
    return cfg_.seal.refused;
  }
  // align_hugetlb(): both lengths rounded up to the huge page; an address or
  // new_addr (the raw argument, FIXED or not) off a huge page boundary, and
  // any expansion, are EINVAL (probe h1).
  if (const std::uint64_t huge = huge_page_size(*v); huge != 0) {
    r.old_len = (r.old_len + huge - 1) & ~(huge - 1);
    r.new_len = (r.new_len + huge - 1) & ~(huge - 1);
    if (((r.addr | r.new_addr) & (huge - 1)) != 0 || r.new_len > r.old_len) return Errno::INVAL;
  }
  r.delta = r.old_len > r.new_len ? r.old_len - r.new_len : r.new_len - r.old_len;
  r.type = r.delta == 0            ? Remap::Type::NoResize
           : r.old_len > r.new_len ? Remap::Type::Shrink
                                   : Remap::Type::Expand;
  if (!r.implies_new_addr()) r.new_addr = r.addr;
  if (r.type != Remap::Type::Expand && !r.implies_new_addr()) return SysResult::ok(0);

  if (r.old_len == 0 && (v->flags & (vm::SHARED | vm::MAYSHARE)) == 0) return Errno::INVAL;
  if ((r.flags & abi::MREMAP_DONTUNMAP) != 0 && (v->flags & (vm::DONTEXPAND | vm::PFNMAP)) != 0)
    return Errno::INVAL;
  // "We permit crossing of boundaries for the range being unmapped due to a
  // shrink": for a shrink (FIXED or DONTUNMAP) only [addr, addr+new_len) must
  // lie in the VMA, and the checks below are skipped (the kernel sets its local
  // old_len to new_len). Probed: FIXED 6->2 pages over [0-4][4-8] moves.
  const std::uint64_t old_len = r.type == Remap::Type::Shrink ? r.new_len : r.old_len;
  if (old_len > v->end - r.addr) return Errno::FAULT;
  if (r.new_len == old_len) return SysResult::ok(0);
  if ((v->flags & vm::LOCKED) != 0) r.populate_expand = true;
  const std::uint64_t pgoff = v->pgoff_at(r.addr);
  if (pgoff + pages(r.new_len) < pgoff) return Errno::INVAL;
  if ((v->flags & (vm::DONTEXPAND | vm::PFNMAP)) != 0) return Errno::FAULT;
  if ((v->flags & vm::LOCKED) != 0 && !cfg_.caps.has(abi::CAP_IPC_LOCK) &&
      counters_.locked_vm + pages(r.delta) > (cfg_.rlimit_memlock >> kPageShift))
    return Errno::AGAIN;
  if (!may_expand_vm(v->flags, pages(r.delta))) return Errno::NOMEM;  // probes a2.2, a2.5
  return SysResult::ok(0);
}

// mremap_at(): no new address: a no-op, a shrink (munmap of the tail), or an
// expansion in place, else a move when MREMAP_MAYMOVE allows it.
SysResult AddressSpace::mremap_at(Remap& r) {
  switch (r.type) {
    case Remap::Type::NoResize:
      return SysResult::ok(r.addr);
    case Remap::Type::Shrink:
      if (Errno e = shrink_vma(r); e != Errno::OK) return e;
      return SysResult::ok(r.addr);
    case Remap::Type::Expand:
      break;
  }
  Vma* v = tree_.find(r.addr);
  // vrm_can_expand_in_place(): the range ends at the VMA's end and the space
  // after it is free (vma_expandable()).
  const Addr grown_end = v->end + r.delta;
  bool in_place = v->end - r.addr == r.old_len && grown_end > v->end;
  if (in_place) {
    const Vma* next = tree_.lower(v->end);
    if (next != nullptr && next->start < grown_end) in_place = false;
    const std::uint64_t span = grown_end - v->start;
    if (span > cfg_.task_size || v->start > cfg_.task_size - span ||
        (v->start < cfg_.dac_mmap_min_addr && !cfg_.caps.has(abi::CAP_SYS_RAWIO)))
      in_place = false;
  }
  if (in_place) {
    if ((v->flags & vm::ACCOUNT) != 0 && !vm_enough_memory(pages(r.delta))) return Errno::NOMEM;
    // vma_merge_extend(): extend v, possibly swallowing a compatible next VMA.
    Vma* next = tree_.lower(v->end);
    Vma* merged = merge_new_range(v, next, v->end, grown_end, v->flags, v->pgoff_at(v->end),
                                  v->file, v->anon_vma, false, false);
    if (merged == nullptr) return Errno::NOMEM;
    vm_stat_account(merged->flags, static_cast<std::int64_t>(pages(r.delta)));
    if ((merged->flags & vm::LOCKED) != 0) counters_.locked_vm += pages(r.delta);
    return SysResult::ok(r.addr);
  }
  if ((r.flags & abi::MREMAP_MAYMOVE) == 0) return Errno::NOMEM;
  if (Errno e = set_new_addr(r); e != Errno::OK) return e;
  return move_vma(r);
}

// shrink_vma(): do_vmi_munmap() of [addr+new_len, addr+old_len), which may
// cross VMAs; munmap's own argument checks apply (a tail past TASK_SIZE is EINVAL).
Errno AddressSpace::shrink_vma(Remap& r) { return munmap(r.addr + r.new_len, r.delta).error(); }

// mremap_to(): FIXED or DONTUNMAP. With FIXED the target is unmapped first.
SysResult AddressSpace::mremap_to(Remap& r) {
  if ((r.flags & abi::MREMAP_FIXED) != 0) {
    if (Errno e = gather_unmap(r.new_addr, r.new_addr + r.new_len); e != Errno::OK) return e;
    if (tree_.find(r.addr) == nullptr) return Errno::FAULT;
  }
  if (r.type == Remap::Type::Shrink) {
    if (Errno e = shrink_vma(r); e != Errno::OK) return e;
    r.old_len = r.new_len;
  }
  // DONTUNMAP keeps the source: the copy is all new pages (probe a2.4),
  // checked after the target's unmap.
  if ((r.flags & abi::MREMAP_DONTUNMAP) != 0 &&
      !may_expand_vm(tree_.find(r.addr)->flags, pages(r.old_len)))
    return Errno::NOMEM;
  if (Errno e = set_new_addr(r); e != Errno::OK) return e;
  return move_vma(r);
}

// vrm_set_new_addr(): get_unmapped_area() for the destination, with the
// source's file and pgoff (a DONTUNMAP address without FIXED is only a hint).
Errno AddressSpace::set_new_addr(Remap& r) {
  const Vma* v = tree_.find(r.addr);
  std::uint64_t map_flags = 0;
  if ((r.flags & abi::MREMAP_FIXED) != 0) map_flags |= abi::MAP_FIXED;
  if ((v->flags & vm::MAYSHARE) != 0) map_flags |= abi::MAP_SHARED;
  const Addr hint = r.implies_new_addr() ? r.new_addr : 0;
  const Expected<Addr> a =
      get_unmapped_area(v->file, hint, r.new_len, v->pgoff_at(r.addr), map_flags, 0);
  if (!a) return a.error();
  r.new_addr = *a;
  return Errno::OK;
}

// move_vma(): copy_vma() to the destination (merging there when it can; an
// unfaulted anonymous VMA takes the pgoff of its new address), then unmap the
// source, or with DONTUNMAP leave it in place, emptied.
SysResult AddressSpace::move_vma(Remap& r) {
  if (tree_.size() >= cfg_.max_map_count - 3) return Errno::NOMEM;
  const Vma src = *tree_.find(r.addr);
  if (src.special != SpecialKind::None && (src.start != r.addr || src.end != r.addr + r.old_len))
    return Errno::INVAL;  // special_mapping_split()
  if ((src.flags & vm::ACCOUNT) != 0) {
    const std::uint64_t charge = (r.flags & abi::MREMAP_DONTUNMAP) != 0 ? r.new_len
                                 : r.new_len > r.old_len                ? r.new_len - r.old_len
                                                                        : 0;
    if (charge != 0 && !vm_enough_memory(pages(charge))) return Errno::NOMEM;
  }

  const Addr dst = r.new_addr;
  const Addr dst_end = dst + r.new_len;
  std::uint64_t pgoff = src.pgoff_at(r.addr);
  if (is_anonymous(src) && src.anon_vma == 0) pgoff = dst >> kPageShift;
  Vma* merged = merge_new_range(tree_.before(dst), tree_.lower(dst_end), dst, dst_end, src.flags,
                                pgoff, src.file, src.anon_vma, vma_is_fork_child(src), false);
  if (merged == nullptr) {
    Vma v = src;
    v.start = dst;
    v.end = dst_end;
    v.set_pgoff(pgoff);
    tree_.insert(v);
  }
  if ((src.flags & vm::UFFD_FLAGS) != 0) uffd_move_prep(dst);
  vm_stat_account(src.flags, static_cast<std::int64_t>(pages(r.new_len)));
  if ((src.flags & vm::LOCKED) != 0) counters_.locked_vm += pages(r.new_len);
  // move_page_tables(): guard markers travel with the page tables; the source
  // (unmapped next, or kept empty with DONTUNMAP) has none left.
  if (!guards_.empty()) guards_.move(r.addr, r.addr + std::min(r.old_len, r.new_len), dst);

  if ((r.flags & abi::MREMAP_DONTUNMAP) != 0) {
    // dontunmap_complete(): the source loses its locks (the whole VMA); a
    // source moved whole loses its anon_vma. VM_ACCOUNT stays (observed).
    // "Because we won't unmap we don't need to touch locked_vm": the kernel
    // leaves the source's pages counted in locked_vm although they are no
    // longer VM_LOCKED (probed: VmLck grows by the moved pages), which later
    // RLIMIT_MEMLOCK checks see.
    Vma* s = tree_.find(r.addr);
    s->flags &= ~vm::LOCKED_MASK;
    if (r.addr == s->start && r.addr + r.old_len == s->end) {
      s->anon_vma = 0;
      s->anon_chain_shared = false;
    }
  } else {
    // unmap_source_vma(): do_vmi_munmap(addr, old_len), errors ignored. With
    // old_len 0 (a shared mapping duplicated) that is EINVAL: the source is
    // neither unmapped nor split.
    (void)munmap(r.addr, r.old_len);
  }
  return SysResult::ok(dst);
}

// remap_move(): FIXED with equal lengths moves every VMA in the range, keeping
// the gaps between them. The first failure returns; earlier VMAs stay moved.
SysResult AddressSpace::remap_move(Remap& r) {
  const Addr start = r.addr;
  const Addr end = r.addr + r.old_len;
  Addr target = r.new_addr;
  bool seen = false;
  SysResult res = Errno::FAULT;
  Addr last_end = 0;
  // Up-front policies refuse the whole move before any VMA moves: a sealed
  // source anywhere in the range, or a sealed VMA in the way at the target.
  // (The lookup keeps an unmapped start's EFAULT first; the default policy
  // skips it.)
  if (cfg_.seal.timing == SealTiming::UpFront && tree_.find(start) != nullptr) {
    const VmFlags seal = cfg_.seal.base_seal;
    if (Errno e = check_seal_up_front(start, end, seal); e != Errno::OK) return e;
    if (Errno e = check_seal_up_front(r.new_addr, r.new_addr + r.old_len, seal); e != Errno::OK)
      return e;
  }
  // The walk resumes from the end of the VMA just moved and never looks past
  // `end` (for_each_vma_range), even when the move merged into the source VMA.
  for (const Vma* v = tree_.lower(start); v != nullptr && v->start < end;
       v = last_end >= end ? nullptr : tree_.lower(last_end)) {
    const Addr a = std::max(v->start, start);
    const std::uint64_t len = std::min(end, v->end) - a;
    if (!seen && start < v->start) return Errno::FAULT;
    const Addr offset = seen ? v->start - last_end : 0;
    last_end = v->end;
    // vma_multi_allowed(): files with their own get_unmapped_area (other than
    // shmem and THP-aware filesystems) move only alone: /dev/zero
    // (get_unmapped_area_zero) and SysV shm (shm_get_unmapped_area; its VMAs
    // have shm_vm_ops, so vma_is_shmem() is false). So does a VMA registered
    // with a userfaultfd (userfaultfd_armed(), whatever the context's
    // features; docs/kernel-rules.md 6f, probes u10, u11): EFAULT when it is
    // not first, or first with more of the range (or a hole) after it.
    const FileKind kind = v->file == 0 ? FileKind::Regular : files_->get(v->file).kind;
    const bool multi =
        kind != FileKind::DevZero && kind != FileKind::SysvShm && (v->flags & vm::UFFD_FLAGS) == 0;
    if (!multi && (seen || v->end < end)) return Errno::FAULT;

    Remap sub;
    sub.addr = a;
    sub.old_len = sub.new_len = len;
    sub.flags = r.flags;
    sub.new_addr = target + offset;
    SysResult one = check_prep_vma(sub);
    if (one.is_ok()) one = mremap_to(sub);
    if (one.is_error()) return one;
    if (!seen) res = one;
    seen = true;
    target = one.value() + len;
  }
  return res;
}

}  // namespace vmseal
