// A process under ptrace, for sealing what no preload can reach: a static
// program at its exec (`vmseal run`) and a process already running. mseal(2)
// acts on the caller's own address space, so the tracer makes the tracee call
// it: each call is injected at a `syscall` instruction the tracee already has
// (its vDSO's, or one in its text), with every register, the extended FP
// state and the blocked signals saved before and put back after, exactly.
// Nothing is written to the tracee's code.
//
// Every thread this object seized is detached when it goes out of scope, on
// every path (a thread that is running is interrupted first: PTRACE_DETACH
// needs a stopped tracee). If the tracer itself dies, the kernel detaches its
// tracees (exit_ptrace()); a thread it had mid-injection would then resume
// with the injected registers, which is why `vmseal run` seizes with
// PTRACE_O_EXITKILL (docs/run.md, "Static programs"), and why `vmseal seal
// PID` injects only through an armed thread that puts itself back
// (safe_injection.hpp).
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "vmseal/engine/types.hpp"

namespace vmseal::sealing {

// Why PTRACE_SEIZE of `pid` failed with `error`, in a sentence that says what
// to change: Yama's ptrace_scope, a missing CAP_SYS_PTRACE (another user's
// process, a container), a tracer already attached, a seccomp filter on this
// process, a process that is gone.
std::string explain_ptrace_refusal(pid_t pid, int error);

// Why this system does not let vmseal trace a program it starts (Yama's
// ptrace_scope 3, or 2 without CAP_SYS_PTRACE), or "" when it does. Under
// scope 1 the program names its sealer (PR_SET_PTRACER), so that is allowed.
std::string ptrace_policy_obstacle();

// The tracer of `pid` (TracerPid in /proc/PID/status), 0 for none, -1 when
// it cannot be read.
pid_t tracer_of(pid_t pid);

// A field of /proc/PID/status ("Seccomp", "Tgid", ...) without its name and
// leading blanks; "" when absent. pid 0 is this process.
std::string proc_status_field(pid_t pid, const char* field);

// Whether `rax` holds one of the kernel's restart codes (ERESTARTSYS,
// ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK): a system call
// interrupted by a signal or a stop returns one to its exit path, which
// turns it into a restart (or EINTR) on the way out.
bool is_restart_code(long rax) noexcept;

// What runs again for ERESTART_RESTARTBLOCK: restart_syscall, the kernel's
// way, which resumes a sleep where it stopped (it needs the thread's
// restart_block, which rt_sigreturn resets), or the call itself from the
// start.
enum class RestartBy : std::uint8_t { RestartSyscall, Call };

// When `regs` (a thread stopped by an interrupt, a signal or a group stop)
// show a system call the kernel would restart on the way out: rewinds them
// onto the `syscall` instruction, rax the call to make again, as the kernel
// does when no handler runs. False, unchanged, otherwise.
bool rewind_restart(user_regs_struct& regs, RestartBy by = RestartBy::RestartSyscall) noexcept;

// A wait Linux ends with EINTR on any stop and never restarts (signal(7),
// "Interruption of system calls and library functions by stop signals":
// epoll_wait, epoll_pwait(2), semop, semtimedop, rt_sigtimedwait,
// io_getevents, io_pgetevents), which `regs` show ended with EINTR: rewound
// onto its `syscall` instruction to wait again, and true. A stop vmseal
// makes must not end a wait the program would not have seen end. The wait
// starts again from its full timeout. False, unchanged, for anything else
// (a write, a close, ... may have had an effect: never run twice).
bool rewind_interrupted_wait(user_regs_struct& regs) noexcept;

// One thread's state as saved before an injection.
struct ThreadState {
  user_regs_struct regs{};
  std::vector<unsigned char> xstate;  // PTRACE_GETREGSET NT_X86_XSTATE, as long as it came
  std::uint64_t sigmask = 0;          // PTRACE_GETSIGMASK
};

// How the last wait ended for a thread.
enum class StopKind : std::uint8_t {
  None,          // not stopped (running, or not seen yet)
  Event,         // a PTRACE_EVENT_* stop (exec, interrupt, group stop)
  SyscallEntry,  // a syscall-entry stop
  SyscallExit,   // a syscall-exit stop
  Signal,        // a signal-delivery stop (the signal is in last_signal)
  Exited,        // the thread exited or was killed
};

class Tracee {
 public:
  Tracee() = default;
  ~Tracee() { detach_all(); }
  Tracee(const Tracee&) = delete;
  Tracee& operator=(const Tracee&) = delete;

  // PTRACE_SEIZE of one thread (PTRACE_O_TRACESYSGOOD is always added).
  // Returns 0 or the errno (explain_ptrace_refusal() says why).
  int seize(pid_t tid, unsigned long options);

