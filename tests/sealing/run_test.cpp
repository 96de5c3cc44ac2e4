// vmseal run and its preload, on real programs: what each profile seals,
// opt-outs, the report, dlopen of NODELETE and plain objects, exec, and the
// refusals (no program, a static one, mseal denied by seccomp).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "support/cli_run.hpp"

namespace {

using vmseal::test::CliRun;
using vmseal::test::have_mseal;
using vmseal::test::run_cli;

const std::string kHelper = VMSEAL_RUN_HELPER;
const std::string kLibDir = VMSEAL_TEST_LIB_DIR;

// The helper's "name state" lines.
TEST(RunCli, PlainRunSealsNothing) {
  // The control: the helper's own view without vmseal.
  const std::string out = vmseal::test::temp_path("plain.txt");
  const int code = std::system((kHelper + " status > " + out).c_str());
  ASSERT_EQ(code, 0);
  auto m = vmseal::test::key_lines(vmseal::test::slurp(out));
  EXPECT_EQ(m["program_text"], "unsealed");
  EXPECT_EQ(m["libc_text"], "unsealed");
}

TEST(RunCli, DefaultProfileSealsImagesNotData) {
  NEED_MSEAL();
  const std::string report = vmseal::test::temp_path("run_report.json");
  const CliRun r = run_cli("run --report " + report + " -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["program_rodata"], "sealed");
  EXPECT_EQ(m["program_relro"], "sealed");
  EXPECT_EQ(m["libc_text"], "sealed");
  EXPECT_EQ(m["libc_relro"], "sealed");
  EXPECT_EQ(m["ldso_text"], "sealed");
  EXPECT_EQ(m["program_data"], "unsealed");
  EXPECT_EQ(m["stack"], "unsealed");
  EXPECT_EQ(m["vdso"], "unsealed");
  // The preload left the environment as it found it (no --follow-exec).
  EXPECT_EQ(m["ld_preload"], "(unset)");
  const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
  EXPECT_EQ(j["failures"], 0);
  EXPECT_EQ(j["sealed_before_main"], true);
  EXPECT_EQ(j["profile"], "default");
  std::map<std::string, std::string> verdicts;
  for (const auto& o : j["objects"])
    verdicts[o["role"].get<std::string>() + ":" + o["path"].get<std::string>()] = o["verdict"];
  EXPECT_EQ(verdicts["program:" + kHelper], "sealed");
  EXPECT_EQ(verdicts["vdso:linux-vdso.so.1"], "kernel");
  bool preload_sealed = false;
  for (const auto& o : j["objects"])
    if (o["path"].get<std::string>().find("libvmseal_preload.so") != std::string::npos)
      preload_sealed = o["verdict"] == "sealed";
  EXPECT_TRUE(preload_sealed);
}

TEST(RunCli, MinimalAndStrictProfiles) {
  NEED_MSEAL();
  CliRun r = run_cli("run --profile minimal -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["program_relro"], "unsealed");
  EXPECT_EQ(m["libc_relro"], "unsealed");
  r = run_cli("run --profile strict -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_data"], "sealed");
  EXPECT_EQ(m["stack"], "sealed");
  EXPECT_EQ(m["vdso"], "sealed");
  EXPECT_EQ(m["program_relro"], "sealed");
}

TEST(RunCli, OptOutDryRunAndExitStatus) {
  NEED_MSEAL();
  const std::string report = vmseal::test::temp_path("optout.json");
  CliRun r = run_cli("run --opt-out 'libc.so*' --report " + report + " -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["libc_text"], "unsealed");
  EXPECT_EQ(m["program_text"], "sealed");
  const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
  bool libc_opted_out = false;
  for (const auto& o : j["objects"])
    if (o["path"].get<std::string>().find("libc.so.6") != std::string::npos)
      libc_opted_out = o["verdict"] == "opted-out";
  EXPECT_TRUE(libc_opted_out);
  // A dry run prints the plan and seals nothing.
  r = run_cli("run --dry-run -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
  EXPECT_NE(r.err.find("vmseal: dry run: " + kHelper), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" relro   seal"), std::string::npos) << r.err;
  // The program's exit status is vmseal's, and its arguments stay its own.
  EXPECT_EQ(run_cli("run -- " + kHelper + " exit 7").code, 7);
  EXPECT_EQ(run_cli("run --opt-out x -- /bin/echo -n --profile").out, "--profile");
}

TEST(RunCli, DlopenSealsOnlyWhatCannotBeUnloaded) {
  NEED_MSEAL();
  // A plain library stays unsealed and can be dlclose'd (unmapped).
  CliRun r = run_cli("run -- " + kHelper + " dlopen " + kLibDir + "/libvmseal_test_plain.so");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["library_text"], "unsealed");
  EXPECT_EQ(m["dlclose"], "ok");
  EXPECT_EQ(m["after_dlclose"], "unmapped");
  // Marked NODELETE at link time, or opened with RTLD_NODELETE: sealed.
  r = run_cli("run -- " + kHelper + " dlopen-keep " + kLibDir + "/libvmseal_test_nodelete.so");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["library_text"], "sealed");
  r = run_cli("run -- " + kHelper + " dlopen-nodelete " + kLibDir + "/libvmseal_test_plain.so");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["library_text"], "sealed");
  // A bare name found through the program's RUNPATH ($ORIGIN): the preload's
  // dlopen must let glibc see the real caller.
  r = run_cli("run -- " + kHelper + " dlopen libvmseal_test_plain.so");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["dlclose"], "ok");
  // An object that needs an executable stack: glibc 2.36 rewrites
  // __stack_prot in ld.so's RELRO, so that page must stay unsealed.
  r = run_cli("run -- " + kHelper + " dlopen " + kLibDir + "/libvmseal_test_execstack.so");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("dlopen ok"), std::string::npos) << r.out;
}

