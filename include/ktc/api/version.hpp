// ktc/api/version.hpp - ktc's version, as written into the .bie and .nef files it makes.
//
// The top-level CMakeLists.txt checks that this equals project(ktc VERSION ...): one number.
#pragma once

namespace ktc {

inline constexpr const char* version = "0.1.0";

}  // namespace ktc
