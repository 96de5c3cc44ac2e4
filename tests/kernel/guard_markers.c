/*
 * guard_markers.c: what MADV_GUARD_INSTALL's page-table markers do on the real
 * kernel, case by case, in the notation of reference_cases.c (tests/kernel/
 * probe.h), with one more field per observation:
 *
 *   guards   one character per page of the window: G = the page holds a
 *            guard marker, . = it does not. Read from /proc/self/pagemap
 *            (bit 58, PM_GUARD_REGION), which shows markers whatever the
 *            page's protection.
 *
 * Build: gcc -O1 -Wall -o guard_markers guard_markers.c
 * Check: tests/kernel/run_probe.sh guard_markers (diffs against
 *        tests/data/guard_markers.expected; tests/engine/guard_markers_test.cpp
 *        replays the same cases in the engine against the same file).
 * Exit 77 (SKIP) when the kernel has no guard regions (MADV_GUARD_INSTALL is
 * EINVAL before 6.13) or pagemap does not report them (before 6.14).
 *
 * Cases:
 *  g1  [0-4 rw] install on page 1: the VMA gets gu and keeps its bounds;
 *      MADV_DONTNEED, MADV_FREE, mprotect and mseal keep the marker;
 *      MADV_POPULATE_READ over it is EFAULT, of the page before it 0.
 *  g2  mlock over a marker: ENOMEM, the VMA locked anyway; install on a
 *      locked VMA EINVAL, remove allowed; mlock2(MLOCK_ONFAULT) populates
 *      nothing and succeeds; mlock of the page before the marker succeeds.
 *  g3  mremap: a move takes the markers along, in-place growth adds none,
 *      a shrink past a marker drops it for good.
 *  g4  mremap DONTUNMAP: the markers move, the source keeps none.
 *  g5  fork copies the markers; not those of a WIPEONFORK VMA; a
 *      DONTFORK VMA is not in the child at all.
 *  g6  munmap and MAP_FIXED over a marker drop it; GUARD_REMOVE drops it.
 *  g7  shared memfd: the marker is per mapping (another mapping of the same
 *      file has none), survives MADV_REMOVE, is copied by fork; install
 *      assigns no anon_vma, so in a fork child the VMA still merges with a
 *      fresh neighbour (an inherited anon_vma would stop that).
 *  g8  the same for a private memfd mapping (merges in the child); private
 *      /dev/zero is anonymous memory, gets an anon_vma, and does not.
 *  g9  the fault: a write into the marker page is EFAULT for read(2) from
 *      /dev/zero (the kernel's own write faults), the page before is fine.
 */
#include "probe.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef SYS_mlock2
#define SYS_mlock2 325
#endif
#ifndef SYS_memfd_create
#define SYS_memfd_create 319
#endif
#define PM_GUARD_REGION (1ULL << 58)
#define RW (PROT_READ | PROT_WRITE)

static char guards_buf[600];

static const char* guard_strip(void) {
  static unsigned long long ent[512];
  unsigned long n = npages < 512 ? npages : 512;
  long fd = x_open("/proc/self/pagemap", O_RDONLY);
  if (fd < 0) fail(__LINE__, "open pagemap", fd);
  long r = syscall(SYS_pread64, fd, ent, n * 8, (long)(base / PS) * 8);
  x_close((int)fd);
  if (r != (long)(n * 8)) fail(__LINE__, "read pagemap", r < 0 ? -errno : r);
  memcpy(guards_buf, " guards=", 8);
  for (unsigned long i = 0; i < n; i++) guards_buf[8 + i] = (ent[i] & PM_GUARD_REGION) ? 'G' : '.';
  guards_buf[8 + n] = 0;
  return guards_buf;
}

static long x_mlock2(uintptr_t a, size_t l, unsigned f) {
  return sc_ret(syscall(SYS_mlock2, a, l, f));
}

/* read(2) of one byte of /dev/zero into page `page`: the kernel's write fault. */
static long zero_fd = -1;
static long write_fault(long page) {
  long r = syscall(SYS_read, zero_fd, (void*)P(page), 1);
  return r < 0 ? -errno : 0;
}

