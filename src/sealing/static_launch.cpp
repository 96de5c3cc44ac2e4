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
#include "vmseal/sealing/safe_file.hpp"
#include "vmseal/sealing/tracee.hpp"
#include "vmseal/version.hpp"

namespace vmseal::sealing {
namespace {

constexpr long kNrMseal = 462;
// The start-up system calls a static glibc program makes before it protects
// RELRO: 13 on Debian 12. Past this many, its libc is taken not to.
constexpr int kRelroWaitLimit = 512;

void say(const std::string& s) {
  const std::string line = "vmseal run: " + s + "\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

const char* error_text(int e) {
  switch (e) {
    case 0:
      return "";
    case kNotMapped:
      return "not mapped";
    case kSealNotEffective:
      return "not sealed although mseal returned 0";
    case kNotAsPlanned:
      return "left unsealed: its protection was changed before the seal (writable or executable)";
    default:
      break;
  }
  const char* name = strerrorname_np(e);  // "EPERM", as the preload's reports name it
  return name != nullptr ? name : std::strerror(e);
}

// One range of the program's plan, and what became of it.
struct RangeState {
  PlannedRange plan;
  int error = 0;  // errno of its mseal, kNotMapped, kSealNotEffective, kNotAsPlanned
  RelroOutcome backing = RelroOutcome::NotRelro;
  int backing_error = 0;
  bool tried = false;
  bool reserved = false;  // a hole the sealer mapped PROT_NONE to seal it
};

struct KernelState {
  std::string name;
  Addr start = 0, end = 0;
  int error = 0;
  bool sealed = false;
};

// The sealer's view of one static process.
struct Session {
  pid_t pid = 0;
  const StaticSealSettings& settings;
  Tracee& tracee;
  Addr insn = 0;
  std::string path;
  Addr bias = 0;
  bool loaded_by_ldso = false;  // PT_INTERP: ld.so relocates it and protects RELRO
  std::vector<RangeState> ranges;
  std::vector<KernelState> kernel;
  std::string verdict = "sealed";
  std::string why;
  std::size_t failures = 0;
  int first_error = 0;
  std::uint64_t sealed_bytes = 0;
  std::uint64_t stopped_ns = 0;  // time the program spent stopped by the sealer
  int startup_syscalls = 0;      // system calls seen before the RELRO point
  std::string relro_point;       // how the RELRO point was found
  bool reached_relro_point = false;
  bool gone = false;
  std::unique_ptr<SelfMappings> maps = std::make_unique<SelfMappings>();

  Session(pid_t p, const StaticSealSettings& s, Tracee& t) : pid(p), settings(s), tracee(t) {}

  long call(long nr, std::initializer_list<std::uint64_t> args, int* inject_error = nullptr) {
    long result = -ENOSYS;
    const int err = tracee.inject(pid, insn, nr, args, result);
    if (inject_error != nullptr) *inject_error = err;
    if (err == ESRCH) gone = true;
    return err != 0 ? -err : result;
  }
  void fail(int e) {
    ++failures;
    if (first_error == 0) first_error = e;
  }
};

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

Addr auxv_value(pid_t pid, std::uint64_t type) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/auxv", std::ios::binary);
  std::uint64_t pair[2];
  while (in.read(reinterpret_cast<char*>(pair), sizeof pair))
    if (pair[0] == type) return pair[1];
  return 0;
}

// mseal of [start, end) in the tracee, checked by effect: a same-size mremap
// of its first page, a no-op where it is allowed, must be refused.
int remote_seal(Session& s, Addr start, Addr end) {
  const long r = s.call(kNrMseal, {start, end - start, 0});
  if (r != 0) return static_cast<int>(-r);
  const long check = s.call(SYS_mremap, {start, kPageSize, kPageSize, 0, 0});
  return check == -EPERM ? 0 : kSealNotEffective;
}

// RELRO (or text under --text anon) replaced by an anonymous copy with
// protection `prot`, in the tracee, the way relro.cpp's anonymise() does it
// in a process of its own: a fresh mapping filled through process_vm_writev,
// given its protection, and moved over the range by one mremap.
int remote_anonymise(Session& s, Addr start, Addr end, int prot) {
  const std::size_t len = end - start;
  const bool hole = prot == PROT_NONE;
  const std::uint64_t flags =
      MAP_PRIVATE | MAP_ANONYMOUS | static_cast<unsigned>(hole ? MAP_NORESERVE : MAP_POPULATE);
  const long copy = s.call(SYS_mmap, {0, len, hole ? 0UL : PROT_READ | PROT_WRITE, flags,
                                      static_cast<std::uint64_t>(-1), 0});
  if (copy < 0 && copy > -4096) return static_cast<int>(-copy);
  int err = 0;
  if (!hole) {
    std::vector<unsigned char> bytes(len);
    err = read_process_memory(s.pid, start, bytes.data(), len);
    if (err == 0) err = write_process_memory(s.pid, static_cast<Addr>(copy), bytes.data(), len);
    if (err == 0) {
      const long r = s.call(SYS_mprotect, {static_cast<Addr>(copy), len, static_cast<Addr>(prot)});
      if (r != 0) err = static_cast<int>(-r);
    }
  }
  if (err == 0) {
    const long r = s.call(
        SYS_mremap, {static_cast<Addr>(copy), len, len, MREMAP_MAYMOVE | MREMAP_FIXED, start});
    if (r < 0 && r > -4096) err = static_cast<int>(-r);
  }
  if (err != 0 && !s.gone) s.call(SYS_munmap, {static_cast<Addr>(copy), len});
  return err;
}

// What range `r` becomes before its seal: RELRO an anonymous copy (or, for a
// libc that never protects it, first made read-only), text and rodata copies
// under --text anon.
void prepare_backing(Session& s, RangeState& r, bool relro_writable) {
  const PlannedRange& p = r.plan;
  RelroMode mode = RelroMode::File;
  int prot = PROT_READ;
  if (p.kind == SegmentKind::Relro) mode = s.settings.relro;
  if (p.kind == SegmentKind::Text) prot |= PROT_EXEC;
  if (p.kind == SegmentKind::Text || p.kind == SegmentKind::Rodata) mode = s.settings.text;
  if (p.kind == SegmentKind::Gap && s.settings.text == RelroMode::Anonymous) {
    if (!s.maps->private_with_prot(p.start, p.end, PROT_NONE)) return;
    mode = RelroMode::Anonymous;
    prot = PROT_NONE;
  }
  if (mode == RelroMode::File) {
    if (p.kind != SegmentKind::Relro) return;
    r.backing = RelroOutcome::KeptFile;
    if (relro_writable) {
      // The loader's job, which this libc leaves undone: RELRO read-only.
      const long m = s.call(SYS_mprotect, {p.start, p.end - p.start, PROT_READ});
      if (m != 0) r.backing_error = static_cast<int>(-m);
    }
    return;
  }
  const int from = relro_writable && p.kind == SegmentKind::Relro ? PROT_READ | PROT_WRITE : prot;
  if (!s.maps->private_with_prot(p.start, p.end, from)) {
    r.backing = RelroOutcome::Skipped;
    return;
  }
  r.backing_error = remote_anonymise(s, p.start, p.end, prot);
  r.backing = r.backing_error == 0 ? RelroOutcome::Anonymised : RelroOutcome::Failed;
}

// A gap of the plan with nothing mapped in it: the kernel maps a program's
// segments one by one and leaves the holes between them empty, where ld.so
// reserves a library's whole span and leaves its holes PROT_NONE. The hole
// is reserved that way (MAP_NORESERVE: it costs nothing) and sealed, so that
// no mmap(MAP_FIXED) can put code between the program's segments.
// kNotMapped when part of it is mapped already (then it is no hole).
int reserve_hole(Session& s, RangeState& r) {
  const Addr len = r.plan.end - r.plan.start;
  const long m =
      s.call(SYS_mmap, {r.plan.start, len, PROT_NONE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                        static_cast<std::uint64_t>(-1), 0});
  if (m != static_cast<long>(r.plan.start)) {
    if (m > 0) s.call(SYS_munmap, {static_cast<Addr>(m), len});  // a kernel without NOREPLACE
    return kNotMapped;
  }
  r.reserved = true;
  return remote_seal(s, r.plan.start, r.plan.end);
}

bool in_stage(SegmentKind k, int stage) {
  const bool early = k == SegmentKind::Text || k == SegmentKind::Rodata || k == SegmentKind::Gap;
  return stage == 1 ? early : !early;
}

// Seals the plan's ranges of one stage: one mseal per run of adjacent ranges
// (gaps alone), each checked against its planned protection first.
void seal_stage(Session& s, int stage, bool relro_writable) {
  s.maps->load(s.pid);
  for (RangeState& r : s.ranges)
    if (r.plan.seal && in_stage(r.plan.kind, stage) && !s.gone)
      prepare_backing(s, r, relro_writable);
  s.maps->load(s.pid);
  auto planned = [&](const RangeState& r) {
    int prot = 0;
    return !s.maps->protection_over(r.plan.start, r.plan.end, prot) ||
           protection_as_planned(r.plan.kind, prot);
  };
  for (std::size_t i = 0; i < s.ranges.size() && !s.gone;) {
    RangeState& first = s.ranges[i];
    if (!first.plan.seal || !in_stage(first.plan.kind, stage)) {
      ++i;
      continue;
    }
    first.tried = true;
    if (!planned(first)) {
      first.error = kNotAsPlanned;
      s.fail(kNotAsPlanned);
      ++i;
      continue;
    }
    const bool gap = first.plan.kind == SegmentKind::Gap;
    std::size_t j = i + 1;
    while (!gap && j < s.ranges.size() && s.ranges[j].plan.seal &&
           in_stage(s.ranges[j].plan.kind, stage) && s.ranges[j].plan.kind != SegmentKind::Gap &&
           s.ranges[j].plan.start == s.ranges[j - 1].plan.end && planned(s.ranges[j]))
      ++j;
    int err = remote_seal(s, first.plan.start, s.ranges[j - 1].plan.end);
    if (gap && err == ENOMEM) err = reserve_hole(s, first);
    for (std::size_t k = i; k < j; ++k) {
      s.ranges[k].error = err;
      s.ranges[k].tried = true;
    }
    if (err == 0)
      s.sealed_bytes += s.ranges[j - 1].plan.end - first.plan.start;
    else if (err != kNotMapped)
      s.fail(err);
    i = j;
  }
}

// The kernel's mappings the strict profile seals by name: the vDSO and vvar
// at the exec stop, the stack with the rest.
void seal_kernel(Session& s, bool stack) {
  std::ifstream maps("/proc/" + std::to_string(s.pid) + "/maps");
  std::string line;
  std::vector<KernelState> found;
  while (std::getline(maps, line)) {
    unsigned long long a = 0, b = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &a, &b) != 2) continue;
    for (const char* name : SelfMappings::kKernelNames) {
      const std::size_t n = std::strlen(name);
      const bool is_stack = std::strcmp(name, "[stack]") == 0;
      if (line.size() >= n && line.compare(line.size() - n, n, name) == 0 && is_stack == stack)
        found.push_back({name, a, b, 0, false});
    }
  }
  for (KernelState& k : found) {
    if (!s.settings.dry_run) {
      k.error = remote_seal(s, k.start, k.end);
      k.sealed = k.error == 0;
      if (k.sealed)
        s.sealed_bytes += k.end - k.start;
      else
        s.fail(k.error);
    }
    s.kernel.push_back(k);
  }
}

