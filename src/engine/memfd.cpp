// The files whose own state decides memory calls: memfd_create(2) and file
// seals (mm/memfd.c, the seal checks of mm/shmem.c and fs/hugetlbfs), memfd_secret(2)
// (mm/secretmem.c), hugetlbfs files on a machine whose pools are empty
// (fs/hugetlbfs/inode.c, mm/hugetlb.c), and ftruncate(2) of them. The probe
// behind every rule is tests/kernel/memfd.c (docs/kernel-rules.md §6e).
#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

// The devices /proc/PID/maps shows for these files on the probe machine
// (shmem is always 0:1; the others are anonymous mounts numbered at boot).
constexpr std::uint32_t kShmemMinor = 1;
constexpr std::uint32_t kSecretmemMinor = 0x0e;
constexpr std::uint32_t kHugetlbfsMinor = 0x11;

constexpr std::uint64_t kWriteSeals = abi::SEAL_WRITE | abi::SEAL_FUTURE_WRITE;

bool has_seals(const FileInfo& f) noexcept {
  return f.kind == FileKind::Shmem || f.kind == FileKind::Hugetlb;
}

}  // namespace

// memfd_create(2) (mm/memfd.c): the flag checks, check_sysctl_memfd_noexec(),
// the name's length, then shmem_file_setup() or hugetlb_file_setup() (ENODEV
// for a huge page size without an hstate), and the seals. Probe f1, h1.
SysResult AddressSpace::memfd_create(std::uint64_t flags, std::string_view name) {
  flags &= 0xffffffffU;  // an unsigned int
  constexpr std::uint64_t kAll = abi::MFD_CLOEXEC | abi::MFD_ALLOW_SEALING | abi::MFD_HUGETLB |
                                 abi::MFD_NOEXEC_SEAL | abi::MFD_EXEC;
  const std::uint64_t allowed =
      (flags & abi::MFD_HUGETLB) != 0 ? kAll | (abi::MFD_HUGE_MASK << abi::MFD_HUGE_SHIFT) : kAll;
  if ((flags & ~allowed) != 0) return Errno::INVAL;
  if ((flags & abi::MFD_EXEC) != 0 && (flags & abi::MFD_NOEXEC_SEAL) != 0) return Errno::INVAL;
  if ((flags & (abi::MFD_EXEC | abi::MFD_NOEXEC_SEAL)) == 0)
    flags |= cfg_.memfd_noexec >= 1 ? abi::MFD_NOEXEC_SEAL : abi::MFD_EXEC;
  if ((flags & abi::MFD_NOEXEC_SEAL) == 0 && cfg_.memfd_noexec >= 2) return Errno::ACCES;
  if (name.size() > abi::MFD_NAME_MAX_LEN) return Errno::INVAL;
  FileInfo f;
  f.path = "/memfd:" + std::string(name) + " (deleted)";
  f.readable = f.writable = true;
  f.size_known = true;
  f.inode = files_->next_shmem_inode();
  f.kind = FileKind::Shmem;
  f.dev_minor = kShmemMinor;
  if ((flags & abi::MFD_HUGETLB) != 0) {
    const unsigned shift =
        huge_shift_for(static_cast<unsigned>((flags >> abi::MFD_HUGE_SHIFT) & abi::MFD_HUGE_MASK));
    if (shift == 0) return Errno::NODEV;
    f.kind = FileKind::Hugetlb;
    f.dev_minor = kHugetlbfsMinor;
    f.huge_shift = static_cast<std::uint8_t>(shift);
  }
  if ((flags & abi::MFD_NOEXEC_SEAL) != 0) {
    f.exec_mode = false;
    f.seals = static_cast<std::uint32_t>((f.seals & ~abi::SEAL_SEAL) | abi::SEAL_EXEC);
  } else if ((flags & abi::MFD_ALLOW_SEALING) != 0) {
    f.seals = static_cast<std::uint32_t>(f.seals & ~abi::SEAL_SEAL);
  }
  const int fd = fds_.install(files_->add(std::move(f)));
  fds_.set_cloexec(fd, (flags & abi::MFD_CLOEXEC) != 0);
  return SysResult::ok(static_cast<std::uint64_t>(fd));
}

// memfd_secret(2) (mm/secretmem.c): only O_CLOEXEC; ENOSYS where secretmem
// is off. The file lives on a noexec mount. Probe s1.
SysResult AddressSpace::memfd_secret(std::uint64_t flags) {
  flags &= 0xffffffffU;
  if (!cfg_.secretmem) return Errno::NOSYS;
  if ((flags & ~abi::OPEN_CLOEXEC) != 0) return Errno::INVAL;
  FileInfo f;
  f.path = "/secretmem (deleted)";
  f.readable = f.writable = true;
  f.noexec_mount = true;
  f.size_known = true;
  f.kind = FileKind::Secretmem;
  f.inode = files_->next_shmem_inode();
  f.dev_minor = kSecretmemMinor;
  const int fd = fds_.install(files_->add(std::move(f)));
  fds_.set_cloexec(fd, (flags & abi::OPEN_CLOEXEC) != 0);
  return SysResult::ok(static_cast<std::uint64_t>(fd));
}

