/* Probe: would moving RELRO into anonymous memory before sealing it close the
 * MADV_DONTNEED gap? (docs/attacks.md, "What can be done about it".)
 *
 * Linux 6.18 refuses MADV_DONTNEED on a sealed VMA only when it is anonymous
 * and not writable (can_madvise_modify()); file-backed private mappings, such
 * as the RELRO pages the loader mapped from the ELF file, may be discarded,
 * and their relocated contents then read back from the file. This program
 * checks, on the running kernel, each in a forked child:
 *
 *   file-relro         RELRO as the loader left it (private file mapping),
 *                      sealed, then DONTNEED: expected 0, pointer reverts
 *   anon-copy          an anonymous page, a copy of RELRO written in it,
 *                      mprotect(PROT_READ), mseal, DONTNEED: expected EPERM
 *   anon-relro-inplace RELRO replaced in place by an anonymous copy
 *                      (mmap anon, copy, mprotect R, mremap MAYMOVE|FIXED onto
 *                      RELRO), sealed, DONTNEED: expected EPERM, pointer kept
 *   low-reservation    a sealed PROT_NONE reservation of 64 KiB..4 MiB (where
 *                      unrelocated offsets point), then mmap(MAP_FIXED, RWX)
 *                      into it: expected EPERM
 *
 * Output: "PROBE <tab> id <tab> OK|ERRNO <tab> detail". Exit 0 when every
 * expectation holds, 1 when one does not, 77 when mseal is unavailable.
 * Not a preload change: only the measurement behind the documentation.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __x86_64__
#error "x86-64 only (inline system calls)"
#endif

#define SYS_MSEAL 462

static void target(void) {}
#define N 1024 /* 8 KiB: RELRO holds at least one whole page of these */
static void (*const table[N])(void) = {[0 ... N - 1] = target};

static uintptr_t g_page, relro_start, relro_end;

/* A system call without libc: after the discard the GOT is unrelocated. */
static long raw3(long n, long a1, long a2, long a3) {
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a1), "S"(a2), "d"(a3)
                   : "rcx", "r11", "memory");
  return ret;
}

static int find_relro(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0') return 0; /* the program only */
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_GNU_RELRO) continue;
    relro_start = (info->dlpi_addr + ph->p_vaddr) & ~(g_page - 1);
    relro_end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(g_page - 1);
  }
  return 1;
}

static const char* name(int e) {
  switch (e) {
    case 0:
      return "OK";
    case EPERM:
      return "EPERM";
    case EINVAL:
      return "EINVAL";
    case ENOMEM:
      return "ENOMEM";
    case ENOSYS:
      return "ENOSYS";
    default:
      return "other";
  }
}

/* The result of one probe, from a child: {errno of madvise or -1 if setup
 * failed, pointer before, pointer after}. */
typedef struct {
  int err;
  int setup_errno;
  uintptr_t before, after;
} outcome;

static const volatile uintptr_t* entry(void) {
  for (size_t i = 0; i < N; ++i)
    if ((uintptr_t)&table[i] >= relro_start && (uintptr_t)&table[i] + 8 <= relro_end)
      return (const volatile uintptr_t*)&table[i];
  return NULL;
}

static outcome probe_file_relro(void) {
  outcome o = {0, 0, 0, 0};
  const volatile uintptr_t* e = entry();
  o.before = *e;
  if (syscall(SYS_MSEAL, relro_start, relro_end - relro_start, 0) != 0) {
    o.err = -1;
    o.setup_errno = errno;
    return o;
  }
  o.err = madvise((void*)relro_start, relro_end - relro_start, MADV_DONTNEED) == 0 ? 0 : errno;
  o.after = *e;
  return o;
}

static outcome probe_anon_copy(void) {
  outcome o = {0, 0, 0, 0};
  const size_t len = relro_end - relro_start;
  uintptr_t* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    o.err = -1;
    o.setup_errno = errno;
    return o;
  }
  memcpy(p, (const void*)relro_start, len);
  const size_t idx = (size_t)((uintptr_t)entry() - relro_start) / sizeof(uintptr_t);
  o.before = p[idx];
  if (mprotect(p, len, PROT_READ) != 0 || syscall(SYS_MSEAL, p, len, 0) != 0) {
    o.err = -1;
    o.setup_errno = errno;
    return o;
  }
  o.err = madvise(p, len, MADV_DONTNEED) == 0 ? 0 : errno;
  o.after = ((const volatile uintptr_t*)p)[idx];
  return o;
}

