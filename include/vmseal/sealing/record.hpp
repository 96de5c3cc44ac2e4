// The sealing record: what `vmseal run`'s preload decided about each object
// of a process, kept in that process so that `vmseal inspect` gives the same
// verdict, profile and reason as the run's report.
//
// Where it lives: in the preload's own zero-initialised data, as the exported
// array `vmseal_preload_record` (kRecordSymbol): no system call makes it, a
// fork's child has its own copy, and exec drops it with the process image.
// inspect finds the preload in /proc/PID/maps, the symbol in the preload's
// file, and reads the bytes through /proc/PID/mem, which needs
// PTRACE_MODE_ATTACH (root, or the same user where Yama allows it). Where it
// cannot be read, inspect says so.
//
// What it holds: a fixed header and one fixed-size entry per object, keyed by
// the object's load bias and program-header address. No strings but the
// script's path: the reasons are the sealer's own fixed sentences, found
// again from the verdict (object_verdict_reason). It is input to inspect like
// any /proc file: decode_record() checks every field and size.
//
// The record is what the preload decided, not proof: any code in the process
// can call mprotect and rewrite it, and another process could map a memfd of
// that name. inspect takes it only where libvmseal_preload.so is mapped, still
// takes whether each mapping is sealed from smaps (the `sl` flag), and warns
// where the record claims a seal that smaps does not show.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vmseal/sealing/image_sealer.hpp"

namespace vmseal::sealing {

inline constexpr char kRecordSymbol[] = "vmseal_preload_record";
inline constexpr char kRecordMagic[8] = {'V', 'M', 'S', 'E', 'A', 'L', 'R', '1'};
inline constexpr std::uint32_t kRecordCapacity = 1024;  // entries (ObjectTable::kCapacity)

struct RecordHeader {
  char magic[8];
  std::uint32_t header_size;
  std::uint32_t entry_size;
  std::uint32_t capacity;
  std::uint32_t count;
  std::uint8_t profile;  // Profile
  std::uint8_t relro;    // RelroMode
  std::uint8_t text;     // RelroMode
  std::uint8_t flags;    // kRecordSealedBeforeMain | kRecordDryRun | kRecordEnforce
  std::uint32_t failures;
  std::uint64_t sealed_bytes;
  std::uint32_t seal_points;
  std::uint32_t reserved;
  char script[256];  // the #! script whose interpreter this is ("" for none)
};
inline constexpr std::uint8_t kRecordSealedBeforeMain = 1;
inline constexpr std::uint8_t kRecordDryRun = 2;
inline constexpr std::uint8_t kRecordEnforce = 4;

struct RecordEntry {
  std::uint64_t bias;
  std::uint64_t phdr;
  std::uint8_t role;     // ObjectRole
  std::uint8_t verdict;  // ObjectVerdict
  std::uint8_t at_startup;
  std::uint8_t relro;  // RelroOutcome of the object's sealed RELRO (NotRelro: none)
  std::uint32_t reserved;
  std::uint64_t sealed_bytes;
};

inline constexpr std::size_t kRecordBytes =
    sizeof(RecordHeader) + sizeof(RecordEntry) * kRecordCapacity;

// The sealer's reason for a verdict, as ImageSealer reports it.
const char* object_verdict_reason(ObjectVerdict v) noexcept;

// The preload's side: fills caller-provided storage of kRecordBytes (the
// preload's exported array) and updates it in place. Never allocates, never
// makes a system call.
class RecordWriter {
 public:
  constexpr RecordWriter() noexcept = default;
  void open(void* storage, Profile profile, RelroMode relro, RelroMode text, std::uint8_t flags,
            const char* script) noexcept;
  bool is_open() const noexcept { return record_ != nullptr; }
  void add(const ObjectResult& result) noexcept;  // or updates the object's entry
  void finish_seal_point(bool sealed_before_main, std::size_t failures,
                         std::uint64_t sealed_bytes) noexcept;

 private:
  struct Layout {
    RecordHeader header;
    RecordEntry entries[kRecordCapacity];
  };
  Layout* record_ = nullptr;
};

// inspect's side.
struct SealRecord {
  Profile profile = Profile::Default;
  RelroMode relro = RelroMode::Anonymous;
  RelroMode text = RelroMode::File;
  bool sealed_before_main = false;
  bool dry_run = false;
  bool enforce = false;
  std::uint32_t failures = 0;
  std::uint64_t sealed_bytes = 0;
  std::uint32_t seal_points = 0;
  std::string script;
  struct Object {
    std::uint64_t bias = 0;
    std::uint64_t phdr = 0;
    ObjectRole role = ObjectRole::Library;
    ObjectVerdict verdict = ObjectVerdict::Sealed;
    bool at_startup = false;
    RelroOutcome relro = RelroOutcome::NotRelro;
    std::uint64_t sealed_bytes = 0;
  };
  std::vector<Object> objects;
  const Object* find(std::uint64_t bias) const noexcept;
};

// Checks and decodes a record's bytes; false with why in `error`.
bool decode_record(const void* data, std::size_t size, SealRecord& out, std::string* error);

// Finds process `pid`'s record through the preload it maps and reads it.
// Returns 1 when read, 0 when the process has none (no preload, or before
// its first seal point), -1 when it has one that cannot be read (`error`
// says why: usually no PTRACE_MODE_ATTACH on it).
int read_process_record(pid_t pid, SealRecord& out, std::string* error);

}  // namespace vmseal::sealing
