#include "vmseal/compare/compare.hpp"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <utility>

#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/kernel/smaps_import.hpp"
#include "vmseal/script/script.hpp"
#include "vmseal/trace/line_reader.hpp"
#include "vmseal/trace/memory_call.hpp"
#include "vmseal/trace/seal_point.hpp"
#include "vmseal/trace/sim.hpp"

namespace vmseal::compare {
namespace {

using namespace vmseal::trace;  // the trace layer's events, records and markers

constexpr std::size_t kMaxProblems = 20;

// ---- layouts -------------------------------------------------------------------------

std::vector<std::pair<Addr, Addr>> merged(std::vector<std::pair<Addr, Addr>> r) {
  std::sort(r.begin(), r.end());
  std::vector<std::pair<Addr, Addr>> out;
  for (const auto& x : r) {
    if (!out.empty() && x.first <= out.back().second)
      out.back().second = std::max(out.back().second, x.second);
    else
      out.push_back(x);
  }
  return out;
}

std::string render_vma(const Vma& v, bool with_types) {
  constexpr VmFlags kImplied = vm::READ | vm::WRITE | vm::EXEC | vm::SHARED | vm::MAYREAD |
                               vm::MAYWRITE | vm::MAYEXEC | vm::MAYSHARE;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%" PRIx64 "-%" PRIx64 " %c%c%c%c", v.start, v.end,
                (v.flags & vm::READ) != 0 ? 'r' : '-', (v.flags & vm::WRITE) != 0 ? 'w' : '-',
                (v.flags & vm::EXEC) != 0 ? 'x' : '-', (v.flags & vm::MAYSHARE) != 0 ? 's' : 'p');
  std::string out = buf;
  std::string flags = smaps_vmflags(v.flags & ~kImplied);
  if (!flags.empty()) {
    flags.pop_back();
    out += ' ';
    out += flags;
  }
  // The typed-seal RFC's types beyond MM_SEAL_BASE have no smaps mnemonic.
  if (with_types && (v.flags & (vm::SEAL_PROT_PKEY | vm::SEAL_SEAL)) != 0)
    out += " types=" + seal_types_name(seal_types_of_flags(v.flags));
  // Nor has kernel-seal:flag's flag that lets unmapping through.
  if (with_types && (v.flags & vm::SEALED_UNMAPPABLE) != 0) out += " unmappable";
  return out;
}

// The VMAs overlapping `ranges`. Without types, a typed policy's seal types
// beyond MM_SEAL_BASE (and kernel-seal:flag's bit) are left out: how a design
// records a seal is not a difference in what the call did.
std::string render_ranges(const AddressSpace* as, const std::vector<std::pair<Addr, Addr>>& ranges,
                          bool with_types) {
  if (as == nullptr) return "(no address space)";
  std::string out;
  const Vma* last = nullptr;
  for (const auto& [s, e] : ranges) {
    for (const Vma* v = as->vmas().lower(s); v != nullptr && v->start < e;
         v = as->vmas().next_of(*v)) {
      if (last != nullptr && v->start < last->end) continue;  // already printed
      if (!out.empty()) out += "  ";
      out += render_vma(*v, with_types);
      last = v;
    }
  }
  return out;
}

// ---- system calls the engine does not model ---------------------------------------------

bool args_mention(const TraceCall& c, std::string_view word) {
  return std::any_of(c.args.begin(), c.args.end(),
                     [&](const std::string& a) { return a.find(word) != std::string::npos; });
}

// A successful call that changes an address space in a way the engine does
// not follow; "" otherwise.
std::string unmodelled(const TraceCall& c) {
  if (c.outcome != Outcome::Value) return "";
  static const char* const kAlways[] = {"remap_file_pages", "mbind",      "set_mempolicy_home_node",
                                        "io_setup",         "io_destroy", "process_madvise",
                                        "migrate_pages",    "move_pages", "pkey_alloc",
                                        "pkey_free",        "mmap2"};
  for (const char* n : kAlways)
    if (c.name == n) return c.name;
  // userfaultfd(2) and UFFDIO_(UN)REGISTER are modelled (docs/kernel-rules.md 6f);
  // UFFDIO_MOVE, _COPY and the other page-level ioctls change no VMA.
  if (c.name == "prctl" && args_mention(c, "PR_SET_VMA")) return "prctl(PR_SET_VMA)";
  if (c.name == "arch_prctl" && args_mention(c, "ARCH_MAP_VDSO"))
    return "arch_prctl(ARCH_MAP_VDSO_*)";
  if (c.name == "shmctl" && args_mention(c, "IPC_RMID")) return "";  // no layout change
  return "";
}

}  // namespace

