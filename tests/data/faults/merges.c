// Writes to private memory between memory calls, which strace never shows.
// A write fault gives a VMA an anon_vma, and that decides later merges:
// `vmseal sim --check` must infer the faults from the results the kernel
// returned (tests/trace/faults_test.cpp replays the logs; README.md says how
// they were recorded). Each scenario works in its own PROT_NONE reservation,
// so that its VMAs have no neighbours but the ones it makes.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define P 4096L

static char* reserve(long pages) {
  char* g = mmap(NULL, pages * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (g == MAP_FAILED) exit(1);
  return g;
}

static char* map_at(char* at, long pages, int prot, int flags, int fd) {
  char* p = mmap(at, pages * P, prot, flags | MAP_FIXED, fd, 0);
  if (p != at) exit(2);
  return p;
}

// 1. [A rw][B r][C rw]; A and C written; B made rw again: the kernel merges
//    A and B only (C's anon_vma is not A's), so a grow of all three pages
//    spans two VMAs: EFAULT. Without the writes: one VMA, and the grow fails
//    with ENOMEM (the reservation is in the way).
static void three_vmas(void) {
  char* g = reserve(16);
  char* a = map_at(g + 4 * P, 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  mprotect(a + P, P, PROT_READ);
  a[0] = 1;
  a[2 * P] = 1;
  mprotect(a + P, P, PROT_READ | PROT_WRITE);
  mremap(a, 3 * P, 4 * P, 0);
}

// 2. [A 0-4 rw] hole [B 6-8 rw], both written; A grown to 6 pages in place
//    does not swallow B (different anon_vmas): [0-6][6-8]. A grow of all
//    eight pages then spans two VMAs: EFAULT, not ENOMEM.
static void grow_next_to_written(void) {
  char* g = reserve(16);
  char* a = map_at(g, 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  char* b = map_at(g + 6 * P, 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  munmap(g + 4 * P, 2 * P);
  a[0] = 1;
  b[0] = 1;
  mremap(a, 4 * P, 6 * P, 0);
  mremap(a, 8 * P, 10 * P, 0);
}

// 3. The same as 1 on a private mapping of a file: a write breaks COW into
//    an anonymous page, with an anon_vma.
static void private_file(void) {
  const char* path = "/tmp/vmseal-faults-merges";
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) exit(3);
  char page[P];
  memset(page, 'x', sizeof page);
  for (int i = 0; i < 3; ++i)
    if (write(fd, page, sizeof page) != (ssize_t)sizeof page) exit(4);
  char* g = reserve(16);
  char* a = map_at(g + 4 * P, 3, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
  mprotect(a + P, P, PROT_READ);
  a[0] = 1;
  a[2 * P] = 1;
  mprotect(a + P, P, PROT_READ | PROT_WRITE);
  mremap(a, 3 * P, 4 * P, 0);
  close(fd);
  unlink(path);
}

// 4. Control: one write before the split gives all three parts the same
//    anon_vma, so they merge again and the grow fails with ENOMEM, as it
//    would without the write. Nothing needs inferring.
static void written_before_split(void) {
  char* g = reserve(16);
  char* a = map_at(g + 4 * P, 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  a[0] = 1;
  mprotect(a + P, P, PROT_READ);
  mprotect(a + P, P, PROT_READ | PROT_WRITE);
  mremap(a, 3 * P, 4 * P, 0);
}

// 5. Control: reads map the zero page (upstream Linux): no anon_vma, the
//    three parts merge, ENOMEM.
static void read_only(void) {
  char* g = reserve(16);
  volatile char* a = map_at(g + 4 * P, 3, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  mprotect((char*)a + P, P, PROT_NONE);
  (void)a[0];
  (void)a[2 * P];
  mprotect((char*)a + P, P, PROT_READ);
  mremap((char*)a, 3 * P, 4 * P, 0);
}

// 6. A written before fork(): the child's A gets an anon_vma chained to the
//    parent's, which no longer merges with a VMA that has none. The child
//    maps B next to A: [A][B], not [A+B], and a grow of both spans two VMAs:
//    EFAULT. The write was the parent's, before the fork.
static void written_before_fork(void) {
  char* g = reserve(16);
  char* a = map_at(g + 4 * P, 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  a[0] = 1;
  pid_t child = fork();
  if (child == 0) {
    map_at(g + 6 * P, 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    mremap(a, 4 * P, 5 * P, 0);
    _exit(0);
  }
  if (child > 0) waitpid(child, NULL, 0);
}

int main(void) {
  three_vmas();
  grow_next_to_written();
  private_file();
  written_before_split();
  read_only();
  written_before_fork();
  return 0;
}
