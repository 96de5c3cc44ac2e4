// `vmseal audit`: a static look at ELF files, one or a whole tree, the way
// checksec audits a system: RELRO, BIND_NOW, text relocations, W+X segments,
// the stack, the memory-seal marker, mutable ranges, and what a sealing
// loader would seal. The files may be hostile: nothing but regular files is
// opened (never a FIFO or a device, never through a symlink while walking),
// the walk is bounded in files and depth, and a file that is not ELF is
// counted, not parsed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "vmseal/sealing/elf_image.hpp"
#include "vmseal/sealing/plan.hpp"

namespace vmseal::sealing {

struct AuditFinding {
  enum class Severity : std::uint8_t {
    Warning,  // a weakness of the file: sealing is weaker or impossible because
              // of it
    Note,     // worth knowing, not a fault of the file
  };
  Severity severity = Severity::Warning;
  std::string code;  // stable, for scripts: "no-relro", "partial-relro", "textrel", ...
  std::string text;
};

struct AuditReport {
  std::string path;
  ElfImage image;
  std::vector<PlannedRange> plan;  // at bias 0: the object's own addresses
  std::vector<AuditFinding> findings;
  std::size_t warnings() const noexcept;
};

// "full", "partial" or "none".
std::string_view relro_level(const ElfImage& image) noexcept;

enum class AuditError : std::uint8_t { None, Io, NotRegular, NotElf };

// One file. False with `error` and `kind` set when it cannot be audited.
// `fd`, when given, is an open descriptor of `path` (read from, not closed).
bool audit_file(const std::string& path, Profile profile, AuditReport& out, std::string* error,
                AuditError* kind, int fd = -1);

// How `vmseal run` would seal a program, decided as `run` decides it
// (launch.hpp, plan_launch) on this machine, for this user.
struct RunMethod {
  std::string method;  // "preload", "ptrace" (a static program's start-up), "none", "n/a"
  std::string why;
};
RunMethod run_method_for(const std::string& path, const ElfImage& image);

struct TreeLimits {
  std::size_t max_files = 1'000'000;  // files audited (ELF or not) before the walk stops
  std::size_t max_depth = 64;         // directories below a root
};

struct TreeAudit {
  std::vector<AuditReport> reports;  // the ELF files, in walk order (sorted names)
  std::uint64_t not_elf = 0;  // regular files that are not loadable ELF (scripts, data, .o files)
  std::uint64_t skipped = 0;  // symlinks, devices, FIFOs, sockets: never opened
  std::vector<std::string> errors;  // "PATH: why" for what could not be read
  bool truncated = false;           // a limit stopped the walk
};

// Audits every regular file under `roots` (a root may be a file). Symlinks
// are not followed, not even to directories; mount points are crossed.
// `progress(files_seen)` is called every 256 files when given.
TreeAudit audit_tree(const std::vector<std::string>& roots, Profile profile,
                     const TreeLimits& limits = {},
                     const std::function<void(std::uint64_t)>& progress = {});

}  // namespace vmseal::sealing
