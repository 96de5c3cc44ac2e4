#include "vmseal/sealing/seal_pid.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "vmseal/engine/vm_flags.hpp"
#include "vmseal/sealing/process_images.hpp"
#include "vmseal/sealing/remote_seal.hpp"
#include "vmseal/sealing/safe_injection.hpp"
#include "vmseal/sealing/seccomp_filter.hpp"
#include "vmseal/sealing/tracee.hpp"
#include "vmseal/version.hpp"

namespace vmseal::sealing {

const char* seal_pid_status_name(SealPidStatus s) noexcept {
  switch (s) {
    case SealPidStatus::Sealed:
      return "sealed";
    case SealPidStatus::AlreadySealed:
      return "already-sealed";
    case SealPidStatus::DryRun:
      return "dry-run";
    case SealPidStatus::Partial:
      return "partial";
    case SealPidStatus::NoProcess:
      return "no-process";
    case SealPidStatus::Permission:
      return "permission";
    case SealPidStatus::AlreadyTraced:
      return "already-traced";
    case SealPidStatus::KernelThread:
      return "kernel-thread";
    case SealPidStatus::Exiting:
      return "exiting";
    case SealPidStatus::Self:
      return "self";
    case SealPidStatus::Unsafe:
      return "unsafe";
    case SealPidStatus::NoMseal:
      return "no-mseal";
    case SealPidStatus::Failed:
      return "failed";
  }
  return "failed";
}

namespace {

constexpr unsigned long kPfExiting = 0x00000004;   // PF_EXITING
constexpr unsigned long kPfKthread = 0x00200000;   // PF_KTHREAD
constexpr unsigned long kCloneVfork = 0x00004000;  // CLONE_VFORK
constexpr long kNrMseal = 462;
constexpr int kAttempts = 20;  // stops to find a thread to inject into

SealPidResult result(SealPidStatus status, std::string why) {
  return SealPidResult{status, std::move(why), ""};
}

struct ProcStat {
  bool ok = false;
  char state = '?';
  unsigned long flags = 0;
  unsigned long long start_time = 0;
  int cpu = -1;  // the CPU it last ran on
};

// /proc/PID/task/TID/stat's state, flags and start time (after the
// command name, which may hold anything, ')' included).
ProcStat read_stat(pid_t pid, pid_t tid) {
  ProcStat st;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return st;
  std::istringstream f(text.substr(close + 1));
  std::string field;
  std::vector<std::string> v;
  while (f >> field && v.size() < 37) v.push_back(field);
  if (v.size() < 20) return st;
  st.ok = true;
  st.state = v[0][0];
  st.flags = std::stoul(v[6]);
  st.start_time = std::stoull(v[19]);
  if (v.size() == 37) st.cpu = std::stoi(v[36]);
  return st;
}

std::vector<pid_t> thread_ids(pid_t pid) {
  std::vector<pid_t> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d))
      if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
        out.push_back(static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)));
    closedir(d);
  }
  return out;
}

// What each thread is blocked in (/proc/PID/task/TID/syscall: the number
// and six arguments), for the calls during which the memory is not the
// process's own to change: vfork (the child borrows it until it execs or
// exits; the parent cannot be stopped meanwhile) and execve.
std::string thread_hazard(pid_t pid, pid_t tid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall");
  long nr = -1;
  unsigned long long arg0 = 0;
  if (!(in >> nr) || nr < 0 || !(in >> std::hex >> arg0)) return "";
  const std::string who = "thread " + std::to_string(tid) + " ";
  if (nr == SYS_vfork || (nr == SYS_clone && (arg0 & kCloneVfork) != 0))
    return who + "is a vfork parent: its child borrows the memory until it execs or exits";
  if (nr == 435 /* clone3 */) {
    std::uint64_t flags = 0;
    if (read_process_memory(pid, arg0, &flags, sizeof flags) == 0 && (flags & kCloneVfork) != 0)
      return who +
             "is a vfork parent (clone3): its child borrows the memory until it execs or exits";
  }
  if (nr == SYS_execve || nr == SYS_execveat)
    return who + "is in the middle of execve: the memory is about to be replaced";
  return "";
}

