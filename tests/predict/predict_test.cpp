// vmseal predict: the replay on hand-made traces (seal points, fork, exec, bad
// input), and on real programs, where the prediction is checked against what
// really fails when the same program runs under `vmseal run` (traced with
// strace, the sealed ranges read from its report).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli_run.hpp"
#include "vmseal/kernel/abi.hpp"
#include "vmseal/predict/predict.hpp"
#include "vmseal/trace/strace.hpp"

namespace {

namespace fs = std::filesystem;
using vmseal::Addr;
using vmseal::test::CliRun;
using vmseal::test::run_cli;
using namespace vmseal::trace;
using namespace vmseal::predict;

const std::string kPredictHelper = VMSEAL_PREDICT_HELPER;

// ---- hand-made traces ------------------------------------------------------------

// A layout snapshot: the program's text and data, a library, the stack.
std::string smaps_entry(const std::string& range, const std::string& perms, const std::string& off,
                        const std::string& name, const std::string& flags) {
  return range + " " + perms + " " + off + " fe:00 1234 " + name +
         "\nSize: 4 kB\nAnonymous: 0 kB\nVmFlags: " + flags + " \n";
}
const std::string kSnapshot =
    smaps_entry("555555554000-555555555000", "r-xp", "00000000", "/usr/bin/prog",
                "rd ex mr mw me") +
    smaps_entry("555555555000-555555556000", "rw-p", "00001000", "/usr/bin/prog",
                "rd wr mr mw me ac") +
    smaps_entry("7ffff7dd0000-7ffff7dd2000", "r-xp", "00000000", "/lib/libx.so", "rd ex mr mw me") +
    "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\nSize: 132 kB\nAnonymous: 8 "
    "kB\nVmFlags: rd wr mr mw "
    "me gd ac \n";

std::string marker(const std::string& pid, const std::string& text) {
  return pid + "  write(-1, \"vmseal-predict " + text +
         "\", 10) = -1 EBADF (Bad file descriptor)\n";
}

// pid 100 runs /usr/bin/prog, reaches its seal point (text sealed, the
// library's text sealed; `extra` kernel/data markers), then `body`.
std::string sealed_trace(const std::string& body, const std::string& extra = "") {
  return "100  execve(\"/usr/bin/prog\", [\"prog\"], 0x7ffe /* 1 var */) = 0\n" +
         marker("100", "begin startup 100 1 snap-100-1") +
         marker("100", "object program dry-run /usr/bin/prog") +
         marker("100", "range 555555554000 555555555000 text") + extra +
         marker("100", "object library dry-run /lib/libx.so") +
         marker("100", "range 7ffff7dd0000 7ffff7dd2000 text") + marker("100", "end 100 1") + body;
}

PredictResult predict(const std::string& text, PredictOptions o = {}, bool with_snapshot = true) {
  Predictor p(o, [&](const std::string& name) -> std::optional<std::string> {
    if (with_snapshot && name == "snap-100-1") return kSnapshot;
    return std::nullopt;
  });
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) p.feed(l);
  p.finish();
  return p.result();
}

bool has_diag(const PredictResult& r, DiagnosticKind k) {
  for (const auto& d : r.diagnostics)
    if (d.kind == k) return true;
  return false;
}

