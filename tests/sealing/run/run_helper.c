/* A program for the `vmseal run` and `vmseal seal` tests: it reports, from
 * inside, which of its mappings are sealed (VmFlags "sl" in
 * /proc/self/smaps), and does what a program does after start-up: dlopen,
 * dlclose, exec; `serve` keeps it running and answering (serve.c). Built
 * without sanitizers: their runtime refuses to come after a preload. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int helper_data = 42;              /* .data */
static const int helper_const = 7; /* .rodata */
/* Relocated pointers: .data.rel.ro, enough for whole RELRO pages. */
static int helper_fn(void) { return 1; }
__attribute__((used)) static int (*const helper_relro[2048])(void) = {helper_fn, helper_fn};

/* 1 sealed, 0 not, -1 not mapped. */
static int sealed_at(uintptr_t addr) {
  FILE* f = fopen("/proc/self/smaps", "r");
  if (f == NULL) return -1;
  char line[512];
  int in = 0, result = -1;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') == line + strcspn(line, "-") &&
        line[strcspn(line, " ")] == ' ' && strncmp(line, "VmFlags", 7) != 0) {
      in = addr >= s && addr < e;
      continue;
    }
    if (in && strncmp(line, "VmFlags:", 8) == 0) {
      result = strstr(line, " sl") != NULL;
      break;
    }
  }
  fclose(f);
  return result;
}

static const char* word(int s) { return s == 1 ? "sealed" : s == 0 ? "unsealed" : "unmapped"; }

struct find {
  const char* name;
  uintptr_t text, relro;
};

static int find_cb(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  struct find* f = data;
  const char* n = info->dlpi_name;
  if (f->name[0] == '\0' ? info->dlpi_phdr != (const void*)getauxval(AT_PHDR)
                         : strstr(n, f->name) == NULL)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)* p = &info->dlpi_phdr[i];
    if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && f->text == 0)
      f->text = info->dlpi_addr + p->p_vaddr;
    if (p->p_type == PT_GNU_RELRO) {
      /* The first whole page of RELRO (glibc protects whole pages only). */
      uintptr_t s = (info->dlpi_addr + p->p_vaddr + 4095) & ~(uintptr_t)4095;
      if (s + 4096 <= ((info->dlpi_addr + p->p_vaddr + p->p_memsz) & ~(uintptr_t)4095))
        f->relro = s;
    }
  }
  return 1;
}

static struct find find_object(const char* name) {
  struct find f = {name, 0, 0};
  dl_iterate_phdr(find_cb, &f);
  return f;
}

static void status(void) {
  struct find prog = find_object("");
  struct find libc = find_object("libc.so.6");
  struct find ld = find_object("ld-linux");
  int local = 0;
  printf("program_text %s\n", word(sealed_at(prog.text)));
  printf("program_rodata %s\n", word(sealed_at((uintptr_t)&helper_const)));
  printf("program_relro %s\n", prog.relro ? word(sealed_at(prog.relro)) : "none");
  printf("program_data %s\n", word(sealed_at((uintptr_t)&helper_data)));
  printf("libc_text %s\n", word(sealed_at(libc.text)));
  printf("libc_relro %s\n", libc.relro ? word(sealed_at(libc.relro)) : "none");
  printf("ldso_text %s\n", word(sealed_at(ld.text)));
  printf("stack %s\n", word(sealed_at((uintptr_t)&local)));
  printf("vdso %s\n", word(sealed_at(getauxval(AT_SYSINFO_EHDR))));
  printf("ld_preload %s\n", getenv("LD_PRELOAD") ? getenv("LD_PRELOAD") : "(unset)");
}

