// ktc/rewrite/passes/sum_to_adds.hpp - the NPU adds two tensors at a time.
//
// Matches: Sum with two or more inputs (none omitted).
// Produces: a chain Add(Add(Add(x0, x1), x2), ...) (the Sum's own order of accumulation); the
// last Add takes the Sum's name and output.
// Must not fire: Sum of one input (an identity, left to other passes); an omitted input.
#pragma once

#include <algorithm>

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct sum_to_adds final : pattern {
    const char* name() const override { return "sum_to_adds"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::node& n = r[v];
        if (!match::is(n, "Sum") || n.inputs.size() < 2 || n.outputs.size() != 1) return false;
        if (std::any_of(n.inputs.begin(), n.inputs.end(), [](const std::string& i) { return i.empty(); })) return false;
        const std::vector<std::string> ins = n.inputs;
        const std::string out = n.outputs[0], node_name = n.name;
        match::erase_node(r, v, "Sum of " + std::to_string(ins.size()) + " inputs -> Adds");
        std::string acc = ins[0];
        for (std::size_t i = 1; i < ins.size(); ++i) {
            const bool last = i + 1 == ins.size();
            const std::string value = last ? out : r.unique_value_name(out + "_partial" + std::to_string(i));
            r.insert(
                graph::node{
                    last ? node_name : node_name + "_add" + std::to_string(i), "Add", "", {}, {acc, ins[i]}, {value}},
                "part of Sum '" + node_name + "'");
            acc = value;
        }
        return true;
    }
};

}  // namespace ktc::rewrite::passes
