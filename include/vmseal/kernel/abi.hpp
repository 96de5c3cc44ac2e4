// Linux x86-64 user ABI constants for the memory-management system calls, with
// their kernel values, so the engine and the trace reader need no libc headers.
#pragma once

#include <cstdint>

namespace vmseal::abi {

// PROT_*
inline constexpr std::uint64_t PROT_NONE = 0x0;
inline constexpr std::uint64_t PROT_READ = 0x1;
inline constexpr std::uint64_t PROT_WRITE = 0x2;
inline constexpr std::uint64_t PROT_EXEC = 0x4;
inline constexpr std::uint64_t PROT_SEM = 0x8;
inline constexpr std::uint64_t PROT_GROWSDOWN = 0x01000000;
inline constexpr std::uint64_t PROT_GROWSUP = 0x02000000;

// MAP_*
inline constexpr std::uint64_t MAP_SHARED = 0x01;
inline constexpr std::uint64_t MAP_PRIVATE = 0x02;
inline constexpr std::uint64_t MAP_SHARED_VALIDATE = 0x03;
inline constexpr std::uint64_t MAP_DROPPABLE = 0x08;
inline constexpr std::uint64_t MAP_TYPE = 0x0f;
inline constexpr std::uint64_t MAP_FIXED = 0x10;
inline constexpr std::uint64_t MAP_ANONYMOUS = 0x20;
inline constexpr std::uint64_t MAP_32BIT = 0x40;
inline constexpr std::uint64_t MAP_ABOVE4G = 0x80;
inline constexpr std::uint64_t MAP_GROWSDOWN = 0x0100;
inline constexpr std::uint64_t MAP_DENYWRITE = 0x0800;
inline constexpr std::uint64_t MAP_EXECUTABLE = 0x1000;
inline constexpr std::uint64_t MAP_LOCKED = 0x2000;
inline constexpr std::uint64_t MAP_NORESERVE = 0x4000;
inline constexpr std::uint64_t MAP_POPULATE = 0x8000;
inline constexpr std::uint64_t MAP_NONBLOCK = 0x10000;
inline constexpr std::uint64_t MAP_STACK = 0x20000;
inline constexpr std::uint64_t MAP_HUGETLB = 0x40000;
inline constexpr std::uint64_t MAP_SYNC = 0x80000;
inline constexpr std::uint64_t MAP_FIXED_NOREPLACE = 0x100000;
inline constexpr std::uint64_t MAP_UNINITIALIZED = 0x4000000;
// The flags MAP_SHARED accepts (others are silently dropped there, refused by
// MAP_SHARED_VALIDATE with EOPNOTSUPP).
inline constexpr std::uint64_t LEGACY_MAP_MASK =
    MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_DENYWRITE | MAP_EXECUTABLE |
    MAP_UNINITIALIZED | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK |
    MAP_STACK | MAP_HUGETLB;

// MREMAP_*
inline constexpr std::uint64_t MREMAP_MAYMOVE = 1;
inline constexpr std::uint64_t MREMAP_FIXED = 2;
inline constexpr std::uint64_t MREMAP_DONTUNMAP = 4;

// MS_* (msync)
inline constexpr int MS_ASYNC = 1;
inline constexpr int MS_INVALIDATE = 2;
inline constexpr int MS_SYNC = 4;

// MADV_*
inline constexpr int MADV_NORMAL = 0;
inline constexpr int MADV_RANDOM = 1;
inline constexpr int MADV_SEQUENTIAL = 2;
inline constexpr int MADV_WILLNEED = 3;
inline constexpr int MADV_DONTNEED = 4;
inline constexpr int MADV_FREE = 8;
inline constexpr int MADV_REMOVE = 9;
inline constexpr int MADV_DONTFORK = 10;
inline constexpr int MADV_DOFORK = 11;
inline constexpr int MADV_MERGEABLE = 12;
inline constexpr int MADV_UNMERGEABLE = 13;
inline constexpr int MADV_HUGEPAGE = 14;
inline constexpr int MADV_NOHUGEPAGE = 15;
inline constexpr int MADV_DONTDUMP = 16;
inline constexpr int MADV_DODUMP = 17;
inline constexpr int MADV_WIPEONFORK = 18;
inline constexpr int MADV_KEEPONFORK = 19;
inline constexpr int MADV_COLD = 20;
inline constexpr int MADV_PAGEOUT = 21;
inline constexpr int MADV_POPULATE_READ = 22;
inline constexpr int MADV_POPULATE_WRITE = 23;
inline constexpr int MADV_DONTNEED_LOCKED = 24;
inline constexpr int MADV_COLLAPSE = 25;
inline constexpr int MADV_HWPOISON = 100;
inline constexpr int MADV_SOFT_OFFLINE = 101;
inline constexpr int MADV_GUARD_INSTALL = 102;
inline constexpr int MADV_GUARD_REMOVE = 103;

// mlock2 / mlockall
inline constexpr std::uint64_t MLOCK_ONFAULT = 0x01;
inline constexpr std::uint64_t MCL_CURRENT = 1;
inline constexpr std::uint64_t MCL_FUTURE = 2;
inline constexpr std::uint64_t MCL_ONFAULT = 4;

// shmat
inline constexpr std::uint64_t SHM_RDONLY = 010000;
inline constexpr std::uint64_t SHM_RND = 020000;
inline constexpr std::uint64_t SHM_REMAP = 040000;
inline constexpr std::uint64_t SHM_EXEC = 0100000;
// shmget(2) flags (include/uapi/linux/ipc.h, linux/shm.h).
inline constexpr std::uint64_t IPC_CREAT = 01000;
inline constexpr std::uint64_t IPC_EXCL = 02000;
inline constexpr std::uint64_t SHM_HUGETLB = 04000;
inline constexpr std::uint64_t SHM_NORESERVE = 010000;
// The log2 page size of MAP_HUGETLB / SHM_HUGETLB sits at bit 26.
inline constexpr unsigned MAP_HUGE_SHIFT = 26;
inline constexpr unsigned SHM_HUGE_SHIFT = 26;
// pkey_alloc(2) access rights (include/uapi/asm-generic/mman-common.h).
inline constexpr std::uint64_t PKEY_UNRESTRICTED = 0;
inline constexpr std::uint64_t PKEY_DISABLE_ACCESS = 1;
inline constexpr std::uint64_t PKEY_DISABLE_WRITE = 2;
inline constexpr std::uint64_t PKEY_DISABLE_EXECUTE = 4;
// Names strace also prints: MAP_FILE (0, historical) and MAP_ANON.
inline constexpr std::uint64_t MAP_FILE = 0;
inline constexpr std::uint64_t MAP_ANON = 0x20;
inline constexpr std::uint64_t SHMLBA = 4096;

// x86-64 system call numbers the engine knows about.
inline constexpr long NR_mseal = 462;

}  // namespace vmseal::abi
