#include "vmseal/kernel/pagemap.hpp"

#include "vmseal/kernel/proc.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vmseal::kernel {

PagemapReader::~PagemapReader() { close(); }

void PagemapReader::close() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool PagemapReader::open(int pid, std::string* error) {
  close();
  fd_ = open_proc_file(pid, "pagemap", error);
  return fd_ >= 0;
}

bool PagemapReader::read_guards(Addr start, Addr end, GuardPages& out, std::string* error) {
  if (fd_ < 0) {
    if (error != nullptr) *error = "pagemap is not open";
    return false;
  }
  if (start >= end) return true;
  const std::uint64_t n = pages(end - start);
  buf_.resize(n);
  const auto bytes = static_cast<ssize_t>(n * sizeof(std::uint64_t));
  const auto off = static_cast<off_t>(pages(start) * sizeof(std::uint64_t));
  ssize_t got = 0;
  while (got < bytes) {
    const ssize_t r = ::pread(fd_, reinterpret_cast<char*>(buf_.data()) + got,
                              static_cast<std::size_t>(bytes - got), off + got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (error != nullptr)
        *error = std::string("pagemap: ") + (r < 0 ? std::strerror(errno) : "short read");
      return false;
    }
    got += r;
  }
  Addr run = 0;
  bool in_run = false;
  for (std::uint64_t i = 0; i <= n; ++i) {
    const bool guard = i < n && ((buf_[i] >> kPagemapGuardBit) & 1U) != 0;
    const Addr page = start + i * kPageSize;
    if (guard && !in_run) {
      run = page;
      in_run = true;
    } else if (!guard && in_run) {
      out.install(run, page);
      in_run = false;
    }
  }
  return true;
}

bool pagemap_reports_guards() noexcept {
  constexpr int kGuardInstall = 102;  // MADV_GUARD_INSTALL
  void* p = ::mmap(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  bool ok = false;
  if (::madvise(p, kPageSize, kGuardInstall) == 0) {
    PagemapReader r;
    GuardPages g;
    const auto a = reinterpret_cast<Addr>(p);
    ok = r.open(0, nullptr) && r.read_guards(a, a + kPageSize, g, nullptr) && g.contains(a);
  }
  ::munmap(p, kPageSize);
  return ok;
}

}  // namespace vmseal::kernel
