#include "vmseal/sealing/static_launch.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/image_sealer.hpp"
#include "vmseal/sealing/remote_seal.hpp"
#include "vmseal/sealing/safe_file.hpp"
#include "vmseal/sealing/tracee.hpp"
#include "vmseal/version.hpp"

namespace vmseal::sealing {
namespace {

// The start-up system calls a static glibc program makes before it protects
// RELRO: 13 on Debian 12. Past this many, its libc is taken not to.
constexpr int kRelroWaitLimit = 512;

void say(const std::string& s) {
  const std::string line = "vmseal run: " + s + "\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

// System calls injected with Tracee::inject() at one `syscall` instruction.
class InjectedCalls final : public RemoteCalls {
 public:
  InjectedCalls(Tracee& tracee, pid_t pid) : RemoteCalls(pid), tracee_(tracee) {}
  Addr insn = 0;
  long call(long nr, std::initializer_list<std::uint64_t> args) override {
    long result = -ENOSYS;
    const int err = tracee_.inject(pid(), insn, nr, args, result);
    if (err == ESRCH) set_gone();
    return err != 0 ? -err : result;
  }

 private:
  Tracee& tracee_;
};

// The sealer's view of one static process.
struct Session {
  pid_t pid = 0;
  const StaticSealSettings& settings;
  Tracee& tracee;
  InjectedCalls calls;
  RemoteSealer sealer;
  RemoteObject program;
  bool loaded_by_ldso = false;   // PT_INTERP: ld.so relocates it and protects RELRO
  std::uint64_t stopped_ns = 0;  // time the program spent stopped by the sealer
  int startup_syscalls = 0;      // system calls seen before the RELRO point
  std::string relro_point;       // how the RELRO point was found
  bool reached_relro_point = false;
  bool exited = false;  // the program exited (or exec'd) during its start-up

  Session(pid_t p, const StaticSealSettings& s, Tracee& t)
      : pid(p),
        settings(s),
        tracee(t),
        calls(t, p),
        sealer(calls, RemoteSealOptions{s.profile, s.relro, s.text, s.dry_run}) {}

  long call(long nr, std::initializer_list<std::uint64_t> args) { return calls.call(nr, args); }
  bool gone() const { return exited || calls.gone(); }
};

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// --- waiting for the RELRO point ---------------------------------------------

bool group_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

// Whether a system call that just returned is the libc making RELRO
// read-only: mprotect(PROT_READ) of a range that covers the plan's RELRO.
bool is_relro_protect(const __ptrace_syscall_info& entry, long rval, const RemoteRange& relro) {
  if (entry.entry.nr != SYS_mprotect || rval != 0 || entry.entry.args[2] != PROT_READ) return false;
  const Addr a = entry.entry.args[0];
  const Addr e = a + entry.entry.args[1];
  return a <= relro.plan.start && e >= relro.plan.end;
}

// Runs the program's start-up, one system call at a time, until its RELRO
// point: the mprotect that makes RELRO read-only (`protects`: glibc's static
// start-up, or ld.so for a Go program it loads), or the first system call's
// return (a libc that never protects it, musl; its self-relocation is done
// by then). False when the program exited, exec'd or never got there.
bool run_to_relro_point(Session& s, bool protects, const RemoteRange* relro) {
  __ptrace_syscall_info entry{};
  int pending = 0;
  std::uint64_t stopped_at = now_ns();  // the time each stop is held counts, not the run between
  for (;;) {
    s.stopped_ns += now_ns() - stopped_at;
    if (s.tracee.resume(s.pid, PTRACE_SYSCALL, pending) != 0) return false;
    pending = 0;
    int status = 0;
    const StopKind k = s.tracee.wait(s.pid, &status);
    stopped_at = now_ns();
    if (k == StopKind::Exited) {
      s.exited = true;
      return false;
    }
    if (k == StopKind::Signal) {
      pending = s.tracee.last_signal(s.pid);
      continue;
    }
    if (k == StopKind::Event) {
      if ((status >> 16) == PTRACE_EVENT_EXEC) return false;
      if ((status >> 16) == PTRACE_EVENT_STOP && group_stop_signal(WSTOPSIG(status))) {
        // Stopped as asked (SIGSTOP, ^Z): it stays stopped until SIGCONT.
        ptrace(PTRACE_LISTEN, s.pid, nullptr, nullptr);
        static_cast<void>(s.tracee.wait(s.pid, &status));
      }
      continue;
    }
    if (k == StopKind::SyscallEntry) {
      ptrace(PTRACE_GET_SYSCALL_INFO, s.pid, sizeof entry, &entry);
      continue;
    }
    // The exit of a call whose entry was not seen here (execve's own, when
    // nothing was injected at the exec stop) is not one of the start-up's.
    if (entry.op != PTRACE_SYSCALL_INFO_ENTRY) continue;
    ++s.startup_syscalls;
    __ptrace_syscall_info exit_info{};
    ptrace(PTRACE_GET_SYSCALL_INFO, s.pid, sizeof exit_info, &exit_info);
    const long rval = static_cast<long>(exit_info.exit.rval);
    if (relro == nullptr) {
      s.relro_point = "the program's first system call (no RELRO)";
      return true;
    }
    if (!protects) {
      s.relro_point = "the program's first system call (its libc does not protect RELRO)";
      return true;
    }
    if (is_relro_protect(entry, rval, *relro)) {
      s.relro_point = s.loaded_by_ldso ? "ld.so's mprotect(PROT_READ) of RELRO"
                                       : "its libc's mprotect(PROT_READ) of RELRO";
      return true;
    }
    if (s.startup_syscalls >= kRelroWaitLimit) return false;
  }
}

}  // namespace

StaticLibc static_libc_of(const std::string& path) {
  // glibc's static start-up reads its tunables (elf/dl-tunables.c) from the
  // environment variable of that name: the string is in every static glibc
  // program's read-only data (a Go program linked statically by gcc
  // included), and in no musl or Go one. Go's own linker leaves its build ID
  // note.
  std::ifstream in(path, std::ios::binary);
  static constexpr char kNeedle[] = "GLIBC_TUNABLES";
  constexpr std::size_t kLen = sizeof kNeedle - 1;
  std::vector<char> buf(1 << 20);
  std::size_t keep = 0;
  while (in) {
    in.read(buf.data() + keep, static_cast<std::streamsize>(buf.size() - keep));
    const std::size_t have = keep + static_cast<std::size_t>(in.gcount());
    if (memmem(buf.data(), have, kNeedle, kLen) != nullptr) return StaticLibc::Glibc;
    keep = std::min(have, kLen - 1);
    std::memmove(buf.data(), buf.data() + have - keep, keep);
    if (in.gcount() == 0) break;
  }
  ElfImage image;
  if (read_elf_image(path, image, nullptr) && image.go) return StaticLibc::Go;
  return StaticLibc::Other;
}

}  // namespace vmseal::sealing

namespace vmseal::sealing {
namespace {

// --dry-run's lines, the preload's format.
void say_dry_run(const Session& s) {
  const RemoteObject& o = s.program;
  const char* how = s.loaded_by_ldso ? "loaded by ld.so, no library" : "static";
  std::string out = "vmseal: dry run: " + o.path + " (program, " + how +
                    ": sealed through ptrace): " + (o.verdict == "sealed" ? "dry-run" : o.verdict) +
                    (o.why.empty() ? "" : ": " + o.why) + "\n" + remote_plan_lines(o);
  for (const RemoteKernelMapping& k : s.sealer.kernel)
    out += "vmseal: dry run: " + k.name + ": seal\n";
  ssize_t ignored = write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;
}

void write_static_report(const Session& s) {
  std::string path = s.settings.report;
  if (path.empty()) return;
  for (std::size_t at = path.find("%p"); at != std::string::npos; at = path.find("%p"))
    path.replace(at, 2, std::to_string(s.pid));
  const RemoteObject& o = s.program;
  nlohmann::json ranges = nlohmann::json::array();
  std::size_t file_backed = 0;
  for (const RemoteRange& r : o.ranges) {
    ranges.push_back(remote_range_json(r, s.settings.dry_run));
    if (r.plan.kind == SegmentKind::Relro && r.tried && r.error == 0 &&
        r.backing != RelroOutcome::Anonymised)
      ++file_backed;
  }
  char bias[32];
  std::snprintf(bias, sizeof bias, "0x%llx", static_cast<unsigned long long>(o.bias));
  nlohmann::json j = {{"vmseal", kVersion},
                      {"pid", s.pid},
                      {"method", "ptrace"},
                      {"profile", std::string(profile_name(s.settings.profile))},
                      {"dry_run", s.settings.dry_run},
                      {"mseal", "available"},
                      {"sealed_before_main", s.reached_relro_point && !s.settings.dry_run},
                      {"relro_point", s.relro_point},
                      {"startup_syscalls_traced", s.startup_syscalls},
                      {"seal_ns", s.stopped_ns},
                      {"sealed_bytes", s.sealer.sealed_bytes},
                      {"failures", s.sealer.failures},
                      {"relro", relro_mode_name(s.settings.relro)},
                      {"text", relro_mode_name(s.settings.text)},
                      {"relro_file_backed", file_backed},
                      {"objects",
                       {{{"path", o.path},
                         {"role", "program"},
                         {"bias", bias},
                         {"loaded", "startup"},
                         {"static", !s.loaded_by_ldso},  // else a Go PIE ld.so loads
                         {"verdict", o.verdict},
                         {"why", o.why},
                         {"sealed_bytes", o.sealed_bytes},
                         {"ranges", ranges}}}},
                      {"kernel_mappings", remote_kernel_json(s.sealer.kernel)},
                      {"dlmopen", nlohmann::json::array()}};
  const std::string text = j.dump(2) + "\n";
  if (const int err = write_file_safely(path.c_str(), text.data(), text.size()); err != 0)
    say("cannot write the report " + path + ": " +
        (err == EEXIST ? "it exists as a symlink or another user's file" : std::strerror(err)));
}

// The plan of the program the process runs now, from the file it exec'd
// (/proc/PID/exe: the very inode, whatever its name has become since).
bool plan_program(Session& s) {
  RemoteObject& o = s.program;
  char link[4096];
  const std::string exe = "/proc/" + std::to_string(s.pid) + "/exe";
  const ssize_t n = readlink(exe.c_str(), link, sizeof link - 1);
  o.path = n > 0 ? std::string(link, static_cast<std::size_t>(n)) : exe;
  ElfImage image;
  std::string error;
  if (!read_elf_image(exe, image, &error)) {
    o.verdict = "failed";
    o.why = "cannot read the program: " + error;
    return false;
  }
  const Addr entry = auxv_entry(s.pid, 9 /* AT_ENTRY */);
  o.bias = image.type == 3 /* ET_DYN */ ? entry - image.entry : 0;
  s.loaded_by_ldso = image.interp.has_value();
  std::string globs;
  for (const std::string& g : s.settings.opt_out) globs += (globs.empty() ? "" : ":") + g;
  if (matches_opt_out(globs.c_str(), o.path.c_str())) {
    o.verdict = "opted-out";
    o.why = kOptedOutWhy;
    return false;
  }
  for (const PlannedRange& p : plan_object(image, o.bias, s.settings.profile))
    o.ranges.push_back(RemoteRange{p});
  if (o.ranges.empty()) {
    o.verdict = "too-complex";
    o.why = kTooComplexWhy;
    return false;
  }
  return true;
}

const RemoteRange* sealable_relro(const Session& s) {
  for (const RemoteRange& r : s.program.ranges)
    if (r.plan.kind == SegmentKind::Relro && r.plan.seal) return &r;
  return nullptr;
}

bool needs_second_stage(const Session& s) {
  if (s.settings.profile == Profile::Strict) return true;  // the stack, data, bss
  for (const RemoteRange& r : s.program.ranges)
    if (r.plan.seal && in_stage(r.plan.kind, RangeStage::Late)) return true;
  return false;
}

// After the last seal: the verdict, and the message the preload would give.
void conclude(Session& s) {
  RemoteObject& o = s.program;
  conclude_object(o);
  for (const RemoteRange& r : o.ranges)
    if (r.plan.kind == SegmentKind::Relro && r.plan.seal && !r.tried && o.why.empty())
      o.why = "RELRO left unsealed: the program's start-up never made it read-only within " +
              std::to_string(kRelroWaitLimit) + " system calls";
}

}  // namespace

int seal_static_process(Tracee& tracee, pid_t pid, const StaticSealSettings& settings) {
  Session s(pid, settings, tracee);
  RemoteSealer& sealer = s.sealer;
  const std::uint64_t t0 = now_ns();
  const bool planned = plan_program(s);
  std::string why;
  if (!settings.dry_run && (s.calls.insn = find_syscall_instruction(pid, &why)) == 0) {
    s.program.verdict = "failed";
    s.program.why = why;
    sealer.fail(ENOEXEC);
  }
  const bool sealing = !settings.dry_run && s.calls.insn != 0;
  if (planned && sealing) sealer.seal_object(s.program, RangeStage::Early);
  if (settings.profile == Profile::Strict && (sealing || settings.dry_run))
    sealer.seal_kernel(KernelPart::System);
  s.stopped_ns += now_ns() - t0;
  if (settings.dry_run) {
    say_dry_run(s);
    write_static_report(s);
    return 0;
  }
  const bool more = sealing && needs_second_stage(s);
  const RemoteRange* relro = planned ? sealable_relro(s) : nullptr;
  // Who makes RELRO read-only: ld.so for a program it loads, glibc's static
  // start-up, or nobody (musl): then the sealer does.
  const bool protects = s.loaded_by_ldso || static_libc_of("/proc/" + std::to_string(pid) +
                                                           "/exe") == StaticLibc::Glibc;
  if (more && !s.gone() && run_to_relro_point(s, protects, relro)) {
    const std::uint64_t t1 = now_ns();
    s.reached_relro_point = true;
    s.program.relro_writable = !protects;
    if (planned) sealer.seal_object(s.program, RangeStage::Late);
    if (settings.profile == Profile::Strict) sealer.seal_kernel(KernelPart::Stack);
    s.stopped_ns += now_ns() - t1;
  } else if (!more) {
    s.reached_relro_point = sealing;
  }
  if (s.gone()) return 2;
  conclude(s);
  const bool failed = sealer.failures > 0 || (more && !s.reached_relro_point);
  const char* first = remote_error_text(sealer.first_error);
  if (failed && settings.enforce) {
    say("the program could not be sealed as planned (" +
        std::string(sealer.failures > 0 ? first : s.program.why.c_str()) +
        "): not letting it run (--enforce)");
    write_static_report(s);
    s.call(SYS_exit_group, {kStaticEnforceExit});
    return 1;
  }
  if (sealer.failures > 0)
    say(std::to_string(sealer.failures) + " range(s) could not be sealed (" + first + ")" +
        (settings.report.empty() ? "" : "; see the report"));
  else if (more && !s.reached_relro_point)
    say(s.program.why);
  write_static_report(s);
  return failed ? 1 : 0;
}

namespace {

// The sealer process: seizes `target` when told, says whether it could,
// then seals the target's next exec and exits.
[[noreturn]] void sealer_main(pid_t target, int sock, const StaticSealSettings& settings) {
  // Out of the terminal's process group (^C, ^Z are the program's) and off
  // the program's stdin and stdout (a pipe reader sees EOF when the program
  // closes its end); stderr stays, for the sealer's messages.
  setsid();
  const int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, STDIN_FILENO);
    dup2(null, STDOUT_FILENO);
  }
  const pid_t self = getpid();
  char go = 0;
  if (write(sock, &self, sizeof self) != sizeof self || read(sock, &go, 1) != 1) _exit(0);
  Tracee tracee;
  const int err = tracee.seize(target, PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL);
  if (write(sock, &err, sizeof err) != sizeof err || err != 0) _exit(0);
  close(sock);
  // Seized, still running: its next stop is its exec, or a signal on the way
  // there, delivered as it comes.
  for (;;) {
    int status = 0;
    const StopKind k = tracee.wait(target, &status);
    if (k == StopKind::Exited) _exit(0);
    if (k == StopKind::Event && (status >> 16) == PTRACE_EVENT_EXEC) break;
    const int sig = k == StopKind::Signal ? tracee.last_signal(target) : 0;
    if (tracee.resume(target, PTRACE_CONT, sig) != 0) _exit(0);
  }
  const int rc = seal_static_process(tracee, target, settings);
  tracee.detach_all();
  _exit(rc);
}

}  // namespace

