// Tests of the strace reader (include/vmseal/trace/strace.hpp).
#include "vmseal/trace/strace.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace vmseal::trace;
using vmseal::Errno;

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

std::vector<TraceEvent> events_of(const std::vector<ParseItem>& items) {
  std::vector<TraceEvent> out;
  for (const ParseItem& item : items) {
    if (const auto* e = std::get_if<TraceEvent>(&item)) {
      out.push_back(*e);
    } else {
      ADD_FAILURE() << "unexpected error: " << std::get<ParseError>(item).to_string();
    }
  }
  return out;
}

std::vector<ParseError> errors_of(const std::vector<ParseItem>& items) {
  std::vector<ParseError> out;
  for (const ParseItem& item : items)
    if (const auto* e = std::get_if<ParseError>(&item)) out.push_back(*e);
  return out;
}

std::vector<TraceEvent> parse_ok(std::string_view text, ParserOptions options = {}) {
  return events_of(parse_strace_text(text, options));
}

// The single call of a one-line text.
TraceCall call_of(std::string_view line) {
  const std::vector<TraceEvent> events = parse_ok(line);
  if (events.size() != 1 || events[0].kind != EventKind::Call) {
    ADD_FAILURE() << "expected one call from: " << line;
    return {};
  }
  return events[0].call;
}

// The single error of a one-line text.
ParseError error_of(std::string_view line) {
  const std::vector<ParseItem> items = parse_strace_text(line);
  const std::vector<ParseError> errors = errors_of(items);
  if (errors.size() != 1 || items.size() != 1) {
    ADD_FAILURE() << "expected exactly one error from: " << line;
    return {};
  }
  return errors[0];
}