  // Seizes every thread of the running process `pid` and stops each with
  // PTRACE_INTERRUPT (all seized first, then all interrupted, so that they
  // stop together), again until a pass over /proc/PID/task finds no new
  // thread (a thread may be created while the others are being stopped).
  // A wait the interrupt ended with EINTR is rewound as soon as its thread
  // stops (rewind_interrupted_wait()).
  // Returns 0 or an errno; on failure every thread seized is detached. With
  // `timeout_ms` >= 0, a thread that has not stopped by then (an
  // uninterruptible sleep: a vfork parent, a D-state wait) fails it with
  // ETIMEDOUT: the threads that stopped are detached, the others stay
  // seized until this process exits (PTRACE_DETACH needs a stopped thread;
  // the kernel detaches every tracee of an exiting tracer). `slow_tid` gets
  // that thread.
  int seize_process(pid_t pid, unsigned long options, std::string* why, int timeout_ms = -1,
                    pid_t* slow_tid = nullptr);

  // Waits for the next stop of `tid` (or its exit) and records it.
  // Returns the kind; `status` gets waitpid's status. With `timeout_ms` >=
  // 0, StopKind::None when it has not stopped by then.
  StopKind wait(pid_t tid, int* status = nullptr, int timeout_ms = -1);

  // Resumes `tid` with `request` (PTRACE_CONT, PTRACE_SYSCALL, ...),
  // delivering `sig` (0 for none). Returns 0 or errno.
  int resume(pid_t tid, int request, int sig = 0);

  // Saves the stopped thread's registers, FP/xstate and blocked signals. A
  // thread stopped (by PTRACE_INTERRUPT or a group stop) inside a system call
  // that will be restarted gets, in the saved registers, the restart the
  // kernel would otherwise have lost with the injected call in between (rip
  // back on its `syscall`, rax its number), as a signal without handler does.
  int save(pid_t tid, ThreadState& out);
  // Puts a saved state back. Returns 0 or errno.
  int restore(pid_t tid, const ThreadState& state);

  // Runs system call `nr` with `args` in the stopped thread `tid`, at the
  // `syscall` instruction at `insn`, with every signal blocked meanwhile
  // (a pending signal waits until the state is put back), and puts the
  // thread's state back. `result` gets the call's return value (-errno on
  // failure). Returns 0, or an errno when the injection itself failed (the
  // thread exited: ESRCH).
  int inject(pid_t tid, Addr insn, long nr, std::initializer_list<std::uint64_t> args,
             long& result);

  // Detaches `tid` (interrupting it first if it is running), delivering
  // `sig`. Returns 0 or errno.
  int detach(pid_t tid, int sig = 0);
  // Detaches every thread still attached. Never throws.
  void detach_all() noexcept;

  // Forgets every thread without detaching: after exec, or when the
  // process is known to be gone.
  void forget(pid_t tid) noexcept;
  // Forgets them all: the caller exits next, which detaches them.
  void abandon() noexcept;

  // Resumes `tid` until it reaches a syscall stop of kind `want`. Group
  // stops and interrupts met on the way are passed over; a signal that
  // reaches delivery although blocked (SIGSTOP; a fault) is kept and sent
  // again after the detach. 0, ESRCH when it exited, EPROTO for a stop of
  // the other kind.
  int resume_to_syscall_stop(pid_t tid, StopKind want);
  // The PTRACE_EVENT_* of the last event stop (0 for none).
  int last_event(pid_t tid) const noexcept;

  const std::vector<pid_t>& threads() const noexcept { return tids_; }
  StopKind last_stop(pid_t tid) const noexcept;
  int last_signal(pid_t tid) const noexcept;

 private:
  struct Thread {
    pid_t tid = 0;
    pid_t tgid = 0;
    StopKind stop = StopKind::None;
    int signal = 0;      // the signal of a signal-delivery stop
    int event = 0;       // the PTRACE_EVENT_* of an event stop
    int suppressed = 0;  // a signal an injection kept from delivery: sent after the detach
  };
  Thread* find(pid_t tid) noexcept;
  const Thread* find(pid_t tid) const noexcept;
  StopKind record_stop(pid_t tid, pid_t got, int status);
  int wait_for_interrupt(pid_t tid, int timeout_ms);

  std::vector<pid_t> tids_;
  std::vector<Thread> state_;
};

// The address of a `syscall` instruction (bytes 0f 05) the process `pid`
// already has and may execute: first in its vDSO, at the offset of one in
// this process's vDSO (the same kernel's), checked in the target's memory;
// else the first found in one of its executable mappings. 0 with `why` when
// there is none. The process must be stopped under this tracer (or readable
// through /proc/PID/mem).
Addr find_syscall_instruction(pid_t pid, std::string* why);

// The value of auxiliary vector entry `type` (AT_*) of process `pid`, from
// /proc/PID/auxv (the kernel's copy, which the process cannot change); 0
// when it is absent or cannot be read.
Addr auxv_entry(pid_t pid, std::uint64_t type);

// Reads `len` bytes of the process's memory at `addr` through
// /proc/PID/mem. Returns 0 or errno (EIO for a short read).
int read_process_memory(pid_t pid, Addr addr, void* out, std::size_t len);

// Writes through process_vm_writev, which honours the target's protections
// (a write to read-only memory fails with EFAULT; /proc/PID/mem would force
// it). Returns 0 or errno.
int write_process_memory(pid_t pid, Addr addr, const void* data, std::size_t len);

}  // namespace vmseal::sealing
