#include "vmseal/trace/memory_call.hpp"

#include <array>
#include <cinttypes>
#include <cstdio>

#include "vmseal/kernel/abi.hpp"

namespace vmseal::trace {

namespace {

using S = ArgSyntax;

constexpr ArgSyntax kMmap[] = {S::Pointer, S::Size, S::Prot, S::Map, S::Fd, S::Hex};
constexpr ArgSyntax kRange[] = {S::Pointer, S::Size};
constexpr ArgSyntax kMprotect[] = {S::Pointer, S::Size, S::Prot};
constexpr ArgSyntax kPkeyMprotect[] = {S::Pointer, S::Size, S::Prot, S::Int32};
constexpr ArgSyntax kMremap[] = {S::Pointer, S::Size, S::Size, S::Mremap, S::Pointer};
constexpr ArgSyntax kMadvise[] = {S::Pointer, S::Size, S::Madvise};
constexpr ArgSyntax kMlock2[] = {S::Pointer, S::Size, S::Mlock2};
constexpr ArgSyntax kMsync[] = {S::Pointer, S::Size, S::Msync};
constexpr ArgSyntax kMlockall[] = {S::Mlockall};
constexpr ArgSyntax kBrk[] = {S::Pointer};
constexpr ArgSyntax kMseal[] = {S::Pointer, S::Size, S::Int};
constexpr ArgSyntax kMsealTyped[] = {S::Pointer, S::Size, S::Int, S::Int};
constexpr ArgSyntax kShmat[] = {S::Id, S::Pointer, S::Shmat};
constexpr ArgSyntax kRead[] = {S::Fd, S::Pointer, S::Size};
constexpr ArgSyntax kPrctl[] = {S::PrctlOption, S::Mdwe, S::Hex, S::Hex, S::Hex};

// Every modelled call as strace prints it (man 2 of each; strace 6.1).
constexpr CallSyntax kCalls[] = {
    {"mmap", SyscallKind::Mmap, kMmap, 6},
    {"munmap", SyscallKind::Munmap, kRange, 2},
    {"mprotect", SyscallKind::Mprotect, kMprotect, 3},
    {"pkey_mprotect", SyscallKind::PkeyMprotect, kPkeyMprotect, 4},
    {"mremap", SyscallKind::Mremap, kMremap, 4},
    {"madvise", SyscallKind::Madvise, kMadvise, 3},
    {"mlock", SyscallKind::Mlock, kRange, 2},
    {"mlock2", SyscallKind::Mlock2, kMlock2, 3},
    {"munlock", SyscallKind::Munlock, kRange, 2},
    {"mlockall", SyscallKind::Mlockall, kMlockall, 1},
    {"munlockall", SyscallKind::Munlockall, {}, 0},
    {"brk", SyscallKind::Brk, kBrk, 1},
    {"mseal", SyscallKind::Mseal, kMseal, 3},
    // The typed-seal RFC's mseal(addr, len, types, flags): a script's.
    {"mseal", SyscallKind::MsealTyped, kMsealTyped, 4},
    {"msync", SyscallKind::Msync, kMsync, 3},
    {"shmat", SyscallKind::Shmat, kShmat, 3},
    {"shmdt", SyscallKind::Shmdt, kBrk, 1},
    // strace 6.1 prints all five: "prctl(0x41 /* PR_??? */, 0x1, 0, 0, 0)".
    {"prctl", SyscallKind::Prctl, kPrctl, 1},
};

// read(fd, buf, count) from /dev/zero: a ZeroFill.
constexpr CallSyntax kZeroFill = {"read", SyscallKind::Munmap, kRead, 3};

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#" PRIx64, v);
  return b;
}

std::optional<FlagSet> flag_set_of(ArgSyntax s) noexcept {
  switch (s) {
    case S::Prot:
      return FlagSet::Prot;
    case S::Map:
      return FlagSet::Map;
    case S::Mremap:
      return FlagSet::Mremap;
    case S::Madvise:
      return FlagSet::Madvise;
    case S::Mlockall:
      return FlagSet::Mlockall;
    case S::Mlock2:
      return FlagSet::Mlock2;
    case S::Msync:
      return FlagSet::Msync;
    case S::Shmat:
      return FlagSet::Shmat;
    case S::PrctlOption:
      return FlagSet::Prctl;
    case S::Mdwe:
      return FlagSet::Mdwe;
    default:
      return std::nullopt;
  }
}

// A value no symbol names, as strace prints it: "0x68 /* MADV_??? */".
std::string unnamed(FlagSet set, std::uint64_t v) {
  return hex(v) + " /* " + std::string(flag_set_name(set)) + "??? */";
}

// The symbols of `set` in `rest` joined by '|' after `out`, in table order
// (strace's order), leaving out those `skip` names; what none names in hex.
std::string join_symbols(FlagSet set, std::uint64_t rest, std::string out,
                         bool (*skip)(std::string_view)) {
  for (const FlagSymbol& s : flag_symbols(set)) {
    if (s.value == 0 || (rest & s.value) != s.value || (skip != nullptr && skip(s.name))) continue;
    if (!out.empty()) out += '|';
    out += s.name;
    rest &= ~s.value;
  }
  if (rest != 0) {
    if (!out.empty()) out += '|';
    out += hex(rest);
  }
  return out;
}

// The symbol whose value is `v` exactly, or "".
std::string_view symbol_of(FlagSet set, std::uint64_t v) {
  for (const FlagSymbol& s : flag_symbols(set))
    if (s.value == v) return s.name;
  return {};
}

bool is_type_or_huge_size(std::string_view name) {
  return name == "MAP_FILE" || name == "MAP_SHARED" || name == "MAP_PRIVATE" ||
         name == "MAP_SHARED_VALIDATE" || name == "MAP_DROPPABLE" || name.starts_with("MAP_HUGE_");
}

// mmap's flags as strace prints them (print_mmap_flags): the type field by
// itself (MAP_FILE for 0, never SHARED|PRIVATE for MAP_SHARED_VALIDATE), then
// the flags, then the six bits from MAP_HUGE_SHIFT as a number, whether or
// not MAP_HUGETLB is set (so MAP_UNINITIALIZED shows as 1<<MAP_HUGE_SHIFT).
std::string format_map_flags(std::uint64_t v) {
  const std::uint64_t type = v & abi::MAP_TYPE;
  const std::string_view name = symbol_of(FlagSet::Map, type);
  std::string out = name.empty() ? unnamed(FlagSet::Map, type) : std::string(name);
  constexpr std::uint64_t kHugeMask = std::uint64_t{0x3f} << abi::MAP_HUGE_SHIFT;
  out = join_symbols(FlagSet::Map, v & ~abi::MAP_TYPE & ~kHugeMask, std::move(out),
                     is_type_or_huge_size);
  if (const std::uint64_t huge = (v & kHugeMask) >> abi::MAP_HUGE_SHIFT; huge != 0)
    out += "|" + std::to_string(huge) + "<<MAP_HUGE_SHIFT";
  return out;
}

bool syntax_error(std::string* error, const std::string& name, std::string message) {
  if (error != nullptr) *error = name + ": " + std::move(message);
  return false;
}

}  // namespace

