/*
 * uffd.c: what userfaultfd(2) and its UFFDIO_API, UFFDIO_REGISTER and
 * UFFDIO_UNREGISTER ioctls do to VMAs on the real kernel, case by case, in
 * the notation of reference_cases.c (tests/kernel/probe.h): the VmFlags
 * mnemonics um (VM_UFFD_MISSING), uw (VM_UFFD_WP) and ui (VM_UFFD_MINOR),
 * splits and merges, and what mremap, fork, execve and closing the fd do to
 * a registration.
 *
 * Build: gcc -O1 -Wall -o uffd uffd.c
 * Check: tests/kernel/run_probe.sh uffd (diffs against tests/data/uffd.expected;
 *        tests/engine/uffd_test.cpp replays the same cases in the engine
 *        against the same file).
 * Exit 77 (SKIP) unless run as root (u12 drops to an unprivileged user, u7
 * asks for UFFD_FEATURE_EVENT_FORK, which needs CAP_SYS_PTRACE) on a kernel
 * with userfaultfd and mseal.
 *
 * Each case runs in its own forked child. A uffd is made with
 * userfaultfd(O_CLOEXEC|O_NONBLOCK) and UFFDIO_API unless the case says
 * otherwise; nothing ever faults on a registered page.
 *  u1  the syscall and the handshake: unknown flags EINVAL; REGISTER and
 *      UNREGISTER before UFFDIO_API EINVAL; API with a wrong api or an
 *      unknown feature EINVAL (and the ctx stays unready); a second API EINVAL.
 *  u2  modes on private anonymous memory: MISSING um, WP uw, both; MINOR
 *      EINVAL; mode 0 and unknown mode bits EINVAL; registering again with a
 *      subset is a no-op, with another mode replaces the mode.
 *  u3  the range: unaligned start or length, length 0, below mmap_min_addr,
 *      beyond TASK_SIZE: EINVAL; no VMA in the range EINVAL; holes inside
 *      the range are allowed (the VMAs in it are registered).
 *  u4  memory types: shared anonymous (shmem) and memfd (shared and
 *      private) take all three modes; /dev/zero private is anonymous; a
 *      regular file EINVAL; a read-only shared memfd EPERM (no VM_MAYWRITE);
 *      a range over anon and file EINVAL with nothing changed.
 *  u5  splits and merges: a sub-range splits, UNREGISTER merges back; a
 *      registered VMA does not merge with a new neighbour; registering the
 *      neighbour with the same ctx merges; mprotect splits and merges keep
 *      the registration.
 *  u6  two contexts: EBUSY over the other's VMA (nothing changed);
 *      UNREGISTER through the other ctx EINVAL; adjacent VMAs of two
 *      contexts do not merge.
 *  u7  fork: the child's VMAs lose the registration (and stay split) unless
 *      the ctx has UFFD_FEATURE_EVENT_FORK; a child registering through the
 *      inherited fd registers in the parent's mm.
 *  u8  closing the uffd unregisters every VMA of its ctx and merges them
 *      back; a dup()ed fd keeps it alive until the last close, and so does
 *      a forked child's copy of the fd until the child exits.
 *  u9  a sealed VMA can be registered and unregistered (and is split).
 *  u10 mremap: growth in place and shrink keep the registration; a move
 *      clears it at the destination (without UFFD_FEATURE_EVENT_REMAP),
 *      after the merge there was tried: a merged neighbour of the same ctx
 *      loses it too, a fresh mergeable neighbour stays separate;
 *      MREMAP_DONTUNMAP keeps it on the source; a multi-VMA MREMAP_FIXED
 *      move stops with EFAULT at an armed VMA after the ones before moved,
 *      and refuses an armed first VMA with more (or a hole) after it up
 *      front.
 *  u11 with UFFD_FEATURE_EVENT_REMAP a moved VMA stays registered; a
 *      multi-VMA move is still EFAULT.
 *  u12 an unprivileged user (vm.unprivileged_userfaultfd = 0, else the
 *      case is skipped): EPERM without UFFD_USER_MODE_ONLY, allowed with
 *      it; EVENT_FORK EPERM (no CAP_SYS_PTRACE), and the ctx stays unready.
 *  u13 execve keeps the fd; REGISTER and UNREGISTER through it in the new
 *      image are EINVAL: the ctx's mm (the old one) has no VMAs left.
 *  u14 munmap of a part of a registered VMA; MAP_FIXED over it.
 */
