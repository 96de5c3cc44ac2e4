#include "vmseal/predict/recording.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "vmseal/trace/line_reader.hpp"
#include "vmseal/trace/seal_point.hpp"
#include "vmseal/version.hpp"

namespace vmseal::predict {

using namespace vmseal::trace;  // the simulator, the seal points, the events

namespace fs = std::filesystem;

bool read_sidecar(const std::string& trace_path, Recording& out, std::string* error) {
  const std::string side = trace_path + ".json";
  if (access(side.c_str(), F_OK) != 0) return true;
  std::ifstream in(side, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  try {
    const nlohmann::json j = nlohmann::json::parse(text.str());
    for (const auto& [name, smaps] : j.at("snapshots").items())
      out.snapshots[name] = smaps.get<std::string>();
    out.profile = j.value("profile", std::string());
    if (j.contains("opt_out")) out.opt_out = j["opt_out"].get<std::vector<std::string>>();
    out.follow_exec = j.value("follow_exec", false);
    if (j.contains("command")) out.command = j["command"].get<std::vector<std::string>>();
    out.program = j.value("program", std::string());
    out.strace_flags = j.value("strace_flags", std::string());
    out.exit_status = j.value("exit_status", -1);
  } catch (const std::exception& e) {
    if (error != nullptr) *error = side + " is not a vmseal predict sidecar: " + e.what();
    return false;
  }
  return true;
}

bool write_recording(const std::string& trace_path, const Recording& rec,
                     const std::string& destination, std::string* error) {
  std::error_code ec;
  fs::copy_file(trace_path, destination, fs::copy_options::overwrite_existing, ec);
  const nlohmann::json side = {{"vmseal", kVersion},
                               {"format", kRecordingFormat},
                               {"profile", rec.profile},
                               {"opt_out", rec.opt_out},
                               {"follow_exec", rec.follow_exec},
                               {"command", rec.command},
                               {"program", rec.program},
                               {"strace_flags", rec.strace_flags},
                               {"exit_status", rec.exit_status},
                               {"snapshots", rec.snapshots}};
  std::ofstream out(destination + ".json");
  out << side.dump(1) << "\n";
  if (ec || !out) {
    if (error != nullptr) *error = "cannot write " + destination + " or " + destination + ".json";
    return false;
  }
  return true;
}

std::optional<std::string> Recording::snapshot(const std::string& marker_name) const {
  const auto it = snapshots.find(fs::path(marker_name).filename().string());
  if (it == snapshots.end()) return std::nullopt;
  return it->second;
}

bool replay(const std::string& trace_path, const Recording& recording, PredictOptions options,
            Replay& out, std::string* error, const std::function<void(std::size_t)>& progress) {
  std::ifstream in(trace_path, std::ios::binary);
  if (!in) {
    if (error != nullptr) *error = "cannot read " + trace_path;
    return false;
  }
  {
    LineReader lines(in);
    while (!out.markers && lines.next() != LineReader::Result::End)
      out.markers = has_predict_markers(lines.line());
    in.clear();
    in.seekg(0);
  }
  options.plain = !out.markers;
  Predictor predictor(options,
                      [&recording](const std::string& name) { return recording.snapshot(name); });
  LineReader lines(in);
  bool cut = false;
  while (lines.next() != LineReader::Result::End) {
    cut = lines.unterminated();  // the last line had no newline
    predictor.feed(lines.line());
    if (++out.lines % 100000 == 0 && progress) progress(out.lines);
  }
  predictor.finish(cut);
  out.result = predictor.result();
  return true;
}

}  // namespace vmseal::predict
