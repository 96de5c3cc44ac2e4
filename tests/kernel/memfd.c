/*
 * memfd.c: what a file's own state decides about the memory calls on the
 * real kernel, case by case, in the notation of reference_cases.c
 * (tests/kernel/probe.h): memfd seals (memfd_create(2), fcntl(2)
 * F_ADD_SEALS/F_GET_SEALS, mm/memfd.c), memfd_secret(2) (mm/secretmem.c) and
 * hugetlb files on a machine whose hugetlb pool is empty.
 *
 * Build: gcc -O1 -Wall -o memfd memfd.c
 * Check: tests/kernel/run_probe.sh memfd (diffs against
 *        tests/data/memfd.expected; tests/engine/memfd_test.cpp replays the
 *        same cases in the engine against the same file).
 * Exit 77 (SKIP) when mseal is missing or vm.memfd_noexec is not 0 (it
 * decides the seals of memfd_create(2) without MFD_EXEC/MFD_NOEXEC_SEAL).
 * Cases the machine cannot run print "ID: skipped (reason)": the s-cases
 * without memfd_secret(2), the h-cases when the hugetlb pool is not empty,
 * h2 unless root (shmget(SHM_HUGETLB) outside vm.hugetlb_shm_group is EPERM).
 *
 * A file descriptor result is printed as "fd" (its number is the lowest free
 * one, which the engine replay does not track), a seal set as a number.
 *
 * Cases (each in its own forked child):
 *  f1  memfd_create flags and the seals they give; F_ADD_SEALS/F_GET_SEALS
 *      errors: unknown flags, EXEC with NOEXEC_SEAL, a read-only open (EPERM
 *      before EINVAL), /dev/zero (EINVAL), F_SEAL_SEAL, the upper 32 bits of
 *      the argument (ignored).
 *  f2  F_SEAL_WRITE: EBUSY while any shared mapping that may write exists
 *      (read-only ones too); once set, MAP_SHARED|PROT_WRITE is EPERM (MAP_FIXED
 *      unmaps nothing), a read-only shared mapping has no VM_MAYWRITE
 *      (mprotect(PROT_WRITE) EACCES, MADV_REMOVE EACCES) but may gain exec, and
 *      MAP_PRIVATE stays writable.
 *  f3  F_SEAL_FUTURE_WRITE: no EBUSY; the old writable mapping keeps VM_MAYWRITE
 *      (mprotect back to writable is fine) but MADV_REMOVE on it is EPERM;
 *      F_SEAL_WRITE on top is EBUSY until it is gone.
 *  f4  the writable mapping of a forked child counts (EBUSY after the parent
 *      unmapped its own); one the child did not get (MADV_DONTFORK) does not.
 *  f5  ftruncate and F_SEAL_SHRINK/GROW: pages beyond the end of the file
 *      cannot be populated (EFAULT); mm itself never looks at SHRINK/GROW.
 *  f6  F_SEAL_EXEC: on an executable memfd it implies the write seals (and so
 *      EBUSY with a writable mapping); exec mappings are not refused;
 *      MFD_NOEXEC_SEAL gives F_SEAL_EXEC alone.
 *  s1  memfd_secret: flags; ftruncate once; MAP_PRIVATE EINVAL (MAP_FIXED
 *      unmaps nothing); noexec (PROT_EXEC EPERM, no VM_MAYEXEC); the mapping is
 *      VM_LOCKED|VM_DONTDUMP; no seals.
 *  s2  memfd_secret and the lock calls: mlock/mlock2 ENOMEM (its pages cannot
 *      be pinned), munlock/munlockall leave it locked; madvise; mremap; mseal.
 *  s3  memfd_secret and fork: the child's copy is not locked and cannot be;
 *      MADV_REMOVE of it is EOPNOTSUPP (secretmem has no fallocate).
 *  s4  memfd_secret counts against RLIMIT_MEMLOCK (EAGAIN without
 *      CAP_IPC_LOCK).
 *  h1  hugetlb with an empty pool: MAP_HUGETLB and hugetlbfs memfds need
 *      MAP_NORESERVE; the length is rounded up to 2 MiB; unaligned MAP_FIXED and
 *      splits are EINVAL; F_SEAL_WRITE sees their writable mappings.
 *  h2  shmget(SHM_HUGETLB) with an empty pool: ENOMEM, with SHM_NORESERVE a
 *      segment (root only).
 */
