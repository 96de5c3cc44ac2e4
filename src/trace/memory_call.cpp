#include "vmseal/trace/memory_call.hpp"

#include <array>
#include <cinttypes>
#include <cstdio>
#include <vector>

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
constexpr ArgSyntax kSetrlimit[] = {S::Resource, S::Rlimit};
constexpr ArgSyntax kPrlimit[] = {S::Int, S::Resource, S::Rlimit, S::Ignored};
constexpr ArgSyntax kCapset[] = {S::CapHeader, S::CapData};
constexpr ArgSyntax kMemfdCreate[] = {S::String, S::Memfd};
constexpr ArgSyntax kMemfdSecret[] = {S::MemfdSecret};
constexpr ArgSyntax kFcntl[] = {S::Fd, S::FcntlCmd, S::Seals};
constexpr ArgSyntax kFtruncate[] = {S::Fd, S::Size};
constexpr ArgSyntax kUserfaultfd[] = {S::UffdFlags};
constexpr ArgSyntax kUffdioApi[] = {S::Fd, S::UffdioApiCmd, S::UffdioApi};
constexpr ArgSyntax kUffdioRegister[] = {S::Fd, S::UffdioRegisterCmd, S::UffdioRegister};
constexpr ArgSyntax kUffdioUnregister[] = {S::Fd, S::UffdioUnregisterCmd, S::UffdioRange};

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
    {"setrlimit", SyscallKind::Setrlimit, kSetrlimit, 2},
    {"prlimit64", SyscallKind::Prlimit, kPrlimit, 4},
    {"capset", SyscallKind::Capset, kCapset, 2},
    {"memfd_create", SyscallKind::MemfdCreate, kMemfdCreate, 2},
    {"memfd_secret", SyscallKind::MemfdSecret, kMemfdSecret, 1},
    // F_GET_SEALS takes no third argument, and strace prints none.
    {"fcntl", SyscallKind::Fcntl, kFcntl, 2},
    {"ftruncate", SyscallKind::Ftruncate, kFtruncate, 2},
    {"userfaultfd", SyscallKind::Userfaultfd, kUserfaultfd, 1},
    // One ioctl(2) per command; the decoder picks by the command (ioctl_syntax()).
    {"ioctl", SyscallKind::UffdioApi, kUffdioApi, 3},
    {"ioctl", SyscallKind::UffdioRegister, kUffdioRegister, 3},
    {"ioctl", SyscallKind::UffdioUnregister, kUffdioUnregister, 3},
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
    case S::Resource:
      return FlagSet::Rlimit;
    case S::Memfd:
      return FlagSet::Memfd;
    case S::MemfdSecret:
      return FlagSet::MemfdSecret;
    case S::FcntlCmd:
      return FlagSet::Fcntl;
    case S::Seals:
      return FlagSet::Seals;
    case S::UffdFlags:
      return FlagSet::Userfaultfd;
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

// memfd_create's flags as strace prints them: the flags, then the six bits
// from MFD_HUGE_SHIFT as a number ("MFD_HUGETLB|21<<MFD_HUGE_SHIFT").
std::string format_memfd_flags(std::uint64_t v) {
  constexpr std::uint64_t kHugeMask = abi::MFD_HUGE_MASK << abi::MFD_HUGE_SHIFT;
  std::string out = join_symbols(FlagSet::Memfd, v & ~kHugeMask, {}, nullptr);
  if (const std::uint64_t huge = (v & kHugeMask) >> abi::MFD_HUGE_SHIFT; huge != 0)
    out += (out.empty() ? "" : "|") + std::to_string(huge) + "<<MFD_HUGE_SHIFT";
  if (out.empty()) return "0";
  return out.starts_with("0x") && out.find('|') == std::string::npos ? unnamed(FlagSet::Memfd, v)
                                                                     : out;
}

// A string as strace prints it: quoted, with \" \\ and C escapes, other
// bytes outside printable ASCII as \xNN.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += ch;
        } else {
          char b[8];
          std::snprintf(b, sizeof b, "\\x%02x", c);
          out += b;
        }
    }
  }
  return out + "\"";
}

// A capability set as strace prints it: "1<<CAP_IPC_LOCK|1<<CAP_SYS_RAWIO",
// "0"; a bit without a name as "1<<41".
std::string format_capabilities(std::uint64_t v) {
  if (v == 0) return "0";
  const auto names = shift_symbols(FlagSet::Capability);
  std::string out;
  for (unsigned bit = 0; bit < 64; ++bit) {
    if (((v >> bit) & 1) == 0) continue;
    if (!out.empty()) out += '|';
    out += "1<<" + (bit < names.size() ? std::string(names[bit].name) : std::to_string(bit));
  }
  return out;
}

