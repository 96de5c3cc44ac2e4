#include "vmseal/difftest/op.hpp"

#include <cinttypes>
#include <cstdio>

#include "vmseal/trace/strace.hpp"

namespace vmseal::difftest {

namespace {

constexpr std::array<std::string_view, kOpKinds> kNames{
    "mmap",    "munmap",   "mprotect",   "pkey_mprotect", "mremap", "madvise", "mlock", "mlock2",
    "munlock", "mlockall", "munlockall", "brk",           "mseal",  "fault",   "fork"};

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#" PRIx64, v);
  return b;
}

// A flag set as strace prints it: names joined by '|', the rest in hex.
std::string flags(trace::FlagSet set, std::uint64_t v, bool is_enum, std::string_view zero) {
  const auto syms = trace::flag_symbols(set);
  if (is_enum) {
    for (const auto& s : syms)
      if (s.value == v) return std::string(s.name);
    return hex(v);
  }
  if (v == 0) return std::string(zero);
  std::string out;
  std::uint64_t rest = v;
  if (set == trace::FlagSet::Map && (v & 0x0f) == 0x03) {
    out = "MAP_SHARED_VALIDATE";
    rest &= ~std::uint64_t{0x0f};
  }
  for (const auto& s : syms) {
    if (s.value == 0 || (rest & s.value) != s.value) continue;
    // MAP_SHARED_VALIDATE (3) prints by itself, never as SHARED|PRIVATE.
    if (!out.empty()) out += '|';
    out += s.name;
    rest &= ~s.value;
  }
  if (rest != 0) {
    if (!out.empty()) out += '|';
    out += hex(rest);
  }
  return out;
}

std::string fd_text(int fd, const Fds& fds) {
  if (fd < 0) return std::to_string(fd);
  std::string path;
  if (fd == fds.memfd_a || fd == fds.memfd_a2 || fd == fds.memfd_a_ro)
    path = "/memfd:vmseal-a (deleted)";
  else if (fd == fds.memfd_b)
    path = "/memfd:vmseal-b (deleted)";
  else if (fd == fds.dev_zero)
    path = "/dev/zero";
  if (path.empty()) return std::to_string(fd);
  return std::to_string(fd) + "<" + path + ">";
}

}  // namespace

std::string result_text(OpKind k, const SysResult& r) {
  if (r.is_error()) {
    return "-1 " + std::string(errno_name(r.error())) + " (" + std::string(errno_name(r.error())) +
           ")";
  }
  switch (k) {
    case OpKind::Mmap:
    case OpKind::Mremap:
    case OpKind::Brk:
      return hex(r.value());
    default:
      return std::to_string(r.value());
  }
}

std::optional<Syscall> as_syscall(const Op& op) noexcept {
  SyscallKind k = SyscallKind::Munmap;
  switch (op.kind) {
    case OpKind::Mmap:
      k = SyscallKind::Mmap;
      break;
    case OpKind::Munmap:
      k = SyscallKind::Munmap;
      break;
    case OpKind::Mprotect:
      k = SyscallKind::Mprotect;
      break;
    case OpKind::PkeyMprotect:
      k = SyscallKind::PkeyMprotect;
      break;
    case OpKind::Mremap:
      k = SyscallKind::Mremap;
      break;
    case OpKind::Madvise:
      k = SyscallKind::Madvise;
      break;
    case OpKind::Mlock:
      k = SyscallKind::Mlock;
      break;
    case OpKind::Mlock2:
      k = SyscallKind::Mlock2;
      break;
    case OpKind::Munlock:
      k = SyscallKind::Munlock;
      break;
    case OpKind::Mlockall:
      k = SyscallKind::Mlockall;
      break;
    case OpKind::Munlockall:
      k = SyscallKind::Munlockall;
      break;
    case OpKind::Brk:
      k = SyscallKind::Brk;
      break;
    case OpKind::Mseal:
      k = SyscallKind::Mseal;
      break;
    case OpKind::WriteFault:
    case OpKind::Fork:
      return std::nullopt;
  }
  return Syscall{k, op.a};
}

std::string_view op_name(OpKind k) noexcept { return kNames[static_cast<std::size_t>(k)]; }

bool op_from_name(std::string_view name, OpKind& out) noexcept {
  for (std::size_t i = 0; i < kOpKinds; ++i) {
    if (kNames[i] == name) {
      out = static_cast<OpKind>(i);
      return true;
    }
  }
  return false;
}

