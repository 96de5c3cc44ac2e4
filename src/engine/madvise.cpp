// madvise(2), Linux 6.18 (mm/madvise.c). The seal rule lives in one place,
// discard_refused() (6.18's can_madvise_modify()): on a sealed VMA, advice
// that discards contents is refused for anonymous memory the caller could not
// write anyway; other seal policies change which advice and which VMAs.
#include <algorithm>

#include "merge_rules.hpp"
#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

bool madvise_behavior_valid(int advice) {
  switch (advice) {
    case abi::MADV_DOFORK:
    case abi::MADV_DONTFORK:
    case abi::MADV_NORMAL:
    case abi::MADV_SEQUENTIAL:
    case abi::MADV_RANDOM:
    case abi::MADV_REMOVE:
    case abi::MADV_WILLNEED:
    case abi::MADV_DONTNEED:
    case abi::MADV_DONTNEED_LOCKED:
    case abi::MADV_FREE:
    case abi::MADV_COLD:
    case abi::MADV_PAGEOUT:
    case abi::MADV_POPULATE_READ:
    case abi::MADV_POPULATE_WRITE:
    case abi::MADV_MERGEABLE:
    case abi::MADV_UNMERGEABLE:
    case abi::MADV_HUGEPAGE:
    case abi::MADV_NOHUGEPAGE:
    case abi::MADV_COLLAPSE:
    case abi::MADV_DONTDUMP:
    case abi::MADV_DODUMP:
    case abi::MADV_WIPEONFORK:
    case abi::MADV_KEEPONFORK:
    case abi::MADV_GUARD_INSTALL:
    case abi::MADV_GUARD_REMOVE:
      return true;
    default:
      // MADV_HWPOISON / MADV_SOFT_OFFLINE need CONFIG_MEMORY_FAILURE, which the
      // target kernel does not have: EINVAL like any unknown advice.
      return false;
  }
}

// is_discard(): advice whose effect destroys or hides contents.
bool is_discard(int advice) {
  switch (advice) {
    case abi::MADV_FREE:
    case abi::MADV_DONTNEED:
    case abi::MADV_DONTNEED_LOCKED:
    case abi::MADV_REMOVE:
    case abi::MADV_DONTFORK:
    case abi::MADV_WIPEONFORK:
    case abi::MADV_GUARD_INSTALL:
      return true;
    default:
      return false;
  }
}

// What counts as discarding under each policy (SealPolicy::discard_advice).
bool advice_discards(int advice, DiscardAdvice rule) {
  switch (rule) {
    case DiscardAdvice::Listed:
      return is_discard(advice);
    case DiscardAdvice::Bitmask:
      // 6.10's is_madv_discard(): `behavior & (MADV_FREE | MADV_DONTNEED |
      // MADV_DONTNEED_LOCKED | MADV_REMOVE | MADV_DONTFORK | MADV_WIPEONFORK)`,
      // a mask of 0x1f, true for every advice but MADV_NORMAL. Fixed by
      // "mseal: fix is_madv_discard()" in 6.11.
      return (advice & (abi::MADV_FREE | abi::MADV_DONTNEED | abi::MADV_DONTNEED_LOCKED |
                        abi::MADV_REMOVE | abi::MADV_DONTFORK | abi::MADV_WIPEONFORK)) != 0;
    case DiscardAdvice::Destructive:
      return advice != abi::MADV_DONTFORK && is_discard(advice);
  }
  return false;
}

}  // namespace

// The discard rule of the policy: advice that destroys contents, on a sealed
// VMA of the kind the policy protects. Linux exempts memory the caller could
// write anyway (VM_WRITE; with PKU also PKRU, which is not modelled).
bool AddressSpace::discard_refused(const Vma& v, int advice) const noexcept {
  const SealPolicy& p = cfg_.seal;
  if ((v.flags & p.base_seal) == 0 || p.discard_scope == DiscardScope::None) return false;
  if (!advice_discards(advice, p.discard_advice)) return false;
  switch (p.discard_scope) {
    case DiscardScope::AnonReadOnly:  // can_madvise_modify(), 6.17+
      return is_anonymous(v) && (v.flags & vm::WRITE) == 0;
    case DiscardScope::NoFileReadOnly:  // is_ro_anon(), 6.10-6.16
      return v.file == 0 && (v.flags & (vm::SHARED | vm::WRITE)) == 0;
    case DiscardScope::Any:
      return true;
    case DiscardScope::None:
      return false;
  }
  return false;
}

