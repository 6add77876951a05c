// ktc/compiler/lower.hpp - a quantized graph lowered to the steps the chip runs.
//
// The steps, in execution order (the topological position of each step's first node):
//   mac          a MAC op (Conv, ConvTranspose, Gemm, MatMul) leading a layer that takes in its
//                output stage: BN, bias-free activations, an element-wise binary whose other
//                operand is ready before the layer starts, and at most one MaxPool/AveragePool
//                (where pool_in_mac_layer<P>), while each link has exactly one reader and is not
//                a graph output - the chip never writes those intermediates to DRAM;
//   elementwise  any other NPU arithmetic node (Add, Mul, a lookup-table activation, unfused BN...);
//   pool         a pooling node that no MAC layer took in;
//   move         data movement (Reshape, Flatten, Concat, Transpose, Slice, Identity, Constant ...);
//   cpu          a node the support check (eval/support.hpp) places on the chip's CPU: one node,
//                whole tensors, run by the host.
// Nodes the platform can run nowhere make lower() throw unsupported_error listing every one.
// The shapes and integer types of every value come from one run of the fixed-point interpreter
// on zero inputs, so they are exactly what the kernels will produce.
#pragma once

#include "ktc/core/config.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "ktc/eval/support.hpp"
#include "ktc/graph/ops.hpp"
#include "ktc/kernels/fixed/registry.hpp"
#include "ktc/fixed/annotations.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/interpreter.hpp"

namespace ktc::compiler {

// Whether the chip's MAC layer can end in a pooling window (both chips' post-processing units
// can; a chip that cannot specializes this to false).
template <class P>
inline constexpr bool pool_in_mac_layer = true;

enum class layer_kind : std::uint8_t { mac = 1, elementwise = 2, pool = 3, move = 4, cpu = 5 };

KTC_DECL const char* name_of(layer_kind k);

struct value_desc {
    dtype type = dtype::int8;
    shape_t shape;
};

struct layer {
    layer_kind kind;
    std::vector<std::string> nodes;    // node names in execution order; the lead first
    std::vector<std::string> inputs;   // activations the layer reads from DRAM, each once
    std::vector<std::string> outputs;  // values it writes to DRAM
};

struct lowered_model {
    std::vector<layer> layers;
    std::map<std::string, value_desc> values;  // graph inputs and every node output
};

namespace lower_detail {

inline bool is_pool(const std::string& op) { return op == "MaxPool" || op == "AveragePool"; }

// Shapes and types of every value: one run of the fixed-point interpreter on zeros.
KTC_DECL std::map<std::string, value_desc> value_shapes(const graph::graph& g);

}  // namespace lower_detail

template <class P>
lowered_model lower(const graph::graph& g) {
    using namespace lower_detail;
    lowered_model m;
    m.values = value_shapes(g);
    const eval::support_report support = eval::support_check<P>(g);
    std::map<graph::vertex, const eval::node_support*> where;
    std::map<graph::vertex, std::size_t> position;
    for (std::size_t i = 0; i < support.nodes.size(); ++i) {
        where[support.nodes[i].v] = &support.nodes[i];
        position[support.nodes[i].v] = i;
    }
    std::vector<std::string> refused;
    for (const auto& s : support.nodes)
        if (s.where == eval::placement::unsupported && !s.folded)
            refused.push_back("'" + s.node + "' (" + s.op + "): " + s.rule);
    if (!refused.empty()) {
        std::string msg = "the platform cannot run " + std::to_string(refused.size()) + " node(s):";
        for (const auto& r : refused) msg += " " + r + ";";
        msg.pop_back();
        throw unsupported_error(msg);
    }
    // Is `value` ready before the node at position `before` runs?
    const auto ready_before = [&](const std::string& value, std::size_t before) {
        if (value.empty() || g.initializer(value) || g.is_graph_input(value)) return true;
        const auto p = g.producer(value);
        return !p || position.at(*p) < before;
    };

    std::set<graph::vertex> taken;
    for (const auto& s : support.nodes) {
        if (taken.count(s.v)) continue;
        taken.insert(s.v);
        const graph::node& n = g[s.v];
        layer l;
        l.nodes.push_back(n.name);
        if (s.where == eval::placement::cpu && !s.folded) {
            l.kind = layer_kind::cpu;
        } else if (ops::is_mac(n.op_type)) {
            l.kind = layer_kind::mac;
            bool pooled = false;
            graph::vertex at = s.v;
            for (;;) {
                if (g[at].outputs.size() != 1) break;
                const std::string& value = g[at].outputs[0];
                if (g.is_graph_output(value)) break;
                const auto readers = g.consumers(value);
                if (readers.size() != 1) break;
                const graph::vertex next = readers[0].first;
                const auto& nn = g[next];
                if (taken.count(next) || where.at(next)->where != eval::placement::npu || where.at(next)->folded) break;
                if (!ops::is_output_stage(nn.op_type) || nn.outputs.size() != 1) break;
                if (is_pool(nn.op_type) && (pooled || !pool_in_mac_layer<P>)) break;
                bool others_ready = true;
                for (std::size_t i = 0; i < nn.inputs.size(); ++i)
                    if (i != readers[0].second && !ready_before(nn.inputs[i], position.at(s.v))) others_ready = false;
                if (!others_ready) break;
                pooled = pooled || is_pool(nn.op_type);
                taken.insert(next);
                l.nodes.push_back(nn.name);
                at = next;
            }
        } else if (ops::moves_data_only(n.op_type) || s.folded) {
            l.kind = layer_kind::move;
        } else if (is_pool(n.op_type) || n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool") {
            l.kind = layer_kind::pool;
        } else {
            l.kind = layer_kind::elementwise;
        }
        // DRAM traffic: activations from outside the layer in, the last node's outputs out.
        std::set<std::string> inside;
        for (const auto& name : l.nodes) {
            const graph::node& x = g[*g.find_node(name)];
            for (const auto& in : x.inputs)
                if (!in.empty() && !g.initializer(in) && !inside.count(in) &&
                    std::find(l.inputs.begin(), l.inputs.end(), in) == l.inputs.end())
                    l.inputs.push_back(in);
            for (const auto& out : x.outputs)
                if (!out.empty()) inside.insert(out);
        }
        for (const auto& out : g[*g.find_node(l.nodes.back())].outputs)
            if (!out.empty()) l.outputs.push_back(out);
        m.layers.push_back(std::move(l));
    }
    return m;
}

#if !KTC_HEADER_ONLY
// Instantiated once for each chip, in src/ (core/config.hpp).
extern template lowered_model lower<platform::kdp520>(const graph::graph&);
extern template lowered_model lower<platform::kdp720>(const graph::graph&);
#endif

}  // namespace ktc::compiler

#if KTC_HEADER_ONLY
#include "ktc/compiler/lower.ipp"
#endif
