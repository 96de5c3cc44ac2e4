// AddressSpace benchmarks (Google Benchmark): whole system calls of the engine
// (validation, placement, gather/unmap, merge/split, accounting), not just the
// VmaTree container (that is bench/vma_tree_bench.cpp).
//
// Layout (built once per size with mmap(MAP_FIXED), cached for the whole run):
// N VMAs in N/2 "slots" of 16 pages starting at 4 GiB,
//   [0-4) A: r--p anonymous   [4-8) B: rw-p anonymous   [8-16) hole
// A and B touch but have different protections, so nothing merges. The
// address of every operation is picked from a random permutation of the slots
// (fixed seed), so one batch never touches a slot twice.
//
// Method. Each benchmark iteration is ONE system call. Operations that change
// the layout run in batches of K (=128) distinct slots (KeepRunningBatch): an
// untimed preparation, the K timed calls, an untimed inverse, so the layout is
// back to exactly N VMAs after every batch (within a batch it drifts by at
// most K VMAs). The timed part is measured in thread CPU time and reported with
// SetIterationTime (UseManualTime), so the "Time" column is CPU ns per call;
// the "CPU" column also contains the untimed work and is not meaningful here.
// No PauseTiming is used (each pause/resume reads the process CPU clock, a
// ~1-3 us system call on this VM, and would not amortise for small batches).
// Cache state: AS_MmapFixed, AS_MunmapSplit, AS_MprotectSplit, AS_MsealSplit
// and AS_Lookup start each call at a random, usually cold, slot; AS_Munmap and
// AS_MprotectMerge time the inverse right after the untimed preparation has
// walked the same tree paths (warm); the *Pair benchmarks mix both.
//
//   AS_MmapFixed       mmap(MAP_FIXED|MAP_PRIVATE|MAP_ANONYMOUS, r) of 1 page in the
//                      middle of a hole (new VMA)          undo: munmap it
//   AS_Munmap          munmap of that 1-page VMA (removal) undo: mmap it again
//   AS_MmapMunmapPair  both calls timed back to back, no undo; Time is per call
//   AS_MunmapSplit     munmap of 1 middle page of A (A splits in 2 around a hole)
//                                                          undo: mmap MAP_FIXED r
//                                                          of that page (3 -> 1 merge)
//   AS_MprotectSplit   mprotect(rw) of 1 middle page of A (A splits in 3)
//                                                          undo: mprotect(r) back
//   AS_MprotectMerge   mprotect(r) of that page again (3 VMAs merge into 1)
//                                                          undo: mprotect(rw) again
//   AS_MprotectPair    split and merge, both timed; Time is per call
//   AS_MsealSplit      mseal of 1 middle page of A (A splits in 3), as
//                      AS_MprotectSplit. Seals are one-way, so each batch of
//                      K = max(128, N/64) seals first restores a working copy
//                      from the pristine layout (untimed; the copy reuses the
//                      working copy's node memory), then times the K calls.
//                      The map count grows from N to N+2K within a batch.
//   AS_MprotectSplitOnCopy  the control: mprotect(rw) of that page in the
//                      same setting; it must match AS_MprotectSplit, or the
//                      setting itself costs something.
//   AS_Lookup          as.vmas().find() at a random address of the layout span
//                      (about half the addresses fall in holes); normal timing:
//                      read the CPU column (Time is wall clock, preemption included).
//   AS_*Hot            the same as AS_MmapMunmapPair / AS_MprotectPair / AS_Lookup
//                      but cycling over 128 fixed slots (256 addresses for the
//                      lookup), so the tree paths stay cached: these isolate
//                      the algorithmic cost from cache and TLB misses.
//
// Counters: bytes_per_vma = vmas().memory_bytes() / vmas().size() (everything the
// tree holds: nodes in use, free nodes, the unused tail of the newest arena
// chunk) and live_bytes_per_vma (the nodes in use only), when the
// benchmark ends (for AS_MsealSplit: of the working copy, N+2K VMAs);
// bytes_per_vma_built = the same right after the ascending build (full leaves),
// before a warm-up pass that maps and unmaps one page in every hole;
// vmas = map_count() when the benchmark ends (it must equal N).
//
// Run (see bench/README.md):
//   vmseal_bench --benchmark_filter='^AS_' --benchmark_min_time=0.1
//                --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// First, before any standard header (types.hpp's Errno vs <cerrno>).
#include "vmseal/engine/address_space.hpp"
#include "vmseal/kernel/abi.hpp"

