// The C interface (include/vmseal/vmseal.h) over the C++ one (api.hpp).
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <exception>

#include "vmseal/sealing/api.hpp"
#include "vmseal/vmseal.h"

namespace {

int report(const vmseal::SealResult& r, vmseal_error* err) {
  if (!r.error) {
    if (err != nullptr) {
      err->code = 0;
      err->message[0] = '\0';
    }
    return 0;
  }
  if (err != nullptr) {
    err->code = r.error.value();
    std::snprintf(err->message, sizeof err->message, "%s", r.message.c_str());
  }
  errno = r.error.value();
  return -1;
}

// No C++ exception may cross into C.
template <class F>
int guarded(vmseal_error* err, F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& e) {
    return report({std::make_error_code(std::errc::not_enough_memory), e.what()}, err);
  }
}

// An allocation is [guard][header, data...][guard]: the size lives in a
// header at the start of the first data page (the guards stay PROT_NONE),
// and is frozen and sealed with the data.
struct AllocHeader {
  size_t size;  // bytes asked for
  size_t magic;
};
constexpr size_t kMagic = 0x766d7365616c6163ULL;  // "vmsealac"
constexpr size_t kHeader = 64;                    // keeps the data 64-byte aligned

}  // namespace

extern "C" {

int vmseal_available(void) { return vmseal::seal_available() ? 1 : 0; }

int vmseal_seal(void* addr, size_t len, vmseal_error* err) {
  return guarded(err, [&] { return report(vmseal::seal(addr, len), err); });
}

int vmseal_freeze(void* addr, size_t len, vmseal_error* err) {
  return guarded(err, [&] { return report(vmseal::freeze(addr, len), err); });
}

int vmseal_is_sealed(const void* addr, size_t len, vmseal_error* err) {
  return guarded(err, [&] {
    std::error_code ec;
    const bool sealed = vmseal::is_sealed(addr, len, &ec);
    if (ec) return report({ec, "cannot read /proc/self/smaps"}, err);
    report({}, err);
    return sealed ? 1 : 0;
  });
}

void* vmseal_sealed_alloc(size_t size, vmseal_error* err) {
  if (size > SIZE_MAX - kHeader - 3 * 4096) {
    report({std::make_error_code(std::errc::invalid_argument), "size too large"}, err);
    return nullptr;
  }
  std::error_code ec;
  void* p = vmseal::detail::map_guarded(size + kHeader, ec);
  if (p == nullptr) {
    report({ec, "cannot map pages for a sealed allocation"}, err);
    return nullptr;
  }
  auto* h = static_cast<AllocHeader*>(p);
  h->size = size;
  h->magic = kMagic;
  report({}, err);
  return static_cast<char*>(p) + kHeader;
}

int vmseal_sealed_freeze(void* ptr, vmseal_error* err) {
  return guarded(err, [&] {
    if (ptr == nullptr || (reinterpret_cast<uintptr_t>(ptr) & 4095) != kHeader)
      return report({std::make_error_code(std::errc::invalid_argument),
                     "not a pointer from vmseal_sealed_alloc"},
                    err);
    auto* h = reinterpret_cast<AllocHeader*>(static_cast<char*>(ptr) - kHeader);
    if (h->magic != kMagic)
      return report({std::make_error_code(std::errc::invalid_argument),
                     "not a pointer from vmseal_sealed_alloc"},
                    err);
    bool read_only = false;
    return report(vmseal::detail::freeze_guarded(h, h->size + kHeader, read_only), err);
  });
}

int vmseal_seal_loaded_images(enum vmseal_profile profile, const char* opt_out, vmseal_error* err) {
  return guarded(err, [&] {
    vmseal::SealImagesOptions o;
    switch (profile) {
      case VMSEAL_PROFILE_MINIMAL:
        o.profile = vmseal::SealImagesOptions::Profile::Minimal;
        break;
      case VMSEAL_PROFILE_DEFAULT:
        o.profile = vmseal::SealImagesOptions::Profile::Default;
        break;
      case VMSEAL_PROFILE_STRICT:
        o.profile = vmseal::SealImagesOptions::Profile::Strict;
        break;
      default:
        return report({std::make_error_code(std::errc::invalid_argument), "unknown profile"}, err);
    }
    if (opt_out != nullptr) o.opt_out = opt_out;
    const vmseal::LoadedImagesResult r = vmseal::seal_loaded_images(o);
    if (r.status.error) return report(r.status, err);
    report({}, err);
    return static_cast<int>(r.objects_sealed);
  });
}

}  // extern "C"
