// The guard-marker cases of tests/kernel/guard_markers.c, replayed against the
// engine call for call. Each observation line carries the window's layout and
// its guard strip (G = a page with a guard marker); the lines must equal those
// the real kernel printed (tests/data/guard_markers.expected, where the strip
// comes from /proc/self/pagemap).
#include "support/probe_replay.hpp"

#include <gtest/gtest.h>

#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

using test::PS;
using test::Recorder;
namespace a = abi;

constexpr std::uint64_t kRW = a::PROT_READ | a::PROT_WRITE;
constexpr std::uint64_t kFixed = a::MREMAP_MAYMOVE | a::MREMAP_FIXED;

void run(const std::string& id, const std::function<void(Recorder&)>& body) {
  test::run_probe_case("guard_markers", id, body, /*guards=*/true);
}

// read(2) of one byte of /dev/zero into the page: the kernel's write fault.
SysResult write_fault(Recorder& c, std::int64_t page) {
  return c.as().fault(c.P(page), Access::Write) == FaultResult::Ok ? SysResult::ok(0)
                                                                   : SysResult(Errno::FAULT);
}

// memfd_create("m") + ftruncate(pages): a new shmem file.
int memfd(Recorder& c, std::uint64_t npages) {
  FileInfo f;
  f.path = "/memfd:m (deleted)";
  f.inode = 100;
  f.writable = true;
  f.kind = FileKind::Shmem;
  f.size = npages * PS;
  return c.as().fds().install(c.as().files().add(f));
}

SysResult map_file(Recorder& c, std::int64_t page, std::uint64_t npages, std::uint64_t type, int fd,
                   std::uint64_t off_pages) {
  return c.as().mmap(c.P(page), npages * PS, kRW, type | a::MAP_FIXED, fd, off_pages * PS);
}

TEST(GuardMarkers, G1InstallAndWhatKeepsIt) {
  run("g1", [](Recorder& c) {
    c.region(8);
    c.anon(0, 4, kRW);
    c.obs_ret(c.as().madvise(c.P(1), PS, a::MADV_GUARD_INSTALL));
    c.obs_ret(c.as().madvise(c.P(0), 4 * PS, a::MADV_DONTNEED));
    c.obs_ret(c.as().madvise(c.P(0), 4 * PS, a::MADV_FREE));
    c.obs_ret(c.as().mprotect(c.P(0), 2 * PS, a::PROT_READ));
    c.obs_ret(c.as().mprotect(c.P(0), 2 * PS, kRW));
    c.obs_ret(c.as().madvise(c.P(0), 4 * PS, a::MADV_POPULATE_READ));
    c.obs_ret(c.as().madvise(c.P(0), PS, a::MADV_POPULATE_WRITE));
    c.obs_ret(c.as().mseal(c.P(0), 4 * PS, 0));
    c.obs_ret(c.as().madvise(c.P(2), PS, a::MADV_GUARD_INSTALL));
  });
}

TEST(GuardMarkers, G2Locks) {
  run("g2", [](Recorder& c) {
    c.region(8);
    c.anon(0, 4, kRW);
    c.ok(c.as().madvise(c.P(1), PS, a::MADV_GUARD_INSTALL), "install");
    c.obs_ret(c.as().mlock(c.P(0), 4 * PS));
    c.obs_ret(c.as().madvise(c.P(2), PS, a::MADV_GUARD_INSTALL));
    c.obs_ret(c.as().madvise(c.P(1), PS, a::MADV_GUARD_REMOVE));
    c.obs_ret(c.as().munlock(c.P(0), 4 * PS));
    c.obs_ret(c.as().madvise(c.P(1), PS, a::MADV_GUARD_INSTALL));
    c.obs_ret(c.as().mlock2(c.P(0), 4 * PS, a::MLOCK_ONFAULT));
    c.obs_ret(c.as().munlock(c.P(0), 4 * PS));
    c.obs_ret(c.as().mlock(c.P(0), PS));
    c.obs_ret(c.as().mlock(c.P(1), 2 * PS));
  });
}

TEST(GuardMarkers, G3MremapMovesAndShrinkDrops) {
  run("g3", [](Recorder& c) {
    c.region(16);
    c.anon(0, 4, kRW);
    c.ok(c.as().madvise(c.P(1), PS, a::MADV_GUARD_INSTALL), "install");
    c.obs_addr(c.as().mremap(c.P(0), 4 * PS, 4 * PS, kFixed, c.P(8)));
    c.obs_addr(c.as().mremap(c.P(8), 4 * PS, 6 * PS, 0, 0));
    c.obs_addr(c.as().mremap(c.P(8), 6 * PS, PS, 0, 0));
    c.obs_addr(c.as().mremap(c.P(8), PS, 4 * PS, 0, 0));
  });
}

