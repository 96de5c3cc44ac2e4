#include "vmseal/trace/snapshot.hpp"

#include <vector>

#include "vmseal/kernel/smaps.hpp"
#include "vmseal/kernel/smaps_import.hpp"

namespace vmseal::trace {

bool layout_from_snapshot(const std::string& snapshot, const Config& cfg, const AddressSpace* old,
                          AddressSpace& out, std::string* error) {
  std::vector<kernel::SmapsEntry> entries;
  if (!kernel::parse_smaps(snapshot, entries, error)) return false;
  AddressSpace as(cfg, old != nullptr ? old->shared_files() : nullptr);
  kernel::import_layout(entries, as);
  Addr start_brk = old != nullptr ? old->start_brk() : 0;
  Addr brk = old != nullptr ? old->brk_value() : 0;
  for (const kernel::SmapsEntry& e : entries)
    if (e.name == "[heap]" && (brk == 0 || page_align_up(brk) != e.end)) {
      start_brk = e.start;
      brk = e.end;
    }
  as.set_brk(start_brk, brk);
  out = std::move(as);
  return true;
}

}  // namespace vmseal::trace
