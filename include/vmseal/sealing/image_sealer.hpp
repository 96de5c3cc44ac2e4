// Seals this process's loaded images the way OpenBSD's ld.so does: each
// object that can never be unloaded (start-up objects, the loader, preloads,
// NODELETE objects) gets its plan (plan.hpp) applied with mseal(2). Shared by
// the preload (`vmseal run`) and seal_loaded_images() (api.hpp). It runs in
// every sealed program's start-up, so it never allocates and never throws.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vmseal/sealing/loaded_objects.hpp"
#include "vmseal/sealing/plan.hpp"
#include "vmseal/sealing/relro.hpp"

namespace vmseal::sealing {

struct SealerOptions {
  Profile profile = Profile::Default;
  // Objects left alone: globs separated by ':', each matched (fnmatch) against
  // the object's path and against its file name.
  const char* opt_out = nullptr;
  bool dry_run = false;  // plan and report, seal nothing
  // What RELRO becomes before its seal (relro.hpp): by default a read-only
  // anonymous copy, which no madvise can discard.
  RelroMode relro = RelroMode::Anonymous;
  // What sealed text, rodata and the loader's gaps become: File (as mapped,
  // the default) or Anonymous, which closes MADV_DONTFORK and
  // MADV_GUARD_INSTALL on them, at the cost of private copies of every sealed
  // code page (docs/run.md). Objects on tmpfs are copied whatever this says.
  RelroMode text = RelroMode::File;
};

enum class ObjectVerdict : std::uint8_t {
  Sealed,      // every range the profile seals is sealed
  Partial,     // some ranges could not be sealed (see their errors)
  DryRun,      // would be sealed
  OptedOut,    // matched an opt-out glob
  MayUnload,   // opened by dlopen without NODELETE: dlclose must stay possible
  Kernel,      // the vDSO: the kernel's mapping (the strict profile seals it by name)
  TooComplex,  // more segments than the planner holds
  Failed,      // nothing could be sealed
};
const char* object_verdict_name(ObjectVerdict v) noexcept;

// The sealer's reasons (ObjectResult::why), shared with the record (record.hpp).
inline constexpr const char* kVdsoWhy =
    "the kernel's vDSO: sealed by name under the strict profile";
inline constexpr const char* kMayUnloadWhy =
    "opened with dlopen without RTLD_NODELETE: it may be unloaded, and a sealed object cannot be";
inline constexpr const char* kOptedOutWhy = "matches an opt-out glob";
inline constexpr const char* kTooComplexWhy =
    "no loadable segment, or more segments or ranges than vmseal plans for";
inline constexpr const char* kSealRefusedWhy =
    "mseal refused a range, or a range it accepted is not sealed (see its error)";

inline constexpr int kNotMapped = -1;
// mseal returned 0 but the range is not sealed: a same-size mremap of it, which
// the kernel refuses with EPERM on sealed memory, went through (a seccomp
// filter that fakes mseal's success does this).
inline constexpr int kSealNotEffective = -2;
// The range does not have the protection its plan expects (text writable;
// rodata, RELRO or a gap writable or executable; data executable): a
// constructor changed it before the seal. Left unsealed and counted as a
// failure: sealing would freeze the changed protection.
inline constexpr int kNotAsPlanned = -3;
// Checked again after the seal: another thread changed a sealed range's
// protection between the check before the seal and the seal. It is sealed
// that way; a failure (--enforce: exit 125).
inline constexpr int kChangedWhileSealing = -4;

struct ObjectResult {
  const LoadedObject* object = nullptr;
  const char* path = "";  // the program's path for the main executable
  ObjectVerdict verdict = ObjectVerdict::Sealed;
  const char* why = "";  // why it is not (fully) sealed
  bool at_startup = false;
  const PlannedRange* ranges = nullptr;
  // Per range: errno of the mseal that covered it, 0 when sealed or not
  // tried, kNotMapped for a gap with nothing mapped in it.
  const int* errors = nullptr;
  // Per range: what a file-backed range became before the seal (RELRO, and
  // text and rodata under SealerOptions::text; NotRelro where nothing was done).
  const RelroOutcome* relro = nullptr;
  const int* relro_errors = nullptr;
  std::size_t n_ranges = 0;
  std::uint64_t sealed_bytes = 0;
};

// A kernel mapping the strict profile seals by its /proc/self/maps name.
struct KernelMappingResult {
  const char* name = "";  // "[stack]", "[vdso]", "[vvar]", "[vvar_vclock]"
  Addr start = 0;
  Addr end = 0;
  bool sealed = false;
  int error = 0;
};

struct SealSummary {
  std::size_t objects_sealed = 0;
  std::size_t objects_left = 0;           // decided not to seal (opt-out, may unload, ...)
  std::size_t failures = 0;               // ranges mseal refused, or that a check found unsealed
  int first_error = 0;                    // an errno, kSealNotEffective or kNotAsPlanned
  std::size_t relro_file_backed = 0;      // sealed RELRO ranges still discardable (relro.hpp)
  std::size_t changed_while_sealing = 0;  // sealed with a protection changed after the check
  std::uint64_t sealed_bytes = 0;
};

class ImageSealer {
 public:
  using ObjectSink = void (*)(const ObjectResult& result, void* context);
  using KernelSink = void (*)(const KernelMappingResult& result, void* context);

