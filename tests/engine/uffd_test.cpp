// userfaultfd: the cases of tests/kernel/uffd.c replayed against the engine
// call for call; each observation (result and the window's layout) must equal
// the line the real kernel printed (tests/data/uffd.expected). Then the rules
// drawn: a layout before, a call, the layout after.
#include <gtest/gtest.h>

#include <map>
#include <set>

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
constexpr std::uint64_t kFixed = a::MAP_PRIVATE | a::MAP_ANONYMOUS | a::MAP_FIXED;
constexpr std::uint64_t kMissing = a::UFFDIO_REGISTER_MODE_MISSING;
constexpr std::uint64_t kWp = a::UFFDIO_REGISTER_MODE_WP;
constexpr std::uint64_t kMinor = a::UFFDIO_REGISTER_MODE_MINOR;
constexpr std::uint64_t kMove = a::MREMAP_MAYMOVE | a::MREMAP_FIXED;
constexpr std::uint64_t kFlags = a::UFFD_CLOEXEC | a::UFFD_NONBLOCK;

void run(const std::string& id, const std::function<void(Recorder&)>& body) {
  test::run_probe_case("uffd", id, body);
}

// The probe's fd numbers (a process with 0, 1 and 2 open) for the engine's,
// which has the probe files at 3 to 7: a userfaultfd shows the number the
// kernel gave, and the ioctls name it so.
class Fds {
 public:
  SysResult userfaultfd(AddressSpace& as, std::uint64_t flags) {
    const SysResult r = as.userfaultfd(flags);
    if (r.is_error()) return r;
    return SysResult::ok(static_cast<std::uint64_t>(bind(static_cast<int>(r.value()))));
  }
  // userfaultfd + UFFDIO_API (new_uffd()).
  int ready(Recorder& c, std::uint64_t features) {
    const SysResult r = userfaultfd(c.as(), kFlags);
    const int fd = static_cast<int>(r.value());
    c.ok(c.as().uffdio_api(e(fd), a::UFFD_API, features), "UFFDIO_API");
    return fd;
  }
  int dup(AddressSpace& as, int fd) {
    return bind(as.fds().install(as.fds().lookup(e(fd)), 3, false));
  }
  SysResult close(AddressSpace& as, int fd) {
    const SysResult r = as.close(e(fd));
    k2e_.erase(fd);
    return r;
  }
  // The engine's fd of the probe's `fd`.
  int e(int fd) const {
    const auto it = k2e_.find(fd);
    return it == k2e_.end() ? -1 : it->second;
  }
  UffdId ctx(const AddressSpace& as, int fd) const { return as.uffd_of(e(fd)); }

 private:
  int bind(int engine_fd) {
    int fd = 3;
    while (k2e_.count(fd) != 0) ++fd;
    k2e_[fd] = engine_fd;
    return fd;
  }
  std::map<int, int> k2e_;
};

struct U {
  Recorder& c;
  Fds& fds;
  SysResult reg(int fd, std::int64_t from, std::int64_t to, std::uint64_t mode) {
    return reg_in(c.as(), fd, from, to, mode);
  }
  SysResult reg_in(AddressSpace& as, int fd, std::int64_t from, std::int64_t to,
                   std::uint64_t mode) {
    return as.uffdio_register(fds.e(fd), c.P(from), static_cast<std::uint64_t>(to - from) * PS,
                              mode);
  }
  SysResult reg_raw(int fd, Addr start, std::uint64_t len, std::uint64_t mode) {
    return c.as().uffdio_register(fds.e(fd), start, len, mode);
  }
  SysResult unreg(int fd, std::int64_t from, std::int64_t to) {
    return c.as().uffdio_unregister(fds.e(fd), c.P(from),
                                    static_cast<std::uint64_t>(to - from) * PS);
  }
  SysResult move(std::int64_t from, std::int64_t len, std::int64_t to,
                 std::uint64_t flags = kMove) {
    return c.as().mremap(c.P(from), static_cast<std::uint64_t>(len) * PS,
                         static_cast<std::uint64_t>(len) * PS, flags, c.P(to));
  }
  void map_fd(std::int64_t from, std::int64_t to, std::uint64_t prot, std::uint64_t flags, int fd) {
    c.mapped_at(c.as().mmap(c.P(from), static_cast<std::uint64_t>(to - from) * PS, prot,
                            flags | a::MAP_FIXED, fd, 0),
                from, "map_fd");
  }
};

