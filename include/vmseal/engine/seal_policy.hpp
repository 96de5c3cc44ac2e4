// Seal designs as policies of one engine. A SealPolicy is plain data: which
// flag refuses which effect, when the check runs, which errno it gives. The
// primitives of AddressSpace (unmap a range, change the flags of a range,
// discard contents, move) consult it; nothing else in the engine differs
// between designs. Everything a policy does not mention is Linux 6.18.
//
//   linux-6.18  (default) the kernel this project targets: each primitive
//               checks each VMA as it reaches it, so a failed mprotect or
//               madvise may have changed the VMAs before the sealed one and a
//               failed munmap may leave a split (docs/kernel-rules.md).
//   linux-6.12  the 6.12-6.16 rules: as 6.18, but the madvise rule tests
//               "has no file" rather than "is anonymous", so a private
//               /dev/zero mapping may be discarded.
//   linux-6.11  the up-front design: can_modify_mm() walks the whole range
//               before anything changes, so failures are all-or-nothing.
//   linux-6.10  as released: 6.11's design with the is_madv_discard() bitmask
//               bug, which refuses almost every advice (MADV_RANDOM, even
//               MADV_POPULATE_*) on sealed read-only anonymous memory.
//   openbsd     mimmutable(2) applied to Linux's calls: the range is rounded,
//               unmapped pages in it are ignored, every check is up front, and
//               destructive advice (any memory, file-backed and writable
//               included), msync(MS_INVALIDATE) are refused.
//   rfc-v3      Jeff Xu's typed-seal RFC v3 (Dec 2023, ../shared/seeds):
//               mseal(addr, len, types, flags) with MM_SEAL_BASE (unmap, move,
//               MAP_FIXED, resize), MM_SEAL_PROT_PKEY (mprotect, implies
//               BASE) and MM_SEAL_SEAL (no new seal types); up-front checks,
//               EACCES, no madvise rule. A 3-argument mseal from a Linux trace
//               asks for `untyped_types` (by default all three: the nearest
//               thing to Linux's one seal); "rfc-v3:base+prot" chooses.
//   kernel-seal the kernel-internal seal of seed 003 (Fares Mehanna's secret
//               memory, Jeff Xu's reply): the kernel seals a range of a
//               mapping it made in a process (a script's kseal), userspace can
//               never lift it, and the kernel alone releases it (krelease).
//               Everything else is linux-6.18. How the release gets past the
//               seal is the thread's question, chosen with ":RELEASE":
//                 bypass (default) the kernel's unmap skips the seal check (a
//                        flag to do_vmi_align_munmap(), Jeff's second option);
//                 unseal a kernel-internal unseal of the range, then an
//                        ordinary unmap (the RFC's own answer);
//                 flag   the kernel's seal carries a VMA flag that lets
//                        unmapping through (Jeff's first option), for
//                        userspace too.
//               Under every other policy the kernel has no way past a seal:
//               its release is an ordinary unmap and is refused.
//
// One namespace: the seal types are VMA flags. MM_SEAL_BASE is VM_SEALED
// itself (so "sl" still shows a sealed VMA), the other two are vmseal's own
// bits (vm::SEAL_PROT_PKEY, vm::SEAL_SEAL) that no kernel has and smaps never
// prints. VMAs merge only when their seal flags agree, as with every flag.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vmseal/engine/types.hpp"
#include "vmseal/engine/vm_flags.hpp"

