// ktc/rewrite/passes/global_average_pool.hpp - averages over the whole spatial extent become
// GlobalAveragePool.
//
// average_pool_to_global      matches AveragePool whose input has a known shape [N, C, d...],
//                             kernel_shape = d (the window covers the input), no padding
//                             (pads absent or zero, auto_pad NOTSET or VALID), dilations 1.
//                             Produces: GlobalAveragePool under the same name and output (the
//                             output is [N, C, 1, ...] whatever the strides).
//                             Must not fire: unknown input shape; a smaller kernel; any padding.
// reduce_mean_to_global_pool  matches ReduceMean (axes attribute) over exactly the spatial axes
//                             2..r-1 of an input of known rank r >= 3. Produces: GlobalAveragePool
//                             (keepdims = 1), or GlobalAveragePool + Flatten(axis = 1) making the
//                             same [N, C] output (keepdims = 0). Must not fire: unknown rank;
//                             other axes (over C or N, or only some spatial axes); axes given as
//                             an input; no axes (a reduction over everything).
#pragma once

#include <algorithm>

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct average_pool_to_global final : pattern {
    const char* name() const override { return "average_pool_to_global"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& n = g[v];
        if (!match::is(n, "AveragePool") || n.outputs.size() != 1) return false;
        const auto in = match::known_shape(g, n.input(0));
        if (!in || in->size() < 3) return false;
        const auto& a = n.attrs;
        const auto kernel = a.get_ints("kernel_shape");
        if (kernel != std::vector<std::int64_t>(in->begin() + 2, in->end())) return false;
        const auto pads = a.get_ints("pads"), dilations = a.get_ints("dilations");
        if (std::any_of(pads.begin(), pads.end(), [](auto p) { return p != 0; })) return false;
        if (std::any_of(dilations.begin(), dilations.end(), [](auto d) { return d != 1; })) return false;
        const std::string pad_mode = a.get_string("auto_pad", "NOTSET");
        if (pad_mode != "NOTSET" && pad_mode != "VALID") return false;
        match::replace_node(r, v, "GlobalAveragePool", {n.input(0)}, {}, "AveragePool kernel covers the input");
        return true;
    }
};

struct reduce_mean_to_global_pool final : pattern {
    const char* name() const override { return "reduce_mean_to_global_pool"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& n = g[v];
        if (!match::is(n, "ReduceMean") || n.inputs.size() != 1 || n.outputs.size() != 1) return false;
        if (!n.attrs.has("axes")) return false;
        const auto rank = match::known_rank(g, n.input(0));
        if (!rank || *rank < 3) return false;
        auto axes = n.attrs.get_ints("axes");
        for (auto& x : axes) x = x < 0 ? x + static_cast<std::int64_t>(*rank) : x;
        std::sort(axes.begin(), axes.end());
        std::vector<std::int64_t> spatial;
        for (std::int64_t i = 2; i < static_cast<std::int64_t>(*rank); ++i) spatial.push_back(i);
        if (axes != spatial) return false;
        const std::string in = n.input(0), out = n.outputs[0], node_name = n.name;
        if (n.attrs.get_int("keepdims", 1) != 0) {
            match::replace_node(r, v, "GlobalAveragePool", {in}, {}, "ReduceMean over the spatial axes");
            return true;
        }
        match::erase_node(r, v, "ReduceMean over the spatial axes, keepdims = 0");
        const std::string pooled = r.unique_value_name(out + "_pooled");
        r.insert(graph::node{node_name, "GlobalAveragePool", "", {}, {in}, {pooled}},
                 "ReduceMean over the spatial axes");
        graph::node flatten{node_name + "_flatten", "Flatten", "", {}, {pooled}, {out}};
        flatten.attrs.set("axis", std::int64_t{1});
        r.insert(std::move(flatten), "drops the reduced axes (keepdims = 0)");
        return true;
    }
};

}  // namespace ktc::rewrite::passes
