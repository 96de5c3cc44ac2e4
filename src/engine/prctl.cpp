// prctl(2), the options that decide memory calls: kernel/sys.c
// (prctl_set_mdwe(), prctl_get_mdwe()) and include/linux/mman.h
// (map_deny_write_exec()), which mmap_region() and do_mprotect_pkey() call.
// Probed on 6.18: tests/kernel/mdwe.c, tests/data/mdwe.expected.
#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal {

namespace {

constexpr std::uint64_t kMdweBits = abi::PR_MDWE_REFUSE_EXEC_GAIN | abi::PR_MDWE_NO_INHERIT;

}  // namespace

// prctl_set_mdwe(): arguments first (EINVAL), then no change to bits already
// set, not even adding NO_INHERIT later (EPERM, probe m1); setting the same
// bits again is allowed. prctl_get_mdwe(): the bits.
SysResult AddressSpace::prctl(std::uint64_t option, std::uint64_t arg2, std::uint64_t arg3,
                              std::uint64_t arg4, std::uint64_t arg5) {
  if (option == abi::PR_GET_MDWE) {
    if ((arg2 | arg3 | arg4 | arg5) != 0) return Errno::INVAL;
    return SysResult::ok(mdwe_);
  }
  if (option != abi::PR_SET_MDWE) return Errno::INVAL;
  if ((arg3 | arg4 | arg5) != 0 || (arg2 & ~kMdweBits) != 0) return Errno::INVAL;
  // NO_INHERIT only with REFUSE_EXEC_GAIN.
  if ((arg2 & abi::PR_MDWE_NO_INHERIT) != 0 && (arg2 & abi::PR_MDWE_REFUSE_EXEC_GAIN) == 0)
    return Errno::INVAL;
  if (mdwe_ != 0 && mdwe_ != arg2) return Errno::PERM;  // MDWE cannot be undone
  mdwe_ = arg2;
  return SysResult::ok(0);
}

// map_deny_write_exec(): under MDWE, a VMA may not become writable and
// executable, nor executable when it was not (probes m2 to m5). mmap asks
// with old == new: only write+exec is refused there.
bool AddressSpace::map_deny_write_exec(VmFlags old, VmFlags neu) const noexcept {
  if ((mdwe_ & abi::PR_MDWE_REFUSE_EXEC_GAIN) == 0 || (neu & vm::EXEC) == 0) return false;
  return (neu & vm::WRITE) != 0 || (old & vm::EXEC) == 0;
}

// mmf_init_flags(): a forked or exec'd mm keeps MDWE unless it was set with
// PR_MDWE_NO_INHERIT, which then goes too (probes m6, m7).
std::uint64_t AddressSpace::inherited_mdwe() const noexcept {
  return (mdwe_ & abi::PR_MDWE_NO_INHERIT) != 0 ? 0 : mdwe_;
}

}  // namespace vmseal
