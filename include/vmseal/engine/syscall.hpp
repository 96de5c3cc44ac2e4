// The engine's system call table: every modelled memory-management call as a
// typed value (its kind and six register values), and the one function that
// applies a call to an address space, as the kernel's syscall table sends each
// number to its do_* function. Everything above the engine (sim, compare,
// predict, difftest) decodes its input into a Syscall and comes here.
//
// A call that chooses its own address (mmap without MAP_FIXED, mremap with
// MREMAP_MAYMOVE and no MREMAP_FIXED, shmat at 0) may be given the address a
// log says the kernel chose (RecordedPlacement, address_space.hpp): the engine
// cannot see ASLR nor what was mapped before the log began.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "vmseal/engine/address_space.hpp"

namespace vmseal {

enum class SyscallKind : std::uint8_t {
  Mmap,          // addr, len, prot, flags, fd, offset
  Munmap,        // addr, len
  Mprotect,      // addr, len, prot
  PkeyMprotect,  // addr, len, prot, pkey
  Mremap,        // old_addr, old_len, new_len, flags, new_addr
  Madvise,       // addr, len, advice
  Mlock,         // addr, len
  Mlock2,        // addr, len, flags
  Munlock,       // addr, len
  Mlockall,      // flags
  Munlockall,    //
  Brk,           // addr
  Mseal,         // addr, len, flags
  MsealTyped,    // addr, len, types, flags (the typed-seal RFC's four arguments)
  Msync,         // addr, len, flags
  Shmat,         // segment (the engine's FileId of it), addr, shmflg
  Shmdt,         // addr
  Prctl,         // option, arg2..arg5: the options that decide memory calls (PR_SET/GET_MDWE)
  Setrlimit,     // resource, rlim_cur, rlim_max (the struct's fields)
  Prlimit,       // pid, resource, rlim_cur, rlim_max: prlimit64 with a new limit
  Capset,        // effective, permitted, inheritable (header pid 0: this process)
  // The kernel's own operations on a mapping it made (seed 003), which no
  // system call asks for and no trace shows: a script's pseudo-calls
  // kseal, kunseal and krelease (AddressSpace::kernel_seal() ...).
  KernelSeal,     // addr, len
  KernelUnseal,   // addr, len
  KernelRelease,  // addr, len
  // The files whose state decides memory calls (memfd.cpp). A new fd is the
  // lowest free one; a caller that knows the kernel's number moves it.
  MemfdCreate,  // name (a pointer: the engine's file is "/memfd: (deleted)"), flags
  MemfdSecret,  // flags
  Fcntl,        // fd, cmd, arg: F_ADD_SEALS and F_GET_SEALS (anything else EINVAL)
  Ftruncate,    // fd, length
  // userfaultfd(2) and its ioctls (userfaultfd.cpp).
  Userfaultfd,       // flags: a context of this mm; the result is its fd
  UffdioApi,         // fd, api, features: ioctl(fd, UFFDIO_API, {api, features})
  UffdioRegister,    // fd, start, len, mode: ioctl(fd, UFFDIO_REGISTER, {range, mode})
  UffdioUnregister,  // fd, start, len: ioctl(fd, UFFDIO_UNREGISTER, {start, len})
};
inline constexpr std::size_t kSyscallKinds = 32;

// The name strace prints ("mseal" for MsealTyped too, "ioctl" for the
// UFFDIO_* ones); for the kernel's operations, the script's name ("kseal").
std::string_view syscall_name(SyscallKind k) noexcept;
// How many register arguments the call reads.
std::size_t syscall_arg_count(SyscallKind k) noexcept;

struct Syscall {
  SyscallKind kind = SyscallKind::Munmap;
  std::array<std::uint64_t, 6> a{};
  friend bool operator==(const Syscall&, const Syscall&) = default;
};

// Whether the call picks its own address (and so may follow a recorded one).
bool chooses_its_address(const Syscall& call) noexcept;

struct Applied {
  SysResult result;
  bool placed = false;  // the recorded placement was taken
};

// The call on `as`. `recorded`: where a log says the kernel put a call that
// chooses its own address (ignored for the others).
Applied apply(AddressSpace& as, const Syscall& call,
              const std::optional<RecordedPlacement>& recorded = std::nullopt);

}  // namespace vmseal
