#include "vmseal/difftest/op.hpp"

#include <cinttypes>
#include <cstdio>

#include "vmseal/trace/memory_call.hpp"

namespace vmseal::difftest {

namespace {

constexpr std::array<std::string_view, kOpKinds> kNames{"mmap",
                                                        "munmap",
                                                        "mprotect",
                                                        "pkey_mprotect",
                                                        "mremap",
                                                        "madvise",
                                                        "mlock",
                                                        "mlock2",
                                                        "munlock",
                                                        "mlockall",
                                                        "munlockall",
                                                        "brk",
                                                        "mseal",
                                                        "fault",
                                                        "fork",
                                                        "prctl",
                                                        "setrlimit",
                                                        "capset",
                                                        "userfaultfd",
                                                        "uffdio_api",
                                                        "uffdio_register",
                                                        "uffdio_unregister",
                                                        "close"};

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#" PRIx64, v);
  return b;
}

// The -y annotation strace would print for `fd`.
trace::FdArg fd_arg(int fd, const Fds& fds) {
  trace::FdArg f;
  f.fd = fd;
  if (fd < 0) return f;
  if (fd == fds.memfd_a || fd == fds.memfd_a2 || fd == fds.memfd_a_ro)
    f.path = "/memfd:vmseal-a";
  else if (fd == fds.memfd_b)
    f.path = "/memfd:vmseal-b";
  else if (fd == fds.memfd_sealed)
    f.path = "/memfd:vmseal-s";
  else if (fd == fds.secret)
    f.path = "/secretmem";
  else if (fd == fds.dev_zero)
    f.path = "/dev/zero";
  else if (fd >= kUffdFdBase && fd < kUffdFdBase + kUffdFds)
    f.path = "anon_inode:[userfaultfd]";  // what a userfaultfd op puts there
  f.deleted = f.path.starts_with("/memfd:") || f.path == "/secretmem";
  f.has_path = !f.path.empty();
  return f;
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
    case OpKind::Prctl:
      k = SyscallKind::Prctl;
      break;
    case OpKind::Setrlimit:
      k = SyscallKind::Setrlimit;
      break;
    case OpKind::Capset:
      k = SyscallKind::Capset;
      break;
    case OpKind::UffdioApi:
      k = SyscallKind::UffdioApi;
      break;
    case OpKind::UffdioRegister:
      k = SyscallKind::UffdioRegister;
      break;
    case OpKind::UffdioUnregister:
      k = SyscallKind::UffdioUnregister;
      break;
    case OpKind::WriteFault:
    case OpKind::Fork:
    case OpKind::Userfaultfd:
    case OpKind::Close:
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
    case OpKind::Prctl:
      return 5;
    case OpKind::Setrlimit:
    case OpKind::Capset:
    case OpKind::UffdioApi:
    case OpKind::UffdioUnregister:
      return 3;
    case OpKind::UffdioRegister:
      return 4;
    case OpKind::Userfaultfd:
      return 2;
    case OpKind::Close:
      return 1;
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

// The call through the one encoder (trace/memory_call.hpp); a write fault
// as the read(2) of one byte of /dev/zero that makes it (vmseal sim treats it
// as a write fault); fork as itself.
std::string strace_line(const Op& op, const SysResult& result, const Fds& fds) {
  trace::MemoryCall call;
  if (const std::optional<Syscall> sys = as_syscall(op)) {
    call.call = *sys;
    if (op.kind == OpKind::Mmap) call.fd = fd_arg(static_cast<int>(sys->a[4]), fds);
    if (sys->kind == SyscallKind::UffdioApi || sys->kind == SyscallKind::UffdioRegister ||
        sys->kind == SyscallKind::UffdioUnregister)
      call.fd = fd_arg(static_cast<int>(sys->a[0]), fds);
  } else if (op.kind == OpKind::Userfaultfd) {  // as if it gave the fd it is moved to
    call.call = Syscall{SyscallKind::Userfaultfd, {op.a[0]}};
  } else if (op.kind == OpKind::Close) {
    return "close(" + std::to_string(static_cast<int>(op.a[0])) +
           ") = " + result_text(op.kind, result);
  } else if (op.kind == OpKind::WriteFault) {
    call.form = trace::MemoryCall::Form::ZeroFill;
    call.call.a = {static_cast<std::uint64_t>(fds.dev_zero), op.a[0], 1};
    call.fd = fd_arg(fds.dev_zero, fds);
    return trace::encode_memory_call(call) + " = " +
           (result.is_error() ? result_text(op.kind, result) : std::string("1"));
  } else {
    return "fork() = " + result_text(op.kind, result);
  }
  return trace::encode_memory_call(call) + " = " + result_text(op.kind, result);
}

}  // namespace vmseal::difftest
