// What a process's seccomp filters decide about a system call, found by
// running them. A system call vmseal injects into another process (`vmseal
// seal PID`) goes through that process's filters like its own calls: a
// filter that kills on mseal would kill the process vmseal means to protect,
// and one that fails mmap would leave a copy half made. So before each call
// the filters of the injecting thread, read with PTRACE_SECCOMP_GET_FILTER,
// are run on it here, as kernel/seccomp.c runs them: every filter, the most
// restrictive action wins (ACTION_ONLY() compared as signed), and only
// SECCOMP_RET_ALLOW and SECCOMP_RET_LOG let a call through. A classic BPF
// program is interpreted with the instructions seccomp_check_filter()
// accepts; anything else makes the program "unknown", which counts as a
// refusal.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vmseal::sealing {

// struct sock_filter.
struct BpfInsn {
  std::uint16_t code = 0;
  std::uint8_t jt = 0;
  std::uint8_t jf = 0;
  std::uint32_t k = 0;
};

// struct seccomp_data, as the filter sees a call.
struct SeccompInput {
  int nr = 0;
  std::uint32_t arch = 0xC000003E;  // AUDIT_ARCH_X86_64
  std::uint64_t ip = 0;             // the address after the `syscall` instruction
  std::uint64_t args[6] = {};
};

inline constexpr std::uint32_t kSeccompAllow = 0x7fff0000;
inline constexpr std::uint32_t kSeccompKillProcess = 0x80000000;

// Runs one filter. nullopt for a program the kernel would not have loaded
// (an instruction outside seccomp's set, a load past seccomp_data, a jump
// past the end, no return).
std::optional<std::uint32_t> run_seccomp_program(std::span<const BpfInsn> program,
                                                 const SeccompInput& in);

// The more restrictive of two actions (kernel/seccomp.c, seccomp_run_filters()).
std::uint32_t stricter_seccomp_action(std::uint32_t a, std::uint32_t b) noexcept;
// Whether an action runs the call: ALLOW or LOG.
bool seccomp_action_allows(std::uint32_t action) noexcept;
// "kill-process", "errno 1", "trap", ... for messages.
std::string seccomp_action_name(std::uint32_t action);
// "mseal (462)" for the calls vmseal injects, "system call N" for others.
std::string syscall_label(long nr);

class SeccompFilters {
 public:
  // The filters of thread `tid`, which this process traces and has stopped
  // (PTRACE_SECCOMP_GET_FILTER, which needs CAP_SYS_ADMIN). False with why.
  bool load(pid_t tid, std::string* why);
  void add(std::vector<BpfInsn> program) { programs_.push_back(std::move(program)); }
  // The action the filters take on `in` (ALLOW without filters; KILL_PROCESS
  // for a program that cannot be run).
  std::uint32_t action(const SeccompInput& in) const;
  std::size_t size() const noexcept { return programs_.size(); }

 private:
  std::vector<std::vector<BpfInsn>> programs_;
};

}  // namespace vmseal::sealing
