/*
 * address_limits.c: RLIMIT_AS and RLIMIT_DATA on the real kernel, case by
 * case, in the notation of reference_cases.c (tests/kernel/probe.h). The
 * limits are set relative to what the process has mapped at that moment
 * (VmSize and VmData of /proc/self/status), so the cases do not depend on
 * how big the probe's own image is; the engine replays them against its own
 * counters (tests/engine/address_limits_test.cpp).
 *
 * Build: gcc -O1 -Wall -o address_limits address_limits.c
 * Check: tests/kernel/run_probe.sh address_limits
 * Runs as any user (lowering a soft limit needs no privilege). Exit 77 (SKIP)
 * where mseal is missing.
 *
 * Cases (each in its own forked child):
 *  a1  RLIMIT_AS and mmap: every page counts (PROT_NONE, NORESERVE, shared);
 *      a MAP_FIXED over mapped pages is charged only its new pages; a refused
 *      MAP_FIXED over the middle of a VMA leaves the split behind.
 *  a2  RLIMIT_AS and mremap (grow in place, move, DONTUNMAP), mprotect (never
 *      refused by RLIMIT_AS) and brk.
 *  a3  RLIMIT_AS and stack growth: a fault below a MAP_GROWSDOWN VMA.
 *  a4  RLIMIT_DATA and mmap/mprotect: only private writable non-stack
 *      memory counts (is_data_mapping()); mprotect making memory data is
 *      refused, making it read-only frees it.
 *  a5  RLIMIT_DATA and brk: check_data_rlimit() on the heap size (also on a
 *      shrink), then may_expand_vm() on data_vm.
 *  a6  RLIMIT_DATA of 0 with a larger hard limit: data mappings are still
 *      allowed up to the hard limit (the "Valgrind workaround").
 *  a7  fork keeps the limits, and the child's counters are the parent's.
 *  a8  a stack growth that RLIMIT_AS refuses still gives the stack VMA its
 *      anon_vma (expand_downwards() prepares it before acct_stack_growth()),
 *      seen when mprotect later keeps VM_ACCOUNT on the part it makes
 *      read-only; one the stack guard gap refuses does not (that check comes
 *      first). Found by vmseal difftest (seed 9921197688932060352).
 */
#include "probe.h"

#include <sys/resource.h>

#define RW (PROT_READ | PROT_WRITE)
#define FIXED (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

/* A field of /proc/self/status in pages ("VmSize:", "VmData:"). */
static unsigned long status_pages(const char* field) {
  static char buf[1 << 14];
  long fd = x_open("/proc/self/status", O_RDONLY);
  if (fd < 0) fail(__LINE__, "open status", fd);
  long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
  x_close((int)fd);
  if (n <= 0) fail(__LINE__, "read status", n);
  buf[n] = 0;
  const char* at = strstr(buf, field);
  if (at == NULL) fail(__LINE__, field, 0);
  return strtoul(at + strlen(field), NULL, 10) / (PS / 1024);
}

/* The soft limit of `res` set to `pages` pages (the hard limit unchanged). */
static void soft_limit(int res, unsigned long pages) {
  struct rlimit r;
  OK(sc_ret(syscall(SYS_getrlimit, res, &r)));
  r.rlim_cur = pages * PS;
  OK(sc_ret(syscall(SYS_setrlimit, res, &r)));
}

/* RLIMIT_AS at what is mapped now plus `extra` pages. */
static void as_headroom(unsigned long extra) {
  soft_limit(RLIMIT_AS, status_pages("VmSize:") + extra);
}
/* RLIMIT_DATA at the data pages now plus `extra`. */
static void data_headroom(unsigned long extra) {
  soft_limit(RLIMIT_DATA, status_pages("VmData:") + extra);
}

static sigjmp_buf segv_jmp;
static void on_segv(int sig) {
  (void)sig;
  siglongjmp(segv_jmp, 1);
}

/* Writes a byte at `a`: "0", or "SIGSEGV" when the fault is refused. */
static void touch(uintptr_t a) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_segv;
  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(segv_jmp, 1) == 0) {
    ((volatile char*)a)[0] = 1;
    obs("0");
  } else {
    obs("SIGSEGV");
  }
}

/* brk grown (or shrunk) by `delta` pages from the current break: "moved" when
 * the break changed, "refused" when brk(2) returned the old one. */
static void brk_by(long delta) {
  uintptr_t cur = (uintptr_t)x_brk(0);
  uintptr_t got = (uintptr_t)x_brk(cur + (uintptr_t)(delta * (long)PS));
  obs(got == cur ? "refused" : "moved");
}

