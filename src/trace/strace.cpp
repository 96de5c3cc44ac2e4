// The strace reader's line layer: prefixes, the kinds of line, results, and the
// joining of "<unfinished ...>" / "<... resumed>" pairs.
#include "vmseal/trace/strace.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <deque>
#include <limits>
#include <map>
#include <set>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "strace_detail.hpp"
#include "vmseal/trace/line_reader.hpp"

namespace vmseal::trace {

using namespace detail;

std::string_view outcome_name(Outcome o) noexcept {
  switch (o) {
    case Outcome::Value:
      return "value";
    case Outcome::Error:
      return "error";
    case Outcome::Interrupted:
      return "interrupted";
    case Outcome::Unknown:
      return "unknown";
    case Outcome::Unfinished:
      return "unfinished";
  }
  return "?";
}

std::string_view event_kind_name(EventKind k) noexcept {
  switch (k) {
    case EventKind::Call:
      return "call";
    case EventKind::Signal:
      return "signal";
    case EventKind::Exit:
      return "exit";
    case EventKind::Killed:
      return "killed";
    case EventKind::Attached:
      return "attached";
    case EventKind::Detached:
      return "detached";
    case EventKind::Superseded:
      return "superseded";
    case EventKind::Note:
      return "note";
  }
  return "?";
}

namespace {

// The length of the well-formed UTF-8 sequence at s[i] (1 to 4), or 0 when
// the bytes there are not one (a stray continuation byte, an overlong form, a
// surrogate, past U+10FFFF, cut short).
std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b = at(0);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size() || at(1) < lo || at(1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((at(k) & 0xc0) != 0x80) return 0;
  return n;
}

}  // namespace

bool creates_task(std::string_view name) noexcept {
  return name == "clone" || name == "clone3" || name == "fork" || name == "vfork";
}

std::string ParseError::to_string() const {
  return fmt::format("line {}: {}: {}", line, message, shown_text());
}

std::string ParseError::shown_text() const {
  // A binary file given as a trace must not reach the terminal as raw bytes:
  // control bytes and bytes that are not UTF-8 are shown as \xNN, and only
  // the first kShownText characters of the line.
  std::string shown;
  std::size_t chars = 0;
  std::size_t i = 0;
  for (; i < text.size() && chars < kShownText; ++chars) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u >= 0x20 && u < 0x7f) {
      shown.push_back(text[i++]);
    } else if (const std::size_t n = u >= 0x80 ? utf8_sequence(text, i) : 0; n != 0) {
      shown.append(text, i, n);
      i += n;
    } else {
      shown += fmt::format("\\x{:02x}", u);
      ++i;
    }
  }
  if (i < text.size()) shown += "...";
  return shown;
}

namespace {

// Linux's PID_MAX_LIMIT: a longer number at the start of a line is a timestamp.
constexpr std::uint64_t kPidMaxLimit = 4u << 20;

bool starts_with(std::string_view s, std::string_view p) noexcept {
  return s.substr(0, p.size()) == p;
}

bool ends_with(std::string_view s, std::string_view p) noexcept {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

// Digits at s[i...]; returns the count (0 if none) and the value (saturated).
std::size_t read_digits(std::string_view s, std::size_t i, std::uint64_t& value) noexcept {
  std::size_t k = 0;
  value = 0;
  while (i + k < s.size() && is_digit(s[i + k])) {
    if (value < (std::uint64_t{1} << 40))
      value = value * 10 + static_cast<unsigned>(s[i + k] - '0');
    ++k;
  }
  return k;
}

// Removes ANSI escape sequences (strace --color), "\r" and "\n".
std::string clean_line(std::string_view raw) {
  while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.remove_suffix(1);
  std::string out;
  if (raw.find('\x1b') == npos) {
    out.assign(raw);
    return out;
  }
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\x1b' && i + 1 < raw.size() && raw[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < raw.size() && !(raw[j] >= 0x40 && raw[j] <= 0x7e)) ++j;
      i = j;  // skips the final byte too
      continue;
    }
    out.push_back(raw[i]);
  }
  return out;
}

struct Prefix {
  bool has_pid = false;
  int pid = 0;
  std::string timestamp;
  std::size_t body = 0;  // index of the event text
};

// Skips a "<comm>" after a pid; returns the index past '>' or npos.
std::size_t skip_comm(std::string_view s, std::size_t i) noexcept {
  for (std::size_t j = i + 1; j < s.size(); ++j) {
    if (s[j] == '\\') {
      ++j;
    } else if (s[j] == '>') {
      return j + 1;
    }
  }
  return npos;
}

