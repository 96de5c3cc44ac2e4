/*
 * reference_cases.c: the 22 reference cases of section 9 of
 * shared/reference/linux-6.18-mseal.md, run on the real kernel.
 *
 * Build: gcc -O1 -Wall -o reference_cases reference_cases.c
 * Run:   ./reference_cases > out.txt    (exit 0; 77 = SKIP, see below)
 * Check: tests/kernel/run_reference_cases.sh diffs the output against
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
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
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

static void out_str(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		long w = syscall(SYS_write, 1, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void outf(const char *fmt, ...)
{
	static char buf[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	out_str(buf);
}

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case EOVERFLOW: return "EOVERFLOW";
	case ENOSYS: return "ENOSYS";
	case EIDRM: return "EIDRM";
	default: {
		static char b[32];
		snprintf(b, sizeof b, "E%d", e);
		return b;
	}
	}
}

/* ------------------------------------------------------------- raw syscalls */

static long sc_ret(long r) { return r == -1 ? -errno : r; }

static long x_mmap(uintptr_t a, size_t l, int prot, int flags, int fd, off_t off)
{
	return sc_ret(syscall(SYS_mmap, a, l, prot, flags, fd, off));
}
static long x_munmap(uintptr_t a, size_t l) { return sc_ret(syscall(SYS_munmap, a, l)); }
static long x_mprotect(uintptr_t a, size_t l, int prot) { return sc_ret(syscall(SYS_mprotect, a, l, prot)); }
static long x_madvise(uintptr_t a, size_t l, int adv) { return sc_ret(syscall(SYS_madvise, a, l, adv)); }
static long x_mseal(uintptr_t a, size_t l, unsigned long f) { return sc_ret(syscall(SYS_mseal, a, l, f)); }
static long x_mremap(uintptr_t a, size_t ol, size_t nl, int f, uintptr_t na)
{
	return sc_ret(syscall(SYS_mremap, a, ol, nl, f, na));
}
static long x_mlock(uintptr_t a, size_t l) { return sc_ret(syscall(SYS_mlock, a, l)); }
static long x_munlock(uintptr_t a, size_t l) { return sc_ret(syscall(SYS_munlock, a, l)); }
static long x_brk(uintptr_t a) { return syscall(SYS_brk, a); } /* never fails */
static long x_open(const char *p, int fl) { return sc_ret(syscall(SYS_openat, AT_FDCWD, p, fl, 0)); }
static long x_close(int fd) { return sc_ret(syscall(SYS_close, fd)); }

/* ------------------------------------------------------------------ region */

static uintptr_t base;      /* first page of the window */
static unsigned long npages; /* window size in pages */
static const char *cur_case = "?";

static void fail(int line, const char *what, long r)
{
	outf("%s: setup failed at line %d (%s): %s\n", cur_case, line, what,
	     r < 0 ? errname((int)-r) : "unexpected value");
	_exit(1);
}
#define CHECK(expr, cond) do { long r_ = (expr); if (!(cond)) fail(__LINE__, #expr, r_); } while (0)
#define OK(expr) do { long r_ = (expr); if (r_ != 0) fail(__LINE__, #expr, r_); } while (0)

static uintptr_t P(long page) { return base + (uintptr_t)page * PS; }

/* A window of n pages with a PROT_EXEC guard page on each side. */
static void region(unsigned long n)
{
	long r = x_mmap(0, (n + 2) * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r < 0)
		fail(__LINE__, "reserve", r);
	base = (uintptr_t)r + PS;
	npages = n;
	CHECK(x_mmap(base - PS, PS, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), r_ == (long)(base - PS));
	CHECK(x_mmap(P(n), PS, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), r_ == (long)P(n));
	OK(x_munmap(base, n * PS));
}

/* Anonymous private MAP_FIXED mapping of pages [from, to). */
static void anon(long from, long to, int prot)
{
	CHECK(x_mmap(P(from), (to - from) * PS, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
	      r_ == (long)P(from));
}

/* ------------------------------------------------------------------ layout */

static char layout_buf[1 << 16];
static size_t layout_len;

static void layout_add(const char *s)
{
	size_t n = strlen(s);
	if (layout_len + n + 1 < sizeof layout_buf) {
		memcpy(layout_buf + layout_len, s, n);
		layout_len += n;
		layout_buf[layout_len] = 0;
	}
}

static int is_implied(const char *m)
{
	static const char *const implied[] = { "rd", "wr", "ex", "sh", "mr", "mw", "me", "ms" };
	for (unsigned i = 0; i < sizeof implied / sizeof implied[0]; i++)
		if (strcmp(m, implied[i]) == 0)
			return 1;
	return 0;
}

/* State of the smaps parser. */
static int vma_in;            /* current VMA intersects the window */
static long vma_s, vma_e;     /* clipped page indices */
static char vma_perms[8];

static void smaps_line(char *line)
{
	if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
		unsigned long s, e;
		char perms[8];
		vma_in = 0;
		if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3)
			return;
		uintptr_t lo = base, hi = base + npages * PS;
		if (e <= lo || s >= hi)
			return;
		if (s < lo)
			s = lo;
		if (e > hi)
			e = hi;
		vma_in = 1;
		vma_s = (long)((s - base) / PS);
		vma_e = (long)((e - base) / PS);
		memcpy(vma_perms, perms, sizeof perms);
		return;
	}
	if (!vma_in || strncmp(line, "VmFlags:", 8) != 0)
		return;
	char item[256];
	snprintf(item, sizeof item, "[%ld-%ld %s", vma_s, vma_e, vma_perms);
	layout_add(item);
	char *save = NULL;
	for (char *tok = strtok_r(line + 8, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (is_implied(tok))
			continue;
		layout_add(" ");
		layout_add(tok);
	}
	layout_add("]");
	vma_in = 0;
}

