#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/shm.h>
static void *thr(void *a) {
  for (int i = 0; i < 4; i++) {
    void *p = mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
    mprotect(p, 4096, PROT_READ);
    munmap(p, 8192);
  }
  usleep(20000);
  return a;
}
int main(void) {
  void *p = mmap(NULL, 4096*4, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
  long r = syscall(462, p, 4096, 0);
  printf("mseal %ld\n", r);
  r = syscall(462, (char*)p+1, 4096, 0);
  r = syscall(462, p, 4096, 1);
  munmap(p, 4096);
  mprotect(p, 4096, PROT_NONE);
  mremap((char*)p+4096, 4096, 8192, MREMAP_MAYMOVE);
  madvise((char*)p+8192, 4096, MADV_DONTNEED);
  madvise((char*)p+8192, 4096, 103);
  madvise((char*)p+8192, 4096, 25);
  mlockall(MCL_CURRENT|MCL_FUTURE|4);
  munlockall();
  mlock2(p, 4096, MLOCK_ONFAULT);
  int fd = memfd_create("myname", 0);
  ftruncate(fd, 8192);
  void *q = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
  mmap(q, 4096, PROT_READ, MAP_SHARED|MAP_FIXED, fd, 0);
  mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE|MAP_SYNC, fd, 0);
  mmap(NULL, 1<<21, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|(21<<26), -1, 0);
  mmap(q, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE|MAP_NORESERVE|MAP_POPULATE|MAP_STACK|MAP_GROWSDOWN|0x40000, -1, 0);
  mmap(NULL, 4096, PROT_READ|PROT_WRITE|PROT_EXEC|0x8|PROT_GROWSDOWN, MAP_PRIVATE|MAP_ANONYMOUS|0x08, -1, 0);
  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|0x400000, -1, 0);
  int fd2 = open("/tmp/st/file with space", O_RDWR|O_CREAT, 0600);
  write(fd2, "hello \"world\"\n\t\001xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 70);
  mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, 0);
  close(fd);
  unlink("/tmp/st/file with space");
  mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, 0);
  int sid = shmget(IPC_PRIVATE, 4096, IPC_CREAT|0600);
  void *s = shmat(sid, NULL, SHM_RDONLY);
  shmdt(s);
  shmat(sid, (void*)0x10000, SHM_RND|SHM_REMAP|SHM_EXEC);
  shmctl(sid, IPC_RMID, NULL);
  pkey_mprotect(p, 4096, PROT_READ, 0);
  int k = syscall(SYS_pkey_alloc, 0, PKEY_DISABLE_ACCESS|PKEY_DISABLE_WRITE);
  (void)k;
  mmap((void*)-1, (size_t)-1, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0);
  mremap(p, 4096, 4096, MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP, (char*)p + 65536);
  pthread_t t1, t2;
  pthread_create(&t1, 0, thr, 0);
  pthread_create(&t2, 0, thr, 0);
  pthread_join(t1, 0); pthread_join(t2, 0);
  pid_t c = fork();
  if (c == 0) { *(volatile int*)0 = 1; }
  waitpid(c, 0, 0);
  c = fork();
  if (c == 0) { pause(); }
  usleep(10000);
  kill(c, SIGKILL);
  waitpid(c, 0, 0);
  c = fork();
  if (c == 0) { _exit(3); }
  waitpid(c, 0, 0);
  return 0;
}
