// Every input of the committed fuzz corpus (fuzz/corpus/<target>/: the seeds plus what libFuzzer
// found, minimised by scripts/fuzz.sh) rerun through its target in the ordinary build: an input
// that once crashed a reader stays a test after the fix.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../fuzz/targets.hpp"

namespace {

void replay_fuzz_corpus(const std::string& target, void (*run)(std::string_view)) {
    const std::filesystem::path dir = std::filesystem::path(KTC_FUZZ_CORPUS_DIR) / target;
    REQUIRE_MESSAGE(std::filesystem::is_directory(dir), dir.string());
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    CHECK(files.size() >= 3);
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        CAPTURE(f.string());
        CHECK_NOTHROW(run(bytes.str()));
    }
}

}  // namespace

TEST_CASE("the fuzz corpus: .npy reader") { replay_fuzz_corpus("npy", ktc::fuzz::npy_reader); }
TEST_CASE("the fuzz corpus: ONNX reader and float simulator") { replay_fuzz_corpus("onnx", ktc::fuzz::onnx_reader); }
TEST_CASE("the fuzz corpus: .bie reader and fixed-point simulator") { replay_fuzz_corpus("bie", ktc::fuzz::bie_reader); }
TEST_CASE("the fuzz corpus: .nef reader and hardware simulator") { replay_fuzz_corpus("nef", ktc::fuzz::nef_reader); }
TEST_CASE("the fuzz corpus: ktc infer's arguments") { replay_fuzz_corpus("infer_args", ktc::fuzz::infer_arguments); }
