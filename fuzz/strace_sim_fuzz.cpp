// libFuzzer target: the strace reader and the simulator, as `vmseal sim
// --check` runs them. Seeds: tests/data/strace, examples/sealing.strace.
#include <variant>

#include "fuzz_lines.hpp"
#include "vmseal/trace/sim.hpp"
#include "vmseal/trace/strace.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vmseal::trace;
  StraceParser parser;
  SimOptions options;
  options.check = true;
  options.infer = true;              // as `sim --check` runs: unseen faults and orders are searched
  options.max_live_processes = 256;  // the limit's path is exercised, memory stays small
  Simulator sim(options);
  auto drain = [&] {
    while (auto item = parser.next()) {
      if (const auto* ev = std::get_if<TraceEvent>(&*item)) {
        std::string error;
        (void)sim.apply(*ev, &error);
        (void)sim.take_revisions();
      }
    }
  };
  vmseal::fuzz::for_each_line(vmseal::fuzz::as_text(data, size), [&](std::string_view line) {
    parser.feed(line);
    drain();
  });
  parser.finish();
  drain();
  return 0;
}
