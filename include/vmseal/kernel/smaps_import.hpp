// A live layout (smaps entries) imported into an engine AddressSpace: the
// one place where the kernel layer's records meet the engine.
#pragma once

#include <string>
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

// Layout snapshots in traces: a copy of a process's /proc/PID/smaps taken at
// a point of its trace (the preload's seal points, VMSEAL_PREDICT), from which
// a replay takes the whole layout the trace alone cannot show (the program,
// ld.so, the stack and vdso the kernel mapped at exec).
// The layout of `snapshot` (smaps text) as an address space with `cfg`,
// sharing the file table of `old` (the process's address space so far; may
// be null) and keeping its program break unless the snapshot shows a heap
// that ends elsewhere. False with a message for text that is not smaps.
bool layout_from_snapshot(const std::string& snapshot, const Config& cfg, const AddressSpace* old,
                          AddressSpace& out, std::string* error);

}  // namespace vmseal::kernel
