// Seal points in traces. Under VMSEAL_PREDICT the preload marks each point
// where `vmseal run` seals (src/preload/preload.cpp, predict_marker()) with
// writes to fd -1, which fail with EBADF and change nothing, so strace records
// them in order with the program's own calls:
//
//   write(-1, "vmseal-predict begin startup 4242 1 /tmp/d/smaps-4242-1", ...)
//   write(-1, "vmseal-predict object program sealed /usr/bin/node", ...)
//   write(-1, "vmseal-predict range 55d0c0000000 55d0c0400000 text", ...)
//   write(-1, "vmseal-predict range 55d0c0600000 55d0c0602000 relro anon", ...)
//   write(-1, "vmseal-predict kernel 7ffc1000 7ffc3000 [vdso]", ...)
//   write(-1, "vmseal-predict end 4242 1", ...)
//
// `begin` names the seal point (startup or dlopen) and the layout snapshot
// copied there ("-" for none; trace/snapshot.hpp reads it); `object` the
// object whose `range`s follow; `kernel` a kernel mapping sealed alone.
// This is the one reader of that grammar: predict and compare both use it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vmseal/engine/types.hpp"
#include "vmseal/trace/strace.hpp"

namespace vmseal::trace {

inline constexpr std::string_view kPredictMarkerPrefix = "vmseal-predict ";

struct SealPointMarker {
  enum class Kind { Begin, Object, Range, Kernel, End };
  Kind kind = Kind::End;
  std::string text;  // the marker as written, without the prefix (for messages)
  // Begin
  std::string point;     // "startup", "dlopen"
  std::string snapshot;  // the layout snapshot's path, "-" for none
  // Object
  std::string role, verdict, path;
  // Range, Kernel
  Addr start = 0;
  Addr end = 0;
  std::string range_kind;  // Range: "text", "data", ...; Kernel: the mapping's name, "[vdso]"
  // Range: the copy `vmseal run` puts there before the seal (sealing/relro.hpp):
  // "anon", "memfd", or "" when the range is sealed as mapped.
  std::string copy;
  // strace cut the string short (record with a larger -s). Only an object's
  // marker is still usable then: its path ends early and says so with "...".
  bool truncated = false;
};

// Whether `ev` is a marker: a write to fd -1 whose text starts with the prefix.
bool is_seal_point_marker(const TraceEvent& ev) noexcept;

// Reads the marker `ev` (is_seal_point_marker(ev) must hold). False, with
// why it cannot be used in `why`, for a malformed one; `out.text` is set
// whenever the string itself could be read.
bool read_seal_point_marker(const TraceEvent& ev, SealPointMarker& out, std::string* why);

// Whether `text` (a trace, or a line of one) holds a seal point's begin marker.
bool has_predict_markers(std::string_view text) noexcept;

// ---- the one seal-point assembler (predict and compare) ----------------------

struct SealPointRange {
  Addr start = 0;
  Addr end = 0;
  std::string kind;      // text, rodata, relro, gap, data, bss; a kernel mapping's name
  std::string copy;      // "anon", "memfd" or "" (SealPointMarker::copy)
  std::size_t line = 0;  // its marker's line
};

// One seal point as the preload made it: the objects it sealed, each with its
// ranges in order, and the kernel mappings it sealed alone.
struct AssembledSealPoint {
  std::size_t line = 0;  // the 'begin' marker's
  int pid = 0;
  std::string point;     // startup, dlopen
  std::string snapshot;  // the layout snapshot's name, "-" for none
  struct Object {
    std::string role, verdict, path;
    std::vector<SealPointRange> ranges;
  };
  std::vector<Object> objects;
  std::vector<SealPointRange> kernel;
};

// Collects each pid's markers between 'begin' and 'end' into a seal point.
class SealPointAssembler {
 public:
  enum class Step : std::uint8_t {
    Added,      // a marker inside a seal point (or one dropped: see `problem`)
    Begun,      // a seal point began: current(pid) has its point and snapshot
    Completed,  // it ended: take(pid) gives it whole
  };
  // `problem` is set for a marker that does not fit (outside a seal point, a
  // range before any object, a begin inside another seal point, a path strace
  // truncated); the marker is dropped, except a truncated object.
  Step feed(int pid, std::size_t line, const SealPointMarker& m, std::string* problem);
  const AssembledSealPoint& current(int pid) const { return open_.at(pid); }
  AssembledSealPoint take(int pid);
  // An exec ends the process image a seal point in progress belonged to.
  void drop(int pid) { open_.erase(pid); }
  // The seal points begun and not ended, by pid.
  const std::map<int, AssembledSealPoint>& open() const { return open_; }

 private:
  std::map<int, AssembledSealPoint> open_;
};

// The mseal calls that apply a seal point, in order. The preload (ImageSealer)
// seals each run of adjacent ranges of an object with one call, each gap
// alone (an unmapped gap fails with ENOMEM, which is no failure) and each
// kernel mapping alone: PerRun, what predict replays. compare shows each
// range's outcome under each design, so it asks for PerRange. Both seal the
// same bytes.
enum class SealGranularity : std::uint8_t { PerRun, PerRange };
struct SealCall {
  Addr start = 0;
  Addr end = 0;
  bool gap = false;                                    // ENOMEM is no failure
  const AssembledSealPoint::Object* object = nullptr;  // nullptr: a kernel mapping
  std::vector<SealPointRange> ranges;                  // what it covers
};
std::vector<SealCall> seal_calls(const AssembledSealPoint& point, SealGranularity granularity);

}  // namespace vmseal::trace
