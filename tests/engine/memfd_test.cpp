// Memfd seals, memfd_secret and hugetlb with an empty pool: the cases of
// tests/kernel/memfd.c replayed against the engine call for call; each
// observation must equal the line the real kernel printed
// (tests/data/memfd.expected). Then drawn rules (layout before, call, result,
// layout after) for the same rules in other settings.
#include <gtest/gtest.h>

#include <functional>
#include <ostream>
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
      child.obs_ret(child.as().madvise(child.P(1), PS, a::MADV_REMOVE));
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

// ---- drawn rules ------------------------------------------------------------------
// Each row: the files and layout before (made with engine calls, checked
// against the drawing), the call, its result and the layout after. Every row
// was run on the 6.18.44 kernel with tests/kernel/probe.h's helpers (a
// memfd of 16 pages with MFD_ALLOW_SEALING, a memfd_secret of 16 pages, and
// MAP_HUGETLB|MAP_NORESERVE in a 2 MiB-aligned window).

struct Env {
  AddressSpace as{test::probe_config()};
  test::Window w;
  int fd = -1;
  Addr P(std::int64_t page) const { return w.P(page); }
  std::string ret(const SysResult& r) const { return test::ret_str(r); }
  std::string at(const SysResult& r) const { return w.at(r); }
  SysResult map(std::int64_t page, std::int64_t n, std::uint64_t prot, std::uint64_t flags,
                std::int64_t off_pages = 0) {
    return as.mmap(P(page), static_cast<std::uint64_t>(n) * PS, prot, flags, fd,
                   static_cast<std::uint64_t>(off_pages) * PS);
  }
  SysResult seal(std::uint64_t seals) { return as.fcntl(fd, a::ADD_SEALS, seals); }
  void memfd() {
    fd = static_cast<int>(as.memfd_create(a::MFD_ALLOW_SEALING, "r").value());
    as.ftruncate(fd, 16 * PS);
  }
  void secret() {
    fd = static_cast<int>(as.memfd_secret(0).value());
    as.ftruncate(fd, 16 * PS);
  }
  void anon(std::int64_t from, std::int64_t to) {
    as.mmap(P(from), static_cast<std::uint64_t>(to - from) * PS, kRW,
            a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_FIXED, -1, 0);
  }
  void huge(std::int64_t pages) {
    as.mmap(P(0), static_cast<std::uint64_t>(pages) * PS, kRW,
            a::MAP_PRIVATE | kAnonHuge | a::MAP_NORESERVE | a::MAP_FIXED, -1, 0);
  }
};

struct Row {
  const char* rule;
  std::function<void(Env&)> setup;
  const char* before;
  std::function<std::string(Env&)> call;
  const char* ret;
  const char* after;
  std::uint64_t npages = 16;
};
void PrintTo(const Row& row, std::ostream* os) { *os << row.rule; }

class MemfdRule : public ::testing::TestWithParam<Row> {};

TEST_P(MemfdRule, Row) {
  const Row& row = GetParam();
  Env e;
  test::install_probe_files(e.as);
  e.w = test::make_window(e.as, row.npages);
  row.setup(e);
  ASSERT_EQ(e.w.draw(), test::canonical(row.before));
  const std::string got = row.call(e);
  EXPECT_EQ(got, row.ret);
  EXPECT_EQ(e.w.draw(), test::canonical(row.after)) << "returned " << got;
}

constexpr std::uint64_t kMoveFixed = a::MREMAP_MAYMOVE | a::MREMAP_FIXED;

