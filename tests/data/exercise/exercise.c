/*
 * exercise.c: runs, on the real kernel, every memory-management call the
 * vmseal engine models, so that `strace -f -y` of it (see regenerate.sh)
 * gives a deterministic log covering mmap, munmap, mprotect, pkey_mprotect,
 * mremap, madvise, mlock/mlock2/munlock/mlockall/munlockall, brk, mseal,
 * fork and execve, including the error paths and the seal-blocked paths.
 *
 * Rules this program follows so that the log alone determines the kernel's
 * VMA state:
 *  - It never loads from or stores to memory of the mappings it creates
 *    (a write fault is invisible to strace but gives the VMA an anon_vma,
 *    which changes merging). Pages are faulted only through visible calls:
 *    MADV_POPULATE_READ/WRITE, MAP_POPULATE, MAP_LOCKED, mlock*.
 *    The single exception is the fork handshake page (a MAP_SHARED anonymous
 *    page, see the fork block): shared memory has no anon_vma, so touching
 *    it changes nothing the engine tracks.
 *  - It does not call malloc/printf (no hidden brk or mmap). Its only output
 *    is a few constant marker lines ("== block ==") and, should the kernel
 *    disagree with the value this program expects from the reference notes
 *    (shared/reference/linux-6.18-mseal.md), a "MISMATCH" line giving the
 *    source line, the expected and the actual result. Nothing printed depends
 *    on an address.
 *  - Everything happens in a fixed order and, when run under
 *    `setarch -R` (no ASLR) in a fresh PID namespace with a fixed
 *    environment and directory (regenerate.sh does all that), every address,
 *    pid and fd in the log is the same from run to run.
 *  - It must be started in the directory where it may create "data.bin".
 *
 * The program works mostly inside one PROT_NONE reservation R of 512 pages;
 * "R+n" below means R + n pages. The rest of R keeps the experiments apart:
 * a PROT_NONE neighbour never merges with them.
 *
 * Layout notation in the comments: [a-b r] = pages a..b-1 of R, prot r;
 * rw = read/write; sl = sealed; ac/nr/lo/lf/dc/wf/dd/rr/sr/hg/nh/gd = the
 * smaps VmFlags the kernel sets.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_mseal
#define SYS_mseal 462
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MCL_ONFAULT
#define MCL_ONFAULT 4
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

#define PS 4096L
#define AN (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)

/* ------------------------------------------------------------- plumbing */

static void out(const char *s)
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

static void block(const char *name)
{
	out("== ");
	out(name);
	out(" ==\n");
}

static const char *ename(long e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EOVERFLOW: return "EOVERFLOW";
	default: return "E?";
	}
}

static void utoa(unsigned long v, char *b)
{
	char t[24];
	int n = 0;
	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*b++ = t[--n];
	*b = 0;
}

/* Expected results. An expectation is either an exact value (0, a length, an
 * exact address), a negated errno, or one of the markers below. */
#define ANY_ADDR (-5000L) /* any successful address */
#define ANY (-5001L)      /* anything (recorded in the log only) */

static void describe(long v, char *b)
{
	if (v == ANY_ADDR)
		strcpy(b, "an address");
	else if (v == ANY)
		strcpy(b, "anything");
	else if (v < 0 && v > -4096)
		strcpy(b, ename(-v));
	else if (v >= 0 && v < 1000000)
		utoa((unsigned long)v, b);
	else
		strcpy(b, "an address");
}

static int mismatches;

static long check(int line, long got, long want, int want_exact_addr)
{
	int ok;
	if (want == ANY)
		ok = 1;
	else if (want == ANY_ADDR)
		ok = !(got < 0 && got > -4096);
	else
		ok = got == want;
	if (!ok) {
		char a[32], b[32], l[16];
		describe(want, a);
		describe(got, b);
		if (!want_exact_addr && !(got < 0 && got > -4096) && got >= 1000000)
			strcpy(b, "an address");
		if (want_exact_addr && !(got < 0 && got > -4096))
			strcpy(b, "another address");
		utoa((unsigned long)line, l);
		out("MISMATCH line ");
		out(l);
		out(": expected ");
		out(a);
		out(", got ");
		out(b);
		out("\n");
		mismatches++;
	}
	return got;
}

