// The plan of an object read from its file: the allocation-free core of
// plan.cpp over the ElfImage's segments.
#include "vmseal/sealing/loaded_objects.hpp"
#include "vmseal/sealing/plan.hpp"

namespace vmseal::sealing {

std::vector<PlannedRange> plan_object(const ElfImage& image, Addr bias, Profile profile) {
  std::vector<MutableRange> mutables = image.mutable_ranges;
  if (image.loader_writable) mutables.push_back({*image.loader_writable, kLoaderWritable});
  const ObjectLayout layout{image.loads, image.relro, mutables};
  std::vector<PlannedRange> out(kMaxPlannedRanges);
  out.resize(plan_layout(layout, bias, profile, out.data(), out.size()));
  return out;
}

}  // namespace vmseal::sealing
