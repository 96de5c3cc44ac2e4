// The system calls vmseal needs that Debian 12's glibc does not wrap, and a
// probe that tells a kernel without mseal(2) from a seccomp filter denying it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vmseal::kernel {

inline constexpr long kNrMseal = 462;  // x86-64

// mseal(2) through syscall(2): 0, or -errno.
long sys_mseal(std::uint64_t addr, std::uint64_t len, std::uint64_t flags) noexcept;

enum class MsealSupport : std::uint8_t {
  Available,  // the kernel has mseal and nothing denies it
  NoKernel,   // ENOSYS: the kernel predates 6.10 or is built without it
  Denied,     // a seccomp filter (or LSM) returns an error for it
  Killed,     // a seccomp filter kills (KILL) or signals (TRAP) the caller: SIGSYS
  Faked,      // mseal returns 0 but seals nothing (a filter that fakes success)
};
struct MsealProbe {
  MsealSupport support = MsealSupport::NoKernel;
  int error = 0;  // the errno the probe saw (0 when available)
};
// Probes without changing anything: mseal(0, 0, 0) is a no-op that returns 0
// on a kernel with mseal; mseal(0, 0, 1) must then fail with EINVAL (a filter
// that returns 0 for everything would not).
MsealProbe probe_mseal() noexcept;
// The same and more, in a child process, for the command-line tools: a filter
// that kills or traps mseal kills the child, not the tool (Killed, with the
// signal in `error`), and the child seals a page of its own and checks the
// seal by its effect (a same-size mremap must fail with EPERM), so a filter
// that fakes success is found (Faked). Costs a fork.
MsealProbe probe_mseal_isolated() noexcept;
// The same for a caller about to exec (`vmseal run`): without a seccomp
// filter nothing can kill or fake mseal, so the probe runs in this process
// and leaves one sealed page, which the exec discards; under a filter it
// runs in a child like probe_mseal_isolated.
MsealProbe probe_mseal_before_exec() noexcept;
std::string_view describe(const MsealProbe& probe) noexcept;

// A sysctl under /proc/sys/vm read as an integer; `fallback` when unreadable.
std::uint64_t read_vm_sysctl(std::string_view name, std::uint64_t fallback) noexcept;

// This process's seccomp mode from /proc/self/status: 0 none, 1 strict,
// 2 filter; -1 when unknown. A filter may return ENOSYS for calls it does not
// know, which looks like a kernel without them.
int seccomp_mode() noexcept;

// Asks for transparent huge pages over the page-aligned interior of a large
// buffer this process owns (MADV_HUGEPAGE), so filling it takes a few faults
// instead of one per 4 KiB. Best effort: ignored where THP is off.
void advise_huge_pages(void* buffer, std::size_t bytes) noexcept;

// Whether the CPU and kernel support memory protection keys (pkey_alloc works).
bool have_pku() noexcept;

// Whether a read fault on private anonymous memory maps the zero page (no
// page, no anon_vma) on this kernel, as upstream Linux does; false where the
// kernel allocates a page (Config::read_fault_zero_page). Read-touches one
// fresh page and reads its "Anonymous:" line in /proc/self/smaps; assumes the
// upstream answer (true) when that cannot be read.
bool read_fault_maps_zero_page() noexcept;

}  // namespace vmseal::kernel
