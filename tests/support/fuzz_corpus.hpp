// tests/support/fuzz_corpus.hpp - rerun a committed fuzz corpus (fuzz/corpus/<target>/) through its
// target: every input must be refused with a ktc::error or read cleanly (fuzz/targets.hpp).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "ktc/core/read_file.hpp"

namespace ktc::testing {

inline void replay_fuzz_corpus(const std::string& target, void (*run)(std::string_view)) {
    const std::filesystem::path dir = std::filesystem::path(KTC_FUZZ_CORPUS_DIR) / target;
    REQUIRE_MESSAGE(std::filesystem::is_directory(dir), dir.string());
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    CHECK_FALSE(files.empty());
    for (const auto& f : files) {
        CAPTURE(f.string());
        CHECK_NOTHROW(run(read_whole_file(f, std::uintmax_t{1} << 20, "a fuzz input")));
    }
}

}  // namespace ktc::testing