// `vmseal inspect` of a program under `vmseal run` agrees with what the
// preload did to ld.so: its __stack_prot page is left mutable on purpose (not
// "a loader would seal this"), and nothing a loader would seal is unsealed.
TEST(RunCli, InspectAgreesWithThePreloadOnTheLoader) {
  NEED_MSEAL();
  const std::string out = vmseal::test::temp_path("inspect.json");
  // The shell is sealed by the preload; the inspect it starts is not preloaded
  // (vmseal run does not follow exec unless asked).
  const CliRun r = run_cli("run -- /bin/sh -c '" + std::string(VMSEAL_CLI_PATH) +
                           " inspect --json $$ > " + out + "'");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(vmseal::test::slurp(out));
  bool seen = false;
  for (const auto& o : j["objects"]) {
    if (!o.value("interpreter", false)) continue;
    seen = true;
    EXPECT_EQ(o["unsealed_that_a_loader_would_seal"], 0) << o.dump();
    EXPECT_GT(o["by_segment"]["text"]["bytes_sealed"].get<std::uint64_t>(), 0u) << o.dump();
    if (o["by_segment"].contains("mutable")) {
      EXPECT_EQ(o["by_segment"]["mutable"]["bytes_sealed"], 0) << o.dump();
    }
  }
  EXPECT_TRUE(seen) << "no interpreter among the objects of /bin/sh";
}

