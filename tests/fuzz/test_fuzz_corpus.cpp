// Every input of the committed fuzz corpus (fuzz/corpus/<target>/: the seeds of tools/fuzz_seeds.sh)
// and of fuzz/regressions/<target>/ (one input per fuzz finding) rerun through its target in the
// ordinary build, counted against fuzz/outcomes.txt: an input that once crashed a reader stays a
// test after the fix. The converters' are replayed by tests/convert/test_convert_fuzz_corpus.cpp.
#include <doctest/doctest.h>

#include "../fuzz/targets.hpp"
#include "support/fuzz_corpus.hpp"

using ktc::testing::replay_fuzz_corpus;

TEST_CASE("the fuzz corpus: .npy reader") { replay_fuzz_corpus("npy", ktc::fuzz::npy_reader); }
TEST_CASE("the fuzz corpus: ONNX reader and float simulator") { replay_fuzz_corpus("onnx", ktc::fuzz::onnx_reader); }
TEST_CASE("the fuzz corpus: .bie reader and fixed-point simulator") {
    replay_fuzz_corpus("bie", ktc::fuzz::bie_reader);
}
TEST_CASE("the fuzz corpus: .nef reader and hardware simulator") { replay_fuzz_corpus("nef", ktc::fuzz::nef_reader); }
TEST_CASE("the fuzz corpus: ktc infer's arguments") { replay_fuzz_corpus("infer_args", ktc::fuzz::infer_arguments); }
