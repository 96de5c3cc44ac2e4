/* vmseal_bench_exec PROGRAM [ARGS...]: execs PROGRAM and does nothing else.
 * Linked statically, so no dynamic loader runs: run_bench.cpp's exec_floor
 * variant, the least that any launcher which execs the program can cost
 * (its own exec), against which `vmseal run` is measured. */
#include <stdio.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  execv(argv[1], argv + 1);
  perror("vmseal_bench_exec");
  return 127;
}
