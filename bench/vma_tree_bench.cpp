// VmaTree benchmarks (Google Benchmark), with ReferenceVmaTree (std::map) for
// comparison. Trees hold N VMAs of 1-8 pages separated by holes of 1-8 pages
// (every 1024th hole is 32 pages), built by inserting in random order unless
// the name says otherwise. Per-iteration work:
//   Lookup        one find() at a random address in the mapped range
//                 (independent lookups: a throughput figure);
//   LookupChained the next address depends on the previous answer (latency);
//   InsertErase   insert a 1-page VMA into a random hole, then erase it (2 ops,
//                 ns_per_op = Time / 2);
//   SetBounds     grow a random VMA by a page into its hole, then restore (2 ops,
//                 ns_per_op = Time / 2);
//   GapRev        gap_rev(0, random high, 4 pages)    — nearest small hole;
//   GapRevRare    gap_rev(0, random high, 24 pages)   — only the 32-page holes fit;
//   Copy          copy-construct the tree (fork), reports ns per VMA;
//   Build         insert all N VMAs in the given order (reports ns per insert).
// Counter bytes_per_vma = memory_bytes() / size(). The trees are cached per
// size and shared by the benchmarks in the order listed, so the figure shown
// with InsertErase and later reflects the tree after that churn.
//
// First, before any standard header (types.hpp's Errno vs <cerrno>).
#include "vmseal/engine/reference_vma_tree.hpp"
#include "vmseal/engine/vma_tree.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <utility>
#include <vector>

namespace vmseal {
namespace {

constexpr Addr P = kPageSize;
constexpr std::size_t kSamples = std::size_t{1} << 20;  // random inputs, cycled

struct Layout {
  std::vector<Vma> vmas;    // in address order
  std::vector<Addr> holes;  // the first page of the hole after vmas[i]
  Addr end = 0;
};

const Layout& layout(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<Layout>> cache;
  auto& slot = cache[n];
  if (!slot) {
    slot = std::make_unique<Layout>();
    std::mt19937_64 rng(n);
    Addr a = Addr{0x10000};
    for (std::size_t i = 0; i < n; ++i) {
      Vma v;
      v.start = a;
      v.end = a + (1 + rng() % 8) * P;
      v.flags = vm::READ | vm::MAYREAD;
      v.pgoff = a >> kPageShift;
      slot->vmas.push_back(v);
      slot->holes.push_back(v.end);
      a = v.end + (i % 1024 == 1023 ? 32 : 1 + rng() % 8) * P;
    }
    slot->end = a;
  }
  return *slot;
}

enum class Order { Random, Ascending, Descending };

std::vector<std::size_t> insertion_order(std::size_t n, Order order) {
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  if (order == Order::Random) std::shuffle(idx.begin(), idx.end(), std::mt19937_64(n + 1));
  if (order == Order::Descending) std::reverse(idx.begin(), idx.end());
  return idx;
}

template <class Tree>
Tree& tree(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<Tree>> cache;
  auto& slot = cache[n];
  if (!slot) {
    slot = std::make_unique<Tree>();
    const Layout& l = layout(n);
    for (std::size_t i : insertion_order(n, Order::Random)) slot->insert(l.vmas[i]);
  }
  return *slot;
}

std::vector<Addr> random_addresses(std::size_t n) {
  const Layout& l = layout(n);
  std::mt19937_64 rng(n * 7 + 3);
  std::vector<Addr> out(kSamples);
  const Addr lo = l.vmas.front().start;
  for (Addr& a : out) a = lo + rng() % (l.end - lo);
  return out;
}

// Random VMAs (their bounds), and the holes after them, laid out in the order
// the benchmark uses them so that reading the inputs is sequential.
std::vector<std::pair<Addr, Addr>> random_vmas(std::size_t n) {
  const Layout& l = layout(n);
  std::mt19937_64 rng(n * 13 + 5);
  std::vector<std::pair<Addr, Addr>> out(kSamples);
  for (auto& p : out) {
    const Vma& v = l.vmas[static_cast<std::size_t>(rng() % n)];
    p = {v.start, v.end};
  }
  return out;
}
std::vector<Addr> random_holes(std::size_t n) {
  const Layout& l = layout(n);
  std::mt19937_64 rng(n * 17 + 9);
  std::vector<Addr> out(kSamples);
  for (Addr& h : out) h = l.holes[static_cast<std::size_t>(rng() % n)];
  return out;
}

template <class Tree>
void set_bytes(benchmark::State& state, const Tree& t) {
  state.counters["bytes_per_vma"] =
      static_cast<double>(t.memory_bytes()) / static_cast<double>(t.size());
}

// Time per operation when one iteration performs `ops` operations.
void set_ns_per_op(benchmark::State& state, double ops) {
  state.counters["ns_per_op"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * ops,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <class Tree>
void BM_Lookup(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Tree& t = tree<Tree>(n);
  const std::vector<Addr> addrs = random_addresses(n);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.find(addrs[i++ & (kSamples - 1)]));
  }
  set_bytes(state, t);
}

template <class Tree>
void BM_LookupChained(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Tree& t = tree<Tree>(n);
  const std::vector<Addr> addrs = random_addresses(n);
  std::size_t i = 0;
  for (auto _ : state) {
    const Vma* v = t.find(addrs[i & (kSamples - 1)]);
    // The next index depends on this answer: no overlap between lookups.
    i += 1 + (v != nullptr ? (v->start & 1) : 0);
  }
  set_bytes(state, t);
}

template <class Tree>
void BM_InsertErase(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Tree& t = tree<Tree>(n);
  const std::vector<Addr> holes = random_holes(n);
  std::size_t i = 0;
  Vma v;
  v.flags = vm::READ;
  for (auto _ : state) {
    const Addr h = holes[i++ & (kSamples - 1)];
    v.start = h;
    v.end = h + P;
    benchmark::DoNotOptimize(&t.insert(v));
    t.erase(h);
  }
  set_bytes(state, t);
  set_ns_per_op(state, 2);
}

template <class Tree>
void BM_SetBounds(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Tree& t = tree<Tree>(n);
  const std::vector<std::pair<Addr, Addr>> vmas = random_vmas(n);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto [start, end] = vmas[i++ & (kSamples - 1)];
    benchmark::DoNotOptimize(&t.set_bounds(start, start, end + P));
    benchmark::DoNotOptimize(&t.set_bounds(start, start, end));
  }
  set_bytes(state, t);
  set_ns_per_op(state, 2);
}

template <class Tree>
void gap_rev_bench(benchmark::State& state, Addr size) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Tree& t = tree<Tree>(n);
  const std::vector<Addr> addrs = random_addresses(n);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.gap_rev(0, addrs[i++ & (kSamples - 1)], size));
  }
  set_bytes(state, t);
}
template <class Tree>
void BM_GapRev(benchmark::State& state) {
  gap_rev_bench<Tree>(state, 4 * P);
}
template <class Tree>
void BM_GapRevRare(benchmark::State& state) {
  gap_rev_bench<Tree>(state, 24 * P);
}

