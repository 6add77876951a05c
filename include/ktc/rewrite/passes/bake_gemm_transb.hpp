// ktc/rewrite/passes/bake_gemm_transb.hpp - store a Gemm's weight the way it is used.
//
// Matches: Gemm with transB = 1 whose B is a 2-D float32 constant.
// Produces: B' = transpose(B) as a new initializer, read by the Gemm with transB = 0 (the
// attribute is dropped); the old B goes when nothing else reads it.
// Must not fire: B not constant (or not float32, or not 2-D); transB already 0.
#pragma once

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct bake_gemm_transb final : pattern {
    const char* name() const override { return "bake_gemm_transb"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::node& n = r[v];
        if (!match::is(n, "Gemm") || n.attrs.get_int("transB", 0) == 0) return false;
        const auto b = match::float_constant(r.graph(), n.input(1));
        if (!b || b->rank() != 2) return false;
        const std::string b_name = n.input(1);
        r.set_input(v, 1, r.add_initializer(b_name + "_T", match::transposed(*b, {1, 0})));
        r.erase_attribute(v, "transB");
        r.note(r[v].name, "transB baked into the weight '" + b_name + "'");
        return true;
    }
};

}  // namespace ktc::rewrite::passes
