// ktc/onnx/normalize.ipp - the definitions behind normalize.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/onnx/normalize.hpp"

namespace ktc::onnx {
namespace detail {

KTC_DECL std::string unique_value_name(const graph::graph& g, const std::string& base) {
    auto taken = [&](const std::string& n) { return g.initializers.count(n) || g.producer(n) || g.is_graph_input(n); };
    std::string name = base;
    for (int i = 1; taken(name); ++i) name = base + "_" + std::to_string(i);
    return name;
}

KTC_DECL std::string add_constant(graph::graph& g, const std::string& base, tensor t) {
    const std::string name = unique_value_name(g, base);
    g.initializers.emplace(name, std::move(t));
    return name;
}

KTC_DECL tensor int64_vector(const std::vector<std::int64_t>& v) {
    return tensor::from<std::int64_t>({static_cast<std::int64_t>(v.size())}, v);
}

KTC_DECL void ints_attribute_to_input(graph::graph& g, graph::vertex v, const std::string& attr, std::size_t slot) {
    graph::node& n = g[v];
    if (!n.attrs.has(attr)) return;
    const auto values = n.attrs.get_ints(attr);
    n.attrs.erase(attr);
    g.set_input(v, slot, add_constant(g, n.name + "_" + attr, int64_vector(values)));
}

KTC_DECL void normalize_coerced_softmax(graph::graph& g, graph::vertex v) {
    graph::node& n = g[v];
    const std::int64_t axis = n.attrs.get_int("axis", 1);
    n.attrs.set("axis", std::int64_t{-1});
    const std::string x = n.input(0);
    const graph::value_info* info = g.info(x);
    if (info && info->rank_known && !info->shape.empty()) {
        const auto rank = static_cast<std::int64_t>(info->shape.size());
        if (normalize_axis(axis, rank) == rank - 1) return;  // same meaning in both forms
    }
    const std::string name = n.name, y = n.outputs.at(0);
    const std::string shape = unique_value_name(g, name + "_in_shape");
    const std::string flat = unique_value_name(g, name + "_flat");
    const std::string flat_out = unique_value_name(g, name + "_flat_out");
    graph::node shape_node{name + "_shape", "Shape", "", {}, {x}, {shape}};
    graph::node flatten{name + "_flatten", "Flatten", "", {}, {x}, {flat}};
    flatten.attrs.set("axis", axis);
    g.set_output(v, 0, flat_out);
    g.set_input(v, 0, flat);
    graph::node reshape{name + "_reshape", "Reshape", "", {}, {flat_out, shape}, {y}};
    g.add_node(std::move(shape_node));
    g.add_node(std::move(flatten));
    g.add_node(std::move(reshape));
}

}  // namespace detail
KTC_DECL void normalize_to_opset17(graph::graph& g) {
    using detail::add_constant;
    const int opset = static_cast<int>(g.opset);
    for (const graph::vertex v : g.nodes()) {
        graph::node& n = g[v];
        if (!n.domain.empty()) continue;
        const auto* schema = ::onnx::OpSchemaRegistry::Schema(n.op_type, opset, "");
        if (!schema) continue;
        const int since = schema->SinceVersion();
        const std::string& op = n.op_type;

        if (op == "Clip" && since < 11) {
            const bool has_min = n.attrs.has("min"), has_max = n.attrs.has("max");
            const float lo = n.attrs.get_float("min", 0.f), hi = n.attrs.get_float("max", 0.f);
            n.attrs.erase("min");
            n.attrs.erase("max");
            if (has_min) g.set_input(v, 1, add_constant(g, n.name + "_min", tensor::scalar(lo)));
            if (has_max) g.set_input(v, 2, add_constant(g, g[v].name + "_max", tensor::scalar(hi)));
        } else if (op == "Slice" && since < 10) {
            detail::ints_attribute_to_input(g, v, "starts", 1);
            detail::ints_attribute_to_input(g, v, "ends", 2);
            detail::ints_attribute_to_input(g, v, "axes", 3);
        } else if (op == "Pad" && since < 11) {
            const float value = n.attrs.get_float("value", 0.f);
            n.attrs.erase("value");
            detail::ints_attribute_to_input(g, v, "pads", 1);
            g.set_input(v, 2, add_constant(g, g[v].name + "_value", tensor::scalar(value)));
        } else if ((op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") && since < 13) {
            detail::ints_attribute_to_input(g, v, "axes", 1);
        } else if (op == "Split" && since < 13) {
            detail::ints_attribute_to_input(g, v, "split", 1);
        } else if ((op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") && since < 13) {
            detail::normalize_coerced_softmax(g, v);
        } else if (op == "Upsample" || (op == "Resize" && since < 11)) {
            std::string mode = n.attrs.get_string("mode", "nearest");
            if (mode == "bilinear") mode = "linear";
            std::string scales;
            if (n.attrs.has("scales")) {  // Upsample-7
                const auto values = n.attrs.get_floats("scales");
                n.attrs.erase("scales");
                scales = add_constant(g, n.name + "_scales",
                                      tensor::from<float>({static_cast<std::int64_t>(values.size())}, values));
            } else {
                scales = n.input(1);
            }
            graph::node& r = g[v];
            r.op_type = "Resize";
            r.attrs.set("mode", mode);
            r.attrs.set("coordinate_transformation_mode", std::string("asymmetric"));
            r.attrs.set("nearest_mode", std::string("floor"));
            g.set_input(v, 1, "");
            g.set_input(v, 2, scales);
        } else if (op == "BatchNormalization" && since < 9) {
            if (n.attrs.get_int("spatial", 1) != 1)
                throw unsupported_error("node '" + n.name + "' (BatchNormalization): spatial=0 is not supported");
            n.attrs.erase("spatial");
        } else if (op == "Dropout" && since < 12) {
            n.attrs.erase("ratio");
            n.attrs.erase("is_test");
        }
    }
    g.opset = 17;
}

}  // namespace ktc::onnx
