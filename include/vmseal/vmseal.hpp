// vmseal: memory sealing for applications (C++17 or later; the C interface
// is <vmseal/vmseal.h>). This header needs only the C++ standard library and
// <sys/mman.h>; link with libvmseal (pkg-config vmseal, or CMake's
// find_package(vmseal) and the target vmseal::vmseal).
//
//   seal(p, n)            mseal(2) with the kernel's checks made first, so a
//                         call seals the whole range or changes nothing
//   freeze(p, n)          read-only, then sealed: "initialise, then freeze"
//   is_sealed(p, n)       whether every page is sealed (/proc/self/smaps)
//   Sealed<T>             a T in pages of its own, writable until frozen (the
//                         V8-flags pattern: write-once configuration)
//   seal_loaded_images()  what `vmseal run` does, without the preload
//
// Every call works on kernels without mseal: it fails with ENOSYS (or what a
// seccomp filter returns) and changes nothing. A seal is one-way; nothing
// here, or in Linux, unseals.
#ifndef VMSEAL_VMSEAL_HPP
#define VMSEAL_VMSEAL_HPP

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#include "vmseal/vmseal.h"  // VMSEAL_API

namespace vmseal {

// The outcome of a call: an errno-based code and a sentence that names the
// range and the reason (empty on success).
struct SealResult {
  std::error_code error;
  std::string message;
  explicit operator bool() const noexcept { return !error; }
};

// Whether mseal works in this process (probed once).
VMSEAL_API bool seal_available() noexcept;

// Seals [addr, addr + len). Checked first, as the kernel checks: the start
// page-aligned, no overflow (EINVAL); every page mapped (ENOMEM); room under
// vm.max_map_count for the VMAs the seal would split off (ENOMEM). Another
// thread changing the address space between the checks and the seal can
// still make the kernel refuse part of it.
VMSEAL_API SealResult seal(void* addr, std::size_t len);

// mprotect(PROT_READ), then seal, with the same checks made before either.
VMSEAL_API SealResult freeze(void* addr, std::size_t len);

// True when every page of the range is mapped and sealed. Reads
// /proc/self/smaps up to the range's end; `error` is set when it cannot.
VMSEAL_API bool is_sealed(const void* addr, std::size_t len, std::error_code* error = nullptr);

// How seal_loaded_images() seals: the options of `vmseal run`.
struct SealImagesOptions {
  enum class Profile { Minimal, Default, Strict };
  // What RELRO becomes before its seal (docs/run.md): a read-only anonymous
  // copy that no madvise can discard, a write-sealed memfd copy, or the
  // file mapping as it is.
  enum class Relro { Anonymous, Memfd, File };
  Profile profile = Profile::Default;
  std::string opt_out;  // globs separated by ':', matched against paths and file names
  Relro relro = Relro::Anonymous;
  bool copy_text = false;  // copy text and rodata to anonymous memory too (`--text anon`)
};

struct LoadedImagesResult {
  std::size_t objects_sealed = 0;
  std::size_t objects_left = 0;  // opted out, may be unloaded, the vDSO, ...
  std::size_t failures = 0;
  std::uint64_t sealed_bytes = 0;
  SealResult status;
};
// Seals the objects that can never be unloaded (the program, the loader,
// start-up libraries, NODELETE objects), planned as `vmseal run` plans them.
// Start-up objects are those loaded when libvmseal's constructor ran. Call it
// again after a dlopen of a NODELETE object to seal that one too.
VMSEAL_API LoadedImagesResult seal_loaded_images(const SealImagesOptions& options = {});

namespace detail {
// Page-aligned memory between two PROT_NONE guard pages, in one mapping.
VMSEAL_API void* map_guarded(std::size_t bytes, std::error_code& error) noexcept;
VMSEAL_API void unmap_guarded(void* data, std::size_t bytes) noexcept;
VMSEAL_API std::size_t guarded_pages_bytes(std::size_t bytes) noexcept;
// Freezes the data pages and seals the whole mapping, guards included.
// `read_only`: whether the data pages are now read-only (even when the seal
// then failed, say for want of mseal).
VMSEAL_API SealResult freeze_guarded(void* data, std::size_t bytes, bool& read_only);
}  // namespace detail

// A T that is written during initialisation and can never change after
// freeze(): it lives in pages of its own (never in the heap, whose memory
// the allocator must reuse), between guard pages, and freeze() makes them
// read-only and seals them with the guards. After freeze() the storage
// cannot be unmapped, so a frozen Sealed<T> leaks its pages by design and
// T's destructor is not run.
template <class T>
class Sealed {
 public:
  template <class... Args>
  explicit Sealed(Args&&... args) {
    std::error_code ec;
    void* p = detail::map_guarded(sizeof(T), ec);
    if (p == nullptr) throw std::system_error(ec, "vmseal::Sealed: cannot map pages");
    value_ = ::new (p) T(std::forward<Args>(args)...);
  }
  Sealed(const Sealed&) = delete;
  Sealed& operator=(const Sealed&) = delete;
  ~Sealed() {
    if (value_ == nullptr || frozen_) return;  // frozen pages stay, sealed
    value_->~T();
    detail::unmap_guarded(value_, sizeof(T));
  }

  const T& operator*() const noexcept { return *value_; }
  const T* operator->() const noexcept { return value_; }
  const T* get() const noexcept { return value_; }
  // Write access before freeze(); std::logic_error after (the pages are
  // read-only: a write would fault).
  T& mut() {
    if (frozen_) throw std::logic_error("vmseal::Sealed: written after freeze()");
    return *value_;
  }
  bool frozen() const noexcept { return frozen_; }

  // Read-only and sealed from now on. Without mseal the pages still become
  // read-only and the result says why they are not sealed.
  SealResult freeze() {
    if (frozen_) return {};
    bool read_only = false;
    SealResult r = detail::freeze_guarded(value_, sizeof(T), read_only);
    frozen_ = read_only;
    return r;
  }

 private:
  T* value_ = nullptr;
  bool frozen_ = false;
};

}  // namespace vmseal

#endif  // VMSEAL_VMSEAL_HPP