TEST(Predict, CallsOnSealedRangesFailOthersDoNot) {
  const PredictResult r = predict(sealed_trace(
      "100  mprotect(0x555555554000, 4096, PROT_READ) = 0\n"  // text: EPERM
      "100  mprotect(0x555555555000, 4096, PROT_READ) = 0\n"  // data, default profile: fine
      "100  munmap(0x7ffff7dd1000, 4096) = 0\n"               // library text: EPERM
      "100  mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
      "0x7ffff7000000\n"
      "100  munmap(0x7ffff7000000, 8192) = 0\n"
      "100  exit_group(0) = ?\n100  +++ exited with 0 +++\n"));
  ASSERT_EQ(r.failures.size(), 2u) << (r.diagnostics.empty() ? "" : r.diagnostics[0].message);
  EXPECT_EQ(r.failures[0].name, "mprotect");
  EXPECT_EQ(r.failures[0].sealed, vmseal::SysResult(vmseal::Errno::PERM));
  ASSERT_EQ(r.failures[0].hits.size(), 1u);
  EXPECT_EQ(r.failures[0].hits[0].object, "/usr/bin/prog");
  EXPECT_EQ(r.failures[0].hits[0].kind, "text");
  EXPECT_EQ(r.failures[0].avoid, std::vector<std::string>{"--opt-out /usr/bin/prog"});
  EXPECT_FALSE(r.failures[0].after_failure);
  EXPECT_EQ(r.failures[1].hits[0].object, "/lib/libx.so");
  EXPECT_TRUE(r.failures[1].after_failure);
  EXPECT_TRUE(r.unverifiable.empty());
  EXPECT_EQ(r.summary.unaffected, 3u);
  EXPECT_EQ(r.seal_points.size(), 1u);
  EXPECT_TRUE(r.seal_points[0].layout);
  EXPECT_TRUE(r.diagnostics.empty()) << r.diagnostics[0].message;
}

TEST(Predict, StrictKernelMappingsAndSuggestions) {
  PredictOptions o;
  o.profile = vmseal::sealing::Profile::Strict;
  const PredictResult r =
      predict(sealed_trace("100  mprotect(0x7ffffffde000, 4096, PROT_READ) = 0\n"
                           "100  mprotect(0x555555555000, 4096, PROT_READ) = 0\n"
                           "100  +++ exited with 0 +++\n",
                           marker("100", "range 555555555000 555555556000 data") +
                               marker("100", "kernel 7ffffffde000 7ffffffff000 [stack]")),
              o);
  ASSERT_EQ(r.failures.size(), 2u);
  EXPECT_EQ(r.failures[0].hits[0].object, "[stack]");
  EXPECT_EQ(r.failures[0].hits[0].role, "kernel");
  EXPECT_EQ(r.failures[0].avoid, std::vector<std::string>{"--profile default"});
  EXPECT_EQ(r.failures[1].hits[0].kind, "data");
  EXPECT_EQ(r.failures[1].avoid,
            (std::vector<std::string>{"--opt-out /usr/bin/prog", "--profile default"}));
}

TEST(Predict, CallsBeforeTheSealPointAreNotJudged) {
  const PredictResult r = predict(
      "100  execve(\"/usr/bin/prog\", [\"prog\"], 0x7ffe /* 1 var */) = 0\n"
      "100  mprotect(0x555555554000, 4096, PROT_READ) = 0\n" +
      sealed_trace("100  +++ exited with 0 +++\n")
          .substr(std::string("100  execve(\"/usr/bin/prog\", [\"prog\"], "
                              "0x7ffe /* 1 var */) = 0\n")
                      .size()));
  EXPECT_TRUE(r.failures.empty());
  EXPECT_EQ(r.summary.before_seal, 1u);
}

TEST(Predict, ForkInheritsSealsExecDropsThem) {
  const PredictResult r = predict(sealed_trace(
      "100  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, "
      "child_tidptr=0x7f0) = 101\n"
      "101  mprotect(0x555555554000, 4096, PROT_READ) = 0\n"
      "101  execve(\"/usr/bin/other\", [\"other\"], 0x7ffe /* 1 var */) = 0\n"
      "101  mmap(0x555555554000, 4096, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = "
      "0x555555554000\n"
      "101  +++ exited with 0 +++\n100  +++ exited with 0 +++\n"));
  ASSERT_EQ(r.failures.size(), 1u);
  EXPECT_EQ(r.failures[0].pid, 101);
  // After the exec: a new image with no seal point, so nothing is judged.
  EXPECT_EQ(r.summary.before_seal, 1u);
}

TEST(Predict, ThreadsShareTheSealedMm) {
  const PredictResult r = predict(sealed_trace(
      "100  clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, "
      "exit_signal=0, stack=0x7f00, stack_size=0x1000}, 88) = 102\n"
      "102  mprotect(0x555555554000, 4096, PROT_READ <unfinished ...>\n"
      "100  munmap(0x7ffff7dd0000, 4096 <unfinished ...>\n"
      "102  <... mprotect resumed>) = 0\n"
      "100  <... munmap resumed>) = 0\n"
      "102  +++ exited with 0 +++\n100  +++ exited with 0 +++\n"));
  ASSERT_EQ(r.failures.size(), 2u);
  EXPECT_EQ(r.failures[0].pid, 102);
  EXPECT_EQ(r.failures[1].pid, 100);
}

