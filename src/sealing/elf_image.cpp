#include "vmseal/sealing/elf_image.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vmseal::sealing {
namespace {

constexpr std::uint64_t kPage = 4096;
constexpr std::uint32_t kGoBuildIdNote = 4;

std::uint64_t trunc_page(std::uint64_t a) { return a & ~(kPage - 1); }
std::uint64_t round_page(std::uint64_t a) { return (a + kPage - 1) & ~(kPage - 1); }

// Walks a GNU property note's descriptor for GNU_PROPERTY_MEMORY_SEAL.
bool has_memory_seal_property(const unsigned char* desc, std::size_t size, bool is_64) {
  const std::size_t align = is_64 ? 8 : 4;
  std::size_t pos = 0;
  while (pos + 8 <= size) {
    std::uint32_t type = 0;
    std::uint32_t datasz = 0;
    std::memcpy(&type, desc + pos, 4);
    std::memcpy(&datasz, desc + pos + 4, 4);
    if (type == kGnuPropertyMemorySeal) return true;
    const std::size_t next = pos + 8 + ((datasz + align - 1) & ~(align - 1));
    if (next <= pos || next > size) break;
    pos = next;
  }
  return false;
}

void read_notes(Elf* elf, const GElf_Phdr& ph, ElfImage& out) {
  Elf_Data* data =
      elf_getdata_rawchunk(elf, static_cast<off_t>(ph.p_offset), ph.p_filesz, ELF_T_NHDR);
  if (data == nullptr) return;
  GElf_Nhdr nh;
  std::size_t name_off = 0;
  std::size_t desc_off = 0;
  for (std::size_t off = 0; off < data->d_size;) {
    const std::size_t next = gelf_getnote(data, off, &nh, &name_off, &desc_off);
    if (next == 0) break;
    const auto* base = static_cast<const unsigned char*>(data->d_buf);
    if (nh.n_type == NT_GNU_PROPERTY_TYPE_0 && nh.n_namesz == 4 &&
        std::memcmp(base + name_off, "GNU", 4) == 0 &&
        has_memory_seal_property(base + desc_off, nh.n_descsz, out.is_64))
      out.memory_seal = true;
    // The Go linker's build ID note (cmd/link: ELF_NOTE_GOBUILDID_TAG), its
    // name "Go" padded to 4 bytes (n_namesz 4, where the spec would say 3).
    if (nh.n_type == kGoBuildIdNote && (nh.n_namesz == 3 || nh.n_namesz == 4) &&
        std::memcmp(base + name_off, "Go", 3) == 0)
      out.go = true;
    off = next;
  }
}

void read_dynamic(Elf* elf, const GElf_Phdr& ph, ElfImage& out) {
  Elf_Data* data =
      elf_getdata_rawchunk(elf, static_cast<off_t>(ph.p_offset), ph.p_filesz, ELF_T_DYN);
  if (data == nullptr) return;
  const std::size_t n = data->d_size / gelf_fsize(elf, ELF_T_DYN, 1, EV_CURRENT);
  std::optional<std::uint64_t> soname_off;
  std::vector<std::uint64_t> needed_off;
  std::uint64_t strtab = 0;
  std::uint64_t strsz = 0;
  for (std::size_t i = 0; i < n; ++i) {
    GElf_Dyn d;
    if (gelf_getdyn(data, static_cast<int>(i), &d) == nullptr || d.d_tag == DT_NULL) break;
    switch (d.d_tag) {
      case DT_BIND_NOW:
        out.bind_now = true;
        break;
      case DT_TEXTREL:
        out.textrel = true;
        break;
      case DT_FLAGS:
        if ((d.d_un.d_val & DF_BIND_NOW) != 0) out.bind_now = true;
        if ((d.d_un.d_val & DF_TEXTREL) != 0) out.textrel = true;
        break;
      case DT_FLAGS_1:
        if ((d.d_un.d_val & DF_1_NOW) != 0) out.bind_now = true;
        if ((d.d_un.d_val & DF_1_NODELETE) != 0) out.nodelete = true;
        if ((d.d_un.d_val & DF_1_PIE) != 0) out.pie = true;
        break;
      case DT_SONAME:
        soname_off = d.d_un.d_val;
        break;
      case DT_NEEDED:
        if (needed_off.size() < 1024) needed_off.push_back(d.d_un.d_val);
        break;
      case DT_AUDIT:
      case DT_DEPAUDIT:
        out.audit = true;
        break;
      case DT_STRTAB:
        strtab = d.d_un.d_ptr;
        break;
      case DT_STRSZ:
        strsz = d.d_un.d_val;
        break;
      default:
        break;
    }
  }
  if (strtab == 0 || strsz == 0) return;
  // DT_STRTAB is a virtual address: find the file offset through PT_LOAD.
  for (const LoadSegment& l : out.loads) {
    if (strtab < l.vaddr || strtab - l.vaddr >= l.filesz) continue;
    const std::uint64_t file_off = l.offset + (strtab - l.vaddr);
    Elf_Data* s = elf_getdata_rawchunk(elf, static_cast<off_t>(file_off), strsz, ELF_T_BYTE);
    if (s == nullptr) return;
    auto string_at = [&](std::uint64_t off) {
      const char* str = static_cast<const char*>(s->d_buf) + off;
      return std::string(str, strnlen(str, strsz - off));
    };
    if (soname_off && *soname_off < strsz) out.soname = string_at(*soname_off);
    for (const std::uint64_t off : needed_off)
      if (off < strsz) out.needed.push_back(string_at(off));
    return;
  }
}

void read_interp(Elf* elf, const GElf_Phdr& ph, ElfImage& out) {
  Elf_Data* d = elf_getdata_rawchunk(elf, static_cast<off_t>(ph.p_offset), ph.p_filesz, ELF_T_BYTE);
  if (d != nullptr && d->d_size > 0)
    out.interp = std::string(static_cast<const char*>(d->d_buf),
                             strnlen(static_cast<const char*>(d->d_buf), d->d_size));
}

// One program header. PT_DYNAMIC and the notes go to `deferred`: reading
// them needs every PT_LOAD first.
void read_program_header(Elf* elf, const GElf_Phdr& ph, ElfImage& out,
                         std::vector<GElf_Phdr>& deferred) {
  switch (ph.p_type) {
    case PT_LOAD:
      out.loads.push_back(load_segment_of(ph));
      break;
    case PT_GNU_RELRO:
      out.relro = VRange{ph.p_vaddr, ph.p_vaddr + ph.p_memsz};
      break;
    case kPtGnuMutable:
    case kPtOpenbsdMutable:
      out.mutable_ranges.push_back({VRange{ph.p_vaddr, ph.p_vaddr + ph.p_memsz}, ph.p_type});
      break;
    case PT_INTERP:
      read_interp(elf, ph, out);
      break;
    case PT_GNU_STACK:
      out.stack_executable = (ph.p_flags & PF_X) != 0;
      break;
    case PT_DYNAMIC:
      out.dynamic = true;
      deferred.push_back(ph);
      break;
    case PT_NOTE:
    case PT_GNU_PROPERTY:
      deferred.push_back(ph);
      break;
    default:
      break;
  }
}

// The RELRO bytes as the file holds them (their initial values): where in
// them the loader writes (loader_writable_range).
void read_loader_writable(Elf* elf, ElfImage& out) {
  for (const LoadSegment& l : out.loads) {
    if (out.relro->start < l.vaddr || out.relro->end > l.vaddr + l.filesz) continue;
    const std::uint64_t len = out.relro->end - out.relro->start;
    if (len > (std::uint64_t{1} << 20)) return;
    Elf_Data* d = elf_getdata_rawchunk(
        elf, static_cast<off_t>(l.offset + (out.relro->start - l.vaddr)), len, ELF_T_BYTE);
    if (d == nullptr || d->d_size != len) return;
    const VRange r = loader_writable_range(static_cast<const unsigned char*>(d->d_buf), len,
                                           out.relro->start, *out.relro);
    if (r.end > r.start) out.loader_writable = r;
    return;
  }
}

}  // namespace

