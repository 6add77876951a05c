// ktc/quant/quantize.hpp - turn a calibrated float graph into a quantized graph (the second half
// of the vendor's `analysis`).
//
// Input: the graph the float simulator runs (activations already fused into Convs) and the
// ranges calibration learned for its values. Output: the same graph, same value names, where
//   - every node carries its inputs' and outputs' fixed-point formats (fixed/annotations.hpp);
//   - MAC weights are integer initializers with per-output-channel radices, biases int32;
//   - float constants read by integer ops are integer constants at their own radix;
//   - unary element-wise ops carry their lookup table, except PRelu: its slope becomes an integer
//     tensor with a radix per channel, as the chip runs it.
// The rules (radix choice, which ops keep their input's radix, bias radix, post_sigmoid) are
// docs/numerics.md; each is implemented once below.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <type_traits>
#include <string>

#include "ktc/fixed/annotations.hpp"
#include "ktc/graph/constants.hpp"
#include "ktc/graph/ops.hpp"
#include "ktc/kernels/attributes.hpp"
#include "ktc/kernels/fixed/fixed_point.hpp"
#include "ktc/kernels/float/registry.hpp"
#include "ktc/kernels/window.hpp"
#include "ktc/platform/platform.hpp"
#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/centre.hpp"
#include "ktc/quant/weight_rounding.hpp"

