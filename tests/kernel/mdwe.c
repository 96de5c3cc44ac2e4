/*
 * mdwe.c: what prctl(PR_SET_MDWE) (memory-deny-write-execute, Linux 6.3)
 * does to the memory calls on the real kernel, case by case, in the notation
 * of reference_cases.c (tests/kernel/probe.h).
 *
 * Build: gcc -O1 -Wall -o mdwe mdwe.c
 * Check: tests/kernel/run_probe.sh mdwe (diffs against tests/data/mdwe.expected;
 *        tests/engine/mdwe_test.cpp replays the same cases in the engine
 *        against the same file).
 * Exit 77 (SKIP) when the kernel has no MDWE (PR_GET_MDWE is EINVAL before
 * 6.3) or no mseal.
 *
 * Cases (each in its own forked child, MDWE set inside it):
 *  m1  the prctl itself: GET is 0; NO_INHERIT alone, unknown bits, a nonzero
 *      arg3..arg5 are EINVAL (GET's too); SET(REFUSE_EXEC_GAIN) 0, GET 1;
 *      clearing it (SET 0) is EPERM; adding NO_INHERIT later is EPERM;
 *      setting it again is 0.
 *  m2  mmap: read-write-exec refused (EACCES) with nothing changed, also
 *      MAP_FIXED over a mapping (nothing unmapped) and write-exec without
 *      read; read-exec and read-write allowed.
 *  m3  mprotect: write-exec refused; exec gained refused; a VMA that lost
 *      exec cannot get it back; exec kept (no change) allowed; pkey_mprotect
 *      the same.
 *  m4  mprotect across two VMAs: the first (r-x to --x) is changed, the
 *      second (rw- to --x, exec gained) refused: the partial failure stays.
 *  m5  a sealed VMA: mprotect gaining exec is EACCES, not EPERM (MDWE is
 *      checked before the seal); MAP_FIXED read-write-exec over it EACCES.
 *  m6  fork keeps MDWE; with NO_INHERIT the child has none.
 *  m7  execve keeps MDWE; with NO_INHERIT the new image has none.
 */
#include "probe.h"

#include <stdlib.h>
#include <sys/prctl.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1UL
#endif
#ifndef PR_MDWE_NO_INHERIT
#define PR_MDWE_NO_INHERIT 2UL
#endif
#ifndef SYS_pkey_mprotect
#define SYS_pkey_mprotect 329
#endif

#define R PROT_READ
#define RW (PROT_READ | PROT_WRITE)
#define RX (PROT_READ | PROT_EXEC)
#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)
#define FIXED (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

static long x_prctl(long opt, unsigned long a2, unsigned long a3, unsigned long a4,
                    unsigned long a5) {
  return sc_ret(syscall(SYS_prctl, opt, a2, a3, a4, a5));
}
static long set_mdwe(unsigned long bits) { return x_prctl(PR_SET_MDWE, bits, 0, 0, 0); }
static long get_mdwe(void) { return x_prctl(PR_GET_MDWE, 0, 0, 0, 0); }

static void m1(void) {
  region(2);
  obs_ret(get_mdwe());
  obs_ret(set_mdwe(PR_MDWE_NO_INHERIT));
  obs_ret(set_mdwe(7));
  obs_ret(x_prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 1, 0, 0));
  obs_ret(x_prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 1));
  obs_ret(x_prctl(PR_GET_MDWE, 1, 0, 0, 0));
  obs_ret(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN));
  obs_ret(get_mdwe());
  obs_ret(set_mdwe(0));
  obs_ret(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN | PR_MDWE_NO_INHERIT));
  obs_ret(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN));
  obs_ret(get_mdwe());
}

static void m2(void) {
  region(8);
  anon(4, 6, RW);
  OK(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN));
  obs_addr(x_mmap(P(0), 2 * PS, RWX, FIXED, -1, 0));
  obs_addr(x_mmap(P(4), 2 * PS, RWX, FIXED, -1, 0));
  obs_addr(x_mmap(P(0), 2 * PS, PROT_WRITE | PROT_EXEC, FIXED, -1, 0));
  obs_addr(x_mmap(P(0), 2 * PS, RX, FIXED, -1, 0));
  obs_addr(x_mmap(P(2), 2 * PS, RW, FIXED, -1, 0));
  obs_addr(x_mmap(P(6), 2 * PS, PROT_EXEC, FIXED, -1, 0));
}

