// ktc/rewrite/passes/norm.hpp - the norm flow option: the model takes inputs normalized to
// [-0.5, 0.5) where it was trained on [0, 1) (the vendor's add_0_5_to_normalized_input: the
// NPU's default preprocessing is x / 256 - 0.5).
//
// Matches: each float graph input of rank 4 with a known channel count C (any C) that some node
// reads.
// Produces: a 1x1 depthwise Conv (group C, weight 1 [C, 1, 1, 1], bias 0.5 [C]) after the input;
// every node reads its output instead. The new model on x - 0.5 computes what the old one
// computed on x (up to the float rounding of (x - 0.5) + 0.5).
// Must not fire: on inputs of another rank or type, or with an unknown channel count. A graph
// output that is the input itself keeps the input as given.
// Not idempotent (each application adds another 0.5): the flow applies it once, after the fixed
// point (flows.hpp).
#pragma once

#include "ktc/rewrite/passes/insert_nodes.hpp"

namespace ktc::rewrite::passes {

// Returns the number of graph inputs changed.
inline std::size_t add_half_to_inputs(graph::graph& g, change_log& log) {
    rewriter r(g, log, "norm");
    r.set_pattern("add_0_5_to_input");
    std::size_t changed = 0;
    for (const auto& [input, channels] : image_inputs(g)) {
        tensor w(dtype::float32, {channels, 1, 1, 1}), b(dtype::float32, {channels});
        for (auto& v : w.values<float>()) v = 1.f;
        for (auto& v : b.values<float>()) v = 0.5f;
        insert_conv_after_input(r, input, std::move(w), std::move(b), channels, "norm_" + input,
                                "1x1 depthwise conv adding 0.5 to input '" + input + "'");
        ++changed;
    }
    return changed;
}

}  // namespace ktc::rewrite::passes
