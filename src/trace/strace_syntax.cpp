// The strace reader's lexical layer: argument splitting, -y annotations, escapes,
// integers, flag expressions and the symbol tables (Linux x86-64 values).
#include "vmseal/trace/strace.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "strace_detail.hpp"
#include "vmseal/kernel/abi.hpp"

namespace vmseal::trace {
namespace detail {

std::string_view trim_left(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  return s.substr(i);
}

std::string_view trim_right(std::string_view s) noexcept {
  std::size_t n = s.size();
  while (n > 0 && is_space(s[n - 1])) --n;
  return s.substr(0, n);
}

std::string_view trim(std::string_view s) noexcept { return trim_right(trim_left(s)); }

std::string column_text(std::size_t index) { return fmt::format("column {}", index + 1); }

std::size_t skip_string(std::string_view s, std::size_t i) noexcept {
  std::size_t j = i + 1;
  while (j < s.size()) {
    if (s[j] == '\\') {
      j += 2;
    } else if (s[j] == '"') {
      return j + 1;
    } else {
      ++j;
    }
  }
  return npos;
}

bool opens_annotation(std::string_view s, std::size_t i) noexcept {
  if (i == 0 || i + 1 >= s.size()) return false;
  if (!is_ident_char(s[i - 1])) return false;
  const char next = s[i + 1];
  return next != '<' && next != '=' && next != ' ' && next != '>';
}

namespace {

std::size_t find_annotation_end_pass(std::string_view s, std::size_t open,
                                     bool track_brackets) noexcept {
  int depth = 1;
  int square = 0;
  for (std::size_t j = open + 1; j < s.size(); ++j) {
    const char c = s[j];
    if (c == '\\') {
      ++j;
      continue;
    }
    if (c == '"') {
      const std::size_t k = skip_string(s, j);
      if (k == npos) return npos;
      j = k - 1;
      continue;
    }
    if (track_brackets) {
      if (c == '[') {
        ++square;
        continue;
      }
      if (c == ']' && square > 0) {
        --square;
        continue;
      }
      if (square > 0) continue;  // socket details: "[1.2.3.4:5->6.7.8.9:10]"
    }
    if (c == '<') {
      ++depth;
    } else if (c == '>') {
      if (--depth == 0) return j;
    }
  }
  return npos;
}

}  // namespace

std::size_t find_annotation_end(std::string_view s, std::size_t open) noexcept {
  std::size_t end = find_annotation_end_pass(s, open, true);
  // A file name with an unmatched '[' defeats bracket tracking: retry without it.
  if (end == npos) end = find_annotation_end_pass(s, open, false);
  return end;
}

void unescape(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '\\' || i + 1 >= s.size()) {
      out.push_back(c);
      continue;
    }
    const char e = s[++i];
    switch (e) {
      case 'n':
        out.push_back('\n');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'x': {
        unsigned v = 0;
        std::size_t k = 0;
        while (k < 2 && i + 1 < s.size() && is_hex_digit(s[i + 1])) {
          const char h = s[++i];
          v = v * 16 + static_cast<unsigned>(is_digit(h) ? h - '0' : (h | 0x20) - 'a' + 10);
          ++k;
        }
        if (k == 0) {
          out.push_back('\\');
          out.push_back('x');
        } else {
          out.push_back(static_cast<char>(v));
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          unsigned v = static_cast<unsigned>(e - '0');
          for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k)
            v = v * 8 + static_cast<unsigned>(s[++i] - '0');
          out.push_back(static_cast<char>(v & 0xff));
        } else {
          out.push_back(e);  // \" \\ and anything unexpected: the character itself
        }
        break;
    }
  }
}

Annotation decode_annotation(std::string_view inner, std::string_view after) {
  Annotation a;
  std::string_view path = inner;
  // -yy devices: "/dev/null<char 1:3>".
  if (!path.empty() && path.back() == '>') {
    int depth = 0;
    for (std::size_t j = path.size(); j-- > 0;) {
      if (j > 0 && path[j - 1] == '\\') continue;
      if (path[j] == '>') ++depth;
      if (path[j] == '<' && --depth == 0) {
        a.device = std::string(path.substr(j + 1, path.size() - j - 2));
        path = path.substr(0, j);
        break;
      }
    }
  }
  constexpr std::string_view kInside = " (deleted)";
  if (path.size() > kInside.size() && path.substr(path.size() - kInside.size()) == kInside) {
    a.deleted = true;
    path.remove_suffix(kInside.size());
  }
  constexpr std::string_view kAfter = "(deleted)";
  if (after.substr(0, kAfter.size()) == kAfter) {
    a.deleted = true;
    a.consumed_after = kAfter.size();
  }
  unescape(path, a.path);
  return a;
}

bool strip_comments(std::string_view s, std::string& out, std::string* error) {
  out.clear();
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t c = s.find("/*", i);
    if (c == npos) {
      out.append(s.substr(i));
      break;
    }
    out.append(s.substr(i, c - i));
    const std::size_t e = s.find("*/", c + 2);
    if (e == npos) {
      if (error) *error = fmt::format("unterminated comment at {}", column_text(c));
      return false;
    }
    out.push_back(' ');
    i = e + 2;
  }
  const std::string_view t = trim(out);
  out = std::string(t);
  return true;
}

