#include "vmseal/engine/files.hpp"

#include <utility>

namespace vmseal {

std::uint64_t FileTable::inode_key(const FileInfo& f) noexcept {
  return f.inode ^ (std::uint64_t{f.dev_major} << 52) ^ (std::uint64_t{f.dev_minor} << 40) ^
         (std::uint64_t{static_cast<std::uint8_t>(f.kind)} << 36);
}

FileId FileTable::add(FileInfo info) {
  files_.push_back(std::move(info));
  const auto id = static_cast<FileId>(files_.size());
  if (files_.back().inode != 0) by_inode_[inode_key(files_.back())].push_back(id);
  return id;
}

bool FileTable::same_inode(FileId a, FileId b) const noexcept {
  if (a == b) return true;
  if (!valid(a) || !valid(b)) return false;
  const FileInfo& x = get(a);
  const FileInfo& y = get(b);
  return x.inode != 0 && x.inode == y.inode && x.kind == y.kind && x.dev_major == y.dev_major &&
         x.dev_minor == y.dev_minor;
}

template <class Fn>
void FileTable::for_each_of_inode(FileId id, Fn fn) {
  if (!valid(id)) return;
  const auto it = get(id).inode != 0 ? by_inode_.find(inode_key(get(id))) : by_inode_.end();
  if (it == by_inode_.end()) return fn(get(id));
  for (const FileId f : it->second)
    if (same_inode(id, f)) fn(get(f));
}

void FileTable::add_seals(FileId id, std::uint32_t seals) {
  for_each_of_inode(id, [&](FileInfo& f) { f.seals |= seals; });
}

void FileTable::set_size(FileId id, std::uint64_t size, bool known) {
  for_each_of_inode(id, [&](FileInfo& f) {
    f.size = size;
    f.size_known = known;
  });
}

void FileTable::set_inode(FileId id, std::uint64_t inode) {
  if (!valid(id) || get(id).inode != 0 || inode == 0) return;
  get(id).inode = inode;
  by_inode_[inode_key(get(id))].push_back(id);
}

int FdTable::install(FileId file, int min_fd) {
  int fd = min_fd;
  while (fds_.count(fd) != 0) ++fd;
  fds_[fd] = file;
  cloexec_.erase(fd);
  return fd;
}

void FdTable::set_cloexec(int fd, bool on) {
  if (on && fds_.count(fd) != 0)
    cloexec_.insert(fd);
  else
    cloexec_.erase(fd);
}

void FdTable::close_on_exec() {
  for (const int fd : cloexec_) fds_.erase(fd);
  cloexec_.clear();
}

}  // namespace vmseal
