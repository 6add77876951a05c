// ktc/rewrite/passes/squeeze_to_reshape.hpp - one op for pure shape changes.
//
// Matches: Squeeze or Unsqueeze (axes as attribute or input) whose output shape is fully known
// and has no zero dimension.
// Produces: Reshape(data, shape) with that shape as an int64 initializer, under the same name and
// output.
// Must not fire: output shape unknown (a symbolic dimension, or not inferred).
#pragma once

#include <algorithm>
#include <span>

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct squeeze_to_reshape final : pattern {
    const char* name() const override { return "squeeze_to_reshape"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& n = g[v];
        if (!(match::is(n, "Squeeze") || match::is(n, "Unsqueeze")) || n.outputs.size() != 1 || !n.has_input(0))
            return false;
        const auto out = match::known_shape(g, n.outputs[0]);
        if (!out || std::any_of(out->begin(), out->end(), [](auto d) { return d == 0; })) return false;
        const std::string op = n.op_type;
        const std::string shape = r.add_initializer(
            n.name + "_shape",
            tensor::from<std::int64_t>({static_cast<std::int64_t>(out->size())}, std::span<const std::int64_t>(*out)));
        match::replace_node(r, v, "Reshape", {n.input(0), shape}, {}, op + " of a static shape");
        return true;
    }
};

}  // namespace ktc::rewrite::passes
