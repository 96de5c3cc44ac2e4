/* The attack suite's victim (issue 5, security part).
 *
 * Run under `vmseal run` (and, as a control, without it), this program
 * turns the primitives an exploit uses against its own memory: making code
 * writable, unmapping or moving code, mapping over the GOT, making RELRO
 * writable again, discarding read-only memory. It prints one line per attack:
 *
 *   ATTACK <tab> id <tab> result <tab> sealed=yes|no|partial <tab> detail
 *
 * `result` is OK (the call succeeded), an errno name (EPERM, ...), SKIP:why
 * (no target here) or CRASH:SIGNAL (the child died before reporting).
 * `sealed` is what /proc/self/smaps says about the target before the attack.
 * tests/attack/run_attacks.py compares three runs and knows what to expect.
 *
 * Each attack runs in a fork()ed child: a successful one can wreck the
 * process (unmapped libc code, a zeroed GOT). The child makes the system call
 * with inline assembly (no libc, no PLT, no GOT, no errno), writes the raw
 * return value to a pipe with inline assembly too, and only then does
 * anything else (the RELRO demonstrations then call through the reverted
 * pointers to show where they lead: a crash, or code the attacker mapped).
 *
 * Options:
 *   --no-app-seal  the program's own write-once configuration is made
 *                  read-only but not sealed (the control run: it proves that
 *                  the EPERM comes from the seal)
 *   --list         print the targets found and exit
 *
 * The configuration is sealed with the vmseal C API (<vmseal/vmseal.h>,
 * -lvmseal) when built with VMSEAL_HAVE_API; otherwise with raw
 * mmap + mprotect(PROT_READ) + syscall(462). The line says which ("via=").
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef VMSEAL_HAVE_API
#include <vmseal/vmseal.h>
#endif

#if __has_include(<linux/userfaultfd.h>)
#include <linux/userfaultfd.h>
#else
/* musl-gcc's include path has no kernel headers: the few userfaultfd
 * definitions the uffd attack needs, as <linux/userfaultfd.h> has them. */
struct uffdio_api {
  uint64_t api, features, ioctls;
};
struct uffdio_range {
  uint64_t start, len;
};
struct uffdio_register {
  struct uffdio_range range;
  uint64_t mode, ioctls;
};
struct uffdio_copy {
  uint64_t dst, src, len, mode;
  int64_t copy;
};
#define UFFD_API ((uint64_t)0xAA)
#define UFFDIO_REGISTER_MODE_MISSING ((uint64_t)1 << 0)
#define UFFDIO_API _IOWR(0xAA, 0x3F, struct uffdio_api)
#define UFFDIO_REGISTER _IOWR(0xAA, 0x00, struct uffdio_register)
#define UFFDIO_COPY _IOWR(0xAA, 0x03, struct uffdio_copy)
#endif

#ifndef __x86_64__
#error "the attack victim uses x86-64 system call numbers and inline assembly"
#endif

#define SYS_MSEAL 462

/* The helper library linked with 64 KiB segment alignment: the loader leaves
 * PROT_NONE gaps between its segments (tests/attack/gaplib.c). */
int vmseal_attack_gap_fn(int x);