bool parse_prefix(std::string_view s, Prefix& p, std::string& error) {
  std::size_t i = 0;
  if (starts_with(s, "[pid")) {
    std::size_t j = 4;
    while (j < s.size() && s[j] == ' ') ++j;
    std::uint64_t v = 0;
    const std::size_t k = read_digits(s, j, v);
    j += k;
    if (k > 0 && j < s.size() && s[j] == '<') j = skip_comm(s, j);
    if (k == 0 || k > 10 || v > static_cast<std::uint64_t>(std::numeric_limits<int>::max()) ||
        j == npos || j >= s.size() || s[j] != ']') {
      error = "malformed \"[pid N]\" prefix";
      return false;
    }
    p.has_pid = true;
    p.pid = static_cast<int>(v);
    i = j + 1;
  } else {
    std::uint64_t v = 0;
    const std::size_t k = read_digits(s, 0, v);
    if (k > 0 && k < s.size() && v <= kPidMaxLimit && (s[k] == ' ' || s[k] == '<')) {
      std::size_t j = k;
      if (s[j] == '<') j = skip_comm(s, j);
      if (j != npos && j < s.size() && s[j] == ' ') {
        p.has_pid = true;
        p.pid = static_cast<int>(v);
        i = j;
      }
    }
  }
  // Timestamps, -n syscall numbers and -i instruction pointers.
  while (true) {
    std::size_t u = i;
    while (u < s.size() && s[u] == ' ') ++u;
    if (u >= s.size()) {
      i = u;
      break;
    }
    if (is_digit(s[u])) {
      std::size_t v = u;
      while (v < s.size() && (is_digit(s[v]) || s[v] == ':' || s[v] == '.')) ++v;
      // Not taken as a pid above: a number followed by a blank is a time ("-ttt" with
      // whole seconds has no '.').
      if (v < s.size() && s[v] == ' ') {
        if (p.timestamp.empty()) p.timestamp = std::string(s.substr(u, v - u));
        i = v;
        continue;
      }
      i = u;
      break;
    }
    if (starts_with(s.substr(u), "(+")) {
      const std::size_t close = s.find(')', u);
      if (close == npos) {
        i = u;
        break;
      }
      if (p.timestamp.empty()) p.timestamp = std::string(trim(s.substr(u + 2, close - u - 2)));
      i = close + 1;
      continue;
    }
    if (s[u] == '[' && !starts_with(s.substr(u), "[ Process")) {
      const std::size_t close = s.find(']', u);
      if (close != npos) {
        const std::string_view inner = trim(s.substr(u + 1, close - u - 1));
        const bool numeric = !inner.empty() && std::all_of(inner.begin(), inner.end(), [](char c) {
          return is_hex_digit(c) || c == '?';
        });
        if (numeric) {
          i = close + 1;
          continue;
        }
      }
    }
    i = u;
    break;
  }
  p.body = i;
  return true;
}

// A strace diagnostic: "strace: ...", "/usr/bin/strace: ...", or the old bare
// "Process N attached". Returns the message text.
bool strace_message(std::string_view s, std::string_view& msg) noexcept {
  const std::size_t colon = s.find(": ");
  if (colon != npos && colon > 0) {
    const std::string_view who = s.substr(0, colon);
    const bool path_like = std::all_of(who.begin(), who.end(), [](char c) {
      return is_ident_char(c) || c == '/' || c == '.' || c == '-';
    });
    if (path_like && ends_with(who, "strace")) {
      msg = s.substr(colon + 2);
      return true;
    }
  }
  if (starts_with(s, "Process ") && s.size() > 8 && is_digit(s[8])) {
    msg = s;
    return true;
  }
  return false;
}

// "E..." errno token at r[i]: returns its length (0 if none).
std::size_t errno_token(std::string_view r, std::size_t i) noexcept {
  if (i >= r.size() || r[i] != 'E') return 0;
  std::size_t k = 1;
  while (i + k < r.size() && (is_upper(r[i + k]) || is_digit(r[i + k]) || r[i + k] == '_')) ++k;
  if (k < 2) return 0;
  if (i + k < r.size() && r[i + k] != ' ') return 0;
  return k;
}

void set_errno(TraceCall& c, std::string_view name) {
  c.err_name = std::string(name);
  int number = 0;
  c.err = errno_number(name, number) ? static_cast<Errno>(number) : Errno::OK;
}

// "?" for a result strace did not see, then an errno when it was interrupted.
void parse_unknown_result(std::string_view r, std::size_t& i, TraceCall& c) {
  ++i;
  c.outcome = Outcome::Unknown;
  while (i < r.size() && is_space(r[i])) ++i;
  if (const std::size_t k = errno_token(r, i); k > 0) {
    c.outcome = Outcome::Interrupted;
    set_errno(c, r.substr(i, k));
    i += k;
  }
}

// The "<path>" -y adds after a returned file descriptor, at r[i].
bool parse_result_path(std::string_view r, std::size_t& i, TraceCall& c, std::string& error) {
  const std::size_t end = find_annotation_end(r, i);
  if (end == npos) {
    error = "unterminated '<' after the return value";
    return false;
  }
  Annotation a = decode_annotation(r.substr(i + 1, end - i - 1), r.substr(end + 1));
  c.has_result_path = true;
  c.result_path = std::move(a.path);
  c.result_deleted = a.deleted;
  i = end + 1 + a.consumed_after;
  return true;
}

// The errno after a returned value, if any: "ENOMEM" or "(errno N)". strace
// prints its unsigned kernel_ulong_t for a code it has no name for, which can
// be any 64-bit value (a tracer or seccomp filter may set any rax, e.g.
// "(errno 18446744073709551572)"): a code beyond int is an error whose errno
// the engine cannot compare (Errno::OK, so the call stays unverifiable).
bool parse_result_errno(std::string_view r, std::size_t& i, TraceCall& c, std::string& error) {
  if (const std::size_t e = errno_token(r, i); e > 0) {
    c.outcome = Outcome::Error;
    set_errno(c, r.substr(i, e));
    i += e;
  } else if (starts_with(r.substr(i), "(errno ")) {
    const std::size_t close = r.find(')', i);
    const std::string_view digits =
        close == npos ? std::string_view{} : r.substr(i + 7, close - i - 7);
    std::uint64_t code = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), code);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size()) {
      error = "malformed '(errno N)'";
      return false;
    }
    c.outcome = Outcome::Error;
    const bool fits = code <= static_cast<std::uint64_t>(std::numeric_limits<int>::max());
    c.err = fits ? static_cast<Errno>(static_cast<int>(code)) : Errno::OK;
    c.err_name =
        fits ? std::string(errno_symbol(static_cast<int>(code))) : fmt::format("errno {}", code);
    i = close + 1;
  }
  return true;
}

