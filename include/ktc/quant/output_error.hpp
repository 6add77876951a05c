// ktc/quant/output_error.hpp - the error quantization leaves at a model's outputs, measured on
// calibration samples: what the range search (quant/range_search.hpp) and the mixed-precision
// choice (quant/mixed_precision.hpp) minimise.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace ktc::quant {

// The error quantization leaves at the graph outputs: the fixed-point simulator against the float
// one on `samples` calibration samples spread over the set, summed over the outputs as noise
// energy / signal energy.
class output_error_meter {
public:
    // Runs the reference on the samples once; `observe` sees its first run (per-node statistics).
    output_error_meter(const sim::float_simulator& reference, const calibration& cal, std::size_t count,
                       const std::function<sim::tensor_map(std::size_t)>& sample, std::size_t samples,
                       const sim::node_observer& observe = {})
        : graph_(reference.graph()), cal_(cal) {
        const std::size_t n = std::min(count, std::max<std::size_t>(1, samples));
        for (std::size_t i = 0; i < n && count > 0; ++i) {
            inputs_.push_back(sample(i * count / n));
            wanted_.push_back(reference.run(inputs_.back(), i == 0 ? observe : sim::node_observer{}));
        }
    }

    std::size_t samples() const { return inputs_.size(); }

    template <class P>
    double error(const quantize_options& o) const {
        const sim::fixed_simulator fixed(quantize<P>(graph_, cal_, o));
        std::vector<double> signal(graph_.outputs.size(), 0.0), noise(graph_.outputs.size(), 0.0);
        for (std::size_t i = 0; i < inputs_.size(); ++i) {
            const auto got_outputs = fixed.run(inputs_[i]);  // alive while read
            for (std::size_t k = 0; k < graph_.outputs.size(); ++k) {
                const auto want = wanted_[i].at(graph_.outputs[k].name).values<float>();
                const auto got = got_outputs.at(graph_.outputs[k].name).values<float>();
                for (std::size_t j = 0; j < want.size() && j < got.size(); ++j) {
                    signal[k] += double(want[j]) * want[j];
                    noise[k] += (double(got[j]) - want[j]) * (double(got[j]) - want[j]);
                }
            }
        }
        double total = 0;
        for (std::size_t k = 0; k < signal.size(); ++k) total += signal[k] > 0 ? noise[k] / signal[k] : noise[k];
        return total;
    }

    // The same as an SNR in dB (+inf: exact).
    template <class P>
    double snr_db(const quantize_options& o) const {
        const double e = error<P>(o);
        return e > 0 ? -10 * std::log10(e) : std::numeric_limits<double>::infinity();
    }

private:
    const graph::graph& graph_;
    const calibration& cal_;
    std::vector<sim::tensor_map> inputs_, wanted_;
};

}  // namespace ktc::quant
