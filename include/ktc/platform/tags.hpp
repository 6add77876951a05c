// ktc/platform/tags.hpp - the target chips as empty tag types.
//
// A tag carries no data: templates are parameterized on it and read what differs between the
// chips from platform_traits<P> (traits.hpp). A chip named at run time is a `chip` value: the
// command line's or the API's "520"/"720" becomes one in one place (chip_named, platform.hpp), the
// .bie and .nef store it, and with_platform turns it into a tag.
#pragma once

#include <cstdint>

namespace ktc::platform {

// The chip as a value; its number is the one the vendor's files and names use (models_520.nef).
enum class chip : std::uint32_t { kdp520 = 520, kdp720 = 720 };

struct kdp520 {};  // KL520: Cortex-M4 x2 host CPUs and an int8 NPU
struct kdp720 {};  // KL720: Cortex-M4 + DSP host and an int8/int16 NPU

}  // namespace ktc::platform
