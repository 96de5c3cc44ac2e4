#include "vmseal/trace/compare.hpp"
#include "vmseal/trace/line_reader.hpp"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <set>
#include <utility>

#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/trace/seal_point.hpp"
#include "vmseal/trace/sim.hpp"
#include "vmseal/trace/snapshot.hpp"

namespace vmseal::trace {
namespace {

constexpr std::size_t kMaxProblems = 20;

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

// ---- script lines ------------------------------------------------------------------

struct ScriptCall {
  std::string bind;  // "" when the result is not named
  std::string name;
  std::vector<std::string> args;
};

// The index just past the ')' that closes the '(' at `open`, skipping strings
// and nested brackets; npos when unbalanced.
std::size_t closing_paren(std::string_view s, std::size_t open) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = open; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '(' || c == '[' || c == '{')
      ++depth;
    else if (c == ')' || c == ']' || c == '}') {
      if (--depth == 0) return c == ')' ? i + 1 : std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

enum class LineForm { Blank, Script, Trace };

// A script line is `[NAME =] call(args)` with nothing after the ')' but a
// comment. Anything else is handed to the strace reader.
LineForm classify(std::string_view line, ScriptCall& out, std::string& error) {
  std::string_view s = trim(line);
  if (s.empty() || s.front() == '#') return LineForm::Blank;
  std::size_t i = 0;
  auto read_ident = [&](std::size_t at) {
    std::size_t j = at;
    if (j < s.size() && ident_start(s[j]))
      while (j < s.size() && ident_char(s[j])) ++j;
    return j;
  };
  std::size_t j = read_ident(0);
  if (j == 0) return LineForm::Trace;
  std::string bind;
  std::size_t k = j;
  while (k < s.size() && s[k] == ' ') ++k;
  if (k < s.size() && s[k] == '=' && (k + 1 >= s.size() || s[k + 1] != '=')) {
    bind = std::string(s.substr(0, j));
    ++k;
    while (k < s.size() && s[k] == ' ') ++k;
    i = k;
    j = read_ident(i);
    if (j == i) {
      error = "expected a call after \"" + bind + " =\"";
      return LineForm::Script;
    }
  }
  if (j >= s.size() || s[j] != '(') {
    if (bind.empty()) return LineForm::Trace;
    error = "expected '(' after the call name";
    return LineForm::Script;
  }
  const std::size_t close = closing_paren(s, j);
  if (close == std::string_view::npos) {
    if (!bind.empty()) error = "unbalanced parentheses";
    return bind.empty() ? LineForm::Trace : LineForm::Script;
  }
  const std::string_view rest = trim(s.substr(close));
  if (!rest.empty() && rest.front() != '#') {
    if (!bind.empty()) error = "unexpected text after the call: " + std::string(rest);
    return bind.empty() ? LineForm::Trace : LineForm::Script;
  }
  out.bind = std::move(bind);
  out.name = std::string(s.substr(i, j - i));
  out.args.clear();
  std::string split_error;
  if (!split_arguments(s.substr(j + 1, close - j - 2), out.args, &split_error))
    error = "bad arguments: " + split_error;
  return LineForm::Script;
}

// ---- script arithmetic ---------------------------------------------------------------

struct Constant {
  std::string_view name;
  std::uint64_t value;
};
constexpr Constant kConstants[] = {
    {"PAGE", kPageSize},
    {"NULL", 0},
    {"MM_SEAL_SEAL", seal_type::SEAL},
    {"MM_SEAL_BASE", seal_type::BASE},
    {"MM_SEAL_PROT_PKEY", seal_type::PROT_PKEY},
};

class Expr {
 public:
  Expr(std::string_view text, const std::map<std::string, std::uint64_t>& vars)
      : s_(text), vars_(vars) {}
  bool eval(std::uint64_t& out, std::string* error) {
    out = parse_or();
    skip();
    if (error_.empty() && pos_ != s_.size())
      error_ = "unexpected \"" + std::string(s_.substr(pos_, 40)) + "\"";
    if (!error_.empty()) {
      if (error != nullptr) *error = error_;
      return false;
    }
    return true;
  }

 private:
  void skip() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  bool eat(char c) {
    skip();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::uint64_t parse_or() {
    std::uint64_t v = parse_sum();
    while (error_.empty() && eat('|')) v |= parse_sum();
    return v;
  }
  std::uint64_t parse_sum() {
    std::uint64_t v = parse_product();
    for (;;) {
      if (!error_.empty()) return v;
      if (eat('+'))
        v += parse_product();
      else if (eat('-'))
        v -= parse_product();
      else
        return v;
    }
  }
  std::uint64_t parse_product() {
    std::uint64_t v = parse_factor();
    while (error_.empty() && eat('*')) v *= parse_factor();
    return v;
  }
  // Parentheses and unary minus recurse: a script is untrusted input, and
  // 50,000 nested '(' once overflowed the stack. kMaxDepth is far beyond any
  // expression a person writes.
  static constexpr int kMaxDepth = 64;
  struct Deeper {
    int& depth;
    explicit Deeper(int& d) : depth(d) { ++depth; }
    ~Deeper() { --depth; }
  };
  std::uint64_t parse_factor() {
    skip();
    if (pos_ >= s_.size()) {
      error_ = "expression ends early";
      return 0;
    }
    const Deeper deeper(depth_);
    if (depth_ > kMaxDepth) {
      error_ = "expression nested more than " + std::to_string(kMaxDepth) + " deep";
      return 0;
    }
    if (eat('(')) {
      const std::uint64_t v = parse_or();
      if (error_.empty() && !eat(')')) error_ = "missing ')'";
      return v;
    }
    if (eat('-')) return ~parse_factor() + 1;
    const char c = s_[pos_];
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) {
      std::size_t end = pos_;
      while (end < s_.size() && std::isalnum(static_cast<unsigned char>(s_[end])) != 0) ++end;
      std::uint64_t v = 0;
      std::string e;
      if (!parse_int_arg(s_.substr(pos_, end - pos_), v, &e)) error_ = e;
      pos_ = end;
      return v;
    }
    if (ident_start(c)) {
      std::size_t end = pos_;
      while (end < s_.size() && ident_char(s_[end])) ++end;
      const std::string name(s_.substr(pos_, end - pos_));
      pos_ = end;
      for (const Constant& k : kConstants)
        if (name == k.name) return k.value;
      if (auto it = vars_.find(name); it != vars_.end()) return it->second;
      error_ = "\"" + name + "\" is not bound";
      return 0;
    }
    error_ = std::string("unexpected '") + c + "'";
    return 0;
  }

  std::string_view s_;
  const std::map<std::string, std::uint64_t>& vars_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
};

// A flag expression or an fd annotation is passed on as written: it has an
// upper-case symbol the arithmetic does not know (PROT_READ, MAP_FIXED), a
// string, or a -y path.
bool is_verbatim(std::string_view text) {
  if (text.find_first_of("\"<{[") != std::string_view::npos) return true;
  for (std::size_t i = 0; i < text.size();) {
    if (!ident_start(text[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < text.size() && ident_char(text[end])) ++end;
    const std::string_view word = text.substr(i, end - i);
    i = end;
    bool known = false;
    for (const Constant& k : kConstants) known = known || word == k.name;
    const bool upper = std::none_of(word.begin(), word.end(), [](char c) {
      return std::islower(static_cast<unsigned char>(c)) != 0;
    });
    if (!known && upper) return true;
  }
  return false;
}

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
  return out;
}

// The VMAs overlapping `ranges`. Without types, a typed policy's seal types
// beyond MM_SEAL_BASE are left out: how a design records a seal is not a
// difference in what the call did.
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
                                        "pkey_free",        "mmap2",      "userfaultfd"};
  for (const char* n : kAlways)
    if (c.name == n) return c.name;
  if (c.name == "ioctl" &&
      (args_mention(c, "UFFDIO_REGISTER") || args_mention(c, "UFFDIO_UNREGISTER")))
    return "ioctl(UFFDIO_*REGISTER)";
  if (c.name == "prctl" && args_mention(c, "PR_SET_VMA")) return "prctl(PR_SET_VMA)";
  if (c.name == "arch_prctl" && args_mention(c, "ARCH_MAP_VDSO"))
    return "arch_prctl(ARCH_MAP_VDSO_*)";
  if (c.name == "shmctl" && args_mention(c, "IPC_RMID")) return "";  // no layout change
  return "";
}

}  // namespace

