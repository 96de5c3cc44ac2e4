// mmap(2) and placement: arch/x86/kernel/sys_x86_64.c, mm/mmap.c (do_mmap,
// __get_unmapped_area, unmapped_area[_topdown]), mm/huge_memory.c
// (__thp_get_unmapped_area) and mm/vma.c (__mmap_region). Also SysV shmat/shmdt,
// which map through the same path.
#include <algorithm>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {
constexpr Addr kPmdSize = Addr{2} << 20;
}  // namespace

// ---- placement ---------------------------------------------------------------

std::optional<Addr> AddressSpace::unmapped_area_topdown(Addr low, Addr high, std::uint64_t len,
                                                        Addr start_gap) const {
  const std::uint64_t length = len + start_gap;
  if (length < len) return std::nullopt;
  low = std::max(low, cfg_.mmap_min_addr);
  for (;;) {
    if (high <= low) return std::nullopt;
    auto gap = tree_.gap_rev(low, high, length);
    if (!gap) return std::nullopt;
    const Addr gap_end = gap->end;
    const Addr addr = gap_end - len;
    const Vma* next = tree_.lower(gap_end);
    if (next != nullptr && (next->flags & (vm::GROWSDOWN | vm::SHADOW_STACK)) != 0 &&
        vm_start_gap(*next) < gap_end) {
      high = vm_start_gap(*next);
      if (high < low) return std::nullopt;
      continue;
    }
    return addr;
  }
}

std::optional<Addr> AddressSpace::unmapped_area_bottomup(Addr low, Addr high, std::uint64_t len,
                                                         Addr start_gap) const {
  const std::uint64_t length = len + start_gap;
  if (length < len) return std::nullopt;
  low = std::max(low, cfg_.mmap_min_addr);
  for (;;) {
    if (high <= low) return std::nullopt;
    auto gap = tree_.gap(low, high, length);
    if (!gap) return std::nullopt;
    const Addr addr = gap->start + start_gap;
    const Vma* next = tree_.lower(gap->start);
    if (next != nullptr && (next->flags & (vm::GROWSDOWN | vm::SHADOW_STACK)) != 0 &&
        vm_start_gap(*next) < addr + length - 1) {
      low = next->end;
      continue;
    }
    return addr;
  }
}

// arch_get_unmapped_area(): the bottom-up allocator, also the top-down fallback.
std::optional<Addr> AddressSpace::arch_get_unmapped_area(Addr addr, std::uint64_t len,
                                                         std::uint64_t flags,
                                                         VmFlags vm_flags) const {
  if ((flags & abi::MAP_FIXED) != 0) return addr;
  Addr begin = cfg_.mmap_legacy_base;
  Addr end = cfg_.task_size;
  if ((flags & abi::MAP_32BIT) != 0) {
    begin = 0x40000000;
    end = 0x80000000;
  }
  if (len > end) return std::nullopt;
  if (addr != 0) {
    addr = page_align_up(addr);
    const Vma* v = tree_.lower(addr);
    if (end - len >= addr && (v == nullptr || addr + len <= vm_start_gap(*v))) return addr;
  }
  const Addr start_gap = (vm_flags & vm::SHADOW_STACK) != 0 ? kPageSize : 0;
  return unmapped_area_bottomup(begin, end, len, start_gap);
}

// arch_get_unmapped_area_topdown(): the hint if it fits (guard gaps included),
// else the highest gap below mmap_base, else bottom-up.
std::optional<Addr> AddressSpace::arch_get_unmapped_area_topdown(Addr addr0, std::uint64_t len,
                                                                 std::uint64_t flags,
                                                                 VmFlags vm_flags) const {
  if (len > cfg_.task_size) return std::nullopt;
  if ((flags & abi::MAP_FIXED) != 0) return addr0;
  if ((flags & abi::MAP_32BIT) == 0) {
    if (addr0 != 0) {
      const Addr addr = page_align_down(addr0);
      // mmap_address_hint_valid()
      if (cfg_.task_size - len >= addr) {
        const Vma* v = tree_.lower(addr);
        if (v == nullptr || addr + len <= vm_start_gap(*v)) return addr;
      }
    }
    const Addr low = (flags & abi::MAP_ABOVE4G) != 0 ? (Addr{1} << 32) : kPageSize;
    const Addr start_gap = (vm_flags & vm::SHADOW_STACK) != 0 ? kPageSize : 0;
    if (auto a = unmapped_area_topdown(low, cfg_.mmap_base, len, start_gap)) return a;
  }
  return arch_get_unmapped_area(addr0, len, flags, 0);
}

