// libvmseal_preload.so: seals a program's loaded images the way OpenBSD's
// ld.so does, from inside the program, without changing the program.
//
//  - A constructor (run during start-up, right after libc's) reads the
//    configuration from the environment and notes the start-up objects.
//  - __libc_start_main is interposed to wrap main: the seal happens after
//    relocation, IFUNC resolution, RELRO and every initializer, and before
//    the program's main runs.
//  - dlopen is interposed so an object opened with RTLD_NODELETE, or marked
//    NODELETE, is sealed as soon as dlopen returns it.
//  - Under --follow-exec, the exec family and posix_spawn are interposed
//    (follow_exec.cpp): a static program they would start, which no preload
//    can enter, is started through `vmseal run` instead, keeping the pid.
//
// The library links against libc only (no libstdc++: loading it into every
// C program would cost more than the sealing does), never allocates before
// main, and never throws. Configuration (set by `vmseal run`):
//   VMSEAL_PROFILE      minimal | default | strict
//   VMSEAL_OPT_OUT      globs separated by ':' (path or file name)
//   VMSEAL_RELRO        anon | memfd | file: what RELRO becomes before its
//                       seal (sealing/relro.hpp; default anon)
//   VMSEAL_TEXT         anon | file: what sealed text and rodata become
//                       (default file)
//   VMSEAL_SCRIPT=PATH  the `#!` script this program (its interpreter) runs
//   VMSEAL_DRY_RUN=1    print the plan on stderr, seal nothing
//   VMSEAL_REPORT=FILE  JSON report ("%p" becomes the pid)
//   VMSEAL_ENFORCE=1    exit 125 before main when anything planned fails
//   VMSEAL_FOLLOW_EXEC=1  keep LD_PRELOAD and these for programs it execs
//   VMSEAL_PREDICT=DIR  `vmseal predict`: a quiet dry run that marks each
//                       seal point in an strace log (see predict_marker) and
//                       copies /proc/self/smaps to DIR at each one
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char** environ;

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "follow_exec.hpp"
#include "vmseal/kernel/abi.hpp"
#include "vmseal/sealing/image_sealer.hpp"
#include "vmseal/sealing/preload_env.hpp"
#include "vmseal/sealing/record.hpp"
#include "vmseal/sealing/safe_file.hpp"
#include "vmseal/version.hpp"

namespace vs = vmseal::sealing;
namespace env = vmseal::sealing::env;

// The process's sealing record (sealing/record.hpp): zero-initialised data of
// this library, found by `vmseal inspect` through this exported name.
extern "C"
    __attribute__((visibility("default"))) unsigned char vmseal_preload_record[vs::kRecordBytes];
unsigned char vmseal_preload_record[vs::kRecordBytes] alignas(8);

