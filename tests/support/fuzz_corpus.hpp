// tests/support/fuzz_corpus.hpp - rerun a committed fuzz corpus (fuzz/corpus/<target>/) through its
// target: every input must be refused with a ktc::error or read cleanly (fuzz/targets.hpp), and
// the count of each outcome must be the one fuzz/outcomes.txt states for the target.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "../../fuzz/targets.hpp"
#include "ktc/core/read_file.hpp"

namespace ktc::testing {

inline std::vector<std::filesystem::path> fuzz_files(const std::filesystem::path& dir) {
    REQUIRE_MESSAGE(std::filesystem::is_directory(dir), dir.string());
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    return files;
}

inline std::string read_fuzz_input(const std::filesystem::path& f) {
    return read_whole_file(f, std::uintmax_t{1} << 20, "a fuzz input");
}

// fuzz/outcomes.txt's line for `target`: "<target> <inputs> refused <n> run_refused <n> read <n> ran <n>".
inline std::string expected_fuzz_outcomes(const std::string& target) {
    const auto path = std::filesystem::path(KTC_FUZZ_CORPUS_DIR).parent_path() / "outcomes.txt";
    std::ifstream in(path);
    REQUIRE_MESSAGE(in, path.string());
    for (std::string line; std::getline(in, line);)
        if (line.rfind(target + " ", 0) == 0) return line;
    return "(no line for " + target + " in " + path.string() + ")";
}

// The named regression inputs of fuzz/regressions/<target>/: one file per fuzz finding, named
// for what it caught, its extension the outcome it must have now (fuzz/regressions/README.md).
template <class Target>
void replay_fuzz_regressions(const std::string& target, Target run) {
    const auto all = std::filesystem::path(KTC_FUZZ_CORPUS_DIR).parent_path() / "regressions";
    REQUIRE_MESSAGE(std::filesystem::is_directory(all), all.string());
    const auto dir = all / target;  // a target that has had no finding has no folder
    for (const auto& f : std::filesystem::exists(dir) ? fuzz_files(dir) : std::vector<std::filesystem::path>{}) {
        CAPTURE(f.string());
        fuzz::outcome o = fuzz::outcome::refused;
        CHECK_NOTHROW(o = run(read_fuzz_input(f)));
        CHECK(std::string(".") + fuzz::name_of(o) == f.extension().string());
    }
}

// Replays the corpus and then the target's regressions.
template <class Target>
void replay_fuzz_corpus(const std::string& target, Target run) {
    replay_fuzz_regressions(target, run);
    using fuzz::outcome;
    const auto files = fuzz_files(std::filesystem::path(KTC_FUZZ_CORPUS_DIR) / target);
    CHECK_FALSE(files.empty());
    std::array<std::size_t, 4> count{};
    for (const auto& f : files) {
        CAPTURE(f.string());
        outcome o = outcome::refused;
        CHECK_NOTHROW(o = run(read_fuzz_input(f)));
        ++count.at(static_cast<std::size_t>(o));
    }
    std::ostringstream got;
    got << target << ' ' << files.size();
    for (const outcome o : {outcome::refused, outcome::run_refused, outcome::read, outcome::ran})
        got << ' ' << fuzz::name_of(o) << ' ' << count[static_cast<std::size_t>(o)];
    // The replay is deterministic: a changed count is a reader or simulator that now refuses what
    // it read (or the reverse). When that is meant, or after a campaign merged new inputs
    // (scripts/fuzz.sh), put this replay's line in fuzz/outcomes.txt.
    CHECK_MESSAGE(got.str() == expected_fuzz_outcomes(target),
                  "fuzz/outcomes.txt differs from this replay: " << got.str());
}

}  // namespace ktc::testing
