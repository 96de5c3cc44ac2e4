// The smaps reader and the import of a live layout into the engine.
#include "vmseal/kernel/smaps.hpp"
#include "vmseal/kernel/smaps_import.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::kernel {
namespace {

constexpr const char* kSample =
    "555555554000-555555556000 r--p 00000000 fe:01 1234                       /usr/bin/cat\n"
    "Size:                  8 kB\n"
    "Anonymous:             0 kB\n"
    "VmFlags: rd mr mw me dw \n"
    "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]\n"
    "Size:                132 kB\n"
    "Anonymous:             4 kB\n"
    "VmFlags: rd wr mr mw me ac sl \n"
    "7ffff7fc5000-7ffff7fc7000 r-xp 00000000 00:00 0                          [vdso]\n"
    "VmFlags: rd ex mr mw me de \n";

TEST(Smaps, ParsesEntriesFlagsAndAnonymousPages) {
  std::vector<SmapsEntry> e;
  std::string err;
  ASSERT_TRUE(parse_smaps(kSample, e, &err)) << err;
  ASSERT_EQ(e.size(), 3U);
  EXPECT_EQ(e[0].start, 0x555555554000ULL);
  EXPECT_EQ(e[0].end, 0x555555556000ULL);
  EXPECT_EQ(e[0].perms, "r--p");
  EXPECT_EQ(e[0].dev_major, 0xfeU);
  EXPECT_EQ(e[0].dev_minor, 1U);
  EXPECT_EQ(e[0].inode, 1234U);
  EXPECT_EQ(e[0].name, "/usr/bin/cat");
  EXPECT_EQ(e[1].name, "[heap]");
  EXPECT_EQ(e[1].anonymous_kb, 4U);
  EXPECT_EQ(e[1].vmflags_text, "rd wr mr mw me ac sl ");
  EXPECT_NE(e[1].vmflags & vm::SEALED, 0U);
  EXPECT_EQ(e[2].vmflags & vm::SEALED, 0U);
}

TEST(Smaps, StopsAtAnAddress) {
  std::vector<SmapsEntry> e;
  ASSERT_TRUE(parse_smaps(kSample, e, nullptr, 0x555555559000ULL));
  EXPECT_EQ(e.size(), 1U);
}

TEST(Smaps, RejectsAMalformedHeader) {
  std::vector<SmapsEntry> e;
  std::string err;
  EXPECT_FALSE(parse_smaps("5555-zz r--p 0 0:0 0\n", e, &err));
  EXPECT_NE(err.find("malformed"), std::string::npos);
  EXPECT_FALSE(parse_smaps("ffffffffffffffffff-1 r--p 00000000 00:00 0\n", e, &err));
}

TEST(Smaps, ImportRendersTheSameLines) {
  std::vector<SmapsEntry> e;
  ASSERT_TRUE(parse_smaps(kSample, e, nullptr));
  AddressSpace as;
  import_layout(e, as);
  ASSERT_EQ(as.map_count(), 3U);
  const Vma* heap = as.vmas().find(0x555555559000ULL);
  ASSERT_NE(heap, nullptr);
  EXPECT_NE(heap->anon_vma, 0U);
  EXPECT_EQ(smaps_vmflags(heap->flags), "rd wr mr mw me ac sl ");
  EXPECT_EQ(as.vmas().find(0x7ffff7fc5000ULL)->special, SpecialKind::Vdso);
  EXPECT_EQ(maps_line(as, *as.vmas().find(0x555555554000ULL)), e[0].header);
}

TEST(Smaps, ReadsThisProcessAndSeesItsOwnSeal) {
  if (probe_mseal().support != MsealSupport::Available) GTEST_SKIP() << describe(probe_mseal());
  const long p = syscall(SYS_mmap, 0, 4096, 1, 0x22, -1, 0);
  ASSERT_NE(p, -1);
  ASSERT_EQ(sys_mseal(static_cast<std::uint64_t>(p), 4096, 0), 0);
  SmapsReader r;
  std::string err;
  ASSERT_TRUE(r.open(0, &err)) << err;
  std::vector<SmapsEntry> e;
  for (int round = 0; round < 2; ++round) {  // the reader rewinds
    ASSERT_TRUE(r.read(e, &err)) << err;
    bool found = false;
    for (const auto& x : e)
      if (x.start <= static_cast<Addr>(p) && static_cast<Addr>(p) < x.end)
        found = (x.vmflags & vm::SEALED) != 0;
    EXPECT_TRUE(found);
  }
}

// Lean reading (header fields and VmFlags only, jumping to each VmFlags
// line) sees the same mappings as a full read, across many 256 KiB reads:
// 4,000 extra VMAs make this process's smaps about 4 MB.
TEST(Smaps, LeanReadingSeesWhatAFullReadSees) {
  constexpr long kPages = 8000;
  auto* p = static_cast<char*>(mmap(nullptr, kPages * 4096, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (long i = 1; i < kPages; i += 2) ASSERT_EQ(mprotect(p + i * 4096, 4096, PROT_READ), 0);
  // Read a forked child that does nothing, so both reads see one layout.
  const pid_t child = fork();
  if (child == 0) {
    for (;;) pause();
  }
  munmap(p, kPages * 4096);
  SmapsReader full;
  SmapsReader lean;
  lean.set_lean(true);
  std::vector<SmapsEntry> a;
  std::vector<SmapsEntry> b;
  std::string err;
  const bool ok =
      full.open(child, &err) && full.read(a, &err) && lean.open(child, &err) && lean.read(b, &err);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(ok) << err;
  ASSERT_GT(a.size(), 4000U);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].start, b[i].start) << i;
    ASSERT_EQ(a[i].end, b[i].end) << i;
    ASSERT_EQ(a[i].perms, b[i].perms) << i;
    ASSERT_EQ(a[i].name, b[i].name) << i;
    ASSERT_EQ(a[i].vmflags, b[i].vmflags) << i;
    ASSERT_FALSE(a[i].header.empty());
    ASSERT_TRUE(b[i].header.empty());
    ASSERT_TRUE(b[i].vmflags_text.empty());
  }
}

TEST(Smaps, NoSuchProcessIsAClearError) {
  SmapsReader r;
  std::string err;
  EXPECT_FALSE(r.open(999999999, &err));
  EXPECT_NE(err.find("/proc/999999999/smaps"), std::string::npos);
}

TEST(MsealProbe, ChangesNothingAndAnswers) {
  const MsealProbe p = probe_mseal();
  // Whatever the machine, the probe names one of the three states; on this
  // project's 6.18 machines it must find mseal.
  EXPECT_FALSE(describe(p).empty());
  if (p.support == MsealSupport::Available) {
    EXPECT_EQ(p.error, 0);
  }
}

}  // namespace
}  // namespace vmseal::kernel
