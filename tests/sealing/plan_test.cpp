// The ELF reader on real binaries, and the sealing plan drawn for a
// synthetic object: page ranges with their kinds and seal decisions.
#include "vmseal/sealing/plan.hpp"
#include "support/cli_run.hpp"
#include "vmseal/sealing/loaded_objects.hpp"

#include <elf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "vmseal/sealing/elf_image.hpp"

namespace vmseal::sealing {
namespace {

constexpr Addr P = kPageSize;

// "[0-2 text S][2-3 gap S]..." with pages relative to `base`, S = sealed.
std::string draw(const std::vector<PlannedRange>& plan, Addr base) {
  std::string out;
  for (const PlannedRange& r : plan) {
    out += "[" + std::to_string((r.start - base) / P) + "-" + std::to_string((r.end - base) / P) +
           " " + std::string(segment_kind_name(r.kind)) + (r.seal ? " S" : "") + "]";
  }
  return out;
}

// A typical x86-64 shared object: rodata, text, rodata, then a RW segment
// whose first pages are RELRO, a data page, and bss beyond the file.
ElfImage typical() {
  ElfImage img;
  auto load = [&](std::uint64_t off, std::uint64_t vaddr, std::uint64_t filesz, std::uint64_t memsz,
                  bool w, bool x) {
    LoadSegment l;
    l.offset = off;
    l.vaddr = vaddr;
    l.filesz = filesz;
    l.memsz = memsz;
    l.r = true;
    l.w = w;
    l.x = x;
    img.loads.push_back(l);
  };
  load(0, 0, 2 * P, 2 * P, false, false);          // [0-2] rodata (headers)
  load(2 * P, 2 * P, 4 * P, 4 * P, false, true);   // [2-6] text
  load(6 * P, 6 * P, 2 * P, 2 * P, false, false);  // [6-8] rodata
  // RW at 9 pages + 0x100 (one page hole after rodata): file 3 pages, memory 6.
  load(8 * P + 0x100, 9 * P + 0x100, 3 * P, 6 * P, true, false);
  img.relro = VRange{9 * P + 0x100, 11 * P + 0x800};  // ends mid-page 11: whole pages [9-11]
  return img;
}

TEST(SealingPlan, DefaultProfileSealsEverythingButDataAndBss) {
  const Addr base = 0x7f0000000000ULL;
  EXPECT_EQ(
      draw(plan_object(typical(), base, Profile::Default), base),
      "[0-2 rodata S][2-6 text S][6-8 rodata S][8-9 gap S][9-11 relro S][11-13 data][13-16 bss]");
}

TEST(SealingPlan, ProfilesDifferOnlyInWhatTheySeal) {
  const Addr base = 0x7f0000000000ULL;
  EXPECT_EQ(draw(plan_object(typical(), base, Profile::Minimal), base),
            "[0-2 rodata][2-6 text S][6-8 rodata][8-9 gap][9-11 relro][11-13 data][13-16 bss]");
  EXPECT_EQ(draw(plan_object(typical(), base, Profile::Strict), base),
            "[0-2 rodata S][2-6 text S][6-8 rodata S][8-9 gap S][9-11 relro S][11-13 data S][13-16 "
            "bss S]");
}

TEST(SealingPlan, EscapeHatchesStayMutablePageAlignedOutwards) {
  ElfImage img = typical();
  // A PT_GNU_MUTABLE range inside the data, not page-aligned, and a
  // PT_OPENBSD_MUTABLE one in the bss: every page they touch stays mutable.
  img.mutable_ranges.push_back({VRange{11 * P + 0x10, 11 * P + 0x20}, kPtGnuMutable});
  img.mutable_ranges.push_back({VRange{14 * P, 15 * P}, kPtOpenbsdMutable});
  const Addr base = 0x7f0000000000ULL;
  EXPECT_EQ(draw(plan_object(img, base, Profile::Strict), base),
            "[0-2 rodata S][2-6 text S][6-8 rodata S][8-9 gap S][9-11 relro S][11-12 "
            "mutable][12-13 data S]"
            "[13-14 bss S][14-15 mutable][15-16 bss S]");
}

TEST(SealingPlan, WriteExecSegmentsAreNeverSealed) {
  ElfImage img = typical();
  img.loads[1].w = true;
  const Addr base = 0x7f0000000000ULL;
  const auto plan = plan_object(img, base, Profile::Strict);
  EXPECT_EQ(draw(plan, base).substr(0, 29), "[0-2 rodata S][2-6 wx][6-8 ro");
  EXPECT_FALSE(plan[1].why_not.empty());
}

TEST(ElfImage, ReadsThisTestBinary) {
  ElfImage img;
  std::string err;
  ASSERT_TRUE(read_elf_image("/proc/self/exe", img, &err)) << err;
  EXPECT_GE(img.loads.size(), 2U);
  EXPECT_TRUE(img.dynamic);
  ASSERT_TRUE(img.interp.has_value());
  EXPECT_NE(img.interp->find("ld-linux"), std::string::npos);
  EXPECT_TRUE(img.relro.has_value());
  EXPECT_TRUE(
      std::any_of(img.loads.begin(), img.loads.end(), [](const LoadSegment& l) { return l.x; }));
  EXPECT_FALSE(img.has_wx_segment());
}

TEST(ElfImage, ReadsTheLoaderAndRejectsNonElf) {
  ElfImage img;
  std::string err;
  ASSERT_TRUE(read_elf_image("/lib64/ld-linux-x86-64.so.2", img, &err)) << err;
  EXPECT_EQ(img.type, 3);  // ET_DYN
  EXPECT_FALSE(img.interp.has_value());
  EXPECT_EQ(img.soname, "ld-linux-x86-64.so.2");
  EXPECT_FALSE(read_elf_image("/proc/self/status", img, &err));
  EXPECT_NE(err.find("not an ELF file"), std::string::npos) << err;
  EXPECT_FALSE(read_elf_image("/nonexistent/file", img, &err));
  EXPECT_NE(err.find("No such file"), std::string::npos) << err;
}

// glibc writes __stack_prot, in ld.so's RELRO, after start-up: the plan read
// from the file (what `vmseal inspect` uses) and the one found in this
// process's memory (what the preload uses) must leave the same page unsealed.
TEST(ElfImage, TheLoadersWritablePageFromFileAndFromMemoryAgree) {
  ElfImage img;
  std::string err;
  ASSERT_TRUE(read_elf_image("/lib64/ld-linux-x86-64.so.2", img, &err)) << err;
  if (!img.loader_writable)
    GTEST_SKIP() << "this ld.so has no __stack_prot in its RELRO (not glibc 2.36-like)";
  ASSERT_TRUE(img.relro.has_value());
  EXPECT_EQ(img.loader_writable->end - img.loader_writable->start, 4096u);
  EXPECT_GE(img.loader_writable->start, img.relro->start & ~std::uint64_t{4095});
  EXPECT_LE(img.loader_writable->end, img.relro->end);
  // The plan leaves it mutable and seals the rest of RELRO.
  const auto plan = plan_object(img, 0, Profile::Default);
  bool page_mutable = false, rest_sealed = false;
  for (const PlannedRange& r : plan) {
    if (r.start <= img.loader_writable->start && r.end >= img.loader_writable->end)
      page_mutable = r.kind == SegmentKind::Mutable && !r.seal;
    if (r.kind == SegmentKind::Relro && r.seal) rest_sealed = true;
  }
  EXPECT_TRUE(page_mutable);
  EXPECT_TRUE(rest_sealed);
  // The same page in memory, found by the preload's scan.
  struct Found {
    bool seen = false;
    VRange page{};
  } found;
  for_each_loaded_object(
      [](const LoadedObject& o, void* ctx) {
        auto* f = static_cast<Found*>(ctx);
        if (o.role != ObjectRole::Interpreter) return true;
        f->seen = true;
        for (std::size_t i = 0; i < o.n_mutables; ++i)
          if (o.mutables[i].type == kLoaderWritable) f->page = o.mutables[i].range;
        return false;
      },
      &found);
  if (!found.seen) GTEST_SKIP() << "this test binary runs without ld.so (static)";
  EXPECT_EQ(found.page, *img.loader_writable);
}

// Debian 12's binutils (2.40) cannot emit GNU_PROPERTY_MEMORY_SEAL (-z
// memory-seal is 2.43) nor PT_GNU_MUTABLE, so a compiled program is patched:
// its first GNU property becomes MEMORY_SEAL, and its PT_GNU_STACK header a
// PT_GNU_MUTABLE over the first page of its RW segment.
TEST(ElfImage, ReadsTheMemorySealMarkerAndMutableRanges) {
  if (std::system("command -v cc >/dev/null 2>&1") != 0) GTEST_SKIP() << "no C compiler (cc)";
  const std::string src = vmseal::test::temp_path("marked.c");
  const std::string bin = vmseal::test::temp_path("marked");
  std::ofstream(src) << "int counter = 1;\nint main(void) { return counter - 1; }\n";
  ASSERT_EQ(std::system(("cc -O1 -o " + bin + " " + src).c_str()), 0);
  std::vector<char> f;
  {
    std::ifstream in(bin, std::ios::binary);
    f.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  ASSERT_GT(f.size(), sizeof(Elf64_Ehdr));
  Elf64_Ehdr eh;
  std::memcpy(&eh, f.data(), sizeof eh);
  bool property_patched = false;
  bool stack_patched = false;
  std::uint64_t rw_page = 0;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, f.data() + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type == PT_LOAD && (ph.p_flags & PF_W) != 0)
      rw_page = ph.p_vaddr & ~std::uint64_t{4095};
  }
  ASSERT_NE(rw_page, 0U);
  for (int i = 0; i < eh.e_phnum; ++i) {
    const std::size_t at = eh.e_phoff + i * sizeof(Elf64_Phdr);
    Elf64_Phdr ph;
    std::memcpy(&ph, f.data() + at, sizeof ph);
    if (ph.p_type == PT_GNU_PROPERTY && !property_patched) {
      // Nhdr (12 bytes) + "GNU\0", then the first property's pr_type.
      const std::uint32_t memory_seal = kGnuPropertyMemorySeal;
      std::memcpy(f.data() + ph.p_offset + 16, &memory_seal, 4);
      property_patched = true;
    } else if (ph.p_type == PT_GNU_STACK) {
      ph.p_type = kPtGnuMutable;
      ph.p_vaddr = ph.p_paddr = rw_page;
      ph.p_memsz = 4096;
      std::memcpy(f.data() + at, &ph, sizeof ph);
      stack_patched = true;
    }
  }
  if (!property_patched) GTEST_SKIP() << "the compiler emitted no GNU property note to patch";
  ASSERT_TRUE(stack_patched);
  std::ofstream(bin, std::ios::binary).write(f.data(), static_cast<std::streamsize>(f.size()));

  ElfImage img;
  std::string err;
  ASSERT_TRUE(read_elf_image(bin, img, &err)) << err;
  EXPECT_TRUE(img.memory_seal);
  ASSERT_EQ(img.mutable_ranges.size(), 1U);
  EXPECT_EQ(img.mutable_ranges[0].type, kPtGnuMutable);
  EXPECT_EQ(img.mutable_ranges[0].range, (VRange{rw_page, rw_page + 4096}));
  EXPECT_FALSE(img.stack_executable.has_value());  // its PT_GNU_STACK is gone
  bool mutable_left_alone = false;
  for (const PlannedRange& r : plan_object(img, 0, Profile::Strict))
    if (r.start == rw_page) mutable_left_alone = r.kind == SegmentKind::Mutable && !r.seal;
  EXPECT_TRUE(mutable_left_alone);

  // The unpatched program has neither.
  ASSERT_EQ(std::system(("cc -O1 -o " + bin + " " + src).c_str()), 0);
  ASSERT_TRUE(read_elf_image(bin, img, &err)) << err;
  EXPECT_FALSE(img.memory_seal);
  EXPECT_TRUE(img.mutable_ranges.empty());
}

}  // namespace
}  // namespace vmseal::sealing
