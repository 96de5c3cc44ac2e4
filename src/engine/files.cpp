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

UffdId FileTable::add_uffd(const UffdCtx& ctx) {
  if (!free_uffds_.empty()) {
    const UffdId id = free_uffds_.back();
    free_uffds_.pop_back();
    uffds_[id - 1] = ctx;
    uffd_live_[id - 1] = true;
    return id;
  }
  if (uffds_.size() >= kMaxUffds) return 0;
  uffds_.push_back(ctx);
  uffd_live_.push_back(true);
  return static_cast<UffdId>(uffds_.size());
}

UffdCtx* FileTable::uffd(UffdId id) noexcept {
  return id >= 1 && id <= uffds_.size() && uffd_live_[id - 1] ? &uffds_[id - 1] : nullptr;
}

const UffdCtx* FileTable::uffd(UffdId id) const noexcept {
  return id >= 1 && id <= uffds_.size() && uffd_live_[id - 1] ? &uffds_[id - 1] : nullptr;
}

void FileTable::free_uffd(UffdId id) {
  if (uffd(id) == nullptr) return;
  uffd_live_[id - 1] = false;
  free_uffds_.push_back(id);
}

int FdTable::install(FileId file, int min_fd, bool cloexec) {
  int fd = min_fd == 3 ? scan_from_ : min_fd;
  while (fds_.count(fd) != 0) ++fd;
  install_at(fd, file, cloexec);
  if (min_fd == 3) scan_from_ = fd + 1;
  return fd;
}

void FdTable::install_at(int fd, FileId file, bool cloexec) {
  auto [it, fresh] = fds_.try_emplace(fd, Entry{file, cloexec});
  if (!fresh) {
    release(it->second.file);
    it->second = Entry{file, cloexec};
  }
  hold(file);
}

bool FdTable::close(int fd) {
  const auto it = fds_.find(fd);
  if (it == fds_.end()) return false;
  release(it->second.file);
  fds_.erase(it);
  if (fd >= 3 && fd < scan_from_) scan_from_ = fd;
  return true;
}

void FdTable::release(FileId file) {
  const auto it = held_.find(file);
  if (it != held_.end() && --it->second == 0) held_.erase(it);
}

std::vector<FileId> FdTable::close_on_exec() {
  std::vector<FileId> closed;
  scan_from_ = 3;
  for (auto it = fds_.begin(); it != fds_.end();) {
    if (it->second.cloexec) {
      closed.push_back(it->second.file);
      release(it->second.file);
      it = fds_.erase(it);
    } else {
      ++it;
    }
  }
  return closed;
}

std::vector<FileId> FdTable::files() const {
  std::vector<FileId> out;
  out.reserve(fds_.size());
  for (const auto& [fd, e] : fds_) out.push_back(e.file);
  return out;
}

}  // namespace vmseal
