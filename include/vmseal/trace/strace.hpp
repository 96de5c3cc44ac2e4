// The strace reader: turns what `strace -f -y` prints (strace 6.1, and the formats
// of newer versions) into a stream of events. Syntax only: arguments stay raw text,
// decoded on demand with the helpers at the end of this header; what a system call
// means for the address space is decided elsewhere.
//
// Accepted on every line, in this order, each part optional:
//   a pid prefix        "[pid  1234] " (-f to a terminal), "1234  " (-f with -o FILE),
//                       either with a "<comm>" after the number (--decode-pids=comm);
//   timestamps          "12:34:56", "12:34:56.123456" (-t, -tt), "1700000000.123456"
//                       (-ttt), "     0.000123" (-r), "(+     0.000123)" (-t with -r);
//   "[  9]" (-n, syscall number) and "[00007f2c1a2b3c4d]" (-i, instruction pointer);
// then one of
//   a call              "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</etc/x>, 0) = 0x7f..."
//                       possibly split into "name(args <unfinished ...>" and, later,
//                       "<... name resumed>rest) = result"; -T "<0.000012>" at the end;
//   a signal            "--- SIGSEGV {si_signo=SIGSEGV, ...} ---", "--- stopped by SIGSTOP ---";
//   a process event     "+++ exited with 0 +++", "+++ killed by SIGKILL +++",
//                       "+++ killed by SIGSEGV (core dumped) +++",
//                       "+++ superseded by execve in pid 1235 +++";
//   a strace message    "strace: Process 123 attached", "strace: Process 123 detached",
//                       any other "strace: ..." line, "[ Process PID=12 runs in x32 mode. ]".
// Blank lines are ignored; ANSI colour sequences (--color) are removed first.
//
// strace writing to its stderr (no -o) prints "strace: Process N attached" in the
// middle of the call line it is writing, and the call goes on at the start of the next
// line: such a message becomes an Attached event and the two halves are read as one
// line (the call's `line` is the first half's, `end_line` the second's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "vmseal/engine/types.hpp"

namespace vmseal::trace {

// ---- Events ---------------------------------------------------------------------

// How a system call ended, as strace printed it after "= ".
enum class Outcome : std::uint8_t {
  Value,        // "= 0", "= 0x7f12a000", "= 3</tmp/x>", "= 0x8002 (flags O_RDWR)"
  Error,        // "= -1 ENOMEM (Cannot allocate memory)", "= -1 (errno 1234)"
  Interrupted,  // "= ? ERESTARTSYS (To be restarted if SA_RESTART is set)" and the
                // other ERESTART* codes: the call did not complete and may be retried
  Unknown,      // "= ?" (exit, exit_group, a process killed inside a call),
                // "= ? <unavailable>"
  Unfinished,   // "<unfinished ...>" never followed by its "<... resumed>" line (see
                // StraceParser), or cut by "<detached ...>"
};
std::string_view outcome_name(Outcome o) noexcept;

struct TraceCall {
  // The canonical name: "mmap"; "mseal" for strace 6.1's "syscall_0x1ce", and likewise
  // for the other x86-64 system calls newer than strace 6.1 (451 to 467).
  std::string name;
  // The name exactly as printed ("syscall_0x1ce", "mmap").
  std::string raw_name;
  // Top-level arguments, raw text with surrounding blanks trimmed: "NULL",
  // "PROT_READ|PROT_WRITE", "3</tmp/x>", "{st_mode=S_IFREG|0644, ...}",
  // "\"abc\"...". For a call renamed from syscall_0x..., the printed hex arguments
  // beyond the call's real count are dropped (mseal keeps 3 of strace 6.1's 6).
  std::vector<std::string> args;

  Outcome outcome = Outcome::Unfinished;
  // Value: the returned value; a negative decimal is stored in two's complement
  // (see signed_value()). Error: the printed return value, normally -1.
  std::uint64_t value = 0;
  // Error and Interrupted: the Linux errno number held in the Errno type (which uses
  // Linux numbering; the number may be one the enum does not name, e.g. 512 for
  // ERESTARTSYS or 110 for ETIMEDOUT), and the name as printed. `err` is Errno::OK
  // when the name is not a Linux errno name; err_name is empty for "(errno N)".
  Errno err = Errno::OK;
  std::string err_name;
  // With -y, "= 3</tmp/x>": the unescaped text inside the angle brackets, and whether
  // the file is marked deleted ("...>(deleted)" in strace 6.1, "... (deleted)>" in
  // other versions; the marker is removed from the path either way).
  bool has_result_path = false;
  std::string result_path;
  bool result_deleted = false;
  // Whatever strace printed after the value or errno name: "(Cannot allocate
  // memory)", "(flags O_RDWR|O_LARGEFILE)", "<unavailable>", "(INJECTED)". Trimmed.
  std::string result_note;
  // -T: the text inside the final "<...>", e.g. "0.000012"; empty without -T.
  std::string duration;

