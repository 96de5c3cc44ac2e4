#include "support/cli_run.hpp"

#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
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

std::string temp_path(const std::string& name) {
  static unsigned counter = 0;
  return ::testing::TempDir() + "vmseal-" + std::to_string(getpid()) + "-" +
         std::to_string(++counter) + "-" + name;
}

namespace {

CliRun collect(int status, const std::string& out, const std::string& err) {
  CliRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

}  // namespace

CliRun run_cli(const std::string& args) {
  const std::string out = temp_path("out.txt");
  const std::string err = temp_path("err.txt");
  const std::string cmd =
      std::string(VMSEAL_CLI_PATH) + " " + args + " >" + out + " 2>" + err + " </dev/null";
  return collect(std::system(cmd.c_str()), out, err);
}

namespace {

// `vmseal ARGS` through /bin/sh in a child that first loads a seccomp filter
// with one rule for mseal (`add_rule` adds it); code 99 when it cannot.
template <typename AddRule>
CliRun run_cli_under_filter(const std::string& args, AddRule add_rule) {
  const std::string out = temp_path("out.txt");
  const std::string err = temp_path("err.txt");
  const pid_t pid = fork();
  if (pid == 0) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == nullptr || add_rule(ctx) != 0 || seccomp_load(ctx) != 0) _exit(99);
    const std::string cmd =
        std::string(VMSEAL_CLI_PATH) + " " + args + " >" + out + " 2>" + err + " </dev/null";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(98);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return collect(st, out, err);
}

}  // namespace

CliRun run_cli_under_mseal_filter(int error, const std::string& args) {
  return run_cli_under_filter(args, [error](scmp_filter_ctx ctx) {
    return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(static_cast<std::uint32_t>(error)), 462, 0);
  });
}

CliRun run_cli_under_mseal_action(MsealFilter action, const std::string& args) {
  return run_cli_under_filter(args, [action](scmp_filter_ctx ctx) {
    switch (action) {
      case MsealFilter::Fake:
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(0), 462, 1, SCMP_A2(SCMP_CMP_EQ, 0));
      case MsealFilter::Kill:
        return seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, 462, 0);
      case MsealFilter::Trap:
        return seccomp_rule_add(ctx, SCMP_ACT_TRAP, 462, 0);
    }
    return -1;
  });
}

bool have_mseal() { return kernel::probe_mseal().support == kernel::MsealSupport::Available; }

std::map<std::string, std::string> key_lines(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    const std::size_t sp = l.find(' ');
    if (sp != std::string::npos) m[l.substr(0, sp)] = l.substr(sp + 1);
  }
  return m;
}

}  // namespace vmseal::test
