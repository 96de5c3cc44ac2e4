/* The run helper's `serve` mode, for the `vmseal seal PID` tests
 * (tests/sealing/seal_pid_test.cpp, seal_kill.py): a long-running process
 * that answers commands on stdin, one per line, each answered by its output
 * and a line "done RC". While idle its main thread is blocked in read(2);
 * on request it keeps known values in general and vector registers and
 * checks them (spin), sleeps (nanosleep, epoll_wait), or runs worker
 * threads that do all of that and allocate. Every check it makes is one a
 * seal that disturbed it would fail: a register or the signal mask or the
 * alternate stack changed, a call that failed with EINTR, a sleep cut short.
 *
 *   ping                  pong
 *   spin MS               main thread checks its registers for MS ms
 *   sleep MS              nanosleep(MS): "slept MS eintr N"
 *   epoll MS              epoll_wait on nothing for MS: "epoll timeout" or the error
 *   futex MS              FUTEX_WAIT on a word nobody wakes, for MS: "futex timeout" or the error
 *   ppoll MS              ppoll on nothing for MS with SIGUSR1 blocked meanwhile (a mask the
 *                         kernel swaps back after): "ppoll timeout" or the error
 *   threads N             start N worker threads
 *   threads-status        "threads ok|CORRUPT rounds R eintr E"
 *   vfork MS              vfork a child that sleeps MS before it exits (the parent waits)
 *   seccomp NR ACTION     a filter on every thread: system call NR gets ACTION (kill, errno)
 *   sud                   syscall user dispatch on in the main thread (its selector: allow)
 *   state                 "state ok|CHANGED" (mask, alternate stack), "read_eintr N",
 *                         "usr1 N" (SIGUSR1s its handler saw)
 *   (anything else)       the run helper's own commands (status, attack, tracer, ...) */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int serve(int (*command)(int argc, char** argv));

static char alt_stack[65536];
static atomic_long rounds, eintrs, corrupt, read_eintr, usr1;

static void on_usr1(int sig) {
  (void)sig;
  atomic_fetch_add(&usr1, 1);
}

/* One burst: known values in r12-r15 and xmm5/xmm7 across a busy loop,
 * then compared. 0 when they held. */
static long check_registers(void) {
  long bad = 0;
  __asm__ volatile(
      "mov $0x1111111111111111, %%r12\n"
      "mov $0x2222222222222222, %%r13\n"
      "mov $0x3333333333333333, %%r14\n"
      "mov $0x4444444444444444, %%r15\n"
      "mov $0x5555555555555555, %%rdx\n"
      "movq %%rdx, %%xmm5\n"
      "pcmpeqd %%xmm7, %%xmm7\n"
      "mov $200000, %%rcx\n"
      "1: dec %%rcx\n"
      "jnz 1b\n"
      "xor %%rax, %%rax\n"
      "mov $0x1111111111111111, %%rdx\n cmp %%rdx, %%r12\n jne 2f\n"
      "mov $0x2222222222222222, %%rdx\n cmp %%rdx, %%r13\n jne 2f\n"
      "mov $0x3333333333333333, %%rdx\n cmp %%rdx, %%r14\n jne 2f\n"
      "mov $0x4444444444444444, %%rdx\n cmp %%rdx, %%r15\n jne 2f\n"
      "movq %%xmm5, %%rcx\n mov $0x5555555555555555, %%rdx\n cmp %%rdx, %%rcx\n jne 2f\n"
      "pcmpeqd %%xmm6, %%xmm6\n pcmpeqb %%xmm7, %%xmm6\n pmovmskb %%xmm6, %%ecx\n"
      "cmp $0xffff, %%ecx\n jne 2f\n"
      "jmp 3f\n"
      "2: mov $1, %%rax\n"
      "3: mov %%rax, %0\n"
      : "=m"(bad)
      :
      : "rax", "rcx", "rdx", "r12", "r13", "r14", "r15", "xmm5", "xmm6", "xmm7", "memory", "cc");
  return bad;
}

/* The same for the upper half of ymm4, where the CPU has AVX: a frame that
 * restored only the legacy FXSAVE part would zero it. */
