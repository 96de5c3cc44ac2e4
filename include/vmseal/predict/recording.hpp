// A `vmseal predict --record` recording: the strace log of a run under the
// preload, and its sidecar (TRACE.json) with the layout snapshots the preload
// copied at each seal point and the options of the run. The one reader and
// writer of the sidecar, and the one replay of a recording.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vmseal/predict/predict.hpp"

namespace vmseal::predict {

struct Recording {
  std::map<std::string, std::string> snapshots;  // file name -> smaps text
  // The snapshot a seal-point marker names, by its file name: a trace is
  // untrusted, so it names only the recording's own, never a file to open.
  std::optional<std::string> snapshot(const std::string& marker_name) const;
  // The run's options ("" / empty when the sidecar does not say).
  std::string profile;
  std::vector<std::string> opt_out;
  bool follow_exec = false;
  std::vector<std::string> command;
  std::string program;
  std::string strace_flags;
  int exit_status = -1;
};

inline constexpr const char* kRecordingFormat = "vmseal-predict-1";

// Reads TRACE.json beside `trace_path` into `out`. True when there is none
// (a plain strace log: no snapshots) or it was read; false with a message
// when it is not a sidecar.
bool read_sidecar(const std::string& trace_path, Recording& out, std::string* error);

// Copies `trace_path` to `destination` and writes the sidecar beside it.
bool write_recording(const std::string& trace_path, const Recording& rec,
                     const std::string& destination, std::string* error);

struct Replay {
  PredictResult result;
  bool markers = false;  // the trace has seal-point markers (else a plain log)
  std::size_t lines = 0;
};

// Replays the trace at `trace_path` through the Predictor. `options.plain` is
// set from the trace itself. Snapshots come from `recording` only
// (Recording::snapshot). `progress(lines)` every 100,000 lines when given. False with a
// message when the file cannot be read.
bool replay(const std::string& trace_path, const Recording& recording, PredictOptions options,
            Replay& out, std::string* error, const std::function<void(std::size_t)>& progress = {});

}  // namespace vmseal::predict