/* --- raw system calls: usable after libc, the GOT or ld.so are gone -------- */
static long raw6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}
#define RAW(n, a, b, c, d, e, f) \
  raw6((n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static void raw_exit(int code) {
  for (;;) raw6(SYS_exit_group, code, 0, 0, 0, 0, 0);
}

/* --- the program's own RELRO pointers ------------------------------------- */
static void relro_target(void) {}
/* const, but a PIE needs a relocation for each entry, so the table goes into
 * .data.rel.ro (RELRO): the file holds the unrelocated value, the loader
 * writes the real address, then RELRO is made read-only (and sealed). 8 KiB,
 * so at least one whole page of RELRO holds only these pointers. */
#define FP_TABLE_LEN 1024
#ifdef __PIE__
#define FP_TABLE_SECTION
#else
/* A program that is not position-independent (glibc's and musl's -static)
 * needs no relocation for it, so the compiler would put it in .rodata; it is
 * placed in RELRO by hand, where the file already holds the final words. */
#define FP_TABLE_SECTION __attribute__((section(".data.rel.ro")))
#endif
static void (*const fp_table[FP_TABLE_LEN])(void) FP_TABLE_SECTION = {
    [0 ... FP_TABLE_LEN - 1] = relro_target};

/* Ordinary writable data, for the strict profile. */
int attack_data_word = 42;

/* --- the write-once configuration ------------------------------------------ */
typedef struct {
  uint64_t magic;
  char admin_user[56];
} config_t;
#define CONFIG_MAGIC 0x76736561u /* "vsea" */

/* --- what the attacks aim at ------------------------------------------------ */
typedef struct {
  uintptr_t start, end; /* page-aligned, end exclusive; start == end: none */
} range_t;

static long g_page;
static struct {
  uintptr_t prog_bias;
  range_t prog_text_page, prog_relro, prog_data_page;
  range_t libc_text_page, libc_text_2pages, libc_relro;
  range_t ldso_all, ldso_relro, gap, vdso, stack_page;
  range_t scratch;                   /* unsealed, for mremap's destination */
  range_t config_alloc, config_mmap; /* the pages holding each config */
  const volatile config_t *config_alloc_ptr, *config_mmap_ptr;
  const char* config_via;
  int is_static;                      /* no PT_INTERP: libc is inside the program */
  const volatile uintptr_t* fp_entry; /* in a whole page of the program's RELRO */
  uintptr_t fp_file_value;            /* what the executable's file holds there */
  int fp_file_value_known;
} T;

static uintptr_t page_down(uintptr_t a) { return a & ~(uintptr_t)(g_page - 1); }
static uintptr_t page_up(uintptr_t a) {
  return (a + (uintptr_t)g_page - 1) & ~(uintptr_t)(g_page - 1);
}
static int has(range_t r) { return r.end > r.start; }
#define LEN(r) ((r).end - (r).start)
/* Low memory the unrelocated offsets of libc point into: from
 * vm.mmap_min_addr (read in main; 64 KiB until then, the usual value) up to
 * 4 MiB. A static-pie program's offsets start low in that range. */
static uintptr_t g_low_start = 0x10000;
#define LOW_START g_low_start
#define LOW_END ((uintptr_t)0x400000)
#define RWX (PROT_READ | PROT_WRITE | PROT_EXEC)

static int name_has(const char* path, const char* what) {
  return path != NULL && strstr(path, what) != NULL;
}

static int find_targets_cb(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  (void)data;
  const uintptr_t bias = info->dlpi_addr;
  const char* name = info->dlpi_name;
  /* The program: glibc names it "", musl's static dl_iterate_phdr "/". */
  const int is_prog = name == NULL || name[0] == '\0' ||
                      (const void*)info->dlpi_phdr == (const void*)getauxval(AT_PHDR);
  const int is_ldso = getauxval(AT_BASE) != 0 && bias == getauxval(AT_BASE);
  const int is_libc = name_has(name, "/libc.so");
  const int is_gaplib = name_has(name, "vmseal_attack_gap");
  if (is_prog && bias == getauxval(AT_SYSINFO_EHDR)) return 0; /* the vDSO has no name either */
  if (!is_prog && !is_ldso && !is_libc && !is_gaplib) return 0;

  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)* ph = &info->dlpi_phdr[i];
    if (ph->p_type == PT_LOAD) {
      const uintptr_t s = page_down(bias + ph->p_vaddr),
                      e = page_up(bias + ph->p_vaddr + ph->p_memsz);
      if (s < lo) lo = s;
      if (e > hi) hi = e;
      if (ph->p_flags & PF_X) {
        /* A whole page in the middle of the text segment. */
        const uintptr_t ts = page_up(bias + ph->p_vaddr),
                        te = page_down(bias + ph->p_vaddr + ph->p_filesz);
        if (te - ts >= (uintptr_t)(2 * g_page)) {
          const uintptr_t mid = page_down(ts + (te - ts) / 2);
          const uintptr_t p =
              mid + (uintptr_t)g_page <= te - (uintptr_t)g_page ? mid : te - 2 * (uintptr_t)g_page;
          if (is_prog) T.prog_text_page = (range_t){p, p + (uintptr_t)g_page};
          if (is_libc) {
            T.libc_text_page = (range_t){p, p + (uintptr_t)g_page};
            T.libc_text_2pages = (range_t){p, p + 2 * (uintptr_t)g_page};
          }
        } else if (is_prog && te > ts) {
          T.prog_text_page = (range_t){ts, ts + (uintptr_t)g_page};
        }
      }
    } else if (ph->p_type == PT_GNU_RELRO) {
      /* glibc's _dl_protect_relro: start and end both rounded down. */
      const range_t r = {page_down(bias + ph->p_vaddr),
                         page_down(bias + ph->p_vaddr + ph->p_memsz)};
      if (is_prog) T.prog_relro = r;
      if (is_libc) T.libc_relro = r;
      /* ld.so: only the pages wholly inside RELRO. The default profile leaves
       * its first page (glibc's __stack_prot) unsealed; the rest is sealed
       * by every profile that seals RELRO. */
      if (is_ldso)
        T.ldso_relro =
            (range_t){page_up(bias + ph->p_vaddr), page_down(bias + ph->p_vaddr + ph->p_memsz)};
    }
  }
  if (is_ldso) T.ldso_all = (range_t){lo, hi};
  if (is_prog) T.prog_bias = bias;
  if (is_gaplib) {
    /* The first hole between two consecutive PT_LOADs (by address). */
    uintptr_t best = 0;
    for (int i = 0; i < info->dlpi_phnum && best == 0; ++i) {
      const ElfW(Phdr)* a = &info->dlpi_phdr[i];
      if (a->p_type != PT_LOAD) continue;
      const uintptr_t a_end = page_up(bias + a->p_vaddr + a->p_memsz);
      uintptr_t next = UINTPTR_MAX;
      for (int j = 0; j < info->dlpi_phnum; ++j) {
        const ElfW(Phdr)* b = &info->dlpi_phdr[j];
        if (b->p_type == PT_LOAD && page_down(bias + b->p_vaddr) >= a_end &&
            page_down(bias + b->p_vaddr) < next)
          next = page_down(bias + b->p_vaddr);
      }
      if (next != UINTPTR_MAX && next > a_end) {
        best = a_end;
        T.gap = (range_t){a_end, next};
      }
    }
  }
  return 0;
}

/* The start of the mapping named `name` in /proc/self/maps and its end. */
static range_t find_mapping(const char* name) {
  range_t r = {0, 0};
  FILE* f = fopen("/proc/self/maps", "re");
  if (f == NULL) return r;
  char line[512];
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long s, e;
    char* nl = strchr(line, '\n');
    if (nl != NULL) *nl = '\0';
    const size_t n = strlen(line), k = strlen(name);
    if (n >= k && strcmp(line + n - k, name) == 0 && sscanf(line, "%lx-%lx", &s, &e) == 2) {
      r = (range_t){s, e};
      break;
    }
  }
  fclose(f);
  return r;
}

/* "yes" when every page of r is in a VMA with `sl` in its VmFlags, "no" when
 * none is, "partial" otherwise (or when part of r is not mapped). */
static const char* sealed_state(range_t r) {
  if (!has(r)) return "n/a";
  FILE* f = fopen("/proc/self/smaps", "re");
  if (f == NULL) return "unknown";
  char line[1024];
  unsigned long vs = 0, ve = 0;
  uintptr_t sealed_bytes = 0, mapped_bytes = 0;
  int in_range = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    unsigned long s, e;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) == 3 && strchr(line, ':') != NULL &&
        line[0] != ' ' && strncmp(line, "VmFlags", 7) != 0 &&
        strchr("0123456789abcdef", line[0]) != NULL) {
      vs = s;
      ve = e;
      in_range = ve > r.start && vs < r.end;
      if (in_range) {
        const uintptr_t os = vs > r.start ? vs : r.start, oe = ve < r.end ? ve : r.end;
        mapped_bytes += oe - os;
      }
    } else if (in_range && strncmp(line, "VmFlags:", 8) == 0) {
      if (strstr(line, " sl") != NULL) {
        const uintptr_t os = vs > r.start ? vs : r.start, oe = ve < r.end ? ve : r.end;
        sealed_bytes += oe - os;
      }
    }
  }
  fclose(f);
  const uintptr_t want = r.end - r.start;
  if (sealed_bytes == want && mapped_bytes == want) return "yes";
  if (sealed_bytes == 0 && mapped_bytes == want) return "no";
  return "partial";
}

