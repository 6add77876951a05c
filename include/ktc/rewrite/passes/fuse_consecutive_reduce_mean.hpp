// ktc/rewrite/passes/fuse_consecutive_reduce_mean.hpp - a mean of means over other axes is one
// mean over all of them (every group averaged first has the same size).
//
// Matches: ReduceMean2 (axes attribute) reading the output of ReduceMean1 (axes attribute), read
// by nothing else, with the same keepdims, the input of ReduceMean1 of known rank.
// Produces: ReduceMean2 reads ReduceMean1's input with the union of both axis sets (ReduceMean2's
// axes mapped back to the original axes when keepdims = 0 removed some); ReduceMean1 is erased.
// Must not fire: different keepdims (no single ReduceMean makes that shape); axes absent or given
// as an input; the first output with another reader or that is a graph output; unknown rank.
#pragma once

#include <algorithm>
#include <set>

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct fuse_consecutive_reduce_mean final : pattern {
    const char* name() const override { return "fuse_consecutive_reduce_mean"; }

    bool match_and_rewrite(graph::vertex v2, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& m2 = g[v2];
        if (!is_mean(m2)) return false;
        const auto v1 = g.producer(m2.input(0));
        if (!v1 || !is_mean(g[*v1]) || !match::only_reader(g, m2.input(0))) return false;
        const graph::node& m1 = g[*v1];
        const std::int64_t keep = m1.attrs.get_int("keepdims", 1);
        if (m2.attrs.get_int("keepdims", 1) != keep) return false;
        const auto rank = match::known_rank(g, m1.input(0));
        if (!rank) return false;
        const auto r1 = static_cast<std::int64_t>(*rank);
        std::set<std::int64_t> first;
        for (const auto a : m1.attrs.get_ints("axes")) {
            if (a < -r1 || a >= r1) return false;
            first.insert(a < 0 ? a + r1 : a);
        }
        // The axes of the first mean's output, as axes of its input.
        std::vector<std::int64_t> remaining;
        for (std::int64_t i = 0; i < r1; ++i)
            if (keep || !first.count(i)) remaining.push_back(i);
        const auto r2 = static_cast<std::int64_t>(remaining.size());
        std::set<std::int64_t> all = first;
        for (const auto a : m2.attrs.get_ints("axes")) {
            if (a < -r2 || a >= r2) return false;
            all.insert(remaining[a < 0 ? a + r2 : a]);
        }
        const std::string in = m1.input(0), m1_name = m1.name;
        const graph::vertex first_v = *v1;
        r.set_input(v2, 0, in);
        r.set_attribute(v2, "axes", std::vector<std::int64_t>(all.begin(), all.end()));
        match::erase_node(r, first_v, "merged into ReduceMean '" + g[v2].name + "'");
        return true;
    }

private:
    static bool is_mean(const graph::node& n) {
        return match::is(n, "ReduceMean") && n.inputs.size() == 1 && n.outputs.size() == 1 && n.attrs.has("axes");
    }
};

}  // namespace ktc::rewrite::passes
