#include "vmseal/sealing/safe_injection.hpp"

#include <elf.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace vmseal::sealing {
namespace {

constexpr long kNrGetpid = 39;
constexpr long kNrRtSigreturn = 15;
constexpr std::size_t kRedZone = 128;  // the x86-64 ABI's, which a signal frame skips too
constexpr std::size_t kXstateMax = 16384;
constexpr long kGetRseqConfiguration = 0x420f;  // PTRACE_GET_RSEQ_CONFIGURATION (5.13)

// The x86-64 signal frame as arch/x86/include/uapi/asm/sigcontext.h and
// ucontext.h lay it out, and arch/x86/include/asm/sigframe.h's rt_sigframe.
struct KernelSigcontext {
  std::uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  std::uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
  std::uint16_t cs, gs, fs, ss;
  std::uint64_t err, trapno, oldmask, cr2, fpstate;
  std::uint64_t reserved1[8];
};
static_assert(sizeof(KernelSigcontext) == 256);
struct KernelUcontext {
  std::uint64_t flags, link;
  std::uint64_t ss_sp;
  std::int32_t ss_flags, pad;
  std::uint64_t ss_size;
  KernelSigcontext mcontext;
  std::uint64_t sigmask;
};
static_assert(sizeof(KernelUcontext) == 304);
struct KernelRtSigframe {
  std::uint64_t pretcode;
  KernelUcontext uc;
  unsigned char info[128];
};
static_assert(sizeof(KernelRtSigframe) == 440);

constexpr std::uint64_t kUcFpXstate = 1, kUcSigcontextSs = 2, kUcStrictRestoreSs = 4;
constexpr std::uint32_t kFpXstateMagic1 = 0x46505853, kFpXstateMagic2 = 0x46505845;
constexpr std::size_t kSwReserved = 464;  // struct _fpx_sw_bytes in the FXSAVE area
// A sigaltstack mode do_sigaltstack() refuses (EINVAL), which rt_sigreturn's
// restore_altstack() ignores: the thread's alternate stack stays as it is.
constexpr std::int32_t kKeepAltstack = 4;

KernelSigcontext sigcontext_of(const user_regs_struct& r, Addr fpstate) {
  KernelSigcontext c{};
  c.r8 = r.r8, c.r9 = r.r9, c.r10 = r.r10, c.r11 = r.r11;
  c.r12 = r.r12, c.r13 = r.r13, c.r14 = r.r14, c.r15 = r.r15;
  c.rdi = r.rdi, c.rsi = r.rsi, c.rbp = r.rbp, c.rbx = r.rbx;
  c.rdx = r.rdx, c.rax = r.rax, c.rcx = r.rcx, c.rsp = r.rsp;
  c.rip = r.rip, c.eflags = r.eflags;
  c.cs = static_cast<std::uint16_t>(r.cs);
  c.ss = static_cast<std::uint16_t>(r.ss);
  c.fpstate = fpstate;
  return c;
}

std::array<unsigned char, 9> kMovEaxSyscall = {0xb8, 0x0f, 0, 0, 0, 0x0f, 0x05};
std::array<unsigned char, 9> kMovRaxSyscall = {0x48, 0xc7, 0xc0, 0x0f, 0, 0, 0, 0x0f, 0x05};

// Scans one mapping of the target for the two sequences.
void scan_mapping(pid_t pid, Addr start, Addr end, InjectionSites& out) {
  constexpr std::size_t kChunk = 1 << 16;
  std::vector<unsigned char> buf;
  for (Addr at = start; at < end; at += kChunk) {
    const std::size_t len = std::min<std::size_t>(kChunk + 8, end - at);
    buf.resize(len);
    if (read_process_memory(pid, at, buf.data(), len) != 0) return;
    const std::size_t last = std::min(len, kChunk);
    for (std::size_t i = 0; i < last; ++i) {
      if (buf[i] != 0x0f && buf[i] != 0xb8 && buf[i] != 0x48) continue;
      if (out.syscall_ret == 0 && i + 3 <= len && buf[i] == 0x0f && buf[i + 1] == 0x05 &&
          buf[i + 2] == 0xc3)
        out.syscall_ret = at + i;
      if (out.sigreturn == 0 && i + 7 <= len &&
          std::equal(buf.begin() + i, buf.begin() + i + 7, kMovEaxSyscall.begin())) {
        out.sigreturn = at + i;
        out.sigreturn_len = 7;
      }
      if (out.sigreturn == 0 && i + 9 <= len &&
          std::equal(buf.begin() + i, buf.begin() + i + 9, kMovRaxSyscall.begin())) {
        out.sigreturn = at + i;
        out.sigreturn_len = 9;
      }
    }
    if (out.syscall_ret != 0 && out.sigreturn != 0) return;
  }
}

int steps_taken = 0;

}  // namespace

