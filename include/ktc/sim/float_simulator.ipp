// ktc/sim/float_simulator.ipp - the definitions behind float_simulator.hpp
// (compiled once in src/, or included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/sim/float_simulator.hpp"

namespace ktc::sim {

KTC_DECL graph::graph fuse_conv_activations(graph::graph g) {
    std::vector<graph::vertex> convs;  // collected first: the loop removes (activation) nodes
    for (const graph::vertex v : g.nodes())
        if (g[v].op_type == "Conv" && g[v].domain.empty() && g[v].outputs.size() == 1) convs.push_back(v);
    for (const graph::vertex v : convs) {
        const std::string conv_out = g[v].outputs[0];
        if (g.is_graph_output(conv_out)) continue;
        const auto readers = g.consumers(conv_out);
        if (readers.size() != 1 || readers[0].second != 0) continue;
        const graph::vertex act = readers[0].first;
        const auto bounds = detail::clamp_bounds(g, g[act]);
        if (!bounds) continue;
        const std::string act_out = g[act].outputs.at(0);
        g[v].attrs.set(kernels::attr::fused_min, bounds->first);
        g[v].attrs.set(kernels::attr::fused_max, bounds->second);
        g.remove_node(act);
        g.set_output(v, 0, act_out);
    }
    g.remove_dead_nodes();  // Constant nodes that only fed the folded Clips
    return g;
}

}  // namespace ktc::sim
