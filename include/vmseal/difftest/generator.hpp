// Random memory-management calls for a difftest, biased toward the edges: VMA
// boundaries plus or minus a page, ranges across sealed, unsealed and unmapped
// parts, unaligned addresses, zero and huge lengths, invalid flags. Every call
// either stays inside the window or is refused by the kernel on its arguments
// alone (is_confined() decides), so the native child never harms itself.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "vmseal/difftest/native.hpp"
#include "vmseal/difftest/op.hpp"
#include "vmseal/engine/address_space.hpp"

namespace vmseal::difftest {

// Relative weights of the operations.
struct Mix {
  std::array<unsigned, kOpKinds> weight{};
  static Mix defaults();
  // "mmap=5,munmap=2,fork=0": named weights replace the defaults; "only:" as a
  // prefix starts from zero instead. False with a message for an unknown name.
  bool parse(std::string_view text, std::string* error);
  std::string describe() const;
};

struct GenContext {
  Window window;
  Fds fds;
  Addr start_brk = 0;
  Addr initial_brk = 0;
  bool pku = false;
  // Under AddressSanitizer, mlockall(MCL_CURRENT) without MCL_ONFAULT would
  // populate terabytes of shadow: the generator adds MCL_ONFAULT.
  bool no_populating_mlockall = false;
  // The kernel gives this process userfaultfds (no ENOSYS, no seccomp EPERM).
  bool uffd = true;
};

class Generator {
 public:
  Generator(const GenContext& ctx, const Mix& mix, std::uint64_t seed);
  // The next call, chosen from the engine's current layout.
  Op next(const AddressSpace& as);

 private:
  OpKind pick_kind();
  Addr pick_addr(const AddressSpace& as);
  std::uint64_t pick_len(const AddressSpace& as, Addr at);
  Op make(OpKind k, const AddressSpace& as);
  std::uint64_t pick_prot();
  Op make_mmap(const AddressSpace& as);
  Op make_mremap(const AddressSpace& as);
  Op make_mprotect(OpKind k, const AddressSpace& as);  // mprotect or pkey_mprotect
  Op make_madvise(const AddressSpace& as);
  Op make_mlockall();
  Op make_brk();
  Op make_prctl();
  Op make_setrlimit(const AddressSpace& as);
  Op make_capset(const AddressSpace& as);
  Op make_uffd(OpKind k, const AddressSpace& as);
  std::uint64_t pick_uffd_fd(const AddressSpace& as, bool own_mm);
  bool chance(unsigned percent) {
    return std::uniform_int_distribution<unsigned>(0, 99)(rng_) < percent;
  }
  std::uint64_t below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
  }

  GenContext ctx_;
  Mix mix_;
  unsigned total_weight_ = 0;
  std::mt19937_64 rng_;
  std::vector<Addr> bounds_;
};

// Whether the kernel can only touch the window (or the heap, for brk) when it
// runs `op`: the call's ranges lie inside, or its arguments alone make it fail.
bool is_confined(const Op& op, const GenContext& ctx);

// Whether `op` would fault in memory registered for missing or minor faults
// (um, ui) in `as`: a write fault, MADV_POPULATE_*, mlock. The child's
// contexts have UFFD_FEATURE_SIGBUS, so such a fault fails where the page is
// not there, and the engine does not keep which pages are: the generator
// never makes such a call, and a replay skips it.
bool touches_armed(const Op& op, const AddressSpace& as);

}  // namespace vmseal::difftest