// --- waiting for the RELRO point ---------------------------------------------

bool group_stop_signal(int sig) {
  return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

// Whether a system call that just returned is the libc making RELRO
// read-only: mprotect(PROT_READ) of a range that covers the plan's RELRO.
bool is_relro_protect(const __ptrace_syscall_info& entry, long rval, const RangeState& relro) {
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
bool run_to_relro_point(Session& s, bool protects, const RangeState* relro) {
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
      s.gone = true;
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
  const char* how = s.loaded_by_ldso ? "loaded by ld.so, no library" : "static";
  std::string out = "vmseal: dry run: " + s.path + " (program, " + how +
                    ": sealed through ptrace): " + (s.verdict == "sealed" ? "dry-run" : s.verdict) +
                    (s.why.empty() ? "" : ": " + s.why) + "\n";
  char line[256];
  for (const RangeState& r : s.ranges) {
    const std::string_view kind = segment_kind_name(r.plan.kind);
    std::snprintf(line, sizeof line, "vmseal:   %012llx-%012llx %-7.*s %s%.*s\n",
                  static_cast<unsigned long long>(r.plan.start),
                  static_cast<unsigned long long>(r.plan.end), static_cast<int>(kind.size()),
                  kind.data(),
                  r.plan.seal ? "seal" : "leave: ", static_cast<int>(r.plan.why_not.size()),
                  r.plan.why_not.data());
    out += line;
  }
  for (const KernelState& k : s.kernel) out += "vmseal: dry run: " + k.name + ": seal\n";
  ssize_t ignored = write(STDERR_FILENO, out.data(), out.size());
  (void)ignored;
}

nlohmann::json range_json(const RangeState& r, bool dry_run) {
  char a[32], b[32];
  std::snprintf(a, sizeof a, "0x%llx", static_cast<unsigned long long>(r.plan.start));
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(r.plan.end));
  nlohmann::json j = {{"start", a},
                      {"end", b},
                      {"kind", std::string(segment_kind_name(r.plan.kind))},
                      {"planned", r.plan.seal},
                      {"sealed", r.plan.seal && r.tried && r.error == 0 && !dry_run}};
  if (r.error == kNotMapped)
    j["mapped"] = false;
  else if (r.error != 0)
    j["error"] = error_text(r.error);
  if (r.reserved) j["reserved"] = true;  // a hole mapped PROT_NONE by the sealer
  if (r.backing != RelroOutcome::NotRelro) j["backing"] = relro_outcome_name(r.backing);
  if (r.backing_error != 0) j["backing_error"] = error_text(r.backing_error);
  if (!r.plan.seal) j["why_not"] = std::string(r.plan.why_not);
  return j;
}

void write_static_report(const Session& s) {
  std::string path = s.settings.report;
  if (path.empty()) return;
  for (std::size_t at = path.find("%p"); at != std::string::npos; at = path.find("%p"))
    path.replace(at, 2, std::to_string(s.pid));
  nlohmann::json ranges = nlohmann::json::array();
  std::size_t file_backed = 0;
  for (const RangeState& r : s.ranges) {
    ranges.push_back(range_json(r, s.settings.dry_run));
    if (r.plan.kind == SegmentKind::Relro && r.tried && r.error == 0 &&
        r.backing != RelroOutcome::Anonymised)
      ++file_backed;
  }
  char bias[32];
  std::snprintf(bias, sizeof bias, "0x%llx", static_cast<unsigned long long>(s.bias));
  nlohmann::json kernel = nlohmann::json::array();
  for (const KernelState& k : s.kernel)
    kernel.push_back({{"name", k.name}, {"sealed", k.sealed}, {"error", error_text(k.error)}});
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
                      {"sealed_bytes", s.sealed_bytes},
                      {"failures", s.failures},
                      {"relro", relro_mode_name(s.settings.relro)},
                      {"text", relro_mode_name(s.settings.text)},
                      {"relro_file_backed", file_backed},
                      {"objects",
                       {{{"path", s.path},
                         {"role", "program"},
                         {"bias", bias},
                         {"loaded", "startup"},
                         {"static", !s.loaded_by_ldso},  // else a Go PIE ld.so loads
                         {"verdict", s.verdict},
                         {"why", s.why},
                         {"sealed_bytes", s.sealed_bytes},
                         {"ranges", ranges}}}},
                      {"kernel_mappings", kernel},
                      {"dlmopen", nlohmann::json::array()}};
  const std::string text = j.dump(2) + "\n";
  if (const int err = write_file_safely(path.c_str(), text.data(), text.size()); err != 0)
    say("cannot write the report " + path + ": " +
        (err == EEXIST ? "it exists as a symlink or another user's file" : std::strerror(err)));
}