// A returned value at r[i], its path, and its errno.
bool parse_value_result(std::string_view r, std::size_t& i, TraceCall& c, std::string& error) {
  std::size_t k = i;
  if (r[k] == '-') ++k;
  while (k < r.size() && (is_hex_digit(r[k]) || r[k] == 'x' || r[k] == 'X')) ++k;
  const std::string_view number = r.substr(i, k - i);
  std::string err;
  if (!parse_int_arg(number, c.value, &err)) {
    error =
        fmt::format("bad return value '{}'", r.substr(i, std::min<std::size_t>(r.size() - i, 24)));
    return false;
  }
  c.outcome = Outcome::Value;
  i = k;
  if (i < r.size() && r[i] == '<') {
    if (!parse_result_path(r, i, c, error)) return false;
  } else if (i < r.size() && !is_space(r[i])) {
    error = fmt::format("bad return value '{}'", r.substr(i - number.size(), 24));
    return false;
  }
  while (i < r.size() && is_space(r[i])) ++i;
  return parse_result_errno(r, i, c, error);
}

// What follows the result: -T's "<0.000012>" at the very end, and the note
// before it.
void parse_result_note(std::string_view rest, TraceCall& c) {
  if (!rest.empty() && rest.back() == '>') {
    const std::size_t open = rest.rfind('<');
    if (open != npos) {
      const std::string_view d = rest.substr(open + 1, rest.size() - open - 2);
      const bool numeric =
          !d.empty() && is_digit(d.front()) && is_digit(d.back()) &&
          std::all_of(d.begin(), d.end(), [](char ch) { return is_digit(ch) || ch == '.'; });
      if (numeric) {
        c.duration = std::string(d);
        rest = trim(rest.substr(0, open));
      }
    }
  }
  c.result_note = std::string(rest);
}

// The text after the ')' that closes a call: " = result [note] [<duration>]".
bool parse_result(std::string_view r, TraceCall& c, std::string& error) {
  std::size_t i = 0;
  while (i < r.size() && is_space(r[i])) ++i;
  if (i >= r.size()) {
    error = "missing '= result' after ')'";
    return false;
  }
  if (r[i] != '=') {
    error = fmt::format("expected '=' after ')', found '{}'", r.substr(i, 16));
    return false;
  }
  ++i;
  while (i < r.size() && is_space(r[i])) ++i;
  if (i >= r.size()) {
    error = "missing value after '='";
    return false;
  }
  if (r[i] == '?')
    parse_unknown_result(r, i, c);
  else if (!parse_value_result(r, i, c, error))
    return false;
  parse_result_note(trim(r.substr(std::min(i, r.size()))), c);
  return true;
}

// Applies the syscall_0x... renaming.
void canonicalize(TraceCall& c) {
  std::string name;
  std::size_t nargs = 0;
  if (canonical_syscall(c.raw_name, name, nargs)) {
    c.name = std::move(name);
    if (c.args.size() > nargs) c.args.resize(nargs);
  } else {
    c.name = c.raw_name;
  }
}

std::string line_excerpt(std::string_view s) {
  return std::string(s.substr(0, ParseError::kMaxErrorText));
}

}  // namespace

// ---- the streaming parser -------------------------------------------------------------

struct StraceParser::Impl {
  struct Pending {
    std::size_t line = 0;
    int pid = 0;
    std::string timestamp;
    std::string raw_name;
    std::string args_text;          // the arguments before "<unfinished ...>"
    std::vector<std::string> args;  // split, for an Unfinished report
    int moved_to = 0;               // "<pid changed to N ...>": resumes in pid N
  };

  ParserOptions options;
  std::size_t line_no = 0;     // the last physical line read
  std::size_t start_line = 0;  // where the logical line being parsed starts
  // strace writing to a terminal prints "strace: Process N attached" in the middle of
  // a call it has half printed; the call goes on at the start of the next line. The
  // half line waits here.
  bool has_carry = false;
  std::size_t carry_line = 0;
  std::string carry;
  std::deque<ParseItem> ready;
  // The calls waiting for their "<... resumed>", by pid, with the indexes
  // that keep every lookup logarithmic: a trace is untrusted, and scanning
  // all waiting calls for each new pid once made 40,000 pids take 34 s.
  class PendingCalls {
   public:
    using Map = std::map<int, Pending>;
    using iterator = Map::iterator;
    iterator begin() { return by_pid_.begin(); }
    iterator end() { return by_pid_.end(); }
    iterator find(int pid) { return by_pid_.find(pid); }
    std::size_t count(int pid) const { return by_pid_.count(pid); }
    std::size_t size() const { return by_pid_.size(); }
    bool empty() const { return by_pid_.empty(); }
    void emplace(int pid, Pending p) {
      if (creates_task(p.raw_name)) creators_.insert(pid);
      if (p.moved_to != 0) by_moved_to_[p.moved_to].insert(pid);
      by_pid_.emplace(pid, std::move(p));
    }
    void erase(iterator it) {
      creators_.erase(it->first);
      if (it->second.moved_to != 0) {
        auto m = by_moved_to_.find(it->second.moved_to);
        m->second.erase(it->first);
        if (m->second.empty()) by_moved_to_.erase(m);
      }
      by_pid_.erase(it);
    }
    void clear() {
      by_pid_.clear();
      creators_.clear();
      by_moved_to_.clear();
    }
    // The pids whose waiting call creates a task (clone, fork, ...).
    const std::set<int>& creators() const { return creators_; }
    // The waiting call that resumes in `pid` after "<pid changed to PID ...>", named `name`.
    iterator moved_to(int pid, std::string_view name) {
      const auto m = by_moved_to_.find(pid);
      if (m == by_moved_to_.end()) return end();
      for (const int from : m->second)
        if (auto it = by_pid_.find(from); it != end() && it->second.raw_name == name) return it;
      return end();
    }

