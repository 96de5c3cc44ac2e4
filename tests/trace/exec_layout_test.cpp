// vmseal sim --exec-files (include/vmseal/trace/exec_layout.hpp): the layout
// execve made, inferred from the files and placed where the trace shows it.
//
// - RealPrograms: the six traces of tests/data/exec_layout/ (recorded with
//   scripts/record-exec-traces.sh) replayed with the small form of the files
//   they ran: at most 1 % unverifiable and no mismatch, where the trace alone
//   leaves more; a file that differs, or is missing, leaves its calls
//   unverifiable, never a mismatch; a wrong recorded result is still caught.
// - LiveKernel: cat prints its own /proc/self/maps under strace; the layout
//   the simulator inferred must be exactly what the kernel shows.
#include "vmseal/trace/exec_layout.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "vmseal/engine/proc_maps.hpp"
#include "vmseal/sealing/exec_files.hpp"
#include "vmseal/trace/sim.hpp"

namespace vmseal::trace {
namespace {

const std::string kData = VMSEAL_TEST_DATA_DIR "/exec_layout";

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// A scratch directory with the files' small form and the traces unpacked.
class ExecData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/vmseal-exec-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(
        sh("mkdir " + dir_ + "/root && tar -xJf " + kData + "/root.tar.xz -C " + dir_ + "/root"),
        0);
    for (const char* t : {"gcc", "python", "node", "git", "sqlite", "chromium"})
      ASSERT_EQ(sh("xz -dc " + kData + "/" + t + ".strace.xz > " + dir_ + "/" + t + ".strace"), 0);
  }
  static void TearDownTestSuite() { sh("rm -rf " + dir_); }
  static std::string dir_;
};
std::string ExecData::dir_;

struct Replay {
  SimSummary summary;
  std::vector<SimRecord> records;
  std::vector<std::string> notes;
};

Replay replay(const std::string& text, ExecFileSource* files) {
  SimOptions opts;
  opts.check = true;
  opts.config.set_privileged(true);  // recorded as root
  opts.exec_files = files;
  opts.infer = true;  // as vmseal sim --check: Chromium's threads print out of order
  Simulator sim(opts);
  Replay run;
  std::istringstream in(text);
  const SimStream s = simulate(
      in, sim, true, [&](const SimRecord& r) { run.records.push_back(r); },
      [&](const std::string& m) { ADD_FAILURE() << m; });
  EXPECT_EQ(s.bad_lines, 0U);
  run.summary = sim.summary();
  run.notes = sim.exec_notes();
  return run;
}

std::unique_ptr<sealing::RootExecFiles> root_files(const std::string& root) {
  std::string error;
  auto f = sealing::RootExecFiles::open(root, &error);
  EXPECT_NE(f, nullptr) << error;
  return f;
}

TEST_F(ExecData, RealProgramsAreVerifiedWithTheFiles) {
  for (const char* t : {"gcc", "python", "node", "git", "sqlite", "chromium"}) {
    SCOPED_TRACE(t);
    const std::string text = read_file(dir_ + "/" + t + ".strace");
    ASSERT_FALSE(text.empty());
    auto files = root_files(dir_ + "/root");
    const Replay with = replay(text, files.get());
    const Replay without = replay(text, nullptr);
    for (const SimRecord& r : with.records)
      EXPECT_NE(r.verdict, Verdict::Mismatch) << "line " << r.line << ": " << r.render();
    EXPECT_EQ(with.summary.mismatched, 0U);
    EXPECT_EQ(without.summary.mismatched, 0U);
    // The target: at most 1 % unverifiable, and every exec placed.
    EXPECT_LE(with.summary.unverifiable * 100, with.summary.calls)
        << with.summary.unverifiable << " of " << with.summary.calls;
    EXPECT_GT(with.summary.execs, 0U);
    EXPECT_EQ(with.summary.exec_layouts_placed, with.summary.execs);
    EXPECT_TRUE(with.notes.empty()) << with.notes.front();
    // The trace alone leaves the exec layout's calls unverifiable.
    EXPECT_GT(without.summary.unverifiable, with.summary.unverifiable);
    EXPECT_GT(without.summary.unverifiable * 100, without.summary.calls);
    // The calls the layout decides are verified: ld.so's RELRO mprotects and brk.
    std::size_t brk_checked = 0;
    for (const SimRecord& r : with.records)
      if (r.call.starts_with("brk(0x") && r.verdict == Verdict::Match) ++brk_checked;
    EXPECT_GT(brk_checked, 0U);
  }
}