// The reasons to refuse before anything is stopped.
std::optional<SealPidResult> refuse_early(pid_t pid) {
  const std::string who = "process " + std::to_string(pid);
  if (pid == getpid() || proc_status_field(pid, "Tgid") == std::to_string(getpid()))
    return result(SealPidStatus::Self, who + " is vmseal itself");
  const ProcStat st = read_stat(pid, pid);
  if (!st.ok) return result(SealPidStatus::NoProcess, who + " does not exist");
  if ((st.flags & kPfKthread) != 0 || proc_status_field(pid, "Kthread") == "1")
    return result(SealPidStatus::KernelThread, who + " is a kernel thread: it has no user memory");
  bool alive = false;
  for (const pid_t tid : thread_ids(pid)) {
    const ProcStat t = read_stat(pid, tid);
    alive = alive || (t.ok && t.state != 'Z' && t.state != 'X' && (t.flags & kPfExiting) == 0);
  }
  if (!alive) return result(SealPidStatus::Exiting, who + " is a zombie, or exiting");
  if (st.state == 'Z' || st.state == 'X')
    return result(SealPidStatus::Unsafe, who +
                                             "'s main thread has exited (its other threads "
                                             "run on): it cannot be traced as a whole");
  if (const pid_t tracer = tracer_of(pid); tracer > 0)
    return result(SealPidStatus::AlreadyTraced,
                  who + " is already traced by process " + std::to_string(tracer) +
                      " (a debugger, strace, or another vmseal); a process has one tracer");
  if (proc_status_field(pid, "Seccomp") == "1")
    return result(SealPidStatus::Unsafe,
                  who + " runs in seccomp strict mode: any other system call kills it");
  if (proc_status_field(pid, "x86_Thread_features").find("shstk") != std::string::npos)
    return result(SealPidStatus::Unsafe,
                  who +
                      " uses shadow stacks: the return path vmseal relies on if it dies "
                      "mid-way (rt_sigreturn through a frame of its own) would fault");
  for (const pid_t tid : thread_ids(pid))
    if (std::string h = thread_hazard(pid, tid); !h.empty())
      return result(SealPidStatus::Unsafe, who + ": " + h);
  return std::nullopt;
}

std::uint64_t now_us() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

std::uint64_t sealed_bytes_of(const ProcessImages& images) {
  std::uint64_t n = 0;
  for (const kernel::SmapsEntry& e : images.entries)
    if ((e.vmflags & vm::SEALED) != 0) n += e.end - e.start;
  return n;
}

bool is_kernel_mapping(const std::string& name) {
  for (const char* k : SelfMappings::kKernelNames)
    if (name == k) return true;
  return false;
}

bool sealed_in(Addr start, Addr end, void* images) {
  return static_cast<const ProcessImages*>(images)->sealed(start, end);
}

const char* loaded_how(const ProcessObject& o) {
  if (o.startup) return "startup";
  return o.nodelete ? "dlopen, nodelete" : "dlopen";
}

std::string hex(Addr a) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(a));
  return b;
}

// A thread to inject into: stopped by its interrupt, its stack pointer in
// memory where a signal frame may go (see choices()).
struct ThreadChoice {
  pid_t tid = 0;
  Addr stack_low = 0;
};

// The sealer's work on one process, in the sealer process.
class Sealer {
 public:
  Sealer(pid_t pid, const SealPidSettings& s) : pid_(pid), settings_(s), files_(pid) {}
  SealPidResult run();