   private:
    Map by_pid_;
    std::set<int> creators_;
    std::map<int, std::set<int>> by_moved_to_;
  };
  // A documented bound (docs/limits.md): more calls than this waiting at
  // once is not a trace of a real machine; the extra ones come out at once
  // as unfinished, with an error.
  static constexpr std::size_t kMaxPending = std::size_t{1} << 18;
  static constexpr std::size_t kMaxUnprefixedScan = 64;
  PendingCalls pending;
  // strace -f can print a child's first calls before its parent's clone
  // returns: "clone(... <unfinished ...>", the child's lines, then "<... clone
  // resumed> ...) = CHILD". A reader meeting the child first could not tell
  // where it came from. So when a pid appears that neither a line nor a
  // completed clone-family call has named before, while exactly one clone,
  // clone3, fork or vfork waits, that call comes out at once, completed with
  // the new pid as its value; its resumption, when it comes, is checked
  // against that value and dropped. By parent pid:
  struct EarlyClone {
    Pending call;
    int child = 0;
  };
  std::map<int, EarlyClone> early_clones;
  std::unordered_set<int> seen_pids;
  // When several such calls wait, which one made the new pid shows only when
  // one returns it: the new pid's events wait here until then (or until no
  // such call waits; at most kMaxHeldEvents, to stay bounded).
  static constexpr std::size_t kMaxHeldEvents = 4096;
  std::map<int, std::vector<TraceEvent>> held;
  std::size_t held_events = 0;

  void error(std::string message, std::string_view text) {
    ready.emplace_back(ParseError{start_line, std::move(message), line_excerpt(text)});
  }

  TraceEvent make_event(EventKind kind, int pid, const std::string& timestamp) const {
    TraceEvent e;
    e.kind = kind;
    e.line = start_line;
    e.pid = pid;
    e.timestamp = timestamp;
    return e;
  }

  // The call `p` as an event: what was printed before "<unfinished ...>".
  static TraceEvent event_of(const Pending& p) {
    TraceEvent e;
    e.kind = EventKind::Call;
    e.line = p.line;
    e.pid = p.pid;
    e.timestamp = p.timestamp;
    e.call.raw_name = p.raw_name;
    e.call.args = p.args;
    return e;
  }

  void emit_unfinished(const Pending& p) {
    TraceEvent e = event_of(p);
    e.call.outcome = Outcome::Unfinished;
    canonicalize(e.call);
    push(std::move(e));
  }

  void flush_pid(int pid) {
    const auto it = pending.find(pid);
    if (it == pending.end()) return;
    Pending p = std::move(it->second);
    pending.erase(it);
    emit_unfinished(p);
  }

  void flush_all() {
    std::vector<Pending> all;
    all.reserve(pending.size());
    for (auto& [pid, p] : pending) all.push_back(std::move(p));
    pending.clear();
    std::sort(all.begin(), all.end(),
              [](const Pending& a, const Pending& b) { return a.line < b.line; });
    for (Pending& p : all) emit_unfinished(p);
  }

  // The call `p` completed by the text after its "<... NAME resumed>": false
  // (an error queued) when the joined text is not a call.
  bool complete(Pending& p, std::string_view rest, std::string_view s, TraceCall& out) {
    std::string joined(trim_right(p.args_text));
    const std::string_view tail = trim_left(rest);
    if (!joined.empty() && !tail.empty() && tail.front() != ')' && tail.front() != ',')
      joined.push_back(' ');
    joined.append(tail);
    ArgScan scan;
    std::string err;
    out.raw_name = std::move(p.raw_name);
    out.end_line = line_no;
    out.resumed = true;
    if (!scan_arguments(joined, 0, ScanMode::Call, true, scan, err)) {
      error(fmt::format("{} (in the call started at line {})", err, p.line), s);
      return false;
    }
    if (scan.close == npos) {
      error(fmt::format("missing ')' at the end of the call started at line {}", p.line), s);
      return false;
    }
    out.args = std::move(scan.args);
    if (!parse_result(std::string_view(joined).substr(scan.close + 1), out, err)) {
      error(std::move(err), s);
      return false;
    }
    canonicalize(out);
    return true;
  }

  // Every event goes out through here. The child a clone-family call returns
  // is known from then on (its first line is no orphan to attribute), and
  // the events held for it follow the call that made it.
  void push(TraceEvent&& e) {
    if (const auto h = held.find(e.pid); h != held.end()) {
      h->second.push_back(std::move(e));
      if (++held_events > kMaxHeldEvents) release_held();
      return;
    }
    const bool made_task = e.kind == EventKind::Call && e.call.outcome == Outcome::Value &&
                           creates_task(e.call.raw_name);
    const std::uint64_t child = made_task ? e.call.value : 0;
    ready.emplace_back(std::move(e));
    if (made_task && child <= kPidMaxLimit) {
      seen_pids.insert(static_cast<int>(child));
      if (const auto h = held.find(static_cast<int>(child)); h != held.end()) {
        std::vector<TraceEvent> events = std::move(h->second);
        held_events -= events.size();
        held.erase(h);
        for (TraceEvent& ev : events) push(std::move(ev));
      }
    }
    if (!held.empty() && !task_creation_waits()) release_held();
  }

