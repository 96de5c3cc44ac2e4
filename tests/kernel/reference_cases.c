/*
 * reference_cases.c: the 22 reference cases of section 9 of
 * shared/reference/linux-6.18-mseal.md, run on the real kernel.
 *
 * Build: gcc -O1 -Wall -o reference_cases reference_cases.c
 * Run:   ./reference_cases > out.txt    (exit 0; 77 = SKIP, see below)
 * Check: tests/kernel/run_probe.sh reference_cases diffs the output against
 *        tests/data/reference_cases.expected.
 *
 * Every memory-management and IPC call goes through raw syscall(); libc is
 * used only for snprintf/strcmp-style helpers, sigaction/sigsetjmp (case 22)
 * and _exit. Output is written with write(2) from static buffers, so nothing
 * calls malloc (no brk, no mmap behind our back).
 *
 * ---------------------------------------------------------------------------
 * Output notation: one line per observation
 *
 *   <case-id>.<step>: ret=<r> layout=<layout>
 *   <case-id>.<step>: data=<d0>,<d1>,...
 *
 *   case-id  c1 .. c22, the row number of the section 9 table.
 *   step     1, 2, ... one per call of the case, printed after the call.
 *   ret      0 or a positive number as returned; ERRNAME (EPERM, ENOMEM, ...)
 *            when the call failed; for calls that return an address (mmap,
 *            mremap, brk, shmat) "@<n>" = base + n pages (negative n allowed);
 *            for the memory touch of case 22 "0" (no fault) or "SIGSEGV".
 *   layout   the VMAs inside [base, base + N pages), read from
 *            /proc/self/smaps, each as [<startpage>-<endpage> <perms> <flags>]:
 *              pages   relative to base, end exclusive;
 *              perms   exactly as /proc/self/maps prints them (r--p, rw-s ...);
 *              flags   the smaps VmFlags mnemonics in the kernel's order,
 *                      minus rd wr ex sh mr mw me ms (implied by perms and the
 *                      mapping mode); nothing after perms when none remain.
 *            e.g. [0-2 rw-p ac][2-4 r--p sl]. Empty layout: "layout=".
 *            A VMA that crosses the window edge is clipped to it (only
 *            possible for case 19, whose window starts at the initial break).
 *   data     one entry per page of the window: 0 = the page reads as zero,
 *            X = the page kept the data written by the setup.
 *
 * Each case runs in its own forked child on a fresh private region of N pages
 * (N depends on the case) bracketed by two 1-page PROT_EXEC guard VMAs, so no
 * VMA of the case can merge with anything outside. The interior starts
 * unmapped and the setup builds it with MAP_FIXED (no page is touched unless
 * the case says so). "r" = PROT_READ, "rw" = PROT_READ|PROT_WRITE, "sl" =
 * sealed; "PS" = page size; all layouts of the table use page indices.
 *
 * Cases (setup -> calls; what they show):
 *  c1  [0-4 r]; mseal(b,4PS,flags=1), mseal(b+1,PS), mseal(b,0),
 *      mseal(b,-1), mseal(b,2^64-b): argument validation order (EINVAL for
 *      flags / unaligned / len rounding to 0 / wrap; len 0 -> 0).
 *  c2  [0-2 r][hole][3-5 rw]; mseal(0..5), mseal(2..4), mseal(3..6): any hole
 *      in the range -> ENOMEM with nothing sealed.
 *  c3  [0-4 r]; mseal(b,1): len rounds up to one page, the VMA is split.
 *  c4  [0-4 r][4-6 r sl]; munmap(2..6): EPERM, but the unsealed first VMA
 *      stays split at 2 (leftover split).
 *  c5  [0-2 r sl][2-6 r]; munmap(1..4): EPERM, the sealed first VMA is not
 *      split, nothing changes.
 *  c6  [0-2 r][2-4 r sl]; mprotect(0..4,rw): EPERM, first VMA already rw.
 *  c7  [0-2 r][hole][3-5 r sl]; mprotect(0..5,rw): the hole is found first
 *      -> ENOMEM, the first VMA already rw.
 *  c8  [0-4 r sl]; mprotect(0..4,r): EPERM even though nothing would change.
 *  c9  [0-4 r, data][2-4 sealed]; madvise(0..4,DONTNEED): EPERM, pages 0-1
 *      already zapped, 2-3 keep their data (step 2 is the data check).
 *  c10 memfd MAP_PRIVATE r [0-4], sealed; madvise DONTNEED: 0 (file-backed).
 *  c11 /dev/zero MAP_PRIVATE r [0-4], sealed; madvise DONTNEED: EPERM
 *      (counts as anonymous in 6.17+).
 *  c12 [0-2 rw][2-4 r sl]; mremap(0,4PS,4PS,MAYMOVE|FIXED,b+8PS): multi-VMA
 *      move stops at the sealed VMA, EPERM, the rw part is already at 8-10.
 *  c13 [0-2 rw][4-6 rw][6-8 r sl]; mremap(0,2PS,4PS,MAYMOVE|FIXED,b+5PS):
 *      the target overlaps a sealed VMA, EPERM, the target's first VMA is
 *      left split at 5, the source stays.
 *  c14 sealed [0-4 r]; madvise(1..2,DONTDUMP) then madvise(1..2,DODUMP):
 *      non-discard advice splits a sealed VMA, and the pieces re-merge.
 *  c15 sealed [0-4 r]; mlock(1..3) then munlock(1..3): same with lo.
 *  c16 sealed [0-4 rw]; mmap [4-6 rw] (no merge: flags differ), then
 *      mseal(4..6): merges into one sealed VMA.
 *  c17 How anon_vma state drives merging (faults made with
 *      MADV_POPULATE_WRITE). A: [0-2 rw] unfaulted, [3-5 rw] faulted; mmap
 *      the hole [2-3 rw] (step 1), mseal(0..5) (step 2): one anon_vma is NULL,
 *      so everything merges into one VMA. B: [8-10 rw] and [11-13 rw] both
 *      faulted (different anon_vmas); mmap the hole [10-11 rw] (step 3),
 *      mseal(8..13) (step 4): the hole joins the left VMA only, and the two
 *      sealed VMAs with identical attributes stay separate.
 *  c18 [0-2 r sl][2-4 rw][4-6 r, MADV_DONTFORK, sl]; fork; the child calls
 *      munmap(0..2), mprotect(0..2,rw), madvise(0..2,DONTNEED) and prints
 *      its own layout: the seal is inherited, the dc VMA is absent.
 *  c19 window = [initial break, +8 pages); brk(+4), mseal(2..4), brk(+3)
 *      (shrink into the sealed page only), brk(+1) (shrink across the
 *      unsealed and the sealed VMA), brk(+6): shrink fails and returns the
 *      old break; growth makes a separate VMA.
 *  c20 shmget(IPC_PRIVATE, 4PS) attached at base (segment removed with
 *      IPC_RMID at once); mseal, shmdt, munmap: shmdt returns 0 and leaves
 *      the sealed mapping in place, munmap gives EPERM.
 *  c21 [0-2 r][2-6 rw], then 1-page mappings with alternating protections
 *      fill a separate reservation until map_count == vm.max_map_count;
 *      mseal(0..4): ENOMEM (Q cannot be split) but P1 = [0-2] is sealed.
 *      The filler is unmapped again before the layout is read.
 *  c22 N = 272, [264-268 rw MAP_GROWSDOWN] (261+ pages of gap above the lower
 *      guard, more than stack_guard_gap = 256 pages); mseal it, write a byte
 *      at page 261 (step 2 = the touch), munmap(261..262), mprotect(261..262,
 *      r): the sealed VMA grows down and the grown pages are sealed.
 *
 * Before the cases, the program checks that mseal works: ENOSYS (no mseal)
 * or EPERM on a fresh mapping (seccomp) prints "SKIP: <reason>" and exits 77.
 */
