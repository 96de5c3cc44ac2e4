// vmseal inspect: every mapping of a process with its seal state, tied back
// to its ELF object and segment or to its kind, with the reason for each
// unsealed mapping a sealing loader would have sealed, coverage figures and
// warnings. Pure: it works on smaps entries and ELF images handed to it, so a
// live process, a saved smaps file and a test all go through the same code.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vmseal/kernel/smaps.hpp"
#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/plan.hpp"
#include "vmseal/sealing/record.hpp"

namespace vmseal::sealing {

// What a mapping is, when it is not part of a loaded ELF object.
enum class MappingKind : std::uint8_t {
  Object,        // part of an ELF object (see segment)
  Heap,          // [heap]
  Stack,         // [stack]
  Vdso,          // [vdso]
  Vvar,          // [vvar], [vvar_vclock]
  Vsyscall,      // [vsyscall] (not a VMA: cannot be sealed)
  Anonymous,     // private anonymous memory (named or not)
  SharedMemory,  // MAP_SHARED anonymous, memfd, SysV shm
  File,          // a mapping of a file that is not a loaded ELF object
};
std::string_view mapping_kind_name(MappingKind k) noexcept;

struct Coverage {
  std::uint64_t bytes = 0;
  std::uint64_t bytes_sealed = 0;
  std::uint64_t mappings = 0;
  std::uint64_t mappings_sealed = 0;
  void add(std::uint64_t len, bool sealed) {
    bytes += len;
    mappings += 1;
    if (sealed) {
      bytes_sealed += len;
      mappings_sealed += 1;
    }
  }
};

struct InspectedMapping {
  Addr start = 0;
  Addr end = 0;
  std::string perms;
  std::string name;  // as smaps prints it
  VmFlags flags = 0;
  bool sealed = false;
  MappingKind kind = MappingKind::Anonymous;
  int object = -1;  // index into ProcessReport::objects when kind == Object
  SegmentKind segment = SegmentKind::Gap;
  // A sealing loader (under the report's profile) would have sealed it.
  bool should_seal = false;
  // For an unsealed mapping: why it is not sealed, or what would seal it
  // (static text: a report of 60,000 mappings allocates none).
  std::string_view note;
};

struct ObjectReport {
  std::string path;
  Addr bias = 0;
  Addr start = 0;  // span of the object in the process
  Addr end = 0;
  bool main_program = false;
  bool interpreter = false;       // the dynamic loader
  std::optional<ElfImage> image;  // nullopt when the ELF could not be read
  std::string error;              // why not
  Coverage coverage;
  std::map<std::string, Coverage> by_segment;
  std::uint64_t should_seal_unsealed = 0;  // mappings a loader would have sealed but did not
  // What `vmseal run` decided about it, from the process's record (record.hpp);
  // empty without a record.
  std::string run_verdict;  // "sealed", "may-unload", "opted-out", ...
  std::string run_why;
  std::string relro_backing;  // what its sealed RELRO is: "anon", "memfd", "file", "" (none)
};

struct Warning {
  Addr start = 0;  // 0 when it concerns a whole object
  Addr end = 0;
  std::string text;
};

struct ProcessReport {
  pid_t pid = 0;
  std::string comm;
  std::string exe;
  Profile profile = Profile::Default;
  std::vector<InspectedMapping> mappings;
  std::vector<ObjectReport> objects;
  Coverage total;
  std::map<std::string, Coverage> by_kind;  // segment kinds for objects, mapping kinds otherwise
  std::vector<Warning> warnings;
  // The process's own sealing record, when `vmseal run` started it and it
  // could be read; `record_note` says why not otherwise.
  std::optional<SealRecord> record;
  std::string record_note;
};

// The last component of a path ("libc.so.6" for /usr/lib/.../libc.so.6).
std::string_view file_name_of(std::string_view path) noexcept;

// The load bias that puts one of the image's PT_LOADs where `e` is: the
// loader maps each segment's page-aligned file offset at bias + its
// page-aligned vaddr. nullopt when no segment starts at the mapping's offset
// (a mapping split off inside a segment, or the file mapped as data).
std::optional<Addr> load_bias_of(const ElfImage& image, const kernel::SmapsEntry& e);

// Opens the ELF file behind a mapping: fills `image` or returns false with a
// message. Given the mapping's path and its smaps entry.
using ElfOpener =
    std::function<bool(const kernel::SmapsEntry& entry, ElfImage& image, std::string* error)>;

// An opener for a live process: /proc/PID/root/PATH (so containers work),
// then /proc/PID/map_files/START-END (deleted files; needs CAP_SYS_ADMIN or
// CAP_CHECKPOINT_RESTORE).
ElfOpener live_elf_opener(pid_t pid);

// Takes the entries by value: their names move into the report.
// With `record`, the profile is the record's, and each object carries the
// run's verdict: what the run left alone on purpose (may unload, opted out)
// is not "a loader would seal this".
ProcessReport inspect_entries(std::vector<kernel::SmapsEntry> entries, const ElfOpener& open_elf,
                              Profile profile, const std::string& exe = {},
                              const SealRecord* record = nullptr);

}  // namespace vmseal::sealing
