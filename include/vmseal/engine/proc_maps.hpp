// What /proc/PID/maps and the VmFlags lines of /proc/PID/smaps show for an
// AddressSpace, byte for byte as fs/proc/task_mmu.c prints them; and a compact
// drawing of a window of the layout for tests and reports.
#pragma once

#include <string>

#include "vmseal/engine/address_space.hpp"

namespace vmseal {

// The name column: a file path, [heap], [stack], [vdso], [vvar], [vvar_vclock] or "".
std::string vma_name(const AddressSpace& as, const Vma& v);
// One line of /proc/PID/maps, without the newline.
std::string maps_line(const AddressSpace& as, const Vma& v);
// The whole of /proc/PID/maps.
std::string render_maps(const AddressSpace& as);
// Each maps line followed by its smaps "VmFlags: ..." line.
std::string render_smaps_vmflags(const AddressSpace& as);
// The VMAs inside [base, base + npages pages) as "[a-b perms flags]..." with page
// indices relative to base, perms as in maps, and the smaps mnemonics other
// than rd wr ex sh mr mw me ms (implied by perms and mode). This is the notation
// of tests/data/reference_cases.expected.
std::string draw_layout(const AddressSpace& as, Addr base, std::uint64_t npages);

}  // namespace vmseal