#include "probe.h"

/* ------------------------------------------------------------------- cases */

static void c1(void) {
  region(8);
  anon(0, 4, PROT_READ);
  obs_ret(x_mseal(P(0), 4 * PS, 1));
  obs_ret(x_mseal(P(0) + 1, PS, 0));
  obs_ret(x_mseal(P(0), 0, 0));
  obs_ret(x_mseal(P(0), (size_t)-1, 0));
  obs_ret(x_mseal(P(0), (size_t)0 - P(0), 0));
}

static void c2(void) {
  region(8);
  anon(0, 2, PROT_READ);
  anon(3, 5, PROT_READ | PROT_WRITE);
  obs_ret(x_mseal(P(0), 5 * PS, 0));
  obs_ret(x_mseal(P(2), 2 * PS, 0));
  obs_ret(x_mseal(P(3), 3 * PS, 0));
}

static void c3(void) {
  region(8);
  anon(0, 4, PROT_READ);
  obs_ret(x_mseal(P(0), 1, 0));
}

static void c4(void) {
  region(8);
  anon(0, 6, PROT_READ);
  OK(x_mseal(P(4), 2 * PS, 0));
  obs_ret(x_munmap(P(2), 4 * PS));
}

static void c5(void) {
  region(8);
  anon(0, 6, PROT_READ);
  OK(x_mseal(P(0), 2 * PS, 0));
  obs_ret(x_munmap(P(1), 3 * PS));
}