std::string read_data(const std::string& name) {
  std::ifstream in(std::string(VMSEAL_TEST_DATA_DIR) + "/strace/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- calls and results ----------------------------------------------------------------

TEST(StraceCall, MmapValue) {
  const TraceCall c = call_of(
      "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f5264007000");
  EXPECT_EQ(c.name, "mmap");
  EXPECT_EQ(c.raw_name, "mmap");
  ASSERT_EQ(c.args.size(), 6u);
  EXPECT_EQ(c.args[0], "NULL");
  EXPECT_EQ(c.args[2], "PROT_READ|PROT_WRITE");
  EXPECT_EQ(c.args[3], "MAP_PRIVATE|MAP_ANONYMOUS");
  EXPECT_EQ(c.args[4], "-1");
  EXPECT_EQ(c.outcome, Outcome::Value);
  EXPECT_EQ(c.value, 0x7f5264007000u);
  EXPECT_EQ(c.err, Errno::OK);
  EXPECT_FALSE(c.has_result_path);
  EXPECT_EQ(c.result_note, "");
  EXPECT_FALSE(c.resumed);
}

TEST(StraceCall, NoArguments) {
  const TraceCall c = call_of("munlockall()                      = 0");
  EXPECT_EQ(c.name, "munlockall");
  EXPECT_TRUE(c.args.empty());
  EXPECT_EQ(c.outcome, Outcome::Value);
  EXPECT_EQ(c.value, 0u);
}

TEST(StraceCall, ErrorResults) {
  TraceCall c = call_of("munmap(0x7f5264003000, 4096)      = -1 EPERM (Operation not permitted)");
  EXPECT_EQ(c.outcome, Outcome::Error);
  EXPECT_EQ(c.err, Errno::PERM);
  EXPECT_EQ(c.err_name, "EPERM");
  EXPECT_EQ(c.value, kU64Max);
  EXPECT_EQ(c.signed_value(), -1);
  EXPECT_EQ(c.result_note, "(Operation not permitted)");

  c = call_of(
      "mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|"
      "21<<MAP_HUGE_SHIFT, -1, 0) = -1 ENOMEM (Cannot allocate memory)");
  EXPECT_EQ(c.err, Errno::NOMEM);
  ASSERT_EQ(c.args.size(), 6u);
  EXPECT_EQ(c.args[3], "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT");

  c = call_of("access(\"/etc/ld.so.preload\", R_OK) = -1 ENOENT (No such file or directory)");
  EXPECT_EQ(c.err, Errno::NOENT);

  c = call_of(
      "mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE|MAP_SYNC, 3</memfd:myname>(deleted), 0) = "
      "-1 EOPNOTSUPP (Operation not supported)");
  EXPECT_EQ(c.err, Errno::OPNOTSUPP);

  // A Linux errno the Errno enum does not name still carries its number.
  c = call_of("connect(3, {sa_family=AF_INET}, 16) = -1 ETIMEDOUT (Connection timed out)");
  EXPECT_EQ(c.outcome, Outcome::Error);
  EXPECT_EQ(static_cast<int>(c.err), 110);
  EXPECT_EQ(c.err_name, "ETIMEDOUT");

  // An errno strace could only print as a number.
  c = call_of("ioctl(3, 0x1234, 0) = -1 (errno 1234)");
  EXPECT_EQ(c.outcome, Outcome::Error);
  EXPECT_EQ(static_cast<int>(c.err), 1234);
  EXPECT_EQ(c.err_name, "");

  // strace prints its unsigned 64-bit code: one beyond int is an error the
  // engine cannot compare, not a malformed line.
  c = call_of(
      "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 (errno "
      "18446744073709551572)");
  EXPECT_EQ(c.outcome, Outcome::Error);
  EXPECT_EQ(c.err, Errno::OK);
  EXPECT_EQ(c.err_name, "errno 18446744073709551572");
  EXPECT_NE(error_of("mmap(NULL, 1) = -1 (errno 18446744073709551616)").message.find("errno"),
            std::string::npos);
  EXPECT_NE(error_of("mmap(NULL, 1) = -1 (errno -4)").message.find("errno"), std::string::npos);

  // An unknown name is kept as text.
  c = call_of("foo(1) = -1 EWHATEVER (Mystery)");
  EXPECT_EQ(c.outcome, Outcome::Error);
  EXPECT_EQ(c.err, Errno::OK);
  EXPECT_EQ(c.err_name, "EWHATEVER");
  EXPECT_EQ(c.result_note, "(Mystery)");

  // Fault injection adds a note.
  c = call_of(
      "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate "
      "memory) (INJECTED)");
  EXPECT_EQ(c.err, Errno::NOMEM);
  EXPECT_EQ(c.result_note, "(Cannot allocate memory) (INJECTED)");
}

TEST(StraceCall, UnknownAndInterruptedResults) {
  TraceCall c = call_of("exit_group(0)                     = ?");
  EXPECT_EQ(c.outcome, Outcome::Unknown);
  EXPECT_EQ(c.err, Errno::OK);

  c = call_of(
      "read(0, 0x7ffd1c2a0b10, 4096) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
  EXPECT_EQ(c.outcome, Outcome::Interrupted);
  EXPECT_EQ(c.err_name, "ERESTARTSYS");
  EXPECT_EQ(static_cast<int>(c.err), 512);
  EXPECT_EQ(c.result_note, "(To be restarted if SA_RESTART is set)");

  c = call_of(
      "clock_nanosleep(CLOCK_REALTIME, 0, {tv_sec=10, tv_nsec=0}, 0x7ffc) = ? "
      "ERESTART_RESTARTBLOCK "
      "(Interrupted by signal)");
  EXPECT_EQ(c.outcome, Outcome::Interrupted);
  EXPECT_EQ(static_cast<int>(c.err), 516);

  c = call_of("wait4(-1, 0x7ffc, 0, NULL) = ? <unavailable>");
  EXPECT_EQ(c.outcome, Outcome::Unknown);
  EXPECT_EQ(c.result_note, "<unavailable>");
}

TEST(StraceCall, ResultNotesAndDurations) {
  TraceCall c = call_of("fcntl(3</etc/passwd>, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)");
  EXPECT_EQ(c.value, 0x8002u);
  EXPECT_EQ(c.result_note, "(flags O_RDWR|O_LARGEFILE)");

  c = call_of("brk(0x55a32f87e000)     = 0x55a32f87e000 <0.000016>");
  EXPECT_EQ(c.value, 0x55a32f87e000u);
  EXPECT_EQ(c.duration, "0.000016");
  EXPECT_EQ(c.result_note, "");

  c = call_of("munmap(0x7faabaee2000, 8192) = -1 EPERM (Operation not permitted) <0.000015>");
  EXPECT_EQ(c.err, Errno::PERM);
  EXPECT_EQ(c.result_note, "(Operation not permitted)");
  EXPECT_EQ(c.duration, "0.000015");

  c = call_of("umask(022) = 02");
  EXPECT_EQ(c.value, 2u);  // octal, as strace prints modes
}

TEST(StraceCall, FdResultPaths) {
  TraceCall c = call_of(
      "openat(AT_FDCWD</tmp/st>, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>");
  EXPECT_EQ(c.value, 3u);
  EXPECT_TRUE(c.has_result_path);
  EXPECT_EQ(c.result_path, "/etc/ld.so.cache");
  EXPECT_FALSE(c.result_deleted);
  ASSERT_EQ(c.args.size(), 3u);
  EXPECT_EQ(c.args[0], "AT_FDCWD</tmp/st>");

  // strace 6.1 marks deleted files after the brackets...
  c = call_of("memfd_create(\"myname\", 0)         = 3</memfd:myname>(deleted)");
  EXPECT_EQ(c.result_path, "/memfd:myname");
  EXPECT_TRUE(c.result_deleted);
  // ...other versions inside them.
  c = call_of("memfd_create(\"name\", MFD_CLOEXEC) = 3</memfd:name (deleted)>");
  EXPECT_EQ(c.result_path, "/memfd:name");
  EXPECT_TRUE(c.result_deleted);

  c = call_of(
      "openat(AT_FDCWD</tmp/st>, \"/tmp/st/file with space\", O_RDWR|O_CREAT, 0600) = "
      "4</tmp/st/file "
      "with space> <0.000010>");
  EXPECT_EQ(c.result_path, "/tmp/st/file with space");
  EXPECT_EQ(c.duration, "0.000010");

  c = call_of("openat(AT_FDCWD</tmp/st>, \"/dev/zero\", O_RDONLY) = 3</dev/zero<char 1:5>>");
  EXPECT_EQ(c.result_path, "/dev/zero");

  c = call_of("socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 6<TCP:[8057]>");
  EXPECT_EQ(c.result_path, "TCP:[8057]");

  // --decode-pids=comm annotates pids the same way.
  c = call_of(
      "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD, child_tidptr=0x7f) = "
      "6674<sample>");
  EXPECT_EQ(c.value, 6674u);
  EXPECT_EQ(c.result_path, "sample");
  c = call_of(
      "20<bash> clone(child_stack=0x7bb209d724b0, flags=CLONE_VM|CLONE_THREAD, parent_tid=[21<Bun "
      "Pool 0>], "
      "tls=0x7bb209d796c0) = 21<Bun Pool 0>");
  EXPECT_EQ(c.args.size(), 4u);
  EXPECT_EQ(c.args[2], "parent_tid=[21<Bun Pool 0>]");
  EXPECT_EQ(c.value, 21u);
  EXPECT_EQ(c.result_path, "Bun Pool 0");
}

TEST(StraceCall, AwkwardArguments) {
  // Strings with escapes, commas, parentheses, and a truncated string.
  TraceCall c = call_of(
      "write(4</tmp/st/file with space>, \"hello \\\"world\\\"\\n\\t\\1, (x\"..., 70) = 70");
  ASSERT_EQ(c.args.size(), 3u);
  EXPECT_EQ(c.args[1], "\"hello \\\"world\\\"\\n\\t\\1, (x\"...");
  StringArg str;
  ASSERT_TRUE(parse_string_arg(c.args[1], str));
  EXPECT_EQ(str.bytes, "hello \"world\"\n\t\1, (x");
  EXPECT_TRUE(str.truncated);

  // Structs, arrays, nested parentheses and comments.
  c = call_of(
      "newfstatat(3</etc/ld.so.cache>, \"\", {st_mode=S_IFREG|0644, st_size=41491, ...}, "
      "AT_EMPTY_PATH) = 0");
  ASSERT_EQ(c.args.size(), 4u);
  EXPECT_EQ(c.args[2], "{st_mode=S_IFREG|0644, st_size=41491, ...}");
  c = call_of("execve(\"./t\", [\"./t\", \"a,b\"], 0x7fff5c434cd0 /* 41 vars, (x */) = 0");
  ASSERT_EQ(c.args.size(), 3u);
  EXPECT_EQ(c.args[1], "[\"./t\", \"a,b\"]");
  EXPECT_EQ(c.args[2], "0x7fff5c434cd0 /* 41 vars, (x */");
  c = call_of("mknodat(AT_FDCWD, \"/dev/x\", S_IFCHR|0600, makedev(0x1, 0x3)) = 0");
  ASSERT_EQ(c.args.size(), 4u);
  EXPECT_EQ(c.args[3], "makedev(0x1, 0x3)");
  c = call_of("rt_sigprocmask(SIG_BLOCK, ~[RTMIN RT_1], [], 8) = 0");
  ASSERT_EQ(c.args.size(), 4u);
  EXPECT_EQ(c.args[1], "~[RTMIN RT_1]");

  // -y paths may hold commas, parentheses, quotes and escaped angle brackets.
  c = call_of(
      "mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3</tmp/st/we\\74ird\\76,na(me\\n\\\"x>(deleted), 0) "
      "= 0x7fa49ef0f000");
  ASSERT_EQ(c.args.size(), 6u);
  FdArg fd;
  ASSERT_TRUE(parse_fd_arg(c.args[4], fd));
  EXPECT_EQ(fd.fd, 3);
  EXPECT_EQ(fd.path, "/tmp/st/we<ird>,na(me\n\"x");
  EXPECT_TRUE(fd.deleted);

  // Socket details and pipes in arrays.
  c = call_of("pipe2([6<pipe:[8058]>, 7<pipe:[8058]>], 0) = 0");
  ASSERT_EQ(c.args.size(), 2u);
  c = call_of(
      "connect(5<TCP:[127.0.0.1:41234->127.0.0.1:80]>, {sa_family=AF_INET, sin_port=htons(80)}, "
      "16) = 0");
  ASSERT_EQ(c.args.size(), 3u);
  EXPECT_EQ(c.args[0], "5<TCP:[127.0.0.1:41234->127.0.0.1:80]>");

  // Shifts are not -y annotations.
  c = call_of(
      "mmap(NULL, 2097152, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, "
      "-1, 0) = 0x7f");
  EXPECT_EQ(c.args.size(), 6u);

  // restart_syscall's pseudo argument.
  c = call_of("restart_syscall(<... resuming interrupted clock_nanosleep ...>) = 0");
  ASSERT_EQ(c.args.size(), 1u);
  EXPECT_EQ(c.args[0], "<... resuming interrupted clock_nanosleep ...>");

  // clone3's "=>" and struct fields with '='.
  c = call_of(
      "clone3({flags=CLONE_VM, child_tid=0x7f5263e16990, exit_signal=0, stack=0x7f5263616000} => "
      "{parent_tid=[4153]}, 88) = 4153");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0],
            "{flags=CLONE_VM, child_tid=0x7f5263e16990, exit_signal=0, stack=0x7f5263616000} => "
            "{parent_tid=[4153]}");
}

TEST(StraceCall, MsealOldAndNew) {
  TraceCall c = call_of("mseal(0x7f5264003000, 4096, 0) = 0");
  EXPECT_EQ(c.name, "mseal");
  ASSERT_EQ(c.args.size(), 3u);

  // strace 6.1 (this machine's) does not know mseal.
  c = call_of("syscall_0x1ce(0x7f5264003000, 0x1000, 0, 0xffffffff, 0, 0) = 0");
  EXPECT_EQ(c.name, "mseal");
  EXPECT_EQ(c.raw_name, "syscall_0x1ce");
  ASSERT_EQ(c.args.size(), 3u);
  EXPECT_EQ(c.args[0], "0x7f5264003000");
  EXPECT_EQ(c.args[1], "0x1000");
  EXPECT_EQ(c.args[2], "0");

  c = call_of(
      "syscall_0x1ce(0x7f5264003001, 0x1000, 0, 0, 0x64, 0) = -1 EINVAL (Invalid argument)");
  EXPECT_EQ(c.name, "mseal");
  EXPECT_EQ(c.err, Errno::INVAL);

  c = call_of("syscall_462(0x1000, 0x1000, 0, 0, 0, 0) = 0");  // decimal spelling
  EXPECT_EQ(c.name, "mseal");
  EXPECT_EQ(c.args.size(), 3u);

  c = call_of("syscall_0x1c5(0x7f0000000000, 0x4000, 0x1, 0, 0, 0) = 0x7f0000000000");
  EXPECT_EQ(c.name, "map_shadow_stack");
  EXPECT_EQ(c.args.size(), 3u);

  c = call_of("syscall_0x3e7(0x1, 0x2, 0x3, 0x4, 0x5, 0x6) = -1 ENOSYS (Function not implemented)");
  EXPECT_EQ(c.name, "syscall_0x3e7");  // unknown: kept as printed, all arguments
  EXPECT_EQ(c.args.size(), 6u);
}

// ---- line prefixes ----------------------------------------------------------------------

struct PrefixCase {
  std::string line;
  int pid;
  std::string timestamp;
};

class StracePrefix : public ::testing::TestWithParam<PrefixCase> {};

TEST_P(StracePrefix, PidAndTimestamp) {
  const PrefixCase& pc = GetParam();
  const std::vector<TraceEvent> events = parse_ok(pc.line, ParserOptions{-7});
  ASSERT_EQ(events.size(), 1u) << pc.line;
  EXPECT_EQ(events[0].pid, pc.pid) << pc.line;
  EXPECT_EQ(events[0].timestamp, pc.timestamp) << pc.line;
  if (events[0].kind == EventKind::Call) {
    EXPECT_EQ(events[0].call.name, "mprotect") << pc.line;
    EXPECT_EQ(events[0].call.args.size(), 3u) << pc.line;
  }
}

constexpr const char* kMp = "mprotect(0x7f5263fe9000, 16384, PROT_READ) = 0";

INSTANTIATE_TEST_SUITE_P(
    Formats, StracePrefix,
    ::testing::Values(
        PrefixCase{kMp, -7, ""},                                  // no -f
        PrefixCase{std::string("4152  ") + kMp, 4152, ""},        // -f -o FILE
        PrefixCase{std::string("41520 ") + kMp, 41520, ""},       // 5-digit pid
        PrefixCase{std::string("[pid  4152] ") + kMp, 4152, ""},  // -f to a terminal
        PrefixCase{std::string("[pid 4194304] ") + kMp, 4194304, ""},
        PrefixCase{std::string("[pid  6672<sample>] ") + kMp, 6672, ""},  // --decode-pids=comm
        PrefixCase{std::string("6672<sample> ") + kMp, 6672, ""},
        PrefixCase{std::string("21<Bun Pool 0> ") + kMp, 21, ""},  // comm with blanks
        PrefixCase{std::string("[pid    21<Bun Pool 0>] ") + kMp, 21, ""},
        PrefixCase{std::string("12:34:56 ") + kMp, -7, "12:34:56"},                    // -t
        PrefixCase{std::string("12:34:56.123456 ") + kMp, -7, "12:34:56.123456"},      // -tt
        PrefixCase{std::string("1700000000.123456 ") + kMp, -7, "1700000000.123456"},  // -ttt
        PrefixCase{std::string("1700000000 ") + kMp, -7, "1700000000"},   // unix, whole seconds
        PrefixCase{std::string("     0.000123 ") + kMp, -7, "0.000123"},  // -r
        PrefixCase{std::string("4152       0.000123 ") + kMp, 4152, "0.000123"},
        PrefixCase{std::string("[pid  4152] 18:26:19.799279 ") + kMp, 4152, "18:26:19.799279"},
        PrefixCase{std::string("12:34:56.123456 (+     0.000123) ") + kMp, -7, "12:34:56.123456"},
        PrefixCase{std::string("18:26:19 [  10] ") + kMp, -7, "18:26:19"},  // -n
        PrefixCase{std::string("6655  1795458379.923365 [00007fb768c899b3] ") + kMp, 6655,
                   "1795458379.923365"},  // -i
        PrefixCase{"1795458379.624377 [????????????????] +++ exited with 0 +++", -7,
                   "1795458379.624377"},
        PrefixCase{"[pid  4152] 18:26:19.810878 --- SIGCHLD {si_signo=SIGCHLD} ---", 4152,
                   "18:26:19.810878"},
        PrefixCase{std::string("\x1b[1m[pid  4152]\x1b[0m ") + kMp, 4152, ""},  // --color
        PrefixCase{std::string("4152  ") + kMp + "\r", 4152, ""}));             // CRLF

// ---- split calls ------------------------------------------------------------------------

TEST(StraceResume, InterleavedPids) {
  const char* text =
      "4153  rseq(0x7f5263e16fe0, 0x20, 0, 0x53053053 <unfinished ...>\n"
      "4152  rt_sigprocmask(SIG_SETMASK, [],  <unfinished ...>\n"
      "4153  <... rseq resumed>)               = 0\n"
      "4152  <... rt_sigprocmask resumed>NULL, 8) = 0\n"
      "4153  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished "
      "...>\n"
      "4152  clone3({flags=CLONE_VM|CLONE_THREAD, stack_size=0x7fff80} <unfinished ...>\n"
      "4153  <... mmap resumed>)               = 0x7f5262e13000\n"
      "4152  <... clone3 resumed> => {parent_tid=[4154]}, 88) = 4154\n"
      "4152  wait4(4155,  <unfinished ...>\n"
      "4155  set_robust_list(0x7f5263e17a20, 24) = 0\n"
      "4152  <... wait4 resumed>NULL, 0, NULL) = 4155\n";
  const std::vector<TraceEvent> ev = parse_ok(text);
  ASSERT_EQ(ev.size(), 6u);
  // Emitted where they resume, carrying the line where they started.
  EXPECT_EQ(ev[0].call.name, "rseq");
  EXPECT_EQ(ev[0].pid, 4153);
  EXPECT_EQ(ev[0].line, 1u);
  EXPECT_EQ(ev[0].call.end_line, 3u);
  EXPECT_TRUE(ev[0].call.resumed);
  EXPECT_EQ(ev[0].call.args,
            (std::vector<std::string>{"0x7f5263e16fe0", "0x20", "0", "0x53053053"}));

  EXPECT_EQ(ev[1].call.name, "rt_sigprocmask");
  EXPECT_EQ(ev[1].pid, 4152);
  EXPECT_EQ(ev[1].line, 2u);
  EXPECT_EQ(ev[1].call.end_line, 4u);
  EXPECT_EQ(ev[1].call.args, (std::vector<std::string>{"SIG_SETMASK", "[]", "NULL", "8"}));

  EXPECT_EQ(ev[2].call.name, "mmap");
  EXPECT_EQ(ev[2].call.value, 0x7f5262e13000u);
  EXPECT_EQ(ev[2].call.args.size(), 6u);
  EXPECT_EQ(ev[2].line, 5u);

  EXPECT_EQ(ev[3].call.name, "clone3");
  EXPECT_EQ(
      ev[3].call.args,
      (std::vector<std::string>{
          "{flags=CLONE_VM|CLONE_THREAD, stack_size=0x7fff80} => {parent_tid=[4154]}", "88"}));
  EXPECT_EQ(ev[3].call.value, 4154u);

  EXPECT_EQ(ev[4].call.name, "set_robust_list");
  EXPECT_FALSE(ev[4].call.resumed);
  EXPECT_EQ(ev[4].line, 10u);
  EXPECT_EQ(ev[4].call.end_line, 10u);

  EXPECT_EQ(ev[5].call.name, "wait4");
  EXPECT_EQ(ev[5].call.args, (std::vector<std::string>{"4155", "NULL", "0", "NULL"}));
}

// strace -f printed the child's first calls before the parent's clone
// returned: the clone comes out first, completed with the child's pid, and
// its resumption adds nothing.
TEST(StraceResume, ChildRunsBeforeItsClone) {
  const char* text =
      "100  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD "
      "<unfinished ...>\n"
      "101  set_robust_list(0x7fb155ad85e0, 24) = 0\n"
      "101  setsid( <unfinished ...>\n"
      "100  <... clone resumed>, child_tidptr=0x7fb155ad85d0) = 101\n"
      "101  <... setsid resumed>) = 101\n"
      "100  wait4(101,  <unfinished ...>\n";
  const std::vector<TraceEvent> ev = parse_ok(text);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].call.name, "clone");
  EXPECT_EQ(ev[0].pid, 100);
  EXPECT_EQ(ev[0].line, 1u);
  EXPECT_EQ(ev[0].call.outcome, Outcome::Value);
  EXPECT_EQ(ev[0].call.value, 101u);
  EXPECT_EQ(ev[0].call.args,
            (std::vector<std::string>{"child_stack=NULL",
                                      "flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"}));
  EXPECT_EQ(ev[0].call.result_note, "(child pid 101 ran first)");
  EXPECT_EQ(ev[1].call.name, "set_robust_list");
  EXPECT_EQ(ev[2].call.name, "setsid");
  EXPECT_EQ(ev[3].call.name, "wait4");
  EXPECT_EQ(ev[3].call.outcome, Outcome::Unfinished);
}