bool operator==(const MemoryCall& x, const MemoryCall& y) {
  return x.form == y.form && x.call == y.call && x.fd.fd == y.fd.fd &&
         x.fd.has_path == y.fd.has_path && x.fd.path == y.fd.path && x.fd.deleted == y.fd.deleted;
}

std::string format_flags(FlagSet set, std::uint64_t value) {
  if (set == FlagSet::Map) return format_map_flags(value);
  const std::string_view name = symbol_of(set, value);
  if (!name.empty()) return std::string(name);  // PROT_NONE, MADV_DONTNEED, MS_ASYNC
  if (set == FlagSet::Madvise || set == FlagSet::Prctl) return unnamed(set, value);  // one value
  if (value == 0) return "0";
  std::string out = join_symbols(set, value, {}, nullptr);
  return out.starts_with("0x") ? unnamed(set, value) : out;  // no symbol at all
}

std::span<const CallSyntax> memory_call_syntaxes() noexcept { return kCalls; }

const CallSyntax* memory_call_syntax(std::string_view name, std::size_t arg_count) noexcept {
  // The first of that name, unless another takes exactly that many (mseal).
  const CallSyntax* found = nullptr;
  for (const CallSyntax& c : kCalls) {
    if (c.name != name) continue;
    if (found == nullptr || c.args.size() == arg_count) found = &c;
  }
  return found;
}

