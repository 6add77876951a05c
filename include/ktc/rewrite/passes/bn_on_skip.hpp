// ktc/rewrite/passes/bn_on_skip.hpp - the bn_on_skip flow option: an identity BatchNormalization
// on every skip branch (shortcut) that feeds an Add, so that the NPU sees a layer there.
//
// Matches: an input of an Add (default domain) whose value some other node also reads: the
// value forks, and the Add's branch is the shortcut. The value may be a node's output or a graph
// input. Every matching Add input is decided on the graph as it was before the first insertion.
// Produces: an identity BN (insert_nodes.hpp: scale 1, B 0, mean 0, var 1 - 2^-17, epsilon
// 2^-17, exact) between the value and that Add input; the graph computes bit for bit the same.
// Must not fire: on a constant input (initializer or Constant); when the value is read only by
// this Add (x + x counts as one reader); when the value is not float or its channel count
// (axis 1) is unknown. A second application changes nothing: the Add then reads the BN's
// output, which has no other reader.
// Applied once per flow, after the fixed point (flows.hpp), not as a greedy pattern.
#pragma once

#include <set>

#include "ktc/rewrite/passes/insert_nodes.hpp"

namespace ktc::rewrite::passes {

// Returns the number of BNs inserted.
inline std::size_t add_bn_on_skip(graph::graph& g, change_log& log) {
    rewriter r(g, log, "bn_on_skip");
    r.set_pattern("bn_on_skip");
    struct site {
        graph::vertex add;
        std::size_t slot;
        std::string value;
        std::int64_t channels;
    };
    std::vector<site> sites;
    for (const graph::vertex v : g.topological_order()) {
        const graph::node& n = g[v];
        if (n.op_type != "Add" || !n.domain.empty()) continue;
        for (std::size_t slot = 0; slot < n.inputs.size(); ++slot) {
            const std::string& value = n.inputs[slot];
            if (value.empty() || is_constant_value(g, value)) continue;
            std::set<graph::vertex> readers;
            for (const auto& [reader, s] : g.consumers(value)) readers.insert(reader);
            if (readers.size() < 2) continue;  // only this Add reads it: not a fork
            const auto c = channels_of(g, value);
            if (!c) continue;
            sites.push_back({v, slot, value, *c});
        }
    }
    identity_bn_params params("bn_on_skip_");
    for (const auto& s : sites)
        insert_identity_bn(
            r, params, s.value, s.channels, s.add, s.slot, s.value + "_bn_skip",
            "identity BN on the skip branch into Add '" + g[s.add].name + "' input " + std::to_string(s.slot));
    return sites.size();
}

}  // namespace ktc::rewrite::passes
