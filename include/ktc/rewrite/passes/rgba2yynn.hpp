// ktc/rewrite/passes/rgba2yynn.hpp - the rgba2yynn flow option: the model takes RGBA images
// where it was trained on "YYNN" (luma twice, then two empty channels; the vendor's
// add_rgb2yynn_node for grey-scale models fed by a 4-channel camera path).
//
// Matches: each float graph input of shape [N, 4, H, W] that some node reads.
// Produces: a 1x1 Conv 4->4 after the input, every node reading its output instead, with
//   out 0 = out 1 = Y = 0.299 R + 0.587 G + 0.114 B   (input channels 0, 1, 2; alpha ignored)
//   out 2 = out 3 = 0                                (weights and bias zero: "NN")
// (the ITU-R BT.601 luma weights; bias 0). The new model on RGBA computes what the old one
// computed on [Y, Y, 0, 0].
// Must not fire: on inputs of another rank, channel count or type. A graph output that is the
// input itself keeps the input as given.
// Not idempotent (a second application converts again): the flow applies it once, after the
// fixed point (flows.hpp).
#pragma once

#include "ktc/rewrite/passes/insert_nodes.hpp"

namespace ktc::rewrite::passes {

inline constexpr float luma_weights[3] = {0.299f, 0.587f, 0.114f};

// Returns the number of graph inputs changed.
inline std::size_t convert_rgba_to_yynn(graph::graph& g, change_log& log) {
    rewriter r(g, log, "rgba2yynn");
    r.set_pattern("insert_rgba2yynn_conv");
    std::size_t changed = 0;
    for (const auto& [input, channels] : image_inputs(g)) {
        if (channels != 4) continue;
        tensor w = tensor::zeros(dtype::float32, {4, 4, 1, 1});
        for (std::int64_t out = 0; out < 2; ++out)
            for (std::int64_t c = 0; c < 3; ++c) w.data<float>()[out * 4 + c] = luma_weights[c];
        insert_conv_after_input(r, input, std::move(w), tensor::zeros(dtype::float32, {4}), 1, "rgba2yynn_" + input,
                                "1x1 conv RGBA -> YYNN (luma) after input '" + input + "'");
        ++changed;
    }
    return changed;
}

}  // namespace ktc::rewrite::passes
