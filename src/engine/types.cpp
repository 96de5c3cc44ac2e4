#include "vmseal/engine/types.hpp"

#include <array>
#include <utility>

namespace vmseal {
namespace {
constexpr std::array<std::pair<Errno, std::string_view>, 20> kErrnoNames{{
    {Errno::OK, "OK"},
    {Errno::PERM, "EPERM"},
    {Errno::NOENT, "ENOENT"},
    {Errno::INTR, "EINTR"},
    {Errno::BADF, "EBADF"},
    {Errno::AGAIN, "EAGAIN"},
    {Errno::NOMEM, "ENOMEM"},
    {Errno::ACCES, "EACCES"},
    {Errno::FAULT, "EFAULT"},
    {Errno::BUSY, "EBUSY"},
    {Errno::EXIST, "EEXIST"},
    {Errno::NODEV, "ENODEV"},
    {Errno::INVAL, "EINVAL"},
    {Errno::NFILE, "ENFILE"},
    {Errno::FBIG, "EFBIG"},
    {Errno::NOSPC, "ENOSPC"},
    {Errno::RANGE, "ERANGE"},
    {Errno::NOSYS, "ENOSYS"},
    {Errno::OVERFLOW, "EOVERFLOW"},
    {Errno::OPNOTSUPP, "EOPNOTSUPP"},
}};
}  // namespace

std::string_view errno_name(Errno e) noexcept {
  for (const auto& [value, name] : kErrnoNames)
    if (value == e) return name;
  return "E?";
}

bool errno_from_name(std::string_view name, Errno& out) noexcept {
  for (const auto& [value, n] : kErrnoNames) {
    if (n == name) {
      out = value;
      return true;
    }
  }
  return false;
}
}  // namespace vmseal
