// Timing shared by the engine and kernel benchmarks (engine_bench.cpp,
// kernel_bench.cpp): thread CPU time, and min/max aggregates for Google
// Benchmark's ComputeStatistics.
//
// The timed calls are measured in thread CPU time (CLOCK_THREAD_CPUTIME_ID):
// the 2-vCPU machine is shared, and CPU time does not count the time this
// thread is preempted. One read costs ~1-3 us here (a real system call), so
// the cost of a read, calibrated once, is subtracted from each batch.
#pragma once

#include <time.h>

#include <algorithm>
#include <vector>

namespace vmseal::bench {

inline double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The median cost of one cpu_now(), measured once.
inline double clock_overhead() {
  static const double overhead = [] {
    std::vector<double> d(201);
    for (double& x : d) {
      const double t0 = cpu_now();
      x = cpu_now() - t0;
    }
    std::nth_element(d.begin(), d.begin() + 100, d.end());
    return d[100];
  }();
  return overhead;
}

// Seconds of thread CPU time since `t0` (a cpu_now()), less one clock read.
inline double seconds_since(double t0) { return std::max(0.0, cpu_now() - t0 - clock_overhead()); }

inline double stat_min(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}
inline double stat_max(const std::vector<double>& v) {
  return *std::max_element(v.begin(), v.end());
}

}  // namespace vmseal::bench
