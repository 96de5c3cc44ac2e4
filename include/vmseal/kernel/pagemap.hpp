// /proc/PID/pagemap: per-page state the VMA list does not show. vmseal reads
// one bit of it, PM_GUARD_REGION (bit 58, Linux 6.14+), which marks a page
// holding a MADV_GUARD_INSTALL guard marker whatever the page's protection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vmseal/engine/guard_pages.hpp"
#include "vmseal/engine/types.hpp"

namespace vmseal::kernel {

inline constexpr unsigned kPagemapGuardBit = 58;

// Reads /proc/PID/pagemap (pid 0: self) through one open file.
class PagemapReader {
 public:
  PagemapReader() = default;
  ~PagemapReader();
  PagemapReader(const PagemapReader&) = delete;
  PagemapReader& operator=(const PagemapReader&) = delete;

  // False with a message (no such process, permission denied, ...).
  bool open(int pid, std::string* error);
  void close() noexcept;
  // Adds the guard pages of [start, end) (page-aligned) to `out`.
  bool read_guards(Addr start, Addr end, GuardPages& out, std::string* error);

 private:
  int fd_ = -1;
  std::vector<std::uint64_t> buf_;
};

// Whether this kernel installs guard markers and pagemap reports them: a
// scratch page of this process gets one, is read back and unmapped.
bool pagemap_reports_guards() noexcept;

}  // namespace vmseal::kernel
