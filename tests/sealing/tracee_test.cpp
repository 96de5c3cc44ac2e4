// The ptrace core (sealing/tracee.hpp) against a forked child: seizing and
// stopping every thread, injecting system calls at a `syscall` the child
// already has, putting registers, extended state and blocked signals back
// exactly (a system call the child was blocked in goes on as if nothing had
// happened), keeping pending signals, detaching on every path, and saying why
// when ptrace is refused.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "support/cli_run.hpp"
#include "vmseal/sealing/tracee.hpp"

namespace {

using namespace vmseal::sealing;
using vmseal::Addr;

volatile sig_atomic_t g_usr1 = 0;

void* idle_thread(void*) {
  for (;;) pause();
  return nullptr;
}

// The child: reports its page's address, then serves commands read from
// `in` one byte at a time (blocked in read(2) between them):
//   'm' mprotect(page, PROT_READ) -> its errno;  's' whether SIGUSR1 arrived;
//   'x' exit 7.
[[noreturn]] void child_main(int in, int out, int threads) {
  for (int i = 0; i < threads; ++i) {
    pthread_t t;
    pthread_create(&t, nullptr, idle_thread, nullptr);
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_usr1 = 1; };
  sigaction(SIGUSR1, &sa, nullptr);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGUSR2);  // a mask the injection must put back
  sigprocmask(SIG_SETMASK, &mask, nullptr);
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  Addr a = reinterpret_cast<Addr>(page);
  if (write(out, &a, sizeof a) != sizeof a) _exit(1);
  for (;;) {
    char c = 0;
    const ssize_t n = read(in, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    int reply = n == 1 ? 0 : (n < 0 ? errno : -1);
    if (n == 1 && c == 'm') reply = mprotect(page, 4096, PROT_READ) == 0 ? 0 : errno;
    if (n == 1 && c == 's') reply = g_usr1;
    if (n == 1 && c == 'x') _exit(7);
    if (write(out, &reply, sizeof reply) != sizeof reply) _exit(1);
    if (n != 1) _exit(2);
  }
}

struct Child {
  pid_t pid = -1;
  int to = -1, from = -1;
  Addr page = 0;
  explicit Child(int threads = 0) {
    int a[2], b[2];
    EXPECT_EQ(pipe(a), 0);
    EXPECT_EQ(pipe(b), 0);
    pid = fork();
    if (pid == 0) {
      close(a[1]);
      close(b[0]);
      child_main(a[0], b[1], threads);
    }
    close(a[0]);
    close(b[1]);
    to = a[1];
    from = b[0];
    EXPECT_TRUE(read_reply(&page, sizeof page));
    if (threads > 0) wait_threads(threads + 1);
  }
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    close(to);
    close(from);
  }
  void wait_threads(int n) {
    for (int i = 0; i < 500; ++i) {
      std::ifstream in("/proc/" + std::to_string(pid) + "/status");
      std::string line;
      while (std::getline(in, line))
        if (line.rfind("Threads:", 0) == 0 && std::stoi(line.substr(8)) == n) return;
      usleep(2000);
    }
  }
  bool read_reply(void* out, std::size_t len) {
    pollfd p{from, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return false;
    return read(from, out, len) == static_cast<ssize_t>(len);
  }
  int ask(char c) {
    int reply = -100;
    if (write(to, &c, 1) != 1) return -101;
    if (!read_reply(&reply, sizeof reply)) return -102;
    return reply;
  }
  std::string state() {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    std::getline(in, s);
    const std::size_t close_paren = s.rfind(')');
    return close_paren == std::string::npos ? "" : s.substr(close_paren + 2, 1);
  }
};

TEST(Tracee, FindsASyscallInstructionTheChildHas) {
  Child c;
  Tracee t;
  std::string why;
  ASSERT_EQ(t.seize_process(c.pid, 0, &why), 0) << why;
  const Addr insn = find_syscall_instruction(c.pid, &why);
  ASSERT_NE(insn, 0U) << why;
  unsigned char b[2] = {};
  ASSERT_EQ(read_process_memory(c.pid, insn, b, 2), 0);
  EXPECT_EQ(b[0], 0x0f);
  EXPECT_EQ(b[1], 0x05);
}

TEST(Tracee, InjectedCallRunsInTheChildAndEveryRegisterComesBack) {
  Child c;
  Tracee t;
  std::string why;
  ASSERT_EQ(t.seize_process(c.pid, 0, &why), 0) << why;
  EXPECT_EQ(c.state(), "t");
  const Addr insn = find_syscall_instruction(c.pid, &why);
  ASSERT_NE(insn, 0U) << why;
  ThreadState before;
  ASSERT_EQ(t.save(c.pid, before), 0);
  long result = 0;
  ASSERT_EQ(t.inject(c.pid, insn, SYS_getpid, {}, result), 0);
  EXPECT_EQ(result, c.pid);
  // A bad call's errno comes back as the result, not as a failure.
  ASSERT_EQ(t.inject(c.pid, insn, SYS_close, {999999}, result), 0);
  EXPECT_EQ(result, -EBADF);
  ThreadState after;
  ASSERT_EQ(t.save(c.pid, after), 0);
  EXPECT_EQ(std::memcmp(&before.regs, &after.regs, sizeof before.regs), 0);
  EXPECT_EQ(before.xstate, after.xstate);
  EXPECT_EQ(before.sigmask, after.sigmask);
  EXPECT_NE(before.sigmask & (1ULL << (SIGUSR2 - 1)), 0U);
  t.detach_all();
  // The read(2) it was blocked in goes on: the next command is served.
  EXPECT_EQ(c.ask('m'), 0);
  EXPECT_EQ(c.ask('x'), -102);  // exited
  int status = 0;
  ASSERT_EQ(waitpid(c.pid, &status, 0), c.pid);
  c.pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7);
}

