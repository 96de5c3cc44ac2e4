// The pieces `vmseal seal PID` injects with (sealing/safe_injection.hpp,
// seccomp_filter.hpp), one by one: where a stopped thread goes back to, the
// signal frame it returns through, and what a seccomp filter decides, the
// filters made by libseccomp as a real program's would be.
#include <errno.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstring>

#include "vmseal/sealing/safe_injection.hpp"
#include "vmseal/sealing/seccomp_filter.hpp"

namespace {

using namespace vmseal::sealing;

user_regs_struct stopped_in(long nr, long rax, unsigned long long rip = 0x1002) {
  user_regs_struct r{};
  r.orig_rax = static_cast<unsigned long long>(nr);
  r.rax = static_cast<unsigned long long>(rax);
  r.rip = rip;
  r.rsp = 0x7fff0000;
  r.cs = 0x33;
  r.ss = 0x2b;
  return r;
}

TEST(ResumePoint, RestartsWhatTheKernelWouldRestart) {
  // read() interrupted: -ERESTARTSYS; both paths run it again.
  ResumePoint p = resume_point(stopped_in(SYS_read, -512), StopKind::Event);
  EXPECT_EQ(p.restore.rip, 0x1000U);
  EXPECT_EQ(p.restore.rax, static_cast<unsigned long long>(SYS_read));
  EXPECT_EQ(p.frame.rax, static_cast<unsigned long long>(SYS_read));
  // nanosleep: restart_syscall on the normal path, nanosleep again through
  // the frame (rt_sigreturn resets restart_block: EINTR otherwise).
  p = resume_point(stopped_in(SYS_nanosleep, -516), StopKind::Event);
  EXPECT_EQ(p.restore.rax, 219U);
  EXPECT_EQ(p.frame.rax, static_cast<unsigned long long>(SYS_nanosleep));
  EXPECT_EQ(p.frame.rip, 0x1000U);
  // epoll_wait ended by the stop with EINTR: waited again.
  p = resume_point(stopped_in(SYS_epoll_wait, -EINTR), StopKind::Event);
  EXPECT_EQ(p.restore.rax, static_cast<unsigned long long>(SYS_epoll_wait));
  EXPECT_EQ(p.restore.rip, 0x1000U);
  // write() ended with EINTR is not a wait: left as it is (not run twice).
  p = resume_point(stopped_in(SYS_write, -EINTR), StopKind::Event);
  EXPECT_EQ(p.restore.rip, 0x1002U);
  EXPECT_EQ(static_cast<long>(p.restore.rax), -EINTR);
  // In user code: unchanged.
  p = resume_point(stopped_in(-1, 42), StopKind::Event);
  EXPECT_EQ(p.restore.rip, 0x1002U);
  EXPECT_EQ(p.restore.rax, 42U);
  // At the entry of its own call: about to run it.
  p = resume_point(stopped_in(SYS_ppoll, -38), StopKind::SyscallEntry);
  EXPECT_EQ(p.restore.rip, 0x1000U);
  EXPECT_EQ(p.restore.rax, static_cast<unsigned long long>(SYS_ppoll));
}

TEST(SigFrame, LaidOutAsTheKernelReadsIt) {
  const user_regs_struct r = stopped_in(-1, 7, 0x401000);
  std::vector<unsigned char> xstate(2688, 0);
  const std::uint64_t xcr0 = 0xe7;
  std::memcpy(xstate.data() + 464, &xcr0, 8);
  const vmseal::Addr below = 0x7ffe0000 - 128 - 3;
  const SigFrame f = build_sigframe(r, xstate, {}, 0x5000, below, 0x402000);
  EXPECT_EQ(f.fpstate % 64, 0U) << "XRSTOR needs 64-byte alignment";
  EXPECT_EQ((f.frame + 8) % 16, 0U) << "pretcode at 16n-8, as get_sigframe() puts it";
  EXPECT_LE(f.fpstate + xstate.size() + 4, below);
  EXPECT_EQ(f.bytes.size(), f.fpstate + xstate.size() + 4 - f.frame);
  auto u64 = [&](std::size_t off) {
    std::uint64_t v;
    std::memcpy(&v, f.bytes.data() + off, 8);
    return v;
  };
  auto u32 = [&](std::size_t off) {
    std::uint32_t v;
    std::memcpy(&v, f.bytes.data() + off, 4);
    return v;
  };
  EXPECT_EQ(u64(0), 0x402000U);  // pretcode: the rt_sigreturn sequence
  EXPECT_EQ(u64(8), 7U);         // uc_flags: FP_XSTATE | SIGCONTEXT_SS | STRICT_RESTORE_SS
  EXPECT_EQ(u32(8 + 24), 4U);    // uc_stack.ss_flags: a mode sigaltstack refuses: kept
  const std::size_t mc = 8 + 40;
  EXPECT_EQ(u64(mc + 13 * 8), 7U);         // rax
  EXPECT_EQ(u64(mc + 16 * 8), 0x401000U);  // rip
  EXPECT_EQ(u64(mc + 15 * 8), r.rsp);      // rsp
  EXPECT_EQ(u64(mc + 23 * 8), f.fpstate);  // fpstate
  EXPECT_EQ(u64(8 + 40 + 256), 0x5000U);   // uc_sigmask
  const std::size_t fp = f.fpstate - f.frame;
  EXPECT_EQ(u32(fp + 464), 0x46505853U);   // FP_XSTATE_MAGIC1
  EXPECT_EQ(u32(fp + 468), 2688U + 4);     // extended_size
  EXPECT_EQ(u64(fp + 472), xcr0);          // xfeatures
  EXPECT_EQ(u32(fp + 480), 2688U);         // xstate_size
  EXPECT_EQ(u32(fp + 2688), 0x46505845U);  // FP_XSTATE_MAGIC2
}

// A filter made with libseccomp, as a program would load it, read back
// into BpfInsn and run.
std::vector<BpfInsn> export_filter(scmp_filter_ctx ctx) {
  std::vector<BpfInsn> prog;
  const int fd = memfd_create("bpf", 0);
  if (fd < 0 || seccomp_export_bpf(ctx, fd) != 0) return prog;
  const off_t size = lseek(fd, 0, SEEK_END);
  prog.resize(static_cast<std::size_t>(size) / sizeof(BpfInsn));
  if (pread(fd, prog.data(), static_cast<std::size_t>(size), 0) != size) prog.clear();
  close(fd);
  return prog;
}

SeccompInput call(int nr, std::initializer_list<std::uint64_t> args = {}) {
  SeccompInput in;
  in.nr = nr;
  in.ip = 0x1000;
  std::size_t i = 0;
  for (const std::uint64_t a : args) in.args[i++] = a;
  return in;
}

TEST(SeccompFilter, DecidesAsTheKernelWould) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  ASSERT_NE(ctx, nullptr);
  ASSERT_EQ(seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, 462, 0), 0);
  ASSERT_EQ(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mprotect), 1,
                             SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC)),
            0);
  const std::vector<BpfInsn> prog = export_filter(ctx);
  seccomp_release(ctx);
  ASSERT_FALSE(prog.empty());
  SeccompFilters f;
  f.add(prog);
  EXPECT_EQ(f.action(call(462)), kSeccompKillProcess);
  EXPECT_EQ(f.action(call(SYS_getpid)), kSeccompAllow);
  EXPECT_EQ(f.action(call(SYS_mprotect, {0x1000, 0x1000, PROT_READ})), kSeccompAllow);
  EXPECT_EQ(f.action(call(SYS_mprotect, {0x1000, 0x1000, PROT_READ | PROT_EXEC})),
            0x00050000U | EPERM);
  EXPECT_FALSE(seccomp_action_allows(f.action(call(462))));
  EXPECT_EQ(seccomp_action_name(f.action(call(462))), "kill-process");
  // Another arch than x86-64: libseccomp's filters kill it.
  SeccompInput i386 = call(SYS_getpid);
  i386.arch = 0x40000003;
  EXPECT_FALSE(seccomp_action_allows(f.action(i386)));
}