#include "probe.h"

#include <linux/capability.h>
#include <sys/resource.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034
#endif
#ifndef F_SEAL_SEAL
#define F_SEAL_SEAL 0x0001
#define F_SEAL_SHRINK 0x0002
#define F_SEAL_GROW 0x0004
#define F_SEAL_WRITE 0x0008
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#define MFD_ALLOW_SEALING 0x0002U
#define MFD_HUGETLB 0x0004U
#endif
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#define MFD_EXEC 0x0010U
#endif
#ifndef SYS_memfd_create
#define SYS_memfd_create 319
#endif
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef SHM_HUGETLB
#define SHM_HUGETLB 04000
#endif
#ifndef SHM_NORESERVE
#define SHM_NORESERVE 010000
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

#define R PROT_READ
#define RW (PROT_READ | PROT_WRITE)
#define RX (PROT_READ | PROT_EXEC)
#define SHARED_FIXED (MAP_SHARED | MAP_FIXED)
#define PRIVATE_FIXED (MAP_PRIVATE | MAP_FIXED)
#define HUGE (2UL << 20)

static long x_memfd(const char* name, unsigned flags) {
  return sc_ret(syscall(SYS_memfd_create, name, flags));
}
static long x_secret(unsigned long flags) { return sc_ret(syscall(SYS_memfd_secret, flags)); }
static long x_fcntl(long fd, long cmd, unsigned long arg) {
  return sc_ret(syscall(SYS_fcntl, fd, cmd, arg));
}
static long x_ftruncate(long fd, long len) { return sc_ret(syscall(SYS_ftruncate, fd, len)); }
static long add_seals(long fd, unsigned long seals) { return x_fcntl(fd, F_ADD_SEALS, seals); }
static long get_seals(long fd) { return x_fcntl(fd, F_GET_SEALS, 0); }
static long map_file(long page, long n, int prot, int flags, long fd, long off_pages) {
  return x_mmap(P(page), (size_t)n * PS, prot, flags, (int)fd, off_pages * (long)PS);
}

/* A file descriptor: "fd", or the errno. */
static void obs_fd(long r) { obs(r >= 0 ? "fd" : fmt_ret(r)); }

/* A new memfd (CHECKed), `pages` long. */
static long memfd(unsigned flags, long pages) {
  long fd = x_memfd("probe", flags);
  CHECK(fd, r_ >= 0);
  OK(x_ftruncate(fd, pages * (long)PS));
  return fd;
}

/* The memfd opened again through /proc/self/fd, read-only: another open file
 * of the same inode. */
static long reopen_ro(long fd) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
  long r = x_open(path, O_RDONLY);
  CHECK(r, r_ >= 0);
  return r;
}

/* A small number from a /proc/sys file, -1 if unreadable. */
static long read_number(const char* path) {
  static char b[64];
  long fd = x_open(path, O_RDONLY);
  if (fd < 0) return -1;
  long n = syscall(SYS_read, fd, b, sizeof b - 1);
  x_close((int)fd);
  if (n <= 0) return -1;
  b[n] = 0;
  return strtol(b, NULL, 10);
}

static int skipped(const char* why) {
  if (!why) return 0;
  outf("%s: skipped (%s)\n", cur_case, why);
  return 1;
}

/* ------------------------------------------------------------------ memfd */

