// vmseal inspect against real processes: a child that seals known ranges
// (its own anonymous memory and its libc's text), a shell and a Python
// interpreter; the coverage figures must match what was sealed. And the
// errors a user meets: no such process, permission denied.
#include "vmseal/sealing/inspect.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "vmseal/kernel/proc.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal::sealing {
namespace {

constexpr Addr P = kPageSize;

#define REQUIRE_MSEAL()                                            \
  do {                                                             \
    const auto probe_ = kernel::probe_mseal();                     \
    if (probe_.support != kernel::MsealSupport::Available)         \
      GTEST_SKIP() << "needs mseal: " << kernel::describe(probe_); \
  } while (0)

ProcessReport inspect_live(pid_t pid) {
  kernel::ProcessInfo info;
  kernel::ProcFailure f;
  EXPECT_TRUE(kernel::read_process_info(pid, info, &f)) << f.message;
  std::vector<kernel::SmapsEntry> entries;
  EXPECT_TRUE(kernel::read_process_smaps(pid, entries, &f)) << f.message;
  ProcessReport r =
      inspect_entries(std::move(entries), live_elf_opener(pid), Profile::Default, info.exe);
  r.pid = pid;
  return r;
}

const InspectedMapping* mapping_at(const ProcessReport& r, Addr a) {
  for (const InspectedMapping& m : r.mappings)
    if (m.start <= a && a < m.end) return &m;
  return nullptr;
}

// Bytes the kernel sealed on its own (system mappings with
// CONFIG_MSEAL_SYSTEM_MAPPINGS), so the test's figures hold on both kinds of kernel.
Coverage sealed_by_kernel(const ProcessReport& r) {
  Coverage c;
  for (const InspectedMapping& m : r.mappings)
    if (m.sealed && (m.kind == MappingKind::Vdso || m.kind == MappingKind::Vvar))
      c.add(m.end - m.start, true);
  return c;
}

struct Child {
  pid_t pid = -1;
  Addr anon = 0;       // 8 pages RW, pages [2, 6) sealed
  Addr ro = 0;         // 4 pages R, all sealed
  Addr libc_text = 0;  // a page in libc's text, whose whole mapping is sealed
  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
};

// libc's executable mapping, found by name (not through a function's
// address: under ASan, write() and friends resolve to its interceptors).
Addr libc_text_mapping(Addr& end) {
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    unsigned long s = 0, e = 0;
    char perms[8] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %7s", &s, &e, perms) != 3) continue;
    if (perms[2] == 'x' && line.find("/libc.so") != std::string::npos) {
      end = e;
      return s;
    }
  }
  return 0;
}

