// Traces and scripts are untrusted input (docs/limits.md). Each input here
// once crashed a reader, ran it out of memory, took time quadratic in its
// size, or made it open a file the input named; each must now end in a clear
// message within a fixed time and (outside the sanitizer build, where
// address-space limits do not apply) a fixed amount of memory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "support/cli_run.hpp"

namespace {

using vmseal::test::CliRun;
using vmseal::test::slurp;
using vmseal::test::temp_path;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

// `vmseal ARGS` under `timeout SECONDS` and an address-space limit.
CliRun bounded(const std::string& args, int seconds, int megabytes) {
  const std::string out = temp_path("hostile.out");
  const std::string err = temp_path("hostile.err");
  std::string cmd = "(";
  if (!kSanitized) cmd += "ulimit -v " + std::to_string(megabytes * 1024) + "; ";
  cmd += "exec timeout " + std::to_string(seconds) + " " + VMSEAL_CLI_PATH + " " + args + ") >" +
         out + " 2>" + err + " </dev/null";
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(out).substr(0, 4096);
  r.err = slurp(err).substr(0, 4096);
  unlink(out.c_str());
  unlink(err.c_str());
  return r;
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(HostileInput, DeeplyNestedScriptExpressionIsRefused) {
  // Once a stack overflow: 50,000 nested '(' in a .vms argument.
  const std::string path = write_file(
      "nested.vms", "mmap(NULL, " + std::string(50000, '(') + "4096" + std::string(50000, ')') +
                        ", PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n");
  const CliRun r = bounded("compare " + path, 30, 1024);
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("nested more than 64 deep"), std::string::npos) << r.err;
  unlink(path.c_str());
}

TEST(HostileInput, ManyPidsWithUnfinishedCallsAreLinear) {
  // Once quadratic: every new pid scanned every waiting call (40,000 pids: 34
  // s).
  std::string text;
  for (int pid = 100; pid < 200100; ++pid)
    text += "[pid " + std::to_string(pid) + "] read(0,  <unfinished ...>\n";
  const std::string path = write_file("pids.txt", text);
  for (const char* command : {"sim", "compare"}) {
    const CliRun r = bounded(std::string(command) + " " + path, 60, 2048);
    EXPECT_EQ(r.code, 0) << command << ": " << r.err;
  }
  unlink(path.c_str());
}

TEST(HostileInput, TooManyLiveProcessesEndInAClearError) {
  // Once 29 KB a pid in compare and an uncaught bad_alloc at 400,000 pids.
  std::string text;
  for (int pid = 100; pid < 70100; ++pid)
    text += "[pid " + std::to_string(pid) +
            "] mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
            "0x7f0000000000\n";
  const std::string path = write_file("live.txt", text);
  for (const char* command : {"sim", "compare"}) {
    const CliRun r = bounded(std::string(command) + " " + path, 60, 1536);
    EXPECT_EQ(r.code, 3) << command << ": " << r.err;
    EXPECT_NE(r.err.find("processes alive at once (a documented limit)"), std::string::npos)
        << r.err;
  }
  unlink(path.c_str());
}

TEST(HostileInput, AHugeLineIsSkippedWithoutHoldingIt) {
  // Once 29 s and 4 GB for one 48 MB line; a 16-million-argument mmap.
  const std::string huge =
      "write(1, \"" + std::string(48 << 20, 'a') + "\", 50331648) = 50331648\n";
  std::string many = "mmap(NULL";
  for (int i = 0; i < 200000; ++i) many += ", 0";  // 600 KB: under the line limit
  many += ") = 0x7f0000000000\n";
  const std::string path = write_file("huge.txt", huge + many);
  for (const char* command : {"sim", "compare", "predict --no-progress --trace"}) {
    const CliRun r = bounded(std::string(command) + " " + path, 60, 512);
    EXPECT_NE(r.code, 0) << command;
    EXPECT_LT(r.code, 124) << command << " was killed or timed out: " << r.err;
    if (std::string(command) != "predict --no-progress --trace") {
      EXPECT_NE(r.err.find("bytes or more (a documented limit)"), std::string::npos)
          << command << ": " << r.err;
    }
    EXPECT_LT(r.err.size() + r.out.size(), 4096U) << command << " echoed the line back";
  }
  // The many-argument line alone: refused for its arguments, not its length.
  const std::string args_only = write_file("args.txt", many);
  const CliRun r = bounded("sim " + args_only, 60, 512);
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("more than 32 arguments"), std::string::npos) << r.err;
  unlink(path.c_str());
  unlink(args_only.c_str());
}

