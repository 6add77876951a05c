// ktc/rewrite/passes/fuse_consecutive_gemms.hpp - two linear layers in a row are one.
//
// Matches: Gemm2(Y1, B2, C2) with transA = 0 whose A input Y1 is made by Gemm1(A, B1, C1) and
// read by nothing else; B1 and B2 are 2-D float32 constants; C1 and C2 (when present) are
// float32 constants that broadcast as a row ([N], [1,N] or one element).
// Produces: Gemm2(A, W, c) with W = alpha1 * alpha2 * op(B1) op(B2) and
// c = alpha2 * beta1 * C1 op(B2) + beta2 * C2 (computed in double), alpha = beta = 1,
// transB = 0 and Gemm1's transA; Gemm1 is erased.
// Must not fire: anything between the two Gemms (an activation breaks linearity); Y1 with another
// reader or that is a graph output; a weight or bias not constant; a C of shape [M,N], M > 1.
#pragma once

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct fuse_consecutive_gemms final : pattern {
    const char* name() const override { return "fuse_consecutive_gemms"; }

    bool match_and_rewrite(graph::vertex v2, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& g2 = g[v2];
        if (!match::is(g2, "Gemm") || g2.attrs.get_int("transA", 0) != 0) return false;
        const auto reader = match::only_reader(g, g2.input(0));
        const auto v1 = g.producer(g2.input(0));
        if (!reader || !v1 || !match::is(g[*v1], "Gemm")) return false;
        const graph::node& g1 = g[*v1];
        const auto b1 = op_b(g, g1), b2 = op_b(g, g2);
        if (!b1 || !b2 || b1->cols != b2->rows) return false;
        const auto c1 = row(g, g1, b1->cols), c2 = row(g, g2, b2->cols);
        if (!c1 || !c2) return false;

        const double alpha1 = g1.attrs.get_float("alpha", 1.f), beta1 = g1.attrs.get_float("beta", 1.f);
        const double alpha2 = g2.attrs.get_float("alpha", 1.f), beta2 = g2.attrs.get_float("beta", 1.f);
        const std::int64_t K = b1->rows, N1 = b1->cols, N2 = b2->cols;
        tensor w(dtype::float32, {K, N2});
        for (std::int64_t k = 0; k < K; ++k)
            for (std::int64_t j = 0; j < N2; ++j) {
                double acc = 0;
                for (std::int64_t i = 0; i < N1; ++i) acc += b1->at(k, i) * b2->at(i, j);
                w.data<float>()[k * N2 + j] = static_cast<float>(alpha1 * alpha2 * acc);
            }
        tensor c(dtype::float32, {N2});
        for (std::int64_t j = 0; j < N2; ++j) {
            double acc = 0;
            for (std::int64_t i = 0; i < N1; ++i) acc += (*c1)[i] * b2->at(i, j);
            c.data<float>()[j] = static_cast<float>(alpha2 * beta1 * acc + beta2 * (*c2)[j]);
        }

        const std::string a = g1.input(0), g1_name = g1.name, g2_name = g2.name;
        const std::int64_t trans_a = g1.attrs.get_int("transA", 0);
        const graph::vertex first = *v1;
        r.set_input(v2, 0, a);
        r.set_input(v2, 1, r.add_initializer(g2_name + "_B_fused", std::move(w)));
        r.set_input(v2, 2, r.add_initializer(g2_name + "_C_fused", std::move(c)));
        for (const char* attr : {"alpha", "beta", "transB", "transA"}) r.erase_attribute(v2, attr);
        if (trans_a) r.set_attribute(v2, "transA", trans_a);
        match::erase_node(r, first, "folded into the next Gemm '" + g2_name + "'");
        return true;
    }

private:
    // op(B) of a Gemm as a row-major [rows, cols] matrix view over the constant.
    struct matrix {
        tensor t;
        bool trans = false;
        std::int64_t rows = 0, cols = 0;
        double at(std::int64_t i, std::int64_t j) const { return t.data<float>()[trans ? j * rows + i : i * cols + j]; }
    };
    static std::optional<matrix> op_b(const graph::graph& g, const graph::node& n) {
        auto b = match::float_constant(g, n.input(1));
        if (!b || b->rank() != 2) return std::nullopt;
        const bool trans = n.attrs.get_int("transB", 0) != 0;
        const std::int64_t rows = trans ? b->dim(1) : b->dim(0), cols = trans ? b->dim(0) : b->dim(1);
        return matrix{std::move(*b), trans, rows, cols};
    }
    // C as N row values (zeros when absent); nullopt when it is not a constant row.
    static std::optional<std::vector<double>> row(const graph::graph& g, const graph::node& n, std::int64_t N) {
        if (!n.has_input(2)) return std::vector<double>(static_cast<std::size_t>(N), 0.0);
        const auto c = match::float_constant(g, n.input(2));
        if (!c) return std::nullopt;
        const auto v = c->to_vector<double>();
        if (c->size() == 1) return std::vector<double>(static_cast<std::size_t>(N), v[0]);
        if (c->size() == N && (c->rank() == 1 || (c->rank() == 2 && c->dim(0) == 1))) return v;
        return std::nullopt;
    }
};

}  // namespace ktc::rewrite::passes