#include "probe.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#ifndef SYS_userfaultfd
#define SYS_userfaultfd 323
#endif
#ifndef SYS_memfd_create
#define SYS_memfd_create 319
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

/* include/uapi/linux/userfaultfd.h, without depending on the installed one. */
#define UFFD_API_VERSION 0xAAULL
#define UFFD_USER_MODE_ONLY 1
#define FEAT_EVENT_FORK (1ULL << 1)
#define FEAT_EVENT_REMAP (1ULL << 2)
#define MODE_MISSING 1ULL
#define MODE_WP 2ULL
#define MODE_MINOR 4ULL
struct u_range {
  uint64_t start, len;
};
struct u_api {
  uint64_t api, features, ioctls;
};
struct u_register {
  struct u_range range;
  uint64_t mode, ioctls;
};
struct u_msg {
  uint8_t event, r1;
  uint16_t r2;
  uint32_t r3;
  uint64_t a0, a1, a2;
};
#define UFFDIO_API_CMD _IOWR(0xAA, 0x3F, struct u_api)
#define UFFDIO_REGISTER_CMD _IOWR(0xAA, 0x00, struct u_register)
#define UFFDIO_UNREGISTER_CMD _IOR(0xAA, 0x01, struct u_range)
#define EVENT_FORK 0x13

#define R PROT_READ
#define RW (PROT_READ | PROT_WRITE)
#define FIXED (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

static long x_uffd(long flags) { return sc_ret(syscall(SYS_userfaultfd, flags)); }
static long x_api(int fd, uint64_t api, uint64_t features) {
  struct u_api a = {api, features, 0};
  return sc_ret(syscall(SYS_ioctl, fd, UFFDIO_API_CMD, &a));
}
static long x_reg(int fd, long from, long to, uint64_t mode) {
  struct u_register r = {{P(from), (to - from) * PS}, mode, 0};
  return sc_ret(syscall(SYS_ioctl, fd, UFFDIO_REGISTER_CMD, &r));
}
static long x_reg_raw(int fd, uint64_t start, uint64_t len, uint64_t mode) {
  struct u_register r = {{start, len}, mode, 0};
  return sc_ret(syscall(SYS_ioctl, fd, UFFDIO_REGISTER_CMD, &r));
}
static long x_unreg(int fd, long from, long to) {
  struct u_range r = {P(from), (to - from) * PS};
  return sc_ret(syscall(SYS_ioctl, fd, UFFDIO_UNREGISTER_CMD, &r));
}