template <class Tree>
void BM_Build(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto order = static_cast<Order>(state.range(1));
  const Layout& l = layout(n);
  const std::vector<std::size_t> idx = insertion_order(n, order);
  double bytes = 0;
  for (auto _ : state) {
    Tree t;
    for (std::size_t i : idx) t.insert(l.vmas[i]);
    bytes = static_cast<double>(t.memory_bytes()) / static_cast<double>(t.size());
    state.PauseTiming();
    {
      Tree dead(std::move(t));  // destruction is not timed
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(n));
  state.counters["bytes_per_vma"] = bytes;
  state.counters["ns_per_insert"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// Deep copy (what fork does to an address space); destruction not timed.
template <class Tree>
void BM_Copy(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const Tree& t = tree<Tree>(n);
  for (auto _ : state) {
    Tree c(t);
    benchmark::DoNotOptimize(c.first());
    state.PauseTiming();
    { Tree dead(std::move(c)); }
    state.ResumeTiming();
  }
  state.counters["ns_per_vma"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(n),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void sizes(benchmark::internal::Benchmark* b) { b->Arg(1000)->Arg(65530)->Arg(1000000); }
void build_args(benchmark::internal::Benchmark* b) {
  for (std::int64_t n : {1000, 65530, 1000000}) {
    for (Order o : {Order::Random, Order::Ascending, Order::Descending}) {
      b->Args({n, static_cast<std::int64_t>(o)});
    }
  }
}

BENCHMARK(BM_Lookup<VmaTree>)->Apply(sizes);
BENCHMARK(BM_Lookup<ReferenceVmaTree>)->Apply(sizes);
BENCHMARK(BM_LookupChained<VmaTree>)->Apply(sizes);
BENCHMARK(BM_LookupChained<ReferenceVmaTree>)->Apply(sizes);
BENCHMARK(BM_InsertErase<VmaTree>)->Apply(sizes);
BENCHMARK(BM_InsertErase<ReferenceVmaTree>)->Apply(sizes);
BENCHMARK(BM_SetBounds<VmaTree>)->Apply(sizes);
BENCHMARK(BM_GapRev<VmaTree>)->Apply(sizes);
BENCHMARK(BM_GapRevRare<VmaTree>)->Apply(sizes);
BENCHMARK(BM_Copy<VmaTree>)->Apply(sizes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Build<VmaTree>)->Apply(build_args)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vmseal