static long memfd(unsigned long pages) {
  long fd = sc_ret(syscall(SYS_memfd_create, "m", 0));
  if (fd < 0) fail(__LINE__, "memfd_create", fd);
  OK(sc_ret(syscall(SYS_ftruncate, fd, pages * PS)));
  return fd;
}

static void g1(void) {
  region(8);
  anon(0, 4, RW);
  obs_ret(x_madvise(P(1), PS, MADV_GUARD_INSTALL));
  obs_ret(x_madvise(P(0), 4 * PS, MADV_DONTNEED));
  obs_ret(x_madvise(P(0), 4 * PS, MADV_FREE));
  obs_ret(x_mprotect(P(0), 2 * PS, PROT_READ));
  obs_ret(x_mprotect(P(0), 2 * PS, RW));
  obs_ret(x_madvise(P(0), 4 * PS, MADV_POPULATE_READ));
  obs_ret(x_madvise(P(0), PS, MADV_POPULATE_WRITE));
  obs_ret(x_mseal(P(0), 4 * PS, 0));
  obs_ret(x_madvise(P(2), PS, MADV_GUARD_INSTALL));
}

static void g2(void) {
  region(8);
  anon(0, 4, RW);
  OK(x_madvise(P(1), PS, MADV_GUARD_INSTALL));
  obs_ret(x_mlock(P(0), 4 * PS));
  obs_ret(x_madvise(P(2), PS, MADV_GUARD_INSTALL));
  obs_ret(x_madvise(P(1), PS, MADV_GUARD_REMOVE));
  obs_ret(x_munlock(P(0), 4 * PS));
  obs_ret(x_madvise(P(1), PS, MADV_GUARD_INSTALL));
  obs_ret(x_mlock2(P(0), 4 * PS, MLOCK_ONFAULT));
  obs_ret(x_munlock(P(0), 4 * PS));
  obs_ret(x_mlock(P(0), PS));
  obs_ret(x_mlock(P(1), 2 * PS));
}

static void g3(void) {
  region(16);
  anon(0, 4, RW);
  OK(x_madvise(P(1), PS, MADV_GUARD_INSTALL));
  obs_addr(x_mremap(P(0), 4 * PS, 4 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, P(8)));
  obs_addr(x_mremap(P(8), 4 * PS, 6 * PS, 0, 0));
  obs_addr(x_mremap(P(8), 6 * PS, PS, 0, 0));
  obs_addr(x_mremap(P(8), PS, 4 * PS, 0, 0));
}

static void g4(void) {
  region(16);
  anon(0, 4, RW);
  OK(x_madvise(P(2), PS, MADV_GUARD_INSTALL));
  obs_addr(x_mremap(P(0), 4 * PS, 4 * PS, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, P(8)));
}

/* fork; the child runs `in_child` (or observes once, ret=0) and exits. */
static void fork_and(void (*in_child)(void)) {
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) {
    if (in_child)
      in_child();
    else
      obs("0");
    _exit(0);
  }
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: forked child failed (status 0x%x)\n", cur_case, st);
  step++; /* the child's step */
}

static void g5(void) {
  region(16);
  anon(0, 4, RW);
  anon(5, 9, RW);
  anon(10, 14, RW);
  OK(x_madvise(P(1), PS, MADV_GUARD_INSTALL));
  OK(x_madvise(P(6), PS, MADV_GUARD_INSTALL));
  OK(x_madvise(P(11), PS, MADV_GUARD_INSTALL));
  OK(x_madvise(P(5), 4 * PS, MADV_WIPEONFORK));
  OK(x_madvise(P(10), 4 * PS, MADV_DONTFORK));
  fork_and(NULL);
  obs_ret(0);
}

