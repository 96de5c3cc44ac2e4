// The system settings that let someone around a seal without touching it
// (docs/attacks.md, "What sealing does not cover"): mseal fixes mappings and
// protections, and these decide who may still write a sealed process's memory
// or whether the kernel seals its own mappings. `vmseal check` reports them.
#pragma once

#include <string>
#include <vector>

namespace vmseal::kernel {

struct SealBypasses {
  // proc_mem.force_override: "always" (writes through /proc/PID/mem ignore
  // page protections, sealed or not), "ptrace" (only for a ptracer), "never",
  // or "unknown"; and where the value came from.
  std::string proc_mem_force = "unknown";
  std::string proc_mem_source;
  // Yama's kernel.yama.ptrace_scope (0-3), or -1 when Yama is not active.
  int ptrace_scope = -1;
  // CONFIG_MSEAL_SYSTEM_MAPPINGS: "y", "n" or "unknown".
  std::string mseal_system_mappings = "unknown";
  // vm.unprivileged_userfaultfd: 1 lets any process handle its own faults.
  int unprivileged_userfaultfd = -1;
  // One sentence for each setting that weakens seals here.
  std::vector<std::string> findings;
};

SealBypasses read_seal_bypasses();

// A kernel build option from /boot/config-RELEASE or /proc/config.gz: its
// value ("y", "m", a string), "n" when not set, "" when no config is found.
std::string kernel_config_option(const std::string& option);

}  // namespace vmseal::kernel