TEST(Predict, WithoutALayoutCallsOnUnknownMappingsAreUnverifiable) {
  const PredictResult r =
      predict(sealed_trace("100  mprotect(0x555555554000, 4096, PROT_READ) = 0\n"
                           "100  +++ exited with 0 +++\n"),
              {}, /*with_snapshot=*/false);
  EXPECT_TRUE(r.failures.empty());
  ASSERT_EQ(r.unverifiable.size(), 1u);
  EXPECT_EQ(r.unverifiable[0].hits.size(), 1u);
  EXPECT_TRUE(has_diag(r, DiagnosticKind::NoLayout));
}

TEST(Predict, BadInputIsReportedNeverCountedAsFine) {
  // A line strace cannot write, a pid nobody created, an unknown system call,
  // a bad marker, and a trace cut inside a call.
  const PredictResult r =
      predict(sealed_trace("100  mprotect(0x555555554000, 4096, PROT_READ = 0\n"
                           "100  syscall_0x1ff(0x1, 0x2) = 0\n" +
                           marker("100", "range zz 12 text") +
                           "777  mprotect(0x555555554000, 4096, PROT_READ) = 0\n"
                           "100  munmap(0x555555554000, 4096 <unfinished ...>\n"));
  EXPECT_TRUE(has_diag(r, DiagnosticKind::Malformed));
  EXPECT_TRUE(has_diag(r, DiagnosticKind::UnknownSyscall));
  EXPECT_TRUE(has_diag(r, DiagnosticKind::BadMarker));
  EXPECT_TRUE(has_diag(r, DiagnosticKind::UnknownPid));
  EXPECT_TRUE(has_diag(r, DiagnosticKind::Truncated));
  EXPECT_GE(r.summary.malformed, 2u);
  // pid 777's call and the unfinished munmap: unverifiable, not fine.
  ASSERT_EQ(r.unverifiable.size(), 2u);
  EXPECT_EQ(r.unverifiable[0].pid, 777);
  EXPECT_EQ(r.unverifiable[1].name, "munmap");
  EXPECT_TRUE(r.failures.empty());
}

TEST(Predict, NoSealPointIsSaid) {
  const PredictResult r = predict(
      "100  execve(\"/bin/x\", [\"x\"], 0x7ffe /* 1 var */) = 0\n100  +++ exited with 0 +++\n");
  EXPECT_TRUE(has_diag(r, DiagnosticKind::NoSealPoint));
  EXPECT_TRUE(r.failures.empty());
}

TEST(Predict, StackLinesAndFailureKeys) {
  const PredictResult r =
      predict(sealed_trace("100  mprotect(0x555555554000, 4096, PROT_READ) = 0\n"
                           " > /usr/lib/x86_64-linux-gnu/libc.so.6(__mprotect+0x7) [0x101a37]\n"
                           " > /usr/bin/prog(main+0x1ac) [0x12bc]\n"
                           "100  munmap(0x555555554000, 4096) = 0\n"
                           "100  +++ exited with 0 +++\n"));
  ASSERT_EQ(r.failures.size(), 2u);
  EXPECT_EQ(r.failures[1].line, 11u);  // file lines: the stack lines count
  EXPECT_TRUE(r.failures[1].site.stack.empty());
  EXPECT_EQ(r.failures[0].site.site, "/usr/bin/prog(main+0x1ac) [0x12bc]");
  EXPECT_EQ(r.failures[0].site.stack.size(), 2u);
  EXPECT_EQ(r.failures[0].line, 8u);
  EXPECT_EQ(failure_key("mprotect", r.failures[0].hits[0], r.failures[0].addr, r.failures[0].len),
            "mprotect /usr/bin/prog text +0 4096");
}

// ---- the command line -----------------------------------------------------------------

