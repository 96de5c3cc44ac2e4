// What a sealing loader needs to know about an ELF object: its loadable
// segments, RELRO, the escape hatches (PT_GNU_MUTABLE, PT_OPENBSD_MUTABLE),
// the dynamic flags that change what can be sealed (BIND_NOW, TEXTREL,
// NODELETE) and the GNU_PROPERTY_MEMORY_SEAL marker. Read with libelf.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vmseal::sealing {

// Program header types and flags beyond <elf.h>'s (Debian 12's glibc 2.36).
inline constexpr std::uint32_t kPtGnuMutable = 0x6474f555;      // glibc series, unmerged
inline constexpr std::uint32_t kPtOpenbsdMutable = 0x65a3dbe5;  // PT_LOOS + 0x5a3dbe5
inline constexpr std::uint32_t kGnuPropertyMemorySeal = 3;      // binutils 2.43 -z memory-seal
inline constexpr std::uint32_t kPfOpenbsdMutable = 0x08000000;  // a PT_LOAD's p_flags bit

// A virtual address range [start, end) of the object, before the load bias.
struct VRange {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  friend bool operator==(const VRange&, const VRange&) = default;
};

// glibc's loader keeps __stack_prot in its RELRO and, when dlopen meets an
// object that needs an executable stack, makes that page writable for a
// moment to update it (glibc 2.36 elf/dl-load.c); sealed, that dlopen fails.
// The variable is hidden, so it is found by its value: PROT_GROWSDOWN with
// PROT_READ|WRITE|EXEC bits at most, an int no other word of ld.so's small
// RELRO holds (Debian 12's ld.so: one match). `bytes` are RELRO's contents,
// whose first byte is at object address `at`. Returns the range to leave
// unsealed: the variable's page for one match, all of `relro` for several,
// an empty range for none. The same rule for the file (inspect) and for
// memory (the preload); allocation-free.
inline VRange loader_writable_range(const unsigned char* bytes, std::uint64_t len, std::uint64_t at,
                                    VRange relro) noexcept {
  constexpr std::uint32_t kProtGrowsdown = 0x01000000;
  std::uint64_t found = 0;
  int matches = 0;
  for (std::uint64_t i = (4 - at % 4) % 4; i + 4 <= len; i += 4) {
    std::uint32_t v = 0;
    __builtin_memcpy(&v, bytes + i, 4);
    if ((v & ~std::uint32_t{7}) == kProtGrowsdown) {
      found = at + i;
      ++matches;
    }
  }
  if (matches == 0) return {};
  if (matches > 1) return relro;
  const std::uint64_t page = found & ~std::uint64_t{4095};
  return {page, page + 4096};
}

struct LoadSegment {
  std::uint64_t offset = 0;  // p_offset
  std::uint64_t vaddr = 0;   // p_vaddr
  std::uint64_t filesz = 0;
  std::uint64_t memsz = 0;
  std::uint64_t align = 0;
  bool r = false, w = false, x = false;
  bool openbsd_mutable_flag = false;  // PF_OPENBSD_MUTABLE (0x08000000)
};

// A PT_LOAD program header as a LoadSegment: from a file (GElf_Phdr) or
// from memory (ElfW(Phdr), the preload), the same fields either way.
template <class Phdr>
LoadSegment load_segment_of(const Phdr& ph) noexcept {
  LoadSegment l;
  l.offset = ph.p_offset;
  l.vaddr = ph.p_vaddr;
  l.filesz = ph.p_filesz;
  l.memsz = ph.p_memsz;
  l.align = ph.p_align;
  l.r = (ph.p_flags & 0x4) != 0;  // PF_R
  l.w = (ph.p_flags & 0x2) != 0;  // PF_W
  l.x = (ph.p_flags & 0x1) != 0;  // PF_X
  l.openbsd_mutable_flag = (ph.p_flags & kPfOpenbsdMutable) != 0;
  return l;
}

struct MutableRange {
  VRange range;
  std::uint32_t type = 0;  // kPtGnuMutable or kPtOpenbsdMutable
};

struct ElfImage {
  std::string path;
  bool is_64 = true;
  std::uint16_t type = 0;  // ET_EXEC, ET_DYN, ...
  std::uint16_t machine = 0;
  std::uint64_t entry = 0;         // e_entry
  std::vector<LoadSegment> loads;  // PT_LOAD, in file order
  std::optional<VRange> relro;     // PT_GNU_RELRO
  std::vector<MutableRange> mutable_ranges;
  // For glibc's dynamic loader (DT_SONAME ld-linux*): the part of its RELRO
  // it writes after start-up (loader_writable_range), which a plan leaves
  // mutable like an escape hatch.
  std::optional<VRange> loader_writable;
  std::optional<std::string> interp;     // PT_INTERP
  bool dynamic = false;                  // has PT_DYNAMIC
  bool bind_now = false;                 // DF_BIND_NOW, DF_1_NOW or DT_BIND_NOW
  bool textrel = false;                  // DT_TEXTREL or DF_TEXTREL
  bool nodelete = false;                 // DF_1_NODELETE
  bool pie = false;                      // DF_1_PIE
  bool audit = false;                    // DT_AUDIT or DT_DEPAUDIT
  std::string soname;                    // DT_SONAME
  std::vector<std::string> needed;       // DT_NEEDED, in order
  bool memory_seal = false;              // GNU_PROPERTY_MEMORY_SEAL in .note.gnu.property
  std::optional<bool> stack_executable;  // PT_GNU_STACK's PF_X (nullopt: no PT_GNU_STACK)
  // A Go build ID note (owner "Go", type 4, in a PT_NOTE): built by the Go
  // toolchain, whose runtime starts at its own entry (_rt0_amd64_linux)
  // unless the program was linked externally by a C toolchain.
  // Its goroutines run on stacks in its heap, where nothing may be written
  // below their stack pointer.
  bool go = false;

  // [lowest load start, highest load end), page-aligned (before the bias).
  VRange span() const noexcept;
  bool has_wx_segment() const noexcept;
};

// Reads the ELF file at `path` (or the open file `fd` when >= 0; `path` then
// only names it). False with a message when it is unreadable or not ELF.
bool read_elf_image(const std::string& path, ElfImage& out, std::string* error, int fd = -1);

// Looks `name` up in the dynamic symbol table (.dynsym) of the ELF file at
// `path`: Absent, Undefined (imported) or Defined. Unreadable on error.
enum class DynamicSymbol { Unreadable, Absent, Undefined, Defined };
DynamicSymbol find_dynamic_symbol(const std::string& path, const char* name, std::string* error,
                                  std::uint64_t* value = nullptr);

// Whether the program's entry point is glibc's x86-64 _start (crt1.o, the
// glibc 2.34+ and the older sequences), which does nothing but set up
// registers and call __libc_start_main, through the GOT slot that a
// relocation fills with __libc_start_main (or its PLT). A program whose entry
// is anything else may run code of its own, main included, without passing
// through __libc_start_main, where the preload seals. False with why.
// `image` is the program as read_elf_image read it (its path is reopened
// only for the entry point's bytes and the relocations).
bool starts_through_libc_start_main(const ElfImage& image, std::string* why);

// Whether the program names an audit library of its own (DT_AUDIT or
// DT_DEPAUDIT): rtld-audit modules may veto or replace the preload.
bool names_audit_library(const ElfImage& image) noexcept;

}  // namespace vmseal::sealing
