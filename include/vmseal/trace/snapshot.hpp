// Layout snapshots in traces: a copy of a process's /proc/PID/smaps taken at
// a point of its trace (the preload's seal points, VMSEAL_PREDICT), from which
// a replay takes the whole layout the trace alone cannot show (the program,
// ld.so, the stack and vdso the kernel mapped at exec).
#pragma once

#include <string>

#include "vmseal/engine/address_space.hpp"

namespace vmseal::trace {

// The layout of `snapshot` (smaps text) as an address space with `cfg`,
// sharing the file table of `old` (the process's address space so far; may
// be null) and keeping its program break unless the snapshot shows a heap
// that ends elsewhere. False with a message for text that is not smaps.
bool layout_from_snapshot(const std::string& snapshot, const Config& cfg, const AddressSpace* old,
                          AddressSpace& out, std::string* error);

}  // namespace vmseal::trace
