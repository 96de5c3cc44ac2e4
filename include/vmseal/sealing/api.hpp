// The application API as vmseal's own code sees it: the public interface
// (<vmseal/vmseal.hpp>) and the sealer options it maps to.
#pragma once

#include "vmseal/sealing/image_sealer.hpp"
#include "vmseal/vmseal.hpp"

namespace vmseal {

// The public options as the image sealer takes them.
sealing::SealerOptions sealer_options(const SealImagesOptions& options) noexcept;

}  // namespace vmseal
