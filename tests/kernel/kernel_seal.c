/*
 * kernel_seal.c: the Linux 6.18 side of the kernel-internal seal (seed 003,
 * docs/designs.md): secret memory sealed so that the process cannot take it
 * back, and what the kernel's own release meets when the kernel has no way
 * past a seal (the linux-6.18 policy's krelease is an ordinary munmap). The
 * notation is reference_cases.c's (tests/kernel/probe.h).
 *
 * Build: gcc -O1 -Wall -o kernel_seal kernel_seal.c
 * Check: tests/kernel/run_probe.sh kernel_seal (diffs against
 *        tests/data/kernel_seal.expected; tests/engine/kernel_seal_test.cpp
 *        replays both cases in the engine against the same file).
 * Exit 77 (SKIP) when the kernel has no mseal. k2 prints "k2: skipped" where
 * memfd_secret(2) is missing or disabled (secretmem.enable=0).
 *
 * Cases (each in its own forked child):
 *  k1  the stand-in the scripts use for secret memory, which the engine does
 *      not model: MAP_SHARED|MAP_ANONYMOUS|MAP_LOCKED|MAP_POPULATE and
 *      MADV_DONTDUMP (smaps: rw-s lo dd). Sealed, then the process tries to
 *      unmap its tail, re-protect it, discard it, map over it and move it;
 *      then the kernel's release without an exception, munmap of the head.
 *  k2  the same calls on a real memfd_secret(2) mapping (secretmem sets
 *      VM_LOCKED and VM_DONTDUMP itself): every line equals k1's, which is
 *      what lets the stand-in speak for it.
 */
#include "probe.h"

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

#define RW (PROT_READ | PROT_WRITE)

/* The seal and what the process (and a kernel without an exception) meets. */
static void tries(void) {
  obs_ret(x_mseal(P(0), 8 * PS, 0));
  obs_ret(x_munmap(P(6), 2 * PS));
  obs_ret(x_mprotect(P(0), 8 * PS, PROT_NONE));
  obs_ret(x_madvise(P(0), 8 * PS, MADV_DONTNEED));
  obs_addr(x_mmap(P(0), PS, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
  obs_addr(x_mremap(P(0), 8 * PS, 8 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, P(8)));
  obs_ret(x_munmap(P(0), 2 * PS));
}

static void k1(void) {
  region(16);
  CHECK(x_mmap(P(0), 8 * PS, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE | MAP_FIXED,
               -1, 0),
        r_ == (long)P(0));
  OK(x_madvise(P(0), 8 * PS, MADV_DONTDUMP));
  tries();
}

static void k2(void) {
  long fd = sc_ret(syscall(SYS_memfd_secret, 0));
  if (fd < 0) {
    outf("%s: skipped (memfd_secret: %s)\n", cur_case, errname((int)-fd));
    return;
  }
  OK(sc_ret(syscall(SYS_ftruncate, fd, 8 * PS)));
  region(16);
  CHECK(x_mmap(P(0), 8 * PS, RW, MAP_SHARED | MAP_FIXED, (int)fd, 0), r_ == (long)P(0));
  for (long i = 0; i < 8; i++) *(volatile char*)P(i) = 1; /* populate */
  x_close((int)fd);
  tries();
}

static const struct tcase cases[] = {{"k1", k1}, {"k2", k2}};

int main(int argc, char** argv) {
  int rc = probe_mseal();
  if (rc) return rc;
  return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