namespace ktc::quant {

// Which values get a scale beside their radix (docs/numerics.md, rule 3):
//   power_of_two  none: radices only, the vendor's 0.15 formats;
//   automatic     weights (their ranges are exact); 16-bit activations at twice their calibrated
//                 range (one bit of headroom: at 16 bits an overflow on unseen inputs costs far more
//                 than 6 dB of resolution) or their op's bound if lower (output_bound); 8-bit
//                 outputs of MAC ops whose calibrated range reaches their fused clamp (ReLU6 at
//                 6), at that bound; other 8-bit activations keep power-of-two ranges;
//   all           8-bit activations at 1.5 times their range (the power-of-two's average
//                 headroom, without its spread), or their op's bound if lower.
enum class scale_policy { power_of_two, automatic, all };
inline const char* name_of(scale_policy s) {
    switch (s) {
        case scale_policy::power_of_two: return "power-of-two";
        case scale_policy::automatic: return "auto";
        case scale_policy::all: return "all";
    }
    return "?";
}
inline scale_policy parse_scale_policy(const std::string& s) {
    for (auto p : {scale_policy::power_of_two, scale_policy::automatic, scale_policy::all})
        if (s == name_of(p)) return p;
    throw usage_error("--scales " + s + ": expected auto, all or power-of-two");
}

struct quantize_options {
    int bits = 8;                       // activation and weight width: 8, or 16 on 720
    std::set<std::string> int16_nodes;  // mixed precision: these nodes' outputs in int16 (720)
    range_method method = range_method::automatic;
    double outlier = 0.999;  // the percentile method's fraction
    bool per_channel_weights = true;
    bool post_sigmoid = false;     // cap graph outputs' ranges at 8 (docs/numerics.md)
    bool bias_correction = false;  // remove the mean output shift of rounded weights (opt-in)
    // How weights round to their codes (quant/weight_rounding.hpp); adaptive needs the calibration's
    // layer_inputs (calibration_options::layer_input_samples), and rounds to nearest without them.
    // quantize() alone rounds upstream as adaptive: the layer-by-layer fit runs the models
    // (quant/upstream_rounding.hpp), as analysis does.
    weight_rounding rounding = weight_rounding::upstream;
    scale_policy scales = scale_policy::all;  // which values get a scale beside the radix
    // Ranges chosen for these activations (quant/range_search.hpp) instead of the rule above: the
    // value's format is that range's, with a scale unless the policy is power_of_two.
    std::map<std::string, double> chosen_ranges;
};

namespace detail {

inline bool is_resize_nearest(const graph::node& n) {
    return n.op_type == "Resize" && n.attrs.get_string("mode", "nearest") == "nearest";
}

// The largest |value| a node's output can take whatever its input: a fused clamp's bound, a Clip's
// constant bounds, 1 for Sigmoid, HardSigmoid and Tanh; infinity when the op has none.
inline double output_bound(const graph::graph& g, const graph::node& n) {
    constexpr double none = std::numeric_limits<double>::infinity();
    const auto larger = [](double lo, double hi) { return std::max(std::abs(lo), std::abs(hi)); };
    double bound = none;
    if (n.attrs.has(kernels::attr::fused_max) || n.attrs.has(kernels::attr::fused_min))
        bound = larger(n.attrs.get_float(kernels::attr::fused_min, -float(none)),
                       n.attrs.get_float(kernels::attr::fused_max, float(none)));
    if (n.op_type == "Sigmoid" || n.op_type == "HardSigmoid" || n.op_type == "Tanh") bound = std::min(bound, 1.0);
    if (n.op_type == "Clip") {
        const auto at = [&](std::size_t slot, double fallback) {
            if (!n.has_input(slot)) return fallback;
            const auto c = graph::constant_value(g, n.input(slot));
            return c && c->size() == 1 ? c->to_vector<double>()[0] : none;  // a computed bound: unknown
        };
        bound = std::min(
            bound, larger(at(1, n.attrs.get_float("min", -float(none))), at(2, n.attrs.get_float("max", float(none)))));
    }
    return std::isfinite(bound) ? bound : none;
}

// The range of a centred activation (quant/centre.hpp), whose producer's fused clamp has the
// moved zero as its lower bound: the one that puts that bound on the type's lowest code, so that
// the clamp is the output's saturation there.
inline std::optional<double> centred_range(const graph::graph& g, const graph::node& n, int bits) {
    // A Concat of tensors centred by one shift keeps their format: -c stays the lowest code.
    if (n.op_type == "Concat" && !n.inputs.empty()) {
        std::optional<double> common;
        for (const std::string& in : n.inputs) {
            const auto p = in.empty() ? std::nullopt : g.producer(in);
            const auto r = p && g[*p].op_type != "Concat" ? centred_range(g, g[*p], bits) : std::nullopt;
            if (!r || (common && *common != *r)) return std::nullopt;
            common = r;
        }
        return common;
    }
    if (!n.attrs.has(centred_attribute) || !n.attrs.has(kernels::attr::fused_min)) return std::nullopt;
    const double lo = n.attrs.get_float(kernels::attr::fused_min);
    if (!(lo < 0) || !std::isfinite(lo)) return std::nullopt;
    const double max_code = double(fixed::max_of(bits));
    return -lo * max_code / (max_code + 1);
}

// The output channel of each weight element's channel index, and how many channels, per MAC op.
struct weight_layout {
    std::int64_t channels = 0;
    // channel of flat weight element i
    std::function<std::int64_t(std::int64_t)> channel_of;
};

inline weight_layout layout_of_weight(const graph::node& n, const tensor& w) {
    const auto& s = w.shape();
    if (n.op_type == "Conv") {
        const std::int64_t M = s.at(0), per = w.size() / std::max<std::int64_t>(1, M);
        return {M, [per](std::int64_t i) { return i / per; }};
    }
    if (n.op_type == "ConvTranspose") {  // W: [C, M/group, k...]; output m = g * (M/group) + j
        const std::int64_t C = s.at(0), Mg = s.at(1), group = n.attrs.get_int("group", 1);
        const std::int64_t spatial = w.size() / std::max<std::int64_t>(1, C * Mg), Cg = C / group;
        return {Mg * group, [=](std::int64_t i) {
                    const std::int64_t c = i / (Mg * spatial), j = (i / spatial) % Mg;
                    return (c / Cg) * Mg + j;
                }};
    }
    if (n.op_type == "Gemm" && n.attrs.get_int("transB", 0) != 0) {  // B: [N, K]
        const std::int64_t N = s.at(0), K = s.at(1);
        return {N, [K](std::int64_t i) { return i / K; }};
    }
    // Gemm B [K, N], MatMul B [..., K, N]: the last axis is the output channel
    const std::int64_t N = s.back();
    return {N, [N](std::int64_t i) { return i % N; }};
}

// The largest radix r at which the int32 bias value b fits: |b| * 2^r <= 2^31 - 1. No limit for a
// zero or non-finite b (an infinite bias saturates at any radix).
inline int bias_radix_limit(double b) {
    if (b == 0 || !std::isfinite(b)) return std::numeric_limits<int>::max();
    int r = 31 - static_cast<int>(std::floor(std::log2(std::abs(b))));
    while (std::abs(std::ldexp(b, r)) > double(fixed::max_of(32))) --r;
    return r;
}

// The share of a Conv's output positions at which each kernel tap reads the input rather than its
// zero padding, per flat tap index (1 everywhere without padding); empty if the input's spatial
// extents are unknown.
inline std::vector<double> tap_coverage(const graph::node& n, const shape_t& input_shape, const shape_t& kernel) {
    if (input_shape.size() != kernel.size() + 2) return {};
    const shape_t in(input_shape.begin() + 2, input_shape.end());
    if (std::any_of(in.begin(), in.end(), [](std::int64_t d) { return d <= 0; })) return {};
    std::vector<tensor> no_outputs;
    const kernels::window w = kernels::resolve_window(kernels::kernel_call{n, {}, no_outputs}, in, kernel);
    std::vector<double> coverage(static_cast<std::size_t>(w.kernel_size()), 1.0);
    std::int64_t inner = w.kernel_size();
    for (std::size_t d = 0; d < w.rank(); ++d) {
        inner /= w.kernel[d];
        for (std::int64_t k = 0; k < w.kernel[d]; ++k) {
            std::int64_t inside = 0;
            for (std::int64_t o = 0; o < w.out[d]; ++o) {
                const std::int64_t at = o * w.strides[d] - w.pads_begin[d] + k * w.dilations[d];
                inside += at >= 0 && at < w.in[d];
            }
            const double share = w.out[d] > 0 ? double(inside) / double(w.out[d]) : 0.0;
            for (std::size_t t = 0; t < coverage.size(); ++t)
                if ((std::int64_t(t) / inner) % w.kernel[d] == k) coverage[t] *= share;
        }
    }
    return coverage;
}

// The input channels a Conv (any group) or Gemm weight reads; 0 for other layouts.
inline std::int64_t input_channels(const graph::node& n, const tensor& w) {
    if (n.op_type == "Conv" && w.rank() >= 2) return w.dim(1) * n.attrs.get_int("group", 1);
    if (n.op_type == "Gemm" && w.rank() == 2) return w.dim(n.attrs.get_int("transB", 0) != 0 ? 1 : 0);
    return 0;
}

// Bias correction (Nagel et al. 2019, docs/numerics.md): rounding a MAC op's weights shifts the
// mean of each output channel by sum_k e[c,k] * E[x_k] (e: the rounding error of the weights, E[x]:
// the calibrated mean of the input channel a weight reads, times the share of positions where a
// Conv tap reads the input, not its zero padding). Returns that shift per output channel, or
// nothing where it does not apply (no per-channel input means, an op or layout not covered).
inline std::vector<double> mean_output_shift(const graph::node& n, const tensor& w, const tensor& qw,
                                             const weight_layout& layout,
                                             const std::vector<fixed::value_format>& w_format,
                                             const std::vector<double>& input_means, const shape_t& input_shape) {
    const auto& s = w.shape();
    std::function<std::int64_t(std::int64_t)> input_channel_of;
    std::function<double(std::int64_t)> reads_input = [](std::int64_t) { return 1.0; };
    std::int64_t channels_in = 0;
    if (n.op_type == "Conv" && s.size() >= 2) {  // W: [M, C/group, k...]
        const std::int64_t M = s[0], Cg = s[1], group = n.attrs.get_int("group", 1);
        const std::int64_t spatial = w.size() / std::max<std::int64_t>(1, M * Cg),
                           Mg = M / std::max<std::int64_t>(1, group);
        channels_in = Cg * group;
        input_channel_of = [=](std::int64_t i) { return (i / (Cg * spatial)) / Mg * Cg + (i / spatial) % Cg; };
        auto coverage = tap_coverage(n, input_shape, shape_t(s.begin() + 2, s.end()));
        if (static_cast<std::int64_t>(coverage.size()) == spatial)
            reads_input = [coverage = std::move(coverage), spatial](std::int64_t i) {
                return coverage[static_cast<std::size_t>(i % spatial)];
            };
    } else if (n.op_type == "Gemm" && s.size() == 2 && n.attrs.get_int("transA", 0) == 0) {
        const bool transposed = n.attrs.get_int("transB", 0) != 0;  // B: [N, K] or [K, N]
        const std::int64_t K = transposed ? s[1] : s[0], N = transposed ? s[0] : s[1];
        channels_in = K;
        input_channel_of = [=](std::int64_t i) { return transposed ? i % K : i / N; };
    } else {
        return {};
    }
    if (static_cast<std::int64_t>(input_means.size()) != channels_in) return {};
    std::vector<double> shift(static_cast<std::size_t>(layout.channels), 0.0);
    const auto wv = w.to_vector<float>();
    const auto qv = qw.to_vector<std::int64_t>();
    for (std::size_t i = 0; i < wv.size(); ++i) {
        const auto c = static_cast<std::size_t>(layout.channel_of(static_cast<std::int64_t>(i)));
        const double error = double(fixed::dequantize(qv[i], w_format[c])) - double(wv[i]);
        const auto k = static_cast<std::int64_t>(i);
        shift[c] += error * input_means[static_cast<std::size_t>(input_channel_of(k))] * reads_input(k);
    }
    return shift;
}

}  // namespace detail

template <class P>
graph::graph quantize(graph::graph g, const calibration& cal, const quantize_options& o) {
    using namespace detail;
    if (o.bits != 8 && o.bits != 16) throw usage_error("--bitwidth must be 8 or 16, not " + std::to_string(o.bits));
    if ((o.bits == 16 || !o.int16_nodes.empty()) && !platform::supports_data_type<P>(dtype::int16))
        throw usage_error("platform " + std::string(platform::platform_traits<P>::name) +
                          " has no int16 data path (int8 only)");
    for (const auto& name : o.int16_nodes)
        if (!g.find_node(name)) throw usage_error("--int16-node '" + name + "': no such node");

    std::map<std::string, fixed::value_format> format;
    const auto range_of = [&](const std::string& value, int bits, bool scaled = false) {
        auto it = cal.ranges.find(value);
        double r = it == cal.ranges.end() ? 0.0 : it->second.range(o.method, o.outlier, bits, scaled);
        if (o.post_sigmoid && g.is_graph_output(value)) r = std::min(r, 8.0);
        return r;
    };
    const auto is_float_value = [&](const std::string& value) {
        const auto* info = g.info(value);
        return !info || info->type == dtype::float32;
    };
    // The format of an activation from its calibrated range (docs/numerics.md, rule 3): a radix
    // and a scale, or a radix alone with power_of_two. Graph inputs keep power-of-two formats: a
    // caller feeds integers at a radix (`ktc radix`, the vendor's input contract).
    const auto activation_format = [&](const std::string& value, int bits) {
        const double r = range_of(value, bits);
        if (o.scales == scale_policy::power_of_two || g.is_graph_input(value)) return fixed::format_for(r, bits, true);
        const auto producer = g.producer(value);
        if (const auto centred = producer ? centred_range(g, g[*producer], bits) : std::nullopt)
            return fixed::format_for(*centred, bits, false);
        const double bound = producer ? output_bound(g, g[*producer]) : std::numeric_limits<double>::infinity();
        if (const auto chosen = o.chosen_ranges.find(value); chosen != o.chosen_ranges.end())
            return fixed::format_for(std::min(chosen->second, bound), bits, false);
        if (bits == 8 && o.scales == scale_policy::automatic &&
            !(producer && g[*producer].attrs.has(kernels::attr::fused_max) && r >= 0.999 * bound))
            return fixed::format_for(r, bits, true);
        // Headroom for inputs beyond the calibrated range: one bit at 16 bits; at 8 bits none over
        // an mse clip (it already weighs clipping against rounding), half a bit over the others.
        const bool mse = range_observer::effective(o.method, bits, true) == range_method::mse;
        const double headroom = bits > 8 ? 2.0 : mse ? 1.0 : 1.5;
        const double wanted =
            std::min(headroom * range_of(value, bits, true), bound);  // nothing exceeds the bound: no headroom past it
        return fixed::format_for(wanted, bits, false);
    };
    for (const auto& in : g.inputs)
        if (in.type == dtype::float32) format[in.name] = activation_format(in.name, o.bits);
    const bool power_of_two = o.scales == scale_policy::power_of_two;
    // Scales are written only where one differs from 1, so power-of-two graphs read as before.
    const auto set_scales = [](graph::node& n, const char* name, const std::vector<float>& scales) {
        if (std::any_of(scales.begin(), scales.end(), [](float s) { return s != 1.f; })) n.attrs.set(name, scales);
        else n.attrs.erase(name);
    };

    const auto& float_kernels = kernels::floating::kernels();
    std::size_t fresh = 0;
    const auto add_constant = [&](const std::string& base, tensor t) {
        std::string name = base;
        while (g.initializers.count(name) || g.producer(name)) name = base + "_" + std::to_string(++fresh);
        g.initializers.emplace(name, std::move(t));
        return name;
    };

    for (const graph::vertex v : g.topological_order()) {
        graph::node& n = g[v];
        const int out_bits = o.int16_nodes.count(n.name) ? 16 : o.bits;
        std::vector<std::int64_t> in_radix(n.inputs.size(), fixed::not_quantized), in_bits(n.inputs.size(), 0);
        std::vector<float> in_scale(n.inputs.size(), 1.f);
        for (std::size_t i = 0; i < n.inputs.size(); ++i) {
            auto it = format.find(n.inputs[i]);
            if (it != format.end()) {
                in_radix[i] = it->second.radix;
                in_bits[i] = it->second.bits;
                in_scale[i] = static_cast<float>(it->second.scale);
            }
        }

        // ---- constants the integer datapath reads --------------------------------------------
        if (ops::is_mac(n.op_type) && n.has_input(1) && !format.count(n.input(1))) {
            const auto w = graph::constant_value(g, n.input(1));
            if (w && w->type() == dtype::float32) {
                const weight_layout layout = layout_of_weight(n, *w);
                std::vector<double> max_abs(layout.channels, 0.0);
                const auto wv = w->to_vector<float>();
                for (std::size_t i = 0; i < wv.size(); ++i) {
                    auto& m = max_abs[layout.channel_of(static_cast<std::int64_t>(i))];
                    m = std::max(m, double(std::abs(wv[i])));
                }
                if (!o.per_channel_weights)
                    std::fill(max_abs.begin(), max_abs.end(), *std::max_element(max_abs.begin(), max_abs.end()));
                std::vector<std::int64_t> w_radix(layout.channels);
                std::vector<float> w_scale(layout.channels);
                for (std::int64_t c = 0; c < layout.channels; ++c) {
                    const fixed::value_format f = fixed::format_for(max_abs[c], out_bits, power_of_two);
                    w_radix[c] = f.radix;
                    w_scale[c] = static_cast<float>(f.scale);
                }
                // The accumulator's scale of channel c (the bias is quantized at it).
                const auto acc_scale = [&](std::int64_t c) { return double(in_scale[0]) * double(w_scale[c]); };
                // A channel whose weights are zero, denormal or tiny next to the output would get
                // an accumulator radix far above anything the bias or the output can use (a dead
                // channel of a trained net: weights near 2e-33 after BN folding give r_w = 115). Cap it so the
                // accumulator sits at most max_bias_shift bits above the output radix and above the
                // radix the channel's int32 bias fits at (docs/numerics.md, "Ranges and weights that
                // are zero or denormal"): what the cap rounds away is far below an output LSB.
                std::vector<float> bias_values;
                const bool has_float_bias =
                    n.op_type != "MatMul" && n.has_input(2) && !format.count(n.input(2)) && [&] {
                        const auto b = graph::constant_value(g, n.input(2));
                        if (b && b->type() == dtype::float32) bias_values = b->to_vector<float>();
                        return b && b->type() == dtype::float32;
                    }();
                const auto cap_radices = [&] {
                    if (in_radix[0] == fixed::not_quantized || n.outputs.empty() || n.outputs[0].empty()) return;
                    const std::int64_t r_out = activation_format(n.outputs[0], out_bits).radix;
                    for (std::int64_t c = 0; c < layout.channels; ++c) {
                        std::int64_t cap = r_out + fixed::max_bias_shift - in_radix[0];
                        const std::size_t bc = bias_values.size() == 1 ? 0 : static_cast<std::size_t>(c);
                        if (bc < bias_values.size() && bias_values[bc] != 0.f)
                            cap = std::min<std::int64_t>(cap, bias_radix_limit(bias_values[bc] * acc_scale(c)) +
                                                                  fixed::max_bias_shift - in_radix[0]);
                        w_radix[c] = std::min(w_radix[c], cap);
                    }
                    if (!o.per_channel_weights)
                        std::fill(w_radix.begin(), w_radix.end(), *std::min_element(w_radix.begin(), w_radix.end()));
                };
                cap_radices();
                const auto weight_formats = [&] {
                    std::vector<fixed::value_format> f(static_cast<std::size_t>(layout.channels));
                    for (std::size_t c = 0; c < f.size(); ++c) f[c] = {int(w_radix[c]), out_bits, double(w_scale[c])};
                    return f;
                };
                const auto quantize_weights = [&] {
                    const auto f = weight_formats();
                    tensor q = fixed::quantize_tensor(
                        *w, std::function<fixed::value_format(std::int64_t)>([&](std::int64_t i) {
                            return f[static_cast<std::size_t>(layout.channel_of(i))];
                        }),
                        out_bits);
                    const auto inputs = cal.layer_inputs.find(n.name);
                    if (o.rounding != weight_rounding::nearest && inputs != cal.layer_inputs.end())
                        q = round_against_output(n, *w, std::move(q), f, inputs->second, out_bits);
                    return q;
                };
                tensor qw = quantize_weights();
                // Bias correction: the bias absorbs the mean shift the weights' rounding causes; a
                // layer without a bias gets one. The corrected bias may cap radices further. A
                // layer that reads a centred tensor (quant/centre.hpp) always does: its input's
                // shift turns every weight's rounding error into an offset of -c times it (its
                // inputs' mean is E[x] - c), which it must not keep (docs/numerics.md, rule 0b).
                std::optional<tensor> corrected_bias;
                const auto means = cal.channel_means.find(n.input(0));
                const float input_shift = n.attrs.get_float(input_shift_attribute, 0.f);
                std::vector<double> input_means;
                if ((o.bias_correction || input_shift != 0.f) && means != cal.channel_means.end())
                    input_means = means->second.means();
                else if (input_shift != 0.f)  // no calibrated means: the shift's part at least
                    input_means.assign(static_cast<std::size_t>(input_channels(n, *w)), -double(input_shift));
                const bool bias_allowed = n.op_type != "MatMul" && (has_float_bias || !n.has_input(2));
                if (!input_means.empty() && bias_allowed && in_radix[0] != fixed::not_quantized &&
                    (bias_values.empty() || static_cast<std::int64_t>(bias_values.size()) == layout.channels)) {
                    const auto* input_info = g.info(n.input(0));
                    const auto shift = mean_output_shift(n, *w, qw, layout, weight_formats(), input_means,
                                                         input_info ? input_info->shape : shape_t{});
                    if (!shift.empty()) {
                        if (bias_values.empty()) bias_values.assign(static_cast<std::size_t>(layout.channels), 0.f);
                        for (std::size_t c = 0; c < shift.size(); ++c)
                            bias_values[c] = float(double(bias_values[c]) - shift[c]);
                        const auto before = w_radix;
                        cap_radices();
                        if (w_radix != before) qw = quantize_weights();
                        corrected_bias = tensor(dtype::float32, {layout.channels});
                        std::copy(bias_values.begin(), bias_values.end(), corrected_bias->data<float>());
                    }
                }
                g.set_input(v, 1, add_constant(n.name + "_weight_q", qw));
                n.attrs.set(fixed::attr::weight_radix, w_radix);
                set_scales(n, fixed::attr::weight_scale, w_scale);
                in_bits[1] = out_bits;

                // The bias, int32 at the accumulator's radix r_in + r_w[c] (lowered to fit) and scale.
                if (corrected_bias) {
                    g.set_input(v, 2, add_constant(n.name + "_bias_corrected", *corrected_bias));
                    in_radix.resize(n.inputs.size(), fixed::not_quantized);  // a bias the layer did not have
                    in_bits.resize(n.inputs.size(), 0);
                    in_scale.resize(n.inputs.size(), 1.f);
                }
                if (n.op_type != "MatMul" && n.has_input(2) && !format.count(n.input(2))) {
                    const auto b = graph::constant_value(g, n.input(2));
                    if (b && b->type() == dtype::float32 && in_radix[0] != fixed::not_quantized) {
                        if (b->size() != layout.channels)
                            throw unsupported_error("node '" + n.name + "' (" + n.op_type + "): bias of " +
                                                    std::to_string(b->size()) + " values for " +
                                                    std::to_string(layout.channels) + " output channels");
                        const auto bv = b->to_vector<float>();
                        std::vector<std::int64_t> b_radix(layout.channels);
                        for (std::int64_t c = 0; c < layout.channels; ++c)
                            b_radix[c] = std::min<std::int64_t>(in_radix[0] + w_radix[c],
                                                                bias_radix_limit(bv[c] * acc_scale(c)));
                        tensor qb = fixed::quantize_tensor(
                            *b, std::function<fixed::value_format(std::int64_t)>([&](std::int64_t c) {
                                return fixed::value_format{int(b_radix[c]), 32, acc_scale(c)};
                            }),
                            32);
                        g.set_input(v, 2, add_constant(n.name + "_bias_q", std::move(qb)));
                        n.attrs.set(fixed::attr::bias_radix, b_radix);
                        in_bits[2] = 32;
                    }
                }
            }
        } else if (n.op_type == "PRelu" && in_radix[0] != fixed::not_quantized && n.has_input(1) &&
                   !format.count(n.input(1))) {
            // PRelu's slope: an integer per channel (per element of the slope tensor) at its own
            // radix, at the layer's width (docs/numerics.md, "PRelu").
            const auto s = graph::constant_value(g, n.input(1));
            if (s && s->type() == dtype::float32) {
                const auto sv = s->to_vector<float>();
                std::vector<std::int64_t> s_radix(sv.size());
                for (std::size_t i = 0; i < sv.size(); ++i)
                    s_radix[i] = fixed::radix_for(std::abs(double(sv[i])), out_bits);
                const tensor qs = fixed::quantize_tensor(
                    *s, [&](std::int64_t i) { return int(s_radix[i]); }, out_bits);
                g.set_input(v, 1, add_constant(n.name + "_slope_q", qs));
                n.attrs.set(fixed::attr::slope_radix, s_radix);
                in_bits[1] = out_bits;
            }
        } else if (ops::all_inputs_are_activations(n.op_type) || (n.op_type == "Pad" && n.has_input(2))) {
            // Constant operands of Add/Mul/Concat/..., and a Pad's fill value, become integers.
            for (std::size_t i = n.op_type == "Pad" ? 2 : 0; i < n.inputs.size(); ++i) {
                if (n.inputs[i].empty() || format.count(n.inputs[i])) continue;
                const auto c = graph::constant_value(g, n.inputs[i]);
                if (!c || c->type() != dtype::float32) continue;
                const auto cv = c->to_vector<float>();
                double m = 0;
                for (float x : cv) m = std::max(m, double(std::abs(x)));
                // A Pad's fill value at its input's format; other constants at a radix of their own.
                const int bits = n.op_type == "Pad" ? int(in_bits[0]) : out_bits;
                const fixed::value_format f = n.op_type == "Pad"
                                                  ? fixed::value_format{int(in_radix[0]), bits, double(in_scale[0])}
                                                  : fixed::format_for(m, bits, true);
                g.set_input(v, i, add_constant(n.name + "_const_q", fixed::quantize_tensor(*c, f)));
                in_radix[i] = f.radix;
                in_bits[i] = f.bits;
                in_scale[i] = static_cast<float>(f.scale);
            }
        }

        // ---- what the node produces --------------------------------------------------------
        std::vector<std::int64_t> out_radix(n.outputs.size(), fixed::not_quantized), out_bits_v(n.outputs.size(), 0);
        std::vector<float> out_scale(n.outputs.size(), 1.f);
        for (std::size_t k = 0; k < n.outputs.size(); ++k) {
            const std::string& out = n.outputs[k];
            if (out.empty() || !is_float_value(out)) continue;
            fixed::value_format f;
            if ((ops::keeps_input_format(n.op_type) || is_resize_nearest(n)) && in_radix.size() &&
                in_radix[0] != fixed::not_quantized)
                f = {static_cast<int>(in_radix[0]), static_cast<int>(in_bits[0]), double(in_scale[0])};
            else f = activation_format(out, out_bits);
            format[out] = f;
            out_radix[k] = f.radix;
            out_bits_v[k] = f.bits;
            out_scale[k] = static_cast<float>(f.scale);
        }

        // ---- the lookup table of a unary op -----------------------------------------------
        if (ops::uses_lookup_table(n.op_type) && in_radix.size() && in_radix[0] != fixed::not_quantized &&
            out_radix[0] != fixed::not_quantized) {
            bool tabulable = true;
            std::vector<tensor> extra;  // the op's constant inputs (Clip bounds, PRelu slope)
            for (std::size_t i = 1; i < n.inputs.size(); ++i) {
                if (n.inputs[i].empty()) {
                    extra.emplace_back();
                    continue;
                }
                auto c = graph::constant_value(g, n.inputs[i]);
                if (!c || c->size() != 1) tabulable = false;  // a per-channel slope: no single table
                else extra.push_back(*c);
            }
            auto kernel = float_kernels.find(n.op_type);
            if (tabulable && kernel != float_kernels.end()) {
                const int bits = static_cast<int>(in_bits[0]);
                const std::int64_t codes = std::int64_t{1} << bits;
                tensor x(dtype::float32, {codes});
                for (std::int64_t i = 0; i < codes; ++i)
                    x.data<float>()[i] = fixed::dequantize(
                        fixed::min_of(bits) + i, fixed::value_format{int(in_radix[0]), bits, double(in_scale[0])});
                std::vector<const tensor*> inputs = {&x};
                for (const auto& e : extra) inputs.push_back(e.size() ? &e : nullptr);
                std::vector<tensor> outs(1);
                kernel->second(kernels::kernel_call{n, inputs, outs});
                n.attrs.set(fixed::attr::lookup_table, fixed::quantize_tensor(outs[0], format.at(n.outputs[0])));
            }
        }

        n.attrs.set(fixed::attr::input_radix, in_radix);
        n.attrs.set(fixed::attr::input_bits, in_bits);
        n.attrs.set(fixed::attr::output_radix, out_radix);
        n.attrs.set(fixed::attr::output_bits, out_bits_v);
        set_scales(n, fixed::attr::input_scale, in_scale);
        set_scales(n, fixed::attr::output_scale, out_scale);
    }

    // Float constants nothing reads any more (replaced by their integer forms).
    for (auto it = g.initializers.begin(); it != g.initializers.end();)
        it = g.consumers(it->first).empty() && !g.is_graph_output(it->first) ? g.initializers.erase(it) : std::next(it);
    return g;
}

#if !KTC_HEADER_ONLY
// Instantiated once for each chip, in src/quant.cpp (core/config.hpp).
extern template graph::graph quantize<platform::kdp520>(graph::graph, const calibration&, const quantize_options&);
extern template graph::graph quantize<platform::kdp720>(graph::graph, const calibration&, const quantize_options&);
#endif

}  // namespace ktc::quant
