// Open files as the engine sees them: identity (the kernel's struct file), how
// the file was opened, and what it looks like in /proc/PID/maps. The engine does
// no I/O; callers (the trace simulator, tests, the live-process importer)
// describe files here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "vmseal/engine/vma.hpp"

namespace vmseal {

enum class FileKind : std::uint8_t {
  Regular,  // a file on a disk filesystem (get_unmapped_area may THP-align)
  Shmem,    // tmpfs / memfd / the file behind MAP_SHARED|MAP_ANONYMOUS
  DevZero,  // /dev/zero: MAP_PRIVATE of it is anonymous memory (no vm_ops)
  SysvShm,  // a SysV shm segment (vm_ops with close: never removed by a merge)
  // memfd_secret(2)'s file (mm/secretmem.c): MAP_SHARED only, mapped locked
  // and unpinnable, on a noexec mount.
  Secretmem,
  // A hugetlbfs file: memfd_create(MFD_HUGETLB) or the file behind
  // MAP_HUGETLB. Its mappings are VM_HUGETLB, aligned to the huge page size.
  Hugetlb,
};

// A userfaultfd context (struct userfaultfd_ctx of fs/userfaultfd.c), by id:
// what decides the calls. 0 is none; the id is also what a registered VMA
// carries (vm::UFFD_CTX_MASK), so at most kMaxUffds are alive at once.
using UffdId = std::uint32_t;
inline constexpr UffdId kMaxUffds = 0xffff;
struct UffdCtx {
  std::uint64_t flags = 0;     // userfaultfd(2)'s: O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY
  std::uint64_t features = 0;  // what UFFDIO_API enabled (UFFD_FEATURE_*)
  std::uint32_t mm = 0;        // ctx->mm: the AddressSpace::mm_id() it registers in
  bool ready = false;          // UFFDIO_API done (UFFD_FEATURE_INITIALIZED)
};

struct FileInfo {
  std::string path;  // as /proc/PID/maps prints it, e.g. "/memfd:x (deleted)"
  std::uint32_t dev_major = 0;
  std::uint32_t dev_minor = 0;
  std::uint64_t inode = 0;
  bool readable = true;   // FMODE_READ
  bool writable = false;  // FMODE_WRITE
  bool append_only = false;
  bool noexec_mount = false;
  FileKind kind = FileKind::Regular;
  std::uint64_t size = 0;  // bytes (SysV shm segment size; informational otherwise)
  // The file's size is exactly `size` (a memfd or memfd_secret file the engine
  // created and saw every size change of): faults beyond it are SIGBUS even
  // when it is 0 (file_eof_addr()).
  bool size_known = false;
  // The inode's seals (F_SEAL_*, abi::SEAL_*), for shmem and hugetlbfs files:
  // each is born with F_SEAL_SEAL (shmem_get_inode(), hugetlbfs_get_inode());
  // memfd_create(2) clears it for MFD_ALLOW_SEALING and MFD_NOEXEC_SEAL. Other
  // kinds have no seals (F_GET_SEALS is EINVAL). Every FileInfo of one inode
  // holds the same value (FileTable::add_seals()).
  std::uint32_t seals = 1;
  // False for a file made before its user could see it (a trace's inherited
  // or received descriptor): `seals` is a guess then.
  bool seals_known = true;
  // i_mode & 0111: with it, adding F_SEAL_EXEC adds the write seals too.
  bool exec_mode = true;
  // log2 of the huge page size of a Hugetlb file.
  std::uint8_t huge_shift = 21;
  UffdId uffd = 0;  // an anon_inode:[userfaultfd]: its context, until released
};

// The open file descriptions of a set of processes (shared across fork).
class FileTable {
 public:
  FileId add(FileInfo info);
  const FileInfo& get(FileId id) const { return files_.at(id - 1); }
  FileInfo& get(FileId id) { return files_.at(id - 1); }
  bool valid(FileId id) const noexcept { return id >= 1 && id <= files_.size(); }
  // Whether two open files are of one inode (the same FileId, or the same
  // nonzero inode number on the same device and kind).
  bool same_inode(FileId a, FileId b) const noexcept;
  // Seals and size are the inode's: these change every open file of it.
  void add_seals(FileId id, std::uint32_t seals);
  void set_size(FileId id, std::uint64_t size, bool known);
  // Gives a file without an inode number one (a caller that learns that
  // another open file shares its inode); a no-op for a file that has one.
  void set_inode(FileId id, std::uint64_t inode);
  // A fresh inode number for an internal shmem file (MAP_SHARED|MAP_ANONYMOUS).
  std::uint64_t next_shmem_inode() noexcept { return next_shmem_inode_++; }

  // Userfaultfd contexts: a new one (0 when kMaxUffds are alive), one by id
  // (nullptr for none), and the end of one (its id may be given again).
  UffdId add_uffd(const UffdCtx& ctx);
  UffdCtx* uffd(UffdId id) noexcept;
  const UffdCtx* uffd(UffdId id) const noexcept;
  void free_uffd(UffdId id);
  // A fresh identity for an mm (AddressSpace::mm_id()): what a context's
  // `mm` names.
  std::uint32_t new_mm_id() noexcept { return next_mm_id_++; }

 private:
  static std::uint64_t inode_key(const FileInfo& f) noexcept;
  template <class Fn>
  void for_each_of_inode(FileId id, Fn fn);
  std::vector<FileInfo> files_;
  // The open files of each inode with a number (add_seals(), set_size()).
  std::unordered_map<std::uint64_t, std::vector<FileId>> by_inode_;
  std::uint64_t next_shmem_inode_ = 1;
  std::vector<UffdCtx> uffds_;  // by id - 1
  std::vector<bool> uffd_live_;
  std::vector<UffdId> free_uffds_;
  std::uint32_t next_mm_id_ = 1;
};

// A process's file descriptor table: fd -> open file description, and each
// fd's close-on-exec flag.
class FdTable {
 public:
  // Returns the lowest free fd >= `min_fd`, bound to `file`.
  int install(FileId file, int min_fd = 3, bool cloexec = false);
  void install_at(int fd, FileId file, bool cloexec = false);
  bool close(int fd);
  // 0 when fd is not open.
  FileId lookup(int fd) const noexcept {
    auto it = fds_.find(fd);
    return it == fds_.end() ? 0 : it->second.file;
  }
  bool cloexec(int fd) const noexcept {
    auto it = fds_.find(fd);
    return it != fds_.end() && it->second.cloexec;
  }
  void set_cloexec(int fd, bool on) {
    if (auto it = fds_.find(fd); it != fds_.end()) it->second.cloexec = on;
  }
  // Whether any fd names `file`.
  bool holds(FileId file) const noexcept { return held_.count(file) != 0; }
  // execve's do_close_on_exec(): closes the close-on-exec fds and gives
  // their files.
  std::vector<FileId> close_on_exec();
  // Every open file, once per fd.
  std::vector<FileId> files() const;

 private:
  struct Entry {
    FileId file = 0;
    bool cloexec = false;
  };
  void hold(FileId file) { ++held_[file]; }
  void release(FileId file);
  std::unordered_map<int, Entry> fds_;
  std::unordered_map<FileId, std::uint32_t> held_;  // how many fds name each file
  int scan_from_ = 3;  // every fd in [3, scan_from_) is open: install()'s search starts here
};

}  // namespace vmseal
