// userfaultfd(2), Linux 6.18: the system call and the ioctls that change VMAs
// (fs/userfaultfd.c: new_userfaultfd(), userfaultfd_api(),
// userfaultfd_register(), userfaultfd_unregister(), userfaultfd_release()),
// and their VMA side (mm/userfaultfd.c: userfaultfd_register_range(),
// userfaultfd_clear_vma(), userfaultfd_release_all(); dup_userfaultfd() at
// fork and mremap_userfaultfd_prep() at a move). A VMA's context is an id in
// its flags (vm::UFFD_CTX_MASK), so merges compare it as is_mergeable_vma()
// does. Faults and events are not modelled (docs/engine.md). Probed on 6.18:
// tests/kernel/uffd.c, tests/data/uffd.expected (docs/kernel-rules.md 6f).
#include <algorithm>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {

namespace {

constexpr std::uint64_t kModes = abi::UFFDIO_REGISTER_MODE_MISSING | abi::UFFDIO_REGISTER_MODE_WP |
                                 abi::UFFDIO_REGISTER_MODE_MINOR;
constexpr std::uint64_t kSyscallFlags =
    abi::UFFD_CLOEXEC | abi::UFFD_NONBLOCK | abi::UFFD_USER_MODE_ONLY;

constexpr VmFlags ctx_bits(UffdId id) noexcept { return VmFlags{id} << vm::kUffdCtxShift; }
constexpr UffdId ctx_of(const Vma& v) noexcept {
  return static_cast<UffdId>((v.flags & vm::UFFD_CTX_MASK) >> vm::kUffdCtxShift);
}

// The VM_UFFD_* flags of a registration mode.
VmFlags mode_flags(std::uint64_t mode) noexcept {
  VmFlags f = 0;
  if ((mode & abi::UFFDIO_REGISTER_MODE_MISSING) != 0) f |= vm::UFFD_MISSING;
  if ((mode & abi::UFFDIO_REGISTER_MODE_WP) != 0) f |= vm::UFFD_WP;
  if ((mode & abi::UFFDIO_REGISTER_MODE_MINOR) != 0) f |= vm::UFFD_MINOR;
  return f;
}

}  // namespace

// userfaultfd_syscall_allowed(), then new_userfaultfd(): without
// UFFD_USER_MODE_ONLY it takes CAP_SYS_PTRACE or vm.unprivileged_userfaultfd,
// and that is asked before the flags (an unprivileged userfaultfd(0x10) is
// EPERM; probe u12, the process_state traces).
SysResult AddressSpace::userfaultfd(std::uint64_t flags) {
  flags &= 0xffffffffU;  // an int
  if ((flags & abi::UFFD_USER_MODE_ONLY) == 0 && !cfg_.caps.has(abi::CAP_SYS_PTRACE) &&
      !cfg_.unprivileged_userfaultfd)
    return Errno::PERM;
  if ((flags & ~kSyscallFlags) != 0) return Errno::INVAL;  // probe u1
  UffdCtx ctx;
  ctx.flags = flags;
  ctx.mm = mm_id_;
  const UffdId id = files_->add_uffd(ctx);
  if (id == 0) return Errno::NFILE;  // more live contexts than the engine holds (kMaxUffds)
  FileInfo fi;
  fi.path = "anon_inode:[userfaultfd]";
  fi.readable = fi.writable = true;
  fi.uffd = id;
  return SysResult::ok(static_cast<std::uint64_t>(
      fds_.install(files_->add(fi), 3, (flags & abi::UFFD_CLOEXEC) != 0)));
}

UffdId AddressSpace::uffd_of(int fd) const noexcept {
  const FileId f = fds_.lookup(fd);
  return f == 0 ? 0 : files_->get(f).uffd;
}

namespace {

// vfs_ioctl() before userfaultfd_ioctl(): no such fd, or a file without
// these ioctls.
Errno ioctl_target(const FdTable& fds, int fd, UffdId uffd) noexcept {
  if (fds.lookup(fd) == 0) return Errno::BADF;
  return uffd == 0 ? Errno::NOTTY : Errno::OK;
}

}  // namespace

