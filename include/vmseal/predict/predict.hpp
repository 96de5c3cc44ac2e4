// vmseal predict: which memory-management calls of a program would fail under
// `vmseal run`. An strace log of the program (recorded with the preload in its
// prediction mode, or a plain `strace -f -y` log) is replayed through two
// engines in step: a control, which must reproduce the unsealed run (the
// trace's results are the unsealed truth), and a sealed copy, which gets the
// seals of `vmseal run` at the point the preload would apply them. A call
// whose sealed result is an error the control (and the kernel) did not get
// would fail. docs/predict.md has the design.
//
// The preload marks its seal points in the trace (trace/seal_point.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/sealing/plan.hpp"
#include "vmseal/trace/seal_point.hpp"
#include "vmseal/trace/sim.hpp"
#include "vmseal/trace/strace.hpp"

namespace vmseal::predict {

// A range the plan seals, and what it belongs to.
struct SealedRange {
  Addr start = 0;
  Addr end = 0;
  std::string kind;       // text, rodata, relro, gap, data, bss; stack, vdso, vvar, vvar_vclock
  std::string object;     // the object's path, or the kernel mapping's name ("[stack]")
  std::string role;       // program, interpreter, library; "kernel" for a kernel mapping
  std::size_t line = 0;   // the seal point's line in the trace
  bool applied = true;    // false: the layout there was unknown, nothing was sealed in the engine
  std::string copy = {};  // "anon": made an anonymous copy before the seal (sealing/relro.hpp)
};

// Where a call came from, when strace gave it (-k stacks or -i pointers).
struct CallSite {
  std::string site;  // the first frame outside libc and ld.so, or the resolved pointer
  std::vector<std::string> stack;  // -k frames, innermost first
};

struct PredictedCall {
  std::size_t line = 0;
  int pid = 0;
  std::string call;  // "mprotect(0x55d0c0a2f000, 4096, PROT_READ)"
  std::string name;  // "mprotect"
  Addr addr = 0;     // the call's first argument (the address it works on)
  std::uint64_t len = 0;
  bool has_recorded = false;
  SysResult recorded;             // what the kernel returned, unsealed
  SysResult sealed;               // what the engine returns with the seals
  std::vector<SealedRange> hits;  // the sealed ranges it touches
  CallSite site;
  std::vector<std::string> avoid;  // "--opt-out /usr/bin/node", "--profile default"
  bool after_failure = false;      // its process already had a predicted failure
  bool estimated = false;          // plain trace: the seal point is an estimate
  std::string note;                // unverifiable: why
};

// A seal the preload itself could not make (it warns, and --enforce exits 125).
struct SealFailure {
  std::size_t line = 0;
  int pid = 0;
  SealedRange range;
  Errno error = Errno::OK;
};

enum class DiagnosticKind : std::uint8_t {
  Malformed,       // a line strace could not have written; bad arguments
  BadMarker,       // a vmseal-predict marker that cannot be read
  NoLayout,        // a seal point whose layout snapshot is missing
  Truncated,       // the trace ends inside a call, a seal point, or a running process
  UnknownSyscall,  // syscall_0x... strace did not name
  Unmodelled,      // a memory call the engine does not model, after a seal point
  UnknownPid,      // a pid no traced clone, fork or attach created
  EngineMismatch,  // the control engine disagrees with the kernel on the unsealed run
  NoSealPoint,     // nothing in the trace says where the seal happens
  Anomaly,         // the sealed engine succeeded where the kernel failed
};
std::string_view diagnostic_kind_name(DiagnosticKind k) noexcept;

struct Diagnostic {
  DiagnosticKind kind = DiagnosticKind::Malformed;
  std::size_t line = 0;
  int pid = 0;
  std::string message;
};

struct SealPoint {
  std::size_t line = 0;  // of the "end" marker (plain traces: the estimated point)
  int pid = 0;
  std::string kind;  // startup, dlopen; "estimated" in a plain trace
  std::size_t ranges = 0;
  bool layout = false;  // a snapshot gave the engine the whole layout
};

struct PredictSummary {
  std::size_t lines = 0;
  std::size_t calls = 0;        // memory-management calls read
  std::size_t before_seal = 0;  // made before their process was sealed (or never sealed)
  std::size_t unaffected = 0;   // after a seal point, the sealed engine agrees with the kernel
  std::size_t would_fail = 0;
  std::size_t unverifiable = 0;
  std::size_t seal_failures = 0;
  std::size_t malformed = 0;  // diagnostics of kind Malformed or BadMarker
};

struct PredictResult {
  bool plain = false;  // no markers: objects and the seal point reconstructed
  std::vector<PredictedCall> failures;
  std::vector<PredictedCall> unverifiable;
  std::vector<SealFailure> seal_failures;
  std::vector<Diagnostic> diagnostics;
  std::vector<SealPoint> seal_points;
  PredictSummary summary;
};

struct PredictOptions {
  Config config;
  // What `vmseal run` is asked for. With markers the plan is the preload's;
  // these decide the suggestions and, for a plain trace, the plan itself.
  sealing::Profile profile = sealing::Profile::Default;
  std::vector<std::string> opt_out;
  // A plain strace log: no markers, the seal point and the start-up objects
  // are reconstructed (see docs/predict.md for what that cannot know).
  bool plain = false;
  // Diagnostics of one kind beyond this many are counted, not kept.
  std::size_t max_diagnostics_per_kind = 50;
};

// Reads a layout snapshot named in a "begin" marker; nullopt when missing.
using SnapshotSource = std::function<std::optional<std::string>(const std::string& name)>;

class Predictor {
 public:
  Predictor(PredictOptions options, SnapshotSource snapshots);
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  // One line of the trace as written (strace -k stack lines " > ..." and -i
  // pointers included). Never throws on bad input except std::bad_alloc.
  void feed(std::string_view line);
  // End of input (a trace whose last line had no newline: `cut` true).
  void finish(bool cut = false);
  const PredictResult& result() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What `vmseal run` flags would have avoided a failure on `hit` under `profile`.
std::vector<std::string> avoiding_options(const SealedRange& hit, sealing::Profile profile);

// The key the integration test and `--json` use to compare runs: independent
// of ASLR. "mprotect /usr/bin/x data +0x1000 4096".
std::string failure_key(std::string_view name, const SealedRange& hit, Addr addr,
                        std::uint64_t len);

}  // namespace vmseal::predict