// The early clone said 101; its resumption says 102: an error, never a
// second clone event.
TEST(StraceResume, EarlyCloneContradicted) {
  const std::vector<ParseItem> items = parse_strace_text(
      "100  clone3({flags=CLONE_VM|CLONE_THREAD} <unfinished ...>\n"
      "101  rseq(0x7f, 0x20, 0, 0x53053053) = 0\n"
      "100  <... clone3 resumed> => {parent_tid=[102]}, 88) = 102\n");
  const std::vector<ParseError> errors = errors_of(items);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 3u);
  EXPECT_NE(errors[0].message.find("returned 102, but pid 101 had already run as its child"),
            std::string::npos)
      << errors[0].message;
  std::size_t clones = 0;
  for (const ParseItem& item : items)
    if (const auto* e = std::get_if<TraceEvent>(&item)) clones += e->call.name == "clone3";
  EXPECT_EQ(clones, 1u);
}

// A pid that a completed clone already returned is no orphan, whatever
// clone waits when its first line comes.
TEST(StraceResume, ChildOfACompletedCloneIsNotReattributed) {
  const std::vector<TraceEvent> ev = parse_ok(
      "100  clone3({flags=CLONE_VM|CLONE_THREAD}, 88) = 101\n"
      "100  clone3({flags=CLONE_VM|CLONE_THREAD} <unfinished ...>\n"
      "101  rseq(0x7f, 0x20, 0, 0x53053053) = 0\n"
      "100  <... clone3 resumed>, 88) = 102\n"
      "102  rseq(0x7e, 0x20, 0, 0x53053053) = 0\n");
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[1].pid, 101);
  EXPECT_EQ(ev[1].call.name, "rseq");
  EXPECT_EQ(ev[2].call.name, "clone3");
  EXPECT_EQ(ev[2].call.value, 102u);
  EXPECT_TRUE(ev[2].call.result_note.empty());
  EXPECT_EQ(ev[3].pid, 102);
}

// Two clones wait when the new pid shows: its calls are held until the one
// that returns it, and follow it; the other clone's child is unaffected.
TEST(StraceResume, ChildOfOneOfSeveralClones) {
  const std::vector<TraceEvent> ev = parse_ok(
      "1  clone(child_stack=NULL, flags=SIGCHLD) = 100\n"
      "1  clone(child_stack=NULL, flags=SIGCHLD) = 200\n"
      "100  clone3({flags=CLONE_VM|CLONE_THREAD} <unfinished ...>\n"
      "200  clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>\n"
      "201  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
      "201  munmap(0x7f0000000000, 4096 <unfinished ...>\n"
      "100  <... clone3 resumed>, 88) = 101\n"
      "201  <... munmap resumed>) = 0\n"
      "200  <... clone resumed>) = 201\n"
      "201  +++ exited with 0 +++\n");
  std::vector<std::string> seen;
  for (const TraceEvent& e : ev)
    seen.push_back(std::to_string(e.pid) + " " +
                   (e.kind == EventKind::Call ? e.call.name : "exit"));
  EXPECT_EQ(seen, (std::vector<std::string>{"1 clone", "1 clone", "100 clone3", "200 clone",
                                            "201 mmap", "201 munmap", "201 exit"}));
  EXPECT_EQ(ev[3].call.value, 201u);
  EXPECT_TRUE(ev[3].call.result_note.empty());
}

// No waiting clone can claim the held pid any more (both returned others):
// its calls come out as they are, in order.
TEST(StraceResume, HeldChildReleasedWhenNoCloneWaits) {
  const std::vector<TraceEvent> ev = parse_ok(
      "100  clone3({flags=CLONE_VM|CLONE_THREAD}, 88) = 200\n"
      "100  clone3({flags=CLONE_VM|CLONE_THREAD} <unfinished ...>\n"
      "200  clone3({flags=CLONE_VM|CLONE_THREAD} <unfinished ...>\n"
      "999  getpid() = 999\n"
      "999  gettid() = 999\n"
      "100  <... clone3 resumed>, 88) = 101\n"
      "200  <... clone3 resumed>, 88) = 201\n");
  std::vector<std::string> seen;
  for (const TraceEvent& e : ev) seen.push_back(std::to_string(e.pid) + " " + e.call.name);
  EXPECT_EQ(seen, (std::vector<std::string>{"100 clone3", "100 clone3", "200 clone3", "999 getpid",
                                            "999 gettid"}));
}

