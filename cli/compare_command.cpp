// vmseal compare: replay one trace or script under several seal policies and
// show, side by side, every call whose result or effect differs.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "input.hpp"
#include "manual.hpp"
#include "vmseal/compare/compare.hpp"
#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/engine/seal_policy.hpp"
#include "vmseal/predict/recording.hpp"
#include "vmseal/trace/line_reader.hpp"
#include "vmseal/trace/sim.hpp"

namespace vmseal::cli {
namespace {

std::string all_policy_names() {
  std::string out;
  for (const SealPolicy& p : seal_policy::all()) {
    if (!out.empty()) out += ',';
    out += p.name;
  }
  return out;
}

std::string call_name(const std::string& call) { return call.substr(0, call.find('(')); }

nlohmann::json result_json(const SysResult& r) {
  if (r.is_error()) return std::string(errno_name(r.error()));
  return r.value();
}

}  // namespace

CLI::App* add_compare(CLI::App& app, CompareOptions& opts) {
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Replay the memory-management calls of an strace log (strace -f -y) or a vmseal script\n"
      "under several seal designs and show every call whose result or effect on the layout\n"
      "differs, then a summary table. A script's kseal, kunseal and krelease say what the\n"
      "kernel does to a range it sealed itself. See docs/designs.md.");
  cmd->footer(exit_status_footer("compare"));
  cmd->add_option("input", opts.input, "trace or script to read ('-' for standard input)")
      ->required();
  cmd->add_option("--policies", opts.policies,
                  "comma-separated seal policies; the first is the baseline (default: all:\n" +
                      all_policy_names() +
                      "; rfc-v3:TYPES chooses the types a 3-argument\n"
                      "mseal asks for, e.g. rfc-v3:base+prot_pkey; kernel-seal:RELEASE how the\n"
                      "kernel releases its own sealed range: bypass (default), unseal or flag)");
  cmd->add_flag("--all", opts.all_calls, "show every call, not only those that differ");
  cmd->add_flag("-q,--quiet", opts.quiet, "print only the summary");
  cmd->add_flag("--json", opts.json, "print the calls and the summary as JSON");
  cmd->add_flag("--layouts", opts.layouts, "print each policy's final /proc/PID/maps too");
  cmd->add_flag("--privileged", opts.privileged,
                "model processes that start as root with every capability (default: a user with\n"
                "none); capset, capget and execve in the trace change them");
  cmd->add_flag("--keep-going", opts.keep_going, "report unreadable lines and continue");
  cmd->add_option("--max-map-count", opts.max_map_count,
                  "model vm.max_map_count = N (default 65530, the kernel's default), to bring\n"
                  "a script's calls to the limit without thousands of mappings")
      ->check(CLI::Range(1ULL, 2147483647ULL));
  return cmd;
}

namespace {

// --policies: a comma-separated list; false with the message printed.
bool policies_from(const std::string& spec, std::vector<SealPolicy>& out) {
  std::size_t pos = 0;
  while (pos <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', pos), spec.size());
    SealPolicy p;
    std::string error;
    if (!seal_policy::parse(spec.substr(pos, comma - pos), p, &error)) {
      std::fprintf(stderr, "vmseal compare: --policies: %s\n", error.c_str());
      return false;
    }
    out.push_back(p);
    pos = comma + 1;
  }
  return true;
}

// One compared call, as text (or gathered as JSON).
struct CallPrinter {
  const CompareOptions& opts;
  const std::vector<SealPolicy>& policies;
  std::size_t width;
  nlohmann::json calls = nlohmann::json::array();