namespace {

constexpr std::string_view kUnfinishedMarker = "<unfinished ...>";
constexpr std::string_view kDetachedMarker = "<detached ...>";

char closer_for(char open) noexcept {
  switch (open) {
    case '(':
      return ')';
    case '[':
      return ']';
    default:
      return '}';
  }
}

// One scan_arguments() pass: the brackets open at i_, and the argument being
// collected (strace's markers left out), which continues from copy_from_.
class ArgScanner {
 public:
  ArgScanner(std::string_view s, std::size_t pos, ScanMode mode, bool allow_trailing_empty,
             ArgScan& out, std::string& error)
      : s_(s),
        mode_(mode),
        allow_trailing_empty_(allow_trailing_empty),
        out_(out),
        error_(error),
        copy_from_(pos),
        i_(pos) {}

  bool run() {
    while (i_ < s_.size()) {
      const char c = s_[i_];
      Step step = Step::Next;
      if (c == '"')
        step = skip_string_literal();
      else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*')
        step = skip_comment();
      else if (c == '(' || c == '[' || c == '{')
        open_bracket(c);
      else if (c == ')' || c == ']' || c == '}')
        step = close_bracket(c);
      else if (c == '<')
        skip_angle();
      else if (c == ',' && stack_.empty())
        step = comma();
      else
        ++i_;
      if (step != Step::Next) return step == Step::Closed;
    }
    return finish_text();
  }

 private:
  // Closed: the call's ')' ended the scan.
  enum class Step { Next, Closed, Failed };

  bool finish_arg(std::size_t end, bool last) {
    cur_.append(s_.substr(copy_from_, end - copy_from_));
    const std::string_view t = trim(cur_);
    if (t.empty()) {
      if (last && !after_comma_) {
        cur_.clear();
        return true;  // "()" or nothing at all: no argument
      }
      if (last && allow_trailing_empty_) {
        out_.dropped_trailing_empty = true;
        cur_.clear();
        return true;
      }
      error_ = fmt::format("empty argument {} (at {})", out_.args.size() + 1, column_text(end));
      return false;
    }
    if (out_.args.size() == kMaxCallArgs) {
      // No system call has more than 6 (a struct or an array is one): more
      // is not strace's, and one line once carried 16 million.
      error_ = fmt::format("more than {} arguments (a documented limit)", kMaxCallArgs);
      return false;
    }
    out_.args.emplace_back(t);
    cur_.clear();
    return true;
  }

  Step skip_string_literal() {
    const std::size_t j = skip_string(s_, i_);
    if (j == npos) {
      error_ = fmt::format("unterminated string (opened at {})", column_text(i_));
      return Step::Failed;
    }
    i_ = j;
    return Step::Next;
  }

  Step skip_comment() {
    const std::size_t e = s_.find("*/", i_ + 2);
    if (e == npos) {
      error_ = fmt::format("unterminated comment (opened at {})", column_text(i_));
      return Step::Failed;
    }
    i_ = e + 2;
    return Step::Next;
  }

  void open_bracket(char c) {
    stack_.push_back(c);
    stack_pos_.push_back(i_);
    ++i_;
  }

  Step close_bracket(char c) {
    if (stack_.empty()) {
      if (c == ')' && mode_ == ScanMode::Call) {
        if (!finish_arg(i_, true)) return Step::Failed;
        out_.close = i_;
        return Step::Closed;
      }
      error_ = fmt::format("unbalanced '{}' at {}", c, column_text(i_));
      return Step::Failed;
    }
    if (closer_for(stack_.back()) != c) {
      error_ = fmt::format("'{}' at {} does not match '{}' opened at {}", c, column_text(i_),
                           stack_.back(), column_text(stack_pos_.back()));
      return Step::Failed;
    }
    stack_.pop_back();
    stack_pos_.pop_back();
    ++i_;
    return Step::Next;
  }

  // A marker of `len` bytes at i_: left out of the argument.
  void take_marker(std::size_t len) {
    cur_.append(s_.substr(copy_from_, i_ - copy_from_));
    if (out_.first_marker == npos) out_.first_marker = i_;
    i_ += len;
    copy_from_ = i_;
    out_.marker_end = i_;
  }

  // A thread's execve whose pid changes to the leader's (strace's threaded_execve).
  bool take_pid_changed(std::string_view rest) {
    constexpr std::string_view kPidChanged = "<pid changed to ";
    if (rest.substr(0, kPidChanged.size()) != kPidChanged) return false;
    std::size_t k = kPidChanged.size();
    int pid = 0;
    while (k < rest.size() && is_digit(rest[k]) && pid < 100000000)
      pid = pid * 10 + (rest[k++] - '0');
    constexpr std::string_view kEnd = " ...>";
    if (k <= kPidChanged.size() || rest.substr(k, kEnd.size()) != kEnd) return false;
    take_marker(k + kEnd.size());
    out_.unfinished = true;
    out_.pid_changed_to = pid;
    return true;
  }

  // '<': a marker, a -y annotation, or a plain character.
  void skip_angle() {
    const std::string_view rest = s_.substr(i_);
    if (rest.substr(0, kUnfinishedMarker.size()) == kUnfinishedMarker) {
      take_marker(kUnfinishedMarker.size());
      out_.unfinished = true;
      return;
    }
    if (rest.substr(0, kDetachedMarker.size()) == kDetachedMarker) {
      take_marker(kDetachedMarker.size());
      out_.detached = true;
      return;
    }
    if (take_pid_changed(rest)) return;
    if (annotations_possible_ && opens_annotation(s_, i_)) {
      const std::size_t e = find_annotation_end(s_, i_);
      if (e != npos) {
        i_ = e + 1;
        return;
      }
      annotations_possible_ = false;  // keeps the scan linear on hostile text
    }
    ++i_;
  }

