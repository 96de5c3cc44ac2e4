// `vmseal run` for static programs (sealing/static_launch.hpp): glibc's
// -static and -static-pie and musl's static and static-pie builds of the run
// helper, sealed through ptrace. Each checks, from inside the program, which
// of its mappings are sealed (smaps' "sl"), what exploit primitives on its
// own image get (EPERM sealed, OK not), that nothing traces it afterwards
// and that it keeps vmseal's pid; and what happens when ptrace is refused.
#include <unistd.h>

#include <gtest/gtest.h>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli_run.hpp"
#include "vmseal/sealing/static_launch.hpp"

namespace {

using vmseal::test::CliRun;
using vmseal::test::run_cli;

struct StaticProgram {
  const char* name;
  std::string path;
};

std::vector<StaticProgram> programs() {
  std::vector<StaticProgram> v = {{"glibc-static", VMSEAL_RUN_HELPER_STATIC},
                                  {"glibc-static-pie", VMSEAL_RUN_HELPER_STATIC_PIE}};
  if (*VMSEAL_RUN_HELPER_MUSL_STATIC != '\0') {
    v.push_back({"musl-static", VMSEAL_RUN_HELPER_MUSL_STATIC});
    v.push_back({"musl-static-pie", VMSEAL_RUN_HELPER_MUSL_STATIC_PIE});
  }
  return v;
}

class StaticRun : public ::testing::TestWithParam<StaticProgram> {};

TEST_P(StaticRun, DefaultProfileSealsTextRodataAndRelro) {
  NEED_MSEAL();
  const std::string& p = GetParam().path;
  // Unsealed without vmseal: the check can fail.
  auto m = vmseal::test::key_lines(run_cli("--version >/dev/null; " + p + " status").out);
  ASSERT_EQ(m["program_text"], "unsealed");
  const CliRun r = run_cli("run -- " + p + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["program_rodata"], "sealed");
  EXPECT_EQ(m["program_relro"], "sealed");
  EXPECT_EQ(m["program_data"], "unsealed");
  EXPECT_EQ(m["stack"], "unsealed");
  EXPECT_EQ(m["vdso"], "unsealed");
}

TEST_P(StaticRun, StrictProfileSealsDataStackAndVdso) {
  NEED_MSEAL();
  const CliRun r = run_cli("run --profile strict -- " + GetParam().path + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["program_relro"], "sealed");
  EXPECT_EQ(m["program_data"], "sealed");
  EXPECT_EQ(m["stack"], "sealed");
  EXPECT_EQ(m["vdso"], "sealed");
}

TEST_P(StaticRun, MinimalProfileSealsTextOnly) {
  NEED_MSEAL();
  const CliRun r = run_cli("run --profile minimal -- " + GetParam().path + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["program_relro"], "unsealed");
}

TEST_P(StaticRun, AttacksOnTheSealedImageGetEperm) {
  NEED_MSEAL();
  const std::string& p = GetParam().path;
  for (const char* a :
       {"text-mprotect", "rodata-munmap", "text-mremap", "relro-mprotect", "relro-dontneed"}) {
    const CliRun plain = run_cli("--version >/dev/null; " + p + " attack " + a);
    EXPECT_EQ(vmseal::test::key_lines(plain.out)[a], "OK") << a << " without vmseal: " << plain.out;
    const CliRun sealed = run_cli("run -- " + p + " attack " + a);
    EXPECT_EQ(sealed.code, 0) << sealed.err;
    EXPECT_EQ(vmseal::test::key_lines(sealed.out)[a], "EPERM")
        << a << ": " << sealed.out << sealed.err;
    if (std::string(a) == "relro-dontneed") {
      EXPECT_EQ(vmseal::test::key_lines(sealed.out)["relro_bytes"], "unchanged");
    }
  }
}

TEST_P(StaticRun, NothingStaysAttachedAndThePidIsTheProgramsOwn) {
  NEED_MSEAL();
  // The shell's pid is vmseal's (exec), and the program's after vmseal execs.
  const CliRun r =
      run_cli("--version >/dev/null; sh -c 'echo shell $$; exec " + std::string(VMSEAL_CLI_PATH) +
              " run -- " + GetParam().path + " tracer'");
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["tracer"], "0");
  EXPECT_EQ(m["pid"], m["shell"]);
  // The exit status is the program's.
  EXPECT_EQ(run_cli("run -- " + GetParam().path + " exit 3").code, 3);
}