// The kernel's recorded choice instead of `own` (RecordedPlacement), if the
// engine's choice is outside the trusted range and the recorded range is free.
// "Used" means the engine would have chosen otherwise.
Addr AddressSpace::follow_recorded_placement(Addr own, std::uint64_t len) const {
  const RecordedPlacement& p = *placement_;
  if (own >= p.trust_lo && own < p.trust_hi) return own;
  if (p.addr > cfg_.task_size || len > cfg_.task_size - p.addr) return own;
  const Vma* v = tree_.lower(p.addr);
  if (v != nullptr && v->start < p.addr + len) return own;
  if (p.addr != own) placement_used_ = true;
  return p.addr;
}

// __get_unmapped_area() including the THP alignment of __thp_get_unmapped_area().
Expected<Addr> AddressSpace::get_unmapped_area(FileId file, Addr addr, std::uint64_t len,
                                               std::uint64_t pgoff, std::uint64_t flags,
                                               VmFlags vm_flags) const {
  if (len > cfg_.task_size) return Errno::NOMEM;
  bool thp_area = false;
  if (const std::uint64_t huge = huge_page_size_of(file); huge != 0) {
    // hugetlb_get_unmapped_area(): a length and a MAP_FIXED address that are
    // not huge page multiples are EINVAL; the hint is aligned up, and x86's
    // searches align to the huge page (get_align_mask()). Probe h1.
    const std::uint64_t mask = huge - 1;
    if ((len & mask) != 0 || ((flags & abi::MAP_FIXED) != 0 && (addr & mask) != 0))
      return Errno::INVAL;
    if (addr != 0) addr = (addr + mask) & ~mask;
    const auto placed = hugetlb_unmapped_area(addr, len, flags, mask);
    return placed ? finish_unmapped_area(*placed, len, flags) : Expected<Addr>(Errno::NOMEM);
  }
  if (file != 0) {
    const FileKind kind = files_->get(file).kind;
    // Disk filesystems use thp_get_unmapped_area(); /dev/zero does for private
    // mappings; shmem does not align unless shmem THP is forced (not modelled).
    thp_area = kind == FileKind::Regular ||
               (kind == FileKind::DevZero && (flags & abi::MAP_SHARED) == 0 && cfg_.thp);
  } else {
    pgoff = 0;
    thp_area = cfg_.thp && (flags & abi::MAP_SHARED) == 0 && addr == 0 && len % kPmdSize == 0;
  }

  std::optional<Addr> result;
  if (thp_area) {
    // __thp_get_unmapped_area(): search with a padded length, then align.
    const std::uint64_t off = pgoff << kPageShift;
    const std::uint64_t off_end = off + len;
    const std::uint64_t off_align = (off + kPmdSize - 1) & ~(kPmdSize - 1);
    const std::uint64_t len_pad = len + kPmdSize;
    if (!(off_end <= off_align || off_end - off_align < kPmdSize) && len_pad >= len &&
        off + len_pad >= off) {
      if (auto r = arch_get_unmapped_area_topdown(addr, len_pad, flags, vm_flags)) {
        if (*r == addr) {
          result = addr;
        } else {
          const Addr off_sub = (off - *r) & (kPmdSize - 1);
          result = off_sub == 0 ? *r + kPmdSize : *r + off_sub;
        }
      }
    }
  }
  if (!result) result = arch_get_unmapped_area_topdown(addr, len, flags, vm_flags);
  if (!result) return Errno::NOMEM;
  return finish_unmapped_area(*result, len, flags);
}

// The end of __get_unmapped_area(), whichever allocator chose `result`.
Expected<Addr> AddressSpace::finish_unmapped_area(Addr result, std::uint64_t len,
                                                  std::uint64_t flags) const {
  if (placement_ && (flags & abi::MAP_FIXED) == 0) result = follow_recorded_placement(result, len);
  // IS_ERR_VALUE(): a MAP_FIXED address in the last 4095 bytes below 2^64 reads
  // as an error code, so the kernel returns -(2^64 - addr) as the errno (probed).
  if (result > ~Addr{0} - 4095) return static_cast<Errno>(static_cast<int>(0 - result));
  if (result > cfg_.task_size - len) return Errno::NOMEM;
  if (!page_aligned(result)) return Errno::INVAL;
  // security_mmap_addr() -> cap_mmap_addr(): below mmap_min_addr needs CAP_SYS_RAWIO.
  if (result < cfg_.dac_mmap_min_addr && !cfg_.caps.has(abi::CAP_SYS_RAWIO)) return Errno::PERM;
  return result;
}