  Step comma() {
    if (!finish_arg(i_, false)) return Step::Failed;
    after_comma_ = true;
    ++i_;
    copy_from_ = i_;
    return Step::Next;
  }

  // The end of the text, with no call's ')' seen.
  bool finish_text() {
    if (!stack_.empty()) {
      out_.open_bracket = stack_.back();
      out_.open_column = stack_pos_.back();
      if (mode_ == ScanMode::Whole) {
        error_ = fmt::format("unclosed '{}' (opened at {})", stack_.back(),
                             column_text(stack_pos_.back()));
        return false;
      }
    }
    return finish_arg(s_.size(), true);
  }

  const std::string_view s_;
  const ScanMode mode_;
  const bool allow_trailing_empty_;
  ArgScan& out_;
  std::string& error_;
  std::string stack_;                   // open brackets
  std::vector<std::size_t> stack_pos_;  // where they opened
  std::string cur_;                     // the argument being collected, markers removed
  std::size_t copy_from_;
  std::size_t i_;
  bool after_comma_ = false;
  bool annotations_possible_ = true;  // false once one failed to close on this text
};

}  // namespace

bool scan_arguments(std::string_view s, std::size_t pos, ScanMode mode, bool allow_trailing_empty,
                    ArgScan& out, std::string& error) {
  out = ArgScan{};
  return ArgScanner(s, pos, mode, allow_trailing_empty, out, error).run();
}

// ---- system calls strace 6.1 does not know -----------------------------------------

namespace {

struct NewSyscall {
  unsigned nr;
  std::string_view name;
  std::size_t nargs;
};

// x86-64 numbers from arch/x86/entry/syscalls/syscall_64.tbl (Linux 6.18); strace 6.1
// knows the table up to 450.
constexpr NewSyscall kNewSyscalls[] = {
    {451, "cachestat", 4},         {452, "fchmodat2", 4},        {453, "map_shadow_stack", 3},
    {454, "futex_wake", 4},        {455, "futex_wait", 6},       {456, "futex_requeue", 4},
    {457, "statmount", 4},         {458, "listmount", 4},        {459, "lsm_get_self_attr", 4},
    {460, "lsm_set_self_attr", 4}, {461, "lsm_list_modules", 3}, {462, "mseal", 3},
    {463, "setxattrat", 6},        {464, "getxattrat", 6},       {465, "listxattrat", 5},
    {466, "removexattrat", 4},     {467, "open_tree_attr", 5},   {468, "file_getattr", 5},
    {469, "file_setattr", 5},
};

}  // namespace

bool canonical_syscall(std::string_view raw, std::string& name, std::size_t& nargs) {
  constexpr std::string_view kPrefix = "syscall_";
  if (raw.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view num = raw.substr(kPrefix.size());
  unsigned base = 10;
  if (num.size() > 2 && num[0] == '0' && (num[1] == 'x' || num[1] == 'X')) {
    base = 16;
    num.remove_prefix(2);
  }
  if (num.empty() || num.size() > 8) return false;
  unsigned long nr = 0;
  for (const char c : num) {
    unsigned d = 0;
    if (is_digit(c)) {
      d = static_cast<unsigned>(c - '0');
    } else if (base == 16 && is_hex_digit(c)) {
      d = static_cast<unsigned>((c | 0x20) - 'a' + 10);
    } else {
      return false;
    }
    nr = nr * base + d;
  }
  for (const NewSyscall& s : kNewSyscalls) {
    if (s.nr == nr) {
      name = std::string(s.name);
      nargs = s.nargs;
      return true;
    }
  }
  return false;
}

}  // namespace detail

using namespace detail;

// ---- public helpers -----------------------------------------------------------------

bool split_arguments(std::string_view text, std::vector<std::string>& out, std::string* error) {
  ArgScan scan;
  std::string err;
  if (!scan_arguments(text, 0, ScanMode::Whole, false, scan, err)) {
    if (error) *error = std::move(err);
    return false;
  }
  out = std::move(scan.args);
  return true;
}

namespace {

// Magnitude and sign of an integer literal (comments already removed, trimmed).
bool parse_magnitude(std::string_view t, std::uint64_t& mag, bool& neg, std::string* error) {
  const std::string shown(t.substr(0, 64));
  neg = false;
  mag = 0;
  if (t == "NULL") return true;
  std::string_view d = t;
  if (!d.empty() && (d[0] == '-' || d[0] == '+')) {
    neg = d[0] == '-';
    d.remove_prefix(1);
  }
  unsigned base = 10;
  if (d.size() > 2 && d[0] == '0' && (d[1] == 'x' || d[1] == 'X')) {
    base = 16;
    d.remove_prefix(2);
  } else if (d.size() > 1 && d[0] == '0') {
    base = 8;
    d.remove_prefix(1);
  }
  if (d.empty()) {
    if (error) *error = fmt::format("not an integer: '{}'", shown);
    return false;
  }
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  for (const char c : d) {
    unsigned v = 0;
    if (is_digit(c)) {
      v = static_cast<unsigned>(c - '0');
    } else if (is_hex_digit(c)) {
      v = static_cast<unsigned>((c | 0x20) - 'a' + 10);
    } else {
      v = 99;
    }
    if (v >= base) {
      if (error) *error = fmt::format("not an integer: '{}'", shown);
      return false;
    }
    if (mag > (kMax - v) / base) {
      if (error) *error = fmt::format("integer out of range: '{}'", shown);
      return false;
    }
    mag = mag * base + v;
  }
  return true;
}

bool parse_integer(std::string_view text, std::uint64_t& mag, bool& neg, std::string* error) {
  std::string clean;
  if (!strip_comments(text, clean, error)) return false;
  if (clean.empty()) {
    if (error) *error = "empty integer";
    return false;
  }
  return parse_magnitude(clean, mag, neg, error);
}

constexpr std::uint64_t kInt64MinMagnitude = std::uint64_t{1} << 63;

}  // namespace