// Held events stay bounded, and finish() lets them all out.
TEST(StraceResume, HeldEventsAreBounded) {
  std::string text =
      "100  clone3({flags=CLONE_VM}, 88) = 200\n100  clone3({flags=CLONE_VM} <unfinished ...>\n"
      "200  fork( <unfinished ...>\n";
  for (int i = 0; i < 10000; ++i) text += "999  getpid() = 999\n";
  StraceParser parser;
  std::size_t out = 0;
  std::size_t most_waiting = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    parser.feed(std::string_view(text).substr(start, nl - start));
    start = nl + 1;
    std::size_t now = 0;
    while (parser.next()) ++now;
    out += now;
    most_waiting = std::max(most_waiting, parser.lines_read() - out);
  }
  parser.finish();
  while (parser.next()) ++out;
  EXPECT_EQ(out, 10003u);  // the first clone3, the getpids and the two unfinished calls
  EXPECT_LE(most_waiting, 4100u);
}

TEST(StraceResume, SyscallHexNameAndTimestamps) {
  const char* text =
      "[pid  6640] 18:26:19.798600 syscall_0x1ce(0x7faabaee2000, 0x1000, 0, 0x1, 0x2, 0x3 "
      "<unfinished ...>\n"
      "[pid  6639] 18:26:19.798700 mmap(NULL, 8392704, PROT_NONE, "
      "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = "
      "0x7faab9cfa000 <0.000014>\n"
      "[pid  6640] 18:26:19.799155 <... syscall_0x1ce resumed>) = 0 <0.000501>\n";
  const std::vector<TraceEvent> ev = parse_ok(text);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].call.name, "mmap");
  EXPECT_EQ(ev[1].call.name, "mseal");
  EXPECT_EQ(ev[1].call.args.size(), 3u);
  EXPECT_EQ(ev[1].timestamp, "18:26:19.798600");  // from the start
  EXPECT_EQ(ev[1].call.duration, "0.000501");     // from the end
}

TEST(StraceResume, InterruptedByExit) {
  const char* text =
      "[pid  7] futex(0x7f00, FUTEX_WAIT_PRIVATE, 2, NULL <unfinished ...>\n"
      "[pid  8] exit_group(0)             = ?\n"
      "[pid  7] <... futex resumed> <unfinished ...>) = ?\n"
      "[pid  8] +++ exited with 0 +++\n"
      "+++ exited with 0 +++\n"
      "wait4(-1,  <unfinished ...>) = ?\n";
  const std::vector<TraceEvent> ev = parse_ok(text);
  ASSERT_EQ(ev.size(), 5u);
  EXPECT_EQ(ev[0].call.name, "exit_group");
  EXPECT_EQ(ev[1].call.name, "futex");
  EXPECT_EQ(ev[1].call.outcome, Outcome::Unknown);
  EXPECT_EQ(ev[1].call.args.size(), 4u);
  EXPECT_EQ(ev[2].kind, EventKind::Exit);
  EXPECT_EQ(ev[3].kind, EventKind::Exit);
  EXPECT_EQ(ev[3].pid, 0);
  EXPECT_EQ(ev[4].call.name, "wait4");
  EXPECT_EQ(ev[4].call.outcome, Outcome::Unknown);
  EXPECT_EQ(ev[4].call.args, (std::vector<std::string>{"-1"}));
}

TEST(StraceResume, NeverResumed) {
  const char* text =
      "100  mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>\n"
      "101  pause( <unfinished ...>\n"
      "102  rt_sigprocmask(SIG_BLOCK, [CHLD],  <unfinished ...>\n"
      "101  +++ killed by SIGKILL +++\n"  // flushes 101's call first
      "102  getpid()  = 102\n"            // a new call flushes 102's
      "103  read(0,  <detached ...>\n";   // cut: unfinished at once
  StraceParser parser;
  std::vector<ParseItem> items;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    parser.feed(line);
    while (auto item = parser.next()) items.push_back(std::move(*item));
  }
  EXPECT_EQ(parser.pending_calls(), 1u);  // 100's mmap
  EXPECT_EQ(parser.lines_read(), 6u);
  parser.finish();
  EXPECT_EQ(parser.pending_calls(), 0u);
  while (auto item = parser.next()) items.push_back(std::move(*item));
  const std::vector<TraceEvent> ev = events_of(items);
  ASSERT_EQ(ev.size(), 6u);
  EXPECT_EQ(ev[0].call.name, "pause");
  EXPECT_EQ(ev[0].call.outcome, Outcome::Unfinished);
  EXPECT_EQ(ev[0].call.end_line, 0u);
  EXPECT_EQ(ev[1].kind, EventKind::Killed);
  EXPECT_EQ(ev[1].signal, "SIGKILL");
  EXPECT_EQ(ev[2].call.name, "rt_sigprocmask");
  EXPECT_EQ(ev[2].call.outcome, Outcome::Unfinished);
  EXPECT_EQ(ev[2].call.args, (std::vector<std::string>{"SIG_BLOCK", "[CHLD]"}));
  EXPECT_EQ(ev[3].call.name, "getpid");
  EXPECT_EQ(ev[4].call.name, "read");
  EXPECT_EQ(ev[4].call.outcome, Outcome::Unfinished);
  EXPECT_EQ(ev[4].call.args, (std::vector<std::string>{"0"}));
  EXPECT_EQ(ev[5].call.name, "mmap");
  EXPECT_EQ(ev[5].pid, 100);
  EXPECT_EQ(ev[5].line, 1u);
  EXPECT_EQ(ev[5].call.outcome, Outcome::Unfinished);
  EXPECT_EQ(ev[5].call.args.size(), 6u);
}

TEST(StraceResume, ThreadExecveSupersedes) {
  const char* text =
      "[pid  1235] execve(\"/bin/true\", [\"true\"], 0x7ffd /* 1 var */ <unfinished ...>\n"
      "[pid  1234] futex(0x7f00, FUTEX_WAIT, 1235, NULL <unfinished ...>\n"
      "[pid  1234] +++ superseded by execve in pid 1235 +++\n"
      "[pid  1234] <... execve resumed>)      = 0\n";
  const std::vector<TraceEvent> ev = parse_ok(text);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].call.name, "futex");
  EXPECT_EQ(ev[0].call.outcome, Outcome::Unfinished);
  EXPECT_EQ(ev[1].kind, EventKind::Superseded);
  EXPECT_EQ(ev[1].pid, 1234);
  EXPECT_EQ(ev[1].other_pid, 1235);
  EXPECT_EQ(ev[2].call.name, "execve");
  EXPECT_EQ(ev[2].pid, 1234);
  EXPECT_EQ(ev[2].line, 1u);
  EXPECT_EQ(ev[2].call.outcome, Outcome::Value);
}

TEST(StraceResume, ThreadExecvePidChanged) {
  // The thread's line is cut by "<pid changed to N ...>" (strace's threaded_execve test).
  std::vector<TraceEvent> ev = parse_ok(
      "200   nanosleep({tv_sec=123, tv_nsec=0},  <unfinished ...>\n"
      "201   execve(\"/bin/true\", [\"true\"], 0x1 /* 1 var */ <pid changed to 200 ...>\n"
      "200   <... nanosleep resumed> <unfinished ...>) = ?\n"
      "200   +++ superseded by execve in pid 201 +++\n"
      "200   <... execve resumed>) = 0\n");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].call.name, "nanosleep");
  EXPECT_EQ(ev[0].call.outcome, Outcome::Unknown);
  EXPECT_EQ(ev[1].kind, EventKind::Superseded);
  EXPECT_EQ(ev[2].call.name, "execve");
  EXPECT_EQ(ev[2].pid, 200);
  EXPECT_EQ(ev[2].line, 2u);
  EXPECT_EQ(ev[2].call.args.size(), 3u);
  EXPECT_EQ(ev[2].call.outcome, Outcome::Value);
  // Without the "superseded" line (--quiet=thread-execve).
  ev = parse_ok(
      "201   execve(\"/bin/true\", [\"true\"], 0x1 /* 1 var */ <pid changed to 200 ...>\n"
      "200   <... execve resumed>) = 0\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].pid, 200);
  EXPECT_EQ(ev[0].call.value, 0u);
}

TEST(StraceResume, TerminalDropsPrefixes) {
  // strace to a terminal prints "[pid N]" only while several processes are traced.
  const char* text =
      "wait4(-1,  <unfinished ...>\n"
      "[pid  77] exit_group(0) = ?\n"
      "[pid  77] +++ exited with 0 +++\n"
      "<... wait4 resumed>NULL, 0, NULL) = 77\n"
      "[pid  5] read(0,  <unfinished ...>\n"
      "<... read resumed>\"x\", 1) = 1\n";
  const std::vector<TraceEvent> ev = parse_ok(text);
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[2].call.name, "wait4");
  EXPECT_EQ(ev[2].call.value, 77u);
  EXPECT_EQ(ev[3].call.name, "read");
  EXPECT_EQ(ev[3].pid, 5);
}