  bool task_creation_waits() const { return !pending.creators().empty(); }

  // The held children no waiting call can claim: out as they are, the pid
  // that appeared first first (a reader will find them of unknown origin).
  void release_held() {
    std::vector<std::vector<TraceEvent>> all;
    for (auto& [pid, events] : held) all.push_back(std::move(events));
    held.clear();
    held_events = 0;
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return (a.empty() ? 0 : a.front().line) < (b.empty() ? 0 : b.front().line);
    });
    for (auto& events : all)
      for (TraceEvent& ev : events) push(std::move(ev));
  }

  // A line of `pid`, which no line named before (see early_clones).
  void new_pid(int pid) {
    const std::size_t waiting = pending.creators().size();
    if (waiting == 0) return;
    if (waiting > 1) {
      held.emplace(pid, std::vector<TraceEvent>());  // until one of them returns `pid`
      return;
    }
    const auto parent = pending.find(*pending.creators().begin());
    EarlyClone early;
    early.call = std::move(parent->second);
    early.child = pid;
    pending.erase(parent);
    TraceEvent e = event_of(early.call);
    e.call.outcome = Outcome::Value;
    e.call.value = static_cast<std::uint64_t>(pid);
    e.call.end_line = start_line;
    e.call.resumed = true;
    e.call.result_note = "(child pid " + std::to_string(pid) + " ran first)";
    canonicalize(e.call);
    early_clones[early.call.pid] = std::move(early);
    push(std::move(e));
  }

  void feed(std::string_view raw);
  bool spliced_message(std::string_view s);
  void call_line(std::string_view s, std::size_t name_begin, std::size_t open, const Prefix& pf);
  void resumed_line(std::string_view s, std::size_t body, const Prefix& pf);
  void process_line(std::string_view s, std::string_view body, const Prefix& pf);
  void signal_line(std::string_view s, std::string_view body, const Prefix& pf);
  void message_line(std::string_view msg, const Prefix& pf);
};

void StraceParser::Impl::feed(std::string_view raw) {
  ++line_no;
  if (raw.size() >=
      kMaxLineBytes) {  // LineReader hands on the first kMaxLineBytes of a longer line
    start_line = line_no;
    error(fmt::format("a line of {} bytes or more (a documented limit): skipped", kMaxLineBytes),
          raw);
    return;
  }
  std::string line = clean_line(raw);
  start_line = line_no;
  if (has_carry) {
    start_line = carry_line;
    line.insert(0, carry);
    has_carry = false;
    carry.clear();
  }
  const std::string_view s = line;
  if (trim(s).empty()) return;
  // strace never starts a line with '#': a comment (vmseal difftest writes them).
  if (trim(s).starts_with('#')) return;
  if (spliced_message(s)) return;

  Prefix pf;
  pf.pid = options.default_pid;
  std::string_view msg;
  if (strace_message(s, msg)) {
    message_line(msg, pf);
    return;
  }
  std::string err;
  if (!parse_prefix(s, pf, err)) {
    error(std::move(err), s);
    return;
  }
  if (!pf.has_pid) pf.pid = options.default_pid;
  if (pf.has_pid && seen_pids.insert(pf.pid).second && !pending.empty()) new_pid(pf.pid);
  const std::string_view body = s.substr(pf.body);
  if (body.empty()) {
    error("nothing after the line prefix", s);
    return;
  }
  if (starts_with(body, "+++")) {
    process_line(s, body, pf);
    return;
  }
  if (starts_with(body, "---")) {
    signal_line(s, body, pf);
    return;
  }
  if (starts_with(body, "<... ")) {
    resumed_line(s, pf.body, pf);
    return;
  }
  if (starts_with(body, "[ Process PID=")) {
    TraceEvent e = make_event(EventKind::Note, pf.pid, pf.timestamp);
    std::uint64_t v = 0;
    if (read_digits(body, 14, v) > 0 && v <= kPidMaxLimit) e.pid = static_cast<int>(v);
    e.text = std::string(body);
    push(std::move(e));
    return;
  }
  if (strace_message(body, msg)) {
    message_line(msg, pf);
    return;
  }
  std::size_t k = pf.body;
  while (k < s.size() && (is_ident_char(s[k]) || s[k] == '?')) ++k;
  if (k == pf.body || k >= s.size() || s[k] != '(') {
    error("expected a system call, a signal or a process event", s);
    return;
  }
  call_line(s, pf.body, k, pf);
}

namespace {

// Whether a line (without a spliced message) is complete in itself.
bool line_is_complete(std::string_view s) {
  Prefix pf;
  std::string err;
  if (!parse_prefix(s, pf, err)) return false;
  const std::string_view body = trim_right(s.substr(pf.body));
  if (starts_with(body, "+++")) return ends_with(body, "+++") && body.size() > 3;
  if (starts_with(body, "---")) return ends_with(body, "---") && body.size() > 3;
  std::size_t from = npos;
  if (starts_with(body, "<... ")) {
    const std::size_t r = body.find(" resumed>");
    if (r != npos) from = r + 9;
  } else {
    const std::size_t open = body.find('(');
    if (open != npos) from = open + 1;
  }
  if (from == npos) return false;
  ArgScan scan;
  return scan_arguments(body, from, ScanMode::Call, true, scan, err) && scan.close != npos;
}

// "Process N attached ..." / "Process N detached ...".
bool is_process_message(std::string_view msg) {
  constexpr std::string_view kProcess = "Process ";
  if (!starts_with(msg, kProcess)) return false;
  std::uint64_t v = 0;
  const std::size_t k = read_digits(msg, kProcess.size(), v);
  const std::string_view after = msg.substr(kProcess.size() + k);
  return k > 0 && (starts_with(after, " attached") || starts_with(after, " detached"));
}

}  // namespace