static void f1(void) {
  region(2);
  long fd = x_memfd("f1", 0);
  obs_fd(fd);
  obs_ret(get_seals(fd));               /* born with F_SEAL_SEAL */
  obs_ret(add_seals(fd, F_SEAL_WRITE)); /* EPERM */
  long sealing = x_memfd("f1", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  obs_fd(sealing);
  obs_ret(get_seals(sealing));
  obs_fd(x_memfd("f1", MFD_EXEC | MFD_NOEXEC_SEAL));
  obs_fd(x_memfd("f1", 0x100));
  obs_fd(x_memfd("f1", 21U << 26)); /* a huge page size without MFD_HUGETLB */
  obs_ret(get_seals(x_memfd("f1", MFD_NOEXEC_SEAL)));
  obs_ret(get_seals(x_memfd("f1", MFD_EXEC | MFD_ALLOW_SEALING)));
  obs_ret(add_seals(sealing, 0x100)); /* unknown seal */
  obs_ret(add_seals(sealing, (1UL << 32) | F_SEAL_SHRINK));
  obs_ret(get_seals(sealing));
  long ro = reopen_ro(sealing);
  obs_ret(add_seals(ro, 0x100)); /* FMODE_WRITE before the seal bits */
  obs_ret(get_seals(ro));
  obs_ret(add_seals(sealing, 0));
  obs_ret(add_seals(sealing, F_SEAL_SEAL));
  obs_ret(add_seals(sealing, 0));
  obs_ret(add_seals(sealing, 0x100));
  obs_ret(get_seals(sealing));
  long zero = x_open("/dev/zero", O_RDWR);
  obs_ret(add_seals(zero, F_SEAL_WRITE));
  obs_ret(get_seals(zero));
  obs_ret(x_fcntl(sealing, F_GET_SEALS + 100, 0));
  obs_ret(add_seals(1000, F_SEAL_WRITE));
}

static void f2(void) {
  region(8);
  long fd = memfd(MFD_ALLOW_SEALING, 8);
  CHECK(map_file(0, 2, R, SHARED_FIXED, fd, 0), r_ == (long)P(0));
  obs_ret(add_seals(fd, F_SEAL_WRITE)); /* a read-only shared mapping may write */
  OK(x_munmap(P(0), 2 * PS));
  CHECK(map_file(2, 2, RW, PRIVATE_FIXED, fd, 0), r_ == (long)P(2));
  obs_ret(add_seals(fd, F_SEAL_WRITE)); /* a private one does not */
  obs_addr(map_file(0, 2, RW, MAP_SHARED, fd, 0));
  obs_addr(map_file(0, 2, R, SHARED_FIXED, fd, 0));
  obs_addr(map_file(0, 2, RW, SHARED_FIXED, fd, 0)); /* nothing unmapped */
  obs_ret(x_mprotect(P(0), 2 * PS, RW));
  obs_ret(x_mprotect(P(0), PS, RX));
  obs_ret(x_madvise(P(0), PS, MADV_REMOVE));
  obs_ret(x_mprotect(P(2), PS, R));
  obs_ret(x_mprotect(P(2), PS, RW));
  obs_addr(map_file(4, 2, RW, MAP_SHARED_VALIDATE | MAP_FIXED, fd, 0));
  long ro = reopen_ro(fd);
  obs_addr(map_file(4, 2, R, SHARED_FIXED, ro, 0));
  obs_ret(x_mprotect(P(4), 2 * PS, RW));
  obs_ret(get_seals(fd));
}

static void f3(void) {
  region(8);
  long fd = memfd(MFD_ALLOW_SEALING, 8);
  CHECK(map_file(0, 2, RW, SHARED_FIXED, fd, 0), r_ == (long)P(0));
  obs_ret(add_seals(fd, F_SEAL_FUTURE_WRITE));
  obs_ret(x_mprotect(P(0), 2 * PS, R));
  obs_ret(x_mprotect(P(0), 2 * PS, RW));
  obs_ret(x_madvise(P(0), PS, MADV_REMOVE));
  obs_addr(map_file(2, 2, RW, SHARED_FIXED, fd, 0));
  obs_addr(map_file(2, 2, R, SHARED_FIXED, fd, 2));
  obs_ret(x_mprotect(P(2), 2 * PS, RW));
  obs_ret(add_seals(fd, F_SEAL_WRITE));
  OK(x_munmap(P(0), 2 * PS));
  obs_ret(add_seals(fd, F_SEAL_WRITE));
  obs_ret(get_seals(fd));
}

static void f4(void) {
  region(8);
  long fd = memfd(MFD_ALLOW_SEALING, 8);
  CHECK(map_file(0, 2, RW, SHARED_FIXED, fd, 0), r_ == (long)P(0));
  CHECK(map_file(4, 2, RW, SHARED_FIXED, fd, 4), r_ == (long)P(4));
  OK(x_madvise(P(4), 2 * PS, MADV_DONTFORK));
  int go[2], done[2];
  CHECK(syscall(SYS_pipe2, go, 0), r_ == 0);
  CHECK(syscall(SYS_pipe2, done, 0), r_ == 0);
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) { /* keeps its copy of P(0) until the parent has looked */
    char c;
    syscall(SYS_read, go[0], &c, 1);
    OK(x_munmap(P(0), 2 * PS));
    syscall(SYS_write, done[1], "d", 1);
    _exit(0);
  }
  OK(x_munmap(P(0), 2 * PS));
  obs_ret(add_seals(fd, F_SEAL_WRITE)); /* the child's copy, and P(4) */
  OK(x_munmap(P(4), 2 * PS));
  obs_ret(add_seals(fd, F_SEAL_WRITE)); /* the child's copy */
  syscall(SYS_write, go[1], "g", 1);
  char c;
  syscall(SYS_read, done[0], &c, 1);
  obs_ret(add_seals(fd, F_SEAL_WRITE));
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: forked child failed (status 0x%x)\n", cur_case, st);
}