static void m3(void) {
  region(8);
  anon(0, 2, RW);
  anon(4, 6, RX);
  OK(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN));
  obs_ret(x_mprotect(P(0), 2 * PS, RWX));
  obs_ret(x_mprotect(P(0), 2 * PS, RX));
  obs_ret(x_mprotect(P(4), 2 * PS, RWX));
  obs_ret(x_mprotect(P(4), 2 * PS, RX));
  obs_ret(x_mprotect(P(4), PS, PROT_EXEC));
  obs_ret(x_mprotect(P(4), 2 * PS, R));
  obs_ret(x_mprotect(P(4), 2 * PS, RX));
  obs_ret(sc_ret(syscall(SYS_pkey_mprotect, P(0), 2 * PS, RX, -1)));
  obs_ret(sc_ret(syscall(SYS_pkey_mprotect, P(0), 2 * PS, R, -1)));
}

static void m4(void) {
  region(8);
  OK(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN));
  CHECK(x_mmap(P(0), 2 * PS, RX, FIXED, -1, 0), r_ == (long)P(0));
  anon(2, 4, RW);
  obs_ret(x_mprotect(P(0), 4 * PS, PROT_EXEC));
  obs_ret(x_mprotect(P(0), 4 * PS, R));
}

static void m5(void) {
  region(8);
  anon(0, 2, R);
  anon(2, 4, RX);
  OK(x_mseal(P(0), 4 * PS, 0));
  OK(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN));
  obs_ret(x_mprotect(P(0), 2 * PS, RX));
  obs_ret(x_mprotect(P(2), 2 * PS, RWX));
  obs_ret(x_mprotect(P(2), 2 * PS, R));
  obs_addr(x_mmap(P(0), 2 * PS, RWX, FIXED, -1, 0));
  obs_addr(x_mmap(P(0), 2 * PS, R, FIXED, -1, 0));
}

/* In a forked child: GET, and an mmap read-write-exec. */
static void child_tries(void) {
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) {
    obs_ret(get_mdwe());
    obs_addr(x_mmap(P(0), 2 * PS, RWX, FIXED, -1, 0));
    _exit(0);
  }
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: forked child failed (status 0x%x)\n", cur_case, st);
}

static void m6(void) {
  region(4);
  OK(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN));
  child_tries();
}

/* m6 again, in a process whose MDWE has NO_INHERIT (set before any other). */
static void m6n(void) {
  region(4);
  obs_ret(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN | PR_MDWE_NO_INHERIT));
  obs_ret(get_mdwe());
  child_tries();
}

static const char* self_exe;

/* In the exec'd image: one observation, GET's result (exec_self()). */
static void exec_and_get(void) { exec_self(self_exe, "--exec-get"); }

static void m7(void) {
  region(2);
  OK(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN));
  exec_and_get();
}

static void m7n(void) {
  region(2);
  OK(set_mdwe(PR_MDWE_REFUSE_EXEC_GAIN | PR_MDWE_NO_INHERIT));
  exec_and_get();
}

static const struct tcase cases[] = {
    {"m1", m1}, {"m2", m2},   {"m3", m3}, {"m4", m4},   {"m5", m5},
    {"m6", m6}, {"m6n", m6n}, {"m7", m7}, {"m7n", m7n},
};

/* 0 if this kernel has MDWE, else SKIP (77). */
static int probe_mdwe(void) {
  long r = get_mdwe();
  if (r < 0) {
    outf("SKIP: PR_GET_MDWE returned %s (MDWE needs Linux 6.3)\n", errname((int)-r));
    return 77;
  }
  return 0;
}

int main(int argc, char** argv) {
  self_exe = argv[0];
  if (exec_self_run(argc, argv, "--exec-get")) {
    obs_ret(get_mdwe()); /* no window here: an empty layout */
    return 0;
  }
  int rc = probe_mseal();
  if (rc == 0) rc = probe_mdwe();
  if (rc) return rc;
  return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