bool parse_int_arg(std::string_view text, std::uint64_t& out, std::string* error) {
  std::uint64_t mag = 0;
  bool neg = false;
  if (!parse_integer(text, mag, neg, error)) return false;
  if (neg && mag > kInt64MinMagnitude) {
    if (error) *error = fmt::format("integer out of range: '{}'", trim(text.substr(0, 64)));
    return false;
  }
  out = neg ? std::uint64_t{0} - mag : mag;
  return true;
}

bool parse_int_arg(std::string_view text, std::int64_t& out, std::string* error) {
  std::uint64_t mag = 0;
  bool neg = false;
  if (!parse_integer(text, mag, neg, error)) return false;
  if (neg ? mag > kInt64MinMagnitude : mag >= kInt64MinMagnitude) {
    if (error)
      *error =
          fmt::format("integer out of range for a signed value: '{}'", trim(text.substr(0, 64)));
    return false;
  }
  out = neg ? (mag == kInt64MinMagnitude ? std::numeric_limits<std::int64_t>::min()
                                         : -static_cast<std::int64_t>(mag))
            : static_cast<std::int64_t>(mag);
  return true;
}

// ---- flag tables --------------------------------------------------------------------

namespace {

constexpr unsigned kHugeShift = abi::MAP_HUGE_SHIFT;  // the same as SHM_HUGE_SHIFT
constexpr std::uint64_t huge(unsigned log2) { return std::uint64_t{log2} << kHugeShift; }

constexpr FlagSymbol kProt[] = {
    {"PROT_NONE", abi::PROT_NONE},       {"PROT_READ", abi::PROT_READ},
    {"PROT_WRITE", abi::PROT_WRITE},     {"PROT_EXEC", abi::PROT_EXEC},
    {"PROT_SEM", abi::PROT_SEM},         {"PROT_GROWSDOWN", abi::PROT_GROWSDOWN},
    {"PROT_GROWSUP", abi::PROT_GROWSUP},
};

// In strace's order for x86-64 (src/xlat/mmap_flags.in): flags print in it.
constexpr FlagSymbol kMap[] = {
    {"MAP_FILE", abi::MAP_FILE},
    {"MAP_SHARED", abi::MAP_SHARED},
    {"MAP_PRIVATE", abi::MAP_PRIVATE},
    {"MAP_SHARED_VALIDATE", abi::MAP_SHARED_VALIDATE},
    {"MAP_DROPPABLE", abi::MAP_DROPPABLE},
    {"MAP_FIXED", abi::MAP_FIXED},
    {"MAP_ANONYMOUS", abi::MAP_ANONYMOUS},
    {"MAP_ANON", abi::MAP_ANON},
    {"MAP_32BIT", abi::MAP_32BIT},
    {"MAP_ABOVE4G", abi::MAP_ABOVE4G},
    {"MAP_NORESERVE", abi::MAP_NORESERVE},
    {"MAP_POPULATE", abi::MAP_POPULATE},
    {"MAP_NONBLOCK", abi::MAP_NONBLOCK},
    {"MAP_GROWSDOWN", abi::MAP_GROWSDOWN},
    {"MAP_DENYWRITE", abi::MAP_DENYWRITE},
    {"MAP_EXECUTABLE", abi::MAP_EXECUTABLE},
    {"MAP_LOCKED", abi::MAP_LOCKED},
    {"MAP_STACK", abi::MAP_STACK},
    {"MAP_HUGETLB", abi::MAP_HUGETLB},
    {"MAP_SYNC", abi::MAP_SYNC},
    {"MAP_UNINITIALIZED", abi::MAP_UNINITIALIZED},
    {"MAP_FIXED_NOREPLACE", abi::MAP_FIXED_NOREPLACE},
    {"MAP_HUGE_16KB", huge(14)},
    {"MAP_HUGE_64KB", huge(16)},
    {"MAP_HUGE_512KB", huge(19)},
    {"MAP_HUGE_1MB", huge(20)},
    {"MAP_HUGE_2MB", huge(21)},
    {"MAP_HUGE_8MB", huge(23)},
    {"MAP_HUGE_16MB", huge(24)},
    {"MAP_HUGE_32MB", huge(25)},
    {"MAP_HUGE_256MB", huge(28)},
    {"MAP_HUGE_512MB", huge(29)},
    {"MAP_HUGE_1GB", huge(30)},
    {"MAP_HUGE_2GB", huge(31)},
    {"MAP_HUGE_16GB", huge(34)},
};

constexpr FlagSymbol kMremap[] = {
    {"MREMAP_MAYMOVE", abi::MREMAP_MAYMOVE},
    {"MREMAP_FIXED", abi::MREMAP_FIXED},
    {"MREMAP_DONTUNMAP", abi::MREMAP_DONTUNMAP},
};

constexpr FlagSymbol kMadvise[] = {
    {"MADV_NORMAL", abi::MADV_NORMAL},
    {"MADV_RANDOM", abi::MADV_RANDOM},
    {"MADV_SEQUENTIAL", abi::MADV_SEQUENTIAL},
    {"MADV_WILLNEED", abi::MADV_WILLNEED},
    {"MADV_DONTNEED", abi::MADV_DONTNEED},
    {"MADV_FREE", abi::MADV_FREE},
    {"MADV_REMOVE", abi::MADV_REMOVE},
    {"MADV_DONTFORK", abi::MADV_DONTFORK},
    {"MADV_DOFORK", abi::MADV_DOFORK},
    {"MADV_MERGEABLE", abi::MADV_MERGEABLE},
    {"MADV_UNMERGEABLE", abi::MADV_UNMERGEABLE},
    {"MADV_HUGEPAGE", abi::MADV_HUGEPAGE},
    {"MADV_NOHUGEPAGE", abi::MADV_NOHUGEPAGE},
    {"MADV_DONTDUMP", abi::MADV_DONTDUMP},
    {"MADV_DODUMP", abi::MADV_DODUMP},
    {"MADV_WIPEONFORK", abi::MADV_WIPEONFORK},
    {"MADV_KEEPONFORK", abi::MADV_KEEPONFORK},
    {"MADV_COLD", abi::MADV_COLD},
    {"MADV_PAGEOUT", abi::MADV_PAGEOUT},
    {"MADV_POPULATE_READ", abi::MADV_POPULATE_READ},
    {"MADV_POPULATE_WRITE", abi::MADV_POPULATE_WRITE},
    {"MADV_DONTNEED_LOCKED", abi::MADV_DONTNEED_LOCKED},
    {"MADV_COLLAPSE", abi::MADV_COLLAPSE},
    {"MADV_HWPOISON", abi::MADV_HWPOISON},
    {"MADV_SOFT_OFFLINE", abi::MADV_SOFT_OFFLINE},
    {"MADV_GUARD_INSTALL", abi::MADV_GUARD_INSTALL},
    {"MADV_GUARD_REMOVE", abi::MADV_GUARD_REMOVE},
};

constexpr FlagSymbol kMlockall[] = {
    {"MCL_CURRENT", abi::MCL_CURRENT},
    {"MCL_FUTURE", abi::MCL_FUTURE},
    {"MCL_ONFAULT", abi::MCL_ONFAULT},
};

constexpr FlagSymbol kMlock2[] = {
    {"MLOCK_ONFAULT", abi::MLOCK_ONFAULT},
};

constexpr FlagSymbol kMsync[] = {
    {"MS_ASYNC", abi::MS_ASYNC},
    {"MS_INVALIDATE", abi::MS_INVALIDATE},
    {"MS_SYNC", abi::MS_SYNC},
};

constexpr FlagSymbol kShmat[] = {
    {"SHM_RDONLY", abi::SHM_RDONLY},
    {"SHM_RND", abi::SHM_RND},
    {"SHM_REMAP", abi::SHM_REMAP},
    {"SHM_EXEC", abi::SHM_EXEC},
};

constexpr FlagSymbol kShmget[] = {
    {"IPC_CREAT", abi::IPC_CREAT},     {"IPC_EXCL", abi::IPC_EXCL},
    {"SHM_HUGETLB", abi::SHM_HUGETLB}, {"SHM_NORESERVE", abi::SHM_NORESERVE},
    {"SHM_HUGE_64KB", huge(16)},       {"SHM_HUGE_512KB", huge(19)},
    {"SHM_HUGE_1MB", huge(20)},        {"SHM_HUGE_2MB", huge(21)},
    {"SHM_HUGE_8MB", huge(23)},        {"SHM_HUGE_16MB", huge(24)},
    {"SHM_HUGE_32MB", huge(25)},       {"SHM_HUGE_256MB", huge(28)},
    {"SHM_HUGE_512MB", huge(29)},      {"SHM_HUGE_1GB", huge(30)},
    {"SHM_HUGE_2GB", huge(31)},        {"SHM_HUGE_16GB", huge(34)},
};

constexpr FlagSymbol kPkey[] = {
    {"PKEY_UNRESTRICTED", abi::PKEY_UNRESTRICTED},
    {"PKEY_DISABLE_ACCESS", abi::PKEY_DISABLE_ACCESS},
    {"PKEY_DISABLE_WRITE", abi::PKEY_DISABLE_WRITE},
    {"PKEY_DISABLE_EXECUTE", abi::PKEY_DISABLE_EXECUTE},  // printed by strace on every architecture
};

// strace 6.1 knows neither: "prctl(0x41 /* PR_??? */, 0x1, 0, 0, 0)".
constexpr FlagSymbol kPrctl[] = {
    {"PR_SET_MDWE", abi::PR_SET_MDWE},
    {"PR_GET_MDWE", abi::PR_GET_MDWE},
};

constexpr FlagSymbol kMdwe[] = {
    {"PR_MDWE_REFUSE_EXEC_GAIN", abi::PR_MDWE_REFUSE_EXEC_GAIN},
    {"PR_MDWE_NO_INHERIT", abi::PR_MDWE_NO_INHERIT},
};

// The resources of setrlimit and prlimit64 (include/uapi/asm-generic/resource.h).
constexpr FlagSymbol kRlimit[] = {
    {"RLIMIT_CPU", 0},       {"RLIMIT_FSIZE", 1}, {"RLIMIT_DATA", 2},    {"RLIMIT_STACK", 3},
    {"RLIMIT_CORE", 4},      {"RLIMIT_RSS", 5},   {"RLIMIT_NPROC", 6},   {"RLIMIT_NOFILE", 7},
    {"RLIMIT_MEMLOCK", 8},   {"RLIMIT_AS", 9},    {"RLIMIT_LOCKS", 10},  {"RLIMIT_SIGPENDING", 11},
    {"RLIMIT_MSGQUEUE", 12}, {"RLIMIT_NICE", 13}, {"RLIMIT_RTPRIO", 14}, {"RLIMIT_RTTIME", 15},
};

// Capability sets print as "1<<CAP_IPC_LOCK|1<<CAP_SYS_RAWIO": each name is
// a shift (include/uapi/linux/capability.h, up to CAP_LAST_CAP of 6.18).
constexpr FlagSymbol kCapShifts[] = {
    {"CAP_CHOWN", 0},
    {"CAP_DAC_OVERRIDE", 1},
    {"CAP_DAC_READ_SEARCH", 2},
    {"CAP_FOWNER", 3},
    {"CAP_FSETID", 4},
    {"CAP_KILL", 5},
    {"CAP_SETGID", 6},
    {"CAP_SETUID", 7},
    {"CAP_SETPCAP", 8},
    {"CAP_LINUX_IMMUTABLE", 9},
    {"CAP_NET_BIND_SERVICE", 10},
    {"CAP_NET_BROADCAST", 11},
    {"CAP_NET_ADMIN", 12},
    {"CAP_NET_RAW", 13},
    {"CAP_IPC_LOCK", 14},
    {"CAP_IPC_OWNER", 15},
    {"CAP_SYS_MODULE", 16},
    {"CAP_SYS_RAWIO", 17},
    {"CAP_SYS_CHROOT", 18},
    {"CAP_SYS_PTRACE", 19},
    {"CAP_SYS_PACCT", 20},
    {"CAP_SYS_ADMIN", 21},
    {"CAP_SYS_BOOT", 22},
    {"CAP_SYS_NICE", 23},
    {"CAP_SYS_RESOURCE", 24},
    {"CAP_SYS_TIME", 25},
    {"CAP_SYS_TTY_CONFIG", 26},
    {"CAP_MKNOD", 27},
    {"CAP_LEASE", 28},
    {"CAP_AUDIT_WRITE", 29},
    {"CAP_AUDIT_CONTROL", 30},
    {"CAP_SETFCAP", 31},
    {"CAP_MAC_OVERRIDE", 32},
    {"CAP_MAC_ADMIN", 33},
    {"CAP_SYSLOG", 34},
    {"CAP_WAKE_ALARM", 35},
    {"CAP_BLOCK_SUSPEND", 36},
    {"CAP_AUDIT_READ", 37},
    {"CAP_PERFMON", 38},
    {"CAP_BPF", 39},
    {"CAP_CHECKPOINT_RESTORE", 40},
};

// memfd_create(2), memfd_secret(2) and fcntl(2)'s seals. strace 6.1 prints
// MFD_NOEXEC_SEAL, MFD_EXEC and F_SEAL_EXEC (Linux 6.3) as numbers; later
// versions print the names, which are read too.
constexpr FlagSymbol kMemfd[] = {
    {"MFD_CLOEXEC", abi::MFD_CLOEXEC}, {"MFD_ALLOW_SEALING", abi::MFD_ALLOW_SEALING},
    {"MFD_HUGETLB", abi::MFD_HUGETLB}, {"MFD_NOEXEC_SEAL", abi::MFD_NOEXEC_SEAL},
    {"MFD_EXEC", abi::MFD_EXEC},
};
constexpr FlagSymbol kMemfdSecret[] = {{"O_CLOEXEC", abi::OPEN_CLOEXEC}};
constexpr FlagSymbol kFcntl[] = {
    {"F_ADD_SEALS", abi::ADD_SEALS},
    {"F_GET_SEALS", abi::GET_SEALS},
};
constexpr FlagSymbol kSeals[] = {
    {"F_SEAL_SEAL", abi::SEAL_SEAL},
    {"F_SEAL_SHRINK", abi::SEAL_SHRINK},
    {"F_SEAL_GROW", abi::SEAL_GROW},
    {"F_SEAL_WRITE", abi::SEAL_WRITE},
    {"F_SEAL_FUTURE_WRITE", abi::SEAL_FUTURE_WRITE},
    {"F_SEAL_EXEC", abi::SEAL_EXEC},
};

// userfaultfd(2)'s flags, in strace's order: "UFFD_USER_MODE_ONLY|O_NONBLOCK|O_CLOEXEC".
constexpr FlagSymbol kUserfaultfd[] = {
    {"UFFD_USER_MODE_ONLY", abi::UFFD_USER_MODE_ONLY},
    {"O_NONBLOCK", abi::UFFD_NONBLOCK},
    {"O_CLOEXEC", abi::UFFD_CLOEXEC},
};

// include/uapi/linux/userfaultfd.h of 6.18; strace 6.1 names the first 13
// and prints the rest in hex ("|0x1e000").
constexpr FlagSymbol kUffdFeature[] = {
    {"UFFD_FEATURE_PAGEFAULT_FLAG_WP", abi::UFFD_FEATURE_PAGEFAULT_FLAG_WP},
    {"UFFD_FEATURE_EVENT_FORK", abi::UFFD_FEATURE_EVENT_FORK},
    {"UFFD_FEATURE_EVENT_REMAP", abi::UFFD_FEATURE_EVENT_REMAP},
    {"UFFD_FEATURE_EVENT_REMOVE", abi::UFFD_FEATURE_EVENT_REMOVE},
    {"UFFD_FEATURE_MISSING_HUGETLBFS", abi::UFFD_FEATURE_MISSING_HUGETLBFS},
    {"UFFD_FEATURE_MISSING_SHMEM", abi::UFFD_FEATURE_MISSING_SHMEM},
    {"UFFD_FEATURE_EVENT_UNMAP", abi::UFFD_FEATURE_EVENT_UNMAP},
    {"UFFD_FEATURE_SIGBUS", abi::UFFD_FEATURE_SIGBUS},
    {"UFFD_FEATURE_THREAD_ID", abi::UFFD_FEATURE_THREAD_ID},
    {"UFFD_FEATURE_MINOR_HUGETLBFS", abi::UFFD_FEATURE_MINOR_HUGETLBFS},
    {"UFFD_FEATURE_MINOR_SHMEM", abi::UFFD_FEATURE_MINOR_SHMEM},
    {"UFFD_FEATURE_EXACT_ADDRESS", abi::UFFD_FEATURE_EXACT_ADDRESS},
    {"UFFD_FEATURE_WP_HUGETLBFS_SHMEM", abi::UFFD_FEATURE_WP_HUGETLBFS_SHMEM},
    {"UFFD_FEATURE_WP_UNPOPULATED", abi::UFFD_FEATURE_WP_UNPOPULATED},
    {"UFFD_FEATURE_POISON", abi::UFFD_FEATURE_POISON},
    {"UFFD_FEATURE_WP_ASYNC", abi::UFFD_FEATURE_WP_ASYNC},
    {"UFFD_FEATURE_MOVE", abi::UFFD_FEATURE_MOVE},
};

constexpr FlagSymbol kUffdRegister[] = {
    {"UFFDIO_REGISTER_MODE_MISSING", abi::UFFDIO_REGISTER_MODE_MISSING},
    {"UFFDIO_REGISTER_MODE_WP", abi::UFFDIO_REGISTER_MODE_WP},
    {"UFFDIO_REGISTER_MODE_MINOR", abi::UFFDIO_REGISTER_MODE_MINOR},
};

constexpr FlagSymbol kMapShifts[] = {{"MAP_HUGE_SHIFT", abi::MAP_HUGE_SHIFT}};
constexpr FlagSymbol kMemfdShifts[] = {{"MFD_HUGE_SHIFT", abi::MFD_HUGE_SHIFT}};
constexpr FlagSymbol kShmShifts[] = {{"SHM_HUGE_SHIFT", abi::SHM_HUGE_SHIFT}};

}  // namespace