bool AddressSpace::maps_inode_writably(FileId file) const noexcept {
  constexpr VmFlags kShared = vm::SHARED | vm::MAYWRITE;
  for (const Vma* v = tree_.first(); v != nullptr; v = tree_.next_of(*v))
    if (v->file != 0 && (v->flags & kShared) == kShared && files_->same_inode(v->file, file))
      return true;
  return false;
}

// do_fcntl() -> memfd_fcntl() -> memfd_add_seals() / memfd_get_seals(). The
// argument is an unsigned int (its upper bits are dropped). F_ADD_SEALS: a
// file not open for writing is EPERM before anything else, unknown seals
// EINVAL, a file without seals EINVAL, F_SEAL_SEAL EPERM; F_SEAL_EXEC on an
// executable file adds the write seals first, so that F_SEAL_WRITE newly
// added is EBUSY while the inode is mapped shared and writable
// (mapping_deny_writable()). GUP pins (memfd_wait_for_pins()) are not
// modelled. Probes f1-f4, f6, h1.
SysResult AddressSpace::fcntl(int fd, std::uint64_t cmd, std::uint64_t arg, bool mapped_elsewhere) {
  const FileId file = fds_.lookup(fd);
  if (file == 0) return Errno::BADF;
  FileInfo& f = files_->get(file);
  cmd &= 0xffffffffU;
  if (cmd == abi::GET_SEALS) {
    if (!has_seals(f)) return Errno::INVAL;
    return SysResult::ok(f.seals);
  }
  if (cmd != abi::ADD_SEALS) return Errno::INVAL;
  std::uint64_t seals = arg & 0xffffffffU;
  if (!f.writable) return Errno::PERM;
  if ((seals & ~abi::ALL_SEALS) != 0) return Errno::INVAL;
  if (!has_seals(f)) return Errno::INVAL;
  if ((f.seals & abi::SEAL_SEAL) != 0) return Errno::PERM;
  if ((seals & abi::SEAL_EXEC) != 0 && f.exec_mode)
    seals |= abi::SEAL_SHRINK | abi::SEAL_GROW | kWriteSeals;
  if ((seals & abi::SEAL_WRITE) != 0 && (f.seals & abi::SEAL_WRITE) == 0 &&
      (mapped_elsewhere || maps_inode_writably(file)))
    return Errno::BUSY;
  files_->add_seals(file, static_cast<std::uint32_t>(seals));
  return SysResult::ok(0);
}

// do_sys_ftruncate(): a negative length, then the fd, then a file that is not
// a regular one opened for writing (EINVAL), then the file system's setattr:
// shmem_setattr() and hugetlbfs_setattr() refuse to shrink under
// F_SEAL_SHRINK and to grow under F_SEAL_GROW (EPERM), hugetlbfs sizes are
// huge page multiples, secretmem_setattr() sets a size once (EINVAL after).
// A size the engine does not know is taken as it comes. Probes f5, s1, h1.
SysResult AddressSpace::ftruncate(int fd, std::uint64_t length) {
  if (static_cast<std::int64_t>(length) < 0) return Errno::INVAL;
  const FileId file = fds_.lookup(fd);
  if (file == 0) return Errno::BADF;
  const FileInfo& f = files_->get(file);
  if (f.kind == FileKind::DevZero || f.kind == FileKind::SysvShm || !f.writable)
    return Errno::INVAL;
  if (f.append_only) return Errno::PERM;
  if (length > abi::MAX_LFS_FILESIZE) return Errno::FBIG;
  switch (f.kind) {
    case FileKind::Secretmem:
      if (f.size != 0) return Errno::INVAL;
      break;
    case FileKind::Hugetlb:
      if ((length & (huge_page_size_of(file) - 1)) != 0) return Errno::INVAL;
      [[fallthrough]];
    case FileKind::Shmem:
      if (f.size_known && ((length < f.size && (f.seals & abi::SEAL_SHRINK) != 0) ||
                           (length > f.size && (f.seals & abi::SEAL_GROW) != 0)))
        return Errno::PERM;
      break;
    default:
      break;
  }
  files_->set_size(file, length, true);
  return SysResult::ok(0);
}

// ---- what mm asks of these files -------------------------------------------------

