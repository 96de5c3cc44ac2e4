// What execve mapped, inferred (vmseal sim --exec-files): the layout
// binfmt_elf builds from the program a trace's execve names and from its
// PT_INTERP, placed where the trace's own later calls show the kernel put
// it (docs/kernel-rules.md §7, docs/engine.md "Replaying calls").
//
// A trace never shows the mappings the kernel makes at execve. ASLR hides
// their bases, and nothing in the trace says which file ran. With the files
// (an explicit opt-in: a trace is untrusted input and must not make vmseal
// open files by itself), the sizes and offsets of every mapping are known and
// only the bases are not. Each image stays *pending* until a call reveals its
// base: the mprotect(PROT_READ) with which ld.so makes an object's RELRO
// read-only names an address and a length that only one place of one image
// explains. The image is mapped into the engine then. Once every image is
// placed, the whole range below mmap_base is known. The stack stays unknown:
// its top is random, and it grows on faults the trace does not show.
//
// The reading of files lives outside the simulator (ExecFileSource; vmseal
// sealing::RootExecFiles reads them under a root directory). Nothing here
// does I/O.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vmseal/engine/address_space.hpp"
#include "vmseal/engine/syscall.hpp"
#include "vmseal/trace/sim.hpp"

namespace vmseal::trace {

// One PT_LOAD program header.
struct ExecSegment {
  std::uint64_t offset = 0;
  std::uint64_t vaddr = 0;
  std::uint64_t filesz = 0;
  std::uint64_t memsz = 0;
  bool r = false, w = false, x = false;
};

// What binfmt_elf (or binfmt_script) reads of one file.
struct ExecFile {
  std::string path;           // the file's own name (symlinks resolved), as maps shows it
  std::uint64_t size = 0;     // st_size
  std::string script_interp;  // a "#!" script: the interpreter it names; nothing else is set
  bool et_dyn = false;        // ET_DYN (PIE, ld.so, static-pie) rather than ET_EXEC
  std::vector<ExecSegment> loads;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> relro;  // PT_GNU_RELRO [start, end)
  std::string interp;                                            // PT_INTERP
};

// Where the files come from. find() gives a file that stays valid for the
// source's lifetime, or nullptr with why.
class ExecFileSource {
 public:
  virtual ~ExecFileSource() = default;
  virtual const ExecFile* find(const std::string& path, std::string* why) = 0;
};

// The vDSO block the kernel maps below the topmost image ([vvar] 4 pages,
// [vvar_vclock] 2, [vdso] 2 on Linux 6.18 x86-64; probed, §7.3).
inline constexpr std::uint64_t kVdsoBlockPages = 8;

// The inferred exec layout of one mm.
class ExecInference {
 public:
  // At a successful execve of `path` (empty: the trace does not say). Follows
  // "#!" lines as binfmt_script does, then reads PT_INTERP.
  static ExecInference start(ExecFileSource& files, const std::string& path);

  // The file that runs (for /proc/self/exe); empty when unknown.
  const std::string& exe() const noexcept { return exe_; }
  // Why the layout cannot be inferred; empty while it can.
  const std::string& problem() const noexcept { return problem_; }
  bool complete() const noexcept { return complete_; }
  // What a call on memory nobody has shown should say about the layout.
  std::string why_unknown() const;

  // Before a memory call that the kernel completed with `recorded`: when it
  // reveals an image's base, maps the image into `as` (Placed: the call then
  // runs on it). A call two images could explain is kept (Deferred) until
  // another call places one of them; then it places the other and is made
  // again in the engine, as the kernel made it. `start_brk` is the process's
  // first program break (0: not seen yet).
  enum class Reveal : std::uint8_t { None, Placed, Deferred };
  Reveal reveal(const Syscall& call, const SysResult& recorded, AddressSpace& as, Addr start_brk);
  // Whether [start, end) is known through the layout.
  bool covers(Addr start, Addr end) const { return known_.contains(start, end); }
  // An address the known part covers from `at` on (`at` when none).
  Addr covered_until(Addr at) const { return known_.covered_until(at); }
  // A call the simulator could not verify touched [start, end): the engine's
  // state there may differ from the kernel's, so the layout no longer vouches for it.
  void blind(Addr start, Addr end);
  // The kernel placed a mapping ending at `end` with no hint: below
  // mmap_base in the top-down layout, so below the topmost image's vDSO block
  // (an image placed above it would be wrong; under the legacy bottom-up
  // layout the images are never placed).
  void saw_placement(Addr end) { placed_below_ = std::max(placed_below_, end); }
  // Whether a mapping the kernel placed at [start, end) falls on an image the
  // layout put there (then the inference is wrong).
  bool collides(const AddressSpace& as, Addr start, Addr end) const;
  // The kernel mapped something the trace does not show (why): the layout
  // no longer vouches for anything.
  void lose(std::string why);

 private:
  struct Image {
    const ExecFile* file = nullptr;
    bool interp = false;  // the program's interpreter
    bool top = false;     // mapped top-down from mmap_base, the vDSO below it
    bool placed = false;
    Addr bias = 0;
  };
  bool accepts(const Image& im, Addr bias, const AddressSpace& as, Addr start_brk) const;
  // The one image [addr, addr + len) can be the RELRO of, and its bias.
  Image* explain(Addr addr, std::uint64_t len, const AddressSpace& as, Addr start_brk, int& count,
                 Addr& bias);
  void resolve_deferred(AddressSpace& as, Addr start_brk);
  void place(Image& im, Addr bias, AddressSpace& as);
  void learn(Addr start, Addr end);

  std::vector<Image> images_;
  std::vector<std::pair<Addr, std::uint64_t>> deferred_;  // at most kMaxDeferred
  static constexpr std::size_t kMaxDeferred = 8;
  std::string exe_;
  std::string problem_;
  bool complete_ = false;
  Addr placed_below_ = 0;
  RangeSet known_;
  RangeSet blind_;
  RangeSet image_ranges_;
};

// The mappings binfmt_elf makes for `file` at `bias` (elf_load(): each
// PT_LOAD's file pages, the partial page zeroed, the rest of the bss
// anonymous), made in `as` with the engine's own calls. False when the engine
// refused one.
bool map_exec_file(AddressSpace& as, const ExecFile& file, Addr bias);
// The image's extent at bias 0: [first PT_LOAD page, last PT_LOAD end page).
std::pair<Addr, Addr> exec_file_span(const ExecFile& file);

}  // namespace vmseal::trace