TEST(Uffd, U1SyscallAndHandshake) {
  run("u1", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(4);
    c.anon(0, 4, kRW);
    c.obs_ret(fds.userfaultfd(c.as(), 0x10));
    const SysResult r = fds.userfaultfd(c.as(), kFlags);
    c.obs_ret(r);
    const int fd = static_cast<int>(r.value());
    c.obs_ret(u.reg(fd, 0, 4, kMissing));
    c.obs_ret(u.unreg(fd, 0, 4));
    c.obs_ret(c.as().uffdio_api(fds.e(fd), 0xab, 0));
    c.obs_ret(c.as().uffdio_api(fds.e(fd), a::UFFD_API, std::uint64_t{1} << 40));
    c.obs_ret(u.reg(fd, 0, 4, kMissing));
    c.obs_ret(c.as().uffdio_api(fds.e(fd), a::UFFD_API, 0));
    c.obs_ret(c.as().uffdio_api(fds.e(fd), a::UFFD_API, 0));
    c.obs_ret(u.reg(fd, 0, 4, kMissing));
    c.obs_ret(fds.userfaultfd(c.as(), kFlags | a::UFFD_USER_MODE_ONLY));
  });
}

TEST(Uffd, U2Modes) {
  run("u2", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(8);
    c.anon(0, 8, kRW);
    const int fd = fds.ready(c, 0);
    c.obs_ret(u.reg(fd, 0, 2, kMissing));
    c.obs_ret(u.reg(fd, 2, 4, kWp));
    c.obs_ret(u.reg(fd, 4, 6, kMissing | kWp));
    c.obs_ret(u.reg(fd, 6, 8, kMinor));
    c.obs_ret(u.reg(fd, 6, 8, 0));
    c.obs_ret(u.reg(fd, 6, 8, 8));
    c.obs_ret(u.reg(fd, 6, 8, kMissing | kMinor));
    c.obs_ret(u.reg(fd, 4, 6, kMissing));
    c.obs_ret(u.reg(fd, 0, 2, kWp));
    c.obs_ret(u.reg(fd, 0, 4, kWp));
    c.obs_ret(u.unreg(fd, 0, 8));
  });
}

TEST(Uffd, U3Range) {
  run("u3", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(10);
    c.anon(2, 4, kRW);
    c.anon(6, 8, kRW);
    const int fd = fds.ready(c, 0);
    c.obs_ret(u.reg_raw(fd, c.P(2) + 1, PS, kMissing));
    c.obs_ret(u.reg_raw(fd, c.P(2), PS + 1, kMissing));
    c.obs_ret(u.reg_raw(fd, c.P(2), 0, kMissing));
    c.obs_ret(u.reg_raw(fd, 0x1000, PS, kMissing));
    c.obs_ret(u.reg_raw(fd, 0x7ffffffff000ULL, PS, kMissing));
    c.obs_ret(u.reg_raw(fd, 0x7fffffffe000ULL, 2 * PS, kMissing));
    c.obs_ret(u.reg(fd, 0, 2, kMissing));
    c.obs_ret(u.reg(fd, 4, 6, kMissing));
    c.obs_ret(u.reg(fd, 1, 10, kMissing));
    c.obs_ret(u.unreg(fd, 0, 7));
    c.obs_ret(u.unreg(fd, 8, 10));
    c.obs_ret(u.unreg(fd, 0, 10));
  });
}