// userfaultfd_api(): the version, then UFFD_FEATURE_EVENT_FORK's
// CAP_SYS_PTRACE (EPERM), then features this kernel lacks, then a second
// handshake (the features are set once, by cmpxchg): EINVAL. A failed call
// leaves the context unready (probes u1, u12).
SysResult AddressSpace::uffdio_api(int fd, std::uint64_t api, std::uint64_t features) {
  const UffdId id = uffd_of(fd);
  if (Errno e = ioctl_target(fds_, fd, id); e != Errno::OK) return e;
  UffdCtx& ctx = *files_->uffd(id);
  if (api != abi::UFFD_API) return Errno::INVAL;
  if ((features & abi::UFFD_FEATURE_EVENT_FORK) != 0 && !cfg_.caps.has(abi::CAP_SYS_PTRACE))
    return Errno::PERM;
  if ((features & abi::UFFD_FEATURE_WP_ASYNC) != 0) features |= abi::UFFD_FEATURE_WP_UNPOPULATED;
  if ((features & ~abi::UFFD_API_FEATURES) != 0) return Errno::INVAL;
  if (ctx.ready) return Errno::INVAL;
  ctx.features = features;
  ctx.ready = true;
  return SysResult::ok(0);
}

SysResult AddressSpace::uffdio_register(int fd, Addr start, std::uint64_t len, std::uint64_t mode) {
  const UffdId id = uffd_of(fd);
  if (Errno e = ioctl_target(fds_, fd, id); e != Errno::OK) return e;
  return uffd_register(id, start, len, mode);
}

SysResult AddressSpace::uffdio_unregister(int fd, Addr start, std::uint64_t len) {
  const UffdId id = uffd_of(fd);
  if (Errno e = ioctl_target(fds_, fd, id); e != Errno::OK) return e;
  return uffd_unregister(id, start, len);
}

// close(2): the fd goes; a userfaultfd no other fd of this process names
// is released (probe u8).
SysResult AddressSpace::close(int fd) {
  const FileId f = fds_.lookup(fd);
  if (f == 0) return Errno::BADF;
  fds_.close(fd);
  AddressSpace* self = this;
  release_if_unheld(*files_, f, std::span<AddressSpace* const>(&self, 1));
  return SysResult::ok(0);
}

// __fput() of the last reference: userfaultfd_release() clears the
// context's VMAs in its mm (userfaultfd_release_all()). An mm that is gone
// (exec, exit) has none left to clear (probe u8: a forked child's copy of
// the fd keeps the context until the child exits).
bool release_if_unheld(FileTable& files, FileId file, std::span<AddressSpace* const> processes) {
  if (!files.valid(file)) return false;
  FileInfo& fi = files.get(file);
  const UffdCtx* ctx = files.uffd(fi.uffd);
  if (ctx == nullptr) return false;
  for (const AddressSpace* p : processes)
    if (&p->files() == &files && p->fds().holds(file)) return false;
  for (AddressSpace* p : processes) {
    if (&p->files() == &files && p->mm_id() == ctx->mm) {
      p->uffd_release(fi.uffd);
      break;
    }
  }
  files.free_uffd(fi.uffd);
  fi.uffd = 0;
  return true;
}

// validate_range(): page-aligned, non-empty, from mmap_min_addr (the
// kernel's, 64 KiB here) and below TASK_SIZE (probe u3).
Errno AddressSpace::uffd_validate_range(Addr start, std::uint64_t len) const noexcept {
  if (!page_aligned(start) || !page_aligned(len) || len == 0) return Errno::INVAL;
  if (start < cfg_.mmap_min_addr || start >= cfg_.task_size) return Errno::INVAL;
  if (len > cfg_.task_size - start) return Errno::INVAL;
  return Errno::OK;
}

// vma_is_shmem(): tmpfs, memfd and shared anonymous memory; SysV shm has its
// own vm_ops (probe u4: EINVAL there).
bool AddressSpace::is_shmem(const Vma& v) const noexcept {
  return v.special == SpecialKind::None && v.file != 0 &&
         files_->get(v.file).kind == FileKind::Shmem;
}