static const char *layout(void)
{
	static char rd[1 << 16];
	static char line[4096];
	size_t ll = 0;
	layout_len = 0;
	layout_buf[0] = 0;
	vma_in = 0;
	long fd = x_open("/proc/self/smaps", O_RDONLY);
	if (fd < 0)
		fail(__LINE__, "open smaps", fd);
	for (;;) {
		long n = syscall(SYS_read, fd, rd, sizeof rd);
		if (n <= 0)
			break;
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

static const char *fmt_ret(long r)
{
	if (r < 0 && r > -4096)
		return errname((int)-r);
	snprintf(retbuf, sizeof retbuf, "%ld", r);
	return retbuf;
}

static const char *fmt_addr(long r)
{
	if (r < 0 && r > -4096)
		return errname((int)-r);
	long d = (long)((uintptr_t)r - base);
	if (d % (long)PS)
		snprintf(retbuf, sizeof retbuf, "@%ld+%ld", d / (long)PS, d % (long)PS);
	else
		snprintf(retbuf, sizeof retbuf, "@%ld", d / (long)PS);
	return retbuf;
}

static int step;

static void obs(const char *ret)
{
	step++;
	outf("%s.%d: ret=%s layout=%s\n", cur_case, step, ret, layout());
}
static void obs_ret(long r) { obs(fmt_ret(r)); }
static void obs_addr(long r) { obs(fmt_addr(r)); }

/* ------------------------------------------------------------------- cases */

static void c1(void)
{
	region(8);
	anon(0, 4, PROT_READ);
	obs_ret(x_mseal(P(0), 4 * PS, 1));
	obs_ret(x_mseal(P(0) + 1, PS, 0));
	obs_ret(x_mseal(P(0), 0, 0));
	obs_ret(x_mseal(P(0), (size_t)-1, 0));
	obs_ret(x_mseal(P(0), (size_t)0 - P(0), 0));
}

static void c2(void)
{
	region(8);
	anon(0, 2, PROT_READ);
	anon(3, 5, PROT_READ | PROT_WRITE);
	obs_ret(x_mseal(P(0), 5 * PS, 0));
	obs_ret(x_mseal(P(2), 2 * PS, 0));
	obs_ret(x_mseal(P(3), 3 * PS, 0));
}

static void c3(void)
{
	region(8);
	anon(0, 4, PROT_READ);
	obs_ret(x_mseal(P(0), 1, 0));
}

static void c4(void)
{
	region(8);
	anon(0, 6, PROT_READ);
	OK(x_mseal(P(4), 2 * PS, 0));
	obs_ret(x_munmap(P(2), 4 * PS));
}

static void c5(void)
{
	region(8);
	anon(0, 6, PROT_READ);
	OK(x_mseal(P(0), 2 * PS, 0));
	obs_ret(x_munmap(P(1), 3 * PS));
}

static void c6(void)
{
	region(8);
	anon(0, 4, PROT_READ);
	OK(x_mseal(P(2), 2 * PS, 0));
	obs_ret(x_mprotect(P(0), 4 * PS, PROT_READ | PROT_WRITE));
}

static void c7(void)
{
	region(8);
	anon(0, 2, PROT_READ);
	anon(3, 5, PROT_READ);
	OK(x_mseal(P(3), 2 * PS, 0));
	obs_ret(x_mprotect(P(0), 5 * PS, PROT_READ | PROT_WRITE));
}

static void c8(void)
{
	region(8);
	anon(0, 4, PROT_READ);
	OK(x_mseal(P(0), 4 * PS, 0));
	obs_ret(x_mprotect(P(0), 4 * PS, PROT_READ));
}

static void data_line(long pages)
{
	char b[256];
	size_t n = 0;
	for (long i = 0; i < pages; i++) {
		volatile unsigned char *p = (volatile unsigned char *)P(i);
		n += (size_t)snprintf(b + n, sizeof b - n, "%s%c", i ? "," : "", p[17] ? 'X' : '0');
	}
	step++;
	outf("%s.%d: data=%s\n", cur_case, step, b);
}

static void c9(void)
{
	region(8);
	anon(0, 4, PROT_READ | PROT_WRITE);
	for (long i = 0; i < 4; i++)
		((volatile unsigned char *)P(i))[17] = (unsigned char)(0xa0 + i);
	OK(x_mprotect(P(0), 4 * PS, PROT_READ));
	OK(x_mseal(P(2), 2 * PS, 0));
	obs_ret(x_madvise(P(0), 4 * PS, MADV_DONTNEED));
	data_line(4);
}

static void c10(void)
{
	region(8);
	long fd = sc_ret(syscall(SYS_memfd_create, "c10", 0));
	CHECK(fd, fd >= 0);
	OK(sc_ret(syscall(SYS_ftruncate, fd, 4 * PS)));
	CHECK(x_mmap(P(0), 4 * PS, PROT_READ, MAP_PRIVATE | MAP_FIXED, (int)fd, 0), r_ == (long)P(0));
	OK(x_mseal(P(0), 4 * PS, 0));
	obs_ret(x_madvise(P(0), 4 * PS, MADV_DONTNEED));
}

static void c11(void)
{
	region(8);
	long fd = x_open("/dev/zero", O_RDONLY);
	CHECK(fd, fd >= 0);
	CHECK(x_mmap(P(0), 4 * PS, PROT_READ, MAP_PRIVATE | MAP_FIXED, (int)fd, 0), r_ == (long)P(0));
	OK(x_mseal(P(0), 4 * PS, 0));
	obs_ret(x_madvise(P(0), 4 * PS, MADV_DONTNEED));
}

static void c12(void)
{
	region(12);
	anon(0, 2, PROT_READ | PROT_WRITE);
	anon(2, 4, PROT_READ);
	OK(x_mseal(P(2), 2 * PS, 0));
	obs_addr(x_mremap(P(0), 4 * PS, 4 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, P(8)));
}

static void c13(void)
{
	region(10);
	anon(0, 2, PROT_READ | PROT_WRITE);
	anon(4, 6, PROT_READ | PROT_WRITE);
	anon(6, 8, PROT_READ);
	OK(x_mseal(P(6), 2 * PS, 0));
	obs_addr(x_mremap(P(0), 2 * PS, 4 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, P(5)));
}

static void c14(void)
{
	region(8);
	anon(0, 4, PROT_READ);
	OK(x_mseal(P(0), 4 * PS, 0));
	obs_ret(x_madvise(P(1), PS, MADV_DONTDUMP));
	obs_ret(x_madvise(P(1), PS, MADV_DODUMP));
}

static void c15(void)
{
	region(8);
	anon(0, 4, PROT_READ);
	OK(x_mseal(P(0), 4 * PS, 0));
	obs_ret(x_mlock(P(1), 2 * PS));
	obs_ret(x_munlock(P(1), 2 * PS));
}

static void c16(void)
{
	region(8);
	anon(0, 4, PROT_READ | PROT_WRITE);
	OK(x_mseal(P(0), 4 * PS, 0));
	obs_addr(x_mmap(P(4), 2 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	obs_ret(x_mseal(P(4), 2 * PS, 0));
}

static void c17(void)
{
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
	obs_addr(x_mmap(P(2), PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	obs_ret(x_mseal(P(0), 5 * PS, 0));
	obs_addr(x_mmap(P(10), PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	obs_ret(x_mseal(P(8), 5 * PS, 0));
}

static void c18(void)
{
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

static void c19(void)
{
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

static void c20(void)
{
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

static void c21(void)
{
	char buf[64] = { 0 };
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
		r = x_mmap((uintptr_t)f + i * PS, PS, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
		if (r < 0)
			break;
	}
	if (r != -ENOMEM)
		fail(__LINE__, "fill to max_map_count", r);
	long ret = x_mseal(P(0), 4 * PS, 0);
	OK(x_munmap((uintptr_t)f, fpages * PS));
	obs_ret(ret);
}

static sigjmp_buf segv_jmp;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(segv_jmp, 1);
}

static void c22(void)
{
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
		((volatile char *)P(261))[0] = 1;
		obs("0");
	} else {
		obs("SIGSEGV");
	}
	obs_ret(x_munmap(P(261), PS));
	obs_ret(x_mprotect(P(261), PS, PROT_READ));
}

/* -------------------------------------------------------------------- main */

struct tcase {
	const char *id;
	void (*fn)(void);
};

static const struct tcase cases[] = {
	{ "c1", c1 },   { "c2", c2 },   { "c3", c3 },   { "c4", c4 },   { "c5", c5 },   { "c6", c6 },
	{ "c7", c7 },   { "c8", c8 },   { "c9", c9 },   { "c10", c10 }, { "c11", c11 }, { "c12", c12 },
	{ "c13", c13 }, { "c14", c14 }, { "c15", c15 }, { "c16", c16 }, { "c17", c17 }, { "c18", c18 },
	{ "c19", c19 }, { "c20", c20 }, { "c21", c21 }, { "c22", c22 },
};

/* 0 if mseal works, else prints SKIP and returns 77. */
static int probe_mseal(void)
{
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

int main(int argc, char **argv)
{
	int rc = probe_mseal();
	if (rc)
		return rc;
	int failed = 0;
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (argc > 1) { /* optional filter: run only the named cases */
			int want = 0;
			for (int a = 1; a < argc; a++)
				if (strcmp(argv[a], cases[i].id) == 0)
					want = 1;
			if (!want)
				continue;
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