bool eval_script_arg(std::string_view text, const std::map<std::string, std::uint64_t>& vars,
                     std::string& out, std::string* error) {
  text = trim(text);
  if (text.empty()) {
    if (error != nullptr) *error = "an empty argument";
    return false;
  }
  std::uint64_t literal = 0;
  if (is_verbatim(text) || parse_int_arg(text, literal)) {  // "-1" stays an fd
    out = std::string(text);
    return true;
  }
  std::uint64_t v = 0;
  if (!Expr(text, vars).eval(v, error)) return false;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%#" PRIx64, v);
  out = buf;
  return true;
}

// ---- the comparison ------------------------------------------------------------------------

struct PolicyComparison::Impl {
  struct Run {
    std::unique_ptr<Simulator> sim;
    std::map<std::string, std::uint64_t> vars;
    std::map<std::string, std::string> unbound_why;
  };

  CompareOptions options;
  std::vector<Run> runs;
  StraceParser parser;
  CompareSummary summary;
  bool stopped = false;

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

  // One event, possibly different per policy (script arguments), compared.
  // ---- seal points of a recorded trace (vmseal predict --record) ----
  SealPointAssembler assembler;

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
      if (!layout_from_snapshot(*text, cfg, runs[i].sim->address_space(ev.pid), layout, &err)) {
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
    for (const SealCall& call : seal_calls(p, SealGranularity::PerRange)) {
      const std::string what = call.object != nullptr
                                   ? call.object->path + " " + call.ranges.front().kind
                                   : call.ranges.front().kind;
      TraceEvent seal;
      seal.kind = EventKind::Call;
      seal.line = ev.line;
      seal.pid = ev.pid;
      seal.call.name = seal.call.raw_name = "mseal";
      char buf[2][32];
      std::snprintf(buf[0], sizeof buf[0], "%#" PRIx64, call.start);
      std::snprintf(buf[1], sizeof buf[1], "%#" PRIx64, call.end - call.start);
      seal.call.args = {buf[0], buf[1], "0"};
      seal.call.outcome = Outcome::Unknown;
      std::vector<std::optional<TraceEvent>> events(runs.size(), seal);
      compare(events, nullptr, {}, report,
              "the seal of " + what + " (seal point of line " + std::to_string(p.line) + ")");
    }
  }

