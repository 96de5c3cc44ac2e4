// This process's state that the engine models beside its mappings (Config):
// capabilities and resource limits, read from /proc and getrlimit(2). The
// difftest child and the benchmarks start from them.
#pragma once

#include "vmseal/engine/address_space.hpp"

namespace vmseal::kernel {

// The calling process's capability sets (/proc/self/status: CapEff, CapPrm,
// CapInh) and whether its effective uid is 0, as the engine keeps them
// (Config::caps: CAP_IPC_LOCK, CAP_SYS_RAWIO, CAP_SYS_RESOURCE decide mm).
Capabilities read_capabilities() noexcept;
// This process's soft and hard RLIMIT_MEMLOCK and RLIMIT_STACK into `cfg`.
void read_rlimits(Config& cfg) noexcept;

}  // namespace vmseal::kernel
