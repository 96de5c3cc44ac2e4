// vmseal run and its preload, on real programs: what each profile seals,
// opt-outs, the report, dlopen of NODELETE and plain objects, exec, and the
// refusals (no program, a static one, mseal denied by seccomp).
#include <gtest/gtest.h>

#include <cerrno>
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

#define NEED_MSEAL() \
  if (!have_mseal()) GTEST_SKIP() << "needs mseal(2) (Linux 6.10+) not denied by a seccomp filter"

// The helper's "name state" lines.
std::map<std::string, std::string> lines(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    const auto sp = l.find(' ');
    if (sp != std::string::npos) m[l.substr(0, sp)] = l.substr(sp + 1);
  }
  return m;
}

TEST(RunCli, PlainRunSealsNothing) {
  // The control: the helper's own view without vmseal.
  const std::string out = vmseal::test::temp_path("plain.txt");
  const int code = std::system((kHelper + " status > " + out).c_str());
  ASSERT_EQ(code, 0);
  auto m = lines(vmseal::test::slurp(out));
  EXPECT_EQ(m["program_text"], "unsealed");
  EXPECT_EQ(m["libc_text"], "unsealed");
}

TEST(RunCli, DefaultProfileSealsImagesNotData) {
  NEED_MSEAL();
  const std::string report = vmseal::test::temp_path("run_report.json");
  const CliRun r = run_cli("run --report " + report + " -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  auto m = lines(r.out);
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
  for (const auto& o : j["objects"]) verdicts[o["role"].get<std::string>() + ":" + o["path"].get<std::string>()] = o["verdict"];
  EXPECT_EQ(verdicts["program:" + kHelper], "sealed");
  EXPECT_EQ(verdicts["vdso:linux-vdso.so.1"], "kernel");
  bool preload_sealed = false;
  for (const auto& o : j["objects"])
    if (o["path"].get<std::string>().find("libvmseal_preload.so") != std::string::npos) preload_sealed = o["verdict"] == "sealed";
  EXPECT_TRUE(preload_sealed);
}

TEST(RunCli, MinimalAndStrictProfiles) {
  NEED_MSEAL();
  CliRun r = run_cli("run --profile minimal -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["program_relro"], "unsealed");
  EXPECT_EQ(m["libc_relro"], "unsealed");
  r = run_cli("run --profile strict -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  m = lines(r.out);
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
  auto m = lines(r.out);
  EXPECT_EQ(m["libc_text"], "unsealed");
  EXPECT_EQ(m["program_text"], "sealed");
  const auto j = nlohmann::json::parse(vmseal::test::slurp(report));
  bool libc_opted_out = false;
  for (const auto& o : j["objects"])
    if (o["path"].get<std::string>().find("libc.so.6") != std::string::npos) libc_opted_out = o["verdict"] == "opted-out";
  EXPECT_TRUE(libc_opted_out);
  // A dry run prints the plan and seals nothing.
  r = run_cli("run --dry-run -- " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out)["program_text"], "unsealed");
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
  auto m = lines(r.out);
  EXPECT_EQ(m["library_text"], "unsealed");
  EXPECT_EQ(m["dlclose"], "ok");
  EXPECT_EQ(m["after_dlclose"], "unmapped");
  // Marked NODELETE at link time, or opened with RTLD_NODELETE: sealed.
  r = run_cli("run -- " + kHelper + " dlopen-keep " + kLibDir + "/libvmseal_test_nodelete.so");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(lines(r.out)["library_text"], "sealed");
  r = run_cli("run -- " + kHelper + " dlopen-nodelete " + kLibDir + "/libvmseal_test_plain.so");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(lines(r.out)["library_text"], "sealed");
  // A bare name found through the program's RUNPATH ($ORIGIN): the preload's
  // dlopen must let glibc see the real caller.
  r = run_cli("run -- " + kHelper + " dlopen libvmseal_test_plain.so");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(lines(r.out)["dlclose"], "ok");
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
  const CliRun r = run_cli("run -- /bin/sh -c '" + std::string(VMSEAL_CLI_PATH) + " inspect --json $$ > " + out + "'");
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
  EXPECT_EQ(lines(r.out)["program_text"], "unsealed");
  r = run_cli("run --follow-exec -- " + kHelper + " exec " + kHelper + " status");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out)["program_text"], "sealed");
  EXPECT_NE(lines(r.out)["ld_preload"].find("libvmseal_preload.so"), std::string::npos);
  // bash defines its own setenv/unsetenv; the preload still leaves its
  // environment clean.
  r = run_cli("run -- /bin/bash -c 'echo \"[${LD_PRELOAD-unset}]\"'");
  EXPECT_EQ(r.out, "[unset]\n") << r.err;
}

TEST(RunCli, RefusalsAndBestEffort) {
  EXPECT_EQ(run_cli("run -- /nonexistent/program").code, 127);
  EXPECT_EQ(run_cli("run -- " + kLibDir + "/../CMakeFiles").code, 126);
  EXPECT_EQ(run_cli("run").code, 2);
  EXPECT_EQ(run_cli("run --profile loose -- /bin/true").code, 2);
  // A static program: nothing to preload into. Best effort runs it with one
  // warning; --enforce refuses.
  CliRun r = run_cli("run -- " + std::string(VMSEAL_RUN_HELPER_STATIC) + " exit 3");
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("statically linked"), std::string::npos) << r.err;
  EXPECT_EQ(run_cli("run --enforce -- " + std::string(VMSEAL_RUN_HELPER_STATIC) + " exit 3").code, 8);
}

TEST(RunCli, SeccompFilterDenyingMseal) {
  NEED_MSEAL();
  for (const int error : {EPERM, ENOSYS}) {
    CliRun r = vmseal::test::run_cli_under_mseal_filter(error, "run -- " + kHelper + " status");
    ASSERT_NE(r.code, 99) << "could not install the seccomp filter";
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(lines(r.out)["program_text"], "unsealed");
    EXPECT_NE(r.err.find("running the program unsealed"), std::string::npos) << r.err;
    r = vmseal::test::run_cli_under_mseal_filter(error, "run --enforce -- " + kHelper + " status");
    EXPECT_EQ(r.code, 5) << r.err;
    EXPECT_EQ(r.out, "");
    // The preload set by hand (no vmseal run) warns once; with enforce it
    // stops the program before main.
    r = vmseal::test::run_cli_under_mseal_filter(
        error, "--version && LD_PRELOAD=" + std::string(VMSEAL_PRELOAD_PATH) + " VMSEAL_ENFORCE=1 " + kHelper + " status");
    EXPECT_EQ(r.code, 125) << r.err;
  }
}

}  // namespace