  void compare(std::vector<std::optional<TraceEvent>>& events, const ScriptCall* script,
               const std::vector<std::string>& not_run, const Report& report,
               const std::string& seal_note = "") {
    const std::size_t n = runs.size();
    std::vector<std::optional<SimRecord>> recs(n);
    const TraceEvent* first = nullptr;
    for (std::size_t i = 0; i < n; ++i) {
      if (!events[i]) continue;
      if (first == nullptr) first = &*events[i];
      std::string error;
      recs[i] = runs[i].sim->apply(*events[i], &error);
      if (!error.empty()) {
        bad_line(events[i]->line, error);
        return;
      }
    }
    if (first == nullptr) {
      // The call ran under no policy (a name it needs is unbound everywhere).
      if (script != nullptr && !not_run.empty()) {
        for (PolicySummary& ps : summary.policies) ++ps.not_run;
        problem("line " + std::to_string(summary.lines) + ": " + not_run.front());
      }
      return;
    }
    if (first->kind == EventKind::Call) {
      if (std::string u = unmodelled(first->call); !u.empty()) {
        ++summary.unmodelled;
        ++summary.unmodelled_by_name[u];
        problem("line " + std::to_string(first->line) + ": " + u +
                " changes the address space and is not modelled");
      }
    }
    const SimRecord* base = nullptr;
    for (const auto& r : recs)
      if (r && base == nullptr) base = &*r;
    if (base == nullptr) {
      // Not a memory-management call: bind nothing, compare nothing.
      return;
    }

    CallComparison cc;
    cc.line = base->line;
    cc.pid = base->pid;
    cc.call = base->call;
    cc.has_recorded = base->has_recorded;
    cc.recorded = base->recorded;
    cc.unfinished = first->kind == EventKind::Call && first->call.outcome == Outcome::Unfinished;
    cc.note = seal_note;
    std::vector<std::pair<Addr, Addr>> ranges;
    for (std::size_t i = 0; i < n; ++i) {
      if (!recs[i]) continue;
      ranges.insert(ranges.end(), recs[i]->ranges.begin(), recs[i]->ranges.end());
      if (!recs[i]->verifiable) {
        cc.verifiable = false;
        if (cc.note.empty()) cc.note = recs[i]->note;
      }
    }
    ranges = merged(std::move(ranges));
    cc.outcomes.resize(n);
    std::vector<std::string> keys(n);
    for (std::size_t i = 0; i < n; ++i) {
      PolicyOutcome& o = cc.outcomes[i];
      PolicySummary& ps = summary.policies[i];
      if (!recs[i]) {
        o.note = i < not_run.size() ? not_run[i] : "not run";
        ++ps.not_run;
        continue;
      }
      o.ran = true;
      o.result = recs[i]->engine;
      const AddressSpace* as = runs[i].sim->address_space(cc.pid);
      o.layout = render_ranges(as, ranges, true);
      keys[i] = render_ranges(as, ranges, false);
      ++ps.calls;
      if (o.result.is_error()) {
        ++ps.failed;
        if (o.result.error() == options.policies[i].refused) ++ps.refused;
      }
      if (cc.has_recorded && cc.verifiable && !cc.unfinished && o.result != cc.recorded)
        ++ps.trace_mismatches;
    }
    const PolicyOutcome& b = cc.outcomes.front();
    for (std::size_t i = 0; i < n; ++i) {
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

    if (script != nullptr && !script->bind.empty()) {
      for (std::size_t i = 0; i < n; ++i) {
        Run& r = runs[i];
        if (recs[i] && recs[i]->engine.is_ok()) {
          r.vars[script->bind] = recs[i]->engine.value();
          r.unbound_why.erase(script->bind);
        } else {
          r.vars.erase(script->bind);
          r.unbound_why[script->bind] =
              "line " + std::to_string(cc.line) + " (" + script->bind + " = " + script->name +
              ") " +
              (recs[i] ? "failed with " + std::string(errno_name(recs[i]->engine.error()))
                       : std::string("did not run"));
        }
      }
    }
    if (cc.differs() || options.all_calls) report(cc);
  }

  void drain(const Report& report) {
    while (!stopped) {
      auto item = parser.next();
      if (!item) break;
      if (const auto* err = std::get_if<ParseError>(&*item)) {
        bad_line(err->line, err->message + ": " + err->shown_text());
        continue;
      }
      if (marker(std::get<TraceEvent>(*item), report)) continue;
      std::vector<std::optional<TraceEvent>> events(runs.size(), std::get<TraceEvent>(*item));
      compare(events, nullptr, {}, report);
    }
  }

  // A script is its process's whole history: what it never mapped is free,
  // so nothing it does is unverifiable (unlike a trace that starts after exec).
  bool script_seen = false;
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

  void script_line(const ScriptCall& sc, std::size_t line, const Report& report) {
    if (!script_seen) adopt_script_process();
    std::vector<std::optional<TraceEvent>> events(runs.size());
    std::vector<std::string> not_run(runs.size());
    for (std::size_t i = 0; i < runs.size(); ++i) {
      TraceEvent ev;
      ev.kind = EventKind::Call;
      ev.line = line;
      ev.call.name = sc.name;
      ev.call.raw_name = sc.name;
      ev.call.outcome = Outcome::Unknown;
      bool ok = true;
      for (const std::string& arg : sc.args) {
        std::string text;
        std::string error;
        if (!eval_script_arg(arg, runs[i].vars, text, &error)) {
          // An unbound name that a failed call should have bound: not run
          // under this policy. Any other error is a bad line.
          for (const auto& [name, why] : runs[i].unbound_why) {
            if (error.find("\"" + name + "\"") != std::string::npos) {
              not_run[i] = "not run: " + name + " is unbound, " + why;
              ok = false;
            }
          }
          if (ok) {
            bad_line(line, error);
            return;
          }
          break;
        }
        ev.call.args.push_back(std::move(text));
      }
      if (ok) events[i] = std::move(ev);
    }
    compare(events, &sc, not_run, report);
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
  ScriptCall sc;
  std::string error;
  switch (classify(line, sc, error)) {
    case LineForm::Blank:
      m.parser.feed("");  // keeps the reader's line numbers in step
      break;
    case LineForm::Script:
      m.parser.feed("");
      m.drain(report);
      if (!error.empty())
        m.bad_line(m.summary.lines, error);
      else
        m.script_line(sc, m.summary.lines, report);
      break;
    case LineForm::Trace:
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

}  // namespace vmseal::trace
