#include "vmseal/sealing/tracee.hpp"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

namespace vmseal::sealing {
namespace {

// The kernel's restart codes (include/linux/errno.h): a system call
// interrupted by a signal returns one of these to the exit path, which turns
// it into a restart (or EINTR) only when it delivers a signal.
constexpr long kErestartsys = 512;
constexpr long kErestartnointr = 513;
constexpr long kErestartnohand = 514;
constexpr long kErestartRestartblock = 516;
constexpr long kNrRestartSyscall = 219;  // __NR_restart_syscall on x86-64

// The largest XSAVE area this code keeps (AMX tiles included: about 11 KiB).
constexpr std::size_t kXstateMax = 16384;

}  // namespace

std::string proc_status_field(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(in, line))
    if (line.compare(0, key.size(), key) == 0) {
      std::size_t b = line.find_first_not_of(" \t", key.size());
      return b == std::string::npos ? "" : line.substr(b);
    }
  return "";
}

namespace {

int yama_scope() {
  std::ifstream in("/proc/sys/kernel/yama/ptrace_scope");
  int v = -1;
  if (!(in >> v)) return -1;
  return v;
}

bool has_cap_sys_ptrace() {
  // CapEff is hexadecimal; CAP_SYS_PTRACE is bit 19.
  const std::string eff = proc_status_field(0, "CapEff");
  if (eff.empty()) return false;
  return ((std::stoull(eff, nullptr, 16) >> 19) & 1) != 0;
}

std::string owner_sentence(pid_t pid) {
  const std::string uid_line = proc_status_field(pid, "Uid");
  if (uid_line.empty()) return "";
  std::istringstream in(uid_line);
  unsigned long real = 0, effective = 0;
  in >> real >> effective;
  if (real == getuid() && effective == getuid()) return "";
  return " it belongs to user " + std::to_string(real) +
         " and tracing another user's process needs CAP_SYS_PTRACE (root, or a container that "
         "grants it);";
}

pid_t tgid_of(pid_t tid) {
  const std::string v = proc_status_field(tid, "Tgid");
  return v.empty() ? tid : static_cast<pid_t>(std::strtol(v.c_str(), nullptr, 10));
}

}  // namespace

std::string ptrace_policy_obstacle() {
  const int scope = yama_scope();
  if (scope == 3) return "Yama's kernel.yama.ptrace_scope is 3: no process may use ptrace";
  if (scope == 2 && !has_cap_sys_ptrace())
    return "Yama's kernel.yama.ptrace_scope is 2 and vmseal lacks CAP_SYS_PTRACE";
  return "";
}

pid_t tracer_of(pid_t pid) {
  const std::string v = proc_status_field(pid, "TracerPid");
  if (v.empty()) return -1;
  try {
    return static_cast<pid_t>(std::stol(v));
  } catch (...) {
    return -1;
  }
}

std::string explain_ptrace_refusal(pid_t pid, int error) {
  const std::string who = "process " + std::to_string(pid);
  if (error == ESRCH) return who + " does not exist (or exited)";
  std::string s = "ptrace of " + who + " refused (" + std::strerror(error) + "):";
  const pid_t tracer = tracer_of(pid);
  if (tracer > 0)
    return s + " it is already traced by process " + std::to_string(tracer) +
           " (a debugger, strace, or another vmseal); a process has one tracer at a time";
  if (const std::string seccomp = proc_status_field(0, "Seccomp"); seccomp == "2")
    s += " vmseal runs under a seccomp filter (Seccomp: 2 in /proc/self/status), which may deny "
         "ptrace;";
  s += owner_sentence(pid);
  const int scope = yama_scope();
  const bool cap = has_cap_sys_ptrace();
  if (scope == 3)
    s += " Yama's kernel.yama.ptrace_scope is 3: no process may use ptrace until reboot;";
  else if (scope == 2 && !cap)
    s += " Yama's kernel.yama.ptrace_scope is 2: only a process with CAP_SYS_PTRACE may trace "
         "(run vmseal as root, or lower the scope);";
  else if (scope == 1 && !cap)
    s += " Yama's kernel.yama.ptrace_scope is 1: only an ancestor (or a process the target "
         "named with PR_SET_PTRACER) may trace it without CAP_SYS_PTRACE;";
  if (error == EPERM)
    s += " a process that is not dumpable (set-user-ID, file capabilities, PR_SET_DUMPABLE 0) "
         "can only be traced with CAP_SYS_PTRACE;";
  if (!s.empty() && s.back() == ';') s.back() = '.';
  if (s.back() == ':') s += " no reason found in /proc (an LSM may deny it).";
  return s;
}