// ---- the comparison ------------------------------------------------------------------------

struct PolicyComparison::Impl {
  struct Run {
    std::unique_ptr<Simulator> sim;
    script::Bindings vars;
    std::map<std::string, std::string> unbound_why;  // a name a failed call left unbound: why
  };
  // One call's records, one per design (nullopt: not run under it), and why not.
  struct Records {
    std::vector<std::optional<SimRecord>> recs;
    std::vector<std::string> not_run;
    bool unfinished = false;  // the trace has no end for the call
    std::string note;
    explicit Records(std::size_t n) : recs(n), not_run(n) {}
  };

  CompareOptions options;
  std::vector<Run> runs;
  StraceParser parser;
  CompareSummary summary;
  bool stopped = false;
  SealPointAssembler assembler;
  bool script_seen = false;

  explicit Impl(CompareOptions o) : options(std::move(o)) {
    for (const SealPolicy& p : options.policies) {
      SimOptions so;
      so.check = options.follow_recorded;
      so.config = options.config;
      so.config.seal = p;
      so.max_live_processes =
          std::max<std::size_t>(so.max_live_processes / options.policies.size(), 1024);
      Run r;
      r.sim = std::make_unique<Simulator>(so);
      runs.push_back(std::move(r));
      PolicySummary ps;
      ps.spec = p.spec();
      summary.policies.push_back(ps);
    }
  }

  void problem(std::string text) {
    if (summary.problems.size() < kMaxProblems) summary.problems.push_back(std::move(text));
  }

  void bad_line(std::size_t line, const std::string& message) {
    ++summary.malformed_lines;
    problem("line " + std::to_string(line) + ": " + message);
    if (options.stop_on_bad_line) stopped = true;
  }

  // ---- the input: trace lines, seal points, script lines ----

  void drain(const Report& report) {
    while (!stopped) {
      auto item = parser.next();
      if (!item) break;
      if (const auto* err = std::get_if<ParseError>(&*item)) {
        bad_line(err->line, err->message + ": " + err->shown_text());
        continue;
      }
      const TraceEvent& ev = std::get<TraceEvent>(*item);
      if (!marker(ev, report)) traced(ev, report);
    }
  }

  // A trace line: the same event for every design.
  void traced(const TraceEvent& ev, const Report& report) {
    Records r(runs.size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      std::string error;
      r.recs[i] = runs[i].sim->apply(ev, &error);
      if (!error.empty()) return bad_line(ev.line, error);
    }
    if (ev.kind == EventKind::Call) {
      if (std::string u = unmodelled(ev.call); !u.empty()) {
        ++summary.unmodelled;
        ++summary.unmodelled_by_name[u];
        problem("line " + std::to_string(ev.line) + ": " + u +
                " changes the address space and is not modelled");
      }
      r.unfinished = ev.call.outcome == Outcome::Unfinished;
    }
    if (r.recs.front()) judge(r, nullptr, report);  // else not a memory call
  }

