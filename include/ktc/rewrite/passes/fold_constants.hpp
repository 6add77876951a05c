// ktc/rewrite/passes/fold_constants.hpp - compute, once and for all, what does not depend on the
// graph inputs.
//
// Matches: a default-domain node that has a float kernel (kernels::floating::kernels()) and whose
// inputs are all constants (graph::constant_value: initializers or Constant nodes); also a Shape
// (or Size) of a value whose static shape is fully known from the graph inputs or the inferred
// value_infos, even though the value itself is not constant. The second form is what turns
// PyTorch's Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains into a Reshape with a
// constant shape.
// Produces: the kernel runs once; each output becomes an initializer under the output's own name
// (so value_infos and readers stay valid); the node is erased, and so is any Constant node that
// fed it and has no reader left.
// Must not fire: on a node producing a graph output (the output keeps its producer and name); on
// a random op (RandomNormal, RandomUniform, their *Like forms, Multinomial, Bernoulli: a fresh
// draw each run, never a constant); on Constant itself (already constant); when an output would
// hold more than `max_folded_elements` (2^24) elements: the folded value is stored in the model,
// and an Expand, Tile or ConstantOfShape of a small constant must not blow the file up (the size
// is predicted before running where the op allows it, and checked after); when the kernel
// rejects its inputs (the node stays for the runtime to report).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>

#include "ktc/graph/constants.hpp"
#include "ktc/kernels/float/registry.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

namespace fold_detail {

inline bool is_random_op(const std::string& op) {
    static const std::array<const char*, 6> random = {"RandomNormal",      "RandomUniform", "RandomNormalLike",
                                                      "RandomUniformLike", "Multinomial",   "Bernoulli"};
    return std::any_of(random.begin(), random.end(), [&](const char* r) { return op == r; });
}

// The element count of a shape, as a double so that absurd shapes cannot overflow; -1 when a
// dimension is unknown or negative.
inline double elements(const shape_t& s) {
    double n = 1;
    for (const auto d : s) {
        if (d < 0) return -1;
        n *= static_cast<double>(d);
    }
    return n;
}

// The static shape of `value` when the graph knows every dimension.
inline std::optional<shape_t> static_shape(const graph::graph& g, const std::string& value) {
    const graph::value_info* info = g.info(value);
    if (!info || !info->rank_known) return std::nullopt;
    if (std::any_of(info->shape.begin(), info->shape.end(), [](auto d) { return d < 0; })) return std::nullopt;
    return info->shape;
}

// The largest output the node will make, in elements, when it can be told before running it: from
// the outputs' inferred shapes, or from the constant inputs of the ops that make big tensors out of
// small ones. nullopt when it cannot be told (the result is checked after running).
inline std::optional<double> predicted_elements(const graph::graph& g, const graph::node& n,
                                                const std::vector<std::optional<tensor>>& in) {
    double most = 0;
    bool all_known = !n.outputs.empty();
    for (const auto& out : n.outputs) {
        if (out.empty()) continue;
        const auto s = static_shape(g, out);
        if (!s) {
            all_known = false;
            break;
        }
        most = std::max(most, elements(*s));
    }
    if (all_known) return most;
    auto values = [&](std::size_t i) {
        return i < in.size() && in[i] ? in[i]->to_vector<double>() : std::vector<double>{};
    };
    if (n.op_type == "ConstantOfShape" && !in.empty() && in[0]) {
        double e = 1;
        for (const double d : values(0)) e *= std::max(d, 0.0);
        return e;
    }
    if (n.op_type == "Tile" && in.size() > 1 && in[0] && in[1]) {
        double e = static_cast<double>(in[0]->size());
        for (const double r : values(1)) e *= std::max(r, 0.0);
        return e;
    }
    if (n.op_type == "Expand" && in.size() > 1 && in[0] && in[1]) {
        // Broadcast of the input's shape with the requested one, aligned on the right.
        const auto target = values(1);
        const shape_t& s = in[0]->shape();
        const std::size_t rank = std::max(target.size(), s.size());
        double e = 1;
        for (std::size_t i = 0; i < rank; ++i) {
            const double a = i < s.size() ? static_cast<double>(s[s.size() - 1 - i]) : 1;
            const double b = i < target.size() ? target[target.size() - 1 - i] : 1;
            e *= std::max({a, b, 0.0});
        }
        return e;
    }
    if (n.op_type == "Range" && in.size() > 2 && in[0] && in[1] && in[2]) {
        const double start = values(0).at(0), limit = values(1).at(0), delta = values(2).at(0);
        if (delta == 0 || !std::isfinite(start) || !std::isfinite(limit)) return std::nullopt;
        return std::max(0.0, std::ceil((limit - start) / delta));
    }
    return std::nullopt;
}

// Shape (with opset 15's start/end) or Size of a value of static shape `s`.
inline tensor shape_of(const graph::node& n, const shape_t& s) {
    if (n.op_type == "Size") return tensor::scalar<std::int64_t>(static_cast<std::int64_t>(elements(s)));
    const auto r = static_cast<std::int64_t>(s.size());
    auto clamp = [&](std::int64_t v) { return std::clamp<std::int64_t>(v < 0 ? v + r : v, 0, r); };
    const std::int64_t start = clamp(n.attrs.get_int("start", 0));
    const std::int64_t end = n.attrs.has("end") ? clamp(n.attrs.get_int("end")) : r;
    const std::int64_t count = std::max<std::int64_t>(0, end - start);
    return tensor::from<std::int64_t>({count}, std::span<const std::int64_t>(s.data() + start, count));
}

}  // namespace fold_detail