TEST(RunCli, ExecFollowsOnlyWhenAsked) {
  NEED_MSEAL();
  CliRun r = run_cli("run -- " + kHelper + " exec " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
  r = run_cli("run --follow-exec -- " + kHelper + " exec " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "sealed");
  EXPECT_NE(vmseal::test::key_lines(r.out)["ld_preload"].find("libvmseal_preload.so"),
            std::string::npos);
  // bash defines its own setenv/unsetenv; the preload still leaves its
  // environment clean.
  r = run_cli("run -- /bin/bash -c 'echo \"[${LD_PRELOAD-unset}]\"'");
  EXPECT_EQ(r.out, "[unset]\n") << r.err;
}

TEST(RunCli, RefusalsAndBestEffort) {
  EXPECT_EQ(run_cli("run -- /nonexistent/program").code, 127);
  EXPECT_EQ(run_cli("run -- " + kLibDir + "/../CMakeFiles").code, 126);
  EXPECT_EQ(run_cli("run").code, 125);
  EXPECT_EQ(run_cli("run --profile loose -- /bin/true").code, 125);
  // A static program: nothing to preload into, so it is sealed through
  // ptrace (static_run_test.cpp has the seals): no warning, its own exit
  // status, --enforce satisfied. Refused ptrace: StaticRunRefused.
  if (!vmseal::test::have_mseal()) return;
  CliRun r = run_cli("run -- " + std::string(VMSEAL_RUN_HELPER_STATIC) + " exit 3");
  EXPECT_EQ(r.code, 3);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(run_cli("run --enforce -- " + std::string(VMSEAL_RUN_HELPER_STATIC) + " exit 3").code,
            3);
}

TEST(RunCli, SeccompFilterDenyingMseal) {
  NEED_MSEAL();
  for (const int error : {EPERM, ENOSYS}) {
    CliRun r = vmseal::test::run_cli_under_mseal_filter(error, "run -- " + kHelper + " status");
    ASSERT_NE(r.code, 99) << "could not install the seccomp filter";
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
    EXPECT_NE(r.err.find("running the program unsealed"), std::string::npos) << r.err;
    r = vmseal::test::run_cli_under_mseal_filter(error, "run --enforce -- " + kHelper + " status");
    EXPECT_EQ(r.code, 125) << r.err;
    EXPECT_EQ(r.out, "");
    // The preload set by hand (no vmseal run) warns once; with enforce it
    // stops the program before main.
    r = vmseal::test::run_cli_under_mseal_filter(
        error, "--version && LD_PRELOAD=" + std::string(VMSEAL_PRELOAD_PATH) +
                   " VMSEAL_ENFORCE=1 " + kHelper + " status");
    EXPECT_EQ(r.code, 125) << r.err;
  }
}

// --- issue 15: --enforce means enforced; reports are safe; RELRO copies ------

const std::string kCli = VMSEAL_CLI_PATH;
const std::string kOwnStart = VMSEAL_RUN_OWN_START;
const std::string kStatic = VMSEAL_RUN_HELPER_STATIC;

// A copy of `from` at a fresh path with `mode`, for tests that change modes,
// owners or capabilities.
std::string copy_with_mode(const std::string& from, const std::string& name, mode_t mode) {
  const std::string to = vmseal::test::temp_path(name);
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  chmod(to.c_str(), mode);
  return to;
}

std::string write_script(const std::string& name, const std::string& interpreter) {
  const std::string path = vmseal::test::temp_path(name);
  std::ofstream(path) << "#!" << interpreter << "\n";
  chmod(path.c_str(), 0755);
  return path;
}

// `vmseal ARGS` as the unprivileged user nobody (needs root to switch).
CliRun run_cli_as_nobody(const std::string& args) {
  return run_cli("--version >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups " +
                 kCli + " " + args);
}

#define NEED_ROOT()   \
  if (geteuid() != 0) \
  GTEST_SKIP() << "needs root (to run programs as another user, set bits and capabilities)"

TEST(RunEnforce, RefusesADynamicProgramWithItsOwnStart) {
  NEED_MSEAL();
  CliRun r = run_cli("run --enforce -- " + kOwnStart);
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_EQ(r.out, "") << "the program ran";
  EXPECT_NE(r.err.find("__libc_start_main"), std::string::npos) << r.err;
  // Best effort: it runs, with one warning.
  r = run_cli("run -- " + kOwnStart);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "own_start ran\n");
  EXPECT_NE(r.err.find("running the program unsealed"), std::string::npos) << r.err;
}

