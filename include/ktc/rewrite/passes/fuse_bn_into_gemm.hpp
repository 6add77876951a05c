// ktc/rewrite/passes/fuse_bn_into_gemm.hpp - fold an inference BatchNormalization into the Gemm
// that feeds it, directly or through shape-only nodes.
//
// Matches: BatchNormalization (one output, not training) whose input is a Gemm's output
// Y[M,N], either directly or through a chain of Reshape/Squeeze/Unsqueeze/Flatten nodes, where
// the BN's input has shape [M, N, 1, ..., 1] (its channel axis is the Gemm's N axis); B, the BN's
// scale/B/mean/var, and C if present, are float32 constants; C broadcasts as a row ([N], [1,N] or
// one element).
// Produces: Gemm with B'[:,n] = op(B)[:,n] * s[n] (rows of B when transB = 1) and
// C'[n] = (beta * C[n] - mean[n]) * s[n] + B_bn[n], beta = 1, where s = scale / sqrt(var + eps);
// the last node of the chain (or the Gemm) now produces the BN's output; the BN is erased.
// Must not fire: a value on the chain (Gemm output included) with another reader or that is a
// graph output; unknown shapes; a channel axis that is not the Gemm's N axis; a C of shape [M,N]
// with M > 1; any parameter not constant.
#pragma once

#include <cmath>

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct fuse_bn_into_gemm final : pattern {
    const char* name() const override { return "fuse_bn_into_gemm"; }

    bool match_and_rewrite(graph::vertex bn_v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& bn = g[bn_v];
        if (!match::is(bn, "BatchNormalization") || bn.inputs.size() != 5 || bn.outputs.empty()) return false;
        if (bn.attrs.get_int("training_mode", 0) != 0) return false;
        for (std::size_t o = 1; o < bn.outputs.size(); ++o)
            if (!bn.outputs[o].empty()) return false;

        // Walk back from the BN through shape-only nodes to the Gemm; every value on the way is
        // read once.
        std::string value = bn.input(0);
        std::optional<graph::vertex> gemm_v;
        for (int depth = 0; depth < 8; ++depth) {
            if (!match::only_reader(g, value)) return false;
            const auto p = g.producer(value);
            if (!p) return false;
            const graph::node& pn = g[*p];
            if (match::is(pn, "Gemm")) {
                gemm_v = *p;
                break;
            }
            if (!(match::is(pn, "Reshape") || match::is(pn, "Squeeze") || match::is(pn, "Unsqueeze") ||
                  match::is(pn, "Flatten")))
                return false;
            value = pn.input(0);
        }
        if (!gemm_v) return false;
        const graph::node& gemm = g[*gemm_v];
        const auto y = match::known_shape(g, gemm.outputs.at(0));
        const auto x = match::known_shape(g, bn.input(0));
        if (!y || y->size() != 2 || !x || x->size() < 2) return false;
        const std::int64_t N = (*y)[1];
        if ((*x)[1] != N) return false;
        for (std::size_t i = 2; i < x->size(); ++i)
            if ((*x)[i] != 1) return false;

        auto b = match::float_constant(g, gemm.input(1));
        if (!b || b->rank() != 2) return false;
        const bool trans_b = gemm.attrs.get_int("transB", 0) != 0;
        if ((trans_b ? b->dim(0) : b->dim(1)) != N) return false;
        std::vector<float> c(static_cast<std::size_t>(N), 0.f);
        if (gemm.has_input(2)) {
            const auto ct = match::float_constant(g, gemm.input(2));
            if (!ct) return false;
            if (ct->size() == 1) {
                c.assign(c.size(), ct->values<float>()[0]);
            } else if (ct->size() == N && (ct->rank() == 1 || (ct->rank() == 2 && ct->dim(0) == 1))) {
                c.assign(ct->values<float>().begin(), ct->values<float>().end());
            } else {
                return false;
            }
        }
        std::optional<tensor> p[4];
        for (int i = 0; i < 4; ++i) {
            p[i] = match::float_constant(g, bn.input(i + 1));
            if (!p[i] || p[i]->size() != N) return false;
        }

        const float eps = bn.attrs.get_float("epsilon", 1e-5f), beta = gemm.attrs.get_float("beta", 1.f);
        const auto scale = p[0]->values<float>(), shift = p[1]->values<float>();
        const auto mean = p[2]->values<float>(), var = p[3]->values<float>();
        tensor new_c(dtype::float32, {N});
        float* w = b->data<float>();
        const std::int64_t K = b->size() / N;
        for (std::int64_t n = 0; n < N; ++n) {
            const float s = scale[n] / std::sqrt(var[n] + eps);
            for (std::int64_t k = 0; k < K; ++k) (trans_b ? w[n * K + k] : w[k * N + n]) *= s;
            new_c.data<float>()[n] = (beta * c[n] - mean[n]) * s + shift[n];
        }

        const std::string gemm_name = gemm.name, bn_out = bn.outputs[0], x_name = bn.input(0);
        const graph::vertex gv = *gemm_v;
        r.set_input(gv, 1, r.add_initializer(gemm_name + "_B_bn", std::move(*b)));
        r.set_input(gv, 2, r.add_initializer(gemm_name + "_C_bn", std::move(new_c)));
        r.set_attribute(gv, "beta", 1.f);
        match::erase_node(r, bn_v, "folded into Gemm '" + gemm_name + "'");
        const graph::vertex last = *g.producer(x_name);
        const auto& outs = g[last].outputs;
        r.set_output(last, std::find(outs.begin(), outs.end(), x_name) - outs.begin(), bn_out);
        return true;
    }
};

}  // namespace ktc::rewrite::passes