  std::string pad(const std::string& s) const {
    return s + std::string(width > s.size() ? width - s.size() : 0, ' ');
  }
  void json(const compare::CallComparison& cc) {
    nlohmann::json j = {{"line", cc.line},
                        {"pid", cc.pid},
                        {"call", cc.call},
                        {"result_differs", cc.result_differs},
                        {"layout_differs", cc.layout_differs},
                        {"verifiable", cc.verifiable},
                        {"unfinished", cc.unfinished}};
    if (cc.has_recorded) j["trace"] = result_json(cc.recorded);
    if (!cc.note.empty()) j["note"] = cc.note;
    nlohmann::json per = nlohmann::json::object();
    for (std::size_t i = 0; i < cc.outcomes.size(); ++i) {
      const compare::PolicyOutcome& o = cc.outcomes[i];
      nlohmann::json x = {{"ran", o.ran}};
      if (o.ran) {
        x["result"] = result_json(o.result);
        x["layout"] = o.layout;
      } else {
        x["note"] = o.note;
      }
      per[policies[i].spec()] = x;
    }
    j["policies"] = per;
    calls.push_back(std::move(j));
  }
  void text(const compare::CallComparison& cc) const {
    const std::string name = call_name(cc.call);
    std::printf("\nline %zu%s: %s\n", cc.line,
                cc.pid != 0 ? (", pid " + std::to_string(cc.pid)).c_str() : "", cc.call.c_str());
    if (cc.has_recorded)
      std::printf("  %s %s%s\n", pad("trace").c_str(),
                  trace::format_sys_result(name, cc.recorded).c_str(),
                  cc.unfinished ? "  (unfinished)" : "");
    for (std::size_t i = 0; i < cc.outcomes.size(); ++i) {
      const compare::PolicyOutcome& o = cc.outcomes[i];
      if (!o.ran) {
        std::printf("  %s (%s)\n", pad(policies[i].spec()).c_str(), o.note.c_str());
        continue;
      }
      std::printf("  %s %-40s %s\n", pad(policies[i].spec()).c_str(),
                  trace::format_sys_result(name, o.result).c_str(),
                  o.layout.empty() ? "(nothing mapped there)" : o.layout.c_str());
    }
    if (!cc.verifiable)
      std::printf("  unverifiable: %s\n", cc.note.c_str());
    else if (cc.unfinished)
      std::printf("  note: %s\n", cc.note.c_str());
  }
  void operator()(const compare::CallComparison& cc) {
    if (opts.json)
      json(cc);
    else if (!opts.quiet)
      text(cc);
  }
};

nlohmann::json summary_json(const compare::CompareSummary& s,
                            const std::vector<SealPolicy>& policies) {
  nlohmann::json pols = nlohmann::json::array();
  for (std::size_t i = 0; i < s.policies.size(); ++i) {
    const compare::PolicySummary& p = s.policies[i];
    pols.push_back({{"policy", p.spec},
                    {"title", std::string(policies[i].title)},
                    {"calls", p.calls},
                    {"failed", p.failed},
                    {"refused", p.refused},
                    {"refused_errno", std::string(errno_name(policies[i].refused))},
                    {"result_differs", p.result_differs},
                    {"layout_differs", p.layout_differs},
                    {"not_run", p.not_run},
                    {"trace_mismatches", p.trace_mismatches}});
  }
  return {{"lines", s.lines},
          {"calls", s.calls},
          {"differing", s.differing},
          {"differing_unverifiable", s.differing_unverifiable},
          {"unverifiable", s.unverifiable},
          {"unfinished", s.unfinished},
          {"malformed_lines", s.malformed_lines},
          {"unmodelled", s.unmodelled},
          {"unmodelled_by_name", s.unmodelled_by_name},
          {"problems", s.problems},
          {"policies", pols}};
}

void print_summary(const compare::CompareSummary& s, const CallPrinter& printer) {
  std::printf("\n%s  %7s %7s %8s %11s %11s %8s %8s\n", printer.pad("policy").c_str(), "calls",
              "failed", "refused", "result!=base", "layout!=base", "!=trace", "not run");
  for (const compare::PolicySummary& p : s.policies)
    std::printf("%s  %7zu %7zu %8zu %11zu %11zu %8zu %8zu\n", printer.pad(p.spec).c_str(), p.calls,
                p.failed, p.refused, p.result_differs, p.layout_differs, p.trace_mismatches,
                p.not_run);
  std::printf("\n%zu memory-management calls, %zu differ between the policies", s.calls,
              s.differing);
  if (s.differing_unverifiable != 0)
    std::printf(" (%zu of them on mappings the input never made)", s.differing_unverifiable);
  std::printf(".\n");
  if (s.unverifiable != 0)
    std::printf(
        "%zu calls act on mappings the input never made: their results are the engine's "
        "guess, not a fact of the trace.\n",
        s.unverifiable);
  if (s.unfinished != 0)
    std::printf("%zu calls have no result in the input (cut short): replayed as if they ran.\n",
                s.unfinished);
  if (s.unmodelled != 0) {
    std::printf("%zu successful calls change an address space in ways the engine does not model:",
                s.unmodelled);
    for (const auto& [name, count] : s.unmodelled_by_name)
      std::printf(" %s x%zu", name.c_str(), count);
    std::printf("; the layouts after them may be wrong.\n");
  }
  if (s.malformed_lines != 0) std::printf("%zu lines could not be read.\n", s.malformed_lines);
  for (const std::string& p : s.problems) std::fprintf(stderr, "vmseal compare: %s\n", p.c_str());
}

// The final layouts (--layouts), per design and pid.
nlohmann::json layouts_json(const compare::PolicyComparison& cmp,
                            const std::vector<SealPolicy>& policies) {
  nlohmann::json layouts = nlohmann::json::object();
  for (std::size_t i = 0; i < policies.size(); ++i) {
    nlohmann::json per = nlohmann::json::object();
    for (int pid : cmp.pids())
      if (const AddressSpace* as = cmp.address_space(i, pid))
        per[std::to_string(pid)] = render_maps(*as);
    layouts[policies[i].spec()] = per;
  }
  return layouts;
}

void print_layouts(const compare::PolicyComparison& cmp, const std::vector<SealPolicy>& policies) {
  for (std::size_t i = 0; i < policies.size(); ++i)
    for (int pid : cmp.pids())
      if (const AddressSpace* as = cmp.address_space(i, pid))
        std::printf("\n# final layout of pid %d under %s (%zu mappings)\n%s", pid,
                    policies[i].spec().c_str(), as->map_count(), render_maps(*as).c_str());
}

// Every line of the input through the comparison; the lines read, or -1 on a read error.
long long feed_all(std::istream& in, compare::PolicyComparison& cmp, CallPrinter& printer,
                   bool tty) {
  const compare::PolicyComparison::Report report = [&printer](const compare::CallComparison& cc) {
    printer(cc);
  };
  trace::LineReader lines(in);
  long long n = 0;
  bool ok = true;
  while (ok && lines.next() != trace::LineReader::Result::End) {
    ok = cmp.feed(lines.line(), report);
    ++n;
    if (tty && n % 100000 == 0) std::fprintf(stderr, "\rvmseal compare: %lld lines", n);
  }
  if (tty && n >= 100000) std::fprintf(stderr, "\n");
  if (in.bad()) return -1;
  cmp.finish(report);
  return n;
}

}  // namespace

