// ktc/rewrite/passes/eliminate_identity.hpp - drop Identity and inference-mode Dropout.
//
// Matches: Identity, or Dropout whose mask output is unused and that is not in training mode.
// Produces: readers of the output read the input instead; the node is erased.
// Must not fire: when the output is a graph output and the input is a graph input or an
// initializer (the node is what gives the output its name; a graph cannot list an input as an
// output under another name).
#pragma once

#include "ktc/graph/constants.hpp"
#include "ktc/rewrite/passes/forward_input.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct eliminate_identity final : pattern {
    const char* name() const override { return "eliminate_identity"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::node& n = r[v];
        if (!n.domain.empty() || (n.op_type != "Identity" && n.op_type != "Dropout")) return false;
        if (n.outputs.empty() || !n.has_input(0)) return false;
        if (n.op_type == "Dropout") {
            if (n.outputs.size() > 1 && !n.outputs[1].empty() &&
                (!r.graph().consumers(n.outputs[1]).empty() || r.graph().is_graph_output(n.outputs[1])))
                return false;  // someone reads the mask
            if (n.has_input(2)) {
                const auto training = graph::constant_value(r.graph(), n.input(2));
                if (!training || training->to_vector<int>().at(0) != 0) return false;
            }
        }
        const std::string in = n.input(0), out = n.outputs[0];
        const graph::graph& g = r.graph();
        if (g.is_graph_output(out)) {
            // The output keeps its name: the producer of the input is renamed to produce it.
            const auto producer = g.producer(in);
            if (!producer || g.is_graph_output(in) || g.consumers(in).size() != 1) return false;
            const graph::vertex p = *producer;
            const auto& outs = g[p].outputs;
            const std::size_t slot = std::find(outs.begin(), outs.end(), in) - outs.begin();
            r.set_input(v, 0, "");
            r.set_output(v, 0, "");
            r.erase(v, n.op_type + " before graph output '" + out + "'");
            r.set_output(p, slot, out);
            return true;
        }
        return forward_input(v, r, n.op_type + " is a no-op at inference");
    }
};

}  // namespace ktc::rewrite::passes