static void c6(void) {
  region(8);
  anon(0, 4, PROT_READ);
  OK(x_mseal(P(2), 2 * PS, 0));
  obs_ret(x_mprotect(P(0), 4 * PS, PROT_READ | PROT_WRITE));
}

static void c7(void) {
  region(8);
  anon(0, 2, PROT_READ);
  anon(3, 5, PROT_READ);
  OK(x_mseal(P(3), 2 * PS, 0));
  obs_ret(x_mprotect(P(0), 5 * PS, PROT_READ | PROT_WRITE));
}

static void c8(void) {
  region(8);
  anon(0, 4, PROT_READ);
  OK(x_mseal(P(0), 4 * PS, 0));
  obs_ret(x_mprotect(P(0), 4 * PS, PROT_READ));
}

static void data_line(long pages) {
  char b[256];
  size_t n = 0;
  for (long i = 0; i < pages; i++) {
    volatile unsigned char* p = (volatile unsigned char*)P(i);
    n += (size_t)snprintf(b + n, sizeof b - n, "%s%c", i ? "," : "", p[17] ? 'X' : '0');
  }
  step++;
  outf("%s.%d: data=%s\n", cur_case, step, b);
}

static void c9(void) {
  region(8);
  anon(0, 4, PROT_READ | PROT_WRITE);
  for (long i = 0; i < 4; i++) ((volatile unsigned char*)P(i))[17] = (unsigned char)(0xa0 + i);
  OK(x_mprotect(P(0), 4 * PS, PROT_READ));
  OK(x_mseal(P(2), 2 * PS, 0));
  obs_ret(x_madvise(P(0), 4 * PS, MADV_DONTNEED));
  data_line(4);
}

static void c10(void) {
  region(8);
  long fd = sc_ret(syscall(SYS_memfd_create, "c10", 0));
  CHECK(fd, fd >= 0);
  OK(sc_ret(syscall(SYS_ftruncate, fd, 4 * PS)));
  CHECK(x_mmap(P(0), 4 * PS, PROT_READ, MAP_PRIVATE | MAP_FIXED, (int)fd, 0), r_ == (long)P(0));
  OK(x_mseal(P(0), 4 * PS, 0));
  obs_ret(x_madvise(P(0), 4 * PS, MADV_DONTNEED));
}