bool StraceParser::Impl::spliced_message(std::string_view s) {
  constexpr std::string_view kMark = "strace: Process ";
  const std::size_t m = s.rfind(kMark);
  if (m == npos || m == 0) return false;
  const std::string_view msg = trim_right(s.substr(m + 8));
  if (!is_process_message(msg)) return false;
  // The message ends the physical line: "Process N attached" or "... with M threads".
  const std::size_t word =
      msg.find(" attached") != npos ? msg.find(" attached") : msg.find(" detached");
  const std::string_view tail = msg.substr(word + 9);
  if (!tail.empty() && !starts_with(tail, " with ")) return false;
  // strace run by its full path names itself "/usr/bin/strace".
  std::size_t cut = m;
  std::size_t k = m;
  while (k > 0 &&
         (is_ident_char(s[k - 1]) || s[k - 1] == '/' || s[k - 1] == '.' || s[k - 1] == '-'))
    --k;
  // At least "/d/": a lone '/' there ends a comment.
  if (const std::size_t slash = s.substr(k, m - k).find('/'); slash != npos && m - (k + slash) >= 3)
    cut = k + slash;
  const std::string_view head = s.substr(0, cut);
  if (trim(head).empty() || line_is_complete(head)) return false;
  Prefix none;
  none.pid = options.default_pid;
  const std::size_t saved = start_line;
  start_line = line_no;
  message_line(msg, none);
  start_line = saved;
  has_carry = true;
  carry_line = saved;
  carry = std::string(head);
  return true;
}

void StraceParser::Impl::call_line(std::string_view s, std::size_t name_begin, std::size_t open,
                                   const Prefix& pf) {
  ArgScan scan;
  std::string err;
  // Trailing commas are normal before "<unfinished ...>" ("rt_sigprocmask(SIG_SETMASK,
  // [],  <unfinished ...>"), and "wait4(-1,  <unfinished ...>) = ?" is a whole line.
  if (!scan_arguments(s, open + 1, ScanMode::Call, true, scan, err)) {
    error(std::move(err), s);
    return;
  }
  if (scan.dropped_trailing_empty && !scan.unfinished && !scan.detached) {
    error(fmt::format("empty argument {}", scan.args.size() + 1), s);
    return;
  }
  const std::string raw_name(s.substr(name_begin, open - name_begin));
  if (scan.close != npos) {
    TraceEvent e = make_event(EventKind::Call, pf.pid, pf.timestamp);
    e.call.raw_name = raw_name;
    e.call.args = std::move(scan.args);
    if (!parse_result(s.substr(scan.close + 1), e.call, err)) {
      error(std::move(err), s);
      return;
    }
    e.call.end_line = line_no;
    canonicalize(e.call);
    flush_pid(pf.pid);
    push(std::move(e));
    return;
  }
  const bool marker_last =
      (scan.unfinished || scan.detached) && trim(s.substr(scan.marker_end)).empty();
  if (!marker_last) {
    if (scan.open_bracket != 0) {
      error(fmt::format("unclosed '{}' (opened at {})", scan.open_bracket,
                        column_text(scan.open_column)),
            s);
    } else {
      error("missing ')' at the end of the call", s);
    }
    return;
  }
  flush_pid(pf.pid);
  Pending p;
  p.line = start_line;
  p.pid = pf.pid;
  p.timestamp = pf.timestamp;
  p.raw_name = raw_name;
  p.args_text = std::string(s.substr(open + 1, scan.first_marker - open - 1));
  p.args = std::move(scan.args);
  p.moved_to = scan.pid_changed_to;
  if (scan.detached) {
    emit_unfinished(p);
  } else if (pending.size() >= kMaxPending) {
    error(fmt::format("more than {} calls wait for their \"<... resumed>\" at once", kMaxPending),
          s);
    emit_unfinished(p);
  } else {
    pending.emplace(pf.pid, std::move(p));
  }
}

void StraceParser::Impl::resumed_line(std::string_view s, std::size_t body, const Prefix& pf) {
  // "<... NAME resumed>REST"
  const std::size_t name_begin = body + 5;
  std::size_t k = name_begin;
  while (k < s.size() && (is_ident_char(s[k]) || s[k] == '?')) ++k;
  constexpr std::string_view kResumed = " resumed>";
  if (k == name_begin || s.substr(k, kResumed.size()) != kResumed) {
    error("malformed \"<... NAME resumed>\"", s);
    return;
  }
  const std::string_view name = s.substr(name_begin, k - name_begin);
  const std::string_view rest = s.substr(k + kResumed.size());

  if (const auto early = early_clones.find(pf.pid); early != early_clones.end() &&
                                                    pending.count(pf.pid) == 0 &&
                                                    early->second.call.raw_name == name) {
    EarlyClone ec = std::move(early->second);
    early_clones.erase(early);
    TraceCall c;
    const std::size_t started = ec.call.line;
    if (complete(ec.call, rest, s, c) &&
        !(c.outcome == Outcome::Value && c.value == static_cast<std::uint64_t>(ec.child)))
      error(fmt::format(
                "the {} started at line {} returned {}, but pid {} had already run as its child",
                name, started,
                c.outcome == Outcome::Value ? std::to_string(c.signed_value()) : c.err_name,
                ec.child),
            s);
    return;
  }
  auto it = pending.find(pf.pid);
  if (it == pending.end()) {
    // "<pid changed to N ...>" without a "superseded" line (--quiet=thread-execve).
    it = pending.moved_to(pf.pid, name);
  }
  if (it == pending.end()) {
    // strace to a terminal drops the "[pid N]" prefixes while only one process is
    // traced: match a prefixed resumption with an unprefixed start and back.
    if (pf.has_pid) {
      it = pending.find(options.default_pid);
      if (it != pending.end() && it->second.raw_name != name) it = pending.end();
    } else if (pending.size() <= kMaxUnprefixedScan) {
      // Only while a single process is traced are prefixes left out, so
      // few calls wait; beyond that no unprefixed line is matched this way.
      auto found = pending.end();
      std::size_t count = 0;
      for (auto j = pending.begin(); j != pending.end(); ++j) {
        if (j->second.raw_name == name) {
          found = j;
          ++count;
        }
      }
      if (count == 1) it = found;
    }
  }
  if (it == pending.end()) {
    error(fmt::format("\"<... {} resumed>\" without an unfinished {} call in pid {}", name, name,
                      pf.pid),
          s);
    return;
  }
  if (it->second.raw_name != name) {
    error(fmt::format("\"<... {} resumed>\" but pid {} is in {} (line {})", name, pf.pid,
                      it->second.raw_name, it->second.line),
          s);
    return;
  }
  Pending p = std::move(it->second);
  pending.erase(it);
  TraceEvent e;
  e.kind = EventKind::Call;
  e.line = p.line;
  e.pid = pf.has_pid ? pf.pid : p.pid;
  e.timestamp = std::move(p.timestamp);
  if (complete(p, rest, s, e.call)) push(std::move(e));
}

