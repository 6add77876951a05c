// The converters' committed fuzz seeds and regressions (fuzz/corpus/tflite, fuzz/corpus/caffe,
// fuzz/regressions/tflite) rerun through their targets (fuzz/convert_targets.hpp): every input
// converts and runs, or is refused with a ktc::error, and the counts are fuzz/outcomes.txt's.
#include <doctest/doctest.h>

#include "../fuzz/convert_targets.hpp"
#include "support/fuzz_corpus.hpp"

using ktc::testing::replay_fuzz_corpus;

TEST_CASE("the fuzz corpus: TFLite converter") { replay_fuzz_corpus("tflite", ktc::fuzz::tflite_reader); }
TEST_CASE("the fuzz corpus: Caffe converter") { replay_fuzz_corpus("caffe", ktc::fuzz::caffe_reader); }
