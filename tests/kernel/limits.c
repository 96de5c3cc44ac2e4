/*
 * limits.c: what resource limits and capabilities do to the memory calls on
 * the real kernel, case by case, in the notation of reference_cases.c
 * (tests/kernel/probe.h): RLIMIT_MEMLOCK against CAP_IPC_LOCK, the rules of
 * setrlimit(2) and capset(2) themselves, CAP_SYS_RAWIO and mmap at 0, and
 * what fork, execve and prlimit64(2) on another process do to them.
 *
 * Build: gcc -O1 -Wall -o limits limits.c
 * Check: tests/kernel/run_probe.sh limits (diffs against
 *        tests/data/limits.expected; tests/engine/limits_test.cpp replays the
 *        same cases in the engine against the same file).
 * Exit 77 (SKIP) unless run as root with CAP_IPC_LOCK and CAP_SYS_RAWIO (the
 * cases drop them) and mseal works.
 *
 * Cases (each in its own forked child):
 *  l1  RLIMIT_MEMLOCK of 2 pages: mlock of 4 is fine with CAP_IPC_LOCK;
 *      without it, more is ENOMEM, MAP_LOCKED EAGAIN, mlockall(MCL_CURRENT)
 *      ENOMEM; a limit of 0 makes mlock and MAP_LOCKED EPERM.
 *  l2  setrlimit: soft above hard EINVAL; lowering free; raising the hard
 *      limit without CAP_SYS_RESOURCE EPERM; an unknown resource EINVAL.
 *  l3  capset: permitted only shrinks, effective within permitted,
 *      inheritable within the old inheritable and permitted sets (EPERM
 *      otherwise); effective can be raised again within permitted.
 *  l4  CAP_SYS_RAWIO: MAP_FIXED at address 0 below vm.mmap_min_addr.
 *  l5  fork keeps the limit and the dropped capability.
 *  l6  execve keeps the limit; root gets its bounding set back as permitted
 *      and effective capabilities (CAP_IPC_LOCK among them).
 *  l7  prlimit64 on another process sets that process's limit.
 */
#include "probe.h"

#include <linux/capability.h>
#include <stdlib.h>
#include <sys/resource.h>

#ifndef SYS_prlimit64
#define SYS_prlimit64 302
#endif

#define RW (PROT_READ | PROT_WRITE)
#define FIXED (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
#define BIT(c) (1ULL << (c))

static long set_limit(int res, unsigned long cur, unsigned long max) {
  struct rlimit r = {cur, max};
  return sc_ret(syscall(SYS_setrlimit, res, &r));
}

static unsigned long long cap_eff, cap_prm, cap_inh;

static void read_caps(void) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2];
  OK(sc_ret(syscall(SYS_capget, &h, d)));
  cap_eff = d[0].effective | (unsigned long long)d[1].effective << 32;
  cap_prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
  cap_inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
}

static long set_caps(unsigned long long eff, unsigned long long prm, unsigned long long inh) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {
      {(unsigned)eff, (unsigned)prm, (unsigned)inh},
      {(unsigned)(eff >> 32), (unsigned)(prm >> 32), (unsigned)(inh >> 32)}};
  return sc_ret(syscall(SYS_capset, &h, d));
}

/* Drops `cap` from the effective and permitted sets. */
static long drop_cap(int cap) {
  read_caps();
  return set_caps(cap_eff & ~BIT(cap), cap_prm & ~BIT(cap), cap_inh);
}

static void l1(void) {
  region(8);
  anon(0, 8, RW);
  obs_ret(set_limit(RLIMIT_MEMLOCK, 2 * PS, 2 * PS));
  obs_ret(x_mlock(P(0), 4 * PS));
  obs_ret(drop_cap(CAP_IPC_LOCK));
  obs_ret(x_mlock(P(4), PS));
  obs_ret(x_munlock(P(0), 8 * PS));
  obs_ret(x_mlock(P(0), 2 * PS));
  obs_ret(x_mlock(P(2), PS));
  obs_addr(x_mmap(P(4), 2 * PS, RW, FIXED | MAP_LOCKED, -1, 0));
  obs_ret(sc_ret(syscall(SYS_mlockall, MCL_CURRENT)));
  obs_ret(set_limit(RLIMIT_MEMLOCK, 0, 0));
  obs_ret(x_mlock(P(6), PS));
  obs_addr(x_mmap(P(6), 2 * PS, RW, FIXED | MAP_LOCKED, -1, 0));
}