namespace vmseal {

// When a primitive checks seals.
enum class SealTiming : std::uint8_t {
  InWalk,   // on each VMA as the walk reaches it (6.12+): partial failures
  UpFront,  // over the whole range before any change (6.10, 6.11, OpenBSD, RFC)
};

// Which madvise advice counts as discarding contents.
enum class DiscardAdvice : std::uint8_t {
  Listed,   // is_discard(): FREE, DONTNEED(_LOCKED), REMOVE, DONTFORK, WIPEONFORK, GUARD_INSTALL
  Bitmask,  // 6.10's `advice & (FREE|DONTNEED|...)`: every advice but MADV_NORMAL
  Destructive,  // OpenBSD's destructive set in Linux terms: FREE, DONTNEED(_LOCKED),
                // REMOVE, WIPEONFORK (MAP_INHERIT_ZERO), GUARD_INSTALL; not DONTFORK
};

// Which sealed VMAs refuse discard advice.
enum class DiscardScope : std::uint8_t {
  AnonReadOnly,    // 6.17+: vma_is_anonymous() (no vm_ops) and not writable
  NoFileReadOnly,  // 6.10-6.16: no vm_file, not VM_SHARED, not writable
  Any,             // OpenBSD: every immutable mapping
  None,            // RFC v3: madvise is not sealed
};

// How the kernel releases a range it sealed itself (kernel_release() in
// address_space.hpp; docs/designs.md, seed 003).
enum class KernelRelease : std::uint8_t {
  None,    // no way past a seal: an ordinary unmap, refused (every design but kernel-seal)
  Bypass,  // one unmap that skips the seal check; nothing is ever unsealed
  Unseal,  // a kernel-internal unseal of the range, then an ordinary unmap
  Flag,    // the kernel's seal adds vm::SEALED_UNMAPPABLE: any unmap gets through
};

// The RFC v3 seal types (uapi values of the series) and the flags that hold them.
namespace seal_type {
inline constexpr std::uint64_t SEAL = 1ULL << 0;       // MM_SEAL_SEAL
inline constexpr std::uint64_t BASE = 1ULL << 1;       // MM_SEAL_BASE
inline constexpr std::uint64_t PROT_PKEY = 1ULL << 2;  // MM_SEAL_PROT_PKEY
inline constexpr std::uint64_t ALL = SEAL | BASE | PROT_PKEY;
}  // namespace seal_type
// The VMA flags of a set of seal types, and back.
VmFlags seal_flags_of_types(std::uint64_t types) noexcept;
std::uint64_t seal_types_of_flags(VmFlags flags) noexcept;
// "base+prot_pkey+seal"; "none" for 0.
std::string seal_types_name(std::uint64_t types);

struct SealPolicy {
  std::string_view name = "linux-6.18";
  std::string_view title = "Linux 6.18 mseal(2)";
  SealTiming timing = SealTiming::InWalk;
  // What a refused operation returns.
  Errno refused = Errno::PERM;
  // The flag that refuses unmapping, MAP_FIXED over, moving and resizing.
  VmFlags base_seal = vm::SEALED;
  // The flag that refuses mprotect and pkey_mprotect.
  VmFlags prot_seal = vm::SEALED;
  DiscardAdvice discard_advice = DiscardAdvice::Listed;
  DiscardScope discard_scope = DiscardScope::AnonReadOnly;
  // MAP_FIXED over a sealed VMA is refused in do_mmap(), right after the
  // MAP_FIXED_NOREPLACE check and before the mlock and file checks (RFC v3),
  // rather than when mmap_region() unmaps what is in the way.
  bool fixed_mmap_checked_early = false;
  // msync(MS_INVALIDATE) over a sealed VMA is refused (OpenBSD).
  bool msync_invalidate_sealed = false;
  // mseal() as mimmutable(): the range is rounded to pages, unmapped pages
  // are skipped instead of failing ENOMEM, a MAP_INHERIT_ZERO
  // (VM_WIPEONFORK) mapping in the range fails it with EPERM.
  bool seal_like_mimmutable = false;
  // mseal() takes seal types (RFC v3).
  bool typed = false;
  // Under a typed policy, the types a 3-argument (Linux) mseal() asks for.
  std::uint64_t untyped_types = 0;
  // How the kernel's release of its own sealed range gets past the seal.
  KernelRelease kernel_release = KernelRelease::None;

  // The name with the typed policy's choice of types ("rfc-v3:base+prot_pkey")
  // or the kernel seal's release ("kernel-seal:unseal"), when not the default.
  std::string spec() const;
  // A flag that lets a sealed VMA be unmapped all the same (kernel-seal:flag).
  VmFlags unmap_exempt() const noexcept {
    return kernel_release == KernelRelease::Flag ? vm::SEALED_UNMAPPABLE : VmFlags{0};
  }
  // The flags that are seals under this policy (base_seal, prot_seal and
  // the typed bits).
  VmFlags seal_mask() const noexcept;
};

namespace seal_policy {
// Every named policy, the default first.
std::span<const SealPolicy> all() noexcept;
const SealPolicy& linux_6_18() noexcept;
// A policy by name ("linux-6.10", "openbsd", "rfc-v3", "rfc-v3:base+seal",
// "kernel-seal:unseal"; the aliases "6.18", "mimmutable", "typed", "kseal"
// are accepted). False with a message naming the choices for anything else.
bool parse(std::string_view spec, SealPolicy& out, std::string* error = nullptr);
}  // namespace seal_policy

}  // namespace vmseal
