/* Compiled by gcc inside the suite, then run: math, stdio, qsort, setjmp,
 * function pointers, a large malloc and a thread-local. */
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local int tls_counter = 7;
static jmp_buf env;

static int cmp(const void* a, const void* b) {
  return (*(const int*)a > *(const int*)b) - (*(const int*)a < *(const int*)b);
}

static void bounce(int depth) {
  if (depth == 0) longjmp(env, 42);
  bounce(depth - 1);
}

int main(int argc, char** argv) {
  int v[16];
  unsigned x = 12345;
  for (int i = 0; i < 16; ++i) {
    x = x * 1103515245u + 12345u;
    v[i] = (int)(x >> 16) % 1000;
  }
  qsort(v, 16, sizeof v[0], cmp);
  for (int i = 0; i < 16; ++i) printf("%d%c", v[i], i == 15 ? '\n' : ' ');
  printf("sqrt(2)=%.12f exp(1)=%.12f atan2=%.6f\n", sqrt(2.0), exp(1.0), atan2(1.0, 1.0));
  int r = setjmp(env);
  if (r == 0) bounce(10);
  printf("longjmp returned %d, tls %d\n", r, ++tls_counter);
  char* big = malloc(1 << 24);
  memset(big, 'a', 1 << 24);
  printf("malloc'd 16 MiB, last byte %c\n", big[(1 << 24) - 1]);
  free(big);
  printf("argc=%d argv[1]=%s\n", argc, argc > 1 ? argv[1] : "(none)");
  fprintf(stderr, "prog: done\n");
  return 5;
}