 private:
  bool discover(SealPidResult& refusal);
  bool needs_injection() const;
  std::size_t plan_failures() const;
  SealPidResult stop_and_seal();
  bool stop_all(SealPidResult& refusal);
  std::vector<ThreadChoice> choices();
  std::string inject_somewhere(bool& done);
  std::string seccomp_obstacle(pid_t tid);
  void seal_all(ArmedThread& armed);
  void release();
  SealPidResult conclude();
  SealPidResult finish(SealPidStatus status, std::string why);
  nlohmann::json object_json(const ProcessObject& o) const;
  nlohmann::json report(SealPidStatus status, const std::string& why) const;

  pid_t pid_;
  const SealPidSettings& settings_;
  MappedFiles files_;
  ProcessImages images_;
  std::string layout_;  // images_'s mappings, to see whether they changed
  std::unique_ptr<SelfMappings> maps_;
  Tracee tracee_;
  InjectionSites sites_;
  SeccompFilters filters_;
  std::vector<RemoteKernelMapping> kernel_;
  std::set<std::string> notes_;
  unsigned long long start_time_ = 0;
  std::uint64_t sealed_before_ = 0, sealed_after_ = 0, sealed_bytes_ = 0;
  std::uint64_t pause_us_ = 0;
  std::size_t failures_ = 0, threads_ = 0, calls_ = 0;
  int first_error_ = 0;
  int attempts_ = 0;
  pid_t injected_tid_ = 0;
  bool stopped_ = false;
};

bool Sealer::discover(SealPidResult& refusal) {
  std::string why;
  if (find_process_images(pid_, files_, {settings_.profile, settings_.opt_out}, images_, &why)) {
    layout_ = layout_of(images_.entries);
    return true;
  }
  const bool gone = !read_stat(pid_, pid_).ok;
  refusal = finish(gone ? SealPidStatus::NoProcess : SealPidStatus::Permission,
                   "process " + std::to_string(pid_) + (gone ? " exited" : "'s maps: " + why));
  return false;
}

bool Sealer::needs_injection() const {
  for (const ProcessObject& o : images_.objects)
    if (o.remote.verdict == "sealed")
      for (const RemoteRange& r : o.remote.ranges)
        if (r.plan.seal && !r.already_sealed && r.error == 0) return true;
  if (settings_.profile == Profile::Strict)
    for (const kernel::SmapsEntry& e : images_.entries)
      if (is_kernel_mapping(e.name) && (e.vmflags & vm::SEALED) == 0) return true;
  return false;
}

// Objects that cannot be sealed for a reason the plan finds (their file is
// unreadable) and ranges that another mapping covers: failures.
std::size_t Sealer::plan_failures() const {
  std::size_t n = 0;
  for (const ProcessObject& o : images_.objects) {
    if (o.remote.verdict == "failed" && o.remote.ranges.empty()) ++n;
    for (const RemoteRange& r : o.remote.ranges)
      if (r.plan.seal && r.error == kForeignMapping) ++n;
  }
  return n;
}

SealPidResult Sealer::run() {
  SealPidResult refusal;
  start_time_ = read_stat(pid_, pid_).start_time;
  if (!discover(refusal)) return refusal;
  sealed_before_ = sealed_after_ = sealed_bytes_of(images_);
  if (settings_.dry_run) return finish(SealPidStatus::DryRun, "");
  if (!needs_injection()) {
    failures_ = plan_failures();
    return finish(failures_ > 0 ? SealPidStatus::Partial : SealPidStatus::AlreadySealed, "");
  }
  std::string why;
  if (!find_injection_sites(pid_, sites_, &why))
    return finish(SealPidStatus::Unsafe, "process " + std::to_string(pid_) + ": " + why);
  maps_ = std::make_unique<SelfMappings>();  // zeroed now, not while the threads wait
  return stop_and_seal();
}

