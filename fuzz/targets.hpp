// fuzz/targets.hpp - what each fuzz target does with its bytes. The libFuzzer entry points
// (fuzz/fuzz_*.cpp) and the corpus replay test (tests/fuzz/test_fuzz_corpus.cpp) both call these,
// so every input the fuzzer kept is rerun by the ordinary test build.
//
// The contract under test (DESIGN.md): a reader refuses a bad file with a ktc::error (a one-line
// message and an exit code). Any other exception escaping, a crash, a sanitizer report, a hang or
// an allocation beyond libFuzzer's -rss_limit_mb is a finding.
#pragma once

#include <algorithm>
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

// What a target made of one input; the corpus replay counts them per target against
// fuzz/outcomes.txt (tests/support/fuzz_corpus.hpp), so a reader that starts refusing what it read
// before (or reading what it refused) fails a test. Ordered worst first.
enum class outcome {
    refused,      // the reader refused it with a ktc::error
    run_refused,  // read, but setting the model up or running it on zeros refused it with a ktc::error
    read,         // read; not run (inputs unknown or larger than max_run_elements)
    ran,          // read and run on zeros
};

inline const char* name_of(outcome o) {
    switch (o) {
        case outcome::refused: return "refused";
        case outcome::run_refused: return "run_refused";
        case outcome::read: return "read";
        case outcome::ran: return "ran";
    }
    return "?";
}

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

// Runs `runner` once on zeros when its inputs are all known and small (then `ran`, else `read`).
inline outcome run_on_zeros(const model_runner& runner) {
    std::vector<tensor> zeros;
    std::int64_t total = 0;
    for (const auto& in : runner.inputs()) {
        if (!in.rank_known) return outcome::read;
        for (const auto d : in.shape)
            if (d < 0) return outcome::read;
        total += element_count(in.shape);
        if (total > max_run_elements) return outcome::read;
        zeros.emplace_back(dtype::float32, in.shape);
    }
    (void)runner.run(zeros);
    return outcome::ran;
}

// A model in memory, set up and run in its own layout (`set` names it in the options; assigned
// rather than designated, which GCC's -Wextra would flag for every member left out); ktc::error is
// the expected way to refuse.
template <class Set>
outcome read_and_run(Set&& set) {
    inference_options options;
    options.input_layout = layout::channel_first;
    set(options);
    try {
        const model_runner runner(options);
        return run_on_zeros(runner);
    } catch (const ktc::error&) {
        return outcome::run_refused;
    }
}

}  // namespace detail

inline outcome npy_reader(std::string_view bytes) {
    try {
        (void)npy::parse(bytes, "fuzz.npy");
        return outcome::read;
    } catch (const ktc::error&) {
        return outcome::refused;
    }
}

inline outcome onnx_reader(std::string_view bytes) {
    std::optional<graph::graph> g;
    try {
        g.emplace(onnx::parse(std::string(bytes), "fuzz.onnx"));
    } catch (const ktc::error&) {
        return outcome::refused;
    }
    return detail::read_and_run([&](inference_options& o) { o.onnx = &*g; });
}

inline outcome bie_reader(std::string_view bytes) {
    std::optional<quant::bie_model> m;
    try {
        m.emplace(io::parse_bie(detail::with_valid_crc(bytes), "fuzz.bie"));
    } catch (const ktc::error&) {
        return outcome::refused;
    }
    return detail::read_and_run([&](inference_options& o) { o.bie = &*m; });
}

// Every model of the file is run; the input's outcome is its worst model's (`read` for none).
inline outcome nef_reader(std::string_view bytes) {
    std::optional<compiler::nef_file> f;
    try {
        f.emplace(io::parse_nef(detail::with_valid_crc(bytes), "fuzz.nef"));
    } catch (const ktc::error&) {
        return outcome::refused;
    }
    outcome worst = outcome::read;
    bool first = true;
    for (const auto& m : f->models) {
        const outcome o = detail::read_and_run([&](inference_options& opt) { opt.nef = &*f, opt.model_id = m.id; });
        worst = first ? o : std::min(worst, o);
        first = false;
    }
    return worst;
}

// `ktc infer`'s arguments, one per line of the input.
inline outcome infer_arguments(std::string_view bytes) {
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
        return outcome::read;
    } catch (const ktc::error&) {
        return outcome::refused;
    }
}

}  // namespace ktc::fuzz
