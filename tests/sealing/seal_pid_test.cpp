// `vmseal seal PID` (sealing/seal_pid.hpp) on running programs: the run
// helper in its `serve` mode (tests/sealing/run/serve.c), dynamic, glibc
// -static and -static-pie, musl static and static-pie. Each test checks from
// inside the program what the seal did (smaps' "sl" on its own mappings,
// exploit primitives getting EPERM) and that the program noticed nothing
// else: its registers (spin), its blocked signals and alternate stack, its
// sleeps and reads (no EINTR, no sleep cut short), its threads; and from
// outside that nothing traces it or keeps it stopped. Then every refusal,
// each with its exit status. The kill points and real servers are
// seal_kill.py's and seal_server.py's (ctest seal.*).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/cli_run.hpp"
#include "vmseal/sealing/tracee.hpp"

namespace {

using vmseal::test::CliRun;
using vmseal::test::run_cli;

// ptrace of a process that is not vmseal's descendant: root, or no Yama.
bool can_trace_others() {
  if (!vmseal::sealing::ptrace_policy_obstacle().empty()) return false;
  std::ifstream yama("/proc/sys/kernel/yama/ptrace_scope");
  int scope = 0;
  return !(yama >> scope) || scope == 0 || geteuid() == 0;
}

#define NEED_SEAL_PID()                                                                \
  if (!vmseal::test::have_mseal())                                                     \
    GTEST_SKIP() << "needs mseal(2) (Linux 6.10+) not denied by a seccomp filter";     \
  if (!can_trace_others())                                                             \
  GTEST_SKIP() << "needs ptrace of another process (Yama's ptrace_scope 0, or root): " \
               << vmseal::sealing::ptrace_policy_obstacle()

// The run helper serving commands on a pipe, killed at the end.
class Target {
 public:
  explicit Target(const std::string& program, bool under_run = false) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      if (under_run)
        execl(VMSEAL_CLI_PATH, "vmseal", "run", "--", program.c_str(), "serve", nullptr);
      else
        execl(program.c_str(), program.c_str(), "serve", nullptr);
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = out[0];
    const std::string ready = line();
    ok_ = ready == "ready " + std::to_string(pid_);
  }
  ~Target() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (from_ >= 0) close(from_);
    if (to_ >= 0) close(to_);
  }
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  bool ok() const { return ok_; }
  pid_t pid() const { return pid_; }
  std::string spid() const { return std::to_string(pid_); }

  void send(const std::string& c) {
    const std::string l = c + "\n";
    if (write(to_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) ok_ = false;
  }
  // A line of output; "" after 30 s or at EOF.
  std::string line() {
    for (std::size_t nl; (nl = buffered_.find('\n')) == std::string::npos;) {
      pollfd p{from_, POLLIN, 0};
      char buf[4096];
      const ssize_t n = poll(&p, 1, 30000) > 0 ? read(from_, buf, sizeof buf) : 0;
      if (n <= 0) return "";
      buffered_.append(buf, static_cast<std::size_t>(n));
    }
    const std::size_t nl = buffered_.find('\n');
    std::string s = buffered_.substr(0, nl);
    buffered_.erase(0, nl + 1);
    return s;
  }
  // The output of a command sent before, up to its "done".
  std::map<std::string, std::string> answer() {
    std::map<std::string, std::string> m;
    for (std::string l = line(); !l.empty() && !l.starts_with("done "); l = line()) {
      const std::size_t sp = l.find(' ');
      m[l.substr(0, sp)] = sp == std::string::npos ? "" : l.substr(sp + 1);
    }
    return m;
  }
  std::map<std::string, std::string> ask(const std::string& c) {
    send(c);
    return answer();
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1;
  int from_ = -1;
  std::string buffered_;
  bool ok_ = false;
};

struct Sealed {
  int code = -1;
  nlohmann::json report;
  std::string err;
};

Sealed seal(const Target& t, const std::string& options = "") {
  const CliRun r = run_cli("seal --json " + options + " " + t.spid());
  Sealed s{r.code, nlohmann::json::parse(r.out, nullptr, false), r.err};
  if (s.report.is_discarded()) s.report = nlohmann::json::object();
  return s;
}

// /proc/PID/stat's state and /proc/PID/status's TracerPid, as "S 0".
std::string run_state(pid_t pid) {
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
  const std::size_t close = text.rfind(')');
  const char state = close != std::string::npos && close + 2 < text.size() ? text[close + 2] : '?';
  return std::string(1, state) + " " + std::to_string(vmseal::sealing::tracer_of(pid));
}

// What the program says about itself after a seal: it works, nothing of
// its own changed, and nothing holds it.
void expect_unharmed(Target& t) {
  EXPECT_EQ(t.ask("ping").count("pong"), 1U);
  auto s = t.ask("state");
  EXPECT_EQ(s["state"], "ok");
  EXPECT_EQ(s["read_eintr"], "0");
  const std::string st = run_state(t.pid());
  EXPECT_NE(st[0], 't');
  EXPECT_NE(st[0], 'T');
  EXPECT_EQ(st.substr(2), "0") << "still traced";
}

struct Program {
  const char* name;
  std::string path;
  bool dynamic;
};
void PrintTo(const Program& p, std::ostream* os) { *os << p.name; }

std::vector<Program> programs() {
  std::vector<Program> v = {{"dynamic", VMSEAL_RUN_HELPER, true},
                            {"glibc_static", VMSEAL_RUN_HELPER_STATIC, false},
                            {"glibc_static_pie", VMSEAL_RUN_HELPER_STATIC_PIE, false}};
  if (*VMSEAL_RUN_HELPER_MUSL_STATIC != '\0') {
    v.push_back({"musl_static", VMSEAL_RUN_HELPER_MUSL_STATIC, false});
    v.push_back({"musl_static_pie", VMSEAL_RUN_HELPER_MUSL_STATIC_PIE, false});
  }
  return v;
}

class SealPid : public ::testing::TestWithParam<Program> {};

TEST_P(SealPid, SealsTheImageAndTheProgramRunsOn) {
  NEED_SEAL_PID();
  Target t(GetParam().path);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.ask("threads 3")["threads"], "started 3");
  ASSERT_EQ(t.ask("status")["program_text"], "unsealed");
  const Sealed s = seal(t);
  ASSERT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.report["status"], "sealed");
  EXPECT_EQ(s.report["failures"], 0);
  EXPECT_GE(s.report["threads"].get<int>(), 4);
  EXPECT_GT(s.report["pause_us"].get<long>(), 0);
  auto m = t.ask("status");
  EXPECT_EQ(m["program_text"], "sealed");
  EXPECT_EQ(m["program_rodata"], "sealed");
  EXPECT_EQ(m["program_relro"], "sealed");
  EXPECT_EQ(m["program_data"], "unsealed");
  EXPECT_EQ(m["stack"], "unsealed");
  if (GetParam().dynamic) {
    EXPECT_EQ(m["libc_text"], "sealed");
    EXPECT_EQ(m["libc_relro"], "sealed");
    EXPECT_EQ(m["ldso_text"], "sealed");
  }
  expect_unharmed(t);
  auto threads = t.ask("threads-status");
  EXPECT_EQ(threads["threads"].rfind("ok", 0), 0U) << threads["threads"];
  EXPECT_NE(threads["threads"].find("eintr 0"), std::string::npos) << threads["threads"];
  for (const char* a : {"text-mprotect", "rodata-munmap", "relro-mprotect", "relro-dontneed"})
    EXPECT_EQ(t.ask(std::string("attack ") + a)[a], "EPERM") << a;
  EXPECT_EQ(t.ask("attack relro-dontneed")["relro_bytes"], "unchanged");
  for (const auto& o : s.report["objects"])
    for (const auto& r : o["ranges"])
      if (r["kind"] == "relro" && r["sealed"] == true) {
        EXPECT_EQ(r["backing"], "anon") << o["path"];
      }
}