Tracee::Thread* Tracee::find(pid_t tid) noexcept {
  for (Thread& t : state_)
    if (t.tid == tid) return &t;
  return nullptr;
}

const Tracee::Thread* Tracee::find(pid_t tid) const noexcept {
  for (const Thread& t : state_)
    if (t.tid == tid) return &t;
  return nullptr;
}

StopKind Tracee::last_stop(pid_t tid) const noexcept {
  const Thread* t = find(tid);
  return t != nullptr ? t->stop : StopKind::None;
}

int Tracee::last_signal(pid_t tid) const noexcept {
  const Thread* t = find(tid);
  return t != nullptr ? t->signal : 0;
}

int Tracee::seize(pid_t tid, unsigned long options) {
  if (ptrace(PTRACE_SEIZE, tid, nullptr,
             reinterpret_cast<void*>(options | PTRACE_O_TRACESYSGOOD)) != 0)
    return errno;
  tids_.push_back(tid);
  Thread t;
  t.tid = tid;
  t.tgid = tgid_of(tid);
  state_.push_back(t);
  return 0;
}

namespace {

// waitpid for `tid` that gives up at `deadline` (0 when it did), woken by
// the SIGCHLD a tracer gets for each stop rather than by polling.
pid_t wait_with_deadline(pid_t tid, int* status, std::chrono::steady_clock::time_point deadline) {
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, &old);
  pid_t got = 0;
  for (;;) {
    got = waitpid(tid, status, __WALL | WNOHANG);
    if (got != 0 && !(got < 0 && errno == EINTR)) break;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) break;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    const timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    sigtimedwait(&chld, nullptr, &ts);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return got;
}

}  // namespace

StopKind Tracee::wait(pid_t tid, int* status_out, int timeout_ms) {
  int status = 0;
  pid_t got = -1;
  if (timeout_ms >= 0) {
    got = wait_with_deadline(
        tid, &status, std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms));
    if (got == 0) return StopKind::None;
  } else {
    do {
      got = waitpid(tid, &status, __WALL);
    } while (got < 0 && errno == EINTR);
  }
  if (status_out != nullptr) *status_out = status;
  return record_stop(tid, got, status);
}

StopKind Tracee::record_stop(pid_t tid, pid_t got, int status) {
  Thread* t = find(tid);
  StopKind kind = StopKind::Exited;
  int sig = 0, event = 0;
  if (got < 0 || WIFEXITED(status) || WIFSIGNALED(status)) {
    kind = StopKind::Exited;
  } else if (WIFSTOPPED(status)) {
    sig = WSTOPSIG(status);
    event = status >> 16;
    if (sig == (SIGTRAP | 0x80)) {
      __ptrace_syscall_info info{};
      const long n = ptrace(PTRACE_GET_SYSCALL_INFO, tid, sizeof info, &info);
      kind = n > 0 && info.op == PTRACE_SYSCALL_INFO_EXIT ? StopKind::SyscallExit
                                                          : StopKind::SyscallEntry;
      sig = 0;
    } else if (event != 0) {
      kind = StopKind::Event;
    } else {
      kind = StopKind::Signal;
    }
  }
  if (t != nullptr) {
    t->stop = kind;
    t->signal = kind == StopKind::Signal ? sig : 0;
    t->event = event;
  }
  if (kind == StopKind::Exited) forget(tid);
  return kind;
}