namespace {

constexpr int kEnforceExit = 125;

// The preload's own way out: the system call, not _exit, which it interposes.
[[noreturn]] void leave(int code) {
  for (;;) syscall(SYS_exit_group, code);
}

struct Config {
  vs::SealerOptions sealer;
  bool enforce = false;
  bool follow_exec = false;
  bool report = false;
  char report_path[4096] = {};
  char opt_out[4096] = {};
  bool predict = false;  // VMSEAL_PREDICT: markers for `vmseal predict`
  char predict_dir[4096] = {};
  char script[4096] = {};  // VMSEAL_SCRIPT: the #! script whose interpreter this is
};

Config g_config;
constinit vs::ImageSealer g_sealer_object;
vs::ImageSealer* g_sealer = nullptr;  // set once configured and mseal works
bool g_unavailable = false;           // mseal missing or denied: run unchanged
int g_unavailable_error = 0;
bool g_started = false;  // main has been wrapped and the seal done

using MainFn = int (*)(int, char**, char**);
MainFn g_real_main = nullptr;

// --- output without stdio buffers: vmseal::preload::say (follow_exec.hpp) ----
using vmseal::preload::say;

// --- markers for `vmseal predict` (docs/predict.md) --------------------------
// Each is a write(2) to fd -1, which fails with EBADF and does nothing, so
// strace shows it at the exact point of the call sequence where `vmseal run`
// would seal. Text: "vmseal-predict WORD ARGS...". Nothing is allocated and
// no memory-management call is made between the first and the last marker of
// a seal point, so the markers change nothing the trace replays.
void predict_marker(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void predict_marker(const char* fmt, ...) {
  char buf[1200];
  std::size_t used = static_cast<std::size_t>(std::snprintf(buf, sizeof buf, "vmseal-predict "));
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf + used, sizeof buf - used, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  used += static_cast<std::size_t>(n) < sizeof buf - used ? static_cast<std::size_t>(n)
                                                          : sizeof buf - used - 1;
  ssize_t ignored = write(-1, buf, used);
  (void)ignored;
}

// Copies /proc/self/smaps to `path` through a small stack buffer (no heap;
// procfs has no splice, so no sendfile).
bool copy_smaps(const char* path) {
  const int in = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
  if (in < 0) return false;
  const int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool ok = out >= 0;
  char buf[4096];
  while (ok) {
    const ssize_t got = read(in, buf, sizeof buf);
    if (got < 0) ok = false;
    if (got <= 0) break;
    for (ssize_t done = 0; ok && done < got;) {
      const ssize_t w = write(out, buf + done, static_cast<std::size_t>(got - done));
      if (w <= 0)
        ok = false;
      else
        done += w;
    }
  }
  close(in);
  if (out >= 0) close(out);
  return ok;
}

unsigned g_seal_points = 0;  // seal points in this process image

// --- a growable text buffer on libc's allocator, for the JSON report --------
struct Text {
  char* data = nullptr;
  std::size_t size = 0;
  std::size_t cap = 0;
  bool failed = false;

  void append(const char* s, std::size_t n) {
    if (failed) return;
    if (size + n + 1 > cap) {
      std::size_t want = cap == 0 ? 4096 : cap * 2;
      while (want < size + n + 1) want *= 2;
      char* p = static_cast<char*>(std::realloc(data, want));
      if (p == nullptr) {
        failed = true;
        return;
      }
      data = p;
      cap = want;
    }
    std::memcpy(data + size, s, n);
    size += n;
    data[size] = '\0';
  }
  void puts(const char* s) { append(s, std::strlen(s)); }
  void printf(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
      append(buf, static_cast<std::size_t>(n) < sizeof buf ? static_cast<std::size_t>(n)
                                                           : sizeof buf - 1);
  }
  void json_string(const char* s) { json_string(s, s != nullptr ? std::strlen(s) : 0); }
  void json_string(const char* s, std::size_t n) {
    append("\"", 1);
    for (const char* end = s + n; s != nullptr && s < end; ++s) {
      const auto c = static_cast<unsigned char>(*s);
      if (c == '"' || c == '\\') {
        const char esc[2] = {'\\', static_cast<char>(c)};
        append(esc, 2);
      } else if (c < 0x20) {
        printf("\\u%04x", c);
      } else {
        append(s, 1);
      }
    }
    append("\"", 1);
  }
};

constinit vs::RecordWriter g_record;  // writes vmseal_preload_record, for `vmseal inspect`
Text g_objects;                       // the report's "objects" entries, comma-separated
Text g_kernel;                        // the report's "kernel_mappings" entries
Text g_dlmopen;                       // the report's "dlmopen" entries: objects in other namespaces
std::uint64_t g_seal_ns = 0;
std::uint64_t g_sealed_bytes = 0;
std::size_t g_failures = 0;
std::size_t g_relro_file_backed = 0;

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

const char* errno_name(int e) {
  switch (e) {
    case 0:
      return "";
    case vs::kSealNotEffective:
      return "not sealed although mseal returned 0";
    case vs::kNotAsPlanned:
      return "left unsealed: its protection was changed before the seal (writable or executable)";
    case vs::kChangedWhileSealing:
      return "another thread changed a protection while the preload sealed: a range is sealed "
             "writable or executable";
    default:
      break;
  }
  // The one errno table (kernel/abi.hpp): "EFAULT", as everything else names it.
  for (const vmseal::abi::ErrnoName& n : vmseal::abi::kErrnoNames)
    if (n.number == e) return n.name.data();  // a literal: NUL-terminated
  return strerror(e);
}

const char* relro_copy_word(vs::SegmentKind k) {
  const vs::RelroMode m =
      k == vs::SegmentKind::Relro ? g_config.sealer.relro : g_config.sealer.text;
  return m == vs::RelroMode::Memfd ? "memfd)" : "anonymous)";
}

// The word a predict marker adds for the copy made before a range's seal.
const char* copy_marker(vs::SegmentKind k) {
  vs::RelroMode m = vs::RelroMode::File;
  if (k == vs::SegmentKind::Relro) m = g_config.sealer.relro;
  if (k == vs::SegmentKind::Text || k == vs::SegmentKind::Rodata) m = g_config.sealer.text;
  return m == vs::RelroMode::Anonymous ? " anon" : m == vs::RelroMode::Memfd ? " memfd" : "";
}

// The predict markers of one object: its verdict, then each range it seals.
void predict_object(const vs::ObjectResult& r) {
  const vs::LoadedObject& o = *r.object;
  // Each run of ranges the sealer gives one mseal: "range START END KIND",
  // after "object ROLE VERDICT PATH" (the path last: it may hold blanks).
  predict_marker("object %s %s %s", vs::object_role_name(o.role),
                 vs::object_verdict_name(r.verdict), *r.path != '\0' ? r.path : "?");
  for (std::size_t i = 0; i < r.n_ranges; ++i) {
    const vs::PlannedRange& p = r.ranges[i];
    if (!p.seal) continue;
    predict_marker("range %llx %llx %.*s%s", static_cast<unsigned long long>(p.start),
                   static_cast<unsigned long long>(p.end),
                   static_cast<int>(vs::segment_kind_name(p.kind).size()),
                   vs::segment_kind_name(p.kind).data(), copy_marker(p.kind));
  }
}

// --dry-run's lines on stderr for one object and its ranges.
void say_dry_run_object(const vs::ObjectResult& r) {
  const vs::LoadedObject& o = *r.object;
  say("vmseal: dry run: %s (%s%s): %s%s%s\n", *r.path != '\0' ? r.path : "?",
      vs::object_role_name(o.role), r.at_startup ? "" : ", opened later",
      vs::object_verdict_name(r.verdict), *r.why != '\0' ? ": " : "", r.why);
  for (std::size_t i = 0; i < r.n_ranges; ++i) {
    const vs::PlannedRange& p = r.ranges[i];
    const bool copy =
        p.seal &&
        ((p.kind == vs::SegmentKind::Relro && g_config.sealer.relro != vs::RelroMode::File) ||
         ((p.kind == vs::SegmentKind::Text || p.kind == vs::SegmentKind::Rodata) &&
          g_config.sealer.text != vs::RelroMode::File));
    say("vmseal:   %012llx-%012llx %-7.*s %s%.*s%s%s\n", static_cast<unsigned long long>(p.start),
        static_cast<unsigned long long>(p.end),
        static_cast<int>(vs::segment_kind_name(p.kind).size()),
        vs::segment_kind_name(p.kind).data(),
        p.seal ? "seal" : "leave: ", static_cast<int>(p.why_not.size()), p.why_not.data(),
        copy ? " (after a copy: " : "", copy ? relro_copy_word(p.kind) : "");
  }
}

// Range `i` of an object as a report entry.
void report_range(Text& t, const vs::ObjectResult& r, std::size_t i) {
  const vs::PlannedRange& range = r.ranges[i];
  const int error = r.errors[i];
  const bool sealed = range.seal && error == 0 && !g_config.sealer.dry_run;
  const bool unmapped = error == vs::kNotMapped;
  t.printf(
      "%s\n      {\"start\": \"0x%llx\", \"end\": \"0x%llx\", \"kind\": \"%.*s\", \"planned\": "
      "%s, \"sealed\": %s",
      i == 0 ? "" : ",", static_cast<unsigned long long>(range.start),
      static_cast<unsigned long long>(range.end),
      static_cast<int>(vs::segment_kind_name(range.kind).size()),
      vs::segment_kind_name(range.kind).data(), range.seal ? "true" : "false",
      sealed ? "true" : "false");
  if (unmapped)
    t.puts(", \"mapped\": false");
  else if (error != 0)
    t.printf(", \"error\": \"%s\"", errno_name(error));
  if (r.relro != nullptr && r.relro[i] != vs::RelroOutcome::NotRelro) {
    t.puts(", \"backing\": ");
    t.json_string(vs::relro_outcome_name(r.relro[i]));
    if (r.relro_errors[i] != 0)
      t.printf(", \"backing_error\": \"%s\"", errno_name(r.relro_errors[i]));
  }
  if (!range.seal) {
    t.puts(", \"why_not\": ");
    t.json_string(range.why_not.data(), range.why_not.size());
  }
  t.puts("}");
}

// One object's entry in the report's "objects".
void report_object(const vs::ObjectResult& r) {
  const vs::LoadedObject& o = *r.object;
  Text& t = g_objects;
  if (t.size > 0) t.puts(",\n");
  t.puts("    {\"path\": ");
  t.json_string(r.path);
  t.printf(
      ", \"role\": \"%s\", \"bias\": \"0x%llx\", \"loaded\": \"%s\", \"nodelete\": %s, "
      "\"textrel\": %s,",
      vs::object_role_name(o.role), static_cast<unsigned long long>(o.key.bias),
      r.at_startup ? "startup" : "dlopen", o.nodelete ? "true" : "false",
      o.textrel ? "true" : "false");
  t.printf(" \"verdict\": \"%s\", \"why\": ", vs::object_verdict_name(r.verdict));
  t.json_string(r.why);
  t.printf(", \"sealed_bytes\": %llu, \"ranges\": [",
           static_cast<unsigned long long>(r.sealed_bytes));
  for (std::size_t i = 0; i < r.n_ranges; ++i) report_range(t, r, i);
  t.puts("]}");
}

void record_object_untimed(const vs::ObjectResult& r) {
  g_record.add(r);
  if (g_config.predict) predict_object(r);
  if (g_config.sealer.dry_run && !g_config.predict) say_dry_run_object(r);
  if (g_config.report) report_object(r);
}

std::uint64_t g_record_ns = 0;  // time spent recording, left out of seal_ns

void record_object(const vs::ObjectResult& r, void*) {
  const std::uint64_t t0 = now_ns();
  record_object_untimed(r);
  g_record_ns += now_ns() - t0;
}

void record_kernel(const vs::KernelMappingResult& r, void*) {
  if (g_config.predict)
    predict_marker("kernel %llx %llx %s", static_cast<unsigned long long>(r.start),
                   static_cast<unsigned long long>(r.end), r.name);
  if (g_config.sealer.dry_run && !g_config.predict)
    say("vmseal: dry run: %s %llx-%llx: seal\n", r.name, static_cast<unsigned long long>(r.start),
        static_cast<unsigned long long>(r.end));
  if (!g_config.report) return;
  Text& t = g_kernel;
  if (t.size > 0) t.puts(",\n");
  t.printf("    {\"name\": \"%s\", \"start\": \"0x%llx\", \"end\": \"0x%llx\", \"sealed\": %s",
           r.name, static_cast<unsigned long long>(r.start), static_cast<unsigned long long>(r.end),
           r.sealed ? "true" : "false");
  if (r.error != 0) t.printf(", \"error\": \"%s\"", errno_name(r.error));
  t.puts("}");
}

// What the seals here cannot stop on Linux 6.18 (docs/attacks.md).
void write_kernel_gaps(Text& t) {
  t.puts("  \"kernel_gaps\": [\n");
  if (g_config.sealer.relro == vs::RelroMode::File || g_relro_file_backed > 0)
    t.puts(
        "    \"RELRO left file-backed (--relro file, or it could not be copied): Linux 6.18 lets "
        "MADV_DONTNEED discard a sealed private file mapping, and RELRO's relocated words are read "
        "back "
        "from the file, unrelocated.\",\n");
  else if (g_config.sealer.relro == vs::RelroMode::Memfd)
    t.puts(
        "    \"RELRO is a private mapping of a write-sealed memfd: a discard re-reads the same "
        "bytes, but "
        "userfaultfd can fill a discarded page with chosen bytes (UFFDIO_COPY), MADV_DONTFORK "
        "leaves a hole "
        "at RELRO in a child after fork, and MADV_GUARD_INSTALL makes it unreadable; --relro anon "
        "closes "
        "all three.\",\n");
  if (g_config.sealer.text == vs::RelroMode::File)
    t.puts(
        "    \"Sealed text and rodata are file-backed: Linux 6.18 accepts MADV_DONTFORK on them "
        "(after fork the "
        "child has a hole there that MAP_FIXED_NOREPLACE can fill) and MADV_GUARD_INSTALL (the "
        "next access "
        "faults); --text anon closes both.\",\n");
  t.puts(
      "    \"Sealing fixes mappings and protections, not contents: ptrace, /proc/PID/mem and "
      "process_vm_writev "
      "still write.\"\n  ],\n");
}

void write_report() {
  if (!g_config.report) return;
  Text t;
  int mseal_error = 0;
  const bool available = vs::ImageSealer::mseal_available(&mseal_error);
  t.printf(
      "{\n  \"vmseal\": \"%s\",\n  \"pid\": %d,\n  \"profile\": \"%.*s\",\n  \"dry_run\": %s,\n",
      vmseal::kVersion, static_cast<int>(getpid()),
      static_cast<int>(vs::profile_name(g_config.sealer.profile).size()),
      vs::profile_name(g_config.sealer.profile).data(), g_config.sealer.dry_run ? "true" : "false");
  t.printf("  \"mseal\": \"%s\",\n", available ? "available" : errno_name(mseal_error));
  if (g_config.script[0] != '\0') {
    // The kernel ran the script's interpreter: that is the program sealed.
    t.puts("  \"script\": ");
    t.json_string(g_config.script);
    t.puts(",\n");
  }
  t.printf(
      "  \"sealed_before_main\": %s,\n  \"seal_ns\": %llu,\n  \"sealed_bytes\": %llu,\n  "
      "\"failures\": %zu,\n",
      g_started ? "true" : "false", static_cast<unsigned long long>(g_seal_ns),
      static_cast<unsigned long long>(g_sealed_bytes), g_failures);
  t.printf("  \"relro\": \"%s\",\n  \"text\": \"%s\",\n  \"relro_file_backed\": %zu,\n",
           vs::relro_mode_name(g_config.sealer.relro), vs::relro_mode_name(g_config.sealer.text),
           g_relro_file_backed);
  write_kernel_gaps(t);
  t.puts("  \"objects\": [\n");
  if (g_objects.data != nullptr) t.append(g_objects.data, g_objects.size);
  t.puts("\n  ],\n  \"kernel_mappings\": [\n");
  if (g_kernel.data != nullptr) t.append(g_kernel.data, g_kernel.size);
  t.puts("\n  ],\n  \"dlmopen\": [\n");
  if (g_dlmopen.data != nullptr) t.append(g_dlmopen.data, g_dlmopen.size);
  t.puts("\n  ]\n}\n");
  if (t.failed) {
    say("vmseal: out of memory writing the report\n");
    return;
  }
  // Beside the target, then renamed over it: a reader never sees half a
  // report, and no symlink or other user's file is written through.
  if (const int err = vs::write_file_safely(g_config.report_path, t.data, t.size); err != 0)
    say("vmseal: cannot write the report %s: %s\n", g_config.report_path,
        err == EEXIST ? "it exists as a symlink or another user's file" : strerror(err));
  std::free(t.data);
}

// Seals whatever is new; called before main and after each dlopen.
// Two threads may dlopen at once: one seals at a time (the sealer, its
// mapping table and the report are shared).
pthread_mutex_t g_seal_lock = PTHREAD_MUTEX_INITIALIZER;

void seal_now_locked(bool startup);
unsigned long long objects_added();
unsigned long long g_adds_at_last_seal = 0;  // objects_added() at the last seal point

void seal_now(bool startup) {
  if (g_sealer == nullptr || g_unavailable) return;
  pthread_mutex_lock(&g_seal_lock);
  seal_now_locked(startup);
  pthread_mutex_unlock(&g_seal_lock);
}

void seal_now_locked(bool startup) {
  const std::uint64_t t0 = now_ns();
  g_adds_at_last_seal = objects_added();
  if (g_config.predict) {
    // The layout at this seal point, then the marker that says where it is.
    char path[4200];
    std::snprintf(path, sizeof path, "%s/smaps-%d-%u", g_config.predict_dir,
                  static_cast<int>(getpid()), ++g_seal_points);
    const bool copied = copy_smaps(path);
    predict_marker("begin %s %d %u %s", startup ? "startup" : "dlopen", static_cast<int>(getpid()),
                   g_seal_points, copied ? path : "-");
  }
  // The process's own record of every decision (record.hpp), for `vmseal
  // inspect`; made at the first seal point.
  if (!g_config.predict && !g_record.is_open())
    g_record.open(vmseal_preload_record, g_config.sealer.profile, g_config.sealer.relro,
                  g_config.sealer.text,
                  static_cast<std::uint8_t>((g_config.sealer.dry_run ? vs::kRecordDryRun : 0) |
                                            (g_config.enforce ? vs::kRecordEnforce : 0)),
                  g_config.script);
  const bool record = g_config.report || g_config.sealer.dry_run || g_record.is_open();
  // Paths (a readlink for the program) only where something prints them.
  const bool paths = g_config.report || g_config.sealer.dry_run;
  vs::SealSummary s = g_sealer->seal_new_objects(record ? record_object : nullptr, nullptr, paths);
  if (startup && g_config.sealer.profile == vs::Profile::Strict) {
    const bool record_kernel_mappings = g_config.report || g_config.sealer.dry_run;
    const vs::SealSummary k =
        g_sealer->seal_kernel_mappings(record_kernel_mappings ? record_kernel : nullptr, nullptr);
    s.sealed_bytes += k.sealed_bytes;
    s.failures += k.failures;
    if (s.first_error == 0) s.first_error = k.first_error;
  }
  g_seal_ns += now_ns() - t0 - g_record_ns;
  g_record_ns = 0;
  g_failures += s.failures;
  g_sealed_bytes += s.sealed_bytes;
  g_relro_file_backed += s.relro_file_backed;
  g_record.finish_seal_point(g_started, g_failures, g_sealed_bytes);
  if (g_config.predict) predict_marker("end %d %u", static_cast<int>(getpid()), g_seal_points);
  if (s.failures > 0) {
    if (g_config.enforce && startup) {
      say("vmseal: sealing failed (%s) and --enforce is set: not running the program\n",
          errno_name(s.first_error));
      write_report();
      leave(kEnforceExit);
    }
    say("vmseal: %zu range(s) could not be sealed (%s)%s\n", s.failures, errno_name(s.first_error),
        g_config.report ? "; see the report" : "");
  }
  write_report();
}

// --- configuration and the environment the program's children see -----------
bool env_true(const char* name) {
  const char* v = getenv(name);
  return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

// The environment is edited in place, through `environ`: a program may define
// its own setenv and unsetenv (bash does), and the preload's calls would bind
// to those, which do not change what exec passes on.
void drop_env(const char* name) {
  const std::size_t len = std::strlen(name);
  char** w = environ;
  for (char** r = environ; *r != nullptr; ++r)
    if (!(std::strncmp(*r, name, len) == 0 && (*r)[len] == '=')) *w++ = *r;
  *w = nullptr;
}

// Removes this library from LD_PRELOAD (entries separated by ':' or ' ').
void drop_self_from_ld_preload() {
  static char replacement[8192 + 16];
  const char* list = getenv("LD_PRELOAD");
  if (list == nullptr) return;
  constexpr std::size_t kPrefix = sizeof "LD_PRELOAD=" - 1;
  std::memcpy(replacement, "LD_PRELOAD=", kPrefix);
  if (vmseal::preload::ld_preload_without_self(list, replacement + kPrefix,
                                               sizeof replacement - kPrefix) == 0) {
    drop_env("LD_PRELOAD");
    return;
  }
  for (char** r = environ; *r != nullptr; ++r)
    if (std::strncmp(*r, "LD_PRELOAD=", 11) == 0) *r = replacement;
}

void read_config() {
  Config& c = g_config;
  if (const char* p = getenv(env::kProfile); p != nullptr && *p != '\0') {
    if (!vs::profile_from_name(p, c.sealer.profile)) {
      say("vmseal: unknown VMSEAL_PROFILE '%s' (minimal, default or strict); using default\n", p);
      c.sealer.profile = vs::Profile::Default;
    }
  }
  if (const char* p = getenv(env::kOptOut); p != nullptr) {
    std::snprintf(c.opt_out, sizeof c.opt_out, "%s", p);
    c.sealer.opt_out = c.opt_out;
  }
  if (const char* p = getenv(env::kRelro);
      p != nullptr && *p != '\0' && !vs::relro_mode_from_name(p, c.sealer.relro))
    say("vmseal: unknown VMSEAL_RELRO '%s' (anon, memfd or file); using anon\n", p);
  if (const char* p = getenv(env::kText);
      p != nullptr && *p != '\0' &&
      (!vs::relro_mode_from_name(p, c.sealer.text) || c.sealer.text == vs::RelroMode::Memfd)) {
    say("vmseal: unknown VMSEAL_TEXT '%s' (anon or file); using file\n", p);
    c.sealer.text = vs::RelroMode::File;
  }
  if (const char* p = getenv(env::kScript); p != nullptr)
    std::snprintf(c.script, sizeof c.script, "%s", p);
  c.sealer.dry_run = env_true(env::kDryRun);
  if (const char* p = getenv(env::kPredict); p != nullptr && *p != '\0') {
    // `vmseal predict`: plan and mark, seal nothing, print nothing.
    std::snprintf(c.predict_dir, sizeof c.predict_dir, "%s", p);
    c.predict = true;
    c.sealer.dry_run = true;
  }
  c.enforce = env_true(env::kEnforce);
  c.follow_exec = env_true(env::kFollowExec);
  const char* report = getenv(env::kReport);
  bool report_per_pid = false;
  if (report != nullptr && *report != '\0') {
    // "%p" becomes the pid, so a program that execs others gets one report each.
    std::size_t o = 0;
    for (const char* r = report; *r != '\0' && o + 24 < sizeof c.report_path; ++r) {
      if (r[0] == '%' && r[1] == 'p') {
        o += static_cast<std::size_t>(std::snprintf(c.report_path + o, sizeof c.report_path - o,
                                                    "%d", static_cast<int>(getpid())));
        ++r;
        report_per_pid = true;
      } else {
        c.report_path[o++] = *r;
      }
    }
    c.report_path[o] = '\0';
    c.report = true;
  }
  if (!c.follow_exec) {
    drop_self_from_ld_preload();
    for (const char* v : env::kAll) drop_env(v);
  } else if (!report_per_pid) {
    drop_env(env::kReport);  // the next program would overwrite this one's
  }
}

__attribute__((constructor)) void vmseal_preload_init() {
  read_config();
  g_sealer_object.snapshot_startup();
  // A prediction seals nothing: it plans for a kernel with mseal even here.
  if (!g_config.predict && !vs::ImageSealer::mseal_available(&g_unavailable_error)) {
    g_unavailable = true;
    if (g_config.enforce) {
      say("vmseal: mseal is not available here (%s) and enforce is set: not running the program\n",
          errno_name(g_unavailable_error));
      leave(kEnforceExit);
    }
    // `vmseal run` does not preload without mseal; a hand-set LD_PRELOAD warns once.
    say("vmseal: mseal is not available here (%s): running the program unsealed\n",
        errno_name(g_unavailable_error));
    return;
  }
  g_sealer_object.set_options(g_config.sealer);
  g_sealer = &g_sealer_object;
}

// At exit, a last look: objects that arrived without a dlopen the preload
// saw (glibc's own, for iconv's gconv modules and NSS) are decided and
// reported too, so the report and the record list every object.
// Under --enforce, a program that leaves before main was wrapped (so before
// anything was sealed) must not leave with its own status.
void refuse_unsealed_exit() {
  if (g_started || !g_config.enforce || g_sealer == nullptr) return;
  say("vmseal: the program ran without passing through __libc_start_main: nothing was sealed "
      "(--enforce)\n");
  write_report();
  leave(kEnforceExit);
}

__attribute__((destructor)) void vmseal_preload_fini() {
  // Only when something was loaded since the last seal point (the loader's
  // count of objects added moved): a program that loaded nothing pays nothing.
  if (g_started && !g_config.predict && (g_config.report || g_record.is_open()) &&
      objects_added() != g_adds_at_last_seal)
    seal_now(false);
  // The program ran without passing through __libc_start_main, so nothing
  // was sealed: `vmseal run` refuses such programs under --enforce before it
  // execs them; a program that still got here must not exit 0 in silence.
  refuse_unsealed_exit();
}

int wrapped_main(int argc, char** argv, char** envp) {
  g_started = true;
  seal_now(true);
  return g_real_main(argc, argv, envp);
}

// How many objects the loader has ever added (dl_phdr_info::dlpi_adds).
unsigned long long objects_added() {
  unsigned long long adds = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        *static_cast<unsigned long long*>(data) = info->dlpi_adds;
        return 1;
      },
      &adds);
  return adds;
}

using DlopenFn = void* (*)(const char*, int);
DlopenFn real_dlopen() {
  static DlopenFn fn = nullptr;
  if (fn == nullptr) fn = reinterpret_cast<DlopenFn>(dlsym(RTLD_NEXT, "dlopen"));
  return fn;
}

bool has_dynamic_tag(const ElfW(Dyn) * dyn, ElfW(Sxword) tag) {
  for (; dyn != nullptr && dyn->d_tag != DT_NULL; ++dyn)
    if (dyn->d_tag == tag) return true;
  return false;
}

// Whether glibc would find `file` the same way from this library as from the
// caller: dlopen searches the caller's RUNPATH, its loaders' RPATH, expands
// $ORIGIN from the caller, and opens into the caller's namespace.
bool caller_independent(const char* file, const void* caller) {
  if (file == nullptr) return true;
  if (std::strchr(file, '$') != nullptr) return false;
  if (std::strchr(file, '/') != nullptr) return true;
  Dl_info info{};
  link_map* map = nullptr;
  if (dladdr1(caller, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) == 0 ||
      map == nullptr)
    return false;
  if (has_dynamic_tag(map->l_ld, DT_RUNPATH) || has_dynamic_tag(map->l_ld, DT_RPATH)) return false;
  Lmid_t ns = LM_ID_BASE;
  if (dlinfo(map, RTLD_DI_LMID, &ns) != 0 || ns != LM_ID_BASE) return false;
  // DT_RPATH is inherited by what an object loads: any in the process counts.
  bool any_rpath = false;
  vs::for_each_loaded_object(
      [](const vs::LoadedObject& o, void* data) {
        if (o.has_rpath) *static_cast<bool*>(data) = true;
        return !o.has_rpath;
      },
      &any_rpath);
  return !any_rpath;
}

// Whether the ELF file at `path` asks for an executable stack (PT_GNU_STACK
// with PF_X): glibc then rewrites __stack_prot in ld.so's RELRO, which the
// strict profile seals. Reads the headers onto the stack; false on any doubt.
bool wants_exec_stack(const char* path) {
  if (path == nullptr || std::strchr(path, '/') == nullptr) return false;
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ElfW(Ehdr) eh{};
  ElfW(Phdr) ph[64];
  bool exec_stack = false;
  if (pread(fd, &eh, sizeof eh, 0) == static_cast<ssize_t>(sizeof eh) &&
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_phentsize == sizeof(ElfW(Phdr)) &&
      eh.e_phnum > 0 && eh.e_phnum <= 64) {
    const std::size_t want = sizeof(ElfW(Phdr)) * eh.e_phnum;
    if (pread(fd, ph, want, static_cast<off_t>(eh.e_phoff)) == static_cast<ssize_t>(want))
      for (std::size_t i = 0; i < eh.e_phnum; ++i)
        if (ph[i].p_type == PT_GNU_STACK && (ph[i].p_flags & PF_X) != 0) exec_stack = true;
  }
  close(fd);
  return exec_stack;
}

void pin_handle(void* handle) {
  link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr) return;
  struct Ctx {
    ElfW(Addr) bias;
    const char* name;
  } ctx{map->l_addr, map->l_name};
  vs::for_each_loaded_object(
      [](const vs::LoadedObject& o, void* data) {
        auto* c = static_cast<Ctx*>(data);
        if (o.key.bias != c->bias) return true;
        g_sealer->mark_pinned(o.key);
        return false;
      },
      &ctx);
}

}  // namespace

