// ktc/kernels/kernel.hpp - what a kernel receives and how kernel sets are looked up.
//
// A kernel computes one node: it reads the node's attributes and input tensors and fills one
// tensor per node output. Kernels are plain functions collected into a kernel_table per numeric
// world (float/ today, fixed/ later); the interpreter in sim/ is generic over the table.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <typeinfo>
#include <unordered_map>

#include "ktc/core/tensor.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::kernels {

// What a kernel derives once from a node's constant inputs (weights packed for a vector kernel),
// kept by the interpreter per node across runs. Built on first use, once, by whichever of the
// threads running samples gets there first; one type per node.
class node_cache {
public:
    template <class T, class Make>
    const T& get(Make&& make) {
        std::call_once(once_, [&] {
            value_ = std::make_shared<const T>(make());
            type_ = &typeid(T);
        });
        if (*type_ != typeid(T)) throw error("node_cache: one node's kernel asked for two kinds of prepared data");
        return *static_cast<const T*>(value_.get());
    }

private:
    std::once_flag once_;
    std::shared_ptr<const void> value_;
    const std::type_info* type_ = nullptr;
};

// The arguments of one kernel call. Omitted optional inputs are nullptr.
struct kernel_call {
    const graph::node& node;
    std::span<const tensor* const> inputs;
    std::span<tensor> outputs;
    // The interpreter's cache for this node (none when called directly) and which inputs are
    // constants, the same tensor on every run: a kernel may cache what it derives from those only.
    node_cache* cache = nullptr;
    std::uint64_t constant_inputs = 0;

    std::size_t input_count() const { return inputs.size(); }
    bool has_input(std::size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
    // The i-th input; a missing required input is an error naming the node.
    const tensor& input(std::size_t i) const {
        if (!has_input(i))
            throw error("node '" + node.name + "' (" + node.op_type + "): input " + std::to_string(i) + " is required");
        return *inputs[i];
    }
    tensor& output(std::size_t i = 0) const { return outputs[i]; }
    bool is_constant(std::size_t i) const { return i < 64 && has_input(i) && (constant_inputs >> i & 1); }
    // What make() derives from input `from` alone: made once per node when that input is a
    // constant and the interpreter keeps a cache (then not owned), on every call otherwise.
    template <class T, class Make>
    std::shared_ptr<const T> prepared(std::size_t from, Make&& make) const {
        if (!cache || !is_constant(from)) return std::make_shared<const T>(make());
        return std::shared_ptr<const T>(std::shared_ptr<const T>{}, &cache->get<T>(make));
    }
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
