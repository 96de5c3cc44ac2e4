// inspect's half of the sealing record (record.hpp): finding it in another
// process and checking every byte read from there.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>

#include "vmseal/sealing/elf_image.hpp"
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
  if (h.header_size != sizeof(RecordHeader) || h.entry_size != sizeof(RecordEntry) ||
      h.capacity != kRecordCapacity)
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
    if (!enum_in_range(e.role, ObjectRole::Library) ||
        !enum_in_range(e.verdict, ObjectVerdict::Failed) ||
        !enum_in_range(e.relro, RelroOutcome::Failed) || e.at_startup > 1)
      return bad("entry " + std::to_string(i) + " has an unknown value");
    out.objects.push_back({e.bias, e.phdr, static_cast<ObjectRole>(e.role),
                           static_cast<ObjectVerdict>(e.verdict), e.at_startup == 1,
                           static_cast<RelroOutcome>(e.relro), e.sealed_bytes});
  }
  return true;
}

int read_process_record(pid_t pid, SealRecord& out, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error != nullptr) *error = why;
    return -1;
  };
  const std::string proc = pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid);
  std::ifstream maps(proc + "/maps");
  if (!maps) return fail("cannot read " + proc + "/maps");
  // The preload's first mapping (file offset 0) is its load address.
  constexpr std::string_view kPreload = "/libvmseal_preload.so";
  std::uint64_t base = 0;
  std::string path;
  for (std::string line; std::getline(maps, line);) {
    std::string_view l = line;
    if (l.ends_with(" (deleted)")) l.remove_suffix(10);
    if (!l.ends_with(kPreload)) continue;
    unsigned long long start = 0, offset = 0;
    int name_at = 0;
    if (std::sscanf(line.c_str(), "%llx-%*x %*s %llx %*s %*s %n", &start, &offset, &name_at) < 2 ||
        offset != 0 || name_at <= 0)
      continue;
    base = start;
    path.assign(l.substr(static_cast<std::size_t>(name_at)));
    break;
  }
  if (path.empty()) return 0;
  // Its exported record, found in its file (through the process's root: a
  // container's paths are its own).
  std::uint64_t value = 0;
  std::string why;
  DynamicSymbol found = find_dynamic_symbol(proc + "/root" + path, kRecordSymbol, &why, &value);
  if (found == DynamicSymbol::Unreadable)
    found = find_dynamic_symbol(path, kRecordSymbol, &why, &value);
  if (found != DynamicSymbol::Defined)
    return fail("the process maps " + path + ", which has no vmseal record (" + why + ")");
  const int fd = ::open((proc + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(std::string("the vmseal record cannot be read: ") + std::strerror(errno) +
                " (reading another process's memory needs PTRACE_MODE_ATTACH: root, or Yama's "
                "ptrace_scope 0)");
  std::string buf(kRecordBytes, '\0');
  std::size_t got = 0;
  while (got < buf.size()) {
    const ssize_t n =
        pread(fd, buf.data() + got, buf.size() - got, static_cast<off_t>(base + value + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got < sizeof(RecordHeader))
    return fail("the vmseal record cannot be read from " + proc + "/mem");
  // All zero: the preload is there but has not reached its first seal point.
  if (buf.find_first_not_of('\0', 0) == std::string::npos ||
      buf.compare(0, 8, std::string(8, '\0')) == 0)
    return 0;
  return decode_record(buf.data(), got, out, error) ? 1 : -1;
}

}  // namespace vmseal::sealing