TEST(Uffd, U4MemoryTypes) {
  run("u4", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    AddressSpace& as = c.as();
    c.region(18);
    const int fd = fds.ready(c, 0);
    u.map_fd(0, 2, kRW, a::MAP_SHARED | a::MAP_ANONYMOUS, -1);
    u.map_fd(2, 4, kRW, a::MAP_SHARED, test::kFdMemfd);
    u.map_fd(4, 6, kRW, a::MAP_PRIVATE, test::kFdMemfd);
    u.map_fd(6, 8, kRW, a::MAP_PRIVATE, test::kFdDevZero);
    u.map_fd(8, 10, kR, a::MAP_PRIVATE, test::kFdRdonly);
    FileInfo ro = as.files().get(as.fds().lookup(test::kFdMemfd));
    ro.writable = false;  // /proc/self/fd/N of the memfd opened O_RDONLY
    const int ro_fd = as.fds().install(as.files().add(ro), 20);
    u.map_fd(10, 12, kR, a::MAP_SHARED, ro_fd);
    c.anon(12, 14, kRW);
    c.obs_ret(u.reg(fd, 0, 2, kMinor));
    c.obs_ret(u.reg(fd, 2, 4, kMissing | kWp | kMinor));
    c.obs_ret(u.reg(fd, 4, 6, kMinor));
    c.obs_ret(u.reg(fd, 6, 8, kWp));
    c.obs_ret(u.reg(fd, 8, 10, kMissing));
    c.obs_ret(u.reg(fd, 8, 10, kWp));
    c.obs_ret(u.reg(fd, 10, 12, kMissing));
    c.obs_ret(u.reg(fd, 10, 12, kMinor));
    c.obs_ret(u.reg(fd, 12, 14, kMinor));
    c.obs_ret(u.reg(fd, 6, 10, kMissing));
    c.obs_ret(u.reg(fd, 12, 16, kMissing));
    c.obs_ret(u.unreg(fd, 0, 8));
    c.obs_ret(u.unreg(fd, 8, 10));
    c.obs_ret(u.unreg(fd, 12, 14));
    u.map_fd(14, 16, kRW, a::MAP_DROPPABLE | a::MAP_ANONYMOUS, -1);
    c.obs_ret(u.reg(fd, 14, 16, kMissing));
    FileInfo seg;
    seg.path = "/SYSV00000000 (deleted)";
    seg.kind = FileKind::SysvShm;
    seg.writable = true;
    seg.size = 2 * PS;
    c.mapped_at(as.shmat(as.files().add(seg), c.P(16), 0), 16, "shmat");
    c.obs_ret(u.reg(fd, 16, 18, kMissing));
  });
}

TEST(Uffd, U5SplitsAndMerges) {
  run("u5", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(12);
    c.anon(0, 8, kRW);
    const int fd = fds.ready(c, 0);
    c.obs_ret(u.reg(fd, 2, 4, kMissing));
    c.obs_ret(u.unreg(fd, 2, 4));
    c.obs_ret(u.reg(fd, 0, 4, kMissing));
    c.anon(8, 10, kRW);
    c.obs_ret(u.reg(fd, 4, 8, kMissing));
    c.obs_ret(u.reg(fd, 8, 10, kWp));
    c.obs_ret(u.reg(fd, 8, 10, kMissing));
    c.obs_ret(c.as().mprotect(c.P(2), 2 * PS, kR));
    c.obs_ret(c.as().mprotect(c.P(2), 2 * PS, kRW));
    c.obs_ret(u.unreg(fd, 3, 5));
    c.obs_ret(u.unreg(fd, 0, 3));
    c.obs_ret(u.unreg(fd, 5, 10));
  });
}

TEST(Uffd, U6TwoContexts) {
  run("u6", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(10);
    c.anon(0, 8, kRW);
    u.map_fd(8, 10, kR, a::MAP_PRIVATE, test::kFdRdonly);
    const int x = fds.ready(c, 0);
    const int y = fds.ready(c, 0);
    c.obs_ret(u.reg(x, 0, 4, kMissing));
    c.obs_ret(u.reg(y, 2, 6, kMissing));
    c.obs_ret(u.reg(y, 4, 6, kMissing));
    c.obs_ret(u.unreg(y, 0, 2));
    c.obs_ret(u.unreg(y, 4, 8));
    c.obs_ret(u.reg(y, 2, 10, kMissing));
    c.obs_ret(u.reg(y, 6, 10, kMissing));
    c.obs_ret(u.reg(x, 4, 6, kMissing));
    c.obs_ret(u.unreg(x, 0, 8));
    c.obs_ret(u.unreg(y, 0, 8));
  });
}

