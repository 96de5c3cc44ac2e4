#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/shm.h>
#include <unistd.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
static void *thr(void *a) {
  for (int i = 0; i < 3; i++) {
    void *p = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
    mprotect(p, 4096, PROT_READ);
    syscall(462, p, 4096, 0);
    munmap(p, 8192);
  }
  return a;
}
int main(void) {
  char *p = mmap(NULL, 4096*4, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
  syscall(462, p, 4096, 0);
  syscall(462, p + 1, 4096, 0);
  munmap(p, 4096);
  mprotect(p, 4096, PROT_NONE);
  madvise(p, 4096, MADV_DONTNEED);
  mremap(p + 4096, 4096, 8192, MREMAP_MAYMOVE);
  int fd = memfd_create("seal me", 0);
  ftruncate(fd, 8192);
  mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
  close(fd);
  int z = open("/dev/zero", O_RDONLY);
  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, z, 0);
  mmap((void*)-1, (size_t)-1, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0);
  pthread_t t1, t2;
  pthread_create(&t1, 0, thr, 0);
  pthread_create(&t2, 0, thr, 0);
  pthread_join(t1, 0); pthread_join(t2, 0);
  pid_t c = fork();
  if (c == 0) { *(volatile int*)0 = 1; }
  waitpid(c, 0, 0);
  c = fork();
  if (c == 0) { pause(); }
  usleep(20000);
  kill(c, SIGKILL);
  waitpid(c, 0, 0);
  return 0;
}
