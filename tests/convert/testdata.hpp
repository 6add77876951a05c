// tests/convert/testdata.hpp - what the converter tests share: where the third-party files are
// ($KTC_CONVERTER_TESTDATA or the repository's tests/data/converters; a missing folder fails),
// whether a missing oracle is a failure, and how outputs are compared with an oracle's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "ktc/core/tensor.hpp"

#include <doctest/doctest.h>

namespace ktc::testing {

inline std::filesystem::path converter_testdata() {
    const char* env = std::getenv("KTC_CONVERTER_TESTDATA");
    std::filesystem::path dir = env && *env ? env : KTC_DEFAULT_CONVERTER_TESTDATA_DIR;
    if (std::filesystem::is_directory(dir)) return dir;
    FAIL_CHECK("no converter testdata at " << dir.string()
                                           << " (tests/data/converters, or set KTC_CONVERTER_TESTDATA)");
    return {};
}

// CI sets KTC_REQUIRE_PEERS=1: there a missing oracle or ONNX Runtime fails instead of skipping.
inline bool peers_required() {
    const char* v = std::getenv("KTC_REQUIRE_PEERS");
    return v && std::string(v) == "1";
}

// max |reference - other| / max |reference| over one output (the element counts must agree).
inline double max_relative_error(const tensor& reference, const tensor& other) {
    REQUIRE(reference.size() == other.size());
    const auto a = reference.values<float>(), b = other.values<float>();
    double range = 0, diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        range = std::max(range, double(std::abs(a[i])));
        diff = std::max(diff, double(std::abs(a[i] - b[i])));
    }
    return range > 0 ? diff / range : diff;
}

}  // namespace ktc::testing
