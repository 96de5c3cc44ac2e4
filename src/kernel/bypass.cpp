#include "vmseal/kernel/bypass.hpp"

#include <sys/utsname.h>
#include <zlib.h>

#include <fstream>
#include <sstream>

namespace vmseal::kernel {
namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  return line;
}

int read_int(const std::string& path) {
  const std::string s = first_line(path);
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 6)
    return -1;
  return std::stoi(s);
}

// "word=value" on the kernel command line ("" when absent).
std::string cmdline_value(const std::string& key) {
  std::istringstream in(first_line("/proc/cmdline"));
  for (std::string word; in >> word;) {
    if (word == "--") break;  // what follows goes to init
    if (word.rfind(key + "=", 0) == 0) return word.substr(key.size() + 1);
  }
  return "";
}

// The value of `option` in config text, read line by line through `next`.
template <typename NextLine>
std::string find_option(const std::string& option, NextLine next) {
  for (std::string line; next(line);) {
    if (line.rfind(option + "=", 0) == 0) return line.substr(option.size() + 1);
    if (line == "# " + option + " is not set") return "n";
  }
  return "n";
}

}  // namespace

std::string kernel_config_option(const std::string& option) {
  utsname u{};
  uname(&u);
  if (std::ifstream in("/boot/config-" + std::string(u.release)); in)
    return find_option(option,
                       [&](std::string& l) { return static_cast<bool>(std::getline(in, l)); });
  gzFile gz = gzopen("/proc/config.gz", "rb");
  if (gz == nullptr) return "";
  char buf[4096];
  const std::string value = find_option(option, [&](std::string& l) {
    if (gzgets(gz, buf, sizeof buf) == nullptr) return false;
    l = buf;
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
    return true;
  });
  gzclose(gz);
  return value;
}

SealBypasses read_seal_bypasses() {
  SealBypasses b;
  // fs/proc/base.c: proc_mem_force_override, from the command line or the
  // PROC_MEM_* choice the kernel was built with.
  if (const std::string v = cmdline_value("proc_mem.force_override"); !v.empty()) {
    b.proc_mem_force = v;
    b.proc_mem_source = "kernel command line";
  } else if (kernel_config_option("CONFIG_PROC_MEM_ALWAYS_FORCE") == "y") {
    b.proc_mem_force = "always";
    b.proc_mem_source = "kernel config (CONFIG_PROC_MEM_ALWAYS_FORCE)";
  } else if (kernel_config_option("CONFIG_PROC_MEM_FORCE_PTRACE") == "y") {
    b.proc_mem_force = "ptrace";
    b.proc_mem_source = "kernel config (CONFIG_PROC_MEM_FORCE_PTRACE)";
  } else if (kernel_config_option("CONFIG_PROC_MEM_NO_FORCE") == "y") {
    b.proc_mem_force = "never";
    b.proc_mem_source = "kernel config (CONFIG_PROC_MEM_NO_FORCE)";
  }
  b.ptrace_scope = read_int("/proc/sys/kernel/yama/ptrace_scope");
  const std::string cfg = kernel_config_option("CONFIG_MSEAL_SYSTEM_MAPPINGS");
  b.mseal_system_mappings = cfg.empty() ? "unknown" : cfg == "y" ? "y" : "n";
  b.unprivileged_userfaultfd = read_int("/proc/sys/vm/unprivileged_userfaultfd");

  if (b.proc_mem_force == "always")
    b.findings.push_back(
        "proc_mem.force_override=always: a process's own /proc/self/mem, and any process allowed "
        "to "
        "open another's, writes sealed read-only memory (text, RELRO) regardless of protection");
  else if (b.proc_mem_force == "ptrace")
    b.findings.push_back(
        "proc_mem.force_override=ptrace: a process that ptraces another writes its sealed "
        "read-only "
        "memory through /proc/PID/mem");
  if (b.ptrace_scope == -1)
    b.findings.push_back(
        "Yama is not active: any process of the same user may ptrace another (PTRACE_POKETEXT "
        "writes sealed text)");
  else if (b.ptrace_scope == 0)
    b.findings.push_back(
        "kernel.yama.ptrace_scope=0: any process of the same user may ptrace another");
  if (b.mseal_system_mappings != "y")
    b.findings.push_back(std::string("CONFIG_MSEAL_SYSTEM_MAPPINGS is ") +
                         (b.mseal_system_mappings == "n" ? "off" : "unknown") +
                         ": the kernel does not seal [vdso], [vvar] and [vvar_vclock] at exec (the "
                         "strict profile does)");
  return b;
}

}  // namespace vmseal::kernel