// Stops every thread, reads the layout again (it is the one sealed), and
// seals through one thread; when no thread is in a state to inject into,
// lets them all run and tries again a little later.
SealPidResult Sealer::stop_and_seal() {
  for (attempts_ = 1; attempts_ <= kAttempts; ++attempts_) {
    const std::uint64_t t0 = now_us();
    SealPidResult refusal;
    if (!stop_all(refusal)) return refusal;
    std::string obstacle;
    bool done = false;
    const bool same = read_stat(pid_, pid_).start_time == start_time_;
    if (!same)
      obstacle = "exited (its PID now names another process)";
    else if (layout_now(pid_) != layout_ && !discover(refusal))
      obstacle = refusal.why;  // the layout changed since the plan: planned again
    else if (!needs_injection())
      done = true;  // sealed meanwhile
    else if (!injection_sites_intact(pid_, sites_))
      obstacle = "its code changed since it was read";
    else
      obstacle = inject_somewhere(done);
    release();
    pause_us_ = now_us() - t0;
    if (done) return conclude();
    if (!obstacle.empty())
      return finish(same ? SealPidStatus::Unsafe : SealPidStatus::NoProcess,
                    "process " + std::to_string(pid_) + ": " + obstacle);
    std::this_thread::sleep_for(std::chrono::milliseconds(2 * attempts_));
  }
  return finish(
      SealPidStatus::Unsafe,
      "process " + std::to_string(pid_) + ": no thread was stopped where injecting is safe in " +
          std::to_string(kAttempts) + " tries (" +
          (images_.is_go ? "a Go program: its main thread must be on its own stack, not "
                           "a goroutine's"
                         : "every thread's stack full, or in a signal-mask-swapping wait") +
          ")");
}

bool Sealer::stop_all(SealPidResult& refusal) {
  std::string why;
  pid_t slow = 0;
  const int err = tracee_.seize_process(pid_, 0, &why, settings_.stop_timeout_ms, &slow);
  injection_checkpoint();
  stopped_ = err == 0;
  if (err == 0) {
    threads_ = tracee_.threads().size();
    return true;
  }
  if (err == ESRCH) {
    refusal = finish(SealPidStatus::NoProcess, "process " + std::to_string(pid_) + " exited");
  } else if (err == ETIMEDOUT) {
    // The threads that stopped are released; the one that did not stays
    // seized until this sealer process exits, right after.
    const std::string h = thread_hazard(pid_, slow);
    refusal = finish(SealPidStatus::Unsafe,
                     why + (h.empty() ? ": an uninterruptible wait (disk or network I/O in D "
                                        "state, a vfork parent, a core dump)"
                                      : ": " + h));
  } else if (const pid_t tracer = tracer_of(pid_); tracer > 0 && tracer != getpid()) {
    refusal = finish(SealPidStatus::AlreadyTraced, why);
  } else {
    refusal = finish(
        err == EPERM || err == EACCES ? SealPidStatus::Permission : SealPidStatus::Failed, why);
  }
  return false;
}

// Threads that may carry the injection, the main thread first. Its stack
// pointer must be where a signal frame may go: the main thread on [stack],
// or (not in a Go program, whose goroutine stacks are small and in its
// heap) another thread on private anonymous memory (a pthread stack).
std::vector<ThreadChoice> Sealer::choices() {
  std::vector<pid_t> tids = tracee_.threads();
  std::stable_partition(tids.begin(), tids.end(), [&](pid_t t) { return t == pid_; });
  std::vector<ThreadChoice> out;
  for (const pid_t tid : tids) {
    user_regs_struct r{};
    if (tracee_.last_stop(tid) != StopKind::Event || ptrace(PTRACE_GETREGS, tid, nullptr, &r) != 0)
      continue;
    const kernel::SmapsEntry* m = images_.mapping_at(r.rsp - 1);
    if (m == nullptr || m->perms.size() < 4 || m->perms[1] != 'w' || m->perms[3] != 'p') continue;
    const bool main_stack = tid == pid_ && m->name == "[stack]";
    const bool anon = m->inode == 0 && (m->name.empty() || m->name.starts_with("[anon:"));
    if (!main_stack && (images_.is_go || !anon)) continue;
    out.push_back({tid, m->start});
  }
  return out;
}

