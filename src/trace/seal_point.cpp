#include "vmseal/trace/seal_point.hpp"

#include <vector>

#include "strace_detail.hpp"

namespace vmseal::trace {
namespace {

// The first max_words - 1 space-separated words, then the rest as one (a path
// may hold spaces).
std::vector<std::string_view> words(std::string_view s, std::size_t max_words) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < s.size() && out.size() + 1 < max_words) {
    const std::size_t sp = s.find(' ', pos);
    if (sp == std::string_view::npos) break;
    out.push_back(s.substr(pos, sp - pos));
    pos = sp + 1;
  }
  if (pos < s.size()) out.push_back(s.substr(pos));
  return out;
}

bool parse_hex(std::string_view s, Addr& out) {
  if (s.empty() || s.starts_with("0x")) return false;
  return parse_int_arg("0x" + std::string(s), out, nullptr);
}

}  // namespace

bool is_seal_point_marker(const TraceEvent& ev) noexcept {
  if (ev.kind != EventKind::Call || ev.call.name != "write" || ev.call.args.size() < 2)
    return false;
  const std::string_view buf = ev.call.args[1];
  return detail::trim(ev.call.args[0]) == "-1" && buf.size() > kPredictMarkerPrefix.size() &&
         buf.front() == '"' && buf.substr(1, kPredictMarkerPrefix.size()) == kPredictMarkerPrefix;
}

bool read_seal_point_marker(const TraceEvent& ev, SealPointMarker& out, std::string* why) {
  auto fail = [&](std::string msg) {
    if (why) *why = std::move(msg);
    return false;
  };
  out = SealPointMarker{};
  StringArg s;
  std::string err;
  if (!parse_string_arg(ev.call.args[1], s, &err))
    return fail("a vmseal-predict marker that cannot be read: " + err);
  if (!s.bytes.starts_with(kPredictMarkerPrefix)) return fail("not a vmseal-predict marker");
  out.text = s.bytes.substr(kPredictMarkerPrefix.size());
  out.truncated = s.truncated;
  const std::vector<std::string_view> w = words(out.text, 4);
  const std::string_view what = w.empty() ? std::string_view() : w.front();
  auto bad = [&](std::string_view msg) {
    return fail("marker '" + out.text + "': " + std::string(msg));
  };
  if (s.truncated && what != "object") return bad("truncated by strace (record with a larger -s)");
  if (what == "begin") {
    const std::vector<std::string_view> w5 = words(out.text, 5);
    if (w5.size() < 4) return bad("expected: begin KIND PID N SNAPSHOT");
    out.kind = SealPointMarker::Kind::Begin;
    out.point = w5[1];
    out.snapshot = w5.size() >= 5 ? std::string(w5[4]) : "-";
  } else if (what == "object") {
    if (w.size() < 4) return bad("expected: object ROLE VERDICT PATH");
    out.kind = SealPointMarker::Kind::Object;
    out.role = w[1];
    out.verdict = w[2];
    out.path = w[3];
    if (s.truncated) out.path += "...";
  } else if (what == "range" || what == "kernel") {
    if (w.size() < 4 || !parse_hex(w[1], out.start) || !parse_hex(w[2], out.end) ||
        out.start >= out.end)
      return bad("expected: " + std::string(what) + " START END KIND, START < END, in hex");
    out.kind = what == "range" ? SealPointMarker::Kind::Range : SealPointMarker::Kind::Kernel;
    out.range_kind = w[3];
    // A range may end in the copy made before its seal: "range S E relro anon".
    if (const std::size_t sp = out.range_kind.find(' ');
        out.kind == SealPointMarker::Kind::Range && sp != std::string::npos) {
      out.copy = out.range_kind.substr(sp + 1);
      out.range_kind.resize(sp);
      if (out.copy != "anon" && out.copy != "memfd")
        return bad("unknown copy '" + out.copy + "' (anon or memfd)");
    }
  } else if (what == "end") {
    out.kind = SealPointMarker::Kind::End;
  } else {
    return bad("unknown marker");
  }
  return true;
}

bool has_predict_markers(std::string_view text) noexcept {
  return text.find("\"vmseal-predict begin ") != std::string_view::npos;
}

SealPointAssembler::Step SealPointAssembler::feed(int pid, std::size_t line,
                                                  const SealPointMarker& m, std::string* problem) {
  auto say = [&](std::string text) {
    if (problem != nullptr) *problem = std::move(text);
  };
  if (m.kind == SealPointMarker::Kind::Begin) {
    if (open_.count(pid) != 0)
      say("marker '" + m.text + "': a seal point begins inside another one; the first is dropped");
    AssembledSealPoint p;
    p.line = line;
    p.pid = pid;
    p.point = m.point;
    p.snapshot = m.snapshot;
    open_[pid] = std::move(p);
    return Step::Begun;
  }
  const auto it = open_.find(pid);
  if (it == open_.end()) {
    say("marker '" + m.text + "': outside a seal point (no 'begin' from pid " +
        std::to_string(pid) + ")");
    return Step::Added;
  }
  AssembledSealPoint& p = it->second;
  switch (m.kind) {
    case SealPointMarker::Kind::Object:
      if (m.truncated) say("an object's path was truncated by strace: " + m.path);
      p.objects.push_back({m.role, m.verdict, m.path, {}});
      return Step::Added;
    case SealPointMarker::Kind::Range:
      if (p.objects.empty()) {
        say("marker '" + m.text + "': a range before any object");
        return Step::Added;
      }
      p.objects.back().ranges.push_back({m.start, m.end, m.range_kind, m.copy, line});
      return Step::Added;
    case SealPointMarker::Kind::Kernel:
      p.kernel.push_back({m.start, m.end, m.range_kind, "", line});
      return Step::Added;
    case SealPointMarker::Kind::End:
      return Step::Completed;
    case SealPointMarker::Kind::Begin:
      break;
  }
  return Step::Added;
}

AssembledSealPoint SealPointAssembler::take(int pid) {
  const auto it = open_.find(pid);
  if (it == open_.end()) return {};
  AssembledSealPoint p = std::move(it->second);
  open_.erase(it);
  return p;
}

std::vector<SealCall> seal_calls(const AssembledSealPoint& point, SealGranularity granularity) {
  std::vector<SealCall> out;
  for (const AssembledSealPoint::Object& o : point.objects) {
    for (std::size_t i = 0; i < o.ranges.size();) {
      const bool gap = o.ranges[i].kind == "gap";
      std::size_t j = i + 1;
      while (granularity == SealGranularity::PerRun && !gap && j < o.ranges.size() &&
             o.ranges[j].kind != "gap" && o.ranges[j].start == o.ranges[j - 1].end)
        ++j;
      SealCall c;
      c.start = o.ranges[i].start;
      c.end = o.ranges[j - 1].end;
      c.gap = gap;
      c.object = &o;
      c.ranges.assign(o.ranges.begin() + static_cast<std::ptrdiff_t>(i),
                      o.ranges.begin() + static_cast<std::ptrdiff_t>(j));
      out.push_back(std::move(c));
      i = j;
    }
  }
  for (const SealPointRange& k : point.kernel) out.push_back({k.start, k.end, false, nullptr, {k}});
  return out;
}

}  // namespace vmseal::trace