int Tracee::last_event(pid_t tid) const noexcept {
  const Thread* t = find(tid);
  return t != nullptr ? t->event : 0;
}

int Tracee::resume(pid_t tid, int request, int sig) {
  if (ptrace(static_cast<__ptrace_request>(request), tid, nullptr,
             reinterpret_cast<void*>(static_cast<long>(sig))) != 0)
    return errno;
  if (Thread* t = find(tid)) t->stop = StopKind::None;
  return 0;
}

int Tracee::save(pid_t tid, ThreadState& out) {
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &out.regs) != 0) return errno;
  out.xstate.assign(kXstateMax, 0);
  iovec iov{out.xstate.data(), out.xstate.size()};
  if (ptrace(PTRACE_GETREGSET, tid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) == 0)
    out.xstate.resize(iov.iov_len);
  else
    out.xstate.clear();  // no XSAVE: the general registers are all there is
  if (ptrace(PTRACE_GETSIGMASK, tid, reinterpret_cast<void*>(sizeof out.sigmask), &out.sigmask) !=
      0)
    return errno;
  // Stopped in the middle of a system call the kernel would restart: the
  // restart happens on the way out of this stop only while the signal that
  // interrupted it is still pending, which the injected call ends.
  const StopKind stop = last_stop(tid);
  if (stop != StopKind::SyscallExit && stop != StopKind::SyscallEntry) rewind_restart(out.regs);
  return 0;
}

