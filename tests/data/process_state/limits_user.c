/* What an unprivileged process meets: RLIMIT_MEMLOCK it lowers itself, a
 * hard limit it cannot raise, capset with no capability to keep, a limit a
 * parent sets on its child with prlimit64. Traced for
 * tests/trace/process_state_test.cpp (README.md here has the commands). */
#define _GNU_SOURCE
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PS 4096UL

static void limit(int res, unsigned long cur, unsigned long max) {
  struct rlimit r = {cur, max};
  syscall(SYS_prlimit64, 0, res, &r, NULL);
}

int main(void) {
  char* p = mmap(NULL, 8 * PS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {{0, 0, 0}, {0, 0, 0}};
  syscall(SYS_capget, &h, d);
  limit(RLIMIT_MEMLOCK, 2 * PS, 4 * PS);
  mlock(p, 2 * PS);      /* 0 */
  mlock(p + 2 * PS, PS); /* ENOMEM */
  mmap(p + 4 * PS, 2 * PS, PROT_READ | PROT_WRITE,
       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_LOCKED, -1, 0); /* EAGAIN */
  mlockall(MCL_CURRENT);                                             /* ENOMEM */
  limit(RLIMIT_MEMLOCK, 8 * PS, 8 * PS); /* EPERM: no CAP_SYS_RESOURCE */
  limit(RLIMIT_MEMLOCK, 4 * PS, 2 * PS); /* EINVAL */
  munlock(p, 8 * PS);
  mlock(p, 4 * PS); /* ENOMEM: the soft limit is 2 pages */
  d[0].effective = 1u << CAP_IPC_LOCK;
  d[0].permitted = 1u << CAP_IPC_LOCK;
  syscall(SYS_capset, &h, d); /* EPERM: nothing to keep */
  d[0].effective = d[0].permitted = 0;
  syscall(SYS_capset, &h, d); /* 0 */
  pid_t child = fork();
  if (child == 0) {
    usleep(100000); /* the parent sets the limit first */
    munlock(p, 8 * PS);
    mlock(p, PS); /* EPERM: its limit is 0 */
    _exit(0);
  }
  struct rlimit zero = {0, 0};
  syscall(SYS_prlimit64, child, RLIMIT_MEMLOCK, &zero, NULL);
  waitpid(child, NULL, 0);
  limit(RLIMIT_MEMLOCK, 0, 0);
  mlock(p, PS); /* EPERM */
  return 0;
}
