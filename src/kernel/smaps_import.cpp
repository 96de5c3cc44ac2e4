// A live layout, read from smaps, imported into an engine AddressSpace. Kept
// apart from the reader so libvmseal can use the reader without the engine.
#include <map>
#include <tuple>

#include "vmseal/kernel/smaps_import.hpp"

namespace vmseal::kernel {

void import_layout(const std::vector<SmapsEntry>& entries, AddressSpace& as, bool forked_child) {
  std::map<std::tuple<std::uint32_t, std::uint32_t, std::uint64_t, std::string>, FileId> files;
  for (const SmapsEntry& e : entries) {
    // [vsyscall] is printed but is no VMA (the gate area, above TASK_SIZE):
    // it does not count against max_map_count.
    if (e.start >= as.config().task_size) continue;
    Vma v;
    v.start = e.start;
    v.end = e.end;
    v.flags = e.vmflags;
    v.set_pgoff(e.offset >> kPageShift);
    if (e.name == "[vdso]")
      v.special = SpecialKind::Vdso;
    else if (e.name == "[vvar]")
      v.special = SpecialKind::Vvar;
    else if (e.name == "[vvar_vclock]")
      v.special = SpecialKind::VvarVclock;
    const bool file_backed = e.inode != 0 || (e.dev_major | e.dev_minor) != 0;
    if (file_backed && v.special == SpecialKind::None) {
      auto key = std::make_tuple(e.dev_major, e.dev_minor, e.inode, e.name);
      auto it = files.find(key);
      if (it == files.end()) {
        FileInfo fi;
        fi.path = e.name;
        fi.dev_major = e.dev_major;
        fi.dev_minor = e.dev_minor;
        fi.inode = e.inode;
        fi.writable = (v.flags & vm::MAYWRITE) != 0 && (v.flags & vm::SHARED) != 0;
        fi.kind = e.name.starts_with("/memfd:") || e.name.starts_with("/dev/zero") ||
                          e.name.starts_with("/SYSV") || e.dev_major == 0
                      ? FileKind::Shmem
                      : FileKind::Regular;
        // The kinds whose own rules the engine has (docs/kernel-rules.md 6e).
        if (e.name.starts_with("/secretmem")) {
          fi.kind = FileKind::Secretmem;
          fi.noexec_mount = true;
        } else if ((v.flags & vm::HUGETLB) != 0) {
          fi.kind = FileKind::Hugetlb;  // huge_shift: 2 MiB, the default hstate
        }
        it = files.emplace(key, as.files().add(fi)).first;
      }
      v.file = it->second;
    } else {
      // Anonymous memory: pgoff is the address it was created at, as far as
      // anyone can tell from outside.
      if (v.special == SpecialKind::None && e.offset == 0) v.set_pgoff(v.start >> kPageShift);
    }
    if (e.anonymous_kb != 0) {
      v.anon_vma = as.new_anon_vma_id();
      v.anon_chain_shared = forked_child;
    }
    as.insert_vma(v);
  }
}

bool layout_from_snapshot(const std::string& snapshot, const Config& cfg, const AddressSpace* old,
                          AddressSpace& out, std::string* error) {
  std::vector<SmapsEntry> entries;
  if (!parse_smaps(snapshot, entries, error)) return false;
  AddressSpace as(cfg, old != nullptr ? old->shared_files() : nullptr);
  import_layout(entries, as);
  Addr start_brk = old != nullptr ? old->start_brk() : 0;
  Addr brk = old != nullptr ? old->brk_value() : 0;
  for (const SmapsEntry& e : entries)
    if (e.name == "[heap]" && (brk == 0 || page_align_up(brk) != e.end)) {
      start_brk = e.start;
      brk = e.end;
    }
  as.set_brk(start_brk, brk);
  out = std::move(as);
  return true;
}

}  // namespace vmseal::kernel