bool is_memory_call(const TraceCall& c) noexcept {
  if (c.name == "read")
    return c.args.size() == 3 && !c.args[1].empty() && c.args[1][0] != '"' &&
           c.args[0].find("</dev/zero>") != std::string::npos;
  if (c.name == "prctl") {
    std::uint64_t option = 0;
    return !c.args.empty() && parse_flags(c.args[0], FlagSet::Prctl, option) &&
           (option == abi::PR_SET_MDWE || option == abi::PR_GET_MDWE);
  }
  return memory_call_syntax(c.name, c.args.size()) != nullptr;
}

bool decode_argument(ArgSyntax syntax, std::string_view text, std::uint64_t& value, FdArg* fd,
                     std::string* error) {
  if (const std::optional<FlagSet> set = flag_set_of(syntax))
    return parse_flags(text, *set, value, error);
  if (syntax != S::Fd) return parse_int_arg(text, value, error);
  FdArg f;
  if (!parse_fd_arg(text, f, error)) return false;
  value = static_cast<std::uint64_t>(static_cast<std::int64_t>(f.fd));
  if (fd != nullptr) *fd = std::move(f);
  return true;
}

std::string encode_argument(ArgSyntax syntax, std::uint64_t value, const FdArg* fd) {
  if (const std::optional<FlagSet> set = flag_set_of(syntax)) return format_flags(*set, value);
  switch (syntax) {
    case S::Pointer:
      return value == 0 ? "NULL" : hex(value);
    case S::Hex:
      return hex(value);
    case S::Size:
    case S::Id:
      return std::to_string(value);
    case S::Int:
      return std::to_string(static_cast<std::int64_t>(value));
    case S::Int32:
      return std::to_string(static_cast<std::int32_t>(value));
    case S::Fd: {
      const int n = static_cast<int>(static_cast<std::int64_t>(value));
      std::string out = std::to_string(n);
      if (fd != nullptr && fd->fd == n && fd->has_path)
        out += "<" + fd->path + ">" + (fd->deleted ? "(deleted)" : "");  // strace 6.1's form
      return out;
    }
    default:
      return hex(value);
  }
}

bool decode_memory_call(const TraceCall& c, MemoryCall& out, std::string* error) {
  const bool zero_fill = c.name == "read";
  const CallSyntax* syntax = zero_fill ? &kZeroFill : memory_call_syntax(c.name, c.args.size());
  if (syntax == nullptr || ((zero_fill || c.name == "prctl") && !is_memory_call(c)))
    return syntax_error(error, c.name, "not a memory call");
  if (c.args.size() < syntax->required)
    return syntax_error(error, c.name,
                        "expected at least " + std::to_string(syntax->required) + " arguments");
  out = MemoryCall{};
  out.form = zero_fill ? MemoryCall::Form::ZeroFill : MemoryCall::Form::Syscall;
  out.call.kind = syntax->kind;
  const std::size_t n = std::min(c.args.size(), syntax->args.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::string err;
    if (!decode_argument(syntax->args[i], c.args[i], out.call.a[i], &out.fd, &err))
      return syntax_error(error, c.name, "argument " + std::to_string(i + 1) + ": " + err);
  }
  return true;
}

std::string encode_memory_call(const MemoryCall& c) {
  const bool zero_fill = c.form == MemoryCall::Form::ZeroFill;
  const CallSyntax* syntax = zero_fill ? &kZeroFill : nullptr;
  for (const CallSyntax& s : kCalls)
    if (syntax == nullptr && s.kind == c.call.kind) syntax = &s;
  if (syntax == nullptr) return "?";
  std::size_t n = syntax->args.size();
  constexpr std::uint64_t kMovesTo = abi::MREMAP_MAYMOVE | abi::MREMAP_FIXED;
  if (c.call.kind == SyscallKind::Mremap && !zero_fill && (c.call.a[3] & kMovesTo) != kMovesTo)
    n = syntax->required;  // strace prints new_address only with both
  std::string out = std::string(syntax->name) + "(";
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out += ", ";
    out += encode_argument(syntax->args[i], c.call.a[i], &c.fd);
  }
  return out + ")";
}

}  // namespace vmseal::trace
