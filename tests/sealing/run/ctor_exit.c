/* Runs its main from a constructor, before the preload's seal point, and
 * leaves through _exit (or quick_exit with "quick"), which skip destructors.
 * Under `vmseal run --enforce` it must not exit with its own status. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv);

__attribute__((constructor)) static void run_main_early(int argc, char** argv) {
  const int rc = main(argc, argv);
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "quick") == 0) quick_exit(rc);
  _exit(rc);
}

int main(int argc, char** argv) {
  (void)argc, (void)argv;
  puts("main ran before the seal");
  return 0;
}
