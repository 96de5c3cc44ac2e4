/* A program whose constructor leaves its own RELRO writable (as a GOT-hooking
 * library that forgets to restore it would). Sealing it then would freeze it
 * writable: `vmseal run` must leave that range unsealed and count a failure
 * (--enforce: exit 125 before main), and so must `vmseal seal PID`
 * (`wait`: it waits for EOF on stdin). Its RELRO shares a file page with its
 * rodata, at another page of the address space. */
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void target(void) {}
void (*const table[512])(void) = {[0 ... 511] = target};

static int unprotect(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size, (void)data;
  for (int i = 0; i < info->dlpi_phnum; ++i)
    if (info->dlpi_phdr[i].p_type == PT_GNU_RELRO) {
      const unsigned long s = (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr) & ~4095UL;
      const unsigned long e =
          (info->dlpi_addr + info->dlpi_phdr[i].p_vaddr + info->dlpi_phdr[i].p_memsz) & ~4095UL;
      if (e > s) mprotect((void*)s, e - s, PROT_READ | PROT_WRITE);
    }
  return 1; /* the program only */
}

__attribute__((constructor)) static void leave_relro_writable(void) {
  dl_iterate_phdr(unprotect, NULL);
}

int main(int argc, char** argv) {
  puts("writable_relro ran");
  fflush(stdout);
  char c;
  if (argc > 1 && strcmp(argv[1], "wait") == 0) (void)!read(0, &c, 1);
  return 0;
}
