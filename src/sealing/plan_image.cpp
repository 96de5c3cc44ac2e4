// The plan of an object read from its file: the allocation-free core of
// plan.cpp over the ElfImage's segments.
#include "vmseal/sealing/plan.hpp"

namespace vmseal::sealing {

std::vector<PlannedRange> plan_object(const ElfImage& image, Addr bias, Profile profile) {
  const ObjectLayout layout{image.loads, image.relro, image.mutable_ranges};
  std::vector<PlannedRange> out(kMaxPlannedRanges);
  out.resize(plan_layout(layout, bias, profile, out.data(), out.size()));
  return out;
}

}  // namespace vmseal::sealing