TEST_P(StaticRun, ReportSaysHowAndWhat) {
  NEED_MSEAL();
  const std::string report = vmseal::test::temp_path("static_report.json");
  const CliRun r = run_cli("run --report " + report + " -- " + GetParam().path + " exit 0");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(vmseal::test::slurp(report));
  EXPECT_EQ(j["method"], "ptrace");
  EXPECT_EQ(j["failures"], 0);
  EXPECT_EQ(j["sealed_before_main"], true);
  ASSERT_EQ(j["objects"].size(), 1U);
  EXPECT_EQ(j["objects"][0]["verdict"], "sealed");
  bool relro = false;
  for (const auto& range : j["objects"][0]["ranges"])
    if (range["kind"] == "relro") {
      relro = true;
      EXPECT_EQ(range["sealed"], true);
      EXPECT_EQ(range["backing"], "anon");
    }
  EXPECT_TRUE(relro);
}

TEST_P(StaticRun, DryRunSealsNothing) {
  NEED_MSEAL();
  const CliRun r = run_cli("run --dry-run -- " + GetParam().path + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("dry run"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("text    seal"), std::string::npos) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
}

TEST_P(StaticRun, OptOutLeavesItAlone) {
  NEED_MSEAL();
  const std::string& p = GetParam().path;
  const std::string base = p.substr(p.rfind('/') + 1);
  const CliRun r = run_cli("run --opt-out '" + base + "' -- " + p + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
}

// --follow-exec, case 1: a dynamic program (with the preload) starts a
// static one; each way of starting it goes through `vmseal run`, and the
// static program, sealed, keeps the pid it was started with.
TEST_P(StaticRun, FollowExecSealsTheStaticProgramsADynamicOneStarts) {
  NEED_MSEAL();
  const std::string& p = GetParam().path;
  const std::string helper = VMSEAL_RUN_HELPER;
  for (const char* how : {"execvp", "execl", "execle", "execlp", "fexecve", "execveat",
                          "posix_spawn", "posix_spawnp", "vfork"}) {
    const CliRun r =
        run_cli("run --follow-exec -- " + helper + " exec-via " + how + " " + p + " status");
    ASSERT_EQ(r.code, 0) << how << ": " << r.err;
    auto m = vmseal::test::key_lines(r.out);
    EXPECT_EQ(m["program_text"], "sealed") << how << ": " << r.out << r.err;
    EXPECT_EQ(m["program_relro"], "sealed") << how;
    EXPECT_EQ(r.err, "") << how;
  }
  // execve: the pid is the one the shell exec'd vmseal with; nothing traces it.
  CliRun r =
      run_cli("--version >/dev/null; sh -c 'echo shell $$; exec " + std::string(VMSEAL_CLI_PATH) +
              " run --follow-exec -- " + helper + " exec " + p + " tracer'");
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["pid"], m["shell"]);
  EXPECT_EQ(m["tracer"], "0");
  // posix_spawn: the pid it returns is the program's.
  r = run_cli("run --follow-exec -- " + helper + " exec-via posix_spawn " + p + " tracer");
  m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["pid"], m["spawned"]) << r.out;
  EXPECT_EQ(m["tracer"], "0");
  // argv[0] is the program's, as exec gave it (busybox decides by it), even
  // one that looks like an option of vmseal run's.
  for (const char* name : {"applet", "--", "-sh"}) {
    r = run_cli("run --follow-exec -- " + helper + " exec-argv0 " + name + " " + p + " argv0");
    EXPECT_EQ(vmseal::test::key_lines(r.out)["argv0"], name) << r.out << r.err;
  }
  // The settings carry over: the strict profile seals the static program's stack.
  r = run_cli("run --follow-exec --profile strict -- " + helper + " exec " + p + " status");
  EXPECT_EQ(vmseal::test::key_lines(r.out)["stack"], "sealed") << r.out << r.err;
  // Without --follow-exec nothing follows.
  r = run_cli("run -- " + helper + " exec " + p + " status");
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
}

