#include "vmseal/difftest/generator.hpp"

#include <algorithm>

#include "vmseal/kernel/abi.hpp"

namespace vmseal::difftest {

namespace {

constexpr Addr kTaskSize = 0x7ffffffff000ULL;
constexpr std::uint64_t P = kPageSize;

// [addr, addr + PAGE_ALIGN(len)) without overflow: false when it wraps.
bool span(Addr addr, std::uint64_t len, Addr& end) {
  const std::uint64_t alen = len + (P - 1);
  if (alen < len) return false;
  const std::uint64_t a = alen & kPageMask;
  end = addr + a;
  return end >= addr;
}

bool inside(const Window& w, Addr s, Addr e) { return s >= w.base && e <= w.end() && s <= e; }

}  // namespace

Mix Mix::defaults() {
  Mix m;
  auto set = [&](OpKind k, unsigned w) { m.weight[static_cast<std::size_t>(k)] = w; };
  set(OpKind::Mmap, 26);
  set(OpKind::Munmap, 8);
  set(OpKind::Mprotect, 14);
  set(OpKind::PkeyMprotect, 2);
  set(OpKind::Mremap, 12);
  set(OpKind::Madvise, 14);
  set(OpKind::Mlock, 3);
  set(OpKind::Mlock2, 2);
  set(OpKind::Munlock, 3);
  set(OpKind::Mlockall, 1);
  set(OpKind::Munlockall, 1);
  set(OpKind::Brk, 2);
  set(OpKind::Mseal, 10);
  set(OpKind::WriteFault, 8);
  set(OpKind::Fork, 1);
  set(OpKind::Prctl, 1);
  set(OpKind::Setrlimit, 1);
  set(OpKind::Capset, 1);
  set(OpKind::Userfaultfd, 1);
  set(OpKind::UffdioApi, 1);
  set(OpKind::UffdioRegister, 3);
  set(OpKind::UffdioUnregister, 2);
  set(OpKind::Close, 1);
  return m;
}

bool Mix::parse(std::string_view text, std::string* error) {
  if (text.starts_with("only:")) {
    weight.fill(0);
    text.remove_prefix(5);
  }
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const std::size_t eq = item.find('=');
    OpKind k{};
    if (eq == std::string_view::npos || !op_from_name(item.substr(0, eq), k)) {
      if (error)
        *error = "bad --mix item '" + std::string(item) +
                 "' (want NAME=WEIGHT, NAME one of: " + describe() + ")";
      return false;
    }
    unsigned w = 0;
    const std::string_view num = item.substr(eq + 1);
    if (num.empty() || num.size() > 6 ||
        !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      if (error) *error = "bad weight in --mix item '" + std::string(item) + "'";
      return false;
    }
    for (char c : num) w = w * 10 + static_cast<unsigned>(c - '0');
    weight[static_cast<std::size_t>(k)] = w;
  }
  if (std::all_of(weight.begin(), weight.end(), [](unsigned w) { return w == 0; })) {
    if (error) *error = "--mix leaves every operation at weight 0";
    return false;
  }
  return true;
}

std::string Mix::describe() const {
  std::string out;
  for (std::size_t i = 0; i < kOpKinds; ++i) {
    if (!out.empty()) out += ',';
    out += std::string(op_name(static_cast<OpKind>(i))) + "=" + std::to_string(weight[i]);
  }
  return out;
}

Generator::Generator(const GenContext& ctx, const Mix& mix, std::uint64_t seed)
    : ctx_(ctx), mix_(mix), rng_(seed) {
  for (unsigned w : mix_.weight) total_weight_ += w;
}

OpKind Generator::pick_kind() {
  std::uint64_t r = below(total_weight_);
  for (std::size_t i = 0; i < kOpKinds; ++i) {
    if (r < mix_.weight[i]) return static_cast<OpKind>(i);
    r -= mix_.weight[i];
  }
  return OpKind::Munmap;
}

