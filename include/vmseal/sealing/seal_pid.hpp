// `vmseal seal PID`: seals the loaded images of a process that is already
// running, dynamic or static, with the plan, profiles, opt-outs and RELRO
// treatment of `vmseal run` (docs/run.md, "Sealing a running process").
//
// 1. Before anything stops: the process is checked (not vmseal, not a
//    kernel thread, not exiting, not traced already, no thread in vfork or
//    exec, no seccomp strict mode, no shadow stack), its images are found
//    and planned from /proc/PID/smaps and their files (process_images.hpp),
//    and the `syscall; ret` and rt_sigreturn sequences to inject at are
//    found in its code. A process whose plan is sealed already is left
//    alone: nothing stops it.
// 2. In a sealer process (a child of the caller's, so that a thread that
//    never stops is released by its exit): every thread is seized and
//    stopped (Tracee::seize_process), the layout is read again, one thread
//    is chosen and armed (safe_injection.hpp), the plan is carried out by
//    calls injected there (remote_seal.hpp), the thread is put back and
//    every thread detached. If the sealer dies at any point, the kernel
//    detaches the threads and the armed one puts itself back.
// 3. The seals are read again from smaps, and a report says what was done.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vmseal/sealing/plan.hpp"

namespace vmseal::sealing {

enum class SealPidStatus : std::uint8_t {
  Sealed,         // every planned range sealed (some may have been sealed before)
  AlreadySealed,  // nothing was left to seal: the process was not stopped
  DryRun,         // the plan, nothing done
  Partial,        // some planned ranges could not be sealed (the report says which)
  NoProcess,      // no such process, or it exited meanwhile
  Permission,     // ptrace (or its /proc files) not allowed: another user, Yama, ...
  AlreadyTraced,  // a debugger, strace or another vmseal traces it
  KernelThread,   // a kernel thread has no user memory
  Exiting,        // a zombie, or exiting
  Self,           // vmseal's own process
  Unsafe,         // a state where injecting is not safe (the reason says which)
  NoMseal,        // the kernel has no mseal
  Failed,         // an internal failure (the sealer died, a file could not be read)
};
const char* seal_pid_status_name(SealPidStatus s) noexcept;

struct SealPidSettings {
  Profile profile = Profile::Default;
  std::vector<std::string> opt_out;  // globs (fnmatch), against each object's path and file name
  bool dry_run = false;
  int stop_timeout_ms = 2000;  // a thread that has not stopped by then: Unsafe
};

struct SealPidResult {
  SealPidStatus status = SealPidStatus::Failed;
  std::string why;     // a sentence for the user, "" when sealed
  std::string report;  // the JSON report (docs/run.md lists its fields)
};

// Seals process `pid` (see the top of this file).
SealPidResult seal_running_process(pid_t pid, const SealPidSettings& settings);

}  // namespace vmseal::sealing
