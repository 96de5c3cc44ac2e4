#include "vmseal/sealing/safe_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vmseal::sealing {

int write_file_safely(const char* path, const char* data, std::size_t size,
                      unsigned mode) noexcept {
  if (path == nullptr || *path == '\0') return EINVAL;
  struct stat st {};
  if (lstat(path, &st) == 0 &&
      (S_ISLNK(st.st_mode) || st.st_uid != geteuid() || !S_ISREG(st.st_mode)))
    return EEXIST;
  char tmp[4200];
  int fd = -1;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    unsigned long long r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof r))
      r = static_cast<unsigned long long>(getpid()) * 2654435761ULL +
          static_cast<unsigned long long>(attempt);
    if (std::snprintf(tmp, sizeof tmp, "%s.%016llx.tmp", path, r) >= static_cast<int>(sizeof tmp))
      return ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return errno;
  }
  if (fd < 0) return EEXIST;
  // The mode exactly, whatever the umask (0600 by default, written while the
  // file is still only the writer's).
  int err = fchmod(fd, static_cast<mode_t>(mode & 07777)) == 0 ? 0 : errno;
  for (std::size_t done = 0; err == 0 && done < size;) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      err = n < 0 ? errno : EIO;
    else
      done += static_cast<std::size_t>(n);
  }
  if (close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && rename(tmp, path) != 0) err = errno;
  if (err != 0) unlink(tmp);
  return err;
}

int open_regular_or_directory(int dir_fd, const char* name, int extra_flags, bool& skip) noexcept {
  skip = false;
  const int path_fd = openat(dir_fd, name, O_PATH | O_CLOEXEC | extra_flags);
  if (path_fd < 0) return -1;
  struct stat st {};
  int fd = -1;
  if (fstat(path_fd, &st) != 0) {
    fd = -1;
  } else if (S_ISDIR(st.st_mode)) {
    fd = openat(path_fd, ".", O_RDONLY | O_CLOEXEC | O_DIRECTORY);
  } else if (S_ISREG(st.st_mode)) {
    char self[64];
    std::snprintf(self, sizeof self, "/proc/self/fd/%d", path_fd);
    fd = ::open(self, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  } else {
    skip = true;  // a symlink (O_NOFOLLOW gives its own inode), device, FIFO or socket
  }
  const int e = errno;
  ::close(path_fd);
  errno = e;
  return fd;
}

}  // namespace vmseal::sealing
