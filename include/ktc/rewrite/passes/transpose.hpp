// ktc/rewrite/passes/transpose.hpp - move Transposes down through element-wise ops until they
// meet and cancel, and drop the ones that do nothing.
//
// eliminate_identity_transpose  matches Transpose with perm = 0..n-1. Produces: readers read the
//                               input; erased. Must not fire: no perm attribute (the default
//                               reverses the axes); the output is a graph output.
// merge_transposes              matches Transpose(p2) of the output of Transpose(p1). Produces:
//                               when the composition q[i] = p1[p2[i]] is the identity, readers of
//                               the second output read the first's input (an inverse pair
//                               cancels); otherwise (or when the second output is a graph
//                               output, which keeps its node) the second reads the first's input
//                               with perm q. The first goes when nothing else reads it. Must not
//                               fire: a perm missing; a merge (not a cancellation) while the
//                               first output has other readers (that would duplicate work).
// push_transpose_through_elementwise
//                               matches a unary element-wise op (Relu, Sigmoid, Clip, ...) whose
//                               data input is a Transpose output read by nothing else, or a
//                               binary one (Add, Sub, Mul, Div, Max, Min, Pow) whose inputs are
//                               both such Transposes with the same perm, or one such Transpose
//                               and a float32 constant. Produces: the op on the untransposed
//                               value(s) (the constant padded to the rank and transposed by the
//                               inverse perm), followed by the Transpose, which now makes the
//                               op's output. Must not fire: a Transpose output with other readers
//                               or that is a graph output; different perms; a non-float constant
//                               or one of higher rank; the op's extra inputs (Clip min/max) not
//                               constant.
#pragma once

#include <algorithm>
#include <array>

#include "ktc/rewrite/passes/forward_input.hpp"
#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

namespace transpose_detail {

inline std::optional<std::vector<std::int64_t>> perm_of(const graph::node& n) {
    if (!match::is(n, "Transpose") || !n.attrs.has("perm") || n.outputs.size() != 1) return std::nullopt;
    auto p = n.attrs.get_ints("perm");
    if (!match::is_permutation(p)) return std::nullopt;
    return p;
}

inline bool is_identity(const std::vector<std::int64_t>& p) {
    for (std::size_t i = 0; i < p.size(); ++i)
        if (p[i] != static_cast<std::int64_t>(i)) return false;
    return true;
}

inline bool is_unary_elementwise(const std::string& op) {
    static const std::array<const char*, 22> ops = {
        "Relu", "LeakyRelu",  "Sigmoid",  "HardSigmoid", "HardSwish", "Tanh", "Clip", "Elu",
        "Selu", "Celu",       "Softplus", "Softsign",    "Abs",       "Neg",  "Exp",  "Log",
        "Sqrt", "Reciprocal", "Floor",    "Ceil",        "Erf",       "Sign"};
    return std::any_of(ops.begin(), ops.end(), [&](const char* o) { return op == o; });
}

inline bool is_binary_elementwise(const std::string& op) {
    static const std::array<const char*, 7> ops = {"Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"};
    return std::any_of(ops.begin(), ops.end(), [&](const char* o) { return op == o; });
}

// The Transpose making `value`, when `value` is read by nothing else.
inline std::optional<std::pair<graph::vertex, std::vector<std::int64_t>>> sole_transpose(const graph::graph& g,
                                                                                         const std::string& value) {
    const auto p = g.producer(value);
    if (!p || !match::only_reader(g, value)) return std::nullopt;
    auto perm = perm_of(g[*p]);
    if (!perm) return std::nullopt;
    return std::make_pair(*p, std::move(*perm));
}

}  // namespace transpose_detail

struct eliminate_identity_transpose final : pattern {
    const char* name() const override { return "eliminate_identity_transpose"; }
    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const auto perm = transpose_detail::perm_of(r[v]);
        if (!perm || !transpose_detail::is_identity(*perm)) return false;
        return forward_input(v, r, "Transpose with the identity perm");
    }
};

