/*
 * memfd_fds.c: memfds and a memfd_secret file passed around as a program
 * does it, for `vmseal sim` (tests/trace/process_state_test.cpp): dup, dup3
 * and F_DUPFD_CLOEXEC of a memfd, seals added through a copy, pwrite growing
 * the file, a fork child that maps the files it inherited, an execve that
 * closes the O_CLOEXEC ones (the new image maps the one it kept), and a
 * /dev/shm file opened again through /proc/self/fd (one inode: a size set
 * through either open file is the other's).
 *
 * Build: gcc -O1 -Wall -o memfd_fds memfd_fds.c
 * Run:   strace -f -y -e 'trace=!read,write' -o LOG ./memfd_fds
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

#define PS 4096L

/* The new image: fd `kept` is the memfd without O_CLOEXEC. */
static int after_exec(int kept) {
  void* p = mmap(NULL, 2 * PS, PROT_READ, MAP_SHARED, kept, 0);
  if (p == MAP_FAILED) return 1;
  madvise(p, 4 * PS, MADV_POPULATE_READ); /* the file is 2 pages: EFAULT... */
  return madvise(p, 2 * PS, MADV_POPULATE_READ) == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--after-exec") == 0) return after_exec(atoi(argv[2]));
  char path[64];
  snprintf(path, sizeof path, "/dev/shm/vmseal-memfd-fds.%d", (int)getpid());
  int shm = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (shm < 0) return 2;
  unlink(path);
  snprintf(path, sizeof path, "/proc/self/fd/%d", shm);
  int again = open(path, O_RDWR | O_CLOEXEC);
  ftruncate(again, 2 * PS);
  char* m = mmap(NULL, 4 * PS, PROT_READ, MAP_SHARED, shm, 0);
  madvise(m, 4 * PS, MADV_POPULATE_READ); /* EFAULT: pages 2 and 3 are beyond the end */
  madvise(m, 2 * PS, MADV_POPULATE_READ);
  munmap(m, 4 * PS);

  int a = memfd_create("a", MFD_ALLOW_SEALING | MFD_CLOEXEC);
  int b = memfd_create("b", MFD_ALLOW_SEALING);
  int s = (int)syscall(SYS_memfd_secret, 0);
  if (a < 0 || b < 0) return 2;
  int a2 = dup(a);
  int a3 = dup3(a, 20, O_CLOEXEC);
  int a4 = fcntl(a, F_DUPFD_CLOEXEC, 30);
  ftruncate(a2, PS);
  pwrite(a3, "x", 1, 3 * PS); /* grows a to 4 pages */
  char* p = mmap(NULL, 4 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, a4, 0);
  madvise(p, 4 * PS, MADV_POPULATE_WRITE);
  fcntl(a2, F_ADD_SEALS, F_SEAL_WRITE); /* EBUSY: p */
  munmap(p, 4 * PS);
  fcntl(a3, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK);
  fcntl(a, F_GET_SEALS);
  mmap(NULL, PS, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0); /* EPERM */
  ftruncate(a4, PS);                                        /* EPERM: shrink */
  close(a2);
  close(a3);

  ftruncate(b, 2 * PS);
  if (s >= 0) ftruncate(s, 2 * PS);
  pid_t pid = fork();
  if (pid == 0) {
    char* q = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
    fcntl(b, F_ADD_SEALS, F_SEAL_FUTURE_WRITE);
    mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0); /* EPERM */
    mprotect(q, 2 * PS, PROT_READ);
    mprotect(q, 2 * PS, PROT_READ | PROT_WRITE); /* mapped before the seal */
    if (s >= 0) {
      char* r = mmap(NULL, 2 * PS, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
      mlock(r, PS);                                 /* ENOMEM */
      munlock(r, PS);                               /* stays locked */
      mmap(NULL, PS, PROT_READ, MAP_PRIVATE, s, 0); /* EINVAL */
    }
    _exit(0);
  }
  waitpid(pid, NULL, 0);
  char kept[16];
  snprintf(kept, sizeof kept, "%d", b);
  char* args[] = {argv[0], "--after-exec", kept, NULL};
  execv("/proc/self/exe", args);
  return 3;
}
