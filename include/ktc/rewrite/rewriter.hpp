// ktc/rewrite/rewriter.hpp - the one door through which a rewrite pattern changes the graph.
//
// Patterns never touch the graph directly: every mutation goes through a rewriter, which keeps
// the IR's edges in step, hands out fresh names, remembers erased nodes (so the driver skips
// them) and logs every change as (pass, pattern, node, what happened) for `ktc optimize -v`.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "ktc/graph/graph.hpp"

namespace ktc::rewrite {

struct change {
    std::string pass;
    std::string pattern;
    std::string node;
    std::string what;
};

using change_log = std::vector<change>;

class rewriter {
public:
    rewriter(graph::graph& g, change_log& log, std::string pass) : g_(g), log_(log), pass_(std::move(pass)) {}

    const graph::graph& graph() const { return g_; }
    const graph::node& operator[](graph::vertex v) const { return g_[v]; }
    bool erased(graph::vertex v) const { return erased_.count(v) != 0; }

    // Starts a sweep over a fresh node order: earlier erasures are out of it already.
    void begin_sweep() { erased_.clear(); }

    // The pattern whose changes are being logged (set by the driver).
    void set_pattern(std::string name) { pattern_ = std::move(name); }

    // ---- mutations ---------------------------------------------------------------------------
    graph::vertex insert(graph::node n, const std::string& why) {
        n.name = unique_node_name(n.name.empty() ? n.op_type : n.name);
        const std::string name = n.name;
        const graph::vertex v = g_.add_node(std::move(n));
        erased_.erase(v);  // the allocator may hand out an erased node's address again
        note(name, "inserted: " + why);
        return v;
    }

    // Removes `v`; its outputs must be unused (rewire readers first with replace_all_uses).
    void erase(graph::vertex v, const std::string& why) {
        for (const auto& out : g_[v].outputs)
            if (!out.empty() && (!g_.consumers(out).empty() || g_.is_graph_output(out)))
                throw error("rewrite " + pass_ + "/" + pattern_ + ": erasing node '" + g_[v].name + "' whose output '" +
                            out + "' is still used");
        note(g_[v].name, "erased: " + why);
        erased_.insert(v);
        g_.remove_node(v);
    }

    // Every reader of value `from` (nodes and graph outputs) reads `to` instead.
    void replace_all_uses(const std::string& from, const std::string& to) {
        if (from == to) return;
        g_.replace_all_uses(from, to);
    }

    void set_input(graph::vertex v, std::size_t slot, const std::string& value) { g_.set_input(v, slot, value); }
    void set_output(graph::vertex v, std::size_t slot, const std::string& value) { g_.set_output(v, slot, value); }
    void set_attribute(graph::vertex v, const std::string& name, graph::attribute a) {
        g_[v].attrs.set(name, std::move(a));
    }
    void erase_attribute(graph::vertex v, const std::string& name) { g_[v].attrs.erase(name); }
    void set_op_type(graph::vertex v, const std::string& op) { g_[v].op_type = op; }

    // Adds a constant; returns its (fresh) value name.
    std::string add_initializer(const std::string& base, tensor t) {
        const std::string name = unique_value_name(base);
        g_.initializers.emplace(name, std::move(t));
        return name;
    }
    // Drops initializers nothing reads any more.
    void drop_unused_initializers() {
        for (auto it = g_.initializers.begin(); it != g_.initializers.end();)
            it = g_.consumers(it->first).empty() && !g_.is_graph_output(it->first) ? g_.initializers.erase(it)
                                                                                   : std::next(it);
    }

    // Records what a pattern did to a node, beyond the mutations above.
    void note(const std::string& node, const std::string& what) { log_.push_back({pass_, pattern_, node, what}); }

    // ---- names -------------------------------------------------------------------------------
    std::string unique_value_name(const std::string& base) const {
        auto taken = [&](const std::string& n) {
            return g_.initializers.count(n) || g_.producer(n) || g_.is_graph_input(n) || g_.is_graph_output(n);
        };
        std::string name = base;
        for (int i = 1; taken(name); ++i) name = base + "_" + std::to_string(i);
        return name;
    }
    std::string unique_node_name(const std::string& base) const {
        std::string name = base;
        for (int i = 1; g_.find_node(name); ++i) name = base + "_" + std::to_string(i);
        return name;
    }

private:
    graph::graph& g_;
    change_log& log_;
    std::string pass_, pattern_;
    std::set<graph::vertex> erased_;
};

}  // namespace ktc::rewrite
