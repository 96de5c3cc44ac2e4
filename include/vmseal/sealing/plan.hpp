// What a sealing loader does with an object loaded at a given bias, the way
// OpenBSD's ld.so does it: the whole span of the object becomes immutable
// except what must stay mutable. The plan is shared by `vmseal inspect` (what
// should have been sealed), `vmseal run` (what to seal) and `vmseal predict`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vmseal/engine/types.hpp"
#include "vmseal/sealing/elf_image.hpp"

namespace vmseal::sealing {

// What a page range of a loaded object is.
enum class SegmentKind : std::uint8_t {
  Text,       // executable
  Rodata,     // read-only, not executable
  Relro,      // PT_GNU_RELRO: written by relocation, read-only afterwards
  Data,       // writable, from the file
  Bss,        // writable, zero-filled beyond the file (anonymous memory)
  Gap,        // PROT_NONE hole between segments, reserved by the loader
  Mutable,    // PT_GNU_MUTABLE / PT_OPENBSD_MUTABLE / PF_OPENBSD_MUTABLE
  WriteExec,  // a segment both writable and executable
};
std::string_view segment_kind_name(SegmentKind k) noexcept;

// How much a loader seals.
enum class Profile : std::uint8_t {
  Minimal,  // text only
  Default,  // text, rodata, RELRO, gaps: what real programs survive
  Strict,   // and data and bss
};
std::string_view profile_name(Profile p) noexcept;
bool profile_from_name(std::string_view name, Profile& out) noexcept;

struct PlannedRange {
  Addr start = 0;  // page-aligned, after the bias
  Addr end = 0;
  SegmentKind kind = SegmentKind::Text;
  bool seal = false;
  // Why a range is left unsealed under the profile ("" when sealed).
  std::string_view why_not;
};

// What the plan needs of an object, whether read from its file (ElfImage) or
// from its program headers in memory (loaded_objects.hpp).
struct ObjectLayout {
  std::span<const LoadSegment> loads;
  std::optional<VRange> relro;
  std::span<const MutableRange> mutable_ranges;
};

// More ranges than any real object has (a range per kind change).
inline constexpr std::size_t kMaxPlannedRanges = 64;

// The object's page ranges from its lowest to its highest loaded page, in
// address order, without overlaps or holes, each with its kind and whether
// `profile` seals it. Escape hatches are honoured, page-aligned outwards
// (a mutable range never shares a sealed page).
std::vector<PlannedRange> plan_object(const ElfImage& image, Addr bias, Profile profile);

// The same plan without allocating (the preload runs it in every process):
// writes the ranges to `out` and returns how many, or 0 when the object has
// no loadable segment or needs more than `capacity` ranges.
std::size_t plan_layout(const ObjectLayout& layout, Addr bias, Profile profile, PlannedRange* out,
                        std::size_t capacity) noexcept;

// Whether `profile` seals a range of kind `k` (before escape hatches).
bool profile_seals(Profile profile, SegmentKind k) noexcept;

}  // namespace vmseal::sealing
