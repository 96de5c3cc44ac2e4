// Linux x86-64 user ABI constants for the memory-management system calls, with
// their kernel values, so the engine and the trace reader need no libc headers.
#pragma once

#include <cstdint>
#include <string_view>

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

// Resource limits (include/uapi/asm-generic/resource.h) and the
// capabilities mm checks (include/uapi/linux/capability.h).
inline constexpr int RLIMIT_DATA = 2;
inline constexpr int RLIMIT_STACK = 3;
inline constexpr int RLIMIT_MEMLOCK = 8;
inline constexpr int RLIMIT_AS = 9;
inline constexpr int RLIM_NLIMITS = 16;
inline constexpr std::uint64_t RLIM64_INFINITY = ~std::uint64_t{0};
inline constexpr int CAP_SETPCAP = 8;
inline constexpr int CAP_IPC_LOCK = 14;
inline constexpr int CAP_SYS_RAWIO = 17;
inline constexpr int CAP_SYS_RESOURCE = 24;
inline constexpr int CAP_LAST_CAP = 40;  // CAP_CHECKPOINT_RESTORE (6.18)
inline constexpr std::uint64_t CAP_FULL_SET = (std::uint64_t{1} << (CAP_LAST_CAP + 1)) - 1;

// prctl(2) options that decide memory calls (include/uapi/linux/prctl.h).
inline constexpr std::uint64_t PR_SET_MDWE = 65;
inline constexpr std::uint64_t PR_GET_MDWE = 66;
inline constexpr std::uint64_t PR_MDWE_REFUSE_EXEC_GAIN = 1;
inline constexpr std::uint64_t PR_MDWE_NO_INHERIT = 2;

// memfd_create(2) flags (include/uapi/linux/memfd.h): the log2 huge page size
// sits at bit 26 (MFD_HUGE_SHIFT), six bits wide.
inline constexpr std::uint64_t MFD_CLOEXEC = 0x0001;
inline constexpr std::uint64_t MFD_ALLOW_SEALING = 0x0002;
inline constexpr std::uint64_t MFD_HUGETLB = 0x0004;
inline constexpr std::uint64_t MFD_NOEXEC_SEAL = 0x0008;
inline constexpr std::uint64_t MFD_EXEC = 0x0010;
inline constexpr unsigned MFD_HUGE_SHIFT = 26;
inline constexpr std::uint64_t MFD_HUGE_MASK = 0x3f;
// The longest memfd name: NAME_MAX less the "memfd:" prefix.
inline constexpr std::uint64_t MFD_NAME_MAX_LEN = 255 - 6;
// fcntl(2)'s seal commands and the seals (include/uapi/linux/fcntl.h), named
// without their F_ prefix and O_CLOEXEC as OPEN_CLOEXEC: <fcntl.h> defines the
// kernel's names as macros, and some files include both.
inline constexpr std::uint64_t ADD_SEALS = 1033;  // F_ADD_SEALS
inline constexpr std::uint64_t GET_SEALS = 1034;  // F_GET_SEALS
inline constexpr std::uint64_t SEAL_SEAL = 0x0001;
inline constexpr std::uint64_t SEAL_SHRINK = 0x0002;
inline constexpr std::uint64_t SEAL_GROW = 0x0004;
inline constexpr std::uint64_t SEAL_WRITE = 0x0008;
inline constexpr std::uint64_t SEAL_FUTURE_WRITE = 0x0010;
inline constexpr std::uint64_t SEAL_EXEC = 0x0020;
inline constexpr std::uint64_t ALL_SEALS =
    SEAL_SEAL | SEAL_SHRINK | SEAL_GROW | SEAL_WRITE | SEAL_FUTURE_WRITE | SEAL_EXEC;
// open(2)'s O_CLOEXEC, the one flag memfd_secret(2) takes.
inline constexpr std::uint64_t OPEN_CLOEXEC = 02000000;
// The largest file offset (MAX_LFS_FILESIZE on 64-bit).
inline constexpr std::uint64_t MAX_LFS_FILESIZE = (std::uint64_t{1} << 63) - 1;
// userfaultfd(2) (include/uapi/linux/userfaultfd.h, Linux 6.18).
inline constexpr long NR_userfaultfd = 323;
inline constexpr int CAP_SYS_PTRACE = 19;
inline constexpr std::uint64_t UFFD_NONBLOCK = 04000;    // O_NONBLOCK
inline constexpr std::uint64_t UFFD_CLOEXEC = 02000000;  // O_CLOEXEC
inline constexpr std::uint64_t UFFD_USER_MODE_ONLY = 1;
inline constexpr std::uint64_t UFFD_API = 0xaa;
inline constexpr std::uint64_t UFFDIO_API = 0xc018aa3f;  // _IOWR(0xAA, 0x3F, struct uffdio_api)
inline constexpr std::uint64_t UFFDIO_REGISTER =
    0xc020aa00;  // _IOWR(0xAA, 0x00, struct uffdio_register)
