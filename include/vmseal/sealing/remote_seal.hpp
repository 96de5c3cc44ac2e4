// Sealing another process's loaded image from outside: the preload's plan
// (plan.hpp) carried out by system calls run in the target (mseal, and the
// mmap/mprotect/mremap of the RELRO copy, relro.hpp), each checked by its
// effect. Shared by `vmseal run` for static programs (static_launch.hpp),
// which seals at the exec stop and at the RELRO point, and `vmseal seal PID`
// (seal_pid.hpp), which seals a running process in one go. How a call gets
// into the target is the caller's (RemoteCalls): the first injects it with
// Tracee::inject(), the second through an armed thread (safe_injection.hpp).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <vector>

#include "vmseal/sealing/image_sealer.hpp"
#include "vmseal/sealing/plan.hpp"
#include "vmseal/sealing/relro.hpp"

namespace vmseal::sealing {

// A range that another file, or shared memory, covers although the plan
// puts the object there: left unsealed (seal PID reads the layout of a
// process it did not start).
inline constexpr int kForeignMapping = -5;

// What an error of a range means, the way the preload's reports say it
// ("EPERM", "not mapped", ...).
const char* remote_error_text(int e);

// Runs system calls in a stopped process.
class RemoteCalls {
 public:
  explicit RemoteCalls(pid_t pid) : pid_(pid) {}
  virtual ~RemoteCalls() = default;
  RemoteCalls(const RemoteCalls&) = delete;
  RemoteCalls& operator=(const RemoteCalls&) = delete;

  // Runs system call `nr` with `args` in the target: its return value
  // (-errno on failure), or -errno of why it could not be run (then gone()
  // may say the process is gone).
  virtual long call(long nr, std::initializer_list<std::uint64_t> args) = 0;
  pid_t pid() const noexcept { return pid_; }
  bool gone() const noexcept { return gone_; }

 protected:
  void set_gone() noexcept { gone_ = true; }

 private:
  pid_t pid_;
  bool gone_ = false;
};

// mseal of [start, end) in the target, checked by effect when `verify`: a
// same-size mremap of its first page, a no-op where it is allowed, must be
// refused. 0, an errno, or kSealNotEffective.
int remote_seal(RemoteCalls& calls, Addr start, Addr end, bool verify = true);

// [start, end) replaced in the target by an anonymous copy with protection
// `prot`, the way relro.cpp does it in its own process: a fresh mapping
// filled through process_vm_writev, given its protection, moved over the
// range by one mremap. On failure the range is as it was. 0 or an errno.
int remote_anonymise(RemoteCalls& calls, Addr start, Addr end, int prot);

// One range of an object's plan, and what became of it.
struct RemoteRange {
  PlannedRange plan;
  int error = 0;  // errno of its mseal, kNotMapped, kSealNotEffective, kNotAsPlanned, ...
  RelroOutcome backing = RelroOutcome::NotRelro;
  int backing_error = 0;
  bool tried = false;
  bool already_sealed = false;  // sealed before (seal PID): left as it is
  bool reserved = false;        // a hole the sealer mapped PROT_NONE to seal it
};

// One object of the target and its plan.
struct RemoteObject {
  std::string path;
  Addr bias = 0;
  std::vector<RemoteRange> ranges;
  std::string verdict = "sealed";  // object_verdict_name()s
  std::string why;
  std::uint64_t sealed_bytes = 0;
  std::size_t failures = 0;
  // Text and rodata copied too, whatever `text` says: the file is on tmpfs
  // (or a memfd), where userfaultfd can fill a discarded private page.
  bool copy_all = false;
  // RELRO is still writable because the object's libc never protects it
  // (a static musl program): made read-only first, as a loader would.
  bool relro_writable = false;
};

// A mapping of the kernel's that the strict profile seals by name.
struct RemoteKernelMapping {
  std::string name;  // "[vdso]", "[vvar]", "[vvar_vclock]", "[stack]"
  Addr start = 0, end = 0;
  int error = 0;
  bool sealed = false;
  bool already_sealed = false;
};

struct RemoteSealOptions {
  Profile profile = Profile::Default;
  RelroMode relro = RelroMode::Anonymous;  // Memfd is not offered: sealed as Anonymous
  RelroMode text = RelroMode::File;
  bool dry_run = false;
  // Each seal checked by effect at once (one more injected call). seal PID
  // checks them all afterwards in smaps instead ("sl" is set by a real seal
  // only), having refused any seccomp filter that could fake mseal.
  bool verify_each = true;
};

// Which of an object's ranges a pass seals: `vmseal run` seals text, rodata
// and the gaps at the exec stop and the rest at the RELRO point.
enum class RangeStage : std::uint8_t { Early, Late, All };
bool in_stage(SegmentKind k, RangeStage stage) noexcept;

// The kernel's mappings a pass seals: the vDSO and vvar, the stack, or all.
enum class KernelPart : std::uint8_t { System, Stack, All };

// A sealing pass over one target.
struct RemoteSealer {
  RemoteCalls& calls;
  RemoteSealOptions options;
  std::unique_ptr<SelfMappings> maps;
  std::vector<RemoteKernelMapping> kernel;
  std::size_t failures = 0;
  int first_error = 0;
  std::uint64_t sealed_bytes = 0;

  // `table`: a SelfMappings made beforehand (its 16384 entries cost page
  // faults when first zeroed, better not spent while a process waits).
  RemoteSealer(RemoteCalls& c, const RemoteSealOptions& o,
               std::unique_ptr<SelfMappings> table = nullptr)
      : calls(c),
        options(o),
        maps(table != nullptr ? std::move(table) : std::make_unique<SelfMappings>()) {}
  void fail(int e) {
    ++failures;
    if (first_error == 0) first_error = e;
  }

  // Seals the objects' planned ranges of `stage` (ranges already sealed are
  // left as they are): RELRO first made an anonymous copy (or, with the
  // object's `relro_writable`, first made read-only), then one mseal per run
  // of adjacent ranges (gaps alone), each checked against its planned
  // protection before. The layout is read once before the copies, and once
  // after if a copy was made.
  void seal_objects(std::span<RemoteObject* const> objects, RangeStage stage);
  void seal_object(RemoteObject& object, RangeStage stage);

  void seal_ranges(RemoteObject& object, RangeStage stage);

  // Seals the kernel's mappings of `part` by name (strict profile). With
  // `sealed_before`, a mapping it says is sealed is left as it is.
  void seal_kernel(KernelPart part, bool (*sealed_before)(Addr, Addr, void*) = nullptr,
                   void* context = nullptr);
};

// An object's verdict after its last seal: partial or failed when a range
// could not be sealed.
void conclude_object(RemoteObject& object);

// A range as the reports give it (the preload's fields).
nlohmann::json remote_range_json(const RemoteRange& r, bool dry_run);
// The kernel mappings as the reports give them.
nlohmann::json remote_kernel_json(const std::vector<RemoteKernelMapping>& kernel);
// --dry-run's lines for an object, the preload's format ("vmseal:   START-END KIND seal").
std::string remote_plan_lines(const RemoteObject& object);

}  // namespace vmseal::sealing
