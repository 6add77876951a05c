// ktc/rewrite/passes/eliminate_single_input_concat.hpp - a Concat of one tensor copies it.
//
// Matches: Concat with exactly one input.
// Produces: readers read the input; the node is erased (see forward_input.hpp).
// Must not fire: when the Concat's output is a graph output (it carries the output's name).
#pragma once

#include "ktc/rewrite/passes/forward_input.hpp"
#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct eliminate_single_input_concat final : pattern {
    const char* name() const override { return "eliminate_single_input_concat"; }
    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::node& n = r[v];
        if (!match::is(n, "Concat") || n.inputs.size() != 1 || !n.has_input(0) || n.outputs.size() != 1) return false;
        return forward_input(v, r, "Concat of a single input");
    }
};

}  // namespace ktc::rewrite::passes
