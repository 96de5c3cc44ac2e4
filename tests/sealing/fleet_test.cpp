// The fleet view's exposition (vmseal/sealing/fleet.hpp): label values from
// hostile executable paths, the bound on series, and the text itself.
#include "vmseal/sealing/fleet.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vmseal::sealing {
namespace {

ProcessSummary process(pid_t pid, std::string exe, std::uint64_t bytes, std::uint64_t sealed) {
  ProcessSummary p;
  p.pid = pid;
  p.comm = exe.substr(exe.rfind('/') + 1);
  p.exe = std::move(exe);
  p.total = {bytes, sealed, 10, sealed != 0 ? 4U : 0U};
  p.sealable = {bytes / 2, sealed, 5, sealed != 0 ? 4U : 0U};
  p.unsealed_sealable = sealed != 0 ? 1 : 5;
  return p;
}

// The lines of `text` that start with `prefix`.
std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0) out.push_back(line);
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return out;
}

TEST(FleetLabel, EscapesQuotesBackslashesAndNewlines) {
  EXPECT_EQ(label_value("/usr/bin/ok"), "/usr/bin/ok");
  EXPECT_EQ(label_value("/tmp/a\"b\\c\nd"), "/tmp/a\\\"b\\\\c\\nd");
}

TEST(FleetLabel, InvalidUtf8BecomesReplacementCharacters) {
  // A lone continuation byte, an overlong '/', a surrogate, a truncated
  // sequence at the end: each byte that starts no valid character is U+FFFD.
  EXPECT_EQ(label_value("/x\x80y"), "/x\xEF\xBF\xBDy");
  EXPECT_EQ(label_value("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(label_value("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(label_value("/\xE2\x82"), "/\xEF\xBF\xBD\xEF\xBF\xBD");
  // Valid multi-byte characters stay.
  EXPECT_EQ(label_value("/opt/caf\xC3\xA9/\xF0\x9F\x94\x92"), "/opt/caf\xC3\xA9/\xF0\x9F\x94\x92");
}

TEST(FleetLabel, LongPathsAreCutAtACharacterBoundary) {
  const std::string path =
      "/" + std::string(kMaxLabelBytes - 2, 'a') + "\xC3\xA9" + std::string(3000, 'b');
  const std::string v = label_value(path);
  EXPECT_EQ(
      v, "/" + std::string(kMaxLabelBytes - 2, 'a') + "...");  // the 2-byte 'é' did not fit whole
  EXPECT_LE(v.size(), kMaxLabelBytes + 3);
}

TEST(FleetExposition, OneSeriesPerExecutableTheRestAsOther) {
  FleetScan scan;
  scan.processes = {process(10, "/usr/sbin/sshd", 9000, 4096),
                    process(11, "/usr/sbin/sshd", 9000, 4096),
                    process(12, "/usr/bin/python3.11", 50000, 0),
                    process(13, "/usr/bin/bash", 100, 0), process(14, "/usr/bin/sleep", 50, 0)};
  scan.denied = 2;
  MachineState machine;
  machine.mseal.support = kernel::MsealSupport::Available;
  const std::string text = render_exposition(scan, machine, {2, false, "9.9"});
  // Largest first: python3.11 (50000), sshd (18000); bash and sleep summed.
  EXPECT_EQ(lines_starting(text, "vmseal_processes{"),
            (std::vector<std::string>{"vmseal_processes{exe=\"/usr/bin/python3.11\"} 1",
                                      "vmseal_processes{exe=\"/usr/sbin/sshd\"} 2",
                                      "vmseal_processes{exe=\"(other)\"} 2"}));
  EXPECT_EQ(lines_starting(text, "vmseal_sealed_bytes{"),
            (std::vector<std::string>{"vmseal_sealed_bytes{exe=\"/usr/bin/python3.11\"} 0",
                                      "vmseal_sealed_bytes{exe=\"/usr/sbin/sshd\"} 8192",
                                      "vmseal_sealed_bytes{exe=\"(other)\"} 0"}));
  EXPECT_EQ(
      lines_starting(text, "vmseal_unsealed_sealable_mappings{"),
      (std::vector<std::string>{"vmseal_unsealed_sealable_mappings{exe=\"/usr/bin/python3.11\"} 5",
                                "vmseal_unsealed_sealable_mappings{exe=\"/usr/sbin/sshd\"} 2",
                                "vmseal_unsealed_sealable_mappings{exe=\"(other)\"} 10"}));
  EXPECT_EQ(lines_starting(text, "vmseal_scan_processes{"),
            (std::vector<std::string>{"vmseal_scan_processes{state=\"read\"} 5",
                                      "vmseal_scan_processes{state=\"denied\"} 2",
                                      "vmseal_scan_processes{state=\"exited\"} 0"}));
  EXPECT_EQ(lines_starting(text, "vmseal_mseal_available"),
            (std::vector<std::string>{"vmseal_mseal_available 1"}));
  EXPECT_EQ(lines_starting(text, "vmseal_version{"),
            (std::vector<std::string>{"vmseal_version{version=\"9.9\"} 1"}));
  EXPECT_TRUE(lines_starting(text, "vmseal_process_").empty())
      << "per-pid series only when asked for";
  EXPECT_EQ(text.substr(text.size() - 6), "# EOF\n");
  // Every family is a gauge with help, declared once.
  EXPECT_EQ(lines_starting(text, "# TYPE ").size(), lines_starting(text, "# HELP ").size());
  for (const std::string& t : lines_starting(text, "# TYPE "))
    EXPECT_EQ(t.substr(t.size() - 6), " gauge");
}

TEST(FleetExposition, PathsThatSanitiseAlikeShareOneSeries) {
  // Two hostile paths that differ only past the label's length limit, and
  // one with a newline: no duplicate series, nothing unescaped.
  const std::string stem = "/tmp/" + std::string(kMaxLabelBytes, 'x');
  FleetScan scan;
  scan.processes = {process(1, stem + "-one", 100, 0), process(2, stem + "-two", 100, 0),
                    process(3, "/tmp/evil\"}\nvmseal_mseal_available 1\n", 10, 0)};
  const std::string text = render_exposition(scan, MachineState{}, {50, true, "1"});
  const auto series = lines_starting(text, "vmseal_processes{");
  ASSERT_EQ(series.size(), 2U) << text;
  EXPECT_EQ(series[0], "vmseal_processes{exe=\"" + label_value(stem) + "\"} 2");
  EXPECT_EQ(series[1],
            "vmseal_processes{exe=\"/tmp/"
            "evil\\\"}\\nvmseal_mseal_available 1\\n\"} 1");
  EXPECT_EQ(lines_starting(text, "vmseal_mseal_available").size(), 1U) << "an injected sample line";
  // --per-pid: one series per process, its pid first.
  EXPECT_EQ(lines_starting(text, "vmseal_process_sealed_bytes{pid=").size(), 3U);
}

TEST(FleetExposition, AnEmptyScanIsStillValid) {
  const std::string text = render_exposition(FleetScan{}, MachineState{}, {50, false, "1"});
  EXPECT_TRUE(lines_starting(text, "vmseal_processes{").empty());
  EXPECT_EQ(lines_starting(text, "# TYPE vmseal_processes ").size(), 1U);
  EXPECT_EQ(lines_starting(text, "vmseal_mseal_available"),
            (std::vector<std::string>{"vmseal_mseal_available 0"}));
}

}  // namespace
}  // namespace vmseal::sealing
