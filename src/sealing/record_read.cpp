// inspect's half of the sealing record (record.hpp): finding it in another
// process and checking every byte read from there.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "vmseal/sealing/record.hpp"

namespace vmseal::sealing {
namespace {

template <typename E>
bool enum_in_range(std::uint8_t v, E last) {
  return v <= static_cast<std::uint8_t>(last);
}

}  // namespace

const SealRecord::Object* SealRecord::find(std::uint64_t bias) const noexcept {
  for (const Object& o : objects)
    if (o.bias == bias) return &o;
  return nullptr;
}

bool decode_record(const void* data, std::size_t size, SealRecord& out, std::string* error) {
  auto bad = [&](const std::string& why) {
    if (error != nullptr) *error = "malformed vmseal record: " + why;
    return false;
  };
  out = SealRecord{};
  RecordHeader h;
  if (size < sizeof h) return bad("shorter than its header");
  std::memcpy(&h, data, sizeof h);
  if (std::memcmp(h.magic, kRecordMagic, sizeof h.magic) != 0) return bad("wrong magic");
  if (h.header_size != sizeof(RecordHeader) || h.entry_size != sizeof(RecordEntry) || h.capacity != kRecordCapacity)
    return bad("another version of the format");
  if (h.count > h.capacity || size < sizeof h + std::size_t{h.count} * sizeof(RecordEntry))
    return bad("more entries than it holds");
  if (!enum_in_range(h.profile, Profile::Strict) || !enum_in_range(h.relro, RelroMode::File) ||
      !enum_in_range(h.text, RelroMode::File))
    return bad("unknown profile or copy mode");
  out.profile = static_cast<Profile>(h.profile);
  out.relro = static_cast<RelroMode>(h.relro);
  out.text = static_cast<RelroMode>(h.text);
  out.sealed_before_main = (h.flags & kRecordSealedBeforeMain) != 0;
  out.dry_run = (h.flags & kRecordDryRun) != 0;
  out.enforce = (h.flags & kRecordEnforce) != 0;
  out.failures = h.failures;
  out.sealed_bytes = h.sealed_bytes;
  out.seal_points = h.seal_points;
  out.script.assign(h.script, strnlen(h.script, sizeof h.script));
  const auto* bytes = static_cast<const unsigned char*>(data) + sizeof h;
  for (std::uint32_t i = 0; i < h.count; ++i) {
    RecordEntry e;
    std::memcpy(&e, bytes + std::size_t{i} * sizeof e, sizeof e);
    if (!enum_in_range(e.role, ObjectRole::Library) || !enum_in_range(e.verdict, ObjectVerdict::Failed) ||
        !enum_in_range(e.relro, RelroOutcome::Failed) || e.at_startup > 1)
      return bad("entry " + std::to_string(i) + " has an unknown value");
    out.objects.push_back({e.bias, e.phdr, static_cast<ObjectRole>(e.role), static_cast<ObjectVerdict>(e.verdict),
                           e.at_startup == 1, static_cast<RelroOutcome>(e.relro), e.sealed_bytes});
  }
  return true;
}

int read_process_record(pid_t pid, SealRecord& out, std::string* error) {
  const std::string proc = pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid);
  std::ifstream maps(proc + "/maps");
  if (!maps) {
    if (error != nullptr) *error = "cannot read " + proc + "/maps";
    return -1;
  }
  const std::string name = std::string("/memfd:") + kRecordName + " (deleted)";
  std::uint64_t start = 0, end = 0;
  bool preload = false;  // a record without the preload is nobody's
  for (std::string line; std::getline(maps, line);) {
    if (line.ends_with("/libvmseal_preload.so") || line.ends_with("/libvmseal_preload.so (deleted)")) preload = true;
    if (end > start || line.size() < name.size() || line.compare(line.size() - name.size(), name.size(), name) != 0)
      continue;  // the first record only: one is made per process image
    char* dash = nullptr;
    start = std::strtoull(line.c_str(), &dash, 16);
    end = dash != nullptr && *dash == '-' ? std::strtoull(dash + 1, nullptr, 16) : 0;
  }
  if (end <= start) return 0;
  if (!preload) {
    if (error != nullptr) *error = "a vmseal record in a process without the vmseal preload: ignored";
    return -1;
  }
  if (end - start < kRecordBytes) {
    if (error != nullptr) *error = "the vmseal record mapping is smaller than a record";
    return -1;
  }
  const int fd = ::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error != nullptr)
      *error = std::string("the vmseal record cannot be read: ") + std::strerror(errno) +
               " (reading another process's memory needs PTRACE_MODE_ATTACH: root, or Yama's ptrace_scope 0)";
    return -1;
  }
  std::string buf(kRecordBytes, '\0');
  std::size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n = pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(start + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got < sizeof(RecordHeader)) {
    if (error != nullptr) *error = "the vmseal record cannot be read from " + proc + "/mem";
    return -1;
  }
  return decode_record(buf.data(), got, out, error) ? 1 : -1;
}

}  // namespace vmseal::sealing
