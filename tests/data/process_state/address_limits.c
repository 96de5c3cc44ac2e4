/*
 * address_limits.c: RLIMIT_AS and RLIMIT_DATA seen through strace, for
 * `vmseal sim --check` (tests/trace/process_state_test.cpp). The limits are
 * set a little above what the process has mapped (VmSize and VmData of
 * /proc/self/status), which the trace does not show: the first call each
 * limit lets through bounds the pages mapped before the trace began, and the
 * calls after it are verified against that bound.
 *
 * Build: gcc -O1 -Wall -o address_limits address_limits.c
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define MiB (1UL << 20)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

/* A field of /proc/self/status in bytes ("VmSize:", "VmData:"). */
static unsigned long status_bytes(const char* field) {
  static char buf[1 << 14];
  int fd = open("/proc/self/status", O_RDONLY);
  long n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) _exit(2);
  buf[n] = 0;
  const char* at = strstr(buf, field);
  return at ? strtoul(at + strlen(field), NULL, 10) * 1024 : 0;
}

static void soft_limit(int resource, unsigned long bytes) {
  struct rlimit r;
  getrlimit(resource, &r);
  r.rlim_cur = bytes;
  setrlimit(resource, &r);
}

int main(void) {
  /* RLIMIT_AS: 64 MiB above what is mapped. */
  soft_limit(RLIMIT_AS, status_bytes("VmSize:") + 64 * MiB);
  void* a = mmap(NULL, 32 * MiB, RW, ANON, -1, 0); /* bounds the unseen pages */
  munmap(a, 32 * MiB);
  void* b = mmap(NULL, 16 * MiB, RW, ANON, -1, 0);
  mmap(NULL, 1024 * MiB, PROT_NONE, ANON | MAP_NORESERVE, -1, 0); /* ENOMEM */
  mremap(b, 16 * MiB, 20 * MiB, MREMAP_MAYMOVE);
  pid_t pid = fork();
  if (pid == 0) {
    mmap(NULL, 1024 * MiB, PROT_READ, ANON, -1, 0); /* ENOMEM: the child keeps the limit */
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  soft_limit(RLIMIT_AS, RLIM_INFINITY);

  /* RLIMIT_DATA: 16 MiB above the data pages. */
  soft_limit(RLIMIT_DATA, status_bytes("VmData:") + 16 * MiB);
  void* c = mmap(NULL, 8 * MiB, RW, ANON, -1, 0); /* bounds the unseen data pages */
  munmap(c, 8 * MiB);
  mmap(NULL, 4 * MiB, RW, ANON, -1, 0);
  mmap(NULL, 64 * MiB, RW, ANON, -1, 0); /* ENOMEM */
  void* r = mmap(NULL, 64 * MiB, PROT_READ, ANON, -1, 0);
  mprotect(r, 64 * MiB, RW); /* ENOMEM: it would become data */
  mprotect(r, 2 * MiB, RW);  /* fits */
  void* top = sbrk(0);
  brk((char*)top + 32 * MiB); /* refused: heap plus data segment over the limit */
  brk((char*)top + 64 * 1024);
  return 0;
}