// Case 2: a static program starts a dynamic one: the preload's environment,
// kept under --follow-exec, seals it. Case 3: a static program starts a
// static one: nothing is attached any more to see that exec, so it runs
// unsealed (docs/run.md; tests/kernel/seccomp_exec.c shows why no seccomp
// filter can stand in).
TEST_P(StaticRun, FollowExecFromAStaticProgram) {
  NEED_MSEAL();
  const std::string& p = GetParam().path;
  CliRun r =
      run_cli("run --follow-exec -- " + p + " exec " + std::string(VMSEAL_RUN_HELPER) + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "sealed") << r.out << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["libc_relro"], "sealed") << r.out;
  r = run_cli("run --follow-exec -- " + p + " exec " + std::string(VMSEAL_RUN_HELPER_STATIC) +
              " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed") << r.out << r.err;
}

INSTANTIATE_TEST_SUITE_P(Programs, StaticRun, ::testing::ValuesIn(programs()),
                         [](const auto& param_info) {
                           std::string n = param_info.param.name;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

// ptrace refused: vmseal is already traced (by strace), so its sealer cannot
// seize it. Best effort warns and runs the program unsealed; --enforce
// refuses to run it.
TEST(StaticRunRefused, AlreadyTracedWarnsOrRefuses) {
  NEED_MSEAL();
  if (std::system("command -v strace >/dev/null") != 0) GTEST_SKIP() << "needs strace";
  // LeakSanitizer cannot run in a traced process (an ASan build's exit
  // under strace aborts), so the traced vmseal does without it.
  const std::string strace =
      "--version >/dev/null; ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
      "strace -o /dev/null " +
      std::string(VMSEAL_CLI_PATH) + " run ";
  CliRun r = run_cli(strace + "-- " + std::string(VMSEAL_RUN_HELPER_STATIC) + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("already traced"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("running the program unsealed"), std::string::npos) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
  r = run_cli(strace + "--enforce -- " + std::string(VMSEAL_RUN_HELPER_STATIC) + " status");
  EXPECT_EQ(r.code, 125) << r.err;
  EXPECT_EQ(r.out, "");
}

// The preload finds vmseal beside itself (or where the installation puts
// it). A preload copied elsewhere cannot: the static program runs unsealed
// with a warning, or under --enforce its exec fails (EPERM).
TEST(StaticFollowExec, WithoutVmsealBesideThePreloadWarnsOrRefuses) {
  NEED_MSEAL();
  const std::string dir = vmseal::test::temp_path("lonely_preload");
  ASSERT_EQ(std::system(
                ("mkdir -p " + dir + " && cp " + std::string(VMSEAL_PRELOAD_PATH) + " " + dir + "/")
                    .c_str()),
            0);
  const std::string run = "run --follow-exec --preload " + dir + "/libvmseal_preload.so ";
  const std::string exec =
      std::string(VMSEAL_RUN_HELPER) + " exec " + VMSEAL_RUN_HELPER_STATIC + " status";
  CliRun r = run_cli(run + "-- " + exec);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
  EXPECT_NE(r.err.find("vmseal is not installed beside the preload: running it unsealed"),
            std::string::npos)
      << r.err;
  r = run_cli(run + "--enforce -- " + exec);
  EXPECT_EQ(r.code, 127) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("not running it (--enforce)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
}

// ld.so exec'd as a program has no PT_INTERP either, but it loads the
// preload from the environment: not rerouted, so `ld.so PROGRAM` seals
// PROGRAM by the preload, and ldd (LD_TRACE_LOADED_OBJECTS, `ld.so --list`)
// lists the program's libraries, not vmseal's. A static program exec'd with
// that variable set runs (it ignores it) and is sealed.
TEST(StaticFollowExec, TheLoaderIsNotAStaticProgram) {
  NEED_MSEAL();
  const std::string helper = VMSEAL_RUN_HELPER;
  CliRun r = run_cli("run --follow-exec -- " + helper + " exec /lib64/ld-linux-x86-64.so.2 " +
                     helper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "sealed") << r.out << r.err;
  r = run_cli("run --follow-exec -- /usr/bin/ldd " + helper);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("libelf"), std::string::npos) << r.out;  // vmseal's, not the helper's
  EXPECT_NE(r.out.find("libc.so.6"), std::string::npos) << r.out;
  r = run_cli("run --follow-exec -- /usr/bin/env LD_TRACE_LOADED_OBJECTS=1 " +
              std::string(VMSEAL_RUN_HELPER_STATIC) + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "sealed") << r.out << r.err;
}

// --argv0 gives the program the argv[0] it asks for, dynamic or static.
TEST(RunArgv0, GivesTheProgramItsName) {
  NEED_MSEAL();
  for (const char* program : {VMSEAL_RUN_HELPER, VMSEAL_RUN_HELPER_STATIC}) {
    const std::string p = program;
    const CliRun r = run_cli("run --argv0 applet -- " + p + " argv0");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(vmseal::test::key_lines(r.out)["argv0"], "applet") << p;
    EXPECT_EQ(vmseal::test::key_lines(run_cli("run -- " + p + " argv0").out)["argv0"], p);
  }
}

// `vmseal audit` says which way `run` would seal each program, and why.
TEST(AuditRunMethod, SaysPreloadPtraceOrNone) {
  auto method = [](const std::string& file) {
    const CliRun r = run_cli("audit --json " + file);
    EXPECT_EQ(r.code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.contains("run_method")) return std::string("?");
    return j["run_method"]["method"].get<std::string>() + ": " +
           j["run_method"]["why"].get<std::string>();
  };
  EXPECT_EQ(method(VMSEAL_RUN_HELPER).rfind("preload: ", 0), 0U);
  const std::string s = method(VMSEAL_RUN_HELPER_STATIC);
  EXPECT_EQ(s.rfind("ptrace: statically linked", 0), 0U) << s;
  EXPECT_NE(s.find("when its glibc start-up makes it read-only"), std::string::npos) << s;
  EXPECT_EQ(method(VMSEAL_RUN_HELPER_STATIC_PIE).rfind("ptrace: ", 0), 0U);
  if (*VMSEAL_RUN_HELPER_MUSL_STATIC != '\0') {
    EXPECT_NE(method(VMSEAL_RUN_HELPER_MUSL_STATIC).find("first system call"), std::string::npos);
  }
  const std::string own = method(VMSEAL_RUN_OWN_START);
  EXPECT_EQ(own.rfind("none: ", 0), 0U) << own;
  EXPECT_NE(own.find("_start"), std::string::npos) << own;
  EXPECT_EQ(method(VMSEAL_TEST_LIB_DIR "/libvmseal_test_plain.so").rfind("n/a: ", 0), 0U);
  // The text view says the same.
  const CliRun r = run_cli("audit " + std::string(VMSEAL_RUN_HELPER_STATIC));
  EXPECT_NE(r.out.find("vmseal run    ptrace: "), std::string::npos) << r.out;
}

TEST(StaticLibc, ToldApartByTheirFiles) {
  using vmseal::sealing::static_libc_of;
  using vmseal::sealing::StaticLibc;
  EXPECT_EQ(static_libc_of(VMSEAL_RUN_HELPER_STATIC), StaticLibc::Glibc);
  EXPECT_EQ(static_libc_of(VMSEAL_RUN_HELPER_STATIC_PIE), StaticLibc::Glibc);
  if (*VMSEAL_RUN_HELPER_MUSL_STATIC != '\0') {
    EXPECT_EQ(static_libc_of(VMSEAL_RUN_HELPER_MUSL_STATIC), StaticLibc::Other);
  }
}

}  // namespace
