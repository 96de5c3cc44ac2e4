// A live layout (smaps entries) imported into an engine AddressSpace: the
// one place where the kernel layer's records meet the engine.
#pragma once

#include <vector>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/smaps.hpp"

namespace vmseal::kernel {

// Inserts every entry into `as` as a VMA: flags from VmFlags, the file (one
// open file per distinct device, inode and path), the special mappings by
// name, an anon_vma where the VMA has anonymous pages. The engine cannot see
// which open file a mapping came through nor anon_vma identity across VMAs:
// imported layouts are exact for what smaps shows, approximate for merges
// that depend on those. `forked_child`: the process was forked and has not
// exec'd since, so each anon_vma it has chains to its parent's (the kernel
// then refuses some merges, as vmseal difftest found for brk).
void import_layout(const std::vector<SmapsEntry>& entries, AddressSpace& as,
                   bool forked_child = false);

}  // namespace vmseal::kernel