TEST(RunEnforce, FollowsNestedScriptsToAStaticInterpreter) {
  NEED_MSEAL();
  const std::string inner = write_script("inner.sh", kStatic);
  const std::string outer = write_script("outer.sh", inner);
  // The chain ends at a static program: that one is sealed, through ptrace.
  CliRun r = run_cli("run --enforce --dry-run -- " + outer);
  EXPECT_NE(r.err.find("#! script (" + outer + " -> " + inner + " -> " + kStatic),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("static: sealed through ptrace"), std::string::npos) << r.err;
}

TEST(RunEnforce, DecidesSetUidByWhatTheLoaderWillDo) {
  NEED_MSEAL();
  NEED_ROOT();
  // Set-user-ID root run by root: no AT_SECURE, the preload works.
  const std::string suid = copy_with_mode(kHelper, "suid_helper", 04755);
  CliRun r = run_cli("run --enforce -- " + suid + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "sealed");
  // The same program run by another user: AT_SECURE, refused.
  r = run_cli_as_nobody("run --enforce -- " + suid + " status");
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_NE(r.err.find("set-user-ID"), std::string::npos) << r.err;
}

TEST(RunEnforce, RefusesFileCapabilitiesForAnUnprivilegedCaller) {
  NEED_MSEAL();
  NEED_ROOT();
  if (std::system("command -v setcap >/dev/null") != 0)
    GTEST_SKIP() << "needs setcap (Debian: libcap2-bin)";
  const std::string capped = copy_with_mode(kHelper, "cap_helper", 0755);
  ASSERT_EQ(std::system(("setcap cap_net_raw+ep " + capped).c_str()), 0)
      << "setcap failed (no xattr support here?)";
  const CliRun r = run_cli_as_nobody("run --enforce -- " + capped + " status");
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("file capabilities"), std::string::npos) << r.err;
}

TEST(RunEnforce, RefusesAProgramTheCallerCannotRead) {
  NEED_MSEAL();
  NEED_ROOT();
  const std::string hidden = copy_with_mode(kStatic, "unreadable_static", 0711);
  CliRun r = run_cli_as_nobody("run --enforce -- " + hidden + " exit 3");
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot be read"), std::string::npos) << r.err;
  // Without --enforce it is tried, and says so.
  r = run_cli_as_nobody("run -- " + hidden + " exit 3");
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("cannot be read"), std::string::npos) << r.err;
}

TEST(RunEnforce, InheritedVariablesChangeNothing) {
  NEED_MSEAL();
  const std::string report = vmseal::test::temp_path("inherited.json");
  const CliRun r = run_cli(
      "--version >/dev/null && VMSEAL_OPT_OUT='*' VMSEAL_PREDICT=/tmp VMSEAL_DRY_RUN=1 "
      "VMSEAL_RELRO=file VMSEAL_PRELOAD_LIBRARY=/lib/x86_64-linux-gnu/libm.so.6 " +
      kCli + " run --report " + report + " -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["libc_relro"], "sealed");
  const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
  EXPECT_EQ(j["dry_run"], false);
  EXPECT_EQ(j["relro"], "anon");
  for (const auto& o : j["objects"]) EXPECT_NE(o["verdict"], "opted-out") << o.dump();
}

TEST(RunEnforce, RefusesALibraryThatIsNotThePreload) {
  for (const char* enforce : {"", "--enforce "}) {
    const CliRun r = run_cli(std::string("run ") + enforce +
                             "--preload /lib/x86_64-linux-gnu/libm.so.6 -- " + kHelper + " status");
    EXPECT_EQ(r.code, 125) << r.out << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("not a vmseal preload"), std::string::npos) << r.err;
  }
}

