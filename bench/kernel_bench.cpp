// Kernel_* benchmarks (Google Benchmark): the same stream of system calls made
// natively on the running kernel and in an engine AddressSpace, in this one
// process and one run, so the two costs can be compared as a ratio (issue 6).
//
// Layout: engine_bench.cpp's, built natively AND in an engine AddressSpace by
// the same calls (same addresses, same order), with every result compared:
// N VMAs in N/2 "slots" of 16 pages starting at 16 TiB (kBase, far from the
// program, its heap, its libraries and the stack),
//   [0-4) A: r--p anonymous   [4-8) B: rw-p anonymous   [8-16) hole
// The build is: mmap(kBase, N/2 * 64 KiB, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|
// MAP_NORESERVE|MAP_FIXED_NOREPLACE) to reserve the region (EEXIST natively
// means something is already there: an error), then per slot mmap(MAP_FIXED)
// of A (r) and B (rw) over the reservation and munmap of the hole; then the
// warm-up churn of engine_bench.cpp (map and unmap one page in each hole, slot
// by slot in permutation order). No page is ever touched, so no VMA gets an anon_vma or
// page tables, natively or in the engine. One layout exists at a time: it is
// built when a benchmark asks for a new N (the benchmarks are registered size
// by size, so each N is built once per run) and torn down (one munmap of the
// region, natively) before the next N is built and at exit.
//
// vm.max_map_count: when N plus the process's other mappings plus the largest
// growth (a batch's splits, the mseal child's 3K) does not fit, /proc/sys/vm/max_map_count is
// raised (root) and restored to its old value when the layout is torn down and at exit. If it
// cannot be raised, the benchmark is skipped with an error. The engine's
// config().max_map_count is 2^24 (the engine holds only the region).
//
// Method: engine_bench.cpp's. Each benchmark iteration is ONE system call.
// Batches of K (=128) distinct slots (a random permutation of the slots, fixed
// seed, cycled): an untimed preparation, the K timed calls, an untimed inverse,
// so the layout is back to N VMAs after each batch. Within a batch the K calls
// are made natively (syscall(2)) with one clock read around them, then the same
// K calls on the engine with another; each pair of results is compared
// (return value, or errno) after both have run, and so are the untimed calls'.
// Timing is thread CPU time (CLOCK_THREAD_CPUTIME_ID, which includes the time
// spent in the kernel), less a calibrated clock-read cost. The kernel's time is
// given to SetIterationTime (UseManualTime): the "Time" column is kernel CPU
// ns per call, the "CPU" column includes all the untimed work and the engine
// side and means nothing here. The engine's calls run right after the
// kernel's, so they find the caches and TLB as K system calls left them; the
// AS_* rows of engine_bench.cpp measure the engine alone.
//
//   Kernel_MmapFixed     mmap(MAP_FIXED|MAP_PRIVATE|MAP_ANONYMOUS, PROT_READ) of 1 page
//                        in the middle of a hole (slot + 11 pages)   undo: munmap it
//   Kernel_Munmap        munmap of that page              prep: mmap it
//   Kernel_MprotectSplit mprotect(PROT_READ|PROT_WRITE) of page 1 or 2 of A (A splits
//                        in 3)                            undo: mprotect(PROT_READ)
//   Kernel_MsealSplit    mseal(page, 4096, 0) of the middle page of a fresh 3-page r
//                        VMA [10-13) in a hole (split in 3). Seals are one-way and a
//                        sealed VMA can never be unmapped, so each batch runs in a
//                        child forked for it, which inherits the layout (natively
//                        by fork, in the engine as a copy), maps K = max(64, N/16)
//                        candidates on both sides (untimed), times the K mseal calls
//                        natively and on the engine, and sends both times back
//                        through a pipe before exiting. The benchmark process never
//                        holds a seal. The map count grows from N+K to N+3K within
//                        the batch, as in AS_MsealSplit.
// (No lookup: the kernel has no system call that only finds a VMA.)
//
// Checks: every native call's result must equal the engine's (a mismatch is
// a benchmark error naming the call and both results); after the build and
// at the end of each run (for MsealSplit: in the child of each run's first
// batch) the region's entries in /proc/self/maps (start, end, rwxp) must
// equal the engine's VMAs. Reading the maps of 1M VMAs takes about a second;
// it is untimed.
//
// Counters (per call, over the whole run): kernel_ns, engine_ns, ratio =
// kernel_ns / engine_ns, vmas = the layout's VMA count when the run ends (N;
// verified natively in the maps).
//
// Run (see bench/README.md):
//   vmseal_bench --benchmark_filter='^Kernel_' --benchmark_min_time=0.1
//                --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// (about 2 minutes wall clock here, most of it building and checking the 1M
// layout natively; bench/plot_scaling.sh draws its JSON output).
//
// First, before any standard header (types.hpp's Errno vs <cerrno>).
#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"
#include "vmseal/kernel/process_state.hpp"
#include "vmseal/kernel/syscalls.hpp"