void start_sealing_child(Child& c) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  c.anon = reinterpret_cast<Addr>(
      mmap(nullptr, 8 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  c.ro =
      reinterpret_cast<Addr>(mmap(nullptr, 4 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  Addr text_end = 0;
  c.libc_text = libc_text_mapping(text_end);
  ASSERT_NE(c.libc_text, 0U);
  c.pid = fork();
  ASSERT_GE(c.pid, 0);
  if (c.pid == 0) {
    long ok = kernel::sys_mseal(c.anon + 2 * P, 4 * P, 0) == 0 &&
              kernel::sys_mseal(c.ro, 4 * P, 0) == 0 &&
              kernel::sys_mseal(c.libc_text, text_end - c.libc_text, 0) == 0;
    char b = ok ? 'y' : 'n';
    (void)!write(ready[1], &b, 1);
    for (;;) pause();
  }
  close(ready[1]);
  char b = 0;
  ASSERT_EQ(read(ready[0], &b, 1), 1);
  close(ready[0]);
  munmap(reinterpret_cast<void*>(c.anon), 8 * P);
  munmap(reinterpret_cast<void*>(c.ro), 4 * P);
  ASSERT_EQ(b, 'y') << "the child could not seal";
}

TEST(Inspect, ChildSealedInKnownPlaces) {
  REQUIRE_MSEAL();
  // What is sealed already (by the kernel, or by earlier tests in this
  // process) is sealed in the forked child too.
  const ProcessReport before = inspect_live(getpid());
  const std::uint64_t anon_before =
      before.by_kind.count("anonymous") != 0 ? before.by_kind.at("anonymous").bytes_sealed : 0;
  Child c;
  start_sealing_child(c);
  const ProcessReport r = inspect_live(c.pid);

  // The anonymous region: split in three, the middle sealed.
  const InspectedMapping* lo = mapping_at(r, c.anon);
  const InspectedMapping* mid = mapping_at(r, c.anon + 2 * P);
  const InspectedMapping* hi = mapping_at(r, c.anon + 6 * P);
  ASSERT_TRUE(lo && mid && hi);
  EXPECT_FALSE(lo->sealed);
  EXPECT_TRUE(mid->sealed);
  EXPECT_EQ(mid->start, c.anon + 2 * P);
  EXPECT_EQ(mid->end, c.anon + 6 * P);
  EXPECT_FALSE(hi->sealed);
  EXPECT_EQ(mid->kind, MappingKind::Anonymous);
  const InspectedMapping* ro = mapping_at(r, c.ro);
  ASSERT_TRUE(ro);
  EXPECT_TRUE(ro->sealed);

  // libc's text: tied to libc.so.6 as text, sealed; the other libc mappings not.
  const InspectedMapping* text = mapping_at(r, c.libc_text);
  ASSERT_TRUE(text);
  EXPECT_TRUE(text->sealed);
  EXPECT_EQ(text->kind, MappingKind::Object);
  EXPECT_EQ(text->segment, SegmentKind::Text);
  ASSERT_GE(text->object, 0);
  const ObjectReport& libc = r.objects[static_cast<std::size_t>(text->object)];
  EXPECT_NE(libc.path.find("libc.so"), std::string::npos) << libc.path;
  EXPECT_EQ(libc.coverage.mappings_sealed, 1U);
  EXPECT_EQ(libc.coverage.bytes_sealed, text->end - text->start);
  EXPECT_EQ(libc.by_segment.at("text").mappings_sealed, 1U);
  // text, two rodata and relro of libc would be sealed by a loader: three still are not.
  EXPECT_EQ(libc.should_seal_unsealed, 3U);

  // The whole process: exactly what the child sealed, plus what was sealed before.
  EXPECT_EQ(r.total.bytes_sealed, before.total.bytes_sealed + 8 * P + (text->end - text->start));
  EXPECT_EQ(r.total.mappings_sealed, before.total.mappings_sealed + 3U);
  EXPECT_EQ(r.by_kind.at("anonymous").bytes_sealed, anon_before + 8 * P);
  EXPECT_EQ(r.by_kind.at("text").bytes_sealed, text->end - text->start);
  EXPECT_TRUE(text->note.empty());
  EXPECT_FALSE(lo->note.empty());
}

// Runs `argv` stopped in a sleep, inspects it, and returns the report.
ProcessReport inspect_program(const std::vector<const char*>& argv, bool& ran) {
  ran = false;
  const pid_t pid = fork();
  if (pid == 0) {
    execv(argv[0], const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  // Wait until it has exec'd and mapped its interpreter's libraries.
  char real[PATH_MAX];
  const std::string exe = realpath(argv[0], real) != nullptr ? real : argv[0];
  ProcessReport r;
  for (int i = 0; i < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    kernel::ProcessInfo info;
    if (!kernel::read_process_info(pid, info, nullptr) || info.exe != exe) continue;
    r = inspect_live(pid);
    if (r.objects.size() >= 3) {
      ran = true;
      break;
    }
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return r;
}

void expect_an_unsealed_dynamic_program(const ProcessReport& r, const std::string& exe) {
  int programs = 0;
  int loaders = 0;
  for (const ObjectReport& o : r.objects) {
    programs += o.main_program;
    loaders += o.interpreter;
    ASSERT_TRUE(o.image.has_value()) << o.path << ": " << o.error;
    EXPECT_GT(o.should_seal_unsealed, 0U) << o.path;
  }
  EXPECT_EQ(programs, 1) << exe;
  EXPECT_EQ(loaders, 1) << exe;
  const Coverage k = sealed_by_kernel(r);
  EXPECT_EQ(r.total.mappings_sealed, k.mappings_sealed) << "nothing but system mappings is sealed";
  EXPECT_GT(r.by_kind.at("text").mappings, 1U);
  EXPECT_GT(r.by_kind.at("relro").mappings, 0U);
  EXPECT_EQ(r.by_kind.count("stack"), 1U);
}

TEST(Inspect, AShell) {
  bool ran = false;
  const ProcessReport r = inspect_program({"/bin/sh", "-c", "sleep 30; :", nullptr}, ran);
  ASSERT_TRUE(ran) << "/bin/sh did not start";
  // /bin/sh is a link to dash; exe is the target.
  expect_an_unsealed_dynamic_program(r, "/bin/sh");
}

TEST(Inspect, APythonInterpreter) {
  if (access("/usr/bin/python3", X_OK) != 0)
    GTEST_SKIP() << "no /usr/bin/python3 (scripts/setup.sh installs it)";
  char real[PATH_MAX];
  ASSERT_NE(realpath("/usr/bin/python3", real), nullptr);
  const std::string exe = real;
  bool ran = false;
  const ProcessReport r =
      inspect_program({exe.c_str(), "-c", "import time; time.sleep(30)", nullptr}, ran);
  ASSERT_TRUE(ran) << exe << " did not start";
  expect_an_unsealed_dynamic_program(r, exe);
}

TEST(InspectErrors, NoSuchProcess) {
  kernel::ProcessInfo info;
  kernel::ProcFailure f;
  EXPECT_FALSE(kernel::read_process_info(0x3ffffff0, info, &f));
  EXPECT_EQ(f.kind, kernel::ProcError::NoSuchProcess);
  EXPECT_NE(f.message.find("no such process"), std::string::npos) << f.message;
  pid_t pid = 0;
  EXPECT_FALSE(kernel::parse_pid("-1", pid));
  EXPECT_FALSE(kernel::parse_pid("12x", pid));
  EXPECT_FALSE(kernel::parse_pid("99999999999", pid));
  EXPECT_TRUE(kernel::parse_pid("self", pid));
  EXPECT_EQ(pid, getpid());
}

// A process that has exited but is not yet reaped (a zombie) has no memory
// map any more: reading it reports an exit, not an empty process.
TEST(InspectErrors, ExitedProcess) {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  bool zombie = false;
  for (int i = 0; i < 500 && !zombie; ++i) {
    std::ifstream st("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(st, line);)
      if (line.rfind("State:", 0) == 0) zombie = line.find('Z') != std::string::npos;
    if (!zombie) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(zombie);
  std::vector<kernel::SmapsEntry> entries;
  kernel::ProcFailure f;
  EXPECT_FALSE(kernel::read_process_smaps(pid, entries, &f));
  EXPECT_EQ(f.kind, kernel::ProcError::Exited);
  EXPECT_NE(f.message.find("exited"), std::string::npos) << f.message;
  waitpid(pid, nullptr, 0);
  EXPECT_FALSE(kernel::read_process_smaps(pid, entries, &f));
  EXPECT_EQ(f.kind, kernel::ProcError::NoSuchProcess) << f.message;
}

// As an unprivileged user, another user's process is refused with a message
// that says what is missing. Run from root by dropping to nobody in a child.
TEST(InspectErrors, PermissionDeniedSaysWhy) {
  if (geteuid() != 0)
    GTEST_SKIP() << "needs root, to drop to another user and try to read root's process";
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
    std::vector<kernel::SmapsEntry> entries;
    kernel::ProcFailure f;
    const bool ok = kernel::read_process_smaps(parent, entries, &f);
    const std::string msg = std::to_string(static_cast<int>(f.kind)) + " " + f.message;
    (void)!write(out[1], msg.data(), msg.size());
    _exit(ok ? 1 : 0);
  }
  close(out[1]);
  std::string msg;
  char buf[512];
  for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;)
    msg.append(buf, static_cast<std::size_t>(n));
  close(out[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  ASSERT_EQ(WEXITSTATUS(st), 0) << "reading root's smaps as nobody succeeded: " << msg;
  EXPECT_EQ(msg.substr(0, 2),
            std::to_string(static_cast<int>(kernel::ProcError::PermissionDenied)) + " ");
  EXPECT_NE(msg.find("CAP_SYS_PTRACE"), std::string::npos) << msg;
  EXPECT_NE(msg.find("uid 0"), std::string::npos) << msg;
}

// --- RELRO copies and the run's record, drawn -------------------------------------
// An object libx.so at bias B, its RELRO [4P, 5P) sealed in three ways:
//
//   B+0P  r--p libx.so  rodata  sl
//   B+2P  r-xp libx.so  text    sl
//   B+4P  r--p ???      relro   sl   <- "" (anonymous copy), the memfd copy, or libx.so itself
//   B+5P  rw-p libx.so  data
namespace drawn {

constexpr Addr B = 0x7f0000000000;

ElfImage libx() {
  ElfImage img;
  img.path = "/lib/libx.so";
  img.type = 3;  // ET_DYN
  LoadSegment r{0, 0, 2 * P, 2 * P, P, true, false, false, false};
  LoadSegment x{2 * P, 2 * P, 2 * P, 2 * P, P, true, false, true, false};
  LoadSegment w{4 * P, 4 * P, 2 * P, 2 * P, P, true, true, false, false};
  img.loads = {r, x, w};
  img.relro = VRange{4 * P, 5 * P};
  return img;
}

kernel::SmapsEntry entry(Addr s, Addr e, const char* perms, std::uint64_t off,
                         const std::string& name, bool sealed) {
  kernel::SmapsEntry m;
  m.start = B + s;
  m.end = B + e;
  m.perms = perms;
  m.offset = off;
  m.dev_major = name == "/lib/libx.so" ? 254 : 0;
  m.inode = name.empty() ? 0 : 42;
  m.name = name;
  m.vmflags = sealed ? vm::SEALED : 0;
  return m;
}

ProcessReport inspect_relro_backed_by(const std::string& relro_name,
                                      const SealRecord* record = nullptr) {
  std::vector<kernel::SmapsEntry> e = {
      entry(0, 2 * P, "r--p", 0, "/lib/libx.so", true),
      entry(2 * P, 4 * P, "r-xp", 2 * P, "/lib/libx.so", true),
      entry(4 * P, 5 * P, "r--p", relro_name.empty() ? 0 : 4 * P, relro_name, true),
      entry(5 * P, 6 * P, "rw-p", 5 * P, "/lib/libx.so", false)};
  const ElfOpener open = [](const kernel::SmapsEntry& m, ElfImage& img, std::string*) {
    if (m.name != "/lib/libx.so") return false;
    img = libx();
    return true;
  };
  return inspect_entries(std::move(e), open, Profile::Default, "/bin/prog", record);
}

bool warns_discardable(const ProcessReport& r) {
  for (const Warning& w : r.warnings)
    if (w.text.find("still file-backed") != std::string::npos) return true;
  return false;
}

}  // namespace drawn

TEST(InspectRelro, AnAnonymousCopyIsTheObjectsRelro) {
  const ProcessReport r = drawn::inspect_relro_backed_by("");
  const InspectedMapping* m = mapping_at(r, drawn::B + 4 * P);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(m->object, 0);
  EXPECT_EQ(m->segment, SegmentKind::Relro);
  EXPECT_EQ(r.objects[0].relro_backing, "anon");
  EXPECT_EQ(r.objects[0].should_seal_unsealed, 0u);
  EXPECT_FALSE(drawn::warns_discardable(r));
}

TEST(InspectRelro, AMemfdCopyIsTheObjectsRelroToo) {
  const ProcessReport r = drawn::inspect_relro_backed_by("/memfd:vmseal-relro:libx.so (deleted)");
  const InspectedMapping* m = mapping_at(r, drawn::B + 4 * P);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->object, 0);
  EXPECT_EQ(m->segment, SegmentKind::Relro);
  EXPECT_EQ(r.objects[0].relro_backing, "memfd");
  EXPECT_FALSE(drawn::warns_discardable(r));
}

TEST(InspectRelro, SealedFileBackedRelroIsDiscardableOnThisKernel) {
  const ProcessReport r = drawn::inspect_relro_backed_by("/lib/libx.so");
  EXPECT_EQ(r.objects[0].relro_backing, "file");
  EXPECT_TRUE(drawn::warns_discardable(r));
}

TEST(InspectRecord, TheRunsVerdictReplacesALoadersGuessAndAFalseClaimIsCalledOut) {
  // libx.so unsealed; the record says the run left it alone: may unload.
  std::vector<kernel::SmapsEntry> e = {
      drawn::entry(0, 2 * P, "r--p", 0, "/lib/libx.so", false),
      drawn::entry(2 * P, 4 * P, "r-xp", 2 * P, "/lib/libx.so", false)};
  const ElfOpener open = [](const kernel::SmapsEntry&, ElfImage& img, std::string*) {
    img = drawn::libx();
    return true;
  };
  SealRecord rec;
  rec.profile = Profile::Strict;
  rec.objects.push_back({drawn::B, 0, ObjectRole::Library, ObjectVerdict::MayUnload, false,
                         RelroOutcome::NotRelro, 0});
  ProcessReport r = inspect_entries(e, open, Profile::Default, "/bin/prog", &rec);
  EXPECT_EQ(r.profile, Profile::Strict);
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_EQ(r.objects[0].run_verdict, "may-unload");
  EXPECT_EQ(r.objects[0].should_seal_unsealed, 0u)
      << "left alone on purpose, not 'a loader would seal this'";
  EXPECT_NE(std::string(mapping_at(r, drawn::B + 2 * P)->note).find("RTLD_NODELETE"),
            std::string::npos);
  // The same mappings, but the record claims the run sealed it: smaps wins.
  rec.objects[0].verdict = ObjectVerdict::Sealed;
  r = inspect_entries(e, open, Profile::Default, "/bin/prog", &rec);
  EXPECT_GT(r.objects[0].should_seal_unsealed, 0u);
  bool called_out = false;
  for (const Warning& w : r.warnings)
    called_out = called_out || w.text.find("stale or forged") != std::string::npos;
  EXPECT_TRUE(called_out);
  // A record whose verdicts cannot be checked (opted out), but whose total
  // claims more than smaps shows sealed.
  rec.objects[0].verdict = ObjectVerdict::OptedOut;
  rec.sealed_bytes = 16 << 20;
  r = inspect_entries(e, open, Profile::Default, "/bin/prog", &rec);
  called_out = false;
  for (const Warning& w : r.warnings)
    called_out = called_out || w.text.find("claims 16777216 bytes") != std::string::npos;
  EXPECT_TRUE(called_out);
}

}  // namespace
}  // namespace vmseal::sealing
