// Edge cases of every engine system call: addresses and lengths near 0, the
// page size, TASK_SIZE (0x7ffffffff000), 2^47, 2^63 and 2^64 (where start+len
// or PAGE_ALIGN(len) wraps), unaligned addresses, len 0, and invalid
// flags / prot / advice / pkey. Each expectation is the exact errno (or value)
// Linux 6.18 x86-64 returns.
//
// Evidence. [P] = probed on the target machine (6.18.44-fc-v769, no PKU,
// vm.mmap_min_addr 4096, RLIMIT_MEMLOCK 8 MiB): a C program issued each call
// with raw syscall(2) in a forked child after setresuid(65534) (unprivileged,
// as the engine's default Config) and again as root, in a process whose
// mappings do not touch the probed range (mapped cases used a fresh mapping
// at 0x200000000000, as here). [R n.m] = the rule in docs/kernel-rules.md;
// [N n] = the reference notes /work/shared/reference/linux-6.18-mseal.md.
// Every [P] row below matched the rule it cites, except where noted.
//
// The engine must also never crash or trip UBSan on any of these inputs: the
// Sweep tests call every system call over a grid of such arguments on a mixed
// layout and check the tree invariants and the seals afterwards.
//
// The EdgeKernelQuirk suite holds kernel results that surprised us at first
// (each probed); they are regression tests for the engine fixes they caused.
//
// First, before any standard header (types.hpp's Errno vs <cerrno>).
#include "vmseal/engine/address_space.hpp"
#include "vmseal/engine/syscall.hpp"
#include "vmseal/kernel/abi.hpp"

#include <gtest/gtest.h>