  // A "vmseal-predict" marker (a write to fd -1): true when `ev` is one.
  bool marker(const TraceEvent& ev, const Report& report) {
    if (!is_seal_point_marker(ev)) return false;
    SealPointMarker m;
    std::string err;
    if (!read_seal_point_marker(ev, m, &err)) {
      bad_line(ev.line, err);
      return true;
    }
    std::string problem;
    const SealPointAssembler::Step step = assembler.feed(ev.pid, ev.line, m, &problem);
    if (!problem.empty()) bad_line(ev.line, problem);
    if (step == SealPointAssembler::Step::Begun) {
      ++summary.seal_points;
      adopt_seal_point_layout(ev, m.snapshot);
    } else if (step == SealPointAssembler::Step::Completed) {
      apply_seal_point(ev, assembler.take(ev.pid), report);
    }
    return true;
  }

  // A process adopts the layout of its first seal point only: at a later one
  // (a dlopen) its mm already holds the seals made since, which a snapshot of
  // the unsealed (dry) run cannot show.
  void adopt_seal_point_layout(const TraceEvent& ev, const std::string& snapshot) {
    if (runs.front().sim->layout_adopted(ev.pid)) return;
    std::optional<std::string> text;
    if (snapshot != "-" && options.snapshots) text = options.snapshots(snapshot);
    if (!text) {
      ++summary.seal_points_without_layout;
      problem("line " + std::to_string(ev.line) + ": no layout snapshot " +
              snapshot.substr(0, 100) +
              " for this seal point: calls on mappings the trace did not make stay unverifiable");
      return;
    }
    for (std::size_t i = 0; i < runs.size(); ++i) {
      Config cfg = options.config;
      cfg.seal = options.policies[i];
      AddressSpace layout(cfg);
      std::string err;
      if (!kernel::layout_from_snapshot(*text, cfg, runs[i].sim->address_space(ev.pid), layout,
                                        &err)) {
        bad_line(ev.line,
                 "the layout snapshot " + snapshot.substr(0, 100) + " is malformed: " + err);
        return;
      }
      runs[i].sim->adopt_layout(ev.pid, std::move(layout));
    }
  }

  // Each design seals each range with its own mseal, at the 'end' marker's
  // line (SealGranularity::PerRange: one comparison a range; the preload's
  // runs of ranges seal the same bytes).
  void apply_seal_point(const TraceEvent& ev, const AssembledSealPoint& p, const Report& report) {
    for (const SealCall& seal : seal_calls(p, SealGranularity::PerRange)) {
      MemoryCall call;
      call.call = Syscall{SyscallKind::Mseal, {seal.start, seal.end - seal.start, 0}};
      char shown[80];
      std::snprintf(shown, sizeof shown, "mseal(%#" PRIx64 ", %#" PRIx64 ", 0)", seal.start,
                    seal.end - seal.start);
      Records r(runs.size());
      for (std::size_t i = 0; i < runs.size(); ++i)
        r.recs[i] = runs[i].sim->apply_call(ev.pid, ev.line, call, shown);
      const std::string what = seal.object != nullptr
                                   ? seal.object->path + " " + seal.ranges.front().kind
                                   : seal.ranges.front().kind;
      r.note = "the seal of " + what + " (seal point of line " + std::to_string(p.line) + ")";
      judge(r, nullptr, report);
    }
  }