// A limit as strace prints it: RLIM64_INFINITY, "8192*1024" for a nonzero
// multiple of 1024, else decimal.
std::string format_limit(std::uint64_t v) {
  if (v == abi::RLIM64_INFINITY) return "RLIM64_INFINITY";
  if (v != 0 && v % 1024 == 0) return std::to_string(v / 1024) + "*1024";
  return std::to_string(v);
}

bool parse_limit(std::string_view text, std::uint64_t& out, std::string* error) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text == "RLIM64_INFINITY" || text == "RLIM_INFINITY") {
    out = abi::RLIM64_INFINITY;
    return true;
  }
  const std::size_t star = text.find('*');
  if (star == std::string_view::npos) return parse_int_arg(text, out, error);
  std::uint64_t n = 0;
  std::uint64_t unit = 0;
  if (!parse_int_arg(text.substr(0, star), n, error) ||
      !parse_int_arg(text.substr(star + 1), unit, error))
    return false;
  if (unit != 0 && n > ~std::uint64_t{0} / unit) {
    if (error != nullptr) *error = "limit out of range: " + std::string(text.substr(0, 64));
    return false;
  }
  out = n * unit;
  return true;
}

// "{a=1, b=2}": the values of `fields`, in order, each read by `read`.
template <class Read>
bool parse_struct(std::string_view text, std::span<const std::string_view> fields,
                  std::uint64_t* out, std::string* error, Read read) {
  std::vector<std::string> items;
  if (text.size() < 2 || text.front() != '{' || text.back() != '}' ||
      !split_arguments(text.substr(1, text.size() - 2), items, error) ||
      items.size() != fields.size()) {
    if (error != nullptr && (error->empty() || items.size() != fields.size()))
      *error = "expected {" + std::string(fields.front()) + "=..., ...}";
    return false;
  }
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& item = items[i];
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || item.substr(0, eq) != fields[i]) {
      if (error != nullptr) *error = "expected " + std::string(fields[i]) + "=";
      return false;
    }
    if (!read(std::string_view(item).substr(eq + 1), out[i], error)) return false;
  }
  return true;
}

constexpr std::string_view kRlimitFields[] = {"rlim_cur", "rlim_max"};
constexpr std::string_view kUffdioRangeFields[] = {"start", "len"};
constexpr std::string_view kCapHeaderFields[] = {"version", "pid"};
constexpr std::string_view kCapDataFields[] = {"effective", "permitted", "inheritable"};

bool read_capabilities(std::string_view text, std::uint64_t& out, std::string* error) {
  return parse_flags(text, FlagSet::Capability, out, error);
}

// The command an ioctl syntax names ("" for any other syntax).
std::string_view ioctl_command(ArgSyntax syntax) noexcept {
  switch (syntax) {
    case S::UffdioApiCmd:
      return "UFFDIO_API";
    case S::UffdioRegisterCmd:
      return "UFFDIO_REGISTER";
    case S::UffdioUnregisterCmd:
      return "UFFDIO_UNREGISTER";
    default:
      return {};
  }
}

// The "name=value" items of a "{...}" structure; the first `want` must be
// named as `fields` says (strace prints more after them: ioctls=).
bool struct_items(std::string_view text, std::span<const std::string_view> fields,
                  std::vector<std::string_view>& values, std::vector<std::string>& items,
                  std::string* error) {
  if (text.size() < 2 || text.front() != '{' || text.back() != '}' ||
      !split_arguments(text.substr(1, text.size() - 2), items, error) ||
      items.size() < fields.size()) {
    if (error != nullptr) *error = "expected {" + std::string(fields.front()) + "=..., ...}";
    return false;
  }
  values.clear();
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string_view item = items[i];
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || item.substr(0, eq) != fields[i]) {
      if (error != nullptr) *error = "expected " + std::string(fields[i]) + "=";
      return false;
    }
    values.push_back(item.substr(eq + 1));
  }
  return true;
}

// struct uffdio_api and struct uffdio_register as strace prints them: the
// values the call was given ("features=X => features=Y": X).
bool decode_uffdio(ArgSyntax syntax, std::string_view text, std::uint64_t* regs,
                   std::string* error) {
  std::vector<std::string> items;
  std::vector<std::string_view> v;
  if (syntax == S::UffdioApi) {
    constexpr std::string_view kFields[] = {"api", "features"};
    if (!struct_items(text, kFields, v, items, error)) return false;
    const std::size_t arrow = v[1].find(" => ");
    return parse_int_arg(v[0], regs[0], error) &&
           parse_flags(v[1].substr(0, arrow), FlagSet::UffdFeature, regs[1], error);
  }
  constexpr std::string_view kFields[] = {"range", "mode"};
  return struct_items(text, kFields, v, items, error) &&
         parse_struct(v[0], kUffdioRangeFields, regs, error,
                      [](std::string_view t, std::uint64_t& o, std::string* e) {
                        return parse_int_arg(t, o, e);
                      }) &&
         parse_flags(v[1], FlagSet::UffdRegister, regs[2], error);
}