VRange ElfImage::span() const noexcept {
  VRange r{~std::uint64_t{0}, 0};
  for (const LoadSegment& l : loads) {
    r.start = std::min(r.start, trunc_page(l.vaddr));
    r.end = std::max(r.end, round_page(l.vaddr + l.memsz));
  }
  if (loads.empty()) r.start = 0;
  return r;
}

bool ElfImage::has_wx_segment() const noexcept {
  return std::any_of(loads.begin(), loads.end(), [](const LoadSegment& l) { return l.w && l.x; });
}

bool read_elf_image(const std::string& path, ElfImage& out, std::string* error, int fd) {
  out = ElfImage{};
  out.path = path;
  auto fail = [&](const std::string& why) {
    if (error != nullptr) *error = path + ": " + why;
    return false;
  };
  if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf is out of date");
  const bool own = fd < 0;
  if (own) {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(std::strerror(errno));
  }
  struct Closer {
    int fd;
    bool own;
    Elf* elf = nullptr;
    ~Closer() {
      if (elf != nullptr) elf_end(elf);
      if (own) ::close(fd);
    }
  } closer{fd, own};
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  closer.elf = elf;
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) return fail("not an ELF file");
  GElf_Ehdr eh;
  if (gelf_getehdr(elf, &eh) == nullptr)
    return fail(std::string("bad ELF header: ") + elf_errmsg(-1));
  out.is_64 = gelf_getclass(elf) == ELFCLASS64;
  out.type = eh.e_type;
  out.machine = eh.e_machine;
  out.entry = eh.e_entry;
  std::size_t phnum = 0;
  if (elf_getphdrnum(elf, &phnum) != 0)
    return fail(std::string("bad program headers: ") + elf_errmsg(-1));
  std::vector<GElf_Phdr> deferred;  // PT_DYNAMIC and notes need the loads first
  for (std::size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf, static_cast<int>(i), &ph) == nullptr)
      return fail(std::string("bad program header: ") + elf_errmsg(-1));
    read_program_header(elf, ph, out, deferred);
  }
  for (const GElf_Phdr& ph : deferred) {
    if (ph.p_type == PT_DYNAMIC)
      read_dynamic(elf, ph, out);
    else
      read_notes(elf, ph, out);
  }
  if (out.loads.empty()) return fail("no loadable segments");
  if (out.relro && out.soname.rfind("ld-linux", 0) == 0) read_loader_writable(elf, out);
  return true;
}

