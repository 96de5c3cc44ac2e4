// Basic vocabulary of the engine: addresses, pages, errno values and results.
#pragma once

#include <cstdint>
#include <string_view>

namespace vmseal {

using Addr = std::uint64_t;

inline constexpr unsigned kPageShift = 12;
inline constexpr Addr kPageSize = Addr{1} << kPageShift;
inline constexpr Addr kPageMask = ~(kPageSize - 1);

constexpr bool page_aligned(Addr a) noexcept { return (a & (kPageSize - 1)) == 0; }
// PAGE_ALIGN(): rounds up, wrapping to 0 near 2^64 exactly as the kernel's macro does.
constexpr Addr page_align_up(Addr a) noexcept { return (a + kPageSize - 1) & kPageMask; }
constexpr Addr page_align_down(Addr a) noexcept { return a & kPageMask; }
constexpr std::uint64_t pages(Addr len) noexcept { return len >> kPageShift; }

// Linux x86-64 errno values. The engine returns these numerically so they can be
// compared with a trace or the real kernel without translation.
enum class Errno : int {
  OK = 0,
  PERM = 1,
  NOENT = 2,
  INTR = 4,
  BADF = 9,
  AGAIN = 11,
  NOMEM = 12,
  ACCES = 13,
  FAULT = 14,
  BUSY = 16,
  EXIST = 17,
  NODEV = 19,
  INVAL = 22,
  NFILE = 23,
  NOTTY = 25,
  FBIG = 27,
  NOSPC = 28,
  RANGE = 34,
  NOSYS = 38,
  OVERFLOW = 75,
  OPNOTSUPP = 95,
};

std::string_view errno_name(Errno e) noexcept;
// Parses "EPERM" etc.; returns false for a name that is not one of Errno's.
bool errno_from_name(std::string_view name, Errno& out) noexcept;
// strerror's text for the engine's errnos ("" for others).
std::string_view errno_message(Errno e) noexcept;
// Every errno name the kernel has (strace prints them): its number, and back.
bool errno_number(std::string_view name, int& out) noexcept;
std::string_view errno_symbol(int number) noexcept;

// What a system call returns: a non-negative value, or an errno.
class SysResult {
 public:
  constexpr SysResult() = default;
  constexpr SysResult(Errno e) noexcept : value_(0), err_(e) {}  // NOLINT: implicit by design
  static constexpr SysResult ok(std::uint64_t v = 0) noexcept {
    SysResult r;
    r.value_ = v;
    return r;
  }
  constexpr bool is_error() const noexcept { return err_ != Errno::OK; }
  constexpr bool is_ok() const noexcept { return err_ == Errno::OK; }
  constexpr Errno error() const noexcept { return err_; }
  constexpr std::uint64_t value() const noexcept { return value_; }
  friend constexpr bool operator==(const SysResult&, const SysResult&) = default;

 private:
  std::uint64_t value_ = 0;
  Errno err_ = Errno::OK;
};

// What a fallible engine primitive gives back: a value, or the errno its
// call fails with (the kernel's ERR_PTR() and IS_ERR(), typed). Trivially
// copyable and small, so it comes back in registers like the pointer and
// out-parameter it replaces.
template <class T>
class [[nodiscard]] Expected {
 public:
  constexpr Expected(T value) noexcept : value_(value) {}  // NOLINT: implicit by design
  constexpr Expected(Errno e) noexcept : err_(e) {}        // NOLINT: e is not Errno::OK
  constexpr bool ok() const noexcept { return err_ == Errno::OK; }
  constexpr explicit operator bool() const noexcept { return ok(); }
  constexpr Errno error() const noexcept { return err_; }
  constexpr const T& operator*() const noexcept { return value_; }

 private:
  T value_{};
  Errno err_ = Errno::OK;
};

}  // namespace vmseal
