// ktc/graph/graph.hpp - the IR: a dataflow graph of ONNX-style nodes on a Boost adjacency_list.
//
// Vertices are nodes (op type, attributes); an edge runs from the node producing a value to each
// node consuming it and carries the value's name and both slots. A node's own input and output
// name lists are the truth for slot order (they may hold "" for an omitted optional input); the
// edges mirror them so that Boost.Graph algorithms see the dataflow. listS storage keeps vertex
// descriptors valid across removals, which the rewriters rely on. Graph inputs and initializers
// are values without a producer node.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>
#include <boost/property_map/property_map.hpp>

#include "ktc/graph/attributes.hpp"

namespace ktc::graph {

// Largest number of nodes (and of initializers, and of declared values) a graph read from a file
// may have: real CNNs have thousands; a 2 GiB file of tiny nodes would take tens of GB as IR.
inline constexpr std::size_t max_graph_nodes = std::size_t{1} << 20;

struct node {
    std::string name;
    std::string op_type;
    std::string domain;  // "" is the default ONNX domain
    attributes attrs;
    std::vector<std::string> inputs;   // value names; "" marks an omitted optional input
    std::vector<std::string> outputs;  // value names; "" marks an unused optional output

    // The i-th input name, or "" when absent.
    const std::string& input(std::size_t i) const {
        static const std::string none;
        return i < inputs.size() ? inputs[i] : none;
    }
    bool has_input(std::size_t i) const { return !input(i).empty(); }
};

struct value_edge {
    std::string value;
    int producer_slot = 0;
    int consumer_slot = 0;
};

// What is known of a value's type and shape. An unknown dimension is -1; an unknown rank is
// `rank_known == false`.
struct value_info {
    std::string name;
    dtype type = dtype::float32;
    shape_t shape;
    bool rank_known = true;
};

using adjacency = boost::adjacency_list<boost::listS, boost::listS, boost::bidirectionalS, node,
                                        value_edge>;
using vertex = adjacency::vertex_descriptor;

class graph {
public:
    graph() = default;
    // A copy has new vertex descriptors: the producer index is rebuilt against them.
    graph(const graph& other)
        : name(other.name), inputs(other.inputs), outputs(other.outputs),
          initializers(other.initializers), value_infos(other.value_infos), opset(other.opset),
          g_(other.g_) {
        rebuild_producers();
    }
    graph& operator=(const graph& other) {
        if (this != &other) *this = graph(other);
        return *this;
    }
    // Boost's adjacency_list has no move constructor: a "move" copies the vertices, so the index
    // is rebuilt here too.
    graph(graph&& other) noexcept
        : name(std::move(other.name)), inputs(std::move(other.inputs)),
          outputs(std::move(other.outputs)), initializers(std::move(other.initializers)),
          value_infos(std::move(other.value_infos)), opset(other.opset), g_(std::move(other.g_)) {
        rebuild_producers();
    }
    graph& operator=(graph&& other) noexcept {
        if (this != &other) {
            name = std::move(other.name);
            inputs = std::move(other.inputs);
            outputs = std::move(other.outputs);
            initializers = std::move(other.initializers);
            value_infos = std::move(other.value_infos);
            opset = other.opset;
            g_ = std::move(other.g_);
            rebuild_producers();
        }
        return *this;
    }

    // ---- nodes -------------------------------------------------------------------------------
    vertex add_node(node n) {
        const vertex v = boost::add_vertex(std::move(n), g_);
        const node& added = g_[v];
        for (std::size_t slot = 0; slot < added.outputs.size(); ++slot)
            if (!added.outputs[slot].empty()) producers_[added.outputs[slot]] = v;
        connect_inputs(v);
        // Nodes added earlier may already consume what this one produces.
        for (const vertex u : nodes())
            if (u != v) connect_inputs_from(u, v);
        return v;
    }

    void remove_node(vertex v) {
        for (const auto& out : g_[v].outputs) {
            auto it = producers_.find(out);
            if (it != producers_.end() && it->second == v) producers_.erase(it);
        }
        boost::clear_vertex(v, g_);
        boost::remove_vertex(v, g_);
    }

    // Points input `slot` of `v` at `value`, keeping the edges in step.
    void set_input(vertex v, std::size_t slot, const std::string& value) {
        node& n = g_[v];
        if (slot >= n.inputs.size()) n.inputs.resize(slot + 1);
        disconnect_input(v, slot);
        n.inputs[slot] = value;
        connect_input(v, slot);
    }

    // Makes output `slot` of `v` produce `value`, moving its edges to the readers of `value`.
    void set_output(vertex v, std::size_t slot, const std::string& value) {
        node& n = g_[v];
        if (slot >= n.outputs.size()) n.outputs.resize(slot + 1);
        auto it = producers_.find(n.outputs[slot]);
        if (it != producers_.end() && it->second == v) producers_.erase(it);
        boost::remove_out_edge_if(
            v, [&](auto e) { return g_[e].producer_slot == static_cast<int>(slot); }, g_);
        n.outputs[slot] = value;
        if (value.empty()) return;
        producers_[value] = v;
        for (const vertex u : nodes()) connect_inputs_from(u, v);
    }

    // Renames every use of `from` (node inputs and graph outputs) to `to`.
    void replace_all_uses(const std::string& from, const std::string& to) {
        for (const auto& [v, slot] : consumers(from)) set_input(v, slot, to);
        for (auto& out : outputs)
            if (out.name == from) out.name = to;
    }

