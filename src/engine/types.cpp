#include "vmseal/engine/types.hpp"

#include <array>
#include <utility>

namespace vmseal {
namespace {

struct ErrnoEntry {
  std::string_view name;
  int number;
};

// The one table of errno names: include/uapi/asm-generic/errno-base.h,
// errno.h and include/linux/errno.h (the kernel-internal codes strace
// names); primary names first, aliases at the end. The engine's Errno values
// are a subset; strace's reader (trace/strace.hpp) takes every name.
constexpr ErrnoEntry kErrnos[] = {
    {"EPERM", 1},
    {"ENOENT", 2},
    {"ESRCH", 3},
    {"EINTR", 4},
    {"EIO", 5},
    {"ENXIO", 6},
    {"E2BIG", 7},
    {"ENOEXEC", 8},
    {"EBADF", 9},
    {"ECHILD", 10},
    {"EAGAIN", 11},
    {"ENOMEM", 12},
    {"EACCES", 13},
    {"EFAULT", 14},
    {"ENOTBLK", 15},
    {"EBUSY", 16},
    {"EEXIST", 17},
    {"EXDEV", 18},
    {"ENODEV", 19},
    {"ENOTDIR", 20},
    {"EISDIR", 21},
    {"EINVAL", 22},
    {"ENFILE", 23},
    {"EMFILE", 24},
    {"ENOTTY", 25},
    {"ETXTBSY", 26},
    {"EFBIG", 27},
    {"ENOSPC", 28},
    {"ESPIPE", 29},
    {"EROFS", 30},
    {"EMLINK", 31},
    {"EPIPE", 32},
    {"EDOM", 33},
    {"ERANGE", 34},
    {"EDEADLK", 35},
    {"ENAMETOOLONG", 36},
    {"ENOLCK", 37},
    {"ENOSYS", 38},
    {"ENOTEMPTY", 39},
    {"ELOOP", 40},
    {"ENOMSG", 42},
    {"EIDRM", 43},
    {"ECHRNG", 44},
    {"EL2NSYNC", 45},
    {"EL3HLT", 46},
    {"EL3RST", 47},
    {"ELNRNG", 48},
    {"EUNATCH", 49},
    {"ENOCSI", 50},
    {"EL2HLT", 51},
    {"EBADE", 52},
    {"EBADR", 53},
    {"EXFULL", 54},
    {"ENOANO", 55},
    {"EBADRQC", 56},
    {"EBADSLT", 57},
    {"EBFONT", 59},
    {"ENOSTR", 60},
    {"ENODATA", 61},
    {"ETIME", 62},
    {"ENOSR", 63},
    {"ENONET", 64},
    {"ENOPKG", 65},
    {"EREMOTE", 66},
    {"ENOLINK", 67},
    {"EADV", 68},
    {"ESRMNT", 69},
    {"ECOMM", 70},
    {"EPROTO", 71},
    {"EMULTIHOP", 72},
    {"EDOTDOT", 73},
    {"EBADMSG", 74},
    {"EOVERFLOW", 75},
    {"ENOTUNIQ", 76},
    {"EBADFD", 77},
    {"EREMCHG", 78},
    {"ELIBACC", 79},
    {"ELIBBAD", 80},
    {"ELIBSCN", 81},
    {"ELIBMAX", 82},
    {"ELIBEXEC", 83},
    {"EILSEQ", 84},
    {"ERESTART", 85},
    {"ESTRPIPE", 86},
    {"EUSERS", 87},
    {"ENOTSOCK", 88},
    {"EDESTADDRREQ", 89},
    {"EMSGSIZE", 90},
    {"EPROTOTYPE", 91},
    {"ENOPROTOOPT", 92},
    {"EPROTONOSUPPORT", 93},
    {"ESOCKTNOSUPPORT", 94},
    {"EOPNOTSUPP", 95},
    {"EPFNOSUPPORT", 96},
    {"EAFNOSUPPORT", 97},
    {"EADDRINUSE", 98},
    {"EADDRNOTAVAIL", 99},
    {"ENETDOWN", 100},
    {"ENETUNREACH", 101},
    {"ENETRESET", 102},
    {"ECONNABORTED", 103},
    {"ECONNRESET", 104},
    {"ENOBUFS", 105},
    {"EISCONN", 106},
    {"ENOTCONN", 107},
    {"ESHUTDOWN", 108},
    {"ETOOMANYREFS", 109},
    {"ETIMEDOUT", 110},
    {"ECONNREFUSED", 111},
    {"EHOSTDOWN", 112},
    {"EHOSTUNREACH", 113},
    {"EALREADY", 114},
    {"EINPROGRESS", 115},
    {"ESTALE", 116},
    {"EUCLEAN", 117},
    {"ENOTNAM", 118},
    {"ENAVAIL", 119},
    {"EISNAM", 120},
    {"EREMOTEIO", 121},
    {"EDQUOT", 122},
    {"ENOMEDIUM", 123},
    {"EMEDIUMTYPE", 124},
    {"ECANCELED", 125},
    {"ENOKEY", 126},
    {"EKEYEXPIRED", 127},
    {"EKEYREVOKED", 128},
    {"EKEYREJECTED", 129},
    {"EOWNERDEAD", 130},
    {"ENOTRECOVERABLE", 131},
    {"ERFKILL", 132},
    {"EHWPOISON", 133},
    {"ERESTARTSYS", 512},
    {"ERESTARTNOINTR", 513},
    {"ERESTARTNOHAND", 514},
    {"ENOIOCTLCMD", 515},
    {"ERESTART_RESTARTBLOCK", 516},
    {"EPROBE_DEFER", 517},
    {"EOPENSTALE", 518},
    {"ENOPARAM", 519},
    {"EBADHANDLE", 521},
    {"ENOTSYNC", 522},
    {"EBADCOOKIE", 523},
    {"ENOTSUPP", 524},
    {"ETOOSMALL", 525},
    {"ESERVERFAULT", 526},
    {"EBADTYPE", 527},
    {"EJUKEBOX", 528},
    {"EIOCBQUEUED", 529},
    {"ERECALLCONFLICT", 530},
    {"ENOGRACE", 531},
    // aliases
    {"EWOULDBLOCK", 11},
    {"EDEADLOCK", 35},
    {"ENOTSUP", 95},
};

// The engine's errnos (the Errno enumerators).
constexpr Errno kEngineErrnos[] = {Errno::PERM,  Errno::NOENT,    Errno::INTR,     Errno::BADF,
                                   Errno::AGAIN, Errno::NOMEM,    Errno::ACCES,    Errno::FAULT,
                                   Errno::BUSY,  Errno::EXIST,    Errno::NODEV,    Errno::INVAL,
                                   Errno::NFILE, Errno::FBIG,     Errno::NOSPC,    Errno::RANGE,
                                   Errno::NOSYS, Errno::OVERFLOW, Errno::OPNOTSUPP};

}  // namespace

bool errno_number(std::string_view name, int& out) noexcept {
  for (const ErrnoEntry& e : kErrnos) {
    if (e.name == name) {
      out = e.number;
      return true;
    }
  }
  return false;
}

std::string_view errno_symbol(int number) noexcept {
  for (const ErrnoEntry& e : kErrnos)
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