TEST(Uffd, U7Fork) {
  run("u7", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(8);
    c.anon(0, 8, kRW);
    int fd = fds.ready(c, 0);
    c.ok(u.reg(fd, 0, 4, kMissing), "register");
    c.ok(u.reg(fd, 4, 6, kWp), "register");
    c.fork_and(nullptr);
    // The child registers through its copy of the fd: in the parent's mm
    // (the context's), which the engine is asked for, as vmseal sim does.
    AddressSpace& parent = c.as();
    const UffdId ctx = fds.ctx(parent, fd);
    c.fork_and([&](Recorder& child) {
      child.obs_ret(parent.uffd_register(ctx, child.P(6), 2 * PS, kMissing));
    });
    c.obs_ret(SysResult::ok(0));
    c.ok(u.unreg(fd, 0, 8), "unregister");
    c.ok(fds.close(c.as(), fd), "close");
    fd = fds.ready(c, a::UFFD_FEATURE_EVENT_FORK);  // (the probe's monitor is not modelled)
    c.ok(u.reg(fd, 0, 4, kMissing), "register");
    c.ok(u.reg(fd, 4, 6, kWp), "register");
    c.fork_and(nullptr);
  });
}

TEST(Uffd, U8Close) {
  run("u8", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(8);
    c.anon(0, 8, kRW);
    int fd = fds.ready(c, 0);
    c.ok(u.reg(fd, 0, 2, kMissing), "register");
    c.ok(u.reg(fd, 4, 6, kWp), "register");
    c.obs_ret(fds.close(c.as(), fd));
    fd = fds.ready(c, 0);
    const int fd2 = fds.dup(c.as(), fd);
    c.obs_ret(u.reg(fd2, 2, 4, kMissing));
    c.obs_ret(fds.close(c.as(), fd));
    c.obs_ret(fds.close(c.as(), fd2));
    // A forked child holds the last fd: the context lives until it exits.
    fd = fds.ready(c, 0);
    c.ok(u.reg(fd, 4, 6, kMissing), "register");
    AddressSpace& parent = c.as();
    AddressSpace child = parent.fork();
    const FileId file = parent.fds().lookup(fds.e(fd));
    parent.fds().close(fds.e(fd));
    AddressSpace* both[] = {&parent, &child};
    EXPECT_FALSE(release_if_unheld(parent.files(), file, both));
    c.obs_ret(SysResult::ok(0));
    AddressSpace* alone[] = {&parent};
    EXPECT_TRUE(release_if_unheld(parent.files(), file, alone));  // the child exited
    c.obs_ret(SysResult::ok(0));
  });
}

TEST(Uffd, U9Sealed) {
  run("u9", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(8);
    c.anon(0, 8, kRW);
    c.ok(c.as().mseal(c.P(0), 4 * PS, 0), "mseal");
    const int fd = fds.ready(c, 0);
    c.obs_ret(u.reg(fd, 2, 6, kMissing));
    c.obs_ret(u.unreg(fd, 3, 6));
    c.obs_ret(fds.close(c.as(), fd));
  });
}

TEST(Uffd, U10Mremap) {
  run("u10", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    AddressSpace& as = c.as();
    c.region(40);
    const int fd = fds.ready(c, 0);
    c.anon(0, 4, kRW);
    c.ok(u.reg(fd, 0, 4, kMissing), "register");
    c.obs_addr(as.mremap(c.P(0), 4 * PS, 6 * PS, 0, 0));
    c.obs_addr(as.mremap(c.P(0), 6 * PS, 3 * PS, 0, 0));
    c.obs_addr(u.move(0, 3, 10));
    c.obs_ret(u.unreg(fd, 10, 13));
    c.ok(u.reg(fd, 10, 13, kWp), "register");
    c.obs_addr(u.move(10, 3, 20, kMove | a::MREMAP_DONTUNMAP));
    c.ok(as.munmap(c.P(10), 13 * PS), "munmap");
    c.anon(0, 2, kRW);
    c.anon(2, 4, kR);
    c.anon(4, 6, kRW);
    c.ok(u.reg(fd, 2, 4, kMissing), "register");
    c.obs_addr(u.move(0, 6, 30));
    c.obs_addr(u.move(2, 4, 30));
    c.ok(as.munmap(c.P(4), 2 * PS), "munmap");
    c.obs_addr(u.move(2, 4, 10));
    c.obs_addr(u.move(2, 2, 10));
    c.ok(as.munmap(c.P(0), 40 * PS), "munmap");
    c.anon(0, 2, kRW);
    c.anon(12, 14, kRW);
    c.ok(u.reg(fd, 0, 2, kMissing), "register");
    c.obs_addr(u.move(0, 2, 10));
    c.anon(20, 22, kRW);
    c.anon(24, 26, kRW);
    c.ok(u.reg(fd, 20, 22, kMissing), "register");
    c.ok(u.reg(fd, 24, 26, kMissing), "register");
    c.obs_addr(u.move(20, 2, 22));
  });
}

