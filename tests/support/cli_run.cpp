#include "support/cli_run.hpp"

#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::test {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

CliRun run_cli(const std::string& args) {
  const std::string dir = ::testing::TempDir();
  const std::string cmd = std::string(VMSEAL_CLI_PATH) + " " + args + " >" + dir + "cli_out.txt 2>" + dir +
                          "cli_err.txt </dev/null";
  const int status = std::system(cmd.c_str());
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir + "cli_out.txt");
  r.err = slurp(dir + "cli_err.txt");
  return r;
}

CliRun run_cli_under_mseal_filter(int error, const std::string& args) {
  const std::string dir = ::testing::TempDir();
  const pid_t pid = fork();
  if (pid == 0) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == nullptr || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(static_cast<std::uint32_t>(error)), 462, 0) != 0 ||
        seccomp_load(ctx) != 0)
      _exit(99);
    const std::string cmd = std::string(VMSEAL_CLI_PATH) + " " + args + " >" + dir + "f_out.txt 2>" + dir +
                            "f_err.txt </dev/null";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(98);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  CliRun r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(dir + "f_out.txt");
  r.err = slurp(dir + "f_err.txt");
  return r;
}

bool have_mseal() { return kernel::probe_mseal().support == kernel::MsealSupport::Available; }

}  // namespace vmseal::test