bool find_injection_sites(pid_t pid, InjectionSites& out, std::string* why) {
  out = InjectionSites{};
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line) && (out.syscall_ret == 0 || out.sigreturn == 0)) {
    unsigned long long start = 0, end = 0;
    char perms[5] = {};
    int name_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %4s %*s %*s %*s %n", &start, &end, perms, &name_at) <
        3)
      continue;
    // Code of the process's own files: executable, not writable, private.
    const bool named = name_at > 0 && static_cast<std::size_t>(name_at) < line.size() &&
                       (line[static_cast<std::size_t>(name_at)] == '/' ||
                        line.compare(static_cast<std::size_t>(name_at), 6, "[vdso]") == 0);
    if (perms[2] != 'x' || perms[1] == 'w' || perms[3] != 'p' || !named) continue;
    scan_mapping(pid, start, end, out);
  }
  if (out.syscall_ret != 0 && out.sigreturn != 0) return true;
  if (why != nullptr)
    *why = std::string("its code has no ") +
           (out.syscall_ret == 0 ? "`syscall; ret` sequence"
                                 : "rt_sigreturn sequence (`mov $15, %eax; syscall`)") +
           " for vmseal to inject at safely (a static program that never installs a signal "
           "handler lacks the second)";
  return false;
}

bool injection_sites_intact(pid_t pid, const InjectionSites& s) {
  unsigned char g[3] = {}, r[9] = {};
  if (read_process_memory(pid, s.syscall_ret, g, 3) != 0 ||
      read_process_memory(pid, s.sigreturn, r, s.sigreturn_len) != 0)
    return false;
  const unsigned char* want = s.sigreturn_len == 7 ? kMovEaxSyscall.data() : kMovRaxSyscall.data();
  return g[0] == 0x0f && g[1] == 0x05 && g[2] == 0xc3 && std::memcmp(r, want, s.sigreturn_len) == 0;
}

SigFrame build_sigframe(const user_regs_struct& regs, const std::vector<unsigned char>& xstate,
                        const std::vector<unsigned char>& fxsave, std::uint64_t sigmask, Addr below,
                        Addr sigreturn) {
  const bool xsave = !xstate.empty();
  std::vector<unsigned char> fp = xsave ? xstate : fxsave;
  if (xsave && fp.size() >= kSwReserved + 48) {
    // struct _fpx_sw_bytes: what fpu__restore_sig() checks before it takes
    // the whole XSAVE area (else it restores the legacy part only). The
    // regset has XCR0 there (for debuggers): the features to restore.
    std::uint64_t xcr0 = 0;
    std::memcpy(&xcr0, fp.data() + kSwReserved, 8);
    std::uint32_t sw[12] = {};
    sw[0] = kFpXstateMagic1;
    sw[1] = static_cast<std::uint32_t>(fp.size() + 4);  // extended_size
    std::memcpy(&sw[2], &xcr0, 8);                      // xfeatures
    sw[4] = static_cast<std::uint32_t>(fp.size());      // xstate_size
    std::memcpy(fp.data() + kSwReserved, sw, sizeof sw);
    const std::size_t n = fp.size();
    fp.resize(n + 4);
    std::memcpy(fp.data() + n, &kFpXstateMagic2, 4);
  }
  SigFrame f;
  f.fpstate = (below - fp.size()) & ~Addr{63};
  f.frame = ((f.fpstate - sizeof(KernelRtSigframe)) & ~Addr{15}) - 8;
  KernelRtSigframe k{};
  k.pretcode = sigreturn;
  k.uc.flags = (xsave ? kUcFpXstate : 0) | kUcSigcontextSs | kUcStrictRestoreSs;
  k.uc.ss_flags = kKeepAltstack;
  k.uc.mcontext = sigcontext_of(regs, fp.empty() ? 0 : f.fpstate);
  k.uc.sigmask = sigmask;
  f.bytes.assign(f.fpstate + fp.size() - f.frame, 0);
  std::memcpy(f.bytes.data(), &k, sizeof k);
  if (!fp.empty()) std::memcpy(f.bytes.data() + (f.fpstate - f.frame), fp.data(), fp.size());
  return f;
}

