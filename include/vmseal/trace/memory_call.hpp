// Memory-management calls in strace's syntax, both ways: the one decoder (a
// parsed trace call becomes the typed call the engine runs, engine/syscall.hpp)
// and the one encoder (a typed call becomes the text `strace -f -y` prints).
// Everything that reads or writes a memory call as text comes here: `sim`,
// `compare` and `predict` decode; `difftest` encodes its reproductions; the
// .vms script reader decodes each argument written in strace's syntax.
//
// One table says, for each call, how strace prints each argument
// (ArgSyntax). The decoder and the encoder both read it, so that
// decode(parse(encode(c))) == c for every call the table describes
// (tests/trace/memory_call_test.cpp checks it over the whole grammar).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "vmseal/engine/syscall.hpp"
#include "vmseal/trace/strace.hpp"

namespace vmseal::trace {

// How strace prints one argument, and so how it is read back.
enum class ArgSyntax : std::uint8_t {
  Pointer,  // "NULL" or hex: an address
  Size,     // decimal: a length
  Int,      // signed decimal: mseal's flags, the typed-seal RFC's types
  Int32,    // a C int in decimal: pkey_mprotect's pkey
  Hex,      // hex: mmap's file offset, prctl's other arguments
  Fd,       // "3</path>", "-1": the -y annotation is kept (MemoryCall::fd)
  Id,       // decimal: a System V segment id
  Prot,     // a flag expression of FlagSet::Prot; likewise the rest
  Map,
  Mremap,
  Madvise,
  Mlockall,
  Mlock2,
  Msync,
  Shmat,
  PrctlOption,  // FlagSet::Prctl: one value (PR_SET_MDWE), not a set
  Mdwe,         // FlagSet::Mdwe: PR_MDWE_*
  Resource,     // FlagSet::Rlimit: RLIMIT_* (one value)
  UffdFlags,    // FlagSet::Userfaultfd: userfaultfd(2)'s flags
  // Structures, which fill more than one register (arg_width()):
  Rlimit,     // "{rlim_cur=8*1024, rlim_max=RLIM64_INFINITY}": two registers
  CapHeader,  // "{version=_LINUX_CAPABILITY_VERSION_3, pid=0}": none (pid 0 only)
  CapData,    // "{effective=1<<CAP_IPC_LOCK, permitted=..., inheritable=0}": three registers
  Ignored,    // an output argument (prlimit64's old limit): none, printed as NULL
  // The calls on files whose state decides memory calls:
  String,       // "\"name\"": memfd_create's name, kept in MemoryCall::name (the register is 0)
  Memfd,        // FlagSet::Memfd: MFD_*
  MemfdSecret,  // FlagSet::MemfdSecret: O_CLOEXEC
  FcntlCmd,     // FlagSet::Fcntl: F_ADD_SEALS, F_GET_SEALS (one value)
  Seals,        // FlagSet::Seals: F_SEAL_*
  // An ioctl's command, which names the call: none, printed by name.
  UffdioApiCmd,         // "UFFDIO_API"
  UffdioRegisterCmd,    // "UFFDIO_REGISTER"
  UffdioUnregisterCmd,  // "UFFDIO_UNREGISTER"
  // "{api=0xaa, features=0 => features=..., ioctls=...}": two registers, api and the
  // features asked for (what the kernel answered after "=>" is left out)
  UffdioApi,
  // "{range={start=0x..., len=0x2000}, mode=UFFDIO_REGISTER_MODE_MISSING, ioctls=...}":
  // three registers, start, len and mode
  UffdioRegister,
  UffdioRange,  // "{start=0x..., len=0x2000}": two registers
};
// How many registers of the typed call an argument fills: 1, or for a
// structure its fields (0 for one the engine does not need).
std::size_t arg_width(ArgSyntax syntax) noexcept;

// The shape of one memory call: its name, the engine's kind, how each
// argument is printed. `required` of them must be present; mremap prints its
// fifth (the new address) only with MREMAP_MAYMOVE|MREMAP_FIXED.
struct CallSyntax {
  std::string_view name;
  SyscallKind kind;
  std::span<const ArgSyntax> args;
  std::size_t required;
};

// A memory call as the engine runs it. Most are system calls (Form::Syscall).
// A read(2) from /dev/zero into memory (Form::ZeroFill) is a write fault on
// each page of its buffer: strace prints the buffer as an address when the
// read fails, and vmseal difftest makes its faults so.
struct MemoryCall {
  enum class Form : std::uint8_t { Syscall, ZeroFill };
  Form form = Form::Syscall;
  // Form::Syscall: the call. For shmat, a[0] is the segment id as the trace
  // names it; whoever knows the segment replaces it with the engine's FileId.
  // Form::ZeroFill: a = {fd, buffer, length}, kind unused.
  Syscall call;
  FdArg fd;  // the file of mmap, fcntl, ftruncate, or the read's /dev/zero, with strace -y's
             // annotation
  std::string name;  // memfd_create's name, unescaped (a "..." truncation is not kept)
  friend bool operator==(const MemoryCall&, const MemoryCall&);
};

// The syntax of the memory call `name` with `arg_count` arguments (mseal with
// four is the typed-seal RFC's), or nullptr when it is none. read(2) is not
// here, and prctl(2) is a memory call only for the options that decide memory
// calls: both depend on their arguments (is_memory_call). ioctl(2) has one
// syntax per command (UFFDIO_API, UFFDIO_REGISTER, UFFDIO_UNREGISTER): this
// gives the first; the decoder picks by the command.
const CallSyntax* memory_call_syntax(std::string_view name, std::size_t arg_count) noexcept;
// Every memory call's syntax (both forms of mseal).
std::span<const CallSyntax> memory_call_syntaxes() noexcept;

// Whether the engine runs `call`: a memory call by name; a prctl(2) of
// PR_SET_MDWE or PR_GET_MDWE; an fcntl(2) of F_ADD_SEALS or F_GET_SEALS; a setrlimit(2) or
// prlimit64(2) that sets a limit the engine keeps (RLIMIT_MEMLOCK, RLIMIT_STACK); a capset(2) of
// the caller (header pid 0); an ioctl(2) UFFDIO_API, UFFDIO_REGISTER or UFFDIO_UNREGISTER whose
// structure strace printed; or a read(2) from /dev/zero whose buffer strace printed as an address.
bool is_memory_call(const TraceCall& call) noexcept;

// One argument as strace prints it (`text`), read as `syntax` says, for a
// syntax one register wide. An Fd fills `fd` (when given) with the -y
// annotation. False with a message.
bool decode_argument(ArgSyntax syntax, std::string_view text, std::uint64_t& value,
                     FdArg* fd = nullptr, std::string* error = nullptr);
// One argument as strace prints it; an Fd with `fd`'s -y annotation when it
// names the same descriptor.
std::string encode_argument(ArgSyntax syntax, std::uint64_t value, const FdArg* fd = nullptr);

// capget(2)'s answer, "{effective=..., permitted=..., inheritable=...}": the
// three sets, which a trace shows and the simulator then knows.
bool decode_capability_sets(std::string_view text, std::uint64_t (&sets)[3],
                            std::string* error = nullptr);

// The decoder: a parsed trace call as the engine runs it. False with a
// message ("mmap: argument 3: unknown symbol ...") when it is not a memory
// call or an argument does not read.
bool decode_memory_call(const TraceCall& call, MemoryCall& out, std::string* error = nullptr);
// The encoder: the call as `strace -f -y` prints it, without its result:
// "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)".
std::string encode_memory_call(const MemoryCall& call);

// A flag value as strace 6.1 prints it: names joined by '|' in strace's
// order, what no name covers in hex, "0x10 /* PROT_??? */" when no name
// applies; a name for 0 where the set has one (PROT_NONE), else "0". mmap's
// type field comes first, by itself (MAP_FILE, MAP_SHARED_VALIDATE), its
// huge-page bits last ("21<<MAP_HUGE_SHIFT"). MADV_* is one value, not a set.
std::string format_flags(FlagSet set, std::uint64_t value);

}  // namespace vmseal::trace
