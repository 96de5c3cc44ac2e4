#include "vmseal/engine/proc_maps.hpp"

#include <cinttypes>
#include <cstdio>

namespace vmseal {

std::string vma_name(const AddressSpace& as, const Vma& v) {
  if (v.file != 0) return as.files().get(v.file).path;
  switch (v.special) {
    case SpecialKind::Vdso:
      return "[vdso]";
    case SpecialKind::Vvar:
      return "[vvar]";
    case SpecialKind::VvarVclock:
      return "[vvar_vclock]";
    case SpecialKind::None:
      break;
  }
  if (v.start <= as.brk_value() && v.end >= as.start_brk()) return "[heap]";
  if (v.start <= as.start_stack() && v.end >= as.start_stack()) return "[stack]";
  return {};
}

namespace {
std::string perms(const Vma& v) {
  std::string p(4, '-');
  if ((v.flags & vm::READ) != 0) p[0] = 'r';
  if ((v.flags & vm::WRITE) != 0) p[1] = 'w';
  if ((v.flags & vm::EXEC) != 0) p[2] = 'x';
  p[3] = (v.flags & vm::MAYSHARE) != 0 ? 's' : 'p';
  return p;
}
}  // namespace

std::string maps_line(const AddressSpace& as, const Vma& v) {
  std::uint64_t offset = 0;
  unsigned major = 0;
  unsigned minor = 0;
  std::uint64_t inode = 0;
  if (v.file != 0) {
    const FileInfo& f = as.files().get(v.file);
    offset = v.pgoff << kPageShift;
    major = f.dev_major;
    minor = f.dev_minor;
    inode = f.inode;
  }
  char buf[160];
  const int n = std::snprintf(buf, sizeof buf,
                              "%08" PRIx64 "-%08" PRIx64 " %s %08" PRIx64 " %02x:%02x %" PRIu64 " ",
                              v.start, v.end, perms(v).c_str(), offset, major, minor, inode);
  std::string line(buf, static_cast<std::size_t>(n));
  const std::string name = vma_name(as, v);
  if (!name.empty()) {
    // seq_setwidth(25 + 6 * sizeof(void *) - 1) then seq_pad(m, ' ').
    constexpr std::size_t kPadUntil = 25 + 6 * 8 - 1;
    if (line.size() < kPadUntil) line.append(kPadUntil - line.size(), ' ');
    line += ' ';
    line += name;
  }
  return line;
}

std::string render_maps(const AddressSpace& as) {
  std::string out;
  as.vmas().for_each([&](const Vma& v) {
    out += maps_line(as, v);
    out += '\n';
  });
  return out;
}

std::string render_smaps_vmflags(const AddressSpace& as) {
  std::string out;
  as.vmas().for_each([&](const Vma& v) {
    out += maps_line(as, v);
    out += "\nVmFlags: ";
    out += smaps_vmflags(v.flags);
    out += '\n';
  });
  return out;
}

std::string draw_layout(const AddressSpace& as, Addr base, std::uint64_t npages) {
  const Addr end = base + npages * kPageSize;
  constexpr VmFlags kImplied = vm::READ | vm::WRITE | vm::EXEC | vm::SHARED | vm::MAYREAD |
                               vm::MAYWRITE | vm::MAYEXEC | vm::MAYSHARE;
  std::string out;
  for (const Vma* v = as.vmas().lower(base); v != nullptr && v->start < end;
       v = as.vmas().next_of(*v)) {
    const Addr s = v->start < base ? base : v->start;
    const Addr e = v->end > end ? end : v->end;
    out += '[';
    out += std::to_string((s - base) >> kPageShift);
    out += '-';
    out += std::to_string((e - base) >> kPageShift);
    out += ' ';
    out += perms(*v);
    std::string flags = smaps_vmflags(v->flags & ~kImplied);
    if (!flags.empty()) {
      flags.pop_back();  // trailing space
      out += ' ';
      out += flags;
    }
    out += ']';
  }
  return out;
}

}  // namespace vmseal
