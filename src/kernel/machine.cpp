#include "vmseal/kernel/machine.hpp"

#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include <vector>

#include "vmseal/engine/vm_flags.hpp"
#include "vmseal/kernel/pagemap.hpp"
#include "vmseal/kernel/proc.hpp"
#include "vmseal/kernel/smaps.hpp"

namespace vmseal::kernel {

namespace {

std::string mseal_state(const MsealProbe& probe, bool filtered, std::string& detail) {
  detail = std::string(describe(probe));
  switch (probe.support) {
    case MsealSupport::Available:
      return "available";
    case MsealSupport::NoKernel:
      if (!filtered) return "missing";
      detail += "; but a seccomp filter is active and may return ENOSYS for calls it does not know";
      return "missing-or-filtered";
    case MsealSupport::Denied:
      return "denied";
    case MsealSupport::Killed:
      return "killed";
    case MsealSupport::Faked:
      return "faked";
  }
  return "unknown";
}

// Seals a scratch page and looks for it in smaps: does the kernel show "sl"?
bool smaps_shows_seal() {
  void* p = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED || sys_mseal(reinterpret_cast<std::uint64_t>(p), 4096, 0) != 0) return false;
  SmapsReader r;
  std::vector<SmapsEntry> entries;
  if (!r.open(0, nullptr) || !r.read(entries, nullptr)) return false;
  for (const SmapsEntry& e : entries)
    if (e.start == reinterpret_cast<Addr>(p)) return (e.vmflags & vm::SEALED) != 0;
  return false;
}

// The system mappings (CONFIG_MSEAL_SYSTEM_MAPPINGS seals them at exec).
std::map<std::string, bool> system_mappings() {
  std::map<std::string, bool> out;
  SmapsReader r;
  std::vector<SmapsEntry> entries;
  if (r.open(0, nullptr) && r.read(entries, nullptr))
    for (const SmapsEntry& e : entries)
      if (e.name == "[vdso]" || e.name == "[vvar]" || e.name == "[vvar_vclock]")
        out[e.name] = (e.vmflags & vm::SEALED) != 0;
  return out;
}

}  // namespace

MachineReport check_machine() {
  MachineReport m;
  utsname u{};
  uname(&u);
  m.kernel = u.release;
  m.machine = u.machine;
  m.probe = probe_mseal_isolated();
  const std::string seccomp = read_status_field(0, "Seccomp:").value_or("");
  m.seccomp = seccomp == "0"   ? "none"
              : seccomp == "1" ? "strict"
              : seccomp == "2" ? "filter"
                               : "unknown";
  m.seccomp_filters = read_status_field(0, "Seccomp_filters:").value_or("");
  m.mseal = mseal_state(m.probe, seccomp == "2", m.mseal_detail);
  m.smaps_shows_sl = m.probe.support == MsealSupport::Available && smaps_shows_seal();
  m.system_mappings_sealed = system_mappings();
  m.bypasses = read_seal_bypasses();
  m.max_map_count = read_vm_sysctl("max_map_count", 0);
  m.pku = have_pku();
  m.guard_regions_in_pagemap = pagemap_reports_guards();
  m.read_fault_zero_page = read_fault_maps_zero_page();
  m.glibc = gnu_get_libc_version();
  m.glibc_mseal_wrapper = dlsym(RTLD_DEFAULT, "mseal") != nullptr;
  return m;
}

}  // namespace vmseal::kernel
