/* vmseal: memory sealing for applications (C interface).
 *
 * Link with -lvmseal. Every function is safe to call on a kernel without
 * mseal(2): it fails with ENOSYS (or the errno a seccomp filter returns) and
 * changes nothing. A seal is one-way: nothing here, and nothing in Linux,
 * unseals. The C++ interface is <vmseal/vmseal.hpp>. This header is C99 and
 * C++; it needs nothing but <stddef.h>.
 */
#ifndef VMSEAL_VMSEAL_H
#define VMSEAL_VMSEAL_H

#include <stddef.h>

/* What libvmseal exports; everything else in it is hidden. */
#ifndef VMSEAL_API
#define VMSEAL_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Why a call failed: an errno value and a sentence naming the range. */
typedef struct vmseal_error {
  int code;
  char message[256];
} vmseal_error;

/* 1 when mseal(2) works in this process, 0 when the kernel lacks it or a
 * seccomp filter denies it. */
VMSEAL_API int vmseal_available(void);

/* Seals [addr, addr + len). The kernel's own checks are made first (page
 * alignment, no overflow, every page mapped, room under vm.max_map_count for
 * the VMAs the seal splits), so the call either seals the whole range or
 * changes nothing. Returns 0, or -1 with `err` (may be NULL) filled in. */
VMSEAL_API int vmseal_seal(void* addr, size_t len, vmseal_error* err);

/* Makes [addr, addr + len) read-only, then seals it: the "initialise, then
 * freeze" pattern (OpenBSD's malloc options, V8's flags). 0 or -1. */
VMSEAL_API int vmseal_freeze(void* addr, size_t len, vmseal_error* err);

/* 1 when every page of [addr, addr + len) is sealed, 0 when some page is not
 * (or is not mapped), -1 with `err` when /proc/self/smaps cannot be read. */
VMSEAL_API int vmseal_is_sealed(const void* addr, size_t len, vmseal_error* err);

/* Write-once memory: `size` bytes (rounded up to pages) in a mapping of its
 * own, between two PROT_NONE guard pages, writable until frozen. Never seal
 * malloc() memory: the allocator must be able to reuse it. */
VMSEAL_API void* vmseal_sealed_alloc(size_t size, vmseal_error* err);
/* Freezes an allocation of vmseal_sealed_alloc (and its guard pages). */
VMSEAL_API int vmseal_sealed_freeze(void* ptr, vmseal_error* err);

enum vmseal_profile {
  VMSEAL_PROFILE_MINIMAL = 0, /* text only */
  VMSEAL_PROFILE_DEFAULT = 1, /* text, rodata, RELRO, gaps between segments */
  VMSEAL_PROFILE_STRICT = 2   /* and data, bss, the main stack, [vdso], [vvar] */
};

/* The preload's sealing without the preload: seals the objects that can never
 * be unloaded (the program, the loader, start-up libraries, NODELETE ones)
 * the way `vmseal run` would. `opt_out` is NULL or globs separated by ':'.
 * Call it at the start of main. Returns the number of objects sealed, or -1
 * with `err` when mseal is unavailable or a range could not be sealed. */
VMSEAL_API int vmseal_seal_loaded_images(enum vmseal_profile profile, const char* opt_out,
                                         vmseal_error* err);

#ifdef __cplusplus
}
#endif

#endif /* VMSEAL_VMSEAL_H */
