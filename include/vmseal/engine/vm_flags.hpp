// vm_flags: one namespace of VMA flags, with the kernel's own bit positions
// (include/linux/mm.h, Linux 6.18, x86-64). VM_SEALED is an ordinary flag here:
// stored, compared for merging and printed like every other one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vmseal {

using VmFlags = std::uint64_t;

namespace vm {
inline constexpr VmFlags NONE = 0;
inline constexpr VmFlags READ = 1ULL << 0;
inline constexpr VmFlags WRITE = 1ULL << 1;
inline constexpr VmFlags EXEC = 1ULL << 2;
inline constexpr VmFlags SHARED = 1ULL << 3;
inline constexpr VmFlags MAYREAD = 1ULL << 4;
inline constexpr VmFlags MAYWRITE = 1ULL << 5;
inline constexpr VmFlags MAYEXEC = 1ULL << 6;
inline constexpr VmFlags MAYSHARE = 1ULL << 7;
inline constexpr VmFlags GROWSDOWN = 1ULL << 8;
inline constexpr VmFlags UFFD_MISSING = 1ULL << 9;
inline constexpr VmFlags PFNMAP = 1ULL << 10;
// VM_MAYBE_GUARD: set by MADV_GUARD_INSTALL; sticky and ignored for merging.
// Upstream added it in 6.19; the 6.18.44 kernel this project targets has it.
inline constexpr VmFlags MAYBE_GUARD = 1ULL << 11;
inline constexpr VmFlags UFFD_WP = 1ULL << 12;
inline constexpr VmFlags LOCKED = 1ULL << 13;
inline constexpr VmFlags IO = 1ULL << 14;
inline constexpr VmFlags SEQ_READ = 1ULL << 15;
inline constexpr VmFlags RAND_READ = 1ULL << 16;
inline constexpr VmFlags DONTCOPY = 1ULL << 17;
inline constexpr VmFlags DONTEXPAND = 1ULL << 18;
inline constexpr VmFlags LOCKONFAULT = 1ULL << 19;
inline constexpr VmFlags ACCOUNT = 1ULL << 20;
inline constexpr VmFlags NORESERVE = 1ULL << 21;
inline constexpr VmFlags HUGETLB = 1ULL << 22;
inline constexpr VmFlags SYNC = 1ULL << 23;
inline constexpr VmFlags ARCH_1 = 1ULL << 24;  // VM_PAT on x86
inline constexpr VmFlags WIPEONFORK = 1ULL << 25;
inline constexpr VmFlags DONTDUMP = 1ULL << 26;
inline constexpr VmFlags SOFTDIRTY = 1ULL << 27;  // only with CONFIG_MEM_SOFT_DIRTY
inline constexpr VmFlags MIXEDMAP = 1ULL << 28;
inline constexpr VmFlags HUGEPAGE = 1ULL << 29;
inline constexpr VmFlags NOHUGEPAGE = 1ULL << 30;
inline constexpr VmFlags MERGEABLE = 1ULL << 31;
inline constexpr VmFlags PKEY_BIT0 = 1ULL << 32;
inline constexpr VmFlags PKEY_BIT1 = 1ULL << 33;
inline constexpr VmFlags PKEY_BIT2 = 1ULL << 34;
inline constexpr VmFlags PKEY_BIT3 = 1ULL << 35;
inline constexpr VmFlags SHADOW_STACK = 1ULL << 37;
inline constexpr VmFlags DROPPABLE = 1ULL << 40;
inline constexpr VmFlags UFFD_MINOR = 1ULL << 41;
inline constexpr VmFlags SEALED = 1ULL << 42;
// vmseal's own bits, for the typed-seal RFC v3 and kernel-seal policies
// (seal_policy.hpp): no kernel has them and smaps never prints them.
// MM_SEAL_BASE is SEALED itself.
// The kernel-seal:flag policy's bit (Jeff Xu's first option in seed 003): a
// seal the kernel set that lets unmapping through, for anyone who asks.
inline constexpr VmFlags SEALED_UNMAPPABLE = 1ULL << 60;
inline constexpr VmFlags SEAL_PROT_PKEY = 1ULL << 61;  // MM_SEAL_PROT_PKEY
inline constexpr VmFlags SEAL_SEAL = 1ULL << 62;       // MM_SEAL_SEAL
inline constexpr VmFlags ANY_SEAL = SEALED | SEAL_PROT_PKEY | SEAL_SEAL;
// vm_userfaultfd_ctx: the userfaultfd context a VMA is registered with, as an
// id (UffdId, files.hpp; 0 for none). The kernel keeps the pointer next to
// vm_flags and merges only VMAs with the same one (is_mergeable_vma()); here
// it lives in bits no 6.18 flag uses, so the merge rules compare it with the
// flags and every split or copy carries it. vmseal's own bits: smaps never
// prints them. A VMA has an id exactly when it has a UFFD_* flag.
inline constexpr unsigned kUffdCtxShift = 44;
inline constexpr VmFlags UFFD_CTX_MASK = VmFlags{0xffff} << kUffdCtxShift;

inline constexpr unsigned kPkeyShift = 32;
inline constexpr VmFlags PKEY_MASK = PKEY_BIT0 | PKEY_BIT1 | PKEY_BIT2 | PKEY_BIT3;

inline constexpr VmFlags ACCESS_FLAGS = READ | WRITE | EXEC;
inline constexpr VmFlags MAY_FLAGS = MAYREAD | MAYWRITE | MAYEXEC | MAYSHARE;
// VM_SPECIAL: never merged, never expanded by mremap, never mlocked.
inline constexpr VmFlags SPECIAL = IO | DONTEXPAND | PFNMAP | MIXEDMAP;
inline constexpr VmFlags LOCKED_MASK = LOCKED | LOCKONFAULT;
inline constexpr VmFlags UFFD_FLAGS = UFFD_MISSING | UFFD_WP | UFFD_MINOR;
// What a registration sets and userfaultfd_reset_ctx() clears.
inline constexpr VmFlags UFFD_STATE = UFFD_FLAGS | UFFD_CTX_MASK;
// Sticky flags: they do not prevent a merge, and a merged VMA keeps them.
inline constexpr VmFlags STICKY = SOFTDIRTY | MAYBE_GUARD;
inline constexpr VmFlags IGNORE_MERGE = STICKY;
}  // namespace vm

// The "VmFlags:" line of /proc/PID/smaps, e.g. "rd wr mr mw me ac sl " (the kernel
// prints a space after every mnemonic).
std::string smaps_vmflags(VmFlags flags);
// Parses a VmFlags line body ("rd wr mr ...") back into flags. Unknown mnemonics
// are reported through `unknown` (first one found) and make the call return false.
bool parse_smaps_vmflags(std::string_view text, VmFlags& out, std::string* unknown = nullptr);
// The mnemonic of one flag bit ("sl" for VM_SEALED), or "" for bits smaps does not print.
std::string_view vmflag_mnemonic(unsigned bit) noexcept;

}  // namespace vmseal