bool have_strace() { return access("/usr/bin/strace", X_OK) == 0; }

#define NEED_STRACE_AND_MSEAL()                                                        \
  if (!have_strace()) GTEST_SKIP() << "needs strace (Debian: apt-get install strace)"; \
  if (!vmseal::test::have_mseal())                                                     \
  GTEST_SKIP() << "needs mseal(2) (Linux 6.10+) not denied by a seccomp filter"

TEST(PredictCli, UsageAndRefusals) {
  EXPECT_EQ(run_cli("predict").code, 2);
  EXPECT_EQ(run_cli("predict --trace x -- /bin/true").code, 2);
  EXPECT_EQ(run_cli("predict --profile lax -- /bin/true").code, 2);
  EXPECT_EQ(run_cli("predict --trace /nonexistent/trace").code, 4);
  EXPECT_EQ(run_cli("predict -- /nonexistent/program").code, 127);
  const CliRun st = run_cli(std::string("predict -- ") + VMSEAL_RUN_HELPER_STATIC);
  EXPECT_EQ(st.code, 8) << st.err;
  EXPECT_NE(st.err.find("statically linked"), std::string::npos) << st.err;
  EXPECT_EQ(run_cli("predict --strace /nonexistent/strace -- /bin/true").code, 10);
}

TEST(PredictCli, MalformedTraceFileExits3) {
  const std::string t = vmseal::test::temp_path("bad.strace");
  std::ofstream(t) << "this is not strace output (\n100  mmap(NULL, 4096, PROT_BOGUS, MAP_PRIVATE, "
                      "-1, 0) = 0x1000\n";
  const CliRun r = run_cli("predict --json --trace " + t);
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["summary"]["malformed"].get<int>(), 1);
  const std::string empty = vmseal::test::temp_path("empty.strace");
  std::ofstream(empty).close();
  EXPECT_EQ(run_cli("predict --trace " + empty).code, 3);
}

TEST(PredictCli, PlainStraceLogSaysWhatItCannotKnow) {
  if (!have_strace()) GTEST_SKIP() << "needs strace";
  const std::string t = vmseal::test::temp_path("plain.strace");
  ASSERT_EQ(
      std::system(("strace -f -y -o " + t + " " + kPredictHelper + " mprotect-text anon >/dev/null")
                      .c_str()),
      0);
  const CliRun r = run_cli("predict --json --trace " + t);
  ASSERT_EQ(r.code, 9) << r.out << r.err;  // nothing predicted to fail, but not everything verified
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["trace"], "plain");
  // The program's own text is mapped by the kernel, not by the trace: its
  // mprotect is unverifiable, never "fine".
  bool text_unverifiable = false;
  for (const auto& u : j["unverifiable"])
    if (u["syscall"] == "mprotect" &&
        u["note"].get<std::string>().find("not created by the trace") != std::string::npos)
      text_unverifiable = true;
  EXPECT_TRUE(text_unverifiable) << r.out;
  EXPECT_EQ(j["seal_points"].size(), 1u);
  EXPECT_EQ(j["seal_points"][0]["kind"], "estimated");
}

TEST(PredictCli, RecordedTraceReplaysTheSame) {
  NEED_STRACE_AND_MSEAL();
  const std::string t = vmseal::test::temp_path("rec.strace");
  const CliRun live = run_cli("predict --json --profile strict --record " + t + " -- " +
                              kPredictHelper + " mprotect-data");
  ASSERT_EQ(live.code, 1) << live.out << live.err;
  ASSERT_TRUE(fs::exists(t + ".json"));
  const CliRun replay = run_cli("predict --json --trace " + t);
  ASSERT_EQ(replay.code, 1) << replay.out << replay.err;
  const auto a = nlohmann::json::parse(live.out);
  const auto b = nlohmann::json::parse(replay.out);
  EXPECT_EQ(b["profile"], "strict");  // from the sidecar
  EXPECT_EQ(a["failures"], b["failures"]);
  // Without the sidecar the layout is unknown: the same calls are unverifiable.
  const std::string bare = vmseal::test::temp_path("bare.strace");
  fs::copy_file(t, bare);
  const CliRun no_side = run_cli("predict --json --profile strict --trace " + bare);
  const auto c = nlohmann::json::parse(no_side.out);
  EXPECT_EQ(c["failures"].size(), 0u) << no_side.out;
  EXPECT_GE(c["unverifiable"].size(), a["failures"].size());
}