DynamicSymbol find_dynamic_symbol(const std::string& path, const char* name, std::string* error,
                                  std::uint64_t* value) {
  auto fail = [&](const std::string& why) {
    if (error != nullptr) *error = path + ": " + why;
    return DynamicSymbol::Unreadable;
  };
  if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf is out of date");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(std::strerror(errno));
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  DynamicSymbol result = DynamicSymbol::Absent;
  bool have_dynsym = false;
  if (elf == nullptr || elf_kind(elf) != ELF_K_ELF) result = fail("not an ELF file");
  for (Elf_Scn* scn = nullptr; result == DynamicSymbol::Absent && elf != nullptr &&
                               (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || sh.sh_type != SHT_DYNSYM || sh.sh_entsize == 0)
      continue;
    have_dynsym = true;
    Elf_Data* d = elf_getdata(scn, nullptr);
    const std::size_t n = d != nullptr ? d->d_size / sh.sh_entsize : 0;
    for (std::size_t i = 1; i < n; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(d, static_cast<int>(i), &sym) == nullptr) break;
      const char* s = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (s == nullptr || std::strcmp(s, name) != 0) continue;
      result = sym.st_shndx == SHN_UNDEF ? DynamicSymbol::Undefined : DynamicSymbol::Defined;
      if (value != nullptr) *value = sym.st_value;
      break;
    }
  }
  if (result == DynamicSymbol::Absent && !have_dynsym)
    result = fail("no dynamic symbol table (.dynsym) to check");
  if (elf != nullptr) elf_end(elf);
  ::close(fd);
  return result;
}

bool names_audit_library(const ElfImage& image) noexcept { return image.audit; }

namespace {

// Matches `pattern` at `p` (-1: any byte); advances `p` on success.
bool match(const unsigned char*& p, const unsigned char* end, std::initializer_list<int> pattern) {
  if (static_cast<std::size_t>(end - p) < pattern.size()) return false;
  const unsigned char* q = p;
  for (const int b : pattern) {
    if (b >= 0 && *q != b) return false;
    ++q;
  }
  p = q;
  return true;
}

std::int32_t disp32(const unsigned char* at) {
  std::int32_t d = 0;
  std::memcpy(&d, at, sizeof d);
  return d;
}

// The relocation that fills the 8 bytes at `slot`: its symbol's name, "" when
// none (any SHT_RELA section: .rela.dyn, .rela.plt).
std::string relocated_symbol_at(Elf* elf, std::uint64_t slot) {
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn)) != nullptr;) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr || sh.sh_type != SHT_RELA || sh.sh_entsize == 0) continue;
    Elf_Data* d = elf_getdata(scn, nullptr);
    Elf_Scn* symscn = elf_getscn(elf, sh.sh_link);
    GElf_Shdr symsh;
    if (d == nullptr || symscn == nullptr || gelf_getshdr(symscn, &symsh) == nullptr) continue;
    Elf_Data* syms = elf_getdata(symscn, nullptr);
    const std::size_t n = d->d_size / sh.sh_entsize;
    for (std::size_t i = 0; i < n; ++i) {
      GElf_Rela r;
      if (gelf_getrela(d, static_cast<int>(i), &r) == nullptr || r.r_offset != slot) continue;
      GElf_Sym sym;
      if (syms == nullptr ||
          gelf_getsym(syms, static_cast<int>(GELF_R_SYM(r.r_info)), &sym) == nullptr)
        return "";
      const char* name = elf_strptr(elf, symsh.sh_link, sym.st_name);
      return name != nullptr ? name : "";
    }
  }
  return "";
}

}  // namespace