__attribute__((target("avx"))) static long check_ymm(void) {
  long bad = 0;
  __asm__ volatile(
      "vpcmpeqd %%ymm4, %%ymm4, %%ymm4\n"
      "mov $200000, %%rcx\n"
      "1: dec %%rcx\n"
      "jnz 1b\n"
      "vpcmpeqd %%ymm3, %%ymm3, %%ymm3\n"
      "vpxor %%ymm4, %%ymm3, %%ymm3\n"
      "vptest %%ymm3, %%ymm3\n"
      "setnz %%al\n movzbq %%al, %%rax\n mov %%rax, %0\n vzeroupper\n"
      : "=m"(bad)
      :
      : "rax", "rcx", "xmm3", "xmm4", "memory", "cc");
  return bad;
}

static long check_all(void) {
  long bad = check_registers();
  if (__builtin_cpu_supports("avx")) bad |= check_ymm();
  return bad;
}

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int sleep_ms(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  if (nanosleep(&t, NULL) == 0) return 0;
  return errno;
}

static void* worker(void* arg) {
  (void)arg;
  for (;;) {
    if (check_all() != 0) atomic_fetch_add(&corrupt, 1);
    void* p[16];
    for (int i = 0; i < 16; ++i) p[i] = malloc((size_t)(i + 1) * 1024);
    for (int i = 0; i < 16; ++i) free(p[i]);
    if (sleep_ms(1) == EINTR) atomic_fetch_add(&eintrs, 1);
    atomic_fetch_add(&rounds, 1);
  }
  return NULL;
}

static void spin(long ms) {
  const long end = now_ms() + ms;
  long bursts = 0, bad = 0;
  while (now_ms() < end) {
    bad |= check_all();
    ++bursts;
  }
  printf("spin %s %ld\n", bad ? "CORRUPT" : "ok", bursts);
}

static void state(void) {
  sigset_t now;
  stack_t ss;
  sigprocmask(SIG_BLOCK, NULL, &now);
  sigaltstack(NULL, &ss);
  const int ok = sigismember(&now, SIGUSR2) && !sigismember(&now, SIGUSR1) &&
                 ss.ss_sp == alt_stack && ss.ss_size == sizeof alt_stack;
  printf("state %s\nread_eintr %ld\nusr1 %ld\n", ok ? "ok" : "CHANGED", atomic_load(&read_eintr),
         atomic_load(&usr1));
}

static void epoll(long ms) {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev;
  const int n = epoll_wait(ep, &ev, 1, (int)ms);
  printf("epoll %s\n", n == 0 ? "timeout" : n < 0 ? strerror(errno) : "event");
  close(ep);
}

static void do_futex(long ms) {
  static int word;
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  const long t0 = now_ms();
  const long r = syscall(SYS_futex, &word, 128 /* FUTEX_WAIT_PRIVATE */, 0, &t, NULL, 0);
  printf("futex %s %ld\n",
         r == 0               ? "woken"
         : errno == ETIMEDOUT ? "timeout"
                              : strerror(errno),
         now_ms() - t0);
}

static void do_ppoll(long ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  sigset_t during;
  sigprocmask(SIG_BLOCK, NULL, &during);
  sigaddset(&during, SIGUSR1);
  const int n = ppoll(NULL, 0, &t, &during);
  printf("ppoll %s\n", n == 0 ? "timeout" : n < 0 ? strerror(errno) : "event");
}

/* A child that borrows this process's memory (vfork) and sleeps in it:
 * only raw system calls, as a vfork child may make. */
static void do_vfork(long ms) {
  const pid_t child = vfork();
  if (child == 0) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    syscall(SYS_nanosleep, &t, NULL);
    syscall(SYS_exit, 0);
  }
  printf("vforked %d\n", (int)child);
}

/* A seccomp filter on every thread (TSYNC) that answers system call `nr`
 * with `action`: SECCOMP_RET_KILL_PROCESS or SECCOMP_RET_ERRNO|EPERM.
 * <linux/filter.h>'s structures spelled out: musl-gcc has no kernel headers. */
