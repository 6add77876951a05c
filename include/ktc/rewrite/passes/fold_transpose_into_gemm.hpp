// ktc/rewrite/passes/fold_transpose_into_gemm.hpp - a Transpose + Flatten before a Gemm only
// reorders the Gemm's input features: reorder the weight's rows instead.
//
// Matches: Gemm (transA 0, transB 0, B a 2-D float32 constant [K, M]) whose input A is made by a
// Flatten (axis 1) read only by it, whose input is made by a Transpose read only by the Flatten,
// keeping the batch axis first (perm[0] == 0), of a value X with a fully known shape.
// Produces: the Flatten reads X itself and the Gemm a weight B' with B'[i] = B[j] for every
// feature j of the transposed order and i its position in X's own order; the Transpose is erased.
// Must not fire: the Transpose or Flatten output has other readers or is a graph output; the
// Transpose moves the batch axis; shapes unknown; transA/transB set (bake_gemm_transb runs first);
// K differs from the product of X's non-batch dimensions.
#pragma once

#include <numeric>

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct fold_transpose_into_gemm final : pattern {
    const char* name() const override { return "fold_transpose_into_gemm"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& gemm = g[v];
        if (!match::is(gemm, "Gemm") || gemm.attrs.get_int("transA", 0) != 0 || gemm.attrs.get_int("transB", 0) != 0)
            return false;
        const auto flatten_v = g.producer(gemm.input(0));
        if (!flatten_v || !match::is(g[*flatten_v], "Flatten") || g[*flatten_v].attrs.get_int("axis", 1) != 1)
            return false;
        if (!match::only_reader(g, gemm.input(0))) return false;
        const std::string flat_in = g[*flatten_v].input(0);
        const auto transpose_v = g.producer(flat_in);
        if (!transpose_v || !match::is(g[*transpose_v], "Transpose") || !match::only_reader(g, flat_in)) return false;
        const graph::node& transpose = g[*transpose_v];
        const std::string x = transpose.input(0);
        const auto x_shape = match::known_shape(g, x);
        const auto w = match::float_constant(g, gemm.input(1));
        if (!x_shape || x_shape->size() < 2 || !w || w->rank() != 2) return false;
        const std::size_t rank = x_shape->size();
        std::vector<std::int64_t> perm = transpose.attrs.get_ints("perm", {});
        if (perm.empty())  // default: reverse the axes
            for (std::size_t a = 0; a < rank; ++a) perm.push_back(static_cast<std::int64_t>(rank - 1 - a));
        if (perm.size() != rank || !match::is_permutation(perm) || perm[0] != 0) return false;
        const std::int64_t K = w->dim(0), M = w->dim(1);
        const std::int64_t features =
            std::accumulate(x_shape->begin() + 1, x_shape->end(), std::int64_t{1}, std::multiplies<>());
        if (features != K) return false;

        // Row j of B multiplies feature j of the transposed order; find that feature's index in X.
        std::vector<std::int64_t> x_strides(rank, 1);
        for (std::size_t a = rank - 1; a > 1; --a) x_strides[a - 1] = x_strides[a] * (*x_shape)[a];
        tensor reordered(dtype::float32, {K, M});
        const float* from = w->data<float>();
        float* to = reordered.data<float>();
        std::vector<std::int64_t> y_index(rank, 0);  // over the transposed axes 1..rank-1
        for (std::int64_t j = 0; j < K; ++j) {
            std::int64_t i = 0;
            for (std::size_t a = 1; a < rank; ++a) i += y_index[a] * x_strides[perm[a]];
            std::copy(from + j * M, from + (j + 1) * M, to + i * M);
            for (std::size_t a = rank - 1; a >= 1; --a) {  // next transposed index, last axis fastest
                if (++y_index[a] < (*x_shape)[perm[a]]) break;
                y_index[a] = 0;
            }
        }

        const std::string w_name = gemm.input(1), transpose_name = transpose.name;
        r.set_input(*flatten_v, 0, x);
        match::erase_node(r, *transpose_v, "folded into the weight of Gemm '" + gemm.name + "'");
        r.set_input(v, 1, r.add_initializer(w_name + "_untransposed", std::move(reordered)));
        r.note(g[v].name, "weight rows reordered for Transpose '" + transpose_name + "'");
        return true;
    }
};

}  // namespace ktc::rewrite::passes