std::span<const FlagSymbol> shift_symbols(FlagSet set) noexcept {
  switch (set) {
    case FlagSet::Capability:
      return kCapShifts;
    case FlagSet::Map:
      return kMapShifts;
    case FlagSet::Shmget:
      return kShmShifts;
    case FlagSet::Memfd:
      return kMemfdShifts;
    default:
      return {};
  }
}

namespace {

bool lookup(std::span<const FlagSymbol> table, std::string_view name, std::uint64_t& out) {
  for (const FlagSymbol& f : table) {
    if (f.name == name) {
      out = f.value;
      return true;
    }
  }
  return false;
}

bool looks_numeric(std::string_view t) noexcept {
  return !t.empty() && (is_digit(t[0]) || t[0] == '-' || t[0] == '+');
}

}  // namespace

std::span<const FlagSymbol> flag_symbols(FlagSet set) noexcept {
  switch (set) {
    case FlagSet::Prot:
      return kProt;
    case FlagSet::Map:
      return kMap;
    case FlagSet::Mremap:
      return kMremap;
    case FlagSet::Madvise:
      return kMadvise;
    case FlagSet::Mlockall:
      return kMlockall;
    case FlagSet::Mlock2:
      return kMlock2;
    case FlagSet::Msync:
      return kMsync;
    case FlagSet::Shmat:
      return kShmat;
    case FlagSet::Shmget:
      return kShmget;
    case FlagSet::Pkey:
      return kPkey;
    case FlagSet::Prctl:
      return kPrctl;
    case FlagSet::Rlimit:
      return kRlimit;
    case FlagSet::Capability:
      return {};
    case FlagSet::Mdwe:
      return kMdwe;
    case FlagSet::Memfd:
      return kMemfd;
    case FlagSet::MemfdSecret:
      return kMemfdSecret;
    case FlagSet::Fcntl:
      return kFcntl;
    case FlagSet::Seals:
      return kSeals;
    case FlagSet::Userfaultfd:
      return kUserfaultfd;
    case FlagSet::UffdFeature:
      return kUffdFeature;
    case FlagSet::UffdRegister:
      return kUffdRegister;
  }
  return {};
}

