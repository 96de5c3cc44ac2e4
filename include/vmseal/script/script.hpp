// The vmseal script language (.vms files; `vmseal compare` reads them, and
// docs/designs.md is written in it). A script line is a memory call in
// strace's syntax without a result, which may name its result for later
// lines:
//     a = mmap(NULL, 4*PAGE, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
//     mseal(a + PAGE, 2*PAGE, 0)
//     mprotect(a, 4*PAGE, PROT_READ)
// An argument is either written in strace's syntax (a number, a flag
// expression "PROT_READ|PROT_WRITE", "MADV_DONTNEED", an fd "3</etc/passwd>"),
// read once with the one decoder of memory calls (trace/memory_call.hpp), or
// arithmetic: numbers (decimal, 0x hex), names bound earlier, PAGE (4096),
// NULL, the typed-seal RFC's MM_SEAL_*, + - * | and parentheses. "#" starts a
// comment. A line that carries a result ("... = 3") is strace output, so a
// script can open files for its mappings: `openat(AT_FDCWD, "/etc/passwd",
// O_RDONLY) = 3</etc/passwd>`.
//
// Three pseudo-calls say what the kernel itself does to a mapping it made in
// the process (seed 003's kernel-internal seal; seal_policy.hpp,
// "kernel-seal"), with munmap's arguments:
//     kseal(addr, len)      the kernel seals the range
//     krelease(addr, len)   the kernel gives the range back: an unmap past
//                           its own seal, as the policy allows
//     kunseal(addr, len)    the first half of kernel-seal:unseal's release
//                           alone, to show what the process could do before
//                           the unmap if the kernel let go of the mmap lock
//                           in between (ENOSYS under any other policy)
//
// A script is untrusted input (docs/limits.md): expressions nest at most
// kMaxNesting deep, and a line is read only as far as the line reader allows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vmseal/trace/memory_call.hpp"

namespace vmseal::script {

// The names a script has bound so far (in one run of it: a call that fails
// under one seal design binds nothing there).
using Bindings = std::map<std::string, std::uint64_t, std::less<>>;

inline constexpr int kMaxNesting = 64;

// Why an expression does not evaluate: a message, and the name it needed
// when that name is not bound ("" for any other reason).
struct EvalError {
  std::string message;
  std::string unbound;
};

// The arithmetic of arguments: `expr` with the names in `names`.
bool evaluate(std::string_view expr, const Bindings& names, std::uint64_t& out, EvalError& error);

struct Argument {
  std::string text;  // as written, trimmed
  // Written in strace's syntax: decoded when the line is read, as the call's
  // syntax says (value, and fd for an fd). Otherwise an expression, evaluated
  // in each run.
  bool constant = false;
  std::uint64_t value = 0;
  trace::FdArg fd;
};

struct Call {
  std::string bind;  // "" when the result is not named
  std::string name;
  const trace::CallSyntax* syntax = nullptr;
  std::vector<Argument> args;
};

enum class LineForm : std::uint8_t {
  Blank,   // empty or a comment
  Script,  // a script call: `out` is set, or `error` says why the line does not read
  Trace,   // anything else: for the strace reader
};
LineForm read_line(std::string_view line, Call& out, std::string& error);

// The kernel's pseudo-calls (kseal, kunseal, krelease), as read_line() reads them.
std::span<const trace::CallSyntax> pseudo_calls() noexcept;

// The call under one run's bindings: the typed call the engine runs, and how
// it is shown (each argument as written, or an expression's value in hex).
bool resolve(const Call& call, const Bindings& names, trace::MemoryCall& out, std::string& shown,
             EvalError& error);

}  // namespace vmseal::script