// Calls vmseal makes, as a filter would see them: refused ones stop it all.
std::string Sealer::seccomp_obstacle(pid_t tid) {
  if (proc_status_field(tid, "Seccomp") != "2") return "";
  std::string why;
  if (!filters_.load(tid, &why)) return why;
  const Addr ip = sites_.syscall_ret + 2;
  const std::uint64_t page = kPageSize;
  const std::vector<std::pair<long, std::vector<std::uint64_t>>> calls = {
      {kNrMseal, {page, page, 0}},
      {SYS_mremap, {page, page, page, 0, 0}},
      {SYS_mmap, {0, page, 3, 0x8022 /* PRIVATE|ANONYMOUS|POPULATE */, ~0ULL, 0}},
      {SYS_mprotect, {page, page, 1}},
      {SYS_mremap, {page, page, page, 3 /* MAYMOVE|FIXED */, page}},
      {SYS_munmap, {page, page}}};
  for (const auto& [nr, args] : calls) {
    SeccompInput in;
    in.nr = static_cast<int>(nr);
    in.ip = ip;
    std::copy(args.begin(), args.end(), in.args);
    const std::uint32_t action = filters_.action(in);
    if (!seccomp_action_allows(action))
      return "its seccomp filter would answer " + syscall_label(nr) +
             ", which vmseal needs to inject, with " + seccomp_action_name(action);
  }
  return "";
}

// Whether the thread has syscall user dispatch on (PR_SET_SYSCALL_USER_DISPATCH,
// Wine's): a system call from outside its allowed range raises SIGSYS
// instead of running. Read with PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG
// (6.11); an older kernel cannot say, and no such thread is known then.
bool dispatches_syscalls(pid_t tid) {
  struct {
    std::uint64_t mode, selector, offset, len;
  } config{};
  return ptrace(static_cast<__ptrace_request>(0x4211), tid, reinterpret_cast<void*>(sizeof config),
                &config) == 0 &&
         config.mode != 0;
}

