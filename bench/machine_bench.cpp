// Machine_MemoryLatency: what one dependent memory access costs on this
// machine, by working-set size. It puts a floor under the engine's cold rows:
// a cold lookup is a chain of dependent loads (root, inner levels, leaf), so it
// cannot cost less than one access at the size of the tree (4 MB of nodes at
// 65,530 VMAs, 60 MB at 1M; bench/README.md).
//
// Method: a pointer chase. One 64-byte line per element, linked in a random
// cyclic order (fixed seed), in a buffer mapped 2 MiB-aligned and advised
// MADV_HUGEPAGE as the engine's node arena is, so what is measured is the
// caches and memory, not 4 KiB TLB misses the engine does not have. Each
// iteration is one load whose address is the value of the previous one.
#include <benchmark/benchmark.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

namespace {

constexpr std::size_t kLine = 64;
constexpr std::size_t kHuge = std::size_t{2} << 20;

struct Chase {
  void* map = MAP_FAILED;
  std::size_t map_len = 0;
  void* start = nullptr;

  explicit Chase(std::size_t bytes) {
    map_len = bytes + kHuge;
    map = mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) return;
    auto base = reinterpret_cast<std::uintptr_t>(map);
    base = (base + kHuge - 1) & ~(kHuge - 1);
    auto* buf = reinterpret_cast<char*>(base);
    (void)madvise(buf, bytes, MADV_HUGEPAGE);  // best effort, as in node_arena.hpp
    const std::size_t n = bytes / kLine;
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::mt19937_64 rng(0x1a7e);
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i = 0; i < n; ++i)
      *reinterpret_cast<void**>(buf + order[i] * kLine) = buf + order[(i + 1) % n] * kLine;
    start = buf + order[0] * kLine;
  }
  ~Chase() {
    if (map != MAP_FAILED) munmap(map, map_len);
  }
  Chase(const Chase&) = delete;
  Chase& operator=(const Chase&) = delete;
};

void Machine_MemoryLatency(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0)) << 10;
  Chase c(bytes);
  if (c.start == nullptr) {
    state.SkipWithError("mmap failed");
    return;
  }
  void* p = c.start;
  for (std::size_t i = 0; i < bytes / kLine; ++i) p = *static_cast<void**>(p);  // warm up
  for (auto _ : state) {
    p = *static_cast<void**>(p);
    benchmark::DoNotOptimize(p);
  }
  state.counters["KiB"] = static_cast<double>(bytes >> 10);
}

// 32 KiB (L1) to 256 MiB; 4 MiB and 64 MiB are the engine's tree at 65,530
// and 1,000,000 VMAs.
BENCHMARK(Machine_MemoryLatency)->RangeMultiplier(4)->Range(32, 256 << 10);

}  // namespace