// vma_can_userfault() (include/linux/userfaultfd_k.h): never VM_DROPPABLE;
// minor faults only on shmem (and hugetlb); with UFFD_FEATURE_WP_ASYNC, WP
// alone on any memory; otherwise anonymous memory, shmem or hugetlb. This
// kernel has uffd-wp PTE markers, so WP works on shmem too (probe u4).
bool AddressSpace::vma_can_userfault(const Vma& v, VmFlags want, bool wp_async) const noexcept {
  want &= vm::UFFD_FLAGS;
  if ((v.flags & vm::DROPPABLE) != 0) return false;
  const bool hugetlb = (v.flags & vm::HUGETLB) != 0;
  if ((want & vm::UFFD_MINOR) != 0 && !hugetlb && !is_shmem(v)) return false;
  if (wp_async && want == vm::UFFD_WP) return true;
  return is_anonymous(v) || hugetlb || is_shmem(v);
}

// userfaultfd_register(): the context must be ready (userfaultfd_ioctl()),
// then the mode, the range, and every VMA in it before anything changes:
// vma_can_userfault() (EINVAL), VM_MAYWRITE (EPERM), another context's
// (EBUSY), in address order. Holes are allowed, but the range must hold a
// VMA (probes u1-u6). No seal is asked: a sealed VMA is split and registered
// (probe u9). A context of another mm finds no VMA here (probe u13: after
// execve).
SysResult AddressSpace::uffd_register(UffdId id, Addr start, std::uint64_t len,
                                      std::uint64_t mode) {
  const UffdCtx* ctx = files_->uffd(id);
  if (ctx == nullptr || !ctx->ready) return Errno::INVAL;
  if (mode == 0 || (mode & ~kModes) != 0) return Errno::INVAL;
  const VmFlags want = mode_flags(mode);
  if (Errno e = uffd_validate_range(start, len); e != Errno::OK) return e;
  const Addr end = start + len;
  Vma* first = tree_.lower(start);
  if (ctx->mm != mm_id_ || first == nullptr || first->start >= end) return Errno::INVAL;
  const bool wp_async = (ctx->features & abi::UFFD_FEATURE_WP_ASYNC) != 0;
  for (const Vma* v = first; v != nullptr && v->start < end; v = tree_.next_of(*v)) {
    if (!vma_can_userfault(*v, want, wp_async)) return Errno::INVAL;
    if ((v->flags & vm::MAYWRITE) == 0) return Errno::PERM;
    if (const UffdId other = ctx_of(*v); other != 0 && other != id) return Errno::BUSY;
  }
  if (Errno e = uffd_register_range(id, first, want, start, end); e != Errno::OK) return e;
  return SysResult::ok(0);
}

// userfaultfd_register_range(): a VMA that has the context and the modes
// already is left alone; any other part of the range takes the context and
// the modes *instead of* its own (probe u2: WP over MISSING leaves uw),
// through vma_modify_flags_uffd(): merged with a neighbour of the same
// context and flags, else split off (probe u5).
Errno AddressSpace::uffd_register_range(UffdId id, Vma* vma, VmFlags want, Addr start, Addr end) {
  Vma* prev = vma->start < start ? vma : tree_.prev_of(*vma);
  for (Vma* v = vma; v != nullptr && v->start < end;) {
    if (ctx_of(*v) == id && (v->flags & want) == want) {
      prev = v;
      v = tree_.next_of(*v);
      continue;
    }
    const Addr s = std::max(start, v->start);
    const Addr e = std::min(end, v->end);
    const Expected<Vma*> got =
        modify_range(prev, v, s, e, (v->flags & ~vm::UFFD_STATE) | want | ctx_bits(id));
    if (!got) return got.error();
    prev = *got;
    v = tree_.next_of(*prev);
  }
  return Errno::OK;
}

// userfaultfd_clear_vma(): [start, end) of `vma` loses its modes and its
// context, merging where it can (vma_modify_flags_uffd()).
Expected<Vma*> AddressSpace::uffd_clear_vma(Vma* prev, Vma* vma, Addr start, Addr end) {
  return modify_range(prev, vma, start, end, vma->flags & ~vm::UFFD_STATE);
}