  // A script is its process's whole history: what it never mapped is free,
  // so nothing it does is unverifiable (unlike a trace that starts after exec).
  void adopt_script_process() {
    script_seen = true;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      Simulator& sim = *runs[i].sim;
      const AddressSpace* cur = sim.address_space(0);
      Config cfg = options.config;
      cfg.seal = options.policies[i];
      AddressSpace layout = cur != nullptr ? *cur : AddressSpace(cfg);
      sim.adopt_layout(0, std::move(layout));
    }
  }

  // A script line: typed once, resolved under each design's bindings (a name
  // a failed call should have bound leaves it unrun under that design).
  void script_line(const script::Call& sc, std::size_t line, const Report& report) {
    if (!script_seen) adopt_script_process();
    Records r(runs.size());
    std::vector<std::optional<std::pair<MemoryCall, std::string>>> calls(runs.size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      MemoryCall call;
      std::string shown;
      script::EvalError err;
      if (script::resolve(sc, runs[i].vars, call, shown, err)) {
        calls[i].emplace(std::move(call), std::move(shown));
        continue;
      }
      const auto why = runs[i].unbound_why.find(err.unbound);
      if (err.unbound.empty() || why == runs[i].unbound_why.end())
        return bad_line(line, err.message);
      r.not_run[i] = "not run: " + err.unbound + " is unbound, " + why->second;
    }
    bool ran = false;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      if (!calls[i]) continue;
      r.recs[i] =
          runs[i].sim->apply_call(0, line, std::move(calls[i]->first), std::move(calls[i]->second));
      ran = true;
    }
    if (!ran) {  // a name it needs is unbound under every design
      for (PolicySummary& ps : summary.policies) ++ps.not_run;
      problem("line " + std::to_string(summary.lines) + ": " + r.not_run.front());
      return;
    }
    judge(r, &sc, report);
  }

  // ---- one call under every design, judged ----

  void judge(Records& r, const script::Call* script, const Report& report) {
    CallComparison cc = comparison_of(r);
    const std::vector<std::pair<Addr, Addr>> ranges = ranges_of(r, cc);
    std::vector<std::string> keys(runs.size());
    for (std::size_t i = 0; i < runs.size(); ++i) keys[i] = outcome(i, r, ranges, cc);
    count_differences(cc, keys);
    if (script != nullptr && !script->bind.empty()) bind_result(*script, r, cc.line);
    if (cc.differs() || options.all_calls) report(cc);
  }

  // The call as the first design that ran it saw it.
  CallComparison comparison_of(const Records& r) const {
    const SimRecord* base = nullptr;
    for (const auto& rec : r.recs)
      if (rec && base == nullptr) base = &*rec;
    CallComparison cc;
    cc.line = base->line;
    cc.pid = base->pid;
    cc.call = base->call;
    cc.has_recorded = base->has_recorded;
    cc.recorded = base->recorded;
    cc.unfinished = r.unfinished;
    cc.note = r.note;
    cc.outcomes.resize(runs.size());
    return cc;
  }

  // Every range the call acted on under any design, merged; and whether each
  // design could verify it.
  static std::vector<std::pair<Addr, Addr>> ranges_of(const Records& r, CallComparison& cc) {
    std::vector<std::pair<Addr, Addr>> ranges;
    for (const auto& rec : r.recs) {
      if (!rec) continue;
      ranges.insert(ranges.end(), rec->ranges.begin(), rec->ranges.end());
      if (!rec->verifiable) {
        cc.verifiable = false;
        if (cc.note.empty()) cc.note = rec->note;
      }
    }
    return merged(std::move(ranges));
  }

  // Design i's outcome, counted in its summary; returns its layout key (the
  // layout without seal types) for the comparison with the baseline.
  std::string outcome(std::size_t i, const Records& r,
                      const std::vector<std::pair<Addr, Addr>>& ranges, CallComparison& cc) {
    PolicyOutcome& o = cc.outcomes[i];
    PolicySummary& ps = summary.policies[i];
    if (!r.recs[i]) {
      o.note = r.not_run[i].empty() ? "not run" : r.not_run[i];
      ++ps.not_run;
      return {};
    }
    o.ran = true;
    o.result = r.recs[i]->engine;
    const AddressSpace* as = runs[i].sim->address_space(cc.pid);
    o.layout = render_ranges(as, ranges, true);
    ++ps.calls;
    if (o.result.is_error()) {
      ++ps.failed;
      if (o.result.error() == options.policies[i].refused) ++ps.refused;
    }
    if (cc.has_recorded && cc.verifiable && !cc.unfinished && o.result != cc.recorded)
      ++ps.trace_mismatches;
    return render_ranges(as, ranges, false);
  }

  void count_differences(CallComparison& cc, const std::vector<std::string>& keys) {
    const PolicyOutcome& b = cc.outcomes.front();
    for (std::size_t i = 0; i < cc.outcomes.size(); ++i) {
      const PolicyOutcome& o = cc.outcomes[i];
      const bool rd = o.ran != b.ran || (o.ran && o.result != b.result);
      const bool ld = o.ran && b.ran && keys[i] != keys.front();
      if (rd) ++summary.policies[i].result_differs;
      if (ld) ++summary.policies[i].layout_differs;
      cc.result_differs = cc.result_differs || rd;
      cc.layout_differs = cc.layout_differs || ld;
    }
    ++summary.calls;
    if (!cc.verifiable) ++summary.unverifiable;
    if (cc.unfinished) {
      ++summary.unfinished;
      if (cc.note.empty())
        cc.note = "the input has no result for this call (cut short): replayed as if it ran";
    }
    if (cc.differs()) {
      ++summary.differing;
      if (!cc.verifiable) ++summary.differing_unverifiable;
    }
  }

  // `bind = call(...)`: the result under each design that ran it and
  // succeeded; elsewhere the name is unbound, and why is kept for later lines.
  void bind_result(const script::Call& sc, const Records& r, std::size_t line) {
    for (std::size_t i = 0; i < runs.size(); ++i) {
      Run& run = runs[i];
      if (r.recs[i] && r.recs[i]->engine.is_ok()) {
        run.vars[sc.bind] = r.recs[i]->engine.value();
        run.unbound_why.erase(sc.bind);
        continue;
      }
      run.vars.erase(sc.bind);
      run.unbound_why[sc.bind] =
          "line " + std::to_string(line) + " (" + sc.bind + " = " + sc.name + ") " +
          (r.recs[i] ? "failed with " + std::string(errno_name(r.recs[i]->engine.error()))
                     : std::string("did not run"));
    }
  }
};