ResumePoint resume_point(const user_regs_struct& stopped, StopKind stop) {
  ResumePoint p{stopped, stopped};
  if (stop == StopKind::SyscallEntry && static_cast<long>(stopped.orig_rax) >= 0) {
    // About to run its own call (a restart the kernel began): run it then.
    p.restore.rax = p.frame.rax = stopped.orig_rax;
    p.restore.rip = p.frame.rip = stopped.rip - 2;
  } else if (stop != StopKind::SyscallExit && rewind_restart(p.restore)) {
    rewind_restart(p.frame, RestartBy::Call);
  } else if (stop == StopKind::Event) {
    rewind_interrupted_wait(p.restore);
    rewind_interrupted_wait(p.frame);
  }
  return p;
}

void injection_checkpoint() noexcept {
  static const int kill_at = [] {
    const char* v = std::getenv("VMSEAL_TEST_KILL_AT");
    return v != nullptr ? std::atoi(v) : 0;
  }();
  ++steps_taken;
  if (kill_at > 0 && steps_taken == kill_at) ::kill(::getpid(), SIGKILL);
}

int injection_steps_taken() noexcept { return steps_taken; }

namespace {

// A thread stopped inside an rseq critical section goes back to the
// section's abort handler, as the kernel sends it there when it is
// preempted (rseq_ip_fixup()): the injected calls return to user mode
// outside the section, which makes the kernel forget it (it clears
// rseq_cs), so the section could otherwise run on, unprotected, after
// the stop.
void leave_rseq_section(pid_t tid, pid_t pid, user_regs_struct& restore, user_regs_struct& frame) {
  struct {
    std::uint64_t abi_pointer;
    std::uint32_t abi_size, signature, flags, pad;
  } config{};
  if (ptrace(static_cast<__ptrace_request>(kGetRseqConfiguration), tid,
             reinterpret_cast<void*>(sizeof config), &config) <= 0 ||
      config.abi_pointer == 0)
    return;
  std::uint64_t cs = 0;
  if (read_process_memory(pid, config.abi_pointer + 8, &cs, 8) != 0 || cs == 0) return;
  struct {
    std::uint32_t version, flags;
    std::uint64_t start_ip, post_commit_offset, abort_ip;
  } desc{};
  if (read_process_memory(pid, cs, &desc, sizeof desc) != 0) return;
  if (restore.rip - desc.start_ip < desc.post_commit_offset) restore.rip = desc.abort_ip;
  if (frame.rip - desc.start_ip < desc.post_commit_offset) frame.rip = desc.abort_ip;
}

}  // namespace

ArmedThread::~ArmedThread() {
  if (armed_ && !gone()) disarm();
}

bool ArmedThread::allowed(long nr, std::initializer_list<std::uint64_t> args, Addr ip) {
  if (filters_ == nullptr || filters_->size() == 0) return true;
  SeccompInput in;
  in.nr = static_cast<int>(nr);
  in.ip = ip;
  std::size_t i = 0;
  for (const std::uint64_t a : args)
    if (i < 6) in.args[i++] = a;
  const std::uint32_t action = filters_->action(in);
  if (seccomp_action_allows(action)) return true;
  const std::string why = "its seccomp filter would answer " + syscall_label(nr) + " with " +
                          seccomp_action_name(action);
  if (refused_.find(why) == std::string::npos) refused_ += (refused_.empty() ? "" : "; ") + why;
  return false;
}