static int do_dlopen(const char* path, int mode, int close_it) {
#ifdef VMSEAL_HELPER_STATIC
  (void)path, (void)mode, (void)close_it;
  printf("dlopen failed: static build\n");
  return 1;
#else
  void* h = dlopen(path, mode);
  if (h == NULL) {
    printf("dlopen failed: %s\n", dlerror());
    return 1;
  }
  void* sym = dlsym(h, "vmseal_test_function");
  printf("dlopen ok\nlibrary_text %s\n", sym ? word(sealed_at((uintptr_t)sym)) : "no-symbol");
  if (close_it) {
    printf("dlclose %s\n", dlclose(h) == 0 ? "ok" : dlerror());
    printf("after_dlclose %s\n", sym ? word(sealed_at((uintptr_t)sym)) : "no-symbol");
  }
  return 0;
#endif
}

/* dlmopen into a new namespace (kept open). */
static int do_dlmopen(const char* path) {
#ifdef VMSEAL_HELPER_STATIC
  (void)path;
  printf("dlmopen failed: static build\n");
  return 1;
#else
  void* h = dlmopen(LM_ID_NEWLM, path, RTLD_NOW);
  if (h == NULL) {
    printf("dlmopen failed: %s\n", dlerror());
    return 1;
  }
  void* sym = dlsym(h, "vmseal_test_function");
  printf("dlmopen ok\nlibrary_text %s\n", sym ? word(sealed_at((uintptr_t)sym)) : "no-symbol");
  return 0;
#endif
}

/* Who traces this process now (TracerPid), and its pid and parent. */
static void tracer(void) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  while (f != NULL && fgets(line, sizeof line, f) != NULL)
    if (strncmp(line, "TracerPid:", 10) == 0) printf("tracer %d\n", atoi(line + 10));
  if (f != NULL) fclose(f);
  printf("pid %d\n", (int)getpid());
}

/* One exploit primitive on the program's own image, by name; prints OK or
 * the errno's name, and for a discard whether the bytes survived. Run in a
 * child: a primitive that works may leave it unable to go on (its text moved
 * away). */
static int attack_here(const char* what);
static int attack(const char* what) {
  const pid_t child = fork();
  if (child == 0) _exit(attack_here(what));
  int status = 0;
  waitpid(child, &status, 0);
  /* 10 OK, 11 EPERM, 12 another error, 2 unknown; killed by a signal: the
   * primitive took effect under the child's feet (its code moved away). */
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 10;
  if (code == 2) return 2;
  printf("%s %s\n", what, code == 10 ? "OK" : code == 11 ? "EPERM" : "failed otherwise");
  return 0;
}

static int attack_here(const char* what) {
  struct find prog = find_object("");
  const uintptr_t text = prog.text & ~(uintptr_t)4095;
  const uintptr_t ro = (uintptr_t)&helper_const & ~(uintptr_t)4095;
  int r = -1;
  if (strcmp(what, "text-mprotect") == 0)
    r = mprotect((void*)text, 4096, PROT_READ | PROT_WRITE);
  else if (strcmp(what, "rodata-munmap") == 0)
    r = munmap((void*)ro, 4096);
  else if (strcmp(what, "text-mremap") == 0)
    r = mremap((void*)text, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED,
               (void*)(text + (1UL << 30))) == MAP_FAILED
            ? -1
            : 0;
  else if (strcmp(what, "relro-mprotect") == 0 && prog.relro != 0)
    r = mprotect((void*)prog.relro, 4096, PROT_READ | PROT_WRITE);
  else if (strcmp(what, "relro-dontneed") == 0 && prog.relro != 0) {
    const uintptr_t before = *(volatile uintptr_t*)prog.relro;
    r = madvise((void*)prog.relro, 4096, MADV_DONTNEED);
    const uintptr_t after = *(volatile uintptr_t*)prog.relro;
    printf("relro_bytes %s\n", before == after ? "unchanged" : "changed");
  } else {
    printf("unknown attack %s\n", what);
    return 2;
  }
  return r == 0 ? 10 : errno == EPERM ? 11 : 12;
}

/* Starts PROG ARGS (argv) the way `how` names: each member of the exec
 * family, posix_spawn and vfork; a spawned child is waited for and its exit
 * status returned. */