std::size_t arg_count(OpKind k) noexcept {
  switch (k) {
    case OpKind::Mmap:
      return 6;
    case OpKind::Mremap:
      return 5;
    case OpKind::PkeyMprotect:
      return 4;
    case OpKind::Mprotect:
    case OpKind::Madvise:
    case OpKind::Mlock2:
    case OpKind::Mseal:
      return 3;
    case OpKind::Munmap:
    case OpKind::Mlock:
    case OpKind::Munlock:
      return 2;
    case OpKind::Mlockall:
    case OpKind::Brk:
    case OpKind::WriteFault:
      return 1;
    case OpKind::Munlockall:
    case OpKind::Fork:
      return 0;
  }
  return 0;
}

std::string strace_line(const Op& op, const SysResult& result, const Fds& fds) {
  using trace::FlagSet;
  const auto& a = op.a;
  std::string call;
  switch (op.kind) {
    case OpKind::Mmap:
      call = "mmap(" + (a[0] == 0 ? std::string("NULL") : hex(a[0])) + ", " + std::to_string(a[1]) +
             ", " + flags(FlagSet::Prot, a[2], false, "PROT_NONE") + ", " +
             flags(FlagSet::Map, a[3], false, "0") + ", " +
             fd_text(static_cast<int>(static_cast<std::int64_t>(a[4])), fds) + ", " + hex(a[5]) +
             ")";
      break;
    case OpKind::Munmap:
      call = "munmap(" + hex(a[0]) + ", " + std::to_string(a[1]) + ")";
      break;
    case OpKind::Mprotect:
      call = "mprotect(" + hex(a[0]) + ", " + std::to_string(a[1]) + ", " +
             flags(FlagSet::Prot, a[2], false, "PROT_NONE") + ")";
      break;
    case OpKind::PkeyMprotect:
      call = "pkey_mprotect(" + hex(a[0]) + ", " + std::to_string(a[1]) + ", " +
             flags(FlagSet::Prot, a[2], false, "PROT_NONE") + ", " +
             std::to_string(static_cast<std::int32_t>(a[3])) + ")";
      break;
    case OpKind::Mremap:
      call = "mremap(" + hex(a[0]) + ", " + std::to_string(a[1]) + ", " + std::to_string(a[2]) +
             ", " + flags(FlagSet::Mremap, a[3], false, "0");
      if ((a[3] & 2) != 0) call += ", " + hex(a[4]);  // MREMAP_FIXED
      call += ")";
      break;
    case OpKind::Madvise:
      call = "madvise(" + hex(a[0]) + ", " + std::to_string(a[1]) + ", " +
             flags(FlagSet::Madvise, a[2], true, "") + ")";
      break;
    case OpKind::Mlock:
      call = "mlock(" + hex(a[0]) + ", " + std::to_string(a[1]) + ")";
      break;
    case OpKind::Mlock2:
      call = "mlock2(" + hex(a[0]) + ", " + std::to_string(a[1]) + ", " +
             flags(FlagSet::Mlock2, a[2], false, "0") + ")";
      break;
    case OpKind::Munlock:
      call = "munlock(" + hex(a[0]) + ", " + std::to_string(a[1]) + ")";
      break;
    case OpKind::Mlockall:
      call = "mlockall(" + flags(FlagSet::Mlockall, a[0], false, "0") + ")";
      break;
    case OpKind::Munlockall:
      call = "munlockall()";
      break;
    case OpKind::Brk:
      call = "brk(" + (a[0] == 0 ? std::string("NULL") : hex(a[0])) + ")";
      break;
    case OpKind::Mseal:
      call = "mseal(" + hex(a[0]) + ", " + std::to_string(a[1]) + ", " + std::to_string(a[2]) + ")";
      break;
    case OpKind::WriteFault:
      // The fault is made by the kernel writing into the page: read(2) of one
      // byte of /dev/zero. vmseal sim treats it as a write fault.
      call = "read(" + fd_text(fds.dev_zero, fds) + ", " + hex(a[0]) + ", 1)";
      return call + " = " + (result.is_error() ? result_text(op.kind, result) : std::string("1"));
    case OpKind::Fork:
      call = "fork()";
      break;
  }
  return call + " = " + result_text(op.kind, result);
}

}  // namespace vmseal::difftest
