// ktc/graph/constants.hpp - the value of a tensor known before running the graph.
#pragma once

#include <optional>

#include "ktc/graph/graph.hpp"

namespace ktc::graph {

// The tensor `value` always holds: an initializer, or the output of a Constant node with a
// `value` attribute. nullopt when it depends on inputs (or on a Constant form ktc does not fold).
inline std::optional<tensor> constant_value(const graph& g, const std::string& value) {
    if (const tensor* t = g.initializer(value)) return *t;
    if (auto p = g.producer(value)) {
        const node& n = g[*p];
        if (n.op_type == "Constant" && n.domain.empty() && n.attrs.has("value")) return n.attrs.get_tensor("value");
    }
    return std::nullopt;
}

}  // namespace ktc::graph