TEST(HostileInput, AMarkerCannotMakePredictOpenAFile) {
  // Once a marker naming /etc/shadow put one of its lines in the diagnostics,
  // and /dev/zero ran predict out of memory. A secret file of our own stands
  // in for /etc/shadow.
  const std::string secret = write_file("secret.txt", "root:SECRET-HASH-LINE:19000:0:99999:7:::\n");
  const std::string trace =
      "1234  write(-1, \"vmseal-predict begin startup 1234 1 " + secret +
      "\", 60) = -1 EBADF (Bad file descriptor)\n"
      "1234  write(-1, \"vmseal-predict end 1234 1\", 25) = -1 EBADF (Bad file "
      "descriptor)\n"
      "1234  write(-1, \"vmseal-predict begin startup 1234 2 /dev/zero\", 46) "
      "= -1 EBADF (Bad file descriptor)\n"
      "1234  write(-1, \"vmseal-predict end 1234 2\", 25) = -1 EBADF (Bad file "
      "descriptor)\n"
      "1234  exit_group(0) = ?\n1234  +++ exited with 0 +++\n";
  const std::string path = write_file("marker.txt", trace);
  const CliRun r = bounded("predict --no-progress --json --trace " + path, 30, 512);
  EXPECT_LT(r.code, 124) << r.err;
  EXPECT_EQ(r.out.find("SECRET-HASH-LINE"), std::string::npos) << r.out;
  EXPECT_EQ(r.err.find("SECRET-HASH-LINE"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("no layout snapshot"), std::string::npos) << r.out;
  unlink(path.c_str());
  unlink(secret.c_str());
}

// userfaultfd: more contexts than the engine holds (kMaxUffds), ioctls on
// fds the trace never opened, ranges that wrap, every fd closed again one
// by one, in one process: linear, and mismatches rather than a crash.
TEST(HostileInput, ManyUserfaultfdsAreLinear) {
  std::string text;
  for (int i = 0; i < 70000; ++i)
    text += "1 userfaultfd(O_CLOEXEC) = " + std::to_string(3 + i) + "<anon_inode:[userfaultfd]>\n";
  for (int i = 0; i < 20000; ++i)
    text += "1 ioctl(" + std::to_string(100000 + i) +
            ", UFFDIO_REGISTER, {range={start=0xfffffffffffff000, len=0xfffffffffffff000}, "
            "mode=0xff}) = -1 EINVAL (Invalid argument)\n";
  for (int i = 0; i < 70000; ++i) text += "1 close(" + std::to_string(3 + i) + ") = 0\n";
  const std::string path = write_file("uffds.strace", text);
  const CliRun r = bounded("sim --check -q " + path, 60, 1024);
  EXPECT_EQ(r.code, 1) << r.err;  // the contexts past the engine's limit: ENFILE
  EXPECT_NE(r.err.find("mismatched"), std::string::npos) << r.err;
  unlink(path.c_str());
}

TEST(HostileInput, EmptyInputAndDirectoriesAreErrors) {
  const std::string empty = write_file("empty.txt", "");
  for (const char* command : {"sim", "compare"}) {
    CliRun r = bounded(std::string(command) + " " + empty, 30, 512);
    EXPECT_EQ(r.code, 3) << command;
    EXPECT_NE(r.err.find("is empty"), std::string::npos) << r.err;
    r = bounded(std::string(command) + " /tmp", 30, 512);
    EXPECT_EQ(r.code, 4) << command;
    EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
  }
  unlink(empty.c_str());
}

}  // namespace
