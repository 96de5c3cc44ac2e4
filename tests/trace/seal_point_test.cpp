// The one reader of the preload's seal point markers (trace/seal_point.hpp),
// shared by vmseal predict and vmseal compare.
#include "vmseal/trace/seal_point.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace vmseal::trace {
namespace {

// One strace line as the event it parses to.
TraceEvent event(const std::string& line) {
  const std::vector<ParseItem> items = parse_strace_text(line);
  EXPECT_EQ(items.size(), 1u) << line;
  for (const ParseItem& item : items)
    if (const auto* ev = std::get_if<TraceEvent>(&item)) return *ev;
  ADD_FAILURE() << "no event in: " << line;
  return {};
}

TraceEvent marker_write(const std::string& text, bool truncated = false) {
  return event("1234  write(-1, \"vmseal-predict " + text + "\"" + (truncated ? "..." : "") +
               ", 40) = -1 EBADF " + "(Bad file descriptor)");
}

SealPointMarker read_ok(const TraceEvent& ev) {
  SealPointMarker m;
  std::string why;
  EXPECT_TRUE(is_seal_point_marker(ev));
  EXPECT_TRUE(read_seal_point_marker(ev, m, &why)) << why;
  return m;
}

std::string read_bad(const TraceEvent& ev) {
  SealPointMarker m;
  std::string why;
  EXPECT_TRUE(is_seal_point_marker(ev));
  EXPECT_FALSE(read_seal_point_marker(ev, m, &why)) << m.text;
  EXPECT_FALSE(why.empty());
  return why;
}

TEST(SealPointMarker, EveryKindReadsBack) {
  SealPointMarker m = read_ok(marker_write("begin startup 1234 1 /tmp/p/smaps-1234-1"));
  EXPECT_EQ(m.kind, SealPointMarker::Kind::Begin);
  EXPECT_EQ(m.point, "startup");
  EXPECT_EQ(m.snapshot, "/tmp/p/smaps-1234-1");

  m = read_ok(marker_write("begin dlopen 1234 2 -"));
  EXPECT_EQ(m.point, "dlopen");
  EXPECT_EQ(m.snapshot, "-");
  m = read_ok(marker_write("begin dlopen 1234 3"));  // no snapshot at all
  EXPECT_EQ(m.snapshot, "-");

  m = read_ok(marker_write("object library sealed /opt/my app/lib x.so"));  // a path with spaces
  EXPECT_EQ(m.kind, SealPointMarker::Kind::Object);
  EXPECT_EQ(m.role, "library");
  EXPECT_EQ(m.verdict, "sealed");
  EXPECT_EQ(m.path, "/opt/my app/lib x.so");

  m = read_ok(marker_write("range 55d0c0000000 55d0c0400000 text"));
  EXPECT_EQ(m.kind, SealPointMarker::Kind::Range);
  EXPECT_EQ(m.start, 0x55d0c0000000u);
  EXPECT_EQ(m.end, 0x55d0c0400000u);
  EXPECT_EQ(m.range_kind, "text");

  m = read_ok(marker_write("kernel 7ffc1000 7ffc3000 [vdso]"));
  EXPECT_EQ(m.kind, SealPointMarker::Kind::Kernel);
  EXPECT_EQ(m.range_kind, "[vdso]");

  m = read_ok(marker_write("end 1234 1"));
  EXPECT_EQ(m.kind, SealPointMarker::Kind::End);
  EXPECT_EQ(m.text, "end 1234 1");
}

TEST(SealPointMarker, OnlyAnObjectSurvivesTruncation) {
  SealPointMarker m =
      read_ok(marker_write("object library sealed /usr/lib/x86_64-linux-gnu/libver", true));
  EXPECT_TRUE(m.truncated);
  EXPECT_EQ(m.path, "/usr/lib/x86_64-linux-gnu/libver...");
  EXPECT_NE(read_bad(marker_write("range 1000 20", true)).find("truncated by strace"),
            std::string::npos);
  EXPECT_NE(read_bad(marker_write("begin startup 1234 1 /tmp/p/sma", true)).find("truncated"),
            std::string::npos);
}

TEST(SealPointMarker, MalformedOnesSayWhy) {
  EXPECT_NE(read_bad(marker_write("range 2000 1000 text")).find("START < END"), std::string::npos);
  EXPECT_NE(read_bad(marker_write("range 1000 1000 text")).find("START < END"), std::string::npos);
  EXPECT_NE(read_bad(marker_write("range 0x1000 0x2000 text")).find("in hex"), std::string::npos);
  EXPECT_NE(read_bad(marker_write("range zz 2000 text")).find("in hex"), std::string::npos);
  EXPECT_NE(read_bad(marker_write("range 1000 2000")).find("expected: range"), std::string::npos);
  EXPECT_NE(read_bad(marker_write("kernel 1000 fffffffffffffffff [vdso]")).find("expected: kernel"),
            std::string::npos);  // 2^68: out of range
  EXPECT_NE(read_bad(marker_write("object library sealed")).find("expected: object"),
            std::string::npos);
  EXPECT_NE(read_bad(marker_write("begin startup")).find("expected: begin"), std::string::npos);
  EXPECT_NE(read_bad(marker_write("teleport 1 2")).find("unknown marker"), std::string::npos);
  EXPECT_NE(read_bad(marker_write("")).find("unknown marker"), std::string::npos);
}

TEST(SealPointMarker, OnlyWritesToFdMinusOneWithThePrefixAreMarkers) {
  EXPECT_FALSE(is_seal_point_marker(event("1234  write(3, \"vmseal-predict end 1 1\", 21) = 21")));
  EXPECT_FALSE(is_seal_point_marker(
      event("1234  write(-1, \"hello\", 5) = -1 EBADF (Bad file descriptor)")));
  EXPECT_FALSE(is_seal_point_marker(
      event("1234  read(-1, \"vmseal-predict end 1 1\", 21) = -1 EBADF (Bad file "
            "descriptor)")));
  EXPECT_TRUE(
      has_predict_markers("write(-1, \"vmseal-predict begin startup 1 1 -\", 40) = -1 EBADF"));
  EXPECT_FALSE(has_predict_markers("write(-1, \"vmseal-predict end 1 1\", 20) = -1 EBADF"));
}

}  // namespace
}  // namespace vmseal::trace