TEST(StraceResume, AttachMessageSplicedIntoACall) {
  // Real strace 6.1 output to a terminal: the message cuts a half-written line.
  const char* text =
      "18:26:19.797938 clone3({flags=CLONE_VM|CLONE_THREAD, stack_size=0x7fff80}strace: Process "
      "6640 attached\n"
      " => {parent_tid=[6640]}, 88) = 6640 <0.000070>\n"
      "[pid  6640] 18:26:19.799279 mmap(NULL, 8192, PROT_READ|PROT_WRITE, "
      "MAP_PRIVATE|MAP_ANONYMOUS, -1, "
      "0strace: Process 6641 attached\n"
      ") = 0x7faab9cf8000 <0.000197>\n"
      "futex(0x7f9f3f8d4990, 0x109 /* FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME */, 6681, NULL, "
      "0xffffffff /* "
      "FUTEX_BITSET_MATCH_ANY */strace: Process 6681 attached\n"
      " <unfinished ...>\n"
      "[pid  6681] exit(0) = ?\n"
      "<... futex resumed>)                    = 0\n"
      "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD/usr/bin/strace: Process 6642 "
      "attached\n"
      ", child_tidptr=0x7faabacfca10) = 6642\n";
  const std::vector<TraceEvent> ev = parse_ok(text);
  ASSERT_EQ(ev.size(), 9u);
  EXPECT_EQ(ev[0].kind, EventKind::Attached);
  EXPECT_EQ(ev[0].pid, 6640);
  EXPECT_EQ(ev[0].line, 1u);
  EXPECT_EQ(ev[1].call.name, "clone3");
  EXPECT_EQ(ev[1].line, 1u);
  EXPECT_EQ(ev[1].call.end_line, 2u);
  EXPECT_EQ(ev[1].call.value, 6640u);
  EXPECT_EQ(ev[1].call.args.size(), 2u);
  EXPECT_EQ(ev[1].call.duration, "0.000070");
  EXPECT_EQ(ev[2].kind, EventKind::Attached);
  EXPECT_EQ(ev[2].pid, 6641);
  EXPECT_EQ(ev[3].call.name, "mmap");
  EXPECT_EQ(ev[3].pid, 6640);
  EXPECT_EQ(ev[3].call.args.size(), 6u);
  EXPECT_EQ(ev[3].call.value, 0x7faab9cf8000u);
  EXPECT_EQ(ev[4].kind, EventKind::Attached);
  EXPECT_EQ(ev[5].call.name, "exit");
  EXPECT_EQ(ev[6].call.name, "futex");
  EXPECT_EQ(ev[6].line, 5u);
  EXPECT_EQ(ev[6].call.end_line, 8u);
  EXPECT_EQ(ev[6].call.args.size(), 5u);
  EXPECT_EQ(ev[7].kind, EventKind::Attached);
  EXPECT_EQ(ev[7].pid, 6642);
  EXPECT_EQ(ev[8].call.name, "clone");
  EXPECT_EQ(ev[8].call.args.size(), 3u);

  // A half line the input ends on is still read (and found incomplete).
  const std::vector<ParseItem> items =
      parse_strace_text("mmap(NULL, 4096strace: Process 9 attached\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(std::get<TraceEvent>(items[0]).kind, EventKind::Attached);
  EXPECT_EQ(std::get<ParseError>(items[1]).line, 1u);
}

// ---- other lines ------------------------------------------------------------------------

TEST(StraceEvents, SignalsAndProcessEnds) {
  const char* text =
      "4155  --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---\n"
      "4155  +++ killed by SIGSEGV (core dumped) +++\n"
      "4156  +++ killed by SIGKILL +++\n"
      "4157  +++ exited with 3 +++\n"
      "4158  --- stopped by SIGSTOP ---\n"
      "4152  --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=4155, si_status=SIGSEGV} "
      "---\n";
  const std::vector<TraceEvent> ev = parse_ok(text);
  ASSERT_EQ(ev.size(), 6u);
  EXPECT_EQ(ev[0].kind, EventKind::Signal);
  EXPECT_EQ(ev[0].pid, 4155);
  EXPECT_EQ(ev[0].signal, "SIGSEGV");
  EXPECT_EQ(ev[0].text, "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL}");
  EXPECT_FALSE(ev[0].stopped);
  EXPECT_EQ(ev[1].kind, EventKind::Killed);
  EXPECT_EQ(ev[1].signal, "SIGSEGV");
  EXPECT_TRUE(ev[1].core_dumped);
  EXPECT_EQ(ev[2].kind, EventKind::Killed);
  EXPECT_FALSE(ev[2].core_dumped);
  EXPECT_EQ(ev[3].kind, EventKind::Exit);
  EXPECT_EQ(ev[3].exit_code, 3);
  EXPECT_EQ(ev[4].kind, EventKind::Signal);
  EXPECT_TRUE(ev[4].stopped);
  EXPECT_EQ(ev[4].signal, "SIGSTOP");
  EXPECT_EQ(ev[5].signal, "SIGCHLD");
}

TEST(StraceEvents, Messages) {
  const char* text =
      "strace: Process 123 attached\n"
      "strace: Process 124 attached with 3 threads\n"
      "strace: Process 123 detached\n"
      "/usr/bin/strace: Process 125 attached\n"
      "Process 126 attached\n"
      "strace: exit of unknown pid 12345 ignored\n"
      "[ Process PID=127 runs in x32 mode. ]\n"
      "\n"
      "   \n";
  const std::vector<TraceEvent> ev = parse_ok(text);
  ASSERT_EQ(ev.size(), 7u);
  EXPECT_EQ(ev[0].kind, EventKind::Attached);
  EXPECT_EQ(ev[0].pid, 123);
  EXPECT_EQ(ev[0].text, "");
  EXPECT_EQ(ev[1].kind, EventKind::Attached);
  EXPECT_EQ(ev[1].pid, 124);
  EXPECT_EQ(ev[1].text, "with 3 threads");
  EXPECT_EQ(ev[2].kind, EventKind::Detached);
  EXPECT_EQ(ev[3].pid, 125);
  EXPECT_EQ(ev[4].kind, EventKind::Attached);
  EXPECT_EQ(ev[4].pid, 126);
  EXPECT_EQ(ev[5].kind, EventKind::Note);
  EXPECT_EQ(ev[5].text, "exit of unknown pid 12345 ignored");
  EXPECT_EQ(ev[6].kind, EventKind::Note);
  EXPECT_EQ(ev[6].pid, 127);

  // A string that merely mentions strace is a call.
  const TraceCall c = call_of("write(2, \"strace: Process 1 attached\", 26) = 26");
  EXPECT_EQ(c.name, "write");
}

// ---- malformed input --------------------------------------------------------------------

TEST(StraceErrors, ClearMessages) {
  struct Case {
    const char* line;
    const char* message_part;
  };
  const Case cases[] = {
      {"write(1, \"abc, 3) = 3", "unterminated string"},
      {"close(3) 0", "expected '='"},
      {"close(3)", "missing '= result'"},
      {"close(3) =", "missing value"},
      {"close(3) = zz", "bad return value"},
      {"close(3) = 0x", "bad return value"},
      {"close(3) = 99999999999999999999999", "bad return value"},
      {"hello world", "expected a system call"},
      {"12345", "expected a system call"},
      {"mmap(NULL, 4096", "missing ')'"},
      {"f([1, 2) = 0", "does not match"},
      {"f(a, {b) = 0", "does not match"},
      {"f([1, 2 = 0", "unclosed '['"},
      {"f(a) ] = 0", "expected '='"},
      {"f(a,,b) = 0", "empty argument"},
      {"f(a, ) = 0", "empty argument"},
      {"f(/* oops) = 0", "unterminated comment"},
      {"[pid 12 mmap(NULL) = 0", "malformed \"[pid N]\""},
      {"+++ exploded +++", "unknown \"+++"},
      {"+++ exited with x +++", "exit status"},
      {"+++ exited with 0", "malformed \"+++"},
      {"--- SIGSEGV {si_signo=SIGSEGV}", "signal line"},
      {"<... mmap resumed>) = 0", "without an unfinished mmap call"},
      {"<... mmap) = 0", "malformed \"<... NAME resumed>\""},
      {"4152  ", "nothing after the line prefix"},
  };
  for (const Case& c : cases) {
    const ParseError e = error_of(c.line);
    EXPECT_EQ(e.line, 1u) << c.line;
    EXPECT_NE(e.message.find(c.message_part), std::string::npos) << c.line << " -> " << e.message;
    EXPECT_EQ(e.text, std::string(c.line)) << c.line;
    EXPECT_NE(e.to_string().find("line 1: "), std::string::npos);
  }
}

TEST(StraceErrors, ParsingGoesOn) {
  const char* text =
      "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
      "garbage here\n"
      "7  mmap(NULL, 4096 <unfinished ...>\n"
      "7  <... munmap resumed>) = 0\n"  // wrong name: an error, the mmap still waits
      "7  <... mmap resumed>, PROT_READ, MAP_SHARED, 3, 0) = 0x7f0000001000\n"
      "write(1, \"unterminated\n"
      "munmap(0x7f0000000000, 4096) = 0\n";
  const std::vector<ParseItem> items = parse_strace_text(text);
  ASSERT_EQ(items.size(), 6u);
  EXPECT_TRUE(std::holds_alternative<TraceEvent>(items[0]));
  EXPECT_EQ(std::get<ParseError>(items[1]).line, 2u);
  const ParseError& mismatch = std::get<ParseError>(items[2]);
  EXPECT_EQ(mismatch.line, 4u);
  EXPECT_NE(mismatch.message.find("is in mmap (line 3)"), std::string::npos) << mismatch.message;
  const TraceEvent& mmap2 = std::get<TraceEvent>(items[3]);
  EXPECT_EQ(mmap2.call.args.size(), 6u);
  EXPECT_EQ(mmap2.line, 3u);
  EXPECT_EQ(mmap2.call.end_line, 5u);
  EXPECT_EQ(std::get<ParseError>(items[4]).line, 6u);
  EXPECT_EQ(std::get<TraceEvent>(items[5]).call.name, "munmap");
}

TEST(StraceErrors, ErrorTextIsBounded) {
  const std::string line = "f(\"" + std::string(100000, 'x');
  const ParseError e = error_of(line);
  EXPECT_EQ(e.text.size(), ParseError::kMaxErrorText);
  const ParseError ctl = error_of("bad\x01line");
  EXPECT_NE(ctl.to_string().find("bad\\x01line"), std::string::npos);
}

TEST(StraceErrors, BinaryLinesAreShownEscapedAndShort) {
  ParseError e;
  e.line = 3;
  e.message = "m";
  // UTF-8 stays; a stray continuation byte, an overlong '/', a surrogate, a
  // sequence cut short and DEL are escaped.
  e.text = "caf\xc3\xa9 \xe2\x82\xac \x80 \xc0\xaf \xed\xa0\x80 \xf0\x9f \x7f";
  EXPECT_EQ(
      e.to_string(),
      "line 3: m: caf\xc3\xa9 \xe2\x82\xac \\x80 \\xc0\\xaf \\xed\\xa0\\x80 \\xf0\\x9f \\x7f");
  e.text = std::string(1000, '\xff');
  const std::string shown = e.to_string();
  EXPECT_EQ(
      shown, "line 3: m: " + [] {
        std::string x;
        for (std::size_t i = 0; i < ParseError::kShownText; ++i) x += "\\xff";
        return x + "...";
      }());
  for (const char c : shown) EXPECT_LT(static_cast<unsigned char>(c), 0x80u);
}

// ---- helpers ----------------------------------------------------------------------------

TEST(StraceHelpers, Integers) {
  std::uint64_t u = 0;
  std::int64_t s = 0;
  EXPECT_TRUE(parse_int_arg("0", u));
  EXPECT_EQ(u, 0u);
  EXPECT_TRUE(parse_int_arg("4096", u));
  EXPECT_EQ(u, 4096u);
  EXPECT_TRUE(parse_int_arg("0x7f5264003000", u));
  EXPECT_EQ(u, 0x7f5264003000u);
  EXPECT_TRUE(parse_int_arg("0XFF", u));
  EXPECT_EQ(u, 255u);
  EXPECT_TRUE(parse_int_arg("NULL", u));
  EXPECT_EQ(u, 0u);
  EXPECT_TRUE(parse_int_arg(" 0644 ", u));
  EXPECT_EQ(u, 0644u);
  EXPECT_TRUE(parse_int_arg("0xffffffffffffffff", u));
  EXPECT_EQ(u, kU64Max);
  EXPECT_TRUE(parse_int_arg("18446744073709551615", u));
  EXPECT_EQ(u, kU64Max);
  EXPECT_TRUE(parse_int_arg("-1", u));
  EXPECT_EQ(u, kU64Max);
  EXPECT_TRUE(parse_int_arg("-9223372036854775808", u));
  EXPECT_EQ(u, std::uint64_t{1} << 63);
  EXPECT_TRUE(parse_int_arg("0x67 /* MADV_??? */", u));
  EXPECT_EQ(u, 0x67u);
  EXPECT_TRUE(parse_int_arg("0x7fff5c434cd0 /* 41 vars */", u));

  std::string err;
  EXPECT_FALSE(parse_int_arg("18446744073709551616", u, &err));
  EXPECT_NE(err.find("out of range"), std::string::npos);
  EXPECT_FALSE(parse_int_arg("0x10000000000000000", u, &err));
  EXPECT_FALSE(parse_int_arg("-9223372036854775809", u, &err));
  EXPECT_FALSE(parse_int_arg("", u, &err));
  EXPECT_FALSE(parse_int_arg("12abc", u, &err));
  EXPECT_NE(err.find("12abc"), std::string::npos);
  EXPECT_FALSE(parse_int_arg("0x", u, &err));
  EXPECT_FALSE(parse_int_arg("08", u, &err));
  EXPECT_FALSE(parse_int_arg("-", u, &err));
  EXPECT_FALSE(parse_int_arg("PROT_READ", u, &err));
  EXPECT_FALSE(parse_int_arg("1 /* x", u, &err));

  EXPECT_TRUE(parse_int_arg("-1", s));
  EXPECT_EQ(s, -1);
  EXPECT_TRUE(parse_int_arg("-9223372036854775808", s));
  EXPECT_EQ(s, std::numeric_limits<std::int64_t>::min());
  EXPECT_TRUE(parse_int_arg("9223372036854775807", s));
  EXPECT_EQ(s, std::numeric_limits<std::int64_t>::max());
  EXPECT_FALSE(parse_int_arg("0xffffffffffffffff", s, &err));
  EXPECT_NE(err.find("signed"), std::string::npos);
  EXPECT_FALSE(parse_int_arg("9223372036854775808", s));
}

TEST(StraceHelpers, Flags) {
  auto flags = [](std::string_view text, FlagSet set) {
    std::uint64_t v = 0;
    std::string err;
    EXPECT_TRUE(parse_flags(text, set, v, &err)) << text << ": " << err;
    return v;
  };
  EXPECT_EQ(flags("PROT_READ|PROT_WRITE", FlagSet::Prot), 3u);
  EXPECT_EQ(flags("PROT_NONE", FlagSet::Prot), 0u);
  EXPECT_EQ(flags("0", FlagSet::Prot), 0u);
  EXPECT_EQ(flags("PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM|PROT_GROWSDOWN", FlagSet::Prot),
            0x100000fu);
  EXPECT_EQ(flags("PROT_GROWSUP", FlagSet::Prot), 0x2000000u);
  EXPECT_EQ(flags("MAP_PRIVATE|MAP_ANONYMOUS|0x40000", FlagSet::Map), 0x40022u);
  EXPECT_EQ(flags("MAP_SHARED|MAP_FIXED", FlagSet::Map), 0x11u);
  EXPECT_EQ(flags("MAP_PRIVATE|MAP_FIXED_NOREPLACE", FlagSet::Map), 0x100002u);
  EXPECT_EQ(flags("MAP_GROWSDOWN|MAP_NORESERVE|MAP_LOCKED|MAP_POPULATE|MAP_NONBLOCK|MAP_STACK",
                  FlagSet::Map),
            0x3e100u);
  EXPECT_EQ(flags("MAP_HUGETLB|MAP_SYNC|MAP_SHARED_VALIDATE", FlagSet::Map), 0xc0003u);
  EXPECT_EQ(flags("MAP_DROPPABLE|MAP_32BIT|MAP_DENYWRITE|MAP_EXECUTABLE", FlagSet::Map), 0x1848u);
  EXPECT_EQ(flags("MAP_UNINITIALIZED|MAP_ABOVE4G|MAP_ANON|MAP_FILE", FlagSet::Map), 0x40000a0u);
  EXPECT_EQ(flags("MAP_HUGE_2MB", FlagSet::Map), std::uint64_t{21} << 26);
  EXPECT_EQ(flags("MAP_HUGE_1GB", FlagSet::Map), std::uint64_t{30} << 26);
  EXPECT_EQ(flags("MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT", FlagSet::Map),
            0x40022u | (std::uint64_t{21} << 26));
  EXPECT_EQ(flags("0xa /* MAP_??? */|MAP_ANONYMOUS", FlagSet::Map),
            0x2au);  // strace 6.1 on MAP_DROPPABLE
  EXPECT_EQ(flags("0x22 /* MAP_PRIVATE|MAP_ANONYMOUS */", FlagSet::Map), 0x22u);  // -X verbose
  EXPECT_EQ(flags(" MAP_SHARED | MAP_FIXED ", FlagSet::Map), 0x11u);
  EXPECT_EQ(flags("MREMAP_MAYMOVE|MREMAP_FIXED", FlagSet::Mremap), 3u);
  EXPECT_EQ(flags("MREMAP_MAYMOVE|MREMAP_FIXED|MREMAP_DONTUNMAP", FlagSet::Mremap), 7u);
  EXPECT_EQ(flags("MADV_DONTNEED", FlagSet::Madvise), 4u);
  EXPECT_EQ(flags("MADV_COLLAPSE", FlagSet::Madvise), 25u);
  EXPECT_EQ(flags("MADV_GUARD_INSTALL", FlagSet::Madvise), 102u);
  EXPECT_EQ(flags("MADV_GUARD_REMOVE", FlagSet::Madvise), 103u);
  EXPECT_EQ(flags("0x67 /* MADV_??? */", FlagSet::Madvise), 103u);
  EXPECT_EQ(flags("MADV_DONTNEED_LOCKED", FlagSet::Madvise), 24u);
  EXPECT_EQ(flags("MADV_WIPEONFORK", FlagSet::Madvise), 18u);
  EXPECT_EQ(flags("MCL_CURRENT|MCL_FUTURE", FlagSet::Mlockall), 3u);
  EXPECT_EQ(flags("MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT", FlagSet::Mlockall), 7u);
  EXPECT_EQ(flags("MLOCK_ONFAULT", FlagSet::Mlock2), 1u);
  EXPECT_EQ(flags("MS_SYNC|MS_INVALIDATE", FlagSet::Msync), 6u);
  EXPECT_EQ(flags("SHM_RDONLY", FlagSet::Shmat), 010000u);
  EXPECT_EQ(flags("SHM_RND|SHM_REMAP|SHM_EXEC", FlagSet::Shmat), 0160000u);
  EXPECT_EQ(flags("IPC_CREAT|0600", FlagSet::Shmget), 01600u);
  EXPECT_EQ(flags("IPC_CREAT|IPC_EXCL|SHM_HUGETLB|SHM_NORESERVE|21<<SHM_HUGE_SHIFT|0600",
                  FlagSet::Shmget),
            017600u | (std::uint64_t{21} << 26));
  EXPECT_EQ(flags("PKEY_DISABLE_ACCESS|PKEY_DISABLE_WRITE", FlagSet::Pkey), 3u);

  std::uint64_t v = 0;
  std::string err;
  EXPECT_FALSE(parse_flags("PROT_READ|PROT_BOGUS", FlagSet::Prot, v, &err));
  EXPECT_NE(err.find("PROT_BOGUS"), std::string::npos) << err;
  EXPECT_FALSE(parse_flags("MAP_SHARED", FlagSet::Prot, v, &err));  // wrong table
  EXPECT_NE(err.find("MAP_SHARED"), std::string::npos) << err;
  EXPECT_FALSE(parse_flags("MADV_COLD|MADV_PAGEOUT", FlagSet::Madvise, v, &err));
  EXPECT_FALSE(parse_flags("", FlagSet::Map, v, &err));
  EXPECT_FALSE(parse_flags("MAP_SHARED|", FlagSet::Map, v, &err));
  EXPECT_FALSE(parse_flags("1<<64", FlagSet::Map, v, &err));
  EXPECT_FALSE(parse_flags("3<<63", FlagSet::Map, v, &err));
  EXPECT_FALSE(parse_flags("21<<PROT_READ", FlagSet::Map, v, &err));
  EXPECT_FALSE(parse_flags("MAP_HUGE_SHIFT", FlagSet::Map, v, &err));  // only after "<<"
  EXPECT_FALSE(parse_flags("PROT_READ /* x", FlagSet::Prot, v, &err));
  EXPECT_EQ(v, 0u);  // untouched on failure
}

TEST(StraceHelpers, FlagTablesAreConsistent) {
  for (const FlagSet set :
       {FlagSet::Prot, FlagSet::Map, FlagSet::Mremap, FlagSet::Madvise, FlagSet::Mlockall,
        FlagSet::Mlock2, FlagSet::Msync, FlagSet::Shmat, FlagSet::Shmget, FlagSet::Pkey}) {
    const auto symbols = flag_symbols(set);
    ASSERT_FALSE(symbols.empty());
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      std::uint64_t v = ~std::uint64_t{0};
      ASSERT_TRUE(parse_flags(symbols[i].name, set, v)) << symbols[i].name;
      EXPECT_EQ(v, symbols[i].value) << symbols[i].name;
      for (std::size_t j = i + 1; j < symbols.size(); ++j)
        EXPECT_NE(symbols[i].name, symbols[j].name);
    }
    EXPECT_FALSE(flag_set_name(set).empty());
  }
}