static void c11(void) {
  region(8);
  long fd = x_open("/dev/zero", O_RDONLY);
  CHECK(fd, fd >= 0);
  CHECK(x_mmap(P(0), 4 * PS, PROT_READ, MAP_PRIVATE | MAP_FIXED, (int)fd, 0), r_ == (long)P(0));
  OK(x_mseal(P(0), 4 * PS, 0));
  obs_ret(x_madvise(P(0), 4 * PS, MADV_DONTNEED));
}

static void c12(void) {
  region(12);
  anon(0, 2, PROT_READ | PROT_WRITE);
  anon(2, 4, PROT_READ);
  OK(x_mseal(P(2), 2 * PS, 0));
  obs_addr(x_mremap(P(0), 4 * PS, 4 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, P(8)));
}

static void c13(void) {
  region(10);
  anon(0, 2, PROT_READ | PROT_WRITE);
  anon(4, 6, PROT_READ | PROT_WRITE);
  anon(6, 8, PROT_READ);
  OK(x_mseal(P(6), 2 * PS, 0));
  obs_addr(x_mremap(P(0), 2 * PS, 4 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, P(5)));
}

static void c14(void) {
  region(8);
  anon(0, 4, PROT_READ);
  OK(x_mseal(P(0), 4 * PS, 0));
  obs_ret(x_madvise(P(1), PS, MADV_DONTDUMP));
  obs_ret(x_madvise(P(1), PS, MADV_DODUMP));
}

static void c15(void) {
  region(8);
  anon(0, 4, PROT_READ);
  OK(x_mseal(P(0), 4 * PS, 0));
  obs_ret(x_mlock(P(1), 2 * PS));
  obs_ret(x_munlock(P(1), 2 * PS));
}

