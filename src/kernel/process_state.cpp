#include "vmseal/kernel/process_state.hpp"

#include <sys/resource.h>

#include <cstdio>

namespace vmseal::kernel {

Capabilities read_capabilities() noexcept {
  Capabilities caps;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return caps;
  char line[256];
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long v = 0;
    unsigned long long ruid = 0;
    if (std::sscanf(line, "Uid: %llu %llu", &ruid, &v) == 2) caps.is_root = v == 0;
    if (std::sscanf(line, "CapEff: %llx", &v) == 1) caps.effective = v;
    if (std::sscanf(line, "CapPrm: %llx", &v) == 1) caps.permitted = v;
    if (std::sscanf(line, "CapInh: %llx", &v) == 1) caps.inheritable = v;
    if (std::sscanf(line, "CapBnd: %llx", &v) == 1) caps.bounding = v;
  }
  std::fclose(f);
  return caps;
}

void read_rlimits(Config& cfg) noexcept {
  rlimit r{};
  if (getrlimit(RLIMIT_MEMLOCK, &r) == 0) {
    cfg.rlimit_memlock = r.rlim_cur;
    cfg.rlimit_memlock_max = r.rlim_max;
  }
  if (getrlimit(RLIMIT_STACK, &r) == 0) {
    cfg.rlimit_stack = r.rlim_cur;
    cfg.rlimit_stack_max = r.rlim_max;
  }
}

}  // namespace vmseal::kernel
