// tests/convert/testdata.hpp - where the third-party converter files are ($KTC_CONVERTER_TESTDATA
// or ../shared/testdata/converters); empty with a message when they are absent.
#pragma once

#include <cstdlib>
#include <filesystem>

#include <doctest/doctest.h>

namespace ktc::testing {

inline std::filesystem::path converter_testdata() {
    const char* env = std::getenv("KTC_CONVERTER_TESTDATA");
    std::filesystem::path dir = env && *env ? env : KTC_DEFAULT_CONVERTER_TESTDATA_DIR;
    if (std::filesystem::is_directory(dir)) return dir;
    MESSAGE("skipped: no converter testdata at " << dir.string() << " (set KTC_CONVERTER_TESTDATA)");
    return {};
}

}  // namespace ktc::testing
