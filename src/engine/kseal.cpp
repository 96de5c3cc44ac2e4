// The kernel's own seal on a mapping it made in a process, and its release:
// the fifth design (seed 003). Fares Mehanna's RFC put kernel secrets in
// memfd_secret pages mapped into the process, faulted in, locked and sealed
// so that the process could not unmap, move or re-protect them, and asked for
// a kernel-internal unseal to give the range back during the process's life;
// Jeff Xu answered that there should be no unseal at all and offered a VMA
// flag that allows unmapping while sealed, or a flag to
// do_vmi_align_munmap() that skips the seal check for the kernel's own call.
// No Linux has any of these; the policy (SealPolicy::kernel_release) says
// which one the engine models. The closest thing Linux 6.18 has,
// VM_SEALED_SYSMAP (CONFIG_MSEAL_SYSTEM_MAPPINGS, off on this kernel), seals
// special mappings from their creation and never lifts the seal before exit:
// kernel_release() under the Linux policies.
//
// The 6.18 rules these rest on are probed: a sealed secret-memory mapping and
// the scripts' stand-in for it [k1, k2: tests/kernel/kernel_seal.c,
// docs/kernel-rules.md 6c]; the splits of a flag change at max_map_count
// (4.6, reference case c21) and the unmap's gather (1.21). The designs
// themselves are models (tests/engine/kernel_seal_test.cpp).
#include <algorithm>
#include <optional>

#include "vmseal/engine/address_space.hpp"

namespace vmseal {

namespace {
// The range checks of the release, do_vmi_munmap()'s (munmap in mmap.cpp):
// EINVAL for an unaligned start, a range past TASK_SIZE or one that rounds to
// nothing. Otherwise the end.
std::optional<Addr> release_end(Addr start, std::uint64_t len, Addr task_size) {
  if (!page_aligned(start) || start > task_size || len > task_size - start) return std::nullopt;
  const Addr end = start + page_align_up(len);
  if (end == start) return std::nullopt;
  return end;
}
}  // namespace

// The kernel seals with the policy's own seal, as Fares's patch called
// do_mseal() (the same range checks: a hole is ENOMEM and seals nothing). A
// typed design's kernel asks for every type; mimmutable's rounds and skips
// holes; kernel-seal:flag adds the flag that lets unmapping through.
SysResult AddressSpace::kernel_seal(Addr start, std::uint64_t len) {
  if (cfg_.seal.typed) return mseal_typed(start, len, seal_type::ALL, 0);
  if (cfg_.seal.seal_like_mimmutable) return mimmutable(start, len, 0);
  return mseal_linux(start, len, 0, vm::SEALED | cfg_.seal.unmap_exempt());
}

SysResult AddressSpace::kernel_unseal(Addr start, std::uint64_t len) {
  if (cfg_.seal.kernel_release != KernelRelease::Unseal) return Errno::NOSYS;  // no unseal
  return unseal_range(start, len);
}

// The RFC's unseal ("do_unseal" in Jeff Xu's reply; its code was not
// available here), modelled as mseal_apply() in reverse: a hole in the range
// is ENOMEM with nothing changed (range_contains_unmapped()); then VM_SEALED
// leaves each VMA of the range that has it, through modify_range(): a split
// at each end of the range, a merge with neighbours whose flags now agree.
// A split failing at max_map_count stops the walk, and the VMAs before it
// stay unsealed. Every seal in the range goes, whoever set it: one bit
// cannot tell the kernel's seal from the process's.
SysResult AddressSpace::unseal_range(Addr start, std::uint64_t len) {
  const std::optional<Addr> end = release_end(start, len, cfg_.task_size);
  if (!end) return Errno::INVAL;
  Vma* vma = tree_.lower(start);
  Addr covered = start;
  for (const Vma* v = vma; v != nullptr && v->start < *end; v = tree_.next_of(*v)) {
    if (v->start > covered) return Errno::NOMEM;
    covered = v->end;
  }
  if (covered < *end) return Errno::NOMEM;

  Vma* prev = start > vma->start ? vma : tree_.prev_of(*vma);
  while (vma != nullptr && vma->start < *end) {
    if ((vma->flags & vm::SEALED) != 0) {
      const Addr from = std::max(vma->start, start);
      const Addr to = std::min(vma->end, *end);
      const Expected<Vma*> unsealed = modify_range(prev, vma, from, to, vma->flags & ~vm::SEALED);
      if (!unsealed) return unsealed.error();
      vma = *unsealed;
    }
    prev = vma;
    vma = tree_.next_of(*vma);
  }
  return SysResult::ok(0);
}

// The kernel gives the range back to the process:
//   None    vm_munmap(), which the seal refuses as it refuses the process;
//           the range stays mapped until exit (Linux, OpenBSD, the RFC) [k1.7]
//   Flag    the same unmap, which the kernel's seal lets through
//   Unseal  unseal_range(), then the ordinary unmap; a failed unseal (a hole,
//           max_map_count) fails the release, with what it already unsealed
//   Bypass  do_vmi_align_munmap() told to skip the seal check: one walk, the
//           splits and limits of any unmap, nothing ever unsealed. It skips
//           every seal in the range: the kernel must name only its own.
SysResult AddressSpace::kernel_release(Addr start, std::uint64_t len) {
  switch (cfg_.seal.kernel_release) {
    case KernelRelease::None:
    case KernelRelease::Flag:
      return munmap(start, len);
    case KernelRelease::Unseal: {
      const SysResult unsealed = unseal_range(start, len);
      if (unsealed.is_error()) return unsealed;
      return munmap(start, len);
    }
    case KernelRelease::Bypass:
      break;
  }
  const std::optional<Addr> end = release_end(start, len, cfg_.task_size);
  if (!end) return Errno::INVAL;
  if (Errno e = gather_unmap(start, *end, VmFlags{0}); e != Errno::OK) return e;
  return SysResult::ok(0);
}

}  // namespace vmseal