// A structure argument into its registers (arg_width() of them).
bool decode_struct(ArgSyntax syntax, std::string_view text, std::uint64_t* regs,
                   std::string* error) {
  switch (syntax) {
    case S::UffdioApiCmd:
    case S::UffdioRegisterCmd:
    case S::UffdioUnregisterCmd:
      if (text == ioctl_command(syntax)) return true;
      if (error != nullptr) *error = "expected " + std::string(ioctl_command(syntax));
      return false;
    case S::UffdioApi:
    case S::UffdioRegister:
      return decode_uffdio(syntax, text, regs, error);
    case S::UffdioRange:
      return parse_struct(text, kUffdioRangeFields, regs, error,
                          [](std::string_view t, std::uint64_t& o, std::string* e) {
                            return parse_int_arg(t, o, e);
                          });
    case S::Rlimit:
      return parse_struct(text, kRlimitFields, regs, error, parse_limit);
    case S::CapData:
      return parse_struct(text, kCapDataFields, regs, error, read_capabilities);
    case S::CapHeader: {  // the caller's own sets only
      const auto version_or_pid = [](std::string_view v, std::uint64_t& out, std::string* e) {
        out = 0;
        return v.starts_with("_LINUX_CAPABILITY_VERSION_") || parse_int_arg(v, out, e);
      };
      std::uint64_t header[2] = {};
      if (!parse_struct(text, kCapHeaderFields, header, error, version_or_pid)) return false;
      if (header[1] == 0) return true;
      if (error != nullptr) *error = "the capability sets of another process (pid not 0)";
      return false;
    }
    default:  // S::Ignored
      return true;
  }
}

std::string encode_struct(ArgSyntax syntax, const std::uint64_t* regs) {
  switch (syntax) {
    case S::Rlimit:
      return "{rlim_cur=" + format_limit(regs[0]) + ", rlim_max=" + format_limit(regs[1]) + "}";
    case S::CapData:
      return "{effective=" + format_capabilities(regs[0]) +
             ", permitted=" + format_capabilities(regs[1]) +
             ", inheritable=" + format_capabilities(regs[2]) + "}";
    case S::CapHeader:
      return "{version=_LINUX_CAPABILITY_VERSION_3, pid=0}";
    case S::UffdioApiCmd:
    case S::UffdioRegisterCmd:
    case S::UffdioUnregisterCmd:
      return std::string(ioctl_command(syntax));
    case S::UffdioApi:
      return "{api=" + hex(regs[0]) + ", features=" + format_flags(FlagSet::UffdFeature, regs[1]) +
             "}";
    case S::UffdioRegister:
      return "{range={start=" + hex(regs[0]) + ", len=" + hex(regs[1]) +
             "}, mode=" + format_flags(FlagSet::UffdRegister, regs[2]) + "}";
    case S::UffdioRange:
      return "{start=" + hex(regs[0]) + ", len=" + hex(regs[1]) + "}";
    default:  // S::Ignored
      return "NULL";
  }
}

// The syntax of an ioctl(2) by its command (nullptr for other commands).
const CallSyntax* ioctl_syntax(const TraceCall& c) noexcept {
  if (c.args.size() != 3) return nullptr;
  for (const CallSyntax& s : kCalls)
    if (s.name == "ioctl" && ioctl_command(s.args[1]) == c.args[1]) return &s;
  return nullptr;
}

bool syntax_error(std::string* error, const std::string& name, std::string message) {
  if (error != nullptr) *error = name + ": " + std::move(message);
  return false;
}

}  // namespace

std::size_t arg_width(ArgSyntax syntax) noexcept {
  switch (syntax) {
    case S::Rlimit:
      return 2;
    case S::CapData:
      return 3;
    case S::CapHeader:
    case S::Ignored:
    case S::UffdioApiCmd:
    case S::UffdioRegisterCmd:
    case S::UffdioUnregisterCmd:
      return 0;
    case S::UffdioApi:
    case S::UffdioRange:
      return 2;
    case S::UffdioRegister:
      return 3;
    default:
      return 1;
  }
}