#include "thread_clock.hpp"

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

namespace vmseal {
namespace {

constexpr Addr P = kPageSize;
constexpr Addr kBase = Addr{1} << 44;  // 16 TiB
constexpr Addr kSlot = 16 * P;
constexpr std::size_t kBatch = 128;
constexpr std::uint64_t kAnon = abi::MAP_PRIVATE | abi::MAP_ANONYMOUS;
constexpr std::uint64_t kFixedAnon = kAnon | abi::MAP_FIXED;
constexpr std::uint64_t kReserve = kAnon | abi::MAP_NORESERVE | abi::MAP_FIXED_NOREPLACE;
constexpr std::uint64_t kR = abi::PROT_READ;
constexpr std::uint64_t kRW = abi::PROT_READ | abi::PROT_WRITE;
constexpr std::uint64_t kNoFd = ~std::uint64_t{0};  // -1 in the fd register
constexpr std::size_t kSizes[] = {1000, 4096, 16384, 65530, 262144, 1000000};

std::size_t seal_batch(std::size_t n) { return std::max<std::size_t>(64, n / 16); }

std::string strf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string strf(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}
unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

// ---- native calls and their comparison with the engine's -------------------

// A raw system call: its return value, or -errno.
inline long sys(long nr, std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d = 0,
                std::uint64_t e = 0, std::uint64_t f = 0) {
  const long r = syscall(nr, a, b, c, d, e, f);
  return r == -1 ? -errno : r;
}

bool same(long native, const SysResult& e) {
  if (native < 0) return e.is_error() && static_cast<long>(e.error()) == -native;
  return e.is_ok() && e.value() == static_cast<std::uint64_t>(native);
}
std::string show(long native) {
  if (native < 0) {
    const auto name = errno_name(static_cast<Errno>(-native));
    return name.empty() ? strf("-%ld", -native) : "-" + std::string(name);
  }
  return strf("%#lx", native);
}
std::string show(const SysResult& e) {
  return e.is_error() ? "-" + std::string(errno_name(e.error())) : strf("%#llx", ull(e.value()));
}

// The calls, each with its native and engine forms and its text. `s` is the
// slot's address, `page` a middle page of its A.
Addr hole_page(Addr s) { return s + 11 * P; }

struct MapHole {
  static long native(Addr s, Addr) {
    return sys(SYS_mmap, hole_page(s), P, kR, kFixedAnon, kNoFd, 0);
  }
  static SysResult engine(AddressSpace& as, Addr s, Addr) {
    return as.mmap(hole_page(s), P, kR, kFixedAnon, -1, 0);
  }
  static std::string text(Addr s, Addr) {
    return strf("mmap(%#llx, 0x1000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)",
                ull(hole_page(s)));
  }
};
struct UnmapHole {
  static long native(Addr s, Addr) { return sys(SYS_munmap, hole_page(s), P, 0); }
  static SysResult engine(AddressSpace& as, Addr s, Addr) { return as.munmap(hole_page(s), P); }
  static std::string text(Addr s, Addr) { return strf("munmap(%#llx, 0x1000)", ull(hole_page(s))); }
};
struct ProtectRW {
  static long native(Addr, Addr page) { return sys(SYS_mprotect, page, P, kRW); }
  static SysResult engine(AddressSpace& as, Addr, Addr page) { return as.mprotect(page, P, kRW); }
  static std::string text(Addr, Addr page) {
    return strf("mprotect(%#llx, 0x1000, PROT_READ|PROT_WRITE)", ull(page));
  }
};
struct ProtectR {
  static long native(Addr, Addr page) { return sys(SYS_mprotect, page, P, kR); }
  static SysResult engine(AddressSpace& as, Addr, Addr page) { return as.mprotect(page, P, kR); }
  static std::string text(Addr, Addr page) {
    return strf("mprotect(%#llx, 0x1000, PROT_READ)", ull(page));
  }
};
struct MapCandidate {  // a fresh 3-page r VMA [10-13) in the hole
  static long native(Addr s, Addr) {
    return sys(SYS_mmap, s + 10 * P, 3 * P, kR, kFixedAnon, kNoFd, 0);
  }
  static SysResult engine(AddressSpace& as, Addr s, Addr) {
    return as.mmap(s + 10 * P, 3 * P, kR, kFixedAnon, -1, 0);
  }
  static std::string text(Addr s, Addr) {
    return strf("mmap(%#llx, 0x3000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)",
                ull(s + 10 * P));
  }
};
struct SealMid {  // its middle page
  static long native(Addr s, Addr) { return sys(abi::NR_mseal, s + 11 * P, P, 0); }
  static SysResult engine(AddressSpace& as, Addr s, Addr) { return as.mseal(s + 11 * P, P, 0); }
  static std::string text(Addr s, Addr) { return strf("mseal(%#llx, 0x1000, 0)", ull(s + 11 * P)); }
};
struct Nothing {};

// ---- timing: bench/thread_clock.hpp ------------------------------------------

using bench::clock_overhead;
using bench::cpu_now;
using bench::seconds_since;

// ---- vm.max_map_count -------------------------------------------------------

constexpr const char* kMaxMapCount = "/proc/sys/vm/max_map_count";
long g_original_limit = -1;  // the value before this process raised it

long read_limit() { return static_cast<long>(kernel::read_vm_sysctl("max_map_count", 0)); }
bool write_limit(long v) {
  const int fd = open(kMaxMapCount, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const std::string s = std::to_string(v) + "\n";
  const bool ok = write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
  close(fd);
  return ok && read_limit() == v;
}
void restore_limit() {
  if (g_original_limit >= 0 && write_limit(g_original_limit)) g_original_limit = -1;
}

// Interrupted (Ctrl-C, kill, a closed terminal), the process would skip
// atexit and leave the machine's vm.max_map_count raised. The handler writes
// the old value back with async-signal-safe calls only, in this process only
// (not in a forked mseal child), then dies of the signal as it would have.
char g_restore_text[24];
std::size_t g_restore_len = 0;
pid_t g_limit_owner = 0;
extern "C" void restore_limit_on_signal(int sig) {
  if (g_restore_len != 0 && getpid() == g_limit_owner) {
    const int fd = open(kMaxMapCount, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)!write(fd, g_restore_text, g_restore_len);
      close(fd);
    }
  }
  signal(sig, SIG_DFL);
  raise(sig);
}
void restore_limit_on_signals(long original) {
  const int n = std::snprintf(g_restore_text, sizeof g_restore_text, "%ld\n", original);
  g_restore_len = n > 0 ? static_cast<std::size_t>(n) : 0;
  g_limit_owner = getpid();
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(sig, restore_limit_on_signal);
}
// Makes vm.max_map_count at least `need`, raising it when it is lower.
bool ensure_limit(long need, std::string& err) {
  const long now = read_limit();
  if (now >= need) return true;
  if (g_original_limit < 0) {
    g_original_limit = now;
    static const bool registered =
        (std::atexit(restore_limit), restore_limit_on_signals(now), true);
    (void)registered;
  }
  if (write_limit(need)) return true;
  err = strf(
      "vm.max_map_count is %ld and this size needs %ld; %s could not be raised "
      "(not root, or read-only): raise it by hand",
      now, need, kMaxMapCount);
  return false;
}

// ---- /proc/self/maps --------------------------------------------------------

// Calls `f(start, end, perms)` for every line of /proc/self/maps. False when it
// cannot be read.
template <class F>
bool for_each_map(F&& f) {
  const int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::vector<char> buf(std::size_t{1} << 20);
  std::size_t have = 0;
  bool ok = true;
  for (;;) {
    const ssize_t r = read(fd, buf.data() + have, buf.size() - have);
    if (r < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    have += static_cast<std::size_t>(r);
    std::size_t pos = 0;
    for (;;) {
      const void* nl = std::memchr(buf.data() + pos, '\n', have - pos);
      if (nl == nullptr) break;
      const std::size_t eol = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
      char* p = buf.data() + pos;
      buf[eol] = '\0';
      char* q = nullptr;
      const Addr start = std::strtoull(p, &q, 16);
      const Addr end = std::strtoull(q + 1, &q, 16);
      f(start, end, q + 1);
      pos = eol + 1;
    }
    std::memmove(buf.data(), buf.data() + pos, have - pos);
    have -= pos;
    if (r == 0) break;
  }
  close(fd);
  return ok;
}

std::size_t native_map_count() {
  std::size_t n = 0;
  for_each_map([&](Addr, Addr, const char*) { ++n; });
  return n;
}

// The region's entries in /proc/self/maps against the engine's VMAs there:
// the same starts, ends and permissions, in order.
bool layout_matches(const AddressSpace& as, Addr lo, Addr hi, std::string& err,
                    std::size_t* count = nullptr) {
  const VmaTree& t = as.vmas();
  const Vma* v = t.lower(lo);
  std::size_t n = 0;
  bool differs = false;
  const bool read = for_each_map([&](Addr s, Addr e, const char* perms) {
    if (differs || e <= lo || s >= hi) return;
    char want[5] = {'-', '-', '-', 'p', '\0'};
    if (v != nullptr) {
      if (v->flags & vm::READ) want[0] = 'r';
      if (v->flags & vm::WRITE) want[1] = 'w';
      if (v->flags & vm::EXEC) want[2] = 'x';
      if (v->flags & vm::MAYSHARE) want[3] = 's';
    }
    if (v == nullptr || v->start >= hi || v->start != s || v->end != e ||
        std::strncmp(perms, want, 4) != 0) {
      err = strf("layout differs at VMA %zu of the region: kernel %#llx-%#llx %.4s, engine ", n,
                 ull(s), ull(e), perms) +
            (v == nullptr || v->start >= hi
                 ? std::string("none")
                 : strf("%#llx-%#llx %s", ull(v->start), ull(v->end), want));
      differs = true;
      return;
    }
    ++n;
    v = t.next_of(*v);
  });
  if (!read) {
    err = "cannot read /proc/self/maps";
    return false;
  }
  if (differs) return false;
  if (v != nullptr && v->start < hi) {
    err = strf(
        "layout differs: the kernel has %zu VMAs in the region, the engine more "
        "(next %#llx-%#llx)",
        n, ull(v->start), ull(v->end));
    return false;
  }
  if (count != nullptr) *count = n;
  return true;
}

// ---- the layout, natively and in the engine ---------------------------------

struct World {
  std::size_t n = 0;      // VMAs in the steady layout
  std::size_t slots = 0;  // n / 2
  Addr span = 0;          // slots * kSlot
  AddressSpace as;
  std::vector<std::uint32_t> perm;  // random permutation of the slots, cycled
  std::size_t cursor = 0;
  std::mt19937_64 rng;
  bool native_mapped = false;  // the region is mapped natively (tear it down)
  bool broken = false;         // a call failed or differed: rebuild before reuse

  Addr slot(std::size_t s) const { return kBase + s * kSlot; }
  void take(std::size_t k, std::vector<Addr>& out) {
    out.resize(k);
    for (std::size_t i = 0; i < k; ++i) {
      out[i] = slot(perm[cursor]);
      if (++cursor == perm.size()) cursor = 0;
    }
  }
  // Both sides, untimed, compared; false with `err` on the first difference.
  template <class C>
  bool both(Addr s, Addr page, std::string& err) {
    const long k = C::native(s, page);
    const SysResult e = C::engine(as, s, page);
    if (same(k, e)) return true;
    err = C::text(s, page) + ": kernel " + show(k) + ", engine " + show(e);
    return false;
  }
  ~World() {
    if (native_mapped && sys(SYS_munmap, kBase, span, 0) != 0) std::abort();
    restore_limit();
  }
};

struct Reserve {
  static long native(Addr, std::uint64_t len) {
    return sys(SYS_mmap, kBase, len, abi::PROT_NONE, kReserve, kNoFd, 0);
  }
};

std::unique_ptr<World> g_world;

// The process's own mappings plus N, plus the largest growth (a batch's 2K
// splits, the mseal child's 3K), plus margin.
long limit_needed(std::size_t n) {
  const std::size_t growth = std::max({2 * kBatch, 3 * seal_batch(n)});
  return static_cast<long>(native_map_count() + n + growth + 1024);
}

bool build(World& w, std::string& err) {
  const auto fail = [&](const std::string& what) {
    err = "building the layout: " + what;
    return false;
  };
  // The reservation (the region must be free natively).
  const long r = Reserve::native(0, w.span);
  if (r == static_cast<long>(kBase))
    w.native_mapped = true;
  else if (r >= 0)
    sys(SYS_munmap, static_cast<std::uint64_t>(r), w.span, 0);  // not where asked
  if (r == -EEXIST)
    return fail(
        strf("[%#llx, %#llx) is already in use in this process", ull(kBase), ull(kBase + w.span)));
  const SysResult e = w.as.mmap(kBase, w.span, abi::PROT_NONE, kReserve, -1, 0);
  if (!same(r, e) || r != static_cast<long>(kBase))
    return fail(strf("mmap(%#llx, %#llx, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE|"
                     "MAP_FIXED_NOREPLACE, -1, 0): kernel ",
                     ull(kBase), ull(w.span)) +
                show(r) + ", engine " + show(e));
  struct MapA {
    static long native(Addr s, Addr) { return sys(SYS_mmap, s, 4 * P, kR, kFixedAnon, kNoFd, 0); }
    static SysResult engine(AddressSpace& as, Addr s, Addr) {
      return as.mmap(s, 4 * P, kR, kFixedAnon, -1, 0);
    }
    static std::string text(Addr s, Addr) {
      return strf("mmap(%#llx, 0x4000, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)",
                  ull(s));
    }
  };
  struct MapB {
    static long native(Addr s, Addr) {
      return sys(SYS_mmap, s + 4 * P, 4 * P, kRW, kFixedAnon, kNoFd, 0);
    }
    static SysResult engine(AddressSpace& as, Addr s, Addr) {
      return as.mmap(s + 4 * P, 4 * P, kRW, kFixedAnon, -1, 0);
    }
    static std::string text(Addr s, Addr) {
      return strf(
          "mmap(%#llx, 0x4000, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, "
          "-1, 0)",
          ull(s + 4 * P));
    }
  };
  struct UnmapGap {
    static long native(Addr s, Addr) { return sys(SYS_munmap, s + 8 * P, 8 * P, 0); }
    static SysResult engine(AddressSpace& as, Addr s, Addr) { return as.munmap(s + 8 * P, 8 * P); }
    static std::string text(Addr s, Addr) { return strf("munmap(%#llx, 0x8000)", ull(s + 8 * P)); }
  };
  std::string why;
  for (std::size_t s = 0; s < w.slots; ++s) {
    const Addr b = w.slot(s);
    if (!w.both<MapA>(b, 0, why) || !w.both<MapB>(b, 0, why) || !w.both<UnmapGap>(b, 0, why))
      return fail(why);
  }
  if (w.as.map_count() != w.n) return fail(strf("%zu VMAs in the engine", w.as.map_count()));
  w.perm.resize(w.slots);
  for (std::size_t s = 0; s < w.slots; ++s) w.perm[s] = static_cast<std::uint32_t>(s);
  std::shuffle(w.perm.begin(), w.perm.end(), w.rng);
  // Warm-up churn (engine_bench.cpp's): a page into each hole and out again,
  // slot by slot.
  for (std::uint32_t s : w.perm)
    if (!w.both<MapHole>(w.slot(s), 0, why) || !w.both<UnmapHole>(w.slot(s), 0, why))
      return fail(why);
  std::size_t native_n = 0;
  if (!layout_matches(w.as, kBase, kBase + w.span, why, &native_n)) return fail(why);
  if (native_n != w.n || w.as.map_count() != w.n)
    return fail(
        strf("%zu VMAs natively, %zu in the engine, %zu wanted", native_n, w.as.map_count(), w.n));
  return true;
}

// The layout of N VMAs, built if needed (tearing down any other); nullptr
// with `err` when it cannot be had.
World* world(std::size_t n, std::string& err) {
  if (g_world && g_world->n == n && !g_world->broken) return g_world.get();
  g_world.reset();   // one layout at a time: munmap of the old region
  clock_overhead();  // calibrated once, before any fork
  if (!ensure_limit(limit_needed(n), err)) return nullptr;
  auto w = std::make_unique<World>();
  w->n = n;
  w->slots = n / 2;
  w->span = w->slots * kSlot;
  w->rng.seed(0x5ea1 + n);
  Config& c = w->as.config();
  c.max_map_count = std::uint64_t{1} << 24;
  c.caps = kernel::read_capabilities();
  c.overcommit_never = kernel::read_vm_sysctl("overcommit_memory", 0) == 2;
  if (!build(*w, err)) return nullptr;  // ~World unmaps what was built
  g_world = std::move(w);
  return g_world.get();
}

// ---- the benchmarks ---------------------------------------------------------

struct Totals {
  double kernel_s = 0;
  double engine_s = 0;
  std::uint64_t calls = 0;
};

void finish(benchmark::State& state, World* w, const Totals& t, const std::string& err) {
  std::string why = err;
  std::size_t native_n = 0;
  if (why.empty() && w != nullptr && !layout_matches(w->as, kBase, kBase + w->span, why, &native_n))
    why = "after the run: " + why;
  if (why.empty() && w != nullptr && (native_n != w->n || w->as.map_count() != w->n))
    why = strf("layout not restored: %zu VMAs natively, %zu in the engine, %zu wanted", native_n,
               w->as.map_count(), w->n);
  if (t.calls != 0) {
    state.counters["kernel_ns"] = t.kernel_s * 1e9 / static_cast<double>(t.calls);
    state.counters["engine_ns"] = t.engine_s * 1e9 / static_cast<double>(t.calls);
    state.counters["ratio"] = t.engine_s > 0 ? t.kernel_s / t.engine_s : 0.0;
  }
  if (w != nullptr) state.counters["vmas"] = static_cast<double>(w->as.map_count());
  if (!why.empty()) {
    if (w != nullptr) w->broken = true;
    state.SkipWithError(why.c_str());
  }
}

// Untimed: the call on both sides for every slot of the batch.
template <class C>
bool untimed(World& w, const std::vector<Addr>& batch, const std::vector<Addr>& page,
             std::string& err) {
  if constexpr (!std::is_same_v<C, Nothing>) {
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (!w.both<C>(batch[i], page[i], err)) return false;
  }
  return true;
}

// Timed: the K calls natively, then the same K calls on `as`; then compared.
template <class C>
bool timed(AddressSpace& as, const std::vector<Addr>& batch, const std::vector<Addr>& page,
           std::vector<long>& kres, std::vector<SysResult>& eres, double& kernel_s,
           double& engine_s, std::string& err) {
  const std::size_t k = batch.size();
  kres.assign(k, 0);
  eres.assign(k, SysResult{});
  double t0 = cpu_now();
  for (std::size_t i = 0; i < k; ++i) kres[i] = C::native(batch[i], page[i]);
  kernel_s = seconds_since(t0);
  t0 = cpu_now();
  for (std::size_t i = 0; i < k; ++i) eres[i] = C::engine(as, batch[i], page[i]);
  engine_s = seconds_since(t0);
  for (std::size_t i = 0; i < k; ++i)
    if (!same(kres[i], eres[i])) {
      err = C::text(batch[i], page[i]) + ": kernel " + show(kres[i]) + ", engine " + show(eres[i]);
      return false;
    }
  return true;
}

template <class Prep, class Op, class Post>
void kernel_batched(benchmark::State& state) {
  std::string err;
  World* w = world(static_cast<std::size_t>(state.range(0)), err);
  if (w == nullptr) {
    state.SkipWithError(err.c_str());
    return;
  }
  std::vector<Addr> batch;
  std::vector<Addr> page(kBatch);
  std::vector<long> kres;
  std::vector<SysResult> eres;
  Totals t;
  while (state.KeepRunningBatch(kBatch)) {
    if (!err.empty()) continue;
    w->take(kBatch, batch);
    for (std::size_t i = 0; i < kBatch; ++i) page[i] = batch[i] + (1 + w->rng() % 2) * P;
    double ks = 0;
    double es = 0;
    if (!untimed<Prep>(*w, batch, page, err) ||
        !timed<Op>(w->as, batch, page, kres, eres, ks, es, err) ||
        !untimed<Post>(*w, batch, page, err)) {
      state.SkipWithError(err.c_str());
      continue;
    }
    state.SetIterationTime(ks);
    t.kernel_s += ks;
    t.engine_s += es;
    t.calls += kBatch;
  }
  finish(state, w, t, err);
}

// One side's calls for a batch (the other side runs them in its own phase).
template <class C>
void native_calls(const std::vector<Addr>& batch, const std::vector<Addr>& page, long* out) {
  if constexpr (!std::is_same_v<C, Nothing>)
    for (std::size_t i = 0; i < batch.size(); ++i) out[i] = C::native(batch[i], page[i]);
}
template <class C>
void engine_calls(AddressSpace& as, const std::vector<Addr>& batch, const std::vector<Addr>& page,
                  SysResult* out) {
  if constexpr (!std::is_same_v<C, Nothing>)
    for (std::size_t i = 0; i < batch.size(); ++i) out[i] = C::engine(as, batch[i], page[i]);
}
template <class C>
bool same_results(const std::vector<Addr>& batch, const std::vector<Addr>& page, const long* k,
                  const SysResult* e, std::string& err) {
  if constexpr (!std::is_same_v<C, Nothing>)
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (!same(k[i], e[i])) {
        err = C::text(batch[i], page[i]) + ": kernel " + show(k[i]) + ", engine " + show(e[i]);
        return false;
      }
  return true;
}

// The phased form: kPhase batches (prepare, K timed calls, undo) natively,
// then the same kPhase batches in the engine, then every result compared. The
// engine's calls then follow engine calls, not system calls: what a trace
// replayer or a sandbox that keeps its own copy of the layout sees, and the
// kernel's calls likewise follow the kernel's own. The only system calls in
// the engine phase are the clock reads around each batch.
constexpr std::size_t kPhase = 16;

template <class Prep, class Op, class Post>
void kernel_phased(benchmark::State& state) {
  std::string err;
  World* w = world(static_cast<std::size_t>(state.range(0)), err);
  if (w == nullptr) {
    state.SkipWithError(err.c_str());
    return;
  }
  std::vector<std::vector<Addr>> batch(kPhase), page(kPhase, std::vector<Addr>(kBatch));
  // Per batch: prep, op and post results, K each.
  std::vector<long> kres(kPhase * 3 * kBatch);
  std::vector<SysResult> eres(kPhase * 3 * kBatch);
  Totals t;
  while (state.KeepRunningBatch(kPhase * kBatch)) {
    if (!err.empty()) continue;
    for (std::size_t b = 0; b < kPhase; ++b) {
      w->take(kBatch, batch[b]);
      for (std::size_t i = 0; i < kBatch; ++i) page[b][i] = batch[b][i] + (1 + w->rng() % 2) * P;
    }
    double ks = 0;
    for (std::size_t b = 0; b < kPhase; ++b) {
      long* r = &kres[b * 3 * kBatch];
      native_calls<Prep>(batch[b], page[b], r);
      const double t0 = cpu_now();
      native_calls<Op>(batch[b], page[b], r + kBatch);
      ks += seconds_since(t0);
      native_calls<Post>(batch[b], page[b], r + 2 * kBatch);
    }
    double es = 0;
    for (std::size_t b = 0; b < kPhase; ++b) {
      SysResult* r = &eres[b * 3 * kBatch];
      engine_calls<Prep>(w->as, batch[b], page[b], r);
      const double t0 = cpu_now();
      engine_calls<Op>(w->as, batch[b], page[b], r + kBatch);
      es += seconds_since(t0);
      engine_calls<Post>(w->as, batch[b], page[b], r + 2 * kBatch);
    }
    for (std::size_t b = 0; b < kPhase && err.empty(); ++b) {
      const long* k = &kres[b * 3 * kBatch];
      const SysResult* e = &eres[b * 3 * kBatch];
      (void)(same_results<Prep>(batch[b], page[b], k, e, err) &&
             same_results<Op>(batch[b], page[b], k + kBatch, e + kBatch, err) &&
             same_results<Post>(batch[b], page[b], k + 2 * kBatch, e + 2 * kBatch, err));
    }
    if (!err.empty()) {
      state.SkipWithError(err.c_str());
      continue;
    }
    state.SetIterationTime(ks);
    t.kernel_s += ks;
    t.engine_s += es;
    t.calls += kPhase * kBatch;
  }
  finish(state, w, t, err);
}

void Kernel_MmapFixed(benchmark::State& state) {
  kernel_batched<Nothing, MapHole, UnmapHole>(state);
}
void Kernel_Munmap(benchmark::State& state) { kernel_batched<MapHole, UnmapHole, Nothing>(state); }
void Kernel_MprotectSplit(benchmark::State& state) {
  kernel_batched<Nothing, ProtectRW, ProtectR>(state);
}
void Kernel_MmapFixedPhased(benchmark::State& state) {
  kernel_phased<Nothing, MapHole, UnmapHole>(state);
}
void Kernel_MunmapPhased(benchmark::State& state) {
  kernel_phased<MapHole, UnmapHole, Nothing>(state);
}
void Kernel_MprotectSplitPhased(benchmark::State& state) {
  kernel_phased<Nothing, ProtectRW, ProtectR>(state);
}

// What a mseal child sends back.
struct SealReport {
  double kernel_s = 0;
  double engine_s = 0;
  char error[1024] = {};
};

// In the child: candidates on both sides, then the K seals timed on each.
void seal_child(World& w, const std::vector<Addr>& batch, bool check_layout, SealReport& rep) {
  std::string err;
  AddressSpace work = w.as;  // the engine's copy of the layout (untimed)
  const std::vector<Addr> page(batch.size(), 0);
  std::vector<long> kres;
  std::vector<SysResult> eres;
  for (Addr s : batch) {
    const long k = MapCandidate::native(s, 0);
    const SysResult e = MapCandidate::engine(work, s, 0);
    if (!same(k, e)) {
      err = MapCandidate::text(s, 0) + ": kernel " + show(k) + ", engine " + show(e);
      break;
    }
  }
  if (err.empty()) timed<SealMid>(work, batch, page, kres, eres, rep.kernel_s, rep.engine_s, err);
  if (err.empty() && work.map_count() != w.n + 3 * batch.size())
    err = strf("%zu VMAs in the engine after the seals, %zu expected", work.map_count(),
               w.n + 3 * batch.size());
  std::size_t native_n = 0;
  if (err.empty() && check_layout && !layout_matches(work, kBase, kBase + w.span, err, &native_n))
    err = "after the seals: " + err;
  std::snprintf(rep.error, sizeof rep.error, "%s", err.c_str());
}

void Kernel_MsealSplit(benchmark::State& state) {
  const auto probe = kernel::probe_mseal();
  if (probe.support != kernel::MsealSupport::Available) {
    state.SkipWithError(
        strf("%s (errno %d)", std::string(kernel::describe(probe)).c_str(), probe.error).c_str());
    return;
  }
  std::string err;
  World* w = world(static_cast<std::size_t>(state.range(0)), err);
  if (w == nullptr) {
    state.SkipWithError(err.c_str());
    return;
  }
  const std::size_t k = seal_batch(w->n);
  std::vector<Addr> batch;
  Totals t;
  bool first = true;
  while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(k))) {
    if (!err.empty()) continue;
    w->take(k, batch);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      err = strf("pipe: %s", std::strerror(errno));
      state.SkipWithError(err.c_str());
      continue;
    }
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      SealReport rep;
      seal_child(*w, batch, first, rep);
      const char* p = reinterpret_cast<const char*>(&rep);
      std::size_t left = sizeof rep;
      while (left > 0) {
        const ssize_t r = write(fds[1], p, left);
        if (r <= 0 && errno != EINTR) _exit(2);
        if (r > 0) {
          p += r;
          left -= static_cast<std::size_t>(r);
        }
      }
      _exit(0);
    }
    close(fds[1]);
    SealReport rep;
    std::size_t got = 0;
    if (pid > 0) {
      char* p = reinterpret_cast<char*>(&rep);
      for (;;) {
        const ssize_t r = read(fds[0], p + got, sizeof rep - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
        if (got == sizeof rep) break;
      }
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      if (got != sizeof rep || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        err = strf("the mseal child failed (status %#x, %zu of %zu report bytes)", status, got,
                   sizeof rep);
      else if (rep.error[0] != '\0')
        err = rep.error;
    } else {
      err = strf("fork: %s", std::strerror(errno));
    }
    close(fds[0]);
    if (!err.empty()) {
      state.SkipWithError(err.c_str());
      continue;
    }
    first = false;
    state.SetIterationTime(rep.kernel_s);
    t.kernel_s += rep.kernel_s;
    t.engine_s += rep.engine_s;
    t.calls += k;
  }
  // The parent's layout is untouched (the seals were in the children).
  finish(state, w, t, err);
}

using bench::stat_max;
using bench::stat_min;

// Registered size by size (all operations at one N, then the next N), so each
// layout is built once per run.
const bool registered = [] {
  using Fn = void (*)(benchmark::State&);
  const struct {
    const char* name;
    Fn fn;
  } ops[] = {{"Kernel_MmapFixed", Kernel_MmapFixed},
             {"Kernel_Munmap", Kernel_Munmap},
             {"Kernel_MprotectSplit", Kernel_MprotectSplit},
             {"Kernel_MsealSplit", Kernel_MsealSplit},
             {"Kernel_MmapFixedPhased", Kernel_MmapFixedPhased},
             {"Kernel_MunmapPhased", Kernel_MunmapPhased},
             {"Kernel_MprotectSplitPhased", Kernel_MprotectSplitPhased}};
  for (std::size_t n : kSizes)
    for (const auto& op : ops)
      benchmark::RegisterBenchmark(op.name, op.fn)
          ->Arg(static_cast<std::int64_t>(n))
          ->UseManualTime()
          ->ComputeStatistics("min", stat_min)
          ->ComputeStatistics("max", stat_max);
  return true;
}();

}  // namespace
}  // namespace vmseal
