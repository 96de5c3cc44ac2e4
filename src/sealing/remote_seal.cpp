#include "vmseal/sealing/remote_seal.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "vmseal/sealing/tracee.hpp"

namespace vmseal::sealing {
namespace {

constexpr long kNrMseal = 462;

bool is_error(long r) { return r < 0 && r > -4096; }

}  // namespace

const char* remote_error_text(int e) {
  switch (e) {
    case 0:
      return "";
    case kNotMapped:
      return "not mapped";
    case kSealNotEffective:
      return "not sealed although mseal returned 0";
    case kNotAsPlanned:
      return "left unsealed: its protection was changed before the seal (writable or executable)";
    case kForeignMapping:
      return "left unsealed: another file, or shared memory, is mapped there";
    default:
      break;
  }
  const char* name = strerrorname_np(e);  // "EPERM", as the preload's reports name it
  return name != nullptr ? name : std::strerror(e);
}

int remote_seal(RemoteCalls& calls, Addr start, Addr end, bool verify) {
  const long r = calls.call(kNrMseal, {start, end - start, 0});
  if (r != 0) return static_cast<int>(-r);
  if (!verify) return 0;
  const long check = calls.call(SYS_mremap, {start, kPageSize, kPageSize, 0, 0});
  return check == -EPERM ? 0 : kSealNotEffective;
}

int remote_anonymise(RemoteCalls& calls, Addr start, Addr end, int prot) {
  const std::size_t len = end - start;
  const bool hole = prot == PROT_NONE;
  const std::uint64_t flags =
      MAP_PRIVATE | MAP_ANONYMOUS | static_cast<unsigned>(hole ? MAP_NORESERVE : MAP_POPULATE);
  const long copy = calls.call(SYS_mmap, {0, len, hole ? 0UL : PROT_READ | PROT_WRITE, flags,
                                          static_cast<std::uint64_t>(-1), 0});
  if (is_error(copy)) return static_cast<int>(-copy);
  const auto at = static_cast<Addr>(copy);
  int err = 0;
  if (!hole) {
    std::vector<unsigned char> bytes(len);
    err = read_process_memory(calls.pid(), start, bytes.data(), len);
    if (err == 0) err = write_process_memory(calls.pid(), at, bytes.data(), len);
    if (err == 0) {
      const long r = calls.call(SYS_mprotect, {at, len, static_cast<Addr>(prot)});
      if (r != 0) err = static_cast<int>(-r);
    }
  }
  if (err == 0) {
    const long r = calls.call(SYS_mremap, {at, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, start});
    if (is_error(r)) err = static_cast<int>(-r);
  }
  if (err != 0 && !calls.gone()) calls.call(SYS_munmap, {at, len});
  return err;
}

bool in_stage(SegmentKind k, RangeStage stage) noexcept {
  if (stage == RangeStage::All) return true;
  const bool early = k == SegmentKind::Text || k == SegmentKind::Rodata || k == SegmentKind::Gap;
  return stage == RangeStage::Early ? early : !early;
}

namespace {

// What range `r` becomes before its seal: RELRO an anonymous copy (or, for a
// libc that never protects it, first made read-only), text and rodata copies
// under --text anon or on tmpfs.
void prepare_backing(RemoteSealer& s, const RemoteObject& o, RemoteRange& r, bool relro_writable) {
  const PlannedRange& p = r.plan;
  RelroMode mode = RelroMode::File;
  int prot = PROT_READ;
  const RelroMode text = o.copy_all ? RelroMode::Anonymous : s.options.text;
  if (p.kind == SegmentKind::Relro) mode = o.copy_all ? RelroMode::Anonymous : s.options.relro;
  if (p.kind == SegmentKind::Text) prot |= PROT_EXEC;
  if (p.kind == SegmentKind::Text || p.kind == SegmentKind::Rodata) mode = text;
  if (p.kind == SegmentKind::Gap && s.options.text == RelroMode::Anonymous) {
    if (!s.maps->private_with_prot(p.start, p.end, PROT_NONE)) return;
    mode = RelroMode::Anonymous;
    prot = PROT_NONE;
  }
  if (mode == RelroMode::File) {
    if (p.kind != SegmentKind::Relro) return;
    r.backing = RelroOutcome::KeptFile;
    if (relro_writable) {
      // The loader's job, which this libc leaves undone: RELRO read-only.
      const long m = s.calls.call(SYS_mprotect, {p.start, p.end - p.start, PROT_READ});
      if (m != 0) r.backing_error = static_cast<int>(-m);
    }
    return;
  }
  const int from = relro_writable && p.kind == SegmentKind::Relro ? PROT_READ | PROT_WRITE : prot;
  if (!s.maps->private_with_prot(p.start, p.end, from)) {
    r.backing = RelroOutcome::Skipped;
    return;
  }
  r.backing_error = remote_anonymise(s.calls, p.start, p.end, prot);
  r.backing = r.backing_error == 0 ? RelroOutcome::Anonymised : RelroOutcome::Failed;
}

bool to_seal(const RemoteRange& r, RangeStage stage) {
  return r.plan.seal && !r.already_sealed && r.error == 0 && in_stage(r.plan.kind, stage);
}

}  // namespace

void RemoteSealer::seal_object(RemoteObject& o, RangeStage stage) {
  RemoteObject* const one[] = {&o};
  seal_objects(one, stage);
}

void RemoteSealer::seal_objects(std::span<RemoteObject* const> objects, RangeStage stage) {
  maps->load(calls.pid());
  bool changed = false;  // a copy was made: the layout is read again
  for (RemoteObject* o : objects)
    for (RemoteRange& r : o->ranges)
      if (to_seal(r, stage) && !calls.gone()) {
        prepare_backing(*this, *o, r, o->relro_writable);
        changed = changed || r.backing != RelroOutcome::NotRelro;
      }
  if (changed) maps->load(calls.pid());
  for (RemoteObject* o : objects) seal_ranges(*o, stage);
}

// A gap of the plan with nothing mapped in it: the kernel maps a program's
// segments one by one and leaves the holes between them empty, where ld.so
// reserves a library's whole span and leaves its holes PROT_NONE. The hole
// is reserved that way (MAP_NORESERVE: it costs nothing) and sealed, so that
// no mmap(MAP_FIXED) can put code between the program's segments.
// kNotMapped when part of it is mapped already (then it is no hole).
namespace {
int reserve_hole(RemoteCalls& calls, RemoteRange& r, bool verify) {
  const Addr len = r.plan.end - r.plan.start;
  const long m =
      calls.call(SYS_mmap, {r.plan.start, len, PROT_NONE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                            static_cast<std::uint64_t>(-1), 0});
  if (m != static_cast<long>(r.plan.start)) {
    if (m > 0) calls.call(SYS_munmap, {static_cast<Addr>(m), len});  // a kernel without NOREPLACE
    return kNotMapped;
  }
  r.reserved = true;
  return remote_seal(calls, r.plan.start, r.plan.end, verify);
}
}  // namespace

// One mseal per run of adjacent ranges of `stage` (gaps alone), each
// checked against its planned protection before.
void RemoteSealer::seal_ranges(RemoteObject& o, RangeStage stage) {
  auto planned = [&](const RemoteRange& r) {
    int prot = 0;
    return !maps->protection_over(r.plan.start, r.plan.end, prot) ||
           protection_as_planned(r.plan.kind, prot);
  };
  auto failed = [&](int e) {
    fail(e);
    ++o.failures;
  };
  for (RemoteRange& r : o.ranges)
    if (r.plan.seal && r.error != 0 && !r.tried && in_stage(r.plan.kind, stage)) {
      r.tried = true;  // refused before (kForeignMapping): a failure of this pass
      failed(r.error);
    }
  for (std::size_t i = 0; i < o.ranges.size() && !calls.gone();) {
    RemoteRange& first = o.ranges[i];
    if (!to_seal(first, stage)) {
      ++i;
      continue;
    }
    first.tried = true;
    if (!planned(first)) {
      first.error = kNotAsPlanned;
      failed(kNotAsPlanned);
      ++i;
      continue;
    }
    const bool gap = first.plan.kind == SegmentKind::Gap;
    std::size_t j = i + 1;
    while (!gap && j < o.ranges.size() && to_seal(o.ranges[j], stage) &&
           o.ranges[j].plan.kind != SegmentKind::Gap &&
           o.ranges[j].plan.start == o.ranges[j - 1].plan.end && planned(o.ranges[j]))
      ++j;
    int err = remote_seal(calls, first.plan.start, o.ranges[j - 1].plan.end, options.verify_each);
    if (gap && err == ENOMEM) err = reserve_hole(calls, first, options.verify_each);
    for (std::size_t k = i; k < j; ++k) {
      o.ranges[k].error = err;
      o.ranges[k].tried = true;
    }
    const std::uint64_t len = o.ranges[j - 1].plan.end - first.plan.start;
    if (err == 0) {
      sealed_bytes += len;
      o.sealed_bytes += len;
    } else if (err != kNotMapped) {
      failed(err);
    }
    i = j;
  }
}

void RemoteSealer::seal_kernel(KernelPart part, bool (*sealed_before)(Addr, Addr, void*),
                               void* context) {
  std::ifstream in("/proc/" + std::to_string(calls.pid()) + "/maps");
  std::string line;
  std::vector<RemoteKernelMapping> found;
  while (std::getline(in, line)) {
    unsigned long long a = 0, b = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx", &a, &b) != 2) continue;
    for (const char* name : SelfMappings::kKernelNames) {
      const std::size_t n = std::strlen(name);
      const bool is_stack = std::strcmp(name, "[stack]") == 0;
      const bool wanted = part == KernelPart::All || is_stack == (part == KernelPart::Stack);
      if (line.size() >= n && line.compare(line.size() - n, n, name) == 0 && wanted)
        found.push_back({name, a, b, 0, false, false});
    }
  }
  for (RemoteKernelMapping& k : found) {
    k.already_sealed = sealed_before != nullptr && sealed_before(k.start, k.end, context);
    if (!options.dry_run && !k.already_sealed && !calls.gone()) {
      k.error = remote_seal(calls, k.start, k.end, options.verify_each);
      k.sealed = k.error == 0;
      if (k.sealed)
        sealed_bytes += k.end - k.start;
      else
        fail(k.error);
    }
    kernel.push_back(k);
  }
}

void conclude_object(RemoteObject& o) {
  if (o.verdict != "sealed" || o.failures == 0) return;
  bool any = false;
  for (const RemoteRange& r : o.ranges) any = any || (r.tried && r.error == 0);
  o.verdict = any ? "partial" : "failed";
  o.why = kSealRefusedWhy;
}

nlohmann::json remote_range_json(const RemoteRange& r, bool dry_run) {
  char a[32], b[32];
  std::snprintf(a, sizeof a, "0x%llx", static_cast<unsigned long long>(r.plan.start));
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(r.plan.end));
  const bool sealed = r.plan.seal && !dry_run && (r.already_sealed || (r.tried && r.error == 0));
  nlohmann::json j = {{"start", a},
                      {"end", b},
                      {"kind", std::string(segment_kind_name(r.plan.kind))},
                      {"planned", r.plan.seal},
                      {"sealed", sealed}};
  if (r.already_sealed) j["already_sealed"] = true;
  if (r.reserved) j["reserved"] = true;  // a hole mapped PROT_NONE by the sealer
  if (r.error == kNotMapped)
    j["mapped"] = false;
  else if (r.error != 0)
    j["error"] = remote_error_text(r.error);
  if (r.backing != RelroOutcome::NotRelro) j["backing"] = relro_outcome_name(r.backing);
  if (r.backing_error != 0) j["backing_error"] = remote_error_text(r.backing_error);
  if (!r.plan.seal) j["why_not"] = std::string(r.plan.why_not);
  return j;
}

