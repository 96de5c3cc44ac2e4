// RELRO that cannot lose its relocations. Linux 6.18 lets a discarding
// madvise (DONTNEED, DONTNEED_LOCKED, GUARD_INSTALL, DONTFORK, ...) through on
// a sealed *private file* mapping: RELRO's relocated pages are thrown away
// and read back from the file, unrelocated (docs/attacks.md). mseal refuses
// those advices only on anonymous memory that is not writable
// (can_madvise_modify() in mm/madvise.c), so the relocated bytes are moved
// out of the file mapping before the seal. Two ways, both probed on 6.18
// (tests/attack/anon_relro_probe.c) and measured in bench/README.md:
//   Anonymous  a read-only anonymous copy moved over RELRO with one
//              mremap(MREMAP_MAYMOVE | MREMAP_FIXED): every discarding advice
//              is refused with EPERM afterwards, DONTFORK and GUARD_INSTALL
//              included. /proc/PID/maps no longer names the object there.
//   Memfd      the bytes in a memfd sealed against writes and size changes,
//              mapped MAP_PRIVATE | MAP_FIXED read-only over RELRO: a discard
//              is accepted but re-reads the same bytes (no effect); maps show
//              "/memfd:vmseal-relro:NAME"; DONTFORK and GUARD_INSTALL still
//              succeed (a hole in a child, an unreadable page).
//   File       RELRO left as the loader mapped it: the gap stays open.
// Nothing here allocates or throws: the preload runs it in every program.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vmseal/engine/types.hpp"

namespace vmseal::sealing {

enum class RelroMode : std::uint8_t { Anonymous, Memfd, File };
const char* relro_mode_name(RelroMode m) noexcept;  // "anon", "memfd", "file"
bool relro_mode_from_name(const char* name, RelroMode& out) noexcept;

// This process's mappings as /proc/self/maps listed them when load() ran:
// start, end and protection, in address order, in a fixed table (a static
// instance costs only the pages its entries touch).
class SelfMappings {
 public:
  static constexpr std::size_t kCapacity = 16384;
  constexpr SelfMappings() noexcept = default;

  // Reads /proc/self/maps; false (and empty) when it cannot be read whole.
  bool load() noexcept { return load_file("/proc/self/maps"); }
  // The same for another process (/proc/PID/maps): the ptrace sealer's view.
  bool load(int pid) noexcept;
  bool loaded() const noexcept { return loaded_; }
  // Whether [start, end) is mapped without a hole by private mappings that
  // all have protection `prot` (PROT_* bits).
  bool private_with_prot(Addr start, Addr end, int prot) const noexcept;
  // The union of the protections over [start, end); false when part of it
  // is not mapped (or the table was not loaded).
  bool protection_over(Addr start, Addr end, int& prot) const noexcept;
  // Whether the file mapped at `addr` is on a device whose major number is 0
  // (tmpfs, memfds, hugetlbfs, but also btrfs and overlayfs): only there can
  // the file be memory-backed. False for a disk device or no mapping.
  bool on_unnamed_device(Addr addr) const noexcept;

  // The kernel's own mappings by their maps name: [stack], [vdso], [vvar],
  // [vvar_vclock] (the strict profile seals these by name).
  static constexpr const char* kKernelNames[] = {"[stack]", "[vdso]", "[vvar]", "[vvar_vclock]"};
  struct KernelMapping {
    const char* name;  // one of kKernelNames
    Addr start, end;
  };
  // Calls fn for each, in address order.
  template <typename Fn>
  void for_each_kernel_mapping(Fn fn) const noexcept {
    for (std::size_t i = 0; i < n_; ++i)
      if (entries_[i].kernel_name >= 0)
        fn(KernelMapping{kKernelNames[entries_[i].kernel_name], entries_[i].start,
                         entries_[i].end});
  }

 private:
  std::size_t first_ending_after(Addr start) const noexcept;
  bool load_file(const char* path) noexcept;

  struct Entry {
    Addr start = 0;
    Addr end = 0;
    std::uint8_t prot = 0;
    bool shared = false;
    bool unnamed_device = false;   // a file on a device with major number 0
    std::int8_t kernel_name = -1;  // index into kKernelNames, or -1
  };
  Entry entries_[kCapacity]{};
  std::size_t n_ = 0;
  bool loaded_ = false;
};

// What happened to one RELRO range before its seal.
enum class RelroOutcome : std::uint8_t {
  NotRelro,    // the range is not RELRO, or nothing was to be done
  Anonymised,  // now a read-only anonymous copy
  Memfd,       // now a private read-only mapping of a sealed memfd
  KeptFile,    // left file-backed on purpose (RelroMode::File, or a dry run)
  Skipped,     // left file-backed: not read-only private memory at seal time
  Failed,      // left file-backed: a system call failed (errno in `error`)
};
const char* relro_outcome_name(RelroOutcome o) noexcept;

// Replaces [start, end) (page-aligned, private, protection `prot`) with a
// copy that no madvise can revert, as `mode` says. `label` names the memfd.
// On failure the range is as it was: the copy is made aside and moved in by
// one call. The same serves text and rodata under `--text anon`, where the
// copy is anonymous memory with the original protection.
RelroOutcome replace_with_copy(Addr start, Addr end, int prot, RelroMode mode, const char* label,
                               int* error) noexcept;

}  // namespace vmseal::sealing
