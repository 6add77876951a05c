// ktc/platform/tags.hpp - the target chips as empty tag types.
//
// A tag carries no data: templates are parameterized on it and read what differs between the
// chips from platform_traits<P> (traits.hpp). The command line's "520"/"720" becomes a tag in one
// place, with_platform (platform.hpp).
#pragma once

namespace ktc::platform {

struct kdp520 {};  // KL520: Cortex-M4 x2 host CPUs and an int8 NPU
struct kdp720 {};  // KL720: Cortex-M4 + DSP host and an int8/int16 NPU

}  // namespace ktc::platform
