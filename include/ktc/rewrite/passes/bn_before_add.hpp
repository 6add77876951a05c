// ktc/rewrite/passes/bn_before_add.hpp - the bn_before_add flow option: identity
// BatchNormalizations before every Add input and before activations that no Conv or BN feeds,
// so that each of those inputs has a layer of its own on the NPU (the vendor's
// add_bn_before_add plus add_bn_before_activation).
//
// Matches: (1) each input of an Add (default domain); (2) input 0 of a Relu, Clip, LeakyRelu,
// PRelu or Sigmoid whose producer is not a Conv or a BatchNormalization (a graph input counts as
// "not a Conv or BN"). Sites are decided on the graph as it was before the first insertion.
// Produces: an identity BN (insert_nodes.hpp: scale 1, B 0, mean 0, var 1 - 2^-17, epsilon
// 2^-17, exact) between the value and that input; the graph computes bit for bit the same.
// Must not fire: on a constant input; when the value is not float or its channel count (axis 1)
// is unknown; on an Add input already made by a BatchNormalization that only this Add reads
// (so that a second application changes nothing; activations after a BN never match).
// Applied once per flow, after the fixed point (flows.hpp), not as a greedy pattern.
#pragma once

#include "ktc/rewrite/passes/insert_nodes.hpp"

namespace ktc::rewrite::passes {

inline bool is_bn_activation(const graph::node& n) {
    if (!n.domain.empty()) return false;
    for (const char* op : {"Relu", "Clip", "LeakyRelu", "PRelu", "Sigmoid"})
        if (n.op_type == op) return true;
    return false;
}

// Returns the number of BNs inserted.
inline std::size_t add_bn_before_add(graph::graph& g, change_log& log) {
    rewriter r(g, log, "bn_before_add");
    struct site {
        graph::vertex reader;
        std::size_t slot;
        std::string value;
        std::int64_t channels;
        bool add;
    };
    std::vector<site> sites;
    auto producer_op = [&](const std::string& value) -> std::string {
        const auto p = g.producer(value);
        return p && g[*p].domain.empty() ? g[*p].op_type : std::string();
    };
    for (const graph::vertex v : g.topological_order()) {
        const graph::node& n = g[v];
        const bool add = n.op_type == "Add" && n.domain.empty();
        if (!add && !is_bn_activation(n)) continue;
        const std::size_t slots = add ? n.inputs.size() : std::min<std::size_t>(1, n.inputs.size());
        for (std::size_t slot = 0; slot < slots; ++slot) {
            const std::string& value = n.inputs[slot];
            if (value.empty() || is_constant_value(g, value)) continue;
            const std::string op = producer_op(value);
            if (add && op == "BatchNormalization" && g.consumers(value).size() == 1 && !g.is_graph_output(value))
                continue;  // already has its own BN
            if (!add && (op == "Conv" || op == "BatchNormalization")) continue;
            const auto c = channels_of(g, value);
            if (!c) continue;
            sites.push_back({v, slot, value, *c, add});
        }
    }
    identity_bn_params params("bn_before_add_");
    for (const auto& s : sites) {
        r.set_pattern(s.add ? "bn_before_add" : "bn_before_activation");
        insert_identity_bn(r, params, s.value, s.channels, s.reader, s.slot, s.value + "_bn",
                           "identity BN before " + g[s.reader].op_type + " '" + g[s.reader].name + "' input " +
                               std::to_string(s.slot));
    }
    return sites.size();
}

}  // namespace ktc::rewrite::passes
