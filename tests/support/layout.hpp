// Test support: windows of pages bracketed by guard VMAs (as in
// tests/kernel/reference_cases.c), the return-value notation of
// tests/data/reference_cases.expected, and a builder that turns a drawing such as
// "[0-4 rw-p][4-8 r--p sl]" into an engine layout with real system calls.
#pragma once

// First, before any standard header (types.hpp's Errno enumerators vs <cerrno>).
#include "vmseal/engine/address_space.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vmseal::test {

inline constexpr Addr PS = kPageSize;
// Default window base: the reservation is placed with a hint one page below it.
inline constexpr Addr kDefaultBase = 0x7f0000000000ULL;

// A window of `npages` pages at `base`, as reference_cases.c's region(): a
// PROT_NONE MAP_NORESERVE reservation of npages + 2 pages, a 1-page PROT_EXEC
// guard VMA at each end (MAP_FIXED), and the interior unmapped again.
struct Window {
  AddressSpace* as = nullptr;
  Addr base = 0;
  std::uint64_t npages = 0;

  // base + page * PS (negative pages allowed).
  Addr P(std::int64_t page) const noexcept { return base + static_cast<Addr>(page) * PS; }
  // draw_layout() of the window.
  std::string draw() const;
  // One character per page of the window: 'G' a guard page, '.' any other.
  std::string draw_guards() const;
  // `r` formatted as an address result ("@<page>" relative to base) or errno name.
  std::string at(const SysResult& r) const;
};

// File descriptors every probe process has open (files.hpp describes them).
inline constexpr int kFdRdonly = 3;   // a regular ext4 file opened O_RDONLY
inline constexpr int kFdRdwr = 4;     // the same file opened O_RDWR (another struct file)
inline constexpr int kFdMemfd = 5;    // memfd_create("m"), O_RDWR, 64 pages
inline constexpr int kFdWronly = 6;   // the ext4 file opened O_WRONLY
inline constexpr int kFdDevZero = 7;  // /dev/zero opened O_RDWR
// Installs those files in `as`.
void install_probe_files(AddressSpace& as);

// Sets up the window. With hint 0 the reservation goes where the kernel would
// put it (top-down); otherwise the hint is used (it must be free).
// Fails the current test (ADD_FAILURE) if a setup call fails.
Window make_window(AddressSpace& as, std::uint64_t npages, Addr base = kDefaultBase);

// "0", a non-negative number, or an errno name ("EPERM").
std::string ret_str(const SysResult& r);
// "@n" / "@n+b" relative to base, or an errno name.
std::string addr_str(const SysResult& r, Addr base);

// One "[a-b perms flags]" item of a drawing.
struct Segment {
  std::int64_t from = 0;
  std::int64_t to = 0;
  std::string perms;                // "rw-p"
  std::vector<std::string> tokens;  // smaps mnemonics and builder tokens
};

// A row's description as a gtest parameter name: letters and digits kept,
// every other run of characters one '_' ("3.1 V1 invalid advice" ->
// "3_1_V1_invalid_advice").
std::string test_name_of(std::string_view description);

// Parses a drawing; returns false (with a message) on a syntax error.
bool parse_drawing(std::string_view drawing, std::vector<Segment>& out, std::string* error);

// The drawing as draw_layout() would print it: builder-only tokens removed and
// the flags put in the kernel's order. Unknown mnemonics are kept verbatim.
std::string canonical(std::string_view drawing);

// Builds `drawing` inside the window with real engine calls, left to right.
// Each segment is:
//   1. mmap(MAP_FIXED | MAP_PRIVATE or MAP_SHARED (perms 'p'/'s') | MAP_ANONYMOUS
//      unless fd=N, | MAP_GROWSDOWN for gd, | MAP_NORESERVE for nr), with the
//      segment's prot, plus PROT_WRITE when the drawing asks for `ac` on a
//      non-writable private segment;
//   2. a fault of its first page when the token F is present (or when `ac` on a
//      non-writable segment needs the anon_vma that keeps VM_ACCOUNT);
//   3. mprotect() to the final prot if step 1 used another one;
//   4. madvise() for dc dd wf rr sr hg nh mg gu;
//   5. mlock() for lo (mlock2(MLOCK_ONFAULT) for lo lf);
//   6. mseal() for sl; the kernel's own seal (kernel_seal()) for sl K.
// Builder-only tokens (not part of the comparison): F (fault), fd=N (map file
// descriptor N), off=K (file offset in pages, default 0), K (the seal is the
// kernel's).
// Afterwards the window must draw as canonical(drawing), else the result is a
// failure that shows both.
::testing::AssertionResult build(const Window& w, std::string_view drawing);

}  // namespace vmseal::test