static outcome probe_anon_inplace(void) {
  outcome o = {0, 0, 0, 0};
  const size_t len = relro_end - relro_start;
  const volatile uintptr_t* e = entry();
  o.before = *e;
  void* tmp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (tmp == MAP_FAILED) {
    o.err = -1;
    o.setup_errno = errno;
    return o;
  }
  memcpy(tmp, (const void*)relro_start, len);
  /* mremap onto RELRO replaces the file pages atomically: no instant where
   * the GOT is missing or holds anything but its relocated values. */
  if (mprotect(tmp, len, PROT_READ) != 0 ||
      mremap(tmp, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void*)relro_start) == MAP_FAILED ||
      syscall(SYS_MSEAL, relro_start, len, 0) != 0) {
    o.err = -1;
    o.setup_errno = errno;
    return o;
  }
  o.err = madvise((void*)relro_start, len, MADV_DONTNEED) == 0 ? 0 : errno;
  o.after = *e;
  return o;
}

/* The other countermeasure: the reverted pointers are unrelocated offsets,
 * small addresses; a sealed PROT_NONE reservation there leaves an attacker
 * nowhere to map code for them (they crash instead). */
#define LOW_START ((uintptr_t)0x10000)
#define LOW_END ((uintptr_t)0x400000)
static outcome probe_low_reservation(void) {
  outcome o = {0, 0, 0, 0};
  void* r = mmap((void*)LOW_START, LOW_END - LOW_START, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
  if (r == MAP_FAILED || syscall(SYS_MSEAL, r, LOW_END - LOW_START, 0) != 0) {
    o.err = -1;
    o.setup_errno = errno;
    return o;
  }
  void* m = mmap((void*)(LOW_START + 0x20000), g_page, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  o.err = m == MAP_FAILED ? errno : 0;
  return o;
}

static int run(const char* id, outcome (*fn)(void), int want_err, int want_reverted) {
  int fds[2];
  if (pipe(fds) != 0) return 0;
  fflush(NULL);
  const pid_t pid = fork();
  if (pid == 0) {
    const outcome o = fn();
    /* After a discard of the program's own RELRO, its GOT is unrelocated:
     * no libc calls from here on. */
    raw3(SYS_write, fds[1], (long)&o, sizeof o);
    for (;;) raw3(SYS_exit_group, 0, 0, 0);
  }
  close(fds[1]);
  outcome o;
  const ssize_t n = read(fds[0], &o, sizeof o);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (n != (ssize_t)sizeof o) {
    printf("PROBE\t%s\tCRASH\tstatus=%#x\n", id, status);
    return 0;
  }
  if (o.err == -1) {
    printf("PROBE\t%s\tSETUP-FAILED\t%s\n", id, strerror(o.setup_errno));
    return 0;
  }
  const int reverted = o.after != o.before;
  printf("PROBE\t%s\t%s\tbefore=%#lx after=%#lx %s\n", id, name(o.err), (unsigned long)o.before,
         (unsigned long)o.after, reverted ? "contents-reverted" : "contents-kept");
  return o.err == want_err && reverted == want_reverted;
}

int main(void) {
  g_page = (uintptr_t)sysconf(_SC_PAGESIZE);
  void* probe = mmap(NULL, g_page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (probe == MAP_FAILED || syscall(SYS_MSEAL, probe, g_page, 0) != 0) {
    printf("SKIP: mseal(2) is not available here (%s)\n", strerror(errno));
    return 77;
  }
  dl_iterate_phdr(find_relro, NULL);
  if (relro_end <= relro_start || entry() == NULL) {
    printf(
        "FAIL: no whole page of RELRO holding the pointer table (link with -z relro -z now, as "
        "PIE)\n");
    return 1;
  }
  int ok = 1;
  ok &= run("file-relro", probe_file_relro, 0, 1);
  ok &= run("anon-copy", probe_anon_copy, EPERM, 0);
  ok &= run("anon-relro-inplace", probe_anon_inplace, EPERM, 0);
  ok &= run("low-reservation", probe_low_reservation, EPERM, 0);
  printf("%s\n", ok ? "RESULT: all as expected" : "RESULT: an expectation failed");
  return ok ? 0 : 1;
}
