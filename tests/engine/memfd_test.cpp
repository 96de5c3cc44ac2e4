// Memfd seals, memfd_secret and hugetlb with an empty pool: the cases of
// tests/kernel/memfd.c replayed against the engine call for call; each
// observation must equal the line the real kernel printed
// (tests/data/memfd.expected). Then drawn rules (layout before, call, result,
// layout after) for the same rules in other settings.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "support/layout.hpp"
#include "support/probe_replay.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {
namespace {

using test::PS;
using test::Recorder;
namespace a = abi;

constexpr std::uint64_t kR = a::PROT_READ;
constexpr std::uint64_t kRW = a::PROT_READ | a::PROT_WRITE;
constexpr std::uint64_t kRX = a::PROT_READ | a::PROT_EXEC;
constexpr std::uint64_t kSharedFixed = a::MAP_SHARED | a::MAP_FIXED;
constexpr std::uint64_t kPrivateFixed = a::MAP_PRIVATE | a::MAP_FIXED;
constexpr std::uint64_t kHuge = std::uint64_t{2} << 20;
constexpr std::int64_t kHP = 512;  // pages in a huge page
constexpr std::uint64_t kAnonHuge = a::MAP_ANONYMOUS | a::MAP_HUGETLB;

void run(const std::string& id, const std::function<void(Recorder&)>& body) {
  test::run_probe_case("memfd", id, body);
}

SysResult map_file(Recorder& c, std::int64_t page, std::int64_t n, std::uint64_t prot,
                   std::uint64_t flags, std::int64_t fd, std::int64_t off_pages) {
  return c.as().mmap(c.P(page), static_cast<std::uint64_t>(n) * PS, prot, flags,
                     static_cast<int>(fd), static_cast<std::uint64_t>(off_pages) * PS);
}
SysResult add_seals(Recorder& c, std::int64_t fd, std::uint64_t seals) {
  return c.as().fcntl(static_cast<int>(fd), a::ADD_SEALS, seals);
}
SysResult get_seals(Recorder& c, std::int64_t fd) {
  return c.as().fcntl(static_cast<int>(fd), a::GET_SEALS, 0);
}
SysResult ftruncate(Recorder& c, std::int64_t fd, std::int64_t len) {
  return c.as().ftruncate(static_cast<int>(fd), static_cast<std::uint64_t>(len));
}
// memfd.c's obs_fd(): "fd" for a descriptor, else the errno.
void obs_fd(Recorder& c, const SysResult& r) { c.obs(r.is_ok() ? "fd" : test::ret_str(r)); }
// The fd of a result, -1 for an error (as the C program passes it on).
std::int64_t fd_of(const SysResult& r) {
  return r.is_ok() ? static_cast<std::int64_t>(r.value()) : -1;
}
// memfd(flags, pages): a memfd of that size.
std::int64_t memfd(Recorder& c, std::uint64_t flags, std::int64_t pages) {
  const SysResult fd = c.as().memfd_create(flags, "probe");
  EXPECT_TRUE(fd.is_ok());
  c.ok(ftruncate(c, fd_of(fd), pages * static_cast<std::int64_t>(PS)), "ftruncate");
  return fd_of(fd);
}
std::int64_t secret(Recorder& c, std::int64_t pages) {
  const SysResult fd = c.as().memfd_secret(0);
  EXPECT_TRUE(fd.is_ok());
  c.ok(ftruncate(c, fd_of(fd), pages * static_cast<std::int64_t>(PS)), "ftruncate");
  return fd_of(fd);
}
// open("/proc/self/fd/N", O_RDONLY): another open file of the same inode.
std::int64_t reopen_ro(Recorder& c, std::int64_t fd) {
  FileInfo f = c.as().files().get(c.as().fds().lookup(static_cast<int>(fd)));
  f.writable = false;
  return c.as().fds().install(c.as().files().add(f));
}

// ---- the probe's cases -----------------------------------------------------------

TEST(Memfd, F1CreateFlagsAndSealErrors) {
  run("f1", [](Recorder& c) {
    c.region(2);
    AddressSpace& as = c.as();
    const std::int64_t fd = fd_of(as.memfd_create(0, "f1"));
    obs_fd(c, SysResult::ok(static_cast<std::uint64_t>(fd)));
    c.obs_ret(get_seals(c, fd));
    c.obs_ret(add_seals(c, fd, a::SEAL_WRITE));
    const SysResult sealing_r = as.memfd_create(a::MFD_ALLOW_SEALING | a::MFD_CLOEXEC, "f1");
    const std::int64_t sealing = fd_of(sealing_r);
    obs_fd(c, sealing_r);
    c.obs_ret(get_seals(c, sealing));
    obs_fd(c, as.memfd_create(a::MFD_EXEC | a::MFD_NOEXEC_SEAL, "f1"));
    obs_fd(c, as.memfd_create(0x100, "f1"));
    obs_fd(c, as.memfd_create(std::uint64_t{21} << a::MFD_HUGE_SHIFT, "f1"));
    c.obs_ret(get_seals(c, fd_of(as.memfd_create(a::MFD_NOEXEC_SEAL, "f1"))));
    c.obs_ret(get_seals(c, fd_of(as.memfd_create(a::MFD_EXEC | a::MFD_ALLOW_SEALING, "f1"))));
    c.obs_ret(add_seals(c, sealing, 0x100));
    c.obs_ret(add_seals(c, sealing, (std::uint64_t{1} << 32) | a::SEAL_SHRINK));
    c.obs_ret(get_seals(c, sealing));
    const std::int64_t ro = reopen_ro(c, sealing);
    c.obs_ret(add_seals(c, ro, 0x100));
    c.obs_ret(get_seals(c, ro));
    c.obs_ret(add_seals(c, sealing, 0));
    c.obs_ret(add_seals(c, sealing, a::SEAL_SEAL));
    c.obs_ret(add_seals(c, sealing, 0));
    c.obs_ret(add_seals(c, sealing, 0x100));
    c.obs_ret(get_seals(c, sealing));
    c.obs_ret(add_seals(c, test::kFdDevZero, a::SEAL_WRITE));
    c.obs_ret(get_seals(c, test::kFdDevZero));
    c.obs_ret(as.fcntl(static_cast<int>(sealing), a::GET_SEALS + 100, 0));
    c.obs_ret(add_seals(c, 1000, a::SEAL_WRITE));
  });
}

TEST(Memfd, F2WriteSeal) {
  run("f2", [](Recorder& c) {
    c.region(8);
    const std::int64_t fd = memfd(c, a::MFD_ALLOW_SEALING, 8);
    c.mapped_at(map_file(c, 0, 2, kR, kSharedFixed, fd, 0), 0, "mmap");
    c.obs_ret(add_seals(c, fd, a::SEAL_WRITE));
    c.ok(c.as().munmap(c.P(0), 2 * PS), "munmap");
    c.mapped_at(map_file(c, 2, 2, kRW, kPrivateFixed, fd, 0), 2, "mmap");
    c.obs_ret(add_seals(c, fd, a::SEAL_WRITE));
    c.obs_addr(map_file(c, 0, 2, kRW, a::MAP_SHARED, fd, 0));
    c.obs_addr(map_file(c, 0, 2, kR, kSharedFixed, fd, 0));
    c.obs_addr(map_file(c, 0, 2, kRW, kSharedFixed, fd, 0));
    c.obs_ret(c.as().mprotect(c.P(0), 2 * PS, kRW));
    c.obs_ret(c.as().mprotect(c.P(0), PS, kRX));
    c.obs_ret(c.as().madvise(c.P(0), PS, a::MADV_REMOVE));
    c.obs_ret(c.as().mprotect(c.P(2), PS, kR));
    c.obs_ret(c.as().mprotect(c.P(2), PS, kRW));
    c.obs_addr(map_file(c, 4, 2, kRW, a::MAP_SHARED_VALIDATE | a::MAP_FIXED, fd, 0));
    const std::int64_t ro = reopen_ro(c, fd);
    c.obs_addr(map_file(c, 4, 2, kR, kSharedFixed, ro, 0));
    c.obs_ret(c.as().mprotect(c.P(4), 2 * PS, kRW));
    c.obs_ret(get_seals(c, fd));
  });
}

TEST(Memfd, F3FutureWriteSeal) {
  run("f3", [](Recorder& c) {
    c.region(8);
    const std::int64_t fd = memfd(c, a::MFD_ALLOW_SEALING, 8);
    c.mapped_at(map_file(c, 0, 2, kRW, kSharedFixed, fd, 0), 0, "mmap");
    c.obs_ret(add_seals(c, fd, a::SEAL_FUTURE_WRITE));
    c.obs_ret(c.as().mprotect(c.P(0), 2 * PS, kR));
    c.obs_ret(c.as().mprotect(c.P(0), 2 * PS, kRW));
    c.obs_ret(c.as().madvise(c.P(0), PS, a::MADV_REMOVE));
    c.obs_addr(map_file(c, 2, 2, kRW, kSharedFixed, fd, 0));
    c.obs_addr(map_file(c, 2, 2, kR, kSharedFixed, fd, 2));
    c.obs_ret(c.as().mprotect(c.P(2), 2 * PS, kRW));
    c.obs_ret(add_seals(c, fd, a::SEAL_WRITE));
    c.ok(c.as().munmap(c.P(0), 2 * PS), "munmap");
    c.obs_ret(add_seals(c, fd, a::SEAL_WRITE));
    c.obs_ret(get_seals(c, fd));
  });
}

// The child keeps its copy of P(0) while the parent looks: the parent's
// F_ADD_SEALS is told what the child's mm maps (mapped_elsewhere).
TEST(Memfd, F4AForkChildsWritableMapping) {
  run("f4", [](Recorder& c) {
    c.region(8);
    const std::int64_t fd = memfd(c, a::MFD_ALLOW_SEALING, 8);
    c.mapped_at(map_file(c, 0, 2, kRW, kSharedFixed, fd, 0), 0, "mmap");
    c.mapped_at(map_file(c, 4, 2, kRW, kSharedFixed, fd, 4), 4, "mmap");
    c.ok(c.as().madvise(c.P(4), 2 * PS, a::MADV_DONTFORK), "madvise");
    AddressSpace child = c.as().fork();
    const FileId file = c.as().fds().lookup(static_cast<int>(fd));
    auto add_write = [&] {
      return c.as().fcntl(static_cast<int>(fd), a::ADD_SEALS, a::SEAL_WRITE,
                          child.maps_inode_writably(file));
    };
    c.ok(c.as().munmap(c.P(0), 2 * PS), "munmap");
    c.obs_ret(add_write());
    c.ok(c.as().munmap(c.P(4), 2 * PS), "munmap");
    c.obs_ret(add_write());
    c.ok(child.munmap(c.P(0), 2 * PS), "child munmap");
    c.obs_ret(add_write());
  });
}

TEST(Memfd, F5TruncateAndSizeSeals) {
  run("f5", [](Recorder& c) {
    c.region(8);
    const std::int64_t fd = memfd(c, a::MFD_ALLOW_SEALING, 4);
    const std::int64_t ps = static_cast<std::int64_t>(PS);
    c.mapped_at(map_file(c, 0, 8, kR, kSharedFixed, fd, 0), 0, "mmap");
    c.obs_ret(c.as().madvise(c.P(0), 8 * PS, a::MADV_POPULATE_READ));
    c.obs_ret(ftruncate(c, fd, 8 * ps));
    c.obs_ret(c.as().madvise(c.P(0), 8 * PS, a::MADV_POPULATE_READ));
    c.obs_ret(add_seals(c, fd, a::SEAL_SHRINK));
    c.obs_ret(ftruncate(c, fd, 2 * ps));
    c.obs_ret(ftruncate(c, fd, 16 * ps));
    c.obs_ret(add_seals(c, fd, a::SEAL_GROW));
    c.obs_ret(ftruncate(c, fd, 32 * ps));
    c.obs_ret(ftruncate(c, fd, 16 * ps));
    c.obs_addr(map_file(c, 0, 8, kR, kSharedFixed, fd, 30));
    c.obs_ret(c.as().madvise(c.P(0), PS, a::MADV_POPULATE_READ));
    c.obs_ret(ftruncate(c, fd, -1));
    c.obs_ret(ftruncate(c, reopen_ro(c, fd), 0));
    c.obs_ret(ftruncate(c, 1000, 0));
  });
}

TEST(Memfd, F6ExecSeal) {
  run("f6", [](Recorder& c) {
    c.region(8);
    const std::int64_t fd = memfd(c, a::MFD_EXEC | a::MFD_ALLOW_SEALING, 8);
    c.mapped_at(map_file(c, 0, 2, kRW, kSharedFixed, fd, 0), 0, "mmap");
    c.obs_ret(add_seals(c, fd, a::SEAL_EXEC));
    c.obs_ret(get_seals(c, fd));
    c.ok(c.as().munmap(c.P(0), 2 * PS), "munmap");
    c.obs_ret(add_seals(c, fd, a::SEAL_EXEC));
    c.obs_ret(get_seals(c, fd));
    c.obs_addr(map_file(c, 0, 2, kRW, kSharedFixed, fd, 0));
    c.obs_addr(map_file(c, 0, 2, kRX, kSharedFixed, fd, 0));
    const std::int64_t nx = memfd(c, a::MFD_NOEXEC_SEAL, 8);
    c.obs_ret(get_seals(c, nx));
    c.obs_addr(map_file(c, 2, 2, kRW | a::PROT_EXEC, kSharedFixed, nx, 0));
    c.obs_ret(add_seals(c, nx, a::SEAL_WRITE));
    c.obs_ret(add_seals(c, nx, a::SEAL_FUTURE_WRITE));
    c.obs_ret(get_seals(c, nx));
  });
}

TEST(Memfd, S1SecretmemMappings) {
  run("s1", [](Recorder& c) {
    c.region(8);
    AddressSpace& as = c.as();
    obs_fd(c, as.memfd_secret(1));
    obs_fd(c, as.memfd_secret(a::OPEN_CLOEXEC));
    const SysResult fd_r = as.memfd_secret(0);
    const std::int64_t fd = fd_of(fd_r);
    obs_fd(c, fd_r);
    c.obs_addr(map_file(c, 0, 2, kRW, kSharedFixed, fd, 0));
    const std::int64_t ps = static_cast<std::int64_t>(PS);
    c.obs_ret(ftruncate(c, fd, 8 * ps));
    c.obs_ret(ftruncate(c, fd, 16 * ps));
    c.obs_ret(ftruncate(c, fd, 8 * ps));
    c.anon(4, 8, kRW);
    c.obs_addr(map_file(c, 5, 2, kRW, kPrivateFixed, fd, 0));
    c.obs_addr(map_file(c, 2, 2, kRX, kSharedFixed, fd, 0));
    c.obs_addr(map_file(c, 2, 2, kR, kSharedFixed, fd, 2));
    c.obs_ret(as.mprotect(c.P(2), PS, kRX));
    c.obs_ret(as.mprotect(c.P(2), PS, kRW));
    c.obs_ret(get_seals(c, fd));
    c.obs_ret(add_seals(c, fd, a::SEAL_SEAL));
  });
}

TEST(Memfd, S2SecretmemLockMadviseMremap) {
  run("s2", [](Recorder& c) {
    c.region(16);
    AddressSpace& as = c.as();
    const std::int64_t fd = secret(c, 16);
    c.mapped_at(map_file(c, 0, 4, kRW, kSharedFixed, fd, 0), 0, "mmap");
    c.obs_ret(as.mlock(c.P(0), PS));
    c.obs_ret(as.munlock(c.P(0), 4 * PS));
    c.obs_ret(as.mlock2(c.P(0), PS, a::MLOCK_ONFAULT));
    c.obs_ret(as.munlockall());
    c.obs_ret(as.mlockall(a::MCL_CURRENT));
    c.ok(as.munlockall(), "munlockall");
    c.obs_addr(as.mremap(c.P(0), 4 * PS, 6 * PS, 0, 0));
    c.obs_addr(as.mremap(c.P(0), 6 * PS, 4 * PS, 0, 0));
    for (int advice : {a::MADV_DONTNEED, a::MADV_DONTNEED_LOCKED, a::MADV_REMOVE, a::MADV_COLD,
                       a::MADV_POPULATE_READ, a::MADV_WILLNEED, a::MADV_WIPEONFORK})
      c.obs_ret(as.madvise(c.P(0), PS, advice));
    c.obs_ret(as.madvise(c.P(1), PS, a::MADV_DODUMP));
    c.obs_ret(as.madvise(c.P(3), PS, a::MADV_DONTFORK));
    c.obs_addr(as.mremap(c.P(0), 4 * PS, 6 * PS, 0, 0));
    c.obs_addr(as.mremap(c.P(0), 2 * PS, 2 * PS, a::MREMAP_MAYMOVE | a::MREMAP_FIXED, c.P(10)));
    c.obs_ret(as.mseal(c.P(10), 2 * PS, 0));
    c.obs_ret(as.munmap(c.P(10), PS));
  });
}

TEST(Memfd, S3SecretmemFork) {
  run("s3", [](Recorder& c) {
    c.region(4);
    const std::int64_t fd = secret(c, 4);
    c.obs_addr(map_file(c, 0, 4, kRW, kSharedFixed, fd, 0));
    c.fork_and([](Recorder& child) {
      child.obs_ret(child.as().mlock(child.P(0), PS));
      child.obs_ret(child.as().mprotect(child.P(0), PS, kR));
    });
  });
}

TEST(Memfd, S4SecretmemAgainstRlimitMemlock) {
  run("s4", [](Recorder& c) {
    c.region(8);
    AddressSpace& as = c.as();
    const std::int64_t fd = secret(c, 8);
    c.ok(as.setrlimit(a::RLIMIT_MEMLOCK, 4 * PS, 4 * PS, as.config().caps), "setrlimit");
    c.ok(as.capset(0, 0, 0), "capset");
    c.obs_addr(map_file(c, 0, 3, kRW, kSharedFixed, fd, 0));
    c.obs_addr(map_file(c, 3, 2, kRW, kSharedFixed, fd, 3));
    c.obs_addr(map_file(c, 3, 1, kRW, kSharedFixed, fd, 3));
    c.obs_addr(as.mremap(c.P(3), PS, 2 * PS, 0, 0));
    c.obs_addr(map_file(c, 3, 1, kRW, kSharedFixed, fd, 3));
    c.ok(as.munmap(c.P(0), 4 * PS), "munmap");
    c.obs_addr(map_file(c, 0, 4, kRW, kSharedFixed, fd, 0));
  });
}

TEST(Memfd, H1HugetlbWithAnEmptyPool) {
  run("h1", [](Recorder& c) {
    c.region(3 * kHP);  // the engine's window base is 2 MiB aligned, as region_huge()'s
    AddressSpace& as = c.as();
    c.obs_addr(as.mmap(c.P(0), kHuge, kRW, a::MAP_PRIVATE | kAnonHuge | a::MAP_FIXED, -1, 0));
    c.obs_addr(as.mmap(c.P(0), PS, kRW, a::MAP_SHARED | kAnonHuge | a::MAP_FIXED, -1, 0));
    c.obs_addr(as.mmap(c.P(0), PS, kRW, a::MAP_PRIVATE | kAnonHuge | (14ULL << 26), -1, 0));
    const std::uint64_t noreserve_fixed = a::MAP_NORESERVE | a::MAP_FIXED;
    c.obs_addr(as.mmap(c.P(0), PS, kRW, a::MAP_PRIVATE | kAnonHuge | noreserve_fixed, -1, 0));
    c.obs_addr(as.mmap(c.P(kHP + 1), PS, kRW, a::MAP_SHARED | kAnonHuge | noreserve_fixed, -1, 0));
    c.obs_ret(as.munmap(c.P(1), PS));
    c.obs_ret(as.mprotect(c.P(0), PS, kR));
    c.obs_ret(as.mprotect(c.P(0), kHuge, kR));
    obs_fd(c, as.memfd_create(a::MFD_HUGETLB | (14ULL << a::MFD_HUGE_SHIFT), "h1"));
    const SysResult fd_r = as.memfd_create(a::MFD_HUGETLB | a::MFD_ALLOW_SEALING, "h1");
    const std::int64_t fd = fd_of(fd_r);
    obs_fd(c, fd_r);
    c.obs_ret(get_seals(c, fd));
    c.obs_ret(ftruncate(c, fd, static_cast<std::int64_t>(PS)));
    c.obs_ret(ftruncate(c, fd, static_cast<std::int64_t>(kHuge)));
    c.obs_addr(map_file(c, kHP, 1, kRW, kSharedFixed, fd, 0));
    c.obs_addr(map_file(c, kHP, 1, kRW, kSharedFixed | a::MAP_NORESERVE, fd, 0));
    c.obs_ret(add_seals(c, fd, a::SEAL_WRITE));
    c.obs_ret(as.munmap(c.P(kHP), kHuge));
    c.obs_ret(add_seals(c, fd, a::SEAL_WRITE));
    c.obs_addr(map_file(c, kHP, 1, kRW, kSharedFixed | a::MAP_NORESERVE, fd, 0));
    c.obs_addr(map_file(c, kHP, 1, kR, kSharedFixed | a::MAP_NORESERVE, fd, 0));
    c.anon(2 * kHP, 2 * kHP + 4, kRW);
    c.obs_addr(as.mmap(c.P(2 * kHP), kHuge, kRW, a::MAP_PRIVATE | kAnonHuge | a::MAP_FIXED, -1, 0));
    c.anon(2 * kHP, 2 * kHP + 4, kRW);
    c.obs_addr(map_file(c, 2 * kHP, 1, kR, kSharedFixed, fd, 0));
  });
}

}  // namespace
}  // namespace vmseal