// The x86 allocators with a hugetlbfs file: the hint if it fits, else the
// highest gap below mmap_base that holds an aligned range (unmapped_area_topdown()
// with align_mask), else the lowest from TASK_UNMAPPED_BASE.
std::optional<Addr> AddressSpace::hugetlb_unmapped_area(Addr addr, std::uint64_t len,
                                                        std::uint64_t flags,
                                                        std::uint64_t mask) const {
  if ((flags & abi::MAP_FIXED) != 0) return addr;
  if (len + mask < len || len > cfg_.task_size) return std::nullopt;
  if (addr != 0 && cfg_.task_size - len >= addr) {
    const Vma* v = tree_.lower(addr);
    if (v == nullptr || addr + len <= vm_start_gap(*v)) return addr;
  }
  if ((flags & abi::MAP_32BIT) == 0) {
    const Addr low = (flags & abi::MAP_ABOVE4G) != 0 ? (Addr{1} << 32) : kPageSize;
    if (auto r = unmapped_area_topdown(low, cfg_.mmap_base, len + mask, 0))
      return (*r + mask) & ~mask;
  }
  if (auto r = unmapped_area_bottomup(cfg_.mmap_legacy_base, cfg_.task_size, len + mask, 0))
    return (*r + mask) & ~mask;
  return std::nullopt;
}

// ---- mmap --------------------------------------------------------------------

// sys_mmap() (x86) and ksys_mmap_pgoff().
SysResult AddressSpace::mmap(Addr addr, std::uint64_t len, std::uint64_t prot, std::uint64_t flags,
                             int fd, std::uint64_t off) {
  if ((off & (kPageSize - 1)) != 0) return Errno::INVAL;
  FileId file = 0;
  if ((flags & abi::MAP_ANONYMOUS) == 0) {
    file = fds_.lookup(fd);
    if (file == 0) return Errno::BADF;
    // A hugetlbfs file's length is aligned up to its huge page size (one that
    // wraps to 0 is do_mmap()'s EINVAL); MAP_HUGETLB on any other file is EINVAL.
    if (const std::uint64_t huge = huge_page_size_of(file); huge != 0)
      len = (len + huge - 1) & ~(huge - 1);
    else if ((flags & abi::MAP_HUGETLB) != 0)
      return Errno::INVAL;
  } else if ((flags & abi::MAP_HUGETLB) != 0) {
    // hstate_sizelog() of MAP_HUGE_* (EINVAL without such an hstate), the
    // length aligned up, and a hugetlbfs file for the mapping. Its mmap hook
    // then needs the empty pool (file_mmap_prepare(), memfd.cpp).
    const unsigned shift =
        huge_shift_for(static_cast<unsigned>((flags >> abi::MAP_HUGE_SHIFT) & 0x3f));
    if (shift == 0) return Errno::INVAL;
    const std::uint64_t huge = std::uint64_t{1} << shift;
    len = (len + huge - 1) & ~(huge - 1);
    file = anon_hugetlb_file(shift, len);
  }
  SysResult r = do_mmap(file, addr, len, prot, flags, 0, off >> kPageShift);
  return r;
}