// The plan of the program the process runs now, from the file it exec'd
// (/proc/PID/exe: the very inode, whatever its name has become since).
bool plan_program(Session& s) {
  char link[4096];
  const std::string exe = "/proc/" + std::to_string(s.pid) + "/exe";
  const ssize_t n = readlink(exe.c_str(), link, sizeof link - 1);
  s.path = n > 0 ? std::string(link, static_cast<std::size_t>(n)) : exe;
  ElfImage image;
  std::string error;
  if (!read_elf_image(exe, image, &error)) {
    s.verdict = "failed";
    s.why = "cannot read the program: " + error;
    return false;
  }
  const Addr entry = auxv_value(s.pid, 9 /* AT_ENTRY */);
  s.bias = image.type == 3 /* ET_DYN */ ? entry - image.entry : 0;
  s.loaded_by_ldso = image.interp.has_value();
  std::string globs;
  for (const std::string& g : s.settings.opt_out) globs += (globs.empty() ? "" : ":") + g;
  if (matches_opt_out(globs.c_str(), s.path.c_str())) {
    s.verdict = "opted-out";
    s.why = kOptedOutWhy;
    return false;
  }
  for (const PlannedRange& p : plan_object(image, s.bias, s.settings.profile))
    s.ranges.push_back(RangeState{p});
  if (s.ranges.empty()) {
    s.verdict = "too-complex";
    s.why = kTooComplexWhy;
    return false;
  }
  return true;
}

