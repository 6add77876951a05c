// ktc/quant/equalize.hpp - cross-layer equalization: make the channels of a tensor alike in range
// before it gets one radix for all of them.
//
// A convolution A whose output channel c reaches only the input channel c of a MAC layer B
// (through ops that commute with a positive per-channel factor: Relu, LeakyRelu, PRelu, MaxPool,
// average pools) computes the same function when A's channel c is divided by s_c and B's weights
// reading channel c are multiplied by s_c. The float model is unchanged; the fixed-point one is
// not: A's output tensor has one radix for every channel, so a channel far smaller than the largest
// rounds to a few codes (the depthwise-network pain of kneron-facts section 6). With
// s_c = sqrt(r_a[c] / r_b[c]) (r_a: the largest |weight| of A's output channel c, r_b: of B's weights
// reading channel c) both ranges become sqrt(r_a r_b): A's channels move towards one range while
// B's input columns are balanced against them (Nagel et al., "Data-Free Quantization Through Weight
// Equalization and Bias Correction", 2019). Chains (B is the next pair's A) converge in a few sweeps.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "ktc/core/config.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::quant {

struct equalization_report {
    std::size_t pairs = 0;   // producer/consumer pairs rescaled
    std::size_t sweeps = 0;  // passes over the pairs until the factors settled
};

namespace detail {

// A float constant read by exactly one node, so rescaling it changes nothing else.
inline tensor* private_weight(graph::graph& g, const std::string& value) {
    auto it = g.initializers.find(value);
    if (it == g.initializers.end() || it->second.type() != dtype::float32 || g.is_graph_output(value)) return nullptr;
    return g.consumers(value).size() == 1 ? &it->second : nullptr;
}

// Ops through which channel c of the input stays channel c of the output, scaled by the same
// positive factor.
inline bool commutes_with_channel_scale(const graph::graph& g, const graph::node& n) {
    if (n.op_type == "Relu" || n.op_type == "LeakyRelu" || n.op_type == "MaxPool" || n.op_type == "AveragePool" ||
        n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool")
        return n.inputs.size() == 1 && n.outputs.size() == 1;
    if (n.op_type == "PRelu") return g.initializers.count(n.input(1)) != 0;  // slope is constant
    return false;
}

// How the consumer B reads channel c of its input. Its weight is seen as [rows, block, inner]:
// element (o, j, s) multiplies input channel (o / rows_per_group) * block + j. Conv W [M, C/G,
// k...]: rows M, block C/G, inner the kernel taps, M/G rows per group. Gemm B [N, K] (transB 1):
// rows N, block K. Gemm B [K, N] (transB 0): rows K, inner N, one row per group.
struct channel_reader {
    graph::vertex node;
    tensor* weight = nullptr;
    std::int64_t channels = 0;
    std::int64_t rows = 0, block = 1, inner = 1, rows_per_group = 1;

    // Calls f(element index, input channel) for every weight element, in order.
    template <class F>
    void for_each_element(F&& f) const {
        std::int64_t i = 0;
        for (std::int64_t o = 0; o < rows; ++o)
            for (std::int64_t j = 0, c = (o / rows_per_group) * block; j < block; ++j, ++c)
                for (std::int64_t s = 0; s < inner; ++s) f(i++, c);
    }
};

// The MAC layer that `value` feeds as its data input, following commuting ops (and a Flatten of a
// tensor whose spatial size is 1, which keeps channel c as column c); nullopt when anything else
// reads it on the way.
inline std::optional<channel_reader> channel_consumer(graph::graph& g, std::string value, std::int64_t channels) {
    for (int depth = 0; depth < 8; ++depth) {
        if (g.is_graph_output(value)) return std::nullopt;
        const auto readers = g.consumers(value);
        if (readers.size() != 1 || readers[0].second != 0) return std::nullopt;
        const graph::vertex v = readers[0].first;
        graph::node& n = g[v];
        if (n.op_type == "Conv") {
            tensor* w = private_weight(g, n.input(1));
            if (!w || w->rank() < 3 || w->dim(1) * n.attrs.get_int("group", 1) != channels) return std::nullopt;
            const std::int64_t M = w->dim(0), Cg = w->dim(1);
            return channel_reader{
                v, w, channels, M, Cg, w->size() / std::max<std::int64_t>(1, M * Cg), M / n.attrs.get_int("group", 1)};
        }
        if (n.op_type == "Gemm") {
            tensor* w = private_weight(g, n.input(1));
            const bool trans_a = n.attrs.get_int("transA", 0) != 0;
            if (!w || trans_a || w->rank() != 2 || w->dim(n.attrs.get_int("transB", 0) ? 1 : 0) != channels)
                return std::nullopt;
            if (n.attrs.get_int("transB", 0)) return channel_reader{v, w, channels, w->dim(0), w->dim(1), 1, w->dim(0)};
            return channel_reader{v, w, channels, w->dim(0), 1, w->dim(1), 1};
        }
        if (n.op_type == "Flatten") {
            const graph::value_info* in = g.info(value);
            if (!in || !in->rank_known || in->shape.size() < 2 || element_count(in->shape) != in->shape[0] * channels ||
                n.attrs.get_int("axis", 1) != 1)
                return std::nullopt;
        } else if (!commutes_with_channel_scale(g, n)) {
            return std::nullopt;
        }
        value = n.outputs.at(0);
    }
    return std::nullopt;
}

}  // namespace detail

// Rescales every equalizable Conv -> ... -> Conv/Gemm pair of `g` in place (float weights and
// biases only; run it on the float model before calibration).
KTC_DECL equalization_report equalize_cross_layer(graph::graph& g, std::size_t max_sweeps = 20);

}  // namespace ktc::quant

#if KTC_HEADER_ONLY
#include "ktc/quant/equalize.ipp"
#endif
