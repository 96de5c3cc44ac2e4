// The application API (api.hpp, vmseal.h) against the running kernel. Each
// test that seals does it in a forked child: seals outlive the test.
#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "support/cli_run.hpp"
#include "vmseal/sealing/api.hpp"
#include "vmseal/vmseal.h"

namespace {

constexpr std::size_t kPage = 4096;

// Runs `body` in a child; it returns "" on success or what went wrong.
void in_child(const std::function<std::string()>& body) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string msg;
    try {
      msg = body();
    } catch (const std::exception& e) {
      msg = std::string("exception: ") + e.what();
    }
    if (!msg.empty() && write(fds[1], msg.data(), msg.size()) < 0) _exit(3);
    _exit(msg.empty() ? 0 : 1);
  }
  close(fds[1]);
  std::string got;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << got << " (status " << st << ")";
}

#define CHECK(cond) \
  if (!(cond)) return std::string(#cond " failed at line ") + std::to_string(__LINE__)

char* map_pages(std::size_t n, int prot = PROT_READ | PROT_WRITE) {
  void* p = mmap(nullptr, n * kPage, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
}

TEST(SealApi, WholeRangeOrNothing) {
  NEED_MSEAL();
  in_child([] {
    char* p = map_pages(3);
    CHECK(p != nullptr);
    CHECK(munmap(p + kPage, kPage) == 0);
    // A hole: ENOMEM, and the first page is left as it was.
    vmseal::SealResult r = vmseal::seal(p, 3 * kPage);
    CHECK(r.error.value() == ENOMEM);
    CHECK(r.message.find("not every page is mapped") != std::string::npos);
    CHECK(!vmseal::is_sealed(p, kPage));
    CHECK(vmseal::seal(p + 1, kPage).error.value() == EINVAL);
    CHECK(vmseal::seal(p, SIZE_MAX - 100).error.value() == EINVAL);
    CHECK(vmseal::seal(p, 0));
    CHECK(vmseal::seal(p, kPage));
    CHECK(vmseal::is_sealed(p, kPage));
    CHECK(!vmseal::is_sealed(p, 3 * kPage));
    CHECK(munmap(p, kPage) == -1 && errno == EPERM);
    // Sealing what is sealed already is a no-op.
    CHECK(vmseal::seal(p, kPage));
    return std::string();
  });
}

TEST(SealApi, FreezeRefusesUpFrontWhereMprotectWouldPartlyApply) {
  NEED_MSEAL();
  in_child([] {
    char* p = map_pages(2);
    CHECK(p != nullptr);
    std::strcpy(p, "config");
    CHECK(vmseal::freeze(p, kPage));
    CHECK(vmseal::is_sealed(p, kPage));
    CHECK(mprotect(p, kPage, PROT_READ | PROT_WRITE) == -1 && errno == EPERM);
    CHECK(std::strcmp(p, "config") == 0);
    CHECK(vmseal::freeze(p, kPage));  // frozen already: fine
    // The second page is writable and not sealed; the first is sealed. Linux
    // 6.18's mprotect would change the second before failing on the first?
    // It walks in address order and fails at the first: order them so the
    // unsealed page comes first and would have been changed.
    char* q = map_pages(2);
    CHECK(q != nullptr);
    CHECK(vmseal::seal(q + kPage, kPage));
    vmseal::SealResult r = vmseal::freeze(q, 2 * kPage);
    CHECK(r.error.value() == EPERM);
    q[0] = 'w';  // still writable: nothing was changed
    CHECK(!vmseal::is_sealed(q, kPage));
    return std::string();
  });
}

TEST(SealApi, SealedObject) {
  NEED_MSEAL();
  in_child([] {
    struct Flags {
      int level = 1;
      bool jit = true;
    };
    vmseal::Sealed<Flags> flags;
    flags.mut().level = 3;
    CHECK(!flags.frozen());
    CHECK(flags.freeze());
    CHECK(flags.frozen());
    CHECK(flags->level == 3 && flags->jit);
    CHECK(vmseal::is_sealed(flags.get(), sizeof(Flags)));
    bool threw = false;
    try {
      flags.mut().level = 4;
    } catch (const std::logic_error&) {
      threw = true;
    }
    CHECK(threw);
    auto* page = reinterpret_cast<char*>(const_cast<Flags*>(flags.get()));
    CHECK(mprotect(page, kPage, PROT_READ | PROT_WRITE) == -1 && errno == EPERM);
    CHECK(madvise(page, kPage, MADV_DONTNEED) == -1 && errno == EPERM);
    // The guard pages are sealed with it: nothing can be mapped against it.
    CHECK(munmap(page - kPage, kPage) == -1 && errno == EPERM);
    // An unfrozen one unmaps its pages when destroyed.
    const Flags* gone = nullptr;
    {
      vmseal::Sealed<Flags> scratch;
      gone = scratch.get();
    }
    CHECK(!vmseal::is_sealed(gone, 1));
    return std::string();
  });
}

TEST(SealApi, CInterface) {
  NEED_MSEAL();
  in_child([] {
    CHECK(vmseal_available() == 1);
    vmseal_error err{};
    char* cfg = static_cast<char*>(vmseal_sealed_alloc(100, &err));
    CHECK(cfg != nullptr);
    std::strcpy(cfg, "hello");
    CHECK(vmseal_sealed_freeze(cfg, &err) == 0);
    CHECK(vmseal_is_sealed(cfg, 100, &err) == 1);
    CHECK(std::strcmp(cfg, "hello") == 0);
    CHECK(vmseal_sealed_freeze(cfg + 1, &err) == -1 && err.code == EINVAL);
    char* p = map_pages(1);
    CHECK(vmseal_seal(p + 8, kPage, &err) == -1 && err.code == EINVAL && errno == EINVAL);
    CHECK(std::strstr(err.message, "not page-aligned") != nullptr);
    CHECK(vmseal_freeze(p, kPage, nullptr) == 0);
    CHECK(vmseal_is_sealed(p, kPage, nullptr) == 1);
    CHECK(vmseal_seal_loaded_images(static_cast<vmseal_profile>(3), nullptr, &err) == -1 &&
          err.code == EINVAL);
    return std::string();
  });
}

TEST(SealApi, SealLoadedImages) {
  NEED_MSEAL();
  in_child([] {
    const vmseal::LoadedImagesResult r = vmseal::seal_loaded_images();
    CHECK(r.status);
    CHECK(r.failures == 0);
    CHECK(r.objects_sealed >= 3);  // the test program, libc, ld.so at least
    // libc's text is sealed now; this test's own text too.
    void* text =
        reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(&std::strlen) & ~(kPage - 1));
    CHECK(vmseal::is_sealed(text, 1));
    CHECK(mprotect(text, kPage, PROT_READ | PROT_WRITE | PROT_EXEC) == -1 && errno == EPERM);
    // Again: nothing new to seal, nothing fails.
    const vmseal::LoadedImagesResult again = vmseal::seal_loaded_images();
    CHECK(again.status && again.objects_sealed == 0);
    return std::string();
  });
}

TEST(SealApi, WithoutMseal) {
  NEED_MSEAL();  // to tell the filter's effect from a kernel without it
  in_child([] {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    CHECK(ctx != nullptr && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), 462, 0) == 0 &&
          seccomp_load(ctx) == 0);
    CHECK(vmseal_available() == 0);
    char* p = map_pages(1);
    vmseal::SealResult r = vmseal::seal(p, kPage);
    CHECK(r.error.value() == ENOSYS);
    CHECK(!r.message.empty());
    // freeze still makes the pages read-only, and says they are not sealed.
    r = vmseal::freeze(p, kPage);
    CHECK(r.error.value() == ENOSYS);
    CHECK(r.message.find("read-only but not sealed") != std::string::npos);
    CHECK(mprotect(p, kPage, PROT_READ | PROT_WRITE) == 0);  // not sealed: allowed
    vmseal::Sealed<int> value(5);
    CHECK(!value.freeze());
    CHECK(value.frozen());  // read-only even so: writing would fault
    const vmseal::LoadedImagesResult images = vmseal::seal_loaded_images();
    CHECK(images.status.error.value() == ENOSYS && images.objects_sealed == 0);
    return std::string();
  });
}

}  // namespace