int run_compare(const CompareOptions& opts) {
  compare::CompareOptions co;
  if (!policies_from(opts.policies.empty() ? all_policy_names() : opts.policies, co.policies))
    return kUsage;
  co.config.set_privileged(opts.privileged);
  if (opts.max_map_count != 0) co.config.max_map_count = opts.max_map_count;
  co.all_calls = opts.all_calls;
  co.stop_on_bad_line = !opts.keep_going;
  InputFile input;
  if (!input.open(opts.input, "compare")) return kIoError;
  // A trace kept by `vmseal predict --record FILE`: FILE.json holds the
  // layout snapshots of its seal points (trace/recording.hpp).
  predict::Recording recording;
  std::string error;
  if (opts.input != "-" && !predict::read_sidecar(opts.input, recording, &error)) {
    std::fprintf(stderr, "vmseal compare: %s\n", error.c_str());
    return kBadInput;
  }
  co.snapshots = [&recording](const std::string& name) { return recording.snapshot(name); };
  std::size_t width = 6;
  for (const SealPolicy& p : co.policies) width = std::max(width, p.spec().size());
  CallPrinter printer{opts, co.policies, width};
  compare::PolicyComparison cmp(co);
  const long long n =
      feed_all(input.stream(), cmp, printer, isatty(STDERR_FILENO) != 0 && !opts.json);
  if (n < 0) {
    std::fprintf(stderr, "vmseal compare: error reading %s\n", opts.input.c_str());
    return kIoError;
  }
  if (n == 0) {
    std::fprintf(stderr, "vmseal compare: %s is empty: no trace or script to read\n",
                 opts.input.c_str());
    return kBadInput;
  }
  const compare::CompareSummary& s = cmp.summary();
  if (opts.json) {
    nlohmann::json out{
        {"input", opts.input}, {"calls", printer.calls}, {"summary", summary_json(s, co.policies)}};
    if (opts.layouts) out["layouts"] = layouts_json(cmp, co.policies);
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    if (opts.layouts) print_layouts(cmp, co.policies);
    print_summary(s, printer);
  }
  if (s.malformed_lines != 0) return kBadInput;
  return s.differing != 0 ? kMismatch : kOk;
}

}  // namespace vmseal::cli