#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace vmseal {
namespace {

namespace a = abi;

constexpr Addr P = kPageSize;
constexpr Addr TS = 0x7ffffffff000ULL;  // TASK_SIZE
constexpr Addr A47 = Addr{1} << 47;     // 0x800000000000 = TS + P
constexpr Addr A63 = Addr{1} << 63;
constexpr Addr M = ~Addr{0};               // 2^64 - 1
constexpr Addr TOP = M - P + 1;            // 2^64 - 4096: the last page
constexpr Addr BASE = 0x200000000000ULL;   // free in the probe process too
constexpr Addr HEAP = 0x555555569000ULL;   // a PIE program's start_brk (no ASLR)
constexpr Addr STACK = 0x7ffffffde000ULL;  // [stack] without ASLR (33 pages)

constexpr std::uint64_t R = a::PROT_READ;
constexpr std::uint64_t RW = a::PROT_READ | a::PROT_WRITE;
constexpr std::uint64_t AN = a::MAP_PRIVATE | a::MAP_ANONYMOUS;
constexpr std::uint64_t FX = AN | a::MAP_FIXED;
constexpr std::uint64_t NOREPLACE = AN | a::MAP_FIXED_NOREPLACE;
constexpr std::uint64_t MOVE = a::MREMAP_MAYMOVE;
constexpr std::uint64_t MFIX = a::MREMAP_MAYMOVE | a::MREMAP_FIXED;
constexpr std::uint64_t MDU = a::MREMAP_MAYMOVE | a::MREMAP_DONTUNMAP;

// "0x1000" for a value, "EINVAL" for an errno ("E4095" for one without a name).
std::string show(const SysResult& r) {
  std::ostringstream o;
  if (r.is_ok()) {
    o << "0x" << std::hex << r.value();
    return o.str();
  }
  const std::string_view name = errno_name(r.error());
  if (name != "E?") return std::string(name);
  o << 'E' << static_cast<int>(r.error());
  return o.str();
}
std::string hex(Addr v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

Config cfg(bool privileged = false) {
  Config c;
  c.set_privileged(privileged);
  return c;
}

// A mapping the test needs; fails the test if the engine refuses it.
void map(AddressSpace& as, Addr addr, std::uint64_t len, std::uint64_t prot = R,
         std::uint64_t flags = FX) {
  const SysResult r = as.mmap(addr, len, prot, flags, -1, 0);
  ASSERT_EQ(show(r), hex(addr)) << "setup mmap(" << hex(addr) << ", " << hex(len) << ")";
}

// A 1-page SysV shm segment (the file shmat() maps).
FileId shm_segment(AddressSpace& as, std::uint64_t size = P) {
  FileInfo f;
  f.path = "/SYSV00000000 (deleted)";
  f.readable = true;
  f.writable = true;
  f.kind = FileKind::SysvShm;
  f.size = size;
  return as.files().add(f);
}

// A process-like layout for brk: heap at HEAP (3 pages grown by brk) and a
// GROWSDOWN [stack] just below TASK_SIZE.
void process_layout(AddressSpace& as) {
  as.set_brk(HEAP, HEAP);
  ASSERT_EQ(show(as.brk(HEAP + 3 * P)), hex(HEAP + 3 * P));
  map(as, STACK, TS - STACK, RW, FX | a::MAP_GROWSDOWN);
}

// A system call as data (rows compile much faster than one lambda per row),
// made through the engine's one system call table (vmseal::apply), as sim,
// predict and difftest make theirs. Arguments are raw 64-bit values; int
// parameters (fd, pkey, advice) take the low 32 bits, as the syscall ABI does.
using Sys = SyscallKind;  // short, for the rows
constexpr std::uint64_t u(std::int64_t v) { return static_cast<std::uint64_t>(v); }

struct Row {
  const char* what;  // the call, and the evidence
  Sys sys;
  std::array<std::uint64_t, 6> args;
  const char* want;
};

void run_rows(const std::vector<Row>& rows, bool privileged = false) {
  for (const Row& row : rows) {
    AddressSpace as(cfg(privileged));
    const std::string got = show(apply(as, Syscall{row.sys, row.args}).result);
    EXPECT_EQ(got, row.want) << row.what;
    EXPECT_TRUE(as.vmas().check_invariants()) << row.what;
  }
}

// ---------------------------------------------------------------------------
// mmap
// ---------------------------------------------------------------------------

TEST(EdgeMmap, Lengths) {
  run_rows({
      {"len 0 -> EINVAL [P][R 1.4]", Sys::Mmap, {0, 0, R, AN, u(-1), 0}, "EINVAL"},
      {"len 0 at unaligned FIXED 1: len checked first [P][R 1.10 N9]",
       Sys::Mmap,
       {1, 0, R, FX, u(-1), 0},
       "EINVAL"},
      {"len 2^64-1: PAGE_ALIGN wraps to 0 -> ENOMEM [P][R 1.6]",
       Sys::Mmap,
       {0, M, R, AN, u(-1), 0},
       "ENOMEM"},
      {"len 2^64-4095: PAGE_ALIGN wraps to 0 [P]",
       Sys::Mmap,
       {0, M - 4094, R, AN, u(-1), 0},
       "ENOMEM"},
      {"len 2^64-4096 > TASK_SIZE [P][R 1.18]", Sys::Mmap, {0, TOP, R, AN, u(-1), 0}, "ENOMEM"},
      {"len 2^63 [P]", Sys::Mmap, {0, A63, R, AN, u(-1), 0}, "ENOMEM"},
      {"len TASK_SIZE+1 [P]", Sys::Mmap, {0, TS + 1, R, AN, u(-1), 0}, "ENOMEM"},
      {"FIXED 4096 len TASK_SIZE: addr > TS-len [P]",
       Sys::Mmap,
       {P, TS, R, FX, u(-1), 0},
       "ENOMEM"},
      {"FIXED 0 len TASK_SIZE: fits, but address 0 needs CAP_SYS_RAWIO [P]",
       Sys::Mmap,
       {0, TS, R, FX, u(-1), 0},
       "EPERM"},
      {"FIXED 1 len 2^64-1: ENOMEM (align wrap) before EINVAL (unaligned) [P]",
       Sys::Mmap,
       {1, M, R, FX, u(-1), 0},
       "ENOMEM"},
      {"FIXED 2^64-4096 len 2^64-4096 [P]", Sys::Mmap, {TOP, TOP, R, FX, u(-1), 0}, "ENOMEM"},
      {"FIXED 2^64-1 len 2^64-1 [P]", Sys::Mmap, {M, M, R, FX, u(-1), 0}, "ENOMEM"},
      {"FIXED 2^64-1 len TASK_SIZE+1: len > TASK_SIZE first [P]",
       Sys::Mmap,
       {M, TS + 1, R, FX, u(-1), 0},
       "ENOMEM"},
      {"MAP_LOCKED len 2^64-4096 [P]",
       Sys::Mmap,
       {0, TOP, RW, AN | a::MAP_LOCKED, u(-1), 0},
       "ENOMEM"},
      {"MAP_SHARED anonymous len 2^64-1 [P]",
       Sys::Mmap,
       {0, M, RW, a::MAP_SHARED | a::MAP_ANONYMOUS, u(-1), 0},
       "ENOMEM"},
      {"MAP_32BIT len 2 GiB: no such gap in [1 GiB, 2 GiB) [P]",
       Sys::Mmap,
       {0, 0x80000000, RW, AN | a::MAP_32BIT, u(-1), 0},
       "ENOMEM"},
      {"MAP_32BIT len 2 GiB + 4096 > end [P]",
       Sys::Mmap,
       {0, 0x80001000, RW, AN | a::MAP_32BIT, u(-1), 0},
       "ENOMEM"},
  });
}

TEST(EdgeMmap, FixedAddresses) {
  run_rows({
      {"FIXED 0 unprivileged -> EPERM [P][R 0.3]", Sys::Mmap, {0, P, R, FX, u(-1), 0}, "EPERM"},
      {"FIXED 1 -> EINVAL [P][R 1.18]", Sys::Mmap, {1, P, R, FX, u(-1), 0}, "EINVAL"},
      {"FIXED 4095 -> EINVAL [P]", Sys::Mmap, {4095, P, R, FX, u(-1), 0}, "EINVAL"},
      {"FIXED 4096 = vm.mmap_min_addr: allowed [P][R 0.3]",
       Sys::Mmap,
       {P, P, R, FX, u(-1), 0},
       "0x1000"},
      {"FIXED TS-4096 len 4096: the last user page [P]",
       Sys::Mmap,
       {TS - P, P, R, FX, u(-1), 0},
       "0x7fffffffe000"},
      {"FIXED TS-4096 len 1 [P]", Sys::Mmap, {TS - P, 1, R, FX, u(-1), 0}, "0x7fffffffe000"},
      {"FIXED TS-4096 len 8192: ends past TS [P]",
       Sys::Mmap,
       {TS - P, 2 * P, R, FX, u(-1), 0},
       "ENOMEM"},
      {"FIXED TS [P]", Sys::Mmap, {TS, P, R, FX, u(-1), 0}, "ENOMEM"},
      {"FIXED 2^47 [P]", Sys::Mmap, {A47, P, R, FX, u(-1), 0}, "ENOMEM"},
      {"FIXED 2^63 [P]", Sys::Mmap, {A63, P, R, FX, u(-1), 0}, "ENOMEM"},
      {"FIXED 2^64-4096 [P]", Sys::Mmap, {TOP, P, R, FX, u(-1), 0}, "ENOMEM"},
      {"FIXED TS with type 0: placement error before the MAP_TYPE EINVAL [P][R 1.10]",
       Sys::Mmap,
       {TS, P, R, a::MAP_ANONYMOUS | a::MAP_FIXED, u(-1), 0},
       "ENOMEM"},
      {"FIXED|MAP_32BIT at TS: FIXED ignores MAP_32BIT, then ENOMEM [P]",
       Sys::Mmap,
       {TS, P, RW, FX | a::MAP_32BIT, u(-1), 0},
       "ENOMEM"},
      {"FIXED shared anonymous at TS [P]",
       Sys::Mmap,
       {TS, P, RW, a::MAP_SHARED | a::MAP_ANONYMOUS | a::MAP_FIXED, u(-1), 0},
       "ENOMEM"},
      {"FIXED|GROWSDOWN at TS-4096 [P]",
       Sys::Mmap,
       {TS - P, P, RW, FX | a::MAP_GROWSDOWN, u(-1), 0},
       "0x7fffffffe000"},
      {"FIXED_NOREPLACE 0 unprivileged [P]", Sys::Mmap, {0, P, R, NOREPLACE, u(-1), 0}, "EPERM"},
      {"FIXED_NOREPLACE 1 [P][R 1.11 N2]", Sys::Mmap, {1, P, R, NOREPLACE, u(-1), 0}, "EINVAL"},
      {"FIXED_NOREPLACE TS [P]", Sys::Mmap, {TS, P, R, NOREPLACE, u(-1), 0}, "ENOMEM"},
      {"FIXED 2^64-8 len 0: len 0 first [P]", Sys::Mmap, {M - 7, 0, R, FX, u(-1), 0}, "EINVAL"},
  });
}

TEST(EdgeMmap, FixedAddressesPrivileged) {
  run_rows(
      {
          {"FIXED 0 as root (CAP_SYS_RAWIO) [P][R 0.3]", Sys::Mmap, {0, P, R, FX, u(-1), 0}, "0x0"},
          {"FIXED_NOREPLACE 0 as root [P]", Sys::Mmap, {0, P, R, NOREPLACE, u(-1), 0}, "0x0"},
          {"FIXED 1 as root [P]", Sys::Mmap, {1, P, R, FX, u(-1), 0}, "EINVAL"},
      },
      /*privileged=*/true);
}

TEST(EdgeMmap, Hints) {
  // A hint is only a hint: round_hint_to_min() then the arch code [R 1.16, 1.17].
  struct Hint {
    const char* what;
    Addr hint;
  };
  for (const Hint& h :
       {Hint{"hint 2^64-1 [P]", M}, Hint{"hint 2^64-4096 [P]", TOP},
        Hint{"hint TASK_SIZE [P][R 1.17 H11]", TS}, Hint{"hint 2^63", A63},
        Hint{"hint 2^47 [R 1.17 H10]", A47}, Hint{"hint 1 [P]", 1}, Hint{"hint 4095 [P]", 4095}}) {
    AddressSpace as(cfg());
    const SysResult r = as.mmap(h.hint, P, R, AN, -1, 0);
    ASSERT_TRUE(r.is_ok()) << h.what << ": " << show(r);
    EXPECT_TRUE(page_aligned(r.value())) << h.what;
    EXPECT_GE(r.value(), as.config().mmap_min_addr) << h.what;
    EXPECT_LE(r.value(), TS - P) << h.what;
  }
  AddressSpace as(cfg());
  // A free hint that fits is used as is, up to the last page below TASK_SIZE.
  EXPECT_EQ(show(as.mmap(TS - P, P, R, AN, -1, 0)), "0x7fffffffe000")
      << "hint TS-4096 [P][R 1.17 H7]";
  // Below mmap_min_addr (65536, LSM default) a hint is raised to it.
  EXPECT_EQ(show(as.mmap(P, P, R, AN, -1, 0)), "0x10000") << "hint 4096 [P][R 1.16]";
  // MAP_32BIT with a wild hint still lands in [1 GiB, 2 GiB) [P].
  const SysResult r32 = as.mmap(M, P, RW, AN | a::MAP_32BIT, -1, 0);
  ASSERT_TRUE(r32.is_ok()) << show(r32);
  EXPECT_GE(r32.value(), 0x40000000u);
  EXPECT_LT(r32.value(), 0x80000000u);
}

TEST(EdgeMmap, OffsetFdFlagsProt) {
  run_rows({
      {"off 1 -> EINVAL [P][R 1.1]", Sys::Mmap, {0, P, R, AN, u(-1), 1}, "EINVAL"},
      {"off 2^64-1 with len 0: off checked first [P]",
       Sys::Mmap,
       {0, 0, R, AN, u(-1), M},
       "EINVAL"},
      {"no MAP_ANONYMOUS, fd -1 -> EBADF [P][R 1.2]",
       Sys::Mmap,
       {0, P, R, a::MAP_PRIVATE, u(-1), 0},
       "EBADF"},
      {"fd -1, len 0: EBADF before EINVAL [P]",
       Sys::Mmap,
       {0, 0, R, a::MAP_PRIVATE, u(-1), 0},
       "EBADF"},
      {"fd -1, len 2^64-1: EBADF before ENOMEM [P]",
       Sys::Mmap,
       {0, M, R, a::MAP_PRIVATE, u(-1), 0},
       "EBADF"},
      {"fd -1, off 1: EINVAL before EBADF [P][R 1.1]",
       Sys::Mmap,
       {0, P, R, a::MAP_PRIVATE, u(-1), 1},
       "EINVAL"},
      {"fd -1 FIXED at 2^64-1: EBADF first [P]",
       Sys::Mmap,
       {M, P, R, a::MAP_PRIVATE | a::MAP_FIXED, u(-1), 0},
       "EBADF"},
      {"type 0 -> EINVAL [P][R 1.14]", Sys::Mmap, {0, P, R, a::MAP_ANONYMOUS, u(-1), 0}, "EINVAL"},
      {"type 0xf -> EINVAL [P]", Sys::Mmap, {0, P, R, a::MAP_ANONYMOUS | 0xf, u(-1), 0}, "EINVAL"},
      {"MAP_SHARED_VALIDATE anonymous -> EINVAL [P][R 1.14]",
       Sys::Mmap,
       {0, P, R, a::MAP_ANONYMOUS | a::MAP_SHARED_VALIDATE, u(-1), 0},
       "EINVAL"},
      {"anonymous HUGETLB 4096: no huge pages reserved -> ENOMEM [P]",
       Sys::Mmap,
       {0, P, RW, AN | a::MAP_HUGETLB, u(-1), 0},
       "ENOMEM"},
  });
  // Accepted and ignored [P][R 1.9, 1.14]: unknown flag bits with MAP_PRIVATE,
  // any prot bits (prot is not validated by mmap), an aligned offset near 2^64
  // on anonymous memory (pgoff is replaced by addr >> 12) [R 1.7 M7].
  AddressSpace as(cfg());
  EXPECT_TRUE(as.mmap(0, P, R, AN | 0x800000 | (Addr{1} << 40), -1, 0).is_ok()) << "[P]";
  EXPECT_TRUE(as.mmap(0, P, M, AN, -1, 0).is_ok()) << "prot 2^64-1 [P]";
  EXPECT_TRUE(as.mmap(0, P, a::PROT_GROWSDOWN | a::PROT_GROWSUP | R, AN, -1, 0).is_ok()) << "[P]";
  EXPECT_TRUE(as.mmap(0, P, R, AN, -1, TOP).is_ok()) << "off 2^64-4096 [P]";
  EXPECT_TRUE(as.vmas().check_invariants());
}

// ---------------------------------------------------------------------------
// munmap
// ---------------------------------------------------------------------------

TEST(EdgeMunmap, Arguments) {
  // do_vmi_munmap(): unaligned, start > TASK_SIZE, len > TASK_SIZE - start, or
  // PAGE_ALIGN(len) == 0 -> EINVAL; nothing mapped -> 0 [N 2.2].
  run_rows({
      {"(0, 0) [P]", Sys::Munmap, {0, 0}, "EINVAL"},
      {"(4096, 0) [P]", Sys::Munmap, {P, 0}, "EINVAL"},
      {"(1, 4096) [P]", Sys::Munmap, {1, P}, "EINVAL"},
      {"(4095, 4096) [P]", Sys::Munmap, {4095, P}, "EINVAL"},
      {"(0, 4096) unmapped [P]", Sys::Munmap, {0, P}, "0x0"},
      {"(4096, 4096) unmapped [P]", Sys::Munmap, {P, P}, "0x0"},
      {"(TS-4096, 4096) [P]", Sys::Munmap, {TS - P, P}, "0x0"},
      {"(TS-4096, 4095) [P]", Sys::Munmap, {TS - P, 4095}, "0x0"},
      {"(TS-4096, 4097): len > TS - start [P]", Sys::Munmap, {TS - P, P + 1}, "EINVAL"},
      {"(TS, 0) [P]", Sys::Munmap, {TS, 0}, "EINVAL"},
      {"(TS, 1) [P]", Sys::Munmap, {TS, 1}, "EINVAL"},
      {"(2^47, 4096): start > TS [P]", Sys::Munmap, {A47, P}, "EINVAL"},
      {"(2^63, 4096) [P]", Sys::Munmap, {A63, P}, "EINVAL"},
      {"(2^64-4096, 4096): start+len wraps [P]", Sys::Munmap, {TOP, P}, "EINVAL"},
      {"(2^64-1, 1) [P]", Sys::Munmap, {M, 1}, "EINVAL"},
      {"(4096, 2^64-1): len > TS [P]", Sys::Munmap, {P, M}, "EINVAL"},
      {"(4096, 2^64-4096) [P]", Sys::Munmap, {P, TOP}, "EINVAL"},
      {"(0, TS+1) [P]", Sys::Munmap, {0, TS + 1}, "EINVAL"},
      {"(4096, TS) [P]", Sys::Munmap, {P, TS}, "EINVAL"},
  });
}

TEST(EdgeMunmap, WholeUserRange) {
  // munmap(0, TASK_SIZE) is valid and removes everything (the probe process
  // died of SIGSEGV on return, its code gone: consistent with success) [R].
  AddressSpace as(cfg(true));
  map(as, 0, P);
  map(as, BASE, 4 * P);
  map(as, TS - P, P);
  EXPECT_EQ(show(as.munmap(0, TS)), "0x0");
  EXPECT_EQ(as.map_count(), 0u);
  EXPECT_EQ(as.counters().total_vm, 0u);
}

// ---------------------------------------------------------------------------
// mprotect / pkey_mprotect
// ---------------------------------------------------------------------------

TEST(EdgeMprotect, Arguments) {
  // Order [N 2.2]: GROWSDOWN|GROWSUP, alignment, len 0 -> 0, end <= start ->
  // ENOMEM, prot bits, then the lookup (ENOMEM when start is unmapped).
  run_rows({
      {"(0, 0, bad prot): len 0 returns before the prot check [P]",
       Sys::Mprotect,
       {0, 0, 0xdead0},
       "0x0"},
      {"(1, 0) [P]", Sys::Mprotect, {1, 0, R}, "EINVAL"},
      {"(1, 0, GROWSDOWN|GROWSUP) [P]",
       Sys::Mprotect,
       {1, 0, a::PROT_GROWSDOWN | a::PROT_GROWSUP},
       "EINVAL"},
      {"(0, 4096, 0x10) bad prot [P]", Sys::Mprotect, {0, P, 0x10}, "EINVAL"},
      {"(4096, 2^64-1): PAGE_ALIGN -> 0, end <= start [P]", Sys::Mprotect, {P, M, R}, "ENOMEM"},
      {"(4096, 2^64-1, bad prot): the wrap wins over the prot check [P]",
       Sys::Mprotect,
       {P, M, 0x10},
       "ENOMEM"},
      {"(4096, 2^64-4096): end wraps to 0 [P]", Sys::Mprotect, {P, TOP, R}, "ENOMEM"},
      {"(4096, 2^64-4096, bad prot) [P]", Sys::Mprotect, {P, TOP, 0x10}, "ENOMEM"},
      {"(2^64-4096, 4096): end == 0 [P]", Sys::Mprotect, {TOP, P, R}, "ENOMEM"},
      {"(2^64-4096, 1, bad prot) [P]", Sys::Mprotect, {TOP, 1, 0x10}, "ENOMEM"},
      {"(2^64-8192, 4096): no VMA [P]", Sys::Mprotect, {TOP - P, P, R}, "ENOMEM"},
      {"(2^63, 2^63): end == 0 [P]", Sys::Mprotect, {A63, A63, R}, "ENOMEM"},
      {"(TS, 4096): no TASK_SIZE check, just no VMA [P]", Sys::Mprotect, {TS, P, R}, "ENOMEM"},
      {"(TS-4096, 4096) [P]", Sys::Mprotect, {TS - P, P, R}, "ENOMEM"},
      {"(0, 4096) [P]", Sys::Mprotect, {0, P, R}, "ENOMEM"},
      {"(0, TS) [P]", Sys::Mprotect, {0, TS, R}, "ENOMEM"},
      {"PROT_SEM is a valid bit [P]", Sys::Mprotect, {TS, P, a::PROT_SEM}, "ENOMEM"},
      {"PROT_GROWSDOWN, unmapped [P]", Sys::Mprotect, {TS, P, a::PROT_GROWSDOWN | R}, "ENOMEM"},
  });
}

TEST(EdgeMprotect, Mapped) {
  AddressSpace as(cfg());
  map(as, BASE, 2 * P);
  EXPECT_EQ(show(as.mprotect(BASE, P, a::PROT_GROWSUP | R)), "EINVAL")
      << "GROWSUP: x86 has no VM_GROWSUP [P]";
  EXPECT_EQ(show(as.mprotect(BASE, P, a::PROT_GROWSDOWN | R)), "EINVAL")
      << "GROWSDOWN on a VMA without VM_GROWSDOWN [P]";
  EXPECT_EQ(show(as.mprotect(BASE, M, RW)), "ENOMEM") << "len 2^64-1 wraps [P]";
  EXPECT_EQ(show(as.mprotect(BASE, 3 * P, RW)), "ENOMEM")
      << "range runs into the hole after the VMA [P]";
  EXPECT_EQ(show(as.mprotect(BASE, P, (Addr{1} << 32) | R)), "EINVAL")
      << "prot is 64-bit: bit 32 is an invalid bit [P]";
  EXPECT_EQ(show(as.mprotect(BASE, P + 1, RW)), "0x0") << "len 4097 covers 2 pages [P]";
  EXPECT_EQ(as.map_count(), 1u);
  EXPECT_TRUE(as.vmas().check_invariants());
}

TEST(EdgePkeyMprotect, NoPku) {
  // Without PKU no pkey is allocated, not even 0: EINVAL (after the prot
  // check, before the VMA lookup); -1 means "keep the key" [P].
  run_rows({
      {"(0, 0, pkey 5): len 0 first [P]", Sys::PkeyMprotect, {0, 0, R, 5}, "0x0"},
      {"(TS, 4096, pkey 0): not allocated, before ENOMEM [P]",
       Sys::PkeyMprotect,
       {TS, P, R, 0},
       "EINVAL"},
      {"(TS, 4096, pkey -1) [P]", Sys::PkeyMprotect, {TS, P, R, u(-1)}, "ENOMEM"},
      {"(TS, 4096, pkey -2) [P]", Sys::PkeyMprotect, {TS, P, R, u(-2)}, "EINVAL"},
      {"pkey INT_MIN", Sys::PkeyMprotect, {TS, P, R, u(INT_MIN)}, "EINVAL"},
      {"pkey INT_MAX", Sys::PkeyMprotect, {TS, P, R, u(INT_MAX)}, "EINVAL"},
      {"(TS, 4096, bad prot, pkey 0) [P]", Sys::PkeyMprotect, {TS, P, 0x10, 0}, "EINVAL"},
      {"(2^64-4096, 4096, pkey 0): the wrap ENOMEM comes before the pkey [P]",
       Sys::PkeyMprotect,
       {TOP, P, R, 0},
       "ENOMEM"},
  });
  AddressSpace as(cfg());
  map(as, BASE, 2 * P);
  EXPECT_EQ(show(as.pkey_mprotect(BASE, P, RW, 0)), "EINVAL") << "[P]";
  // The pkey argument is an int: a register value 0x7_ffffffff is pkey -1 [P].
  EXPECT_EQ(show(as.pkey_mprotect(BASE, P, RW, -1)), "0x0") << "[P]";
}

// ---------------------------------------------------------------------------
// madvise
// ---------------------------------------------------------------------------

TEST(EdgeMadvise, Arguments) {
  // is_valid_madvise() [R 3.1]: advice, alignment, PAGE_ALIGN(len) == 0 with
  // len != 0, start+len < start -> EINVAL; then len 0 -> 0; gaps -> ENOMEM.
  run_rows({
      {"(0, 0, NORMAL) [P]", Sys::Madvise, {0, 0, a::MADV_NORMAL}, "0x0"},
      {"(0, 0, 5) invalid advice even with len 0 [P]", Sys::Madvise, {0, 0, 5}, "EINVAL"},
      {"(1, 0) unaligned [P]", Sys::Madvise, {1, 0, a::MADV_NORMAL}, "EINVAL"},
      {"(4096, 2^64-1): len rounds to 0 [P]", Sys::Madvise, {P, M, a::MADV_NORMAL}, "EINVAL"},
      {"(4096, 2^64-4096): end == 0 < start [P]", Sys::Madvise, {P, TOP, a::MADV_NORMAL}, "EINVAL"},
      {"(2^64-4096, 4096) [P]", Sys::Madvise, {TOP, P, a::MADV_NORMAL}, "EINVAL"},
      {"(2^64-4096, 1) [P]", Sys::Madvise, {TOP, 1, a::MADV_NORMAL}, "EINVAL"},
      {"(2^64-8192, 4096): no wrap, no VMA [P][R 3.3]",
       Sys::Madvise,
       {TOP - P, P, a::MADV_NORMAL},
       "ENOMEM"},
      {"(TS, 4096) [P]", Sys::Madvise, {TS, P, a::MADV_NORMAL}, "ENOMEM"},
      {"(2^63, 4096, DONTNEED) [P]", Sys::Madvise, {A63, P, a::MADV_DONTNEED}, "ENOMEM"},
      {"(2^63, 2^63): end == 0 [P]", Sys::Madvise, {A63, A63, a::MADV_NORMAL}, "EINVAL"},
      {"advice -1 [P]", Sys::Madvise, {TS, P, u(-1)}, "EINVAL"},
      {"advice 7 [P]", Sys::Madvise, {TS, P, 7}, "EINVAL"},
      {"advice 26 [P]", Sys::Madvise, {TS, P, 26}, "EINVAL"},
      {"HWPOISON: no CONFIG_MEMORY_FAILURE [P][R 3.1]",
       Sys::Madvise,
       {TS, P, a::MADV_HWPOISON},
       "EINVAL"},
      {"SOFT_OFFLINE [P]", Sys::Madvise, {TS, P, a::MADV_SOFT_OFFLINE}, "EINVAL"},
      {"advice 104 [P]", Sys::Madvise, {TS, P, 104}, "EINVAL"},
      {"advice INT_MIN", Sys::Madvise, {TS, P, u(INT_MIN)}, "EINVAL"},
      {"POPULATE_WRITE unmapped [P][R 3.3]",
       Sys::Madvise,
       {TS, P, a::MADV_POPULATE_WRITE},
       "ENOMEM"},
      {"COLLAPSE unmapped [P]", Sys::Madvise, {TS, P, a::MADV_COLLAPSE}, "ENOMEM"},
      {"GUARD_INSTALL unmapped [P]", Sys::Madvise, {TS, P, a::MADV_GUARD_INSTALL}, "ENOMEM"},
  });
  AddressSpace as(cfg());
  map(as, BASE, 2 * P);
  EXPECT_EQ(show(as.madvise(BASE, 3 * P, a::MADV_MERGEABLE)), "ENOMEM")
      << "a gap at the end: the VMA is advised, ENOMEM returned [P][R 3.4]";
  EXPECT_EQ(show(as.madvise(BASE, M, a::MADV_MERGEABLE)), "EINVAL") << "[P]";
  // The advice argument is an int (the engine takes an int too): the probe's
  // register value 2^32|12 acted as MADV_MERGEABLE.
  EXPECT_EQ(show(as.madvise(BASE, P, a::MADV_MERGEABLE)), "0x0") << "[P]";
  EXPECT_TRUE(as.vmas().check_invariants());
}

// ---------------------------------------------------------------------------
// mlock / mlock2 / munlock / mlockall
// ---------------------------------------------------------------------------

TEST(EdgeMlock, Arguments) {
  // do_mlock(): len = PAGE_ALIGN(len + offset_in_page(start)), start rounded
  // down; the RLIMIT_MEMLOCK check (ENOMEM) precedes apply_vma_lock_flags(),
  // which gives EINVAL for end < start, 0 for end == start, ENOMEM for a hole
  // [R 4.2-4.5].
  run_rows({
      {"(0, 0) [P][R 4.5 K4]", Sys::Mlock, {0, 0}, "0x0"},
      {"(1, 0): covers page 0, unmapped [P]", Sys::Mlock, {1, 0}, "ENOMEM"},
      {"(0, 2^64-1): PAGE_ALIGN wraps to 0 -> nothing to do [P]", Sys::Mlock, {0, M}, "0x0"},
      {"(1, 2^64-1): len+offset wraps to 0 [P]", Sys::Mlock, {1, M}, "0x0"},
      {"(4096, 2^64-1) [P]", Sys::Mlock, {P, M}, "0x0"},
      {"(0, 2^64-4096): over RLIMIT_MEMLOCK [P][R 4.4]", Sys::Mlock, {0, TOP}, "ENOMEM"},
      {"(2^64-4096, 4096): end wraps [P]", Sys::Mlock, {TOP, P}, "EINVAL"},
      {"(2^64-4096, 1) [P]", Sys::Mlock, {TOP, 1}, "EINVAL"},
      {"(2^64-1, 1) [P]", Sys::Mlock, {M, 1}, "EINVAL"},
      {"(2^64-1, 0): the offset makes it one page [P]", Sys::Mlock, {M, 0}, "EINVAL"},
      {"(TS, 4096) [P]", Sys::Mlock, {TS, P}, "ENOMEM"},
      {"(2^63, 4096) [P]", Sys::Mlock, {A63, P}, "ENOMEM"},
      {"(2^63, 2^63) unprivileged: the limit first [P]", Sys::Mlock, {A63, A63}, "ENOMEM"},
      {"(TS-4096, 8192) [P]", Sys::Mlock, {TS - P, 2 * P}, "ENOMEM"},
  });
  run_rows(
      {
          {"(2^63, 2^63) as root: no limit, end wraps [P]", Sys::Mlock, {A63, A63}, "EINVAL"},
          {"(0, 2^64-4096) as root: no VMA at 0 [R 4.5]", Sys::Mlock, {0, TOP}, "ENOMEM"},
      },
      /*privileged=*/true);
}

TEST(EdgeMlock, Mapped) {
  for (bool root : {false, true}) {
    AddressSpace as(cfg(root));
    map(as, BASE, 2 * P, RW);
    EXPECT_EQ(show(as.mlock(BASE, M - BASE + 1)), root ? "EINVAL" : "ENOMEM")
        << "end == 2^64: limit (user) / wrap (root) [P]";
    EXPECT_EQ(show(as.mlock(BASE, 3 * P)), "ENOMEM") << "hole after the VMA [P]";
    EXPECT_EQ(show(as.mlock(BASE + 5, 10)), "0x0") << "unaligned start and len [P][R 4.2]";
    EXPECT_TRUE(as.vmas().check_invariants());
  }
  AddressSpace as(cfg());
  map(as, BASE, 2 * P, a::PROT_NONE);
  EXPECT_EQ(show(as.mlock(BASE, P)), "ENOMEM") << "PROT_NONE cannot be populated [P][R 4.7]";
}

TEST(EdgeMlock2, Arguments) {
  run_rows({
      {"flags 2 [P][R 4.1]", Sys::Mlock2, {0, 0, 2}, "EINVAL"},
      {"flags 0xffffffff (int -1) [P]", Sys::Mlock2, {0, 0, 0xffffffffULL}, "EINVAL"},
      {"(2^64-4096, 4096, ONFAULT) [P]", Sys::Mlock2, {TOP, P, a::MLOCK_ONFAULT}, "EINVAL"},
      {"(0, 2^64-1, ONFAULT) [P]", Sys::Mlock2, {0, M, a::MLOCK_ONFAULT}, "0x0"},
      {"(TS, 4096, ONFAULT) [P]", Sys::Mlock2, {TS, P, a::MLOCK_ONFAULT}, "ENOMEM"},
  });
}

TEST(EdgeMunlock, Arguments) {
  run_rows({
      {"(0, 0) [P]", Sys::Munlock, {0, 0}, "0x0"},
      {"(2^64-1, 0): one page at the top, end wraps [P]", Sys::Munlock, {M, 0}, "EINVAL"},
      {"(0, 2^64-1): len wraps to 0 [P]", Sys::Munlock, {0, M}, "0x0"},
      {"(4096, 2^64-1) [P]", Sys::Munlock, {P, M}, "0x0"},
      {"(2^64-4096, 4096) [P]", Sys::Munlock, {TOP, P}, "EINVAL"},
      {"(2^64-1, 2) [P]", Sys::Munlock, {M, 2}, "EINVAL"},
      {"(TS, 4096) [P]", Sys::Munlock, {TS, P}, "ENOMEM"},
      {"(0, 2^64-4096): no limit check in munlock, no VMA at 0 [P]",
       Sys::Munlock,
       {0, TOP},
       "ENOMEM"},
      {"(1, 4096) [P]", Sys::Munlock, {1, P}, "ENOMEM"},
  });
}

TEST(EdgeMlockall, Flags) {
  run_rows({
      {"0 [P][R 4.9]", Sys::Mlockall, {0}, "EINVAL"},
      {"MCL_ONFAULT alone [P]", Sys::Mlockall, {a::MCL_ONFAULT}, "EINVAL"},
      {"8 [P]", Sys::Mlockall, {8}, "EINVAL"},
      {"0xffffffff (int -1) [P]", Sys::Mlockall, {0xffffffffULL}, "EINVAL"},
      {"MCL_FUTURE [P]", Sys::Mlockall, {a::MCL_FUTURE}, "0x0"},
      {"MCL_FUTURE|MCL_ONFAULT [P]", Sys::Mlockall, {a::MCL_FUTURE | a::MCL_ONFAULT}, "0x0"},
      {"munlockall [P]", Sys::Munlockall, {}, "0x0"},
  });
}

// ---------------------------------------------------------------------------
// mseal
// ---------------------------------------------------------------------------

TEST(EdgeMseal, Arguments) {
  // do_mseal() [N 1.2]: flags, alignment, PAGE_ALIGN(len) == 0 with len != 0,
  // end < start (end == 2^64 wraps to 0) -> EINVAL; len 0 -> 0; any hole -> ENOMEM.
  run_rows({
      {"(0, 0, 0) [P]", Sys::Mseal, {0, 0, 0}, "0x0"},
      {"flags 1 [P]", Sys::Mseal, {0, 0, 1}, "EINVAL"},
      {"flags 2^63 [P]", Sys::Mseal, {0, 0, A63}, "EINVAL"},
      {"(1, 0) [P]", Sys::Mseal, {1, 0, 0}, "EINVAL"},
      {"(2^64-1, 0) [P]", Sys::Mseal, {M, 0, 0}, "EINVAL"},
      {"(2^64-4096, 0) [P]", Sys::Mseal, {TOP, 0, 0}, "0x0"},
      {"(4096, 2^64-1): len rounds to 0 [P]", Sys::Mseal, {P, M, 0}, "EINVAL"},
      {"(4096, 2^64-4095) [P]", Sys::Mseal, {P, M - 4094, 0}, "EINVAL"},
      {"(4096, 2^64-4096): end == 0 [P]", Sys::Mseal, {P, TOP, 0}, "EINVAL"},
      {"(4096, 2^64-8192): end 2^64-4096, unmapped [P]", Sys::Mseal, {P, TOP - P, 0}, "ENOMEM"},
      {"(2^64-4096, 4096) [P]", Sys::Mseal, {TOP, P, 0}, "EINVAL"},
      {"(2^64-4096, 1) [P]", Sys::Mseal, {TOP, 1, 0}, "EINVAL"},
      {"(2^64-8192, 4096) [P]", Sys::Mseal, {TOP - P, P, 0}, "ENOMEM"},
      {"(2^63, 2^63) [P]", Sys::Mseal, {A63, A63, 0}, "EINVAL"},
      {"(2^63, 4096) [P]", Sys::Mseal, {A63, P, 0}, "ENOMEM"},
      {"(4096, 2^63) [P][N 1.2 A4c]", Sys::Mseal, {P, A63, 0}, "ENOMEM"},
      {"(TS, 4096) [P]", Sys::Mseal, {TS, P, 0}, "ENOMEM"},
      {"(TS-4096, 4096) [P]", Sys::Mseal, {TS - P, P, 0}, "ENOMEM"},
      {"(0, 4096) [P]", Sys::Mseal, {0, P, 0}, "ENOMEM"},
  });
  AddressSpace as(cfg());
  map(as, BASE, 2 * P);
  EXPECT_EQ(show(as.mseal(BASE, 3 * P, 0)), "ENOMEM") << "hole at the end, nothing sealed [P]";
  EXPECT_FALSE(as.vmas().find(BASE)->sealed());
  EXPECT_EQ(show(as.mseal(BASE, P + 1, 0)), "0x0") << "len 4097 seals 2 pages [P][N 1.2 A5]";
  EXPECT_TRUE(as.vmas().find(BASE + P)->sealed());
  // The last page below TASK_SIZE can be sealed, and then not unmapped.
  map(as, TS - P, P);
  EXPECT_EQ(show(as.mseal(TS - P, P, 0)), "0x0");
  EXPECT_EQ(show(as.munmap(TS - P, P)), "EPERM");
  EXPECT_TRUE(as.vmas().check_invariants());
}

// ---------------------------------------------------------------------------
// mremap
// ---------------------------------------------------------------------------

TEST(EdgeMremap, Parameters) {
  // check_mremap_params() [R 2.1-2.11], before any lookup; then EFAULT when
  // no VMA contains addr [R 2.12].
  run_rows({
      {"flags 8 [P][R 2.1]", Sys::Mremap, {1, 0, 0, 8, 0}, "EINVAL"},
      {"flags 2^63 [P]", Sys::Mremap, {1, 0, 0, A63, 0}, "EINVAL"},
      {"addr 1 [P][R 2.2]", Sys::Mremap, {1, P, P, 0, 0}, "EINVAL"},
      {"addr 4095, new_len 0 [P]", Sys::Mremap, {4095, P, 0, 0, 0}, "EINVAL"},
      {"new_len 0 [P][R 2.3]", Sys::Mremap, {TS, P, 0, 0, 0}, "EINVAL"},
      {"new_len 2^64-1 rounds to 0 [P][R 2.3]", Sys::Mremap, {TS, P, M, 0, 0}, "EINVAL"},
      {"new_len 2^64-4096 > TS [P][R 2.4]", Sys::Mremap, {TS, P, TOP, 0, 0}, "EINVAL"},
      {"new_len TS+1 [P]", Sys::Mremap, {TS, P, TS + 1, 0, 0}, "EINVAL"},
      {"new_len TS: allowed, then no VMA [P][R 2.4 A5b]", Sys::Mremap, {TS, P, TS, 0, 0}, "EFAULT"},
      {"new_len 2^63 [P]", Sys::Mremap, {0, P, A63, MOVE, 0}, "EINVAL"},
      {"old_len 2^64-1 rounds to 0, at 2^64-4096 [P][R 2.A]",
       Sys::Mremap,
       {TOP, M, P, 0, 0},
       "EFAULT"},
      {"(2^64-4096, 4096, 4096) [P]", Sys::Mremap, {TOP, P, P, 0, 0}, "EFAULT"},
      {"(2^64-4096, 4096, 4096, FIXED): old range wraps to 0, no overlap, no VMA [P]",
       Sys::Mremap,
       {TOP, P, P, MFIX, BASE},
       "EFAULT"},
      {"(2^64-4096, 4096, 8192, FIXED) [P]", Sys::Mremap, {TOP, P, 2 * P, MFIX, BASE}, "EFAULT"},
      {"(2^63, 4096, 4096, MAYMOVE) [P]", Sys::Mremap, {A63, P, P, MOVE, 0}, "EFAULT"},
      {"(0, 0, 4096, MAYMOVE) [P]", Sys::Mremap, {0, 0, P, MOVE, 0}, "EFAULT"},
      {"FIXED without MAYMOVE [P][R 2.8]",
       Sys::Mremap,
       {TS, P, P, a::MREMAP_FIXED, BASE},
       "EINVAL"},
      {"DONTUNMAP without MAYMOVE [P]",
       Sys::Mremap,
       {TS, P, P, a::MREMAP_DONTUNMAP, BASE},
       "EINVAL"},
      {"new_addr TS [P][R 2.6 A10]", Sys::Mremap, {BASE, P, P, MFIX, TS}, "EINVAL"},
      {"new_addr TS-4096: allowed, then no VMA [P][R 2.6 A10b]",
       Sys::Mremap,
       {BASE, P, P, MFIX, TS - P},
       "EFAULT"},
      {"new_addr TS-4096, new_len 8192 [P]", Sys::Mremap, {BASE, P, 2 * P, MFIX, TS - P}, "EINVAL"},
      {"new_addr 2^64-1 [P]", Sys::Mremap, {BASE, P, P, MFIX, M}, "EINVAL"},
      {"new_addr 2^64-4096 [P]", Sys::Mremap, {BASE, P, P, MFIX, TOP}, "EINVAL"},
      {"new_addr 1 [P][R 2.7]", Sys::Mremap, {BASE, P, P, MFIX, 1}, "EINVAL"},
      {"new_addr 0, source unmapped [P]", Sys::Mremap, {TS, P, P, MFIX, 0}, "EFAULT"},
      {"overlapping FIXED [P][R 2.10]",
       Sys::Mremap,
       {BASE, 2 * P, 2 * P, MFIX, BASE + P},
       "EINVAL"},
      {"old_len 2^64-1 -> 0 at 2^64-4096, FIXED [P]",
       Sys::Mremap,
       {TOP, M, P, MFIX, BASE},
       "EFAULT"},
      {"DONTUNMAP resizing [P][R 2.9]", Sys::Mremap, {BASE, P, 2 * P, MDU, TS - 4 * P}, "EINVAL"},
      {"DONTUNMAP hint unaligned [P][R 2.7]", Sys::Mremap, {BASE, P, P, MDU, 1}, "EINVAL"},
      {"MAYMOVE ignores new_addr 2^64-1 [P][R 2.5]", Sys::Mremap, {TS, P, P, MOVE, M}, "EFAULT"},
  });
}

TEST(EdgeMremap, Mapped) {
  AddressSpace as(cfg());
  map(as, BASE, 2 * P, RW);
  EXPECT_EQ(show(as.mremap(BASE, P, A63, MOVE, 0)), "EINVAL") << "grow to 2^63 [P]";
  EXPECT_EQ(show(as.mremap(BASE, 3 * P, 4 * P, MOVE, 0)), "EFAULT")
      << "old range past the VMA end [P][R 2.16]";
  EXPECT_EQ(show(as.mremap(BASE, M, P, MOVE, 0)), "EINVAL")
      << "old_len 2^64-1 -> 0 on a private VMA [P][R 2.16]";
  EXPECT_EQ(show(as.mremap(BASE, 5 * P, 5 * P, 0, 0)), hex(BASE))
      << "no-op across the hole: no range check [P][R 2.15]";
  EXPECT_EQ(show(as.mremap(BASE, 3 * P, P, 0, 0)), hex(BASE))
      << "shrink across the hole [P][R 2.15]";
  EXPECT_EQ(as.map_count(), 1u);
  EXPECT_EQ(as.vmas().first()->end, BASE + P);
  EXPECT_EQ(show(as.mremap(BASE, P, P, MFIX, 0)), "EPERM") << "FIXED to address 0 unprivileged [P]";
  EXPECT_TRUE(as.vmas().check_invariants());

  AddressSpace root(cfg(true));
  map(root, BASE, 2 * P, RW);
  EXPECT_EQ(show(root.mremap(BASE, P, P, MFIX, 0)), "0x0") << "FIXED to address 0 as root [P]";
  EXPECT_TRUE(root.vmas().check_invariants());
}

TEST(EdgeMremap, AtTaskSize) {
  {
    AddressSpace as(cfg());
    map(as, TS - 2 * P, P, RW);
    EXPECT_EQ(show(as.mremap(TS - 2 * P, P, 2 * P, 0, 0)), "0x7fffffffd000")
        << "grow in place up to TASK_SIZE exactly [P]";
    EXPECT_EQ(as.vmas().find(TS - P)->start, TS - 2 * P);
  }
  {
    AddressSpace as(cfg());
    map(as, TS - 2 * P, P, RW);
    EXPECT_EQ(show(as.mremap(TS - 2 * P, P, 3 * P, 0, 0)), "ENOMEM")
        << "cannot grow past TASK_SIZE in place [P]";
    const SysResult r = as.mremap(TS - 2 * P, P, 3 * P, MOVE, 0);
    ASSERT_TRUE(r.is_ok()) << "MAYMOVE moves it [P]: " << show(r);
    EXPECT_NE(r.value(), TS - 2 * P);
    EXPECT_LE(r.value() + 3 * P, TS);
    EXPECT_TRUE(as.vmas().check_invariants());
  }
}

TEST(EdgeMremap, ShrinkUnmapIsValidated) {
  // A plain shrink unmaps [addr+new_len, addr+old_len) with do_vmi_munmap(),
  // whose argument checks apply: start > TASK_SIZE or len > TASK_SIZE - start
  // -> EINVAL. Probed: the old range running past TASK_SIZE gives EINVAL.
  struct Case {
    const char* what;
    Addr addr;
    std::uint64_t vma_len;
    std::uint64_t old_len;
    std::uint64_t flags;
  };
  const Case cases[] = {
      {"mremap(TS-4096, 8192, 4096, 0)", TS - P, P, 2 * P, 0},
      {"mremap(TS-8192, 12288, 4096, 0)", TS - 2 * P, 2 * P, 3 * P, 0},
      {"mremap(TS-4096, 2^64-(TS-4096), 4096, 0): old range ends at 2^64", TS - P, P, 0 - (TS - P),
       0},
      {"mremap(TS-4096, 2^64-(TS-4096), 4096, MAYMOVE|FIXED, BASE)", TS - P, P, 0 - (TS - P), MFIX},
      {"mremap(TS-4096, 8192, 4096, MAYMOVE|FIXED, BASE)", TS - P, P, 2 * P, MFIX},
  };
  for (const Case& c : cases) {
    AddressSpace as(cfg());
    map(as, c.addr, c.vma_len, RW);
    const std::string engine = show(as.mremap(c.addr, c.old_len, P, c.flags, BASE));
    EXPECT_EQ(engine, "EINVAL") << "ENGINE/KERNEL DISAGREEMENT: " << c.what
                                << ": kernel returns EINVAL (probed), engine returns " << engine;
    EXPECT_TRUE(as.vmas().check_invariants());
  }
}

TEST(EdgeMremap, FixedShrinkMayCrossVmaEnd) {
  // check_prep_vma(): "We permit crossing of boundaries for the range being
  // unmapped due to a shrink": for a SHRINK the EFAULT test is
  // new_len > vm_end - addr, not old_len. Probed: a FIXED shrink 4 -> 1 page
  // over [0-2 rw][2-4 r] (or [0-2 rw][hole]) moves page 0 to the target.
  // (docs/kernel-rules.md 2.16 step 3 says "no shrink exemption"; its probe B5
  // shrank 6 -> 5 pages over a 4-page VMA, which is EFAULT either way.)
  // The engine agreed with the docs when this test was written; it has since
  // been fixed, so this and ShrinkUnmapIsValidated are regression tests now.
  for (bool hole : {false, true}) {
    AddressSpace as(cfg());
    map(as, BASE, 2 * P, RW);
    if (!hole) map(as, BASE + 2 * P, 2 * P, R);
    const std::string engine = show(as.mremap(BASE, 4 * P, P, MFIX, BASE + 100 * P));
    EXPECT_EQ(engine, hex(BASE + 100 * P))
        << "ENGINE/KERNEL DISAGREEMENT: mremap(BASE, 4 pages, 1 page, MAYMOVE|FIXED, BASE+100 "
           "pages) over "
        << (hole ? "[0-2 rw][hole]" : "[0-2 rw][2-4 r]")
        << ": kernel returns BASE+100 pages (probed), engine returns " << engine;
    EXPECT_TRUE(as.vmas().check_invariants());
  }
  // 6 -> 5 over a 4-page VMA stays EFAULT (docs B5).
  AddressSpace as(cfg());
  map(as, BASE, 4 * P, RW);
  map(as, BASE + 4 * P, 4 * P, R);
  EXPECT_EQ(show(as.mremap(BASE, 6 * P, 5 * P, MFIX, BASE + 100 * P)), "EFAULT") << "[R 2.16 B5]";
}

// ---------------------------------------------------------------------------
// brk
// ---------------------------------------------------------------------------

TEST(EdgeBrk, Values) {
  // Every failure is silent: the old break is returned [R 5.1]. The probe
  // compared each result with the current break in a real process.
  struct Case {
    const char* what;
    Addr value;
    bool grows;
  };
  for (const Case& c :
       {Case{"brk(0) [P][R 5.2]", 0, false}, Case{"brk(1) below start [P]", 1, false},
        Case{"brk(2^64-1): PAGE_ALIGN wraps to 0 [P]", M, false},
        Case{"brk(2^64-4096) [P]", TOP, false},
        Case{"brk(2^64-4095): PAGE_ALIGN wraps [P]", TOP + 1, false},
        Case{"brk(2^63) [P]", A63, false}, Case{"brk(TS): runs into [stack] [P][R 5.6]", TS, false},
        Case{"brk(2^47) [R 5.6]", A47, false},
        Case{"brk(cur+1) stores the exact value [P][R 5.3]", HEAP + 3 * P + 1, true}}) {
    AddressSpace as(cfg());
    process_layout(as);
    const Addr cur = as.brk_value();
    const std::size_t count = as.map_count();
    const SysResult r = as.brk(c.value);
    ASSERT_TRUE(r.is_ok()) << c.what;
    EXPECT_EQ(hex(r.value()), hex(c.grows ? c.value : cur)) << c.what;
    EXPECT_EQ(as.map_count(), count) << c.what;
    EXPECT_TRUE(as.vmas().check_invariants()) << c.what;
  }
}

// ---------------------------------------------------------------------------
// shmat / shmdt
// ---------------------------------------------------------------------------

TEST(EdgeShm, Attach) {
  struct Case {
    const char* what;
    Addr addr;
    std::uint64_t flg;
    const char* user;
    const char* root;
  };
  const Case cases[] = {
      {"addr 1 [P]", 1, 0, "EINVAL", "EINVAL"},
      {"addr 1, SHM_RND -> 0 with MAP_FIXED [P]", 1, a::SHM_RND, "EPERM", "0x0"},
      {"addr 1, SHM_RND|SHM_REMAP: rounds to 0 [P]", 1, a::SHM_RND | a::SHM_REMAP, "EINVAL",
       "EINVAL"},
      {"addr 0, SHM_REMAP [P]", 0, a::SHM_REMAP, "EINVAL", "EINVAL"},
      {"addr 4096 [P]", P, 0, "0x1000", "0x1000"},
      {"addr TS [P]", TS, 0, "ENOMEM", "ENOMEM"},
      {"addr TS-4096 [P]", TS - P, 0, "0x7fffffffe000", "0x7fffffffe000"},
      {"addr 2^64-4096: addr+size wraps [P]", TOP, 0, "EINVAL", "EINVAL"},
      {"addr 2^64-4096, SHM_REMAP: no wrap check, then ENOMEM [P]", TOP, a::SHM_REMAP, "ENOMEM",
       "ENOMEM"},
      {"addr 2^64-1, SHM_RND [P]", M, a::SHM_RND, "EINVAL", "EINVAL"},
      {"addr 2^64-1, SHM_RND|SHM_REMAP [P]", M, a::SHM_RND | a::SHM_REMAP, "ENOMEM", "ENOMEM"},
      {"addr 2^63 [P]", A63, 0, "ENOMEM", "ENOMEM"},
      {"addr 2^63+1, SHM_RND [P]", A63 + 1, a::SHM_RND, "ENOMEM", "ENOMEM"},
      {"SHM_RDONLY with high bits (shmflg is an int) [P]", BASE, (Addr{1} << 32) | a::SHM_RDONLY,
       "0x200000000000", "0x200000000000"},
  };
  for (bool root : {false, true}) {
    for (const Case& c : cases) {
      AddressSpace as(cfg(root));
      const FileId seg = shm_segment(as);
      EXPECT_EQ(show(as.shmat(seg, c.addr, c.flg)), root ? c.root : c.user)
          << c.what << (root ? " (root)" : " (user)");
      EXPECT_TRUE(as.vmas().check_invariants()) << c.what;
    }
  }
  AddressSpace as(cfg());
  const FileId seg = shm_segment(as);
  map(as, BASE, 2 * P, RW);
  EXPECT_EQ(show(as.shmat(seg, BASE + P, 0)), "EINVAL") << "overlaps a mapping [P]";
  EXPECT_EQ(show(as.shmat(seg, BASE + P, a::SHM_REMAP)), "0x200000001000")
      << "SHM_REMAP replaces it [P]";
  EXPECT_TRUE(as.vmas().check_invariants());
}

TEST(EdgeShm, Detach) {
  run_rows({
      {"shmdt(0) [P]", Sys::Shmdt, {0}, "EINVAL"},
      {"shmdt(1) [P]", Sys::Shmdt, {1}, "EINVAL"},
      {"shmdt(2^64-1) [P]", Sys::Shmdt, {M}, "EINVAL"},
      {"shmdt(2^64-4096) [P]", Sys::Shmdt, {TOP}, "EINVAL"},
      {"shmdt(TS) [P]", Sys::Shmdt, {TS}, "EINVAL"},
  });
  AddressSpace as(cfg());
  const FileId seg = shm_segment(as);
  ASSERT_EQ(show(as.shmat(seg, BASE, 0)), hex(BASE));
  EXPECT_EQ(show(as.shmdt(BASE + 1)), "EINVAL") << "[P]";
  EXPECT_EQ(show(as.shmdt(BASE - P)), "EINVAL") << "a segment above, not at, addr [P]";
  EXPECT_EQ(show(as.shmdt(BASE)), "0x0") << "[P]";
  EXPECT_EQ(as.map_count(), 0u);
}

// ---------------------------------------------------------------------------
// The last page below TASK_SIZE, and ranges running past it
// ---------------------------------------------------------------------------

TEST(EdgeTopPage, RangesPastTaskSize) {
  AddressSpace as(cfg());
  map(as, TS - P, P, RW);
  EXPECT_EQ(show(as.madvise(TS - P, 2 * P, a::MADV_NORMAL)), "ENOMEM") << "[P]";
  EXPECT_EQ(show(as.mlock(TS - P, 2 * P)), "ENOMEM") << "[P]";
  EXPECT_EQ(show(as.mprotect(TS - P, 2 * P, R)), "ENOMEM") << "[P]";
  EXPECT_EQ(show(as.mseal(TS - P, 2 * P, 0)), "ENOMEM") << "[N 1.2]";
  EXPECT_EQ(show(as.mremap(TS - P, 2 * P, 2 * P, 0, 0)), "0x7fffffffe000")
      << "a no-op past TASK_SIZE: no range check [P]";
  EXPECT_EQ(show(as.munmap(TS - P, 2 * P)), "EINVAL") << "[P]";
  EXPECT_TRUE(as.vmas().find(TS - P)->has(vm::LOCKED)) << "mlock locked the VMA before the hole";
  EXPECT_FALSE(as.vmas().find(TS - P)->sealed());
  EXPECT_TRUE(as.vmas().check_invariants());
}

TEST(EdgeTopPage, ShrinkEndingAtTaskSize) {
  AddressSpace as(cfg());
  map(as, TS - 2 * P, 2 * P, RW);
  EXPECT_EQ(show(as.mremap(TS - 2 * P, 2 * P, P, 0, 0)), "0x7fffffffd000") << "[P]";
  EXPECT_EQ(as.vmas().find(TS - 2 * P)->end, TS - P);
}

TEST(EdgeMmapFile, OffsetOrder) {
  // len 0 (EINVAL), PAGE_ALIGN wrap (ENOMEM) and placement (ENOMEM) all come
  // before the file offset check [P][R 1.4, 1.6, 1.10].
  AddressSpace as(cfg());
  FileInfo f;
  f.path = "/tmp/f";
  f.readable = true;
  const int fd = as.fds().install(as.files().add(f));
  EXPECT_EQ(show(as.mmap(0, 0, R, a::MAP_PRIVATE, fd, TOP)), "EINVAL") << "[P]";
  EXPECT_EQ(show(as.mmap(0, M, R, a::MAP_PRIVATE, fd, TOP)), "ENOMEM") << "[P]";
  EXPECT_EQ(show(as.mmap(TS, P, R, a::MAP_PRIVATE | a::MAP_FIXED, fd, TOP)), "ENOMEM") << "[P]";
  EXPECT_EQ(show(as.mmap(0, TOP, R, a::MAP_SHARED, fd, A63)), "ENOMEM") << "[P]";
  EXPECT_EQ(show(as.mmap(0, P, R, a::MAP_PRIVATE, fd, 1)), "EINVAL") << "[P][R 1.1]";
  EXPECT_TRUE(as.mmap(0, P, R, a::MAP_PRIVATE, fd, Addr{1} << 60).is_ok()) << "[R 1.13 M7c]";
  // Invalid flag bits: dropped by MAP_SHARED, refused by MAP_SHARED_VALIDATE.
  EXPECT_EQ(show(as.mmap(0, P, R, a::MAP_SHARED_VALIDATE | 0x800000, fd, 0)), "EOPNOTSUPP")
      << "[R 1.13 M9c]";
  EXPECT_TRUE(as.mmap(0, P, R, a::MAP_SHARED | 0x800000, fd, 0).is_ok()) << "[R 1.13 M9e]";
  EXPECT_EQ(show(as.mmap(0, P, R, 0xf, fd, 0)), "EINVAL") << "type 0xf on a file [R 1.13 M8c]";
  EXPECT_EQ(show(as.mmap(0, P, R, a::MAP_PRIVATE | a::MAP_HUGETLB, fd, 0)), "EINVAL")
      << "HUGETLB on a regular file [R 1.2 M3c]";
}

// ---------------------------------------------------------------------------
// Engine/kernel disagreements (probed). These fail until the engine is fixed.
// ---------------------------------------------------------------------------

TEST(EdgeKernelQuirk, MmapFixedInLastBytesReturnsAddressAsErrno) {
  // __get_unmapped_area() returns the arch result when IS_ERR_VALUE(addr):
  // with MAP_FIXED the arch code returns addr itself, so a FIXED address in
  // [2^64-4095, 2^64-1] comes back as the error -(2^64 - addr), before the
  // "addr > TASK_SIZE - len" ENOMEM. Probed on 6.18.44, as root and as nobody.
  struct Case {
    Addr addr;
    std::uint64_t len;
    std::uint64_t flags;
    const char* kernel;
  };
  const Case cases[] = {
      {M, P, FX, "EPERM"},         // -1
      {M - 1, P, FX, "ENOENT"},    // -2
      {M - 11, P, FX, "ENOMEM"},   // -12 (ENOMEM by coincidence)
      {M - 21, P, FX, "EINVAL"},   // -22
      {M - 4094, P, FX, "E4095"},  // -4095
      {M, 1, FX, "EPERM"},
      {M, TS, FX, "EPERM"},  // len == TASK_SIZE passes the len check
      {M - 21, P, NOREPLACE, "EINVAL"},
      {M, P, a::MAP_ANONYMOUS | a::MAP_FIXED, "EPERM"},  // before the MAP_TYPE EINVAL
      {M, P, a::MAP_SHARED | a::MAP_ANONYMOUS | a::MAP_FIXED, "EPERM"},
      {M, P, FX | a::MAP_32BIT, "EPERM"},
  };
  for (const Case& c : cases) {
    AddressSpace as(cfg());
    const std::string engine = show(as.mmap(c.addr, c.len, R, c.flags, -1, 0));
    EXPECT_EQ(engine, c.kernel)
        << "ENGINE/KERNEL DISAGREEMENT: mmap(" << hex(c.addr) << ", " << hex(c.len)
        << ", PROT_READ, " << hex(c.flags) << ", -1, 0): kernel 6.18 returns " << c.kernel
        << " (probed: IS_ERR_VALUE leak of the FIXED address), engine returns " << engine;
  }
}

TEST(EdgeKernelQuirk, MmapHugetlbLengthWrap) {
  // ksys_mmap_pgoff(): anonymous MAP_HUGETLB aligns len to the huge page size
  // before do_mmap(); 2^64-1 aligns to 0 and hugetlb_file_setup() fails with
  // EINVAL. Probed (root and nobody): EINVAL. With len 4096 both say ENOMEM.
  AddressSpace as(cfg());
  EXPECT_EQ(show(as.mmap(0, P, RW, AN | a::MAP_HUGETLB, -1, 0)), "ENOMEM") << "[P]";
  const std::string engine = show(as.mmap(0, M, RW, AN | a::MAP_HUGETLB, -1, 0));
  EXPECT_EQ(engine, "EINVAL")
      << "ENGINE/KERNEL DISAGREEMENT: mmap(0, 2^64-1, RW, MAP_PRIVATE|MAP_ANONYMOUS|"
         "MAP_HUGETLB, -1, 0): kernel returns EINVAL (probed), engine returns "
      << engine;
}

TEST(EdgeKernelQuirk, MmapFileOffsetPastMaxSize) {
  // file_mmap_ok(): pgoff > (maxsize - len) >> PAGE_SHIFT -> EOVERFLOW, where
  // maxsize is MAX_LFS_FILESIZE (2^63-1) for regular files and shmem, and
  // ULONG_MAX for /dev/zero. Probed on 6.18.44 (ext4 file, memfd, /dev/zero;
  // root and nobody).
  struct Case {
    const char* what;
    FileKind kind;
    std::uint64_t flags;
    std::uint64_t off;
  };
  const Case cases[] = {
      {"ext4 file, MAP_PRIVATE, off 2^63", FileKind::Regular, a::MAP_PRIVATE, A63},
      {"ext4 file, MAP_PRIVATE, off 2^63-4096", FileKind::Regular, a::MAP_PRIVATE, A63 - P},
      {"ext4 file, MAP_PRIVATE, off 2^64-4096", FileKind::Regular, a::MAP_PRIVATE, TOP},
      {"memfd, MAP_SHARED, off 2^63", FileKind::Shmem, a::MAP_SHARED, A63},
      {"/dev/zero, MAP_PRIVATE, off 2^64-4096", FileKind::DevZero, a::MAP_PRIVATE, TOP},
      {"/dev/zero, MAP_SHARED, off 2^64-4096", FileKind::DevZero, a::MAP_SHARED, TOP},
  };
  for (const Case& c : cases) {
    AddressSpace as(cfg());
    FileInfo f;
    f.path = "/tmp/f";
    f.readable = true;
    f.writable = true;
    f.kind = c.kind;
    const int fd = as.fds().install(as.files().add(f));
    const std::string engine = show(as.mmap(0, P, R, c.flags, fd, c.off));
    EXPECT_EQ(engine, "EOVERFLOW")
        << "ENGINE/KERNEL DISAGREEMENT: mmap(0, 4096, PROT_READ, " << c.what
        << "): kernel returns EOVERFLOW (probed), engine returns " << engine;
  }
}

TEST(EdgeKernelQuirk, Mlock2FlagsAreAnInt) {
  // SYSCALL_DEFINE3(mlock2, unsigned long, start, size_t, len, int, flags):
  // the upper 32 bits of the register are ignored. Probed: flags 2^32 and
  // 2^32|MLOCK_ONFAULT behave as 0 / MLOCK_ONFAULT.
  {
    AddressSpace as(cfg());
    const std::string engine = show(as.mlock2(TS, P, Addr{1} << 32));
    EXPECT_EQ(engine, "ENOMEM")
        << "ENGINE/KERNEL DISAGREEMENT: mlock2(TS, 4096, 1<<32): kernel returns ENOMEM "
           "(flags truncated to int 0, then no VMA), engine returns "
        << engine;
  }
  {
    AddressSpace as(cfg());
    map(as, BASE, 2 * P, RW);
    const std::string engine = show(as.mlock2(BASE, P, (Addr{1} << 32) | a::MLOCK_ONFAULT));
    EXPECT_EQ(engine, "0x0")
        << "ENGINE/KERNEL DISAGREEMENT: mlock2(mapped, 4096, 1<<32|MLOCK_ONFAULT): kernel "
           "returns 0 (flags truncated to int), engine returns "
        << engine;
  }
}

TEST(EdgeKernelQuirk, MlockallFlagsAreAnInt) {
  // SYSCALL_DEFINE1(mlockall, int, flags): probed, (1<<32)|MCL_FUTURE returns 0
  // and (1<<32) alone is EINVAL (int 0).
  AddressSpace as(cfg());
  EXPECT_EQ(show(as.mlockall(Addr{1} << 32)), "EINVAL") << "[P]";
  const std::string engine = show(as.mlockall((Addr{1} << 32) | a::MCL_FUTURE));
  EXPECT_EQ(engine, "0x0")
      << "ENGINE/KERNEL DISAGREEMENT: mlockall(1<<32|MCL_FUTURE): kernel returns 0 (flags "
         "truncated to int MCL_FUTURE), engine returns "
      << engine;
}

// ---------------------------------------------------------------------------
// Sweeps: every call over a grid of edge arguments on a mixed layout. The
// engine must not crash or trip UBSan; afterwards the tree is consistent,
// nothing is mapped at or above TASK_SIZE or (unprivileged) below
// vm.mmap_min_addr, total_vm matches, and every sealed page is still mapped
// and sealed.
// ---------------------------------------------------------------------------

constexpr Addr kAddrs[] = {
    0,          1,      4095, P,   0x10000, BASE - P, BASE, BASE + P, BASE + 3 * P, HEAP, STACK - P,
    TS - 2 * P, TS - P, TS,   A47, A63,     TOP - P,  TOP,  M - 4094, M - 21,       M};
constexpr std::uint64_t kLens[] = {0,  1,      4095, P,   2 * P, P + 1,    64 * P, TS - P,
                                   TS, TS + 1, A47,  A63, TOP,   M - 4094, M};

struct World {
  AddressSpace as;
  FileId seg = 0;
  int file_ro = -1;  // fds: a regular file opened O_RDONLY, one O_RDWR,
  int file_rw = -1;  // /dev/zero and a memfd
  int devzero = -1;
  int memfd = -1;
  int add_file(FileKind kind, bool writable) {
    FileInfo f;
    f.path = kind == FileKind::DevZero ? "/dev/zero" : "/tmp/f";
    f.readable = true;
    f.writable = writable;
    f.kind = kind;
    f.size = 16 * P;
    return as.fds().install(as.files().add(f));
  }
  explicit World(bool privileged) : as(cfg(privileged)) {
    file_ro = add_file(FileKind::Regular, false);
    file_rw = add_file(FileKind::Regular, true);
    devzero = add_file(FileKind::DevZero, true);
    memfd = add_file(FileKind::Shmem, true);
    process_layout(as);
    map(as, 0x10000, 4 * P, RW);
    map(as, BASE, 8 * P, R);
    map(as, BASE + 2 * P, 2 * P, RW);
    EXPECT_EQ(show(as.mseal(BASE + 4 * P, 2 * P, 0)), "0x0");
    map(as, TS - 2 * P, 2 * P, R);  // overlaps the stack's top: replaces it
    seg = shm_segment(as, 2 * P);
    EXPECT_EQ(show(as.shmat(seg, 0x300000000000ULL, 0)), "0x300000000000");
    EXPECT_EQ(show(as.mmap(0x400000000000ULL, 4 * P, RW, a::MAP_SHARED | a::MAP_FIXED, file_rw, 0)),
              "0x400000000000");
    EXPECT_EQ(
        show(as.mmap(0x400000010000ULL, 2 * P, RW, a::MAP_PRIVATE | a::MAP_FIXED, devzero, 0)),
        "0x400000010000");
    EXPECT_EQ(show(as.mmap(0x400000020000ULL, 2 * P, R, a::MAP_PRIVATE | a::MAP_FIXED, file_ro, 0)),
              "0x400000020000");
  }
};

std::vector<Addr> sealed_pages(const AddressSpace& as) {
  std::vector<Addr> pages;
  as.vmas().for_each([&](const Vma& v) {
    if (v.sealed())
      for (Addr p = v.start; p < v.end; p += P) pages.push_back(p);
  });
  return pages;
}

// `what` is a callable giving the call's description; it is only evaluated
// when a check fails (the sweeps make ~10^5 calls).
template <class What>
void check_world(const AddressSpace& as, const std::vector<Addr>& sealed, const What& what) {
  ASSERT_TRUE(as.vmas().check_invariants()) << what();
  std::uint64_t total = 0;
  bool in_range = true;
  as.vmas().for_each([&](const Vma& v) {
    total += v.page_count();
    if (v.end > TS || v.start >= v.end) in_range = false;
    if (!as.config().privileged() && v.start < as.config().dac_mmap_min_addr) in_range = false;
  });
  EXPECT_TRUE(in_range) << what();
  EXPECT_EQ(total, as.counters().total_vm) << what();
  for (Addr p : sealed) {
    const Vma* v = as.vmas().find(p);
    ASSERT_TRUE(v != nullptr && v->sealed()) << what() << ": sealed page " << hex(p) << " lost";
  }
}

template <class What>
void check_result(const SysResult& r, const What& what) {
  if (r.is_error()) {
    const int e = static_cast<int>(r.error());
    EXPECT_TRUE(e >= 1 && e <= 4095) << what() << ": errno " << e;
  }
}

std::string args(const char* call, std::initializer_list<std::uint64_t> v) {
  std::ostringstream o;
  o << call << '(';
  bool first = true;
  for (std::uint64_t x : v) {
    o << (first ? "" : ", ") << "0x" << std::hex << x;
    first = false;
  }
  o << ')';
  return o.str();
}

TEST(EdgeSweep, RangeCalls) {
  struct Variant {
    Sys sys;
    std::uint64_t extra;  // prot / pkey / advice / flags, as the third argument
  };
  std::vector<Variant> variants = {{Sys::Munmap, 0}, {Sys::Mlock, 0}, {Sys::Munlock, 0}};
  for (std::uint64_t prot : {a::PROT_NONE, RW, M, a::PROT_GROWSDOWN | R})
    variants.push_back({Sys::Mprotect, prot});
  for (std::int64_t pkey : {-1, 0, 1, 15, 16}) variants.push_back({Sys::PkeyMprotect, u(pkey)});
  for (std::int64_t adv :
       {a::MADV_NORMAL, a::MADV_DONTNEED, a::MADV_FREE, a::MADV_REMOVE, a::MADV_DONTFORK,
        a::MADV_WIPEONFORK, a::MADV_DONTDUMP, a::MADV_POPULATE_READ, a::MADV_POPULATE_WRITE,
        a::MADV_GUARD_INSTALL, a::MADV_COLLAPSE, a::MADV_HWPOISON, -1})
    variants.push_back({Sys::Madvise, u(adv)});
  for (std::uint64_t f : {Addr{0}, Addr{1}, Addr{2}, M}) variants.push_back({Sys::Mlock2, f});
  for (std::uint64_t f : {Addr{0}, Addr{1}}) variants.push_back({Sys::Mseal, f});

  for (bool root : {false, true}) {
    const World base(root);
    const std::vector<Addr> sealed = sealed_pages(base.as);
    ASSERT_EQ(sealed.size(), 2u);
    for (Addr addr : kAddrs) {
      for (std::uint64_t len : kLens) {
        for (const Variant& v : variants) {
          AddressSpace as = base.as;
          Syscall call{v.sys, {addr, len, v.extra, 0, 0, 0}};
          if (v.sys == Sys::PkeyMprotect) {
            call.a[2] = R;
            call.a[3] = v.extra;
          }
          const SysResult r = apply(as, call).result;
          auto what = [&] {
            return args("call", {static_cast<std::uint64_t>(v.sys), addr, len, v.extra}) +
                   (root ? " root" : "");
          };
          check_result(r, what);
          check_world(as, sealed, what);
        }
      }
    }
  }
}

TEST(EdgeSweep, Mmap) {
  const std::uint64_t flag_sets[] = {
      AN,
      FX,
      NOREPLACE,
      a::MAP_SHARED | a::MAP_ANONYMOUS,
      a::MAP_SHARED | a::MAP_ANONYMOUS | a::MAP_FIXED,
      FX | a::MAP_GROWSDOWN,
      AN | a::MAP_GROWSDOWN,
      AN | a::MAP_32BIT,
      AN | a::MAP_ABOVE4G,
      AN | a::MAP_LOCKED | a::MAP_POPULATE,
      AN | a::MAP_DROPPABLE,
      a::MAP_ANONYMOUS | a::MAP_DROPPABLE | a::MAP_FIXED,
      AN | a::MAP_STACK | a::MAP_NORESERVE,
      a::MAP_ANONYMOUS,
      M,
  };
  const std::uint64_t file_flag_sets[] = {
      a::MAP_PRIVATE,
      a::MAP_SHARED,
      a::MAP_SHARED | a::MAP_FIXED,
      a::MAP_PRIVATE | a::MAP_FIXED_NOREPLACE,
      a::MAP_SHARED_VALIDATE | a::MAP_SYNC,
      a::MAP_PRIVATE | a::MAP_GROWSDOWN,
  };
  std::size_t successes = 0;
  for (bool root : {false, true}) {
    const World base(root);
    const std::vector<Addr> sealed = sealed_pages(base.as);
    for (Addr addr : kAddrs) {
      for (std::uint64_t len : kLens) {
        for (std::uint64_t flags : file_flag_sets) {
          for (int fd : {base.file_ro, base.file_rw, base.devzero, base.memfd, 12345}) {
            for (std::uint64_t off : {Addr{0}, Addr{1}, A63, TOP}) {
              AddressSpace as = base.as;
              const SysResult r = as.mmap(addr, len, RW, flags, fd, off);
              auto what = [&] {
                return args("mmap", {addr, len, RW, flags, static_cast<std::uint64_t>(fd), off}) +
                       (root ? " root" : "");
              };
              check_result(r, what);
              check_world(as, sealed, what);
              if (r.is_ok()) ++successes;
            }
          }
        }
        for (std::uint64_t flags : flag_sets) {
          for (std::uint64_t off : {Addr{0}, TOP}) {
            AddressSpace as = base.as;
            const SysResult r = as.mmap(addr, len, RW, flags, -1, off);
            auto what = [&] {
              return args("mmap", {addr, len, RW, flags, off}) + (root ? " root" : "");
            };
            check_result(r, what);
            check_world(as, sealed, what);
            if (r.is_ok()) {
              ++successes;
              const Addr got = r.value();
              EXPECT_TRUE(page_aligned(got)) << what();
              const Vma* v = as.vmas().find(got);
              ASSERT_TRUE(v != nullptr) << what() << ": nothing mapped at the result";
              if ((flags & (a::MAP_FIXED | a::MAP_FIXED_NOREPLACE)) != 0) {
                EXPECT_EQ(got, addr) << what();
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GT(successes, 1000u) << "the grid should map something";
}

TEST(EdgeSweep, Mremap) {
  const std::uint64_t flag_sets[] = {0, MOVE, MFIX, MDU, MDU | a::MREMAP_FIXED, a::MREMAP_FIXED, 8};
  const Addr targets[] = {0, P, 0x400000000000ULL, BASE + 4 * P, TS - P, TS, TOP, M};
  const std::uint64_t lens[] = {0, 1, P, 2 * P, 8 * P, TS, TS + 1, TOP, M};
  std::size_t successes = 0;
  for (bool root : {false, true}) {
    const World base(root);
    const std::vector<Addr> sealed = sealed_pages(base.as);
    for (Addr addr : kAddrs)
      for (std::uint64_t old_len : lens)
        for (std::uint64_t new_len : lens)
          for (std::uint64_t flags : flag_sets)
            for (Addr target : targets) {
              AddressSpace as = base.as;
              const SysResult r = as.mremap(addr, old_len, new_len, flags, target);
              auto what = [&] {
                return args("mremap", {addr, old_len, new_len, flags, target}) +
                       (root ? " root" : "");
              };
              check_result(r, what);
              check_world(as, sealed, what);
              if (r.is_ok()) ++successes;
            }
  }
  EXPECT_GT(successes, 1000u) << "the grid should remap something";
}

TEST(EdgeSweep, BrkShmMlockall) {
  for (bool root : {false, true}) {
    const World base(root);
    const std::vector<Addr> sealed = sealed_pages(base.as);
    for (Addr addr : kAddrs) {
      for (Addr delta : {Addr{0}, Addr{1}, P - 1, P, P + 1}) {
        AddressSpace as = base.as;
        auto what = [&] { return args("brk", {addr + delta}); };
        check_result(as.brk(addr + delta), what);
        check_world(as, sealed, what);
      }
      for (std::uint64_t flg : {Addr{0}, a::SHM_RND, a::SHM_REMAP, a::SHM_RND | a::SHM_REMAP,
                                a::SHM_RDONLY | a::SHM_EXEC, M}) {
        AddressSpace as = base.as;
        auto what = [&] { return args("shmat", {addr, flg}); };
        check_result(as.shmat(base.seg, addr, flg), what);
        check_world(as, sealed, what);
      }
      AddressSpace as = base.as;
      auto what = [&] { return args("shmdt", {addr}); };
      check_result(as.shmdt(addr), what);
      check_world(as, sealed, what);
    }
    // An AddressSpace that was never exec'd has start_brk == brk == 0.
    for (Addr addr : kAddrs) {
      AddressSpace as(cfg(root));
      auto what = [&] { return args("brk on an empty mm", {addr}); };
      check_result(as.brk(addr), what);
      check_world(as, {}, what);
    }
    for (std::uint64_t f :
         {Addr{0}, Addr{1}, Addr{2}, Addr{3}, Addr{4}, Addr{5}, Addr{6}, Addr{7}, Addr{8}, M}) {
      AddressSpace as = base.as;
      auto what = [&] { return args("mlockall", {f}); };
      check_result(as.mlockall(f), what);
      check_world(as, sealed, what);
      // New mappings after MCL_FUTURE, at the edges, then munlockall.
      check_result(as.mmap(TS - P, P, RW, FX, -1, 0), what);
      check_result(as.mmap(0, TS - 64 * P, RW, AN, -1, 0), what);
      check_world(as, sealed, what);
      check_result(as.munlockall(), what);
      check_world(as, sealed, what);
    }
  }
}

}  // namespace
}  // namespace vmseal