// A wrong recorded result on the inferred layout is a mismatch, not hidden.
TEST_F(ExecData, AWrongResultOnTheLayoutIsCaught) {
  std::string text = read_file(dir_ + "/sqlite.strace");
  // The program's first brk growth: the kernel said it succeeded.
  const std::size_t at = text.find("brk(0x");
  ASSERT_NE(at, std::string::npos);
  const std::size_t eq = text.find(" = 0x", at);
  const std::size_t eol = text.find('\n', eq);
  text.replace(eq, eol - eq, " = 0x1000");
  auto files = root_files(dir_ + "/root");
  const Replay run = replay(text, files.get());
  EXPECT_GE(run.summary.mismatched, 1U);
}

// A file that differs from the traced one: another RELRO never matches the
// trace's mprotect, so the image is never placed and its calls stay unverifiable.
TEST_F(ExecData, ADifferentFileLeavesItsCallsUnverifiable) {
  const std::string other = dir_ + "/other";
  ASSERT_EQ(sh("rm -rf " + other + " && cp -a " + dir_ + "/root " + other), 0);
  // sqlite3's PT_GNU_RELRO p_memsz (the 13th program header), one page larger.
  const std::string bin = other + "/usr/bin/sqlite3";
  std::FILE* f = std::fopen(bin.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  bool patched = false;
  for (int i = 0; i < 20 && !patched; ++i) {
    unsigned char ph[56];
    ASSERT_EQ(std::fseek(f, 64 + i * 56, SEEK_SET), 0);
    if (std::fread(ph, 1, sizeof ph, f) != sizeof ph) break;
    std::uint32_t type = 0;
    std::memcpy(&type, ph, 4);
    if (type != 0x6474e552) continue;  // PT_GNU_RELRO
    std::uint64_t memsz = 0;
    std::memcpy(&memsz, ph + 40, 8);
    memsz += 4096;
    std::memcpy(ph + 40, &memsz, 8);
    ASSERT_EQ(std::fseek(f, 64 + i * 56, SEEK_SET), 0);
    ASSERT_EQ(std::fwrite(ph, 1, sizeof ph, f), sizeof ph);
    patched = true;
  }
  std::fclose(f);
  ASSERT_TRUE(patched);
  auto files = root_files(other);
  const Replay run = replay(read_file(dir_ + "/sqlite.strace"), files.get());
  EXPECT_EQ(run.summary.mismatched, 0U);
  EXPECT_EQ(run.summary.exec_layouts_placed, 0U);
  bool said = false;
  for (const SimRecord& r : run.records)
    said = said || (r.verdict == Verdict::Unverifiable &&
                    r.note.find("no call has shown where the kernel mapped /usr/bin/sqlite3") !=
                        std::string::npos);
  EXPECT_TRUE(said);
}

TEST_F(ExecData, AMissingFileIsSaidAndItsCallsStayUnverifiable) {
  const std::string other = dir_ + "/nogit";
  ASSERT_EQ(sh("rm -rf " + other + " && cp -a " + dir_ + "/root " + other + " && rm " + other +
               "/usr/bin/git"),
            0);
  auto files = root_files(other);
  const Replay run = replay(read_file(dir_ + "/git.strace"), files.get());
  EXPECT_EQ(run.summary.mismatched, 0U);
  EXPECT_EQ(run.summary.exec_layouts_placed, 0U);
  ASSERT_EQ(run.notes.size(), 1U);
  EXPECT_NE(run.notes[0].find("cannot read /usr/bin/git: No such file or directory"),
            std::string::npos)
      << run.notes[0];
  EXPECT_GT(run.summary.unverifiable, 0U);
}

// Only regular files, and only inside the root: a symlink out of it, a FIFO
// or a device a hostile trace names is not opened.
TEST_F(ExecData, FilesAreReadOnlyInsideTheRootAndOnlyRegular) {
  const std::string r = dir_ + "/hostile";
  ASSERT_EQ(sh("rm -rf " + r + " && mkdir -p " + r + "/bin && mkfifo " + r + "/bin/fifo && ln -s " +
               "/dev/zero " + r + "/bin/zero && ln -s ../../../../../etc/passwd " + r +
               "/bin/up && ln -s /proc/self/exe " + r + "/bin/self"),
            0);
  auto files = root_files(r);
  std::string why;
  EXPECT_EQ(files->find(r + "/bin/fifo", &why), nullptr);  // the root's own path: not under it
  EXPECT_EQ(files->find("/bin/fifo", &why), nullptr);
  EXPECT_EQ(why, "not a regular file");
  EXPECT_EQ(files->find("/bin/zero", &why), nullptr);  // /dev/zero inside the root: absent
  EXPECT_EQ(files->find("/bin/up", &why), nullptr);    // .. stops at the root
  EXPECT_EQ(files->find("/bin/self", &why), nullptr);
  EXPECT_EQ(files->find("relative", &why), nullptr);
  EXPECT_EQ(why, "not an absolute path");
}

TEST(ExecLayoutRanges, RemoveAndDisjoint) {
  RangeSet s;
  s.add(0x1000, 0x9000);
  s.remove(0x3000, 0x4000);
  EXPECT_TRUE(s.contains(0x1000, 0x3000));
  EXPECT_FALSE(s.contains(0x2000, 0x5000));
  EXPECT_TRUE(s.contains(0x4000, 0x9000));
  EXPECT_TRUE(s.disjoint(0x3000, 0x4000));
  EXPECT_FALSE(s.disjoint(0x3000, 0x4001));
  EXPECT_EQ(s.covered_until(0x1800), 0x3000U);
  EXPECT_EQ(s.covered_until(0x3800), 0x3800U);
  s.remove(0, ~Addr{0});
  EXPECT_TRUE(s.disjoint(0, ~Addr{0}));
}

// The real kernel decides: cat prints its own maps, after ld.so has made the
// RELROs read-only; the simulator's inferred layout must be the same lines.
TEST(ExecLayoutLive, TheInferredLayoutIsWhatTheKernelShows) {
  if (sh("strace -V >/dev/null 2>&1") != 0) GTEST_SKIP() << "strace is not installed";
  char tmpl[] = "/tmp/vmseal-live-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  ASSERT_EQ(sh("strace -f -y -o " + dir + "/log /bin/cat /proc/self/maps > " + dir + "/maps"), 0);
  const std::string maps = read_file(dir + "/maps");
  const std::string text = read_file(dir + "/log");
  sh("rm -rf " + dir);
  auto files = root_files("/");
  SimOptions opts;
  opts.check = true;
  opts.exec_files = files.get();
  Simulator sim(opts);
  std::istringstream in(text);
  int pid = 0;
  simulate(
      in, sim, true, [&](const SimRecord& r) { pid = r.pid; }, [](const std::string&) {});
  ASSERT_EQ(sim.summary().mismatched, 0U);
  ASSERT_EQ(sim.summary().exec_layouts_placed, 1U);
  const AddressSpace* as = sim.address_space(pid);
  ASSERT_NE(as, nullptr);
  const std::string engine = render_maps(*as);
  // Every line of cat's image, ld.so's and the vDSO block, without device and inode.
  auto strip = [](const std::string& line) {
    std::istringstream l(line);
    std::string range, perms, off, dev, inode, name;
    l >> range >> perms >> off >> dev >> inode >> name;
    return range + " " + perms + " " + off + " " + name;
  };
  std::map<std::string, bool> kernel_lines;
  std::istringstream km(maps);
  for (std::string line; std::getline(km, line);)
    if (line.find("/cat") != std::string::npos || line.find("ld-linux") != std::string::npos ||
        line.find("[vvar") != std::string::npos || line.find("[vdso]") != std::string::npos)
      kernel_lines[strip(line)] = false;
  ASSERT_GE(kernel_lines.size(), 10U) << maps;
  std::istringstream em(engine);
  for (std::string line; std::getline(em, line);) {
    const auto it = kernel_lines.find(strip(line));
    if (it != kernel_lines.end()) it->second = true;
  }
  for (const auto& [line, seen] : kernel_lines)
    EXPECT_TRUE(seen) << "the kernel shows " << line << "; the engine:\n" << engine;
}

}  // namespace
}  // namespace vmseal::trace