static void l2(void) {
  region(2);
  obs_ret(set_limit(RLIMIT_MEMLOCK, 8 * PS, 4 * PS));
  obs_ret(set_limit(RLIMIT_MEMLOCK, 4 * PS, 4 * PS));
  /* Raising the hard limit with CAP_SYS_RESOURCE is not probed: containers
   * (this machine's too) run root without it. */
  obs_ret(drop_cap(CAP_SYS_RESOURCE));
  obs_ret(set_limit(RLIMIT_MEMLOCK, 8 * PS, 8 * PS));
  obs_ret(set_limit(RLIMIT_MEMLOCK, 2 * PS, 4 * PS));
  obs_ret(set_limit(RLIMIT_MEMLOCK, 4 * PS, 2 * PS));
  obs_ret(set_limit(RLIMIT_STACK, 1 << 20, 1 << 20));
  obs_ret(set_limit(RLIMIT_STACK, 2 << 20, 2 << 20));
  obs_ret(set_limit(99, 0, 0));
}

static void l3(void) {
  region(4);
  anon(0, 4, RW);
  const unsigned long long lock = BIT(CAP_IPC_LOCK);
  const unsigned long long raw = BIT(CAP_SYS_RAWIO);
  OK(set_limit(RLIMIT_MEMLOCK, PS, PS));
  obs_ret(set_caps(lock, lock, 0));
  obs_ret(set_caps(lock | raw, lock | raw, 0));
  obs_ret(set_caps(raw, lock, 0));
  obs_ret(set_caps(0, lock, raw));
  obs_ret(set_caps(0, lock, lock));
  obs_ret(x_mlock(P(0), 2 * PS));
  obs_ret(set_caps(lock, lock, lock));
  obs_ret(x_mlock(P(0), 2 * PS));
  obs_ret(set_caps(0, 0, lock));
  obs_ret(set_caps(lock, lock, lock));
}

static void l4(void) {
  region(2);
  obs_ret(x_mmap(0, PS, PROT_READ, FIXED, -1, 0));
  obs_ret(x_munmap(0, PS));
  obs_ret(drop_cap(CAP_SYS_RAWIO));
  obs_ret(x_mmap(0, PS, PROT_READ, FIXED, -1, 0));
}

static void l5(void) {
  region(8);
  anon(0, 8, RW);
  OK(set_limit(RLIMIT_MEMLOCK, 2 * PS, 2 * PS));
  OK(drop_cap(CAP_IPC_LOCK));
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) {
    obs_ret(x_mlock(P(0), 2 * PS));
    obs_ret(x_mlock(P(2), PS));
    _exit(0);
  }
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: forked child failed (status 0x%x)\n", cur_case, st);
}

static const char* self_exe;

/* Runs this program again as "limits --exec-mlock CASE STEP": the new image
 * maps 4 pages and mlocks them (one observation, step STEP+1). */
static void l6(void) {
  region(2);
  OK(set_limit(RLIMIT_MEMLOCK, 2 * PS, 2 * PS));
  OK(drop_cap(CAP_IPC_LOCK));
  exec_self(self_exe, "--exec-mlock");
}

/* The parent sets the child's RLIMIT_MEMLOCK to 0 with prlimit64 while the
 * child waits; the child, without CAP_IPC_LOCK, then cannot mlock. */
static void l7(void) {
  region(4);
  anon(0, 4, RW);
  OK(drop_cap(CAP_IPC_LOCK));
  int go[2];
  CHECK(syscall(SYS_pipe2, go, 0), r_ == 0);
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) {
    char c;
    syscall(SYS_read, go[0], &c, 1);
    obs_ret(x_mlock(P(0), PS));
    _exit(0);
  }
  struct rlimit zero = {0, 0};
  OK(sc_ret(syscall(SYS_prlimit64, pid, RLIMIT_MEMLOCK, &zero, NULL)));
  syscall(SYS_write, go[1], "g", 1);
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: forked child failed (status 0x%x)\n", cur_case, st);
}

static const struct tcase cases[] = {
    {"l1", l1}, {"l2", l2}, {"l3", l3}, {"l4", l4}, {"l5", l5}, {"l6", l6}, {"l7", l7},
};

int main(int argc, char** argv) {
  self_exe = argv[0];
  if (exec_self_run(argc, argv, "--exec-mlock")) {
    long p = x_mmap(0, 4 * PS, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p < 0) fail(__LINE__, "mmap", p);
    obs_ret(x_mlock((uintptr_t)p, 4 * PS)); /* no window here: an empty layout */
    return 0;
  }
  if (geteuid() != 0) {
    outf("SKIP: needs root (the cases drop CAP_IPC_LOCK, CAP_SYS_RAWIO and CAP_SYS_RESOURCE)\n");
    return 77;
  }
  read_caps();
  if (cap_eff != cap_prm || (cap_eff & BIT(CAP_IPC_LOCK)) == 0 ||
      (cap_eff & BIT(CAP_SYS_RAWIO)) == 0) {
    outf("SKIP: root without CAP_IPC_LOCK or CAP_SYS_RAWIO (a container?)\n");
    return 77;
  }
  int rc = probe_mseal();
  if (rc) return rc;
  return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
