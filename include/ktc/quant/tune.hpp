// ktc/quant/tune.hpp - the quantizer's settings chosen per model on held-out calibration samples
// (`ktc analysis --tune`, docs/numerics.md "Settings chosen per model").
//
// No one setting serves every trained net: on the real-model suite the defaults (scales on every
// activation at the clip of least squared error, adaptive weight rounding) gain on five of seven
// models, while MTCNN R-Net keeps more with power-of-two ranges and nearest rounding. So the model
// is asked: the calibration samples are split alternately into a fit half and a held-out half;
// each candidate is quantized from the fit half's calibration (one calibration serves them all:
// ranges come from the same histograms) and run on the held-out half, and the one with the
// smallest output error (quant/output_error.hpp) wins. Ties keep the earlier candidate, the
// caller's own settings first.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/output_error.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/quant/weight_rounding.hpp"

namespace ktc::quant {

struct tuning_candidate {
    std::string flags;  // the command-line options that give it ("" : the caller's settings)
    quantize_options options;
};

// The caller's settings, then the variants the suite showed to matter: nearest weight rounding,
// the percentile ranges (at 1.5 times the 0.999 and the 0.99999 percentile), power-of-two ranges
// for 8-bit activations without a clamp (`--scales auto`), and that with nearest rounding (ktc's
// defaults before the mse ranges).
inline std::vector<tuning_candidate> tuning_candidates(const quantize_options& given) {
    const auto with = [&](std::string flags, auto change) {
        quantize_options o = given;
        change(o);
        return tuning_candidate{std::move(flags), o};
    };
    return {
        {"", given},
        with("--weight-rounding nearest", [](quantize_options& o) { o.rounding = weight_rounding::nearest; }),
        with("--range percentile", [](quantize_options& o) { o.method = range_method::percentile; }),
        with("--range percentile --outlier 0.99999",
             [](quantize_options& o) { o.method = range_method::percentile, o.outlier = 0.99999; }),
        with("--scales auto", [](quantize_options& o) { o.scales = scale_policy::automatic; }),
        with("--scales auto --weight-rounding nearest",
             [](quantize_options& o) { o.scales = scale_policy::automatic, o.rounding = weight_rounding::nearest; }),
    };
}

struct tuning_result {
    std::vector<tuning_candidate> candidates;
    std::vector<double> snr_db;  // per candidate, on the held-out samples
    std::size_t chosen = 0;
    std::size_t fit_samples = 0, held_out_samples = 0;
    const quantize_options& options() const { return candidates.at(chosen).options; }
};

// Fewer samples than this leave nothing to hold out: tuning keeps the caller's settings.
constexpr std::size_t min_tuning_samples = 4;

template <class P>
tuning_result tune_settings(const sim::float_simulator& reference, std::size_t count,
                            const std::function<sim::tensor_map(std::size_t)>& sample, const quantize_options& given,
                            calibration_options co) {
    tuning_result r;
    r.candidates = tuning_candidates(given);
    if (count < min_tuning_samples) {
        r.candidates.resize(1);
        r.snr_db.assign(1, 0.0);
        return r;
    }
    r.fit_samples = (count + 1) / 2, r.held_out_samples = count / 2;
    co.layer_input_samples = adaptive_rounding_samples;
    const calibration fit = calibrate(
        reference, r.fit_samples, [&](std::size_t i) { return sample(2 * i); }, co);
    const output_error_meter held_out(
        reference, fit, r.held_out_samples, [&](std::size_t i) { return sample(2 * i + 1); }, r.held_out_samples);
    for (std::size_t c = 0; c < r.candidates.size(); ++c) {
        r.snr_db.push_back(held_out.snr_db<P>(r.candidates[c].options));
        if (r.snr_db[c] > r.snr_db[r.chosen]) r.chosen = c;
        if (co.progress) co.progress(c + 1, r.candidates.size());
    }
    return r;
}

}  // namespace ktc::quant
