#include "vmseal/sealing/plan.hpp"

#include <algorithm>
#include <map>

namespace vmseal::sealing {

std::string_view segment_kind_name(SegmentKind k) noexcept {
  switch (k) {
    case SegmentKind::Text: return "text";
    case SegmentKind::Rodata: return "rodata";
    case SegmentKind::Relro: return "relro";
    case SegmentKind::Data: return "data";
    case SegmentKind::Bss: return "bss";
    case SegmentKind::Gap: return "gap";
    case SegmentKind::Mutable: return "mutable";
    case SegmentKind::WriteExec: return "wx";
  }
  return "?";
}

std::string_view profile_name(Profile p) noexcept {
  switch (p) {
    case Profile::Minimal: return "minimal";
    case Profile::Default: return "default";
    case Profile::Strict: return "strict";
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
    case SegmentKind::Text: return true;
    case SegmentKind::Rodata:
    case SegmentKind::Relro:
    case SegmentKind::Gap: return profile != Profile::Minimal;
    case SegmentKind::Data:
    case SegmentKind::Bss: return profile == Profile::Strict;
    case SegmentKind::Mutable:
    case SegmentKind::WriteExec: return false;
  }
  return false;
}

namespace {

std::string_view why_not(Profile profile, SegmentKind k) {
  switch (k) {
    case SegmentKind::Mutable: return "an escape hatch (PT_GNU_MUTABLE / PT_OPENBSD_MUTABLE): left mutable on purpose";
    case SegmentKind::WriteExec: return "writable and executable: a loader leaves W+X segments mutable";
    case SegmentKind::Data:
    case SegmentKind::Bss: return "writable data: sealed only by the strict profile";
    default: break;
  }
  if (profile == Profile::Minimal) return "the minimal profile seals text only";
  return "";
}

// Page-granular kinds, painted in order of precedence (later wins).
class Painter {
 public:
  void paint(Addr start, Addr end, SegmentKind k) {
    if (start >= end) return;
    // Split the runs at start and end, then overwrite everything between.
    split_at(start);
    split_at(end);
    for (auto it = runs_.lower_bound(start); it != runs_.end() && it->first < end;) it = runs_.erase(it);
    runs_[start] = {end, k};
  }
  std::vector<PlannedRange> ranges() const {
    std::vector<PlannedRange> out;
    for (const auto& [s, v] : runs_) {
      if (!out.empty() && out.back().end == s && out.back().kind == v.second) {
        out.back().end = v.first;
        continue;
      }
      out.push_back({s, v.first, v.second, false, {}});
    }
    return out;
  }

 private:
  void split_at(Addr a) {
    auto it = runs_.upper_bound(a);
    if (it == runs_.begin()) return;
    --it;
    if (it->first < a && a < it->second.first) {
      const auto tail = std::make_pair(it->second.first, it->second.second);
      it->second.first = a;
      runs_[a] = tail;
    }
  }
  std::map<Addr, std::pair<Addr, SegmentKind>> runs_;  // start -> (end, kind)
};

}  // namespace

std::vector<PlannedRange> plan_object(const ElfImage& image, Addr bias, Profile profile) {
  Painter p;
  const VRange span = image.span();
  // Everything the loader reserved is a gap until a segment covers it.
  p.paint(bias + span.start, bias + span.end, SegmentKind::Gap);
  for (const LoadSegment& l : image.loads) {
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
  if (image.relro) {
    const Addr s = page_align_down(bias + image.relro->start);
    const Addr e = page_align_down(bias + image.relro->end);
    p.paint(s, e, SegmentKind::Relro);
  }
  for (const LoadSegment& l : image.loads)
    if (l.openbsd_mutable_flag)
      p.paint(page_align_down(bias + l.vaddr), page_align_up(bias + l.vaddr + l.memsz), SegmentKind::Mutable);
  for (const MutableRange& m : image.mutable_ranges)
    p.paint(page_align_down(bias + m.range.start), page_align_up(bias + m.range.end), SegmentKind::Mutable);

  std::vector<PlannedRange> out = p.ranges();
  for (PlannedRange& r : out) {
    r.seal = profile_seals(profile, r.kind);
    if (!r.seal) r.why_not = why_not(profile, r.kind);
  }
  return out;
}

}  // namespace vmseal::sealing
