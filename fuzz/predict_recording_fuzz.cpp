// libFuzzer target: `vmseal predict --trace`'s reader of a recording: the
// seal-point markers, the layout snapshot they name (smaps text) and the
// replay. The input is a snapshot, a line "----", then the trace; every
// snapshot name resolves to that snapshot. Seeds: tests/data/strace.
#include <optional>
#include <string>

#include "fuzz_lines.hpp"
#include "vmseal/predict/predict.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vmseal;
  std::string_view text = fuzz::as_text(data, size);
  std::string snapshot;
  if (const std::size_t cut = text.find("\n----\n"); cut != std::string_view::npos) {
    snapshot = std::string(text.substr(0, cut));
    text.remove_prefix(cut + 6);
  }
  predict::PredictOptions options;
  predict::Predictor predictor(
      options, [&](const std::string&) -> std::optional<std::string> { return snapshot; });
  fuzz::for_each_line(text, [&](std::string_view line) { predictor.feed(line); });
  predictor.finish(false);
  return 0;
}