const RangeState* sealable_relro(const Session& s) {
  for (const RangeState& r : s.ranges)
    if (r.plan.kind == SegmentKind::Relro && r.plan.seal) return &r;
  return nullptr;
}

bool needs_second_stage(const Session& s) {
  if (s.settings.profile == Profile::Strict) return true;  // the stack, data, bss
  for (const RangeState& r : s.ranges)
    if (r.plan.seal && in_stage(r.plan.kind, 2)) return true;
  return false;
}

// After the last seal: the verdict, and the message the preload would give.
void conclude(Session& s) {
  if (s.verdict == "sealed" && s.failures > 0) {
    bool any = false;
    for (const RangeState& r : s.ranges) any = any || (r.tried && r.error == 0);
    s.verdict = any ? "partial" : "failed";
    s.why = kSealRefusedWhy;
  }
  for (const RangeState& r : s.ranges)
    if (r.plan.kind == SegmentKind::Relro && r.plan.seal && !r.tried && s.why.empty())
      s.why = "RELRO left unsealed: the program's start-up never made it read-only within " +
              std::to_string(kRelroWaitLimit) + " system calls";
}

}  // namespace

int seal_static_process(Tracee& tracee, pid_t pid, const StaticSealSettings& settings) {
  Session s(pid, settings, tracee);
  const std::uint64_t t0 = now_ns();
  const bool planned = plan_program(s);
  std::string why;
  if (!settings.dry_run && (s.insn = find_syscall_instruction(pid, &why)) == 0) {
    s.verdict = "failed";
    s.why = why;
    s.fail(ENOEXEC);
  }
  const bool sealing = !settings.dry_run && s.insn != 0;
  if (planned && sealing) seal_stage(s, 1, false);
  if (settings.profile == Profile::Strict && (sealing || settings.dry_run)) seal_kernel(s, false);
  s.stopped_ns += now_ns() - t0;
  if (settings.dry_run) {
    say_dry_run(s);
    write_static_report(s);
    return 0;
  }
  const bool more = sealing && needs_second_stage(s);
  const RangeState* relro = planned ? sealable_relro(s) : nullptr;
  // Who makes RELRO read-only: ld.so for a program it loads, glibc's static
  // start-up, or nobody (musl): then the sealer does.
  const bool protects = s.loaded_by_ldso || static_libc_of("/proc/" + std::to_string(pid) +
                                                           "/exe") == StaticLibc::Glibc;
  if (more && !s.gone && run_to_relro_point(s, protects, relro)) {
    const std::uint64_t t1 = now_ns();
    s.reached_relro_point = true;
    if (planned) seal_stage(s, 2, !protects);
    if (settings.profile == Profile::Strict) seal_kernel(s, true);
    s.stopped_ns += now_ns() - t1;
  } else if (!more) {
    s.reached_relro_point = sealing;
  }
  if (s.gone) return 2;
  conclude(s);
  const bool failed = s.failures > 0 || (more && !s.reached_relro_point);
  if (failed && settings.enforce) {
    say("the program could not be sealed as planned (" +
        std::string(s.failures > 0 ? error_text(s.first_error) : s.why.c_str()) +
        "): not letting it run (--enforce)");
    write_static_report(s);
    s.call(SYS_exit_group, {kStaticEnforceExit});
    return 1;
  }
  if (s.failures > 0)
    say(std::to_string(s.failures) + " range(s) could not be sealed (" + error_text(s.first_error) +
        ")" + (settings.report.empty() ? "" : "; see the report"));
  else if (more && !s.reached_relro_point)
    say(s.why);
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