extern "C" {

// `vmseal run` accepts a --preload only if it defines this (sealing/launch.hpp).
__attribute__((visibility("default"))) extern const int vmseal_preload_abi_1;
const int vmseal_preload_abi_1 = 1;

__attribute__((visibility("default"))) int __libc_start_main(MainFn main, int argc, char** argv,
                                                             void (*init)(), void (*fini)(),
                                                             void (*rtld_fini)(), void* stack_end) {
  using StartFn = int (*)(MainFn, int, char**, void (*)(), void (*)(), void (*)(), void*);
  const auto real = reinterpret_cast<StartFn>(dlsym(RTLD_NEXT, "__libc_start_main"));
  if (real == nullptr) {
    say("vmseal: cannot find __libc_start_main: %s\n", dlerror());
    leave(127);
  }
  g_real_main = main;
  return real(wrapped_main, argc, argv, init, fini, rtld_fini, stack_end);
}

// _exit and quick_exit skip destructors: a constructor that runs the program
// and leaves through them would escape --enforce's last check. (A direct
// exit_group system call is beyond what a preload sees: docs/run.md.)
__attribute__((visibility("default"), noreturn)) void _exit(int status) {
  refuse_unsealed_exit();
  for (;;) syscall(SYS_exit_group, status);
}

__attribute__((visibility("default"), noreturn)) void quick_exit(int status) noexcept {
  refuse_unsealed_exit();
  using QuickExitFn = void (*)(int);
  const auto real = reinterpret_cast<QuickExitFn>(dlsym(RTLD_NEXT, "quick_exit"));
  if (real != nullptr) real(status);
  for (;;) syscall(SYS_exit_group, status);
}

// dlmopen: objects in another link-map namespace are outside what
// dl_iterate_phdr shows the preload (it lists the caller's namespace only),
// so they are not sealed. Each one is reported, and said on a dry run.
__attribute__((visibility("default"))) void* dlmopen(Lmid_t lmid, const char* file, int mode) {
  using DlmopenFn = void* (*)(Lmid_t, const char*, int);
  static DlmopenFn real = nullptr;
  if (real == nullptr) real = reinterpret_cast<DlmopenFn>(dlsym(RTLD_NEXT, "dlmopen"));
  if (real == nullptr) return nullptr;
  if (!g_started || g_sealer == nullptr || (!g_config.report && !g_config.sealer.dry_run) ||
      !caller_independent(file, __builtin_return_address(0)))
    return real(lmid, file, mode);  // a tail call: glibc sees the real caller
  void* handle = real(lmid, file, mode);
  Lmid_t ns = lmid;
  if (handle != nullptr) dlinfo(handle, RTLD_DI_LMID, &ns);
  if (handle != nullptr && ns != LM_ID_BASE) {
    pthread_mutex_lock(&g_seal_lock);
    if (g_config.sealer.dry_run && !g_config.predict)
      say("vmseal: dry run: %s (dlmopen, namespace %ld): not sealed: outside the namespace the "
          "preload sees\n",
          file != nullptr ? file : "?", static_cast<long>(ns));
    if (g_config.report) {
      Text& t = g_dlmopen;
      if (t.size > 0) t.puts(",\n");
      t.puts("    {\"file\": ");
      t.json_string(file != nullptr ? file : "");
      t.printf(
          ", \"namespace\": %ld, \"nodelete\": %s, \"sealed\": false, \"why\": \"in a dlmopen "
          "namespace: "
          "dl_iterate_phdr shows the preload its own namespace only\"}",
          static_cast<long>(ns), (mode & RTLD_NODELETE) != 0 ? "true" : "false");
      write_report();
    }
    pthread_mutex_unlock(&g_seal_lock);
  }
  return handle;
}

__attribute__((visibility("default"))) void* dlopen(const char* file, int mode) {
  const DlopenFn real = real_dlopen();
  if (real == nullptr) return nullptr;
  if (!g_started || g_sealer == nullptr || !caller_independent(file, __builtin_return_address(0))) {
    // A tail call: glibc sees the original caller (its RUNPATH, $ORIGIN and
    // namespace). What this opens is sealed at the next dlopen seen here.
    return real(file, mode);
  }
  const unsigned long long adds_before = objects_added();
  void* handle = real(file, mode);
  if (handle == nullptr && g_config.sealer.profile == vs::Profile::Strict && wants_exec_stack(file))
    say("vmseal: dlopen(\"%s\") failed: it asks for an executable stack, and the strict profile "
        "sealed the page "
        "of ld.so's RELRO (__stack_prot) that glibc must rewrite for it; use --profile default, or "
        "--opt-out 'ld-linux*'\n",
        file);
  // Only a dlopen that loaded something, or pinned something, has anything
  // to seal: a dlopen of a loaded object costs no more than without vmseal.
  if (handle != nullptr && ((mode & RTLD_NODELETE) != 0 || objects_added() != adds_before)) {
    if ((mode & RTLD_NODELETE) != 0) pin_handle(handle);
    seal_now(false);
  }
  return handle;
}

}  // extern "C"