namespace vmseal::trace {
namespace {

std::vector<SimRecord> replay_text(const std::string& text, SimSummary* summary = nullptr) {
  SimOptions opts;
  opts.check = true;
  Simulator sim(opts);
  std::vector<SimRecord> out;
  for (const ParseItem& item : parse_strace_text(text)) {
    std::string error;
    if (const auto* ev = std::get_if<TraceEvent>(&item))
      if (auto rec = sim.apply(*ev, &error)) out.push_back(*rec);
  }
  if (summary != nullptr) *summary = sim.summary();
  return out;
}

TEST(ExecPath, WhatTheCallNamed) {
  auto path = [](const std::string& line) {
    for (const ParseItem& item : parse_strace_text(line + "\n"))
      if (const auto* ev = std::get_if<TraceEvent>(&item)) return exec_path(ev->call);
    return std::string("?");
  };
  EXPECT_EQ(path("1 execve(\"/usr/bin/gcc\", [\"gcc\"], 0x7ffc /* 3 vars */) = 0"), "/usr/bin/gcc");
  EXPECT_EQ(path("1 execve(\"./a.out\", [\"a\"], 0x7ffc /* 3 vars */) = 0"), "");
  EXPECT_EQ(path("1 execve(\"/usr/bin/very\"..., [\"a\"], 0x7ffc /* 3 vars */) = 0"), "");
  EXPECT_EQ(path("1 execveat(3</usr/bin>, \"ls\", [\"ls\"], 0x7ffc /* 3 vars */, 0) = 0"),
            "/usr/bin/ls");
  EXPECT_EQ(
      path("1 execveat(3</usr/bin/ls>, \"\", [\"ls\"], 0x7ffc /* 3 vars */, AT_EMPTY_PATH) = 0"),
      "/usr/bin/ls");
  EXPECT_EQ(path("1 execveat(AT_FDCWD, \"ls\", [\"ls\"], 0x7ffc /* 3 vars */, 0) = 0"), "");
}

TEST(ExecPath, MappingsNoMemoryCallShows) {
  auto hidden = [](const std::string& line) {
    for (const ParseItem& item : parse_strace_text(line + "\n"))
      if (const auto* ev = std::get_if<TraceEvent>(&item))
        return maps_behind_the_trace(ev->call, nullptr);
    return false;
  };
  EXPECT_TRUE(hidden("1 io_setup(128, [0x7f0000000000]) = 0"));
  EXPECT_FALSE(hidden("1 io_setup(128, 0x7ffc) = -1 EINVAL (Invalid argument)"));
  EXPECT_TRUE(hidden("1 arch_prctl(0x5001 /* ARCH_??? */, 0x1) = 0"));
  EXPECT_TRUE(hidden("1 arch_prctl(ARCH_MAP_VDSO_64, 0x7f0000000000) = 4096"));
  EXPECT_FALSE(hidden("1 arch_prctl(ARCH_SET_FS, 0x7f0000000000) = 0"));
}

// A descriptor the trace never opened is described by fcntl(F_GETFL):
// without it the mmap is unverifiable; with the wrong access mode it fails.
TEST(SimDescriptors, FGetflTellsHowAReceivedFileWasOpened) {
  const std::string map =
      "100 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 5</memfd:x>(deleted), 0) = "
      "0x7f0000000000\n";
  auto verdict = [&](const std::string& before) {
    const auto recs = replay_text(before + map);
    return recs.empty() ? Verdict::NoRecord : recs.back().verdict;
  };
  EXPECT_EQ(verdict(""), Verdict::Unverifiable);
  const Verdict rw =
      verdict("100 fcntl(5</memfd:x>(deleted), F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)\n");
  EXPECT_TRUE(rw == Verdict::Placed || rw == Verdict::Match);
  EXPECT_EQ(verdict("100 fcntl(5</memfd:x>(deleted), F_GETFL) = 0x8000 (flags "
                    "O_RDONLY|O_LARGEFILE)\n"),
            Verdict::Mismatch);
}

// strace may print a thread's munmap after another thread's mmap that got
// the range it freed. Without a sign that the two overlapped in time
// (<unfinished ...>, or -T times) nothing says the kernel ran them in the
// other order: a mismatch, in a shared mm as in a lone process
// (tests/trace/faults_test.cpp has the overlapping case, taken in order).
TEST(SimThreads, AnMmapPrintedBeforeTheMunmapThatFreedItsRange) {
  const std::string first =
      "100 mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = "
      "0x7f0000000000\n";
  const std::string thread =
      "100 clone(child_stack=0x7f0000100000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|"
      "CLONE_THREAD|CLONE_SYSVSEM) = 101\n";
  const std::string rest =
      "101 mmap(NULL, 65536, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"
      "100 munmap(0x7f0000000000, 65536) = 0\n"
      "101 mprotect(0x7f0000000000, 65536, PROT_READ|PROT_WRITE) = 0\n";
  SimSummary threads;
  replay_text(first + thread + rest, &threads);
  EXPECT_GE(threads.mismatched, 1U);
  SimSummary alone;
  std::string lone = first + rest;
  for (std::size_t at = lone.find("101 "); at != std::string::npos; at = lone.find("101 "))
    lone.replace(at, 4, "100 ");
  replay_text(lone, &alone);
  EXPECT_GE(alone.mismatched, 1U);
}

}  // namespace
}  // namespace vmseal::trace