void StraceParser::Impl::process_line(std::string_view s, std::string_view body, const Prefix& pf) {
  if (!starts_with(body, "+++ ") || !ends_with(body, " +++") || body.size() < 8) {
    error("malformed \"+++ ... +++\" line", s);
    return;
  }
  const std::string_view inner = trim(body.substr(4, body.size() - 8));
  constexpr std::string_view kExited = "exited with ";
  constexpr std::string_view kKilled = "killed by ";
  constexpr std::string_view kSuperseded = "superseded by execve in pid ";
  if (starts_with(inner, kExited)) {
    std::int64_t code = 0;
    if (!parse_int_arg(inner.substr(kExited.size()), code, nullptr) ||
        code < std::numeric_limits<int>::min() || code > std::numeric_limits<int>::max()) {
      error("malformed exit status", s);
      return;
    }
    flush_pid(pf.pid);
    TraceEvent e = make_event(EventKind::Exit, pf.pid, pf.timestamp);
    e.exit_code = static_cast<int>(code);
    push(std::move(e));
    return;
  }
  if (starts_with(inner, kKilled)) {
    std::string_view sig = inner.substr(kKilled.size());
    constexpr std::string_view kCore = "(core dumped)";
    bool core = false;
    if (ends_with(sig, kCore)) {
      core = true;
      sig = trim(sig.substr(0, sig.size() - kCore.size()));
    }
    if (sig.empty() || sig.find(' ') != npos) {
      error("malformed \"killed by\" line", s);
      return;
    }
    flush_pid(pf.pid);
    TraceEvent e = make_event(EventKind::Killed, pf.pid, pf.timestamp);
    e.signal = std::string(sig);
    e.core_dumped = core;
    push(std::move(e));
    return;
  }
  if (starts_with(inner, kSuperseded)) {
    std::int64_t other = 0;
    if (!parse_int_arg(inner.substr(kSuperseded.size()), other, nullptr) || other < 0 ||
        other > static_cast<std::int64_t>(std::numeric_limits<int>::max())) {
      error("malformed \"superseded\" line", s);
      return;
    }
    // This pid's own call (if any) ends here; the execve waiting in `other` goes on
    // under this pid.
    flush_pid(pf.pid);
    const int from = static_cast<int>(other);
    if (const auto it = pending.find(from); it != pending.end() && from != pf.pid) {
      Pending p = std::move(it->second);
      pending.erase(it);
      p.pid = pf.pid;
      pending.emplace(pf.pid, std::move(p));
    }
    TraceEvent e = make_event(EventKind::Superseded, pf.pid, pf.timestamp);
    e.other_pid = from;
    push(std::move(e));
    return;
  }
  error("unknown \"+++ ... +++\" event", s);
}

void StraceParser::Impl::signal_line(std::string_view s, std::string_view body, const Prefix& pf) {
  if (!starts_with(body, "--- ") || !ends_with(body, " ---") || body.size() < 8) {
    error("malformed \"--- ... ---\" signal line", s);
    return;
  }
  const std::string_view inner = trim(body.substr(4, body.size() - 8));
  TraceEvent e = make_event(EventKind::Signal, pf.pid, pf.timestamp);
  constexpr std::string_view kStopped = "stopped by ";
  std::string_view sig = inner;
  std::string_view text;
  if (starts_with(inner, kStopped)) {
    e.stopped = true;
    sig = trim(inner.substr(kStopped.size()));
  } else {
    const std::size_t sp = inner.find(' ');
    if (sp != npos) {
      sig = inner.substr(0, sp);
      text = trim(inner.substr(sp + 1));
    }
  }
  if (sig.empty() ||
      !std::all_of(sig.begin(), sig.end(), [](char c) { return is_ident_char(c); })) {
    error("malformed signal name", s);
    return;
  }
  e.signal = std::string(sig);
  e.text = std::string(text);
  push(std::move(e));
}