int start_static_sealer(const StaticSealSettings& settings, std::string* why) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    const int e = errno;
    if (why != nullptr) *why = std::string("cannot start the sealer: ") + std::strerror(e);
    return e;
  }
  const pid_t target = getpid();
  const pid_t middle = fork();
  if (middle == 0) {
    close(sv[0]);
    // The sealer is a grandchild: its parent exits now, so it is never a
    // child of the program (which could reap it, or wait for it).
    if (fork() == 0) sealer_main(target, sv[1], settings);
    _exit(0);
  }
  close(sv[1]);
  int err = middle < 0 ? errno : 0;
  if (middle > 0) waitpid(middle, nullptr, 0);
  pid_t sealer = 0;
  if (err == 0 && read(sv[0], &sealer, sizeof sealer) != sizeof sealer) err = ECHILD;
  // Under Yama's ptrace_scope 1 a process may only be traced by an ancestor
  // or by the one it names; the sealer is neither. Not an error without Yama.
  if (err == 0) prctl(PR_SET_PTRACER, static_cast<unsigned long>(sealer), 0, 0, 0);
  const char go = 1;
  if (err == 0 && write(sv[0], &go, 1) != 1) err = ECHILD;
  int seize_error = 0;
  if (err == 0 && read(sv[0], &seize_error, sizeof seize_error) != sizeof seize_error) err = ECHILD;
  if (err == 0) err = seize_error;
  if (err == 0 || sealer > 0) prctl(PR_SET_PTRACER, 0UL, 0, 0, 0);
  close(sv[0]);
  if (err != 0 && why != nullptr)
    *why = seize_error != 0 ? explain_ptrace_refusal(target, seize_error)
                            : std::string("cannot start the sealer: ") + std::strerror(err);
  return err;
}

}  // namespace vmseal::sealing
