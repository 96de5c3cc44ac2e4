// `vmseal run` for Go programs (tests/go/churn, cmake/GoPrograms.cmake), in
// the builds it treats differently: static (Go's linker, CGO_ENABLED=0:
// ptrace, no RELRO), pie (-buildmode=pie: ld.so loads it, nothing else;
// ptrace, RELRO protected by ld.so), cgo (linked externally by gcc: the
// preload) and cgo-internal (Go's linker with libc: the runtime's own entry,
// not sealable). churn says which of its mappings are sealed (smaps' "sl"),
// whether it is traced, then runs goroutines and collections and checks
// every result. Skipped where go was not found at build time.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "support/cli_run.hpp"
#include "vmseal/sealing/audit.hpp"
#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/launch.hpp"
#include "vmseal/sealing/static_launch.hpp"

namespace {

using vmseal::test::CliRun;
using vmseal::test::run_cli;
namespace sealing = vmseal::sealing;

#define NEED_GO(path) \
  if (*(path) == '\0') GTEST_SKIP() << "go was not found at build time (Debian: golang-go)"
struct GoProgram {
  const char* name;
  const char* path;
  bool ptrace;  // sealed through ptrace (else the preload)
  bool relro;   // has a PT_GNU_RELRO
};

void PrintTo(const GoProgram& p, std::ostream* os) { *os << p.name << " build"; }

std::vector<GoProgram> programs() {
  return {{"static", VMSEAL_GO_CHURN_STATIC, true, false},
          {"pie", VMSEAL_GO_CHURN_PIE, true, true},
          {"cgo", VMSEAL_GO_CHURN_CGO, false, true}};
}

class GoRun : public ::testing::TestWithParam<GoProgram> {};

TEST_P(GoRun, DefaultProfileSealsTheImageAndTheRuntimeKeepsWorking) {
  NEED_GO(GetParam().path);
  NEED_MSEAL();
  const std::string p = GetParam().path;
  // Unsealed without vmseal: the check can fail.
  auto m = vmseal::test::key_lines(run_cli("--version >/dev/null; " + p + " 0").out);
  ASSERT_EQ(m["program_text"], "unsealed");
  const CliRun r = run_cli("run -- " + p + " 4");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["program_rodata"], "sealed");
  EXPECT_EQ(m["program_relro"], GetParam().relro ? "sealed" : "none");
  EXPECT_EQ(m["program_data"], "unsealed");
  EXPECT_EQ(m["stack"], "unsealed");
  EXPECT_EQ(m["tracer"], "0");
  EXPECT_EQ(m["churn"].rfind("ok goroutines=16 rounds=4", 0), 0U) << r.out;
}

TEST_P(GoRun, StrictProfileSealsDataStackAndVdsoToo) {
  NEED_GO(GetParam().path);
  NEED_MSEAL();
  const CliRun r = run_cli("run --profile strict -- " + std::string(GetParam().path) + " 4");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["program_data"], "sealed");
  EXPECT_EQ(m["stack"], "sealed");
  EXPECT_EQ(m["vdso"], "sealed");
  EXPECT_EQ(m["churn"].rfind("ok ", 0), 0U) << r.out;
}

TEST_P(GoRun, TextAnonKeepsItWorking) {
  NEED_GO(GetParam().path);
  NEED_MSEAL();
  const CliRun r = run_cli("run --text anon -- " + std::string(GetParam().path) + " 2");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto m = vmseal::test::key_lines(r.out);
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["churn"].rfind("ok ", 0), 0U) << r.out;
}

TEST_P(GoRun, ReportSaysHowAndWhat) {
  NEED_GO(GetParam().path);
  NEED_MSEAL();
  const std::string report = vmseal::test::temp_path("go_report.json");
  const CliRun r = run_cli("run --report " + report + " -- " + GetParam().path + " 0");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(vmseal::test::slurp(report));
  EXPECT_EQ(j["failures"], 0);
  EXPECT_EQ(j["sealed_before_main"], true);
  EXPECT_EQ(j.value("method", "preload"), GetParam().ptrace ? "ptrace" : "preload");
  // The pie's RELRO point is ld.so's mprotect; with no RELRO (static) the
  // sealer needs no second stop and detaches at the exec.
  if (GetParam().ptrace) {
    EXPECT_EQ(j["relro_point"], GetParam().relro ? "ld.so's mprotect(PROT_READ) of RELRO" : "");
  }
  int relro = 0;
  for (const auto& range : j["objects"][0]["ranges"])
    if (range["kind"] == "relro") {
      ++relro;
      EXPECT_EQ(range["sealed"], true);
      EXPECT_EQ(range["backing"], "anon");
    }
  EXPECT_EQ(relro, GetParam().relro ? 1 : 0);
}