SysResult AddressSpace::madvise(Addr start, std::uint64_t len_in, int advice) {
  if (!madvise_behavior_valid(advice)) return Errno::INVAL;
  if (!page_aligned(start)) return Errno::INVAL;
  const std::uint64_t len = page_align_up(len_in);
  if (len_in != 0 && len == 0) return Errno::INVAL;
  if (start + len < start) return Errno::INVAL;
  if (start + len == start) return SysResult::ok(0);
  const Addr end = start + len;

  // Up-front policies: can_modify_mm_madv() over the whole range, holes
  // allowed, before the advice is dispatched (6.10 refused even
  // MADV_POPULATE_* here, through its bitmask).
  if (cfg_.seal.timing == SealTiming::UpFront) {
    for (const Vma* v = tree_.lower(start); v != nullptr && v->start < end; v = tree_.next_of(*v))
      if (discard_refused(*v, advice)) return cfg_.seal.refused;
  }

  if (advice == abi::MADV_POPULATE_READ || advice == abi::MADV_POPULATE_WRITE)
    return madvise_populate(start, end, advice == abi::MADV_POPULATE_WRITE);

  // madvise_walk_vmas(): a hole records ENOMEM and the walk goes on; the first
  // per-VMA error stops it.
  Vma* vma = tree_.lower(start);
  Vma* prev = vma != nullptr && start > vma->start ? vma
              : vma != nullptr                     ? tree_.prev_of(*vma)
                                                   : tree_.last();
  Errno unmapped_error = Errno::OK;
  Addr cur = start;
  for (;;) {
    if (vma == nullptr) return Errno::NOMEM;
    if (cur < vma->start) {
      unmapped_error = Errno::NOMEM;
      cur = vma->start;
      if (cur >= end) break;
    }
    Addr range_end = std::min(vma->end, end);
    bool relookup = false;
    if (Errno e = madvise_vma(prev, vma, cur, range_end, advice, relookup); e != Errno::OK)
      return e;
    if (relookup) vma = tree_.find(cur);
    prev = vma;
    if (vma != nullptr && range_end < vma->end) range_end = vma->end;
    if (range_end >= end) break;
    vma = tree_.lower(range_end);
    cur = range_end;
  }
  return unmapped_error == Errno::OK ? SysResult::ok(0) : SysResult(unmapped_error);
}