Addr Generator::pick_addr(const AddressSpace& as) {
  const Window& w = ctx_.window;
  bounds_.clear();
  bounds_.push_back(w.base);
  for (const Vma* v = as.vmas().lower(w.base); v != nullptr && v->start < w.end();
       v = as.vmas().next_of(*v)) {
    bounds_.push_back(v->start);
    bounds_.push_back(v->end);
  }
  Addr a = 0;
  const unsigned r = static_cast<unsigned>(below(100));
  if (r < 55 && !bounds_.empty()) {
    a = bounds_[below(bounds_.size())];
    const unsigned d = static_cast<unsigned>(below(6));
    if (d == 0 && a > w.base)
      a -= P;
    else if (d == 1 && a + P < w.end())
      a += P;
  } else {
    a = w.base + below(w.pages) * P;
  }
  if (a >= w.end()) a = w.end() - P;
  if (chance(3)) a += 1 + below(P - 1);  // unaligned
  return a;
}

std::uint64_t Generator::pick_len(const AddressSpace& /*as*/, Addr at) {
  const Window& w = ctx_.window;
  const unsigned r = static_cast<unsigned>(below(100));
  if (r < 3) return 0;
  if (r < 6) {  // huge: wraps past 2^64 or past TASK_SIZE
    switch (below(4)) {
      case 0:
        return ~std::uint64_t{0};
      case 1:
        return ~std::uint64_t{0} - at + 1 + below(3) * P;
      case 2:
        return (std::uint64_t{1} << 63);
      default:
        return ~std::uint64_t{0} - P + 2;
    }
  }
  if (r < 40) {
    // To another boundary (of the layout pick_addr() just read), plus or minus a page.
    std::vector<Addr> ahead;
    for (Addr b : bounds_)
      if (b > at) ahead.push_back(b);
    ahead.push_back(w.end());
    Addr e = ahead[below(ahead.size())];
    const unsigned d = static_cast<unsigned>(below(5));
    if (d == 0 && e - at > P)
      e -= P;
    else if (d == 1 && e + P <= w.end())
      e += P;
    std::uint64_t len = e > at ? e - at : P;
    if (chance(4)) len -= 1 + below(P - 1);
    return len;
  }
  std::uint64_t len = (1 + below(chance(80) ? 8 : 48)) * P;
  if (chance(4)) len -= 1 + below(P - 1);
  return len;
}

std::uint64_t Generator::pick_prot() {
  static constexpr std::uint64_t kProts[] = {abi::PROT_NONE,
                                             abi::PROT_READ,
                                             abi::PROT_READ | abi::PROT_WRITE,
                                             abi::PROT_READ | abi::PROT_EXEC,
                                             abi::PROT_READ | abi::PROT_WRITE | abi::PROT_EXEC,
                                             abi::PROT_WRITE,
                                             abi::PROT_EXEC};
  std::uint64_t p = kProts[below(chance(70) ? 3 : 7)];
  if (chance(2)) p |= abi::PROT_SEM;
  if (chance(1)) p |= 0x10;  // no such bit
  return p;
}

Op Generator::make_mmap(const AddressSpace& as) {
  Op op;
  op.kind = OpKind::Mmap;
  const unsigned mode = static_cast<unsigned>(below(100));
  std::uint64_t flags = 0;
  Addr addr = pick_addr(as);
  if (mode < 50)
    flags |= abi::MAP_FIXED;
  else if (mode < 65)
    flags |= abi::MAP_FIXED_NOREPLACE;
  else if (mode < 95) { /* a hint */
  } else
    addr = 0;
  std::int64_t fd = -1;
  std::uint64_t off = 0;
  const unsigned kind = static_cast<unsigned>(below(100));
  const Fds& f = ctx_.fds;
  if (kind < 45)
    flags |= abi::MAP_PRIVATE | abi::MAP_ANONYMOUS;
  else if (kind < 55)
    flags |= abi::MAP_SHARED | abi::MAP_ANONYMOUS;
  else {
    static constexpr int kWhich[] = {0, 0, 0, 1, 1, 2, 3, 3, 4, 5, 6};
    switch (kWhich[below(11)]) {
      case 0:
        fd = f.memfd_a;
        break;
      case 1:
        fd = f.memfd_a2;
        break;
      case 2:
        fd = f.memfd_a_ro;
        break;
      case 3:
        fd = f.memfd_b;
        break;
      case 5:  // write-sealed (docs/kernel-rules.md 6e)
        fd = f.memfd_sealed;
        break;
      case 6:  // memfd_secret, where the kernel has it
        fd = f.secret >= 0 ? f.secret : f.memfd_b;
        break;
      default:
        fd = f.dev_zero;
        break;
    }
    flags |= chance(50) ? abi::MAP_SHARED : abi::MAP_PRIVATE;
    // Offsets that keep contiguous runs likely: the address's page in the window.
    off = chance(50) ? (addr >= ctx_.window.base
                            ? ((addr - ctx_.window.base) & kPageMask) % (ctx_.window.pages * P)
                            : 0)
                     : below(16) * P;
    if (chance(2)) off += 1 + below(P - 1);
    if (chance(1)) off = ~std::uint64_t{0} - P + 1;  // EOVERFLOW
  }
  if (chance(5)) flags |= abi::MAP_NORESERVE;
  if (chance(3)) flags |= abi::MAP_LOCKED;
  if (chance(3)) flags |= abi::MAP_POPULATE;
  if (chance(3)) flags |= abi::MAP_GROWSDOWN;
  if (chance(2)) flags |= abi::MAP_STACK;
  if (chance(1))
    flags = (flags & ~abi::MAP_TYPE) | abi::MAP_SHARED_VALIDATE | (chance(50) ? abi::MAP_SYNC : 0);
  if (chance(1)) flags &= ~abi::MAP_TYPE;  // no type: EINVAL
  if (chance(1)) fd = 999;                 // not open: EBADF
  op.a = {addr, pick_len(as, addr), pick_prot(), flags, static_cast<std::uint64_t>(fd), off};
  return op;
}

