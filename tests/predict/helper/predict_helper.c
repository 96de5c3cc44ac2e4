/* vmseal predict's test program (tests/predict/predict_test.cpp): memory calls
 * on its own image that sealing stops, made whatever each result is, so an
 * unsealed run and a sealed one make the same calls. Each argument is one
 * action:
 *   mprotect-data    .data page read-only, then back   (strict: EPERM)
 *   map-bss          MAP_FIXED anonymous over a .bss page (strict: EPERM)
 *   mprotect-text    its own text page, unchanged r-x  (every profile: EPERM)
 *   munmap-rodata    a .rodata page nothing reads      (default, strict: EPERM)
 *   dontneed-rodata  MADV_DONTNEED on .rodata (file-backed: allowed even sealed)
 *   anon             an anonymous mapping, mprotect, munmap (never sealed)
 *   fork             fork, the child does mprotect-data and exits
 * It prints each call's result. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096UL
static int data_page[PAGE / sizeof(int)] __attribute__((aligned(4096))) = {1};
static char bss_pages[3 * PAGE] __attribute__((aligned(4096)));
static const char rodata_pages[2 * PAGE] __attribute__((aligned(4096))) = "vmseal predict";

static void* page_of(const void* p) { return (void*)((uintptr_t)p & ~(PAGE - 1)); }

static void show(const char* what, int r) {
  printf("%s %s\n", what, r == 0 ? "ok" : strerror(errno));
  fflush(stdout);
}

static void mprotect_data(void) {
  show("mprotect-data-ro", mprotect(data_page, PAGE, PROT_READ));
  show("mprotect-data-rw", mprotect(data_page, PAGE, PROT_READ | PROT_WRITE));
}

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    if (strcmp(a, "mprotect-data") == 0) {
      mprotect_data();
    } else if (strcmp(a, "map-bss") == 0) {
      void* p = mmap(bss_pages + PAGE, PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      show("map-bss", p == MAP_FAILED ? -1 : 0);
    } else if (strcmp(a, "mprotect-text") == 0) {
      show("mprotect-text", mprotect(page_of((const void*)&main), PAGE, PROT_READ | PROT_EXEC));
    } else if (strcmp(a, "munmap-rodata") == 0) {
      show("munmap-rodata", munmap((void*)(rodata_pages + PAGE), PAGE));
    } else if (strcmp(a, "dontneed-rodata") == 0) {
      show("dontneed-rodata", madvise((void*)rodata_pages, PAGE, MADV_DONTNEED));
    } else if (strcmp(a, "anon") == 0) {
      char* p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      show("anon-mmap", p == MAP_FAILED ? -1 : 0);
      if (p != MAP_FAILED) {
        p[0] = 1;
        show("anon-mprotect", mprotect(p + PAGE, PAGE, PROT_READ));
        show("anon-munmap", munmap(p, 4 * PAGE));
      }
    } else if (strcmp(a, "fork") == 0) {
      const pid_t pid = fork();
      if (pid == 0) {
        mprotect_data();
        _exit(0);
      }
      int st = 0;
      waitpid(pid, &st, 0);
    } else {
      fprintf(stderr, "predict_helper: unknown action %s\n", a);
      return 2;
    }
  }
  return rodata_pages[0] == 'v' ? 0 : 1;
}
