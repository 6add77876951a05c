// ktc/rewrite/passes/bgr.hpp - the bgr flow option: the model takes BGR images where it was
// trained on RGB (the vendor's change_input_from_bgr_to_rgb; the swap is its own inverse, so it
// serves RGB -> BGR as well).
//
// Matches: each float graph input of shape [N, 3, H, W] that some node reads.
// Produces, when every reader is a Conv reading it as input 0 with group 1 and a constant float
// weight [M, 3, kh, kw]: each such Conv gets a new weight with input channels 0 and 2 swapped,
// W'[m, c] = W[m, 2 - c] (no new node; another Conv sharing the old weight keeps it).
// Otherwise: a 1x1 Conv 3->3 with the permutation weight (out c = in 2 - c, bias 0) is inserted
// after the input and every node reads its output instead. Either way, the new model on the
// channel-reversed image computes what the old one computed on the image, exactly (a
// permutation; the inserted conv multiplies by 1 and adds zeros).
// Must not fire: on inputs of another rank, channel count or type. A graph output that is the
// input itself keeps the input as given.
// Not idempotent (a second application swaps back): the flow applies it once, after the fixed
// point (flows.hpp).
#pragma once

#include "ktc/graph/constants.hpp"
#include "ktc/rewrite/passes/insert_nodes.hpp"

namespace ktc::rewrite::passes {

namespace detail {

// The readers of `input` when every one is a Conv with group 1 and a constant float weight
// [M, 3, kh, kw] reading it as input 0; nullopt otherwise.
inline std::optional<std::vector<graph::vertex>> plain_first_convs(const graph::graph& g, const std::string& input) {
    std::vector<graph::vertex> convs;
    for (const auto& [v, slot] : g.consumers(input)) {
        const graph::node& n = g[v];
        if (n.op_type != "Conv" || !n.domain.empty() || slot != 0 || n.attrs.get_int("group", 1) != 1)
            return std::nullopt;
        const auto w = graph::constant_value(g, n.input(1));
        if (!w || w->type() != dtype::float32 || w->rank() != 4 || w->dim(1) != 3) return std::nullopt;
        convs.push_back(v);
    }
    return convs;
}

}  // namespace detail

// Returns the number of graph inputs changed.
inline std::size_t swap_input_rgb_bgr(graph::graph& g, change_log& log) {
    rewriter r(g, log, "bgr");
    std::size_t changed = 0;
    for (const auto& [input, channels] : image_inputs(g)) {
        if (channels != 3) continue;
        if (const auto convs = detail::plain_first_convs(g, input)) {
            r.set_pattern("permute_first_conv_weights");
            for (const graph::vertex v : *convs) {
                const tensor w = *graph::constant_value(g, g[v].input(1));
                tensor swapped(dtype::float32, w.shape());
                const std::int64_t m_count = w.dim(0), plane = w.dim(2) * w.dim(3);
                for (std::int64_t m = 0; m < m_count; ++m)
                    for (std::int64_t c = 0; c < 3; ++c)
                        std::copy_n(w.data<float>() + (m * 3 + (2 - c)) * plane, plane,
                                    swapped.data<float>() + (m * 3 + c) * plane);
                r.set_input(v, 1, r.add_initializer(g[v].name + "_W_bgr", std::move(swapped)));
                r.note(g[v].name, "input channels 0 and 2 of the weight swapped: input '" + input + "' is BGR");
            }
        } else {
            r.set_pattern("insert_bgr_conv");
            tensor w = tensor::zeros(dtype::float32, {3, 3, 1, 1});
            for (std::int64_t c = 0; c < 3; ++c) w.data<float>()[c * 3 + (2 - c)] = 1.f;
            insert_conv_after_input(r, input, std::move(w), tensor::zeros(dtype::float32, {3}), 1, "bgr_" + input,
                                    "1x1 conv swapping channels 0 and 2 of input '" + input + "'");
        }
        ++changed;
    }
    r.drop_unused_initializers();
    return changed;
}

}  // namespace ktc::rewrite::passes