// do_mmap(): validation in kernel order, then placement, then mmap_region().
// NOLINTNEXTLINE(readability-function-size): mirrors do_mmap(), mm/mmap.c
SysResult AddressSpace::do_mmap(FileId file, Addr addr, std::uint64_t len, std::uint64_t prot,
                                std::uint64_t flags, VmFlags vm_flags, std::uint64_t pgoff) {
  if (len == 0) return Errno::INVAL;
  if ((flags & abi::MAP_FIXED_NOREPLACE) != 0) flags |= abi::MAP_FIXED;
  if ((flags & abi::MAP_FIXED) == 0) {
    // round_hint_to_min()
    addr = page_align_down(addr);
    if (addr != 0 && addr < cfg_.mmap_min_addr) addr = page_align_up(cfg_.mmap_min_addr);
  }
  len = page_align_up(len);
  if (len == 0) return Errno::NOMEM;
  if (pgoff + pages(len) < pgoff) return Errno::OVERFLOW;
  if (tree_.size() > cfg_.max_map_count) return Errno::NOMEM;

  // calc_vm_prot_bits() | calc_vm_flag_bits() | def_flags | VM_MAY*.
  if ((prot & abi::PROT_READ) != 0) vm_flags |= vm::READ;
  if ((prot & abi::PROT_WRITE) != 0) vm_flags |= vm::WRITE;
  if ((prot & abi::PROT_EXEC) != 0) vm_flags |= vm::EXEC;
  if ((flags & abi::MAP_GROWSDOWN) != 0) vm_flags |= vm::GROWSDOWN;
  if ((flags & abi::MAP_LOCKED) != 0) vm_flags |= vm::LOCKED;
  if ((flags & abi::MAP_SYNC) != 0) vm_flags |= vm::SYNC;
  if ((flags & abi::MAP_STACK) != 0) vm_flags |= vm::NOHUGEPAGE;
  vm_flags |= def_flags_ | vm::MAYREAD | vm::MAYWRITE | vm::MAYEXEC;

  const Expected<Addr> placed = get_unmapped_area(file, addr, len, pgoff, flags, vm_flags);
  if (!placed) return placed.error();
  addr = *placed;

  if ((flags & abi::MAP_FIXED_NOREPLACE) != 0) {
    const Vma* v = tree_.lower(addr);
    if (v != nullptr && v->start < addr + len) return Errno::EXIST;
  }
  // The typed-seal RFC checked MAP_FIXED here (a non-fixed address is free).
  if (cfg_.seal.fixed_mmap_checked_early && (flags & abi::MAP_FIXED) != 0 &&
      range_has_seal(addr, addr + len, cfg_.seal.base_seal))
    return cfg_.seal.refused;
  // can_do_mlock() and mlock_future_ok()
  if ((flags & abi::MAP_LOCKED) != 0 && cfg_.rlimit_memlock == 0 &&
      !cfg_.caps.has(abi::CAP_IPC_LOCK))
    return Errno::PERM;
  if ((vm_flags & vm::LOCKED) != 0 && !cfg_.caps.has(abi::CAP_IPC_LOCK) &&
      pages(len) + counters_.locked_vm > (cfg_.rlimit_memlock >> kPageShift))
    return Errno::AGAIN;

  if (file != 0) {
    const FileInfo& fi = files_->get(file);
    // file_mmap_ok(): the mapping must end within the largest file offset:
    // MAX_LFS_FILESIZE for regular files and shmem, ULONG_MAX for devices.
    const std::uint64_t maxsize =
        fi.kind == FileKind::DevZero ? ~std::uint64_t{0} : (std::uint64_t{1} << 63) - 1;
    if (len > maxsize || pgoff > ((maxsize - len) >> kPageShift)) return Errno::OVERFLOW;
    std::uint64_t type = flags & abi::MAP_TYPE;
    if (type == abi::MAP_SHARED || type == abi::MAP_SHARED_VALIDATE) {
      if (type == abi::MAP_SHARED) flags &= abi::LEGACY_MAP_MASK;
      if ((flags & ~abi::LEGACY_MAP_MASK) != 0) return Errno::OPNOTSUPP;
      if ((prot & abi::PROT_WRITE) != 0 && !fi.writable) return Errno::ACCES;
      if (fi.append_only && fi.writable) return Errno::ACCES;
      vm_flags |= vm::SHARED | vm::MAYSHARE;
      if (!fi.writable) vm_flags &= ~(vm::MAYWRITE | vm::SHARED);
      type = abi::MAP_PRIVATE;
    }
    if (type != abi::MAP_PRIVATE) return Errno::INVAL;
    if (!fi.readable) return Errno::ACCES;
    if (fi.noexec_mount) {
      if ((vm_flags & vm::EXEC) != 0) return Errno::PERM;
      vm_flags &= ~vm::MAYEXEC;
    }
    if ((vm_flags & vm::GROWSDOWN) != 0) return Errno::INVAL;
    if (Errno e = memfd_check_seals_mmap(file, vm_flags); e != Errno::OK) return e;
  } else {
    switch (flags & abi::MAP_TYPE) {
      case abi::MAP_SHARED:
        if ((vm_flags & vm::GROWSDOWN) != 0) return Errno::INVAL;
        pgoff = 0;
        vm_flags |= vm::SHARED | vm::MAYSHARE;
        break;
      case abi::MAP_DROPPABLE:
        if ((flags & (abi::MAP_LOCKED | abi::MAP_HUGETLB)) != 0) return Errno::INVAL;
        if ((vm_flags & vm::GROWSDOWN) != 0) return Errno::INVAL;
        vm_flags |= vm::DROPPABLE | vm::NORESERVE | vm::WIPEONFORK | vm::DONTDUMP;
        pgoff = addr >> kPageShift;
        break;
      case abi::MAP_PRIVATE:
        pgoff = addr >> kPageShift;
        break;
      default:
        return Errno::INVAL;
    }
  }
  if ((flags & abi::MAP_NORESERVE) != 0 && !cfg_.overcommit_never) vm_flags |= vm::NORESERVE;
  // hugetlb applies strict overcommit unless MAP_NORESERVE.
  if ((flags & abi::MAP_NORESERVE) != 0 && huge_page_size_of(file) != 0) vm_flags |= vm::NORESERVE;

  SysResult r = mmap_region(file, addr, len, vm_flags, pgoff);
  if (r.is_ok() && ((vm_flags & vm::LOCKED) != 0 ||
                    (flags & (abi::MAP_POPULATE | abi::MAP_NONBLOCK)) == abi::MAP_POPULATE))
    populate(addr, addr + len, true);
  return r;
}

