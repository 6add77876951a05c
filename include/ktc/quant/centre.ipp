// ktc/quant/centre.ipp - the definitions behind centre.hpp
// (compiled once in src/, or included by the header when header-only: core/config.hpp).
#pragma once

#include <algorithm>
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

// A bias the pass may change: absent (one is added) or a float32 initializer, which bias_of copies
// first when other nodes read it too (exporters share one all-zero bias among the convs of an
// untrained net).
inline bool bias_is_changeable(const graph::graph& g, const graph::node& n, std::size_t slot) {
    if (!n.has_input(slot)) return true;
    const tensor* b = g.initializer(n.input(slot));
    return b && b->type() == dtype::float32 && !g.is_graph_output(n.input(slot));
}

inline bool absorbs_shift(const graph::graph& g, const graph::node& n) {
    const tensor* w = g.initializer(n.input(1));
    if (!w || w->type() != dtype::float32) return false;
    if (n.op_type == "Conv")
        return w->rank() >= 3 && n.attrs.get_string("auto_pad", "NOTSET") == "NOTSET" && bias_is_changeable(g, n, 2);
    if (n.op_type == "Gemm") {
        const tensor* bias = n.has_input(2) ? g.initializer(n.input(2)) : nullptr;
        const std::int64_t columns = w->rank() == 2 ? w->dim(n.attrs.get_int("transB", 0) ? 0 : 1) : -1;
        return w->rank() == 2 && n.attrs.get_int("transA", 0) == 0 && n.attrs.get_float("alpha", 1.f) == 1.f &&
               n.attrs.get_float("beta", 1.f) == 1.f && bias_is_changeable(g, n, 2) &&
               (!bias || bias->size() == columns);
    }
    return false;
}

