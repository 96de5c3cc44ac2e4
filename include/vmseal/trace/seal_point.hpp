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

#include <string>
#include <string_view>

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

}  // namespace vmseal::trace