bool operator==(const MemoryCall& x, const MemoryCall& y) {
  return x.form == y.form && x.call == y.call && x.fd.fd == y.fd.fd &&
         x.fd.has_path == y.fd.has_path && x.fd.path == y.fd.path && x.fd.deleted == y.fd.deleted &&
         x.name == y.name;
}

std::string format_flags(FlagSet set, std::uint64_t value) {
  if (set == FlagSet::Map) return format_map_flags(value);
  if (set == FlagSet::Memfd) return format_memfd_flags(value);
  const std::string_view name = symbol_of(set, value);
  if (!name.empty()) return std::string(name);  // PROT_NONE, MADV_DONTNEED, MS_ASYNC
  if (set == FlagSet::Capability) return format_capabilities(value);
  if (set == FlagSet::Madvise || set == FlagSet::Prctl || set == FlagSet::Rlimit ||
      set == FlagSet::Fcntl)
    return unnamed(set, value);  // one value
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
  if (c.name == "setrlimit" || c.name == "prlimit64") {
    // A new limit the engine keeps; a query (NULL) changes nothing.
    const std::size_t at = c.name == "setrlimit" ? 0 : 1;
    std::uint64_t resource = 0;
    return c.args.size() > at + 1 && c.args[at + 1] != "NULL" &&
           parse_flags(c.args[at], FlagSet::Rlimit, resource) &&
           (resource == abi::RLIMIT_MEMLOCK || resource == abi::RLIMIT_STACK ||
            resource == abi::RLIMIT_AS || resource == abi::RLIMIT_DATA);
  }
  if (c.name == "capset") {
    std::uint64_t none = 0;
    return c.args.size() == 2 && decode_struct(S::CapHeader, c.args[0], &none, nullptr);
  }
  if (c.name == "fcntl") {
    std::uint64_t cmd = 0;
    return c.args.size() >= 2 && parse_flags(c.args[1], FlagSet::Fcntl, cmd) &&
           (cmd == abi::ADD_SEALS || cmd == abi::GET_SEALS);
  }
  if (c.name == "ioctl")  // a structure strace could read (not an address)
    return ioctl_syntax(c) != nullptr && c.args[2].starts_with("{");
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

bool decode_capability_sets(std::string_view text, std::uint64_t (&sets)[3], std::string* error) {
  return decode_struct(S::CapData, text, sets, error);
}

bool decode_memory_call(const TraceCall& c, MemoryCall& out, std::string* error) {
  const bool zero_fill = c.name == "read";
  const CallSyntax* syntax = zero_fill           ? &kZeroFill
                             : c.name == "ioctl" ? ioctl_syntax(c)
                                                 : memory_call_syntax(c.name, c.args.size());
  const bool by_arguments = zero_fill || c.name == "prctl" || c.name == "setrlimit" ||
                            c.name == "prlimit64" || c.name == "capset" || c.name == "fcntl" ||
                            c.name == "ioctl";
  if (syntax == nullptr || (by_arguments && !is_memory_call(c)))
    return syntax_error(error, c.name, "not a memory call");
  if (c.args.size() < syntax->required)
    return syntax_error(error, c.name,
                        "expected at least " + std::to_string(syntax->required) + " arguments");
  out = MemoryCall{};
  out.form = zero_fill ? MemoryCall::Form::ZeroFill : MemoryCall::Form::Syscall;
  out.call.kind = syntax->kind;
  const std::size_t n = std::min(c.args.size(), syntax->args.size());
  std::size_t reg = 0;  // structures fill several registers
  for (std::size_t i = 0; i < n; ++i) {
    const ArgSyntax as = syntax->args[i];
    std::string err;
    StringArg str;
    const bool ok = as == S::String ? parse_string_arg(c.args[i], str, &err)
                    : arg_width(as) == 1
                        ? decode_argument(as, c.args[i], out.call.a[reg], &out.fd, &err)
                        : decode_struct(as, c.args[i], &out.call.a[reg], &err);
    if (as == S::String) out.name = std::move(str.bytes);
    if (!ok) return syntax_error(error, c.name, "argument " + std::to_string(i + 1) + ": " + err);
    reg += arg_width(as);
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
  if (c.call.kind == SyscallKind::Fcntl && !zero_fill && c.call.a[1] == abi::GET_SEALS)
    n = syntax->required;  // no argument
  std::string out = std::string(syntax->name) + "(";
  std::size_t reg = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const ArgSyntax as = syntax->args[i];
    if (i != 0) out += ", ";
    out += as == S::String      ? quote(c.name)
           : arg_width(as) == 1 ? encode_argument(as, c.call.a[reg], &c.fd)
                                : encode_struct(as, &c.call.a[reg]);
    reg += arg_width(as);
  }
  return out + ")";
}

}  // namespace vmseal::trace