TEST(Uffd, U11EventRemap) {
  run("u11", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(30);
    const int fd = fds.ready(c, a::UFFD_FEATURE_EVENT_REMAP);
    c.anon(0, 4, kRW);
    c.ok(u.reg(fd, 0, 4, kMissing), "register");
    c.obs_addr(u.move(0, 4, 10));
    c.obs_addr(c.as().mremap(c.P(10), 4 * PS, 8 * PS, a::MREMAP_MAYMOVE, 0));
    c.anon(0, 2, kRW);
    c.anon(2, 4, kR);
    c.ok(u.reg(fd, 2, 4, kMissing), "register");
    c.obs_addr(u.move(0, 4, 20));
  });
}

TEST(Uffd, U12Unprivileged) {
  run("u12", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(4);
    c.anon(0, 4, kRW);
    c.fork_and([&](Recorder& child) {
      AddressSpace& as = child.as();
      child.obs_ret(SysResult::ok(0));  // setresgid(65534): not modelled
      as.config().caps = Capabilities{};
      child.obs_ret(SysResult::ok(0));  // setresuid(65534) drops every capability
      child.obs_ret(fds.userfaultfd(as, kFlags));
      const SysResult r = fds.userfaultfd(as, kFlags | a::UFFD_USER_MODE_ONLY);
      child.obs_ret(r);
      const int fd = static_cast<int>(r.value());
      child.obs_ret(as.uffdio_api(fds.e(fd), a::UFFD_API, a::UFFD_FEATURE_EVENT_FORK));
      child.obs_ret(as.uffdio_api(fds.e(fd), a::UFFD_API, a::UFFD_FEATURE_EVENT_REMAP));
      child.obs_ret(u.reg_in(as, fd, 0, 2, kMissing));
    });
  });
}

TEST(Uffd, U13Exec) {
  run("u13", [](Recorder& c) {
    Fds fds;
    c.region(2);
    const SysResult r = fds.userfaultfd(c.as(), a::UFFD_NONBLOCK);  // kept across execve
    const int fd = static_cast<int>(r.value());
    c.ok(c.as().uffdio_api(fds.e(fd), a::UFFD_API, 0), "UFFDIO_API");
    AddressSpace image = c.as().successor_for_exec();
    c.switch_to(image);
    const SysResult p = image.mmap(0, 2 * PS, kRW, a::MAP_PRIVATE | a::MAP_ANONYMOUS, -1, 0);
    ASSERT_TRUE(p.is_ok());
    c.obs_ret(image.uffdio_register(fds.e(fd), p.value(), 2 * PS, kMissing));
    c.obs_ret(image.uffdio_unregister(fds.e(fd), p.value(), 2 * PS));
  });
}

TEST(Uffd, U14Munmap) {
  run("u14", [](Recorder& c) {
    Fds fds;
    U u{c, fds};
    c.region(8);
    c.anon(0, 8, kRW);
    const int fd = fds.ready(c, 0);
    c.ok(u.reg(fd, 0, 8, kMissing), "register");
    c.obs_ret(c.as().munmap(c.P(2), 2 * PS));
    c.obs_addr(c.as().mmap(c.P(5), PS, kRW, kFixed, -1, 0));
    c.obs_addr(c.as().mmap(c.P(2), 2 * PS, kRW, kFixed, -1, 0));
    c.obs_ret(u.reg(fd, 2, 4, kMissing));
  });
}

// ---- the rules, drawn -----------------------------------------------------------