// ---- prediction against reality ----------------------------------------------------------

struct SealedMap {
  std::vector<SealedRange> ranges;
};

// The sealed ranges of every report `vmseal run --report DIR/r-%p.json` wrote.
SealedMap read_reports(const std::string& dir) {
  SealedMap m;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto j = nlohmann::json::parse(vmseal::test::slurp(e.path().string()));
    for (const auto& o : j["objects"])
      for (const auto& r : o["ranges"])
        if (r["sealed"].get<bool>())
          m.ranges.push_back({std::stoull(r["start"].get<std::string>(), nullptr, 16),
                              std::stoull(r["end"].get<std::string>(), nullptr, 16), r["kind"],
                              o["path"], o["role"]});
    for (const auto& k : j["kernel_mappings"])
      if (k["sealed"].get<bool>()) {
        const std::string name = k["name"];
        m.ranges.push_back({std::stoull(k["start"].get<std::string>(), nullptr, 16),
                            std::stoull(k["end"].get<std::string>(), nullptr, 16),
                            name.substr(1, name.size() - 2), name, "kernel"});
      }
  }
  return m;
}

// What really failed: every memory call of the sealed run, after the
// preload's first successful mseal, that failed on a range the reports call
// sealed; keyed as predict keys its failures.
std::set<std::string> real_failures(const std::string& trace_text, const SealedMap& sealed) {
  std::set<std::string> keys;
  bool after_seal = false;
  for (const auto& item : parse_strace_text(trace_text)) {
    const auto* ev = std::get_if<TraceEvent>(&item);
    if (ev == nullptr || ev->kind != EventKind::Call) continue;
    const TraceCall& c = ev->call;
    if (c.name == "mseal" && c.outcome == Outcome::Value && c.args.size() >= 2 && c.args[1] != "0")
      after_seal = true;
    static const std::set<std::string> kCalls = {"mmap",          "munmap", "mprotect",
                                                 "pkey_mprotect", "mremap", "madvise",
                                                 "mlock",         "mlock2", "munlock"};
    if (!after_seal || c.outcome != Outcome::Error || kCalls.count(c.name) == 0 ||
        c.args.size() < 2)
      continue;
    // The preload's check of each seal: a same-size mremap without flags,
    // which the kernel refuses on sealed memory (ImageSealer, verify_sealed).
    if (c.name == "mremap" && c.args.size() >= 4 && c.args[1] == c.args[2] &&
        c.args[3].find_first_not_of(" 0") == std::string::npos)
      continue;
    std::uint64_t addr = 0, len = 0;
    parse_int_arg(c.args[0], addr);
    parse_int_arg(c.args[1], len);
    if (c.name == "mmap") {
      std::uint64_t flags = 0;
      if (c.args.size() < 4 || !parse_flags(c.args[3], FlagSet::Map, flags) ||
          (flags & (vmseal::abi::MAP_FIXED | vmseal::abi::MAP_FIXED_NOREPLACE)) == 0)
        continue;
    }
    const Addr s = addr & ~Addr{4095};
    const Addr e = (addr + std::max<std::uint64_t>(len, 1) + 4095) & ~Addr{4095};
    for (const SealedRange& r : sealed.ranges)
      if (r.start < e && r.end > s) keys.insert(failure_key(c.name, r, addr, len));
  }
  return keys;
}

struct Comparison {
  std::set<std::string> predicted_all;
  std::set<std::string>
      predicted_first;  // each process's first predicted failure... and those before it
  std::set<std::string> real;
  int predict_code = -1;
  int run_code = -1;
  std::string detail;
};

