// Writing a file whose name a user gave, safely, from a process that may run
// as root in a directory others can write to (/tmp): the data goes to a new
// file created beside the target with O_CREAT | O_EXCL | O_NOFOLLOW (no
// symlink is followed, no existing file is opened), then renamed over the
// target, which replaces a name and never writes through it. A target that
// exists as a symlink, or as a file of another user, is refused: nothing the
// caller did not create is clobbered. No allocation, no exceptions: the
// preload uses it.
#pragma once

#include <cstddef>

namespace vmseal::sealing {

// 0 on success, else an errno: EEXIST when the target is a symlink or
// belongs to another user, or what open, write or rename failed with.
// `mode` is the new file's, umask or not: 0600 by default, because a report
// lists every object's load address, which a root process's neighbours must
// not learn (ASLR); 0644 for what others must read (a metrics file).
int write_file_safely(const char* path, const char* data, std::size_t size,
                      unsigned mode = 0600) noexcept;

// Opens what `name` (relative to `dir_fd`) is now, for reading, only when it
// is a regular file or a directory: first with O_PATH, which opens nothing
// (no device's open runs, no FIFO blocks), then, by type, the same inode
// again through /proc/self/fd, so a name swapped for a device or a symlink
// in between changes nothing. -1 with `skip` true for a symlink (with
// O_NOFOLLOW in `extra_flags`), device, FIFO or socket; -1 with errno
// otherwise. A regular file is opened O_RDONLY | O_NONBLOCK | O_NOCTTY.
int open_regular_or_directory(int dir_fd, const char* name, int extra_flags, bool& skip) noexcept;

}  // namespace vmseal::sealing
