// The primitives every system call is built from: split, merge (of a new range
// and of an existing one), unmap of a range, anon_vma assignment and populate.
// Kernel counterparts are named in each comment (mm/vma.c, mm/rmap.c, mm/gup.c).
#include "vmseal/engine/address_space.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "merge_rules.hpp"

namespace vmseal {

AddressSpace::AddressSpace(Config cfg, std::shared_ptr<FileTable> files)
    : cfg_(cfg),
      files_(files ? std::move(files) : std::make_shared<FileTable>()),
      mm_id_(files_->new_mm_id()) {}

void AddressSpace::insert_vma(const Vma& vma) {
  tree_.insert(vma);
  vm_stat_account(vma.flags, static_cast<std::int64_t>(vma.page_count()));
  if ((vma.flags & vm::LOCKED) != 0) counters_.locked_vm += vma.page_count();
}

// vma_is_anonymous(): no vm_ops. A private mapping of /dev/zero is anonymous
// memory too (mmap_zero() calls vma_set_anonymous()).
bool AddressSpace::is_anonymous(const Vma& v) const noexcept {
  if (v.special != SpecialKind::None) return false;
  if (v.file == 0) return true;
  return files_->get(v.file).kind == FileKind::DevZero;
}

// can_merge_remove_vma(): a merge may not delete a VMA whose vm_ops has close().
bool AddressSpace::can_remove_by_merge(const Vma& v) const noexcept {
  if (v.special != SpecialKind::None) return false;
  return v.file == 0 || files_->get(v.file).kind != FileKind::SysvShm;
}

// __vm_enough_memory() with heuristic overcommit: a single commit larger than
// RAM + swap fails; strict overcommit is not modelled beyond that.
bool AddressSpace::vm_enough_memory(std::uint64_t pages) const noexcept {
  return pages <= cfg_.commit_limit_pages;
}

namespace {

// mm/internal.h's classes of pages (VM_STACK is VM_GROWSDOWN on x86-64).
constexpr bool is_exec_mapping(VmFlags f) {
  return (f & (vm::EXEC | vm::WRITE | vm::GROWSDOWN)) == vm::EXEC;
}
constexpr bool is_stack_mapping(VmFlags f) { return (f & vm::GROWSDOWN) != 0; }
constexpr bool is_data_mapping(VmFlags f) {
  return (f & (vm::WRITE | vm::SHARED | vm::GROWSDOWN)) == vm::WRITE;
}

}  // namespace

// may_expand_vm(): RLIMIT_AS on every page, RLIMIT_DATA on data pages. A soft
// RLIMIT_DATA of 0 lets data grow to the hard limit (the kernel's "Valgrind
// workaround"; probes a1-a6, tests/kernel/address_limits.c).
bool AddressSpace::may_expand_vm(VmFlags flags, std::uint64_t npages) const noexcept {
  if (counters_.total_vm + npages > (cfg_.rlimit_as >> kPageShift)) return false;
  if (is_data_mapping(flags) && counters_.data_vm + npages > (cfg_.rlimit_data >> kPageShift))
    return cfg_.rlimit_data == 0 &&
           counters_.data_vm + npages <= (cfg_.rlimit_data_max >> kPageShift);
  return true;
}

// vm_stat_account(): total_vm, and exec_vm, stack_vm or data_vm by the flags.
void AddressSpace::vm_stat_account(VmFlags flags, std::int64_t npages) noexcept {
  const auto n = static_cast<std::uint64_t>(npages);  // modular: a negative count subtracts
  counters_.total_vm += n;
  if (is_exec_mapping(flags))
    counters_.exec_vm += n;
  else if (is_stack_mapping(flags))
    counters_.stack_vm += n;
  else if (is_data_mapping(flags))
    counters_.data_vm += n;
}

void AddressSpace::account_unseen(std::int64_t total_pages, std::int64_t data_pages) noexcept {
  counters_.total_vm += static_cast<std::uint64_t>(total_pages);
  counters_.data_vm += static_cast<std::uint64_t>(data_pages);
}

// vm_start_gap(): the start of a VMA including its stack guard gap.
Addr AddressSpace::vm_start_gap(const Vma& v) const noexcept {
  Addr gap = 0;
  if ((v.flags & vm::GROWSDOWN) != 0)
    gap = cfg_.stack_guard_gap;
  else if ((v.flags & vm::SHADOW_STACK) != 0)
    gap = kPageSize;
  Addr s = v.start - gap;
  return s > v.start ? 0 : s;
}

// split_vma() / __split_vma(): [start, at) and [at, end); the upper part's pgoff
// moves along. With check_limit, fails with ENOMEM at max_map_count. Then
// vm_ops->may_split(): special_mapping_split() refuses every split of [vdso],
// [vvar] and [vvar_vclock] with EINVAL (so does a shrink of [vdso], probe V4),
// and hugetlb_vm_op_split() every split off a huge page boundary (probe h1).
Expected<Vma*> AddressSpace::split(Vma* vma, Addr at, bool check_limit) {
  if (check_limit && tree_.size() >= cfg_.max_map_count) return Errno::NOMEM;
  if (vma->special != SpecialKind::None) return Errno::INVAL;
  if (const std::uint64_t huge = huge_page_size(*vma); huge != 0 && (at & (huge - 1)) != 0)
    return Errno::INVAL;
  return &tree_.split(*vma, at);
}

// vma_merge_new_range() + vma_expand(): try to place [start, end) with the given
// attributes by extending prev and/or next instead of inserting a new VMA.
// Returns the VMA now covering [start, end), or nullptr when no merge happened.
Vma* AddressSpace::merge_new_range(Vma* prev, Vma* next, Addr start, Addr end, VmFlags flags,
                                   std::uint64_t pgoff, FileId file, AnonVmaId anon,
                                   bool anon_shared, bool just_expand) {
  if ((flags & vm::SPECIAL) != 0 || (prev == nullptr && next == nullptr)) return nullptr;
  const MergeCandidate cand{start, end, flags, pgoff, file, anon, anon_shared};
  const bool left = prev != nullptr && prev->end == start && can_merge_after(*prev, cand);
  const bool right = !just_expand && next != nullptr && next->start == end &&
                     can_merge_before(*next, cand) && (!left || anon_vmas_compatible(*prev, *next));
  if (!left && !right) return nullptr;

  Addr new_start = start;
  Addr new_end = end;
  std::uint64_t new_pgoff = pgoff;
  bool remove_next = false;
  if (right) {
    new_end = next->end;
    new_pgoff = next->pgoff - pages(end - start);
  }
  if (left) {
    new_start = prev->start;
    new_pgoff = prev->pgoff;
    if (right && !can_remove_by_merge(*next)) new_end = end;
    remove_next = right && new_end == next->end;
  }
  Vma* target = left ? prev : next;
  // vma_expand(): propagate anon_vma from a removed next or from the copied VMA.
  AnonVmaId merged_anon = target->anon_vma;
  bool merged_shared = target->anon_chain_shared;
  if (merged_anon == 0 && remove_next && next->anon_vma != 0) {
    merged_anon = next->anon_vma;
    merged_shared = false;
  }
  if (merged_anon == 0 && anon != 0) {
    merged_anon = anon;
    merged_shared = false;
  }
  const Addr target_start = target->start;
  const VmFlags sticky = (flags | (remove_next ? next->flags : 0)) & vm::STICKY;
  if (remove_next) tree_.erase(next->start);
  Vma& t = tree_.set_bounds(target_start, new_start, new_end);
  t.flags |= sticky;
  t.set_pgoff(new_pgoff);
  t.anon_vma = merged_anon;
  t.anon_chain_shared = merged_shared;
  return &t;
}

// vma_modify() = vma_merge_existing_range(), else split at start and end; then
// the caller's new flags are set (vm_flags_reset()). `prev` is the VMA before
// `vma`, or `vma` itself when start lies inside it. On error, splits already
// made stay made, as in the kernel.
// NOLINTNEXTLINE(readability-function-size): mirrors vma_modify(), mm/vma.c
Expected<Vma*> AddressSpace::modify_range(Vma* prev, Vma* vma, Addr start, Addr end,
                                          VmFlags new_flags) {
  const Vma mid = *vma;
  const bool left_side = start == mid.start;
  const bool right_side = end == mid.end;
  const MergeCandidate cand{start,    end,          new_flags, mid.pgoff_at(start),
                            mid.file, mid.anon_vma, false};

  if ((new_flags & vm::SPECIAL) == 0 && (left_side || right_side)) {
    Vma* next = right_side ? tree_.next_of(mid) : nullptr;
    bool left = left_side && prev != nullptr && prev != vma && prev->end == start &&
                can_merge_after(*prev, cand, &mid);
    bool right = right_side && next != nullptr && next->start == end &&
                 can_merge_before(*next, cand, &mid) &&
                 (!left || anon_vmas_compatible(*prev, *next));
    const bool remove_middle = left_side && right_side;
    if ((left || right) && !(remove_middle && !can_remove_by_merge(mid))) {
      if (left && right && !can_remove_by_merge(*next)) right = false;
      if (left && right) {
        // prev absorbs middle and next.
        const AnonVmaId anon = prev->anon_vma   ? prev->anon_vma
                               : next->anon_vma ? next->anon_vma
                                                : mid.anon_vma;
        const Addr ps = prev->start;
        const Addr ne = next->end;
        const VmFlags sticky = (prev->flags | next->flags) & vm::STICKY;
        tree_.erase(next->start);
        tree_.erase(mid.start);
        Vma& t = tree_.set_bounds(ps, ps, ne);
        if (t.anon_vma == 0) t.anon_vma = anon;
        t.flags = new_flags | sticky;
        return &t;
      }
      if (left) {
        // prev grows to `end`; middle shrinks to [end, mid.end) or goes away.
        const Addr ps = prev->start;
        const VmFlags sticky = prev->flags & vm::STICKY;
        const AnonVmaId anon = prev->anon_vma ? prev->anon_vma : mid.anon_vma;
        if (remove_middle) {
          tree_.erase(mid.start);
        } else {
          Vma& m = tree_.set_bounds(mid.start, end, mid.end);
          m.set_pgoff(mid.pgoff_at(end));
        }
        Vma& t = tree_.set_bounds(ps, ps, end);
        t.anon_vma = anon;
        t.flags = new_flags | sticky;
        return &t;
      }
      // next grows down to `start`; middle shrinks to [mid.start, start) or goes away.
      const Addr ns = next->start;
      const Addr ne = next->end;
      const std::uint64_t npg = next->pgoff;
      const VmFlags sticky = next->flags & vm::STICKY;
      const AnonVmaId anon = next->anon_vma ? next->anon_vma : mid.anon_vma;
      if (remove_middle)
        tree_.erase(mid.start);
      else
        tree_.set_bounds(mid.start, mid.start, start);
      Vma& t = tree_.set_bounds(ns, start, ne);
      t.set_pgoff(npg - pages(end - start));
      t.anon_vma = anon;
      t.flags = new_flags | sticky;
      return &t;
    }
  }

  // No merge: split off the parts outside [start, end).
  Vma* v = vma;
  if (mid.start < start) {
    const Expected<Vma*> upper = split(v, start, true);
    if (!upper) return upper;
    v = *upper;  // the part from start on
  }
  if (mid.end > end) {
    const Expected<Vma*> above = split(v, end, true);
    if (!above) return above;
    v = tree_.prev_of(**above);  // the part [start, end)
  }
  v->flags = new_flags;
  return v;
}

// can_modify_mm(): a VMA overlapping [start, end) that carries `seal`.
bool AddressSpace::range_has_seal(Addr start, Addr end, VmFlags seal) const noexcept {
  for (const Vma* v = tree_.lower(start); v != nullptr && v->start < end; v = tree_.next_of(*v))
    if ((v->flags & seal) != 0) return true;
  return false;
}

// vms_gather_munmap_vmas(): the checks and splits of unmapping [start, end).
// A sealed VMA anywhere in the range fails the call with EPERM before anything
// is unmapped, but a split of the first VMA made before the sealed one was
// found stays (the kernel does not undo it). `gathered` receives the number of
// pages in the range and of the VM_ACCOUNT pages the unmap will release.
//
// An up-front policy (linux-6.10, openbsd, rfc-v3) checks the whole range
// first, as can_modify_mm() in do_vmi_munmap() did: a refusal changes nothing
// and comes before the max_map_count ENOMEM.
Errno AddressSpace::gather_unmap_prepare(Addr start, Addr end, Gathered* gathered) {
  return gather_unmap_prepare(start, end, gathered, cfg_.seal.base_seal);
}

Errno AddressSpace::gather_unmap_prepare(Addr start, Addr end, Gathered* gathered, VmFlags seal) {
  if (Errno e = check_seal_up_front(start, end, seal); e != Errno::OK) return e;
  Vma* v = tree_.lower(start);
  if (v == nullptr || v->start >= end) return Errno::OK;
  if (start > v->start) {
    if (end < v->end && tree_.size() >= cfg_.max_map_count) return Errno::NOMEM;
    if (refuses_unmap(*v, seal)) return cfg_.seal.refused;  // don't split what cannot be unmapped
    const Expected<Vma*> upper = split(v, start, false);
    if (!upper) return upper.error();
    v = *upper;  // from start on
  }
  Gathered count;
  for (; v != nullptr && v->start < end; v = tree_.next_of(*v)) {
    if (refuses_unmap(*v, seal)) return cfg_.seal.refused;
    // A failed end split (may_split) fails the unmap; the start split stays.
    if (v->end > end) {
      // The split may move VMAs between tree nodes: v is stale after it
      // (found by vmseal difftest: a stale pointer here read another VMA's
      // size into the accounting, and MAP_FIXED failed ENOMEM).
      const Expected<Vma*> above = split(v, end, false);
      if (!above) return above.error();
      v = tree_.prev_of(**above);
    }
    count.pages += v->page_count();
    if ((v->flags & vm::ACCOUNT) != 0) count.accounted += v->page_count();
  }
  if (gathered != nullptr) *gathered = count;
  return Errno::OK;
}

// vms_complete_munmap_vmas(): removes the VMAs inside [start, end), which
// gather_unmap_prepare() has made sure start and end on VMA boundaries. Their
// page tables go with them, guard markers included.
void AddressSpace::remove_range(Addr start, Addr end) {
  if (!guards_.empty()) guards_.remove(start, end);
  // Erasing invalidates pointers, so look the next one up again: the finger
  // search finds it in the same or the next leaf, with no allocation.
  for (Vma* v = tree_.lower(start); v != nullptr && v->start < end; v = tree_.lower(start)) {
    vm_stat_account(v->flags, -static_cast<std::int64_t>(v->page_count()));
    if ((v->flags & vm::LOCKED) != 0) counters_.locked_vm -= v->page_count();
    tree_.erase(v->start);
  }
}

// The unmap primitive: munmap, MAP_FIXED's unmap of the old range, the mremap
// target and source, brk shrink and shmdt all come here.
Errno AddressSpace::gather_unmap(Addr start, Addr end) {
  return gather_unmap(start, end, cfg_.seal.base_seal);
}

Errno AddressSpace::gather_unmap(Addr start, Addr end, VmFlags seal) {
  if (Errno e = gather_unmap_prepare(start, end, nullptr, seal); e != Errno::OK) return e;
  remove_range(start, end);
  return Errno::OK;
}

// anon_vma_prepare() with find_mergeable_anon_vma(): a VMA about to get its
// first anonymous page reuses a compatible neighbour's anon_vma (next first,
// then prev) so a later mprotect can merge them again; otherwise a new one.
AnonVmaId AddressSpace::anon_vma_prepare(Addr vma_start) {
  Vma* v = tree_.find(vma_start);
  if (v->anon_vma != 0) return v->anon_vma;
  AnonVmaId id = 0;
  if (const Vma* next = tree_.next_of(*v); next != nullptr && anon_vma_compatible(*v, *next) &&
                                           next->anon_vma != 0 && !next->anon_chain_shared)
    id = next->anon_vma;
  if (id == 0) {
    if (const Vma* prev = tree_.prev_of(*v); prev != nullptr && anon_vma_compatible(*prev, *v) &&
                                             prev->anon_vma != 0 && !prev->anon_chain_shared)
      id = prev->anon_vma;
  }
  if (id == 0) id = new_anon_vma_id();
  v = tree_.find(vma_start);
  v->anon_vma = id;
  v->anon_chain_shared = false;
  return id;
}

// The first page of [start, end) in `vma` that cannot be faulted in: a guard
// page (SIGSEGV) or a page beyond the end of the file (SIGBUS); `end` if none.
Addr AddressSpace::first_unfaultable(const Vma& vma, Addr start, Addr end) const {
  // hugetlb with an empty pool: no page can be allocated (hugetlb_no_page()
  // is SIGBUS), so populating fails at once (probe h1).
  if ((vma.flags & vm::HUGETLB) != 0) return start;
  Addr bad = std::min(end, file_eof_addr(vma.file != 0 ? &files_->get(vma.file) : nullptr, vma));
  if (bad < start) bad = start;
  if (!guards_.empty())
    if (const auto g = guards_.first_in(start, bad); g.has_value()) bad = *g;
  return bad;
}

// Whether a fault on `v` gives it an anon_vma: a write fault on a private
// mapping breaks COW into an anonymous page; a read fault on private anonymous
// memory maps the zero page, unless this kernel allocates a page for it
// (Config::read_fault_zero_page, docs/kernel-rules.md 0.1). Shared mappings
// and read faults of private file pages never do.
bool AddressSpace::fault_assigns_anon_vma(const Vma& v, bool write) const noexcept {
  if ((v.flags & vm::SHARED) != 0) return false;
  return write || (!cfg_.read_fault_zero_page && is_anonymous(v));
}

// populate_vma_page_range(): what faulting pages in does to VMA state. A
// private writable mapping is populated with write faults (which break COW),
// anything else with read faults (FOLL_FORCE).
// PROT_NONE cannot be populated: EFAULT. Neither can a guard page nor a page
// beyond the end of its file: EFAULT after the pages before it are faulted in.
Errno AddressSpace::populate_vma(Vma& vma, Addr start, Addr end) {
  if ((vma.flags & (vm::IO | vm::PFNMAP)) != 0) return Errno::OK;
  if ((vma.flags & vm::LOCKONFAULT) != 0) return Errno::OK;
  // check_vma_flags(): secretmem pages cannot be got by GUP (so mlock of
  // secretmem is ENOMEM, probe s2).
  if (is_secretmem(vma)) return Errno::FAULT;
  if ((vma.flags & vm::ACCESS_FLAGS) == 0) return Errno::FAULT;
  const Addr bad = first_unfaultable(vma, start, end);
  if (bad == start) return Errno::FAULT;
  if (fault_assigns_anon_vma(vma, (vma.flags & vm::WRITE) != 0)) anon_vma_prepare(vma.start);
  return bad < end ? Errno::FAULT : Errno::OK;
}

// __mm_populate() / mm_populate(): the first error stops unless ignored.
Errno AddressSpace::populate(Addr start, Addr end, bool ignore_errors) {
  Addr cur = start;
  while (cur < end) {
    Vma* v = tree_.lower(cur);
    if (v == nullptr || v->start >= end) break;
    const Addr s = v->start > cur ? v->start : cur;
    const Addr e = v->end < end ? v->end : end;
    const Addr vend = v->end;
    const Errno err = populate_vma(*v, s, e);
    if (err != Errno::OK && !ignore_errors) return err;
    cur = vend;
  }
  return Errno::OK;
}

}  // namespace vmseal
