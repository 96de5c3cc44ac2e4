#include "vmseal/sealing/relro.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vmseal::sealing {
namespace {

// Moves the mapping at `from` onto [to, to + len) in one step: mremap unmaps
// the destination and moves the source under one hold of mmap_lock, so no
// thread ever sees a hole at RELRO, and on failure RELRO is untouched.
int move_over(void* from, Addr to, std::size_t len) noexcept {
  void* const got =
      mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, reinterpret_cast<void*>(to));
  if (got == MAP_FAILED) return errno;
  return 0;
}

// Copies whole pages of another object's memory. Under AddressSanitizer a
// plain memcpy would be checked against the redzones the sanitizer placed
// between that object's globals, which belong to the pages being copied:
// this copy is of the pages, not of any C++ object, so it is not checked.
__attribute__((no_sanitize("address"), optimize("no-tree-loop-distribute-patterns"))) void
copy_pages(void* to, const void* from, std::size_t len) noexcept {
#if defined(__SANITIZE_ADDRESS__)
  auto* d = static_cast<std::uint64_t*>(to);
  const auto* s = static_cast<const std::uint64_t*>(from);
  for (std::size_t i = 0; i < len / sizeof(std::uint64_t); ++i) d[i] = s[i];
#else
  std::memcpy(to, from, len);
#endif
}

