// The engine's /proc/PID/maps and smaps VmFlags lines, byte for byte against
// the kernel's: the same calls are made natively (in this test process, inside
// a window it reserved) and in the engine, and the lines for the window compared.
#include "vmseal/engine/proc_maps.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

// The x86-64 number of mseal(2) (glibc headers of Debian 12 predate it).
constexpr long kNrMseal = 462;

namespace vmseal {
namespace {

constexpr std::size_t kPages = 48;

// The maps line and VmFlags line of every VMA of /proc/self/smaps inside [lo, hi).
std::string kernel_window(Addr lo, Addr hi) {
  std::ifstream f("/proc/self/smaps");
  std::string line;
  std::string out;
  bool in = false;
  while (std::getline(f, line)) {
    unsigned long long s = 0;
    unsigned long long e = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx ", &s, &e) == 2) {
      in = s >= lo && e <= hi;
      if (in) out += line + "\n";
    } else if (in && line.rfind("VmFlags:", 0) == 0) {
      out += line + "\n";
    }
  }
  return out;
}

std::string engine_window(const AddressSpace& as, Addr lo, Addr hi) {
  std::string out;
  for (const Vma* v = as.vmas().lower(lo); v != nullptr && v->end <= hi; v = as.vmas().next_of(*v))
    out += maps_line(as, *v) + "\nVmFlags: " + smaps_vmflags(v->flags) + "\n";
  return out;
}

bool have_mseal() {
  void* p = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  const long r = syscall(kNrMseal, p, 4096, 0);
  const bool ok = r == 0;
  if (!ok) munmap(p, 4096);
  return ok;  // a sealed page is leaked on purpose: it cannot be unmapped
}

TEST(ProcMaps, MatchesTheKernelByteForByte) {
  if (!have_mseal())
    GTEST_SKIP() << "the kernel has no mseal (ENOSYS) or a seccomp filter denies it";
  const int memfd = static_cast<int>(syscall(SYS_memfd_create, "vmseal-maps", 0));
  ASSERT_GE(memfd, 0);
  ASSERT_EQ(ftruncate(memfd, 8 * 4096), 0);
  const int zero = open("/dev/zero", O_RDWR);
  ASSERT_GE(zero, 0);

  // Reserve the window with a page of hole on each side: otherwise its first
  // and last VMAs may merge with a neighbour (ASan's PROT_NONE reservations
  // do) and stretch outside the window.
  void* w = mmap(nullptr, (kPages + 2) * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(w, MAP_FAILED);
  const Addr base = reinterpret_cast<Addr>(w) + 4096;
  ASSERT_EQ(munmap(w, 4096), 0);
  ASSERT_EQ(munmap(reinterpret_cast<void*>(base + kPages * 4096), 4096), 0);
  auto P = [&](Addr page) { return base + page * 4096; };

  AddressSpace as;
  as.config().set_privileged(geteuid() == 0);
  struct stat st {};
  ASSERT_EQ(fstat(memfd, &st), 0);
  FileInfo mf;
  mf.path = "/memfd:vmseal-maps (deleted)";
  mf.dev_major = major(st.st_dev);
  mf.dev_minor = minor(st.st_dev);
  mf.inode = st.st_ino;
  mf.writable = true;
  mf.kind = FileKind::Shmem;
  as.fds().install_at(memfd, as.files().add(mf));
  ASSERT_EQ(fstat(zero, &st), 0);
  FileInfo zf;
  zf.path = "/dev/zero";
  zf.dev_major = major(st.st_dev);
  zf.dev_minor = minor(st.st_dev);
  zf.inode = st.st_ino;
  zf.writable = true;
  zf.kind = FileKind::DevZero;
  as.fds().install_at(zero, as.files().add(zf));

  // Each call is made on both sides and must return the same thing.
  auto both_mmap = [&](Addr page, std::size_t n, int prot, int flags, int fd, off_t off) {
    void* k = mmap(reinterpret_cast<void*>(P(page)), n * 4096, prot, flags | MAP_FIXED, fd, off);
    const SysResult e =
        as.mmap(P(page), n * 4096, static_cast<std::uint64_t>(prot),
                static_cast<std::uint64_t>(flags | MAP_FIXED), fd, static_cast<std::uint64_t>(off));
    ASSERT_NE(k, MAP_FAILED);
    ASSERT_TRUE(e.is_ok());
    EXPECT_EQ(e.value(), reinterpret_cast<Addr>(k));
  };
  both_mmap(0, kPages, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  both_mmap(1, 3, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  both_mmap(5, 2, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  both_mmap(8, 2, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  both_mmap(11, 3, PROT_READ, MAP_PRIVATE, memfd, 4096);
  both_mmap(15, 2, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
  both_mmap(18, 2, PROT_READ | PROT_EXEC, MAP_PRIVATE, zero, 0);
  both_mmap(21, 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_STACK,
            -1, 0);
  both_mmap(24, 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_EQ(syscall(kNrMseal, P(5), 4096, 0), 0);
  ASSERT_TRUE(as.mseal(P(5), 4096, 0).is_ok());
  ASSERT_EQ(madvise(reinterpret_cast<void*>(P(24)), 4096, MADV_DONTDUMP), 0);
  ASSERT_TRUE(as.madvise(P(24), 4096, MADV_DONTDUMP).is_ok());
  ASSERT_EQ(madvise(reinterpret_cast<void*>(P(26)), 4096, MADV_DONTFORK), 0);
  ASSERT_TRUE(as.madvise(P(26), 4096, MADV_DONTFORK).is_ok());
  // Through syscall(): ASan's mlock interceptor does nothing and returns 0.
  ASSERT_EQ(syscall(SYS_mlock, P(2), 4096), 0);
  ASSERT_TRUE(as.mlock(P(2), 4096).is_ok());

  // The inode of a MAP_SHARED|MAP_ANONYMOUS mapping is the kernel's choice:
  // copy it into the engine's description of that shmem file.
  std::string kernel = kernel_window(P(0), P(kPages));
  const Vma* shared = as.vmas().find(P(8));
  ASSERT_NE(shared, nullptr);
  {
    std::istringstream in(kernel);
    std::string line;
    const std::string prefix = maps_line(as, *shared).substr(0, 25);
    while (std::getline(in, line)) {
      if (line.rfind(prefix, 0) != 0) continue;
      unsigned long long ino = 0;
      std::sscanf(line.c_str() + 45, "%llu", &ino);
      as.files().get(shared->file).inode = ino;
    }
  }
  // 23 VMAs (the splits included), each a maps line and a VmFlags line.
  ASSERT_EQ(std::count(kernel.begin(), kernel.end(), '\n'), 46) << kernel;
  EXPECT_EQ(engine_window(as, P(0), P(kPages)), kernel);

  // The rest of the window cannot be unmapped (page 5 is sealed): leave it.
  close(memfd);
  close(zero);
}

TEST(ProcMaps, NamesOfSpecialMappings) {
  AddressSpace as;
  ExecImage img;
  img.mappings.push_back(
      {0x7ffff7fc1000, 0x7ffff7fc5000,
       vm::READ | vm::MAYREAD | vm::IO | vm::PFNMAP | vm::DONTEXPAND | vm::DONTDUMP, 0, 0,
       SpecialKind::Vvar});
  img.mappings.push_back(
      {0x7ffff7fc5000, 0x7ffff7fc7000,
       vm::READ | vm::MAYREAD | vm::IO | vm::PFNMAP | vm::DONTEXPAND | vm::DONTDUMP, 0, 0,
       SpecialKind::VvarVclock});
  img.mappings.push_back(
      {0x7ffff7fc7000, 0x7ffff7fc9000,
       vm::READ | vm::EXEC | vm::MAYREAD | vm::MAYWRITE | vm::MAYEXEC | vm::DONTEXPAND, 0, 0,
       SpecialKind::Vdso});
  img.mappings.push_back({0x7ffffffde000, 0x7ffffffff000,
                          vm::READ | vm::WRITE | vm::MAYREAD | vm::MAYWRITE | vm::MAYEXEC |
                              vm::GROWSDOWN | vm::ACCOUNT,
                          0x7fffffffe, 0, SpecialKind::None});
  img.start_brk = 0x555555559000;
  img.start_stack = 0x7fffffffe000;
  as.exec(img);
  ASSERT_EQ(as.brk(0x55555557a000).value(), 0x55555557aULL << 12);
  // Lines as the kernel printed them for the same layout (docs/kernel-rules.md 7.3).
  EXPECT_EQ(
      render_maps(as),
      "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n"
      "7ffff7fc1000-7ffff7fc5000 r--p 00000000 00:00 0                          [vvar]\n"
      "7ffff7fc5000-7ffff7fc7000 r--p 00000000 00:00 0                          [vvar_vclock]\n"
      "7ffff7fc7000-7ffff7fc9000 r-xp 00000000 00:00 0                          [vdso]\n"
      "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n");
  EXPECT_EQ(smaps_vmflags(as.vmas().find(0x7ffff7fc1000)->flags), "rd mr pf io de dd ");
  EXPECT_EQ(smaps_vmflags(as.vmas().find(0x7ffff7fc7000)->flags), "rd ex mr mw me de ");
  EXPECT_EQ(smaps_vmflags(as.vmas().find(0x7ffffffde000)->flags), "rd wr mr mw me gd ac ");
}

}  // namespace
}  // namespace vmseal