static void f5(void) {
  region(8);
  long fd = memfd(MFD_ALLOW_SEALING, 4);
  CHECK(map_file(0, 8, R, SHARED_FIXED, fd, 0), r_ == (long)P(0));
  obs_ret(x_madvise(P(0), 8 * PS, MADV_POPULATE_READ)); /* pages 4-7: beyond the end */
  obs_ret(x_ftruncate(fd, 8 * (long)PS));
  obs_ret(x_madvise(P(0), 8 * PS, MADV_POPULATE_READ));
  obs_ret(add_seals(fd, F_SEAL_SHRINK));
  obs_ret(x_ftruncate(fd, 2 * (long)PS));
  obs_ret(x_ftruncate(fd, 16 * (long)PS));
  obs_ret(add_seals(fd, F_SEAL_GROW));
  obs_ret(x_ftruncate(fd, 32 * (long)PS));
  obs_ret(x_ftruncate(fd, 16 * (long)PS));
  obs_addr(map_file(0, 8, R, SHARED_FIXED, fd, 30)); /* wholly beyond the end: mapped */
  obs_ret(x_madvise(P(0), PS, MADV_POPULATE_READ));
  obs_ret(x_ftruncate(fd, -1));
  obs_ret(x_ftruncate(reopen_ro(fd), 0));
  obs_ret(x_ftruncate(1000, 0));
}

