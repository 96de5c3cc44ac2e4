// What execve mapped, inferred: binfmt_elf's layout from the files, placed
// where the trace shows it (include/vmseal/trace/exec_layout.hpp).
#include "vmseal/trace/exec_layout.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "vmseal/kernel/abi.hpp"

namespace vmseal::trace {

namespace {

// binfmt_script follows at most this many "#!" lines (BINPRM_MAX_RECURSION
// counts the ELF too).
constexpr int kMaxScriptDepth = 4;
// arch_randomize_brk(): the break starts up to 1 GiB above the bss, after
// the page binfmt_elf leaves between them (§7.5).
constexpr Addr kBrkRandomRange = Addr{1} << 30;

std::string hex_range(Addr s, Addr e) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%#" PRIx64 "-%#" PRIx64, s, e);
  return buf;
}

// glibc's _dl_protect_relro(): the whole pages inside PT_GNU_RELRO, at bias 0.
std::pair<Addr, Addr> relro_pages(const ExecFile& f) {
  if (!f.relro) return {0, 0};
  return {page_align_down(f.relro->first), page_align_down(f.relro->second)};
}

// The end of the bss (elf_brk): the highest p_vaddr + p_memsz, page-aligned.
Addr bss_end(const ExecFile& f, Addr bias) {
  Addr end = 0;
  for (const ExecSegment& s : f.loads) end = std::max(end, s.vaddr + s.memsz);
  return page_align_up(bias + end);
}

std::uint64_t prot_bits(bool r, bool w, bool x) {
  return (r ? abi::PROT_READ : 0) | (w ? abi::PROT_WRITE : 0) | (x ? abi::PROT_EXEC : 0);
}

}  // namespace

std::pair<Addr, Addr> exec_file_span(const ExecFile& file) {
  Addr lo = ~Addr{0};
  Addr hi = 0;
  for (const ExecSegment& s : file.loads) {
    lo = std::min(lo, page_align_down(s.vaddr));
    hi = std::max(hi, page_align_up(s.vaddr + s.memsz));
  }
  if (file.loads.empty()) lo = 0;
  return {lo, hi};
}

// elf_load() and elf_map() (fs/binfmt_elf.c): each PT_LOAD in header order,
// its file pages MAP_FIXED|MAP_PRIVATE at bias + vaddr; past p_filesz,
// padzero() writes zeros to the rest of the last file page (a write fault: the
// VMA gets an anon_vma), and vm_brk_flags() maps the remaining bss pages
// anonymous, read-write (executable too if the segment is). Probed with the
// helper of tests/trace/exec_layout_test.cpp (§7.4).
bool map_exec_file(AddressSpace& as, const ExecFile& file, Addr bias) {
  FileInfo fi;
  fi.path = file.path;
  fi.size = file.size;
  const FileId id = as.files().add(fi);
  const int fd = as.fds().install(id, 1 << 20);
  bool ok = true;
  for (const ExecSegment& s : file.loads) {
    const Addr addr = bias + s.vaddr;
    const Addr map = page_align_down(addr);
    Addr zero_start = map;
    if (s.filesz != 0) {
      const std::uint64_t size = page_align_up(s.filesz + (addr - map));
      const SysResult r = as.mmap(map, size, prot_bits(s.r, s.w, s.x),
                                  abi::MAP_PRIVATE | abi::MAP_FIXED, fd, s.offset - (addr - map));
      ok = ok && r.is_ok() && r.value() == map;
      zero_start = addr + s.filesz;
      if (s.memsz > s.filesz && !page_aligned(zero_start) && s.w)
        as.fault(zero_start, Access::Write);  // padzero()
    }
    if (s.memsz > s.filesz) {
      const Addr from = page_align_up(zero_start);
      const Addr to = page_align_up(addr + s.memsz);
      if (to > from) {
        const SysResult r = as.mmap(from, to - from, prot_bits(true, true, s.x),
                                    abi::MAP_PRIVATE | abi::MAP_ANONYMOUS | abi::MAP_FIXED, -1, 0);
        ok = ok && r.is_ok();
      }
    }
  }
  as.fds().close(fd);
  return ok;
}

