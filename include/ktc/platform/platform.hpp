// ktc/platform/platform.hpp - the platforms: tags, traits, and the one place a runtime platform
// name ("520", "720" from --platform) becomes a tag type.
#pragma once

#include <string>

#include "ktc/core/error.hpp"
#include "ktc/platform/tags.hpp"
#include "ktc/platform/traits.hpp"

namespace ktc::platform {

// Calls f(kdp520{}) or f(kdp720{}) for `name` "520" or "720" and returns what f returns; any other
// name is a usage error. Both instantiations of f must return the same type.
template <class F>
decltype(auto) with_platform(const std::string& name, F&& f) {
    if (name == platform_traits<kdp520>::name) return f(kdp520{});
    if (name == platform_traits<kdp720>::name) return f(kdp720{});
    throw usage_error("unknown platform '" + name + "' (expected 520 or 720)");
}

}  // namespace ktc::platform