static void c16(void) {
  region(8);
  anon(0, 4, PROT_READ | PROT_WRITE);
  OK(x_mseal(P(0), 4 * PS, 0));
  obs_addr(
      x_mmap(P(4), 2 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  obs_ret(x_mseal(P(4), 2 * PS, 0));
}

static void c17(void) {
  region(16);
  /* A: unfaulted [0-2 rw], faulted [3-5 rw] */
  anon(0, 2, PROT_READ | PROT_WRITE);
  anon(3, 5, PROT_READ | PROT_WRITE);
  OK(x_madvise(P(3), 2 * PS, MADV_POPULATE_WRITE));
  /* B: faulted [8-10 rw], faulted [11-13 rw] (two different anon_vmas) */
  anon(8, 10, PROT_READ | PROT_WRITE);
  anon(11, 13, PROT_READ | PROT_WRITE);
  OK(x_madvise(P(8), 2 * PS, MADV_POPULATE_WRITE));
  OK(x_madvise(P(11), 2 * PS, MADV_POPULATE_WRITE));
  obs_addr(
      x_mmap(P(2), PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  obs_ret(x_mseal(P(0), 5 * PS, 0));
  obs_addr(
      x_mmap(P(10), PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  obs_ret(x_mseal(P(8), 5 * PS, 0));
}

static void c18(void) {
  region(8);
  anon(0, 2, PROT_READ);
  anon(2, 4, PROT_READ | PROT_WRITE);
  anon(4, 6, PROT_READ);
  OK(x_madvise(P(4), 2 * PS, MADV_DONTFORK));
  OK(x_mseal(P(0), 2 * PS, 0));
  OK(x_mseal(P(4), 2 * PS, 0));
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) {
    obs_ret(x_munmap(P(0), 2 * PS));
    obs_ret(x_mprotect(P(0), 2 * PS, PROT_READ | PROT_WRITE));
    obs_ret(x_madvise(P(0), 2 * PS, MADV_DONTNEED));
    _exit(0);
  }
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: forked child failed (status 0x%x)\n", cur_case, st);
}

static void c19(void) {
  uintptr_t b0 = (uintptr_t)x_brk(0);
  base = (b0 + PS - 1) & ~(PS - 1);
  npages = 8;
  if (base != b0) { /* page-align the break first */
    CHECK(x_brk(base), r_ == (long)base);
  }
  obs_addr(x_brk(P(4)));
  obs_ret(x_mseal(P(2), 2 * PS, 0));
  obs_addr(x_brk(P(3)));
  obs_addr(x_brk(P(1)));
  obs_addr(x_brk(P(6)));
}

static void c20(void) {
  region(8);
  long id = sc_ret(syscall(SYS_shmget, IPC_PRIVATE, 4 * PS, IPC_CREAT | 0600));
  CHECK(id, id >= 0);
  long a = sc_ret(syscall(SYS_shmat, id, P(0), 0));
  long rm = sc_ret(syscall(SYS_shmctl, id, IPC_RMID, NULL));
  CHECK(a, a == (long)P(0));
  OK(rm);
  obs_ret(x_mseal(P(0), 4 * PS, 0));
  obs_ret(sc_ret(syscall(SYS_shmdt, P(0))));
  obs_ret(x_munmap(P(0), 4 * PS));
}

static void c21(void) {
  char buf[64] = {0};
  long fd = x_open("/proc/sys/vm/max_map_count", O_RDONLY);
  CHECK(fd, fd >= 0);
  syscall(SYS_read, fd, buf, sizeof buf - 1);
  x_close((int)fd);
  long maxmap = 0;
  sscanf(buf, "%ld", &maxmap);
  if (maxmap <= 0 || maxmap > 1000000) {
    outf("%s: skipped (vm.max_map_count = %ld)\n", cur_case, maxmap);
    return;
  }
  /* Filler reservation first, so that no mapping lands in the window. */
  size_t fpages = (size_t)maxmap + 64;
  long f = x_mmap(0, fpages * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  CHECK(f, f >= 0);
  region(8);
  anon(0, 2, PROT_READ);
  anon(2, 6, PROT_READ | PROT_WRITE);
  /* Each 1-page MAP_FIXED at the start of the remaining reservation adds
   * one VMA (it splits the reservation); stop when the split fails. */
  size_t i;
  long r = 0;
  for (i = 0; i < fpages - 1; i++) {
    int prot = (i & 1) ? PROT_EXEC : PROT_READ;
    r = x_mmap((uintptr_t)f + i * PS, PS, prot,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    if (r < 0) break;
  }
  if (r != -ENOMEM) fail(__LINE__, "fill to max_map_count", r);
  long ret = x_mseal(P(0), 4 * PS, 0);
  OK(x_munmap((uintptr_t)f, fpages * PS));
  obs_ret(ret);
}

static sigjmp_buf segv_jmp;
static void on_segv(int sig) {
  (void)sig;
  siglongjmp(segv_jmp, 1);
}

static void c22(void) {
  region(272);
  CHECK(x_mmap(P(264), 4 * PS, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_GROWSDOWN, -1, 0),
        r_ == (long)P(264));
  obs_ret(x_mseal(P(264), 4 * PS, 0));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_segv;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  if (sigsetjmp(segv_jmp, 1) == 0) {
    ((volatile char*)P(261))[0] = 1;
    obs("0");
  } else {
    obs("SIGSEGV");
  }
  obs_ret(x_munmap(P(261), PS));
  obs_ret(x_mprotect(P(261), PS, PROT_READ));
}

/* -------------------------------------------------------------------- main */

static const struct tcase cases[] = {
    {"c1", c1},   {"c2", c2},   {"c3", c3},   {"c4", c4},   {"c5", c5},   {"c6", c6},
    {"c7", c7},   {"c8", c8},   {"c9", c9},   {"c10", c10}, {"c11", c11}, {"c12", c12},
    {"c13", c13}, {"c14", c14}, {"c15", c15}, {"c16", c16}, {"c17", c17}, {"c18", c18},
    {"c19", c19}, {"c20", c20}, {"c21", c21}, {"c22", c22},
};

int main(int argc, char** argv) {
  int rc = probe_mseal();
  if (rc) return rc;
  return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
