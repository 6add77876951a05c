// ktc/sim/interpreter.hpp - one walk over the graph in dataflow order, generic over a kernel set.
//
// The constructor plans once: node order, a slot per value, which kernel runs each node and
// after which step each intermediate is last used (so memory stays at the live working set).
// run() then only moves tensors between slots and calls kernels. The float simulator is this
// interpreter over kernels::floating::kernels(); the fixed-point simulator reuses the walk with
// its own table.
#pragma once

#include "ktc/core/config.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ktc/graph/graph.hpp"
#include "ktc/kernels/kernel.hpp"
#include "ktc/sim/runner.hpp"

namespace ktc::sim {

class interpreter {
public:
    // Throws unsupported_error listing every node whose op has no kernel in `table`.
    interpreter(const graph::graph& g, const kernels::kernel_table& table);

    // Runs the graph on one set of inputs (by graph input name) and returns the graph outputs.
    tensor_map run(const tensor_map& inputs, const node_observer& observe = {}) const;

    // One run that can stop after any node and go on later (to fit a model layer after layer on
    // the values of the layers above: quant/upstream_rounding.hpp). It keeps the values still to
    // be read; the interpreter and the inputs must outlive it.
    class session {
    public:
        session(const interpreter& model, const tensor_map& inputs);
        // Runs the next nodes, each shown to `observe`, until `stop()` holds after one of them or
        // every node has run; false when every node has run.
        bool advance(const node_observer& observe, const std::function<bool()>& stop = {});
        tensor_map outputs();  // the graph outputs, once every node has run

    private:
        const interpreter* model_;
        std::vector<tensor> owned_;
        std::vector<const tensor*> view_;
        std::size_t next_ = 0;
    };

    const graph::graph& graph() const { return graph_; }

private:
    friend class session;
    struct step {
        const graph::node* node;
        kernels::kernel_fn kernel;
        std::vector<int> inputs;                     // slot per input, -1 when omitted
        std::vector<int> outputs;                    // slot per output, -1 when unused
        std::vector<int> releases;                   // intermediates whose last reader is this step
        std::uint64_t constant_inputs = 0;           // bit i: input i is an initializer
        std::shared_ptr<kernels::node_cache> cache;  // what the kernel prepares once
    };

    // An intermediate is freed after the last step that reads it, unless it is a graph output.
    void plan_releases();

    void check_input(const graph::value_info& info, const tensor& t) const;

    const graph::graph& graph_;
    std::vector<std::string> slot_names_;
    std::vector<int> input_slots_, output_slots_;
    std::vector<std::pair<int, const tensor*>> constants_;
    std::vector<step> steps_;
};

}  // namespace ktc::sim

#if KTC_HEADER_ONLY
#include "ktc/sim/interpreter.ipp"
#endif