static void a1(void) {
  region(16);
  as_headroom(4);
  obs_addr(x_mmap(P(0), 4 * PS, RW, FIXED, -1, 0));
  obs_addr(x_mmap(P(4), PS, PROT_NONE, FIXED, -1, 0));
  obs_addr(x_mmap(P(4), PS, RW, FIXED | MAP_NORESERVE, -1, 0));
  obs_addr(x_mmap(P(4), PS, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  obs_addr(x_mmap(P(2), 2 * PS, PROT_READ, FIXED, -1, 0));
  obs_addr(x_mmap(P(1), 4 * PS, PROT_READ, FIXED, -1, 0));
  obs_ret(x_munmap(P(3), PS));
  obs_addr(x_mmap(P(1), 3 * PS, PROT_READ, FIXED, -1, 0));
}

static void a2(void) {
  region(16);
  anon(0, 4, RW);
  as_headroom(2);
  obs_addr(x_mremap(P(0), 4 * PS, 6 * PS, 0, 0));
  obs_addr(x_mremap(P(0), 6 * PS, 7 * PS, 0, 0));
  obs_addr(x_mremap(P(0), 6 * PS, 6 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, P(8)));
  obs_addr(x_mremap(P(8), 2 * PS, 2 * PS, MREMAP_MAYMOVE | 4 /* DONTUNMAP */, 0));
  obs_addr(x_mremap(P(8), 2 * PS, 3 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, P(0)));
  obs_ret(x_mprotect(P(8), 2 * PS, PROT_READ));
  obs_ret(x_mprotect(P(8), 2 * PS, RW));
  brk_by(1);
  obs_ret(x_munmap(P(12), 2 * PS));
  brk_by(1);
  brk_by(1);
}

static void a3(void) {
  /* 256 pages of stack_guard_gap between the stack and the guard below. */
  region(272);
  CHECK(x_mmap(P(264), 2 * PS, RW, FIXED | MAP_GROWSDOWN, -1, 0), r_ == (long)P(264));
  as_headroom(1);
  touch(P(263));
  touch(P(262));
  soft_limit(RLIMIT_AS, ~0UL / PS);
  touch(P(262));
}

static void a4(void) {
  region(16);
  data_headroom(4);
  obs_addr(x_mmap(P(0), 2 * PS, RW, FIXED, -1, 0));
  obs_addr(x_mmap(P(2), 4 * PS, PROT_READ, FIXED, -1, 0));
  obs_addr(x_mmap(P(6), 4 * PS, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  obs_addr(x_mmap(P(10), 4 * PS, RW, FIXED | MAP_GROWSDOWN, -1, 0));
  obs_addr(x_mmap(P(14), 2 * PS, RW, FIXED | MAP_NORESERVE, -1, 0));
  obs_ret(x_mprotect(P(2), 4 * PS, RW));
  obs_ret(x_mprotect(P(2), PS, RW));
  obs_ret(x_mprotect(P(14), 2 * PS, PROT_READ));
  obs_ret(x_mprotect(P(2), 3 * PS, RW));
  obs_ret(x_mprotect(P(5), PS, RW));
}

static void a5(void) {
  region(2);
  /* A heap of 4 pages, then a limit on data_vm with 2 pages of headroom. */
  uintptr_t b0 = (uintptr_t)x_brk(0);
  CHECK(x_brk(b0 + 4 * PS), r_ == (long)(b0 + 4 * PS));
  data_headroom(2);
  brk_by(2);
  brk_by(1);
  brk_by(-2);
  /* check_data_rlimit(): the heap's size plus the data segment's against the
   * limit itself, on growth and shrink alike. */
  soft_limit(RLIMIT_DATA, 1);
  brk_by(-1);
  brk_by(1);
  soft_limit(RLIMIT_DATA, ~0UL / PS);
  brk_by(-1);
}

static void a6(void) {
  region(8);
  struct rlimit r = {0, 0};
  OK(sc_ret(syscall(SYS_getrlimit, RLIMIT_DATA, &r)));
  r.rlim_cur = 0;
  r.rlim_max = (status_pages("VmData:") + 4) * PS;
  OK(sc_ret(syscall(SYS_setrlimit, RLIMIT_DATA, &r)));
  obs_addr(x_mmap(P(0), 4 * PS, RW, FIXED, -1, 0));
  obs_addr(x_mmap(P(4), PS, RW, FIXED, -1, 0));
  obs_addr(x_mmap(P(4), 4 * PS, PROT_READ, FIXED, -1, 0));
}

static void a7(void) {
  region(8);
  anon(0, 2, RW);
  as_headroom(2);
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) {
    obs_addr(x_mmap(P(2), 2 * PS, RW, FIXED, -1, 0));
    obs_addr(x_mmap(P(4), PS, RW, FIXED, -1, 0));
    _exit(0);
  }
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: forked child failed (status 0x%x)\n", cur_case, st);
}

static void a8(void) {
  region(528);
  /* Refused by RLIMIT_AS: the VMA has an anon_vma afterwards. */
  CHECK(x_mmap(P(264), 2 * PS, PROT_READ, FIXED | MAP_GROWSDOWN, -1, 0), r_ == (long)P(264));
  as_headroom(0);
  touch(P(263));
  soft_limit(RLIMIT_AS, ~0UL / PS);
  obs_ret(x_mprotect(P(264), 2 * PS, RW));
  obs_ret(x_mprotect(P(264), PS, PROT_READ));
  /* Refused by the guard gap to an accessible VMA below: no anon_vma. */
  CHECK(x_mmap(P(300), PS, PROT_READ, FIXED, -1, 0), r_ == (long)P(300));
  CHECK(x_mmap(P(520), 2 * PS, PROT_READ, FIXED | MAP_GROWSDOWN, -1, 0), r_ == (long)P(520));
  touch(P(519));
  obs_ret(x_mprotect(P(520), 2 * PS, RW));
  obs_ret(x_mprotect(P(520), PS, PROT_READ));
}

static const struct tcase cases[] = {
    {"a1", a1}, {"a2", a2}, {"a3", a3}, {"a4", a4}, {"a5", a5}, {"a6", a6}, {"a7", a7}, {"a8", a8},
};

int main(int argc, char** argv) {
  int rc = probe_mseal();
  if (rc) return rc;
  return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