Op Generator::make_mremap(const AddressSpace& as) {
  Op op;
  op.kind = OpKind::Mremap;
  const Addr addr = pick_addr(as);
  std::uint64_t old_len = pick_len(as, addr);
  std::uint64_t new_len = chance(50) ? pick_len(as, addr) : (1 + below(12)) * P;
  if (chance(4)) old_len = 0;  // duplicate a shared mapping
  std::uint64_t flags = 0;
  Addr new_addr = 0;
  switch (below(10)) {
    case 0:
    case 1:
      flags = 0;
      break;
    case 2:
    case 3:
    case 4:
      flags = abi::MREMAP_MAYMOVE;
      break;
    case 5:
    case 6:
      flags = abi::MREMAP_MAYMOVE | abi::MREMAP_FIXED;
      break;
    case 7:
      flags = abi::MREMAP_MAYMOVE | abi::MREMAP_DONTUNMAP;
      break;
    case 8:
      flags = abi::MREMAP_MAYMOVE | abi::MREMAP_FIXED | abi::MREMAP_DONTUNMAP;
      break;
    default:
      flags = chance(50) ? abi::MREMAP_FIXED : 8;
      break;  // invalid
  }
  if ((flags & abi::MREMAP_FIXED) != 0) new_addr = pick_addr(as);
  if ((flags & abi::MREMAP_DONTUNMAP) != 0 && chance(70)) new_len = old_len;
  op.a = {addr, old_len, new_len, flags, new_addr, 0};
  return op;
}

Op Generator::make_mprotect(OpKind k, const AddressSpace& as) {
  Op op;
  op.kind = k;
  const Addr a = pick_addr(as);
  std::uint64_t prot = pick_prot();
  if (chance(3)) prot |= chance(50) ? abi::PROT_GROWSDOWN : abi::PROT_GROWSUP;
  std::uint64_t pkey = ~std::uint64_t{0};
  if (k == OpKind::PkeyMprotect) {
    static constexpr std::int64_t kKeys[] = {-1, -1, 0, 1, 15, 16, -2};
    pkey = static_cast<std::uint64_t>(kKeys[below(7)]);
  }
  op.a = {a, pick_len(as, a), prot, pkey, 0, 0};
  return op;
}

Op Generator::make_madvise(const AddressSpace& as) {
  Op op;
  op.kind = OpKind::Madvise;
  // Every advice but MADV_HWPOISON and MADV_SOFT_OFFLINE, which would
  // really poison or offline pages where the kernel supports them; and
  // advice values that do not exist.
  static constexpr std::uint64_t kAdvice[] = {0,   1,  2,  3,  4,  8,  9,  10, 11, 12, 13, 14,
                                              15,  16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 102,
                                              103, 4,  4,  8,  10, 16, 18, 5,  26, 99, 104};
  const Addr a = pick_addr(as);
  op.a = {a, pick_len(as, a), kAdvice[below(sizeof kAdvice / sizeof kAdvice[0])], 0, 0, 0};
  return op;
}

