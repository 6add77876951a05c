// ktc/quant/centre.ipp - the definitions behind centre.hpp
// (compiled once in src/, or included by the header when header-only: core/config.hpp).
#pragma once

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "ktc/graph/constants.hpp"
#include "ktc/kernels/fixed/fixed_point.hpp"
#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/centre.hpp"
#include "ktc/quant/equalize.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace ktc::quant {

namespace detail {

// Ops whose output moves down by c when their input does and whose values keep their spread
// around it. Averages also commute, but the mean of a sparse ReLU6 output sits near 0, so moved
// down it would need a coarser format than it had (zoo mobilenet_v2's GlobalAveragePool).
inline bool commutes_with_shift(const graph::node& n) {
    if (n.inputs.empty() || n.outputs.size() != 1) return false;
    return n.op_type == "MaxPool" || n.op_type == "GlobalMaxPool" || n.op_type == "Flatten" || n.op_type == "Reshape" ||
           n.op_type == "Squeeze" || n.op_type == "Unsqueeze" || n.op_type == "Identity";
}

// A bias the pass may change: absent (one is added) or a float constant only `n` reads.
inline bool bias_is_private(graph::graph& g, const graph::node& n, std::size_t slot) {
    return !n.has_input(slot) || private_weight(g, n.input(slot)) != nullptr;
}

inline bool absorbs_shift(graph::graph& g, const graph::node& n) {
    const tensor* w = g.initializer(n.input(1));
    if (!w || w->type() != dtype::float32) return false;
    if (n.op_type == "Conv")
        return w->rank() >= 3 && n.attrs.get_string("auto_pad", "NOTSET") == "NOTSET" && bias_is_private(g, n, 2);
    if (n.op_type == "Gemm") {
        const tensor* bias = n.has_input(2) ? g.initializer(n.input(2)) : nullptr;
        const std::int64_t columns = w->rank() == 2 ? w->dim(n.attrs.get_int("transB", 0) ? 0 : 1) : -1;
        return w->rank() == 2 && n.attrs.get_int("transA", 0) == 0 && n.attrs.get_float("alpha", 1.f) == 1.f &&
               n.attrs.get_float("beta", 1.f) == 1.f && bias_is_private(g, n, 2) && (!bias || bias->size() == columns);
    }
    return false;
}

// Every layer that reads `value` as its data input (through ops that commute with the shift) and
// can add c back through its bias; nullopt when anything else reads it, or it reaches a graph output.
inline std::optional<std::vector<graph::vertex>> shift_absorbers(graph::graph& g, const std::string& value,
                                                                 int depth = 0) {
    if (depth > 8 || g.is_graph_output(value)) return std::nullopt;
    std::vector<graph::vertex> found;
    for (const auto& [v, slot] : g.consumers(value)) {
        const graph::node& n = g[v];
        if (slot != 0 || !n.domain.empty()) return std::nullopt;
        if (absorbs_shift(g, n)) {
            found.push_back(v);
        } else if (commutes_with_shift(n) &&
                   std::all_of(n.inputs.begin() + 1, n.inputs.end(),
                               [&](const std::string& in) { return in.empty() || g.initializer(in); })) {
            auto further = shift_absorbers(g, n.outputs[0], depth + 1);
            if (!further) return std::nullopt;
            found.insert(found.end(), further->begin(), further->end());
        } else {
            return std::nullopt;
        }
    }
    if (found.empty()) return std::nullopt;
    return found;
}

inline std::string fresh_value_name(const graph::graph& g, const std::string& base) {
    std::string name = base;
    for (int i = 1;
         g.initializers.count(name) || g.producer(name) || g.is_graph_input(name) || !g.consumers(name).empty(); ++i)
        name = base + "_" + std::to_string(i);
    return name;
}

// The float bias of node `v` (input `slot`), added as zeros of `size` when absent.
inline tensor& bias_of(graph::graph& g, graph::vertex v, std::size_t slot, std::int64_t size) {
    if (!g[v].has_input(slot)) {
        const std::string name = fresh_value_name(g, g[v].name + "_bias");
        g.initializers.emplace(name, tensor::zeros(dtype::float32, {size}));
        g.set_input(v, slot, name);
    }
    return g.initializers.at(g[v].input(slot));
}

// Adds `c` back in reader `v`: bias += c * (the sum of each output channel's weights), and for a
// padded Conv an explicit Pad whose fill is the moved zero, -c.
inline bool absorb_shift(graph::graph& g, graph::vertex v, float c) {
    graph::node& n = g[v];
    const tensor w = *g.initializer(n.input(1));
    const auto wv = w.values<float>();
    std::vector<double> sums;
    if (n.op_type == "Conv") {
        const std::int64_t M = w.dim(0), per = w.size() / std::max<std::int64_t>(1, M);
        sums.assign(M, 0.0);
        for (std::int64_t m = 0; m < M; ++m)
            for (std::int64_t k = 0; k < per; ++k) sums[m] += wv[m * per + k];
    } else {  // Gemm: y[n] = sum_k x[k] B[k, n]
        const bool trans = n.attrs.get_int("transB", 0) != 0;
        const std::int64_t N = trans ? w.dim(0) : w.dim(1), K = trans ? w.dim(1) : w.dim(0);
        sums.assign(N, 0.0);
        for (std::int64_t k = 0; k < K; ++k)
            for (std::int64_t j = 0; j < N; ++j) sums[j] += wv[trans ? j * K + k : k * N + j];
    }
    n.attrs.set(input_shift_attribute, c);
    tensor& bias = bias_of(g, v, 2, static_cast<std::int64_t>(sums.size()));
    auto b = bias.values<float>();
    for (std::size_t j = 0; j < sums.size(); ++j) b[j] = static_cast<float>(b[j] + double(c) * sums[j]);

    if (n.op_type != "Conv") return false;
    std::vector<std::int64_t> pads = n.attrs.get_ints("pads", {});
    if (std::all_of(pads.begin(), pads.end(), [](std::int64_t p) { return p == 0; })) return false;
    // ONNX Pad's pads: every axis's begin, then every axis's end; N and C are not padded.
    const std::size_t spatial = pads.size() / 2;
    std::vector<std::int64_t> pad_amounts(2 * (spatial + 2), 0);
    for (std::size_t i = 0; i < spatial; ++i) {
        pad_amounts[2 + i] = pads[i];
        pad_amounts[spatial + 4 + i] = pads[spatial + i];
    }
    const std::string data = n.input(0);
    const std::string amounts = fresh_value_name(g, n.name + "_pads");
    g.initializers.emplace(amounts, tensor::from<std::int64_t>({std::int64_t(pad_amounts.size())},
                                                               std::span<const std::int64_t>(pad_amounts)));
    const std::string fill = fresh_value_name(g, n.name + "_pad_value");
    g.initializers.emplace(fill, tensor::scalar(-c));
    const std::string padded = fresh_value_name(g, n.name + "_padded");
    if (const graph::value_info* in = g.info(data); in && in->rank_known && in->shape.size() == spatial + 2) {
        graph::value_info out = *in;
        out.name = padded;
        for (std::size_t i = 0; i < spatial; ++i)
            if (out.shape[2 + i] >= 0) out.shape[2 + i] += pads[i] + pads[spatial + i];
        g.value_infos[padded] = out;
    }
    graph::node pad;
    pad.name = fresh_value_name(g, n.name + "_pad");
    pad.op_type = "Pad";
    pad.attrs.set("mode", std::string("constant"));
    pad.inputs = {data, amounts, fill};
    pad.outputs = {padded};
    n.attrs.set("pads", std::vector<std::int64_t>(pads.size(), 0));
    g.add_node(std::move(pad));
    g.set_input(v, 0, padded);
    return true;
}

}  // namespace detail

