// ktc/quant/calibrate.hpp - run the float model over the calibration samples and learn the range
// of every tensor (the first half of the vendor's `analysis`). It takes a runner (sim/runner.hpp),
// not the float simulator itself.
//
// Threads take samples one at a time from a shared counter; each keeps its own range_observer per
// tensor and they are merged at the end (exactly: observer merging is order-independent), so the
// result does not depend on the thread count and memory does not grow with the sample count.
// Samples are produced on demand by the caller (`sample(i)`), never all held as activations.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ktc/core/config.hpp"
#include "ktc/fixed/annotations.hpp"
#include "ktc/kernels/fixed/fixed_point.hpp"
#include "ktc/quant/layer_inputs.hpp"
#include "ktc/quant/observer.hpp"
#include "ktc/sim/runner.hpp"

namespace ktc::quant {

struct calibration {
    std::map<std::string, range_observer> ranges;                // graph inputs and every float value computed
    std::map<std::string, channel_mean_observer> channel_means;  // the same values, per channel
    // By MAC node name: its input patches' second moments (weight rounding against the output
    // error), from calibration_options::layer_input_samples samples, alternately into fit and
    // check; empty when not asked for.
    std::map<std::string, layer_input_moments> layer_inputs;
    std::size_t samples = 0;
};

struct calibration_options {
    unsigned threads = 0;                 // 0: every core
    std::size_t layer_input_samples = 0;  // samples, spread over the set, whose MAC inputs are kept (0: none)
    std::function<void(std::size_t done, std::size_t total)> progress;  // called from one thread
};

// A NaN or an infinity in a calibration sample has no range to learn: the observers skip
// non-finite values, so the radices would silently ignore it (all the data, for an all-NaN input).
inline void require_finite_sample(const std::string& input, std::size_t sample, const tensor& x) {
    const auto v = x.values<float>();
    const auto bad = std::find_if(v.begin(), v.end(), [](float f) { return !std::isfinite(f); });
    if (bad == v.end()) return;
    throw usage_error("calibration input '" + input + "', sample " + std::to_string(sample) + ", element " +
                      std::to_string(bad - v.begin()) + " is " +
                      (std::isnan(*bad) ? "NaN"
                       : *bad > 0       ? "+inf"
                                        : "-inf") +
                      ": calibration data must be finite");
}

// `model` runs the float graph that will be quantized (its graph() names the values): the float
// simulator, or any runner that observes float outputs.
KTC_DECL calibration calibrate(const sim::runner& model, std::size_t sample_count,
                               const std::function<sim::tensor_map(std::size_t)>& sample,
                               const calibration_options& options = {});

// The MAC layers' input patches as the quantized model sees them beside the float model's, for
// weight rounding that also takes back what the layers upstream lost (quant/weight_rounding.hpp,
// docs/numerics.md rule 7): both runners run the same value names (`quantized` the graph quantized
// from `reference`'s, annotated), on the samples and in the fit and check halves that calibrate()
// keeps with the same options. The quantized runner's integer tensors are read at their formats.
// Only the MAC nodes named in `layers` are observed.
KTC_DECL std::map<std::string, layer_input_moments> upstream_layer_inputs(
    const sim::runner& reference, const sim::runner& quantized, const std::set<std::string>& layers,
    std::size_t sample_count, const std::function<sim::tensor_map(std::size_t)>& sample,
    const calibration_options& options);

}  // namespace ktc::quant

#if KTC_HEADER_ONLY
#include "ktc/quant/calibrate.ipp"
#endif
