#include "vmseal/script/script.hpp"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "vmseal/engine/types.hpp"

namespace vmseal::script {
namespace {

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_'; }
bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

// ---- lines --------------------------------------------------------------------------

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

// A script line is `[NAME =] call(args)` with nothing after the ')' but a
// comment. Anything else is handed to the strace reader. The arguments as
// text, split.
LineForm split_line(std::string_view line, Call& out, std::vector<std::string>& args,
                    std::string& error) {
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
  args.clear();
  std::string split_error;
  if (!trace::split_arguments(s.substr(j + 1, close - j - 2), args, &split_error))
    error = "bad arguments: " + split_error;
  return LineForm::Script;
}

// ---- arithmetic -----------------------------------------------------------------------

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
  Expr(std::string_view text, const Bindings& vars) : s_(text), vars_(vars) {}
  bool eval(std::uint64_t& out, EvalError& error) {
    out = parse_or();
    skip();
    if (error_.empty() && pos_ != s_.size())
      error_ = "unexpected \"" + std::string(s_.substr(pos_, 40)) + "\"";
    if (error_.empty()) return true;
    error = EvalError{error_, unbound_};
    return false;
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
  // 50,000 nested '(' once overflowed the stack. kMaxNesting is far beyond any
  // expression a person writes.
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
    if (depth_ > kMaxNesting) {
      error_ = "expression nested more than " + std::to_string(kMaxNesting) + " deep";
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
      if (!trace::parse_int_arg(s_.substr(pos_, end - pos_), v, &e)) error_ = e;
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
      unbound_ = name;
      return 0;
    }
    error_ = std::string("unexpected '") + c + "'";
    return 0;
  }

  std::string_view s_;
  const Bindings& vars_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::string error_;
  std::string unbound_;
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

// An argument of `syntax`: in strace's syntax (read now), or arithmetic.
bool read_argument(std::string_view text, trace::ArgSyntax syntax, Argument& out,
                   std::string& error) {
  out.text = std::string(trim(text));
  std::uint64_t literal = 0;
  out.constant = is_verbatim(out.text) || trace::parse_int_arg(out.text, literal);
  if (out.constant) return trace::decode_argument(syntax, out.text, out.value, &out.fd, &error);
  if (out.text.empty()) error = "an empty argument";
  return error.empty();
}

// ---- the kernel's pseudo-calls ----------------------------------------------------

// What the kernel does to a mapping it made in the process (seed 003), which
// no system call asks for and no trace shows. Their arguments read like
// munmap's; the names live here, not in the trace layer's table of calls.
constexpr trace::ArgSyntax kKernelRange[] = {trace::ArgSyntax::Pointer, trace::ArgSyntax::Size};
constexpr trace::CallSyntax kPseudoCalls[] = {
    {"kseal", SyscallKind::KernelSeal, kKernelRange, 2},
    {"kunseal", SyscallKind::KernelUnseal, kKernelRange, 2},
    {"krelease", SyscallKind::KernelRelease, kKernelRange, 2},
};

const trace::CallSyntax* pseudo_call_syntax(std::string_view name) {
  for (const trace::CallSyntax& c : kPseudoCalls)
    if (c.name == name) return &c;
  return nullptr;
}

// No trace holds the kernel's pseudo-calls: one written with a result, or with
// text after it, is a script line that does not read (the strace reader would
// pass over it as a call it does not model).
LineForm kernel_call_with_result(std::string_view line, std::string& error) {
  const std::string_view s = trim(line);
  for (const trace::CallSyntax& c : kPseudoCalls) {
    if (!s.starts_with(c.name) || s.size() == c.name.size() || s[c.name.size()] != '(') continue;
    error = std::string(c.name) +
            " is what the kernel does, not a system call a trace shows: write it without a "
            "result, \"" +
            std::string(c.name) + "(addr, len)\"";
    return LineForm::Script;
  }
  return LineForm::Trace;
}

}  // namespace

std::span<const trace::CallSyntax> pseudo_calls() noexcept { return kPseudoCalls; }

LineForm read_line(std::string_view line, Call& out, std::string& error) {
  std::vector<std::string> args;
  const LineForm form = split_line(line, out, args, error);
  if (form == LineForm::Trace) return kernel_call_with_result(line, error);
  if (form != LineForm::Script || !error.empty()) return form;
  out.syntax = trace::memory_call_syntax(out.name, args.size());
  if (out.syntax == nullptr) out.syntax = pseudo_call_syntax(out.name);
  if (out.syntax == nullptr) {
    error = out.name +
            " is not a memory call vmseal models (a line with a result, such as "
            "\"openat(...) = 3</path>\", is read as strace output)";
    return form;
  }
  for (const trace::ArgSyntax a : out.syntax->args) {
    if (trace::arg_width(a) == 1) continue;
    error = out.name + " takes a structure: write the line with its result, as strace prints it";
    return form;
  }
  if (args.size() < out.syntax->required || args.size() > out.syntax->args.size()) {
    error = out.name + ": expected " + std::to_string(out.syntax->required) +
            (out.syntax->required == out.syntax->args.size()
                 ? ""
                 : " to " + std::to_string(out.syntax->args.size())) +
            " arguments";
    return form;
  }
  out.args.assign(args.size(), Argument{});
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string e;
    if (!read_argument(args[i], out.syntax->args[i], out.args[i], e)) {
      error = out.name + ": argument " + std::to_string(i + 1) + ": " + e;
      return form;
    }
  }
  return form;
}

bool evaluate(std::string_view expr, const Bindings& names, std::uint64_t& out, EvalError& error) {
  return Expr(trim(expr), names).eval(out, error);
}

bool resolve(const Call& call, const Bindings& names, trace::MemoryCall& out, std::string& shown,
             EvalError& error) {
  out = trace::MemoryCall{};
  out.call.kind = call.syntax->kind;
  shown = call.name + "(";
  for (std::size_t i = 0; i < call.args.size(); ++i) {
    const Argument& arg = call.args[i];
    if (i != 0) shown += ", ";
    if (arg.constant) {
      out.call.a[i] = arg.value;
      if (call.syntax->args[i] == trace::ArgSyntax::Fd) out.fd = arg.fd;
      shown += arg.text;
      continue;
    }
    if (!evaluate(arg.text, names, out.call.a[i], error)) return false;
    if (call.syntax->args[i] == trace::ArgSyntax::Fd)
      out.fd.fd = static_cast<int>(static_cast<std::int64_t>(out.call.a[i]));
    char buf[24];
    std::snprintf(buf, sizeof buf, "%#" PRIx64, out.call.a[i]);
    shown += buf;
  }
  shown += ")";
  return true;
}

}  // namespace vmseal::script