// memfd_check_seals_mmap(), called by do_mmap() once the mapping type is
// known: a write-sealed (F_SEAL_WRITE or F_SEAL_FUTURE_WRITE) file refuses a
// shared writable mapping (EPERM, before anything is unmapped) and gives a
// shared read-only one no VM_MAYWRITE, so mprotect() cannot make it writable.
// Private mappings are not concerned. F_SEAL_EXEC does not matter to mm.
// Probes f2, f3, f6.
Errno AddressSpace::memfd_check_seals_mmap(FileId file, VmFlags& vm_flags) const noexcept {
  const FileInfo& f = files_->get(file);
  if (!has_seals(f) || (f.seals & kWriteSeals) == 0 || (vm_flags & vm::SHARED) == 0)
    return Errno::OK;
  if ((vm_flags & vm::WRITE) != 0) return Errno::PERM;
  vm_flags &= ~vm::MAYWRITE;
  return Errno::OK;
}

// The file system's mmap hook, which __mmap_region() calls once the old range
// is gathered, accounted and its page tables cleared (so a failure leaves the
// range unmapped; mmap_region() does that). Probes s1, s4, h1.
//  - secretmem_mmap_prepare(): MAP_SHARED only (EINVAL); mlock_future_ok()
//    for the whole length (EAGAIN without CAP_IPC_LOCK beyond RLIMIT_MEMLOCK,
//    counting the VMAs being replaced); VM_LOCKED|VM_DONTDUMP.
//  - hugetlbfs_file_mmap(): VM_HUGETLB|VM_DONTEXPAND; a file offset that is
//    not a huge page multiple is EINVAL; the reservation
//    (hugetlb_reserve_pages()) fails with an empty pool unless VM_NORESERVE
//    (ENOMEM); a writable mapping extends the file to its end.
Errno AddressSpace::file_mmap_prepare(FileId file, std::uint64_t len, VmFlags& vm_flags,
                                      std::uint64_t pgoff) noexcept {
  const FileInfo& f = files_->get(file);
  if (f.kind == FileKind::Secretmem) {
    if ((vm_flags & (vm::SHARED | vm::MAYSHARE)) == 0) return Errno::INVAL;
    if (!cfg_.caps.has(abi::CAP_IPC_LOCK) &&
        pages(len) + counters_.locked_vm > (cfg_.rlimit_memlock >> kPageShift))
      return Errno::AGAIN;
    vm_flags |= vm::LOCKED | vm::DONTDUMP;
    return Errno::OK;
  }
  if (f.kind != FileKind::Hugetlb) return Errno::OK;
  const std::uint64_t huge = huge_page_size_of(file);
  vm_flags |= vm::HUGETLB | vm::DONTEXPAND;
  if ((pgoff & ((huge >> kPageShift) - 1)) != 0) return Errno::INVAL;
  const std::uint64_t end = len + (pgoff << kPageShift);
  if (end < len) return Errno::INVAL;
  if ((vm_flags & vm::NORESERVE) == 0) return Errno::NOMEM;  // the pool is empty
  if ((vm_flags & vm::WRITE) != 0 && f.size_known && f.size < end)
    files_->set_size(file, end, true);
  return Errno::OK;
}

// hstate_sizelog(): the hstate of a log2 size, 0 meaning the default one
// (the smallest here); 0 when there is none.
unsigned AddressSpace::huge_shift_for(unsigned log2) const noexcept {
  const std::uint64_t have = cfg_.huge_page_shifts & ((std::uint64_t{1} << 63) - 1);
  if (log2 == 0) return have == 0 ? 0 : static_cast<unsigned>(__builtin_ctzll(have));
  return log2 < 63 && ((have >> log2) & 1) != 0 ? log2 : 0;
}

bool AddressSpace::is_secretmem(const Vma& v) const noexcept {
  return v.file != 0 && files_->get(v.file).kind == FileKind::Secretmem;
}

std::uint64_t AddressSpace::huge_page_size_of(FileId file) const noexcept {
  if (file == 0 || files_->get(file).kind != FileKind::Hugetlb) return 0;
  return std::uint64_t{1} << files_->get(file).huge_shift;
}

std::uint64_t AddressSpace::huge_page_size(const Vma& v) const noexcept {
  return (v.flags & vm::HUGETLB) != 0 ? huge_page_size_of(v.file) : 0;
}

// hugetlb_file_setup(HUGETLB_ANON_FILE): the file behind MAP_HUGETLB, as
// ksys_mmap_pgoff() makes it for each call.
FileId AddressSpace::anon_hugetlb_file(unsigned shift, std::uint64_t len) {
  FileInfo f;
  f.path = "/anon_hugepage (deleted)";
  f.readable = f.writable = true;
  f.kind = FileKind::Hugetlb;
  f.dev_minor = kHugetlbfsMinor;
  f.inode = files_->next_shmem_inode();
  f.huge_shift = static_cast<std::uint8_t>(shift);
  f.size = len;
  f.size_known = true;
  return files_->add(std::move(f));
}

}  // namespace vmseal
