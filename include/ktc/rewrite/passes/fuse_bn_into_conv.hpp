// ktc/rewrite/passes/fuse_bn_into_conv.hpp - fold an inference BatchNormalization into the Conv
// that feeds it.
//
// Matches: BatchNormalization (one output) whose input is made by a Conv with constant weight
// (and bias, if any), whose scale/B/mean/var are constants, float32.
// Produces: the Conv with W'[m] = W[m] * s[m] and b'[m] = (b[m] - mean[m]) * s[m] + B[m], where
// s = scale / sqrt(var + epsilon); the Conv now produces the BN's output; the BN is erased.
// Must not fire: when the Conv's output has another reader or is a graph output (the unscaled
// value is still needed there).
#pragma once

#include <cmath>

#include "ktc/graph/constants.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct fuse_bn_into_conv final : pattern {
    const char* name() const override { return "fuse_bn_into_conv"; }

    bool match_and_rewrite(graph::vertex bn_v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& bn = g[bn_v];
        if (bn.op_type != "BatchNormalization" || !bn.domain.empty()) return false;
        if (bn.outputs.size() != 1 || bn.inputs.size() != 5) return false;
        const auto conv_v = g.producer(bn.input(0));
        if (!conv_v || g[*conv_v].op_type != "Conv" || !g[*conv_v].domain.empty()) return false;
        const graph::node& conv = g[*conv_v];
        const std::string conv_out = conv.outputs.at(0);
        if (g.consumers(conv_out).size() != 1 || g.is_graph_output(conv_out)) return false;

        const auto w = graph::constant_value(g, conv.input(1));
        std::optional<tensor> params[4];
        for (int i = 0; i < 4; ++i) params[i] = graph::constant_value(g, bn.input(i + 1));
        if (!w || w->type() != dtype::float32) return false;
        for (const auto& p : params)
            if (!p || p->type() != dtype::float32) return false;
        const std::int64_t M = w->dim(0);
        for (const auto& p : params)
            if (p->size() != M) return false;
        std::optional<tensor> b;
        if (conv.has_input(2)) {
            b = graph::constant_value(g, conv.input(2));
            if (!b || b->type() != dtype::float32 || b->size() != M) return false;
        }

        const float eps = bn.attrs.get_float("epsilon", 1e-5f);
        const auto scale = params[0]->values<float>(), shift = params[1]->values<float>();
        const auto mean = params[2]->values<float>(), var = params[3]->values<float>();
        tensor new_w = *w;
        tensor new_b(dtype::float32, {M});
        const std::int64_t per_channel = w->size() / M;
        for (std::int64_t m = 0; m < M; ++m) {
            const float s = scale[m] / std::sqrt(var[m] + eps);
            float* wm = new_w.data<float>() + m * per_channel;
            for (std::int64_t i = 0; i < per_channel; ++i) wm[i] *= s;
            new_b.data<float>()[m] = ((b ? b->values<float>()[m] : 0.f) - mean[m]) * s + shift[m];
        }
        const std::string conv_name = conv.name, bn_out = bn.outputs[0];
        const graph::vertex cv = *conv_v;
        r.set_input(cv, 1, r.add_initializer(conv_name + "_W_bn", std::move(new_w)));
        r.set_input(cv, 2, r.add_initializer(conv_name + "_B_bn", std::move(new_b)));
        r.set_input(bn_v, 0, "");
        r.set_output(bn_v, 0, "");
        r.erase(bn_v, "folded into Conv '" + conv_name + "'");
        r.set_output(cv, 0, bn_out);
        return true;
    }
};

}  // namespace ktc::rewrite::passes