TEST(StraceHelpers, FdArguments) {
  FdArg fd;
  ASSERT_TRUE(parse_fd_arg("3", fd));
  EXPECT_EQ(fd.fd, 3);
  EXPECT_FALSE(fd.has_path);
  ASSERT_TRUE(parse_fd_arg("-1", fd));
  EXPECT_EQ(fd.fd, -1);
  ASSERT_TRUE(parse_fd_arg("AT_FDCWD", fd));
  EXPECT_EQ(fd.fd, -100);
  ASSERT_TRUE(parse_fd_arg("AT_FDCWD</tmp/st>", fd));
  EXPECT_EQ(fd.fd, -100);
  EXPECT_EQ(fd.path, "/tmp/st");
  ASSERT_TRUE(parse_fd_arg("3</usr/lib/x86_64-linux-gnu/libc.so.6>", fd));
  EXPECT_EQ(fd.fd, 3);
  EXPECT_TRUE(fd.has_path);
  EXPECT_EQ(fd.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_FALSE(fd.deleted);
  ASSERT_TRUE(parse_fd_arg("3</memfd:name (deleted)>", fd));
  EXPECT_EQ(fd.path, "/memfd:name");
  EXPECT_TRUE(fd.deleted);
  ASSERT_TRUE(parse_fd_arg("4</memfd:a b\\76c>(deleted)", fd));
  EXPECT_EQ(fd.fd, 4);
  EXPECT_EQ(fd.path, "/memfd:a b>c");
  EXPECT_TRUE(fd.deleted);
  ASSERT_TRUE(parse_fd_arg("12<anon_inode:[eventpoll]>", fd));
  EXPECT_EQ(fd.fd, 12);
  EXPECT_EQ(fd.path, "anon_inode:[eventpoll]");
  ASSERT_TRUE(parse_fd_arg("5</dev/null<char 1:3>>", fd));
  EXPECT_EQ(fd.path, "/dev/null");
  EXPECT_EQ(fd.device, "char 1:3");
  ASSERT_TRUE(parse_fd_arg("6<TCP:[127.0.0.1:41234->127.0.0.1:80]>", fd));
  EXPECT_EQ(fd.path, "TCP:[127.0.0.1:41234->127.0.0.1:80]");
  ASSERT_TRUE(parse_fd_arg("7</tmp/a[b>", fd));  // unmatched '[' in a file name
  EXPECT_EQ(fd.path, "/tmp/a[b");
  ASSERT_TRUE(parse_fd_arg("8</tmp/x\\n\\\"y\\\\z>", fd));
  EXPECT_EQ(fd.path, "/tmp/x\n\"y\\z");

  std::string err;
  EXPECT_FALSE(parse_fd_arg("", fd, &err));
  EXPECT_FALSE(parse_fd_arg("x", fd, &err));
  EXPECT_FALSE(parse_fd_arg("3</tmp/x", fd, &err));
  EXPECT_NE(err.find("unterminated"), std::string::npos);
  EXPECT_FALSE(parse_fd_arg("3</tmp/x>junk", fd, &err));
  EXPECT_FALSE(parse_fd_arg("99999999999", fd, &err));
}

TEST(StraceHelpers, Strings) {
  StringArg s;
  ASSERT_TRUE(parse_string_arg("\"myname\"", s));
  EXPECT_EQ(s.bytes, "myname");
  EXPECT_FALSE(s.truncated);
  ASSERT_TRUE(parse_string_arg("\"\\177ELF\\2\\1\\1\\3\\0\\0\"...", s));
  EXPECT_EQ(s.bytes, std::string("\177ELF\2\1\1\3\0\0", 10));
  EXPECT_TRUE(s.truncated);
  ASSERT_TRUE(parse_string_arg("\"\\x15\\x70\\x8c\"", s));
  EXPECT_EQ(s.bytes, "\x15\x70\x8c");
  ASSERT_TRUE(parse_string_arg("NULL", s));
  EXPECT_TRUE(s.is_null);
  ASSERT_TRUE(parse_string_arg("\"\"", s));
  EXPECT_EQ(s.bytes, "");
  std::string err;
  EXPECT_FALSE(parse_string_arg("\"abc", s, &err));
  EXPECT_FALSE(parse_string_arg("abc", s, &err));
  EXPECT_FALSE(parse_string_arg("\"abc\"x", s, &err));
}

TEST(StraceHelpers, SplitArguments) {
  std::vector<std::string> parts;
  ASSERT_TRUE(split_arguments("st_mode=S_IFREG|0644, st_size=41491, ...", parts));
  EXPECT_EQ(parts, (std::vector<std::string>{"st_mode=S_IFREG|0644", "st_size=41491", "..."}));
  ASSERT_TRUE(split_arguments("{fd=3</a,b>, events=POLLIN}, {fd=4, events=POLLOUT}", parts));
  EXPECT_EQ(parts.size(), 2u);
  ASSERT_TRUE(split_arguments("", parts));
  EXPECT_TRUE(parts.empty());
  std::string err;
  EXPECT_FALSE(split_arguments("a, (b", parts, &err));
  EXPECT_NE(err.find("unclosed '('"), std::string::npos) << err;
  EXPECT_FALSE(split_arguments("a)", parts, &err));
  EXPECT_FALSE(split_arguments("a, , b", parts, &err));
}

TEST(StraceHelpers, Errnos) {
  int n = 0;
  ASSERT_TRUE(errno_number("EPERM", n));
  EXPECT_EQ(n, 1);
  ASSERT_TRUE(errno_number("EHWPOISON", n));
  EXPECT_EQ(n, 133);
  ASSERT_TRUE(errno_number("ERESTARTNOHAND", n));
  EXPECT_EQ(n, 514);
  ASSERT_TRUE(errno_number("EWOULDBLOCK", n));
  EXPECT_EQ(n, 11);
  EXPECT_FALSE(errno_number("EBOGUS", n));
  EXPECT_EQ(errno_symbol(11), "EAGAIN");
  EXPECT_EQ(errno_symbol(95), "EOPNOTSUPP");
  EXPECT_EQ(errno_symbol(4242), "");
  // The Errno enum shares Linux's numbering.
  ASSERT_TRUE(errno_number("ENOMEM", n));
  EXPECT_EQ(n, static_cast<int>(Errno::NOMEM));
  ASSERT_TRUE(errno_number("EOPNOTSUPP", n));
  EXPECT_EQ(n, static_cast<int>(Errno::OPNOTSUPP));
}

// ---- real traces ------------------------------------------------------------------------

struct TraceFacts {
  std::size_t mseal = 0, mseal_ok = 0, munmap_eperm = 0, exits = 0, killed_segv = 0,
              killed_kill = 0, attached = 0, unfinished = 0, resumed = 0;
};

TraceFacts facts_of(const std::string& file) {
  TraceFacts f;
  const std::vector<TraceEvent> ev = parse_ok(read_data(file));
  for (const TraceEvent& e : ev) {
    switch (e.kind) {
      case EventKind::Call:
        if (e.call.outcome == Outcome::Unfinished) ++f.unfinished;
        if (e.call.resumed) ++f.resumed;
        if (e.call.name == "mseal") {
          ++f.mseal;
          EXPECT_EQ(e.call.args.size(), 3u);
          if (e.call.outcome == Outcome::Value) {
            ++f.mseal_ok;
          } else {
            EXPECT_EQ(e.call.err, Errno::INVAL) << file << ":" << e.line;
          }
        }
        if (e.call.name == "munmap" && e.call.err == Errno::PERM) ++f.munmap_eperm;
        break;
      case EventKind::Exit:
        ++f.exits;
        break;
      case EventKind::Killed:
        (e.signal == "SIGSEGV" ? f.killed_segv : f.killed_kill) += 1;
        break;
      case EventKind::Attached:
        ++f.attached;
        break;
      default:
        break;
    }
  }
  return f;
}

TEST(StraceData, ThreadsAllFormats) {
  for (const char* file :
       {"threads.f_y_o.txt", "threads.tty_tt_T.txt", "threads.tty_r.txt",
        "threads.f_ttt_i_yy_o.txt", "threads.tty_comm.txt", "threads.tty_xverbose.txt"}) {
    SCOPED_TRACE(file);
    const TraceFacts f = facts_of(file);
    EXPECT_EQ(f.mseal, 8u);
    EXPECT_EQ(f.mseal_ok, 7u);
    EXPECT_EQ(f.munmap_eperm, 7u);
    EXPECT_EQ(f.exits, 3u);  // two threads and the main process
    EXPECT_EQ(f.killed_segv, 1u);
    EXPECT_EQ(f.killed_kill, 1u);
    EXPECT_EQ(f.unfinished, 0u);
    EXPECT_GT(f.resumed, 10u);
    const bool tty = std::string(file).find("tty") != std::string::npos;
    EXPECT_EQ(f.attached, tty ? 4u : 0u);
  }
}

TEST(StraceData, SingleProcess) {
  const TraceFacts f = facts_of("threads.single_t_n.txt");
  EXPECT_EQ(f.mseal, 2u);
  EXPECT_EQ(f.mseal_ok, 1u);
  EXPECT_EQ(f.munmap_eperm, 1u);
  EXPECT_EQ(f.exits, 1u);
  EXPECT_EQ(f.unfinished, 0u);
}

TEST(StraceData, MemorySyscalls) {
  const TraceFacts f = facts_of("mm_syscalls.f_y_o.txt");
  EXPECT_EQ(f.mseal, 3u);
  EXPECT_EQ(f.mseal_ok, 1u);
  EXPECT_EQ(f.killed_segv, 1u);
  EXPECT_EQ(f.killed_kill, 1u);
  EXPECT_EQ(f.unfinished, 0u);

  // Every flag argument of the memory calls in the trace decodes.
  const std::vector<TraceEvent> ev = parse_ok(read_data("mm_syscalls.f_y_o.txt"));
  std::size_t decoded = 0;
  for (const TraceEvent& e : ev) {
    if (e.kind != EventKind::Call) continue;
    const TraceCall& c = e.call;
    auto expect_flags = [&](std::size_t i, FlagSet set) {
      ASSERT_LT(i, c.args.size()) << e.line;
      std::uint64_t v = 0;
      std::string err;
      EXPECT_TRUE(parse_flags(c.args[i], set, v, &err)) << "line " << e.line << ": " << err;
      ++decoded;
    };
    auto expect_int = [&](std::size_t i) {
      ASSERT_LT(i, c.args.size()) << e.line;
      std::uint64_t v = 0;
      EXPECT_TRUE(parse_int_arg(c.args[i], v)) << "line " << e.line << ": " << c.args[i];
    };
    if (c.name == "mmap") {
      expect_int(0);
      expect_int(1);
      expect_flags(2, FlagSet::Prot);
      expect_flags(3, FlagSet::Map);
      FdArg fd;
      EXPECT_TRUE(parse_fd_arg(c.args[4], fd)) << e.line;
      expect_int(5);
    } else if (c.name == "mprotect" || c.name == "pkey_mprotect") {
      expect_flags(2, FlagSet::Prot);
    } else if (c.name == "madvise") {
      expect_flags(2, FlagSet::Madvise);
    } else if (c.name == "mremap") {
      expect_flags(3, FlagSet::Mremap);
    } else if (c.name == "mlockall") {
      expect_flags(0, FlagSet::Mlockall);
    } else if (c.name == "mlock2") {
      expect_flags(2, FlagSet::Mlock2);
    } else if (c.name == "shmat") {
      expect_flags(2, FlagSet::Shmat);
    } else if (c.name == "shmget") {
      expect_flags(2, FlagSet::Shmget);
    } else if (c.name == "pkey_alloc") {
      expect_flags(1, FlagSet::Pkey);
    } else if (c.name == "mseal") {
      expect_int(0);
      expect_int(1);
      expect_int(2);
    }
  }
  EXPECT_GT(decoded, 50u);
}

// ---- robustness -------------------------------------------------------------------------

std::vector<std::string> corpus_lines() {
  std::vector<std::string> lines;
  for (const char* file : {"mm_syscalls.f_y_o.txt", "threads.tty_tt_T.txt",
                           "threads.f_ttt_i_yy_o.txt", "threads.tty_xverbose.txt"}) {
    std::istringstream in(read_data(file));
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
  }
  return lines;
}

// Exercises every entry point on one text; only crashes, hangs and sanitizer reports count.
void poke_helpers(const std::string& s) {
  std::uint64_t u = 0;
  std::int64_t i = 0;
  std::vector<std::string> parts;
  FdArg fd;
  StringArg str;
  (void)parse_int_arg(s, u);
  (void)parse_int_arg(s, i);
  (void)parse_flags(s, FlagSet::Map, u);
  (void)parse_flags(s, FlagSet::Madvise, u);
  (void)parse_fd_arg(s, fd);
  (void)parse_string_arg(s, str);
  (void)split_arguments(s, parts);
}

TEST(StraceRobustness, RandomBytesNeverCrash) {
  std::mt19937_64 rng(0x5eed);
  const std::string alphabet = "()[]{}<>\"\\,=?.:/* -+|x0123456789abcdefEPRMAPsyscal_ \t\x1b\r";
  StraceParser parser;
  std::size_t items = 0;
  for (int n = 0; n < 20000; ++n) {
    const std::size_t len = rng() % 80;
    std::string line;
    const bool bytes = (n % 3) == 0;
    for (std::size_t k = 0; k < len; ++k) {
      line.push_back(bytes ? static_cast<char>(rng() & 0xff) : alphabet[rng() % alphabet.size()]);
    }
    parser.feed(line);
    poke_helpers(line);
    while (parser.next()) ++items;
  }
  parser.finish();
  while (parser.next()) ++items;
  EXPECT_EQ(parser.pending_calls(), 0u);
  EXPECT_GT(items, 0u);
}

TEST(StraceRobustness, MutatedRealLinesNeverCrash) {
  const std::vector<std::string> lines = corpus_lines();
  ASSERT_FALSE(lines.empty());
  std::mt19937_64 rng(42);
  const std::string specials = "()[]{}<>\",\\/*|=? ";
  StraceParser parser;
  for (int n = 0; n < 20000; ++n) {
    std::string line = lines[rng() % lines.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !line.empty(); ++k) {
      const std::size_t at = rng() % line.size();
      switch (rng() % 4) {
        case 0:
          line.erase(at, 1 + rng() % 8);
          break;
        case 1:
          line.insert(at, 1, specials[rng() % specials.size()]);
          break;
        case 2:
          line[at] = specials[rng() % specials.size()];
          break;
        default:
          line.resize(at);
          break;
      }
    }
    parser.feed(line);
    poke_helpers(line);
    while (parser.next()) {
    }
  }
  parser.finish();
  while (parser.next()) {
  }
  EXPECT_EQ(parser.pending_calls(), 0u);
}

TEST(StraceRobustness, ShuffledRealLinesNeverCrash) {
  std::vector<std::string> lines = corpus_lines();
  std::mt19937_64 rng(7);
  std::shuffle(lines.begin(), lines.end(), rng);
  StraceParser parser;
  std::size_t events = 0;
  for (const std::string& line : lines) {
    parser.feed(line);
    while (auto item = parser.next()) events += std::holds_alternative<TraceEvent>(*item) ? 1 : 0;
  }
  parser.finish();
  while (auto item = parser.next()) events += std::holds_alternative<TraceEvent>(*item) ? 1 : 0;
  EXPECT_GT(events, lines.size() / 2);
}

TEST(StraceRobustness, HugeAndHostileLines) {
  const auto start = std::chrono::steady_clock::now();
  // A 512 KiB string argument is read; a line of 1 MiB or more is refused
  // with a message (kMaxLineBytes, docs/limits.md), not parsed.
  const std::string big = "write(1, \"" + std::string(512 << 10, 'a') + "\"..., 524288) = 524288";
  TraceCall c = call_of(big);
  EXPECT_EQ(c.value, 524288u);
  const auto items =
      parse_strace_text("write(1, \"" + std::string(4 << 20, 'a') + "\"..., 4194304) = 4194304");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<ParseError>(items[0]));
  EXPECT_NE(std::get<ParseError>(items[0]).message.find("documented limit"), std::string::npos);
  EXPECT_LE(std::get<ParseError>(items[0]).text.size(), ParseError::kMaxErrorText);
  // Deep nesting.
  const std::string deep = "f(" + std::string(200000, '[') + std::string(200000, ']') + ") = 0";
  c = call_of(deep);
  EXPECT_EQ(c.args.size(), 1u);
  // Many '<' that never close: must stay fast.
  std::string angles = "f(";
  for (int k = 0; k < 200000; ++k) angles += "a<b";
  angles += ") = 0";
  c = call_of(angles);
  EXPECT_EQ(c.args.size(), 1u);
  const std::string unterminated = "f(" + std::string(200000, '"');
  (void)parse_strace_text(unterminated);
  const auto seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0);
}

TEST(StraceRobustness, ParserIsMovable) {
  StraceParser a;
  a.feed("5  mmap(NULL, 4096 <unfinished ...>");
  StraceParser b = std::move(a);
  b.feed("5  <... mmap resumed>, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x1000");
  auto item = b.next();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(std::get<TraceEvent>(*item).call.value, 0x1000u);
  EXPECT_EQ(outcome_name(Outcome::Interrupted), "interrupted");
  EXPECT_EQ(event_kind_name(EventKind::Superseded), "superseded");
}

}  // namespace