TEST(RunEnforce, AFakedSealIsAFailure) {
  NEED_MSEAL();
  using vmseal::test::MsealFilter;
  // vmseal run's own probe seals a page in a child and checks it by effect.
  CliRun r = vmseal::test::run_cli_under_mseal_action(MsealFilter::Fake,
                                                      "run --enforce -- " + kHelper + " status");
  ASSERT_NE(r.code, 99) << "could not install the seccomp filter";
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_NE(r.err.find("fakes"), std::string::npos) << r.err;
  // The preload set by hand: it verifies each seal, so the report counts
  // failures and --enforce stops the program before main.
  const std::string report = vmseal::test::temp_path("faked.json");
  r = vmseal::test::run_cli_under_mseal_action(
      MsealFilter::Fake, "--version >/dev/null && LD_PRELOAD=" + std::string(VMSEAL_PRELOAD_PATH) +
                             " VMSEAL_REPORT=" + report + " " + kHelper + " status");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
  const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
  EXPECT_GT(j["failures"].get<int>(), 0) << j.dump();
  EXPECT_EQ(j["sealed_bytes"], 0) << j.dump();
  EXPECT_NE(j.dump().find("not sealed although mseal returned 0"), std::string::npos);
  r = vmseal::test::run_cli_under_mseal_action(
      MsealFilter::Fake, "--version >/dev/null && LD_PRELOAD=" + std::string(VMSEAL_PRELOAD_PATH) +
                             " VMSEAL_ENFORCE=1 " + kHelper + " status");
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(RunEnforce, AKillingFilterIsReportedNotDiedOf) {
  NEED_MSEAL();
  using vmseal::test::MsealFilter;
  for (const MsealFilter f : {MsealFilter::Kill, MsealFilter::Trap}) {
    CliRun r = vmseal::test::run_cli_under_mseal_action(f, "check");
    ASSERT_NE(r.code, 99) << "could not install the seccomp filter";
    EXPECT_EQ(r.code, 5) << r.out << r.err;
    EXPECT_NE(r.out.find("kills or traps"), std::string::npos) << r.out;
    r = vmseal::test::run_cli_under_mseal_action(f, "run --enforce -- " + kHelper + " status");
    EXPECT_EQ(r.code, 125) << r.out << r.err;
    r = vmseal::test::run_cli_under_mseal_action(f, "run -- " + kHelper + " status");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
    r = vmseal::test::run_cli_under_mseal_action(f, "inspect self");
    EXPECT_NE(r.code, -1) << "inspect died of a signal: " << r.err;
    EXPECT_NE(r.err.find("kills or traps"), std::string::npos) << r.err;
  }
}

TEST(RunReport, RefusesToWriteThroughAPlantedSymlink) {
  NEED_MSEAL();
  NEED_ROOT();
  const std::string dir = vmseal::test::temp_path("sticky");
  // A path unique to this process, but an earlier run's leftover under a
  // reused pid may be there (EEXIST): it is nobody's now.
  std::filesystem::remove_all(dir);
  ASSERT_EQ(mkdir(dir.c_str(), 01777), 0);
  chmod(dir.c_str(), 01777);
  const std::string secret = vmseal::test::temp_path("root-only");
  std::ofstream(secret) << "secret\n";
  chmod(secret.c_str(), 0600);
  // nobody plants a symlink where root's report will go.
  ASSERT_EQ(std::system(("setpriv --reuid=65534 --regid=65534 --clear-groups ln -s " + secret +
                         " " + dir + "/report.json")
                            .c_str()),
            0);
  const CliRun r = run_cli("run --report " + dir + "/report.json -- " + kHelper + " status");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::slurp(secret), "secret\n")
      << "the report was written through the symlink";
  EXPECT_NE(r.err.find("symlink"), std::string::npos) << r.err;
  // The same refusal on the path that writes the report before exec.
  const CliRun s = run_cli("run --report " + dir + "/report.json -- " + kStatic + " exit 0");
  EXPECT_EQ(vmseal::test::slurp(secret), "secret\n");
  EXPECT_NE(s.err.find("symlink"), std::string::npos) << s.err;
  std::filesystem::remove_all(dir);
  std::remove(secret.c_str());
}