static void fill_config(config_t* c) {
  c->magic = CONFIG_MAGIC;
  snprintf(c->admin_user, sizeof c->admin_user, "root-only");
}

static int make_configs(int app_seal) {
#ifdef VMSEAL_HAVE_API
  vmseal_error err;
  memset(&err, 0, sizeof err);
  config_t* a = vmseal_sealed_alloc(sizeof(config_t), &err);
  if (a == NULL) {
    fprintf(stderr, "victim: vmseal_sealed_alloc: %s\n", err.message);
    return -1;
  }
  fill_config(a);
  if (app_seal) {
    if (vmseal_sealed_freeze(a, &err) != 0) {
      fprintf(stderr, "victim: vmseal_sealed_freeze: %s\n", err.message);
      return -1;
    }
  }
  /* The allocation need not start on a page boundary (the library may keep
   * a header in front of it): attack the pages that hold it. */
  T.config_alloc = (range_t){page_down((uintptr_t)a), page_up((uintptr_t)a + sizeof(config_t))};
  T.config_alloc_ptr = a;
  if (!app_seal && mprotect((void*)T.config_alloc.start, LEN(T.config_alloc), PROT_READ) != 0) {
    perror("victim: mprotect(config, PROT_READ)");
    return -1;
  }
  T.config_via = "api";
#else
  T.config_via = "raw";
#endif
  void* m = mmap(NULL, (size_t)g_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    perror("victim: mmap(config)");
    return -1;
  }
  fill_config(m);
#ifdef VMSEAL_HAVE_API
  if (app_seal) {
    if (vmseal_freeze(m, (size_t)g_page, &err) != 0) {
      fprintf(stderr, "victim: vmseal_freeze: %s\n", err.message);
      return -1;
    }
  } else if (mprotect(m, (size_t)g_page, PROT_READ) != 0) {
    perror("victim: mprotect(config, PROT_READ)");
    return -1;
  }
#else
  if (mprotect(m, (size_t)g_page, PROT_READ) != 0 ||
      (app_seal && syscall(SYS_MSEAL, m, (size_t)g_page, 0) != 0)) {
    perror("victim: mprotect+mseal(config)");
    return -1;
  }
#endif
  T.config_mmap = (range_t){(uintptr_t)m, (uintptr_t)m + (uintptr_t)g_page};
  T.config_mmap_ptr = m;
  return 0;
}

/* --- running one attack in a child ------------------------------------------ */
/* An attack fills out[0] with the system call's raw return value (-errno on
 * failure) and out[1..3] with whatever it observed, all without libc. */
typedef void (*attack_fn)(long out[4]);
/* Run after the report is written (may crash on purpose). */
typedef void (*after_fn)(void);

/* The signal's name without "SIG" (glibc's sigabbrev_np; musl has none). */
static const char* sig_abbrev(int sig) {
  static char other[16];
  switch (sig) {
    case SIGSEGV:
      return "SEGV";
    case SIGBUS:
      return "BUS";
    case SIGILL:
      return "ILL";
    case SIGTRAP:
      return "TRAP";
    case SIGABRT:
      return "ABRT";
    case SIGFPE:
      return "FPE";
    case SIGSYS:
      return "SYS";
    case SIGKILL:
      return "KILL";
    default:
      snprintf(other, sizeof other, "%d", sig);
      return other;
  }
}

static const char* errno_name(long e) {
  switch (e) {
    case EPERM:
      return "EPERM";
    case ENOMEM:
      return "ENOMEM";
    case EINVAL:
      return "EINVAL";
    case EFAULT:
      return "EFAULT";
    case EACCES:
      return "EACCES";
    case EEXIST:
      return "EEXIST";
    case ENOSYS:
      return "ENOSYS";
    case EAGAIN:
      return "EAGAIN";
    case EBUSY:
      return "EBUSY";
    case ENOENT:
      return "ENOENT";
    default:
      return NULL;
  }
}

static void result_text(long ret, char* buf, size_t n) {
  if (ret < 0 && ret > -4096) {
    const char* name = errno_name(-ret);
    if (name != NULL)
      snprintf(buf, n, "%s", name);
    else
      snprintf(buf, n, "E%ld", -ret);
  } else {
    snprintf(buf, n, "OK");
  }
}

typedef struct {
  long out[4];
  int reported; /* the child wrote its 4 words */
  int status;   /* waitpid's */
} child_result;