namespace {

bool is_unrestarted_wait(long nr) {
  switch (nr) {
    case SYS_epoll_wait:
    case SYS_epoll_pwait:
    case 441:  // epoll_pwait2
    case SYS_semop:
    case SYS_semtimedop:
    case SYS_rt_sigtimedwait:
    case SYS_io_getevents:
    case SYS_io_pgetevents:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool rewind_interrupted_wait(user_regs_struct& r) noexcept {
  const auto orig = static_cast<long>(r.orig_rax);
  if (orig < 0 || static_cast<long>(r.rax) != -EINTR || !is_unrestarted_wait(orig)) return false;
  r.rax = r.orig_rax;
  r.rip -= 2;
  return true;
}

bool is_restart_code(long rax) noexcept {
  return rax == -kErestartsys || rax == -kErestartnointr || rax == -kErestartnohand ||
         rax == -kErestartRestartblock;
}

bool rewind_restart(user_regs_struct& regs, RestartBy by) noexcept {
  const auto rax = static_cast<long>(regs.rax);
  if (static_cast<long>(regs.orig_rax) < 0 || !is_restart_code(rax)) return false;
  const bool block = rax == -kErestartRestartblock && by == RestartBy::RestartSyscall;
  regs.rax = block ? static_cast<unsigned long long>(kNrRestartSyscall) : regs.orig_rax;
  regs.rip -= 2;  // back on the `syscall` instruction
  return true;
}

int Tracee::restore(pid_t tid, const ThreadState& state) {
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &state.regs) != 0) return errno;
  if (!state.xstate.empty()) {
    iovec iov{const_cast<unsigned char*>(state.xstate.data()), state.xstate.size()};
    if (ptrace(PTRACE_SETREGSET, tid, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) != 0)
      return errno;
  }
  std::uint64_t mask = state.sigmask;
  if (ptrace(PTRACE_SETSIGMASK, tid, reinterpret_cast<void*>(sizeof mask), &mask) != 0)
    return errno;
  return 0;
}

// Group stops and interrupts met on the way are passed over (the kernel
// stops the thread again after the detach if its group is still stopped).
int Tracee::resume_to_syscall_stop(pid_t tid, StopKind want) {
  for (int tries = 0; tries < 1000; ++tries) {
    if (const int err = resume(tid, PTRACE_SYSCALL, 0); err != 0) return err;
    const StopKind got = wait(tid);
    if (got == want) return 0;
    if (got == StopKind::Exited) return ESRCH;

    if (got == StopKind::Signal) {
      if (Thread* t = find(tid)) t->suppressed = t->signal;
    } else if (got != StopKind::Event) {
      return EPROTO;  // a syscall stop of the other kind: not where the call was put
    }
  }
  return ETIMEDOUT;
}

int Tracee::inject(pid_t tid, Addr insn, long nr, std::initializer_list<std::uint64_t> args,
                   long& result) {
  result = -ENOSYS;
  const StopKind stop = last_stop(tid);
  if (stop == StopKind::None || stop == StopKind::Exited) return ESRCH;
  // At a syscall-entry stop the thread is about to run its own call.
  if (stop == StopKind::SyscallEntry) return EBUSY;
  if (stop == StopKind::Signal)
    if (Thread* t = find(tid)) t->suppressed = t->signal;  // resuming drops it: sent again later
  // An event reported from inside a system call (PTRACE_EVENT_EXEC comes
  // from within execve; fork, clone and vfork alike): the kernel writes that
  // call's return value into rax after the stop, over anything set here. So
  // first on to the call's exit stop, and the state is saved there.
  if (const Thread* t = find(tid); stop == StopKind::Event && t != nullptr &&
                                   t->event != PTRACE_EVENT_STOP &&
                                   t->event != PTRACE_EVENT_SECCOMP)
    if (const int err = resume_to_syscall_stop(tid, StopKind::SyscallExit); err != 0) return err;
  ThreadState saved;
  if (const int err = save(tid, saved); err != 0) return err;
  user_regs_struct regs{};
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) != 0) return errno;
  regs.rip = insn;
  regs.rax = static_cast<unsigned long long>(nr);
  regs.orig_rax = static_cast<unsigned long long>(-1);  // no restart of anything
  unsigned long long* const slots[] = {&regs.rdi, &regs.rsi, &regs.rdx,
                                       &regs.r10, &regs.r8,  &regs.r9};
  std::size_t i = 0;
  for (const std::uint64_t a : args)
    if (i < 6) *slots[i++] = a;
  std::uint64_t all = ~std::uint64_t{0};
  int err = 0;
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &regs) != 0 ||
      ptrace(PTRACE_SETSIGMASK, tid, reinterpret_cast<void*>(sizeof all), &all) != 0)
    err = errno;
  if (err == 0) err = resume_to_syscall_stop(tid, StopKind::SyscallEntry);
  if (err == 0) err = resume_to_syscall_stop(tid, StopKind::SyscallExit);
  if (err == 0) {
    user_regs_struct after{};
    if (ptrace(PTRACE_GETREGS, tid, nullptr, &after) != 0)
      err = errno;
    else
      result = static_cast<long>(after.rax);
  }
  if (err == ESRCH) return err;  // gone: nothing to put back
  if (const int r = restore(tid, saved); r != 0 && err == 0) err = r;
  return err;
}

int Tracee::detach(pid_t tid, int sig) {
  Thread* t = find(tid);
  if (t == nullptr) return ESRCH;
  // PTRACE_DETACH needs a ptrace-stopped thread: stop a running one first.
  if (t->stop == StopKind::None) {
    if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0) {
      const int e = errno;
      forget(tid);
      return e;
    }
    for (;;) {
      const StopKind k = wait(tid);
      if (k == StopKind::Exited) return ESRCH;
      if (k != StopKind::Signal) break;
      // A signal on its way: detaching here delivers it.
      sig = find(tid)->signal;
      break;
    }
    t = find(tid);
    if (t == nullptr) return ESRCH;
  }
  if (sig == 0 && t->stop == StopKind::Signal) sig = t->signal;
  const int suppressed = t->suppressed;
  const pid_t tgid = t->tgid;
  int err = 0;
  if (ptrace(PTRACE_DETACH, tid, nullptr, reinterpret_cast<void*>(static_cast<long>(sig))) != 0)
    err = errno;
  forget(tid);
  if (suppressed != 0 && suppressed != sig)
    syscall(SYS_tgkill, tgid > 0 ? tgid : tid, tid, suppressed);
  return err;
}