/* Raw system call returning -errno on failure. */
static long rs(long r) { return r == -1 ? -errno : r; }
#define SC(...) rs(syscall(__VA_ARGS__))

/* E(call, want): run a call, compare with the expectation. want may be 0,
 * -EXXX, ANY, ANY_ADDR or an exact value. EA(call, addr): an exact address. */
#define E(call, want) check(__LINE__, (call), (want), 0)
#define EA(call, addr) check(__LINE__, (call), (long)(addr), 1)

static long mm(uintptr_t a, long len, int prot, int flags, int fd, long off)
{
	return SC(SYS_mmap, a, len, prot, flags, fd, off);
}
static long mun(uintptr_t a, long len) { return SC(SYS_munmap, a, len); }
static long mpr(uintptr_t a, long len, int prot) { return SC(SYS_mprotect, a, len, prot); }
static long pmpr(uintptr_t a, long len, int prot, int pkey) { return SC(SYS_pkey_mprotect, a, len, prot, pkey); }
static long mrm(uintptr_t a, long ol, long nl, int fl, uintptr_t na) { return SC(SYS_mremap, a, ol, nl, fl, na); }
static long madv(uintptr_t a, long len, int adv) { return SC(SYS_madvise, a, len, adv); }
static long msl(uintptr_t a, long len, unsigned long fl) { return SC(SYS_mseal, a, len, fl); }
static long mlk(uintptr_t a, long len) { return SC(SYS_mlock, a, len); }
static long mlk2(uintptr_t a, long len, int fl) { return SC(SYS_mlock2, a, len, fl); }
static long munlk(uintptr_t a, long len) { return SC(SYS_munlock, a, len); }

static uintptr_t R; /* the reservation */
static uintptr_t S(long page) { return R + (uintptr_t)(page * PS); }

