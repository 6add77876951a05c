// ktc/quant/tune.hpp - the quantizer's settings chosen per model on held-out calibration samples
// (`ktc analysis --tune`, docs/numerics.md "Settings chosen per model").
//
// No one setting serves every trained net: on the real-model suite, scales on every activation
// gain 2-4 dB on mini-Xception, MTCNN P-Net and the OCR classifier and lose 2 dB on R-Net and
// O-Net; adaptive weight rounding gains 3 dB on MobileNetV1 and loses 1 dB on PP-OCRv4 det. So the
// model is asked: the calibration samples are split alternately into a fit half and a held-out
// half; each candidate is quantized from the fit half's calibration (one calibration serves them
// all: ranges come from the same histograms) and run on the held-out half, and the one with the
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

// The caller's settings, then the variants the suite showed to matter: scales on every activation,
// adaptive weight rounding, both, and scales with the mse and the wide-percentile ranges.
inline std::vector<tuning_candidate> tuning_candidates(const quantize_options& given) {
    const auto with = [&](std::string flags, auto change) {
        quantize_options o = given;
        change(o);
        return tuning_candidate{std::move(flags), o};
    };
    return {
        {"", given},
        with("--weight-rounding adaptive", [](quantize_options& o) { o.rounding = weight_rounding::adaptive; }),
        with("--scales all", [](quantize_options& o) { o.scales = scale_policy::all; }),
        with("--scales all --weight-rounding adaptive",
             [](quantize_options& o) { o.scales = scale_policy::all, o.rounding = weight_rounding::adaptive; }),
        with("--scales all --range mse", [](quantize_options& o) { o.scales = scale_policy::all, o.method = range_method::mse; }),
        with("--scales all --outlier 0.99999", [](quantize_options& o) {
            o.scales = scale_policy::all, o.method = range_method::percentile, o.outlier = 0.99999;
        }),
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
    const calibration fit = calibrate(reference, r.fit_samples, [&](std::size_t i) { return sample(2 * i); }, co);
    const output_error_meter held_out(reference, fit, r.held_out_samples, [&](std::size_t i) { return sample(2 * i + 1); },
                                      r.held_out_samples);
    for (std::size_t c = 0; c < r.candidates.size(); ++c) {
        r.snr_db.push_back(held_out.snr_db<P>(r.candidates[c].options));
        if (r.snr_db[c] > r.snr_db[r.chosen]) r.chosen = c;
        if (co.progress) co.progress(c + 1, r.candidates.size());
    }
    return r;
}

}  // namespace ktc::quant