struct fold_constants final : pattern {
    // The most elements one folded output may hold (2^24: 64 MiB of float32).
    static constexpr double max_folded_elements = double(1 << 24);

    const char* name() const override { return "fold_constants"; }

    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& n = g[v];
        if (!n.domain.empty() || n.op_type == "Constant" || fold_detail::is_random_op(n.op_type)) return false;
        if (n.inputs.empty() || n.outputs.empty()) return false;
        bool any_output = false;
        for (const auto& out : n.outputs) {
            if (out.empty()) continue;
            if (g.is_graph_output(out)) return false;
            any_output = true;
        }
        if (!any_output) return false;

        std::vector<tensor> results;
        std::string why;
        if (auto shape = shape_only(g, n)) {
            results.push_back(std::move(*shape));
            why = n.op_type + " of a value of static shape";
        } else {
            const auto& table = kernels::floating::kernels();
            const auto kernel = table.find(n.op_type);
            if (kernel == table.end()) return false;
            std::vector<std::optional<tensor>> values(n.inputs.size());
            for (std::size_t i = 0; i < n.inputs.size(); ++i) {
                if (n.inputs[i].empty()) continue;
                values[i] = graph::constant_value(g, n.inputs[i]);
                if (!values[i]) return false;
            }
            const auto predicted = fold_detail::predicted_elements(g, n, values);
            if (predicted && *predicted > max_folded_elements) return false;
            std::vector<const tensor*> args(values.size(), nullptr);
            for (std::size_t i = 0; i < values.size(); ++i)
                if (values[i]) args[i] = &*values[i];
            results.assign(n.outputs.size(), tensor{});
            try {
                kernel->second(kernels::kernel_call{n, args, results});
            } catch (const std::exception&) {
                return false;  // left for the runtime, which reports it against the node
            }
            for (std::size_t o = 0; o < n.outputs.size(); ++o)
                if (!n.outputs[o].empty() && static_cast<double>(results[o].size()) > max_folded_elements) return false;
            why = "all inputs constant";
        }

        // Each output becomes an initializer under its own name; then the node and any Constant
        // node left without readers go.
        const std::vector<std::string> inputs = n.inputs, outputs = n.outputs;
        const std::string node_name = n.name;
        for (std::size_t o = 0; o < outputs.size(); ++o) {
            if (outputs[o].empty()) continue;
            r.set_output(v, o, "");
            const std::string name = r.add_initializer(outputs[o], std::move(results[o]));
            r.replace_all_uses(outputs[o], name);
        }
        for (std::size_t i = 0; i < inputs.size(); ++i) r.set_input(v, i, "");
        r.erase(v, "folded (" + why + ")");
        for (const auto& in : inputs) {
            if (in.empty()) continue;
            const auto p = g.producer(in);
            if (!p || g[*p].op_type != "Constant" || !g[*p].domain.empty()) continue;
            const auto& outs = g[*p].outputs;
            if (std::any_of(outs.begin(), outs.end(), [&](const std::string& o) {
                    return !o.empty() && (!g.consumers(o).empty() || g.is_graph_output(o));
                }))
                continue;
            r.erase(*p, "Constant without readers after folding '" + node_name + "'");
        }
        return true;
    }

private:
    // The value of a Shape/Size whose input is not constant but has a fully known static shape.
    static std::optional<tensor> shape_only(const graph::graph& g, const graph::node& n) {
        if ((n.op_type != "Shape" && n.op_type != "Size") || !n.has_input(0) || n.outputs.size() != 1)
            return std::nullopt;
        if (graph::constant_value(g, n.input(0))) return std::nullopt;  // the general path folds it
        const auto s = fold_detail::static_shape(g, n.input(0));
        if (!s) return std::nullopt;
        return fold_detail::shape_of(n, *s);
    }
};

}  // namespace ktc::rewrite::passes