TEST(Tracee, InjectedMsealSealsTheChildsMemory) {
  if (!vmseal::test::have_mseal()) GTEST_SKIP() << "needs mseal(2)";
  Child c;
  {
    Tracee t;
    std::string why;
    ASSERT_EQ(t.seize_process(c.pid, 0, &why), 0) << why;
    const Addr insn = find_syscall_instruction(c.pid, &why);
    long result = -1;
    ASSERT_EQ(t.inject(c.pid, insn, 462, {c.page, 4096, 0}, result), 0);
    EXPECT_EQ(result, 0);
  }
  EXPECT_EQ(c.ask('m'), EPERM);  // the seal is the child's
}

TEST(Tracee, SignalsSentWhileStoppedAreDeliveredAfterTheDetach) {
  Child c;
  {
    Tracee t;
    std::string why;
    ASSERT_EQ(t.seize_process(c.pid, 0, &why), 0) << why;
    kill(c.pid, SIGUSR1);
    const Addr insn = find_syscall_instruction(c.pid, &why);
    long result = 0;
    ASSERT_EQ(t.inject(c.pid, insn, SYS_getpid, {}, result), 0);
    EXPECT_EQ(result, c.pid);
  }
  EXPECT_EQ(c.ask('s'), 1);
}

TEST(Tracee, EveryThreadIsStoppedAndEveryThreadIsLetGo) {
  Child c(3);
  {
    Tracee t;
    std::string why;
    ASSERT_EQ(t.seize_process(c.pid, 0, &why), 0) << why;
    EXPECT_EQ(t.threads().size(), 4U);
    for (const pid_t tid : t.threads()) {
      EXPECT_EQ(t.last_stop(tid), StopKind::Event);
      EXPECT_EQ(tracer_of(tid), getpid());
    }
  }
  EXPECT_EQ(tracer_of(c.pid), 0);
  EXPECT_NE(c.state(), "t");
  EXPECT_EQ(c.ask('m'), 0);
}

TEST(Tracee, ARunningThreadIsDetachedToo) {
  Child c;
  {
    Tracee t;
    ASSERT_EQ(t.seize(c.pid, 0), 0);  // seized, never stopped
  }
  EXPECT_EQ(tracer_of(c.pid), 0);
  EXPECT_EQ(c.ask('m'), 0);
}

TEST(Tracee, ASecondTracerIsToldWhoHasIt) {
  Child c;
  Tracee first;
  ASSERT_EQ(first.seize(c.pid, 0), 0);
  // A second tracer in another process (a process has one tracer at a time).
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  const pid_t other = fork();
  if (other == 0) {
    Tracee second;
    const int err = second.seize(c.pid, 0);
    const std::string why = explain_ptrace_refusal(c.pid, err);
    const bool ok = err == EPERM && why.find("already traced by process " +
                                             std::to_string(getppid())) != std::string::npos;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(other, &status, 0), other);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(p[0]);
  close(p[1]);
}

TEST(Tracee, AGoneProcessIsSaidToBeGone) {
  const pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  Tracee t;
  std::string why;
  EXPECT_EQ(t.seize_process(p, 0, &why), ESRCH);
  EXPECT_NE(why.find("does not exist"), std::string::npos) << why;
  EXPECT_TRUE(t.threads().empty());
}

}  // namespace