// madvise_vma_behavior() for [start, end) inside `vma`.
// NOLINTNEXTLINE(readability-function-size): mirrors madvise_vma_behavior(), mm/madvise.c
Errno AddressSpace::madvise_vma(Vma*& prev, Vma*& vma, Addr start, Addr end, int advice,
                                bool& relookup) {
  const VmFlags f = vma->flags;
  // can_madvise_modify(): checked before any advice-specific rule.
  if (discard_refused(*vma, advice)) return cfg_.seal.refused;

  VmFlags nf = f;
  switch (advice) {
    case abi::MADV_REMOVE: {
      relookup = true;
      if ((f & vm::LOCKED) != 0) return Errno::INVAL;
      if (vma->file == 0) return Errno::INVAL;
      if ((f & (vm::SHARED | vm::MAYWRITE)) != (vm::SHARED | vm::MAYWRITE)) return Errno::ACCES;
      // vfs_fallocate(FALLOC_FL_PUNCH_HOLE): shmem_fallocate() and
      // hugetlbfs_punch_hole() refuse a write-sealed file (probe f3).
      if (const FileInfo& fi = files_->get(vma->file);
          (fi.kind == FileKind::Shmem || fi.kind == FileKind::Hugetlb) &&
          (fi.seals & (abi::SEAL_WRITE | abi::SEAL_FUTURE_WRITE)) != 0)
        return Errno::PERM;
      // secretmem has no fallocate (found by vmseal difftest: a secretmem VMA
      // unlocked by mremap(MREMAP_DONTUNMAP); probe s3 unlocks one by fork).
      if (files_->get(vma->file).kind == FileKind::Secretmem) return Errno::OPNOTSUPP;
      return Errno::OK;  // hole punched; the VMA is unchanged
    }
    case abi::MADV_WILLNEED:
      return Errno::OK;
    case abi::MADV_COLD:
    case abi::MADV_PAGEOUT:
      if ((f & (vm::LOCKED | vm::PFNMAP | vm::HUGETLB)) != 0) return Errno::INVAL;
      return Errno::OK;
    case abi::MADV_FREE:
    case abi::MADV_DONTNEED:
    case abi::MADV_DONTNEED_LOCKED: {
      VmFlags forbidden = vm::PFNMAP;
      if (advice != abi::MADV_DONTNEED_LOCKED) forbidden |= vm::LOCKED;
      if ((f & forbidden) != 0) return Errno::INVAL;
      if (advice == abi::MADV_FREE && (!is_anonymous(*vma) || (f & vm::LOCKED) != 0))
        return Errno::INVAL;
      return Errno::OK;  // pages dropped; VMA state is unchanged
    }
    case abi::MADV_COLLAPSE:
      // khugepaged collapse needs a PMD-aligned, PMD-sized THP-eligible range
      // inside the VMA; anything smaller is EINVAL. Larger ranges are not modelled.
      return Errno::INVAL;
    case abi::MADV_GUARD_INSTALL: {
      // madvise_guard_install(): existing pages are zapped and a marker put in
      // each page table entry. Anonymous memory gets an anon_vma first (file
      // mappings, shared or private, do not); VM_MAYBE_GUARD is set on the
      // whole VMA in place (no split, no merge), and makes fork copy the page
      // tables, markers included, of file mappings too.
      if ((f & (vm::SPECIAL | vm::HUGETLB | vm::LOCKED)) != 0) return Errno::INVAL;
      const Addr vs = vma->start;
      if (is_anonymous(*vma)) anon_vma_prepare(vs);
      vma = tree_.find(vs);
      vma->flags |= vm::MAYBE_GUARD;
      guards_.install(start, end);
      return Errno::OK;
    }
    case abi::MADV_GUARD_REMOVE:
      // Removing markers destroys nothing, so it is allowed on locked VMAs.
      if ((f & (vm::SPECIAL | vm::HUGETLB)) != 0) return Errno::INVAL;
      guards_.remove(start, end);
      return Errno::OK;
    case abi::MADV_NORMAL:
      nf &= ~(vm::RAND_READ | vm::SEQ_READ);
      break;
    case abi::MADV_SEQUENTIAL:
      nf = (nf & ~vm::RAND_READ) | vm::SEQ_READ;
      break;
    case abi::MADV_RANDOM:
      nf = (nf & ~vm::SEQ_READ) | vm::RAND_READ;
      break;
    case abi::MADV_DONTFORK:
      nf |= vm::DONTCOPY;
      break;
    case abi::MADV_DOFORK:
      if ((nf & vm::IO) != 0) return Errno::INVAL;
      nf &= ~vm::DONTCOPY;
      break;
    case abi::MADV_WIPEONFORK:
      if (vma->file != 0 || (nf & vm::SHARED) != 0) return Errno::INVAL;
      nf |= vm::WIPEONFORK;
      break;
    case abi::MADV_KEEPONFORK:
      if ((nf & vm::DROPPABLE) != 0) return Errno::INVAL;
      nf &= ~vm::WIPEONFORK;
      break;
    case abi::MADV_DONTDUMP:
      nf |= vm::DONTDUMP;
      break;
    case abi::MADV_DODUMP:
      if (((nf & vm::HUGETLB) == 0 && (nf & vm::SPECIAL) != 0) || (nf & vm::DROPPABLE) != 0)
        return Errno::INVAL;
      nf &= ~vm::DONTDUMP;
      break;
    case abi::MADV_MERGEABLE:
      // ksm_madvise(): silently nothing for shared, special and hugetlb VMAs.
      if ((nf & (vm::MERGEABLE | vm::SHARED | vm::MAYSHARE | vm::SPECIAL | vm::HUGETLB |
                 vm::DROPPABLE)) == 0)
        nf |= vm::MERGEABLE;
      break;
    case abi::MADV_UNMERGEABLE:
      nf &= ~vm::MERGEABLE;
      break;
    case abi::MADV_HUGEPAGE:
      nf = (nf & ~vm::NOHUGEPAGE) | vm::HUGEPAGE;
      break;
    case abi::MADV_NOHUGEPAGE:
      nf = (nf & ~vm::HUGEPAGE) | vm::NOHUGEPAGE;
      break;
    default:
      return Errno::INVAL;
  }
  // madvise_update_vma(): merge or split; a split failure is EAGAIN here.
  if (nf == f) return Errno::OK;
  const Expected<Vma*> r = modify_range(prev, vma, start, end, nf);
  if (!r) return r.error() == Errno::NOMEM ? Errno::AGAIN : r.error();
  vma = *r;
  return Errno::OK;
}

// madvise_populate(): fault the range in, VMA by VMA, with no seal check. A
// hole is ENOMEM and a VMA that cannot be faulted that way is EINVAL; pages
// before the problem stay populated.
SysResult AddressSpace::madvise_populate(Addr start, Addr end, bool write) {
  Addr cur = start;
  while (cur < end) {
    Vma* v = tree_.find(cur);
    if (v == nullptr) return Errno::NOMEM;
    const VmFlags f = v->flags;
    if ((f & (vm::IO | vm::PFNMAP)) != 0 || is_secretmem(*v)) return Errno::INVAL;  // probe s2
    if (write ? ((f & vm::WRITE) == 0 || (f & vm::SHADOW_STACK) != 0) : (f & vm::READ) == 0)
      return Errno::INVAL;
    const Addr vend = v->end;
    // A guard page (SIGSEGV) or a page beyond the end of its file (SIGBUS):
    // EFAULT, with the pages before it populated.
    const Addr range_end = std::min(vend, end);
    const Addr bad = first_unfaultable(*v, cur, range_end);
    if (bad == cur) return Errno::FAULT;
    if (fault_assigns_anon_vma(*v, write)) anon_vma_prepare(v->start);
    if (bad < range_end) return Errno::FAULT;
    cur = vend;
  }
  return SysResult::ok(0);
}

}  // namespace vmseal