/* A ready uffd (userfaultfd + UFFDIO_API with `features`). */
static int new_uffd(uint64_t features) {
  long fd = x_uffd(O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail(__LINE__, "userfaultfd", fd);
  OK(x_api((int)fd, UFFD_API_VERSION, features));
  return (int)fd;
}

static long memfd(void) { return sc_ret(syscall(SYS_memfd_create, "uffd", 0)); }

/* MAP_FIXED of `fd` at pages [from, to). */
static void map_fd(long from, long to, int prot, int flags, int fd) {
  CHECK(x_mmap(P(from), (to - from) * PS, prot, flags | MAP_FIXED, fd, 0), r_ == (long)P(from));
}

/* ---------------------------------------------------------------- monitor */

/*
 * A process that reads the uffd's event messages, as a monitor must for
 * UFFD_FEATURE_EVENT_FORK and _EVENT_REMAP (the call that raises the event
 * waits until it is read). It keeps the fds UFFD_EVENT_FORK hands it open,
 * and exits when the case closes the pipe.
 */
static long monitor_pid;
static int monitor_pipe = -1;

static void start_monitor(int uffd) {
  int p[2];
  OK(sc_ret(syscall(SYS_pipe2, p, O_CLOEXEC)));
  monitor_pid = syscall(SYS_fork);
  CHECK(monitor_pid, monitor_pid >= 0);
  if (monitor_pid == 0) {
    x_close(p[1]);
    for (;;) {
      struct pollfd fds[2] = {{uffd, POLLIN, 0}, {p[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) _exit(1);
      if (fds[0].revents & POLLIN) {
        struct u_msg m;
        while (syscall(SYS_read, uffd, &m, sizeof m) == (long)sizeof m) {
        }
      }
      if (fds[1].revents) _exit(0);
    }
  }
  x_close(p[0]);
  monitor_pipe = p[1];
}

static void stop_monitor(void) {
  x_close(monitor_pipe);
  int st = 0;
  syscall(SYS_wait4, monitor_pid, &st, 0, NULL);
}

/* In a forked child: `fn`, then exit; the parent waits for it. */
static void in_child(void (*fn)(void)) {
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) {
    fn();
    _exit(0);
  }
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    outf("%s: forked child failed (status 0x%x)\n", cur_case, st);
  step++; /* the child's one observation */
}

/* ------------------------------------------------------------------ cases */

static void u1(void) {
  region(4);
  anon(0, 4, RW);
  obs_ret(x_uffd(0x10));
  long fd = x_uffd(O_CLOEXEC | O_NONBLOCK);
  obs_ret(fd);
  obs_ret(x_reg((int)fd, 0, 4, MODE_MISSING));
  obs_ret(x_unreg((int)fd, 0, 4));
  obs_ret(x_api((int)fd, 0xAB, 0));
  obs_ret(x_api((int)fd, UFFD_API_VERSION, 1ULL << 40));
  obs_ret(x_reg((int)fd, 0, 4, MODE_MISSING));
  obs_ret(x_api((int)fd, UFFD_API_VERSION, 0));
  obs_ret(x_api((int)fd, UFFD_API_VERSION, 0));
  obs_ret(x_reg((int)fd, 0, 4, MODE_MISSING));
  obs_ret(x_uffd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY));
}

static void u2(void) {
  region(8);
  anon(0, 8, RW);
  int fd = new_uffd(0);
  obs_ret(x_reg(fd, 0, 2, MODE_MISSING));
  obs_ret(x_reg(fd, 2, 4, MODE_WP));
  obs_ret(x_reg(fd, 4, 6, MODE_MISSING | MODE_WP));
  obs_ret(x_reg(fd, 6, 8, MODE_MINOR));
  obs_ret(x_reg(fd, 6, 8, 0));
  obs_ret(x_reg(fd, 6, 8, 8));
  obs_ret(x_reg(fd, 6, 8, MODE_MISSING | MODE_MINOR));
  obs_ret(x_reg(fd, 4, 6, MODE_MISSING));
  obs_ret(x_reg(fd, 0, 2, MODE_WP));
  obs_ret(x_reg(fd, 0, 4, MODE_WP));
  obs_ret(x_unreg(fd, 0, 8));
}

static void u3(void) {
  region(10);
  anon(2, 4, RW);
  anon(6, 8, RW);
  int fd = new_uffd(0);
  obs_ret(x_reg_raw(fd, P(2) + 1, PS, MODE_MISSING));
  obs_ret(x_reg_raw(fd, P(2), PS + 1, MODE_MISSING));
  obs_ret(x_reg_raw(fd, P(2), 0, MODE_MISSING));
  obs_ret(x_reg_raw(fd, 0x1000, PS, MODE_MISSING));
  obs_ret(x_reg_raw(fd, 0x7ffffffff000UL, PS, MODE_MISSING));
  obs_ret(x_reg_raw(fd, 0x7fffffffe000UL, 2 * PS, MODE_MISSING));
  obs_ret(x_reg(fd, 0, 2, MODE_MISSING));
  obs_ret(x_reg(fd, 4, 6, MODE_MISSING));
  obs_ret(x_reg(fd, 1, 10, MODE_MISSING));
  obs_ret(x_unreg(fd, 0, 7));
  obs_ret(x_unreg(fd, 8, 10));
  obs_ret(x_unreg(fd, 0, 10));
}

static void u4(void) {
  region(18);
  int fd = new_uffd(0);
  CHECK(x_mmap(P(0), 2 * PS, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0), r_ == (long)P(0));
  long mfd = memfd();
  CHECK(mfd, mfd >= 0);
  OK(sc_ret(syscall(SYS_ftruncate, mfd, 16 * PS)));
  map_fd(2, 4, RW, MAP_SHARED, (int)mfd);
  map_fd(4, 6, RW, MAP_PRIVATE, (int)mfd);
  long zfd = x_open("/dev/zero", O_RDWR);
  CHECK(zfd, zfd >= 0);
  map_fd(6, 8, RW, MAP_PRIVATE, (int)zfd);
  long efd = x_open("/proc/self/exe", O_RDONLY);
  CHECK(efd, efd >= 0);
  map_fd(8, 10, R, MAP_PRIVATE, (int)efd);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%ld", mfd);
  long rofd = x_open(path, O_RDONLY);
  CHECK(rofd, rofd >= 0);
  map_fd(10, 12, R, MAP_SHARED, (int)rofd);
  anon(12, 14, RW);
  obs_ret(x_reg(fd, 0, 2, MODE_MINOR));
  obs_ret(x_reg(fd, 2, 4, MODE_MISSING | MODE_WP | MODE_MINOR));
  obs_ret(x_reg(fd, 4, 6, MODE_MINOR));
  obs_ret(x_reg(fd, 6, 8, MODE_WP));
  obs_ret(x_reg(fd, 8, 10, MODE_MISSING));
  obs_ret(x_reg(fd, 8, 10, MODE_WP));
  obs_ret(x_reg(fd, 10, 12, MODE_MISSING));
  obs_ret(x_reg(fd, 10, 12, MODE_MINOR));
  obs_ret(x_reg(fd, 12, 14, MODE_MINOR));
  obs_ret(x_reg(fd, 6, 10, MODE_MISSING));
  obs_ret(x_reg(fd, 12, 16, MODE_MISSING));
  obs_ret(x_unreg(fd, 0, 8));
  obs_ret(x_unreg(fd, 8, 10));
  obs_ret(x_unreg(fd, 12, 14));
  CHECK(x_mmap(P(14), 2 * PS, RW, MAP_DROPPABLE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
        r_ == (long)P(14));
  obs_ret(x_reg(fd, 14, 16, MODE_MISSING));
  long id = sc_ret(syscall(SYS_shmget, IPC_PRIVATE, 2 * PS, IPC_CREAT | 0600));
  CHECK(id, id >= 0);
  CHECK(sc_ret(syscall(SYS_shmat, id, P(16), 0)), r_ == (long)P(16));
  OK(sc_ret(syscall(SYS_shmctl, id, IPC_RMID, NULL)));
  obs_ret(x_reg(fd, 16, 18, MODE_MISSING));
}

static void u5(void) {
  region(12);
  anon(0, 8, RW);
  int fd = new_uffd(0);
  obs_ret(x_reg(fd, 2, 4, MODE_MISSING));
  obs_ret(x_unreg(fd, 2, 4));
  obs_ret(x_reg(fd, 0, 4, MODE_MISSING));
  anon(8, 10, RW);
  obs_ret(x_reg(fd, 4, 8, MODE_MISSING));
  obs_ret(x_reg(fd, 8, 10, MODE_WP));
  obs_ret(x_reg(fd, 8, 10, MODE_MISSING));
  obs_ret(x_mprotect(P(2), 2 * PS, R));
  obs_ret(x_mprotect(P(2), 2 * PS, RW));
  obs_ret(x_unreg(fd, 3, 5));
  obs_ret(x_unreg(fd, 0, 3));
  obs_ret(x_unreg(fd, 5, 10));
}

static void u6(void) {
  region(10);
  anon(0, 8, RW);
  long efd = x_open("/proc/self/exe", O_RDONLY);
  CHECK(efd, efd >= 0);
  map_fd(8, 10, R, MAP_PRIVATE, (int)efd);
  int a = new_uffd(0);
  int b = new_uffd(0);
  obs_ret(x_reg(a, 0, 4, MODE_MISSING));
  obs_ret(x_reg(b, 2, 6, MODE_MISSING));
  obs_ret(x_reg(b, 4, 6, MODE_MISSING));
  obs_ret(x_unreg(b, 0, 2));
  obs_ret(x_unreg(b, 4, 8));
  obs_ret(x_reg(b, 2, 10, MODE_MISSING));
  obs_ret(x_reg(b, 6, 10, MODE_MISSING));
  obs_ret(x_reg(a, 4, 6, MODE_MISSING));
  obs_ret(x_unreg(a, 0, 8));
  obs_ret(x_unreg(b, 0, 8));
}

static int u7_fd;

static void u7_child(void) { obs_ret(x_reg(u7_fd, 6, 8, MODE_MISSING)); }
static void u7_look(void) { obs_ret(0); }

static void u7(void) {
  region(8);
  anon(0, 8, RW);
  u7_fd = new_uffd(0);
  OK(x_reg(u7_fd, 0, 4, MODE_MISSING));
  OK(x_reg(u7_fd, 4, 6, MODE_WP));
  in_child(u7_look);
  in_child(u7_child);
  obs_ret(0);
  /* The same with UFFD_FEATURE_EVENT_FORK (a monitor, forked before the
   * registration, reads the event). */
  OK(x_unreg(u7_fd, 0, 8));
  x_close(u7_fd);
  int fd = new_uffd(FEAT_EVENT_FORK);
  start_monitor(fd);
  OK(x_reg(fd, 0, 4, MODE_MISSING));
  OK(x_reg(fd, 4, 6, MODE_WP));
  in_child(u7_look);
  stop_monitor();
}

static void u8(void) {
  region(8);
  anon(0, 8, RW);
  int fd = new_uffd(0);
  OK(x_reg(fd, 0, 2, MODE_MISSING));
  OK(x_reg(fd, 4, 6, MODE_WP));
  obs_ret(x_close(fd));
  fd = new_uffd(0);
  long fd2 = sc_ret(syscall(SYS_dup, fd));
  CHECK(fd2, fd2 >= 0);
  obs_ret(x_reg((int)fd2, 2, 4, MODE_MISSING));
  obs_ret(x_close(fd));
  obs_ret(x_close((int)fd2));
  /* A forked child holds the last reference: its exit releases the ctx. */
  fd = new_uffd(0);
  OK(x_reg(fd, 4, 6, MODE_MISSING));
  int p[2];
  OK(sc_ret(syscall(SYS_pipe2, p, O_CLOEXEC)));
  long pid = syscall(SYS_fork);
  CHECK(pid, pid >= 0);
  if (pid == 0) {
    char c;
    x_close(p[1]);
    syscall(SYS_read, p[0], &c, 1);
    _exit(0);
  }
  x_close(p[0]);
  obs_ret(x_close(fd));
  x_close(p[1]);
  int st = 0;
  syscall(SYS_wait4, pid, &st, 0, NULL);
  obs_ret(0);
}

static void u9(void) {
  region(8);
  anon(0, 8, RW);
  OK(x_mseal(P(0), 4 * PS, 0));
  int fd = new_uffd(0);
  obs_ret(x_reg(fd, 2, 6, MODE_MISSING));
  obs_ret(x_unreg(fd, 3, 6));
  obs_ret(x_close(fd));
}

#define MOVE (MREMAP_MAYMOVE | MREMAP_FIXED)
#define DONTUNMAP 4

static void u10(void) {
  region(40);
  int fd = new_uffd(0);
  anon(0, 4, RW);
  OK(x_reg(fd, 0, 4, MODE_MISSING));
  obs_addr(x_mremap(P(0), 4 * PS, 6 * PS, 0, 0));
  obs_addr(x_mremap(P(0), 6 * PS, 3 * PS, 0, 0));
  obs_addr(x_mremap(P(0), 3 * PS, 3 * PS, MOVE, P(10)));
  obs_ret(x_unreg(fd, 10, 13));
  /* DONTUNMAP: the source stays registered; the destination? */
  OK(x_reg(fd, 10, 13, MODE_WP));
  obs_addr(x_mremap(P(10), 3 * PS, 3 * PS, MOVE | DONTUNMAP, P(20)));
  OK(x_munmap(P(10), 13 * PS));
  /* Multi-VMA: [0-2][2-4 um][4-6] moved to 30: the first moves, then EFAULT. */
  anon(0, 2, RW);
  anon(2, 4, R);
  anon(4, 6, RW);
  OK(x_reg(fd, 2, 4, MODE_MISSING));
  obs_addr(x_mremap(P(0), 6 * PS, 6 * PS, MOVE, P(30)));
  /* The armed VMA first, more after it: EFAULT, nothing moved. */
  obs_addr(x_mremap(P(2), 4 * PS, 4 * PS, MOVE, P(30)));
  /* The armed VMA first, a hole after it: EFAULT too. */
  OK(x_munmap(P(4), 2 * PS));
  obs_addr(x_mremap(P(2), 4 * PS, 4 * PS, MOVE, P(10)));
  /* Alone: moved, and no longer registered. */
  obs_addr(x_mremap(P(2), 2 * PS, 2 * PS, MOVE, P(10)));
  OK(x_munmap(P(0), 40 * PS));
  /* Unfaulted, moved next to a fresh VMA it could merge with: cleared, but
   * after the merge attempt. */
  anon(0, 2, RW);
  anon(12, 14, RW);
  OK(x_reg(fd, 0, 2, MODE_MISSING));
  obs_addr(x_mremap(P(0), 2 * PS, 2 * PS, MOVE, P(10)));
  /* Moved next to a VMA of the same ctx and mode: merged with it, then the
   * whole merged VMA is cleared. */
  anon(20, 22, RW);
  anon(24, 26, RW);
  OK(x_reg(fd, 20, 22, MODE_MISSING));
  OK(x_reg(fd, 24, 26, MODE_MISSING));
  obs_addr(x_mremap(P(20), 2 * PS, 2 * PS, MOVE, P(22)));
}

static void u11(void) {
  region(30);
  int fd = new_uffd(FEAT_EVENT_REMAP);
  start_monitor(fd);
  anon(0, 4, RW);
  OK(x_reg(fd, 0, 4, MODE_MISSING));
  obs_addr(x_mremap(P(0), 4 * PS, 4 * PS, MOVE, P(10)));
  obs_addr(x_mremap(P(10), 4 * PS, 8 * PS, MREMAP_MAYMOVE, 0));
  anon(0, 2, RW);
  anon(2, 4, R);
  OK(x_reg(fd, 2, 4, MODE_MISSING));
  obs_addr(x_mremap(P(0), 4 * PS, 4 * PS, MOVE, P(20)));
  stop_monitor();
}

static void u12_user(void) {
  obs_ret(sc_ret(syscall(SYS_setresgid, 65534, 65534, 65534)));
  obs_ret(sc_ret(syscall(SYS_setresuid, 65534, 65534, 65534)));
  obs_ret(x_uffd(O_CLOEXEC | O_NONBLOCK));
  long fd = x_uffd(O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  obs_ret(fd);
  obs_ret(x_api((int)fd, UFFD_API_VERSION, FEAT_EVENT_FORK));
  obs_ret(x_api((int)fd, UFFD_API_VERSION, FEAT_EVENT_REMAP));
  obs_ret(x_reg((int)fd, 0, 2, MODE_MISSING));
}

/* vm.unprivileged_userfaultfd, or -1. */
static int unprivileged_sysctl(void) {
  char buf[8] = {0};
  long fd = x_open("/proc/sys/vm/unprivileged_userfaultfd", O_RDONLY);
  if (fd < 0) return -1;
  long n = syscall(SYS_read, fd, buf, sizeof buf - 1);
  x_close((int)fd);
  return n > 0 ? buf[0] - '0' : -1;
}

static void u12(void) {
  int sysctl = unprivileged_sysctl();
  if (sysctl != 0) {
    outf("u12: skipped (vm.unprivileged_userfaultfd is %d, the expectations are for 0)\n", sysctl);
    return;
  }
  region(4);
  anon(0, 4, RW);
  in_child(u12_user);
}

static const char* self_exe;

static void u13(void) {
  region(2);
  long fd = x_uffd(O_NONBLOCK);
  CHECK(fd, fd == 3);
  OK(x_api((int)fd, UFFD_API_VERSION, 0));
  exec_self(self_exe, "--exec-register");
}

static void u14(void) {
  region(8);
  anon(0, 8, RW);
  int fd = new_uffd(0);
  OK(x_reg(fd, 0, 8, MODE_MISSING));
  obs_ret(x_munmap(P(2), 2 * PS));
  obs_addr(x_mmap(P(5), PS, RW, FIXED, -1, 0));
  obs_addr(x_mmap(P(2), 2 * PS, RW, FIXED, -1, 0));
  obs_ret(x_reg(fd, 2, 4, MODE_MISSING));
}

static const struct tcase cases[] = {
    {"u1", u1}, {"u2", u2}, {"u3", u3},   {"u4", u4},   {"u5", u5},   {"u6", u6},   {"u7", u7},
    {"u8", u8}, {"u9", u9}, {"u10", u10}, {"u11", u11}, {"u12", u12}, {"u13", u13}, {"u14", u14},
};

/* 0 if this kernel has userfaultfd and the probe runs as root, else SKIP (77). */
static int probe_uffd(void) {
  if (geteuid() != 0) {
    outf(
        "SKIP: uffd needs root (its cases drop to an unprivileged user and ask for "
        "UFFD_FEATURE_EVENT_FORK)\n");
    return 77;
  }
  long fd = x_uffd(O_CLOEXEC);
  if (fd == -ENOSYS) {
    outf("SKIP: kernel lacks userfaultfd (syscall %d returned ENOSYS)\n", SYS_userfaultfd);
    return 77;
  }
  if (fd < 0) {
    outf("SKIP: userfaultfd failed with %s\n", errname((int)-fd));
    return 77;
  }
  x_close((int)fd);
  return 0;
}

int main(int argc, char** argv) {
  self_exe = argv[0];
  if (exec_self_run(argc, argv, "--exec-register")) {
    /* No window here (a new mm): REGISTER through the fd kept across execve. */
    long p = x_mmap(0, 2 * PS, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct u_register r = {{(uint64_t)p, 2 * PS}, MODE_MISSING, 0};
    obs_ret(sc_ret(syscall(SYS_ioctl, 3, UFFDIO_REGISTER_CMD, &r)));
    struct u_range ur = {(uint64_t)p, 2 * PS};
    obs_ret(sc_ret(syscall(SYS_ioctl, 3, UFFDIO_UNREGISTER_CMD, &ur)));
    return 0;
  }
  /* The fd numbers are observations: none but 0, 1 and 2 may be inherited
   * (ctest leaves one open). */
  syscall(436 /* SYS_close_range */, 3, ~0U, 0);
  int rc = probe_mseal();
  if (rc == 0) rc = probe_uffd();
  if (rc) return rc;
  return run_cases(cases, sizeof cases / sizeof cases[0], argc, argv);
}
