// The preload's half of the sealing record (record.hpp): no allocation, no
// libstdc++ at run time.
#include "vmseal/sealing/record.hpp"

#include <cstdio>
#include <cstring>

namespace vmseal::sealing {

const char* object_verdict_reason(ObjectVerdict v) noexcept {
  switch (v) {
    case ObjectVerdict::Sealed:
      return "";
    case ObjectVerdict::Partial:
    case ObjectVerdict::Failed:
      return kSealRefusedWhy;
    case ObjectVerdict::DryRun:
      return "a dry run: nothing was sealed";
    case ObjectVerdict::OptedOut:
      return kOptedOutWhy;
    case ObjectVerdict::MayUnload:
      return kMayUnloadWhy;
    case ObjectVerdict::Kernel:
      return kVdsoWhy;
    case ObjectVerdict::TooComplex:
      return kTooComplexWhy;
  }
  return "";
}

void RecordWriter::open(void* storage, Profile profile, RelroMode relro, RelroMode text,
                        std::uint8_t flags, const char* script) noexcept {
  record_ = static_cast<Layout*>(storage);
  RecordHeader& h = record_->header;
  std::memcpy(h.magic, kRecordMagic, sizeof h.magic);
  h.header_size = sizeof(RecordHeader);
  h.entry_size = sizeof(RecordEntry);
  h.capacity = kRecordCapacity;
  h.profile = static_cast<std::uint8_t>(profile);
  h.relro = static_cast<std::uint8_t>(relro);
  h.text = static_cast<std::uint8_t>(text);
  h.flags = flags;
  if (script != nullptr) std::snprintf(h.script, sizeof h.script, "%s", script);
}

void RecordWriter::add(const ObjectResult& r) noexcept {
  if (record_ == nullptr || r.object == nullptr) return;
  RecordHeader& h = record_->header;
  const LoadedObject& o = *r.object;
  RecordEntry* e = nullptr;
  for (std::uint32_t i = 0; i < h.count && e == nullptr; ++i)
    if (record_->entries[i].bias == o.key.bias &&
        record_->entries[i].phdr == reinterpret_cast<std::uint64_t>(o.key.phdr))
      e = &record_->entries[i];
  if (e == nullptr) {
    if (h.count == kRecordCapacity) return;
    e = &record_->entries[h.count++];
  }
  e->bias = o.key.bias;
  e->phdr = reinterpret_cast<std::uint64_t>(o.key.phdr);
  e->role = static_cast<std::uint8_t>(o.role);
  e->verdict = static_cast<std::uint8_t>(r.verdict);
  e->at_startup = r.at_startup ? 1 : 0;
  e->relro = static_cast<std::uint8_t>(RelroOutcome::NotRelro);
  for (std::size_t i = 0; r.relro != nullptr && i < r.n_ranges; ++i)
    if (r.ranges[i].kind == SegmentKind::Relro && r.relro[i] != RelroOutcome::NotRelro)
      e->relro = static_cast<std::uint8_t>(r.relro[i]);
  e->sealed_bytes = r.sealed_bytes;
}

void RecordWriter::finish_seal_point(bool sealed_before_main, std::size_t failures,
                                     std::uint64_t sealed_bytes) noexcept {
  if (record_ == nullptr) return;
  RecordHeader& h = record_->header;
  if (sealed_before_main) h.flags |= kRecordSealedBeforeMain;
  h.failures = static_cast<std::uint32_t>(failures);
  h.sealed_bytes = sealed_bytes;
  ++h.seal_points;
}

}  // namespace vmseal::sealing
