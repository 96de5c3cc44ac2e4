// Process state that decides memory calls, replayed from real traces
// (tests/data/process_state/README.md): every verifiable call must match the
// kernel, and a log that lies about a refusal must fail.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "support/cli_run.hpp"
#include "vmseal/trace/sim.hpp"

namespace vmseal::trace {
namespace {

struct Replayed {
  SimSummary summary;
  std::size_t prctl_matched = 0;
  std::size_t refused_matched = 0;  // EACCES results the engine gave too
  std::size_t nomem_matched = 0;    // ENOMEM results the engine gave too
  std::size_t limit_unverifiable = 0;
  // memfd_create, memfd_secret, fcntl (seals) and ftruncate calls that
  // matched, and mmap calls of a memfd or secretmem file that matched (or were
  // placed as recorded with the recorded result).
  std::size_t file_calls_matched = 0;
  std::size_t secretmem_maps_matched = 0;
  std::size_t memfd_maps_matched = 0;
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
    // A non-fixed mmap goes where the log says (Placed), its result checked.
    if (rec->verdict == Verdict::Placed || rec->verdict == Verdict::Match) {
      if (rec->call.starts_with("mmap(") && rec->call.find("</secretmem>") != std::string::npos)
        ++out.secretmem_maps_matched;
      if (rec->call.starts_with("mmap(") && rec->call.find("</memfd:") != std::string::npos)
        ++out.memfd_maps_matched;
    }
    if (rec->verdict != Verdict::Match) continue;
    if (rec->call.starts_with("prctl(")) ++out.prctl_matched;
    if (rec->engine == SysResult(Errno::ACCES)) ++out.refused_matched;
    if (rec->engine == SysResult(Errno::NOMEM)) ++out.nomem_matched;
    for (const char* name : {"memfd_create(", "memfd_secret(", "fcntl(", "ftruncate("})
      if (rec->call.starts_with(name)) ++out.file_calls_matched;
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
        test::slurp(std::string(VMSEAL_TEST_DATA_DIR "/process_state/mdwe.") + who + ".strace");
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
        test::slurp(std::string(VMSEAL_TEST_DATA_DIR "/process_state/limits.") + who + ".strace");
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
    const std::string text = test::slurp(
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
  std::string text = test::slurp(VMSEAL_TEST_DATA_DIR "/process_state/address_limits.user.strace");
  // The mprotect that would make 64 MiB data claimed to succeed.
  const std::string refused = "PROT_READ|PROT_WRITE) = -1 ENOMEM (Cannot allocate memory)";
  const std::size_t pos = text.find(refused, text.find("mprotect(0x7f"));
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, refused.size(), "PROT_READ|PROT_WRITE) = 0");
  EXPECT_EQ(replay(text, false).summary.mismatched, 1u);
}

// tests/kernel/memfd.c under strace, as root and as nobody: memfd_create,
// F_ADD_SEALS and F_GET_SEALS (across a fork), ftruncate, memfd_secret and
// what mm refuses because of them; hugetlb mappings with an empty pool. Every
// one is verified: the simulator made each file, so none was "opened before
// the trace began" (only fd 1000, which the probe never opened).
TEST(ProcessState, MemfdTracesReplayWithoutMismatch) {
  for (const char* who : {"root", "user"}) {
    const std::string text =
        test::slurp(std::string(VMSEAL_TEST_DATA_DIR "/process_state/memfd.") + who + ".strace");
    ASSERT_FALSE(text.empty()) << who;
    const Replayed r = replay(text, std::string(who) == "root");
    EXPECT_EQ(r.summary.mismatched, 0u) << who << ": " << r.first_mismatch;
    EXPECT_GE(r.file_calls_matched, 80u) << who;
    EXPECT_GE(r.secretmem_maps_matched, 10u) << who;
    EXPECT_GE(r.memfd_maps_matched, 20u) << who;
    EXPECT_LE(r.summary.unverifiable, 4u) << who;  // ld.so's RELRO, and fd 1000 twice
  }
}

// tests/data/process_state/memfd_fds.c: the fds of memfds and a memfd_secret
// file through dup, dup3, F_DUPFD_CLOEXEC, pwrite, fork and execve.
TEST(ProcessState, MemfdFdTracesReplayWithoutMismatch) {
  for (const char* who : {"root", "user"}) {
    const std::string text = test::slurp(
        std::string(VMSEAL_TEST_DATA_DIR "/process_state/memfd_fds.") + who + ".strace");
    ASSERT_FALSE(text.empty()) << who;
    const Replayed r = replay(text, std::string(who) == "root");
    EXPECT_EQ(r.summary.mismatched, 0u) << who << ": " << r.first_mismatch;
    EXPECT_GE(r.file_calls_matched, 11u) << who;
    EXPECT_GE(r.secretmem_maps_matched, 2u) << who;
    EXPECT_GE(r.memfd_maps_matched, 4u) << who;
    EXPECT_LE(r.summary.unverifiable, 4u) << who;  // ld.so before each exec
  }
}

// A log that claims the kernel let F_SEAL_WRITE through while a fork child
// still mapped the memfd writable (probe f4), and one whose memfd_secret
// mapping could be locked.
TEST(ProcessState, AWrongSealResultIsAMismatch) {
  const std::string text = test::slurp(VMSEAL_TEST_DATA_DIR "/process_state/memfd.root.strace");
  const std::string busy = "F_ADD_SEALS, F_SEAL_WRITE) = -1 EBUSY (Device or resource busy)";
  // f4's second EBUSY: only the child's copy is left by then.
  std::size_t pos = text.find(
      busy, text.find("F_ADD_SEALS, F_SEAL_WRITE) = -1 EBUSY", text.find("MADV_DONTFORK")) + 1);
  ASSERT_NE(pos, std::string::npos);
  std::string wrong = text;
  wrong.replace(pos, busy.size(), "F_ADD_SEALS, F_SEAL_WRITE) = 0");
  const Replayed r = replay(wrong, true);
  EXPECT_GE(r.summary.mismatched, 1u);
  EXPECT_NE(r.first_mismatch.find("F_ADD_SEALS"), std::string::npos) << r.first_mismatch;

  const std::string refused = "= -1 ENOMEM (Cannot allocate memory)";
  wrong = text;
  pos = wrong.find(refused, wrong.find("mlock(", wrong.find("memfd_secret(0)")));
  ASSERT_NE(pos, std::string::npos);
  wrong.replace(pos, refused.size(), "= 0");
  EXPECT_EQ(replay(wrong, true).summary.mismatched, 1u);
}

TEST(ProcessState, AWrongLimitResultIsAMismatch) {
  std::string text = test::slurp(VMSEAL_TEST_DATA_DIR "/process_state/limits.user.strace");
  // The mlock over the lowered limit claimed to succeed.
  const std::string refused = "= -1 ENOMEM (Cannot allocate memory)";
  const std::size_t pos = text.find(refused, text.find("mlock("));
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, refused.size(), "= 0");
  EXPECT_EQ(replay(text, false).summary.mismatched, 1u);
}

TEST(ProcessState, AWrongMdweResultIsAMismatch) {
  std::string text = test::slurp(VMSEAL_TEST_DATA_DIR "/process_state/mdwe.root.strace");
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

// uffd_sim.c as root and as nobody (UFFD_USER_MODE_ONLY): userfaultfd(2) and
// the UFFDIO_* ioctls, the EBUSY and EINVAL that another context's VMAs
// give, multi-VMA moves that stop at an armed VMA, the release by the last
// close (a dup, a forked child's copy), a child registering in its parent's
// mm through the inherited fd.
struct UffdReplay {
  SimSummary summary;
  std::size_t uffd_matched = 0;     // userfaultfd and ioctl lines
  std::size_t refused_matched = 0;  // EFAULT, EBUSY, EINVAL, EPERM results matched
  std::string first_mismatch;
  bool registered_at_exit = false;  // the last layout has a VMA with `um`
};

UffdReplay replay_uffd(const std::string& text, bool privileged) {
  SimOptions o;
  o.check = true;
  o.config.set_privileged(privileged);
  Simulator sim(o);
  UffdReplay out;
  int first_pid = 0;
  for (const ParseItem& item : parse_strace_text(text)) {
    const auto* ev = std::get_if<TraceEvent>(&item);
    if (ev == nullptr) continue;
    if (first_pid == 0) first_pid = ev->pid;
    std::string error;
    const std::optional<SimRecord> rec = sim.apply(*ev, &error);
    EXPECT_EQ(error, "") << "line " << ev->line;
    if (!rec) continue;
    if (rec->verdict == Verdict::Mismatch && out.first_mismatch.empty())
      out.first_mismatch = rec->render();
    if (rec->verdict != Verdict::Match) continue;
    if (rec->call.starts_with("ioctl(") || rec->call.starts_with("userfaultfd("))
      ++out.uffd_matched;
    if (rec->engine.is_error()) ++out.refused_matched;
  }
  out.summary = sim.summary();
  if (const AddressSpace* as = sim.address_space(first_pid))
    as->vmas().for_each([&](const Vma& v) {
      if ((v.flags & vm::UFFD_MISSING) != 0) out.registered_at_exit = true;
    });
  return out;
}

TEST(ProcessState, UffdTracesReplayWithoutMismatch) {
  for (const char* who : {"root", "user"}) {
    const std::string text =
        test::slurp(std::string(VMSEAL_TEST_DATA_DIR "/process_state/uffd.") + who + ".strace");
    ASSERT_FALSE(text.empty()) << who;
    const UffdReplay r = replay_uffd(text, std::string(who) == "root");
    EXPECT_EQ(r.summary.mismatched, 0u) << who << ": " << r.first_mismatch;
    EXPECT_GE(r.uffd_matched, 22u) << who;
    EXPECT_GE(r.refused_matched, 12u) << who;
    EXPECT_LE(r.summary.unverifiable, 2u) << who;  // ld.so's RELRO mprotects, made before exec
    EXPECT_TRUE(r.registered_at_exit) << who;
  }
}

// The parent's move after its child registered [4-6] through the inherited
// fd (in the parent's mm) claimed to succeed.
TEST(ProcessState, AWrongUffdResultIsAMismatch) {
  std::string text = test::slurp(VMSEAL_TEST_DATA_DIR "/process_state/uffd.root.strace");
  const std::size_t child = text.find("mode=UFFDIO_REGISTER_MODE_WP, ioctls");
  ASSERT_NE(child, std::string::npos);
  const std::string refused = " = -1 EFAULT (Bad address)";
  const std::size_t pos = text.find(refused, child);
  ASSERT_NE(pos, std::string::npos);
  const std::size_t dst = text.rfind(", 0x", pos) + 2;
  text.replace(pos, refused.size(), " = " + text.substr(dst, text.find(')', dst) - dst));
  EXPECT_EQ(replay_uffd(text, true).summary.mismatched, 1u);
  // And a registration over another context's VMA that claimed to work.
  std::string busy = test::slurp(VMSEAL_TEST_DATA_DIR "/process_state/uffd.user.strace");
  const std::string ebusy = " = -1 EBUSY (Device or resource busy)";
  const std::size_t at = busy.find(ebusy);
  ASSERT_NE(at, std::string::npos);
  busy.replace(at, ebusy.size(), " = 0");
  EXPECT_EQ(replay_uffd(busy, false).summary.mismatched, 1u);
}

}  // namespace
}  // namespace vmseal::trace
