// The 22 reference cases of tests/kernel/reference_cases.c, replayed against the
// engine. Each case mirrors the C program call for call (its region with guard
// pages, its MAP_FIXED setup, its faults) and prints the same observation
// lines; the lines must equal those the real 6.18.44 kernel printed
// (tests/data/reference_cases.expected). Data lines (c9.2) cannot be modelled,
// the engine has no page contents, so they are skipped on both sides.
#include "support/probe_replay.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

using test::PS;
using test::Window;
namespace a = abi;

constexpr std::uint64_t kAnonFixed = a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_FIXED;
constexpr std::uint64_t kRW = a::PROT_READ | a::PROT_WRITE;

using test::Recorder;

// ---- the cases, in the order and with the calls of reference_cases.c --------

void c1(Recorder& c) {
  c.region(8);
  c.anon(0, 4, a::PROT_READ);
  c.obs_ret(c.as().mseal(c.P(0), 4 * PS, 1));
  c.obs_ret(c.as().mseal(c.P(0) + 1, PS, 0));
  c.obs_ret(c.as().mseal(c.P(0), 0, 0));
  c.obs_ret(c.as().mseal(c.P(0), ~std::uint64_t{0}, 0));
  c.obs_ret(c.as().mseal(c.P(0), std::uint64_t{0} - c.P(0), 0));
}

void c2(Recorder& c) {
  c.region(8);
  c.anon(0, 2, a::PROT_READ);
  c.anon(3, 5, kRW);
  c.obs_ret(c.as().mseal(c.P(0), 5 * PS, 0));
  c.obs_ret(c.as().mseal(c.P(2), 2 * PS, 0));
  c.obs_ret(c.as().mseal(c.P(3), 3 * PS, 0));
}

void c3(Recorder& c) {
  c.region(8);
  c.anon(0, 4, a::PROT_READ);
  c.obs_ret(c.as().mseal(c.P(0), 1, 0));
}

void c4(Recorder& c) {
  c.region(8);
  c.anon(0, 6, a::PROT_READ);
  c.ok(c.as().mseal(c.P(4), 2 * PS, 0), "mseal");
  c.obs_ret(c.as().munmap(c.P(2), 4 * PS));
}

void c5(Recorder& c) {
  c.region(8);
  c.anon(0, 6, a::PROT_READ);
  c.ok(c.as().mseal(c.P(0), 2 * PS, 0), "mseal");
  c.obs_ret(c.as().munmap(c.P(1), 3 * PS));
}

void c6(Recorder& c) {
  c.region(8);
  c.anon(0, 4, a::PROT_READ);
  c.ok(c.as().mseal(c.P(2), 2 * PS, 0), "mseal");
  c.obs_ret(c.as().mprotect(c.P(0), 4 * PS, kRW));
}

void c7(Recorder& c) {
  c.region(8);
  c.anon(0, 2, a::PROT_READ);
  c.anon(3, 5, a::PROT_READ);
  c.ok(c.as().mseal(c.P(3), 2 * PS, 0), "mseal");
  c.obs_ret(c.as().mprotect(c.P(0), 5 * PS, kRW));
}

void c8(Recorder& c) {
  c.region(8);
  c.anon(0, 4, a::PROT_READ);
  c.ok(c.as().mseal(c.P(0), 4 * PS, 0), "mseal");
  c.obs_ret(c.as().mprotect(c.P(0), 4 * PS, a::PROT_READ));
}

void c9(Recorder& c) {
  c.region(8);
  c.anon(0, 4, kRW);
  for (std::int64_t i = 0; i < 4; ++i)  // p[17] = 0xa0 + i
    EXPECT_EQ(c.as().fault(c.P(i) + 17, Access::Write), FaultResult::Ok);
  c.ok(c.as().mprotect(c.P(0), 4 * PS, a::PROT_READ), "mprotect");
  c.ok(c.as().mseal(c.P(2), 2 * PS, 0), "mseal");
  c.obs_ret(c.as().madvise(c.P(0), 4 * PS, a::MADV_DONTNEED));
  c.skip_data_line();  // c9.2: data=0,0,X,X
}

void c10(Recorder& c) {
  c.region(8);
  FileInfo memfd;
  memfd.path = "/memfd:c10 (deleted)";
  memfd.inode = 1;
  memfd.readable = true;
  memfd.writable = true;  // memfd_create() opens O_RDWR
  memfd.kind = FileKind::Shmem;
  memfd.size = 4 * PS;  // ftruncate
  const int fd = c.as().fds().install(c.as().files().add(memfd));
  SysResult r = c.as().mmap(c.P(0), 4 * PS, a::PROT_READ, a::MAP_PRIVATE | a::MAP_FIXED, fd, 0);
  EXPECT_TRUE(r.is_ok() && r.value() == c.P(0)) << test::ret_str(r);
  c.ok(c.as().mseal(c.P(0), 4 * PS, 0), "mseal");
  c.obs_ret(c.as().madvise(c.P(0), 4 * PS, a::MADV_DONTNEED));
}

