/* userfaultfd as the simulator sees it: registrations whose later effects
 * show in return values (EBUSY from another context, EINVAL through the
 * wrong one, a multi-VMA mremap that stops with EFAULT at an armed VMA, an
 * armed VMA that moves alone and is no longer armed), the
 * context released by the last close (dup, a forked child's copy), a child
 * that registers through its inherited fd in its parent's mm, and what an
 * unprivileged user may open. Traced for tests/trace/process_state_test.cpp
 * (README.md here has the commands). Exit status 0 whoever runs it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PS 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define FIXED (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

static char* base;

static int uffd(int flags, uint64_t features) {
  int fd = (int)syscall(SYS_userfaultfd, flags);
  if (fd < 0) return fd;
  struct uffdio_api api = {.api = UFFD_API, .features = features};
  ioctl(fd, UFFDIO_API, &api);
  return fd;
}
static long reg(int fd, long from, long to, uint64_t mode) {
  struct uffdio_register r = {.range = {(uintptr_t)(base + from * PS), (to - from) * PS},
                              .mode = mode};
  return ioctl(fd, UFFDIO_REGISTER, &r);
}
static long unreg(int fd, long from, long to) {
  struct uffdio_range r = {(uintptr_t)(base + from * PS), (to - from) * PS};
  return ioctl(fd, UFFDIO_UNREGISTER, &r);
}
static void anon(long from, long to, int prot) {
  mmap(base + from * PS, (to - from) * PS, prot, FIXED, -1, 0);
}
/* A MREMAP_FIXED move of pages [from, to) to page 32 and back when it
 * worked: EFAULT at an armed VMA that is not alone. */
static void trial(long from, long to) {
  void* r = mremap(base + from * PS, (to - from) * PS, (to - from) * PS,
                   MREMAP_MAYMOVE | MREMAP_FIXED, base + 32 * PS);
  if (r != MAP_FAILED)
    mremap(r, (to - from) * PS, (to - from) * PS, MREMAP_MAYMOVE | MREMAP_FIXED, base + from * PS);
}

int main(void) {
  base = mmap(NULL, 64 * PS, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(base, 64 * PS);
  anon(0, 8, RW);
  syscall(SYS_userfaultfd, 0x10); /* EINVAL */
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  int user = fd < 0; /* no CAP_SYS_PTRACE and vm.unprivileged_userfaultfd 0: EPERM */
  int mode_only = user ? UFFD_USER_MODE_ONLY : 0;
  if (user) fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | mode_only);
  reg(fd, 0, 2, UFFDIO_REGISTER_MODE_MISSING); /* EINVAL: before UFFDIO_API */
  struct uffdio_api api = {.api = UFFD_API, .features = UFFD_FEATURE_EVENT_FORK};
  ioctl(fd, UFFDIO_API, &api); /* EPERM for the user, else 0 */
  api.api = UFFD_API;          /* a failed UFFDIO_API zeroes the structure */
  api.features = 0;
  ioctl(fd, UFFDIO_API, &api); /* 0 for the user, else EINVAL (a second API) */

  reg(fd, 2, 4, UFFDIO_REGISTER_MODE_MISSING);                                 /* [2-4 um] */
  reg(fd, 4, 6, UFFDIO_REGISTER_MODE_MINOR);                                   /* EINVAL: anon */
  reg(fd, 4, 6, UFFDIO_REGISTER_MODE_WP | UFFDIO_REGISTER_MODE_MISSING);       /* [4-6 um uw] */
  mremap(base, 8 * PS, 8 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, base + 32 * PS); /* EFAULT at [2-4] */
  mremap(base + 32 * PS, 2 * PS, 2 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, base); /* [0-2] back */
  trial(2, 8); /* EFAULT: the armed VMA first, more after it */
  int other = uffd(O_CLOEXEC | mode_only, 0);
  reg(other, 0, 4, UFFDIO_REGISTER_MODE_MISSING); /* EBUSY at [2-4] */
  reg(other, 6, 8, UFFDIO_REGISTER_MODE_MISSING);
  unreg(other, 2, 4);                     /* EINVAL: fd's VMA */
  unreg(fd, 4, 6);                        /* [4-6] plain again */
  trial(4, 6);                            /* alone and plain: moved and back */
  mprotect(base + 2 * PS, PS, PROT_READ); /* [2-3 r um][3-4 rw um] */
  mprotect(base + 2 * PS, PS, RW);        /* merged again */
  int copy = dup(fd);
  close(fd);   /* copy keeps the context */
  trial(2, 6); /* EFAULT */
  close(copy); /* released: [0-6] one VMA */
  trial(2, 6); /* moved and back */
  unreg(other, 6, 8);

  /* A forked child holds the last reference to a context of its parent's. */
  fd = uffd(O_CLOEXEC | mode_only, 0);
  reg(fd, 2, 4, UFFDIO_REGISTER_MODE_MISSING);
  int p[2], q[2];
  char c;
  pipe2(p, O_CLOEXEC);
  pipe2(q, O_CLOEXEC);
  pid_t child = fork();
  if (child == 0) {
    close(p[1]);
    close(q[0]);
    trial(0, 4);                            /* the child's [2-4] is not registered */
    reg(fd, 4, 6, UFFDIO_REGISTER_MODE_WP); /* in the parent's mm */
    write(q[1], "r", 1);
    read(p[0], &c, 1); /* until the parent closes its end */
    _exit(0);
  }
  close(p[0]);
  close(q[1]);
  close(fd);
  read(q[0], &c, 1);
  trial(4, 8); /* EFAULT at the child's registration, [4-6] */
  close(p[1]);
  waitpid(child, NULL, 0);                        /* the context goes with the child */
  trial(2, 8);                                    /* moved and back */
  reg(other, 0, 8, UFFDIO_REGISTER_MODE_MISSING); /* [0-8 um]: one VMA */
  trial(0, 8); /* an armed VMA alone moves (and loses its registration) */
  reg(other, 0, 4, UFFDIO_REGISTER_MODE_MISSING);
  trial(0, 8); /* EFAULT at once */
  munmap(base + 2 * PS, 2 * PS);
  unreg(other, 2, 4);                             /* EINVAL: no VMA there */
  reg(other, 0, 8, UFFDIO_REGISTER_MODE_MISSING); /* a hole: still 0 */
  return 0;
}