TEST(GuardMarkers, G4DontunmapLeavesTheSourceWithout) {
  run("g4", [](Recorder& c) {
    c.region(16);
    c.anon(0, 4, kRW);
    c.ok(c.as().madvise(c.P(2), PS, a::MADV_GUARD_INSTALL), "install");
    c.obs_addr(c.as().mremap(c.P(0), 4 * PS, 4 * PS, kFixed | a::MREMAP_DONTUNMAP, c.P(8)));
  });
}

TEST(GuardMarkers, G5ForkCopiesButNotWipeonfork) {
  run("g5", [](Recorder& c) {
    c.region(16);
    c.anon(0, 4, kRW);
    c.anon(5, 9, kRW);
    c.anon(10, 14, kRW);
    for (const std::int64_t page : {1, 6, 11})
      c.ok(c.as().madvise(c.P(page), PS, a::MADV_GUARD_INSTALL), "install");
    c.ok(c.as().madvise(c.P(5), 4 * PS, a::MADV_WIPEONFORK), "WIPEONFORK");
    c.ok(c.as().madvise(c.P(10), 4 * PS, a::MADV_DONTFORK), "DONTFORK");
    c.fork_and(nullptr);
    c.obs_ret(SysResult::ok(0));
  });
}

TEST(GuardMarkers, G6UnmapAndRemoveDrop) {
  run("g6", [](Recorder& c) {
    c.region(8);
    c.anon(0, 4, kRW);
    c.ok(c.as().madvise(c.P(1), 2 * PS, a::MADV_GUARD_INSTALL), "install");
    const std::uint64_t anon_fixed = a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_FIXED;
    c.obs_ret(c.as().munmap(c.P(2), PS));
    c.obs_addr(c.as().mmap(c.P(2), PS, kRW, anon_fixed, -1, 0));
    c.obs_ret(c.as().madvise(c.P(3), PS, a::MADV_GUARD_INSTALL));
    c.obs_addr(c.as().mmap(c.P(1), PS, kRW, anon_fixed, -1, 0));
    c.obs_ret(c.as().madvise(c.P(0), 4 * PS, a::MADV_GUARD_REMOVE));
  });
}

TEST(GuardMarkers, G7SharedMemfdGetsNoAnonVma) {
  run("g7", [](Recorder& c) {
    c.region(12);
    const int fd = memfd(c, 16);
    c.mapped_at(map_file(c, 0, 2, a::MAP_SHARED, fd, 0), 0, "mmap shared");
    c.mapped_at(map_file(c, 4, 4, a::MAP_SHARED, fd, 0), 4, "mmap shared");
    c.obs_ret(c.as().madvise(c.P(1), PS, a::MADV_GUARD_INSTALL));
    c.obs_ret(c.as().madvise(c.P(0), 2 * PS, a::MADV_REMOVE));
    c.fork_and(
        [fd](Recorder& child) { child.obs_addr(map_file(child, 2, 2, a::MAP_SHARED, fd, 2)); });
    c.fork_and(nullptr);
  });
}

TEST(GuardMarkers, G8PrivateMemfdNoAnonVmaDevZeroOne) {
  run("g8", [](Recorder& c) {
    c.region(12);
    const int fd = memfd(c, 16);
    c.mapped_at(map_file(c, 0, 2, a::MAP_PRIVATE, fd, 0), 0, "mmap private memfd");
    c.mapped_at(map_file(c, 6, 2, a::MAP_PRIVATE, test::kFdDevZero, 0), 6, "mmap /dev/zero");
    c.obs_ret(c.as().madvise(c.P(0), PS, a::MADV_GUARD_INSTALL));
    c.obs_ret(c.as().madvise(c.P(6), PS, a::MADV_GUARD_INSTALL));
    c.fork_and([fd](Recorder& child) {
      child.obs_addr(map_file(child, 2, 2, a::MAP_PRIVATE, fd, 2));
      child.obs_addr(map_file(child, 8, 2, a::MAP_PRIVATE, test::kFdDevZero, 2));
    });
  });
}

TEST(GuardMarkers, G9WriteFault) {
  run("g9", [](Recorder& c) {
    c.region(8);
    c.anon(0, 4, kRW);
    c.ok(c.as().madvise(c.P(1), PS, a::MADV_GUARD_INSTALL), "install");
    c.obs_ret(write_fault(c, 0));
    c.obs_ret(write_fault(c, 1));
    c.obs_ret(c.as().madvise(c.P(1), PS, a::MADV_GUARD_REMOVE));
    c.obs_ret(write_fault(c, 1));
  });
}

}  // namespace
}  // namespace vmseal
