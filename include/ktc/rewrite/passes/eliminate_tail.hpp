// ktc/rewrite/passes/eliminate_tail.hpp - drop the layout and Softmax nodes at the end of a
// model (the vendor's eliminate_tail, kneron-facts §2): the NPU computes the rest, and the user
// re-implements what was removed in post-processing, so the report says exactly what went.
//
// Matches: a trailing node, one whose first output is a graph output and that no node reads
// (its other outputs, if any, unused and not graph outputs), of a type in tail_op_types:
// Reshape, Identity, Transpose, Flatten, Dropout, Constant, Squeeze, Unsqueeze, Softmax
// (default domain).
// Produces: the node is erased and its data input (input 0) takes its place in the graph's
// output list, with the type and shape the graph knows for it (value_infos); when that input is
// already a graph output, the entry is dropped instead of listed twice; a Constant's output is
// dropped. Its other inputs (shapes, axes) go when nothing else reads them. Removing a node can
// make its producer trailing ("a parent that lost all its children"): the walk repeats until no
// node matches.
// Must not fire: when the data input is a graph input or a constant (the output would no longer
// be computed by any node); when the node's output has another reader (a parent with a child
// left); when removing a Constant would leave the graph without outputs; on any other op type.
// The graph then computes, for each new output, the intermediate tensor the original computed
// there. Applied once per flow when flow_options::eliminate_tail is set (flows.hpp).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "ktc/rewrite/rewriter.hpp"

namespace ktc::rewrite::passes {

inline bool is_tail_op(const graph::node& n) {
    if (!n.domain.empty()) return false;
    for (const char* op :
         {"Reshape", "Identity", "Transpose", "Flatten", "Dropout", "Constant", "Squeeze", "Unsqueeze", "Softmax"})
        if (n.op_type == op) return true;
    return false;
}

struct tail_report {
    struct removed_node {
        std::string name;
        std::string op_type;
        std::string input;   // the value that took its place ("" for a Constant)
        std::string output;  // the graph output it made
    };
    struct new_output {
        std::string name;                   // the value now listed as a graph output
        std::vector<std::string> replaces;  // the original graph outputs it stands for
    };
    std::vector<removed_node> removed;  // in the order removed (walking back from the outputs)
    std::vector<new_output> outputs;    // outputs that are not original ones, in output order
    std::vector<std::string> dropped;   // original outputs with nothing in their place (Constant)
};

inline tail_report eliminate_tail(graph::graph& g, change_log& log) {
    rewriter r(g, log, "eliminate_tail");
    r.set_pattern("eliminate_tail");
    tail_report report;
    // Which original outputs each current output stands for.
    std::vector<std::vector<std::string>> stands_for;
    std::vector<std::string> original;
    for (const auto& o : g.outputs) stands_for.push_back({o.name}), original.push_back(o.name);

    std::vector<std::string> freed;  // shape / axes inputs of removed nodes

    auto trailing = [&](graph::vertex v) {
        const graph::node& n = g[v];
        if (!is_tail_op(n) || n.outputs.empty() || n.outputs[0].empty()) return false;
        if (!g.is_graph_output(n.outputs[0])) return false;
        for (std::size_t i = 0; i < n.outputs.size(); ++i) {
            const std::string& out = n.outputs[i];
            if (out.empty()) continue;
            if (!g.consumers(out).empty() || (i > 0 && g.is_graph_output(out))) return false;
        }
        if (n.op_type == "Constant") return g.outputs.size() > 1;
        const std::string& in = n.input(0);
        if (in.empty() || g.is_graph_input(in) || g.initializer(in)) return false;
        const auto p = g.producer(in);
        return p && !(g[*p].op_type == "Constant" && g[*p].domain.empty());
    };

    for (bool again = true; again;) {
        again = false;
        // Walking back from the outputs: the producers of the outputs, in output order.
        for (std::size_t i = 0; i < g.outputs.size() && !again; ++i) {
            const auto p = g.producer(g.outputs[i].name);
            if (!p || !trailing(*p)) continue;
            const graph::vertex v = *p;
            const graph::node n = g[v];
            const std::string out = n.outputs[0];
            const std::string in = n.op_type == "Constant" ? std::string() : n.input(0);
            // The output entry (there is exactly one: outputs are unique names) takes the input.
            auto entry = std::find_if(g.outputs.begin(), g.outputs.end(), [&](auto& o) { return o.name == out; });
            const std::size_t at = static_cast<std::size_t>(entry - g.outputs.begin());
            auto existing = std::find_if(g.outputs.begin(), g.outputs.end(), [&](auto& o) { return o.name == in; });
            if (in.empty() || existing != g.outputs.end()) {
                if (!in.empty()) {
                    auto& into = stands_for[static_cast<std::size_t>(existing - g.outputs.begin())];
                    into.insert(into.end(), stands_for[at].begin(), stands_for[at].end());
                } else {
                    report.dropped.insert(report.dropped.end(), stands_for[at].begin(), stands_for[at].end());
                }
                g.outputs.erase(entry);
                stands_for.erase(stands_for.begin() + static_cast<std::ptrdiff_t>(at));
            } else {
                graph::value_info info;
                if (const graph::value_info* known = g.info(in)) info = *known;
                else info.rank_known = false;
                info.name = in;
                *entry = info;
            }
            for (std::size_t slot = 0; slot < n.inputs.size(); ++slot) r.set_input(v, slot, "");
            for (std::size_t slot = 1; slot < n.inputs.size(); ++slot) freed.push_back(n.inputs[slot]);
            r.erase(v,
                    "trailing " + n.op_type +
                        (in.empty() ? "; output '" + out + "' dropped" : "; output '" + out + "' is now '" + in + "'"));
            report.removed.push_back({n.name, n.op_type, in, out});
            again = true;
        }
    }
    // Constant nodes that fed only removed shapes or axes go too.
    for (const auto& value : freed) {
        const auto p = g.producer(value);
        if (p && g[*p].op_type == "Constant" && g[*p].domain.empty() && g.consumers(value).empty() &&
            !g.is_graph_output(value))
            r.erase(*p, "Constant read only by removed tail nodes");
    }
    r.drop_unused_initializers();
    for (std::size_t i = 0; i < g.outputs.size(); ++i)
        if (stands_for[i].size() != 1 || stands_for[i][0] != g.outputs[i].name)
            report.outputs.push_back({g.outputs[i].name, stands_for[i]});
    return report;
}

}  // namespace ktc::rewrite::passes
