/*
 * seccomp_exec.c: why `vmseal run --follow-exec` cannot see a static program
 * exec another static program once the sealer has detached (docs/run.md,
 * "Static programs"). The only ways the kernel offers to stop a process at
 * execve without a tracer staying attached are seccomp filters, and each has
 * a cost this probe measures:
 *
 *   x1  an unprivileged process may install a filter only under
 *       no_new_privs (EACCES otherwise);
 *   x2  no_new_privs is inherited across execve and cannot be cleared: every
 *       program started afterwards runs with it (set-user-ID bits and file
 *       capabilities stop working);
 *   x3  SECCOMP_RET_TRACE with no tracer attached: execve fails with ENOSYS;
 *   x4  SECCOMP_RET_USER_NOTIF whose listener is gone: execve fails with
 *       ENOSYS too, so a supervisor would have to outlive every program the
 *       filter's process tree runs.
 *
 * Each case runs in a child; an unprivileged one (uid 65534 when the probe
 * runs as root). Output: "ID: result" lines, compared with
 * tests/data/seccomp_exec.expected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* errname(int e) {
  switch (e) {
    case 0:
      return "0";
    case EACCES:
      return "EACCES";
    case ENOSYS:
      return "ENOSYS";
    case EPERM:
      return "EPERM";
    case EINVAL:
      return "EINVAL";
    default:
      return "other";
  }
}

static void unprivileged(void) {
  if (getuid() == 0 && setresgid(65534, 65534, 65534) == 0) {
    if (setresuid(65534, 65534, 65534) != 0) _exit(3);
  }
}

/* A filter that gives `action` to execve and allows everything else. */
static long install(unsigned action, unsigned flags) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_execve, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, action),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static char* const kTrue[] = {"/bin/true", NULL};

/* Runs `fn` in a child and prints its line. */
static void run(const char* id, void (*fn)(void)) {
  fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    unprivileged();
    fn();
    fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) printf("%s: child failed\n", id);
}

static void x1(void) {
  const long r = install(SECCOMP_RET_ALLOW, 0);
  printf("x1: filter without no_new_privs: %s\n", r == 0 ? "0" : errname(errno));
}

static void x2(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(4);
  printf("x2: clear no_new_privs: %s\n",
         prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0 ? "0" : errname(errno));
  printf("x2: after execve: ");
  fflush(stdout);
  execl("/bin/sh", "sh", "-c", "grep NoNewPrivs /proc/self/status | tr -s '\\t' ' '", NULL);
  _exit(5);
}

static void x3(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || install(SECCOMP_RET_TRACE, 0) != 0) _exit(4);
  execv(kTrue[0], kTrue);
  printf("x3: execve under SECCOMP_RET_TRACE, no tracer: %s\n", errname(errno));
}

static void x4(void) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(4);
  const long listener = install(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
  if (listener < 0) {
    printf("x4: skipped (no SECCOMP_RET_USER_NOTIF: %s)\n", errname(errno));
    return;
  }
  close((int)listener);
  execv(kTrue[0], kTrue);
  printf("x4: execve under SECCOMP_RET_USER_NOTIF, listener closed: %s\n", errname(errno));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (access(kTrue[0], X_OK) != 0 || access("/bin/sh", X_OK) != 0) {
    printf("SKIP: needs /bin/true and /bin/sh\n");
    return 77;
  }
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0) {
    printf("SKIP: this process already runs under a seccomp filter\n");
    return 77;
  }
  run("x1", x1);
  run("x2", x2);
  run("x3", x3);
  run("x4", x4);
  return 0;
}