TEST(SeccompFilter, TheStrictestFilterWinsAndBadProgramsRefuse) {
  SeccompFilters f;
  // ret ERRNO(1) for everything, then ret LOG: ERRNO wins, LOG alone allows.
  f.add({{0x06, 0, 0, 0x7ffc0000}});
  EXPECT_TRUE(seccomp_action_allows(f.action(call(1))));
  f.add({{0x06, 0, 0, 0x00050001}});
  EXPECT_EQ(f.action(call(1)), 0x00050001U);
  EXPECT_EQ(stricter_seccomp_action(kSeccompKillProcess, 0), kSeccompKillProcess);
  // A load past seccomp_data, a jump past the end, no return: not runnable.
  EXPECT_FALSE(
      run_seccomp_program(std::vector<BpfInsn>{{0x20, 0, 0, 64}, {0x06, 0, 0, 0}}, call(1)));
  EXPECT_FALSE(run_seccomp_program(std::vector<BpfInsn>{{0x15, 5, 0, 1}}, call(1)));
  EXPECT_FALSE(run_seccomp_program(std::vector<BpfInsn>{{0x20, 0, 0, 0}}, call(1)));
  SeccompFilters bad;
  bad.add({{0x20, 0, 0, 0}});
  EXPECT_EQ(bad.action(call(1)), kSeccompKillProcess);
}

}  // namespace
