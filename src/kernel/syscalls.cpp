#include "vmseal/kernel/syscalls.hpp"

#include "vmseal/kernel/proc.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace vmseal::kernel {

long sys_mseal(std::uint64_t addr, std::uint64_t len, std::uint64_t flags) noexcept {
  const long r = syscall(kNrMseal, addr, len, flags);
  return r < 0 ? -errno : r;
}

MsealProbe probe_mseal() noexcept {
  MsealProbe p;
  const long r = sys_mseal(0, 0, 0);
  if (r == -ENOSYS) {
    p.support = MsealSupport::NoKernel;
    p.error = ENOSYS;
    return p;
  }
  if (r != 0) {
    p.support = MsealSupport::Denied;
    p.error = static_cast<int>(-r);
    return p;
  }
  const long bad = sys_mseal(0, 0, 1);
  if (bad != -EINVAL) {
    p.support = MsealSupport::Denied;
    p.error = bad < 0 ? static_cast<int>(-bad) : 0;
    return p;
  }
  p.support = MsealSupport::Available;
  return p;
}

namespace {

// Seals a fresh page of this process's and checks the seal by its effect: a
// same-size mremap of a sealed page fails with EPERM (mm/mremap.c,
// check_mremap_params -> can_modify_vma). Faked when mseal said yes and the
// page still moves. The page stays: sealed, it can never be unmapped.
void check_seal_effect(MsealProbe& p) noexcept {
  if (p.support != MsealSupport::Available) return;
  void* page = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page != MAP_FAILED && sys_mseal(reinterpret_cast<std::uint64_t>(page), 4096, 0) == 0 &&
      (mremap(page, 4096, 4096, 0) != MAP_FAILED || errno != EPERM)) {
    p.support = MsealSupport::Faked;
    p.error = 0;
  }
}

}  // namespace

MsealProbe probe_mseal_before_exec() noexcept {
  // Without a seccomp filter nothing can kill or fake mseal in this process,
  // so the probe runs here and the fork (a third of `vmseal run`'s own cost)
  // is saved; the sealed page it leaves goes away with the exec.
  if (seccomp_mode() == 0) {
    MsealProbe p = probe_mseal();
    check_seal_effect(p);
    return p;
  }
  return probe_mseal_isolated();
}

MsealProbe probe_mseal_isolated() noexcept {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return probe_mseal();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return probe_mseal();
  }
  if (pid == 0) {
    MsealProbe p = probe_mseal();
    check_seal_effect(p);
    const ssize_t ignored = write(fds[1], &p, sizeof p);
    (void)ignored;
    _exit(0);
  }
  close(fds[1]);
  MsealProbe p;
  ssize_t got = 0;
  while ((got = read(fds[0], &p, sizeof p)) < 0 && errno == EINTR) {
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got == static_cast<ssize_t>(sizeof p)) return p;
  MsealProbe killed;
  killed.support = MsealSupport::Killed;
  killed.error = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return killed;
}

std::string_view describe(const MsealProbe& probe) noexcept {
  switch (probe.support) {
    case MsealSupport::Available:
      return "mseal is available";
    case MsealSupport::NoKernel:
      return "this kernel has no mseal(2) (ENOSYS): it needs Linux 6.10 or later";
    case MsealSupport::Denied:
      return "mseal(2) is denied, probably by a seccomp filter (a no-op call failed)";
    case MsealSupport::Killed:
      return "a seccomp filter kills or traps any process that calls mseal(2) (the probe, run in a "
             "child, died "
             "of SIGSYS): a program sealed here would die the same way";
    case MsealSupport::Faked:
      return "mseal(2) returns success but seals nothing (a seccomp filter fakes it): a sealed "
             "page still "
             "accepts a no-op mremap";
  }
  return "unknown";
}

std::uint64_t read_vm_sysctl(std::string_view name, std::uint64_t fallback) noexcept {
  const std::string path = "/proc/sys/vm/" + std::string(name);
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return fallback;
  unsigned long long v = 0;
  const bool ok = std::fscanf(f, "%llu", &v) == 1;
  std::fclose(f);
  return ok ? v : fallback;
}

bool have_pku() noexcept {
  const long k = syscall(SYS_pkey_alloc, 0, 0);
  if (k < 0) return false;
  syscall(SYS_pkey_free, k);
  return true;
}

bool read_fault_maps_zero_page() noexcept {
  void* p = ::mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return true;
  (void)*static_cast<const volatile char*>(p);
  bool zero_page = true;
  try {
    char head[32];
    std::snprintf(head, sizeof head, "%lx-",
                  static_cast<unsigned long>(reinterpret_cast<std::uintptr_t>(p)));
    std::ifstream smaps("/proc/self/smaps");
    bool in_vma = false;
    for (std::string line; std::getline(smaps, line);) {
      if (!in_vma) {
        in_vma = line.rfind(head, 0) == 0;
      } else if (line.rfind("Anonymous:", 0) == 0) {
        zero_page = std::strtoull(line.c_str() + 10, nullptr, 10) == 0;
        break;
      }
    }
  } catch (...) {
  }
  ::munmap(p, 4096);
  return zero_page;
}

int seccomp_mode() noexcept {
  try {
    const auto v = read_status_field(0, "Seccomp:");
    return v && !v->empty() ? std::atoi(v->c_str()) : -1;
  } catch (...) {
    return -1;
  }
}

void advise_huge_pages(void* buffer, std::size_t bytes) noexcept {
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  if (bytes < 2 * kHuge) return;
  const auto a = reinterpret_cast<std::uintptr_t>(buffer);
  const std::uintptr_t lo = (a + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t hi = (a + bytes) & ~(kHuge - 1);
  if (hi > lo) (void)::syscall(SYS_madvise, lo, hi - lo, 14 /* MADV_HUGEPAGE */);
}

}  // namespace vmseal::kernel
