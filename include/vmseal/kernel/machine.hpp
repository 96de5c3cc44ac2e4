// What this machine does with mseal, read once: `vmseal check` renders it,
// as text or JSON. The kernel, the mseal probe (in a child: a seccomp filter
// that kills the caller kills the child), the seccomp state, whether smaps
// shows a seal, the system mappings the kernel sealed, the settings that let
// a process around a seal, and the facts the engine's model depends on.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "vmseal/kernel/bypass.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::kernel {

struct MachineReport {
  std::string kernel;   // uname's release
  std::string machine;  // uname's machine
  MsealProbe probe;
  // available, missing, missing-or-filtered, denied, killed, faked
  std::string mseal;
  std::string mseal_detail;
  std::string seccomp = "unknown";                     // none, strict, filter, unknown
  std::string seccomp_filters;                         // /proc/self/status's count
  bool smaps_shows_sl = false;                         // a page sealed here shows "sl" in smaps
  std::map<std::string, bool> system_mappings_sealed;  // [vdso], [vvar], [vvar_vclock]
  SealBypasses bypasses;
  std::uint64_t max_map_count = 0;
  bool pku = false;
  bool guard_regions_in_pagemap = false;
  bool read_fault_zero_page = false;
  std::string glibc;
  bool glibc_mseal_wrapper = false;
};

// Probes and reads it all. Seals one scratch page of this process when mseal
// works (to see whether smaps shows it).
MachineReport check_machine();

}  // namespace vmseal::kernel