Op Generator::make_mlockall() {
  Op op;
  op.kind = OpKind::Mlockall;
  static constexpr std::uint64_t kFlags[] = {1, 2, 3, 5, 6, 7, 4, 0, 8};
  std::uint64_t f = kFlags[below(9)];
  if (ctx_.no_populating_mlockall && (f & 1) != 0) f |= 4;
  op.a = {f, 0, 0, 0, 0, 0};
  return op;
}

// prctl(PR_SET_MDWE) mostly valid (then the rest of the sequence runs under
// MDWE, in forked children too), sometimes with NO_INHERIT, invalid bits or
// arguments, or an attempt to clear it; PR_GET_MDWE to compare the state.
Op Generator::make_prctl() {
  Op op;
  op.kind = OpKind::Prctl;
  constexpr std::uint64_t kSet = abi::PR_SET_MDWE;
  constexpr std::uint64_t kGet = abi::PR_GET_MDWE;
  static constexpr std::array<std::array<std::uint64_t, 3>, 9> kCalls{{
      {kSet, 1, 0},  // REFUSE_EXEC_GAIN
      {kSet, 1, 0},
      {kSet, 3, 0},  // with NO_INHERIT
      {kSet, 0, 0},  // clear: EPERM once set
      {kSet, 2, 0},  // NO_INHERIT alone: EINVAL
      {kSet, 5, 0},  // unknown bit: EINVAL
      {kSet, 1, 1},  // arg3: EINVAL
      {kGet, 0, 0},
      {kGet, 1, 0},  // arg2: EINVAL
  }};
  const auto& c = kCalls[below(kCalls.size())];
  op.a = {c[0], c[1], c[2], 0, 0, 0};
  return op;
}

// The child lowers (sometimes tries to raise) its RLIMIT_MEMLOCK, from none
// to more than the window; RLIMIT_STACK only down to 1 MiB, which its stack
// never reaches; RLIMIT_AS and RLIMIT_DATA to a few pages around what it has
// mapped (total_vm, data_vm) or back to unlimited. Soft above hard, and raising the hard limit
// without CAP_SYS_RESOURCE, are refused.
Op Generator::make_setrlimit(const AddressSpace& as) {
  Op op;
  op.kind = OpKind::Setrlimit;
  const Config& c = as.config();
  static constexpr std::uint64_t kPages[] = {0, 1, 2, 4, 8, 16, 64};
  const std::uint64_t soft = kPages[below(7)] * P;
  switch (below(8)) {
    case 0:  // RLIMIT_STACK, within what the child needs
      op.a = {abi::RLIMIT_STACK, (1 + below(8)) << 20, c.rlimit_stack_max, 0, 0, 0};
      break;
    case 6:    // RLIMIT_AS a few pages above total_vm (or below it), or unlimited again
    case 7: {  // RLIMIT_DATA likewise, above data_vm
      const bool as_limit = below(2) == 0;
      const std::uint64_t used = as_limit ? as.counters().total_vm : as.counters().data_vm;
      const std::uint64_t hard = as_limit ? c.rlimit_as_max : c.rlimit_data_max;
      std::uint64_t want = chance(6) ? ~0ULL : (used + kPages[below(7)] - below(3)) * P;
      if (chance(8)) want = 0;  // RLIMIT_DATA 0: data may still grow to the hard limit
      const auto resource =
          static_cast<std::uint64_t>(as_limit ? abi::RLIMIT_AS : abi::RLIMIT_DATA);
      op.a = {resource, std::min(want, hard), hard, 0, 0, 0};
      break;
    }
    case 1:  // soft above hard: EINVAL
      op.a = {abi::RLIMIT_MEMLOCK, soft + P, soft, 0, 0, 0};
      break;
    case 2:  // raise the hard limit
      op.a = {abi::RLIMIT_MEMLOCK, soft, c.rlimit_memlock_max + 64 * P, 0, 0, 0};
      break;
    default:  // the soft limit within the hard one, or both down
      op.a = {
          abi::RLIMIT_MEMLOCK,
          std::min(soft, c.rlimit_memlock_max),
          chance(2) ? c.rlimit_memlock_max : std::max(soft, std::min(soft, c.rlimit_memlock_max)),
          0,
          0,
          0};
  }
  return op;
}