Comparison compare(const std::string& profile, const std::string& command) {
  Comparison c;
  const CliRun p = run_cli("predict --json --profile " + profile + " -- " + command);
  c.predict_code = p.code;
  c.detail = "predict: " + p.out.substr(0, 4000) + p.err.substr(0, 2000);
  if (p.code != 0 && p.code != 1) return c;
  const auto j = nlohmann::json::parse(p.out);
  for (const auto& f : j["failures"])
    for (const auto& k : f["keys"]) {
      c.predicted_all.insert(k.get<std::string>());
      if (!f["after_failure"].get<bool>()) c.predicted_first.insert(k.get<std::string>());
    }
  // The real run, sealed, under strace.
  const std::string dir = vmseal::test::temp_path("reports");
  fs::create_directories(dir);
  const std::string t = vmseal::test::temp_path("real.strace");
  const std::string cmd = "strace -f -y -o " + t + " " + VMSEAL_CLI_PATH + " run --profile " +
                          profile + " --report " + dir + "/r-%p.json -- " + command +
                          " >/dev/null 2>&1 </dev/null";
  const int st = std::system(cmd.c_str());
  c.run_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  c.real = real_failures(vmseal::test::slurp(t), read_reports(dir));
  auto list = [](const std::set<std::string>& s) {
    std::string o;
    for (const auto& k : s) o += "\n    " + k;
    return o;
  };
  c.detail = "predicted:" + list(c.predicted_all) + "\n  first:" + list(c.predicted_first) +
             "\n  real:" + list(c.real) + "\n" + c.detail;
  fs::remove_all(dir);
  std::remove(t.c_str());
  return c;
}

// Every real failure was predicted, and every failure predicted before the
// program could have reacted to one happened. For a program that makes the
// same calls whatever their results (the helper), the sets are equal.
void expect_agreement(const Comparison& c, bool exact) {
  ASSERT_TRUE(c.predict_code == 0 || c.predict_code == 1) << c.detail;
  EXPECT_EQ(c.predict_code, c.predicted_all.empty() ? 0 : 1) << c.detail;
  for (const auto& k : c.real) {
    EXPECT_TRUE(c.predicted_all.count(k) == 1) << "not predicted: " << k << "\n" << c.detail;
  }
  for (const auto& k : c.predicted_first) {
    EXPECT_TRUE(c.real.count(k) == 1) << "predicted, did not fail: " << k << "\n" << c.detail;
  }
  if (exact) {
    EXPECT_EQ(c.predicted_all, c.real) << c.detail;
  }
}

const std::string kAllActions =
    " mprotect-data map-bss mprotect-text munmap-rodata dontneed-rodata anon fork";

TEST(PredictVsRun, HelperUnderDefault) {
  NEED_STRACE_AND_MSEAL();
  const Comparison c = compare("default", kPredictHelper + kAllActions);
  expect_agreement(c, true);
  EXPECT_FALSE(c.real.empty()) << "the helper's text and rodata calls must fail under default\n"
                               << c.detail;
}

TEST(PredictVsRun, HelperUnderStrict) {
  NEED_STRACE_AND_MSEAL();
  const Comparison s = compare("strict", kPredictHelper + kAllActions);
  expect_agreement(s, true);
  const Comparison d = compare("default", kPredictHelper + kAllActions);
  // Strict seals data and bss too: strictly more breaks.
  EXPECT_GT(s.real.size(), d.real.size()) << s.detail << "\n" << d.detail;
}

TEST(PredictVsRun, HelperUnderMinimal) {
  NEED_STRACE_AND_MSEAL();
  expect_agreement(compare("minimal", kPredictHelper + kAllActions), true);
}

TEST(PredictVsRun, TheSuggestedOptionsAvoidEachFailure) {
  NEED_STRACE_AND_MSEAL();
  const CliRun p =
      run_cli("predict --json --profile strict -- " + kPredictHelper + " mprotect-data");
  ASSERT_EQ(p.code, 1) << p.out << p.err;
  const auto j = nlohmann::json::parse(p.out);
  ASSERT_FALSE(j["failures"].empty());
  for (const auto& avoid : j["failures"][0]["avoid"]) {
    // "--profile default", or "--opt-out PATH" on top of strict.
    const std::string a = avoid.get<std::string>();
    const std::string opts = a.starts_with("--profile ") ? a.substr(10) : "strict " + a;
    const Comparison c = compare(opts, kPredictHelper + " mprotect-data");
    EXPECT_EQ(c.predict_code, 0) << a << "\n" << c.detail;
    EXPECT_TRUE(c.predicted_all.empty()) << c.detail;
    EXPECT_TRUE(c.real.empty()) << c.detail;
  }
}