std::string_view flag_set_name(FlagSet set) noexcept {
  switch (set) {
    case FlagSet::Prot:
      return "PROT_";
    case FlagSet::Map:
      return "MAP_";
    case FlagSet::Mremap:
      return "MREMAP_";
    case FlagSet::Madvise:
      return "MADV_";
    case FlagSet::Mlockall:
      return "MCL_";
    case FlagSet::Mlock2:
      return "MLOCK_";
    case FlagSet::Msync:
      return "MS_";
    case FlagSet::Shmat:
      return "SHM_";
    case FlagSet::Shmget:
      return "IPC_/SHM_";
    case FlagSet::Pkey:
      return "PKEY_";
    case FlagSet::Prctl:
      return "PR_";
    case FlagSet::Rlimit:
      return "RLIMIT_";
    case FlagSet::Capability:
      return "CAP_";
    case FlagSet::Mdwe:
      return "PR_MDWE_";
    case FlagSet::Memfd:
      return "MFD_";
    case FlagSet::MemfdSecret:
      return "O_";
    case FlagSet::Fcntl:
      return "F_";
    case FlagSet::Seals:
      return "F_SEAL_";
    case FlagSet::Userfaultfd:
      return "UFFD_";
    case FlagSet::UffdFeature:
      return "UFFD_FEATURE_";
    case FlagSet::UffdRegister:
      return "UFFDIO_REGISTER_MODE_";
  }
  return "?";
}

