// msync(2), Linux 6.18 (mm/msync.c). It changes no VMA; what the engine needs
// is its result: argument errors, EBUSY for MS_INVALIDATE of locked memory,
// and ENOMEM for holes (at once for a plain MS_ASYNC, after the walk
// otherwise). Writeback is assumed to succeed. Linux seals do not affect
// msync; OpenBSD refuses MS_INVALIDATE of immutable memory, which is the
// policy's msync_invalidate_sealed.
#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {

SysResult AddressSpace::msync(Addr start, std::uint64_t len, std::uint64_t flags_arg) {
  const int flags = static_cast<int>(static_cast<std::uint32_t>(flags_arg));  // an int argument
  if ((flags & ~(abi::MS_ASYNC | abi::MS_INVALIDATE | abi::MS_SYNC)) != 0) return Errno::INVAL;
  if (!page_aligned(start)) return Errno::INVAL;
  if ((flags & abi::MS_ASYNC) != 0 && (flags & abi::MS_SYNC) != 0) return Errno::INVAL;
  len = page_align_up(len);
  const Addr end = start + len;
  if (end < start) return Errno::NOMEM;
  if (end == start) return SysResult::ok(0);

  if (cfg_.seal.msync_invalidate_sealed && (flags & abi::MS_INVALIDATE) != 0 &&
      range_has_seal(start, end, cfg_.seal.base_seal))
    return cfg_.seal.refused;

  // find_vma(): the first VMA ending above start.
  Errno unmapped_error = Errno::OK;
  const Vma* vma = tree_.lower(start);
  for (;;) {
    if (vma == nullptr) return Errno::NOMEM;
    if (start < vma->start) {
      if (flags == abi::MS_ASYNC) return Errno::NOMEM;
      start = vma->start;
      if (start >= end) return Errno::NOMEM;
      unmapped_error = Errno::NOMEM;
    }
    if ((flags & abi::MS_INVALIDATE) != 0 && (vma->flags & vm::LOCKED) != 0) return Errno::BUSY;
    start = vma->end;
    // MS_SYNC of a shared file mapping writes it back (vfs_fsync_range(),
    // assumed to succeed) and looks the next VMA up again; either way the
    // walk ends once the range is covered.
    if (start >= end) break;
    vma = tree_.lower(start);
  }
  return unmapped_error == Errno::OK ? SysResult::ok(0) : SysResult(unmapped_error);
}

}  // namespace vmseal
