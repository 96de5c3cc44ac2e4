// Reading another process through /proc: which process, whether it can be
// read, and if not, exactly why (no such process, exited while being read,
// permission denied with the capability or ptrace setting that is missing).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmseal/kernel/smaps.hpp"

namespace vmseal::kernel {

enum class ProcError : std::uint8_t {
  None,
  NoSuchProcess,     // no /proc/PID (never existed, or gone before we looked)
  Exited,            // the process went away while it was being read
  PermissionDenied,  // ptrace access check failed
  Other,
};

struct ProcFailure {
  ProcError kind = ProcError::None;
  std::string message;  // for the user, with the remedy where there is one
};

// "self" (this process) or a positive decimal pid. False for anything else.
bool parse_pid(std::string_view text, pid_t& pid) noexcept;

struct ProcessInfo {
  pid_t pid = 0;
  std::string comm;            // /proc/PID/comm
  std::string exe;             // readlink /proc/PID/exe ("" when unreadable, e.g. kernel threads)
  uid_t uid = 0;               // real uid (/proc/PID/status)
  bool kernel_thread = false;  // no mm: no mappings at all
};

bool read_process_info(pid_t pid, ProcessInfo& out, ProcFailure* failure);

// Reads /proc/PID/smaps, telling a process that exits mid-read from a
// permission problem. The entries are read lean (SmapsReader::set_lean):
// header fields and VmFlags only.
bool read_process_smaps(pid_t pid, std::vector<SmapsEntry>& out, ProcFailure* failure);

// The value of `key` ("Uid:", "Seccomp:", ...) in /proc/PID/status (pid 0:
// this process), blanks after the key skipped; nullopt when absent.
std::optional<std::string> read_status_field(pid_t pid, std::string_view key);

// Opens /proc/PID/NAME (pid 0: /proc/self/NAME) read-only; -1 with a message
// naming the file and, when refused, what access it needs.
int open_proc_file(int pid, const char* name, std::string* error);

// Every pid in /proc, ascending.
std::vector<pid_t> list_pids();

// Why reading `pid`'s memory map was refused, with what would allow it.
std::string permission_hint(pid_t pid);

}  // namespace vmseal::kernel
