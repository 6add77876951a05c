// ktc/rewrite/passes/gemm_input_flatten.hpp - a Gemm reads a Flatten: the form the NPU lowering
// expects for a fully connected layer.
//
// reshape_to_flatten      matches a Reshape read by a Gemm (as A) whose input has a known shape
//                         [N, d1, ..., dk] and whose output has the known shape [N, d1*...*dk].
//                         Produces: Flatten(axis = 1) of the same input, under the Reshape's name
//                         and output. Must not fire: unknown shapes; a Reshape that moves the
//                         batch boundary (output [N*2, P/2], or not 2-D); no Gemm reading it.
// flatten_gemm_input      matches a Gemm (transA = 0) whose A has known rank > 2 (a Gemm on a
//                         4-D [N,C,1,1] value, as some exporters write it). Produces: a
//                         Flatten(axis = 1) inserted before the Gemm, which reads it. Must not
//                         fire: A of rank 2 or of unknown rank; transA = 1.
#pragma once

#include <functional>
#include <numeric>

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct reshape_to_flatten final : pattern {
    const char* name() const override { return "reshape_to_flatten"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& n = g[v];
        if (!match::is(n, "Reshape") || n.outputs.size() != 1) return false;
        const auto readers = g.consumers(n.outputs[0]);
        if (std::none_of(readers.begin(), readers.end(),
                         [&](const auto& u) { return match::is(g[u.first], "Gemm") && u.second == 0; }))
            return false;
        const auto in = match::known_shape(g, n.input(0)), out = match::known_shape(g, n.outputs[0]);
        if (!in || !out || in->size() < 2 || out->size() != 2) return false;
        const std::int64_t rest = std::accumulate(in->begin() + 1, in->end(), std::int64_t{1}, std::multiplies<>());
        if ((*out)[0] != (*in)[0] || (*out)[1] != rest) return false;
        graph::attributes attrs;
        attrs.set("axis", std::int64_t{1});
        match::replace_node(r, v, "Flatten", {n.input(0)}, std::move(attrs), "Reshape to [N, rest] before a Gemm");
        return true;
    }
};

struct flatten_gemm_input final : pattern {
    const char* name() const override { return "flatten_gemm_input"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& n = g[v];
        if (!match::is(n, "Gemm") || n.attrs.get_int("transA", 0) != 0) return false;
        const auto rank = match::known_rank(g, n.input(0));
        if (!rank || *rank <= 2) return false;
        const std::string a = n.input(0);
        const std::string flat = r.unique_value_name(a + "_flat");
        graph::node f{n.name + "_flatten", "Flatten", "", {}, {a}, {flat}};
        f.attrs.set("axis", std::int64_t{1});
        r.insert(std::move(f), "Gemm '" + n.name + "' reads a rank-" + std::to_string(*rank) + " value");
        r.set_input(v, 0, flat);
        return true;
    }
};

}  // namespace ktc::rewrite::passes