inline constexpr std::uint64_t UFFDIO_UNREGISTER =
    0x8010aa01;  // _IOR(0xAA, 0x01, struct uffdio_range)
inline constexpr std::uint64_t UFFD_FEATURE_PAGEFAULT_FLAG_WP = 1ULL << 0;
inline constexpr std::uint64_t UFFD_FEATURE_EVENT_FORK = 1ULL << 1;
inline constexpr std::uint64_t UFFD_FEATURE_EVENT_REMAP = 1ULL << 2;
inline constexpr std::uint64_t UFFD_FEATURE_EVENT_REMOVE = 1ULL << 3;
inline constexpr std::uint64_t UFFD_FEATURE_MISSING_HUGETLBFS = 1ULL << 4;
inline constexpr std::uint64_t UFFD_FEATURE_MISSING_SHMEM = 1ULL << 5;
inline constexpr std::uint64_t UFFD_FEATURE_EVENT_UNMAP = 1ULL << 6;
inline constexpr std::uint64_t UFFD_FEATURE_SIGBUS = 1ULL << 7;
inline constexpr std::uint64_t UFFD_FEATURE_THREAD_ID = 1ULL << 8;
inline constexpr std::uint64_t UFFD_FEATURE_MINOR_HUGETLBFS = 1ULL << 9;
inline constexpr std::uint64_t UFFD_FEATURE_MINOR_SHMEM = 1ULL << 10;
inline constexpr std::uint64_t UFFD_FEATURE_EXACT_ADDRESS = 1ULL << 11;
inline constexpr std::uint64_t UFFD_FEATURE_WP_HUGETLBFS_SHMEM = 1ULL << 12;
inline constexpr std::uint64_t UFFD_FEATURE_WP_UNPOPULATED = 1ULL << 13;
inline constexpr std::uint64_t UFFD_FEATURE_POISON = 1ULL << 14;
inline constexpr std::uint64_t UFFD_FEATURE_WP_ASYNC = 1ULL << 15;
inline constexpr std::uint64_t UFFD_FEATURE_MOVE = 1ULL << 16;
// UFFD_API_FEATURES of an x86-64 6.18 kernel with minor faults and uffd-wp
// markers (what UFFDIO_API answered on the probe machine).
inline constexpr std::uint64_t UFFD_API_FEATURES = (1ULL << 17) - 1;
inline constexpr std::uint64_t UFFDIO_REGISTER_MODE_MISSING = 1ULL << 0;
inline constexpr std::uint64_t UFFDIO_REGISTER_MODE_WP = 1ULL << 1;
inline constexpr std::uint64_t UFFDIO_REGISTER_MODE_MINOR = 1ULL << 2;

struct ErrnoName {
  std::string_view name;
  int number;
};