int anonymise(Addr start, Addr end, int prot) noexcept {
  const std::size_t len = end - start;
  if (prot == PROT_NONE) {
    // A gap: nothing to copy, an anonymous reservation takes its place.
    void* hole = mmap(nullptr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (hole == MAP_FAILED) return errno;
    const int err = move_over(hole, start, len);
    if (err != 0) munmap(hole, len);
    return err;
  }
  // MAP_POPULATE: the pages are allocated in one call, not one fault each.
  void* copy =
      mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (copy == MAP_FAILED) return errno;
  copy_pages(copy, reinterpret_cast<const void*>(start), len);
  int err = mprotect(copy, len, prot) == 0 ? 0 : errno;
  if (err == 0) err = move_over(copy, start, len);
  if (err != 0) munmap(copy, len);
  return err;
}

int memfd_copy(Addr start, Addr end, int prot, const char* label) noexcept {
  const std::size_t len = end - start;
  char name[200];
  std::snprintf(name, sizeof name, "vmseal-relro:%s",
                label != nullptr && *label != '\0' ? label : "?");
  const int fd = static_cast<int>(syscall(SYS_memfd_create, name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (fd < 0) return errno;
  int err = 0;
  for (std::size_t done = 0; err == 0 && done < len;) {
    // The system call itself, not libc's pwrite: a sanitizer's interceptor
    // would check the pages as one object (see copy_pages).
    const ssize_t n = syscall(SYS_pwrite64, fd, reinterpret_cast<const char*>(start) + done,
                              len - done, static_cast<off_t>(done));
    if (n <= 0)
      err = n < 0 ? errno : EIO;
    else
      done += static_cast<std::size_t>(n);
  }
  // No later write, truncation or growth can change what a discard re-reads.
  if (err == 0 &&
      fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
    err = errno;
  void* copy = MAP_FAILED;
  if (err == 0) {
    copy = mmap(nullptr, len, prot, MAP_PRIVATE, fd, 0);
    if (copy == MAP_FAILED) err = errno;
  }
  close(fd);
  if (err == 0) err = move_over(copy, start, len);
  if (err != 0 && copy != MAP_FAILED) munmap(copy, len);
  return err;
}

bool parse_hex(const char*& p, const char* end, Addr& out) noexcept {
  Addr v = 0;
  const char* const begin = p;
  for (; p < end; ++p) {
    const char c = *p;
    int d = -1;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    if (d < 0) break;
    if (v >> 60 != 0) return false;
    v = v << 4 | static_cast<Addr>(d);
  }
  out = v;
  return p != begin;
}

}  // namespace

const char* relro_mode_name(RelroMode m) noexcept {
  switch (m) {
    case RelroMode::Anonymous:
      return "anon";
    case RelroMode::Memfd:
      return "memfd";
    case RelroMode::File:
      return "file";
  }
  return "?";
}

bool relro_mode_from_name(const char* name, RelroMode& out) noexcept {
  if (name == nullptr) return false;
  for (const RelroMode m : {RelroMode::Anonymous, RelroMode::Memfd, RelroMode::File})
    if (std::strcmp(relro_mode_name(m), name) == 0) {
      out = m;
      return true;
    }
  return false;
}

const char* relro_outcome_name(RelroOutcome o) noexcept {
  switch (o) {
    case RelroOutcome::NotRelro:
      return "";
    case RelroOutcome::Anonymised:
      return "anon";
    case RelroOutcome::Memfd:
      return "memfd";
    case RelroOutcome::KeptFile:
      return "file";
    case RelroOutcome::Skipped:
      return "file (not private memory with the planned protection when sealed)";
    case RelroOutcome::Failed:
      return "file (the copy failed)";
  }
  return "?";
}

bool SelfMappings::load(int pid) noexcept {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/maps", pid);
  return load_file(path);
}

bool SelfMappings::load_file(const char* path) noexcept {
  n_ = 0;
  loaded_ = false;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[8192];
  std::size_t have = 0;
  bool eof = false;
  bool ok = true;
  while (ok && (!eof || have > 0)) {
    if (!eof && have < sizeof buf) {
      const ssize_t got = read(fd, buf + have, sizeof buf - have);
      if (got < 0) ok = false;
      if (got <= 0)
        eof = true;
      else
        have += static_cast<std::size_t>(got);
    }
    char* nl = static_cast<char*>(std::memchr(buf, '\n', have));
    if (nl == nullptr) {
      if (eof && have > 0) ok = false;             // a last line without a newline
      if (!eof && have == sizeof buf) ok = false;  // a line longer than the buffer
      if (eof) break;
      continue;
    }
    // "start-end rwxp offset dev inode [name]"
    const char* p = buf;
    Entry e;
    char perms[4] = {};
    if (!parse_hex(p, nl, e.start) || p >= nl || *p++ != '-' || !parse_hex(p, nl, e.end) ||
        nl - p < 5 || *p++ != ' ') {
      ok = false;
      break;
    }
    std::memcpy(perms, p, 4);
    e.prot = static_cast<std::uint8_t>((perms[0] == 'r' ? PROT_READ : 0) |
                                       (perms[1] == 'w' ? PROT_WRITE : 0) |
                                       (perms[2] == 'x' ? PROT_EXEC : 0));
    e.shared = perms[3] == 's';
    // " offset dev inode": a file (inode not 0) on device "00:xx".
    {
      const char* q = p + 4;
      Addr offset = 0, major = 0, minor = 0, inode = 0;
      if (q < nl && *q == ' ') ++q;
      if (parse_hex(q, nl, offset) && q < nl && *q++ == ' ' && parse_hex(q, nl, major) && q < nl &&
          *q++ == ':' && parse_hex(q, nl, minor) && q < nl && *q++ == ' ') {
        while (q < nl && *q >= '0' && *q <= '9') inode = inode * 10 + static_cast<Addr>(*q++ - '0');
        e.unnamed_device = major == 0 && inode != 0;
      }
    }
    for (std::size_t k = 0; k < sizeof kKernelNames / sizeof kKernelNames[0]; ++k) {
      const std::size_t len = std::strlen(kKernelNames[k]);
      if (static_cast<std::size_t>(nl - buf) >= len &&
          std::memcmp(nl - len, kKernelNames[k], len) == 0)
        e.kernel_name = static_cast<std::int8_t>(k);
    }
    if (n_ == kCapacity) {
      ok = false;
      break;
    }
    entries_[n_++] = e;
    const std::size_t used = static_cast<std::size_t>(nl - buf) + 1;
    std::memmove(buf, nl + 1, have - used);
    have -= used;
  }
  close(fd);
  if (!ok) n_ = 0;
  loaded_ = ok;
  return ok;
}

std::size_t SelfMappings::first_ending_after(Addr start) const noexcept {
  std::size_t lo = 0, hi = n_;  // entries are in address order
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (entries_[mid].end <= start)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

bool SelfMappings::private_with_prot(Addr start, Addr end, int prot) const noexcept {
  if (!loaded_ || start >= end) return false;
  Addr at = start;
  for (std::size_t i = first_ending_after(start); i < n_ && at < end; ++i) {
    const Entry& e = entries_[i];
    if (e.start > at || e.shared || e.prot != prot) return false;
    at = e.end;
  }
  return at >= end;
}

bool SelfMappings::on_unnamed_device(Addr addr) const noexcept {
  const std::size_t i = first_ending_after(addr);
  return loaded_ && i < n_ && entries_[i].start <= addr && entries_[i].unnamed_device;
}

bool SelfMappings::protection_over(Addr start, Addr end, int& prot) const noexcept {
  prot = 0;
  if (!loaded_ || start >= end) return false;
  Addr at = start;
  for (std::size_t i = first_ending_after(start); i < n_ && at < end; ++i) {
    if (entries_[i].start > at) return false;
    prot |= entries_[i].prot;
    at = entries_[i].end;
  }
  return at >= end;
}

RelroOutcome replace_with_copy(Addr start, Addr end, int prot, RelroMode mode, const char* label,
                               int* error) noexcept {
  if (error != nullptr) *error = 0;
  if (start >= end || !page_aligned(start) || !page_aligned(end)) return RelroOutcome::NotRelro;
  int err = 0;
  switch (mode) {
    case RelroMode::File:
      return RelroOutcome::KeptFile;
    case RelroMode::Anonymous:
      err = anonymise(start, end, prot);
      break;
    case RelroMode::Memfd:
      err = memfd_copy(start, end, prot, label);
      break;
  }
  if (err != 0) {
    if (error != nullptr) *error = err;
    return RelroOutcome::Failed;
  }
  return mode == RelroMode::Anonymous ? RelroOutcome::Anonymised : RelroOutcome::Memfd;
}

}  // namespace vmseal::sealing