TEST(RunRelro, EveryObjectsRelroIsAnAnonymousCopyByDefault) {
  NEED_MSEAL();
  for (const std::string mode : {"anon", "memfd", "file"}) {
    const std::string report = vmseal::test::temp_path("relro-" + mode + ".json");
    const CliRun r =
        run_cli("run --relro " + mode + " --report " + report + " -- " + kHelper + " status");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(vmseal::test::key_lines(r.out)["libc_relro"], "sealed");
    const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
    EXPECT_EQ(j["relro"], mode);
    EXPECT_EQ(j["failures"], 0) << j.dump();
    int relro_ranges = 0;
    for (const auto& o : j["objects"])
      for (const auto& range : o["ranges"])
        if (range["kind"] == "relro" && range["sealed"] == true) {
          ++relro_ranges;
          EXPECT_EQ(range.value("backing", ""), mode) << o["path"] << " " << range.dump();
        }
    EXPECT_GE(relro_ranges, 3) << "the program, libc and ld.so each have sealed RELRO";
    const bool gap_named =
        j["kernel_gaps"].dump().find("RELRO left file-backed") != std::string::npos;
    EXPECT_EQ(gap_named, mode == "file") << j["kernel_gaps"].dump();
  }
}

TEST(RunRelro, StrictSealsTheLoadersWholeRelroAndSaysWhyAnExecstackDlopenFails) {
  NEED_MSEAL();
  const std::string lib = kLibDir + "/libvmseal_test_execstack.so";
  CliRun r = run_cli("run --profile strict -- " + kHelper + " dlopen " + lib);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("dlopen ok"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("executable stack"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--profile default"), std::string::npos) << r.err;
  r = run_cli("run --profile default -- " + kHelper + " dlopen " + lib);
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST(RunCli, HintsAtDashesWhenTheProgramsOptionsLookLikeOurs) {
  const CliRun r = run_cli("run ls -l");
  EXPECT_EQ(r.code, 125);
  EXPECT_NE(r.err.find("put -- before the program"), std::string::npos) << r.err;
}

TEST(RunCli, AScriptSaysWhichInterpreterIsSealed) {
  NEED_MSEAL();
  const std::string script = write_script("status.sh", kHelper + " status");
  const std::string report = vmseal::test::temp_path("script.json");
  CliRun r = run_cli("run --dry-run -- " + script);
  EXPECT_NE(r.err.find("is a #! script"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the kernel runs " + kHelper), std::string::npos) << r.err;
  r = run_cli("run --report " + report + " -- " + script);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
  EXPECT_EQ(j.value("script", ""), std::filesystem::absolute(script).string()) << j.dump();
}

// `vmseal inspect PID` and the run's report give the same verdict for every
// object of a sealed python3 that opened extension modules with dlopen and an
// iconv module with glibc's own dlopen (which the preload does not see).
TEST(RunRecord, InspectAndTheReportAgreeObjectByObject) {
  NEED_MSEAL();
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  const std::string script = vmseal::test::temp_path("agree.py");
  const std::string inspected = vmseal::test::temp_path("agree-inspect.json");
  const std::string report = vmseal::test::temp_path("agree-report.json");
  std::ofstream(script)
      << "import ctypes, os, subprocess, sys\n"
         "import _json, _ssl, _sqlite3, _decimal\n"
         "ctypes.CDLL(None).iconv_open(b'UTF-8', b'EBCDIC-US')\n"
         "r = subprocess.run([sys.argv[1], 'inspect', '--json', str(os.getpid())], "
         "capture_output=True, text=True)\n"
         "open(sys.argv[2], 'w').write(r.stdout)\n"
         "sys.exit(r.returncode)\n";
  const CliRun r = run_cli("run --profile strict --report " + report + " -- /usr/bin/python3 " +
                           script + " " + kCli + " " + inspected);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto ins = nlohmann::json::parse(vmseal::test::slurp(inspected));
  const auto rep = nlohmann::json::parse(vmseal::test::slurp(report));
  EXPECT_EQ(ins["profile"], "strict") << "inspect must take the run's profile from the record";
  ASSERT_TRUE(ins["vmseal_run"].is_object()) << ins["vmseal_run_note"];
  EXPECT_EQ(ins["vmseal_run"]["relro"], "anon");
  std::map<std::uint64_t, nlohmann::json> by_bias;
  for (const auto& o : rep["objects"])
    by_bias[std::stoull(o["bias"].get<std::string>(), nullptr, 16)] = o;
  int may_unload = 0, sealed = 0;
  bool saw_gconv = false;
  for (const auto& o : ins["objects"]) {
    const auto it = by_bias.find(o["bias"].get<std::uint64_t>());
    ASSERT_NE(it, by_bias.end()) << "the report misses " << o["path"];
    EXPECT_EQ(o["run_verdict"], it->second["verdict"]) << o["path"];
    EXPECT_EQ(o["unsealed_that_a_loader_would_seal"], 0) << o.dump();
    if (o["run_verdict"] == "sealed") {
      ++sealed;
      if (o.contains("relro_backing")) {
        EXPECT_EQ(o["relro_backing"], "anon") << o["path"];
      }
    }
    if (o["run_verdict"] == "may-unload") ++may_unload;
    if (o["path"].get<std::string>().find("/gconv/") != std::string::npos) saw_gconv = true;
  }
  EXPECT_GE(sealed, 5);
  EXPECT_GE(may_unload, 4) << "the extension modules";
  EXPECT_TRUE(saw_gconv) << "the iconv module glibc opened itself";
}

TEST(RunRecord, InspectSaysWhatItCannotKnowWithoutARecord) {
  const CliRun r = run_cli("inspect --json self");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["vmseal_run"].is_null());
  EXPECT_NE(j["vmseal_run_note"].get<std::string>().find("cannot be known from outside"),
            std::string::npos);
}

TEST(RunCli, DlmopenNamespacesAreReported) {
  NEED_MSEAL();
  const std::string report = vmseal::test::temp_path("dlmopen.json");
  const CliRun r = run_cli("run --report " + report + " -- " + kHelper + " dlmopen " + kLibDir +
                           "/libvmseal_test_nodelete.so");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("dlmopen ok"), std::string::npos) << r.out;
  const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
  ASSERT_EQ(j["dlmopen"].size(), 1u) << j.dump();
  EXPECT_EQ(j["dlmopen"][0]["sealed"], false);
  EXPECT_NE(j["dlmopen"][0]["why"].get<std::string>().find("namespace"), std::string::npos);
}

TEST(RunCli, AnEnvScriptWarnsThatOnlyEnvIsSealed) {
  NEED_MSEAL();
  const std::string script = write_script("env.sh", "/usr/bin/env true");
  CliRun r = run_cli("run -- " + script);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("only /usr/bin/env is sealed"), std::string::npos) << r.err;
  r = run_cli("run --follow-exec -- " + script);
  EXPECT_EQ(r.err.find("only /usr/bin/env"), std::string::npos) << r.err;
}

TEST(RunEnforce, RefusesWhenAnAuditLibraryMayVetoThePreload) {
  NEED_MSEAL();
  const CliRun r =
      run_cli("--version >/dev/null && LD_AUDIT=" + kLibDir + "/libvmseal_test_plain.so " + kCli +
              " run --enforce -- " + kHelper + " status");
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("LD_AUDIT"), std::string::npos) << r.err;
}

TEST(RunEnforce, AProtectionChangedBeforeTheSealIsAFailureNotASeal) {
  NEED_MSEAL();
  const std::string program = VMSEAL_RUN_WRITABLE_RELRO;
  CliRun r = run_cli("run --enforce -- " + program);
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_EQ(r.out, "") << "main ran";
  const std::string report = vmseal::test::temp_path("writable-relro.json");
  r = run_cli("run --report " + report + " -- " + program);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "writable_relro ran\n");
  const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
  EXPECT_EQ(j["failures"], 1) << j.dump();
  bool found = false;
  for (const auto& o : j["objects"])
    for (const auto& range : o["ranges"])
      if (range["kind"] == "relro" && o["role"] == "program") {
        found = true;
        EXPECT_EQ(range["sealed"], false) << range.dump();
        EXPECT_NE(range.value("error", "").find("protection was changed"), std::string::npos)
            << range.dump();
      }
  EXPECT_TRUE(found);
}