static int run_in_child(attack_fn fn, after_fn after, child_result* res) {
  int fds[2];
  memset(res, 0, sizeof *res);
  if (pipe(fds) != 0) return -1;
  fflush(NULL);
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    /* Crashes here are expected, not worth a core dump. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    long out[4] = {0, 0, 0, 0};
    fn(out);
    RAW(SYS_write, fds[1], out, sizeof out, 0, 0, 0);
    if (after != NULL) after();
    raw_exit(0);
  }
  close(fds[1]);
  size_t got = 0;
  while (got < sizeof res->out) {
    const ssize_t n = read(fds[0], (char*)res->out + got, sizeof res->out - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fds[0]);
  res->reported = got == sizeof res->out;
  while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR) {
  }
  return 0;
}

static void report(const char* id, range_t target, const char* skip_why, attack_fn fn,
                   after_fn after, void (*describe)(const child_result*, char*, size_t)) {
  char result[64], detail[512] = "";
  const char* sealed = sealed_state(target);
  if (skip_why != NULL) {
    printf("ATTACK\t%s\tSKIP:%s\tsealed=%s\t\n", id, skip_why, sealed);
    fflush(stdout);
    return;
  }
  child_result r;
  if (run_in_child(fn, after, &r) != 0) {
    printf("ATTACK\t%s\tSKIP:fork or pipe failed: %s\tsealed=%s\t\n", id, strerror(errno), sealed);
    fflush(stdout);
    return;
  }
  if (!r.reported) {
    snprintf(result, sizeof result, "CRASH:%s",
             WIFSIGNALED(r.status) ? sig_abbrev(WTERMSIG(r.status)) : "no report");
  } else {
    result_text(r.out[0], result, sizeof result);
    if (describe != NULL) describe(&r, detail, sizeof detail);
  }
  const size_t used = strlen(detail);
  snprintf(detail + used, sizeof detail - used, "%starget=%#lx-%#lx", used > 0 ? " " : "",
           (unsigned long)target.start, (unsigned long)target.end);
  if (after != NULL && r.reported) {
    const size_t u2 = strlen(detail);
    if (WIFSIGNALED(r.status))
      snprintf(detail + u2, sizeof detail - u2, " then=SIG%s", sig_abbrev(WTERMSIG(r.status)));
    else
      snprintf(detail + u2, sizeof detail - u2, " then=exit%d", WEXITSTATUS(r.status));
  }
  printf("ATTACK\t%s\t%s\tsealed=%s\t%s\n", id, result, sealed, detail);
  fflush(stdout);
}

/* --- the attacks ------------------------------------------------------------ */

static void a_mprotect_libc_text(long o[4]) {
  o[0] = RAW(SYS_mprotect, T.libc_text_page.start, LEN(T.libc_text_page), RWX, 0, 0, 0);
}
/* pkey -1: the default key; works without PKU hardware. */
static void a_pkey_mprotect_libc_text(long o[4]) {
  o[0] = RAW(SYS_pkey_mprotect, T.libc_text_page.start, LEN(T.libc_text_page), RWX, -1, 0, 0);
}
static void a_mprotect_prog_text(long o[4]) {
  o[0] = RAW(SYS_mprotect, T.prog_text_page.start, LEN(T.prog_text_page), RWX, 0, 0, 0);
}
static void a_mmap_fixed_libc_text(long o[4]) {
  o[0] = RAW(SYS_mmap, T.libc_text_page.start, LEN(T.libc_text_page), RWX,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}
static void a_munmap_libc_text(long o[4]) {
  o[0] = RAW(SYS_munmap, T.libc_text_page.start, LEN(T.libc_text_page), 0, 0, 0, 0);
}
static void a_munmap_ldso(long o[4]) {
  o[0] = RAW(SYS_munmap, T.ldso_all.start, LEN(T.ldso_all), 0, 0, 0, 0);
}
static void a_mremap_move(long o[4]) {
  o[0] = RAW(SYS_mremap, T.libc_text_page.start, g_page, g_page, MREMAP_MAYMOVE | MREMAP_FIXED,
             T.scratch.start, 0);
}
static void a_mremap_grow(long o[4]) {
  o[0] = RAW(SYS_mremap, T.libc_text_page.start, g_page, 2 * g_page, MREMAP_MAYMOVE, 0, 0);
}
static void a_mremap_shrink(long o[4]) {
  o[0] = RAW(SYS_mremap, T.libc_text_2pages.start, 2 * g_page, g_page, 0, 0, 0);
}
static void a_mmap_fixed_prog_relro(long o[4]) {
  o[0] = RAW(SYS_mmap, T.prog_relro.start, LEN(T.prog_relro), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}
static void a_mmap_fixed_libc_relro(long o[4]) {
  o[0] = RAW(SYS_mmap, T.libc_relro.start, LEN(T.libc_relro), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}
/* The GOT-overwrite prerequisite; when it works, overwrite one pointer to
 * show that it really is writable again. */
static void a_mprotect_prog_relro(long o[4]) {
  o[0] = RAW(SYS_mprotect, T.prog_relro.start, LEN(T.prog_relro), PROT_READ | PROT_WRITE, 0, 0, 0);
  if (o[0] == 0) {
    volatile uintptr_t* p = (volatile uintptr_t*)T.fp_entry;
    *p = 0x4141414141414141u;
    o[1] = (long)*p;
  }
}
static void a_mprotect_libc_relro(long o[4]) {
  o[0] = RAW(SYS_mprotect, T.libc_relro.start, LEN(T.libc_relro), PROT_READ | PROT_WRITE, 0, 0, 0);
}
static void a_mmap_fixed_gap(long o[4]) {
  o[0] =
      RAW(SYS_mmap, T.gap.start, LEN(T.gap), RWX, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}
static void a_mprotect_gap(long o[4]) {
  o[0] = RAW(SYS_mprotect, T.gap.start, LEN(T.gap), RWX, 0, 0, 0);
}
/* Discarding the frozen configuration: private anonymous pages come back as
 * zeros, so a successful discard resets every setting to 0. */
static void dontneed_config(range_t r, const volatile config_t* c, long o[4]) {
  o[0] = RAW(SYS_madvise, r.start, LEN(r), MADV_DONTNEED, 0, 0, 0);
  o[1] = (long)c->magic;
}
static void a_dontneed_config_alloc(long o[4]) {
  dontneed_config(T.config_alloc, T.config_alloc_ptr, o);
}
static void a_dontneed_config_mmap(long o[4]) {
  dontneed_config(T.config_mmap, T.config_mmap_ptr, o);
}
static void a_mprotect_config_rw(long o[4]) {
  const range_t r = has(T.config_alloc) ? T.config_alloc : T.config_mmap;
  o[0] = RAW(SYS_mprotect, r.start, LEN(r), PROT_READ | PROT_WRITE, 0, 0, 0);
}
static void a_munmap_config(long o[4]) {
  const range_t r = has(T.config_alloc) ? T.config_alloc : T.config_mmap;
  o[0] = RAW(SYS_munmap, r.start, LEN(r), 0, 0, 0, 0);
}
static void describe_config(const child_result* r, char* buf, size_t n) {
  snprintf(buf, n, "via=%s magic_after=%#lx", T.config_via, (unsigned long)r->out[1]);
}
static void describe_got_write(const child_result* r, char* buf, size_t n) {
  if (r->out[0] == 0) snprintf(buf, n, "wrote_relro_pointer=%#lx", (unsigned long)r->out[1]);
}
/* Strict profile: writable data, the stack, the vDSO. */
static void a_mprotect_data_none(long o[4]) {
  o[0] = RAW(SYS_mprotect, T.prog_data_page.start, g_page, PROT_NONE, 0, 0, 0);
}
static void a_mprotect_data_rwx(long o[4]) {
  o[0] = RAW(SYS_mprotect, T.prog_data_page.start, g_page, RWX, 0, 0, 0);
}
static void a_mprotect_stack_rwx(long o[4]) {
  o[0] = RAW(SYS_mprotect, T.stack_page.start, g_page, RWX, 0, 0, 0);
}
static void a_munmap_vdso(long o[4]) {
  o[0] = RAW(SYS_munmap, T.vdso.start, LEN(T.vdso), 0, 0, 0, 0);
}

/* The kernel gap: MADV_DONTNEED on a sealed private file mapping is allowed.
 * The relocated RELRO pages are thrown away and read back from the file. */
static void a_dontneed_prog_relro(long o[4]) {
  o[1] = (long)*T.fp_entry;
  o[0] = RAW(SYS_madvise, T.prog_relro.start, LEN(T.prog_relro), MADV_DONTNEED, 0, 0, 0);
  o[2] = (long)*T.fp_entry;
}
/* After the report: call through the reverted pointer. */
static void call_reverted_pointer(void) { ((void (*)(void))(*T.fp_entry))(); }
static void describe_relro_gap(const child_result* r, char* buf, size_t n) {
  snprintf(buf, n, "before=%#lx after=%#lx file=%#lx bias=%#lx", (unsigned long)r->out[1],
           (unsigned long)r->out[2], T.fp_file_value_known ? (unsigned long)T.fp_file_value : 0ul,
           (unsigned long)T.prog_bias);
}
/* The same on libc's RELRO: count the words that change. */
static uintptr_t g_libc_relro_copy[1 << 14]; /* 128 KiB */
static void a_dontneed_libc_relro(long o[4]) {
  const volatile uintptr_t* p = (const volatile uintptr_t*)T.libc_relro.start;
  size_t words = LEN(T.libc_relro) / sizeof(uintptr_t);
  if (words > sizeof g_libc_relro_copy / sizeof g_libc_relro_copy[0])
    words = sizeof g_libc_relro_copy / sizeof g_libc_relro_copy[0];
  for (size_t i = 0; i < words; ++i) g_libc_relro_copy[i] = p[i];
  o[0] = RAW(SYS_madvise, T.libc_relro.start, LEN(T.libc_relro), MADV_DONTNEED, 0, 0, 0);
  long changed = 0, zero = 0, low = 0;
  for (size_t i = 0; i < words; ++i) {
    if (p[i] == g_libc_relro_copy[i]) continue;
    ++changed;
    zero += p[i] == 0;
    low += p[i] >= LOW_START && p[i] < LOW_END; /* now an unrelocated offset */
  }
  o[1] = changed;
  o[2] = zero;
  o[3] = low;
}
static void describe_libc_gap(const child_result* r, char* buf, size_t n) {
  size_t words = LEN(T.libc_relro) / sizeof(uintptr_t);
  if (words > sizeof g_libc_relro_copy / sizeof g_libc_relro_copy[0])
    words = sizeof g_libc_relro_copy / sizeof g_libc_relro_copy[0];
  snprintf(buf, n, "words_reverted=%ld/%zu now_zero=%ld now_low_addresses=%ld", r->out[1], words,
           r->out[2], r->out[3]);
}

/* --- discarding sealed RELRO, judged by its effect -------------------------
 * Each advice that drops pages is tried on the RELRO of the program, libc and
 * ld.so; the words are compared before and after, byte for byte. File-backed
 * RELRO (without vmseal, or `--relro file`) reverts to the file's unrelocated
 * words; an anonymous copy refuses with EPERM; a write-sealed memfd copy
 * accepts and re-reads the same words. GUARD is MADV_GUARD_INSTALL followed by
 * MADV_GUARD_REMOVE (the install zaps the pages; the remove lets them be read
 * again, from wherever the mapping gets them). */
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#define MADV_GUARD_REMOVE 103
#endif
static uintptr_t g_words_before[1 << 14]; /* 128 KiB */
static range_t g_discard_target;
static int g_discard_advice; /* -1: guard install + remove */
static void a_discard(long o[4]) {
  const volatile uintptr_t* p = (const volatile uintptr_t*)g_discard_target.start;
  size_t words = LEN(g_discard_target) / sizeof(uintptr_t);
  if (words > sizeof g_words_before / sizeof g_words_before[0])
    words = sizeof g_words_before / sizeof g_words_before[0];
  for (size_t i = 0; i < words; ++i) g_words_before[i] = p[i];
  const long advice = g_discard_advice < 0 ? MADV_GUARD_INSTALL : g_discard_advice;
  o[0] = RAW(SYS_madvise, g_discard_target.start, LEN(g_discard_target), advice, 0, 0, 0);
  if (g_discard_advice < 0 && o[0] == 0)
    o[3] =
        RAW(SYS_madvise, g_discard_target.start, LEN(g_discard_target), MADV_GUARD_REMOVE, 0, 0, 0);
  long changed = 0;
  for (size_t i = 0; i < words; ++i) changed += p[i] != g_words_before[i];
  o[1] = changed;
  o[2] = (long)words;
}
static void describe_discard(const child_result* r, char* buf, size_t n) {
  snprintf(buf, n, "words_changed=%ld/%ld%s", r->out[1], r->out[2],
           r->out[3] != 0 ? " guard_remove_failed" : "");
}
static void discard_attack(const char* id, range_t target, const char* skip, int advice) {
  g_discard_target = target;
  g_discard_advice = advice;
  report(id, target, skip, a_discard, NULL, describe_discard);
}

/* --- MADV_DONTFORK on sealed memory -----------------------------------------
 * The advice changes no page here, but a child forked afterwards has a hole
 * where the range was: mmap(MAP_FIXED_NOREPLACE) fills it, and code the
 * attacker writes there runs at the sealed object's address. The child reports
 * the madvise, then forks; the grandchild maps code (exit_group(42)) into the
 * hole and jumps to the object's address: exit status 42 means it ran. */
static range_t g_dontfork_target;
static void a_dontfork(long o[4]) {
  o[0] = RAW(SYS_madvise, g_dontfork_target.start, LEN(g_dontfork_target), MADV_DONTFORK, 0, 0, 0);
}
static void dontfork_then_fill(void) {
  static const unsigned char code[] = {
      0xb8, 0xe7, 0x00, 0x00, 0x00, /* mov $231 (exit_group), %eax */
      0xbf, 0x2a, 0x00, 0x00, 0x00, /* mov $42, %edi */
      0x0f, 0x05};                  /* syscall */
  const long pid = RAW(SYS_fork, 0, 0, 0, 0, 0, 0);
  if (pid == 0) {
    unsigned char* m =
        (unsigned char*)RAW(SYS_mmap, g_dontfork_target.start, LEN(g_dontfork_target), RWX,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if ((uintptr_t)m != g_dontfork_target.start) raw_exit(3); /* no hole: the fork kept the range */
    for (size_t i = 0; i < sizeof code; ++i) m[i] = code[i];
    ((void (*)(void))m)();
    raw_exit(4);
  }
  int status = 0;
  RAW(SYS_wait4, pid, &status, 0, 0, 0, 0);
  raw_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 5);
}

/* userfaultfd on sealed RELRO: register the range for missing faults (as
 * an unprivileged user, UFFD_USER_MODE_ONLY), discard it, then UFFDIO_COPY a
 * page of the attacker's bytes. Only memory-backed mappings (anonymous,
 * shmem: a memfd copy, a file on tmpfs) can be registered; a private mapping
 * of a shmem file takes the copy after a discard, sealed or not. The result
 * is the first step that failed; out[1] the first word afterwards. */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
static void a_uffd_write(long o[4]) {
  const range_t r = T.libc_relro;
  const long fd = RAW(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, 0, 0, 0, 0, 0);
  o[1] = (long)*(const volatile uintptr_t*)r.start;
  if (fd < 0) {
    o[0] = fd;
    return;
  }
  struct uffdio_api api = {.api = UFFD_API, .features = 0};
  struct uffdio_register reg = {.range = {.start = r.start, .len = (uint64_t)g_page},
                                .mode = UFFDIO_REGISTER_MODE_MISSING};
  static unsigned char page[1 << 16];
  for (size_t i = 0; i < sizeof page; ++i) page[i] = 0x41;
  struct uffdio_copy copy = {
      .dst = r.start, .src = (uintptr_t)page, .len = (uint64_t)g_page, .mode = 0};
  if ((o[0] = RAW(SYS_ioctl, fd, UFFDIO_API, &api, 0, 0, 0)) == 0 &&
      (o[0] = RAW(SYS_ioctl, fd, UFFDIO_REGISTER, &reg, 0, 0, 0)) == 0 &&
      (o[0] = RAW(SYS_madvise, r.start, g_page, MADV_DONTNEED, 0, 0, 0)) == 0)
    o[0] = RAW(SYS_ioctl, fd, UFFDIO_COPY, &copy, 0, 0, 0);
  o[2] = (long)*(const volatile uintptr_t*)r.start;
}
static void describe_uffd(const child_result* r, char* buf, size_t n) {
  snprintf(buf, n, "before=%#lx after=%#lx written=%s", (unsigned long)r->out[1],
           (unsigned long)r->out[2],
           (unsigned long)r->out[2] == 0x4141414141414141ul ? "yes" : "no");
}

/* MADV_GUARD_INSTALL on sealed text: accepted on file mappings; the next
 * read of the page faults (a denial of service, not a change of code). */
static void a_guard_install_text(long o[4]) {
  o[0] =
      RAW(SYS_madvise, g_discard_target.start, LEN(g_discard_target), MADV_GUARD_INSTALL, 0, 0, 0);
}
static void read_guarded_page(void) {
  volatile const unsigned char* p = (const unsigned char*)g_discard_target.start;
  (void)*p;
}

/* How far the gap goes. The reverted words of libc's RELRO are unrelocated
 * offsets: small addresses, above vm.mmap_min_addr, where nothing is mapped
 * and nothing is sealed. Map code there (a NOP sled ending in
 * exit_group(42)), discard libc's sealed RELRO, then let the program make an
 * ordinary libc call: libc's internal calls go through its reverted GOT and
 * vtables, into the sled. Exit status 42: the attacker's code ran. */
static void a_dontneed_libc_relro_hijack(long o[4]) {
  static const unsigned char tail[] = {
      0xb8, 0xe7, 0x00, 0x00, 0x00, /* mov $231 (exit_group), %eax */
      0xbf, 0x2a, 0x00, 0x00, 0x00, /* mov $42, %edi */
      0x0f, 0x05};                  /* syscall */
  unsigned char* sled =
      (unsigned char*)RAW(SYS_mmap, LOW_START, LOW_END - LOW_START, RWX,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if ((long)sled < 0 && (long)sled > -4096) {
    o[0] = (long)sled; /* reported as the result: the demonstration could not be set up */
    o[1] = 1;
    return;
  }
  for (uintptr_t i = 0; i < LOW_END - LOW_START - sizeof tail; ++i) sled[i] = 0x90; /* nop */
  for (size_t i = 0; i < sizeof tail; ++i) sled[LOW_END - LOW_START - sizeof tail + i] = tail[i];
  o[0] = RAW(SYS_madvise, T.libc_relro.start, LEN(T.libc_relro), MADV_DONTNEED, 0, 0, 0);
}
static void ordinary_libc_call(void) {
  static char buf[64];
  snprintf(buf, sizeof buf, "%d", 5);
}
static void describe_hijack(const child_result* r, char* buf, size_t n) {
  snprintf(buf, n, "sled=%#lx-%#lx%s", (unsigned long)LOW_START, (unsigned long)LOW_END,
           r->out[1] == 1 ? " sled_not_mapped" : "");
}

/* Whether the program has no PT_INTERP (static or static-pie). */
static int program_is_static(void) {
  const ElfW(Phdr)* phdr = (const ElfW(Phdr)*)getauxval(AT_PHDR);
  const size_t phnum = getauxval(AT_PHNUM);
  for (size_t i = 0; i < phnum; ++i)
    if (phdr[i].p_type == PT_INTERP) return 0;
  return 1;
}

/* In a static program libc is part of the program: its code is in the
 * program's text (the two pages from snprintf's on), its GOT and relocated
 * data in the program's RELRO. The libc attacks aim there. */
static void static_libc_targets(void) {
  const ElfW(Phdr)* phdr = (const ElfW(Phdr)*)getauxval(AT_PHDR);
  const size_t phnum = getauxval(AT_PHNUM);
  const uintptr_t fn = (uintptr_t)&snprintf;
  for (size_t i = 0; i < phnum; ++i) {
    const ElfW(Phdr)* ph = &phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    const uintptr_t ts = page_up(T.prog_bias + ph->p_vaddr),
                    te = page_down(T.prog_bias + ph->p_vaddr + ph->p_filesz);
    if (fn < ts || fn >= te || te - ts < 2 * (uintptr_t)g_page) continue;
    uintptr_t p = page_down(fn);
    if (p + 2 * (uintptr_t)g_page > te) p = te - 2 * (uintptr_t)g_page;
    T.libc_text_page = (range_t){p, p + (uintptr_t)g_page};
    T.libc_text_2pages = (range_t){p, p + 2 * (uintptr_t)g_page};
  }
  T.libc_relro = T.prog_relro;
}

/* The file's bytes at the address of T.fp_entry. */
static int read_file_value(void) {
  const uintptr_t vaddr = (uintptr_t)T.fp_entry - T.prog_bias;
  const ElfW(Phdr)* phdr = (const ElfW(Phdr)*)getauxval(AT_PHDR);
  const size_t phnum = getauxval(AT_PHNUM);
  for (size_t i = 0; i < phnum; ++i) {
    if (phdr[i].p_type != PT_LOAD || vaddr < phdr[i].p_vaddr ||
        vaddr + 8 > phdr[i].p_vaddr + phdr[i].p_filesz)
      continue;
    const off_t off = (off_t)(phdr[i].p_offset + (vaddr - phdr[i].p_vaddr));
    const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    const ssize_t n = pread(fd, &T.fp_file_value, sizeof T.fp_file_value, off);
    close(fd);
    if (n != (ssize_t)sizeof T.fp_file_value) return -1;
    T.fp_file_value_known = 1;
    return 0;
  }
  return -1;
}

int main(int argc, char** argv) {
  int app_seal = 1, list_only = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--no-app-seal") == 0)
      app_seal = 0;
    else if (strcmp(argv[i], "--list") == 0)
      list_only = 1;
    else {
      fprintf(stderr, "usage: %s [--no-app-seal] [--list]\n", argv[0]);
      return 2;
    }
  }
  g_page = sysconf(_SC_PAGESIZE);
  setvbuf(stdout, NULL, _IOLBF, 0);
  FILE* min_addr = fopen("/proc/sys/vm/mmap_min_addr", "re");
  unsigned long lowest = 0;
  if (min_addr != NULL) {
    if (fscanf(min_addr, "%lu", &lowest) == 1 && lowest < LOW_END / 2)
      g_low_start = page_up(lowest > (unsigned long)g_page ? lowest : (unsigned long)g_page);
    fclose(min_addr);
  }
  if (vmseal_attack_gap_fn(1) != 2) return 3; /* keeps the helper library needed */

  dl_iterate_phdr(find_targets_cb, NULL);
  T.is_static = program_is_static();
  if (T.is_static) static_libc_targets();
  T.vdso = find_mapping("[vdso]");
  int local = 0;
  T.stack_page =
      (range_t){page_down((uintptr_t)&local), page_down((uintptr_t)&local) + (uintptr_t)g_page};
  T.prog_data_page = (range_t){page_down((uintptr_t)&attack_data_word),
                               page_down((uintptr_t)&attack_data_word) + (uintptr_t)g_page};
  void* scratch = mmap(NULL, 4 * (size_t)g_page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (scratch == MAP_FAILED) {
    perror("victim: mmap(scratch)");
    return 1;
  }
  T.scratch = (range_t){(uintptr_t)scratch, (uintptr_t)scratch + 4 * (uintptr_t)g_page};
  /* An entry of fp_table inside the RELRO pages (before RELRO's rounded-down
   * end: the last partial page stays writable and is not sealed). */
  for (size_t i = 0; i < FP_TABLE_LEN; ++i) {
    const uintptr_t a = (uintptr_t)&fp_table[i];
    if (a >= T.prog_relro.start && a + sizeof(uintptr_t) <= T.prog_relro.end) {
      T.fp_entry = (const volatile uintptr_t*)a;
      break;
    }
  }
  if (T.fp_entry != NULL) read_file_value();
  if (make_configs(app_seal) != 0) return 1;

  printf("INFO\tapp_seal=%s config_via=%s page=%ld static=%s\n", app_seal ? "yes" : "no",
         T.config_via, g_page, T.is_static ? "yes" : "no");
  printf("INFO\tprogram bias=%#lx text_page=%#lx relro=%#lx-%#lx data_page=%#lx fp_entry=%p\n",
         (unsigned long)T.prog_bias, (unsigned long)T.prog_text_page.start,
         (unsigned long)T.prog_relro.start, (unsigned long)T.prog_relro.end,
         (unsigned long)T.prog_data_page.start, (const void*)T.fp_entry);
  printf(
      "INFO\tlibc text_page=%#lx relro=%#lx-%#lx ld.so=%#lx-%#lx gap=%#lx-%#lx vdso=%#lx-%#lx "
      "stack_page=%#lx\n",
      (unsigned long)T.libc_text_page.start, (unsigned long)T.libc_relro.start,
      (unsigned long)T.libc_relro.end, (unsigned long)T.ldso_all.start,
      (unsigned long)T.ldso_all.end, (unsigned long)T.gap.start, (unsigned long)T.gap.end,
      (unsigned long)T.vdso.start, (unsigned long)T.vdso.end, (unsigned long)T.stack_page.start);
  if (list_only) return 0;

  const char* no_libc_text = has(T.libc_text_page) ? NULL : "no libc text page found";
  const char* no_prog_relro = has(T.prog_relro) ? NULL : "the program has no whole page of RELRO";
  const char* no_libc_relro = has(T.libc_relro) ? NULL : "libc has no whole page of RELRO";

  /* Code. */
  report("mprotect-libc-text-rwx", T.libc_text_page, no_libc_text, a_mprotect_libc_text, NULL,
         NULL);
  report("pkey_mprotect-libc-text-rwx", T.libc_text_page, no_libc_text, a_pkey_mprotect_libc_text,
         NULL, NULL);
  report("mprotect-prog-text-rwx", T.prog_text_page,
         has(T.prog_text_page) ? NULL : "no program text page", a_mprotect_prog_text, NULL, NULL);
  report("mmap-fixed-libc-text", T.libc_text_page, no_libc_text, a_mmap_fixed_libc_text, NULL,
         NULL);
  report("munmap-libc-text", T.libc_text_page, no_libc_text, a_munmap_libc_text, NULL, NULL);
  report("munmap-ldso", T.ldso_all,
         has(T.ldso_all) ? NULL
         : T.is_static   ? "a static program has no loader"
                         : "ld.so not found",
         a_munmap_ldso, NULL, NULL);
  report("mremap-move-libc-text", T.libc_text_page, no_libc_text, a_mremap_move, NULL, NULL);
  report("mremap-grow-libc-text", T.libc_text_page, no_libc_text, a_mremap_grow, NULL, NULL);
  report("mremap-shrink-libc-text", T.libc_text_2pages, no_libc_text, a_mremap_shrink, NULL, NULL);
  /* RELRO (the GOT). */
  report("mmap-fixed-prog-relro", T.prog_relro, no_prog_relro, a_mmap_fixed_prog_relro, NULL, NULL);
  report("mmap-fixed-libc-relro", T.libc_relro, no_libc_relro, a_mmap_fixed_libc_relro, NULL, NULL);
  report("mprotect-prog-relro-rw", T.prog_relro,
         no_prog_relro != NULL ? no_prog_relro
         : T.fp_entry == NULL  ? "no RELRO pointer"
                               : NULL,
         a_mprotect_prog_relro, NULL, describe_got_write);
  report("mprotect-libc-relro-rw", T.libc_relro, no_libc_relro, a_mprotect_libc_relro, NULL, NULL);
  /* The PROT_NONE gaps the loader leaves between segments. */
  const char* no_gap = has(T.gap)    ? NULL
                       : T.is_static ? "no library: the kernel maps nothing between a static "
                                       "program's own segments"
                                     : "no gap between segments found";
  report("mmap-fixed-segment-gap", T.gap, no_gap, a_mmap_fixed_gap, NULL, NULL);
  report("mprotect-segment-gap-rwx", T.gap, no_gap, a_mprotect_gap, NULL, NULL);
  /* The program's own write-once configuration. */
  report("madvise-dontneed-config-sealed-alloc", T.config_alloc,
         has(T.config_alloc) ? NULL : "built without the vmseal API", a_dontneed_config_alloc, NULL,
         describe_config);
  report("madvise-dontneed-config-freeze", T.config_mmap, NULL, a_dontneed_config_mmap, NULL,
         describe_config);
  report("mprotect-config-rw", has(T.config_alloc) ? T.config_alloc : T.config_mmap, NULL,
         a_mprotect_config_rw, NULL, NULL);
  report("munmap-config", has(T.config_alloc) ? T.config_alloc : T.config_mmap, NULL,
         a_munmap_config, NULL, NULL);
  /* Sealed only by the strict profile. */
  report("mprotect-data-none", T.prog_data_page, NULL, a_mprotect_data_none, NULL, NULL);
  report("mprotect-data-rwx", T.prog_data_page, NULL, a_mprotect_data_rwx, NULL, NULL);
  report("mprotect-stack-rwx", T.stack_page, NULL, a_mprotect_stack_rwx, NULL, NULL);
  report("munmap-vdso", T.vdso, has(T.vdso) ? NULL : "no [vdso]", a_munmap_vdso, NULL, NULL);
  /* The kernel gap, last. */
  report("madvise-dontneed-prog-relro", T.prog_relro,
         no_prog_relro != NULL ? no_prog_relro
         : T.fp_entry == NULL  ? "no RELRO pointer in a whole page"
                               : NULL,
         a_dontneed_prog_relro, call_reverted_pointer, describe_relro_gap);
  report("madvise-dontneed-libc-relro", T.libc_relro, no_libc_relro, a_dontneed_libc_relro, NULL,
         describe_libc_gap);
  report("madvise-dontneed-libc-relro-hijack", T.libc_relro, no_libc_relro,
         a_dontneed_libc_relro_hijack, ordinary_libc_call, describe_hijack);
  /* Every discarding advice on the sealed RELRO of each object. */
  const char* no_ldso_relro = has(T.ldso_relro) ? NULL
                              : T.is_static     ? "a static program has no loader"
                                                : "ld.so has no whole page of RELRO";
  static const struct {
    const char* name;
    int advice;
  } advices[] = {{"dontneed", MADV_DONTNEED},
                 {"dontneed-locked", 4 /* MADV_DONTNEED_LOCKED */},
                 {"guard", -1}};
  const struct {
    const char* name;
    range_t r;
    const char* skip;
  } relros[] = {{"prog", T.prog_relro, no_prog_relro},
                {"libc", T.libc_relro, no_libc_relro},
                {"ldso", T.ldso_relro, no_ldso_relro}};
  for (size_t i = 0; i < sizeof relros / sizeof relros[0]; ++i)
    for (size_t k = 0; k < sizeof advices / sizeof advices[0]; ++k) {
      char id[64];
      snprintf(id, sizeof id, "discard-%s-relro-%s", relros[i].name, advices[k].name);
      discard_attack(id, relros[i].r, relros[i].skip, advices[k].advice);
    }
  /* Advices that leave a hole in a child, or an unreadable page. */
  g_dontfork_target = T.libc_relro;
  report("dontfork-libc-relro-fill", T.libc_relro, no_libc_relro, a_dontfork, dontfork_then_fill,
         NULL);
  g_dontfork_target = T.libc_text_page;
  report("dontfork-libc-text-fill", T.libc_text_page, no_libc_text, a_dontfork, dontfork_then_fill,
         NULL);
  report("uffd-write-libc-relro", T.libc_relro, no_libc_relro, a_uffd_write, NULL, describe_uffd);
  g_discard_target = T.libc_text_page;
  g_discard_advice = MADV_GUARD_INSTALL;
  report("guard-install-libc-text", T.libc_text_page, no_libc_text, a_guard_install_text,
         read_guarded_page, NULL);
  printf("DONE\n");
  return 0;
}