struct merge_transposes final : pattern {
    const char* name() const override { return "merge_transposes"; }
    bool match_and_rewrite(graph::vertex v2, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const auto p2 = transpose_detail::perm_of(g[v2]);
        if (!p2) return false;
        const std::string mid = g[v2].input(0);
        const auto v1 = g.producer(mid);
        if (!v1) return false;
        const auto p1 = transpose_detail::perm_of(g[*v1]);
        if (!p1 || p1->size() != p2->size()) return false;
        std::vector<std::int64_t> q(p2->size());
        for (std::size_t i = 0; i < q.size(); ++i) q[i] = (*p1)[(*p2)[i]];
        const std::string x = g[*v1].input(0);
        const graph::vertex first = *v1;
        const std::string out = g[v2].outputs[0];
        if (transpose_detail::is_identity(q) && !g.is_graph_output(out)) {
            r.replace_all_uses(out, x);
            match::erase_node(r, v2, "cancels Transpose '" + g[first].name + "'");
        } else {
            if (!match::only_reader(g, mid)) return false;
            r.set_input(v2, 0, x);
            r.set_attribute(v2, "perm", q);
        }
        if (g.consumers(mid).empty() && !g.is_graph_output(mid))
            match::erase_node(r, first, "merged with the Transpose after it");
        return true;
    }
};

struct push_transpose_through_elementwise final : pattern {
    const char* name() const override { return "push_transpose_through_elementwise"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& n = g[v];
        if (!n.domain.empty() || n.outputs.size() != 1 || n.inputs.empty()) return false;
        if (transpose_detail::is_unary_elementwise(n.op_type)) {
            for (std::size_t i = 1; i < n.inputs.size(); ++i)
                if (n.has_input(i) && !graph::constant_value(g, n.input(i))) return false;
            const auto t = transpose_detail::sole_transpose(g, n.input(0));
            if (!t) return false;
            move_below(r, v, t->first, {0});
            return true;
        }
        if (!transpose_detail::is_binary_elementwise(n.op_type) || n.inputs.size() != 2) return false;
        const auto a = transpose_detail::sole_transpose(g, n.input(0));
        const auto b = transpose_detail::sole_transpose(g, n.input(1));
        if (a && b) {
            if (a->second != b->second || a->first == b->first) return false;
            const std::string xb = g[b->first].input(0);
            const graph::vertex tb = b->first;
            r.set_input(v, 1, xb);
            match::erase_node(r, tb, "pushed below '" + n.name + "' with its twin");
            move_below(r, v, a->first, {0});
            return true;
        }
        if (a || b) {
            const std::size_t slot = a ? 0 : 1;
            const auto& t = a ? *a : *b;
            const auto c = match::float_constant(g, n.input(1 - slot));
            const std::size_t rank = t.second.size();
            if (!c || c->shape().size() > rank) return false;
            // Pad to the rank, then undo the perm: inverse[perm[i]] = i.
            shape_t padded(rank - c->shape().size(), 1);
            padded.insert(padded.end(), c->shape().begin(), c->shape().end());
            std::vector<std::int64_t> inverse(rank);
            for (std::size_t i = 0; i < rank; ++i) inverse[t.second[i]] = static_cast<std::int64_t>(i);
            tensor moved = match::transposed(tensor(*c).reshaped(padded), inverse);
            r.set_input(v, 1 - slot, r.add_initializer(n.input(1 - slot) + "_T", std::move(moved)));
            move_below(r, v, t.first, {slot});
            return true;
        }
        return false;
    }

private:
    // `op` reads the Transpose's input at `slots` instead; the Transpose reads `op`'s result and
    // makes `op`'s old output.
    static void move_below(rewriter& r, graph::vertex op, graph::vertex t, std::vector<std::size_t> slots) {
        const std::string x = r[t].input(0), out = r[op].outputs[0];
        for (const auto s : slots) r.set_input(op, s, x);
        const std::string moved = r.unique_value_name(out + "_untransposed");
        r.set_output(op, 0, moved);
        r.set_input(t, 0, moved);
        r.set_output(t, 0, out);
        r.note(r[t].name, "pushed below '" + r[op].name + "'");
    }
};

}  // namespace ktc::rewrite::passes
