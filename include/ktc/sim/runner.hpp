// ktc/sim/runner.hpp - what runs a graph on one set of inputs, seen from above the simulators.
//
// Calibration (quant/calibrate.hpp) and whatever else only needs "run this graph and show me each
// node's outputs" take a runner, not a simulator: the float and fixed-point simulators are two,
// and an embedder can bring its own (a runtime on the chip's host, a reference model).
#pragma once

#include <functional>
#include <map>
#include <span>
#include <string>

#include "ktc/core/tensor.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::sim {

using tensor_map = std::map<std::string, tensor>;

// Called after each node with the node and its outputs (e.g. to record per-layer statistics).
using node_observer = std::function<void(const graph::node&, std::span<const tensor>)>;

class runner {
public:
    virtual ~runner() = default;
    // The graph run, whose value names the observer sees.
    virtual const graph::graph& graph() const = 0;
    // One sample, model layout, by graph input name; the graph outputs by name.
    virtual tensor_map run(const tensor_map& inputs, const node_observer& observe = {}) const = 0;
};

}  // namespace ktc::sim
