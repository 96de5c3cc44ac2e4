/* Seals a page with the C API and checks `sl` in /proc/self/smaps itself.
 * Exit 0 sealed, 1 not, 77 no mseal here. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <vmseal/vmseal.h>

static int smaps_says_sealed(unsigned long addr) {
  FILE* f = fopen("/proc/self/smaps", "r");
  char line[512];
  int in = 0, sealed = 0;
  while (f != NULL && fgets(line, sizeof line, f) != NULL) {
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, ':') == NULL)
      in = addr >= s && addr < e;
    else if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && line[0] != 'V')
      in = addr >= s && addr < e;
    if (in && strncmp(line, "VmFlags:", 8) == 0) sealed = strstr(line, " sl") != NULL;
  }
  if (f != NULL) fclose(f);
  return sealed;
}

int main(void) {
  if (!vmseal_available()) return 77;
  char* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 2;
  strcpy(p, "configuration");
  vmseal_error err;
  if (vmseal_freeze(p, 4096, &err) != 0) {
    fprintf(stderr, "vmseal_freeze: %s\n", err.message);
    return 1;
  }
  const int sealed = smaps_says_sealed((unsigned long)p);
  printf("c: %s\n", sealed ? "sealed" : "not sealed");
  return sealed ? 0 : 1;
}
