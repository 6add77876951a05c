// ktc/rewrite/passes/constant_to_initializer.hpp - one form for constants: initializers.
//
// Matches: a default-domain Constant node whose value is a tensor (`value`) or a number or list
// of numbers (`value_float`, `value_floats`, `value_int`, `value_ints`).
// Produces: an initializer under the node's output name (readers and value_infos stay valid);
// the node is erased.
// Must not fire: when the output is a graph output (a model output stays made by a node); on a
// sparse or string Constant (`sparse_value`, `value_string(s)`), which stay nodes.
#pragma once

#include <optional>
#include <span>

#include "ktc/rewrite/passes/match_helpers.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct constant_to_initializer final : pattern {
    const char* name() const override { return "constant_to_initializer"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::node& n = r[v];
        if (!match::is(n, "Constant") || n.outputs.size() != 1 || n.outputs[0].empty()) return false;
        const std::string out = n.outputs[0];
        if (r.graph().is_graph_output(out)) return false;
        auto value = value_of(n);
        if (!value) return false;
        r.set_output(v, 0, "");
        r.erase(v, "Constant became initializer '" + out + "'");
        r.add_initializer(out, std::move(*value));
        return true;
    }

private:
    static std::optional<tensor> value_of(const graph::node& n) {
        const auto& a = n.attrs;
        if (a.has("value")) return a.get_tensor("value");
        if (a.has("value_float")) return tensor::scalar<float>(a.get_float("value_float"));
        if (a.has("value_int")) return tensor::scalar<std::int64_t>(a.get_int("value_int"));
        if (a.has("value_floats")) {
            const auto v = a.get_floats("value_floats");
            return tensor::from<float>({static_cast<std::int64_t>(v.size())}, std::span<const float>(v));
        }
        if (a.has("value_ints")) {
            const auto v = a.get_ints("value_ints");
            return tensor::from<std::int64_t>({static_cast<std::int64_t>(v.size())}, std::span<const std::int64_t>(v));
        }
        return std::nullopt;
    }
};

}  // namespace ktc::rewrite::passes