/* Anonymous private mapping at R+page, MAP_FIXED (replaces that part of R). */
static void fixed(long page, long pages, int prot, int extra)
{
	EA(mm(S(page), pages * PS, prot, AN | MAP_FIXED | extra, -1, 0), S(page));
}

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;

	/* ================================================================ mmap */
	block("mmap");
	/* No hint, PROT_NONE: the reservation R (one VMA, nr). */
	R = (uintptr_t)E(mm(0, 512 * PS, PROT_NONE, AN | MAP_NORESERVE, -1, 0), ANY_ADDR);

	/* MAP_FIXED inside the reservation: [0-4 rw ac] between two R pieces. */
	fixed(0, 4, RW, 0);

	/* munmap of the middle of R opens the hole [16-20). */
	E(mun(S(16), 4 * PS), 0);
	/* MAP_FIXED_NOREPLACE into the hole: succeeds, [16-18 rw]. */
	EA(mm(S(16), 2 * PS, RW, AN | MAP_FIXED_NOREPLACE, -1, 0), S(16));
	/* MAP_FIXED_NOREPLACE over an existing mapping: EEXIST, nothing changes. */
	E(mm(S(0), PS, RW, AN | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
	/* A hint at a free address is honoured: [18-20 r]. */
	EA(mm(S(18), 2 * PS, PROT_READ, AN, -1, 0), S(18));
	/* A hint at an occupied address: the kernel picks another place. */
	long hinted = E(mm(S(0), 2 * PS, PROT_READ, AN, -1, 0), ANY_ADDR);
	if (hinted == (long)S(0))
		out("MISMATCH: occupied hint was honoured\n");

	/* Shared anonymous memory (its own shmem file; never merges). */
	long shanon = E(mm(0, 2 * PS, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0), ANY_ADDR);

	/* A memfd, 16 pages: shared rw at [32-36), private r at [36-40) with
	 * file offset 4 pages. */
	long mfd = E(SC(SYS_memfd_create, "exercise", MFD_CLOEXEC), 3);
	E(SC(SYS_ftruncate, mfd, 16 * PS), 0);
	EA(mm(S(32), 4 * PS, RW, MAP_SHARED | MAP_FIXED, (int)mfd, 0), S(32));
	EA(mm(S(36), 4 * PS, PROT_READ, MAP_PRIVATE | MAP_FIXED, (int)mfd, 4 * PS), S(36));

	/* A regular file in the current (temporary) directory, 16 pages. */
	long fd1 = E(SC(SYS_openat, AT_FDCWD, "data.bin", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), 4);
	E(SC(SYS_ftruncate, fd1, 16 * PS), 0);
	/* Same fd, contiguous file offsets: the second mapping merges, [48-52). */
	EA(mm(S(48), 2 * PS, PROT_READ, MAP_SHARED | MAP_FIXED, (int)fd1, 0), S(48));
	EA(mm(S(50), 2 * PS, PROT_READ, MAP_SHARED | MAP_FIXED, (int)fd1, 2 * PS), S(50));
	/* A dup() of the fd is the same struct file: merges too, [48-54). */
	long fd2 = E(SC(SYS_dup, fd1), 5);
	EA(mm(S(52), 2 * PS, PROT_READ, MAP_SHARED | MAP_FIXED, (int)fd2, 4 * PS), S(52));
	/* A second open() of the same file is another struct file: no merge. */
	long fd3 = E(SC(SYS_openat, AT_FDCWD, "data.bin", O_RDWR | O_CLOEXEC), 6);
	EA(mm(S(54), 2 * PS, PROT_READ, MAP_SHARED | MAP_FIXED, (int)fd3, 6 * PS), S(54));
	/* Private writable file mapping (ac), [56-58). */
	EA(mm(S(56), 2 * PS, RW, MAP_PRIVATE | MAP_FIXED, (int)fd1, 8 * PS), S(56));
	/* Shared mapping of an O_RDONLY fd: no mw (used for EACCES below). */
	long fdro = E(SC(SYS_openat, AT_FDCWD, "data.bin", O_RDONLY | O_CLOEXEC), 7);
	EA(mm(S(60), 2 * PS, PROT_READ, MAP_SHARED | MAP_FIXED, (int)fdro, 0), S(60));

	/* MAP_GROWSDOWN (gd), never touched, [72-76). */
	fixed(72, 4, RW, MAP_GROWSDOWN);
	/* MAP_NORESERVE: nr instead of ac, [80-84). */
	fixed(80, 4, RW, MAP_NORESERVE);
	/* MAP_LOCKED: lo, populated (write-populated, so it gets an anon_vma). */
	fixed(88, 2, RW, MAP_LOCKED);
	/* MAP_POPULATE: no flag, but populated (anon_vma), [96-98). */
	fixed(96, 2, RW, MAP_POPULATE);

	/* Argument errors. */
	E(mm(0, 0, PROT_READ, AN, -1, 0), -EINVAL);                    /* len 0 */
	E(mm(0, -PS, PROT_READ, AN, -1, 0), -ENOMEM);                  /* len ~2^64 */
	E(mm(0, -1L, PROT_READ, AN, -1, 0), -ENOMEM);                  /* rounds to 0 */
	E(mm(S(0) + 1, PS, PROT_READ, AN | MAP_FIXED, -1, 0), -EINVAL); /* unaligned FIXED */
	E(mm(0, PS, PROT_READ, MAP_SHARED, (int)fd1, 1), -EINVAL);     /* unaligned offset */
	E(mm(0, PS, PROT_READ, MAP_SHARED, 99, 0), -EBADF);            /* bad fd */
	E(mm(0, PS, PROT_READ, MAP_ANONYMOUS, -1, 0), -EINVAL);        /* no map type */
	/* MAP_SHARED_VALIDATE rejects flags the file cannot honour (MAP_SYNC
	 * needs DAX). */
	E(mm(0, PS, PROT_READ, MAP_SHARED_VALIDATE | MAP_SYNC, (int)fd1, 0), -EOPNOTSUPP);
	/* Unknown prot bits are not rejected by mmap: records what happens. */
	long oddprot = E(mm(0, PS, PROT_READ | 0x10, AN, -1, 0), ANY);
	if (!(oddprot < 0 && oddprot > -4096))
		E(mun((uintptr_t)oddprot, PS), 0);

	/* ============================================================== munmap */
	block("munmap");
	E(mun(S(18), 2 * PS), 0);               /* whole VMA [18-20) */
	E(mun(S(3), PS), 0);                    /* tail of [0-4) -> [0-3) */
	E(mun(S(0), PS), 0);                    /* head -> [1-3) */
	fixed(104, 6, RW, 0);
	E(mun(S(106), 2 * PS), 0);              /* middle: [104-106) [108-110) */
	E(mun(S(104), 6 * PS), 0);              /* two VMAs and the hole */
	E(mun(S(104), 6 * PS), 0);              /* nothing mapped there: 0 */
	E(mun(S(1), 0), -EINVAL);               /* len 0 */
	E(mun(S(1) + 8, PS), -EINVAL);          /* unaligned */
	E(mun(S(1), -PS), -EINVAL);             /* len near 2^64 */
	E(mun(0xfffffffffffff000UL, PS), -EINVAL); /* above TASK_SIZE */

	/* ============================================================ mprotect */
	block("mprotect");
	fixed(112, 6, PROT_READ, 0);
	E(mpr(S(114), 2 * PS, RW), 0);          /* split: [112-114 r][114-116 rw ac][116-118 r] */
	E(mpr(S(114), 2 * PS, PROT_READ), 0);   /* back to r, unfaulted: ac dropped, merges */
	E(mpr(S(60), 2 * PS, RW), -EACCES);     /* shared map of an O_RDONLY fd */
	E(mpr(S(60), 2 * PS, PROT_READ), 0);    /* same prot: fine */
	/* PROT_GROWSDOWN on the gd VMA: the change extends down to vm_start. */
	E(mpr(S(73), PS, PROT_READ | PROT_GROWSDOWN), 0);  /* [72-74 r gd][74-76 rw gd] */
	E(mpr(S(72), 4 * PS, RW), 0);                      /* merged again */
	E(mpr(S(112), PS, PROT_READ | PROT_GROWSDOWN), -EINVAL); /* not a gd VMA */
	E(mpr(S(112) + 1, PS, PROT_READ), -EINVAL);        /* unaligned */
	E(mpr(S(112), 0, RW), 0);                          /* len 0 */
	E(mpr(S(112), PS, 0x10), -EINVAL);                 /* invalid prot bit */
	E(mpr(S(112), PS, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP), -EINVAL);
	E(mpr(0xfffffffffffff000UL, PS, PROT_READ), -ENOMEM); /* end wraps to 0 */
	E(mpr(S(104), PS, PROT_READ), -ENOMEM);            /* unmapped */

	/* ======================================================= pkey_mprotect */
	block("pkey_mprotect");
	/* No PKU on this CPU: only pkey -1 (= plain mprotect) is usable. */
	E(pmpr(S(112), 2 * PS, RW, -1), 0);          /* split [112-114 rw] */
	E(pmpr(S(112), 2 * PS, PROT_READ, -1), 0);   /* merged back */
	E(pmpr(S(112), 2 * PS, RW, 1), -EINVAL);     /* pkey 1 never allocated */
	E(pmpr(S(112), 2 * PS, RW, 0), ANY);         /* pkey 0: recorded */

	/* ============================================================== mremap */
	block("mremap");
	fixed(128, 4, RW, 0);
	E(mun(S(132), 4 * PS), 0);                   /* room to grow: hole [132-136) */
	EA(mrm(S(128), 4 * PS, 2 * PS, 0, 0), S(128));   /* shrink -> [128-130) */
	EA(mrm(S(128), 2 * PS, 4 * PS, 0, 0), S(128));   /* grow in place -> [128-132) */
	E(mrm(S(128), 4 * PS, 12 * PS, 0, 0), -ENOMEM);  /* no room, no MAYMOVE */
	/* Grow with MAYMOVE to 12 pages: [136..) is R, so it must move; the
	 * old place [128-132) becomes a hole. */
	long moved = E(mrm(S(128), 4 * PS, 12 * PS, MREMAP_MAYMOVE, 0), ANY_ADDR);
	if (moved == (long)S(128))
		out("MISMATCH: MAYMOVE grow did not move\n");
	/* MAYMOVE|FIXED back into R at [136-148): the R part there is
	 * unmapped first. */
	EA(mrm((uintptr_t)moved, 12 * PS, 12 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, S(136)), S(136));
	/* DONTUNMAP: pages move to a new place, the old VMA stays (emptied). */
	long dum = E(mrm(S(136), 2 * PS, 2 * PS, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), ANY_ADDR);
	EA(mrm(S(138), 2 * PS, 2 * PS, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, S(148)), S(148));
	/* Multi-VMA move (6.17+): [152-154 rw][154-156 r] moved together to 160. */
	fixed(152, 2, RW, 0);
	fixed(154, 2, PROT_READ, 0);
	EA(mrm(S(152), 4 * PS, 4 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, S(160)), S(160));
	/* Without FIXED a range spanning two VMAs is EFAULT. */
	E(mrm(S(160), 4 * PS, 6 * PS, MREMAP_MAYMOVE, 0), -EFAULT);
	/* old_len 0: duplicate a shared mapping; refused for private ones. */
	long dup2 = E(mrm((uintptr_t)shanon, 0, 2 * PS, MREMAP_MAYMOVE, 0), ANY_ADDR);
	E(mrm(S(160), 0, 2 * PS, MREMAP_MAYMOVE, 0), -EINVAL);
	/* Argument errors. */
	E(mrm(S(160) + 1, PS, PS, 0, 0), -EINVAL);                  /* unaligned */
	E(mrm(S(160), PS, PS, 8, 0), -EINVAL);                      /* bad flag */
	E(mrm(S(160), PS, 0, 0, 0), -EINVAL);                       /* new_len 0 */
	E(mrm(S(160), PS, PS, MREMAP_FIXED, S(200)), -EINVAL);      /* FIXED w/o MAYMOVE */
	E(mrm(S(160), PS, PS, MREMAP_DONTUNMAP, 0), -EINVAL);       /* DONTUNMAP w/o MAYMOVE */
	E(mrm(S(160), 2 * PS, 2 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, S(161)), -EINVAL); /* overlap */
	E(mrm(S(104), PS, PS, 0, 0), -EFAULT);                      /* unmapped */
	E(mun((uintptr_t)dum, 2 * PS), 0);
	E(mun((uintptr_t)dup2, 2 * PS), 0);

	/* ============================================================= madvise */
	block("madvise");
	fixed(176, 8, RW, 0);
	E(madv(S(176), 2 * PS, MADV_DONTNEED), 0);
	E(madv(S(176), 2 * PS, MADV_FREE), 0);
	E(madv(S(177), 2 * PS, MADV_DONTFORK), 0);      /* dc: split 176|177-179|179 */
	E(madv(S(177), 2 * PS, MADV_DOFORK), 0);        /* merged again */
	E(madv(S(178), 2 * PS, MADV_WIPEONFORK), 0);    /* wf */
	E(madv(S(178), 2 * PS, MADV_KEEPONFORK), 0);
	E(madv(S(179), PS, MADV_DONTDUMP), 0);          /* dd */
	E(madv(S(179), PS, MADV_DODUMP), 0);
	E(madv(S(176), 2 * PS, MADV_RANDOM), 0);        /* rr */
	E(madv(S(176), 2 * PS, MADV_SEQUENTIAL), 0);    /* sr */
	E(madv(S(176), 2 * PS, MADV_NORMAL), 0);
	E(madv(S(180), 4 * PS, MADV_HUGEPAGE), 0);      /* hg */
	E(madv(S(180), 4 * PS, MADV_NOHUGEPAGE), 0);    /* nh (stays) */
	E(madv(S(176), 2 * PS, MADV_POPULATE_READ), 0); /* zero page, no anon_vma */
	E(madv(S(176), 2 * PS, MADV_POPULATE_WRITE), 0);/* faults: anon_vma */
	E(madv(S(177), PS, MADV_GUARD_INSTALL), 0);
	E(madv(S(177), PS, MADV_GUARD_REMOVE), 0);
	E(madv(S(32), 2 * PS, MADV_REMOVE), 0);         /* shared memfd: punch hole */
	E(madv(S(176), PS, MADV_REMOVE), -EINVAL);      /* private anon */
	E(madv(S(176), PS, 999), -EINVAL);              /* invalid advice */
	E(madv(S(176) + 1, PS, MADV_NORMAL), -EINVAL);  /* unaligned */
	E(madv(S(176), 0, MADV_DONTNEED), 0);           /* len 0 */
	E(madv(S(104), PS, MADV_NORMAL), -ENOMEM);      /* unmapped */
	E(madv(S(176), -PS, MADV_NORMAL), -EINVAL);     /* len near 2^64 */

	/* =============================================================== mlock */
	block("mlock");
	fixed(192, 4, RW, 0);
	E(mlk(S(193), 2 * PS), 0);                      /* lo, split in 3, populated */
	E(munlk(S(193), 2 * PS), 0);                    /* merged again */
	E(mlk2(S(193), 2 * PS, MLOCK_ONFAULT), 0);      /* lo lf, not populated */
	E(munlk(S(192), 4 * PS), 0);
	E(mlk2(S(193), PS, 2), -EINVAL);                /* bad flag */
	E(mlk(S(104), PS), -ENOMEM);                    /* unmapped */
	E(mlk(S(192), 0), 0);                           /* len 0 */

	/* ================================================================= brk */
	block("brk");
	long brk0 = syscall(SYS_brk, 0);                /* query */
	EA(syscall(SYS_brk, brk0 + 4 * PS), brk0 + 4 * PS);  /* grow: heap VMA */
	EA(syscall(SYS_brk, brk0 + 2 * PS), brk0 + 2 * PS);  /* shrink */
	EA(syscall(SYS_brk, brk0), brk0);                    /* back to the start */

	/* =============================================================== mseal */
	block("mseal");
	fixed(224, 4, PROT_READ, 0);
	E(msl(S(224), 4 * PS, 0), 0);                   /* [224-228 r sl] */
	E(msl(S(224), 4 * PS, 1), -EINVAL);             /* flags */
	E(msl(S(224) + 1, PS, 0), -EINVAL);             /* unaligned */
	E(msl(S(224), 0, 0), 0);                        /* len 0 */
	E(msl(S(224), -1L, 0), -EINVAL);                /* len rounds to 0 */
	E(msl(S(224), 4 * PS, 0), 0);                   /* idempotent reseal */
	/* A hole in the range: ENOMEM, nothing sealed. */
	fixed(232, 2, PROT_READ, 0);
	E(mun(S(234), PS), 0);
	fixed(235, 2, PROT_READ, 0);
	E(msl(S(232), 5 * PS, 0), -ENOMEM);
	/* Partial seal splits the VMA: [232-233 r][233-234 r sl]. */
	E(msl(S(233), PS, 0), 0);
	/* A fresh neighbour does not merge with the sealed VMA; sealing it does:
	 * [224-228 r sl][228-230 r] -> [224-230 r sl]. */
	fixed(228, 2, PROT_READ, 0);
	E(msl(S(228), 2 * PS, 0), 0);

	block("blocked by the seal");
	E(mun(S(224), 6 * PS), -EPERM);                 /* whole */
	E(mun(S(225), PS), -EPERM);                     /* inside: no split */
	E(mm(S(224), 2 * PS, RW, AN | MAP_FIXED, -1, 0), -EPERM);
	E(mm(S(224), 2 * PS, RW, AN | MAP_FIXED_NOREPLACE, -1, 0), -EEXIST);
	E(mrm(S(224), 6 * PS, 2 * PS, 0, 0), -EPERM);   /* shrink */
	E(mrm(S(224), 6 * PS, 8 * PS, 0, 0), -EPERM);   /* grow */
	E(mrm(S(224), 6 * PS, 6 * PS, 0, 0), -EPERM);   /* no-op */
	E(mrm(S(224), 6 * PS, 8 * PS, MREMAP_MAYMOVE, 0), -EPERM);
	E(mrm(S(224), 6 * PS, 6 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, S(240)), -EPERM);
	E(mrm(S(224), 2 * PS, 2 * PS, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0), -EPERM);
	fixed(240, 2, RW, 0);                            /* unsealed source ... */
	E(mrm(S(240), 2 * PS, 2 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, S(226)), -EPERM); /* ... sealed target */
	E(mpr(S(224), 6 * PS, RW), -EPERM);
	E(mpr(S(224), 6 * PS, PROT_READ), -EPERM);      /* same prot */
	E(pmpr(S(224), 6 * PS, PROT_READ, -1), -EPERM);
	E(madv(S(224), 6 * PS, MADV_DONTNEED), -EPERM); /* sealed r anon: discard */
	E(madv(S(224), 6 * PS, MADV_FREE), -EPERM);
	E(madv(S(224), 6 * PS, MADV_GUARD_INSTALL), -EPERM);
	E(madv(S(224), 6 * PS, MADV_RANDOM), 0);        /* not discard: allowed, rr */
	E(madv(S(224), 6 * PS, MADV_NORMAL), 0);
	/* Sealed writable anonymous: discard allowed. */
	fixed(248, 2, RW, 0);
	E(msl(S(248), 2 * PS, 0), 0);
	E(madv(S(248), 2 * PS, MADV_DONTNEED), 0);
	/* Sealed private file-backed (memfd) read-only: discard allowed. */
	EA(mm(S(252), 2 * PS, PROT_READ, MAP_PRIVATE | MAP_FIXED, (int)mfd, 0), S(252));
	E(msl(S(252), 2 * PS, 0), 0);
	E(madv(S(252), 2 * PS, MADV_DONTNEED), 0);

	block("failures with side effects");
	/* [256-258 r][258-260 r sl]: mprotect(256..260, rw) = EPERM, but the
	 * first VMA is already rw: [256-258 rw ac][258-260 r sl]. */
	fixed(256, 4, PROT_READ, 0);
	E(msl(S(258), 2 * PS, 0), 0);
	E(mpr(S(256), 4 * PS, RW), -EPERM);
	/* [264-268 r][268-270 r sl]: munmap(266..270) = EPERM, nothing is
	 * unmapped but the first VMA stays split: [264-266][266-268][268-270 sl]. */
	fixed(264, 6, PROT_READ, 0);
	E(msl(S(268), 2 * PS, 0), 0);
	E(mun(S(266), 4 * PS), -EPERM);
	/* [272-274 r][hole][275-277 r sl]: mprotect(272..277, rw) = ENOMEM at
	 * the hole, the first VMA already rw. */
	fixed(272, 2, PROT_READ, 0);
	E(mun(S(274), PS), 0);
	fixed(275, 2, PROT_READ, 0);
	E(msl(S(275), 2 * PS, 0), 0);
	E(mpr(S(272), 5 * PS, RW), -ENOMEM);
	/* MAP_FIXED over [280-282 r][282-284 r sl] from 281: EPERM, split left. */
	fixed(280, 4, PROT_READ, 0);
	E(msl(S(282), 2 * PS, 0), 0);
	E(mm(S(281), 2 * PS, RW, AN | MAP_FIXED, -1, 0), -EPERM);

	/* ============================================================ mlockall */
	block("mlockall");
	struct rlimit rl;
	E(SC(SYS_prlimit64, 0, RLIMIT_MEMLOCK, NULL, &rl), 0);
	if (SC(SYS_geteuid) == 0 || rl.rlim_cur == RLIM_INFINITY) {
		/* Locks (and populates) every current VMA, sealed ones included. */
		E(SC(SYS_mlockall, MCL_CURRENT | MCL_FUTURE), 0);
		/* MCL_FUTURE: a new mapping is born locked. */
		fixed(288, 2, RW, 0);
		E(SC(SYS_munlockall), 0);
		E(SC(SYS_mlockall, MCL_ONFAULT), -EINVAL);            /* needs CURRENT/FUTURE */
		E(SC(SYS_mlockall, MCL_CURRENT | MCL_ONFAULT), 0);    /* lo lf, no populate */
		E(SC(SYS_munlockall), 0);
		E(SC(SYS_mlockall, 0), -EINVAL);
	} else {
		out("mlockall skipped: RLIMIT_MEMLOCK is limited and not root\n");
	}

	/* ================================================================ fork */
	block("fork");
	/* Not inherited: [296-298 rw dc]; inherited but zeroed: [298-300 rw wf]. */
	fixed(296, 4, RW, 0);
	E(madv(S(296), 2 * PS, MADV_DONTFORK), 0);
	E(madv(S(298), 2 * PS, MADV_WIPEONFORK), 0);
	/* Handshake page (see the header): the parent marks it once it is back
	 * from fork, the child then spins a while before its first system call
	 * so that the parent's wait4 line always comes first in the log. */
	volatile long *hs = (volatile long *)E(mm(0, PS, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0), ANY_ADDR);
	/* SIGCHLD blocked: no signal line (with timing fields) in the log. */
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	E(SC(SYS_rt_sigprocmask, SIG_BLOCK, &chld, NULL, 8), 0);
	long pid = SC(SYS_fork);
	if (pid == 0) {
		mismatches = 0; /* count the child's own */
		while (hs[0] == 0)
			;
		for (volatile long i = 0; i < 20000000; i++)
			;
		/* Seals are inherited. */
		E(mun(S(224), 6 * PS), -EPERM);
		E(mpr(S(224), 6 * PS, RW), -EPERM);
		E(madv(S(224), 6 * PS, MADV_DONTNEED), -EPERM);
		E(mrm(S(224), 6 * PS, 6 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, S(300)), -EPERM);
		/* The dc VMA is absent in the child, the wf one is there. */
		E(mpr(S(296), 2 * PS, PROT_READ), -ENOMEM);
		E(mpr(S(298), 2 * PS, PROT_READ), 0);
		/* The child's own mappings and seals. */
		long c = E(mm(0, PS, PROT_READ, AN, -1, 0), ANY_ADDR);
		E(msl((uintptr_t)c, PS, 0), 0);
		E(mun((uintptr_t)c, PS), -EPERM);
		E(mun(S(176), 8 * PS), 0);
		syscall(SYS_exit_group, mismatches ? 1 : 0);
	}
	E(pid, ANY);
	hs[0] = 1;
	int status = 0;
	E(SC(SYS_wait4, pid, &status, 0, NULL), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		out("MISMATCH: the forked child reported a mismatch\n");
	E(mun((uintptr_t)hs, PS), 0);

	/* ============================================================== execve */
	block("execve");
	E(SC(SYS_close, fd2), 0);
	if (mismatches)
		out("there were mismatches\n");
	else
		out("all results as expected\n");
	/* A new mm: no mapping and no seal survives. */
	char *const targv[] = { "true", NULL };
	syscall(SYS_execve, "/bin/true", targv, envp);
	out("execve failed\n");
	return 1;
}