void Tracee::detach_all() noexcept {
  try {
    while (!tids_.empty()) detach(tids_.back());
  } catch (...) {
    // detach() allocates nothing; a failure leaves the kernel to detach at exit.
  }
}

void Tracee::abandon() noexcept {
  tids_.clear();
  state_.clear();
}

void Tracee::forget(pid_t tid) noexcept {
  tids_.erase(std::remove(tids_.begin(), tids_.end(), tid), tids_.end());
  state_.erase(
      std::remove_if(state_.begin(), state_.end(), [tid](const Thread& t) { return t.tid == tid; }),
      state_.end());
}

namespace {

std::vector<pid_t> task_ids(pid_t pid) {
  std::vector<pid_t> out;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  if (d == nullptr) return out;
  while (const dirent* e = readdir(d))
    if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
      out.push_back(static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)));
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

// Waits for `tid`'s interrupt stop: a signal met on the way is delivered,
// and the interrupt still stops it after. 0 (also when it exited: it is
// forgotten), ETIMEDOUT, or an errno.
int Tracee::wait_for_interrupt(pid_t tid, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int left = -1;
    if (timeout_ms >= 0)
      left =
          static_cast<int>(std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                 deadline - std::chrono::steady_clock::now())
                                                 .count()));
    int status = 0;
    const StopKind k = wait(tid, &status, left);
    if (k == StopKind::None) return ETIMEDOUT;
    if (k == StopKind::Event && (status >> 16) == PTRACE_EVENT_STOP &&
        WSTOPSIG(status) == SIGTRAP) {
      // The interrupt's own stop (not a group stop): a wait it ended goes on.
      user_regs_struct regs{};
      if (ptrace(PTRACE_GETREGS, tid, nullptr, &regs) == 0 && rewind_interrupted_wait(regs))
        ptrace(PTRACE_SETREGS, tid, nullptr, &regs);
    }
    if (k != StopKind::Signal) return 0;
    // Delivered now; PTRACE_INTERRUPT's trap still stops it afterwards.
    if (const int e = resume(tid, PTRACE_CONT, last_signal(tid)); e != 0) return e;
  }
}

// Each pass: every thread not seen yet seized, then each interrupted, then
// each waited for until its interrupt stop. Threads that exit meanwhile are
// dropped.
int Tracee::seize_process(pid_t pid, unsigned long options, std::string* why, int timeout_ms,
                          pid_t* slow_tid) {
  auto fail = [&](int err, pid_t tid) {
    if (why != nullptr) *why = explain_ptrace_refusal(tid, err);
    detach_all();
    return err;
  };
  for (int pass = 0; pass < 100; ++pass) {
    std::vector<pid_t> fresh;
    for (const pid_t tid : task_ids(pid)) {
      if (find(tid) != nullptr) continue;
      const int err = seize(tid, options);
      if (err == ESRCH && tid != pid) continue;  // a thread that just exited
      if (err != 0) return fail(err, tid == pid ? pid : tid);
      fresh.push_back(tid);
    }
    for (const pid_t tid : fresh)
      if (ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 && errno != ESRCH)
        return fail(errno, tid);
    for (const pid_t tid : fresh) {
      const int err = wait_for_interrupt(tid, timeout_ms);
      if (err == ETIMEDOUT) {
        if (slow_tid != nullptr) *slow_tid = tid;
        if (why != nullptr)
          *why = "thread " + std::to_string(tid) + " of process " + std::to_string(pid) +
                 " did not stop within " + std::to_string(timeout_ms) + " ms";
        for (const pid_t other : std::vector<pid_t>(tids_))
          if (last_stop(other) != StopKind::None) detach(other);
        abandon();
        return ETIMEDOUT;
      }
      if (err != 0) return fail(err, tid);
    }
    if (find(pid) == nullptr) return fail(ESRCH, pid);
    if (fresh.empty()) return 0;
  }
  return fail(EAGAIN, pid);
}

