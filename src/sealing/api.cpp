#include "vmseal/sealing/api.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <vector>

#include "vmseal/engine/vm_flags.hpp"
#include "vmseal/kernel/smaps.hpp"
#include "vmseal/kernel/syscalls.hpp"

namespace vmseal {
namespace {

constexpr Addr kUserSpaceEnd = Addr{1} << 47;  // x86-64, 4-level page tables

std::string range_text(Addr start, Addr end) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%" PRIx64 "-%" PRIx64, start, end);
  return buf;
}

SealResult fail(int err, std::string message) {
  return {std::error_code(err, std::generic_category()), std::move(message)};
}

// What the kernel would find in [start, end) before changing anything.
struct RangeCheck {
  SealResult result;
  bool all_sealed = true;  // every VMA of the range is sealed already
  bool any_sealed = false;
  bool all_read_only = true;  // ... and PROT_READ only
};

// mseal's and mprotect's checks, in the kernel's order: flags and alignment
// (EINVAL), wrap-around (EINVAL), a hole in the range (ENOMEM), then the VMA
// splits the change needs against vm.max_map_count (ENOMEM). A split is
// counted where the range starts or ends inside a VMA that is not sealed
// yet; merges might spare one, so near the limit this refuses what the
// kernel might still have done, never the other way round.
RangeCheck check_range(Addr start, std::size_t len_in, Addr& end) {
  RangeCheck c;
  if (!page_aligned(start)) {
    c.result = fail(EINVAL, range_text(start, start + len_in) + ": the start is not page-aligned");
    return c;
  }
  const Addr len = page_align_up(len_in);
  if ((len_in != 0 && len == 0) || start + len < start) {
    c.result = fail(EINVAL, "the range wraps around the end of the address space");
    return c;
  }
  end = start + len;
  if (len == 0) return c;
  kernel::SmapsReader reader;
  reader.set_lean(true);
  std::vector<kernel::SmapsEntry> entries;
  std::string error;
  if (!reader.open(0, &error) || !reader.read(entries, &error)) {
    c.result = fail(EIO, "cannot read /proc/self/smaps: " + error);
    return c;
  }
  Addr covered = start;
  std::size_t splits = 0;
  for (const kernel::SmapsEntry& e : entries) {
    if (e.end <= start) continue;
    if (e.start >= end) break;
    if (e.start > covered) break;  // a hole
    const bool sealed = (e.vmflags & vm::SEALED) != 0;
    c.all_sealed = c.all_sealed && sealed;
    c.any_sealed = c.any_sealed || sealed;
    c.all_read_only =
        c.all_read_only && (e.vmflags & (vm::WRITE | vm::EXEC)) == 0 && (e.vmflags & vm::READ) != 0;
    if (!sealed && e.start < start) ++splits;
    if (!sealed && e.end > end) ++splits;
    covered = e.end;
  }
  if (covered < end) {
    c.result = fail(ENOMEM, range_text(start, end) + ": not every page is mapped (" +
                                range_text(covered, end) + " is not); nothing was sealed");
    return c;
  }
  // [vsyscall] is listed but is no VMA (it lies above the user address space).
  std::size_t map_count = 0;
  for (const kernel::SmapsEntry& e : entries) map_count += e.start < kUserSpaceEnd ? 1 : 0;
  const std::uint64_t max = kernel::read_vm_sysctl("max_map_count", 65530);
  if (map_count + splits > max) {
    c.result =
        fail(ENOMEM, range_text(start, end) + ": sealing it splits " + std::to_string(splits) +
                         " mapping(s) and the process has " + std::to_string(map_count) +
                         " of vm.max_map_count " + std::to_string(max) + "; nothing was sealed");
    return c;
  }
  return c;
}

SealResult do_seal(Addr start, Addr end) {
  if (start == end) return {};
  const long r = kernel::sys_mseal(start, end - start, 0);
  // Checked by effect: a filter that fakes mseal's success is a failure.
  if (r == 0 && sealing::verify_sealed(start, end)) return {};
  if (r == 0)
    return fail(EPERM, range_text(start, end) +
                           ": mseal returned 0 but the range is not sealed (a seccomp filter "
                           "that fakes mseal?)");
  const int err = static_cast<int>(-r);
  if (err == ENOSYS || err == EPERM)
    return fail(
        err, range_text(start, end) + ": " + std::string(kernel::describe(kernel::probe_mseal())));
  return fail(err, range_text(start, end) +
                       ": mseal failed after the checks passed (another thread changed the "
                       "address space?)");
}

std::mutex g_images_mutex;
constinit sealing::ImageSealer g_images;

// The start-up snapshot: libvmseal's constructor runs during start-up, before
// main (after the libraries it depends on, which are start-up objects too).
__attribute__((constructor)) void snapshot_startup_objects() { g_images.snapshot_startup(); }

}  // namespace

bool seal_available() noexcept { return sealing::ImageSealer::mseal_available(); }

SealResult seal(void* addr, std::size_t len) {
  if (!seal_available()) {
    const kernel::MsealProbe p = kernel::probe_mseal();
    return fail(p.error != 0 ? p.error : ENOSYS, std::string(kernel::describe(p)));
  }
  Addr end = 0;
  const Addr start = reinterpret_cast<Addr>(addr);
  RangeCheck c = check_range(start, len, end);
  if (c.result.error) return std::move(c.result);
  return do_seal(start, end);
}