void StraceParser::Impl::message_line(std::string_view msg, const Prefix& pf) {
  msg = trim(msg);
  constexpr std::string_view kProcess = "Process ";
  if (starts_with(msg, kProcess)) {
    std::uint64_t v = 0;
    const std::size_t k = read_digits(msg, kProcess.size(), v);
    const std::string_view after = msg.substr(kProcess.size() + k);
    const bool attached = starts_with(after, " attached");
    const bool detached = starts_with(after, " detached");
    if (k > 0 && v <= static_cast<std::uint64_t>(std::numeric_limits<int>::max()) &&
        (attached || detached)) {
      TraceEvent e = make_event(attached ? EventKind::Attached : EventKind::Detached,
                                static_cast<int>(v), pf.timestamp);
      e.text = std::string(trim(after.substr(9)));
      push(std::move(e));
      return;
    }
  }
  TraceEvent e = make_event(EventKind::Note, pf.pid, pf.timestamp);
  e.text = std::string(msg);
  push(std::move(e));
}

StraceParser::StraceParser(ParserOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
}
StraceParser::~StraceParser() = default;
StraceParser::StraceParser(StraceParser&&) noexcept = default;
StraceParser& StraceParser::operator=(StraceParser&&) noexcept = default;

void StraceParser::feed(std::string_view line) { impl_->feed(line); }
void StraceParser::finish() {
  if (impl_->has_carry) {
    // A half line that was never continued: parse it as it stands, as the last line.
    const std::size_t last = impl_->line_no;
    impl_->line_no = last - 1;  // feed() counts one more line
    impl_->feed("");
    impl_->line_no = last;
  }
  impl_->flush_all();
  impl_->release_held();
}

std::optional<ParseItem> StraceParser::next() {
  if (impl_->ready.empty()) return std::nullopt;
  ParseItem item = std::move(impl_->ready.front());
  impl_->ready.pop_front();
  return item;
}

bool StraceParser::has_next() const noexcept { return !impl_->ready.empty(); }
std::size_t StraceParser::lines_read() const noexcept { return impl_->line_no; }
std::size_t StraceParser::pending_calls() const noexcept { return impl_->pending.size(); }

std::vector<ParseItem> parse_strace_text(std::string_view text, ParserOptions options) {
  StraceParser parser(options);
  std::vector<ParseItem> items;
  auto drain = [&] {
    while (auto item = parser.next()) items.push_back(std::move(*item));
  };
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == npos) end = text.size();
    parser.feed(text.substr(start, end - start));
    drain();
    start = end + 1;
  }
  parser.finish();
  drain();
  return items;
}

TaskChange task_change(const TraceCall& c) noexcept {
  TaskChange t;
  if (creates_task(c.name)) {
    if (c.outcome != Outcome::Value || c.signed_value() <= 0 ||
        c.signed_value() > std::numeric_limits<int>::max())
      return t;
    t.child = static_cast<int>(c.signed_value());
    // CLONE_VM as a whole flag name in any argument (clone's flags, clone3's
    // struct): not CLONE_VMx.
    bool shares = c.name == "vfork";
    for (const std::string& a : c.args)
      for (std::size_t pos = a.find("CLONE_VM"); !shares && pos != std::string::npos;
           pos = a.find("CLONE_VM", pos + 1)) {
        const std::size_t after = pos + 8;
        shares = after >= a.size() ||
                 !(std::isalnum(static_cast<unsigned char>(a[after])) != 0 || a[after] == '_');
      }
    t.kind = shares ? TaskChange::Kind::SharesMm : TaskChange::Kind::CopiesMm;
    return t;
  }
  if ((c.name == "execve" || c.name == "execveat") && c.outcome == Outcome::Value && c.value == 0)
    t.kind = TaskChange::Kind::Exec;
  return t;
}

std::string exec_path(const TraceCall& c) {
  const bool at = c.name == "execveat";
  if (!(c.name == "execve" || at) || c.args.size() < (at ? 2U : 1U)) return {};
  StringArg name;
  if (!parse_string_arg(c.args[at ? 1 : 0], name) || name.truncated || name.is_null) return {};
  if (name.bytes.find('\0') != std::string::npos) return {};
  if (name.bytes.starts_with("/")) return name.bytes;
  if (!at) return {};  // relative to a working directory the call does not show
  FdArg dir;
  if (!parse_fd_arg(c.args[0], dir) || !dir.has_path || dir.deleted || !dir.path.starts_with("/"))
    return {};
  if (name.bytes.empty())
    return c.args.size() >= 5 && c.args[4].find("AT_EMPTY_PATH") != std::string::npos
               ? dir.path
               : std::string();
  return dir.path + (dir.path.ends_with("/") ? "" : "/") + name.bytes;
}

bool maps_behind_the_trace(const TraceCall& c, std::string* what) {
  if (c.outcome != Outcome::Value) return false;
  auto say = [&](const char* w) {
    if (what != nullptr) *what = w;
    return true;
  };
  if (c.name == "io_setup") return say("io_setup mapped an AIO ring");
  if (c.name != "arch_prctl" || c.args.empty()) return false;
  const std::string& op = c.args[0];
  std::uint64_t code = 0;
  if (op.starts_with("ARCH_SHSTK_ENABLE")) code = 0x5001;
  if (op.starts_with("ARCH_MAP_VDSO")) code = 0x2001;
  if (code == 0 && !parse_int_arg(op.substr(0, op.find(' ')), code)) return false;
  if (code == 0x5001 && c.args.size() >= 2)
    return say("arch_prctl(ARCH_SHSTK_ENABLE) mapped a shadow stack");
  if (code >= 0x2001 && code <= 0x2003) return say("arch_prctl(ARCH_MAP_VDSO_*) mapped a vDSO");
  return false;
}

}  // namespace vmseal::trace
