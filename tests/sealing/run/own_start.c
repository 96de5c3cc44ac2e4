/* A dynamically linked program with its own _start (linked -nostartfiles):
 * it never calls __libc_start_main, so a preload that seals before main never
 * gets the chance. `vmseal run --enforce` must refuse it before exec. */
#include <unistd.h>

void _start(void) {
  static const char msg[] = "own_start ran\n";
  write(1, msg, sizeof msg - 1);
  _exit(0);
}
