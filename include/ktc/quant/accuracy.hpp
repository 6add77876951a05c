// ktc/quant/accuracy.hpp - where a quantized model loses accuracy: SNR of every tensor of the
// fixed-point run against the same tensor of the float run, and the comparison of two sets of
// outputs (`ktc compare`).
//
// SNR in dB = 10 log10(sum x^2 / sum (x - y)^2) over every element of every sample, x the float
// (reference) value and y the dequantized fixed-point one; identical tensors get +inf.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace ktc::quant {

struct error_sums {
    double signal = 0, noise = 0, max_abs_diff = 0;
    std::size_t elements = 0;

    void add(std::span<const float> reference, std::span<const float> other) {
        for (std::size_t i = 0; i < reference.size() && i < other.size(); ++i) {
            const double x = reference[i], y = other[i];
            // The same NaN or infinity in both runs agrees; NaN against anything else makes the
            // difference (and the SNR) NaN, where std::max would have dropped it.
            const double d = x == y || (std::isnan(x) && std::isnan(y)) ? 0 : y - x;
            signal += x * x;
            noise += d * d;
            if (std::isnan(d) || std::abs(d) > max_abs_diff) max_abs_diff = std::abs(d);  // NaN stays
        }
        elements += std::min(reference.size(), other.size());
    }
    double snr_db() const {
        if (noise == 0) return std::numeric_limits<double>::infinity();
        if (signal == 0) return -std::numeric_limits<double>::infinity();
        return 10 * std::log10(signal / noise);
    }
};

struct layer_accuracy {
    std::string value;  // tensor name
    std::string node;   // the node that computes it
    std::string op;
    int radix = 0, bits = 0;
    double scale = 1;
    error_sums error;
};

// Per-tensor SNR over `count` samples (model layout), worst first. The two simulators must run
// the same value names: the quantized graph is the float simulator's graph, annotated.
inline std::vector<layer_accuracy> per_layer_accuracy(const sim::float_simulator& reference,
                                                      const sim::fixed_simulator& quantized, std::size_t count,
                                                      const std::function<sim::tensor_map(std::size_t)>& sample) {
    std::map<std::string, layer_accuracy> layers;
    for (std::size_t s = 0; s < count; ++s) {
        const sim::tensor_map inputs = sample(s);
        std::map<std::string, tensor> floats;
        reference.run(inputs, [&](const graph::node& n, std::span<const tensor> outs) {
            for (std::size_t k = 0; k < outs.size() && k < n.outputs.size(); ++k)
                if (outs[k].type() == dtype::float32) floats[n.outputs[k]] = outs[k];
        });
        quantized.run(inputs, [&](const graph::node& n, std::span<const tensor> outs) {
            const auto radix = n.attrs.get_ints(fixed::attr::output_radix, {}),
                       bits = n.attrs.get_ints(fixed::attr::output_bits, {});
            for (std::size_t k = 0; k < outs.size() && k < n.outputs.size() && k < radix.size(); ++k) {
                auto f = floats.find(n.outputs[k]);
                if (f == floats.end() || radix[k] == fixed::not_quantized || is_floating(outs[k].type())) continue;
                auto& layer = layers[n.outputs[k]];
                layer.value = n.outputs[k], layer.node = n.name, layer.op = n.op_type;
                const fixed::value_format format = fixed::output_format(n, k);
                layer.radix = format.radix, layer.bits = format.bits, layer.scale = format.scale;
                const tensor y = fixed::dequantize_tensor(outs[k], format);
                layer.error.add(f->second.values<float>(), y.values<float>());
            }
        });
    }
    std::vector<layer_accuracy> out;
    for (auto& [name, l] : layers) out.push_back(std::move(l));
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.error.snr_db() < b.error.snr_db(); });
    return out;
}

// How two runs of one model agree on one output.
struct output_agreement {
    std::string name;
    error_sums error;
    std::int64_t samples = 0, argmax_equal = 0;  // argmax over the last axis, per row
};

inline output_agreement compare_outputs(const std::string& name, const tensor& reference, const tensor& other) {
    if (reference.shape() != other.shape())
        throw usage_error("output '" + name + "' has shape " + to_string(reference.shape()) + " in one run and " +
                          to_string(other.shape()) + " in the other");
    output_agreement a;
    a.name = name;
    const auto x = reference.to_vector<float>(), y = other.to_vector<float>();
    a.error.add(x, y);
    const std::int64_t row = reference.rank() ? reference.shape().back() : 1;
    for (std::int64_t start = 0; row > 0 && start + row <= static_cast<std::int64_t>(x.size()); start += row) {
        const auto bx = x.begin() + start, by = y.begin() + start;
        a.argmax_equal += (std::max_element(bx, bx + row) - bx) == (std::max_element(by, by + row) - by);
        ++a.samples;
    }
    return a;
}

}  // namespace ktc::quant
