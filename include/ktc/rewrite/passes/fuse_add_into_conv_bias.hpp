// ktc/rewrite/passes/fuse_add_into_conv_bias.hpp - a per-channel constant added after a Conv is
// the Conv's bias.
//
// Matches: Add(conv_out, c) (either order) where conv_out is made by a Conv and read by nothing
// else, c is a float32 constant varying only along the channel axis of the Conv's output
// ([1,M,1,1], [M,1,1], or one element), and the Conv's bias (if any) is a float32 constant.
// Produces: the Conv with bias b + c producing the Add's output; the Add is erased.
// Must not fire: conv_out with another reader or that is a graph output; a constant of shape [M]
// (it broadcasts along W, not along the channels) or any other non-channel shape; a bias that is
// not constant; the Conv's output rank and channel count unknown.
#pragma once

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct fuse_add_into_conv_bias final : pattern {
    const char* name() const override { return "fuse_add_into_conv_bias"; }

    bool match_and_rewrite(graph::vertex add_v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& add = g[add_v];
        if (!match::is(add, "Add") || add.inputs.size() != 2 || add.outputs.size() != 1) return false;
        for (std::size_t slot = 0; slot < 2; ++slot) {
            const auto conv_v = g.producer(add.input(slot));
            if (!conv_v || !match::is(g[*conv_v], "Conv") || !match::only_reader(g, add.input(slot))) continue;
            const auto c = match::float_constant(g, add.input(1 - slot));
            if (!c) continue;
            const graph::node& conv = g[*conv_v];
            const auto* info = g.info(conv.outputs.at(0));
            if (!info || !info->rank_known || info->shape.size() < 3 || info->shape[1] <= 0) continue;
            const std::int64_t M = info->shape[1];
            const auto add_c = match::per_channel(*c, info->shape.size(), M);
            if (!add_c) continue;
            std::vector<float> bias(static_cast<std::size_t>(M), 0.f);
            if (conv.has_input(2)) {
                const auto b = match::float_constant(g, conv.input(2));
                if (!b || b->size() != M) continue;
                bias.assign(b->values<float>().begin(), b->values<float>().end());
            }
            for (std::int64_t m = 0; m < M; ++m) bias[m] += (*add_c)[m];
            const std::string conv_name = conv.name, out = add.outputs[0];
            const graph::vertex cv = *conv_v;
            r.set_input(
                cv, 2, r.add_initializer(conv_name + "_B_add", tensor::from<float>({M}, std::span<const float>(bias))));
            match::erase_node(r, add_v, "per-channel constant folded into the bias of Conv '" + conv_name + "'");
            r.set_output(cv, 0, out);
            return true;
        }
        return false;
    }
};

}  // namespace ktc::rewrite::passes