int ArmedThread::arm(Addr stack_low, std::string* why) {
  auto fail = [&](int err, const std::string& w) {
    if (why != nullptr) *why = w;
    return err;
  };
  user_regs_struct regs{};
  if (ptrace(PTRACE_GETREGS, tid_, nullptr, &regs) != 0)
    return fail(errno, "PTRACE_GETREGS failed");
  std::vector<unsigned char> xstate(kXstateMax), fx;
  iovec iov{xstate.data(), xstate.size()};
  if (ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void*>(NT_X86_XSTATE), &iov) == 0) {
    xstate.resize(iov.iov_len);
  } else {
    xstate.clear();
    fx.resize(sizeof(user_fpregs_struct));
    if (ptrace(PTRACE_GETFPREGS, tid_, nullptr, fx.data()) != 0)
      return fail(errno, "the thread's FPU state cannot be read");
  }
  if (ptrace(PTRACE_GETSIGMASK, tid_, reinterpret_cast<void*>(sizeof sigmask_), &sigmask_) != 0)
    return fail(errno, "PTRACE_GETSIGMASK failed");
  resume_ = resume_point(regs, tracee_.last_stop(tid_));
  leave_rseq_section(tid_, pid(), resume_.restore, resume_.frame);
  const SigFrame f =
      build_sigframe(resume_.frame, xstate, fx, sigmask_, regs.rsp - kRedZone, sites_.sigreturn);
  if (f.frame < stack_low || regs.rsp < kRedZone + f.bytes.size())
    return fail(ENOSPC,
                "no room for its return frame on thread " + std::to_string(tid_) + "'s stack");
  if (!allowed(kNrGetpid, {}, sites_.syscall_ret + 2) ||
      !allowed(kNrRtSigreturn, {}, sites_.sigreturn + sites_.sigreturn_len))
    return fail(EPERM, refused_);
  if (const int e = write_process_memory(pid(), f.frame, f.bytes.data(), f.bytes.size()); e != 0)
    return fail(e, "its stack cannot be written");
  frame_ = f.frame;
  injection_checkpoint();
  // Parked: if this process dies now, the thread makes a getpid, returns
  // into the frame, and is itself again.
  user_regs_struct parked = resume_.restore;
  parked.rsp = frame_;
  if (tracee_.last_stop(tid_) == StopKind::SyscallEntry) {
    parked.orig_rax = kNrGetpid;
    parked.rip = sites_.syscall_ret + 2;
  } else {
    parked.rax = kNrGetpid;
    parked.orig_rax = static_cast<unsigned long long>(-1);
    parked.rip = sites_.syscall_ret;
  }
  if (ptrace(PTRACE_SETREGS, tid_, nullptr, &parked) != 0)
    return fail(errno, "PTRACE_SETREGS failed");
  armed_ = true;
  injection_checkpoint();
  std::uint64_t all = ~std::uint64_t{0};
  if (ptrace(PTRACE_SETSIGMASK, tid_, reinterpret_cast<void*>(sizeof all), &all) != 0) {
    const int e = errno;
    disarm();
    return fail(e, "PTRACE_SETSIGMASK failed");
  }
  injection_checkpoint();
  return 0;
}

long ArmedThread::call(long nr, std::initializer_list<std::uint64_t> args) {
  if (!armed_ || gone()) return -ESRCH;
  if (!allowed(nr, args, sites_.syscall_ret + 2)) return -EPERM;
  const bool at_entry = tracee_.last_stop(tid_) == StopKind::SyscallEntry;
  user_regs_struct r = resume_.restore;
  unsigned long long* const slots[] = {&r.rdi, &r.rsi, &r.rdx, &r.r10, &r.r8, &r.r9};
  std::size_t i = 0;
  for (const std::uint64_t a : args)
    if (i < 6) *slots[i++] = a;
  r.rsp = frame_;
  if (at_entry) {  // the kernel runs orig_rax when this stop ends
    r.orig_rax = static_cast<unsigned long long>(nr);
    r.rax = static_cast<unsigned long long>(-ENOSYS);
    r.rip = sites_.syscall_ret + 2;
  } else {
    r.rax = static_cast<unsigned long long>(nr);
    r.orig_rax = static_cast<unsigned long long>(-1);
    r.rip = sites_.syscall_ret;
  }
  ++calls_;
  int err = ptrace(PTRACE_SETREGS, tid_, nullptr, &r) != 0 ? errno : 0;
  injection_checkpoint();
  if (err == 0 && !at_entry) {
    err = tracee_.resume_to_syscall_stop(tid_, StopKind::SyscallEntry);
    injection_checkpoint();
  }
  if (err == 0) err = tracee_.resume_to_syscall_stop(tid_, StopKind::SyscallExit);
  injection_checkpoint();
  user_regs_struct after{};
  if (err == 0 && ptrace(PTRACE_GETREGS, tid_, nullptr, &after) != 0) err = errno;
  if (err == ESRCH) set_gone();
  return err != 0 ? -err : static_cast<long>(after.rax);
}

int ArmedThread::disarm() {
  if (!armed_) return 0;
  int err = 0;
  if (ptrace(PTRACE_SETSIGMASK, tid_, reinterpret_cast<void*>(sizeof sigmask_), &sigmask_) != 0)
    err = errno;
  injection_checkpoint();
  if (err == 0 && ptrace(PTRACE_SETREGS, tid_, nullptr, &resume_.restore) != 0) err = errno;
  injection_checkpoint();
  if (err == ESRCH) set_gone();
  armed_ = err != 0 && err != ESRCH;
  return err;
}

}  // namespace vmseal::sealing