INSTANTIATE_TEST_SUITE_P(Builds, GoRun, ::testing::ValuesIn(programs()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// Go's linker leaves a build ID note in every build; only the pie loads no
// library at all.
TEST(GoElf, TheBuildIdNoteAndTheLibrariesAreRead) {
  NEED_GO(VMSEAL_GO_CHURN_STATIC);
  sealing::ElfImage image;
  std::string error;
  for (const char* p : {VMSEAL_GO_CHURN_STATIC, VMSEAL_GO_CHURN_PIE, VMSEAL_GO_CHURN_CGO,
                        VMSEAL_GO_CHURN_CGO_INTERNAL}) {
    ASSERT_TRUE(sealing::read_elf_image(p, image, &error)) << error;
    EXPECT_TRUE(image.go) << p;
  }
  ASSERT_TRUE(sealing::read_elf_image(VMSEAL_GO_CHURN_PIE, image, &error));
  EXPECT_TRUE(image.needed.empty());
  EXPECT_TRUE(image.interp.has_value());
  EXPECT_TRUE(image.relro.has_value());
  ASSERT_TRUE(sealing::read_elf_image(VMSEAL_GO_CHURN_CGO_INTERNAL, image, &error));
  EXPECT_FALSE(image.needed.empty());
  ASSERT_TRUE(sealing::read_elf_image(VMSEAL_GO_CHURN_STATIC, image, &error));
  EXPECT_FALSE(image.relro.has_value());
  ASSERT_TRUE(sealing::read_elf_image(VMSEAL_RUN_HELPER, image, &error));
  EXPECT_FALSE(image.go);
  EXPECT_EQ(sealing::static_libc_of(VMSEAL_GO_CHURN_STATIC), sealing::StaticLibc::Go);
}

TEST(GoLaunch, EachBuildGoesItsOwnWay) {
  NEED_GO(VMSEAL_GO_CHURN_STATIC);
  using sealing::LaunchObstacle;
  EXPECT_EQ(sealing::plan_launch(VMSEAL_GO_CHURN_STATIC).obstacle, LaunchObstacle::Static);
  EXPECT_EQ(sealing::plan_launch(VMSEAL_GO_CHURN_PIE).obstacle, LaunchObstacle::GoRuntime);
  EXPECT_EQ(sealing::plan_launch(VMSEAL_GO_CHURN_CGO).obstacle, LaunchObstacle::None);
  const sealing::LaunchPlan internal = sealing::plan_launch(VMSEAL_GO_CHURN_CGO_INTERNAL);
  EXPECT_EQ(internal.obstacle, LaunchObstacle::NoStartHook);
  EXPECT_NE(internal.why.find("Go's internal linker"), std::string::npos) << internal.why;
  EXPECT_TRUE(sealing::sealed_through_ptrace(LaunchObstacle::GoRuntime));
  EXPECT_FALSE(sealing::sealed_through_ptrace(LaunchObstacle::NoStartHook));
}

// `vmseal audit` says how `run` seals each build, and why.
TEST(GoAudit, SaysWhichMethodRunUses) {
  NEED_GO(VMSEAL_GO_CHURN_STATIC);
  auto method = [](const std::string& file) {
    const CliRun r = run_cli("audit --json " + file);
    EXPECT_EQ(r.code, 0) << r.err;
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.contains("run_method")) return std::string("?");
    return j["run_method"]["method"].get<std::string>() + ": " +
           j["run_method"]["why"].get<std::string>();
  };
  const std::string s = method(VMSEAL_GO_CHURN_STATIC);
  EXPECT_EQ(s.rfind("ptrace: statically linked", 0), 0U) << s;
  EXPECT_NE(s.find("no RELRO (Go's linker makes none"), std::string::npos) << s;
  const std::string pie = method(VMSEAL_GO_CHURN_PIE);
  EXPECT_EQ(pie.rfind("ptrace: a Go program that loads no library", 0), 0U) << pie;
  EXPECT_NE(pie.find("RELRO when ld.so makes it read-only"), std::string::npos) << pie;
  const std::string cgo = method(VMSEAL_GO_CHURN_CGO);
  EXPECT_EQ(cgo.rfind("preload: a Go program linked by the C toolchain", 0), 0U) << cgo;
  const std::string internal = method(VMSEAL_GO_CHURN_CGO_INTERNAL);
  EXPECT_EQ(internal.rfind("none: ", 0), 0U) << internal;
  EXPECT_NE(internal.find("-linkmode=external"), std::string::npos) << internal;
}

// The builds run cannot seal: a warning and the program unsealed, or under
// --enforce no run.
TEST(GoRunRefused, InternallyLinkedCgoWarnsOrRefuses) {
  NEED_GO(VMSEAL_GO_CHURN_CGO_INTERNAL);
  NEED_MSEAL();
  CliRun r = run_cli("run -- " + std::string(VMSEAL_GO_CHURN_CGO_INTERNAL) + " 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("running the program unsealed"), std::string::npos) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
  r = run_cli("run --enforce -- " + std::string(VMSEAL_GO_CHURN_CGO_INTERNAL) + " 0");
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.out, "");
}

// ptrace refused (vmseal already traced): the pie runs unsealed with a
// warning, or not at all under --enforce.
TEST(GoRunRefused, PieUnderAnotherTracerWarnsOrRefuses) {
  NEED_GO(VMSEAL_GO_CHURN_PIE);
  NEED_MSEAL();
  if (std::system("command -v strace >/dev/null") != 0) GTEST_SKIP() << "needs strace";
  const std::string strace =
      "--version >/dev/null; ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0\" "
      "strace -o /dev/null " +
      std::string(VMSEAL_CLI_PATH) + " run ";
  CliRun r = run_cli(strace + "-- " + std::string(VMSEAL_GO_CHURN_PIE) + " 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("is a Go program that loads no library and cannot be sealed through ptrace"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
  r = run_cli(strace + "--enforce -- " + std::string(VMSEAL_GO_CHURN_PIE) + " 0");
  EXPECT_EQ(r.code, 125) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(GoRunFollowExec, APieIsSealedButItsExecsAreNotFollowed) {
  NEED_GO(VMSEAL_GO_CHURN_PIE);
  NEED_MSEAL();
  const CliRun r = run_cli("run --follow-exec -- " + std::string(VMSEAL_GO_CHURN_PIE) + " 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("--follow-exec"), std::string::npos) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "sealed");
}

TEST(GoRunDryRun, APieSaysItsPlanAndSealsNothing) {
  NEED_GO(VMSEAL_GO_CHURN_PIE);
  NEED_MSEAL();
  const CliRun r = run_cli("run --dry-run -- " + std::string(VMSEAL_GO_CHURN_PIE) + " 0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("(program, loaded by ld.so, no library: sealed through ptrace)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("relro   seal"), std::string::npos) << r.err;
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_text"], "unsealed");
  EXPECT_EQ(vmseal::test::key_lines(r.out)["program_relro"], "unsealed");
}

// The holes the kernel leaves between a program's segments (the victim is
// linked with -R 0x10000) are reserved PROT_NONE and sealed.
TEST(GoRunGaps, HolesBetweenSegmentsAreReservedAndSealed) {
  NEED_GO(VMSEAL_GO_VICTIM_STATIC);
  NEED_MSEAL();
  const std::string report = vmseal::test::temp_path("go_gaps.json");
  const CliRun r =
      run_cli("run --report " + report + " -- " + std::string(VMSEAL_GO_VICTIM_STATIC) + " --list");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(vmseal::test::slurp(report));
  int gaps = 0;
  for (const auto& range : j["objects"][0]["ranges"])
    if (range["kind"] == "gap") {
      ++gaps;
      EXPECT_EQ(range["sealed"], true) << range.dump();
      EXPECT_EQ(range.value("reserved", false), true) << range.dump();
    }
  EXPECT_GE(gaps, 1);
  EXPECT_EQ(j["failures"], 0);
}

}  // namespace