#include "thread_clock.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace vmseal {
namespace {

constexpr Addr P = kPageSize;
constexpr Addr kBase = Addr{1} << 32;  // 4 GiB
constexpr Addr kSlot = 16 * P;
constexpr std::size_t kBatch = 128;
constexpr std::uint64_t kAnon = abi::MAP_PRIVATE | abi::MAP_ANONYMOUS;
constexpr std::uint64_t kFixedAnon = kAnon | abi::MAP_FIXED;
constexpr std::uint64_t kR = abi::PROT_READ;
constexpr std::uint64_t kRW = abi::PROT_READ | abi::PROT_WRITE;
constexpr std::size_t kLookupSamples = std::size_t{1} << 20;

struct World {
  std::size_t n = 0;      // VMAs in the steady layout
  std::size_t slots = 0;  // n / 2
  AddressSpace as;
  std::vector<std::uint32_t> perm;  // random permutation of the slots, cycled
  std::size_t cursor = 0;
  std::mt19937_64 rng;
  std::vector<Addr> lookups;       // random addresses in the layout span
  double built_bytes_per_vma = 0;  // right after the build (before the warm-up)

  Addr slot(std::size_t s) const { return kBase + s * kSlot; }
  // The next K slots of the permutation: pairwise distinct while K <= slots.
  void take(std::size_t k, std::vector<Addr>& out) {
    out.resize(k);
    for (std::size_t i = 0; i < k; ++i) {
      out[i] = slot(perm[cursor]);
      if (++cursor == perm.size()) cursor = 0;
    }
  }
};

World& world(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<World>> cache;
  auto& w = cache[n];
  if (w) return *w;
  w = std::make_unique<World>();
  w->n = n;
  w->slots = n / 2;
  w->rng.seed(0x5ea1 + n);
  w->as.config().max_map_count = std::uint64_t{1} << 24;
  for (std::size_t s = 0; s < w->slots; ++s) {
    const Addr b = w->slot(s);
    const bool ok = w->as.mmap(b, 4 * P, kR, kFixedAnon, -1, 0).is_ok() &&
                    w->as.mmap(b + 4 * P, 4 * P, kRW, kFixedAnon, -1, 0).is_ok();
    if (!ok) std::abort();
  }
  if (w->as.map_count() != n) std::abort();
  w->perm.resize(w->slots);
  for (std::size_t s = 0; s < w->slots; ++s) w->perm[s] = static_cast<std::uint32_t>(s);
  std::shuffle(w->perm.begin(), w->perm.end(), w->rng);
  w->built_bytes_per_vma =
      static_cast<double>(w->as.vmas().memory_bytes()) / static_cast<double>(n);
  // Warm-up churn: map a page into every hole and unmap it again, slot by slot
  // in random order. A tree built by ascending insertion has 100% full leaves,
  // so whichever benchmark ran first would pay for splitting them; after this
  // pass every benchmark starts from the same churned (steady) shape, whatever
  // the order. One slot at a time keeps the map count at N or N+1: the node
  // arena keeps the memory of the largest tree it held, so growing to 1.5 N
  // here would charge every benchmark for a peak it never has.
  for (std::uint32_t s : w->perm) {
    if (w->as.mmap(w->slot(s) + 11 * P, P, kR, kFixedAnon, -1, 0).is_error()) std::abort();
    if (w->as.munmap(w->slot(s) + 11 * P, P).is_error()) std::abort();
  }
  if (w->as.map_count() != n) std::abort();
  w->lookups.resize(kLookupSamples);
  const Addr span = w->slots * kSlot;
  for (Addr& a : w->lookups) a = kBase + w->rng() % span;
  return *w;
}

using bench::cpu_now;
using bench::seconds_since;

void finish(benchmark::State& state, const World& w, bool failed) {
  const auto& t = w.as.vmas();
  state.counters["bytes_per_vma"] =
      static_cast<double>(t.memory_bytes()) / static_cast<double>(t.size());
  state.counters["live_bytes_per_vma"] =
      static_cast<double>(t.live_bytes()) / static_cast<double>(t.size());
  state.counters["bytes_per_vma_built"] = w.built_bytes_per_vma;
  state.counters["vmas"] = static_cast<double>(w.as.map_count());
  if (failed)
    state.SkipWithError("a system call failed");
  else if (w.as.map_count() != w.n)
    state.SkipWithError("layout not restored");
}

SysResult nothing(AddressSpace&, Addr, Addr) { return SysResult::ok(0); }

// On K distinct slots: `prep` untimed, `op` timed, `post` untimed. prep+op+post
// leaves the layout as it was.
template <class Prep, class Op, class Post>
void batched(benchmark::State& state, Prep prep, Op op, Post post) {
  World& w = world(static_cast<std::size_t>(state.range(0)));
  std::vector<Addr> batch;
  std::vector<Addr> page;  // per-op middle page of A (1 or 2 pages into it)
  bool failed = false;
  while (state.KeepRunningBatch(kBatch)) {
    w.take(kBatch, batch);
    page.resize(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) {
      page[i] = batch[i] + (1 + w.rng() % 2) * P;
      failed |= prep(w.as, batch[i], page[i]).is_error();
    }
    const double t0 = cpu_now();
    for (std::size_t i = 0; i < kBatch; ++i) failed |= op(w.as, batch[i], page[i]).is_error();
    state.SetIterationTime(seconds_since(t0));
    for (std::size_t i = 0; i < kBatch; ++i) failed |= post(w.as, batch[i], page[i]).is_error();
  }
  finish(state, w, failed);
}

// Both calls timed; each iteration is one call. With `hot`, every batch uses
// the same K slots (the first K of the permutation), so the tree paths stay in
// the cache and the time reflects the work rather than cache misses.
template <class Op1, class Op2>
void paired(benchmark::State& state, Op1 op1, Op2 op2, bool hot = false) {
  World& w = world(static_cast<std::size_t>(state.range(0)));
  std::vector<Addr> batch;
  std::vector<Addr> page;
  bool failed = false;
  while (state.KeepRunningBatch(2 * kBatch)) {
    if (hot) {
      batch.resize(kBatch);
      for (std::size_t i = 0; i < kBatch; ++i) batch[i] = w.slot(w.perm[i]);
    } else {
      w.take(kBatch, batch);
    }
    page.resize(kBatch);
    for (std::size_t i = 0; i < kBatch; ++i) page[i] = batch[i] + (1 + w.rng() % 2) * P;
    const double t0 = cpu_now();
    for (std::size_t i = 0; i < kBatch; ++i) {
      failed |= op1(w.as, batch[i], page[i]).is_error();
      failed |= op2(w.as, batch[i], page[i]).is_error();
    }
    state.SetIterationTime(seconds_since(t0));
  }
  finish(state, w, failed);
}

// The 1-page VMA in the middle of the slot's hole (not adjacent to A or B).
Addr hole_page(Addr slot) { return slot + 11 * P; }

SysResult map_hole(AddressSpace& as, Addr slot, Addr) {
  return as.mmap(hole_page(slot), P, kR, kFixedAnon, -1, 0);
}
SysResult unmap_hole(AddressSpace& as, Addr slot, Addr) { return as.munmap(hole_page(slot), P); }
SysResult unmap_mid(AddressSpace& as, Addr, Addr page) { return as.munmap(page, P); }
SysResult remap_mid(AddressSpace& as, Addr, Addr page) {
  return as.mmap(page, P, kR, kFixedAnon, -1, 0);
}
SysResult protect_rw(AddressSpace& as, Addr, Addr page) { return as.mprotect(page, P, kRW); }
SysResult protect_r(AddressSpace& as, Addr, Addr page) { return as.mprotect(page, P, kR); }

void AS_MmapFixed(benchmark::State& state) { batched(state, nothing, map_hole, unmap_hole); }
void AS_Munmap(benchmark::State& state) { batched(state, map_hole, unmap_hole, nothing); }
void AS_MmapMunmapPair(benchmark::State& state) { paired(state, map_hole, unmap_hole); }
void AS_MunmapSplit(benchmark::State& state) { batched(state, nothing, unmap_mid, remap_mid); }
void AS_MprotectSplit(benchmark::State& state) { batched(state, nothing, protect_rw, protect_r); }
void AS_MprotectMerge(benchmark::State& state) { batched(state, protect_rw, protect_r, nothing); }
void AS_MprotectPair(benchmark::State& state) { paired(state, protect_rw, protect_r); }
void AS_MmapMunmapPairHot(benchmark::State& state) {
  paired(state, map_hole, unmap_hole, /*hot=*/true);
}
void AS_MprotectPairHot(benchmark::State& state) {
  paired(state, protect_rw, protect_r, /*hot=*/true);
}

// On a fresh copy of the pristine layout per batch of K distinct slots, times
// `op` on a middle page of A in each (the slots and pages of AS_MprotectSplit).
// Seals are one-way, so AS_MsealSplit needs this setting. The copy assignment
// reuses the working copy's nodes, so after the first batch the copy lives in
// memory that is faulted in and in the TLB, as the pristine layout is;
// AS_MprotectSplitOnCopy is the control that shows the setting costs nothing.
template <class Op>
void on_fresh_copy(benchmark::State& state, Op op) {
  World& w = world(static_cast<std::size_t>(state.range(0)));
  const std::size_t k = std::max<std::size_t>(kBatch, w.n / 64);
  std::vector<Addr> batch;
  std::vector<Addr> page;
  AddressSpace work;
  bool failed = false;
  std::size_t peak = 0;
  while (state.KeepRunningBatch(static_cast<benchmark::IterationCount>(k))) {
    work = w.as;  // back to the pristine N-VMA layout (untimed, O(N))
    w.take(k, batch);
    page.resize(k);
    for (std::size_t i = 0; i < k; ++i) page[i] = batch[i] + (1 + w.rng() % 2) * P;
    const double t0 = cpu_now();
    for (Addr a : page) failed |= op(work, a).is_error();
    state.SetIterationTime(seconds_since(t0));
    peak = std::max(peak, work.map_count());
  }
  finish(state, w, failed || (peak != 0 && peak != w.n + 2 * k));
  const auto& t = work.vmas();
  if (t.size() != 0) {
    state.counters["bytes_per_vma"] =
        static_cast<double>(t.memory_bytes()) / static_cast<double>(t.size());
    state.counters["live_bytes_per_vma"] =
        static_cast<double>(t.live_bytes()) / static_cast<double>(t.size());
  }
}
void AS_MsealSplit(benchmark::State& state) {
  on_fresh_copy(state, [](AddressSpace& as, Addr page) { return as.mseal(page, P, 0); });
}
void AS_MprotectSplitOnCopy(benchmark::State& state) {
  on_fresh_copy(state, [](AddressSpace& as, Addr page) { return as.mprotect(page, P, kRW); });
}

// `mask`: lookups cycle over the first mask+1 random addresses (all of them
// for AS_Lookup; 256 for AS_LookupHot, whose paths stay in the cache).
void lookup(benchmark::State& state, std::size_t mask) {
  World& w = world(static_cast<std::size_t>(state.range(0)));
  const VmaTree& t = w.as.vmas();
  std::size_t i = 0;
  for (auto _ : state) {
    const Vma* v = t.find(w.lookups[i]);
    benchmark::DoNotOptimize(v);
    i = (i + 1) & mask;
  }
  finish(state, w, false);
}
void AS_Lookup(benchmark::State& state) { lookup(state, kLookupSamples - 1); }
void AS_LookupHot(benchmark::State& state) { lookup(state, 255); }

using bench::stat_max;
using bench::stat_min;

void sizes(benchmark::internal::Benchmark* b) {
  b->Arg(1000)->Arg(4096)->Arg(16384)->Arg(65530)->Arg(262144)->Arg(1000000);
  b->ComputeStatistics("min", stat_min)->ComputeStatistics("max", stat_max);
}
void sizes_manual(benchmark::internal::Benchmark* b) {
  sizes(b);
  b->UseManualTime();
}

BENCHMARK(AS_MmapFixed)->Apply(sizes_manual);
BENCHMARK(AS_Munmap)->Apply(sizes_manual);
BENCHMARK(AS_MmapMunmapPair)->Apply(sizes_manual);
BENCHMARK(AS_MunmapSplit)->Apply(sizes_manual);
BENCHMARK(AS_MprotectSplit)->Apply(sizes_manual);
BENCHMARK(AS_MprotectMerge)->Apply(sizes_manual);
BENCHMARK(AS_MprotectPair)->Apply(sizes_manual);
BENCHMARK(AS_MsealSplit)->Apply(sizes_manual);
BENCHMARK(AS_MprotectSplitOnCopy)->Apply(sizes_manual);
BENCHMARK(AS_Lookup)->Apply(sizes);
BENCHMARK(AS_MmapMunmapPairHot)->Apply(sizes_manual);
BENCHMARK(AS_MprotectPairHot)->Apply(sizes_manual);
BENCHMARK(AS_LookupHot)->Apply(sizes);

}  // namespace
}  // namespace vmseal