  // Constant-initialised when static (see ObjectKeySet): declare it
  // `constinit` and configure it at run time.
  constexpr ImageSealer() noexcept = default;
  explicit ImageSealer(const SealerOptions& options) noexcept : options_(options) {}
  void set_options(const SealerOptions& options) noexcept { options_ = options; }

  // Whether mseal can be used here (probed once: mseal(0, 0, 0) succeeds on
  // a kernel with it; ENOSYS or a seccomp filter's error means no).
  static bool mseal_available(int* error = nullptr) noexcept;

  // Notes the objects loaded now as start-up objects, which glibc never
  // unloads. Call it during start-up, from a constructor: the preload's runs
  // right after libc's, before any other initialiser could dlopen.
  void snapshot_startup() noexcept { objects_.snapshot_startup(); }

  // An object the program opened with RTLD_NODELETE: sealable from now on.
  void mark_pinned(const ObjectKey& key) noexcept { objects_.set(key, ObjectTable::kPinned); }

  // Decides about every loaded object not decided yet, seals what the profile
  // says, and reports each decision to `sink` (once per object). Without a
  // sink and without opt-out globs, no path is looked up (the program's
  // needs a readlink).
  // `paths`: give the sink each object's path (the program's costs a
  // readlink); without, the program's path is "".
  SealSummary seal_new_objects(ObjectSink sink, void* context, bool paths = true) noexcept;

  // Strict profile: the main stack, [vdso] and [vvar].
  SealSummary seal_kernel_mappings(KernelSink sink, void* context) noexcept;

  const SealerOptions& options() const noexcept { return options_; }

 private:
  void seal_object(const LoadedObject& object, void* pass) noexcept;
  static void check_after_sealing(SealSummary& summary) noexcept;

  SealerOptions options_;
  ObjectTable objects_;
};

// Whether [start, end) is really sealed: a no-op (a same-size mremap of its
// first page) is refused with EPERM. Changes nothing.
bool verify_sealed(Addr start, Addr end) noexcept;

// Whether `prot` is what a range of kind `k` has when the loader is done
// (text not writable; rodata, RELRO and gaps neither writable nor
// executable; data not executable): nothing the seal would freeze in a
// dangerous state.
bool protection_as_planned(SegmentKind k, int prot) noexcept;

// Whether `path` (or its file name) matches one of the ':'-separated globs.
bool matches_opt_out(const char* globs, const char* path) noexcept;

}  // namespace vmseal::sealing