// userfaultfd_unregister(): the context must be ready, then the range; every
// VMA in it is checked first: another context's, or one vma_can_userfault()
// refuses with its own modes (a plain file VMA), is EINVAL (probes u4, u6).
// Then each registered VMA is cleared; the others are skipped.
SysResult AddressSpace::uffd_unregister(UffdId id, Addr start, std::uint64_t len) {
  const UffdCtx* ctx = files_->uffd(id);
  if (ctx == nullptr || !ctx->ready) return Errno::INVAL;
  if (Errno e = uffd_validate_range(start, len); e != Errno::OK) return e;
  const Addr end = start + len;
  Vma* first = tree_.lower(start);
  if (ctx->mm != mm_id_ || first == nullptr || first->start >= end) return Errno::INVAL;
  const bool wp_async = (ctx->features & abi::UFFD_FEATURE_WP_ASYNC) != 0;
  for (const Vma* v = first; v != nullptr && v->start < end; v = tree_.next_of(*v)) {
    if (const UffdId other = ctx_of(*v); other != 0 && other != id) return Errno::INVAL;
    if (!vma_can_userfault(*v, v->flags, wp_async)) return Errno::INVAL;
  }
  Vma* prev = first->start < start ? first : tree_.prev_of(*first);
  for (Vma* v = first; v != nullptr && v->start < end;) {
    if (ctx_of(*v) == 0) {
      prev = v;
      v = tree_.next_of(*v);
      continue;
    }
    const Expected<Vma*> got =
        uffd_clear_vma(prev, v, std::max(start, v->start), std::min(end, v->end));
    if (!got) return got.error();
    prev = *got;
    v = tree_.next_of(*prev);
  }
  return SysResult::ok(0);
}

// userfaultfd_release_all(): each VMA of the context is cleared whole, with
// the merges that allows (probe u8); a sealed one too (probe u9).
void AddressSpace::uffd_release(UffdId id) {
  Vma* prev = nullptr;
  for (Vma* v = tree_.first(); v != nullptr;) {
    if (ctx_of(*v) != id) {
      prev = v;
      v = tree_.next_of(*v);
      continue;
    }
    const Expected<Vma*> got = uffd_clear_vma(prev, v, v->start, v->end);
    if (!got) return;  // a whole VMA is never split
    prev = *got;
    v = tree_.next_of(*prev);
  }
}

// mremap_userfaultfd_prep() on the VMA copy_vma() gave the destination
// (merged with a neighbour or not): without UFFD_FEATURE_EVENT_REMAP it
// loses its modes and context, whole and with no merge after (probe u10:
// a neighbour of the same context merged into it loses them too; a fresh
// mergeable neighbour stays separate). With the feature it keeps them and
// the monitor is told (probe u11).
void AddressSpace::uffd_move_prep(Addr dst) {
  Vma* v = tree_.find(dst);
  if (v == nullptr || ctx_of(*v) == 0) return;
  const UffdCtx* ctx = files_->uffd(ctx_of(*v));
  if (ctx != nullptr && (ctx->features & abi::UFFD_FEATURE_EVENT_REMAP) != 0) return;
  v->flags &= ~vm::UFFD_STATE;
}

// dup_userfaultfd(): a child's VMA keeps its registration only when the
// context has UFFD_FEATURE_EVENT_FORK, with a new context of the child's
// (one per parent context); otherwise it loses it, with no merge (probe u7:
// the child's VMAs stay split).
void AddressSpace::dup_userfaultfd(Vma& c, std::uint32_t child_mm,
                                   std::vector<std::pair<UffdId, UffdId>>& made) const {
  const UffdId id = ctx_of(c);
  if (id == 0) return;
  const UffdCtx* ctx = files_->uffd(id);
  UffdId child_id = 0;
  if (ctx != nullptr && (ctx->features & abi::UFFD_FEATURE_EVENT_FORK) != 0) {
    const auto it =
        std::find_if(made.begin(), made.end(), [&](const auto& p) { return p.first == id; });
    if (it != made.end()) {
      child_id = it->second;
    } else {
      UffdCtx fresh = *ctx;
      fresh.mm = child_mm;
      child_id = files_->add_uffd(fresh);  // 0 when full: dropped as without the feature
      made.emplace_back(id, child_id);
    }
  }
  c.flags &= ~vm::UFFD_CTX_MASK;
  if (child_id == 0)
    c.flags &= ~vm::UFFD_FLAGS;
  else
    c.flags |= ctx_bits(child_id);
}

}  // namespace vmseal