TEST(PredictVsRun, BinTrueUnderStrictBreaksNothing) {
  NEED_STRACE_AND_MSEAL();
  const Comparison c = compare("strict", "/bin/true");
  expect_agreement(c, true);
  EXPECT_TRUE(c.predicted_all.empty()) << c.detail;
}

TEST(PredictVsRun, Python3UnderStrict) {
  NEED_STRACE_AND_MSEAL();
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  expect_agreement(
      compare("strict",
              "/usr/bin/python3 -c 'import ssl, json, ctypes, mmap; m = mmap.mmap(-1, 8192); "
              "m.write(b\"x\"); print(json.dumps([1, 2]))'"),
      false);
}

TEST(PredictVsRun, PerlUnderStrict) {
  NEED_STRACE_AND_MSEAL();
  if (access("/usr/bin/perl", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/perl";
  expect_agreement(compare("strict",
                           "/usr/bin/perl -MPOSIX -MList::Util=sum -e 'print sum(map { $_ ** 2 } "
                           "1..1000), \"\\n\"'"),
                   false);
}

// node's JIT maps, protects and unprotects its code space all the time; none
// of it is in node's image, so strict seals break nothing.
TEST(PredictVsRun, NodeJitUnderStrict) {
  NEED_STRACE_AND_MSEAL();
  if (access("/usr/bin/node", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/node (Debian: nodejs)";
  expect_agreement(
      compare("strict",
              "/usr/bin/node -e 'let s = 0; for (let i = 0; i < 2e6; i++) s += Math.sqrt(i); "
              "console.log(s > 0)'"),
      false);
}

// node --use-largepages=on remaps its own text: every profile stops it, and
// node falls back to small pages (docs/compat.md).
TEST(PredictVsRun, NodeLargePagesBreaksUnderDefault) {
  NEED_STRACE_AND_MSEAL();
  if (access("/usr/bin/node", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/node (Debian: nodejs)";
  const Comparison c = compare("default", "/usr/bin/node --use-largepages=on -e 'console.log(1)'");
  expect_agreement(c, false);
  EXPECT_FALSE(c.real.empty()) << c.detail;
}

// Chromium keeps security-sensitive globals in its own protected_memory
// section, inside its RW PT_LOAD: strict seals it as data, and Chromium's
// mprotect(PROT_READ) of it after writing fails (docs/compat.md). A program
// that mprotects its own data, predicted from the trace and confirmed by the
// real run, which dies of the CHECK's SIGTRAP at that call.
TEST(PredictVsRun, ChromiumProtectedMemoryUnderStrict) {
  NEED_STRACE_AND_MSEAL();
  const std::string chromium = "/usr/lib/chromium/chromium";
  if (access(chromium.c_str(), X_OK) != 0)
    GTEST_SKIP() << "needs " << chromium << " (Debian: chromium)";
  const std::string page = std::string(VMSEAL_TEST_DATA_DIR) + "/../compat/cases/page.html";
  const std::string profile_dir = vmseal::test::temp_path("chromium-profile");
  // --single-process: the renderer runs in the browser process, which dies
  // at once; with zygote children the browser would wait for them forever.
  const Comparison c =
      compare("strict", chromium +
                            " --single-process --headless --no-sandbox --disable-gpu "
                            "--no-first-run --user-data-dir=" +
                            profile_dir + " --dump-dom file://" + page);
  fs::remove_all(profile_dir);
  expect_agreement(c, false);
  ASSERT_FALSE(c.real.empty()) << c.detail;
  bool protected_memory = false;
  for (const std::string& k : c.predicted_first)
    protected_memory |= k.starts_with("mprotect ") && k.find(chromium) != std::string::npos &&
                        k.find(" data") != std::string::npos;
  EXPECT_TRUE(protected_memory) << "the first failure must be an mprotect of Chromium's own data\n"
                                << c.detail;
}

}  // namespace