  // Where the result was read: the "<... resumed>" line for a call that was split,
  // otherwise the call's own line (TraceEvent::line). 0 for an unfinished call.
  std::size_t end_line = 0;
  // True when joined from an "<unfinished ...>" line and a "<... resumed>" line.
  bool resumed = false;

  std::int64_t signed_value() const noexcept { return static_cast<std::int64_t>(value); }
};

enum class EventKind : std::uint8_t {
  Call,        // a system call (`call`)
  Signal,      // "--- SIGSEGV {...} ---": `signal`, details in `text`; `stopped` for
               // "--- stopped by SIGSTOP ---"
  Exit,        // "+++ exited with N +++": `exit_code`
  Killed,      // "+++ killed by SIGKILL +++": `signal`, `core_dumped`
  Attached,    // "strace: Process N attached": `pid` is N; "with 3 threads" in `text`
  Detached,    // "strace: Process N detached": `pid` is N
  Superseded,  // "+++ superseded by execve in pid N +++": this pid continues the
               // execve that thread N made; `other_pid` is N
  Note,        // any other strace message ("strace: ...", "[ Process PID=... ]"): `text`
};
std::string_view event_kind_name(EventKind k) noexcept;

// Whether a call of this name makes a new task: clone, clone3, fork, vfork.
bool creates_task(std::string_view name) noexcept;

struct TraceEvent {
  EventKind kind = EventKind::Call;
  // 1-based input line where the event starts: for a call that was split, the line of
  // its "<unfinished ...>" part (call.end_line has the "<... resumed>" line).
  std::size_t line = 0;
  // The pid from the line's prefix, or ParserOptions::default_pid when it has none.
  int pid = 0;
  // The first -t/-tt/-ttt/-r field of that line, as printed ("12:34:56.123456",
  // "0.000123"); empty when absent.
  std::string timestamp;

  TraceCall call;            // Call
  std::string signal;        // Signal, Killed: "SIGSEGV"
  std::string text;          // Signal: "{si_signo=SIGSEGV, ...}"; Attached: any trailing
                             // words; Note: the message
  int exit_code = 0;         // Exit
  int other_pid = 0;         // Superseded
  bool core_dumped = false;  // Killed
  bool stopped = false;      // Signal
};

// A line the reader could not understand. Parsing goes on with the next line: the
// caller decides whether an error stops it.
struct ParseError {
  std::size_t line = 0;
  std::string message;  // what was wrong, e.g. "unterminated string (opened at column 9)"
  std::string text;     // the offending line (its first kMaxErrorText bytes)
  static constexpr std::size_t kMaxErrorText = 512;
  // "line 12: unterminated string (opened at column 9): write(1, \"abc": at
  // most kShownText characters of the text, control bytes and bytes that are
  // not UTF-8 as \xNN, "..." when cut.
  static constexpr std::size_t kShownText = 160;
  std::string to_string() const;
  std::string shown_text() const;  // the text alone, shown as to_string() shows it
};

using ParseItem = std::variant<TraceEvent, ParseError>;

struct ParserOptions {
  // The pid given to lines without a pid prefix (strace without -f, or one file of
  // strace -ff -o FILE). 0 means unknown.
  int default_pid = 0;
};

// Streaming reader. Feed it lines in order; take completed events (and errors) with
// next(), in input order: a call split across lines comes out when its "<... resumed>"
// line is read. Memory stays proportional to the number of calls waiting to be
// resumed, so traces of any length can be read.
//
// Joining: an "<unfinished ...>" call waits for the "<... NAME resumed>" line of the
// same pid; its arguments are the text of both parts. A call still waiting comes out
// as Outcome::Unfinished when its process exits or is killed (just before that event),
// when the same pid starts another call (just before it), or at finish(); a call cut
// by "<detached ...>" comes out at once. After "+++ superseded by execve in pid N +++"
// (or a "<pid changed to P ...>" cut) the execve waiting in thread N resumes under the
// leader's pid, as strace prints it. strace to a terminal omits the "[pid N]" prefix
// while a single process is traced, so a resumption is also matched across a prefix
// that appeared or vanished (an unprefixed line counts as ParserOptions::default_pid;
// an unprefixed resumption takes the only waiting call of that name).
//
// Children that run first: strace -f can print a new task's first calls before its
// parent's clone, clone3, fork or vfork returns. When a pid that no line and no
// completed call has named appears while exactly one such call waits, that call comes
// out at once with the new pid as its value (Outcome::Value, result_note "(child pid
// N ran first)"); its "<... resumed>" line is then checked against that value (a
// ParseError when it differs) and produces no second event. When several wait, the
// new pid's events are held back until one of them returns it, and come out right
// after it; when none waits any more, or past 4096 held events, they come out as they
// are. Either way a reader sees every task's creation before its first call.
//
// Never throws, except std::bad_alloc; never reads outside the line it is given.
class StraceParser {
 public:
  explicit StraceParser(ParserOptions options = {});
  ~StraceParser();
  StraceParser(StraceParser&&) noexcept;
  StraceParser& operator=(StraceParser&&) noexcept;
  StraceParser(const StraceParser&) = delete;
  StraceParser& operator=(const StraceParser&) = delete;