// The child drops a capability mm checks, drops or raises its effective
// set within the permitted one, or tries to grow the permitted set (EPERM).
Op Generator::make_capset(const AddressSpace& as) {
  Op op;
  op.kind = OpKind::Capset;
  const Capabilities& k = as.config().caps;
  static constexpr int kCaps[] = {abi::CAP_IPC_LOCK, abi::CAP_SYS_RAWIO, abi::CAP_SYS_RESOURCE,
                                  abi::CAP_SETPCAP};
  const std::uint64_t bit = std::uint64_t{1} << kCaps[below(4)];
  switch (below(5)) {
    case 0:  // effective back to permitted
      op.a = {k.permitted, k.permitted, k.inheritable, 0, 0, 0};
      break;
    case 1:  // effective off
      op.a = {0, k.permitted, k.inheritable, 0, 0, 0};
      break;
    case 2:  // grow the permitted set: EPERM unless it is there already
      op.a = {k.effective | bit, k.permitted | bit, k.inheritable, 0, 0, 0};
      break;
    case 3:  // an inheritable capability
      op.a = {k.effective, k.permitted, k.inheritable | bit, 0, 0, 0};
      break;
    default:  // drop one for good
      op.a = {k.effective & ~bit, k.permitted & ~bit, k.inheritable, 0, 0, 0};
  }
  return op;
}

// One of the userfaultfd slots (kUffdFdBase...), now and then an fd that is
// no userfaultfd (ENOTTY) or none at all (EBADF). With `own_mm`, not a
// context of another mm: after a fork the parent's contexts register in its
// mm, which is exiting.
std::uint64_t Generator::pick_uffd_fd(const AddressSpace& as, bool own_mm) {
  if (chance(4) && own_mm) return static_cast<std::uint64_t>(ctx_.fds.memfd_a);
  if (chance(3)) return 999;
  const int first = kUffdFdBase + static_cast<int>(below(kUffdFds));
  for (int i = 0; i < kUffdFds; ++i) {
    const int fd = kUffdFdBase + (first - kUffdFdBase + i) % kUffdFds;
    const UffdCtx* ctx = as.files().uffd(as.uffd_of(fd));
    if (!own_mm || ctx == nullptr || ctx->mm == as.mm_id()) return static_cast<std::uint64_t>(fd);
  }
  return 999;
}

// userfaultfd(2) and its ioctls. Every context the child handshakes has
// UFFD_FEATURE_SIGBUS (a fault in a registered range fails rather than
// waiting for a monitor there is none of) and never an event feature (the
// call that raises an event waits until a monitor reads it).
Op Generator::make_uffd(OpKind k, const AddressSpace& as) {
  Op op;
  op.kind = k;
  const bool ranged = k == OpKind::UffdioRegister || k == OpKind::UffdioUnregister;
  const std::uint64_t fd = k == OpKind::Userfaultfd ? 0 : pick_uffd_fd(as, ranged);
  switch (k) {
    case OpKind::Userfaultfd: {
      static constexpr std::uint64_t kFlags[] = {
          abi::UFFD_CLOEXEC | abi::UFFD_NONBLOCK, abi::UFFD_CLOEXEC | abi::UFFD_NONBLOCK,
          abi::UFFD_CLOEXEC, abi::UFFD_USER_MODE_ONLY, 0x10 /* EINVAL */};
      op.a = {
          kFlags[below(5)], static_cast<std::uint64_t>(kUffdFdBase) + below(kUffdFds), 0, 0, 0, 0};
      return op;
    }
    case OpKind::UffdioApi: {
      constexpr std::uint64_t kSigbus = abi::UFFD_FEATURE_SIGBUS;
      static constexpr std::uint64_t kFeatures[] = {kSigbus,
                                                    kSigbus,
                                                    kSigbus | abi::UFFD_FEATURE_THREAD_ID,
                                                    kSigbus | abi::UFFD_FEATURE_WP_ASYNC,
                                                    kSigbus | abi::UFFD_FEATURE_EXACT_ADDRESS,
                                                    std::uint64_t{1} << 40 /* EINVAL */};
      op.a = {fd, chance(95) ? abi::UFFD_API : 0xab, kFeatures[below(6)], 0, 0, 0};
      return op;
    }
    default:
      break;
  }
  if (k == OpKind::Close) {
    op.a = {fd == static_cast<std::uint64_t>(ctx_.fds.memfd_a) ? 999 : fd, 0, 0, 0, 0, 0};
    return op;
  }
  const Addr a = pick_addr(as);
  static constexpr std::uint64_t kModes[] = {1, 1, 2, 3, 4, 6, 0, 8};  // MISSING, WP, MINOR
  op.a = {fd, a, pick_len(as, a), k == OpKind::UffdioRegister ? kModes[below(8)] : 0, 0, 0};
  return op;
}

