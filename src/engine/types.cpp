#include "vmseal/engine/types.hpp"

#include "vmseal/kernel/abi.hpp"

#include <array>
#include <utility>

namespace vmseal {
namespace {

// The engine's errnos (the Errno enumerators).
constexpr Errno kEngineErrnos[] = {Errno::PERM,  Errno::NOENT,    Errno::INTR,      Errno::BADF,
                                   Errno::AGAIN, Errno::NOMEM,    Errno::ACCES,     Errno::FAULT,
                                   Errno::BUSY,  Errno::EXIST,    Errno::NODEV,     Errno::INVAL,
                                   Errno::NFILE, Errno::FBIG,     Errno::NOSPC,     Errno::RANGE,
                                   Errno::NOSYS, Errno::OVERFLOW, Errno::OPNOTSUPP, Errno::NOTTY};

}  // namespace

bool errno_number(std::string_view name, int& out) noexcept {
  for (const abi::ErrnoName& e : abi::kErrnoNames) {
    if (e.name == name) {
      out = e.number;
      return true;
    }
  }
  return false;
}

std::string_view errno_symbol(int number) noexcept {
  for (const abi::ErrnoName& e : abi::kErrnoNames)
    if (e.number == number) return e.name;
  return {};
}

std::string_view errno_name(Errno e) noexcept {
  if (e == Errno::OK) return "OK";
  const std::string_view name = errno_symbol(static_cast<int>(e));
  return name.empty() ? "E?" : name;
}

bool errno_from_name(std::string_view name, Errno& out) noexcept {
  if (name == "OK") {
    out = Errno::OK;
    return true;
  }
  int number = 0;
  if (!errno_number(name, number)) return false;
  for (const Errno e : kEngineErrnos) {
    if (static_cast<int>(e) == number) {
      out = e;
      return true;
    }
  }
  return false;
}

// strerror's text, as strace prints it after a result: "-1 EPERM (Operation not permitted)".
std::string_view errno_message(Errno e) noexcept {
  switch (e) {
    case Errno::PERM:
      return "Operation not permitted";
    case Errno::NOENT:
      return "No such file or directory";
    case Errno::INTR:
      return "Interrupted system call";
    case Errno::BADF:
      return "Bad file descriptor";
    case Errno::AGAIN:
      return "Resource temporarily unavailable";
    case Errno::NOMEM:
      return "Cannot allocate memory";
    case Errno::ACCES:
      return "Permission denied";
    case Errno::FAULT:
      return "Bad address";
    case Errno::BUSY:
      return "Device or resource busy";
    case Errno::EXIST:
      return "File exists";
    case Errno::NODEV:
      return "No such device";
    case Errno::INVAL:
      return "Invalid argument";
    case Errno::NFILE:
      return "Too many open files in system";
    case Errno::NOTTY:
      return "Inappropriate ioctl for device";
    case Errno::NOSPC:
      return "No space left on device";
    case Errno::NOSYS:
      return "Function not implemented";
    case Errno::OVERFLOW:
      return "Value too large for defined data type";
    case Errno::OPNOTSUPP:
      return "Operation not supported";
    default:
      return "";
  }
}

}  // namespace vmseal