KTC_DECL centring_report centre_bounded_activations(graph::graph& g, int bits,
                                                    const std::function<double(const std::string&)>& range_of) {
    centring_report report;
    for (const graph::vertex act : g.topological_order()) {
        if (g[act].inputs.empty() || g[act].outputs.size() != 1) continue;
        const auto bounds = sim::detail::clamp_bounds(g, g[act]);
        if (!bounds || bounds->first != 0.f || !(std::isfinite(bounds->second) && bounds->second > 0.f)) continue;
        // The producer: a Conv that only this clamp reads, so that the clamp fuses into it.
        const auto conv = g.producer(g[act].input(0));
        if (!conv || g[*conv].op_type != "Conv" || !g[*conv].domain.empty() || g[*conv].outputs.size() != 1) continue;
        const std::string conv_out = g[*conv].outputs[0];
        const auto conv_readers = g.consumers(conv_out);
        if (g.is_graph_output(conv_out) || conv_readers.size() != 1 || conv_readers[0].first != act) continue;
        const tensor* w = g.initializer(g[*conv].input(1));
        if (!w || w->rank() < 3 || !detail::bias_is_private(g, g[*conv], 2)) continue;
        const auto readers = detail::shift_absorbers(g, g[act].outputs[0]);
        if (!readers) continue;

        // The step that puts [0, top] on 2^bits - 1 steps, rounded up to one a scale holds; c puts 0
        // on the lowest code.
        const double calibrated = range_of(g[act].outputs[0]);
        const double top = std::min(double(bounds->second), calibrated > 0 ? 1.5 * calibrated : double(bounds->second));
        const double max_code = double(fixed::max_of(bits));
        const fixed::value_format f = fixed::format_for(top * max_code / (2 * max_code + 1), bits, false);
        const double step = 1.0 / (f.scale * std::ldexp(1.0, f.radix));
        const auto c = static_cast<float>((max_code + 1) * step);

        g[*conv].attrs.set(centred_attribute, std::int64_t{1});
        tensor& bias = detail::bias_of(g, *conv, 2, w->dim(0));
        for (float& b : bias.values<float>()) b -= c;
        graph::node& clip = g[act];
        const std::string lo = detail::fresh_value_name(g, clip.name + "_min"),
                          hi = detail::fresh_value_name(g, clip.name + "_max");
        g.initializers.emplace(lo, tensor::scalar(-c));
        clip.op_type = "Clip";
        clip.attrs = {};
        g.set_input(act, 1, lo);
        g.initializers.emplace(hi, tensor::scalar(bounds->second - c));
        g.set_input(act, 2, hi);
        for (const graph::vertex r : *readers) report.pads += detail::absorb_shift(g, r, c) ? 1 : 0;
        ++report.activations;
    }
    if (report.activations) g.remove_dead_nodes();  // constants that only fed the old bounds
    return report;
}

KTC_DECL centring_report centre_bounded_activations(graph::graph& g, int bits, const calibration& cal,
                                                    range_method method, double outlier) {
    return centre_bounded_activations(g, bits, [&](const std::string& value) {
        const auto it = cal.ranges.find(value);
        return it == cal.ranges.end() ? std::numeric_limits<double>::infinity()
                                      : it->second.range(method, outlier, bits);
    });
}

}  // namespace ktc::quant
