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
};

// The open file descriptions of a set of processes (shared across fork).
class FileTable {
 public:
  FileId add(FileInfo info);
  const FileInfo& get(FileId id) const { return files_.at(id - 1); }
  FileInfo& get(FileId id) { return files_.at(id - 1); }
  bool valid(FileId id) const noexcept { return id >= 1 && id <= files_.size(); }
  // A fresh inode number for an internal shmem file (MAP_SHARED|MAP_ANONYMOUS).
  std::uint64_t next_shmem_inode() noexcept { return next_shmem_inode_++; }

 private:
  std::vector<FileInfo> files_;
  std::uint64_t next_shmem_inode_ = 1;
};

// A process's file descriptor table: fd -> open file description.
class FdTable {
 public:
  // Returns the lowest free fd >= `min_fd`, bound to `file`.
  int install(FileId file, int min_fd = 3);
  void install_at(int fd, FileId file) { fds_[fd] = file; }
  bool close(int fd) { return fds_.erase(fd) != 0; }
  // 0 when fd is not open.
  FileId lookup(int fd) const noexcept {
    auto it = fds_.find(fd);
    return it == fds_.end() ? 0 : it->second;
  }

 private:
  std::unordered_map<int, FileId> fds_;
};

}  // namespace vmseal
