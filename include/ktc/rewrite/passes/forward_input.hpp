// ktc/rewrite/passes/forward_input.hpp - the shared move of every "this node is a no-op" pass:
// readers of the node's output read its first input instead, and the node goes.
#pragma once

#include "ktc/rewrite/rewriter.hpp"

namespace ktc::rewrite::passes {

// Returns false (changing nothing) when the output is a graph output: the node then carries the
// output's name, and removing it would rename a model output.
inline bool forward_input(graph::vertex v, rewriter& r, const std::string& why) {
    const graph::node& n = r[v];
    const std::string in = n.input(0), out = n.outputs.at(0);
    if (r.graph().is_graph_output(out)) return false;
    r.replace_all_uses(out, in);
    for (std::size_t slot = 0; slot < r[v].outputs.size(); ++slot) r.set_output(v, slot, "");
    r.erase(v, why);
    return true;
}

}  // namespace ktc::rewrite::passes
