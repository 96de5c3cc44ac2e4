// The objects the dynamic loader has mapped into this process, read from
// their program headers and dynamic sections in memory (dl_iterate_phdr): no
// file is opened and nothing is allocated, because the preload runs this at
// the start of every program it seals.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "vmseal/engine/types.hpp"
#include "vmseal/sealing/plan.hpp"

namespace vmseal::sealing {

inline constexpr std::size_t kMaxObjectLoads = 16;
inline constexpr std::size_t kMaxObjectMutables = 16;
// MutableRange::type of a page the loader itself writes after start-up.
inline constexpr std::uint32_t kLoaderWritable = 0;

enum class ObjectRole : std::uint8_t {
  Program,      // the main executable (AT_PHDR)
  Interpreter,  // the dynamic loader (AT_BASE)
  Vdso,         // the kernel's [vdso] (AT_SYSINFO_EHDR)
  Library,      // every other shared object
};
const char* object_role_name(ObjectRole r) noexcept;

// An object's identity while it stays loaded: where its program headers are.
struct ObjectKey {
  Addr bias = 0;
  const void* phdr = nullptr;
  friend bool operator==(const ObjectKey&, const ObjectKey&) = default;
};

struct LoadedObject {
  const char* name = "";  // the loader's name for it ("" for the program)
  ObjectKey key{};
  ObjectRole role = ObjectRole::Library;
  LoadSegment loads[kMaxObjectLoads];
  std::size_t n_loads = 0;
  std::optional<VRange> relro;
  MutableRange mutables[kMaxObjectMutables];
  std::size_t n_mutables = 0;
  bool nodelete = false;     // DF_1_NODELETE
  bool textrel = false;      // DT_TEXTREL / DF_TEXTREL
  bool has_runpath = false;  // DT_RUNPATH
  bool has_rpath = false;    // DT_RPATH
  bool truncated = false;    // more segments than this holds: never sealed

  ObjectLayout layout() const noexcept;
};

// Calls `fn` for each object in the loader's order until it returns false.
using ObjectVisitor = bool (*)(const LoadedObject& object, void* context);
void for_each_loaded_object(ObjectVisitor fn, void* context) noexcept;

// Finds the loaded object that contains `address`; false when none does.
bool find_loaded_object(const void* address, LoadedObject& out) noexcept;

// What a sealer remembers about each object it has seen, in one table that
// never allocates. Meant for static storage: constant-initialised there (zero
// pages the kernel hands out on first touch, and each first touch costs a
// page fault, about 10 us on this machine), so declare instances `constinit`;
// a dynamic initialiser could run after a constructor has already used it.
class ObjectTable {
 public:
  enum Flag : std::uint8_t {
    kStartup = 1,   // loaded before the start-up snapshot: never unloaded
    kPinned = 2,    // opened with RTLD_NODELETE since
    kDecided = 4,   // sealed, or left alone for good
    kReported = 8,  // reported as possibly unloaded (looked at again later)
  };
  static constexpr std::size_t kCapacity = 1024;

  constexpr ObjectTable() noexcept = default;
  std::uint8_t flags(const ObjectKey& k) const noexcept;
  bool has(const ObjectKey& k, Flag f) const noexcept { return (flags(k) & f) != 0; }
  bool set(const ObjectKey& k, Flag f) noexcept;  // false when the table is full
  std::size_t size() const noexcept { return n_; }

  // Flags every object loaded now as a start-up object.
  void snapshot_startup() noexcept;

 private:
  struct Entry {
    ObjectKey key;
    std::uint8_t flags = 0;
  };
  std::size_t n_ = 0;  // first, beside the entries in use: one page for both
  Entry entries_[kCapacity]{};
};

}  // namespace vmseal::sealing