static void f6(void) {
  region(8);
  long fd = memfd(MFD_EXEC | MFD_ALLOW_SEALING, 8);
  CHECK(map_file(0, 2, RW, SHARED_FIXED, fd, 0), r_ == (long)P(0));
  obs_ret(add_seals(fd, F_SEAL_EXEC)); /* implies F_SEAL_WRITE: EBUSY */
  obs_ret(get_seals(fd));
  OK(x_munmap(P(0), 2 * PS));
  obs_ret(add_seals(fd, F_SEAL_EXEC));
  obs_ret(get_seals(fd));
  obs_addr(map_file(0, 2, RW, SHARED_FIXED, fd, 0));
  obs_addr(map_file(0, 2, RX, SHARED_FIXED, fd, 0));
  long nx = memfd(MFD_NOEXEC_SEAL, 8);
  obs_ret(get_seals(nx));
  obs_addr(map_file(2, 2, RW | PROT_EXEC, SHARED_FIXED, nx, 0));
  obs_ret(add_seals(nx, F_SEAL_WRITE));
  obs_ret(add_seals(nx, F_SEAL_FUTURE_WRITE));
  obs_ret(get_seals(nx));
}

/* -------------------------------------------------------------- secretmem */

static const char* no_secretmem;

static long secret(long pages) {
  long fd = x_secret(0);
  CHECK(fd, r_ >= 0);
  OK(x_ftruncate(fd, pages * (long)PS));
  return fd;
}

static void s1(void) {
  if (skipped(no_secretmem)) return;
  region(8);
  obs_fd(x_secret(1));
  obs_fd(x_secret(O_CLOEXEC));
  long fd = x_secret(0);
  obs_fd(fd);
  obs_addr(map_file(0, 2, RW, SHARED_FIXED, fd, 0)); /* size 0: mapped all the same */
  obs_ret(x_ftruncate(fd, 8 * (long)PS));
  obs_ret(x_ftruncate(fd, 16 * (long)PS));
  obs_ret(x_ftruncate(fd, 8 * (long)PS));
  anon(4, 8, RW);
  obs_addr(map_file(5, 2, RW, PRIVATE_FIXED, fd, 0)); /* after the unmap's split */
  obs_addr(map_file(2, 2, RX, SHARED_FIXED, fd, 0));
  obs_addr(map_file(2, 2, R, SHARED_FIXED, fd, 2));
  obs_ret(x_mprotect(P(2), PS, RX));
  obs_ret(x_mprotect(P(2), PS, RW));
  obs_ret(get_seals(fd));
  obs_ret(add_seals(fd, F_SEAL_SEAL));
}

static void s2(void) {
  if (skipped(no_secretmem)) return;
  region(16);
  long fd = secret(16);
  CHECK(map_file(0, 4, RW, SHARED_FIXED, fd, 0), r_ == (long)P(0));
  obs_ret(x_mlock(P(0), PS));
  obs_ret(x_munlock(P(0), 4 * PS));
  obs_ret(sc_ret(syscall(SYS_mlock2, P(0), PS, MLOCK_ONFAULT)));
  obs_ret(sc_ret(syscall(SYS_munlockall)));
  obs_ret(sc_ret(syscall(SYS_mlockall, MCL_CURRENT)));
  OK(sc_ret(syscall(SYS_munlockall)));
  obs_addr(x_mremap(P(0), 4 * PS, 6 * PS, 0, 0)); /* grows in place */
  obs_addr(x_mremap(P(0), 6 * PS, 4 * PS, 0, 0));
  obs_ret(x_madvise(P(0), PS, MADV_DONTNEED));
  obs_ret(x_madvise(P(0), PS, MADV_DONTNEED_LOCKED));
  obs_ret(x_madvise(P(0), PS, MADV_REMOVE));
  obs_ret(x_madvise(P(0), PS, MADV_COLD));
  obs_ret(x_madvise(P(0), PS, MADV_POPULATE_READ));
  obs_ret(x_madvise(P(0), PS, MADV_WILLNEED));
  obs_ret(x_madvise(P(0), PS, MADV_WIPEONFORK));
  obs_ret(x_madvise(P(1), PS, MADV_DODUMP));
  obs_ret(x_madvise(P(3), PS, MADV_DONTFORK));
  obs_addr(x_mremap(P(0), 4 * PS, 6 * PS, 0, 0)); /* across VMAs: EFAULT */
  obs_addr(x_mremap(P(0), 2 * PS, 2 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, P(10)));
  obs_ret(x_mseal(P(10), 2 * PS, 0));
  obs_ret(x_munmap(P(10), PS));
}

