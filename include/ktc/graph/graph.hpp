// ktc/graph/graph.hpp - the IR: a dataflow graph of ONNX-style nodes.
//
// Nodes live in slots numbered in the order they were added; a `vertex` is that number, so it
// stays valid across removals (the rewriters rely on it) and across copies. A node's own input
// and output name lists are the truth for slot order (they may hold "" for an omitted optional
// input). Two indexes follow them on every mutation made through the graph: which node produces
// each value, and which (node, slot) pairs read it; the dataflow edges, from the node producing a
// value to each node reading it, are kept per producer in the order they were made, which fixes
// the topological order. Graph inputs and initializers are values without a producer node.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

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

// What is known of a value's type and shape. An unknown dimension is -1; an unknown rank is
// `rank_known == false`.
struct value_info {
    std::string name;
    dtype type = dtype::float32;
    shape_t shape;
    bool rank_known = true;
};

// A node's place in its graph: the number of its slot, in the order nodes were added.
enum class vertex : std::uint32_t {};

class graph {
public:
    // ---- nodes -------------------------------------------------------------------------------
    vertex add_node(node n) {
        const auto v = static_cast<vertex>(slots_.size());
        slots_.emplace_back().n = std::move(n);
        ++live_count_;
        const node& added = slots_.back().n;
        for (std::size_t i = 0; i < added.outputs.size(); ++i)
            if (!added.outputs[i].empty()) producers_[added.outputs[i]] = v;
        for (std::size_t i = 0; i < added.inputs.size(); ++i) add_use(v, i);
        connect_inputs(v);
        // Nodes added earlier may already read what this one produces.
        std::set<use> earlier;
        for (const auto& out : added.outputs)
            if (auto it = readers_.find(out); !out.empty() && it != readers_.end())
                for (const use& u : it->second)
                    if (u.first != v) earlier.insert(u);
        for (const auto& [u, i] : earlier) connect_input(u, i);
        return v;
    }

    void remove_node(vertex v) {
        slot& s = at(v);
        if (!s.live) return;  // removed already
        for (const auto& out : s.n.outputs) {
            auto it = producers_.find(out);
            if (it != producers_.end() && it->second == v) producers_.erase(it);
        }
        for (std::size_t i = 0; i < s.n.inputs.size(); ++i) drop_use(v, i);
        disconnect_inputs(v, [](const edge&) { return true; });
        for (const edge& e : s.out) erase_one(at(e.consumer).sources, v);
        s = slot{};
        s.live = false;
        --live_count_;
    }

    // Points input `slot` of `v` at `value`, keeping the indexes and edges in step.
    void set_input(vertex v, std::size_t slot, const std::string& value) {
        node& n = at(v).n;
        if (slot >= n.inputs.size()) n.inputs.resize(slot + 1);
        disconnect_inputs(v, [&](const edge& e) { return e.consumer_slot == slot; });
        drop_use(v, slot);
        n.inputs[slot] = value;
        add_use(v, slot);
        connect_input(v, slot);
    }

    // Makes output `slot` of `v` produce `value`, moving its edges to the readers of `value`.
    void set_output(vertex v, std::size_t slot, const std::string& value) {
        node& n = at(v).n;
        if (slot >= n.outputs.size()) n.outputs.resize(slot + 1);
        auto it = producers_.find(n.outputs[slot]);
        if (it != producers_.end() && it->second == v) producers_.erase(it);
        auto& out = at(v).out;
        for (auto e = out.begin(); e != out.end();) {
            if (e->producer_slot != slot) {
                ++e;
                continue;
            }
            erase_one(at(e->consumer).sources, v);
            e = out.erase(e);
        }
        n.outputs[slot] = value;
        if (value.empty()) return;
        producers_[value] = v;
        if (auto r = readers_.find(value); r != readers_.end())
            for (const auto& [u, i] : r->second) connect_input(u, i);  // edges only: readers_ stays
    }

    // Renames every use of `from` (node inputs and graph outputs) to `to`.
    void replace_all_uses(const std::string& from, const std::string& to) {
        for (const auto& [v, slot] : consumers(from)) set_input(v, slot, to);
        for (auto& out : outputs)
            if (out.name == from) out.name = to;
    }

    node& operator[](vertex v) { return at(v).n; }
    const node& operator[](vertex v) const { return at(v).n; }

    // Every node, in the order they were added.
    std::vector<vertex> nodes() const {
        std::vector<vertex> live;
        live.reserve(live_count_);
        for (std::size_t i = 0; i < slots_.size(); ++i)
            if (slots_[i].live) live.push_back(static_cast<vertex>(i));
        return live;
    }
    std::size_t node_count() const { return live_count_; }
    // Dataflow edges: one per (producer, reading node, input slot).
    std::size_t edge_count() const {
        std::size_t count = 0;
        for (const slot& s : slots_) count += s.out.size();
        return count;
    }

    std::optional<vertex> find_node(const std::string& name) const {
        for (const vertex v : nodes())
            if (at(v).n.name == name) return v;
        return std::nullopt;
    }

    // ---- values ------------------------------------------------------------------------------
    std::optional<vertex> producer(const std::string& value) const {
        auto it = producers_.find(value);
        if (it == producers_.end()) return std::nullopt;
        return it->second;
    }

