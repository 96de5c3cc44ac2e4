// Runs the vmseal binary as a user would, capturing exit code and output.
#pragma once

#include <map>
#include <string>

namespace vmseal::test {

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path);
// A path in the test temporary directory that no other test process uses:
// ctest runs tests in parallel, and two of them writing one fixed file name
// read each other's output. Unique per process and per call.
std::string temp_path(const std::string& name);
// `vmseal ARGS` through /bin/sh (ARGS is shell text).
CliRun run_cli(const std::string& args);
// The same under a seccomp filter that makes mseal fail with `error`; code
// 99 when the filter could not be installed.
CliRun run_cli_under_mseal_filter(int error, const std::string& args);
// What a hostile or broken environment's seccomp filter does to mseal.
enum class MsealFilter {
  Fake,  // mseal(..., flags 0) returns 0 and does nothing (a bad flag still gets EINVAL)
  Kill,  // SECCOMP_RET_KILL_PROCESS
  Trap,  // SECCOMP_RET_TRAP: SIGSYS
};
CliRun run_cli_under_mseal_action(MsealFilter action, const std::string& args);
bool have_mseal();

// Output lines "KEY REST" as a map KEY -> REST (a helper's report lines).
std::map<std::string, std::string> key_lines(const std::string& out);

}  // namespace vmseal::test

// Skips a test where mseal(2) is missing or denied.
#define NEED_MSEAL()                 \
  if (!::vmseal::test::have_mseal()) \
  GTEST_SKIP() << "needs mseal(2) (Linux 6.10+) not denied by a seccomp filter"