static void g6(void) {
  region(8);
  anon(0, 4, RW);
  OK(x_madvise(P(1), 2 * PS, MADV_GUARD_INSTALL));
  obs_ret(x_munmap(P(2), PS));
  obs_addr(x_mmap(P(2), PS, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  obs_ret(x_madvise(P(3), PS, MADV_GUARD_INSTALL));
  obs_addr(x_mmap(P(1), PS, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  obs_ret(x_madvise(P(0), 4 * PS, MADV_GUARD_REMOVE));
}

/* A fork child cannot merge an inherited VMA that has an anon_vma with a
 * fresh neighbour (docs/kernel-rules.md 6.6): these show which VMAs got one. */
static long g_fd;
static void g7_child(void) {
  obs_addr(x_mmap(P(2), 2 * PS, RW, MAP_SHARED | MAP_FIXED, (int)g_fd, 2 * PS));
}

static void g7(void) {
  region(12);
  g_fd = memfd(16);
  CHECK(x_mmap(P(0), 2 * PS, RW, MAP_SHARED | MAP_FIXED, (int)g_fd, 0), r_ == (long)P(0));
  CHECK(x_mmap(P(4), 4 * PS, RW, MAP_SHARED | MAP_FIXED, (int)g_fd, 0), r_ == (long)P(4));
  obs_ret(x_madvise(P(1), PS, MADV_GUARD_INSTALL));
  obs_ret(x_madvise(P(0), 2 * PS, MADV_REMOVE));
  fork_and(g7_child);
  fork_and(NULL);
}

static void g8_child(void) {
  obs_addr(x_mmap(P(2), 2 * PS, RW, MAP_PRIVATE | MAP_FIXED, (int)g_fd, 2 * PS));
  obs_addr(x_mmap(P(8), 2 * PS, RW, MAP_PRIVATE | MAP_FIXED, (int)zero_fd, 2 * PS));
}

static void g8(void) {
  region(12);
  g_fd = memfd(16);
  zero_fd = x_open("/dev/zero", O_RDWR);
  CHECK(x_mmap(P(0), 2 * PS, RW, MAP_PRIVATE | MAP_FIXED, (int)g_fd, 0), r_ == (long)P(0));
  CHECK(x_mmap(P(6), 2 * PS, RW, MAP_PRIVATE | MAP_FIXED, (int)zero_fd, 0), r_ == (long)P(6));
  obs_ret(x_madvise(P(0), PS, MADV_GUARD_INSTALL));
  obs_ret(x_madvise(P(6), PS, MADV_GUARD_INSTALL));
  fork_and(g8_child);
}

static void g9(void) {
  region(8);
  zero_fd = x_open("/dev/zero", O_RDWR);
  anon(0, 4, RW);
  OK(x_madvise(P(1), PS, MADV_GUARD_INSTALL));
  obs_ret(write_fault(0));
  obs_ret(write_fault(1));
  obs_ret(x_madvise(P(1), PS, MADV_GUARD_REMOVE));
  obs_ret(write_fault(1));
}

static const struct tcase cases[] = {
    {"g1", g1}, {"g2", g2}, {"g3", g3}, {"g4", g4}, {"g5", g5},
    {"g6", g6}, {"g7", g7}, {"g8", g8}, {"g9", g9},
};

/* 0 if guard markers can be installed and seen in pagemap, else SKIP (77). */
static int probe_guards(void) {
  long p = x_mmap(0, PS, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p < 0) {
    outf("SKIP: cannot mmap a probe page (%s)\n", errname((int)-p));
    return 77;
  }
  long r = x_madvise((uintptr_t)p, PS, MADV_GUARD_INSTALL);
  if (r != 0) {
    outf("SKIP: MADV_GUARD_INSTALL returned %s (guard regions need Linux 6.13)\n",
         errname((int)-r));
    return 77;
  }
  base = (uintptr_t)p;
  npages = 1;
  if (guard_strip()[8] != 'G') {
    outf("SKIP: /proc/self/pagemap does not report guard markers (needs Linux 6.14)\n");
    return 77;
  }
  x_munmap((uintptr_t)p, PS);
  return 0;
}

int main(int argc, char** argv) {
  int rc = probe_mseal();
  if (rc == 0) rc = probe_guards();
  if (rc) return rc;
  obs_suffix = guard_strip;
  return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