ExecInference ExecInference::start(ExecFileSource& files, const std::string& path) {
  ExecInference in;
  if (path.empty()) {
    in.problem_ = "the trace does not say which file this execve ran (a relative path?)";
    return in;
  }
  std::string name = path;
  const ExecFile* f = nullptr;
  for (int depth = 0;; ++depth) {
    std::string why;
    f = files.find(name, &why);
    if (f == nullptr) {
      in.problem_ = "cannot read " + name + ": " + why;
      return in;
    }
    if (f->script_interp.empty()) break;
    if (depth == kMaxScriptDepth) {
      in.problem_ = name + ": too many #! levels";
      return in;
    }
    name = f->script_interp;
  }
  in.exe_ = f->path;
  Image prog;
  prog.file = f;
  if (!f->et_dyn) prog.bias = 0;
  if (!f->interp.empty()) {
    std::string why;
    const ExecFile* interp = files.find(f->interp, &why);
    if (interp == nullptr || !interp->script_interp.empty() || interp->interp.size() != 0) {
      in.problem_ = "cannot read the interpreter " + f->interp + ": " +
                    (interp == nullptr ? why : std::string("not an ELF interpreter"));
      return in;
    }
    Image ld;
    ld.file = interp;
    ld.interp = true;
    ld.top = true;
    in.images_.push_back(prog);
    in.images_.push_back(ld);
  } else {
    prog.top = f->et_dyn;  // static-pie: mapped like an interpreter
    in.images_.push_back(prog);
  }
  for (const Image& im : in.images_)
    if (relro_pages(*im.file).second <= relro_pages(*im.file).first)
      in.problem_ =
          im.file->path + " has no RELRO page: no call of the trace would show where it is";
  return in;
}

std::string ExecInference::why_unknown() const {
  if (!problem_.empty()) return "the exec layout is not inferred: " + problem_;
  if (complete_) return "the stack (where it is and how far it grew are not in the trace)";
  for (const Image& im : images_)
    if (!im.placed) return "no call has shown where the kernel mapped " + im.file->path + " yet";
  return "the vDSO of a static program (where it is is not in the trace)";
}

// Whether `im` at `bias` fits what the engine and the trace know.
bool ExecInference::accepts(const Image& im, Addr bias, const AddressSpace& as,
                            Addr start_brk) const {
  if (!im.file->et_dyn && bias != 0) return false;
  const auto [lo0, hi0] = exec_file_span(*im.file);
  if (hi0 > as.config().task_size || bias > as.config().task_size - hi0) return false;
  const Addr lo = bias + lo0 - (im.top ? kVdsoBlockPages * kPageSize : 0);
  const Addr hi = bias + hi0;
  if (hi <= lo || lo < as.config().mmap_min_addr || hi > as.config().task_size || lo > bias + lo0)
    return false;
  if (!blind_.disjoint(lo, hi)) return false;
  if (im.top && lo < placed_below_) return false;
  // Free in the engine, with no mapping of the trace's against it that the
  // kernel could have merged with the image (the vDSO block's [vvar], at the
  // bottom of a top-down image, merges with nothing).
  const Vma* v = as.vmas().lower(lo);
  if (v != nullptr && v->start <= hi) return false;
  if (!im.top && lo > 0) {
    const Vma* below = as.vmas().lower(lo - 1);
    if (below != nullptr && below->end == lo) return false;
  }
  // The break follows the program's bss (binfmt_elf, arch_randomize_brk()).
  if (!im.interp && !im.top && start_brk != 0) {
    const Addr end = bss_end(*im.file, bias);
    if (start_brk < end || start_brk - end > kBrkRandomRange + kPageSize) return false;
  }
  return true;
}

ExecInference::Image* ExecInference::explain(Addr addr, std::uint64_t len, const AddressSpace& as,
                                             Addr start_brk, int& count, Addr& bias) {
  Image* found = nullptr;
  count = 0;
  for (Image& im : images_) {
    const auto [r0, r1] = relro_pages(*im.file);
    if (im.placed || r1 - r0 != len || addr < r0) continue;
    if (!accepts(im, addr - r0, as, start_brk)) continue;
    ++count;
    found = &im;
    bias = addr - r0;
  }
  return count == 1 ? found : nullptr;
}

