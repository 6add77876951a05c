// ktc/rewrite/passes/fix_graph_inputs.hpp - graph-level preprocessing of the model's inputs (not
// patterns: they change the graph's interface, not its nodes).
//
// fix_batch_dimension: every graph input whose first dimension is unknown (-1: symbolic or
// missing), or 0, gets 1; the NPU runs one sample at a time and later passes need static shapes.
// Inputs of rank 0 or of unknown rank are left alone. Returns how many inputs changed.
// remove_unused_inputs: graph inputs that no node reads and that are not graph outputs are
// dropped. Returns how many.
// preprocess_graph_inputs: both, in that order (what the flows call first).
// Each logs each change (pass "preprocess", pattern the function's name, node the input's name).
// Shapes inferred from the old batch are stale afterwards: run onnx::infer_shapes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "ktc/rewrite/rewriter.hpp"

namespace ktc::rewrite {

inline std::size_t fix_batch_dimension(graph::graph& g, change_log& log) {
    std::size_t changed = 0;
    for (auto& in : g.inputs) {
        if (!in.rank_known || in.shape.empty() || in.shape[0] > 0) continue;
        const std::int64_t old = in.shape[0];
        in.shape[0] = 1;
        log.push_back({"preprocess", "fix_batch_dimension", in.name,
                       "batch dimension " + std::string(old == 0 ? "0" : "unknown") + " set to 1"});
        ++changed;
    }
    return changed;
}

inline std::size_t remove_unused_inputs(graph::graph& g, change_log& log) {
    const auto before = g.inputs.size();
    std::erase_if(g.inputs, [&](const graph::value_info& in) {
        if (!g.consumers(in.name).empty() || g.is_graph_output(in.name)) return false;
        log.push_back({"preprocess", "remove_unused_inputs", in.name, "graph input read by no node: removed"});
        return true;
    });
    return before - g.inputs.size();
}

inline std::size_t preprocess_graph_inputs(graph::graph& g, change_log& log) {
    return fix_batch_dimension(g, log) + remove_unused_inputs(g, log);
}

}  // namespace ktc::rewrite
