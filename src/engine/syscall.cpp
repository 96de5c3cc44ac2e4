// The engine's system call table (syscall.hpp): one dispatch from a typed
// call to the AddressSpace function that mirrors the kernel's.
#include "vmseal/engine/syscall.hpp"

#include "vmseal/kernel/abi.hpp"

namespace vmseal {

namespace {

struct KindInfo {
  std::string_view name;
  std::size_t args;
};
constexpr std::array<KindInfo, kSyscallKinds> kKinds{{
    {"mmap", 6},         {"munmap", 2}, {"mprotect", 3},  {"pkey_mprotect", 4}, {"mremap", 5},
    {"madvise", 3},      {"mlock", 2},  {"mlock2", 3},    {"munlock", 2},       {"mlockall", 1},
    {"munlockall", 0},   {"brk", 1},    {"mseal", 3},     {"mseal", 4},         {"msync", 3},
    {"shmat", 3},        {"shmdt", 1},  {"prctl", 5},     {"setrlimit", 3},     {"prlimit64", 4},
    {"capset", 3},       {"kseal", 2},  {"kunseal", 2},   {"krelease", 2},      {"memfd_create", 2},
    {"memfd_secret", 1}, {"fcntl", 3},  {"ftruncate", 2}, {"userfaultfd", 1},   {"ioctl", 3},
    {"ioctl", 4},        {"ioctl", 3},
}};

}  // namespace

std::string_view syscall_name(SyscallKind k) noexcept {
  return kKinds[static_cast<std::size_t>(k)].name;
}
std::size_t syscall_arg_count(SyscallKind k) noexcept {
  return kKinds[static_cast<std::size_t>(k)].args;
}

bool chooses_its_address(const Syscall& c) noexcept {
  switch (c.kind) {
    case SyscallKind::Mmap:
      return (c.a[3] & (abi::MAP_FIXED | abi::MAP_FIXED_NOREPLACE)) == 0;
    case SyscallKind::Mremap:
      return (c.a[3] & abi::MREMAP_MAYMOVE) != 0 && (c.a[3] & abi::MREMAP_FIXED) == 0;
    case SyscallKind::Shmat:
      return c.a[1] == 0;
    default:
      return false;
  }
}

namespace {

SysResult dispatch(AddressSpace& as, const Syscall& c) {
  const auto& a = c.a;
  switch (c.kind) {
    case SyscallKind::Mmap:
      return as.mmap(a[0], a[1], a[2], a[3], static_cast<int>(a[4]), a[5]);
    case SyscallKind::Munmap:
      return as.munmap(a[0], a[1]);
    case SyscallKind::Mprotect:
      return as.mprotect(a[0], a[1], a[2]);
    case SyscallKind::PkeyMprotect:
      return as.pkey_mprotect(a[0], a[1], a[2], static_cast<int>(a[3]));
    case SyscallKind::Mremap:
      return as.mremap(a[0], a[1], a[2], a[3], a[4]);
    case SyscallKind::Madvise:
      return as.madvise(a[0], a[1], static_cast<int>(a[2]));
    case SyscallKind::Mlock:
      return as.mlock(a[0], a[1]);
    case SyscallKind::Mlock2:
      return as.mlock2(a[0], a[1], a[2]);
    case SyscallKind::Munlock:
      return as.munlock(a[0], a[1]);
    case SyscallKind::Mlockall:
      return as.mlockall(a[0]);
    case SyscallKind::Munlockall:
      return as.munlockall();
    case SyscallKind::Brk:
      return as.brk(a[0]);
    case SyscallKind::Mseal:
      return as.mseal(a[0], a[1], a[2]);
    case SyscallKind::MsealTyped:
      return as.mseal_typed(a[0], a[1], a[2], a[3]);
    case SyscallKind::Msync:
      return as.msync(a[0], a[1], a[2]);
    case SyscallKind::Shmat:
      return as.shmat(static_cast<FileId>(a[0]), a[1], a[2]);
    case SyscallKind::Shmdt:
      return as.shmdt(a[0]);
    case SyscallKind::Prctl:
      return as.prctl(a[0], a[1], a[2], a[3], a[4]);
    case SyscallKind::Setrlimit:
      return as.setrlimit(static_cast<int>(a[0]), a[1], a[2], as.config().caps);
    case SyscallKind::Prlimit:  // on this process; a caller that knows the pids routes it
      return as.setrlimit(static_cast<int>(a[1]), a[2], a[3], as.config().caps);
    case SyscallKind::Capset:
      return as.capset(a[0], a[1], a[2]);
    case SyscallKind::KernelSeal:
      return as.kernel_seal(a[0], a[1]);
    case SyscallKind::KernelUnseal:
      return as.kernel_unseal(a[0], a[1]);
    case SyscallKind::KernelRelease:
      return as.kernel_release(a[0], a[1]);
    case SyscallKind::MemfdCreate:
      return as.memfd_create(a[1]);
    case SyscallKind::MemfdSecret:
      return as.memfd_secret(a[0]);
    case SyscallKind::Fcntl:
      return as.fcntl(static_cast<int>(a[0]), a[1], a[2]);
    case SyscallKind::Ftruncate:
      return as.ftruncate(static_cast<int>(a[0]), a[1]);
    case SyscallKind::Userfaultfd:
      return as.userfaultfd(a[0]);
    case SyscallKind::UffdioApi:
      return as.uffdio_api(static_cast<int>(a[0]), a[1], a[2]);
    case SyscallKind::UffdioRegister:
      return as.uffdio_register(static_cast<int>(a[0]), a[1], a[2], a[3]);
    case SyscallKind::UffdioUnregister:
      return as.uffdio_unregister(static_cast<int>(a[0]), a[1], a[2]);
  }
  return SysResult(Errno::NOSYS);
}

}  // namespace

Applied apply(AddressSpace& as, const Syscall& call,
              const std::optional<RecordedPlacement>& recorded) {
  Applied out;
  if (!recorded || !chooses_its_address(call)) {
    out.result = dispatch(as, call);
    return out;
  }
  as.set_recorded_placement(*recorded);
  out.result = dispatch(as, call);
  out.placed = as.recorded_placement_used();
  as.clear_recorded_placement();
  return out;
}

}  // namespace vmseal