bool parse_flags(std::string_view text, FlagSet set, std::uint64_t& out, std::string* error) {
  std::string clean;
  if (!strip_comments(text, clean, error)) return false;
  if (clean.empty()) {
    if (error) *error = fmt::format("empty {} expression", flag_set_name(set));
    return false;
  }
  const std::span<const FlagSymbol> table = flag_symbols(set);
  std::uint64_t value = 0;
  std::size_t terms = 0;
  std::string_view rest = clean;
  while (true) {
    const std::size_t bar = rest.find('|');
    const std::string_view term = trim(rest.substr(0, bar));
    ++terms;
    if (term.empty()) {
      if (error)
        *error = fmt::format("empty term in {} expression '{}'", flag_set_name(set), clean);
      return false;
    }
    std::uint64_t v = 0;
    const std::size_t shl = term.find("<<");
    if (shl != npos) {
      const std::string_view lhs = trim(term.substr(0, shl));
      const std::string_view rhs = trim(term.substr(shl + 2));
      std::uint64_t base = 0;
      std::uint64_t shift = 0;
      if (!parse_int_arg(lhs, base, error)) return false;
      if (!lookup(shift_symbols(set), rhs, shift) &&
          !(looks_numeric(rhs) && parse_int_arg(rhs, shift, nullptr))) {
        if (error)
          *error = fmt::format("unknown {} shift '{}' in '{}'", flag_set_name(set), rhs, term);
        return false;
      }
      if (shift >= 64 || ((base << shift) >> shift) != base) {
        if (error) *error = fmt::format("shift out of range in '{}'", term);
        return false;
      }
      v = base << shift;
    } else if (looks_numeric(term)) {
      if (!parse_int_arg(term, v, error)) return false;
    } else if (!lookup(table, term, v)) {
      if (error) *error = fmt::format("unknown {} symbol '{}'", flag_set_name(set), term);
      return false;
    }
    value |= v;
    if (bar == npos) break;
    rest = rest.substr(bar + 1);
  }
  if ((set == FlagSet::Madvise || set == FlagSet::Prctl || set == FlagSet::Rlimit ||
       set == FlagSet::Fcntl) &&
      terms > 1) {
    if (error)
      *error = fmt::format("{} is a single value, not flags: '{}'", flag_set_name(set), clean);
    return false;
  }
  out = value;
  return true;
}