static void s3(void) {
  if (skipped(no_secretmem)) return;
  region(4);
  long fd = secret(4);
  obs_addr(map_file(0, 4, RW, SHARED_FIXED, fd, 0));
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) {
    obs_ret(x_mlock(P(0), PS));
    obs_ret(x_mprotect(P(0), PS, R));
    obs_ret(x_madvise(P(1), PS, MADV_REMOVE)); /* unlocked: secretmem has no fallocate */
    _exit(0);
  }
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: forked child failed (status 0x%x)\n", cur_case, st);
}

static void s4(void) {
  if (skipped(no_secretmem)) return;
  region(8);
  long fd = secret(8);
  struct rlimit lim = {4 * PS, 4 * PS};
  OK(sc_ret(syscall(SYS_setrlimit, RLIMIT_MEMLOCK, &lim)));
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct none[2];
  memset(none, 0, sizeof none);
  OK(sc_ret(syscall(SYS_capset, &h, none))); /* no CAP_IPC_LOCK, root or not */
  obs_addr(map_file(0, 3, RW, SHARED_FIXED, fd, 0));
  obs_addr(map_file(3, 2, RW, SHARED_FIXED, fd, 3));
  obs_addr(map_file(3, 1, RW, SHARED_FIXED, fd, 3));
  obs_addr(x_mremap(P(3), PS, 2 * PS, 0, 0));
  obs_addr(map_file(3, 1, RW, SHARED_FIXED, fd, 3)); /* over itself: EAGAIN, a gap */
  OK(x_munmap(P(0), 4 * PS));
  obs_addr(map_file(0, 4, RW, SHARED_FIXED, fd, 0));
}

/* ---------------------------------------------------------------- hugetlb */

static const char* hugetlb_pool;

/* region(n) with a 2 MiB-aligned base, so that the page numbers of huge
 * mappings are the same on every run. */
