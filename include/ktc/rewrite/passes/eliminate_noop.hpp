// ktc/rewrite/passes/eliminate_noop.hpp - drop nodes that copy their input unchanged.
//
// eliminate_noop_pad      matches Pad whose pads are a constant of all zeros.
// eliminate_trivial_pool  matches MaxPool/AveragePool with a 1x1 kernel, stride 1, no padding
//                         and no Indices output.
// Produces: readers read the input; the node is erased (see forward_input.hpp).
// Must not fire: when the node's output is a graph output, or the pads are not constant.
#pragma once

#include <algorithm>

#include "ktc/graph/constants.hpp"
#include "ktc/rewrite/passes/forward_input.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

struct eliminate_noop_pad final : pattern {
    const char* name() const override { return "eliminate_noop_pad"; }
    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::node& n = r[v];
        if (n.op_type != "Pad" || !n.domain.empty() || !n.has_input(1)) return false;
        const auto pads = graph::constant_value(r.graph(), n.input(1));
        if (!pads) return false;
        const auto values = pads->to_vector<std::int64_t>();
        if (std::any_of(values.begin(), values.end(), [](auto p) { return p != 0; })) return false;
        return forward_input(v, r, "Pad with all-zero pads");
    }
};

struct eliminate_trivial_pool final : pattern {
    const char* name() const override { return "eliminate_trivial_pool"; }
    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::node& n = r[v];
        if ((n.op_type != "MaxPool" && n.op_type != "AveragePool") || !n.domain.empty()) return false;
        if (n.outputs.size() > 1 && !n.outputs[1].empty()) return false;  // Indices wanted
        const auto all = [](const std::vector<std::int64_t>& v, std::int64_t x) {
            return std::all_of(v.begin(), v.end(), [x](auto e) { return e == x; });
        };
        const auto& a = n.attrs;
        if (!all(a.get_ints("kernel_shape", {0}), 1) || !all(a.get_ints("strides"), 1) || !all(a.get_ints("pads"), 0) ||
            !all(a.get_ints("dilations"), 1))
            return false;
        return forward_input(v, r, n.op_type + " with a 1x1 kernel, stride 1 and no padding");
    }
};

}  // namespace ktc::rewrite::passes