Addr auxv_entry(pid_t pid, std::uint64_t type) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/auxv", std::ios::binary);
  std::uint64_t pair[2];
  while (in.read(reinterpret_cast<char*>(pair), sizeof pair))
    if (pair[0] == type) return pair[1];
  return 0;
}

int read_process_memory(pid_t pid, Addr addr, void* out, std::size_t len) {
  const int fd = open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  std::size_t done = 0;
  int err = 0;
  while (done < len) {
    const ssize_t n =
        pread(fd, static_cast<char*>(out) + done, len - done, static_cast<off_t>(addr + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  close(fd);
  return err;
}

int write_process_memory(pid_t pid, Addr addr, const void* data, std::size_t len) {
  std::size_t done = 0;
  while (done < len) {
    iovec local{const_cast<char*>(static_cast<const char*>(data)) + done, len - done};
    iovec remote{reinterpret_cast<void*>(addr + done), len - done};
    const ssize_t n = process_vm_writev(pid, &local, 1, &remote, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

namespace {

// This process's vDSO: its first byte and its size (from its ELF header's
// program headers: the PT_LOAD covers it all).
bool own_vdso(const unsigned char*& base, std::size_t& size) {
  base = reinterpret_cast<const unsigned char*>(getauxval(AT_SYSINFO_EHDR));
  if (base == nullptr) return false;
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  const auto* ph = reinterpret_cast<const Elf64_Phdr*>(base + eh->e_phoff);
  size = 0;
  for (int i = 0; i < eh->e_phnum; ++i)
    if (ph[i].p_type == PT_LOAD)
      size = std::max<std::size_t>(size, ph[i].p_offset + ph[i].p_filesz);
  return size > 0;
}

bool is_syscall_at(pid_t pid, Addr addr) {
  unsigned char b[2] = {};
  return read_process_memory(pid, addr, b, 2) == 0 && b[0] == 0x0f && b[1] == 0x05;
}

// A `syscall` in one of the target's executable mappings, read through
// /proc/PID/mem a chunk at a time.
Addr syscall_in_text(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  std::vector<unsigned char> buf;
  while (std::getline(maps, line)) {
    unsigned long long start = 0, end = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%llx-%llx %4s", &start, &end, perms) != 3 || perms[2] != 'x')
      continue;
    constexpr std::size_t kChunk = 1 << 16;
    for (Addr at = start; at < end; at += kChunk) {
      const std::size_t len = std::min<std::size_t>(kChunk + 1, end - at);
      buf.resize(len);
      if (read_process_memory(pid, at, buf.data(), len) != 0) break;
      for (std::size_t i = 0; i + 1 < len; ++i)
        if (buf[i] == 0x0f && buf[i + 1] == 0x05) return at + i;
    }
  }
  return 0;
}

}  // namespace

Addr find_syscall_instruction(pid_t pid, std::string* why) {
  const unsigned char* base = nullptr;
  std::size_t size = 0;
  const Addr vdso = auxv_entry(pid, AT_SYSINFO_EHDR);
  if (vdso != 0 && own_vdso(base, size))
    for (std::size_t i = 0; i + 1 < size; ++i)
      if (base[i] == 0x0f && base[i + 1] == 0x05 && is_syscall_at(pid, vdso + i)) return vdso + i;
  if (const Addr a = syscall_in_text(pid); a != 0) return a;
  if (why != nullptr)
    *why = "process " + std::to_string(pid) +
           " has no `syscall` instruction vmseal can use (no vDSO, none in its executable "
           "mappings, or its memory cannot be read)";
  return 0;
}

}  // namespace vmseal::sealing
