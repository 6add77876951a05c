// ktc/kernels/kernel.hpp - what a kernel receives and how kernel sets are looked up.
//
// A kernel computes one node: it reads the node's attributes and input tensors and fills one
// tensor per node output. Kernels are plain functions collected into a kernel_table per numeric
// world (float/ today, fixed/ later); the interpreter in sim/ is generic over the table.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <unordered_map>

#include "ktc/core/tensor.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::kernels {

// The arguments of one kernel call. Omitted optional inputs are nullptr.
struct kernel_call {
    const graph::node& node;
    std::span<const tensor* const> inputs;
    std::span<tensor> outputs;

    std::size_t input_count() const { return inputs.size(); }
    bool has_input(std::size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
    // The i-th input; a missing required input is an error naming the node.
    const tensor& input(std::size_t i) const {
        if (!has_input(i))
            throw error("node '" + node.name + "' (" + node.op_type + "): input " +
                        std::to_string(i) + " is required");
        return *inputs[i];
    }
    tensor& output(std::size_t i = 0) const { return outputs[i]; }
    const graph::attributes& attrs() const { return node.attrs; }

    // An error that names this node, for kernels to throw on invalid attributes or shapes.
    error fail(const std::string& what) const {
        return error("node '" + node.name + "' (" + node.op_type + "): " + what);
    }
    unsupported_error unsupported(const std::string& what) const {
        return unsupported_error("node '" + node.name + "' (" + node.op_type + "): " + what);
    }
};

using kernel_fn = void (*)(const kernel_call&);
using kernel_table = std::unordered_map<std::string, kernel_fn>;

}  // namespace ktc::kernels
