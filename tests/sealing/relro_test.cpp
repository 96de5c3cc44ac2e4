// RELRO copies (sealing/relro.hpp) and the sealing record (record.hpp), on
// this process's own memory: a file-backed read-only page standing for RELRO,
// replaced, sealed, then attacked and read back.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "support/cli_run.hpp"
#include "vmseal/sealing/image_sealer.hpp"
#include "vmseal/sealing/record.hpp"
#include "vmseal/sealing/relro.hpp"

namespace {

using namespace vmseal::sealing;
using vmseal::Addr;

constexpr std::size_t kLen = 2 * 4096;

// Two read-only pages of a private file mapping whose first word was
// "relocated" (written, then made read-only), as the loader leaves RELRO.
struct FakeRelro {
  char* p = nullptr;
  FakeRelro() {
    const int fd = static_cast<int>(syscall(SYS_memfd_create, "fake-object", 0));
    EXPECT_GE(fd, 0);
    std::string file(kLen, '\0');
    std::memcpy(file.data(), "FILEVAL!", 8);
    EXPECT_EQ(write(fd, file.data(), file.size()), static_cast<ssize_t>(file.size()));
    p = static_cast<char*>(mmap(nullptr, kLen, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    close(fd);
    EXPECT_NE(p, MAP_FAILED);
    std::memcpy(p, "RELOCATD", 8);  // the loader's relocation: a private copy-on-write page
    EXPECT_EQ(mprotect(p, kLen, PROT_READ), 0);
  }
  Addr start() const { return reinterpret_cast<Addr>(p); }
  std::string word() const { return std::string(p, 8); }
  std::string maps_line() const {
    std::ifstream maps("/proc/self/maps");
    char prefix[32];
    std::snprintf(prefix, sizeof prefix, "%lx-", static_cast<unsigned long>(start()));
    for (std::string l; std::getline(maps, l);)
      if (l.rfind(prefix, 0) == 0) return l;
    return "";
  }
  int seal() const { return static_cast<int>(syscall(462, p, kLen, 0)) == 0 ? 0 : errno; }
  int discard() const { return madvise(p, kLen, MADV_DONTNEED) == 0 ? 0 : errno; }
};

TEST(RelroCopy, FileBackedRelroRevertsWhenDiscardedEvenSealed) {
  NEED_MSEAL();
  FakeRelro r;
  //  before: r--p fake-object   "RELOCATD"
  ASSERT_EQ(r.seal(), 0);
  EXPECT_EQ(r.discard(), 0);  // Linux 6.18: file-backed, so allowed
  //  after:  r--p fake-object   "FILEVAL!" (read back from the file)
  EXPECT_EQ(r.word(), "FILEVAL!");
}

TEST(RelroCopy, AnAnonymousCopyRefusesTheDiscard) {
  NEED_MSEAL();
  FakeRelro r;
  SelfMappings maps;
  ASSERT_TRUE(maps.load());
  ASSERT_TRUE(maps.private_with_prot(r.start(), r.start() + kLen, PROT_READ));
  int err = 0;
  //  before: r--p fake-object      "RELOCATD"
  ASSERT_EQ(
      replace_with_copy(r.start(), r.start() + kLen, PROT_READ, RelroMode::Anonymous, "x", &err),
      RelroOutcome::Anonymised)
      << std::strerror(err);
  //  after:  r--p (anonymous)       "RELOCATD", same address
  const std::string line = r.maps_line();
  EXPECT_NE(line.find(" r--p 00000000 00:00 0"), std::string::npos) << line;
  EXPECT_EQ(r.word(), "RELOCATD");
  ASSERT_EQ(r.seal(), 0);
  EXPECT_TRUE(verify_sealed(r.start(), r.start() + kLen));
  EXPECT_EQ(r.discard(), EPERM);
  EXPECT_EQ(madvise(r.p, 4096, MADV_DONTFORK), -1);
  EXPECT_EQ(madvise(r.p, 4096, 102 /* MADV_GUARD_INSTALL */), -1);
  EXPECT_EQ(r.word(), "RELOCATD");
}

TEST(RelroCopy, AMemfdCopyAcceptsTheDiscardWithoutEffect) {
  NEED_MSEAL();
  FakeRelro r;
  int err = 0;
  ASSERT_EQ(replace_with_copy(r.start(), r.start() + kLen, PROT_READ, RelroMode::Memfd,
                              "libfake.so", &err),
            RelroOutcome::Memfd)
      << std::strerror(err);
  //  after:  r--p /memfd:vmseal-relro:libfake.so (deleted)   "RELOCATD"
  EXPECT_NE(r.maps_line().find("/memfd:vmseal-relro:libfake.so (deleted)"), std::string::npos)
      << r.maps_line();
  ASSERT_EQ(r.seal(), 0);
  EXPECT_EQ(r.discard(), 0);
  EXPECT_EQ(r.word(), "RELOCATD");  // re-read from the write-sealed memfd
}

TEST(RelroCopy, SelfMappingsSeesProtectionAndHoles) {
  char* p =
      static_cast<char*>(mmap(nullptr, 3 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(mprotect(p + 4096, 4096, PROT_READ | PROT_WRITE), 0);
  ASSERT_EQ(munmap(p + 2 * 4096, 4096), 0);
  SelfMappings maps;
  ASSERT_TRUE(maps.load());
  const Addr a = reinterpret_cast<Addr>(p);
  //  [a, a+1p) r--   [a+1p, a+2p) rw-   [a+2p, a+3p) hole
  EXPECT_TRUE(maps.private_with_prot(a, a + 4096, PROT_READ));
  EXPECT_FALSE(maps.private_with_prot(a, a + 2 * 4096, PROT_READ));  // mixed protections
  EXPECT_FALSE(maps.private_with_prot(a + 4096, a + 3 * 4096, PROT_READ | PROT_WRITE));  // a hole
  munmap(p, 2 * 4096);
}

// --- the record -----------------------------------------------------------------

TEST(SealRecord, WrittenAndDecoded) {
  static unsigned char storage[kRecordBytes];
  RecordWriter w;
  w.open(storage, Profile::Strict, RelroMode::Memfd, RelroMode::Anonymous, kRecordEnforce,
         "/tmp/script.sh");
  LoadedObject o;
  o.key.bias = 0x7f0000000000;
  o.key.phdr = reinterpret_cast<const void*>(0x7f0000000040);
  o.role = ObjectRole::Library;
  ObjectResult r;
  r.object = &o;
  r.verdict = ObjectVerdict::MayUnload;
  w.add(r);
  r.verdict = ObjectVerdict::Sealed;  // a later seal point decides again: updated, not added
  r.sealed_bytes = 8192;
  w.add(r);
  w.finish_seal_point(true, 0, 8192);
  SealRecord rec;
  std::string err;
  ASSERT_TRUE(decode_record(storage, sizeof storage, rec, &err)) << err;
  EXPECT_EQ(rec.profile, Profile::Strict);
  EXPECT_EQ(rec.relro, RelroMode::Memfd);
  EXPECT_EQ(rec.text, RelroMode::Anonymous);
  EXPECT_TRUE(rec.enforce);
  EXPECT_TRUE(rec.sealed_before_main);
  EXPECT_EQ(rec.seal_points, 1u);
  EXPECT_EQ(rec.script, "/tmp/script.sh");
  ASSERT_EQ(rec.objects.size(), 1u);
  EXPECT_EQ(rec.objects[0].verdict, ObjectVerdict::Sealed);
  EXPECT_EQ(rec.objects[0].sealed_bytes, 8192u);
  ASSERT_NE(rec.find(0x7f0000000000), nullptr);
  // This test process has no preload: it has no record to read.
  EXPECT_EQ(read_process_record(getpid(), rec, &err), 0);
}

TEST(SealRecord, HostileBytesAreRefusedNotTrusted) {
  std::string bytes(kRecordBytes, '\0');
  SealRecord rec;
  std::string err;
  EXPECT_FALSE(decode_record(bytes.data(), 10, rec, &err));
  EXPECT_NE(err.find("shorter"), std::string::npos);
  EXPECT_FALSE(decode_record(bytes.data(), bytes.size(), rec, &err));  // no magic
  RecordHeader h{};
  std::memcpy(h.magic, kRecordMagic, sizeof h.magic);
  h.header_size = sizeof h;
  h.entry_size = sizeof(RecordEntry);
  h.capacity = kRecordCapacity;
  h.count = kRecordCapacity + 1;  // more than it holds
  std::memcpy(bytes.data(), &h, sizeof h);
  EXPECT_FALSE(decode_record(bytes.data(), bytes.size(), rec, &err));
  h.count = 1;
  h.profile = 9;  // no such profile
  std::memcpy(bytes.data(), &h, sizeof h);
  EXPECT_FALSE(decode_record(bytes.data(), bytes.size(), rec, &err));
  h.profile = 0;
  std::memcpy(bytes.data(), &h, sizeof h);
  RecordEntry e{};
  e.verdict = 200;  // no such verdict
  std::memcpy(bytes.data() + sizeof h, &e, sizeof e);
  EXPECT_FALSE(decode_record(bytes.data(), bytes.size(), rec, &err));
  e.verdict = 0;
  std::memcpy(bytes.data() + sizeof h, &e, sizeof e);
  EXPECT_TRUE(decode_record(bytes.data(), bytes.size(), rec, &err)) << err;
  // A count that claims entries the buffer does not have.
  EXPECT_FALSE(decode_record(bytes.data(), sizeof h, rec, &err));
}

// Any bytes at all, behind a valid header or not: decode_record ends with a
// verdict and never reads past what it was given (ASan checks the reads).
RC_GTEST_PROP(SealRecord, AnyBytesDecodeOrFailCleanly,
              (const std::vector<std::uint8_t>& tail, bool valid_header, std::uint32_t count)) {
  std::vector<std::uint8_t> bytes;
  if (valid_header) {
    RecordHeader h{};
    std::memcpy(h.magic, kRecordMagic, sizeof h.magic);
    h.header_size = sizeof h;
    h.entry_size = sizeof(RecordEntry);
    h.capacity = kRecordCapacity;
    h.count = count % (kRecordCapacity + 8);
    bytes.resize(sizeof h);
    std::memcpy(bytes.data(), &h, sizeof h);
  }
  bytes.insert(bytes.end(), tail.begin(), tail.end());
  SealRecord rec;
  std::string err;
  const bool ok = decode_record(bytes.data(), bytes.size(), rec, &err);
  RC_ASSERT(ok || !err.empty());
  if (ok) {
    RC_ASSERT(rec.objects.size() <= kRecordCapacity);
    RC_ASSERT(sizeof(RecordHeader) + rec.objects.size() * sizeof(RecordEntry) <= bytes.size());
  }
}

}  // namespace