// ---- fd and string arguments ----------------------------------------------------------

bool parse_fd_arg(std::string_view text, FdArg& out, std::string* error) {
  const std::string_view t = trim(text);
  out = FdArg{};
  std::size_t i = 0;
  std::int64_t fd = 0;
  constexpr std::string_view kAtFdcwd = "AT_FDCWD";
  if (t.substr(0, kAtFdcwd.size()) == kAtFdcwd) {
    fd = -100;
    i = kAtFdcwd.size();
  } else {
    if (i < t.size() && t[i] == '-') ++i;
    while (i < t.size() && is_digit(t[i])) ++i;
    const std::string_view num = t.substr(0, i);
    if (num.empty() || num == "-" || !parse_int_arg(num, fd, nullptr) ||
        fd < std::numeric_limits<int>::min() || fd > std::numeric_limits<int>::max()) {
      if (error) *error = fmt::format("not a file descriptor: '{}'", t.substr(0, 64));
      return false;
    }
  }
  out.fd = static_cast<int>(fd);
  if (i == t.size()) return true;
  if (t[i] != '<') {
    if (error) *error = fmt::format("unexpected text after file descriptor: '{}'", t.substr(0, 64));
    return false;
  }
  const std::size_t end = find_annotation_end(t, i);
  if (end == npos) {
    if (error) *error = fmt::format("unterminated '<' in file descriptor '{}'", t.substr(0, 64));
    return false;
  }
  Annotation a = decode_annotation(t.substr(i + 1, end - i - 1), t.substr(end + 1));
  if (end + 1 + a.consumed_after != t.size()) {
    if (error) *error = fmt::format("unexpected text after file descriptor: '{}'", t.substr(0, 64));
    return false;
  }
  out.has_path = true;
  out.path = std::move(a.path);
  out.device = std::move(a.device);
  out.deleted = a.deleted;
  return true;
}

bool parse_string_arg(std::string_view text, StringArg& out, std::string* error) {
  const std::string_view t = trim(text);
  out = StringArg{};
  if (t == "NULL") {
    out.is_null = true;
    return true;
  }
  if (t.empty() || t[0] != '"') {
    if (error) *error = fmt::format("not a string: '{}'", t.substr(0, 64));
    return false;
  }
  const std::size_t end = skip_string(t, 0);
  if (end == npos) {
    if (error) *error = fmt::format("unterminated string: '{}'", t.substr(0, 64));
    return false;
  }
  const std::string_view tail = t.substr(end);
  if (tail == "...") {
    out.truncated = true;
  } else if (!tail.empty()) {
    if (error) *error = fmt::format("unexpected text after string: '{}'", tail.substr(0, 64));
    return false;
  }
  unescape(t.substr(1, end - 2), out.bytes);
  return true;
}

// ---- errno names: the engine's one table (engine/types.hpp) -----------------------------

bool errno_number(std::string_view name, int& out) noexcept {
  return vmseal::errno_number(name, out);
}

std::string_view errno_symbol(int number) noexcept { return vmseal::errno_symbol(number); }

}  // namespace vmseal::trace