    node& operator[](vertex v) { return g_[v]; }
    const node& operator[](vertex v) const { return g_[v]; }

    std::vector<vertex> nodes() const {
        auto [first, last] = boost::vertices(g_);
        return std::vector<vertex>(first, last);
    }
    std::size_t node_count() const { return boost::num_vertices(g_); }
    const adjacency& boost_graph() const { return g_; }

    std::optional<vertex> find_node(const std::string& name) const {
        for (const vertex v : nodes())
            if (g_[v].name == name) return v;
        return std::nullopt;
    }

    // ---- values ------------------------------------------------------------------------------
    std::optional<vertex> producer(const std::string& value) const {
        auto it = producers_.find(value);
        if (it == producers_.end()) return std::nullopt;
        return it->second;
    }

    // Every (node, input slot) reading `value`.
    std::vector<std::pair<vertex, std::size_t>> consumers(const std::string& value) const {
        std::vector<std::pair<vertex, std::size_t>> uses;
        for (const vertex v : nodes()) {
            const auto& ins = g_[v].inputs;
            for (std::size_t slot = 0; slot < ins.size(); ++slot)
                if (ins[slot] == value) uses.emplace_back(v, slot);
        }
        return uses;
    }

    bool is_graph_input(const std::string& value) const {
        return std::any_of(inputs.begin(), inputs.end(), [&](auto& i) { return i.name == value; });
    }
    bool is_graph_output(const std::string& value) const {
        return std::any_of(outputs.begin(), outputs.end(), [&](auto& o) { return o.name == value; });
    }
    const tensor* initializer(const std::string& value) const {
        auto it = initializers.find(value);
        return it == initializers.end() ? nullptr : &it->second;
    }
    // Whatever is known of a value: graph inputs and outputs first, then inferred value_infos.
    const value_info* info(const std::string& value) const {
        for (auto* list : {&inputs, &outputs})
            for (auto& i : *list)
                if (i.name == value) return &i;
        auto it = value_infos.find(value);
        return it == value_infos.end() ? nullptr : &it->second;
    }

    // ---- whole-graph algorithms --------------------------------------------------------------
    // Nodes in dataflow order; throws naming a node on a cycle.
    std::vector<vertex> topological_order() const {
        std::map<vertex, boost::default_color_type> colors;
        std::vector<vertex> reversed;
        try {
            boost::topological_sort(g_, std::back_inserter(reversed),
                                    boost::color_map(boost::make_assoc_property_map(colors)));
        } catch (const boost::not_a_dag&) {
            throw error("graph '" + name + "' has a cycle; its nodes cannot be ordered");
        }
        return {reversed.rbegin(), reversed.rend()};
    }

    // Removes nodes none of whose outputs reach a graph output; returns how many.
    std::size_t remove_dead_nodes() {
        std::map<vertex, bool> live;
        std::vector<vertex> work;
        for (const auto& out : outputs)
            if (auto p = producer(out.name)) work.push_back(*p);
        while (!work.empty()) {
            const vertex v = work.back();
            work.pop_back();
            if (live[v]) continue;
            live[v] = true;
            for (const auto& in : g_[v].inputs)
                if (auto p = producer(in)) work.push_back(*p);
        }
        std::size_t removed = 0;
        for (const vertex v : nodes())
            if (!live[v]) remove_node(v), ++removed;
        // Initializers nothing reads any more go too.
        for (auto it = initializers.begin(); it != initializers.end();)
            it = consumers(it->first).empty() && !is_graph_output(it->first) ? initializers.erase(it)
                                                                             : std::next(it);
        return removed;
    }

    // ---- model-level data --------------------------------------------------------------------
    std::string name;
    std::vector<value_info> inputs;   // runtime inputs only (initializers are not listed here)
    std::vector<value_info> outputs;
    std::map<std::string, tensor> initializers;
    std::map<std::string, value_info> value_infos;  // inferred types/shapes of intermediates
    std::int64_t opset = 17;                        // default-domain opset of the node semantics

private:
    void rebuild_producers() {
        producers_.clear();
        for (const vertex v : nodes())
            for (const auto& out : g_[v].outputs)
                if (!out.empty()) producers_[out] = v;
    }

    void connect_input(vertex v, std::size_t slot) {
        const std::string& value = g_[v].inputs[slot];
        if (value.empty()) return;
        auto it = producers_.find(value);
        if (it == producers_.end()) return;
        const auto& outs = g_[it->second].outputs;
        const int producer_slot = static_cast<int>(std::find(outs.begin(), outs.end(), value) - outs.begin());
        boost::add_edge(it->second, v, value_edge{value, producer_slot, static_cast<int>(slot)}, g_);
    }
    void connect_inputs(vertex v) {
        for (std::size_t slot = 0; slot < g_[v].inputs.size(); ++slot) connect_input(v, slot);
    }
    // Adds edges from `producer` to the inputs of `consumer` that read its outputs.
    void connect_inputs_from(vertex consumer, vertex producer) {
        const auto& ins = g_[consumer].inputs;
        for (std::size_t slot = 0; slot < ins.size(); ++slot) {
            auto it = producers_.find(ins[slot]);
            if (it != producers_.end() && it->second == producer) connect_input(consumer, slot);
        }
    }
    void disconnect_input(vertex v, std::size_t slot) {
        boost::remove_in_edge_if(
            v, [&](auto e) { return g_[e].consumer_slot == static_cast<int>(slot); }, g_);
    }

    adjacency g_;
    std::unordered_map<std::string, vertex> producers_;
};

}  // namespace ktc::graph