// mmap_region() / __mmap_region(): unmap what is in the way (gather, so a
// sealed VMA refuses the whole call), account, merge with a neighbour or
// insert a new VMA.
SysResult AddressSpace::mmap_region(FileId file, Addr addr, std::uint64_t len, VmFlags vm_flags,
                                    std::uint64_t pgoff) {
  // MDWE before anything is unmapped (probes m2, m5: MAP_FIXED write+exec
  // over a mapping, sealed or not, is EACCES and changes nothing).
  if (map_deny_write_exec(vm_flags, vm_flags)) return Errno::ACCES;
  const Addr end = addr + len;
  Gathered gathered;
  bool overlaps = false;
  Vma* next = tree_.lower(addr);  // the first VMA above the range, once it is free
  if (next != nullptr && next->start < end) {
    overlaps = true;
    // vms_gather_munmap_vmas(): checks and splits; nothing is removed yet.
    if (Errno e = gather_unmap_prepare(addr, end, &gathered); e != Errno::OK) return e;
  }
  // The new pages only: a MAP_FIXED over mapped pages is charged the rest
  // (probe a1; a refusal leaves the gather's splits, a1.6).
  if (!may_expand_vm(vm_flags, pages(len) - gathered.pages)) return Errno::NOMEM;
  // accountable_mapping(): private writable mappings are charged (hugetlb
  // has its own accounting).
  if ((vm_flags & (vm::NORESERVE | vm::SHARED | vm::WRITE)) == vm::WRITE &&
      huge_page_size_of(file) == 0) {
    const std::uint64_t charged = pages(len) - gathered.accounted;
    if (charged != 0 && !vm_enough_memory(charged)) return Errno::NOMEM;
    vm_flags |= vm::ACCOUNT;
  }
  // The file's mmap hook (call_mmap_prepare(), mmap_file()) runs once
  // vms_clean_up_area() has cleared the old range's page tables, so when it
  // fails vms_abort_munmap_vmas() leaves the range unmapped (probes s1.8,
  // s4.5, h1.21).
  if (file != 0) {
    if (Errno e = file_mmap_prepare(file, len, vm_flags, pgoff); e != Errno::OK) {
      if (overlaps) remove_range(addr, end);
      return e;
    }
  }
  if (overlaps) {
    remove_range(addr, end);
    next = tree_.lower(end);
  }

  // The file a new VMA will carry: MAP_SHARED of anonymous memory or of
  // /dev/zero gets a fresh shmem file (shmem_zero_setup()).
  FileId vma_file = file;
  const bool shared_anon =
      (vm_flags & vm::SHARED) != 0 && (file == 0 || files_->get(file).kind == FileKind::DevZero);
  if (shared_anon) {
    FileInfo shm;
    shm.path = "/dev/zero (deleted)";
    shm.dev_major = 0;
    shm.dev_minor = 1;
    shm.inode = files_->next_shmem_inode();
    shm.readable = true;
    shm.writable = true;
    shm.kind = FileKind::Shmem;
    shm.size = len;
    vma_file = files_->add(shm);
  }

  // The range is free now: its neighbours are `next` and the VMA before it.
  Vma* prev = next != nullptr ? tree_.prev_of(*next) : tree_.last();
  Vma* placed = nullptr;
  if (vma_file == file)
    placed = merge_new_range(prev, next, addr, end, vm_flags, pgoff, file, 0, false, false);
  if (placed == nullptr) {
    Vma v;
    v.start = addr;
    v.end = end;
    v.flags = vm_flags;
    v.set_pgoff(pgoff);
    v.file = vma_file;
    placed = &tree_.insert(v);
  }
  vm_stat_account(vm_flags, static_cast<std::int64_t>(pages(len)));
  if ((vm_flags & vm::LOCKED) != 0) {
    if ((placed->flags & vm::SPECIAL) != 0)
      placed->flags &= ~vm::LOCKED_MASK;
    else
      counters_.locked_vm += pages(len);
  }
  return SysResult::ok(addr);
}