nlohmann::json remote_kernel_json(const std::vector<RemoteKernelMapping>& kernel) {
  nlohmann::json out = nlohmann::json::array();
  for (const RemoteKernelMapping& k : kernel) {
    nlohmann::json j = {{"name", k.name},
                        {"sealed", k.sealed || k.already_sealed},
                        {"error", remote_error_text(k.error)}};
    if (k.already_sealed) j["already_sealed"] = true;
    out.push_back(std::move(j));
  }
  return out;
}

std::string remote_plan_lines(const RemoteObject& o) {
  std::string out;
  char line[256];
  for (const RemoteRange& r : o.ranges) {
    const std::string_view kind = segment_kind_name(r.plan.kind);
    const char* what = !r.plan.seal ? "leave: " : r.already_sealed ? "sealed already" : "seal";
    std::snprintf(line, sizeof line, "vmseal:   %012llx-%012llx %-7.*s %s%.*s\n",
                  static_cast<unsigned long long>(r.plan.start),
                  static_cast<unsigned long long>(r.plan.end), static_cast<int>(kind.size()),
                  kind.data(), what, static_cast<int>(r.plan.seal ? 0 : r.plan.why_not.size()),
                  r.plan.why_not.data());
    out += line;
  }
  return out;
}

}  // namespace vmseal::sealing