// This process onto the CPU the thread last ran on: each injected call
// hands the CPU over and back twice, which on the same CPU costs no wake-up
// of another (a halted virtual CPU's takes tens of microseconds). The
// thread's own affinity is not touched.
void follow_onto_cpu_of(pid_t pid, pid_t tid) {
  const int cpu = read_stat(pid, tid).cpu;
  if (cpu < 0 || cpu >= CPU_SETSIZE) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

std::string Sealer::inject_somewhere(bool& done) {
  std::string dispatch;
  for (const ThreadChoice& c : choices()) {
    if (dispatches_syscalls(c.tid)) {
      dispatch = "thread " + std::to_string(c.tid) +
                 " has syscall user dispatch on (a system call vmseal injects would raise SIGSYS)";
      continue;
    }
    if (std::string o = seccomp_obstacle(c.tid); !o.empty()) return o;
    follow_onto_cpu_of(pid_, c.tid);
    ArmedThread armed(tracee_, pid_, c.tid, sites_, &filters_);
    std::string why;
    const int err = armed.arm(c.stack_low, &why);
    if (err == ENOSPC) continue;
    if (err != 0) return "thread " + std::to_string(c.tid) + " could not be armed: " + why;
    injected_tid_ = c.tid;
    seal_all(armed);
    if (const int e = armed.disarm(); e != 0 && e != ESRCH)
      notes_.insert(std::string("putting thread back failed: ") + std::strerror(e));
    done = true;
    return "";
  }
  return dispatch;
}

void Sealer::seal_all(ArmedThread& armed) {
  RemoteSealer sealer(
      armed,
      RemoteSealOptions{settings_.profile, RelroMode::Anonymous, RelroMode::File, false, false},
      std::move(maps_));
  std::vector<RemoteObject*> objects;
  for (ProcessObject& o : images_.objects) {
    if (o.remote.verdict != "sealed" || o.remote.ranges.empty()) continue;
    // A static program whose libc never makes RELRO read-only (musl): made
    // read-only now, as `vmseal run` does at its first system call.
    o.remote.relro_writable =
        images_.is_static && o.role == ObjectRole::Program && !o.file->libc_protects_relro;
    objects.push_back(&o.remote);
  }
  sealer.seal_objects(objects, RangeStage::All);
  if (!armed.refused().empty()) notes_.insert(armed.refused());
  if (settings_.profile == Profile::Strict)
    sealer.seal_kernel(KernelPart::All, sealed_in, &images_);
  kernel_ = sealer.kernel;
  failures_ += sealer.failures;
  first_error_ = sealer.first_error;
  sealed_bytes_ = sealer.sealed_bytes;
  calls_ = armed.calls_made();
}

// Every thread let go (the injected one is itself again already; a wait
// the stop ended was rewound when it stopped, Tracee::seize_process).
void Sealer::release() {
  if (!stopped_) return;
  for (const pid_t tid : std::vector<pid_t>(tracee_.threads())) {
    tracee_.detach(tid);
    injection_checkpoint();
  }
  stopped_ = false;
}

// After the detach: every range said sealed is checked in smaps.
SealPidResult Sealer::conclude() {
  ProcessImages after;
  std::string why;
  if (find_process_images(pid_, files_, {settings_.profile, settings_.opt_out}, after, &why)) {
    sealed_after_ = sealed_bytes_of(after);
    for (ProcessObject& o : images_.objects) {
      for (RemoteRange& r : o.remote.ranges)
        if (r.tried && r.error == 0 && !after.sealed(r.plan.start, r.plan.end)) {
          r.error = kSealNotEffective;
          ++o.remote.failures;
          ++failures_;
        }
    }
    for (RemoteKernelMapping& k : kernel_)
      if (k.sealed && !after.sealed(k.start, k.end)) {
        k.sealed = false;
        k.error = kSealNotEffective;
        ++failures_;
      }
  }
  failures_ += plan_failures();
  for (ProcessObject& o : images_.objects) conclude_object(o.remote);
  if (failures_ > 0) return finish(SealPidStatus::Partial, "");
  return finish(sealed_bytes_ > 0 ? SealPidStatus::Sealed : SealPidStatus::AlreadySealed, "");
}

SealPidResult Sealer::finish(SealPidStatus status, std::string why) {
  const std::string text = report(status, why).dump(2) + "\n";
  return SealPidResult{status, std::move(why), text};
}

nlohmann::json Sealer::object_json(const ProcessObject& o) const {
  const bool dry = settings_.dry_run;
  nlohmann::json ranges = nlohmann::json::array();
  for (const RemoteRange& r : o.remote.ranges) ranges.push_back(remote_range_json(r, dry));
  const bool planned = o.remote.verdict == "sealed";
  return {{"path", o.remote.path},
          {"role", object_role_name(o.role)},
          {"bias", hex(o.remote.bias)},
          {"loaded", loaded_how(o)},
          {"static", images_.is_static && o.role == ObjectRole::Program},
          {"verdict", planned && dry ? std::string("dry-run") : o.remote.verdict},
          {"why", o.remote.why},
          {"sealed_bytes", o.remote.sealed_bytes},
          {"ranges", ranges}};
}

nlohmann::json Sealer::report(SealPidStatus status, const std::string& why) const {
  nlohmann::json objects = nlohmann::json::array();
  std::size_t file_backed = 0;
  for (const ProcessObject& o : images_.objects) {
    objects.push_back(object_json(o));
    for (const RemoteRange& r : o.remote.ranges)
      if (r.plan.kind == SegmentKind::Relro && r.plan.seal &&
          (r.already_sealed || (r.tried && r.error == 0)) && r.backing != RelroOutcome::Anonymised)
        ++file_backed;
  }
  return {{"vmseal", kVersion},
          {"pid", pid_},
          {"method", "ptrace-attach"},
          {"status", seal_pid_status_name(status)},
          {"why", why},
          {"profile", std::string(profile_name(settings_.profile))},
          {"dry_run", settings_.dry_run},
          {"relro", "anon"},
          {"text", "file"},
          {"static", images_.is_static},
          {"go", images_.is_go},
          {"threads", threads_},
          {"injection_thread", injected_tid_},
          {"attempts", attempts_},
          {"injected_calls", calls_},
          {"pause_us", pause_us_},
          {"sealed_bytes", sealed_bytes_},
          {"failures", failures_},
          {"first_error", remote_error_text(first_error_)},
          {"relro_file_backed", file_backed},
          {"process_sealed_bytes_before", sealed_before_},
          {"process_sealed_bytes_after", sealed_after_},
          {"notes", notes_},
          {"steps", injection_steps_taken()},
          {"objects", objects},
          {"kernel_mappings", remote_kernel_json(kernel_)}};
}

// The sealer process: does the work and hands the result back through
// `fd`. Catchable signals wait until it is done (^C must not end it with a
// thread mid-injection); it asks the OOM killer to spare it.
[[noreturn]] void sealer_main(pid_t pid, const SealPidSettings& settings, int fd) {
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  if (const int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC); oom >= 0) {
    ssize_t ignored = write(oom, "-1000", 5);
    (void)ignored;
    close(oom);
  }
  std::string text;
  try {
    Sealer sealer(pid, settings);
    const SealPidResult r = sealer.run();
    text =
        nlohmann::json{
            {"status", seal_pid_status_name(r.status)}, {"why", r.why}, {"report", r.report}}
            .dump();
  } catch (const std::exception& e) {
    text = nlohmann::json{
        {"status", "failed"},
        {"why", std::string("internal error: ") + e.what()},
        {"report",
         ""}}.dump();
  }
  for (std::size_t done = 0; done < text.size();) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  _exit(0);
}

