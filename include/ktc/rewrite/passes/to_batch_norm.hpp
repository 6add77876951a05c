// ktc/rewrite/passes/to_batch_norm.hpp - per-channel affine maps become BatchNormalization, the
// one op the NPU runs for them. Every BN made here has mean 0 and var + epsilon = 1 exactly
// (match::insert_batch_norm), so it computes exactly scale * x + B.
//
// depthwise_conv_to_bn  matches a Conv with group = C whose weight is a float32 constant of shape
//                       [C,1,1,...,1] (1x1 kernel, one input channel per group), strides 1 and no
//                       padding; bias (if any) constant. Produces: BN(x, scale = W, B = bias or
//                       0) under the Conv's name and output. Must not fire: a bigger kernel, a
//                       stride, padding, group != C, weights not constant.
// mul_add_to_bn         matches Mul(x, c1) read only by Add(., c2), where x is a float32 4-D
//                       value with known channel count C and c1, c2 are float32 constants varying
//                       only along the channel axis ([C,1,1], [1,C,1,1] or one element).
//                       Produces: BN(x, scale = c1, B = c2) making the Add's output; both erased.
//                       Must not fire: the Mul's output with another reader or that is a graph
//                       output; constants that vary along another axis or raise the rank.
// per_channel_to_bn     matches a lone Mul(x, c) or Add(x, c) with x and c as above.
//                       Produces: BN(x, scale = c, B = 0) or BN(x, scale = 1, B = c) under the
//                       node's name and output. Must not fire: x of another rank or of unknown
//                       channel count; both inputs constant (left to fold_constants); a
//                       non-channel constant. (mul_add_to_bn is tried first on a Mul.)
#pragma once

#include <algorithm>

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

namespace bn_detail {

// The per-channel values of a binary node's constant operand, and the other (variable) operand,
// when the variable one is a float32 4-D value of known channel count.
struct affine_operand {
    std::string x;
    std::vector<float> c;
};
inline std::optional<affine_operand> channel_operand(const graph::graph& g, const graph::node& n) {
    if (n.inputs.size() != 2 || n.outputs.size() != 1) return std::nullopt;
    for (std::size_t slot = 0; slot < 2; ++slot) {
        const std::string& x = n.input(slot);
        if (x.empty() || graph::constant_value(g, x)) continue;
        const auto c = match::float_constant(g, n.input(1 - slot));
        if (!c) continue;
        const auto* info = g.info(x);
        if (!info || !info->rank_known || info->type != dtype::float32 || info->shape.size() != 4 ||
            info->shape[1] <= 0)
            continue;
        if (auto values = match::per_channel(*c, 4, info->shape[1])) return affine_operand{x, std::move(*values)};
    }
    return std::nullopt;
}

}  // namespace bn_detail

struct depthwise_conv_to_bn final : pattern {
    const char* name() const override { return "depthwise_conv_to_bn"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& n = g[v];
        if (!match::is(n, "Conv") || n.outputs.size() != 1 || !n.has_input(0)) return false;
        const auto w = match::float_constant(g, n.input(1));
        if (!w || w->rank() < 3) return false;
        const std::int64_t C = w->dim(0);
        if (n.attrs.get_int("group", 1) != C) return false;
        for (std::int64_t i = 1; i < w->rank(); ++i)
            if (w->dim(i) != 1) return false;
        const auto ones = [](const std::vector<std::int64_t>& v) {
            return std::all_of(v.begin(), v.end(), [](auto e) { return e == 1; });
        };
        const auto pads = n.attrs.get_ints("pads");
        if (!ones(n.attrs.get_ints("strides")) || std::any_of(pads.begin(), pads.end(), [](auto p) { return p != 0; }))
            return false;
        std::vector<float> bias(static_cast<std::size_t>(C), 0.f);
        if (n.has_input(2)) {
            const auto b = match::float_constant(g, n.input(2));
            if (!b || b->size() != C) return false;
            bias.assign(b->values<float>().begin(), b->values<float>().end());
        }
        const std::vector<float> scale(w->values<float>().begin(), w->values<float>().end());
        const std::string x = n.input(0), y = n.outputs[0], node_name = n.name;
        match::erase_node(r, v, "depthwise 1x1 Conv is a per-channel scale");
        match::insert_batch_norm(r, node_name, x, y, scale, bias, "from depthwise 1x1 Conv");
        return true;
    }
};

struct mul_add_to_bn final : pattern {
    const char* name() const override { return "mul_add_to_bn"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& mul = g[v];
        if (!match::is(mul, "Mul")) return false;
        const auto m = bn_detail::channel_operand(g, mul);
        if (!m) return false;
        const auto reader = match::only_reader(g, mul.outputs[0]);
        if (!reader || !match::is(g[reader->first], "Add")) return false;
        const graph::vertex add_v = reader->first;
        const graph::node& add = g[add_v];
        if (add.inputs.size() != 2 || add.outputs.size() != 1) return false;
        const auto c2 = match::float_constant(g, add.input(1 - reader->second));
        if (!c2) return false;
        const auto bias = match::per_channel(*c2, 4, static_cast<std::int64_t>(m->c.size()));
        if (!bias) return false;
        const std::string y = add.outputs[0], add_name = add.name;
        match::erase_node(r, add_v, "Mul + Add by per-channel constants -> BatchNormalization");
        match::erase_node(r, v, "Mul + Add by per-channel constants -> BatchNormalization");
        match::insert_batch_norm(r, add_name, m->x, y, m->c, *bias, "from per-channel Mul + Add");
        return true;
    }
};

struct per_channel_to_bn final : pattern {
    const char* name() const override { return "per_channel_to_bn"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& n = g[v];
        const bool is_mul = match::is(n, "Mul");
        if (!is_mul && !match::is(n, "Add")) return false;
        const auto m = bn_detail::channel_operand(g, n);
        if (!m) return false;
        const std::vector<float> fixed(m->c.size(), is_mul ? 0.f : 1.f);
        const std::string y = n.outputs[0], node_name = n.name, op = n.op_type;
        match::erase_node(r, v, "per-channel " + op + " -> BatchNormalization");
        match::insert_batch_norm(r, node_name, m->x, y, is_mul ? m->c : fixed, is_mul ? fixed : m->c,
                                 "from per-channel " + op);
        return true;
    }
};

}  // namespace ktc::rewrite::passes
