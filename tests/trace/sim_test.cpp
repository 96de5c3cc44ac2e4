// The simulator against real kernel output: a strace log of
// tests/data/exercise/exercise.c run on Linux 6.18 (regenerate.sh) must agree
// call for call with the engine; and the checks must be able to fail.
#include "vmseal/trace/sim.hpp"
#include "support/cli_run.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace vmseal::trace {
namespace {

struct SimRun {
  SimSummary summary;
  std::vector<SimRecord> records;
  std::vector<std::string> errors;
};

SimRun simulate(std::string_view text, bool check = true) {
  SimOptions opts;
  opts.check = check;
  opts.config.set_privileged(true);  // the exercise ran as root
  Simulator sim(opts);
  SimRun run;
  for (const ParseItem& item : parse_strace_text(text)) {
    if (const auto* err = std::get_if<ParseError>(&item)) {
      run.errors.push_back(err->to_string());
      continue;
    }
    std::string error;
    if (auto rec = sim.apply(std::get<TraceEvent>(item), &error)) run.records.push_back(*rec);
    if (!error.empty()) run.errors.push_back(error);
  }
  run.summary = sim.summary();
  return run;
}

TEST(SimExercise, EveryVerifiableCallMatchesTheKernel) {
  const std::string text = test::slurp(VMSEAL_TEST_DATA_DIR "/exercise/exercise.strace");
  ASSERT_FALSE(text.empty());
  const SimRun run = simulate(text);
  EXPECT_TRUE(run.errors.empty()) << run.errors.front();
  for (const SimRecord& r : run.records)
    EXPECT_NE(r.verdict, Verdict::Mismatch) << "line " << r.line << ": " << r.render();
  EXPECT_EQ(run.summary.mismatched, 0U);
  // Nearly everything the program did is checked; what is not says why.
  EXPECT_GE(run.summary.matched, 190U);
  EXPECT_LE(run.summary.unverifiable, 10U);
  for (const SimRecord& r : run.records) {
    if (r.verdict == Verdict::Unverifiable) {
      EXPECT_FALSE(r.note.empty()) << r.render();
    }
  }
  // Every modelled call kind appears and was compared.
  for (const char* name :
       {"mmap(", "munmap(", "mprotect(", "pkey_mprotect(", "mremap(", "madvise(", "mlock(",
        "mlock2(", "munlock(", "mlockall(", "munlockall(", "brk(", "mseal("}) {
    bool seen = false;
    for (const SimRecord& r : run.records)
      seen |= r.call.rfind(name, 0) == 0 && r.verdict == Verdict::Match;
    EXPECT_TRUE(seen) << name << " never matched";
  }
}

TEST(SimExercise, AWrongRecordedResultIsAMismatch) {
  std::string text = test::slurp(VMSEAL_TEST_DATA_DIR "/exercise/exercise.strace");
  // The kernel refused this mprotect of sealed memory; claim it succeeded.
  const std::string needle = "= -1 EPERM (Operation not permitted)";
  const std::size_t pos = text.find(needle);
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, needle.size(), "= 0");
  const SimRun run = simulate(text);
  EXPECT_EQ(run.summary.mismatched, 1U);
}

// A System V segment made by one process and attached by another that
// shares no file table with it (found by vmseal's fuzzer: the attach looked
// the creator's file up in its own table, past its end, and threw).
TEST(Sim, ASegmentAttachedByAnUnrelatedProcess) {
  const SimRun run = simulate(
      "100 openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY) = 3</etc/hostname>\n"
      "100 openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY) = 4</etc/passwd>\n"
      "100 shmget(IPC_PRIVATE, 8192, IPC_CREAT|0600) = 11\n"
      "200 shmat(11, NULL, SHM_RDONLY) = 0x7f0000000000\n"
      "200 shmdt(0x7f0000000000) = 0\n");
  ASSERT_TRUE(run.errors.empty()) << run.errors.front();
  ASSERT_EQ(run.records.size(), 2U);
  EXPECT_EQ(run.records[0].engine, SysResult::ok(0x7f0000000000));
  EXPECT_EQ(run.records[1].verdict, Verdict::Match);
}