    // Every (node, input slot) reading `value`, in node order.
    std::vector<std::pair<vertex, std::size_t>> consumers(const std::string& value) const {
        auto it = readers_.find(value);
        if (it == readers_.end()) return {};
        return {it->second.begin(), it->second.end()};
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
    // Nodes in dataflow order; throws naming the graph on a cycle. The order is the reverse of a
    // depth-first finish order that starts from each node in turn and follows each node's edges
    // in the order they were made.
    std::vector<vertex> topological_order() const {
        enum class mark : std::uint8_t { unseen, open, done };
        std::vector<mark> marks(slots_.size(), mark::unseen);
        std::vector<vertex> finished;
        finished.reserve(live_count_);
        std::vector<std::pair<vertex, std::size_t>> stack;  // (node, next edge to follow)
        for (const vertex root : nodes()) {
            if (marks[index(root)] != mark::unseen) continue;
            marks[index(root)] = mark::open;
            stack.emplace_back(root, 0);
            while (!stack.empty()) {
                auto& [v, next] = stack.back();
                const auto& out = at(v).out;
                if (next == out.size()) {
                    marks[index(v)] = mark::done;
                    finished.push_back(v);
                    stack.pop_back();
                    continue;
                }
                const vertex w = out[next++].consumer;
                if (marks[index(w)] == mark::open)
                    throw error("graph '" + name + "' has a cycle; its nodes cannot be ordered");
                if (marks[index(w)] == mark::unseen) {
                    marks[index(w)] = mark::open;
                    stack.emplace_back(w, 0);
                }
            }
        }
        return {finished.rbegin(), finished.rend()};
    }

    // Removes nodes none of whose outputs reach a graph output; returns how many.
    std::size_t remove_dead_nodes() {
        std::vector<bool> live(slots_.size(), false);
        std::vector<vertex> work;
        for (const auto& out : outputs)
            if (auto p = producer(out.name)) work.push_back(*p);
        while (!work.empty()) {
            const vertex v = work.back();
            work.pop_back();
            if (live[index(v)]) continue;
            live[index(v)] = true;
            for (const auto& in : at(v).n.inputs)
                if (auto p = producer(in)) work.push_back(*p);
        }
        std::size_t removed = 0;
        for (const vertex v : nodes())
            if (!live[index(v)]) remove_node(v), ++removed;
        // Initializers nothing reads any more go too.
        for (auto it = initializers.begin(); it != initializers.end();)
            it = !readers_.count(it->first) && !is_graph_output(it->first) ? initializers.erase(it) : std::next(it);
        return removed;
    }

    // ---- model-level data --------------------------------------------------------------------
    std::string name;
    std::vector<value_info> inputs;  // runtime inputs only (initializers are not listed here)
    std::vector<value_info> outputs;
    std::map<std::string, tensor> initializers;
    std::map<std::string, value_info> value_infos;  // inferred types/shapes of intermediates
    std::int64_t opset = 17;                        // default-domain opset of the node semantics

private:
    using use = std::pair<vertex, std::size_t>;  // (reading node, input slot)
    struct edge {
        vertex consumer;
        std::size_t producer_slot = 0;
        std::size_t consumer_slot = 0;
    };
    struct slot {
        node n;
        bool live = true;
        std::vector<edge> out;        // to the nodes reading this one's outputs, oldest first
        std::vector<vertex> sources;  // one entry per edge into this node
    };

    static std::size_t index(vertex v) { return static_cast<std::size_t>(v); }
    slot& at(vertex v) { return slots_.at(index(v)); }
    const slot& at(vertex v) const { return slots_.at(index(v)); }
    static void erase_one(std::vector<vertex>& list, vertex v) {
        if (auto it = std::find(list.begin(), list.end(), v); it != list.end()) list.erase(it);
    }

    void add_use(vertex v, std::size_t slot) {
        const std::string& value = at(v).n.inputs[slot];
        if (!value.empty()) readers_[value].insert({v, slot});
    }
    void drop_use(vertex v, std::size_t slot) {
        const auto& ins = at(v).n.inputs;
        if (slot >= ins.size() || ins[slot].empty()) return;
        auto it = readers_.find(ins[slot]);
        if (it == readers_.end()) return;
        it->second.erase({v, slot});
        if (it->second.empty()) readers_.erase(it);
    }

    // An edge from the producer of input `slot` of `v`, if that value has one.
    void connect_input(vertex v, std::size_t slot) {
        const std::string& value = at(v).n.inputs[slot];
        if (value.empty()) return;
        auto it = producers_.find(value);
        if (it == producers_.end()) return;
        const auto& outs = at(it->second).n.outputs;
        const auto producer_slot = static_cast<std::size_t>(std::find(outs.begin(), outs.end(), value) - outs.begin());
        at(it->second).out.push_back(edge{v, producer_slot, slot});
        at(v).sources.push_back(it->second);
    }
    void connect_inputs(vertex v) {
        for (std::size_t i = 0; i < at(v).n.inputs.size(); ++i) connect_input(v, i);
    }
    // Removes the edges into `v` that `which` selects.
    template <typename Which>
    void disconnect_inputs(vertex v, Which which) {
        auto& sources = at(v).sources;
        const std::set<vertex> from(sources.begin(), sources.end());
        for (const vertex p : from) {
            auto& out = at(p).out;
            for (auto e = out.begin(); e != out.end();) {
                if (e->consumer != v || !which(*e)) {
                    ++e;
                    continue;
                }
                erase_one(sources, p);
                e = out.erase(e);
            }
        }
    }

    std::vector<slot> slots_;
    std::size_t live_count_ = 0;
    std::unordered_map<std::string, vertex> producers_;
    std::unordered_map<std::string, std::set<use>> readers_;
};

}  // namespace ktc::graph