// A window of `n` pages in a root process with a ready userfaultfd.
struct Drawn {
  AddressSpace as{test::probe_config()};
  test::Window w;
  int fd = -1;
  explicit Drawn(std::uint64_t n, std::uint64_t features = 0) {
    w = test::make_window(as, n);
    fd = static_cast<int>(as.userfaultfd(kFlags).value());
    EXPECT_TRUE(as.uffdio_api(fd, a::UFFD_API, features).is_ok());
  }
  SysResult reg(std::int64_t from, std::int64_t to, std::uint64_t mode, int with = -1) {
    return as.uffdio_register(with < 0 ? fd : with, w.P(from),
                              static_cast<std::uint64_t>(to - from) * PS, mode);
  }
  SysResult unreg(std::int64_t from, std::int64_t to, int with = -1) {
    return as.uffdio_unregister(with < 0 ? fd : with, w.P(from),
                                static_cast<std::uint64_t>(to - from) * PS);
  }
};

// userfaultfd_register_range(): a sub-range is split off and takes the
// context; userfaultfd_clear_vma() merges it back (5.1, u5).
TEST(UffdRule, RegisterSplitsAndUnregisterMergesBack) {
  Drawn d(8);
  ASSERT_TRUE(test::build(d.w, "[0-8 rw-p ac]"));
  EXPECT_EQ(d.reg(2, 4, kMissing), SysResult::ok(0));
  EXPECT_EQ(d.w.draw(), "[0-2 rw-p ac][2-4 rw-p um ac][4-8 rw-p ac]");
  EXPECT_EQ(d.unreg(2, 4), SysResult::ok(0));
  EXPECT_EQ(d.w.draw(), "[0-8 rw-p ac]");
}

// The context is part of what merging compares: the same flags under two
// contexts stay two VMAs, and the other context's VMA is EBUSY, with nothing
// changed (u6).
TEST(UffdRule, AnotherContextsVmaIsBusyAndNeverMerges) {
  Drawn d(8);
  const int other = static_cast<int>(d.as.userfaultfd(kFlags).value());
  ASSERT_TRUE(d.as.uffdio_api(other, a::UFFD_API, 0).is_ok());
  ASSERT_TRUE(test::build(d.w, "[0-8 rw-p ac]"));
  ASSERT_EQ(d.reg(0, 4, kMissing), SysResult::ok(0));
  EXPECT_EQ(d.reg(2, 6, kMissing, other), SysResult(Errno::BUSY));
  EXPECT_EQ(d.w.draw(), "[0-4 rw-p um ac][4-8 rw-p ac]");
  EXPECT_EQ(d.reg(4, 8, kMissing, other), SysResult::ok(0));
  EXPECT_EQ(d.w.draw(), "[0-4 rw-p um ac][4-8 rw-p um ac]");
  EXPECT_EQ(d.reg(4, 8, kMissing), SysResult(Errno::BUSY));
  EXPECT_EQ(d.unreg(0, 8, other), SysResult(Errno::INVAL));
}

// Registration asks no seal: a sealed VMA is split and registered, and
// closing the fd merges it back, sealed (u9).
TEST(UffdRule, SealedVmaIsSplitAndRegistered) {
  Drawn d(8);
  ASSERT_TRUE(test::build(d.w, "[0-4 rw-p ac sl][4-8 rw-p ac]"));
  EXPECT_EQ(d.reg(2, 6, kWp), SysResult::ok(0));
  EXPECT_EQ(d.w.draw(), "[0-2 rw-p ac sl][2-4 rw-p uw ac sl][4-6 rw-p uw ac][6-8 rw-p ac]");
  EXPECT_EQ(d.as.close(d.fd), SysResult::ok(0));
  EXPECT_EQ(d.w.draw(), "[0-4 rw-p ac sl][4-8 rw-p ac]");
}