static int exec_via(const char* how, char** argv) {
  extern char** environ;
  const char* prog = argv[0];
  pid_t pid = -1;
  int err = 0;
  if (strcmp(how, "execvp") == 0) {
    execvp(prog, argv);
  } else if (strcmp(how, "execl") == 0) {
    execl(prog, prog, argv[1], (char*)NULL);
  } else if (strcmp(how, "execle") == 0) {
    execle(prog, prog, argv[1], (char*)NULL, environ);
  } else if (strcmp(how, "execlp") == 0) {
    execlp(prog, prog, argv[1], (char*)NULL);
  } else if (strcmp(how, "fexecve") == 0) {
    /* Without O_CLOEXEC: vmseal reaches it as /proc/self/fd/N. */
    const int fd = open(prog, O_RDONLY);
    if (fd >= 0) fexecve(fd, argv, environ);
  } else if (strcmp(how, "execveat") == 0) {
    /* Relative to a close-on-exec directory descriptor. */
    const char* slash = strrchr(prog, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash != NULL ? (int)(slash - prog) : 1,
             slash != NULL ? prog : ".");
    const int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const char* name = slash != NULL ? slash + 1 : prog;
#ifdef __GLIBC__
    if (dfd >= 0) execveat(dfd, name, argv, environ, 0);
#else
    if (dfd >= 0) syscall(SYS_execveat, dfd, name, argv, environ, 0); /* musl has no wrapper */
#endif
  } else if (strcmp(how, "posix_spawn") == 0 || strcmp(how, "posix_spawnp") == 0) {
    err = how[11] == 'p' ? posix_spawnp(&pid, prog, NULL, NULL, argv, environ)
                         : posix_spawn(&pid, prog, NULL, NULL, argv, environ);
  } else if (strcmp(how, "vfork") == 0) {
    pid = vfork();
    if (pid == 0) {
      execve(prog, argv, environ);
      _exit(127);
    }
  } else {
    fprintf(stderr, "unknown exec-via %s\n", how);
    return 2;
  }
  if (pid <= 0) {
    fprintf(stderr, "%s: %s\n", how, strerror(err != 0 ? err : errno));
    return 127;
  }
  printf("spawned %d\n", (int)pid);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int serve(int (*command)(int argc, char** argv)); /* serve.c */

static int command(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "status") == 0) {
    status();
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "tracer") == 0) {
    tracer();
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "attack") == 0) return attack(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "dlopen") == 0) return do_dlopen(argv[2], RTLD_NOW, 1);
  if (argc >= 3 && strcmp(argv[1], "dlopen-nodelete") == 0)
    return do_dlopen(argv[2], RTLD_NOW | RTLD_NODELETE, 0);
  if (argc >= 3 && strcmp(argv[1], "dlopen-keep") == 0) return do_dlopen(argv[2], RTLD_NOW, 0);
  if (argc >= 3 && strcmp(argv[1], "dlmopen") == 0) return do_dlmopen(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "exec") == 0) {
    execv(argv[2], argv + 2);
    perror("exec");
    return 127;
  }
  if (argc >= 4 && strcmp(argv[1], "exec-via") == 0) return exec_via(argv[2], argv + 3);
  if (argc >= 4 && strcmp(argv[1], "exec-argv0") == 0) {
    /* exec-argv0 NAME PROG ARGS: PROG with argv[0] NAME, as busybox is run. */
    char* prog = argv[3];
    argv[3] = argv[2];
    execv(prog, argv + 3);
    perror("exec");
    return 127;
  }
  if (argc >= 2 && strcmp(argv[1], "argv0") == 0) {
    printf("argv0 %s\n", argv[0]);
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "exit") == 0) return atoi(argv[2]);
  fprintf(stderr,
          "usage: run_helper status | dlopen PATH | dlopen-nodelete PATH | dlopen-keep PATH | "
          "dlmopen PATH | exec PROG ARGS | exec-via HOW PROG ARGS | exec-argv0 NAME PROG ARGS | "
          "argv0 | exit N | serve\n");
  return 2;
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc >= 2 && strcmp(argv[1], "serve") == 0) return serve(command);
  return command(argc, argv);
}