void c11(Recorder& c) {
  c.region(8);
  FileInfo zero;
  zero.path = "/dev/zero";
  zero.dev_major = 0;
  zero.dev_minor = 5;
  zero.inode = 4;
  zero.readable = true;
  zero.writable = false;  // O_RDONLY
  zero.kind = FileKind::DevZero;
  const int fd = c.as().fds().install(c.as().files().add(zero));
  SysResult r = c.as().mmap(c.P(0), 4 * PS, a::PROT_READ, a::MAP_PRIVATE | a::MAP_FIXED, fd, 0);
  EXPECT_TRUE(r.is_ok() && r.value() == c.P(0)) << test::ret_str(r);
  c.ok(c.as().mseal(c.P(0), 4 * PS, 0), "mseal");
  c.obs_ret(c.as().madvise(c.P(0), 4 * PS, a::MADV_DONTNEED));
}

void c12(Recorder& c) {
  c.region(12);
  c.anon(0, 2, kRW);
  c.anon(2, 4, a::PROT_READ);
  c.ok(c.as().mseal(c.P(2), 2 * PS, 0), "mseal");
  c.obs_addr(c.as().mremap(c.P(0), 4 * PS, 4 * PS, a::MREMAP_MAYMOVE | a::MREMAP_FIXED, c.P(8)));
}

void c13(Recorder& c) {
  c.region(10);
  c.anon(0, 2, kRW);
  c.anon(4, 6, kRW);
  c.anon(6, 8, a::PROT_READ);
  c.ok(c.as().mseal(c.P(6), 2 * PS, 0), "mseal");
  c.obs_addr(c.as().mremap(c.P(0), 2 * PS, 4 * PS, a::MREMAP_MAYMOVE | a::MREMAP_FIXED, c.P(5)));
}

void c14(Recorder& c) {
  c.region(8);
  c.anon(0, 4, a::PROT_READ);
  c.ok(c.as().mseal(c.P(0), 4 * PS, 0), "mseal");
  c.obs_ret(c.as().madvise(c.P(1), PS, a::MADV_DONTDUMP));
  c.obs_ret(c.as().madvise(c.P(1), PS, a::MADV_DODUMP));
}

void c15(Recorder& c) {
  c.region(8);
  c.anon(0, 4, a::PROT_READ);
  c.ok(c.as().mseal(c.P(0), 4 * PS, 0), "mseal");
  c.obs_ret(c.as().mlock(c.P(1), 2 * PS));
  c.obs_ret(c.as().munlock(c.P(1), 2 * PS));
}

void c16(Recorder& c) {
  c.region(8);
  c.anon(0, 4, kRW);
  c.ok(c.as().mseal(c.P(0), 4 * PS, 0), "mseal");
  c.obs_addr(c.as().mmap(c.P(4), 2 * PS, kRW, kAnonFixed, -1, 0));
  c.obs_ret(c.as().mseal(c.P(4), 2 * PS, 0));
}

void c17(Recorder& c) {
  c.region(16);
  c.anon(0, 2, kRW);
  c.anon(3, 5, kRW);
  c.ok(c.as().madvise(c.P(3), 2 * PS, a::MADV_POPULATE_WRITE), "POPULATE_WRITE");
  c.anon(8, 10, kRW);
  c.anon(11, 13, kRW);
  c.ok(c.as().madvise(c.P(8), 2 * PS, a::MADV_POPULATE_WRITE), "POPULATE_WRITE");
  c.ok(c.as().madvise(c.P(11), 2 * PS, a::MADV_POPULATE_WRITE), "POPULATE_WRITE");
  c.obs_addr(c.as().mmap(c.P(2), PS, kRW, kAnonFixed, -1, 0));
  c.obs_ret(c.as().mseal(c.P(0), 5 * PS, 0));
  c.obs_addr(c.as().mmap(c.P(10), PS, kRW, kAnonFixed, -1, 0));
  c.obs_ret(c.as().mseal(c.P(8), 5 * PS, 0));
}

void c18(Recorder& c) {
  c.region(8);
  c.anon(0, 2, a::PROT_READ);
  c.anon(2, 4, kRW);
  c.anon(4, 6, a::PROT_READ);
  c.ok(c.as().madvise(c.P(4), 2 * PS, a::MADV_DONTFORK), "DONTFORK");
  c.ok(c.as().mseal(c.P(0), 2 * PS, 0), "mseal");
  c.ok(c.as().mseal(c.P(4), 2 * PS, 0), "mseal");
  AddressSpace child = c.as().fork();
  c.switch_to(child);
  c.obs_ret(child.munmap(c.P(0), 2 * PS));
  c.obs_ret(child.mprotect(c.P(0), 2 * PS, kRW));
  c.obs_ret(child.madvise(c.P(0), 2 * PS, a::MADV_DONTNEED));
}

