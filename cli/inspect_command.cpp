// vmseal inspect: what is sealed in a process, tied back to its objects and
// segments, and why the rest is not. Table, JSON and SVG renderings of the
// library's ProcessReport (vmseal/sealing/inspect.hpp).
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "manual.hpp"
#include "vmseal/kernel/bypass.hpp"
#include "vmseal/kernel/proc.hpp"
#include "vmseal/kernel/syscalls.hpp"
#include "vmseal/sealing/fleet.hpp"
#include "vmseal/sealing/inspect.hpp"
#include "vmseal/sealing/safe_file.hpp"
#include "vmseal/version.hpp"

namespace vmseal::cli {
namespace {

using sealing::InspectedMapping;
using sealing::ProcessReport;

std::string hex(std::uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "%" PRIx64, v);
  return b;
}

// 4.0K, 132K, 1.3M: whole units from 100 up, one decimal below.
std::string human_size(std::uint64_t bytes) {
  static constexpr char kUnits[] = {'B', 'K', 'M', 'G', 'T'};
  int u = 0;
  std::uint64_t whole = bytes;
  std::uint64_t tenths = bytes * 10;
  while (whole >= 1024 && u < 4) {
    tenths = whole * 10 / 1024;
    whole /= 1024;
    ++u;
  }
  std::string out = std::to_string(u == 0 || whole >= 100 ? whole : tenths / 10);
  if (u != 0 && whole < 100) {
    out += '.';
    out += static_cast<char>('0' + tenths % 10);
  }
  out += kUnits[u];
  return out;
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "-";
  char b[16];
  std::snprintf(b, sizeof b, "%.0f%%",
                100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return b;
}

std::string what_of(const ProcessReport& /*r*/, const InspectedMapping& m) {
  if (m.kind == sealing::MappingKind::Object)
    return std::string(sealing::segment_kind_name(m.segment));
  return std::string(sealing::mapping_kind_name(m.kind));
}

// The width to fit: --width, else the terminal's, else $COLUMNS (also when
// piped, as ls and ps take it), else none: a pipe gets whole lines.
unsigned terminal_width(unsigned requested) {
  if (requested != 0) return requested;
  if (isatty(STDOUT_FILENO) != 0) {
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  }
  if (const char* c = std::getenv("COLUMNS"); c != nullptr && std::atoi(c) > 0)
    return static_cast<unsigned>(std::atoi(c));
  return isatty(STDOUT_FILENO) != 0 ? 80 : 0;
}

// Cuts `s` to `n` columns (with an ellipsis), or leaves it when n == 0.
std::string fit(const std::string& s, std::size_t n) {
  if (n == 0 || s.size() <= n) return s;
  if (n <= 1) return s.substr(0, n);
  return s.substr(0, n - 1) + "~";
}

// `text` broken at spaces into lines of at most `width` columns (0: one
// line), every line after the first starting with `indent` spaces. A word
// longer than a line is cut into pieces: nothing is dropped.
std::string wrap(std::string_view text, std::size_t width, std::size_t first_room,
                 std::size_t indent) {
  if (width == 0 || text.size() <= first_room) return std::string(text);
  std::string out;
  std::size_t room = first_room;
  const std::size_t line_room = width > indent + 10 ? width - indent : 10;
  while (!text.empty()) {
    if (text.size() <= room) {
      out.append(text);
      break;
    }
    std::size_t cut = text.rfind(' ', room);
    if (cut == std::string_view::npos || cut == 0) cut = room;
    out.append(text.substr(0, cut));
    text.remove_prefix(cut);
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    if (!text.empty()) {
      out += '\n';
      out.append(indent, ' ');
    }
    room = line_room;
  }
  return out;
}

// The column plan of the mappings table for a width: END goes first when
// room is short (SIZE says as much), then a note too narrow to read moves
// to lines of its own under the row.
struct TableLayout {
  int addr_w = 12;
  bool show_end = true;
  std::size_t owner_w = 20;
  std::size_t note_col = 0;  // where the note starts on its row
  bool note_below = false;   // notes on their own lines, indented
  static constexpr std::size_t kMinNote = 30;
  static constexpr std::size_t kBelowIndent = 6;
};

TableLayout plan_table(const ProcessReport& r, unsigned width) {
  TableLayout t;
  for (const InspectedMapping& m : r.mappings)
    t.addr_w = std::max(t.addr_w, static_cast<int>(hex(m.end).size()));
  const auto fixed = [&t] {
    return static_cast<std::size_t>(t.addr_w) * (t.show_end ? 2 : 1) + (t.show_end ? 1 : 0) + 1 +
           6 + 1 + 4 + 1 + 6 + 1 + 9 + 1 + t.owner_w + 1;
  };
  if (width != 0 && fixed() + TableLayout::kMinNote > width) t.show_end = false;
  if (width != 0 && fixed() + TableLayout::kMinNote > width) t.owner_w = 14;
  t.note_col = fixed();
  t.note_below = width != 0 && t.note_col + TableLayout::kMinNote > width;
  return t;
}

void append_padded(std::string& out, std::string_view text, std::size_t w, bool right = false) {
  if (right && text.size() < w) out.append(w - text.size(), ' ');
  out.append(text);
  if (!right && text.size() < w) out.append(w - text.size(), ' ');
}

std::string owner_of(const ProcessReport& r, const InspectedMapping& m, std::size_t w) {
  std::string_view owner = m.name;
  if (m.object >= 0) owner = r.objects[static_cast<std::size_t>(m.object)].path;
  if (!owner.empty() && owner[0] == '/') owner = owner.substr(owner.rfind('/') + 1);
  return fit(std::string(owner), w);
}

void print_mappings(const ProcessReport& r, unsigned width) {
  const TableLayout t = plan_table(r, width);
  std::string head;
  append_padded(head, "START", static_cast<std::size_t>(t.addr_w));
  head += ' ';
  if (t.show_end) {
    append_padded(head, "END", static_cast<std::size_t>(t.addr_w));
    head += ' ';
  }
  head += "  SIZE PERM SEALED KIND      ";
  append_padded(head, "OBJECT", t.owner_w);
  head += " NOTE\n";
  std::fwrite(head.data(), 1, head.size(), stdout);
  // Rows written by hand into one reused buffer: a process may have 60,000.
  std::string row;
  char num[24];
  for (const InspectedMapping& m : r.mappings) {
    row.clear();
    auto res = std::to_chars(num, num + sizeof num, m.start, 16);
    append_padded(row, std::string_view(num, static_cast<std::size_t>(res.ptr - num)),
                  static_cast<std::size_t>(t.addr_w));
    row += ' ';
    if (t.show_end) {
      res = std::to_chars(num, num + sizeof num, m.end, 16);
      append_padded(row, std::string_view(num, static_cast<std::size_t>(res.ptr - num)),
                    static_cast<std::size_t>(t.addr_w));
      row += ' ';
    }
    append_padded(row, human_size(m.end - m.start), 6, true);
    row += ' ';
    append_padded(row, m.perms, 4);
    row += ' ';
    append_padded(row, m.sealed ? "sealed" : "-", 6);
    row += ' ';
    append_padded(row,
                  m.kind == sealing::MappingKind::Object ? sealing::segment_kind_name(m.segment)
                                                         : sealing::mapping_kind_name(m.kind),
                  9);
    row += ' ';
    append_padded(row, owner_of(r, m, t.owner_w), t.owner_w);
    if (!m.note.empty() && t.note_below) {
      while (!row.empty() && row.back() == ' ') row.pop_back();
      row += '\n';
      row.append(TableLayout::kBelowIndent, ' ');
      row += wrap(m.note, width, width - TableLayout::kBelowIndent, TableLayout::kBelowIndent);
    } else if (!m.note.empty()) {
      row += ' ';
      row += wrap(m.note, width, width == 0 ? 0 : width - t.note_col, t.note_col);
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    row += '\n';
    std::fwrite(row.data(), 1, row.size(), stdout);
  }
}

void print_objects(const ProcessReport& r, unsigned width) {
  std::size_t name_w = 6;
  std::vector<std::string> names;
  for (const sealing::ObjectReport& o : r.objects) {
    names.push_back(std::string(sealing::file_name_of(o.path)) + (o.main_program  ? " (program)"
                                                                  : o.interpreter ? " (loader)"
                                                                                  : ""));
    name_w = std::max(name_w, names.back().size());
  }
  // MAPPINGS SEALED BYTES TO-SEAL take 41 columns after the name.
  if (width != 0)
    name_w = std::min(name_w, std::max<std::size_t>(16, width > 45 ? width - 45 : 16));
  std::printf("\nobjects:\n  %-*s %9s %7s %8s %7s\n", static_cast<int>(name_w), "OBJECT",
              "MAPPINGS", "SEALED", "BYTES", "TO-SEAL");
  for (std::size_t i = 0; i < r.objects.size(); ++i) {
    const sealing::ObjectReport& o = r.objects[i];
    const auto& c = o.coverage;
    char counts[32];
    std::snprintf(counts, sizeof counts, "%" PRIu64 "/%" PRIu64, c.mappings_sealed, c.mappings);
    std::string line = "  ";
    append_padded(line, fit(names[i], name_w), name_w);
    char rest[96];
    std::snprintf(rest, sizeof rest, " %9s %7s %8s %7" PRIu64, counts,
                  percent(c.bytes_sealed, c.bytes).c_str(), human_size(c.bytes).c_str(),
                  o.should_seal_unsealed);
    line += rest;
    const std::string why = !o.error.empty() ? "(" + o.error + ")"
                            : !o.run_verdict.empty() && o.run_verdict != "sealed"
                                ? "run: " + o.run_verdict
                                : "";
    if (!why.empty())
      line +=
          "  " + wrap(why, width,
                      width == 0 ? 0 : width - std::min<std::size_t>(width, line.size() + 2), 4);
    std::printf("%s\n", line.c_str());
  }
}

void print_table(const ProcessReport& r, unsigned width) {
  const std::string title = "process " + std::to_string(r.pid) + " (" + r.comm + ") " + r.exe +
                            ", profile " + std::string(sealing::profile_name(r.profile)) +
                            (r.record ? " (from vmseal run's record)" : "");
  std::printf("%s\n", wrap(title, width, width, 2).c_str());
  if (r.record)
    std::printf("%s\n",
                wrap("sealed by vmseal run: RELRO " +
                         std::string(sealing::relro_mode_name(r.record->relro)) + ", text " +
                         sealing::relro_mode_name(r.record->text) +
                         (r.record->script.empty() ? "" : ", interpreter of " + r.record->script) +
                         (r.record->failures != 0
                              ? ", " + std::to_string(r.record->failures) + " failure(s)"
                              : ""),
                     width, width, 2)
                    .c_str());
  else if (!r.record_note.empty())
    std::printf("%s\n", wrap("note: " + r.record_note, width, width, 6).c_str());
  print_mappings(r, width);
  print_objects(r, width);
  std::printf("\nsealed: %" PRIu64 " of %" PRIu64 " mappings, %s of %s (%s)\n",
              r.total.mappings_sealed, r.total.mappings, human_size(r.total.bytes_sealed).c_str(),
              human_size(r.total.bytes).c_str(),
              percent(r.total.bytes_sealed, r.total.bytes).c_str());
  std::string line = "by kind (sealed/mappings):";
  for (const auto& [k, c] : r.by_kind) {
    const std::string item =
        "  " + k + " " + std::to_string(c.mappings_sealed) + "/" + std::to_string(c.mappings);
    if (width != 0 && line.size() + item.size() > width) {
      std::printf("%s\n", line.c_str());
      line = " ";
    }
    line += item;
  }
  std::printf("%s\n", line.c_str());
  if (!r.warnings.empty()) {
    std::printf("\nwarnings:\n");
    for (const sealing::Warning& w : r.warnings) {
      const std::string text =
          w.start != 0 || w.end != 0 ? hex(w.start) + "-" + hex(w.end) + ": " + w.text : w.text;
      std::printf("  %s\n", wrap(text, width, width == 0 ? 0 : width - 2, 4).c_str());
    }
  }
}

nlohmann::json coverage_json(const sealing::Coverage& c) {
  return {{"bytes", c.bytes},
          {"bytes_sealed", c.bytes_sealed},
          {"mappings", c.mappings},
          {"mappings_sealed", c.mappings_sealed}};
}

nlohmann::json report_json(const ProcessReport& r) {
  nlohmann::json j;
  j["pid"] = r.pid;
  j["comm"] = r.comm;
  j["exe"] = r.exe;
  j["profile"] = sealing::profile_name(r.profile);
  if (r.record) {
    const sealing::SealRecord& rec = *r.record;
    j["vmseal_run"] = {{"profile", sealing::profile_name(rec.profile)},
                       {"relro", sealing::relro_mode_name(rec.relro)},
                       {"text", sealing::relro_mode_name(rec.text)},
                       {"sealed_before_main", rec.sealed_before_main},
                       {"dry_run", rec.dry_run},
                       {"enforce", rec.enforce},
                       {"failures", rec.failures},
                       {"sealed_bytes", rec.sealed_bytes},
                       {"seal_points", rec.seal_points},
                       {"script", rec.script}};
  } else {
    j["vmseal_run"] = nullptr;
    j["vmseal_run_note"] = r.record_note;
  }
  j["total"] = coverage_json(r.total);
  for (const auto& [k, c] : r.by_kind) j["by_kind"][k] = coverage_json(c);
  j["objects"] = nlohmann::json::array();
  for (const sealing::ObjectReport& o : r.objects) {
    nlohmann::json oj{{"path", o.path},
                      {"start", o.start},
                      {"end", o.end},
                      {"bias", o.bias},
                      {"main_program", o.main_program},
                      {"interpreter", o.interpreter},
                      {"coverage", coverage_json(o.coverage)},
                      {"unsealed_that_a_loader_would_seal", o.should_seal_unsealed}};
    if (!o.error.empty()) oj["error"] = o.error;
    if (!o.run_verdict.empty()) {
      oj["run_verdict"] = o.run_verdict;
      oj["run_why"] = o.run_why;
    }
    if (!o.relro_backing.empty()) oj["relro_backing"] = o.relro_backing;
    if (o.image) {
      oj["bind_now"] = o.image->bind_now;
      oj["textrel"] = o.image->textrel;
      oj["memory_seal_property"] = o.image->memory_seal;
      oj["relro"] = o.image->relro.has_value();
      oj["mutable_ranges"] = o.image->mutable_ranges.size();
    }
    for (const auto& [k, c] : o.by_segment) oj["by_segment"][k] = coverage_json(c);
    j["objects"].push_back(std::move(oj));
  }
  j["mappings"] = nlohmann::json::array();
  for (const InspectedMapping& m : r.mappings) {
    nlohmann::json mj{{"start", m.start},
                      {"end", m.end},
                      {"perms", m.perms},
                      {"name", m.name},
                      {"sealed", m.sealed},
                      {"kind", what_of(r, m)},
                      {"should_seal", m.should_seal}};
    if (m.object >= 0) mj["object"] = m.object;
    if (!m.note.empty()) mj["note"] = std::string(m.note);
    j["mappings"].push_back(std::move(mj));
  }
  j["warnings"] = nlohmann::json::array();
  for (const sealing::Warning& w : r.warnings) {
    nlohmann::json wj{{"text", w.text}};
    if (w.start != 0 || w.end != 0) {
      wj["start"] = w.start;
      wj["end"] = w.end;
    }
    j["warnings"].push_back(std::move(wj));
  }
  return j;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// One row per object, then one per other kind of mapping. Sizes differ by
// orders of magnitude (a 4 KiB vvar, a 6 MiB program, a 1 GiB heap), so a
// row's length is on a log scale of its bytes, the same scale for every row,
// and says its size in text; within a row the mappings are to scale (an
// object's by address, gaps included; a kind's side by side). Green sealed,
// red a loader would have sealed it, grey left alone.
struct SvgRow {
  std::string label;
  std::vector<const InspectedMapping*> maps;
  Addr start = 0;
  Addr end = 0;
  bool by_address = true;
  std::uint64_t bytes = 0;
};

std::vector<SvgRow> svg_rows(const ProcessReport& r) {
  std::vector<SvgRow> rows;
  for (std::size_t i = 0; i < r.objects.size(); ++i) {
    SvgRow row;
    row.label = std::string(sealing::file_name_of(r.objects[i].path));
    // The span of its mappings (the ELF's span may reach past them: a bss
    // reserved larger than what is mapped), so the row is as long as its scale says.
    row.start = ~Addr{0};
    row.end = 0;
    for (const InspectedMapping& m : r.mappings)
      if (m.object == static_cast<int>(i)) {
        row.maps.push_back(&m);
        row.start = std::min(row.start, m.start);
        row.end = std::max(row.end, m.end);
        row.bytes += m.end - m.start;
      }
    rows.push_back(std::move(row));
  }
  std::map<std::string, SvgRow> others;
  for (const InspectedMapping& m : r.mappings) {
    if (m.object >= 0) continue;
    SvgRow& row = others[std::string(sealing::mapping_kind_name(m.kind))];
    row.label = std::string(sealing::mapping_kind_name(m.kind));
    row.by_address = false;
    row.maps.push_back(&m);
    row.bytes += m.end - m.start;
  }
  for (auto& [k, row] : others) rows.push_back(std::move(row));
  return rows;
}

std::string render_svg(const ProcessReport& r) {
  const int label_w = 260;
  const int size_w = 70;
  const int bar_w = 860;
  const int row_h = 26;
  const std::vector<SvgRow> rows = svg_rows(r);
  std::uint64_t most = 4096;
  for (const SvgRow& row : rows) most = std::max(most, row.bytes);
  // log2 of the size in pages, +1 so a single page still shows.
  const auto length_of = [&](std::uint64_t bytes) {
    const double scale = std::log2(static_cast<double>(most) / 4096.0 + 1.0);
    return std::max(4.0, bar_w * std::log2(static_cast<double>(bytes) / 4096.0 + 1.0) / scale);
  };
  const int height = 90 + static_cast<int>(rows.size()) * row_h + 20;
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
                    std::to_string(label_w + size_w + bar_w + 20) + "\" height=\"" +
                    std::to_string(height) + "\" font-family=\"monospace\" font-size=\"12\">\n";
  char b[512];
  std::snprintf(b, sizeof b,
                "<text x=\"10\" y=\"20\" font-size=\"14\">process %d (%s): %" PRIu64 " of %" PRIu64
                " mappings sealed, %s of %s</text>\n",
                static_cast<int>(r.pid), xml_escape(r.comm).c_str(), r.total.mappings_sealed,
                r.total.mappings, human_size(r.total.bytes_sealed).c_str(),
                human_size(r.total.bytes).c_str());
  out += b;
  // The legend: a swatch for each colour, and what the lengths mean.
  const std::pair<const char*, const char*> legend[] = {
      {"#2e7d32", "sealed"}, {"#c62828", "a loader would seal it"}, {"#bdbdbd", "left alone"}};
  int x = 10;
  for (const auto& [fill, text] : legend) {
    std::snprintf(b, sizeof b,
                  "<rect x=\"%d\" y=\"32\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%d\" "
                  "y=\"43\">%s</text>\n",
                  x, fill, x + 16, text);
    out += b;
    x += 16 + static_cast<int>(std::strlen(text)) * 8 + 20;
  }
  out +=
      "<text x=\"10\" y=\"64\" fill=\"#555555\">row length: log scale of the row's bytes (the same "
      "for every "
      "row); within a row, mappings to scale</text>\n";
  int y = 80;
  for (const SvgRow& row : rows) {
    out += "<text x=\"10\" y=\"" + std::to_string(y + 16) + "\">" + xml_escape(fit(row.label, 34)) +
           "</text>\n";
    out += "<text x=\"" + std::to_string(label_w + size_w - 8) + "\" y=\"" +
           std::to_string(y + 16) + "\" text-anchor=\"end\">" + human_size(row.bytes) + "</text>\n";
    const double length = length_of(row.bytes);
    const double span = row.by_address && row.end > row.start
                            ? static_cast<double>(row.end - row.start)
                            : static_cast<double>(std::max<std::uint64_t>(row.bytes, 1));
    double next = 0;  // side by side, for a kind's row
    for (const InspectedMapping* m : row.maps) {
      const double size = static_cast<double>(m->end - m->start);
      const double at = row.by_address ? static_cast<double>(m->start - row.start) : next;
      next += size;
      const double w = std::max(1.0, size / span * length);
      const char* fill = m->sealed ? "#2e7d32" : m->should_seal ? "#c62828" : "#bdbdbd";
      std::snprintf(
          b, sizeof b,
          "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\" stroke=\"#ffffff\" "
          "stroke-width=\"0.5\"><title>",
          label_w + size_w + at / span * length, y, w, fill);
      out += b;
      out += xml_escape(hex(m->start) + "-" + hex(m->end) + " " + m->perms + " " + what_of(r, *m) +
                        " " + human_size(m->end - m->start) + (m->sealed ? " sealed" : "") +
                        (m->note.empty() ? "" : ": " + std::string(m->note)));
      out += "</title></rect>\n";
    }
    y += row_h;
  }
  out += "</svg>\n";
  return out;
}

int exit_for(const kernel::ProcFailure& f) {
  switch (f.kind) {
    case kernel::ProcError::NoSuchProcess:
    case kernel::ProcError::Exited:
      return kNoProcess;
    case kernel::ProcError::PermissionDenied:
      return kPermission;
    default:
      return kIoError;
  }
}

}  // namespace

CLI::App* add_inspect(CLI::App& app, InspectOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "inspect",
      "Show every mapping of a process with its seal state, tied to its ELF object and segment\n"
      "(text, rodata, relro, data, bss, gap) or its kind (heap, stack, vdso, anonymous, shared),\n"
      "why each unsealed mapping is not sealed, coverage per object and process, and warnings.");
  cmd->footer(exit_status_footer("inspect"));
  cmd->add_option("pid", opts.target, "a process id, or 'self'");
  cmd->add_flag("--all", opts.all, "every process this user may read: one summary line each");
  cmd->add_option("--profile", opts.profile,
                  "what a sealing loader would seal: minimal, default, strict")
      ->check(CLI::IsMember({"minimal", "default", "strict"}));
  cmd->add_flag("--json", opts.json, "print the report as JSON (the same as --format json)");
  cmd->add_option("--format", opts.format,
                  "table (the default), json, or with --all openmetrics: the Prometheus text "
                  "exposition, one series "
                  "per executable, for node_exporter's textfile collector")
      ->check(CLI::IsMember({"table", "json", "openmetrics"}));
  cmd->add_option("--output", opts.output,
                  "write to this file instead of standard output, atomically (a new file renamed "
                  "over it, mode 0644; "
                  "never through a symlink)");
  cmd->add_option("--max-groups", opts.max_groups,
                  "with openmetrics: the executables that get their own series, largest first; the "
                  "rest are summed "
                  "as exe=\"(other)\" (default 50)")
      ->check(CLI::Range(1, 100000));
  cmd->add_flag("--per-pid", opts.per_pid,
                "with openmetrics: also one series per process (pid, comm and exe labels)");
  cmd->add_option("--svg", opts.svg, "also draw the address space to this SVG file");
  cmd->add_option("--width", opts.width, "table width in columns (default: the terminal's)");
  return cmd;
}

namespace {

// The mseal probe's verdict, said once on stderr; false when no mapping can
// be sealed on this machine.
bool report_mseal(const kernel::MsealProbe& probe) {
  // A filter that denies mseal in this process says nothing of the target;
  // ENOSYS does, unless a filter may be the one answering.
  if (probe.support == kernel::MsealSupport::Killed)
    std::fprintf(stderr, "vmseal inspect: %s\n", std::string(kernel::describe(probe)).c_str());
  const bool no_kernel = probe.support == kernel::MsealSupport::NoKernel;
  const bool filtered = kernel::seccomp_mode() == 2;
  if (no_kernel && !filtered)
    std::fprintf(stderr,
                 "vmseal inspect: this kernel has no mseal (%s): no mapping can be sealed and "
                 "smaps shows no "
                 "'sl' flag\n",
                 std::string(kernel::describe(probe)).c_str());
  else if (no_kernel)
    std::fprintf(stderr,
                 "vmseal inspect: mseal returned ENOSYS under a seccomp filter: the kernel may "
                 "have no mseal, "
                 "or the filter hides it; seal states are shown as the kernel reports them\n");
  return !no_kernel || filtered;
}

// Standard output, or the --output file written atomically (0644: the
// textfile collector runs as another user).
int emit(const InspectOptions& o, const std::string& text) {
  if (o.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return kOk;
  }
  if (const int err = sealing::write_file_safely(o.output.c_str(), text.data(), text.size(), 0644);
      err != 0) {
    std::fprintf(stderr, "vmseal inspect: cannot write %s: %s\n", o.output.c_str(),
                 err == EEXIST
                     ? "it exists as a symlink, not a regular file, or another user's file"
                     : std::strerror(err));
    return kIoError;
  }
  return kOk;
}

std::string summary_table(const sealing::FleetScan& scan) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%7s %-16s %9s %9s %10s %8s %s\n", "PID", "COMM", "MAPPINGS",
                "SEALED", "BYTES", "TO SEAL", "WARNINGS");
  out += line;
  for (const sealing::ProcessSummary& p : scan.processes) {
    std::snprintf(line, sizeof line,
                  "%7d %-16s %4" PRIu64 "/%-4" PRIu64 " %9s %10s %8" PRIu64 " %" PRIu64 "\n",
                  static_cast<int>(p.pid), fit(p.comm, 16).c_str(), p.total.mappings_sealed,
                  p.total.mappings, percent(p.total.bytes_sealed, p.total.bytes).c_str(),
                  human_size(p.total.bytes).c_str(), p.unsealed_sealable, p.warnings);
    out += line;
  }
  return out;
}

nlohmann::json summary_json(const sealing::ProcessSummary& p) {
  return {{"pid", p.pid},
          {"comm", p.comm},
          {"exe", p.exe},
          {"total", coverage_json(p.total)},
          {"sealable", coverage_json(p.sealable)},
          {"unsealed_that_a_loader_would_seal", p.unsealed_sealable},
          {"warnings", p.warnings},
          {"vmseal_run", p.vmseal_run}};
}

int inspect_all(const InspectOptions& o, const std::string& format, sealing::Profile profile) {
  sealing::MachineState machine;
  machine.mseal = kernel::probe_mseal_isolated();
  const bool can_seal = report_mseal(machine.mseal);
  // Progress on a terminal only: a timer's or a script's stderr stays clean.
  const bool show = isatty(STDERR_FILENO) != 0;
  const sealing::FleetScan scan =
      sealing::scan_processes(profile, [show](std::size_t done, std::size_t total) {
        if (show && (done % 16 == 0 || done == total))
          std::fprintf(stderr, "\rvmseal inspect: %zu/%zu processes%s", done, total,
                       done == total ? "\n" : "");
      });
  std::string text;
  if (format == "openmetrics") {
    machine.bypasses = kernel::read_seal_bypasses();
    text = sealing::render_exposition(scan, machine, {o.max_groups, o.per_pid, kVersion});
  } else if (format == "json") {
    nlohmann::json all = nlohmann::json::array();
    for (const sealing::ProcessSummary& p : scan.processes) all.push_back(summary_json(p));
    text = all.dump(2) + "\n";
  } else {
    text = summary_table(scan);
  }
  if (const int rc = emit(o, text); rc != kOk) return rc;
  if (scan.denied != 0 || scan.exited != 0)
    std::fprintf(
        stderr,
        "vmseal inspect: %" PRIu64 " process(es) not readable (%s), %" PRIu64
        " exited while being read\n",
        scan.denied,
        geteuid() == 0
            ? "denied even to root: another user namespace's, or a security module's refusal"
            : "permission denied; run as root to see them",
        scan.exited);
  return can_seal ? kOk : kNoMseal;
}

}  // namespace

