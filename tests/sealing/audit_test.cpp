// vmseal audit over a tree (vmseal/sealing/audit.hpp): what is opened, what
// is skipped, the bounds, and the verdicts on the test libraries.
#include "vmseal/sealing/audit.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/cli_run.hpp"

namespace vmseal::sealing {
namespace {

namespace fs = std::filesystem;
using vmseal::test::CliRun;

const std::string kLibDir = VMSEAL_TEST_LIB_DIR;

// A scratch tree:
//   root/
//     bin/plain.so          partial RELRO (1 warning)
//     bin/execstack.so      partial RELRO, executable stack (2 warnings)
//     bin/script.sh         not ELF
//     bin/truncated         ELF magic, nothing else: not loadable
//     bin/link -> plain.so  a symlink: never followed
//     bin/fifo              a FIFO: never opened (a blocking open would hang)
//     deep/a/b/c/plain.so   three directories down
class AuditTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = vmseal::test::temp_path("vmseal-audit-tree");
    fs::remove_all(root_);
    fs::create_directories(root_ + "/bin");
    fs::create_directories(root_ + "/deep/a/b/c");
    fs::copy_file(kLibDir + "/libvmseal_test_plain.so", root_ + "/bin/plain.so");
    fs::copy_file(kLibDir + "/libvmseal_test_execstack.so", root_ + "/bin/execstack.so");
    fs::copy_file(kLibDir + "/libvmseal_test_plain.so", root_ + "/deep/a/b/c/plain.so");
    std::ofstream(root_ + "/bin/script.sh") << "#!/bin/sh\necho hi\n";
    std::ofstream(root_ + "/bin/truncated") << "\x7f"
                                               "ELF";
    fs::create_symlink("plain.so", root_ + "/bin/link");
    ASSERT_EQ(mkfifo((root_ + "/bin/fifo").c_str(), 0600), 0);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
};

TEST_F(AuditTree, WalksRegularFilesOnlyAndCountsTheRest) {
  const TreeAudit t = audit_tree({root_}, Profile::Default);
  ASSERT_EQ(t.reports.size(), 3U);
  EXPECT_EQ(t.reports[0].path, root_ + "/bin/execstack.so");  // sorted names
  EXPECT_EQ(t.reports[1].path, root_ + "/bin/plain.so");
  EXPECT_EQ(t.reports[2].path, root_ + "/deep/a/b/c/plain.so");
  EXPECT_EQ(t.reports[0].warnings(), 2U);
  EXPECT_EQ(t.reports[1].warnings(), 1U);
  EXPECT_EQ(t.not_elf, 2U);  // script.sh, truncated
  EXPECT_EQ(t.skipped, 2U);  // link, fifo
  EXPECT_TRUE(t.errors.empty()) << t.errors.front();
  EXPECT_FALSE(t.truncated);
}

TEST_F(AuditTree, StopsAtItsBounds) {
  const TreeAudit few = audit_tree({root_}, Profile::Default, {2, 64});
  EXPECT_TRUE(few.truncated);
  EXPECT_LE(few.reports.size() + few.not_elf, 2U);
  const TreeAudit shallow = audit_tree({root_}, Profile::Default, {1000, 2});
  EXPECT_TRUE(shallow.truncated);
  EXPECT_EQ(shallow.reports.size(), 2U) << "deep/a/b/c is below the depth limit";
}

TEST_F(AuditTree, ARootMayBeAFileAndAMissingOneIsAnError) {
  const TreeAudit t = audit_tree({root_ + "/bin/plain.so", root_ + "/missing"}, Profile::Default);
  EXPECT_EQ(t.reports.size(), 1U);
  ASSERT_EQ(t.errors.size(), 1U);
  EXPECT_NE(t.errors[0].find("missing"), std::string::npos);
}

TEST_F(AuditTree, AFifoNamedAloneIsRefusedWithoutBeingOpened) {
  AuditReport r;
  std::string error;
  AuditError kind = AuditError::None;
  EXPECT_FALSE(audit_file(root_ + "/bin/fifo", Profile::Default, r, &error, &kind));
  EXPECT_EQ(kind, AuditError::NotRegular) << error;
}

TEST_F(AuditTree, CliSummaryJsonAndExitStatuses) {
  CliRun r = vmseal::test::run_cli("audit --json " + root_);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["summary"]["elf_files"], 3);
  EXPECT_EQ(j["summary"]["relro_partial"], 3);
  EXPECT_EQ(j["summary"]["warnings"], 4);
  EXPECT_EQ(j["summary"]["skipped"], 2);
  EXPECT_EQ(j["files"][0]["findings"][1]["code"], "exec-stack");
  // For CI: a warning fails the run when asked.
  EXPECT_EQ(vmseal::test::run_cli("audit --fail-on-warning " + root_).code, 1);
  // The table: a line a file, then the summary.
  r = vmseal::test::run_cli("audit " + root_ + "/bin " + root_ + "/deep");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(
      r.out.find("partial no        -    exec   -     2        " + root_ + "/bin/execstack.so"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("3 ELF files: RELRO full 0, partial 3, none 0"), std::string::npos) << r.out;
  // An unreadable root: the others are still audited, exit 4.
  r = vmseal::test::run_cli("audit " + root_ + "/bin " + root_ + "/missing");
  EXPECT_EQ(r.code, 4);
  EXPECT_NE(r.out.find("execstack.so"), std::string::npos);
}

// vmseal passes its own audit: the binary, libvmseal and the preload.
TEST(AuditOwnFiles, NoWarnings) {
  const std::string bin = fs::path(VMSEAL_CLI_PATH).parent_path().string();
  const CliRun r =
      vmseal::test::run_cli("audit --fail-on-warning --json " + std::string(VMSEAL_CLI_PATH) + " " +
                            bin + "/libvmseal.so.0 " + VMSEAL_PRELOAD_PATH);
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["summary"]["elf_files"], 3);
  EXPECT_EQ(j["summary"]["relro_full"], 3);
  EXPECT_EQ(j["summary"]["warnings"], 0);
}

}  // namespace
}  // namespace vmseal::sealing