SealPidStatus status_named(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(SealPidStatus::Failed); ++i)
    if (name == seal_pid_status_name(static_cast<SealPidStatus>(i)))
      return static_cast<SealPidStatus>(i);
  return SealPidStatus::Failed;
}

SealPidResult through_sealer_process(pid_t pid, const SealPidSettings& settings) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return result(SealPidStatus::Failed, std::string("pipe: ") + std::strerror(errno));
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    sealer_main(pid, settings, fds[1]);
  }
  close(fds[1]);
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (child < 0 || j.is_discarded() || !j.contains("status"))
    return result(SealPidStatus::Failed,
                  child < 0 ? std::string("fork: ") + std::strerror(errno)
                            : "the sealer process ended without a result" +
                                  (WIFSIGNALED(status) ? " (killed by signal " +
                                                             std::to_string(WTERMSIG(status)) + ")"
                                                       : std::string()) +
                                  "; the kernel released the process, which puts itself back");
  return SealPidResult{status_named(j.value("status", "failed")), j.value("why", ""),
                       j.value("report", "")};
}

}  // namespace

SealPidResult seal_running_process(pid_t pid, const SealPidSettings& settings) {
  SealPidResult r;
  if (pid <= 0)
    r = result(SealPidStatus::NoProcess, "not a process ID");
  else if (std::optional<SealPidResult> refused = refuse_early(pid))
    r = *refused;
  else if (settings.dry_run)
    r = Sealer(pid, settings).run();
  else if (syscall(kNrMseal, 0, 0, 0) != 0 && errno == ENOSYS)
    r = result(SealPidStatus::NoMseal, "this kernel has no mseal (Linux 6.10 added it)");
  else
    r = through_sealer_process(pid, settings);
  if (r.report.empty())  // refused before any plan: the report says only why
    r.report = nlohmann::json{{"vmseal", kVersion},
                              {"pid", pid},
                              {"method", "ptrace-attach"},
                              {"status", seal_pid_status_name(r.status)},
                              {"why", r.why}}
                   .dump(2) +
               "\n";
  return r;
}

}  // namespace vmseal::sealing
