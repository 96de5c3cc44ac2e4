// /proc/PID/smaps read into typed records. Importing them into an engine
// AddressSpace is smaps_import.hpp's: this header needs no engine.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vmseal/engine/types.hpp"
#include "vmseal/engine/vm_flags.hpp"

namespace vmseal::kernel {

struct SmapsEntry {
  Addr start = 0;
  Addr end = 0;
  std::string perms;  // "rw-p"
  std::uint64_t offset = 0;
  std::uint32_t dev_major = 0;
  std::uint32_t dev_minor = 0;
  std::uint64_t inode = 0;
  std::string name;          // path, [heap], [stack], ... or empty
  std::string header;        // the maps line exactly as the kernel printed it
  std::string vmflags_text;  // after "VmFlags: ", with the kernel's trailing space
  VmFlags vmflags = 0;
  std::uint64_t anonymous_kb = 0;
};

// Reads /proc/PID/smaps (or /proc/self/smaps for pid 0) through one open file
// that is rewound for each read, so a caller can re-read it cheaply.
class SmapsReader {
 public:
  SmapsReader() = default;
  ~SmapsReader();
  SmapsReader(const SmapsReader&) = delete;
  SmapsReader& operator=(const SmapsReader&) = delete;

  // False with a message (no such process, permission denied, ...).
  bool open(int pid, std::string* error);
  void close() noexcept;
  // Reads the entries that start below `stop_at` (all of them by default) and
  // stops reading there, so the kernel never generates the rest. False with a
  // message when the file cannot be read or parsed.
  bool read(std::vector<SmapsEntry>& out, std::string* error, Addr stop_at = ~Addr{0});
  // Lean reading: the header's fields and VmFlags only, no header or
  // VmFlags text and no Anonymous: (saves two allocations per entry and a
  // look at each of its ~20 field lines). Off by default.
  void set_lean(bool lean) noexcept { lean_ = lean; }

 private:
  int fd_ = -1;
  bool lean_ = false;
  std::vector<char> buf_;
};

// Parses smaps text (for tests and for files captured elsewhere).
bool parse_smaps(const std::string& text, std::vector<SmapsEntry>& out, std::string* error,
                 Addr stop_at = ~Addr{0});

}  // namespace vmseal::kernel