bool starts_through_libc_start_main(const ElfImage& image, std::string* why) {
  const std::string& path = image.path;
  auto no = [&](const std::string& s) {
    if (why != nullptr) *why = s;
    return false;
  };
  std::string error;
  if (image.machine != EM_X86_64) return no(path + ": not an x86-64 program");
  const LoadSegment* text = nullptr;
  for (const LoadSegment& l : image.loads)
    if (image.entry >= l.vaddr && image.entry < l.vaddr + l.filesz) text = &l;
  if (text == nullptr) return no(path + ": its entry point is outside its file");
  unsigned char code[64] = {};
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return no(path + ": " + std::strerror(errno));
  const ssize_t got =
      pread(fd, code, sizeof code, static_cast<off_t>(text->offset + (image.entry - text->vaddr)));
  if (got <= 0) {
    ::close(fd);
    return no(path + ": cannot read its entry point");
  }
  const unsigned char* p = code;
  const unsigned char* const end = code + got;
  // glibc's sysdeps/x86_64/start.S: [endbr64] xor %ebp,%ebp; mov %rdx,%r9;
  // pop %rsi; mov %rsp,%rdx; and $-16,%rsp; push %rax; push %rsp;
  match(p, end, {0xf3, 0x0f, 0x1e, 0xfa});
  bool ok = match(
      p, end,
      {0x31, 0xed, 0x49, 0x89, 0xd1, 0x5e, 0x48, 0x89, 0xe2, 0x48, 0x83, 0xe4, 0xf0, 0x50, 0x54});
  // %r8 and %rcx: zero (2.34+), or __libc_csu_fini/init (older, PIE or not).
  ok = ok && (match(p, end, {0x45, 0x31, 0xc0, 0x31, 0xc9}) ||
              match(p, end, {0x4c, 0x8d, 0x05, -1, -1, -1, -1, 0x48, 0x8d, 0x0d, -1, -1, -1, -1}) ||
              match(p, end, {0x49, 0xc7, 0xc0, -1, -1, -1, -1, 0x48, 0xc7, 0xc1, -1, -1, -1, -1}));
  // %rdi: main (lea or mov).
  ok = ok && (match(p, end, {0x48, 0x8d, 0x3d, -1, -1, -1, -1}) ||
              match(p, end, {0x48, 0xc7, 0xc7, -1, -1, -1, -1}));
  bool via_got = false;
  const unsigned char* call = p;
  if (ok && match(p, end, {0xff, 0x15, -1, -1, -1, -1, 0xf4}))
    via_got = true;
  else if (ok && !match(p, end, {0xe8, -1, -1, -1, -1, 0xf4}))
    ok = false;
  if (!ok) {
    ::close(fd);
    return no(path +
              ": its entry point is not glibc's _start (its own _start, or another C library's): "
              "it may run "
              "code of its own without passing through __libc_start_main, where the preload seals");
  }
  bool result = true;
  if (via_got) {
    // call *disp32(%rip): the slot is relative to the end of the call.
    const std::uint64_t slot =
        image.entry + static_cast<std::uint64_t>(call + 6 - code) +
        static_cast<std::uint64_t>(static_cast<std::int64_t>(disp32(call + 2)));
    if (elf_version(EV_CURRENT) != EV_NONE) {
      Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
      const std::string sym = elf != nullptr ? relocated_symbol_at(elf, slot) : "";
      if (elf != nullptr) elf_end(elf);
      if (sym != "__libc_start_main")
        result = no(path + ": its _start calls through a slot that is not __libc_start_main's" +
                    (sym.empty() ? std::string() : " (" + sym + ")"));
    }
  } else if (find_dynamic_symbol(path, "__libc_start_main", &error) != DynamicSymbol::Undefined) {
    result = no(path + ": its _start calls a PLT entry, and it does not import __libc_start_main");
  }
  ::close(fd);
  return result;
}

}  // namespace vmseal::sealing
