// One step of a difftest sequence: a memory-management system call with its
// raw register values, or a process event (a write fault, fork).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "vmseal/engine/syscall.hpp"
#include "vmseal/engine/types.hpp"

namespace vmseal::difftest {

enum class OpKind : std::uint8_t {
  Mmap,
  Munmap,
  Mprotect,
  PkeyMprotect,
  Mremap,
  Madvise,
  Mlock,
  Mlock2,
  Munlock,
  Mlockall,
  Munlockall,
  Brk,
  Mseal,
  WriteFault,  // a[0]: the address; made with read(2) from /dev/zero into it
  Fork,        // the process forks; the sequence goes on in the child
  Prctl,       // prctl(PR_SET_MDWE / PR_GET_MDWE, ...): process state that decides calls
  Setrlimit,   // a[0] resource, a[1] soft, a[2] hard: prlimit64 of the child itself
  Capset,      // a[0] effective, a[1] permitted, a[2] inheritable: the child's own sets
  // userfaultfd(2): a[0] flags; the fd it gives is moved to a[1] (dup3), so
  // that every replay and reproduction names it alike.
  Userfaultfd,
  UffdioApi,         // ioctl(a[0], UFFDIO_API, {api=a[1], features=a[2]})
  UffdioRegister,    // ioctl(a[0], UFFDIO_REGISTER, {range={a[1], a[2]}, mode=a[3]})
  UffdioUnregister,  // ioctl(a[0], UFFDIO_UNREGISTER, {a[1], a[2]})
  Close,             // close(a[0]): a userfaultfd's (the last one releases it)
};
inline constexpr std::size_t kOpKinds = 23;

// Where a child's userfaultfds go (Userfaultfd's a[1]): fds far above those
// it holds (stderr, its pipes, the job's files).
inline constexpr int kUffdFdBase = 200;
inline constexpr int kUffdFds = 4;

std::string_view op_name(OpKind k) noexcept;
bool op_from_name(std::string_view name, OpKind& out) noexcept;

struct Op {
  OpKind kind = OpKind::Munmap;
  std::array<std::uint64_t, 6> a{};
  friend bool operator==(const Op&, const Op&) = default;
};

// How many of the six arguments the call takes.
std::size_t arg_count(OpKind k) noexcept;

// The engine's typed call for an op that is a system call (syscall.hpp);
// nullopt for the process events (a write fault, fork) and for the fd
// calls the runner applies itself (userfaultfd with its dup3, close).
std::optional<Syscall> as_syscall(const Op& op) noexcept;

// The file descriptors a difftest child has open, by role; the same numbers in
// the engine. Both memfds are large enough that no mapping reaches their end.
struct Fds {
  int memfd_a = -1;     // memfd "vmseal-a", O_RDWR
  int memfd_a2 = -1;    // the same memfd opened again: another open file
  int memfd_a_ro = -1;  // the same memfd, O_RDONLY
  int memfd_b = -1;     // memfd "vmseal-b", O_RDWR
  int dev_zero = -1;    // /dev/zero, O_RDWR (also the fault helper)
  // memfd "vmseal-s", sealed F_SEAL_SEAL|SHRINK|GROW|WRITE before any child
  // exists: a shared writable mapping of it is EPERM, a shared read-only one
  // cannot gain PROT_WRITE (docs/kernel-rules.md 6e).
  int memfd_sealed = -1;
  // A memfd_secret(2) file (mapped shared only, locked, unpinnable); -1
  // where the kernel has none.
  int secret = -1;
};

// A result as strace prints it: "-1 EPERM (EPERM)", an address in hex for
// mmap, mremap and brk, else a decimal number.
std::string result_text(OpKind k, const SysResult& r);
// The call in strace's syntax (as `strace -f -y` prints it) with `result`.
// Each fd of `fds` is named as strace's -y would.
std::string strace_line(const Op& op, const SysResult& result, const Fds& fds);

}  // namespace vmseal::difftest
