// ktc/platform/platform.hpp - the platforms: tags, traits, and the one place a chip named at run
// time ("520", "720" from --platform or the API) becomes a `chip`, and a `chip` a tag type.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ktc/core/error.hpp"
#include "ktc/platform/tags.hpp"
#include "ktc/platform/traits.hpp"

namespace ktc::platform {

// The chip's spelling on the command line, in messages and in file names: "520" or "720".
constexpr std::string_view name_of(chip c) {
    return c == chip::kdp720 ? platform_traits<kdp720>::name : platform_traits<kdp520>::name;
}
inline std::string to_string(chip c) { return std::string(name_of(c)); }

// The chip spelled `name`, or nothing: readers of files turn that into their own error.
inline std::optional<chip> chip_spelled(std::string_view name) {
    for (const chip c : {chip::kdp520, chip::kdp720})
        if (name == name_of(c)) return c;
    return std::nullopt;
}

// The chip a user named; any other name is a usage error.
inline chip chip_named(const std::string& name) {
    if (const auto c = chip_spelled(name)) return *c;
    throw usage_error("unknown platform '" + name + "' (expected 520 or 720)");
}

// Calls f(kdp520{}) or f(kdp720{}) for `c` and returns what f returns. Both instantiations of f
// must return the same type.
template <class F>
decltype(auto) with_platform(chip c, F&& f) {
    if (c == chip::kdp720) return f(kdp720{});
    return f(kdp520{});
}

// The same for a chip named by the user ("520" or "720"; anything else is a usage error).
template <class F>
decltype(auto) with_platform(const std::string& name, F&& f) {
    return with_platform(chip_named(name), std::forward<F>(f));
}

}  // namespace ktc::platform