ExecInference::Reveal ExecInference::reveal(const Syscall& call, const SysResult& recorded,
                                            AddressSpace& as, Addr start_brk) {
  if (!problem_.empty() || complete_ || call.kind != SyscallKind::Mprotect) return Reveal::None;
  if (!recorded.is_ok() || recorded.value() != 0 || call.a[2] != abi::PROT_READ)
    return Reveal::None;
  const Addr addr = call.a[0];
  const std::uint64_t len = call.a[1];
  if (!page_aligned(addr) || len == 0 || !page_aligned(len)) return Reveal::None;
  int count = 0;
  Addr bias = 0;
  Image* im = explain(addr, len, as, start_brk, count, bias);
  if (count > 1 && deferred_.size() < kMaxDeferred) {
    deferred_.emplace_back(addr, len);
    return Reveal::Deferred;
  }
  if (im == nullptr) return Reveal::None;
  place(*im, bias, as);
  resolve_deferred(as, start_brk);
  return Reveal::Placed;
}

// The deferred calls that the images placed since explain: each on a placed
// image is made again; each that one unplaced image alone explains now places it.
void ExecInference::resolve_deferred(AddressSpace& as, Addr start_brk) {
  for (bool progress = true; progress && problem_.empty();) {
    progress = false;
    for (auto it = deferred_.begin(); it != deferred_.end(); ++it) {
      const auto [addr, len] = *it;
      int count = 0;
      Addr bias = 0;
      Image* im = image_ranges_.contains(addr, addr + len)
                      ? nullptr
                      : explain(addr, len, as, start_brk, count, bias);
      if (im == nullptr && !image_ranges_.contains(addr, addr + len)) continue;
      if (im != nullptr) place(*im, bias, as);
      as.mprotect(addr, len, abi::PROT_READ);
      deferred_.erase(it);
      progress = true;
      break;
    }
  }
}

void ExecInference::place(Image& im, Addr bias, AddressSpace& as) {
  const auto [lo0, hi0] = exec_file_span(*im.file);
  if (!map_exec_file(as, *im.file, bias)) {
    lose("the engine refused to map " + im.file->path + " at " + hex_range(bias + lo0, bias + hi0));
    return;
  }
  Addr lo = bias + lo0;
  if (im.top) {
    // map_vdso(): top-down, directly below the image mapped at mmap_base.
    struct Special {
      std::uint64_t pages;
      VmFlags flags;
      SpecialKind kind;
    };
    constexpr VmFlags kVvar =
        vm::READ | vm::MAYREAD | vm::PFNMAP | vm::IO | vm::DONTEXPAND | vm::DONTDUMP;
    const Special specials[] = {
        {4, kVvar, SpecialKind::Vvar},
        {2, kVvar, SpecialKind::VvarVclock},
        {2, vm::READ | vm::EXEC | vm::MAYREAD | vm::MAYWRITE | vm::MAYEXEC | vm::DONTEXPAND,
         SpecialKind::Vdso}};
    Addr at = lo - kVdsoBlockPages * kPageSize;
    lo = at;
    for (const Special& s : specials) {
      Vma v;
      v.start = at;
      v.end = at + s.pages * kPageSize;
      v.flags = s.flags;
      v.special = s.kind;
      as.insert_vma(v);
      at = v.end;
    }
  }
  im.placed = true;
  im.bias = bias;
  image_ranges_.add(lo, bias + hi0);
  learn(lo, bias + hi0);
  if (std::all_of(images_.begin(), images_.end(), [](const Image& i) { return i.placed; })) {
    // Below mmap_base the kernel mapped nothing else at exec; the topmost
    // image ends at mmap_base (§7.2). A static non-PIE program's vDSO sits at
    // mmap_base itself, which nothing shows: the rest stays unknown.
    const auto top =
        std::find_if(images_.begin(), images_.end(), [](const Image& i) { return i.top; });
    if (top == images_.end()) return;
    complete_ = true;
    learn(0, top->bias + exec_file_span(*top->file).second);
  }
}

void ExecInference::learn(Addr start, Addr end) {
  known_.add(start, end);
  blind_.for_each([&](Addr s, Addr e) { known_.remove(s, e); });
}

void ExecInference::blind(Addr start, Addr end) {
  if (start >= end) return;
  blind_.add(start, end);
  known_.remove(start, end);
}

bool ExecInference::collides(const AddressSpace& as, Addr start, Addr end) const {
  if (image_ranges_.disjoint(start, end)) return false;
  for (const Vma* v = as.vmas().lower(start); v != nullptr && v->start < end;
       v = as.vmas().next_of(*v))
    if (!image_ranges_.disjoint(std::max(v->start, start), std::min(v->end, end))) return true;
  return false;
}

void ExecInference::lose(std::string why) {
  if (problem_.empty()) problem_ = std::move(why);
  known_.clear();
  complete_ = false;
}

}  // namespace vmseal::trace
