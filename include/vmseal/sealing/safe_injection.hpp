// System calls injected into a running process so that the process is safe
// whatever happens to the injector (`vmseal seal PID`, docs/run.md "Sealing a
// running process").
//
// The danger: a thread mid-injection holds registers vmseal set. If vmseal
// dies there (SIGKILL, the OOM killer), the kernel detaches its tracees
// (exit_ptrace()) and the thread runs on with those registers.
// PTRACE_O_EXITKILL would kill the process instead, which is no better for a
// running server. So the thread is *armed* first: below its stack pointer
// (and its red zone), where the kernel itself would put a signal frame, an
// rt_sigframe is written that holds the thread's own state (every general
// register, the XSAVE area with its FP_XSTATE magic, the blocked signals),
// whose return address is a `mov $15, %eax; syscall` (rt_sigreturn) the
// process already has (glibc's and musl's __restore_rt, Go's
// runtime.sigreturn). Every injected call then runs at a `syscall; ret` the
// process already has, with the stack pointer on that frame. At every
// moment the thread either has its own registers, or registers whose next
// user-mode instructions are: the injected call, `ret` into rt_sigreturn,
// and the kernel's own restore of the frame. A thread left there by a dead
// injector finishes the call it was given, puts itself back, and runs on.
//
// The registers are written in an order that keeps this true at each step:
// the frame first, then the injected registers, then all signals blocked;
// back: the blocked signals first, the registers last. Nothing is written to
// the process's code.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vmseal/sealing/remote_seal.hpp"
#include "vmseal/sealing/seccomp_filter.hpp"
#include "vmseal/sealing/tracee.hpp"

namespace vmseal::sealing {

// The two instruction sequences an armed thread needs, in the process's own
// code: file-backed, executable, not writable, private mappings.
struct InjectionSites {
  Addr syscall_ret = 0;  // 0f 05 c3: syscall; ret
  Addr sigreturn = 0;    // b8 0f 00 00 00 0f 05, or 48 c7 c0 0f 00 00 00 0f 05
  std::size_t sigreturn_len = 0;
};
// Finds both; false with why. `recheck` reads only the bytes at `out`'s
// addresses again (the process stopped since).
bool find_injection_sites(pid_t pid, InjectionSites& out, std::string* why);
bool injection_sites_intact(pid_t pid, const InjectionSites& sites);

// The rt_sigframe an armed thread returns through, as bytes to write at
// `frame` (its pretcode slot; the stack pointer of every injected call) up
// to the end of the XSAVE area at `fpstate`. Exposed for the tests.
struct SigFrame {
  Addr frame = 0;
  Addr fpstate = 0;
  std::vector<unsigned char> bytes;  // from `frame` on
};
// `regs` the state the frame restores, `xstate` as PTRACE_GETREGSET
// NT_X86_XSTATE gave it (empty: no XSAVE, `fxsave` instead), `sigmask` the
// blocked signals, `below` the highest address the frame may use (the stack
// pointer minus the red zone). The frame goes below it, 64-byte aligned for
// XRSTOR, as the kernel's get_sigframe() puts one.
SigFrame build_sigframe(const user_regs_struct& regs, const std::vector<unsigned char>& xstate,
                        const std::vector<unsigned char>& fxsave, std::uint64_t sigmask, Addr below,
                        Addr sigreturn);

// The state a stopped thread goes back to: `restore` through PTRACE_SETREGS
// on the normal path, `frame` through rt_sigreturn if the injector dies. A
// system call the stop interrupted is restarted in both, as the kernel would
// have (rip back on the `syscall`): by restart_syscall in `restore`, and in
// `frame` by the call itself, because rt_sigreturn resets restart_block
// (a sleep then starts again from its full length instead of failing with
// EINTR). A wait that Linux never restarts (epoll_wait, semop,
// sigtimedwait, io_getevents: signal(7)) and that the interrupt ended with
// EINTR is restarted too (rewind_interrupted_wait(), tracee.hpp): without
// vmseal it would not have returned.
struct ResumePoint {
  user_regs_struct restore{};
  user_regs_struct frame{};
};
ResumePoint resume_point(const user_regs_struct& stopped, StopKind stop);

// A thread stopped inside a call that swaps its blocked signals for the
// call (sigsuspend, ppoll, pselect6, epoll_pwait): PTRACE_GETSIGMASK gives
// the mask the kernel puts back after it (saved_sigmask, Linux 5.1+), and
// PTRACE_SETSIGMASK sets that and cancels the kernel's own restore; the
// call, run again, swaps its mask again. So the saved mask is the right one
// on both paths.

// The kill points of `vmseal seal PID`'s tests: each step of the injection
// calls this; with VMSEAL_TEST_KILL_AT=N in the environment the N-th call
// kills this process (SIGKILL). steps_taken() counts them.
void injection_checkpoint() noexcept;
int injection_steps_taken() noexcept;

// A thread armed for injected calls (see the top of this file).
class ArmedThread final : public RemoteCalls {
 public:
  ArmedThread(Tracee& tracee, pid_t pid, pid_t tid, const InjectionSites& sites,
              const SeccompFilters* filters)
      : RemoteCalls(pid), tracee_(tracee), tid_(tid), sites_(sites), filters_(filters) {}
  ~ArmedThread() override;

  // Saves the thread's state, writes its frame below its stack pointer (the
  // whole frame must lie in [stack_low, rsp - 128): a private writable
  // mapping), and blocks its signals. 0 or an errno, with why.
  int arm(Addr stack_low, std::string* why);
  long call(long nr, std::initializer_list<std::uint64_t> args) override;
  // Blocked signals back first, then the registers (a restart as
  // resume_point() says). 0 or an errno.
  int disarm();

  bool armed() const noexcept { return armed_; }
  pid_t tid() const noexcept { return tid_; }
  // Why calls were not run ("" when all were): a seccomp filter of the
  // thread's would not have let them through.
  const std::string& refused() const noexcept { return refused_; }
  Addr frame_address() const noexcept { return frame_; }
  std::size_t calls_made() const noexcept { return calls_; }

 private:
  bool allowed(long nr, std::initializer_list<std::uint64_t> args, Addr ip);

  Tracee& tracee_;
  pid_t tid_;
  InjectionSites sites_;
  const SeccompFilters* filters_;
  ResumePoint resume_{};
  std::uint64_t sigmask_ = 0;
  Addr frame_ = 0;
  bool armed_ = false;
  std::size_t calls_ = 0;
  std::string refused_;
};

}  // namespace vmseal::sealing
