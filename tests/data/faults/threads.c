// Threads of one process mapping and unmapping at once. strace prints a call
// when it returns, and a call another thread made in the meantime can be
// printed before one the kernel ran first ("<unfinished ...>" ... "<...
// resumed>"): `vmseal sim --check` must find the order the kernel took
// (tests/trace/faults_test.cpp; README.md says how the logs were recorded).
//
// Two threads each map a 64 KiB window and unmap it, over and over: a window
// one thread unmaps is often the one the other's next mmap gets back, and
// when the munmap's line is printed after that mmap's, only the kernel's
// order explains the address. A third thread grows and shrinks a mapping
// with mremap(MREMAP_MAYMOVE) next to where the others map.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define P 4096L
#define ROUNDS 200

static void* windows(void* arg) {
  (void)arg;
  for (int i = 0; i < ROUNDS; ++i) {
    char* p = mmap(NULL, 16 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) exit(1);
    munmap(p, 16 * P);
  }
  return NULL;
}

static void* grows(void* arg) {
  (void)arg;
  char* x = mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (x == MAP_FAILED) exit(2);
  for (int i = 0; i < ROUNDS; ++i) {
    char* y = mremap(x, 4 * P, 8 * P, MREMAP_MAYMOVE);
    if (y == MAP_FAILED) exit(3);
    x = mremap(y, 8 * P, 4 * P, 0);
    if (x == MAP_FAILED) exit(4);
  }
  munmap(x, 4 * P);
  return NULL;
}

int main(void) {
  pthread_t t[3];
  pthread_create(&t[0], NULL, windows, NULL);
  pthread_create(&t[1], NULL, windows, NULL);
  pthread_create(&t[2], NULL, grows, NULL);
  for (int i = 0; i < 3; ++i) pthread_join(t[i], NULL);
  return 0;
}