TEST(RunRelro, AProgramOnTmpfsIsAlwaysCopied) {
  NEED_MSEAL();
  // A private mapping of a tmpfs file takes UFFDIO_COPY after a discard: its
  // text, rodata and RELRO are copied to anonymous memory whatever --text says.
  if (access("/dev/shm", W_OK) != 0) GTEST_SKIP() << "needs a writable /dev/shm (tmpfs)";
  const std::string dir = "/dev/shm/vmseal-test-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string program = dir + "/run_helper";
  std::filesystem::copy_file(kHelper, program, std::filesystem::copy_options::overwrite_existing);
  chmod(program.c_str(), 0755);
  const std::string report = vmseal::test::temp_path("tmpfs.json");
  const CliRun r = run_cli("run --report " + report + " -- " + program + " status");
  std::filesystem::remove_all(dir);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "sealed");
  const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
  int copied = 0;
  for (const auto& o : j["objects"]) {
    if (o["role"] != "program") continue;
    for (const auto& range : o["ranges"])
      if (range["sealed"] == true &&
          (range["kind"] == "text" || range["kind"] == "rodata" || range["kind"] == "relro")) {
        EXPECT_EQ(range.value("backing", ""), "anon") << range.dump();
        ++copied;
      }
  }
  EXPECT_GE(copied, 3);
  // A library on ext4 stays as mapped (the default --text file).
  for (const auto& o : j["objects"])
    if (o["path"].get<std::string>().find("libc.so") != std::string::npos)
      for (const auto& range : o["ranges"])
        if (range["kind"] == "text") {
          EXPECT_FALSE(range.contains("backing")) << range.dump();
        }
}

