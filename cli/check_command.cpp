// vmseal check: can this system seal, and what does it seal on its own?
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "manual.hpp"
#include "vmseal/engine/vm_flags.hpp"
#include "vmseal/kernel/bypass.hpp"
#include "vmseal/kernel/pagemap.hpp"
#include "vmseal/kernel/proc.hpp"
#include "vmseal/kernel/smaps.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::cli {
namespace {

std::string status_line(std::string_view key) {
  return kernel::read_status_field(0, key).value_or("");
}

}  // namespace

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

int run_check(const CheckOptions& o) {
  nlohmann::json j;
  utsname u{};
  uname(&u);
  j["kernel"] = std::string(u.release);
  j["machine"] = std::string(u.machine);

  // In a child: a seccomp filter that kills mseal's caller kills the child.
  const kernel::MsealProbe probe = kernel::probe_mseal_isolated();
  const std::string seccomp = status_line("Seccomp:");
  const bool filtered = seccomp == "2";
  std::string mseal;
  std::string mseal_detail(kernel::describe(probe));
  switch (probe.support) {
    case kernel::MsealSupport::Available:
      mseal = "available";
      break;
    case kernel::MsealSupport::NoKernel:
      mseal = "missing";
      if (filtered) {
        mseal = "missing-or-filtered";
        mseal_detail +=
            "; but a seccomp filter is active and may return ENOSYS for calls it does not know";
      }
      break;
    case kernel::MsealSupport::Denied:
      mseal = "denied";
      break;
    case kernel::MsealSupport::Killed:
      mseal = "killed";
      break;
    case kernel::MsealSupport::Faked:
      mseal = "faked";
      break;
  }
  j["mseal"] = mseal;
  j["mseal_detail"] = mseal_detail;
  j["seccomp"] = seccomp == "0"   ? "none"
                 : seccomp == "1" ? "strict"
                 : seccomp == "2" ? "filter"
                                  : "unknown";
  j["seccomp_filters"] = status_line("Seccomp_filters:");

  // Does smaps show the seal? Seal a scratch page and look.
  bool sl_shown = false;
  if (probe.support == kernel::MsealSupport::Available) {
    void* p = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED && kernel::sys_mseal(reinterpret_cast<std::uint64_t>(p), 4096, 0) == 0) {
      kernel::SmapsReader r;
      std::vector<kernel::SmapsEntry> entries;
      if (r.open(0, nullptr) && r.read(entries, nullptr))
        for (const auto& e : entries)
          if (e.start == reinterpret_cast<Addr>(p)) sl_shown = (e.vmflags & vm::SEALED) != 0;
    }
  }
  j["smaps_shows_sl"] = sl_shown;

  // System mappings sealed by the kernel at exec (CONFIG_MSEAL_SYSTEM_MAPPINGS).
  nlohmann::json sys = nlohmann::json::object();
  {
    kernel::SmapsReader r;
    std::vector<kernel::SmapsEntry> entries;
    if (r.open(0, nullptr) && r.read(entries, nullptr))
      for (const auto& e : entries)
        if (e.name == "[vdso]" || e.name == "[vvar]" || e.name == "[vvar_vclock]")
          sys[e.name] = (e.vmflags & vm::SEALED) != 0;
  }
  j["system_mappings_sealed"] = sys;
  const kernel::SealBypasses bypass = kernel::read_seal_bypasses();
  const std::string cfg =
      bypass.mseal_system_mappings == "unknown" ? "" : bypass.mseal_system_mappings;
  j["config_mseal_system_mappings"] = bypass.mseal_system_mappings;
  j["proc_mem_force_override"] = bypass.proc_mem_force;
  j["proc_mem_force_override_source"] = bypass.proc_mem_source;
  j["yama_ptrace_scope"] = bypass.ptrace_scope;
  j["unprivileged_userfaultfd"] = bypass.unprivileged_userfaultfd;
  j["seal_bypasses"] = bypass.findings;

  j["max_map_count"] = kernel::read_vm_sysctl("max_map_count", 0);
  j["pku"] = kernel::have_pku();
  j["guard_regions_in_pagemap"] = kernel::pagemap_reports_guards();
  j["read_fault_zero_page"] = kernel::read_fault_maps_zero_page();
  j["glibc"] = gnu_get_libc_version();
  j["glibc_mseal_wrapper"] = dlsym(RTLD_DEFAULT, "mseal") != nullptr;

  const int rc = probe.support == kernel::MsealSupport::Available ? kOk : kNoMseal;
  if (o.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return rc;
  }
  auto yes = [](bool b) { return b ? "yes" : "no"; };
  std::printf("kernel              %s (%s)\n", u.release, u.machine);
  std::printf("mseal               %s: %s\n", mseal.c_str(), mseal_detail.c_str());
  std::printf(
      "seccomp             %s%s\n", j["seccomp"].get<std::string>().c_str(),
      filtered ? (" (" + j["seccomp_filters"].get<std::string>() + " filter(s))").c_str() : "");
  if (probe.support == kernel::MsealSupport::Available)
    std::printf("smaps shows 'sl'    %s\n", yes(sl_shown));
  std::string sys_text;
  for (const auto& [name, sealed] : sys.items())
    sys_text +=
        (sys_text.empty() ? "" : ", ") + name + (sealed.get<bool>() ? " sealed" : " not sealed");
  std::printf("system mappings     %s (CONFIG_MSEAL_SYSTEM_MAPPINGS: %s)\n",
              sys_text.empty() ? "none found" : sys_text.c_str(),
              cfg.empty() ? "unknown, no /boot/config or /proc/config.gz" : cfg.c_str());
  std::printf("/proc/PID/mem       force_override=%s%s\n", bypass.proc_mem_force.c_str(),
              bypass.proc_mem_source.empty() ? "" : (" (" + bypass.proc_mem_source + ")").c_str());
  std::printf("Yama ptrace_scope   %s\n", bypass.ptrace_scope < 0
                                              ? "Yama not active"
                                              : std::to_string(bypass.ptrace_scope).c_str());
  std::printf("vm.max_map_count    %llu\n",
              static_cast<unsigned long long>(j["max_map_count"].get<std::uint64_t>()));
  std::printf("protection keys     %s\n", yes(j["pku"].get<bool>()));
  std::printf("guard regions       %s\n", j["guard_regions_in_pagemap"].get<bool>()
                                              ? "yes (MADV_GUARD_INSTALL, shown in pagemap)"
                                              : "no, or not shown in pagemap (needs Linux 6.14)");
  std::printf("anon read fault     %s\n",
              j["read_fault_zero_page"].get<bool>()
                  ? "maps the zero page (upstream)"
                  : "allocates a page and an anon_vma (sim: --read-fault-allocates)");
  std::printf("glibc               %s, mseal() wrapper: %s\n", gnu_get_libc_version(),
              yes(j["glibc_mseal_wrapper"].get<bool>()));
  if (!bypass.findings.empty()) {
    std::printf("\nWhat lets someone around a seal on this system:\n");
    for (const std::string& f : bypass.findings) std::printf("  - %s\n", f.c_str());
  }
  return rc;
}

}  // namespace vmseal::cli
