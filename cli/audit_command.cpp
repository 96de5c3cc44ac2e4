// vmseal audit PATH...: a static look at ELF files, and what a sealing loader
// would do with them. One file: every detail. Several, or a directory: one
// line a file and a summary, the way checksec audits a system. The work is
// the library's (vmseal/sealing/audit.hpp); this file renders it.
#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.hpp"
#include "manual.hpp"
#include "vmseal/sealing/audit.hpp"
#include "vmseal/sealing/plan.hpp"

namespace vmseal::cli {
namespace {

std::string flags_text(const sealing::LoadSegment& l) {
  std::string f;
  f += l.r ? 'R' : ' ';
  f += l.w ? 'W' : ' ';
  f += l.x ? 'E' : ' ';
  if (l.openbsd_mutable_flag) f += " MUTABLE";
  return f;
}

const char* type_name(std::uint16_t t) {
  switch (t) {
    case ET_EXEC:
      return "executable (ET_EXEC, not position-independent)";
    case ET_DYN:
      return "shared object or PIE (ET_DYN)";
    case ET_REL:
      return "relocatable object (ET_REL): not loadable";
    case ET_CORE:
      return "core file";
    default:
      return "unknown type";
  }
}

// A file's findings as JSON objects.
nlohmann::json findings_json(const sealing::AuditReport& r) {
  nlohmann::json out = nlohmann::json::array();
  for (const sealing::AuditFinding& f : r.findings)
    out.push_back(
        {{"severity", f.severity == sealing::AuditFinding::Severity::Warning ? "warning" : "note"},
         {"code", f.code},
         {"text", f.text}});
  return out;
}

nlohmann::json detail_json(const sealing::AuditReport& r, sealing::Profile profile) {
  const sealing::ElfImage& img = r.image;
  nlohmann::json j;
  j["path"] = r.path;
  j["type"] = img.type;
  j["interp"] = img.interp ? nlohmann::json(*img.interp) : nlohmann::json(nullptr);
  j["soname"] = img.soname;
  j["relro_level"] = sealing::relro_level(img);
  j["bind_now"] = img.bind_now;
  j["textrel"] = img.textrel;
  j["nodelete"] = img.nodelete;
  j["memory_seal_property"] = img.memory_seal;
  j["wx_segment"] = img.has_wx_segment();
  j["stack_executable"] =
      img.stack_executable ? nlohmann::json(*img.stack_executable) : nlohmann::json(nullptr);
  if (img.relro) j["relro"] = {{"start", img.relro->start}, {"end", img.relro->end}};
  for (const auto& l : img.loads)
    j["loads"].push_back({{"offset", l.offset},
                          {"vaddr", l.vaddr},
                          {"filesz", l.filesz},
                          {"memsz", l.memsz},
                          {"flags", flags_text(l)}});
  j["mutable_ranges"] = nlohmann::json::array();
  for (const auto& m : img.mutable_ranges)
    j["mutable_ranges"].push_back(
        {{"start", m.range.start},
         {"end", m.range.end},
         {"type", m.type == sealing::kPtGnuMutable ? "PT_GNU_MUTABLE" : "PT_OPENBSD_MUTABLE"}});
  j["profile"] = sealing::profile_name(profile);
  for (const auto& p : r.plan) {
    nlohmann::json pj{{"start", p.start},
                      {"end", p.end},
                      {"kind", sealing::segment_kind_name(p.kind)},
                      {"seal", p.seal}};
    if (!p.seal) pj["why_not"] = p.why_not;
    j["plan"].push_back(std::move(pj));
  }
  j["findings"] = findings_json(r);
  j["warnings"] = r.warnings();
  return j;
}

void print_detail(const sealing::AuditReport& r, sealing::Profile profile) {
  const sealing::ElfImage& img = r.image;
  std::printf("%s: %s, %s\n", r.path.c_str(), img.is_64 ? "64-bit" : "32-bit", type_name(img.type));
  if (img.interp) std::printf("interpreter  %s\n", img.interp->c_str());
  if (!img.soname.empty()) std::printf("soname       %s\n", img.soname.c_str());
  std::printf("RELRO        %s\n", std::string(sealing::relro_level(img)).c_str());
  std::printf("BIND_NOW     %s   TEXTREL %s   NODELETE %s   memory-seal property %s\n",
              img.bind_now ? "yes" : "no", img.textrel ? "yes" : "no", img.nodelete ? "yes" : "no",
              img.memory_seal ? "yes" : "no");
  std::printf("\nloadable segments:\n  %-10s %-18s %-10s %-10s %s\n", "OFFSET", "VADDR", "FILESZ",
              "MEMSZ", "FLAGS");
  for (const auto& l : img.loads)
    std::printf("  0x%-8" PRIx64 " 0x%-16" PRIx64 " 0x%-8" PRIx64 " 0x%-8" PRIx64 " %s\n", l.offset,
                l.vaddr, l.filesz, l.memsz, flags_text(l).c_str());
  if (img.relro)
    std::printf("  PT_GNU_RELRO       0x%" PRIx64 "-0x%" PRIx64 "\n", img.relro->start,
                img.relro->end);
  for (const auto& m : img.mutable_ranges)
    std::printf("  %-18s 0x%" PRIx64 "-0x%" PRIx64 "\n",
                m.type == sealing::kPtGnuMutable ? "PT_GNU_MUTABLE" : "PT_OPENBSD_MUTABLE",
                m.range.start, m.range.end);
  std::printf(
      "\nwhat a sealing loader does (profile %s; addresses before the "
      "load bias):\n",
      std::string(sealing::profile_name(profile)).c_str());
  for (const auto& p : r.plan)
    std::printf("  0x%-8" PRIx64 "-0x%-8" PRIx64 " %-8s %s\n", p.start, p.end,
                std::string(sealing::segment_kind_name(p.kind)).c_str(),
                p.seal ? "sealed" : ("left mutable: " + std::string(p.why_not)).c_str());
  std::printf("\nwarnings: %zu\n", r.warnings());
  for (const sealing::AuditFinding& f : r.findings)
    std::printf("  %-7s %s\n",
                f.severity == sealing::AuditFinding::Severity::Warning ? "warning" : "note",
                f.text.c_str());
}

const char* kind_of(const sealing::ElfImage& img) {
  if (img.type == ET_EXEC) return "exec";
  if (img.type != ET_DYN) return "other";
  return img.interp ? "pie" : "shared";
}

struct Totals {
  std::uint64_t files = 0, full = 0, partial = 0, none = 0, wx = 0, exec_stack = 0, textrel = 0,
                marked = 0, with_warnings = 0, warnings = 0;
  void add(const sealing::AuditReport& r) {
    const sealing::ElfImage& img = r.image;
    ++files;
    const std::string_view level = sealing::relro_level(img);
    (level == "full" ? full : level == "partial" ? partial : none) += 1;
    wx += img.has_wx_segment() ? 1 : 0;
    exec_stack += img.stack_executable.value_or(true) ? 1 : 0;
    textrel += img.textrel ? 1 : 0;
    marked += img.memory_seal ? 1 : 0;
    with_warnings += r.warnings() != 0 ? 1 : 0;
    warnings += r.warnings();
  }
};

void print_tree(const sealing::TreeAudit& t, const Totals& n) {
  std::printf("%-7s %-7s %-9s %-4s %-6s %-5s %-8s %s\n", "TYPE", "RELRO", "BIND_NOW", "W+X",
              "STACK", "SEAL", "WARNINGS", "FILE");
  for (const sealing::AuditReport& r : t.reports) {
    const sealing::ElfImage& img = r.image;
    std::printf("%-7s %-7s %-9s %-4s %-6s %-5s %-8zu %s\n", kind_of(img),
                std::string(sealing::relro_level(img)).c_str(), img.bind_now ? "yes" : "no",
                img.has_wx_segment() ? "yes" : "-",
                !img.stack_executable   ? "none"
                : *img.stack_executable ? "exec"
                                        : "nx",
                img.memory_seal ? "yes" : "-", r.warnings(), r.path.c_str());
  }
  std::printf("\n%" PRIu64 " ELF files: RELRO full %" PRIu64 ", partial %" PRIu64 ", none %" PRIu64
              "; W+X %" PRIu64 "; executable or unmarked stack %" PRIu64
              "; text relocations %" PRIu64 "; memory-seal marked %" PRIu64 "\n",
              n.files, n.full, n.partial, n.none, n.wx, n.exec_stack, n.textrel, n.marked);
  std::printf("%" PRIu64 " warning(s) in %" PRIu64 " file(s); %" PRIu64
              " file(s) not loadable ELF, %" PRIu64
              " skipped (symlinks, devices, FIFOs, sockets), %zu unreadable%s\n",
              n.warnings, n.with_warnings, t.not_elf, t.skipped, t.errors.size(),
              t.truncated ? "; the walk stopped at a limit (--max-files, --max-depth)" : "");
}

nlohmann::json tree_json(const sealing::TreeAudit& t, const Totals& n) {
  nlohmann::json j;
  j["files"] = nlohmann::json::array();
  for (const sealing::AuditReport& r : t.reports) {
    const sealing::ElfImage& img = r.image;
    j["files"].push_back(
        {{"path", r.path},
         {"kind", kind_of(img)},
         {"relro_level", sealing::relro_level(img)},
         {"bind_now", img.bind_now},
         {"textrel", img.textrel},
         {"wx_segment", img.has_wx_segment()},
         {"stack_executable",
          img.stack_executable ? nlohmann::json(*img.stack_executable) : nlohmann::json(nullptr)},
         {"memory_seal_property", img.memory_seal},
         {"warnings", r.warnings()},
         {"findings", findings_json(r)}});
  }
  j["summary"] = {{"elf_files", n.files},
                  {"relro_full", n.full},
                  {"relro_partial", n.partial},
                  {"relro_none", n.none},
                  {"wx_segment", n.wx},
                  {"stack_executable_or_unmarked", n.exec_stack},
                  {"textrel", n.textrel},
                  {"memory_seal_marked", n.marked},
                  {"warnings", n.warnings},
                  {"files_with_warnings", n.with_warnings},
                  {"not_elf", t.not_elf},
                  {"skipped", t.skipped},
                  {"unreadable", t.errors.size()},
                  {"truncated", t.truncated}};
  j["errors"] = t.errors;
  return j;
}

// One path that is a file: every detail, as before directories were taken.
int audit_one(const AuditOptions& o, sealing::Profile profile) {
  sealing::AuditReport report;
  std::string error;
  sealing::AuditError kind = sealing::AuditError::None;
  if (!sealing::audit_file(o.paths[0], profile, report, &error, &kind)) {
    std::fprintf(stderr, "vmseal audit: %s\n", error.c_str());
    return kind == sealing::AuditError::Io ? kIoError : kBadInput;
  }
  // How `vmseal run` would seal it, here and for this user (one file only:
  // it reads the file again, as run would).
  const sealing::RunMethod method = sealing::run_method_for(o.paths[0], report.image);
  if (o.json) {
    nlohmann::json j = detail_json(report, profile);
    j["run_method"] = {{"method", method.method}, {"why", method.why}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    print_detail(report, profile);
    std::printf("\nvmseal run    %s: %s\n", method.method.c_str(), method.why.c_str());
  }
  return o.fail_on_warning && report.warnings() != 0 ? kMismatch : kOk;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

CLI::App* add_audit(CLI::App& app, AuditOptions& opts) {
  CLI::App* cmd =
      app.add_subcommand("audit",
                         "A static look at ELF files: segments, RELRO, BIND_NOW, text "
                         "relocations, W+X segments,\n"
                         "the stack, the GNU_PROPERTY_MEMORY_SEAL marker, PT_GNU_MUTABLE "
                         "/ PT_OPENBSD_MUTABLE escape\n"
                         "hatches, and what a sealing loader would seal. One file: every "
                         "detail; several, or a\n"
                         "directory (walked without following symlinks): one line a file "
                         "and a summary.");
  cmd->footer(exit_status_footer("audit"));
  cmd->add_option("path", opts.paths, "ELF files and directories")->required();
  cmd->add_option("--profile", opts.profile, "what the loader seals: minimal, default, strict")
      ->check(CLI::IsMember({"minimal", "default", "strict"}));
  cmd->add_flag("--json", opts.json, "print the findings as JSON");
  cmd->add_flag("--fail-on-warning", opts.fail_on_warning,
                "exit 1 when a file has a warning (for CI)");
  cmd->add_option("--max-files", opts.max_files,
                  "stop walking after this many files (default 1000000)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000'000}));
  cmd->add_option("--max-depth", opts.max_depth,
                  "directories to descend below each path (default 64)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{4096}));
  return cmd;
}

int run_audit(const AuditOptions& o) {
  sealing::Profile profile = sealing::Profile::Default;
  sealing::profile_from_name(o.profile, profile);
  if (o.paths.size() == 1 && !is_directory(o.paths[0])) return audit_one(o, profile);
  const bool show = isatty(STDERR_FILENO) != 0;
  const sealing::TreeAudit tree =
      sealing::audit_tree(o.paths, profile, {o.max_files, o.max_depth}, [show](std::uint64_t seen) {
        if (show) std::fprintf(stderr, "\rvmseal audit: %" PRIu64 " files", seen);
      });
  if (show) std::fprintf(stderr, "\r\033[K");
  Totals totals;
  for (const sealing::AuditReport& r : tree.reports) totals.add(r);
  if (o.json)
    std::printf("%s\n", tree_json(tree, totals).dump(2).c_str());
  else
    print_tree(tree, totals);
  for (const std::string& e : tree.errors) std::fprintf(stderr, "vmseal audit: %s\n", e.c_str());
  if (!tree.errors.empty()) return kIoError;
  return o.fail_on_warning && totals.warnings != 0 ? kMismatch : kOk;
}

}  // namespace vmseal::cli
