#include "vmseal/sealing/plan.hpp"

#include <algorithm>

#include "vmseal/sealing/loaded_objects.hpp"

namespace vmseal::sealing {

std::string_view segment_kind_name(SegmentKind k) noexcept {
  switch (k) {
    case SegmentKind::Text:
      return "text";
    case SegmentKind::Rodata:
      return "rodata";
    case SegmentKind::Relro:
      return "relro";
    case SegmentKind::Data:
      return "data";
    case SegmentKind::Bss:
      return "bss";
    case SegmentKind::Gap:
      return "gap";
    case SegmentKind::Mutable:
      return "mutable";
    case SegmentKind::WriteExec:
      return "wx";
  }
  return "?";
}

std::string_view profile_name(Profile p) noexcept {
  switch (p) {
    case Profile::Minimal:
      return "minimal";
    case Profile::Default:
      return "default";
    case Profile::Strict:
      return "strict";
  }
  return "?";
}

bool profile_from_name(std::string_view name, Profile& out) noexcept {
  for (const Profile p : {Profile::Minimal, Profile::Default, Profile::Strict})
    if (profile_name(p) == name) {
      out = p;
      return true;
    }
  return false;
}

bool profile_seals(Profile profile, SegmentKind k) noexcept {
  switch (k) {
    case SegmentKind::Text:
      return true;
    case SegmentKind::Rodata:
    case SegmentKind::Relro:
    case SegmentKind::Gap:
      return profile != Profile::Minimal;
    case SegmentKind::Data:
    case SegmentKind::Bss:
      return profile == Profile::Strict;
    case SegmentKind::Mutable:
    case SegmentKind::WriteExec:
      return false;
  }
  return false;
}

namespace {

std::string_view why_not(Profile profile, SegmentKind k) noexcept {
  switch (k) {
    case SegmentKind::Mutable:
      return "left mutable on purpose: an escape hatch (PT_GNU_MUTABLE / PT_OPENBSD_MUTABLE), or a "
             "page the loader "
             "writes later (glibc's __stack_prot)";
    case SegmentKind::WriteExec:
      return "writable and executable: a loader leaves W+X segments mutable";
    case SegmentKind::Data:
    case SegmentKind::Bss:
      return "writable data: sealed only by the strict profile";
    default:
      break;
  }
  if (profile == Profile::Minimal) return "the minimal profile seals text only";
  return "";
}

// Page-granular kinds, painted in order of precedence (later wins), in a
// caller's array: no allocation.
class Painter {
 public:
  Painter(PlannedRange* runs, std::size_t capacity) noexcept : runs_(runs), cap_(capacity) {}

  void paint(Addr start, Addr end, SegmentKind k) noexcept {
    if (start >= end || overflow_) return;
    // Cut [start, end) out of every run, then insert it in order.
    std::size_t out = 0;
    PlannedRange tmp[3];
    PlannedRange* const runs = runs_;
    std::size_t n = n_;
    // Work from a copy of the tail that overlaps; runs are few (tens).
    std::size_t i = 0;
    while (i < n && runs[i].end <= start) ++i;
    std::size_t j = i;
    while (j < n && runs[j].start < end) ++j;
    // runs[i, j) overlap [start, end): at most a head piece of runs[i] and a
    // tail piece of runs[j-1] survive.
    if (i < j && runs[i].start < start)
      tmp[out++] = {runs[i].start, start, runs[i].kind, false, {}};
    tmp[out++] = {start, end, k, false, {}};
    if (i < j && runs[j - 1].end > end)
      tmp[out++] = {end, runs[j - 1].end, runs[j - 1].kind, false, {}};
    const std::size_t removed = j - i;
    if (n - removed + out > cap_) {
      overflow_ = true;
      return;
    }
    // Move runs[j, n) to its new place, then write the pieces.
    const std::size_t dest = i + out;
    if (dest != j) {
      if (dest > j)
        for (std::size_t m = n; m-- > j;) runs[m + (dest - j)] = runs[m];
      else
        for (std::size_t m = j; m < n; ++m) runs[m - (j - dest)] = runs[m];
    }
    for (std::size_t m = 0; m < out; ++m) runs[i + m] = tmp[m];
    n_ = n - removed + out;
  }

  // Merges neighbours of the same kind; the number of ranges, 0 on overflow.
  std::size_t finish() noexcept {
    if (overflow_) return 0;
    std::size_t w = 0;
    for (std::size_t r = 0; r < n_; ++r) {
      if (w > 0 && runs_[w - 1].end == runs_[r].start && runs_[w - 1].kind == runs_[r].kind) {
        runs_[w - 1].end = runs_[r].end;
        continue;
      }
      runs_[w++] = runs_[r];
    }
    return w;
  }

 private:
  PlannedRange* runs_;
  std::size_t cap_;
  std::size_t n_ = 0;
  bool overflow_ = false;
};

}  // namespace

std::size_t plan_layout(const ObjectLayout& layout, Addr bias, Profile profile, PlannedRange* out,
                        std::size_t capacity) noexcept {
  if (layout.loads.empty()) return 0;
  Addr lo = ~Addr{0};
  Addr hi = 0;
  for (const LoadSegment& l : layout.loads) {
    lo = std::min(lo, page_align_down(bias + l.vaddr));
    hi = std::max(hi, page_align_up(bias + l.vaddr + l.memsz));
  }
  Painter p(out, capacity);
  // Everything the loader reserved is a gap until a segment covers it.
  p.paint(lo, hi, SegmentKind::Gap);
  for (const LoadSegment& l : layout.loads) {
    const Addr start = page_align_down(bias + l.vaddr);
    const Addr file_end = page_align_up(bias + l.vaddr + l.filesz);
    const Addr mem_end = page_align_up(bias + l.vaddr + l.memsz);
    SegmentKind k = l.x ? SegmentKind::Text : l.w ? SegmentKind::Data : SegmentKind::Rodata;
    if (l.w && l.x) k = SegmentKind::WriteExec;
    p.paint(start, std::max(file_end, start), k);
    // Zero-fill beyond the last file page: anonymous memory.
    if (mem_end > file_end) p.paint(file_end, mem_end, l.x || !l.w ? k : SegmentKind::Bss);
  }
  // RELRO: the loader makes it read-only after relocation. Its last partial
  // page stays writable (glibc rounds the end down), so only whole pages.
  if (layout.relro) {
    const Addr s = page_align_down(bias + layout.relro->start);
    const Addr e = page_align_down(bias + layout.relro->end);
    p.paint(s, e, SegmentKind::Relro);
  }
  for (const LoadSegment& l : layout.loads)
    if (l.openbsd_mutable_flag)
      p.paint(page_align_down(bias + l.vaddr), page_align_up(bias + l.vaddr + l.memsz),
              SegmentKind::Mutable);
  for (const MutableRange& m : layout.mutable_ranges) {
    // The strict profile seals ld.so's whole RELRO: glibc's __stack_prot
    // page with the rest (a dlopen of an execstack object then fails).
    if (m.type == kLoaderWritable && profile == Profile::Strict) continue;
    p.paint(page_align_down(bias + m.range.start), page_align_up(bias + m.range.end),
            SegmentKind::Mutable);
  }

  const std::size_t n = p.finish();
  for (std::size_t i = 0; i < n; ++i) {
    out[i].seal = profile_seals(profile, out[i].kind);
    out[i].why_not = out[i].seal ? std::string_view{} : why_not(profile, out[i].kind);
  }
  return n;
}

}  // namespace vmseal::sealing
