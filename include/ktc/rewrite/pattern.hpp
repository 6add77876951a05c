// ktc/rewrite/pattern.hpp - rewrite patterns, passes (named pattern sets) and the greedy driver.
//
// A pattern is a small struct with a name and one match_and_rewrite(vertex, rewriter): it looks
// at the node (the root) and its neighbourhood, and either changes nothing and returns false, or
// makes its change through the rewriter and returns true. The driver applies a pass's patterns
// to every node in dataflow order, again and again, until a sweep changes nothing (converged)
// or the iteration bound is hit (reported, never silent).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ktc/rewrite/rewriter.hpp"

namespace ktc::rewrite {

struct pattern {
    virtual ~pattern() = default;
    virtual const char* name() const = 0;
    virtual bool match_and_rewrite(graph::vertex root, rewriter& r) const = 0;
};

struct pass {
    std::string name;
    std::vector<std::shared_ptr<const pattern>> patterns;
};

template <class... Patterns>
pass make_pass(std::string name) {
    return pass{std::move(name), {std::make_shared<const Patterns>()...}};
}

struct pass_result {
    bool converged = false;
    int sweeps = 0;
    std::size_t rewrites = 0;
};

inline pass_result apply_greedily(graph::graph& g, const pass& p, change_log& log, int max_sweeps = 32) {
    rewriter r(g, log, p.name);
    pass_result result;
    while (result.sweeps < max_sweeps) {
        ++result.sweeps;
        r.begin_sweep();
        bool changed = false;
        for (const graph::vertex v : g.topological_order()) {
            for (const auto& pat : p.patterns) {
                if (r.erased(v)) break;
                r.set_pattern(pat->name());
                if (pat->match_and_rewrite(v, r)) {
                    changed = true;
                    ++result.rewrites;
                }
            }
        }
        if (!changed) {
            result.converged = true;
            break;
        }
    }
    r.drop_unused_initializers();
    return result;
}

}  // namespace ktc::rewrite