// The one table of errno names: include/uapi/asm-generic/errno-base.h,
// errno.h and include/linux/errno.h (the kernel-internal codes strace
// names); primary names first, aliases at the end. The engine's Errno values
// are a subset; strace's reader (trace/strace.hpp) takes every name; the
// preload names the errors in its report with it. Header-only and
// allocation-free, so the preload (libc only) can use it.
inline constexpr ErrnoName kErrnoNames[] = {
    {"EPERM", 1},
    {"ENOENT", 2},
    {"ESRCH", 3},
    {"EINTR", 4},
    {"EIO", 5},
    {"ENXIO", 6},
    {"E2BIG", 7},
    {"ENOEXEC", 8},
    {"EBADF", 9},
    {"ECHILD", 10},
    {"EAGAIN", 11},
    {"ENOMEM", 12},
    {"EACCES", 13},
    {"EFAULT", 14},
    {"ENOTBLK", 15},
    {"EBUSY", 16},
    {"EEXIST", 17},
    {"EXDEV", 18},
    {"ENODEV", 19},
    {"ENOTDIR", 20},
    {"EISDIR", 21},
    {"EINVAL", 22},
    {"ENFILE", 23},
    {"EMFILE", 24},
    {"ENOTTY", 25},
    {"ETXTBSY", 26},
    {"EFBIG", 27},
    {"ENOSPC", 28},
    {"ESPIPE", 29},
    {"EROFS", 30},
    {"EMLINK", 31},
    {"EPIPE", 32},
    {"EDOM", 33},
    {"ERANGE", 34},
    {"EDEADLK", 35},
    {"ENAMETOOLONG", 36},
    {"ENOLCK", 37},
    {"ENOSYS", 38},
    {"ENOTEMPTY", 39},
    {"ELOOP", 40},
    {"ENOMSG", 42},
    {"EIDRM", 43},
    {"ECHRNG", 44},
    {"EL2NSYNC", 45},
    {"EL3HLT", 46},
    {"EL3RST", 47},
    {"ELNRNG", 48},
    {"EUNATCH", 49},
    {"ENOCSI", 50},
    {"EL2HLT", 51},
    {"EBADE", 52},
    {"EBADR", 53},
    {"EXFULL", 54},
    {"ENOANO", 55},
    {"EBADRQC", 56},
    {"EBADSLT", 57},
    {"EBFONT", 59},
    {"ENOSTR", 60},
    {"ENODATA", 61},
    {"ETIME", 62},
    {"ENOSR", 63},
    {"ENONET", 64},
    {"ENOPKG", 65},
    {"EREMOTE", 66},
    {"ENOLINK", 67},
    {"EADV", 68},
    {"ESRMNT", 69},
    {"ECOMM", 70},
    {"EPROTO", 71},
    {"EMULTIHOP", 72},
    {"EDOTDOT", 73},
    {"EBADMSG", 74},
    {"EOVERFLOW", 75},
    {"ENOTUNIQ", 76},
    {"EBADFD", 77},
    {"EREMCHG", 78},
    {"ELIBACC", 79},
    {"ELIBBAD", 80},
    {"ELIBSCN", 81},
    {"ELIBMAX", 82},
    {"ELIBEXEC", 83},
    {"EILSEQ", 84},
    {"ERESTART", 85},
    {"ESTRPIPE", 86},
    {"EUSERS", 87},
    {"ENOTSOCK", 88},
    {"EDESTADDRREQ", 89},
    {"EMSGSIZE", 90},
    {"EPROTOTYPE", 91},
    {"ENOPROTOOPT", 92},
    {"EPROTONOSUPPORT", 93},
    {"ESOCKTNOSUPPORT", 94},
    {"EOPNOTSUPP", 95},
    {"EPFNOSUPPORT", 96},
    {"EAFNOSUPPORT", 97},
    {"EADDRINUSE", 98},
    {"EADDRNOTAVAIL", 99},
    {"ENETDOWN", 100},
    {"ENETUNREACH", 101},
    {"ENETRESET", 102},
    {"ECONNABORTED", 103},
    {"ECONNRESET", 104},
    {"ENOBUFS", 105},
    {"EISCONN", 106},
    {"ENOTCONN", 107},
    {"ESHUTDOWN", 108},
    {"ETOOMANYREFS", 109},
    {"ETIMEDOUT", 110},
    {"ECONNREFUSED", 111},
    {"EHOSTDOWN", 112},
    {"EHOSTUNREACH", 113},
    {"EALREADY", 114},
    {"EINPROGRESS", 115},
    {"ESTALE", 116},
    {"EUCLEAN", 117},
    {"ENOTNAM", 118},
    {"ENAVAIL", 119},
    {"EISNAM", 120},
    {"EREMOTEIO", 121},
    {"EDQUOT", 122},
    {"ENOMEDIUM", 123},
    {"EMEDIUMTYPE", 124},
    {"ECANCELED", 125},
    {"ENOKEY", 126},
    {"EKEYEXPIRED", 127},
    {"EKEYREVOKED", 128},
    {"EKEYREJECTED", 129},
    {"EOWNERDEAD", 130},
    {"ENOTRECOVERABLE", 131},
    {"ERFKILL", 132},
    {"EHWPOISON", 133},
    {"ERESTARTSYS", 512},
    {"ERESTARTNOINTR", 513},
    {"ERESTARTNOHAND", 514},
    {"ENOIOCTLCMD", 515},
    {"ERESTART_RESTARTBLOCK", 516},
    {"EPROBE_DEFER", 517},
    {"EOPENSTALE", 518},
    {"ENOPARAM", 519},
    {"EBADHANDLE", 521},
    {"ENOTSYNC", 522},
    {"EBADCOOKIE", 523},
    {"ENOTSUPP", 524},
    {"ETOOSMALL", 525},
    {"ESERVERFAULT", 526},
    {"EBADTYPE", 527},
    {"EJUKEBOX", 528},
    {"EIOCBQUEUED", 529},
    {"ERECALLCONFLICT", 530},
    {"ENOGRACE", 531},
    // aliases
    {"EWOULDBLOCK", 11},
    {"EDEADLOCK", 35},
    {"ENOTSUP", 95},
};

}  // namespace vmseal::abi