SealResult freeze(void* addr, std::size_t len) {
  Addr end = 0;
  const Addr start = reinterpret_cast<Addr>(addr);
  RangeCheck c = check_range(start, len, end);
  if (c.result.error) return std::move(c.result);
  if (start == end) return {};
  if (c.all_sealed && c.all_read_only) return {};  // frozen already
  // mprotect fails with EPERM at the first sealed VMA, even to the same
  // protection, after changing the VMAs before it (6.18 checks per VMA):
  // refuse up front instead.
  if (c.any_sealed)
    return fail(EPERM,
                range_text(start, end) +
                    ": part of the range is sealed already and not read-only; nothing was changed");
  if (mprotect(addr, end - start, PROT_READ) != 0) {
    const int err = errno;
    return fail(err, range_text(start, end) + ": mprotect(PROT_READ) failed" +
                         (err == EPERM ? std::string(" (part of the range is sealed already)")
                                       : std::string()));
  }
  if (!seal_available()) {
    const kernel::MsealProbe p = kernel::probe_mseal();
    return fail(
        p.error != 0 ? p.error : ENOSYS,
        range_text(start, end) + ": read-only but not sealed: " + std::string(kernel::describe(p)));
  }
  return do_seal(start, end);
}

bool is_sealed(const void* addr, std::size_t len, std::error_code* error) {
  const Addr start = page_align_down(reinterpret_cast<Addr>(addr));
  const Addr last = reinterpret_cast<Addr>(addr) + (len == 0 ? 1 : len);
  if (last < start) {
    if (error != nullptr) *error = std::make_error_code(std::errc::invalid_argument);
    return false;
  }
  const Addr end = page_align_up(last);
  kernel::SmapsReader reader;
  reader.set_lean(true);
  std::vector<kernel::SmapsEntry> entries;
  std::string message;
  if (!reader.open(0, &message) || !reader.read(entries, &message, end)) {
    if (error != nullptr) *error = std::make_error_code(std::errc::io_error);
    return false;
  }
  if (error != nullptr) error->clear();
  Addr covered = start;
  for (const kernel::SmapsEntry& e : entries) {
    if (e.end <= start) continue;
    if (e.start >= end) break;
    if (e.start > covered || (e.vmflags & vm::SEALED) == 0) return false;
    covered = e.end;
  }
  return covered >= end;
}

sealing::SealerOptions sealer_options(const SealImagesOptions& options) noexcept {
  sealing::SealerOptions o;
  switch (options.profile) {
    case SealImagesOptions::Profile::Minimal:
      o.profile = sealing::Profile::Minimal;
      break;
    case SealImagesOptions::Profile::Default:
      o.profile = sealing::Profile::Default;
      break;
    case SealImagesOptions::Profile::Strict:
      o.profile = sealing::Profile::Strict;
      break;
  }
  switch (options.relro) {
    case SealImagesOptions::Relro::Anonymous:
      o.relro = sealing::RelroMode::Anonymous;
      break;
    case SealImagesOptions::Relro::Memfd:
      o.relro = sealing::RelroMode::Memfd;
      break;
    case SealImagesOptions::Relro::File:
      o.relro = sealing::RelroMode::File;
      break;
  }
  o.text = options.copy_text ? sealing::RelroMode::Anonymous : sealing::RelroMode::File;
  o.opt_out = options.opt_out.empty() ? nullptr : options.opt_out.c_str();  // for the call only
  return o;
}

LoadedImagesResult seal_loaded_images(const SealImagesOptions& public_options) {
  const sealing::SealerOptions options = sealer_options(public_options);
  LoadedImagesResult out;
  int err = 0;
  if (!sealing::ImageSealer::mseal_available(&err)) {
    out.status =
        fail(err != 0 ? err : ENOSYS, std::string(kernel::describe(kernel::probe_mseal())));
    return out;
  }
  std::lock_guard lock(g_images_mutex);
  g_images.set_options(options);
  const sealing::SealSummary s = g_images.seal_new_objects(nullptr, nullptr);
  out.objects_sealed = s.objects_sealed;
  out.objects_left = s.objects_left;
  out.failures = s.failures;
  out.sealed_bytes = s.sealed_bytes;
  if (s.failures > 0)
    out.status = fail(s.first_error, std::to_string(s.failures) +
                                         " range(s) of loaded objects could not be sealed");
  return out;
}

namespace detail {

std::size_t guarded_pages_bytes(std::size_t bytes) noexcept {
  return page_align_up(bytes == 0 ? 1 : bytes);
}

void* map_guarded(std::size_t bytes, std::error_code& error) noexcept {
  const std::size_t data = guarded_pages_bytes(bytes);
  void* p = mmap(nullptr, data + 2 * kPageSize, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    error = std::error_code(errno, std::generic_category());
    return nullptr;
  }
  char* inner = static_cast<char*>(p) + kPageSize;
  if (mprotect(inner, data, PROT_READ | PROT_WRITE) != 0) {
    error = std::error_code(errno, std::generic_category());
    munmap(p, data + 2 * kPageSize);
    return nullptr;
  }
  return inner;
}

void unmap_guarded(void* data, std::size_t bytes) noexcept {
  munmap(static_cast<char*>(data) - kPageSize, guarded_pages_bytes(bytes) + 2 * kPageSize);
}

SealResult freeze_guarded(void* data, std::size_t bytes, bool& read_only) {
  read_only = false;
  const std::size_t len = guarded_pages_bytes(bytes);
  if (mprotect(data, len, PROT_READ) != 0)
    return fail(errno, "cannot make the sealed object's pages read-only");
  read_only = true;
  // One seal over guard, data and guard: the guards cannot be unmapped or
  // remapped either, so nothing can be placed against the data.
  return seal(static_cast<char*>(data) - kPageSize, len + 2 * kPageSize);
}

}  // namespace detail
}  // namespace vmseal