struct bpf_insn {
  unsigned short code;
  unsigned char jt, jf;
  unsigned k;
};
struct bpf_prog {
  unsigned short len;
  struct bpf_insn* filter;
};
static int filter(long nr, const char* action) {
  const unsigned ret = strcmp(action, "kill") == 0 ? 0x80000000U /* KILL_PROCESS */
                                                   : 0x00050000U | (unsigned)EPERM;
  struct bpf_insn code[] = {
      {0x20, 0, 0, 0},            /* ld [0]: nr */
      {0x15, 0, 1, (unsigned)nr}, /* jeq nr */
      {0x06, 0, 0, ret},          /* ret action */
      {0x06, 0, 0, 0x7fff0000U},  /* ret ALLOW */
  };
  struct bpf_prog prog = {.len = 4, .filter = code};
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  /* SECCOMP_SET_MODE_FILTER (1), SECCOMP_FILTER_FLAG_TSYNC (1) */
  const long r = syscall(SYS_seccomp, 1, 1, &prog);
  printf("seccomp %s\n", r == 0 ? "on" : strerror(errno));
  return r == 0 ? 0 : 1;
}

/* PR_SET_SYSCALL_USER_DISPATCH (59), PR_SYS_DISPATCH_ON (1), no range,
 * the selector at SYSCALL_DISPATCH_FILTER_ALLOW (0): every call still runs. */
static char sud_selector = 0;
static int sud(void) {
  const int r = prctl(59, 1, 0, 0, &sud_selector);
  printf("sud %s\n", r == 0 ? "on" : strerror(errno));
  return r == 0 ? 0 : 1;
}

/* One command; 0 when it was one of these. */
static int builtin(int argc, char** argv, int* rc) {
  const long arg = argc > 1 ? atol(argv[1]) : 0;
  *rc = 0;
  if (strcmp(argv[0], "ping") == 0) {
    printf("pong\n");
  } else if (strcmp(argv[0], "spin") == 0) {
    spin(arg);
  } else if (strcmp(argv[0], "sleep") == 0) {
    const long t0 = now_ms();
    const int e = sleep_ms(arg);
    printf("slept %ld eintr %d\n", now_ms() - t0, e == EINTR);
  } else if (strcmp(argv[0], "epoll") == 0) {
    epoll(arg);
  } else if (strcmp(argv[0], "ppoll") == 0) {
    do_ppoll(arg);
  } else if (strcmp(argv[0], "futex") == 0) {
    do_futex(arg);
  } else if (strcmp(argv[0], "threads") == 0) {
    for (long i = 0; i < arg; ++i) {
      pthread_t t;
      *rc |= pthread_create(&t, NULL, worker, NULL);
    }
    printf("threads started %ld\n", arg);
  } else if (strcmp(argv[0], "threads-status") == 0) {
    printf("threads %s rounds %ld eintr %ld\n", atomic_load(&corrupt) ? "CORRUPT" : "ok",
           atomic_load(&rounds), atomic_load(&eintrs));
  } else if (strcmp(argv[0], "state") == 0) {
    state();
  } else if (strcmp(argv[0], "sud") == 0) {
    *rc = sud();
  } else if (strcmp(argv[0], "vfork") == 0) {
    do_vfork(arg);
  } else if (strcmp(argv[0], "seccomp") == 0 && argc > 2) {
    *rc = filter(arg, argv[2]);
  } else {
    return 1;
  }
  return 0;
}

/* A line from stdin with read(2), counting reads EINTR cut short. */
static int read_line(char* buf, size_t size) {
  size_t n = 0;
  while (n + 1 < size) {
    const ssize_t r = read(0, buf + n, 1);
    if (r < 0 && errno == EINTR) {
      atomic_fetch_add(&read_eintr, 1);
      continue;
    }
    if (r <= 0) return n > 0;
    if (buf[n] == '\n') break;
    ++n;
  }
  buf[n] = '\0';
  return 1;
}

int serve(int (*command)(int argc, char** argv)) {
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGUSR2);
  sigprocmask(SIG_BLOCK, &m, NULL);
  stack_t ss = {.ss_sp = alt_stack, .ss_size = sizeof alt_stack};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART | SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  printf("ready %d\n", (int)getpid());
  char line[4096];
  while (read_line(line, sizeof line)) {
    char* argv[64];
    int argc = 0;
    argv[argc++] = "run_helper";
    for (char* tok = strtok(line, " "); tok != NULL && argc < 63; tok = strtok(NULL, " "))
      argv[argc++] = tok;
    argv[argc] = NULL;
    if (argc == 1) continue;
    int rc = 0;
    if (builtin(argc - 1, argv + 1, &rc) != 0) rc = command(argc, argv);
    printf("done %d\n", rc);
  }
  return 0;
}
