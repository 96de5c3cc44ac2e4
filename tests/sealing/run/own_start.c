/* A dynamically linked program with its own _start (linked -nostartfiles).
 * It keeps a reference to __libc_start_main, so it imports it like any glibc
 * program, but its _start calls main directly: a preload that seals when
 * __libc_start_main calls main never gets the chance. `vmseal run --enforce`
 * must refuse it before exec (its entry is not glibc's _start). */
#include <stdlib.h>
#include <unistd.h>

extern int __libc_start_main();
void* volatile keep_libc_start_main = (void*)__libc_start_main;

int main(void) {
  static const char msg[] = "own_start ran\n";
  write(1, msg, sizeof msg - 1);
  exit(0);
}

__asm__(".globl _start\n_start:\n xor %ebp,%ebp\n and $-16,%rsp\n call main\n hlt\n");
