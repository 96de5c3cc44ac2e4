// When may two VMAs become one? The predicates of mm/vma.c (Linux 6.18):
// is_mergeable_vma(), is_mergeable_anon_vma(), can_vma_merge_before/after() and
// anon_vma_compatible() from mm/rmap.c. Pure functions of VMA values.
#pragma once

#include "vmseal/engine/files.hpp"
#include "vmseal/engine/vma.hpp"

namespace vmseal {

// The range being placed or modified, with the attributes it will have.
struct MergeCandidate {
  Addr start;
  Addr end;
  VmFlags flags;
  std::uint64_t pgoff;
  FileId file;
  AnonVmaId anon_vma;
  // The VMA the candidate comes from is a fork child (copy_vma of a forked VMA).
  bool from_fork_child;
};

// vma_is_fork_child(): has an anon_vma and an anon_vma_chain that is not singular.
inline bool vma_is_fork_child(const Vma& v) noexcept {
  return v.anon_vma != 0 && v.anon_chain_shared;
}

// is_mergeable_vma(): every flag but VM_SOFTDIRTY equal, the same struct file.
inline bool is_mergeable_vma(const Vma& target, const MergeCandidate& c) noexcept {
  if (((target.flags ^ c.flags) & ~vm::IGNORE_MERGE) != 0) return false;
  if (target.file != c.file) return false;
  if (target.special != SpecialKind::None) return false;
  return true;
}

// is_mergeable_anon_vma() (6.18): a candidate with an anon_vma may join a target
// without one unless either side is a fork child; a candidate without one may
// join a target that has one unless the target is a fork child; otherwise the
// anon_vmas must be the same.
inline bool is_mergeable_anon_vma(const Vma& target, const MergeCandidate& c,
                                  const Vma* source) noexcept {
  if (target.anon_vma == 0 && c.anon_vma != 0)
    return !(source != nullptr && vma_is_fork_child(*source)) && !c.from_fork_child;
  if (target.anon_vma != 0 && c.anon_vma == 0) return !vma_is_fork_child(target);
  return target.anon_vma == c.anon_vma;
}

// are_anon_vmas_compatible(): when merging on both sides, prev and next must
// agree with each other too.
inline bool anon_vmas_compatible(const Vma& a, const Vma& b) noexcept {
  return a.anon_vma == 0 || b.anon_vma == 0 || a.anon_vma == b.anon_vma;
}

// can_vma_merge_after(): the candidate goes right after `prev`.
inline bool can_merge_after(const Vma& prev, const MergeCandidate& c,
                            const Vma* source = nullptr) noexcept {
  return is_mergeable_vma(prev, c) && is_mergeable_anon_vma(prev, c, source) &&
         prev.pgoff + prev.page_count() == c.pgoff;
}

// can_vma_merge_before(): the candidate goes right before `next`.
inline bool can_merge_before(const Vma& next, const MergeCandidate& c,
                             const Vma* source = nullptr) noexcept {
  return is_mergeable_vma(next, c) && is_mergeable_anon_vma(next, c, source) &&
         next.pgoff == c.pgoff + ((c.end - c.start) >> kPageShift);
}

// anon_vma_compatible() (mm/rmap.c): may `b`, right after `a`, share a's
// anon_vma? Access flags and the flags merging ignores (VM_IGNORE_MERGE: soft
// dirty and VM_MAYBE_GUARD) may differ, and so may the userfaultfd context
// (not a flag in the kernel, so not compared there); nothing else may. (Found by vmseal
// difftest: with `gu` counted, a guard install across three VMAs gave them
// three anon_vmas, and a later mprotect could not merge them as Linux does.)
inline bool anon_vma_compatible(const Vma& a, const Vma& b) noexcept {
  return a.end == b.start && a.file == b.file &&
         ((a.flags ^ b.flags) & ~(vm::ACCESS_FLAGS | vm::IGNORE_MERGE | vm::UFFD_CTX_MASK)) == 0 &&
         b.pgoff == a.pgoff + ((b.start - a.start) >> kPageShift);
}

// Not a merge rule, but a pure function of a VMA and its file that several
// calls need: the first address of `v` whose page lies at or beyond the end of
// the file, where a fault gets SIGBUS (shmem_get_folio_gfp(): index >= i_size
// -> VM_FAULT_SIGBUS), so GUP populate fails with EFAULT. Only files whose size
// the engine knows exactly take part: SysV shm segments, and shmem with a size
// (the engine's own MAP_SHARED|MAP_ANONYMOUS objects, memfds whose size the
// caller gave), and shmem and secretmem files whose size is known exactly
// (size_known: memfd_create, memfd_secret, ftruncate; secretmem_fault() is
// SIGBUS there too). v.end when no page is beyond the end.
inline Addr file_eof_addr(const FileInfo* f, const Vma& v) noexcept {
  if (f == nullptr || v.special != SpecialKind::None) return v.end;
  const bool known = f->kind == FileKind::SysvShm ||
                     (f->kind == FileKind::Shmem && (f->size != 0 || f->size_known)) ||
                     (f->kind == FileKind::Secretmem && f->size_known);
  if (!known) return v.end;
  const std::uint64_t eof_pages = (f->size + kPageSize - 1) >> kPageShift;
  if (v.pgoff >= eof_pages) return v.start;
  const std::uint64_t inside = eof_pages - v.pgoff;
  return inside >= v.page_count() ? v.end : v.start + (inside << kPageShift);
}

}  // namespace vmseal
