/*
 * probe.h: what the kernel probes of tests/kernel share (reference_cases.c,
 * guard_markers.c): raw system calls, a window of pages bracketed by
 * PROT_EXEC guard VMAs, the window's layout read from /proc/self/smaps in the
 * notation of tests/data/reference_cases.expected, and a runner that forks one
 * child per case. Output is written with write(2) from static buffers, so
 * nothing calls malloc (no brk, no mmap behind the probe's back).
 *
 * A probe defines its cases and calls run_cases() from main().
 */
#ifndef VMSEAL_TESTS_KERNEL_PROBE_H
#define VMSEAL_TESTS_KERNEL_PROBE_H

/* A probe uses some of these helpers, not all. */
#pragma GCC diagnostic ignored "-Wunused-function"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_mseal
#define SYS_mseal 462
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif

#define PS 4096UL

/* ------------------------------------------------------------------ output */

static void out_str(const char* s) {
  size_t n = strlen(s);
  while (n > 0) {
    long w = syscall(SYS_write, 1, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static void outf(const char* fmt, ...) {
  static char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  out_str(buf);
}

static const char* errname(int e) {
  switch (e) {
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case EINTR:
      return "EINTR";
    case EBADF:
      return "EBADF";
    case EAGAIN:
      return "EAGAIN";
    case ENOMEM:
      return "ENOMEM";
    case EACCES:
      return "EACCES";
    case EFAULT:
      return "EFAULT";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case ENODEV:
      return "ENODEV";
    case EINVAL:
      return "EINVAL";
    case ENFILE:
      return "ENFILE";
    case EMFILE:
      return "EMFILE";
    case EFBIG:
      return "EFBIG";
    case ENOSPC:
      return "ENOSPC";
    case EOVERFLOW:
      return "EOVERFLOW";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    case ENOSYS:
      return "ENOSYS";
    case EIDRM:
      return "EIDRM";
    default: {
      static char b[32];
      snprintf(b, sizeof b, "E%d", e);
      return b;
    }
  }
}

/* ------------------------------------------------------------- raw syscalls */

static long sc_ret(long r) { return r == -1 ? -errno : r; }

static long x_mmap(uintptr_t a, size_t l, int prot, int flags, int fd, off_t off) {
  return sc_ret(syscall(SYS_mmap, a, l, prot, flags, fd, off));
}
static long x_munmap(uintptr_t a, size_t l) { return sc_ret(syscall(SYS_munmap, a, l)); }
static long x_mprotect(uintptr_t a, size_t l, int prot) {
  return sc_ret(syscall(SYS_mprotect, a, l, prot));
}
static long x_madvise(uintptr_t a, size_t l, int adv) {
  return sc_ret(syscall(SYS_madvise, a, l, adv));
}
static long x_mseal(uintptr_t a, size_t l, unsigned long f) {
  return sc_ret(syscall(SYS_mseal, a, l, f));
}
static long x_mremap(uintptr_t a, size_t ol, size_t nl, int f, uintptr_t na) {
  return sc_ret(syscall(SYS_mremap, a, ol, nl, f, na));
}
static long x_mlock(uintptr_t a, size_t l) { return sc_ret(syscall(SYS_mlock, a, l)); }
static long x_munlock(uintptr_t a, size_t l) { return sc_ret(syscall(SYS_munlock, a, l)); }
static long x_brk(uintptr_t a) { return syscall(SYS_brk, a); } /* never fails */
static long x_open(const char* p, int fl) {
  return sc_ret(syscall(SYS_openat, AT_FDCWD, p, fl, 0));
}
static long x_close(int fd) { return sc_ret(syscall(SYS_close, fd)); }

/* ------------------------------------------------------------------ region */

static uintptr_t base;       /* first page of the window */
static unsigned long npages; /* window size in pages */
static const char* cur_case = "?";

static void fail(int line, const char* what, long r) {
  outf("%s: setup failed at line %d (%s): %s\n", cur_case, line, what,
       r < 0 ? errname((int)-r) : "unexpected value");
  _exit(1);
}
#define CHECK(expr, cond)                   \
  do {                                      \
    long r_ = (expr);                       \
    if (!(cond)) fail(__LINE__, #expr, r_); \
  } while (0)
#define OK(expr)                            \
  do {                                      \
    long r_ = (expr);                       \
    if (r_ != 0) fail(__LINE__, #expr, r_); \
  } while (0)

static uintptr_t P(long page) { return base + (uintptr_t)page * PS; }

/* A window of n pages with a PROT_EXEC guard page on each side. */
static void region(unsigned long n) {
  long r = x_mmap(0, (n + 2) * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r < 0) fail(__LINE__, "reserve", r);
  base = (uintptr_t)r + PS;
  npages = n;
  CHECK(x_mmap(base - PS, PS, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
        r_ == (long)(base - PS));
  CHECK(x_mmap(P(n), PS, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
        r_ == (long)P(n));
  OK(x_munmap(base, n * PS));
}

/* Anonymous private MAP_FIXED mapping of pages [from, to). */
static void anon(long from, long to, int prot) {
  CHECK(x_mmap(P(from), (to - from) * PS, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
        r_ == (long)P(from));
}

/* ------------------------------------------------------------------ layout */

static char layout_buf[1 << 16];
static size_t layout_len;

static void layout_add(const char* s) {
  size_t n = strlen(s);
  if (layout_len + n + 1 < sizeof layout_buf) {
    memcpy(layout_buf + layout_len, s, n);
    layout_len += n;
    layout_buf[layout_len] = 0;
  }
}

static int is_implied(const char* m) {
  static const char* const implied[] = {"rd", "wr", "ex", "sh", "mr", "mw", "me", "ms"};
  for (unsigned i = 0; i < sizeof implied / sizeof implied[0]; i++)
    if (strcmp(m, implied[i]) == 0) return 1;
  return 0;
}

/* State of the smaps parser. */
static int vma_in;        /* current VMA intersects the window */
static long vma_s, vma_e; /* clipped page indices */
static char vma_perms[8];

static void smaps_line(char* line) {
  if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
    unsigned long s, e;
    char perms[8];
    vma_in = 0;
    if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3) return;
    uintptr_t lo = base, hi = base + npages * PS;
    if (e <= lo || s >= hi) return;
    if (s < lo) s = lo;
    if (e > hi) e = hi;
    vma_in = 1;
    vma_s = (long)((s - base) / PS);
    vma_e = (long)((e - base) / PS);
    memcpy(vma_perms, perms, sizeof perms);
    return;
  }
  if (!vma_in || strncmp(line, "VmFlags:", 8) != 0) return;
  char item[256];
  snprintf(item, sizeof item, "[%ld-%ld %s", vma_s, vma_e, vma_perms);
  layout_add(item);
  char* save = NULL;
  for (char* tok = strtok_r(line + 8, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
    if (is_implied(tok)) continue;
    layout_add(" ");
    layout_add(tok);
  }
  layout_add("]");
  vma_in = 0;
}

static const char* layout(void) {
  static char rd[1 << 16];
  static char line[4096];
  size_t ll = 0;
  layout_len = 0;
  layout_buf[0] = 0;
  vma_in = 0;
  long fd = x_open("/proc/self/smaps", O_RDONLY);
  if (fd < 0) fail(__LINE__, "open smaps", fd);
  for (;;) {
    long n = syscall(SYS_read, fd, rd, sizeof rd);
    if (n <= 0) break;
    for (long i = 0; i < n; i++) {
      if (rd[i] == '\n') {
        line[ll] = 0;
        smaps_line(line);
        ll = 0;
      } else if (ll + 1 < sizeof line) {
        line[ll++] = rd[i];
      }
    }
  }
  x_close((int)fd);
  return layout_buf;
}

/* ------------------------------------------------------------------ report */

static char retbuf[64];

static const char* fmt_ret(long r) {
  if (r < 0 && r > -4096) return errname((int)-r);
  snprintf(retbuf, sizeof retbuf, "%ld", r);
  return retbuf;
}

static const char* fmt_addr(long r) {
  if (r < 0 && r > -4096) return errname((int)-r);
  long d = (long)((uintptr_t)r - base);
  if (d % (long)PS)
    snprintf(retbuf, sizeof retbuf, "@%ld+%ld", d / (long)PS, d % (long)PS);
  else
    snprintf(retbuf, sizeof retbuf, "@%ld", d / (long)PS);
  return retbuf;
}

static int step;
/* When set, appended to each observation line (guard_markers.c: " guards=..."). */
static const char* (*obs_suffix)(void);

static void obs(const char* ret) {
  step++;
  outf("%s.%d: ret=%s layout=%s%s\n", cur_case, step, ret, layout(),
       obs_suffix ? obs_suffix() : "");
}
static void obs_ret(long r) { obs(fmt_ret(r)); }
static void obs_addr(long r) { obs(fmt_addr(r)); }

/* ------------------------------------------------------------------ runner */

struct tcase {
  const char* id;
  void (*fn)(void);
};

/*
 * execve in a case: this program runs again as "SELF FLAG CASE STEP" in a
 * forked child, and the new image prints its observations as CASE from step
 * STEP + 1 (see exec_self_run()). Waits for it.
 */
static void exec_self(const char* self, const char* flag) {
  long pid = syscall(SYS_fork);
  if (pid < 0) fail(__LINE__, "fork", -errno);
  if (pid == 0) {
    char stepbuf[16];
    snprintf(stepbuf, sizeof stepbuf, "%d", step);
    char* argv[] = {(char*)self, (char*)flag, (char*)cur_case, stepbuf, NULL};
    char* envp[] = {NULL};
    syscall(SYS_execve, "/proc/self/exe", argv, envp);
    _exit(3);
  }
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: exec'd child failed (status 0x%x)\n", cur_case, st);
}

/* In main(): 1 when this run is exec_self()'s with `flag` (cur_case and step
 * are set then), else 0. */
static int exec_self_run(int argc, char** argv, const char* flag) {
  if (argc != 4 || strcmp(argv[1], flag) != 0) return 0;
  cur_case = argv[2];
  step = atoi(argv[3]);
  return 1;
}

/* 0 if mseal works, else prints SKIP and returns 77. */
static int probe_mseal(void) {
  long p = x_mmap(0, PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p < 0) {
    outf("SKIP: cannot mmap a probe page (%s)\n", errname((int)-p));
    return 77;
  }
  long r = x_mseal((uintptr_t)p, PS, 0);
  if (r == -ENOSYS) {
    outf("SKIP: kernel lacks mseal (syscall %d returned ENOSYS)\n", SYS_mseal);
    return 77;
  }
  if (r == -EPERM) {
    outf("SKIP: mseal denied with EPERM on a fresh mapping (seccomp filter?)\n");
    return 77;
  }
  if (r != 0) {
    outf("SKIP: mseal probe failed with %s\n", errname((int)-r));
    return 77;
  }
  return 0;
}

/*
 * Runs each case (or only those named in argv) in its own forked child.
 * Returns the exit status for main(): 0, 1 when a case failed.
 */
static int run_cases(const struct tcase* cases, unsigned ncases, int argc, char** argv) {
  int failed = 0;
  for (unsigned i = 0; i < ncases; i++) {
    if (argc > 1) { /* optional filter: run only the named cases */
      int want = 0;
      for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], cases[i].id) == 0) want = 1;
      if (!want) continue;
    }
    long pid = syscall(SYS_fork);
    if (pid < 0) {
      outf("%s: fork failed: %s\n", cases[i].id, errname(errno));
      failed = 1;
      continue;
    }
    if (pid == 0) {
      cur_case = cases[i].id;
      step = 0;
      cases[i].fn();
      _exit(0);
    }
    int st = 0;
    syscall(SYS_wait4, pid, &st, 0, NULL);
    if (WIFSIGNALED(st)) {
      outf("%s: child killed by signal %d\n", cases[i].id, WTERMSIG(st));
      failed = 1;
    } else if (WEXITSTATUS(st) != 0) {
      failed = 1;
    }
  }
  return failed;
}

#endif /* VMSEAL_TESTS_KERNEL_PROBE_H */