static void region_huge(unsigned long n) {
  long r =
      x_mmap(0, (n + 2) * PS + HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (r < 0) fail(__LINE__, "reserve", r);
  base = ((uintptr_t)r + PS + HUGE - 1) & ~(HUGE - 1);
  npages = n;
  OK(x_munmap((uintptr_t)r, (n + 2) * PS + HUGE));
  CHECK(x_mmap(base - PS, PS, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
        r_ == (long)(base - PS));
  CHECK(x_mmap(P(n), PS, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
        r_ == (long)P(n));
}

#define HP 512 /* pages in a huge page */
#define ANON_HUGE (MAP_ANONYMOUS | MAP_HUGETLB)

static void h1(void) {
  if (skipped(hugetlb_pool)) return;
  region_huge(3 * HP);
  obs_addr(x_mmap(P(0), HUGE, RW, MAP_PRIVATE | ANON_HUGE | MAP_FIXED, -1, 0));
  obs_addr(x_mmap(P(0), PS, RW, MAP_SHARED | ANON_HUGE | MAP_FIXED, -1, 0));
  obs_addr(x_mmap(P(0), PS, RW, MAP_PRIVATE | ANON_HUGE | (14 << 26), -1, 0));
  obs_addr(x_mmap(P(0), PS, RW, MAP_PRIVATE | ANON_HUGE | MAP_NORESERVE | MAP_FIXED, -1, 0));
  obs_addr(x_mmap(P(HP + 1), PS, RW, MAP_SHARED | ANON_HUGE | MAP_NORESERVE | MAP_FIXED, -1, 0));
  obs_ret(x_munmap(P(1), PS));
  obs_ret(x_mprotect(P(0), PS, R));
  obs_ret(x_mprotect(P(0), HUGE, R));
  obs_fd(x_memfd("h1", MFD_HUGETLB | (14U << 26)));
  long fd = x_memfd("h1", MFD_HUGETLB | MFD_ALLOW_SEALING);
  obs_fd(fd);
  obs_ret(get_seals(fd));
  obs_ret(x_ftruncate(fd, PS));
  obs_ret(x_ftruncate(fd, HUGE));
  obs_addr(map_file(HP, 1, RW, SHARED_FIXED, fd, 0));
  obs_addr(map_file(HP, 1, RW, SHARED_FIXED | MAP_NORESERVE, fd, 0));
  obs_ret(add_seals(fd, F_SEAL_WRITE));
  obs_ret(x_munmap(P(HP), HUGE));
  obs_ret(add_seals(fd, F_SEAL_WRITE));
  obs_addr(map_file(HP, 1, RW, SHARED_FIXED | MAP_NORESERVE, fd, 0));
  obs_addr(map_file(HP, 1, R, SHARED_FIXED | MAP_NORESERVE, fd, 0));
  anon(2 * HP, 2 * HP + 4, RW);
  obs_addr(x_mmap(P(2 * HP), HUGE, RW, MAP_PRIVATE | ANON_HUGE | MAP_FIXED, -1, 0));
  anon(2 * HP, 2 * HP + 4, RW);
  obs_addr(map_file(2 * HP, 1, R, SHARED_FIXED, fd, 0));
}

/* shmget() is no memory call of the engine: its results are data lines. */
static void h2(void) {
  if (skipped(hugetlb_pool)) return;
  if (skipped(geteuid() != 0 ? "needs root: outside vm.hugetlb_shm_group it is EPERM" : NULL))
    return;
  long id = sc_ret(syscall(SYS_shmget, IPC_PRIVATE, HUGE, IPC_CREAT | SHM_HUGETLB | 0600));
  outf("%s.%d: data=shmget(SHM_HUGETLB) %s\n", cur_case, ++step, id >= 0 ? "id" : fmt_ret(id));
  if (id >= 0) syscall(SYS_shmctl, id, IPC_RMID, NULL);
  id = sc_ret(
      syscall(SYS_shmget, IPC_PRIVATE, HUGE, IPC_CREAT | SHM_HUGETLB | SHM_NORESERVE | 0600));
  outf("%s.%d: data=shmget(SHM_HUGETLB|SHM_NORESERVE) %s\n", cur_case, ++step,
       id >= 0 ? "id" : fmt_ret(id));
  if (id >= 0) syscall(SYS_shmctl, id, IPC_RMID, NULL);
}

static const struct tcase cases[] = {
    {"f1", f1}, {"f2", f2}, {"f3", f3}, {"f4", f4}, {"f5", f5}, {"f6", f6},
    {"s1", s1}, {"s2", s2}, {"s3", s3}, {"s4", s4}, {"h1", h1}, {"h2", h2},
};

int main(int argc, char** argv) {
  long noexec = read_number("/proc/sys/vm/memfd_noexec");
  if (noexec > 0) {
    outf("SKIP: vm.memfd_noexec is %ld (the cases expect 0)\n", noexec);
    return 77;
  }
  long probe = x_secret(0);
  if (probe == -ENOSYS)
    no_secretmem = "no memfd_secret(2): CONFIG_SECRETMEM off or secretmem.enable=0";
  else if (probe < 0)
    no_secretmem = "memfd_secret(2) fails";
  else
    x_close((int)probe);
  if (read_number("/proc/sys/vm/nr_hugepages") != 0 ||
      read_number("/proc/sys/vm/nr_overcommit_hugepages") != 0)
    hugetlb_pool = "the hugetlb pool is not empty (vm.nr_hugepages, vm.nr_overcommit_hugepages)";
  int rc = probe_mseal();
  if (rc) return rc;
  return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