Op Generator::make_brk() {
  Op op;
  op.kind = OpKind::Brk;
  Addr target = 0;
  switch (below(8)) {
    case 0:
      target = 0;
      break;
    case 1:
      target = ctx_.start_brk > P ? ctx_.start_brk - P : 0;
      break;  // below the start
    case 2:
      target = std::uint64_t{1} << 62;
      break;  // huge
    default:
      target = ctx_.initial_brk + below(48) * P + (chance(30) ? below(P) : 0);
      break;
  }
  op.a = {target, 0, 0, 0, 0, 0};
  return op;
}

Op Generator::make(OpKind k, const AddressSpace& as) {
  Op op;
  op.kind = k;
  switch (k) {
    case OpKind::Mmap:
      return make_mmap(as);
    case OpKind::Mremap:
      return make_mremap(as);
    case OpKind::Munmap:
    case OpKind::Mlock:
    case OpKind::Munlock: {
      const Addr a = pick_addr(as);
      op.a = {a, pick_len(as, a), 0, 0, 0, 0};
      return op;
    }
    case OpKind::Mprotect:
    case OpKind::PkeyMprotect:
      return make_mprotect(k, as);
    case OpKind::Madvise:
      return make_madvise(as);
    case OpKind::Mlock2: {
      const Addr a = pick_addr(as);
      static constexpr std::uint64_t kFlags[] = {0, 1, 1, 2};  // MLOCK_ONFAULT; 2 is invalid
      op.a = {a, pick_len(as, a), kFlags[below(4)], 0, 0, 0};
      return op;
    }
    case OpKind::Mlockall:
      return make_mlockall();
    case OpKind::Munlockall:
    case OpKind::Fork:
      return op;
    case OpKind::Brk:
      return make_brk();
    case OpKind::Prctl:
      return make_prctl();
    case OpKind::Setrlimit:
      return make_setrlimit(as);
    case OpKind::Capset:
      return make_capset(as);
    case OpKind::Mseal: {
      const Addr a = pick_addr(as);
      op.a = {a, pick_len(as, a), chance(2) ? 1U : 0U, 0, 0, 0};
      return op;
    }
    case OpKind::WriteFault: {
      Addr a = pick_addr(as);
      op.a = {a & kPageMask, 0, 0, 0, 0, 0};
      return op;
    }
    case OpKind::Userfaultfd:
    case OpKind::UffdioApi:
    case OpKind::UffdioRegister:
    case OpKind::UffdioUnregister:
    case OpKind::Close:
      return make_uffd(k, as);
  }
  return op;
}

namespace {

bool is_uffd_op(OpKind k) noexcept {
  return k == OpKind::Userfaultfd || k == OpKind::UffdioApi || k == OpKind::UffdioRegister ||
         k == OpKind::UffdioUnregister || k == OpKind::Close;
}

}  // namespace

Op Generator::next(const AddressSpace& as) {
  for (int attempt = 0; attempt < 32; ++attempt) {
    const OpKind k = pick_kind();
    if (!ctx_.uffd && is_uffd_op(k)) continue;
    Op op = make(k, as);
    if (is_confined(op, ctx_) && !touches_armed(op, as)) return op;
  }
  Op op;
  op.kind = OpKind::Munmap;
  op.a = {ctx_.window.base, P, 0, 0, 0, 0};
  return op;
}