// Every layer that reads `value` as its data input (through ops that commute with the shift) and
// can add c back through its bias; nullopt when anything else reads it, or it reaches a graph output.
inline std::optional<std::vector<graph::vertex>> shift_absorbers(const graph::graph& g, const std::string& value,
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

// The float bias of node `v` (input `slot`), added as zeros of `size` when absent and copied when
// other nodes read it too: the bias returned is `v`'s alone.
inline tensor& bias_of(graph::graph& g, graph::vertex v, std::size_t slot, std::int64_t size) {
    if (!g[v].has_input(slot) || g.consumers(g[v].input(slot)).size() > 1) {
        const std::string name = fresh_value_name(g, g[v].name + "_bias");
        g.initializers.emplace(
            name, g[v].has_input(slot) ? g.initializers.at(g[v].input(slot)) : tensor::zeros(dtype::float32, {size}));
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

// A clamp that can be centred: the Conv that produces its input and that only it reads (so that
// it fuses into the Conv), and its top (B, or infinity for a Relu).
struct clamped_conv {
    graph::vertex act, conv;
    float bound;
};

inline std::optional<clamped_conv> clamped_conv_at(const graph::graph& g, graph::vertex act) {
    if (g[act].inputs.empty() || g[act].outputs.size() != 1) return std::nullopt;
    const auto bounds = sim::detail::clamp_bounds(g, g[act]);
    if (!bounds || bounds->first != 0.f || !(bounds->second > 0.f)) return std::nullopt;
    const auto conv = g.producer(g[act].input(0));
    if (!conv || g[*conv].op_type != "Conv" || !g[*conv].domain.empty() || g[*conv].outputs.size() != 1)
        return std::nullopt;
    const std::string conv_out = g[*conv].outputs[0];
    const auto conv_readers = g.consumers(conv_out);
    if (g.is_graph_output(conv_out) || conv_readers.size() != 1 || conv_readers[0].first != act) return std::nullopt;
    const tensor* w = g.initializer(g[*conv].input(1));
    if (!w || w->rank() < 3 || !bias_is_changeable(g, g[*conv], 2)) return std::nullopt;
    return clamped_conv{act, *conv, bounds->second};
}

// Clamps moved by one shift c, and the layers that take it back: one clamp whose readers can, or
// every input of a Concat (each read only by it) whose readers can, so that the Concat passes
// one shift on.
struct centring_group {
    std::vector<clamped_conv> clamps;
    std::vector<graph::vertex> readers;
    bool concat = false;
};

inline std::optional<centring_group> group_at(const graph::graph& g, graph::vertex v) {
    const graph::node& n = g[v];
    if (n.op_type == "Concat" && n.domain.empty() && n.outputs.size() == 1 && n.inputs.size() >= 2) {
        centring_group group{{}, {}, true};
        for (const std::string& in : n.inputs) {
            const auto act = in.empty() ? std::nullopt : g.producer(in);
            if (!act || g.is_graph_output(in) || g.consumers(in).size() != 1) return std::nullopt;
            auto clamp = clamped_conv_at(g, *act);
            if (!clamp) return std::nullopt;
            group.clamps.push_back(*clamp);
        }
        auto readers = shift_absorbers(g, n.outputs[0]);
        if (!readers) return std::nullopt;
        group.readers = std::move(*readers);
        return group;
    }
    const auto clamp = clamped_conv_at(g, v);
    if (!clamp) return std::nullopt;
    auto readers = shift_absorbers(g, n.outputs[0]);
    if (!readers) return std::nullopt;
    return centring_group{{*clamp}, std::move(*readers), false};
}

}  // namespace detail

KTC_DECL std::size_t centrable_activations(const graph::graph& g) {
    std::size_t count = 0;
    for (const graph::vertex v : g.topological_order()) count += detail::group_at(g, v) ? 1 : 0;
    return count;
}

KTC_DECL centring_report centre_bounded_activations(graph::graph& g, int bits, const centring_ranges& ranges) {
    centring_report report;
    // The top of a clamp's codes: below a clamp B, 1.5 x the calibrated range or B if lower;
    // without one, the clip that minimises the error over 2^bits - 1 steps.
    const auto top_of = [&](const detail::clamped_conv& clamp) {
        const std::string& value = g[clamp.act].outputs[0];
        if (!std::isfinite(clamp.bound)) return ranges.one_sided_clip(value);
        const double calibrated = ranges.range(value);
        return calibrated > 0 ? std::min(double(clamp.bound), 1.5 * calibrated) : double(clamp.bound);
    };
    // Concats first: a clamp that feeds one is not centred alone (a Concat does not take a shift back).
    std::vector<graph::vertex> order = g.topological_order();
    std::stable_partition(order.begin(), order.end(), [&](graph::vertex v) { return g[v].op_type == "Concat"; });
    for (const graph::vertex v : order) {
        const auto group = detail::group_at(g, v);
        if (!group) continue;
        std::vector<double> tops;
        for (const auto& clamp : group->clamps) tops.push_back(top_of(clamp));
        const double top = *std::max_element(tops.begin(), tops.end());
        if (!(top > 0) || !std::isfinite(top)) continue;

        // The step that puts [0, top] on 2^bits - 1 steps, rounded up to one a scale holds; c puts 0
        // on the lowest code.
        const double max_code = double(fixed::max_of(bits));
        const fixed::value_format f = fixed::format_for(top * max_code / (2 * max_code + 1), bits, false);
        const double step = 1.0 / (f.scale * std::ldexp(1.0, f.radix));
        const auto c = static_cast<float>((max_code + 1) * step);

        for (std::size_t k = 0; k < group->clamps.size(); ++k) {
            const detail::clamped_conv& clamp = group->clamps[k];
            const bool bounded = std::isfinite(clamp.bound);
            const tensor* w = g.initializer(g[clamp.conv].input(1));
            g[clamp.conv].attrs.set(centred_attribute, std::int64_t{1});
            tensor& bias = detail::bias_of(g, clamp.conv, 2, w->dim(0));
            for (float& b : bias.values<float>()) b -= c;
            graph::node& act = g[clamp.act];
            const std::string lo = detail::fresh_value_name(g, act.name + "_min"),
                              hi = detail::fresh_value_name(g, act.name + "_max");
            // A Relu's clamp at its top: the fixed model saturates there, and the layers after it
            // are calibrated on what it gives them (docs/numerics.md, rule 0b).
            const float clamp_top = bounded ? clamp.bound : static_cast<float>(tops[k]);
            act.op_type = "Clip";
            act.attrs = {};
            g.initializers.emplace(lo, tensor::scalar(-c));
            g.set_input(clamp.act, 1, lo);
            g.initializers.emplace(hi, tensor::scalar(clamp_top - c));
            g.set_input(clamp.act, 2, hi);
            ++(bounded ? report.activations : report.relus);
        }
        for (const graph::vertex r : group->readers) report.pads += detail::absorb_shift(g, r, c) ? 1 : 0;
        report.concats += group->concat ? 1 : 0;
    }
    if (report.activations || report.relus) g.remove_dead_nodes();  // constants that only fed the old bounds
    return report;
}

KTC_DECL centring_report centre_bounded_activations(graph::graph& g, int bits, const calibration& cal,
                                                    range_method method, double outlier) {
    centring_ranges ranges;
    ranges.range = [&](const std::string& value) {
        const auto it = cal.ranges.find(value);
        return it == cal.ranges.end() ? std::numeric_limits<double>::infinity()
                                      : it->second.range(method, outlier, bits);
    };
    ranges.one_sided_clip = [&](const std::string& value) {
        const auto it = cal.ranges.find(value);  // values >= 0: |x| is x, and bits + 1 gives 2^bits - 1 steps
        return it == cal.ranges.end() ? 0.0 : it->second.mse_abs(bits + 1, true);
    };
    return centre_bounded_activations(g, bits, ranges);
}

}  // namespace ktc::quant
