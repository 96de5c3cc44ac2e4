#include "vmseal/engine/files.hpp"

#include <utility>

namespace vmseal {

FileId FileTable::add(FileInfo info) {
  files_.push_back(std::move(info));
  return static_cast<FileId>(files_.size());
}

int FdTable::install(FileId file, int min_fd) {
  int fd = min_fd;
  while (fds_.count(fd) != 0) ++fd;
  fds_[fd] = file;
  return fd;
}

}  // namespace vmseal