// remap_move(): an armed VMA moves only alone. After it the earlier VMAs
// stay moved (EFAULT); first with more after it, nothing moves (u10).
TEST(UffdRule, MultiVmaMoveStopsAtAnArmedVma) {
  Drawn d(40);
  ASSERT_TRUE(test::build(d.w, "[0-2 rw-p ac][2-4 r--p][4-6 rw-p ac]"));
  ASSERT_EQ(d.reg(2, 4, kMissing), SysResult::ok(0));
  EXPECT_EQ(d.as.mremap(d.w.P(0), 6 * PS, 6 * PS, kMove, d.w.P(30)), SysResult(Errno::FAULT));
  EXPECT_EQ(d.w.draw(), "[2-4 r--p um][4-6 rw-p ac][30-32 rw-p ac]");
  EXPECT_EQ(d.as.mremap(d.w.P(2), 4 * PS, 4 * PS, kMove, d.w.P(10)), SysResult(Errno::FAULT));
  EXPECT_EQ(d.w.draw(), "[2-4 r--p um][4-6 rw-p ac][30-32 rw-p ac]");
  EXPECT_EQ(d.as.mremap(d.w.P(2), 2 * PS, 2 * PS, kMove, d.w.P(10)), SysResult::ok(d.w.P(10)));
  EXPECT_EQ(d.w.draw(), "[4-6 rw-p ac][10-12 r--p][30-32 rw-p ac]");
}

// mremap_userfaultfd_prep() comes after copy_vma()'s merge: a neighbour of
// the same context merged into the moved VMA loses its registration with it
// (u10.11); with UFFD_FEATURE_EVENT_REMAP both keep it (u11).
TEST(UffdRule, MoveClearsTheMergedDestination) {
  for (const std::uint64_t features : {std::uint64_t{0}, a::UFFD_FEATURE_EVENT_REMAP}) {
    Drawn d(30, features);
    ASSERT_TRUE(test::build(d.w, "[20-22 rw-p ac][24-26 rw-p ac]"));
    ASSERT_EQ(d.reg(20, 22, kMissing), SysResult::ok(0));
    ASSERT_EQ(d.reg(24, 26, kMissing), SysResult::ok(0));
    EXPECT_EQ(d.as.mremap(d.w.P(20), 2 * PS, 2 * PS, kMove, d.w.P(22)), SysResult::ok(d.w.P(22)));
    EXPECT_EQ(d.w.draw(), features == 0 ? "[22-26 rw-p ac]" : "[22-26 rw-p um ac]");
  }
}

// dup_userfaultfd(): without UFFD_FEATURE_EVENT_FORK the child's VMAs lose
// the registration and stay as they were split; with it they keep it (u7).
TEST(UffdRule, ForkDropsTheRegistrationWithoutMerging) {
  for (const std::uint64_t features : {std::uint64_t{0}, a::UFFD_FEATURE_EVENT_FORK}) {
    Drawn d(8, features);
    ASSERT_TRUE(test::build(d.w, "[0-8 rw-p ac]"));
    ASSERT_EQ(d.reg(2, 4, kMissing), SysResult::ok(0));
    AddressSpace child = d.as.fork();
    test::Window cw = d.w;
    cw.as = &child;
    EXPECT_EQ(cw.draw(), features == 0 ? "[0-2 rw-p ac][2-4 rw-p ac][4-8 rw-p ac]"
                                       : "[0-2 rw-p ac][2-4 rw-p um ac][4-8 rw-p ac]");
    EXPECT_EQ(d.w.draw(), "[0-2 rw-p ac][2-4 rw-p um ac][4-8 rw-p ac]");
  }
}

// The last close releases the context: its VMAs are cleared whole and
// merged; a dup()ed fd keeps it (u8).
TEST(UffdRule, TheLastCloseUnregistersAndMerges) {
  Drawn d(8);
  ASSERT_TRUE(test::build(d.w, "[0-8 rw-p ac]"));
  ASSERT_EQ(d.reg(2, 4, kMissing), SysResult::ok(0));
  const int copy = d.as.fds().install(d.as.fds().lookup(d.fd));
  EXPECT_EQ(d.as.close(d.fd), SysResult::ok(0));
  EXPECT_EQ(d.w.draw(), "[0-2 rw-p ac][2-4 rw-p um ac][4-8 rw-p ac]");
  EXPECT_EQ(d.as.close(copy), SysResult::ok(0));
  EXPECT_EQ(d.w.draw(), "[0-8 rw-p ac]");
  EXPECT_EQ(d.as.close(copy), SysResult(Errno::BADF));
}

}  // namespace
}  // namespace vmseal