TEST_P(SealPid, ASecondSealLeavesItAlone) {
  NEED_SEAL_PID();
  Target t(GetParam().path);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(seal(t).code, 0);
  const Sealed again = seal(t);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.report["status"], "already-sealed");
  EXPECT_EQ(again.report["threads"], 0) << "stopped although there was nothing to do";
  EXPECT_EQ(again.report["sealed_bytes"], 0);
  EXPECT_EQ(again.report["process_sealed_bytes_before"],
            again.report["process_sealed_bytes_after"]);
  expect_unharmed(t);
}

TEST_P(SealPid, ARunningThreadKeepsItsRegisters) {
  NEED_SEAL_PID();
  Target t(GetParam().path);
  ASSERT_TRUE(t.ok());
  t.send("spin 1500");  // the main thread, in user code, checking its registers
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Sealed s = seal(t, "--profile strict");
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.report["injection_thread"], t.pid()) << "the main thread should carry it";
  const std::string spin = t.answer()["spin"];
  EXPECT_EQ(spin.rfind("ok", 0), 0U) << spin;
  EXPECT_EQ(t.ask("status")["stack"], "sealed");
  expect_unharmed(t);
}

INSTANTIATE_TEST_SUITE_P(Programs, SealPid, ::testing::ValuesIn(programs()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// A sleep, an epoll_wait, a futex wait and a read the seal interrupts go on as if nothing
// happened: no EINTR, no sleep cut short (the restart the kernel would make,
// safe_injection.hpp's resume_point()).
TEST(SealPidBlocked, CallsRestartWithoutEintr) {
  NEED_SEAL_PID();
  for (const std::string what : {"sleep 1500", "epoll 1500", "futex 1500"}) {
    Target t(VMSEAL_RUN_HELPER);
    ASSERT_TRUE(t.ok());
    t.send("threads 2");
    t.answer();
    t.send(what);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const Sealed s = seal(t);
    EXPECT_EQ(s.code, 0) << s.err;
    auto m = t.answer();
    if (what.starts_with("sleep")) {
      EXPECT_NE(m["slept"].find("eintr 0"), std::string::npos) << m["slept"];
      EXPECT_GE(std::stol(m["slept"]), 1500) << "cut short";
    } else if (what.starts_with("epoll")) {
      EXPECT_EQ(m["epoll"], "timeout");
    } else {
      EXPECT_EQ(m["futex"].rfind("timeout ", 0), 0U) << m["futex"];
      EXPECT_GE(std::stol(m["futex"].substr(8)), 1500) << "cut short";
    }
    EXPECT_NE(t.ask("threads-status")["threads"].find("eintr 0"), std::string::npos);
    expect_unharmed(t);
  }
}

// Alone, in a call that swaps its signal mask (ppoll with SIGUSR1 blocked
// for the call): the one thread to inject into. After the seal and the call,
// its own mask is back (SIGUSR1 unblocked, SIGUSR2 blocked).
TEST(SealPidBlocked, AThreadInAMaskSwappingCall) {
  NEED_SEAL_PID();
  Target t(VMSEAL_RUN_HELPER);
  ASSERT_TRUE(t.ok());
  t.send("ppoll 1500");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Sealed s = seal(t);
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(s.report["injection_thread"], t.pid());
  EXPECT_EQ(t.answer()["ppoll"], "timeout");
  EXPECT_EQ(t.ask("status")["program_text"], "sealed");
  expect_unharmed(t);  // SIGUSR1 unblocked again, SIGUSR2 still blocked
}

// A stopped process (SIGSTOP) is sealed and stays stopped; SIGCONT goes on.
TEST(SealPidBlocked, AStoppedProcessStaysStopped) {
  NEED_SEAL_PID();
  Target t(VMSEAL_RUN_HELPER);
  ASSERT_TRUE(t.ok());
  t.ask("threads 2");
  kill(t.pid(), SIGSTOP);
  while (run_state(t.pid())[0] != 'T') std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const Sealed s = seal(t);
  EXPECT_EQ(s.code, 0) << s.err;
  EXPECT_EQ(run_state(t.pid()), "T 0");
  kill(t.pid(), SIGCONT);
  EXPECT_EQ(t.ask("status")["program_text"], "sealed");
  expect_unharmed(t);
}

TEST(SealPidBlocked, SignalsAreStillDelivered) {
  NEED_SEAL_PID();
  Target t(VMSEAL_RUN_HELPER);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(seal(t).code, 0);
  kill(t.pid(), SIGUSR1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(t.ask("state")["usr1"], "1");
}

TEST(SealPidOptions, ProfilesDryRunAndOptOut) {
  NEED_SEAL_PID();
  {
    Target t(VMSEAL_RUN_HELPER);
    const CliRun r = run_cli("seal --dry-run " + t.spid());
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("text    seal"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("data    leave: "), std::string::npos) << r.out;
    EXPECT_EQ(t.ask("status")["program_text"], "unsealed");
  }
  {
    Target t(VMSEAL_RUN_HELPER);
    EXPECT_EQ(seal(t, "--profile minimal").code, 0);
    auto m = t.ask("status");
    EXPECT_EQ(m["program_text"], "sealed");
    EXPECT_EQ(m["program_relro"], "unsealed");
  }
  {
    Target t(VMSEAL_RUN_HELPER);
    const Sealed s = seal(t, "--opt-out 'libc.so*'");
    EXPECT_EQ(s.code, 0) << s.err;
    auto m = t.ask("status");
    EXPECT_EQ(m["program_text"], "sealed");
    EXPECT_EQ(m["libc_text"], "unsealed");
    bool opted = false;
    for (const auto& o : s.report["objects"]) opted = opted || o["verdict"] == "opted-out";
    EXPECT_TRUE(opted);
  }
}

// What `vmseal inspect` shows after `seal PID` is what it shows for the same
// program sealed by `vmseal run` (the preload's own library aside), and more
// than before.
TEST(SealPidOptions, InspectShowsWhatRunWouldHaveGiven) {
  NEED_SEAL_PID();
  Target sealed(VMSEAL_RUN_HELPER);
  Target run(VMSEAL_RUN_HELPER, true);
  ASSERT_TRUE(sealed.ok() && run.ok());
  auto coverage = [](const Target& t) {
    const CliRun r = run_cli("inspect --json " + t.spid());
    const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    std::map<std::string, std::string> by;
    if (j.is_discarded()) return by;
    for (const auto& o : j["objects"]) {
      const std::string path = o["path"];
      if (path.find("libvmseal_preload") != std::string::npos) continue;
      for (const auto& [kind, c] : o["by_segment"].items())
        by[path.substr(path.rfind('/') + 1) + " " + kind] =
            std::to_string(c["bytes_sealed"].get<long>()) + "/" +
            std::to_string(c["bytes"].get<long>());
    }
    return by;
  };
  const auto before = coverage(sealed);
  ASSERT_EQ(seal(sealed).code, 0);
  const auto after = coverage(sealed);
  EXPECT_EQ(after, coverage(run));
  EXPECT_NE(before, after);
}

// A program whose constructor left its RELRO writable: that range is left
// unsealed (sealing would freeze it writable) and the seal is partial, exit
// 1, as `vmseal run` counts it a failure. Its RELRO shares a file page with
// its rodata: one object all the same.
TEST(SealPidOptions, AWritableRelroIsLeftAndCounted) {
  NEED_SEAL_PID();
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    execl(VMSEAL_RUN_WRITABLE_RELRO, VMSEAL_RUN_WRITABLE_RELRO, "wait", nullptr);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  char buf[64] = {};
  ASSERT_GT(read(out[0], buf, sizeof buf - 1), 0);  // "writable_relro ran": past its constructor
  const CliRun r = run_cli("seal --json " + std::to_string(pid));
  close(in[1]);
  waitpid(pid, nullptr, 0);
  close(out[0]);
  EXPECT_EQ(r.code, 1) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["status"], "partial");
  int programs = 0;
  for (const auto& o : j["objects"]) {
    if (o["path"] != VMSEAL_RUN_WRITABLE_RELRO) continue;
    ++programs;
    EXPECT_EQ(o["verdict"], "partial");
    for (const auto& range : o["ranges"])
      if (range["kind"] == "relro") {
        EXPECT_EQ(range["sealed"], false);
      } else if (range["kind"] == "text") {
        EXPECT_EQ(range["sealed"], true);
      }
  }
  EXPECT_EQ(programs, 1) << r.out;
}

TEST(SealPidRefuses, EachWithItsExitStatus) {
  NEED_SEAL_PID();
  // Usage: not a PID.
  EXPECT_EQ(run_cli("seal abc").code, 2);
  EXPECT_EQ(run_cli("seal 0").code, 2);
  // No such process.
  EXPECT_EQ(run_cli("seal 999999999").code, 6);
  // vmseal itself: the shell execs vmseal, which keeps its PID.
  CliRun r = run_cli("--version >/dev/null; exec " + std::string(VMSEAL_CLI_PATH) + " seal $$");
  EXPECT_EQ(r.code, 14) << r.err;
  // A zombie.
  const pid_t z = fork();
  if (z == 0) _exit(0);
  while (run_state(z)[0] != 'Z') std::this_thread::sleep_for(std::chrono::milliseconds(5));
  r = run_cli("seal " + std::to_string(z));
  EXPECT_EQ(r.code, 13) << r.err;
  waitpid(z, nullptr, 0);
}

TEST(SealPidRefuses, KernelThread) {
  NEED_SEAL_PID();
  // kthreadd is PID 2 outside a PID namespace; any process with PF_KTHREAD will do.
  for (int pid = 2; pid < 200; ++pid) {
    std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
    std::istringstream f(text.substr(text.rfind(')') + 1));
    std::string field;
    std::vector<std::string> v;
    while (f >> field && v.size() < 7) v.push_back(field);
    if (v.size() < 7 || (std::stoul(v[6]) & 0x00200000UL) == 0) continue;
    const CliRun r = run_cli("seal " + std::to_string(pid));
    EXPECT_EQ(r.code, 12) << r.err;
    EXPECT_NE(r.err.find("kernel thread"), std::string::npos) << r.err;
    return;
  }
  GTEST_SKIP() << "no kernel thread visible (a PID namespace)";
}

TEST(SealPidRefuses, AlreadyTraced) {
  NEED_SEAL_PID();
  Target t(VMSEAL_RUN_HELPER);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(ptrace(PTRACE_SEIZE, t.pid(), nullptr, nullptr), 0);
  const CliRun r = run_cli("seal " + t.spid());
  EXPECT_EQ(r.code, 11) << r.err;
  EXPECT_NE(r.err.find("already traced by process " + std::to_string(getpid())), std::string::npos)
      << r.err;
  ASSERT_EQ(ptrace(PTRACE_INTERRUPT, t.pid(), nullptr, nullptr), 0);
  waitpid(t.pid(), nullptr, __WALL);
  ptrace(PTRACE_DETACH, t.pid(), nullptr, nullptr);
  EXPECT_EQ(t.ask("status")["program_text"], "unsealed");
  expect_unharmed(t);
}

TEST(SealPidRefuses, AnotherUsersProcess) {
  NEED_SEAL_PID();
  if (geteuid() != 0) GTEST_SKIP() << "needs root, to run vmseal as another user";
  if (std::system("command -v setpriv >/dev/null") != 0) GTEST_SKIP() << "needs setpriv";
  Target t(VMSEAL_RUN_HELPER);
  ASSERT_TRUE(t.ok());
  const CliRun r = run_cli(
      "--version >/dev/null; setpriv --reuid=65534 --regid=65534 "
      "--clear-groups " +
      std::string(VMSEAL_CLI_PATH) + " seal " + t.spid());
  EXPECT_EQ(r.code, 7) << r.err;
  EXPECT_EQ(t.ask("status")["program_text"], "unsealed");
  expect_unharmed(t);
}

// Unsafe states: a vfork parent (its child borrows the memory), syscall user
// dispatch (an injected call would raise SIGSYS), a seccomp filter that
// would kill or refuse an injected call. Refused before anything is changed;
// the program is as it was.
TEST(SealPidRefuses, UnsafeStates) {
  NEED_SEAL_PID();
  {
    Target t(VMSEAL_RUN_HELPER);
    t.send("vfork 1500");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const CliRun r = run_cli("seal " + t.spid());
    EXPECT_EQ(r.code, 15) << r.err;
    EXPECT_NE(r.err.find("vfork parent"), std::string::npos) << r.err;
    EXPECT_EQ(t.answer().count("vforked"), 1U);
    expect_unharmed(t);
  }
  {
    Target t(VMSEAL_RUN_HELPER);
    if (t.ask("sud")["sud"] == "on") {
      const CliRun r = run_cli("seal " + t.spid());
      EXPECT_EQ(r.code, 15) << r.err;
      EXPECT_NE(r.err.find("syscall user dispatch"), std::string::npos) << r.err;
      EXPECT_EQ(t.ask("status")["program_text"], "unsealed");
      expect_unharmed(t);
    }
  }
  for (const std::string action : {"kill", "errno"}) {
    Target t(VMSEAL_RUN_HELPER);
    ASSERT_EQ(t.ask("seccomp 462 " + action)["seccomp"], "on");
    const CliRun r = run_cli("seal " + t.spid());
    EXPECT_EQ(r.code, 15) << r.err;
    EXPECT_NE(r.err.find(action == "kill" ? "kill-process" : "errno 1"), std::string::npos)
        << r.err;
    EXPECT_EQ(t.ask("status")["program_text"], "unsealed");
    expect_unharmed(t);
  }
}

// Tracee::seize_process gives up on a thread that does not stop (a vfork
// parent waits killable-only, which PTRACE_INTERRUPT does not end): the
// others are released, and that one when its tracer exits. Run in a child,
// which is the tracer and exits.
TEST(SealPidRefuses, AThreadThatNeverStopsIsReleasedByTheTracersExit) {
  NEED_SEAL_PID();
  Target t(VMSEAL_RUN_HELPER);
  ASSERT_TRUE(t.ok());
  t.send("vfork 1500");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const pid_t tracer = fork();
  if (tracer == 0) {
    vmseal::sealing::Tracee tracee;
    std::string why;
    pid_t slow = 0;
    const int err = tracee.seize_process(t.pid(), 0, &why, 200, &slow);
    _exit(err == ETIMEDOUT && slow == t.pid() ? 0 : 1);
  }
  int status = 0;
  waitpid(tracer, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(t.answer().count("vforked"), 1U);
  expect_unharmed(t);
}

}  // namespace