int run_inspect(const InspectOptions& o) {
  sealing::Profile profile = sealing::Profile::Default;
  sealing::profile_from_name(o.profile, profile);
  if (o.all && !o.target.empty()) {
    std::fprintf(stderr,
                 "vmseal inspect: --all reads every process; give it or a PID (%s), not both\n",
                 o.target.c_str());
    return kUsage;
  }
  if (!o.all && o.target.empty()) {
    std::fprintf(stderr, "vmseal inspect: give a PID (or 'self'), or --all for every process\n");
    return kUsage;
  }
  const std::string format = o.json ? "json" : o.format.empty() ? "table" : o.format;
  if (o.json && !o.format.empty() && o.format != "json") {
    std::fprintf(stderr, "vmseal inspect: --json and --format %s disagree\n", o.format.c_str());
    return kUsage;
  }
  if (!o.all && (format == "openmetrics" || o.per_pid)) {
    std::fprintf(stderr, "vmseal inspect: --format openmetrics and --per-pid go with --all\n");
    return kUsage;
  }
  if (o.all) return inspect_all(o, format, profile);

  pid_t pid = 0;
  if (!kernel::parse_pid(o.target, pid)) {
    std::fprintf(stderr,
                 "vmseal inspect: '%s' is not a process id (a positive number, or 'self')\n",
                 o.target.c_str());
    return kUsage;
  }
  const bool can_seal = report_mseal(kernel::probe_mseal_isolated());
  ProcessReport report;
  kernel::ProcFailure failure;
  if (!sealing::inspect_process(pid, profile, report, &failure)) {
    std::fprintf(stderr, "vmseal inspect: %s\n", failure.message.c_str());
    return exit_for(failure);
  }
  if (report.mappings.empty()) {
    std::fprintf(stderr,
                 "vmseal inspect: process %d (%s) has no address space: a kernel thread, or a "
                 "zombie that has "
                 "exited and not yet been reaped\n",
                 static_cast<int>(pid), report.comm.c_str());
    return kNoProcess;
  }
  if (!o.svg.empty()) {
    std::ofstream svg(o.svg);
    svg << render_svg(report);
    if (!svg) {
      std::fprintf(stderr, "vmseal inspect: cannot write %s\n", o.svg.c_str());
      return kIoError;
    }
  }
  if (format == "json") {
    if (const int rc = emit(o, report_json(report).dump(2) + "\n"); rc != kOk) return rc;
  } else if (!o.output.empty()) {
    std::fprintf(stderr,
                 "vmseal inspect: --output takes --format json or openmetrics; the table is for a "
                 "terminal\n");
    return kUsage;
  } else {
    print_table(report, terminal_width(o.width));
  }
  return can_seal ? kOk : kNoMseal;
}

}  // namespace vmseal::cli