TEST(RunEnforce, AProgramThatLeavesBeforeMainWasSealedDoesNotExitZero) {
  NEED_MSEAL();
  const std::string program = VMSEAL_RUN_CTOR_EXIT;
  for (const char* how : {"", " quick"}) {
    CliRun r = run_cli("run --enforce -- " + program + how);
    EXPECT_EQ(r.code, 125) << how << r.out << r.err;
    EXPECT_NE(r.err.find("nothing was sealed"), std::string::npos) << r.err;
    r = run_cli("run -- " + program + how);  // best effort: its own status
    EXPECT_EQ(r.code, 0) << r.err;
  }
}

TEST(RunEnforce, OnlyTheSystemsLoaderIsGlibcsLoader) {
  NEED_MSEAL();
  // A program whose PT_INTERP is a copy of ld.so elsewhere (the same bytes):
  // anything may be named ld-linux-x86-64.so.2.
  const CliRun r = run_cli("run --enforce -- " + std::string(VMSEAL_RUN_OTHER_LOADER) + " status");
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("not this system's glibc loader"), std::string::npos) << r.err;
}

TEST(RunEnforce, AFileVmsealCannotParseIsNotRunUnderEnforce) {
  NEED_MSEAL();
  // EI_VERSION 0: libelf refuses the file, the kernel runs it anyway.
  const std::string patched = copy_with_mode(kStatic, "badversion", 0755);
  {
    std::fstream f(patched, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(6);
    f.put('\0');
  }
  CliRun r = run_cli("run --enforce -- " + patched + " exit 3");
  EXPECT_EQ(r.code, 125) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot be checked"), std::string::npos) << r.err;
  r = run_cli("run -- " + patched + " exit 3");
  EXPECT_EQ(r.code, 3) << "best effort leaves it to the kernel: " << r.err;
}

}  // namespace
