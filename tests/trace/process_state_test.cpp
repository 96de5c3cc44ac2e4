// Process state that decides memory calls, replayed from real traces
// (tests/data/process_state/README.md): every verifiable call must match the
// kernel, and a log that lies about a refusal must fail.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "vmseal/trace/sim.hpp"

namespace vmseal::trace {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Replayed {
  SimSummary summary;
  std::size_t prctl_matched = 0;
  std::size_t refused_matched = 0;  // EACCES results the engine gave too
  std::size_t nomem_matched = 0;    // ENOMEM results the engine gave too
  std::size_t limit_unverifiable = 0;
  std::string first_mismatch;
};

Replayed replay(const std::string& text, bool privileged) {
  SimOptions o;
  o.check = true;
  o.config.set_privileged(privileged);
  Simulator sim(o);
  Replayed out;
  for (const ParseItem& item : parse_strace_text(text)) {
    const auto* ev = std::get_if<TraceEvent>(&item);
    if (ev == nullptr) continue;
    std::string error;
    const std::optional<SimRecord> rec = sim.apply(*ev, &error);
    EXPECT_EQ(error, "") << "line " << ev->line;
    if (!rec) continue;
    if (rec->verdict == Verdict::Mismatch && out.first_mismatch.empty())
      out.first_mismatch = rec->render();
    if (rec->verdict == Verdict::Unverifiable && rec->note.find("RLIMIT_AS") != std::string::npos)
      ++out.limit_unverifiable;
    if (rec->verdict != Verdict::Match) continue;
    if (rec->call.starts_with("prctl(")) ++out.prctl_matched;
    if (rec->engine == SysResult(Errno::ACCES)) ++out.refused_matched;
    if (rec->engine == SysResult(Errno::NOMEM)) ++out.nomem_matched;
  }
  out.summary = sim.summary();
  return out;
}

// tests/kernel/mdwe.c under strace, as root and as nobody: the prctl calls
// (by number, as strace 6.1 prints them), the mmap and mprotect calls MDWE
// refuses, in forked children and after execve.
TEST(ProcessState, MdweTracesReplayWithoutMismatch) {
  for (const char* who : {"root", "user"}) {
    const std::string text =
        read_file(std::string(VMSEAL_TEST_DATA_DIR "/process_state/mdwe.") + who + ".strace");
    ASSERT_FALSE(text.empty()) << who;
    const Replayed r = replay(text, std::string(who) == "root");
    EXPECT_EQ(r.summary.mismatched, 0u) << who << ": " << r.first_mismatch;
    EXPECT_GE(r.prctl_matched, 20u) << who;
    EXPECT_GE(r.refused_matched, 12u) << who;
    EXPECT_LE(r.summary.unverifiable, 6u) << who;  // ld.so's RELRO mprotects, made before exec
  }
}

// tests/kernel/limits.c as root (replayed as root) and limits_user.c as
// nobody: RLIMIT_MEMLOCK lowered by the process and by its parent
// (prlimit64 on the child's pid), capabilities dropped with capset.
TEST(ProcessState, LimitsAndCapabilityTracesReplayWithoutMismatch) {
  for (const char* who : {"root", "user"}) {
    const std::string text =
        read_file(std::string(VMSEAL_TEST_DATA_DIR "/process_state/limits.") + who + ".strace");
    ASSERT_FALSE(text.empty()) << who;
    const Replayed r = replay(text, std::string(who) == "root");
    EXPECT_EQ(r.summary.mismatched, 0u) << who << ": " << r.first_mismatch;
    EXPECT_GE(r.summary.matched, std::string(who) == "root" ? 80u : 20u) << who;
    EXPECT_LE(r.summary.unverifiable, 5u) << who;
  }
}

// address_limits.c as root and as nobody: RLIMIT_AS and RLIMIT_DATA a little
// above what the process has mapped. The trace does not show the pages
// mapped before it began; the first call each limit lets through bounds them
// (unverifiable), the refusals and the calls within that bound are verified.
TEST(ProcessState, AddressLimitTracesReplayWithoutMismatch) {
  for (const char* who : {"root", "user"}) {
    const std::string text = read_file(
        std::string(VMSEAL_TEST_DATA_DIR "/process_state/address_limits.") + who + ".strace");
    ASSERT_FALSE(text.empty()) << who;
    const Replayed r = replay(text, std::string(who) == "root");
    EXPECT_EQ(r.summary.mismatched, 0u) << who << ": " << r.first_mismatch;
    EXPECT_EQ(r.nomem_matched, 4u) << who;       // 1 GiB twice (parent, child), 64 MiB, mprotect
    EXPECT_EQ(r.limit_unverifiable, 2u) << who;  // the first 32 MiB and 8 MiB mmaps
    EXPECT_GE(r.summary.placed, 7u) << who;      // the mmaps and mremap within the bounds
  }
}

TEST(ProcessState, AWrongAddressLimitResultIsAMismatch) {
  std::string text = read_file(VMSEAL_TEST_DATA_DIR "/process_state/address_limits.user.strace");
  // The mprotect that would make 64 MiB data claimed to succeed.
  const std::string refused = "PROT_READ|PROT_WRITE) = -1 ENOMEM (Cannot allocate memory)";
  const std::size_t pos = text.find(refused, text.find("mprotect(0x7f"));
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, refused.size(), "PROT_READ|PROT_WRITE) = 0");
  EXPECT_EQ(replay(text, false).summary.mismatched, 1u);
}

TEST(ProcessState, AWrongLimitResultIsAMismatch) {
  std::string text = read_file(VMSEAL_TEST_DATA_DIR "/process_state/limits.user.strace");
  // The mlock over the lowered limit claimed to succeed.
  const std::string refused = "= -1 ENOMEM (Cannot allocate memory)";
  const std::size_t pos = text.find(refused, text.find("mlock("));
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, refused.size(), "= 0");
  EXPECT_EQ(replay(text, false).summary.mismatched, 1u);
}

TEST(ProcessState, AWrongMdweResultIsAMismatch) {
  std::string text = read_file(VMSEAL_TEST_DATA_DIR "/process_state/mdwe.root.strace");
  // The first refused mmap (m2's read-write-exec) claimed to succeed.
  const std::size_t call = text.find("PROT_READ|PROT_WRITE|PROT_EXEC, MAP_PRIVATE|MAP_FIXED");
  ASSERT_NE(call, std::string::npos);
  const std::size_t eol = text.find('\n', call);
  const std::size_t res = text.rfind(" = -1 EACCES", eol);
  ASSERT_TRUE(res != std::string::npos && res > call);
  const std::size_t addr = text.find("mmap(", text.rfind('\n', call)) + 5;
  text.replace(res, eol - res, " = " + text.substr(addr, text.find(',', addr) - addr));
  EXPECT_EQ(replay(text, true).summary.mismatched, 1u);
}

}  // namespace
}  // namespace vmseal::trace
