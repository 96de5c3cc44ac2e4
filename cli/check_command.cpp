// vmseal check: can this system seal, and what does it seal on its own?

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "manual.hpp"
#include "vmseal/kernel/machine.hpp"

namespace vmseal::cli {

CLI::App* add_check(CLI::App& app, CheckOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Can this system seal? mseal support, a seccomp filter in the way (one that denies, kills "
      "or\n"
      "fakes mseal), whether the kernel seals its system mappings ([vdso], [vvar], "
      "[vvar_vclock]),\n"
      "the settings that let someone around a seal (proc_mem.force_override, Yama ptrace_scope),\n"
      "vm.max_map_count, PKU, guard regions.");
  cmd->footer(exit_status_footer("check"));
  cmd->add_flag("--json", opts.json, "print the findings as JSON");
  return cmd;
}

namespace {

nlohmann::json machine_json(const kernel::MachineReport& m) {
  const kernel::SealBypasses& b = m.bypasses;
  nlohmann::json j;
  j["kernel"] = m.kernel;
  j["machine"] = m.machine;
  j["mseal"] = m.mseal;
  j["mseal_detail"] = m.mseal_detail;
  j["seccomp"] = m.seccomp;
  j["seccomp_filters"] = m.seccomp_filters;
  j["smaps_shows_sl"] = m.smaps_shows_sl;
  j["system_mappings_sealed"] = m.system_mappings_sealed;
  j["config_mseal_system_mappings"] = b.mseal_system_mappings;
  j["proc_mem_force_override"] = b.proc_mem_force;
  j["proc_mem_force_override_source"] = b.proc_mem_source;
  j["yama_ptrace_scope"] = b.ptrace_scope;
  j["unprivileged_userfaultfd"] = b.unprivileged_userfaultfd;
  j["seal_bypasses"] = b.findings;
  j["max_map_count"] = m.max_map_count;
  j["pku"] = m.pku;
  j["guard_regions_in_pagemap"] = m.guard_regions_in_pagemap;
  j["read_fault_zero_page"] = m.read_fault_zero_page;
  j["glibc"] = m.glibc;
  j["glibc_mseal_wrapper"] = m.glibc_mseal_wrapper;
  return j;
}

void print_machine(const kernel::MachineReport& m) {
  const kernel::SealBypasses& b = m.bypasses;
  auto yes = [](bool v) { return v ? "yes" : "no"; };
  std::printf("kernel              %s (%s)\n", m.kernel.c_str(), m.machine.c_str());
  std::printf("mseal               %s: %s\n", m.mseal.c_str(), m.mseal_detail.c_str());
  std::printf("seccomp             %s%s\n", m.seccomp.c_str(),
              m.seccomp == "filter" ? (" (" + m.seccomp_filters + " filter(s))").c_str() : "");
  if (m.probe.support == kernel::MsealSupport::Available)
    std::printf("smaps shows 'sl'    %s\n", yes(m.smaps_shows_sl));
  std::string sys_text;
  for (const auto& [name, sealed] : m.system_mappings_sealed)
    sys_text += (sys_text.empty() ? "" : ", ") + name + (sealed ? " sealed" : " not sealed");
  const std::string cfg = b.mseal_system_mappings == "unknown" ? "" : b.mseal_system_mappings;
  std::printf("system mappings     %s (CONFIG_MSEAL_SYSTEM_MAPPINGS: %s)\n",
              sys_text.empty() ? "none found" : sys_text.c_str(),
              cfg.empty() ? "unknown, no /boot/config or /proc/config.gz" : cfg.c_str());
  std::printf("/proc/PID/mem       force_override=%s%s\n", b.proc_mem_force.c_str(),
              b.proc_mem_source.empty() ? "" : (" (" + b.proc_mem_source + ")").c_str());
  std::printf("Yama ptrace_scope   %s\n",
              b.ptrace_scope < 0 ? "Yama not active" : std::to_string(b.ptrace_scope).c_str());
  std::printf("vm.max_map_count    %llu\n", static_cast<unsigned long long>(m.max_map_count));
  std::printf("protection keys     %s\n", yes(m.pku));
  std::printf("guard regions       %s\n", m.guard_regions_in_pagemap
                                              ? "yes (MADV_GUARD_INSTALL, shown in pagemap)"
                                              : "no, or not shown in pagemap (needs Linux 6.14)");
  std::printf("anon read fault     %s\n",
              m.read_fault_zero_page
                  ? "maps the zero page (upstream)"
                  : "allocates a page and an anon_vma (sim: --read-fault-allocates)");
  std::printf("glibc               %s, mseal() wrapper: %s\n", m.glibc.c_str(),
              yes(m.glibc_mseal_wrapper));
  if (!b.findings.empty()) {
    std::printf("\nWhat lets someone around a seal on this system:\n");
    for (const std::string& f : b.findings) std::printf("  - %s\n", f.c_str());
  }
}

}  // namespace

int run_check(const CheckOptions& o) {
  const kernel::MachineReport m = kernel::check_machine();
  if (o.json)
    std::printf("%s\n", machine_json(m).dump(2).c_str());
  else
    print_machine(m);
  return m.probe.support == kernel::MsealSupport::Available ? kOk : kNoMseal;
}

}  // namespace vmseal::cli
