#include "vmseal/sealing/fleet.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <utility>

#include "vmseal/sealing/record.hpp"

namespace vmseal::sealing {

bool inspect_process(pid_t pid, Profile profile, ProcessReport& out, kernel::ProcFailure* failure) {
  kernel::ProcessInfo info;
  if (!kernel::read_process_info(pid, info, failure)) return false;
  std::vector<kernel::SmapsEntry> entries;
  if (!info.kernel_thread && !kernel::read_process_smaps(pid, entries, failure)) return false;
  // The process's own record, when `vmseal run` started it (record.hpp).
  SealRecord record;
  std::string record_error;
  const int has_record = info.kernel_thread ? 0 : read_process_record(pid, record, &record_error);
  out = inspect_entries(std::move(entries), live_elf_opener(pid), profile, info.exe,
                        has_record == 1 ? &record : nullptr);
  if (has_record == 0)
    out.record_note =
        "not started by vmseal run (no record): the verdicts are "
        "what a sealing loader would do; whether an "
        "object was opened by dlopen, and so may be unloaded, "
        "cannot be known from outside";
  else if (has_record < 0)
    out.record_note = record_error + "; the verdicts are what a sealing loader would do";
  out.pid = pid;
  out.comm = info.comm;
  return true;
}

ProcessSummary summarize(const ProcessReport& r) {
  ProcessSummary s;
  s.pid = r.pid;
  s.comm = r.comm;
  s.exe = r.exe;
  s.total = r.total;
  for (const InspectedMapping& m : r.mappings)
    if (m.should_seal || m.sealed) s.sealable.add(m.end - m.start, m.sealed);
  for (const ObjectReport& o : r.objects) s.unsealed_sealable += o.should_seal_unsealed;
  s.warnings = r.warnings.size();
  s.vmseal_run = r.record.has_value();
  return s;
}

FleetScan scan_processes(Profile profile,
                         const std::function<void(std::size_t, std::size_t)>& progress) {
  const auto start = std::chrono::steady_clock::now();
  FleetScan scan;
  const std::vector<pid_t> pids = kernel::list_pids();
  for (std::size_t i = 0; i < pids.size(); ++i) {
    if (pids[i] == getpid()) continue;  // the scanner itself is not part of the fleet
    ProcessReport report;
    kernel::ProcFailure failure;
    if (!inspect_process(pids[i], profile, report, &failure)) {
      if (failure.kind == kernel::ProcError::PermissionDenied)
        ++scan.denied;
      else
        ++scan.exited;
    } else if (!report.mappings.empty()) {  // kernel threads have none
      scan.processes.push_back(summarize(report));
    }
    if (progress) progress(i + 1, pids.size());
  }
  scan.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  scan.finished_at = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  return scan;
}

namespace {

// The length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const std::size_t left = s.size() - i;
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  auto cont = [&](std::size_t k) { return k < left && (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

std::string label_value(std::string_view raw) {
  // First valid UTF-8 of bounded length, then the escapes (which never
  // split a character: they replace ASCII bytes only).
  std::string text;
  text.reserve(std::min(raw.size(), kMaxLabelBytes) + 4);
  for (std::size_t i = 0; i < raw.size();) {
    const std::size_t n = utf8_sequence(raw, i);
    const std::string_view piece =
        n != 0 ? raw.substr(i, n) : std::string_view("\xEF\xBF\xBD");  // U+FFFD
    if (text.size() + piece.size() > kMaxLabelBytes) {
      text += "...";
      break;
    }
    text += piece;
    i += n != 0 ? n : 1;
  }
  std::string out;
  out.reserve(text.size() + 8);
  for (const char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

void add_coverage(Coverage& into, const Coverage& from) {
  into.bytes += from.bytes;
  into.bytes_sealed += from.bytes_sealed;
  into.mappings += from.mappings;
  into.mappings_sealed += from.mappings_sealed;
}

struct Group {
  std::uint64_t processes = 0;
  std::uint64_t vmseal_run = 0;
  Coverage total;
  Coverage sealable;
  std::uint64_t unsealed_sealable = 0;
  std::uint64_t warnings = 0;
  void add(const ProcessSummary& p) {
    processes += 1;
    vmseal_run += p.vmseal_run ? 1 : 0;
    add_coverage(total, p.total);
    add_coverage(sealable, p.sealable);
    unsealed_sealable += p.unsealed_sealable;
    warnings += p.warnings;
  }
  void merge(const Group& g) {
    processes += g.processes;
    vmseal_run += g.vmseal_run;
    add_coverage(total, g.total);
    add_coverage(sealable, g.sealable);
    unsealed_sealable += g.unsealed_sealable;
    warnings += g.warnings;
  }
};

// Executables by their escaped label, the largest `max` by mapped bytes kept
// (ties by name, so the choice is stable from one scan to the next) and the
// rest summed into "(other)". An executable's path from /proc/PID/exe always
// starts with '/', so no real one is named "(other)" or "(unknown)".
std::vector<std::pair<std::string, Group>> group_by_executable(const FleetScan& scan,
                                                               std::size_t max) {
  std::map<std::string, Group> by_label;
  for (const ProcessSummary& p : scan.processes)
    by_label[label_value(p.exe.empty() ? "(unknown)" : p.exe)].add(p);
  std::vector<std::pair<std::string, Group>> groups(by_label.begin(), by_label.end());
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    return a.second.total.bytes > b.second.total.bytes;
  });
  if (groups.size() <= max) return groups;
  Group other;
  for (std::size_t i = max; i < groups.size(); ++i) other.merge(groups[i].second);
  groups.resize(max);
  groups.emplace_back("(other)", other);
  return groups;
}

class Writer {
 public:
  void family(std::string_view name, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += " gauge\n";
  }
  // `labels` already escaped: name="value",...
  void sample(std::string_view name, std::string_view labels, double value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    char num[40];
    std::snprintf(num, sizeof num, " %.17g\n", value);
    out_ += num;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

void render_machine(Writer& w, const MachineState& m, const ExpositionOptions& o) {
  w.family("vmseal_version", "The vmseal that wrote these metrics (always 1).");
  w.sample("vmseal_version", "version=\"" + label_value(o.version) + "\"", 1);
  w.family("vmseal_mseal_available",
           "Whether mseal(2) works on this kernel and is not denied or faked "
           "(1) or not (0).");
  w.sample("vmseal_mseal_available", "",
           m.mseal.support == kernel::MsealSupport::Available ? 1 : 0);
  w.family("vmseal_proc_mem_force_override",
           "proc_mem.force_override: 1 for the mode in force; 'always' lets "
           "any writer of /proc/PID/mem ignore seals.");
  for (const char* mode : {"always", "ptrace", "never", "unknown"})
    w.sample("vmseal_proc_mem_force_override", std::string("mode=\"") + mode + "\"",
             m.bypasses.proc_mem_force == mode ? 1 : 0);
  w.family("vmseal_yama_ptrace_scope", "kernel.yama.ptrace_scope, or -1 when Yama is not active.");
  w.sample("vmseal_yama_ptrace_scope", "", m.bypasses.ptrace_scope);
  w.family("vmseal_mseal_system_mappings",
           "CONFIG_MSEAL_SYSTEM_MAPPINGS: 1 the kernel seals "
           "vdso/vvar/vsyscall itself, 0 not, -1 unknown.");
  w.sample("vmseal_mseal_system_mappings", "",
           m.bypasses.mseal_system_mappings == "y"   ? 1
           : m.bypasses.mseal_system_mappings == "n" ? 0
                                                     : -1);
  w.family("vmseal_seal_bypasses",
           "Settings found on this machine that let a "
           "process around a seal (vmseal check).");
  w.sample("vmseal_seal_bypasses", "", static_cast<double>(m.bypasses.findings.size()));
}

void render_scan(Writer& w, const FleetScan& scan) {
  w.family("vmseal_scan_processes",
           "Processes the scan inspected (state=read), could not read, or saw "
           "exit.");
  w.sample("vmseal_scan_processes", "state=\"read\"", static_cast<double>(scan.processes.size()));
  w.sample("vmseal_scan_processes", "state=\"denied\"", static_cast<double>(scan.denied));
  w.sample("vmseal_scan_processes", "state=\"exited\"", static_cast<double>(scan.exited));
  w.family("vmseal_scan_duration_seconds", "How long the scan took.");
  w.sample("vmseal_scan_duration_seconds", "", scan.seconds);
  w.family("vmseal_scan_timestamp_seconds",
           "When the scan finished (Unix time): alert when it gets old.");
  w.sample("vmseal_scan_timestamp_seconds", "", static_cast<double>(scan.finished_at));
}

// The per-executable families, each a field of Group.
struct GroupFamily {
  const char* name;
  const char* help;
  double (*value)(const Group&);
};
constexpr GroupFamily kGroupFamilies[] = {
    {"vmseal_processes", "Processes of this executable.",
     [](const Group& g) { return double(g.processes); }},
    {"vmseal_processes_vmseal_run", "Of those, started by vmseal run (their record was read).",
     [](const Group& g) { return double(g.vmseal_run); }},
    {"vmseal_mapped_bytes", "Bytes mapped by these processes.",
     [](const Group& g) { return double(g.total.bytes); }},
    {"vmseal_sealed_bytes", "Of those, sealed.",
     [](const Group& g) { return double(g.total.bytes_sealed); }},
    {"vmseal_sealable_bytes", "Bytes a sealing loader would seal (sealed or not).",
     [](const Group& g) { return double(g.sealable.bytes); }},
    {"vmseal_mappings", "Mappings of these processes.",
     [](const Group& g) { return double(g.total.mappings); }},
    {"vmseal_sealed_mappings", "Of those, sealed.",
     [](const Group& g) { return double(g.total.mappings_sealed); }},
    {"vmseal_sealable_mappings", "Mappings a sealing loader would seal (sealed or not).",
     [](const Group& g) { return double(g.sealable.mappings); }},
    {"vmseal_unsealed_sealable_mappings",
     "Mappings a sealing loader would seal that are not sealed: the gaps.",
     [](const Group& g) { return double(g.unsealed_sealable); }},
    {"vmseal_warnings", "Warnings vmseal inspect gives for these processes.",
     [](const Group& g) { return double(g.warnings); }},
};

void render_per_pid(Writer& w, const FleetScan& scan) {
  w.family("vmseal_process_sealed_bytes", "Per process (--per-pid): bytes sealed.");
  std::string labels;
  auto labels_of = [&labels](const ProcessSummary& p) -> const std::string& {
    labels = "pid=\"" + std::to_string(p.pid) + "\",comm=\"" + label_value(p.comm) + "\",exe=\"" +
             label_value(p.exe) + "\"";
    return labels;
  };
  for (const ProcessSummary& p : scan.processes)
    w.sample("vmseal_process_sealed_bytes", labels_of(p), double(p.total.bytes_sealed));
  w.family("vmseal_process_mapped_bytes", "Per process (--per-pid): bytes mapped.");
  for (const ProcessSummary& p : scan.processes)
    w.sample("vmseal_process_mapped_bytes", labels_of(p), double(p.total.bytes));
  w.family("vmseal_process_unsealed_sealable_mappings",
           "Per process (--per-pid): mappings a loader would seal, unsealed.");
  for (const ProcessSummary& p : scan.processes)
    w.sample("vmseal_process_unsealed_sealable_mappings", labels_of(p),
             double(p.unsealed_sealable));
}

}  // namespace

std::string render_exposition(const FleetScan& scan, const MachineState& machine,
                              const ExpositionOptions& options) {
  Writer w;
  render_machine(w, machine, options);
  render_scan(w, scan);
  const auto groups = group_by_executable(scan, std::max<std::size_t>(options.max_groups, 1));
  for (const GroupFamily& f : kGroupFamilies) {
    w.family(f.name, f.help);
    for (const auto& [label, g] : groups) w.sample(f.name, "exe=\"" + label + "\"", f.value(g));
  }
  if (options.per_pid) render_per_pid(w, scan);
  std::string out = w.take();
  out += "# EOF\n";
  return out;
}

}  // namespace vmseal::sealing
