#include "vmseal/kernel/proc.hpp"

#include "vmseal/kernel/syscalls.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace vmseal::kernel {
namespace {

std::string proc_path(pid_t pid, const char* file) {
  return "/proc/" + std::to_string(pid) + "/" + file;
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

bool zombie(pid_t pid) {
  const auto state = read_status_field(pid, "State:");
  return !state || state->starts_with('Z') || state->starts_with('X');  // no status: gone
}

// The first number after `key` in /proc/PID/status ("Uid:", ...).
bool status_field(pid_t pid, std::string_view key, std::uint64_t& out) {
  const auto v = read_status_field(pid, key);
  if (!v) return false;
  const auto r = std::from_chars(v->data(), v->data() + v->size(), out);
  return r.ec == std::errc();
}

void classify(pid_t pid, int err, const std::string& what, ProcFailure* failure) {
  if (failure == nullptr) return;
  if (err == ENOENT || err == ESRCH) {
    failure->kind = ProcError::NoSuchProcess;
    failure->message = "no such process: " + std::to_string(pid);
  } else if (err == EACCES || err == EPERM) {
    failure->kind = ProcError::PermissionDenied;
    failure->message = what + ": permission denied. " + permission_hint(pid);
  } else {
    failure->kind = ProcError::Other;
    failure->message = what + ": " + std::strerror(err);
  }
}

}  // namespace

int open_proc_file(int pid, const char* name, std::string* error) {
  const std::string path = pid == 0 ? std::string("/proc/self/") + name : proc_path(pid, name);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && error != nullptr) {
    const int e = errno;
    *error = path + ": " + std::strerror(e);
    if (e == EACCES || e == EPERM)
      *error += std::string(" (reading another user's ") + name +
                " needs CAP_SYS_PTRACE, or ptrace access under kernel.yama.ptrace_scope)";
  }
  return fd;
}

std::optional<std::string> read_status_field(pid_t pid, std::string_view key) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status") : proc_path(pid, "status"));
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with(key)) continue;
    std::size_t i = key.size();
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    return line.substr(i);
  }
  return std::nullopt;
}

bool parse_pid(std::string_view text, pid_t& pid) noexcept {
  if (text == "self") {
    pid = ::getpid();
    return true;
  }
  if (text.empty() || text.size() > 10) return false;
  long long v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v <= 0 || v > 0x3fffffff)
    return false;
  pid = static_cast<pid_t>(v);
  return true;
}

std::string permission_hint(pid_t pid) {
  std::uint64_t uid = 0;
  const bool known = status_field(pid, "Uid:", uid);
  const bool root = ::geteuid() == 0;
  if (known && uid != ::geteuid() && !root)
    return "The process belongs to uid " + std::to_string(uid) +
           "; reading another user's memory map needs CAP_SYS_PTRACE (run as root, or as that "
           "user).";
  std::ifstream scope_in("/proc/sys/kernel/yama/ptrace_scope");
  int scope = -1;
  if (scope_in >> scope && scope >= 3)
    return "kernel.yama.ptrace_scope is 3: no process may read another's memory map until reboot.";
  // CapEff is hexadecimal; CAP_SYS_PTRACE is bit 19.
  bool have_ptrace_cap = false;
  if (const auto cap = read_status_field(0, "CapEff:")) {
    std::uint64_t bits = 0;
    const auto r = std::from_chars(cap->data(), cap->data() + cap->size(), bits, 16);
    have_ptrace_cap = r.ec == std::errc() && ((bits >> 19) & 1U) != 0;
  }
  if (have_ptrace_cap)
    return "This process has CAP_SYS_PTRACE and was still refused: the target is probably in "
           "another "
           "user namespace (a container's init, say) or an LSM (Yama, SELinux, AppArmor) denies "
           "the access.";
  // Same user, yet refused: the target is not dumpable (setuid, or
  // prctl(PR_SET_DUMPABLE, 0)), so only CAP_SYS_PTRACE passes.
  return "The process is not dumpable (a setuid or setgid program, or prctl(PR_SET_DUMPABLE, 0)); "
         "reading its memory map needs CAP_SYS_PTRACE, which this process does not have.";
}

bool read_process_info(pid_t pid, ProcessInfo& out, ProcFailure* failure) {
  out = ProcessInfo{};
  out.pid = pid;
  {
    std::ifstream comm(proc_path(pid, "comm"));
    if (!comm) {
      classify(pid, errno != 0 ? errno : ENOENT, proc_path(pid, "comm"), failure);
      return false;
    }
    std::getline(comm, out.comm);
  }
  std::uint64_t uid = 0;
  if (status_field(pid, "Uid:", uid)) out.uid = static_cast<uid_t>(uid);
  char buf[4096];
  const ssize_t n = ::readlink(proc_path(pid, "exe").c_str(), buf, sizeof buf - 1);
  if (n > 0) out.exe.assign(buf, static_cast<std::size_t>(n));
  // A kernel thread has no mm: its maps file is empty and exe unreadable.
  std::uint64_t vm = 0;
  out.kernel_thread = out.exe.empty() && !status_field(pid, "VmSize:", vm);
  return true;
}

bool read_process_smaps(pid_t pid, std::vector<SmapsEntry>& out, ProcFailure* failure) {
  out.clear();
  SmapsReader reader;
  std::string err;
  const std::string path = proc_path(pid, "smaps");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    classify(pid, errno, path, failure);
    return false;
  }
  ::close(fd);
  reader.set_lean(true);
  if (!reader.open(pid, &err)) {
    classify(pid, errno != 0 ? errno : EACCES, path, failure);
    return false;
  }
  // A process has at most vm.max_map_count mappings: reserving that many
  // (address space only; pages are touched as entries are filled) saves the
  // vector's regrowth copies, which cost as much as parsing for 60,000.
  out.reserve(
      std::min<std::uint64_t>(read_vm_sysctl("max_map_count", 65530) + 16, std::uint64_t{1} << 20));
  advise_huge_pages(out.data(), out.capacity() * sizeof(SmapsEntry));
  const bool ok = reader.read(out, &err);
  // A process that exits while smaps is read gives a short (often empty)
  // file or ESRCH; either way it is no longer there afterwards.
  if (!alive(pid) || (out.empty() && zombie(pid))) {
    if (failure != nullptr) {
      failure->kind = ProcError::Exited;
      failure->message =
          "process " + std::to_string(pid) + " exited while its memory map was being read";
    }
    return false;
  }
  if (!ok) {
    if (failure != nullptr) {
      failure->kind = ProcError::Other;
      failure->message = err;
    }
    return false;
  }
  return true;
}

std::vector<pid_t> list_pids() {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    pid_t pid = 0;
    const std::string_view name(e->d_name);
    if (name != "self" && parse_pid(name, pid)) out.push_back(pid);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vmseal::kernel