bool is_confined(const Op& op, const GenContext& ctx) {
  const Window& w = ctx.window;
  const auto& a = op.a;
  Addr end = 0;
  switch (op.kind) {
    case OpKind::Mmap: {
      const bool fixed = (a[3] & (abi::MAP_FIXED | abi::MAP_FIXED_NOREPLACE)) != 0;
      if (!fixed) return true;  // the kernel never replaces anything for a hint
      if (!page_aligned(a[0]) || a[1] == 0) return true;
      if (!span(a[0], a[1], end) || end > kTaskSize) return true;
      return inside(w, a[0], end);
    }
    case OpKind::Munmap:
    case OpKind::Mseal:
    case OpKind::Mprotect:
    case OpKind::PkeyMprotect:
    case OpKind::Madvise:
      if (!page_aligned(a[0]) || a[1] == 0) return true;
      if (!span(a[0], a[1], end)) return true;
      if (op.kind == OpKind::Munmap && end > kTaskSize) return true;
      return inside(w, a[0], end);
    case OpKind::Mlock:
    case OpKind::Mlock2:
    case OpKind::Munlock: {
      const Addr start = a[0] & kPageMask;
      const std::uint64_t len = a[1] + (a[0] & (P - 1));
      if (len < a[1]) return true;  // wraps: PAGE_ALIGN gives 0, nothing happens
      if (!span(start, len, end)) return true;
      return inside(w, start, end);
    }
    case OpKind::Mremap: {
      if (!page_aligned(a[0])) return true;
      if (a[2] == 0) return true;
      if (a[1] > w.pages * P || a[2] > w.pages * P) return false;
      Addr old_end = 0;
      Addr new_end = 0;
      if (!span(a[0], a[1], old_end) || !span(a[0], a[2], new_end)) return false;
      if (!inside(w, a[0], old_end) || !inside(w, a[0], new_end)) return false;
      if ((a[3] & abi::MREMAP_FIXED) != 0) {
        if (!page_aligned(a[4])) return true;
        Addr t = 0;
        if (!span(a[4], a[2], t)) return false;
        return inside(w, a[4], t);
      }
      return true;
    }
    case OpKind::WriteFault:
      return a[0] >= w.base && a[0] < w.end();
    case OpKind::Brk:
      return a[0] < ctx.start_brk || a[0] >= (std::uint64_t{1} << 47) ||
             (a[0] >= ctx.initial_brk && a[0] <= ctx.initial_brk + 64 * P);
    case OpKind::Mlockall:
      return !ctx.no_populating_mlockall || (a[0] & 1) == 0 || (a[0] & 4) != 0;
    case OpKind::Munlockall:
    case OpKind::Fork:
    case OpKind::Prctl:
    case OpKind::Capset:
      return true;
    case OpKind::Setrlimit:  // the child's stack must still grow as it needs
      return a[0] != abi::RLIMIT_STACK || a[1] >= (std::uint64_t{1} << 20);
    case OpKind::Userfaultfd:
    case OpKind::UffdioApi:
    case OpKind::Close:
      return true;
    case OpKind::UffdioRegister:  // validate_range() refuses unaligned ranges
    case OpKind::UffdioUnregister:
      if (!page_aligned(a[1]) || !page_aligned(a[2]) || a[2] == 0) return true;
      if (!span(a[1], a[2], end)) return true;
      return inside(w, a[1], end);
  }
  return false;
}

bool touches_armed(const Op& op, const AddressSpace& as) {
  const auto& a = op.a;
  Addr start = a[0];
  std::uint64_t len = a[1];
  switch (op.kind) {
    case OpKind::WriteFault:
      len = 1;
      break;
    case OpKind::Madvise:
      if (a[2] != abi::MADV_POPULATE_READ && a[2] != abi::MADV_POPULATE_WRITE) return false;
      break;
    case OpKind::Mlock:
    case OpKind::Mlock2:
      len += start & (P - 1);
      if (len < a[1]) return false;  // wraps: nothing happens
      start &= kPageMask;
      break;
    default:
      return false;
  }
  Addr end = 0;
  if (!span(start, len, end)) return false;
  for (const Vma* v = as.vmas().lower(start); v != nullptr && v->start < end;
       v = as.vmas().next_of(*v))
    if ((v->flags & (vm::UFFD_MISSING | vm::UFFD_MINOR)) != 0) return true;
  return false;
}

}  // namespace vmseal::difftest
