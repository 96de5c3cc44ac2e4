#include "vmseal/engine/files.hpp"

#include <utility>

namespace vmseal {

FileId FileTable::add(FileInfo info) {
  files_.push_back(std::move(info));
  return static_cast<FileId>(files_.size());
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
  int fd = min_fd;
  while (fds_.count(fd) != 0) ++fd;
  fds_[fd] = Entry{file, cloexec};
  return fd;
}

bool FdTable::holds(FileId file) const noexcept {
  for (const auto& [fd, e] : fds_)
    if (e.file == file) return true;
  return false;
}

std::vector<FileId> FdTable::close_on_exec() {
  std::vector<FileId> closed;
  for (auto it = fds_.begin(); it != fds_.end();) {
    if (it->second.cloexec) {
      closed.push_back(it->second.file);
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