void c19(Recorder& c) {
  // A static binary's layout without randomization: bss ends at the initial
  // break 0x4c0000 and the heap has no VMA yet (docs/kernel-rules.md 7.5).
  const Addr b0 = 0x4c0000;
  SysResult bss = c.as().mmap(0x4ab000, b0 - 0x4ab000, kRW, kAnonFixed, -1, 0);
  EXPECT_TRUE(bss.is_ok()) << test::ret_str(bss);
  c.as().set_brk(b0, b0);
  EXPECT_EQ(c.as().brk(0).value(), b0);
  Window& w = c.window();
  w.as = &c.as();
  w.base = (b0 + PS - 1) & ~(PS - 1);
  w.npages = 8;
  c.obs_addr(c.as().brk(c.P(4)));
  c.obs_ret(c.as().mseal(c.P(2), 2 * PS, 0));
  c.obs_addr(c.as().brk(c.P(3)));
  c.obs_addr(c.as().brk(c.P(1)));
  c.obs_addr(c.as().brk(c.P(6)));
}

void c20(Recorder& c) {
  c.region(8);
  FileInfo seg;
  seg.path = "/SYSV00000000 (deleted)";
  seg.inode = 7;
  seg.readable = true;
  seg.writable = true;
  seg.kind = FileKind::SysvShm;
  seg.size = 4 * PS;  // shmget(IPC_PRIVATE, 4PS, IPC_CREAT | 0600)
  const FileId id = c.as().files().add(seg);
  SysResult at = c.as().shmat(id, c.P(0), 0);
  EXPECT_TRUE(at.is_ok() && at.value() == c.P(0)) << test::ret_str(at);
  c.obs_ret(c.as().mseal(c.P(0), 4 * PS, 0));
  c.obs_ret(c.as().shmdt(c.P(0)));
  c.obs_ret(c.as().munmap(c.P(0), 4 * PS));
}

void c21(Recorder& c) {
  // vm.max_map_count is lowered so the filler stays small; the case only
  // depends on map_count reaching it.
  c.as().config().max_map_count = 64;
  const std::uint64_t maxmap = c.as().config().max_map_count;
  const std::uint64_t fpages = maxmap + 64;
  SysResult f = c.as().mmap(0, fpages * PS, a::PROT_NONE,
                            a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_NORESERVE, -1, 0);
  ASSERT_TRUE(f.is_ok()) << test::ret_str(f);
  c.region(8);
  c.anon(0, 2, a::PROT_READ);
  c.anon(2, 6, kRW);
  SysResult r = SysResult::ok(0);
  for (std::uint64_t i = 0; i < fpages - 1; ++i) {
    const std::uint64_t prot = (i & 1) != 0 ? a::PROT_EXEC : a::PROT_READ;
    r = c.as().mmap(f.value() + i * PS, PS, prot, kAnonFixed | a::MAP_NORESERVE, -1, 0);
    if (r.is_error()) break;
  }
  ASSERT_EQ(r.error(), Errno::NOMEM) << "fill to max_map_count";
  const SysResult ret = c.as().mseal(c.P(0), 4 * PS, 0);
  c.ok(c.as().munmap(f.value(), fpages * PS), "munmap filler");
  c.obs_ret(ret);
}

void c22(Recorder& c) {
  c.region(272);
  SysResult r = c.as().mmap(c.P(264), 4 * PS, kRW, kAnonFixed | a::MAP_GROWSDOWN, -1, 0);
  EXPECT_TRUE(r.is_ok() && r.value() == c.P(264)) << test::ret_str(r);
  c.obs_ret(c.as().mseal(c.P(264), 4 * PS, 0));
  // ((volatile char *)P(261))[0] = 1;
  c.obs(c.as().fault(c.P(261), Access::Write) == FaultResult::Ok ? "0" : "SIGSEGV");
  c.obs_ret(c.as().munmap(c.P(261), PS));
  c.obs_ret(c.as().mprotect(c.P(261), PS, a::PROT_READ));
}

void run_case(const std::string& id, const std::function<void(Recorder&)>& body) {
  test::run_probe_case("reference_cases", id, body);
}

TEST(Reference, C1) { run_case("c1", c1); }
TEST(Reference, C2) { run_case("c2", c2); }
TEST(Reference, C3) { run_case("c3", c3); }
TEST(Reference, C4) { run_case("c4", c4); }
TEST(Reference, C5) { run_case("c5", c5); }
TEST(Reference, C6) { run_case("c6", c6); }
TEST(Reference, C7) { run_case("c7", c7); }
TEST(Reference, C8) { run_case("c8", c8); }
TEST(Reference, C9) { run_case("c9", c9); }
TEST(Reference, C10) { run_case("c10", c10); }
TEST(Reference, C11) { run_case("c11", c11); }
TEST(Reference, C12) { run_case("c12", c12); }
TEST(Reference, C13) { run_case("c13", c13); }
TEST(Reference, C14) { run_case("c14", c14); }
TEST(Reference, C15) { run_case("c15", c15); }
TEST(Reference, C16) { run_case("c16", c16); }
TEST(Reference, C17) { run_case("c17", c17); }
TEST(Reference, C18) { run_case("c18", c18); }
TEST(Reference, C19) { run_case("c19", c19); }
TEST(Reference, C20) { run_case("c20", c20); }
TEST(Reference, C21) { run_case("c21", c21); }
TEST(Reference, C22) { run_case("c22", c22); }

}  // namespace
}  // namespace vmseal
