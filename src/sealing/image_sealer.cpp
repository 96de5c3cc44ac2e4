#include "vmseal/sealing/image_sealer.hpp"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace vmseal::sealing {
namespace {

constexpr long kNrMseal = 462;

int do_mseal(Addr start, Addr end) noexcept {
  if (syscall(kNrMseal, start, end - start, 0UL) == 0) return 0;
  return errno;
}

const char* program_path() noexcept {
  static char path[4096];
  if (path[0] == '\0') {
    const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return "";
    path[n] = '\0';
  }
  return path;
}

const char* base_name(const char* path) noexcept {
  const char* slash = std::strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

}  // namespace

const char* object_verdict_name(ObjectVerdict v) noexcept {
  switch (v) {
    case ObjectVerdict::Sealed:
      return "sealed";
    case ObjectVerdict::Partial:
      return "partial";
    case ObjectVerdict::DryRun:
      return "dry-run";
    case ObjectVerdict::OptedOut:
      return "opted-out";
    case ObjectVerdict::MayUnload:
      return "may-unload";
    case ObjectVerdict::Kernel:
      return "kernel";
    case ObjectVerdict::TooComplex:
      return "too-complex";
    case ObjectVerdict::Failed:
      return "failed";
  }
  return "?";
}

bool matches_opt_out(const char* globs, const char* path) noexcept {
  if (globs == nullptr || *globs == '\0' || path == nullptr) return false;
  char glob[1024];
  const char* p = globs;
  while (*p != '\0') {
    const char* end = std::strchr(p, ':');
    const std::size_t len = end != nullptr ? static_cast<std::size_t>(end - p) : std::strlen(p);
    if (len > 0 && len < sizeof glob) {
      std::memcpy(glob, p, len);
      glob[len] = '\0';
      if (fnmatch(glob, path, 0) == 0 || fnmatch(glob, base_name(path), 0) == 0) return true;
    }
    if (end == nullptr) break;
    p = end + 1;
  }
  return false;
}

bool protection_as_planned(SegmentKind k, int prot) noexcept {
  switch (k) {
    case SegmentKind::Text:
      return (prot & PROT_WRITE) == 0;
    case SegmentKind::Rodata:
    case SegmentKind::Relro:
    case SegmentKind::Gap:
      return (prot & (PROT_WRITE | PROT_EXEC)) == 0;
    case SegmentKind::Data:
    case SegmentKind::Bss:
      return (prot & PROT_EXEC) == 0;
    case SegmentKind::Mutable:
    case SegmentKind::WriteExec:
      return true;  // never sealed
  }
  return true;
}

bool ImageSealer::mseal_available(int* error) noexcept {
  // -1 unknown, 0 no, 1 yes; errno of the probe in `probe_error`.
  static int state = -1;
  static int probe_error = 0;
  if (state < 0) {
    // As kernel::probe_mseal: a no-op must succeed and a bad flag must fail
    // with EINVAL (a filter that returns 0 for everything would not).
    if (syscall(kNrMseal, 0UL, 0UL, 0UL) != 0) {
      probe_error = errno;
      state = 0;
    } else if (syscall(kNrMseal, 0UL, 0UL, 1UL) == 0 || errno != EINVAL) {
      probe_error = errno == EINVAL ? EPERM : errno;
      state = 0;
    } else {
      state = 1;
    }
  }
  if (error != nullptr) *error = probe_error;
  return state == 1;
}

namespace {

// The mappings as they were at this seal point, read only when a RELRO range
// is to be copied (ImageSealer's callers serialise their calls).
constinit SelfMappings g_mappings;

struct SealPass {
  ImageSealer::ObjectSink sink;
  void* context;
  bool paths;
  SealSummary summary;
  bool mappings_read = false;
};

// The ranges sealed in this pass, checked again once all are sealed: another
// thread may change a protection between the check before a seal and the
// seal itself, and after the seal the protection can no longer change.
struct SealedRange {
  Addr start, end;
  SegmentKind kind;
};
constexpr std::size_t kMaxCheckedRanges = 2048;
constinit SealedRange g_sealed[kMaxCheckedRanges]{};
std::size_t g_n_sealed = 0;
bool g_sealed_overflow = false;

void remember_sealed(const PlannedRange* plan, std::size_t i, std::size_t j) noexcept {
  for (; i < j; ++i) {
    if (g_n_sealed == kMaxCheckedRanges) {
      g_sealed_overflow = true;
      return;
    }
    g_sealed[g_n_sealed++] = {plan[i].start, plan[i].end, plan[i].kind};
  }
}

const char* label_of(const LoadedObject& o) noexcept {
  if (o.role == ObjectRole::Program) return base_name(program_path());
  return base_name(o.name);
}

// Whether the object's file lives in memory-backed storage (tmpfs, a memfd,
// hugetlbfs), where userfaultfd may fill a discarded private page.
bool on_shmem(const LoadedObject& o) noexcept {
  constexpr long kTmpfsMagic = 0x01021994;
  constexpr long kHugetlbfsMagic = 0x958458f6;
  // A disk device (major number not 0) never is: no statfs for those.
  if (o.n_loads == 0 ||
      !g_mappings.on_unnamed_device(page_align_down(o.key.bias + o.loads[0].vaddr)))
    return false;
  const char* path = o.role == ObjectRole::Program ? program_path() : o.name;
  if (path == nullptr || *path == '\0') return false;
  if (std::strncmp(path, "/memfd:", 7) == 0) return true;
  struct statfs fs {};
  if (statfs(path, &fs) != 0) return false;
  return static_cast<long>(fs.f_type) == kTmpfsMagic ||
         static_cast<long>(fs.f_type) == kHugetlbfsMagic;
}

// Before a range's seal: copies RELRO (and, if asked, text and rodata) where
// no madvise can discard or punch it (relro.hpp), if it is private memory
// with the protection the loader leaves it with.
void prepare_copy(const LoadedObject& o, const PlannedRange& range, const SealerOptions& options,
                  bool on_shmem, RelroOutcome& outcome, int& error) noexcept {
  outcome = RelroOutcome::NotRelro;
  error = 0;
  if (!range.seal || options.dry_run) return;
  // An object on tmpfs (or a memfd, or hugetlbfs) is always copied: a
  // private mapping of such a file takes UFFDIO_COPY after a discard, so its
  // sealed pages could be given chosen bytes (docs/attacks.md).
  RelroMode mode = RelroMode::File;
  int prot = PROT_READ;
  switch (range.kind) {
    case SegmentKind::Relro:
      mode = on_shmem ? RelroMode::Anonymous : options.relro;
      break;
    case SegmentKind::Text:
      mode = on_shmem ? RelroMode::Anonymous : options.text;
      prot = PROT_READ | PROT_EXEC;
      break;
    case SegmentKind::Rodata:
      mode = on_shmem ? RelroMode::Anonymous : options.text;
      break;
    case SegmentKind::Gap:
      // With --text anon the loader's PROT_NONE reservations go too: a
      // DONTFORK on a file-backed gap leaves a child a hole in the object.
      if (options.text != RelroMode::Anonymous) return;
      mode = RelroMode::Anonymous;
      prot = PROT_NONE;
      if (!g_mappings.private_with_prot(range.start, range.end, prot))
        return;  // unmapped: nothing to do
      break;
    default:
      return;
  }
  if (mode == RelroMode::File) {
    if (range.kind == SegmentKind::Relro) outcome = RelroOutcome::KeptFile;
    return;
  }
  if (!g_mappings.private_with_prot(range.start, range.end, prot)) {
    outcome = RelroOutcome::Skipped;
    return;
  }
  // The label names a memfd copy only (the program's costs a readlink).
  outcome = replace_with_copy(range.start, range.end, prot, mode,
                              mode == RelroMode::Memfd ? label_of(o) : "", &error);
}

// One mseal per run of adjacent sealed ranges (mseal spans VMAs), each run
// checked afterwards. Gaps go alone: ld.so reserves them for a library, but
// the kernel leaves them unmapped in a program it loads itself.
struct RunTotals {
  std::size_t attempted = 0;
  std::size_t failures = 0;
  std::uint64_t sealed = 0;
};

// Whether the range, where it is mapped, has its planned protection now.
bool as_planned(const PlannedRange& r) noexcept {
  int prot = 0;
  return !g_mappings.protection_over(r.start, r.end, prot) || protection_as_planned(r.kind, prot);
}

RunTotals seal_runs(const PlannedRange* plan, std::size_t n, bool dry_run, int* errors,
                    SealSummary& summary) noexcept {
  RunTotals t;
  for (std::size_t i = 0; i < n; ++i) errors[i] = 0;
  for (std::size_t i = 0; i < n;) {
    if (!plan[i].seal) {
      ++i;
      continue;
    }
    const bool checked = !dry_run && g_mappings.loaded();
    if (checked && !as_planned(plan[i])) {
      errors[i] = kNotAsPlanned;
      ++t.attempted;
      ++t.failures;
      ++summary.failures;
      if (summary.first_error == 0) summary.first_error = kNotAsPlanned;
      ++i;
      continue;
    }
    const bool gap = plan[i].kind == SegmentKind::Gap;
    std::size_t j = i + 1;
    while (!gap && j < n && plan[j].seal && plan[j].kind != SegmentKind::Gap &&
           plan[j].start == plan[j - 1].end && (!checked || as_planned(plan[j])))
      ++j;
    const Addr start = plan[i].start;
    const Addr end = plan[j - 1].end;
    int err = 0;
    if (!dry_run) {
      err = do_mseal(start, end);
      if (err == 0 && !verify_sealed(start, end)) err = kSealNotEffective;
    }
    if (gap && err == ENOMEM) {
      for (std::size_t k = i; k < j; ++k) errors[k] = kNotMapped;
      i = j;
      continue;
    }
    ++t.attempted;
    if (err != 0) {
      ++t.failures;
      ++summary.failures;
      if (summary.first_error == 0) summary.first_error = err;
    } else {
      t.sealed += end - start;
      if (!dry_run) remember_sealed(plan, i, j);
    }
    for (std::size_t k = i; k < j; ++k) errors[k] = err;
    i = j;
  }
  return t;
}

// Sealed RELRO ranges that are still file mappings (a discard reverts them).
std::size_t file_backed_relro(const PlannedRange* plan, std::size_t n, const int* errors,
                              const RelroOutcome* relro) noexcept {
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (plan[i].kind == SegmentKind::Relro && errors[i] == 0 &&
        relro[i] != RelroOutcome::Anonymised && relro[i] != RelroOutcome::Memfd &&
        relro[i] != RelroOutcome::NotRelro)
      ++count;
  return count;
}

ObjectVerdict verdict_of(const RunTotals& t, bool dry_run) noexcept {
  if (t.attempted == 0) return ObjectVerdict::Sealed;  // nothing the profile seals
  if (dry_run) return ObjectVerdict::DryRun;
  if (t.failures == 0) return ObjectVerdict::Sealed;
  return t.failures == t.attempted ? ObjectVerdict::Failed : ObjectVerdict::Partial;
}

}  // namespace

bool verify_sealed(Addr start, Addr end) noexcept {
  if (end <= start) return true;
  // One page is enough: mseal seals the whole range or changes nothing
  // (mm/mseal.c checks every VMA before it marks any), so a call that
  // sealed its first page sealed the rest.
  void* const p = reinterpret_cast<void*>(start);
  return mremap(p, kPageSize, kPageSize, 0) == MAP_FAILED && errno == EPERM;
}

// Decides about one object not decided yet, seals what the profile says
// (RELRO first made undiscardable), and reports the decision to the sink.
void ImageSealer::seal_object(const LoadedObject& o, void* pass_ptr) noexcept {
  SealPass& pass = *static_cast<SealPass*>(pass_ptr);
  const std::uint8_t flags = objects_.flags(o.key);
  if ((flags & ObjectTable::kDecided) != 0) return;
  ObjectResult r;
  r.object = &o;
  const bool want_path = (pass.sink != nullptr && pass.paths) ||
                         (options_.opt_out != nullptr && *options_.opt_out != '\0');
  r.path = o.role == ObjectRole::Program ? (want_path ? program_path() : "") : o.name;
  r.at_startup = (flags & ObjectTable::kStartup) != 0;
  // Uninitialised on purpose (implicit-lifetime objects in byte storage):
  // zeroing 5 KiB per object would cost page faults.
  alignas(PlannedRange) unsigned char plan_storage[sizeof(PlannedRange) * kMaxPlannedRanges];
  auto* const plan = reinterpret_cast<PlannedRange*>(plan_storage);
  int errors[kMaxPlannedRanges];
  RelroOutcome relro[kMaxPlannedRanges];
  int relro_errors[kMaxPlannedRanges];
  const bool pinned = r.at_startup || o.role != ObjectRole::Library || o.nodelete ||
                      (flags & ObjectTable::kPinned) != 0;
  auto decide = [&](ObjectVerdict v, const char* why) {
    r.verdict = v;
    r.why = why;
    objects_.set(o.key,
                 v == ObjectVerdict::MayUnload ? ObjectTable::kReported : ObjectTable::kDecided);
    ++pass.summary.objects_left;
    if (pass.sink != nullptr) pass.sink(r, pass.context);
  };
  if (o.role == ObjectRole::Vdso) return decide(ObjectVerdict::Kernel, kVdsoWhy);
  if (!pinned) {
    // Reported once; looked at again when a later dlopen pins it.
    if ((flags & ObjectTable::kReported) != 0) return;
    return decide(ObjectVerdict::MayUnload, kMayUnloadWhy);
  }
  if (matches_opt_out(options_.opt_out, r.path))
    return decide(ObjectVerdict::OptedOut, kOptedOutWhy);
  if (o.truncated) return decide(ObjectVerdict::TooComplex, kTooComplexWhy);
  const std::size_t n =
      plan_layout(o.layout(), o.key.bias, options_.profile, plan, kMaxPlannedRanges);
  if (n == 0) return decide(ObjectVerdict::TooComplex, kTooComplexWhy);

  // The protections as they are now: each range is checked against its plan
  // before its seal, and RELRO copied only from read-only private memory.
  if (!pass.mappings_read && !options_.dry_run) {
    g_mappings.load();
    pass.mappings_read = true;
  }
  const bool shmem = !options_.dry_run && on_shmem(o);
  for (std::size_t i = 0; i < n; ++i)
    prepare_copy(o, plan[i], options_, shmem, relro[i], relro_errors[i]);
  const RunTotals t = seal_runs(plan, n, options_.dry_run, errors, pass.summary);
  if (!options_.dry_run)
    pass.summary.relro_file_backed += file_backed_relro(plan, n, errors, relro);
  r.ranges = plan;
  r.errors = errors;
  r.relro = relro;
  r.relro_errors = relro_errors;
  r.n_ranges = n;
  r.sealed_bytes = options_.dry_run ? 0 : t.sealed;
  objects_.set(o.key, ObjectTable::kDecided);
  r.verdict = verdict_of(t, options_.dry_run);
  if (r.verdict == ObjectVerdict::Failed || r.verdict == ObjectVerdict::Partial)
    r.why = kSealRefusedWhy;
  pass.summary.sealed_bytes += r.sealed_bytes;
  if (r.verdict == ObjectVerdict::Sealed || r.verdict == ObjectVerdict::DryRun ||
      r.verdict == ObjectVerdict::Partial)
    ++pass.summary.objects_sealed;
  else
    ++pass.summary.objects_left;
  if (pass.sink != nullptr) pass.sink(r, pass.context);
}

SealSummary ImageSealer::seal_new_objects(ObjectSink sink, void* context, bool paths) noexcept {
  struct Ctx {
    ImageSealer* self;
    SealPass pass;
  } ctx{this, {sink, context, paths, {}, false}};
  g_n_sealed = 0;
  g_sealed_overflow = false;
  for_each_loaded_object(
      [](const LoadedObject& o, void* data) {
        auto* c = static_cast<Ctx*>(data);
        c->self->seal_object(o, &c->pass);
        return true;
      },
      &ctx);
  check_after_sealing(ctx.pass.summary);
  return ctx.pass.summary;
}

// Every range sealed in this pass, against its planned protection, as it is
// now that it cannot change: a thread that changed one between the check and
// the seal left it sealed that way, which is a failure.
void ImageSealer::check_after_sealing(SealSummary& summary) noexcept {
  if (g_n_sealed == 0 && !g_sealed_overflow) return;
  if (!g_mappings.load()) return;
  for (std::size_t i = 0; i < g_n_sealed; ++i) {
    const PlannedRange r{g_sealed[i].start, g_sealed[i].end, g_sealed[i].kind, true, {}};
    if (as_planned(r)) continue;
    ++summary.failures;
    ++summary.changed_while_sealing;
    if (summary.first_error == 0) summary.first_error = kChangedWhileSealing;
  }
  if (g_sealed_overflow) {
    ++summary.failures;  // not all could be checked: a failure, not a guess
    if (summary.first_error == 0) summary.first_error = kChangedWhileSealing;
  }
}

SealSummary ImageSealer::seal_kernel_mappings(KernelSink sink, void* context) noexcept {
  SealSummary summary;
  // The whole map first (sealing while reading would change it).
  if (!g_mappings.load()) {
    summary.first_error = errno != 0 ? errno : EIO;
    ++summary.failures;
    return summary;
  }
  KernelMappingResult found[8];
  std::size_t n_found = 0;
  g_mappings.for_each_kernel_mapping([&](const SelfMappings::KernelMapping& k) {
    if (n_found < sizeof found / sizeof found[0])
      found[n_found++] = {k.name, k.start, k.end, false, 0};
  });
  for (std::size_t i = 0; i < n_found; ++i) {
    KernelMappingResult& r = found[i];
    if (!options_.dry_run) {
      r.error = do_mseal(r.start, r.end);
      if (r.error == 0 && !verify_sealed(r.start, r.end)) r.error = kSealNotEffective;
      r.sealed = r.error == 0;
      if (r.sealed) {
        summary.sealed_bytes += r.end - r.start;
      } else {
        ++summary.failures;
        if (summary.first_error == 0) summary.first_error = r.error;
      }
    }
    if (sink != nullptr) sink(r, context);
  }
  return summary;
}

}  // namespace vmseal::sealing
