// fuzz/targets.hpp - what each fuzz target does with its bytes. The libFuzzer entry points
// (fuzz/fuzz_*.cpp) and the corpus replay test (tests/fuzz/test_fuzz_corpus.cpp) both call these,
// so every input the fuzzer kept is rerun by the ordinary test build.
//
// The contract under test (DESIGN.md): a reader refuses a bad file with a ktc::error (a one-line
// message and an exit code). Any other exception escaping, a crash, a sanitizer report, a hang or
// an allocation beyond libFuzzer's -rss_limit_mb is a finding.
#pragma once

#include <cstdint>
#include <cstring>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ktc/api/inference.hpp"
#include "ktc/core/crc32.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/onnx/import.hpp"
#include "../drivers/infer_args.hpp"

namespace ktc::fuzz {

// Models whose inputs are this small are also run, on zeros: a file that reads well must also
// simulate without crashing. Larger ones are only read (allocating what a valid file may ask for
// is not a bug, and the fuzzer's memory limit would call it one).
inline constexpr std::int64_t max_run_elements = std::int64_t{1} << 16;

namespace detail {

// The .bie and .nef end in a CRC-32 of everything before it: random mutations would almost never
// get past it, so the targets recompute it and fuzz the structure behind the checksum. (The
// checksum check itself is covered by tests/quant/test_bie.cpp and tests/compiler/test_nef.cpp.)
inline std::string with_valid_crc(std::string_view bytes) {
    std::string s(bytes);
    if (s.size() < 4) return s;
    const std::uint32_t crc = crc32(std::string_view(s).substr(0, s.size() - 4));
    std::memcpy(s.data() + s.size() - 4, &crc, 4);
    return s;
}

// Runs `runner` once on zeros when its inputs are all known and small.
inline void run_on_zeros(const model_runner& runner) {
    std::vector<tensor> zeros;
    std::int64_t total = 0;
    for (const auto& in : runner.inputs()) {
        if (!in.rank_known) return;
        for (const auto d : in.shape)
            if (d < 0) return;
        total += element_count(in.shape);
        if (total > max_run_elements) return;
        zeros.emplace_back(dtype::float32, in.shape);
    }
    (void)runner.run(zeros);
}

// A model in memory, set up and run in its own layout (`set` names it in the options; assigned
// rather than designated, which GCC's -Wextra would flag for every member left out); ktc::error is
// the expected way to refuse.
template <class Set>
void read_and_run(Set&& set) {
    inference_options options;
    options.input_layout = layout::channel_first;
    set(options);
    try {
        const model_runner runner(options);
        run_on_zeros(runner);
    } catch (const ktc::error&) {
    }
}

}  // namespace detail

inline void npy_reader(std::string_view bytes) {
    try {
        (void)npy::parse(bytes, "fuzz.npy");
    } catch (const ktc::error&) {
    }
}

inline void onnx_reader(std::string_view bytes) {
    try {
        const graph::graph g = onnx::parse(std::string(bytes), "fuzz.onnx");
        detail::read_and_run([&](inference_options& o) { o.onnx = &g; });
    } catch (const ktc::error&) {
    }
}

inline void bie_reader(std::string_view bytes) {
    try {
        const quant::bie_model m = quant::parse_bie(detail::with_valid_crc(bytes), "fuzz.bie");
        detail::read_and_run([&](inference_options& o) { o.bie = &m; });
    } catch (const ktc::error&) {
    }
}

inline void nef_reader(std::string_view bytes) {
    try {
        const compiler::nef_file f = compiler::parse_nef(detail::with_valid_crc(bytes), "fuzz.nef");
        for (const auto& m : f.models)
            detail::read_and_run([&](inference_options& o) { o.nef = &f, o.model_id = m.id; });
    } catch (const ktc::error&) {
    }
}

// `ktc infer`'s arguments, one per line of the input.
inline void infer_arguments(std::string_view bytes) {
    cli::args a;
    std::size_t at = 0;
    while (at <= bytes.size() && a.size() < 64) {
        const auto nl = std::min(bytes.find('\n', at), bytes.size());
        a.emplace_back(bytes.substr(at, nl - at));
        at = nl + 1;
    }
    // --help prints the usage: keep it off the test's output.
    struct silenced {
        std::ostringstream sink;
        std::streambuf* saved = std::cout.rdbuf(sink.rdbuf());
        ~silenced() { std::cout.rdbuf(saved); }
    } quiet;
    try {
        (void)cli::parse_infer_args(a);
    } catch (const ktc::error&) {
    }
}

}  // namespace ktc::fuzz