TEST(Sim, CallsOnMappingsTheTraceNeverMadeAreUnverifiable) {
  const SimRun run = simulate(
      "100 mprotect(0x555555559000, 4096, PROT_READ) = 0\n"
      "100 mmap(0x7f0000000000, 8192, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) "
      "= 0x7f0000000000\n"
      "100 mprotect(0x7f0000000000, 8192, PROT_READ|PROT_WRITE) = 0\n");
  ASSERT_EQ(run.records.size(), 3U);
  EXPECT_EQ(run.records[0].verdict, Verdict::Unverifiable);
  EXPECT_EQ(run.records[1].verdict, Verdict::Unverifiable);  // MAP_FIXED over unknown memory
  EXPECT_EQ(run.records[2].verdict, Verdict::Match);
  EXPECT_EQ(run.summary.matched, 1U);
}

// What vmseal difftest writes: '#' comments, and read(2) from /dev/zero into
// an address as a write fault (EFAULT on a page that cannot be written).
TEST(Sim, CommentsAndZeroFillReadsAsWriteFaults) {
  const SimRun run = simulate(
      "# a comment line\n"
      "100 openat(AT_FDCWD, \"/dev/zero\", O_RDWR) = 7</dev/zero>\n"
      "100 mmap(0x7f0000000000, 8192, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) "
      "= 0x7f0000000000\n"
      "100 read(7</dev/zero>, 0x7f0000000000, 1) = -1 EFAULT (Bad address)\n"
      "100 mprotect(0x7f0000001000, 4096, PROT_READ|PROT_WRITE) = 0\n"
      "100 read(7</dev/zero>, 0x7f0000001000, 1) = 1\n"
      "100 read(7</dev/zero>, 0x7f0000001000, 1) = -1 EFAULT (Bad address)\n");
  EXPECT_TRUE(run.errors.empty());
  ASSERT_EQ(run.records.size(), 5U);
  EXPECT_EQ(run.records[1].verdict, Verdict::Match);
  EXPECT_EQ(run.records[3].verdict, Verdict::Match);
  EXPECT_EQ(run.records[4].verdict, Verdict::Mismatch);  // the page is writable
}

TEST(Sim, SealsFollowForkAndDieWithExec) {
  const SimRun run = simulate(
      "1 mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
      "1 syscall_0x1ce(0x7f0000000000, 0x2000, 0, 0, 0, 0) = 0\n"
      "1 fork() = 2\n"
      "2 munmap(0x7f0000000000, 8192) = -1 EPERM (Operation not permitted)\n"
      "2 execve(\"/bin/true\", [\"true\"], 0x7ffe /* 1 var */) = 0\n"
      "1 munmap(0x7f0000000000, 8192) = -1 EPERM (Operation not permitted)\n");
  EXPECT_EQ(run.summary.mismatched, 0U);
  EXPECT_EQ(run.summary.matched, 3U);
}

int run_cli(const std::string& args, std::string* err_out = nullptr) {
  const std::string err_file = vmseal::test::temp_path("sim_err.txt");
  const std::string cmd = std::string(VMSEAL_CLI_PATH) + " " + args + " >/dev/null 2>" + err_file;
  const int status = std::system(cmd.c_str());
  if (err_out != nullptr) *err_out = test::slurp(err_file);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string temp_trace(const std::string& name, const std::string& text) {
  const std::string path = vmseal::test::temp_path(name);
  std::ofstream(path) << text;
  return path;
}

TEST(SimCli, ExitCodesMeanSomething) {
  EXPECT_EQ(run_cli("sim --check --privileged " VMSEAL_TEST_DATA_DIR "/exercise/exercise.strace"),
            0);
  const std::string wrong = temp_trace(
      "wrong.strace",
      "1 mmap(0x7f0000000000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
      "1 munmap(0x7f0000000000, 4096) = -1 EPERM (Operation not permitted)\n");
  EXPECT_EQ(run_cli("sim --check " + wrong), 1);
  EXPECT_EQ(run_cli("sim " + wrong), 0);  // without --check nothing is compared
  std::string err;
  const std::string bad = temp_trace("bad.strace", "1 mmap(NULL, 4096, PROT_READ\n1 garbage(\"x\n");
  EXPECT_EQ(run_cli("sim " + bad, &err), 3);
  EXPECT_NE(err.find("line 1"), std::string::npos) << err;
  EXPECT_EQ(run_cli("sim /nonexistent/trace"), 4);
  EXPECT_EQ(run_cli("sim"), 2);               // a required argument is missing: usage
  EXPECT_EQ(run_cli("difftest --ops 0"), 2);  // a validator refuses it: usage
  EXPECT_EQ(run_cli("--version"), 0);
}

}  // namespace
}  // namespace vmseal::trace