PolicyComparison::PolicyComparison(CompareOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
PolicyComparison::~PolicyComparison() = default;

bool PolicyComparison::feed(std::string_view line, const Report& report) {
  Impl& m = *impl_;
  if (m.stopped) return false;
  ++m.summary.lines;
  if (line.size() >=
      kMaxLineBytes) {  // LineReader hands on the first kMaxLineBytes of a longer line
    m.parser.feed("");  // keeps the reader's line numbers in step
    m.bad_line(m.summary.lines, "a line of " + std::to_string(kMaxLineBytes) +
                                    " bytes or more (a documented limit)");
    return !m.stopped;
  }
  script::Call sc;
  std::string error;
  switch (script::read_line(line, sc, error)) {
    case script::LineForm::Blank:
      m.parser.feed("");  // keeps the reader's line numbers in step
      break;
    case script::LineForm::Script:
      m.parser.feed("");
      m.drain(report);
      if (!error.empty())
        m.bad_line(m.summary.lines, error);
      else
        m.script_line(sc, m.summary.lines, report);
      break;
    case script::LineForm::Trace:
      m.parser.feed(line);
      m.drain(report);
      break;
  }
  return !m.stopped;
}

void PolicyComparison::finish(const Report& report) {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.parser.finish();
  m.drain(report);
}

const CompareSummary& PolicyComparison::summary() const noexcept { return impl_->summary; }

std::vector<int> PolicyComparison::pids() const {
  return impl_->runs.empty() ? std::vector<int>{} : impl_->runs.front().sim->pids();
}

const AddressSpace* PolicyComparison::address_space(std::size_t policy, int pid) const {
  if (policy >= impl_->runs.size()) return nullptr;
  return impl_->runs[policy].sim->address_space(pid);
}

}  // namespace vmseal::compare