  // One input line, with or without its "\n" / "\r\n".
  void feed(std::string_view line);
  // End of input: calls still waiting for their resumption come out as Unfinished, in
  // the order they started. Further feed() calls continue the line numbering.
  void finish();

  // The next completed item, or nullopt when none is ready.
  std::optional<ParseItem> next();
  bool has_next() const noexcept;

  std::size_t lines_read() const noexcept;     // lines fed so far
  std::size_t pending_calls() const noexcept;  // "<unfinished ...>" calls waiting

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Convenience for whole texts (tests, small traces): splits at '\n', feeds every line,
// finishes and returns all items in order.
std::vector<ParseItem> parse_strace_text(std::string_view text, ParserOptions options = {});

// ---- Decoding helpers -------------------------------------------------------------
// All return false with a message in *error (when given) for text they do not accept;
// none throws except std::bad_alloc. Surrounding blanks and C comments ("0x67 /*
// MADV_??? */") are ignored wherever a number or symbol is expected.

// Splits text at its top-level commas the way call arguments are split: "strings"
// (with escapes; a "..." after a truncated string stays with it), [arrays],
// {structs}, (parentheses), /* comments */ and -y "<...>" annotations are kept whole.
// Useful on the inside of a struct or an array. An empty text gives no items.
bool split_arguments(std::string_view text, std::vector<std::string>& out,
                     std::string* error = nullptr);

// An integer argument: decimal, hex "0x...", octal "0644", negative "-1", "NULL" (0).
// The unsigned form keeps negative numbers in two's complement (-1 ->
// 0xffffffffffffffff) and accepts the whole 64-bit range; the signed form rejects
// values outside int64_t.
bool parse_int_arg(std::string_view text, std::uint64_t& out, std::string* error = nullptr);
bool parse_int_arg(std::string_view text, std::int64_t& out, std::string* error = nullptr);

// Symbol tables for flag expressions, with the Linux x86-64 values.
enum class FlagSet : std::uint8_t {
  Prot,          // PROT_*: mmap, mprotect, pkey_mprotect
  Map,           // MAP_*: mmap flags, including MAP_HUGE_<size> and MAP_HUGE_SHIFT shifts
  Mremap,        // MREMAP_*
  Madvise,       // MADV_*: one value, not a flag set ("|" is rejected)
  Mlockall,      // MCL_*
  Mlock2,        // MLOCK_ONFAULT
  Msync,         // MS_*
  Shmat,         // SHM_RDONLY, SHM_RND, SHM_REMAP, SHM_EXEC
  Shmget,        // IPC_CREAT, IPC_EXCL, SHM_HUGETLB, SHM_NORESERVE, SHM_HUGE_<size>; mode bits
  Pkey,          // PKEY_DISABLE_*: pkey_alloc access rights
  Prctl,         // PR_SET_MDWE, PR_GET_MDWE: the prctl options that decide memory calls (one value)
  Mdwe,          // PR_MDWE_*
  Rlimit,        // RLIMIT_*: setrlimit and prlimit64's resource (one value)
  Capability,    // a capability set: "1<<CAP_IPC_LOCK|1<<CAP_SYS_RAWIO" (names are shifts)
  Memfd,         // MFD_*: memfd_create flags, the huge page size as "21<<MFD_HUGE_SHIFT"
  MemfdSecret,   // O_CLOEXEC: memfd_secret's one flag
  Fcntl,         // F_ADD_SEALS, F_GET_SEALS: the fcntl commands that are memory calls (one value)
  Seals,         // F_SEAL_*
  Userfaultfd,   // userfaultfd(2)'s flags: UFFD_USER_MODE_ONLY, O_NONBLOCK, O_CLOEXEC
  UffdFeature,   // UFFD_FEATURE_*: UFFDIO_API's features
  UffdRegister,  // UFFDIO_REGISTER_MODE_*
};
struct FlagSymbol {
  std::string_view name;
  std::uint64_t value;
};
// Every symbol of a set (aliases included, e.g. MAP_ANON; shift names excluded).
std::span<const FlagSymbol> flag_symbols(FlagSet set) noexcept;
// The names a set uses as shifts in "N<<NAME" terms: MAP_HUGE_SHIFT,
// SHM_HUGE_SHIFT, every CAP_* of a capability set.
std::span<const FlagSymbol> shift_symbols(FlagSet set) noexcept;
// "PROT_", "MAP_", ...: the prefix of the set's symbols, for messages.
std::string_view flag_set_name(FlagSet set) noexcept;

// A flag expression: terms joined by '|', each a symbol of `set`, a number, or
// "N<<SHIFT" (strace 6.1 prints huge page sizes as "21<<MAP_HUGE_SHIFT"), e.g.
// "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS|0x40000", "0xa /* MAP_??? */|
// MAP_ANONYMOUS", "PROT_NONE", "0". An unknown symbol is an error that names it.
bool parse_flags(std::string_view text, FlagSet set, std::uint64_t& out,
                 std::string* error = nullptr);

// A file descriptor argument: "3", "-1", "AT_FDCWD" (-100), and with -y "3</a/b>",
// "3</memfd:x>(deleted)", "3</memfd:x (deleted)>", "3<anon_inode:[eventpoll]>",
// "6<TCP:[1.2.3.4:5->6.7.8.9:10]>", and with -yy "5</dev/null<char 1:3>>".
struct FdArg {
  int fd = -1;
  bool has_path = false;
  std::string path;      // unescaped ("\74" -> '<'), without the markers below
  bool deleted = false;  // "(deleted)" after or inside the brackets
  std::string device;    // -yy device annotation: "char 1:3"; empty otherwise
};
bool parse_fd_arg(std::string_view text, FdArg& out, std::string* error = nullptr);

// A string argument: "\"abc\\n\"" -> "abc\n"; a trailing "..." marks it truncated;
// "NULL" gives is_null. Escapes: \" \\ \n \t \r \f \v \ooo \xHH.
struct StringArg {
  std::string bytes;
  bool truncated = false;
  bool is_null = false;
};
bool parse_string_arg(std::string_view text, StringArg& out, std::string* error = nullptr);

// Linux x86-64 errno names and numbers, including the kernel-internal ERESTART* codes
// strace prints (512...) and the aliases EWOULDBLOCK, EDEADLOCK, ENOTSUP.
bool errno_number(std::string_view name, int& out) noexcept;
// The name strace prints for a number ("" when none).
std::string_view errno_symbol(int number) noexcept;

// What a call does to the process tree: the one set of rules sim (the mm of
// each task), compare (through sim) and predict (the seals of each task)
// follow. A clone, clone3, fork or vfork that returned a child makes a task
// that shares its parent's mm (CLONE_VM, vfork) or gets a copy of it; a
// successful execve or execveat gives the caller a new one.
struct TaskChange {
  enum class Kind : std::uint8_t { None, SharesMm, CopiesMm, Exec };
  Kind kind = Kind::None;
  int child = 0;  // SharesMm, CopiesMm: the new task's pid
};
TaskChange task_change(const TraceCall& call) noexcept;

// The file a successful execve or execveat ran, as the caller named it:
// execve's first argument; execveat's path, joined to its directory fd's -y
// path when relative, or the fd's path with AT_EMPTY_PATH. Empty when the
// call does not say (a relative path with no directory, a path cut short by
// strace's -s, no -y).
std::string exec_path(const TraceCall& call);

// Whether a successful call made the kernel map memory in the caller that
// no memory call of the trace shows: io_setup's AIO ring, the shadow stack of
// arch_prctl(ARCH_SHSTK_ENABLE), arch_prctl(ARCH_MAP_VDSO_*). `what` names it.
bool maps_behind_the_trace(const TraceCall& call, std::string* what);

}  // namespace vmseal::trace