// ---- SysV shm ----------------------------------------------------------------

// do_shmat(): maps the segment's file shared through do_mmap().
SysResult AddressSpace::shmat(FileId segment, Addr addr, std::uint64_t shmflg) {
  shmflg &= 0xffffffffU;  // an int in the system call
  if (!files_->valid(segment)) return Errno::INVAL;
  const FileInfo& seg = files_->get(segment);
  std::uint64_t flags = abi::MAP_SHARED;
  if (addr != 0) {
    if ((addr & (abi::SHMLBA - 1)) != 0) {
      if ((shmflg & abi::SHM_RND) != 0) {
        addr &= ~(abi::SHMLBA - 1);
        if (addr == 0 && (shmflg & abi::SHM_REMAP) != 0) return Errno::INVAL;
      } else {
        return Errno::INVAL;
      }
    }
    flags |= abi::MAP_FIXED;
  } else if ((shmflg & abi::SHM_REMAP) != 0) {
    return Errno::INVAL;
  }
  std::uint64_t prot = abi::PROT_READ;
  if ((shmflg & abi::SHM_RDONLY) == 0) prot |= abi::PROT_WRITE;
  if ((shmflg & abi::SHM_EXEC) != 0) prot |= abi::PROT_EXEC;
  const std::uint64_t size = seg.size;
  if (addr != 0 && (shmflg & abi::SHM_REMAP) == 0) {
    if (addr + size < addr) return Errno::INVAL;
    const Vma* v = tree_.lower(addr);
    if (v != nullptr && v->start < addr + size) return Errno::INVAL;
  }
  // Each attach maps its own struct file (alloc_file_clone()), opened O_RDONLY
  // under SHM_RDONLY: such a VMA has no VM_MAYWRITE, so mprotect(PROT_WRITE)
  // is EACCES. shmdt() matches the VMAs of one attach by this file.
  FileInfo clone = seg;
  clone.readable = true;
  clone.writable = (shmflg & abi::SHM_RDONLY) == 0;
  const FileId attach = files_->add(clone);
  return do_mmap(attach, addr, size, prot, flags, 0, 0);
}

// ksys_shmdt(): unmaps every VMA of the segment attached at `addr`. Errors
// from the unmaps (a sealed segment) are ignored: shmdt still returns 0.
SysResult AddressSpace::shmdt(Addr addr) {
  if (!page_aligned(addr)) return Errno::INVAL;
  auto is_shm_at = [&](const Vma& v) {
    return v.file != 0 && files_->get(v.file).kind == FileKind::SysvShm &&
           (v.start - addr) / kPageSize == v.pgoff;
  };
  Vma* v = tree_.lower(addr);
  while (v != nullptr && !is_shm_at(*v)) v = tree_.next_of(*v);
  if (v == nullptr) return Errno::INVAL;
  const FileId seg = v->file;
  const std::uint64_t size = page_align_up(files_->get(seg).size);
  Addr cursor = v->end;
  (void)gather_unmap(v->start, v->end);
  for (v = tree_.lower(cursor); v != nullptr && v->end - addr <= size;) {
    const Addr vend = v->end;
    if (is_shm_at(*v) && v->file == seg) (void)gather_unmap(v->start, v->end);
    v = tree_.lower(vend);
  }
  return SysResult::ok(0);
}

}  // namespace vmseal

namespace vmseal {

// munmap(2): do_vmi_munmap() then the unmap primitive.
SysResult AddressSpace::munmap(Addr start, std::uint64_t len) {
  if (!page_aligned(start) || start > cfg_.task_size || len > cfg_.task_size - start)
    return Errno::INVAL;
  const Addr end = start + page_align_up(len);
  if (end == start) return Errno::INVAL;
  if (Errno e = gather_unmap(start, end); e != Errno::OK) return e;
  return SysResult::ok(0);
}

}  // namespace vmseal