const Row kRows[] = {
    {"F_SEAL_WRITE is EBUSY while a read-only shared mapping may write",
     [](Env& e) {
       e.memfd();
       e.map(0, 4, kR, kSharedFixed);
     },
     "[0-4 r--s]", [](Env& e) { return e.ret(e.seal(a::SEAL_WRITE)); }, "EBUSY", "[0-4 r--s]"},
    {"F_SEAL_WRITE: a private writable mapping does not count",
     [](Env& e) {
       e.memfd();
       e.map(0, 4, kRW, kPrivateFixed);
     },
     "[0-4 rw-p ac]", [](Env& e) { return e.ret(e.seal(a::SEAL_WRITE)); }, "0", "[0-4 rw-p ac]"},
    {"write-sealed: MAP_FIXED shared writable is EPERM, nothing unmapped",
     [](Env& e) {
       e.memfd();
       e.seal(a::SEAL_WRITE);
       e.anon(0, 4);
     },
     "[0-4 rw-p ac]", [](Env& e) { return e.at(e.map(0, 4, kRW, kSharedFixed)); }, "EPERM",
     "[0-4 rw-p ac]"},
    {"write-sealed: a private writable mapping over a shared one",
     [](Env& e) {
       e.memfd();
       e.seal(a::SEAL_WRITE);
       e.map(0, 4, kR, kSharedFixed);
     },
     "[0-4 r--s]", [](Env& e) { return e.at(e.map(2, 2, kRW, kPrivateFixed, 2)); }, "@2",
     "[0-2 r--s][2-4 rw-p ac]"},
    {"write-sealed: mprotect rw over private then shared: the private VMA changes, then EACCES",
     [](Env& e) {
       e.memfd();
       e.seal(a::SEAL_WRITE);
       e.map(0, 2, kR, kPrivateFixed);
       e.map(2, 2, kR, kSharedFixed, 2);
     },
     "[0-2 r--p][2-4 r--s]", [](Env& e) { return e.ret(e.as.mprotect(e.P(0), 4 * PS, kRW)); },
     "EACCES", "[0-2 rw-p ac][2-4 r--s]"},
    {"F_SEAL_FUTURE_WRITE: the old mapping keeps VM_MAYWRITE when moved",
     [](Env& e) {
       e.memfd();
       e.map(0, 4, kRW, kSharedFixed);
       e.seal(a::SEAL_FUTURE_WRITE);
       e.as.mprotect(e.P(0), 4 * PS, kR);
       e.as.mremap(e.P(0), 4 * PS, 4 * PS, kMoveFixed, e.P(8));
     },
     "[8-12 r--s]", [](Env& e) { return e.ret(e.as.mprotect(e.P(8), 4 * PS, kRW)); }, "0",
     "[8-12 rw-s]"},
    {"secretmem: MAP_PRIVATE over the middle of a mapping is EINVAL and leaves a gap",
     [](Env& e) {
       e.secret();
       e.anon(0, 6);
     },
     "[0-6 rw-p ac]", [](Env& e) { return e.at(e.map(2, 2, kRW, kPrivateFixed)); }, "EINVAL",
     "[0-2 rw-p ac][4-6 rw-p ac]"},
    {"secretmem: mlock over anonymous and secretmem: ENOMEM, the anonymous VMA locked",
     [](Env& e) {
       e.secret();
       e.anon(0, 2);
       e.map(2, 2, kRW, kSharedFixed);
     },
     "[0-2 rw-p ac][2-4 rw-s lo dd]", [](Env& e) { return e.ret(e.as.mlock(e.P(0), 4 * PS)); },
     "ENOMEM", "[0-2 rw-p lo ac][2-4 rw-s lo dd]"},
    {"secretmem: the next part of the file merges",
     [](Env& e) {
       e.secret();
       e.map(0, 2, kRW, kSharedFixed);
     },
     "[0-2 rw-s lo dd]", [](Env& e) { return e.at(e.map(2, 2, kRW, kSharedFixed, 2)); }, "@2",
     "[0-4 rw-s lo dd]"},
    {"hugetlb: mseal of one page of a huge page is EINVAL", [](Env& e) { e.huge(kHP); },
     "[0-512 rw-p de nr ht]", [](Env& e) { return e.ret(e.as.mseal(e.P(0), PS, 0)); }, "EINVAL",
     "[0-512 rw-p de nr ht]", 2 * kHP},
    {"hugetlb: mseal of the huge page", [](Env& e) { e.huge(kHP); }, "[0-512 rw-p de nr ht]",
     [](Env& e) { return e.ret(e.as.mseal(e.P(0), kHuge, 0)); }, "0", "[0-512 rw-p de nr ht sl]",
     2 * kHP},
    {"hugetlb: mlock with an empty pool: ENOMEM, not locked", [](Env& e) { e.huge(kHP); },
     "[0-512 rw-p de nr ht]", [](Env& e) { return e.ret(e.as.mlock(e.P(0), kHuge)); }, "ENOMEM",
     "[0-512 rw-p de nr ht]", 2 * kHP},
    {"hugetlb: MADV_POPULATE_READ with an empty pool: EFAULT", [](Env& e) { e.huge(kHP); },
     "[0-512 rw-p de nr ht]",
     [](Env& e) { return e.ret(e.as.madvise(e.P(0), kHuge, a::MADV_POPULATE_READ)); }, "EFAULT",
     "[0-512 rw-p de nr ht]", 2 * kHP},
    {"hugetlb: MADV_DONTNEED of one page", [](Env& e) { e.huge(kHP); }, "[0-512 rw-p de nr ht]",
     [](Env& e) { return e.ret(e.as.madvise(e.P(0), PS, a::MADV_DONTNEED)); }, "0",
     "[0-512 rw-p de nr ht]", 2 * kHP},
    {"hugetlb: munmap of one huge page of two", [](Env& e) { e.huge(2 * kHP); },
     "[0-1024 rw-p de nr ht]", [](Env& e) { return e.ret(e.as.munmap(e.P(kHP), kHuge)); }, "0",
     "[0-512 rw-p de nr ht]", 2 * kHP},
    {"hugetlb: mremap moves a huge page", [](Env& e) { e.huge(kHP); }, "[0-512 rw-p de nr ht]",
     [](Env& e) { return e.at(e.as.mremap(e.P(0), kHuge, kHuge, kMoveFixed, e.P(kHP))); }, "@512",
     "[512-1024 rw-p de nr ht]", 2 * kHP},
    {"hugetlb: mremap to one page: the lengths round up, nothing changes",
     [](Env& e) { e.huge(kHP); }, "[0-512 rw-p de nr ht]",
     [](Env& e) { return e.at(e.as.mremap(e.P(0), kHuge, PS, 0, 0)); }, "@0",
     "[0-512 rw-p de nr ht]", 2 * kHP},
    {"hugetlb: mremap expansion is EINVAL", [](Env& e) { e.huge(kHP); }, "[0-512 rw-p de nr ht]",
     [](Env& e) { return e.at(e.as.mremap(e.P(0), kHuge, 2 * kHuge, a::MREMAP_MAYMOVE, 0)); },
     "EINVAL", "[0-512 rw-p de nr ht]", 2 * kHP},
    {"hugetlb: an unaligned new_addr is EINVAL even without MREMAP_FIXED",
     [](Env& e) { e.huge(kHP); }, "[0-512 rw-p de nr ht]",
     [](Env& e) { return e.at(e.as.mremap(e.P(0), PS, PS, 0, e.P(1))); }, "EINVAL",
     "[0-512 rw-p de nr ht]", 2 * kHP},
};

std::string row_name(const ::testing::TestParamInfo<Row>& info) {
  return test::test_name_of(info.param.rule);
}
INSTANTIATE_TEST_SUITE_P(Rules, MemfdRule, ::testing::ValuesIn(kRows), row_name);

}  // namespace
}  // namespace vmseal
