// ktc/onnx/opset11.hpp - write a canonical (opset-17) graph as an opset-11 model, IR version 6:
// the form the vendor's toolchain (ONNX_Convertor, onnx1_4to1_6) produces and consumes.
//
// lower_to_opset11 is the inverse of normalize.hpp where opsets 11 and 17 differ:
//   Squeeze, Unsqueeze, Split, ReduceSum  axes/split inputs -> attributes (constants only);
//                                         ReduceSum with noop_with_empty_axes=1 and no axes
//                                         -> Identity
//   Dropout                               ratio input -> attribute; training_mode must be a
//                                         constant false; seed dropped
//   Resize                                absent roi / scales -> empty float constants (opset 11
//                                         requires both inputs; scales is empty when sizes is
//                                         given)
//   Softmax, LogSoftmax, Hardmax          opset 11 flattens to 2-D at `axis`, which equals the
//                                         opset-13 per-axis meaning only on the last axis: the
//                                         axis is written explicitly, and another axis is
//                                         swapped to the end by a Transpose before the op and
//                                         back after it (the rank must be known)
//   Constant                              value_float(s) / value_int(s) -> value
//   Shape                                 start/end (opset 15) -> Shape + Slice
//   Reshape                               allowzero=1 kept only when the shape has no 0
//   QuantizeLinear, DequantizeLinear      per-axis (non-scalar) scales are refused
//   Scatter (deprecated in 11)            -> ScatterElements (the same op, renamed)
//   RoiAlign                              only coordinate_transformation_mode=output_half_pixel
//                                         (the opset-10 behaviour) is accepted
// Then every default-domain node is checked against its opset-11 schema
// (OpSchemaRegistry::Schema(op, 11)): an op with no opset-11 schema, or deprecated there, is
// refused; an attribute the opset-11 schema does not know is dropped when it holds its opset-17
// default (BatchNormalization training_mode=0, ArgMax select_last_index=0, ...) and refused
// otherwise; extra inputs or outputs are refused. Every refused node is listed in one
// unsupported_error (exit 3).
//
// to_opset11_model exports the lowered graph, sets IR 6 and checks the result with the onnx
// checker and strict onnx shape inference (type checks on, node errors fatal).
#pragma once

#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "ktc/graph/constants.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/onnx/normalize.hpp"

namespace ktc::onnx {

inline constexpr std::int64_t opset11 = 11;
inline constexpr std::int64_t opset11_ir_version = 6;

namespace detail {

inline std::string unique_node_name(const graph::graph& g, const std::string& base) {
    std::string name = base;
    for (int i = 1; g.find_node(name); ++i) name = base + "_" + std::to_string(i);
    return name;
}

// The integer values a value always holds (an int64/int32 initializer or Constant), else nullopt.
inline std::optional<std::vector<std::int64_t>> constant_ints(const graph::graph& g, const std::string& value) {
    const auto t = graph::constant_value(g, value);
    if (!t || (t->type() != dtype::int64 && t->type() != dtype::int32)) return std::nullopt;
    return t->cast(dtype::int64).to_vector<std::int64_t>();
}

// Empties input `slot` of `v` and drops trailing empty inputs.
inline void drop_input(graph::graph& g, graph::vertex v, std::size_t slot) {
    if (slot >= g[v].inputs.size()) return;
    g.set_input(v, slot, "");
    auto& ins = g[v].inputs;
    while (!ins.empty() && ins.back().empty()) ins.pop_back();
}

// Collects every node the lowering refuses, to report them all at once.
struct refusals {
    std::vector<std::string> list;
    void add(const graph::node& n, const std::string& why) {
        list.push_back("node '" + n.name + "' (" + n.op_type + "): " + why);
    }
};

// Moves constant input `slot` into ints attribute `attr`; false when the input is not constant.
inline bool input_to_ints_attribute(graph::graph& g, graph::vertex v, std::size_t slot, const std::string& attr) {
    if (!g[v].has_input(slot)) return true;
    const auto values = constant_ints(g, g[v].input(slot));
    if (!values) return false;
    g[v].attrs.set(attr, *values);
    drop_input(g, v, slot);
    return true;
}

// Equality of a node attribute and a schema default (the types a schema default can have).
inline bool equals_default(const graph::attribute& a, const ::onnx::AttributeProto& d) {
    using AP = ::onnx::AttributeProto;
    switch (d.type()) {
        case AP::INT: return std::holds_alternative<std::int64_t>(a) && std::get<std::int64_t>(a) == d.i();
        case AP::FLOAT: return std::holds_alternative<float>(a) && std::get<float>(a) == d.f();
        case AP::STRING: return std::holds_alternative<std::string>(a) && std::get<std::string>(a) == d.s();
        case AP::INTS:
            return std::holds_alternative<std::vector<std::int64_t>>(a) &&
                   std::get<std::vector<std::int64_t>>(a) ==
                       std::vector<std::int64_t>(d.ints().begin(), d.ints().end());
        case AP::FLOATS:
            return std::holds_alternative<std::vector<float>>(a) &&
                   std::get<std::vector<float>>(a) == std::vector<float>(d.floats().begin(), d.floats().end());
        default: return false;
    }
}

// Softmax-like ops: opset 11 coerces to 2-D at `axis`, which is per-axis only on the last axis.
inline void lower_softmax(graph::graph& g, graph::vertex v, refusals& refused) {
    graph::node& n = g[v];
    const std::int64_t axis = n.attrs.get_int("axis", -1);
    const graph::value_info* info = g.info(n.input(0));
    const bool rank_known = info && info->rank_known;
    if (!rank_known) {
        if (axis == -1) {
            n.attrs.set("axis", std::int64_t{-1});  // the last axis whatever the rank
            return;
        }
        refused.add(n, "axis " + std::to_string(axis) + " on an input of unknown rank has no opset-11 form");
        return;
    }
    const auto rank = static_cast<std::int64_t>(info->shape.size());
    if (rank == 0) {
        refused.add(n, "a scalar input has no opset-11 form");
        return;
    }
    const std::int64_t a = normalize_axis(axis, rank);
    n.attrs.set("axis", rank - 1);
    if (a == rank - 1) return;
    // Swap `a` with the last axis, apply on the last axis, swap back (a swap is its own inverse).
    std::vector<std::int64_t> perm(static_cast<std::size_t>(rank));
    for (std::int64_t i = 0; i < rank; ++i) perm[static_cast<std::size_t>(i)] = i;
    std::swap(perm[static_cast<std::size_t>(a)], perm.back());
    const std::string name = n.name, x = n.input(0), y = n.outputs.at(0);
    const std::string to_last = unique_value_name(g, name + "_axis_last");
    const std::string last_out = unique_value_name(g, name + "_axis_last_out");
    graph::node before{unique_node_name(g, name + "_transpose_in"), "Transpose", "", {}, {x}, {to_last}};
    before.attrs.set("perm", perm);
    g.set_input(v, 0, to_last);
    g.set_output(v, 0, last_out);
    g.add_node(std::move(before));
    graph::node after{unique_node_name(g, name + "_transpose_out"), "Transpose", "", {}, {last_out}, {y}};
    after.attrs.set("perm", perm);
    g.add_node(std::move(after));
    // What is known of the swapped values, so that later steps may read it.
    graph::value_info swapped = *info;
    swapped.name = to_last;
    std::swap(swapped.shape[static_cast<std::size_t>(a)], swapped.shape.back());
    g.value_infos[to_last] = swapped;
    swapped.name = last_out;
    g.value_infos[last_out] = swapped;
}

// The op-specific rewrites; a node that cannot be lowered is added to `refused`.
inline void lower_node(graph::graph& g, graph::vertex v, refusals& refused) {
    graph::node& n = g[v];
    const std::string op = n.op_type;
    if (op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum") {
        if (op == "ReduceSum" && n.attrs.get_int("noop_with_empty_axes", 0) == 1) {
            const auto axes = n.has_input(1) ? constant_ints(g, n.input(1)) : std::vector<std::int64_t>{};
            if (axes && axes->empty()) {  // reduces nothing: the identity
                n.op_type = "Identity";
                n.attrs = {};
                drop_input(g, v, 1);
                return;
            }
            n.attrs.erase("noop_with_empty_axes");
        }
        if (!input_to_ints_attribute(g, v, 1, "axes"))
            refused.add(g[v], "axes input '" + g[v].input(1) + "' is not a constant");
    } else if (op == "Split") {
        if (!input_to_ints_attribute(g, v, 1, "split"))
            refused.add(n, "split input '" + n.input(1) + "' is not a constant");
    } else if (op == "Dropout") {
        if (n.has_input(2)) {
            const auto t = graph::constant_value(g, n.input(2));
            if (!t || t->size() != 1 || t->cast(dtype::float32).values<float>()[0] != 0.f) {
                refused.add(n, "training_mode is not a constant false");
                return;
            }
            drop_input(g, v, 2);
        }
        if (g[v].has_input(1)) {
            if (const auto t = graph::constant_value(g, g[v].input(1)); t && t->size() == 1)
                g[v].attrs.set("ratio", t->cast(dtype::float32).values<float>()[0]);
            drop_input(g, v, 1);  // inference ignores the ratio
        }
        g[v].attrs.erase("seed");
    } else if (op == "Resize") {
        auto empty_float = [&](const std::string& what) {
            return add_constant(g, n.name + "_" + what, tensor::zeros(dtype::float32, {0}));
        };
        if (!n.has_input(1)) g.set_input(v, 1, empty_float("roi"));
        if (!g[v].has_input(2)) g.set_input(v, 2, empty_float("scales"));
    } else if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
        lower_softmax(g, v, refused);
    } else if (op == "Constant") {
        auto set_value = [&](const std::string& attr, tensor t) {
            n.attrs.erase(attr);
            n.attrs.set("value", std::move(t));
        };
        if (n.attrs.has("value_float")) set_value("value_float", tensor::scalar(n.attrs.get_float("value_float")));
        else if (n.attrs.has("value_int")) set_value("value_int", tensor::scalar(n.attrs.get_int("value_int")));
        else if (n.attrs.has("value_floats")) {
            const auto v_ = n.attrs.get_floats("value_floats");
            set_value("value_floats", tensor::from<float>({static_cast<std::int64_t>(v_.size())}, v_));
        } else if (n.attrs.has("value_ints")) {
            set_value("value_ints", int64_vector(n.attrs.get_ints("value_ints")));
        }
    } else if (op == "Shape" && (n.attrs.has("start") || n.attrs.has("end"))) {
        const std::int64_t start = n.attrs.get_int("start", 0);
        const std::int64_t end = n.attrs.get_int("end", std::numeric_limits<std::int64_t>::max());
        n.attrs.erase("start");
        n.attrs.erase("end");
        const std::string name = n.name, y = n.outputs.at(0);
        const std::string full = unique_value_name(g, name + "_full");
        g.set_output(v, 0, full);
        graph::node slice{
            unique_node_name(g, name + "_slice"),
            "Slice",
            "",
            {},
            {full, add_constant(g, name + "_start", int64_vector({start})),
             add_constant(g, name + "_end", int64_vector({end})), add_constant(g, name + "_axis", int64_vector({0}))},
            {y}};
        g.add_node(std::move(slice));
    } else if (op == "Reshape" && n.attrs.get_int("allowzero", 0) == 1) {
        const auto shape = constant_ints(g, n.input(1));
        if (!shape || std::find(shape->begin(), shape->end(), 0) != shape->end())
            refused.add(n, "allowzero=1 with a shape that may hold 0 has no opset-11 form");
        else n.attrs.erase("allowzero");
    } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
        const graph::value_info* scale = g.info(n.input(1));
        const auto t = graph::constant_value(g, n.input(1));
        const bool scalar = t ? t->size() == 1 : scale && scale->rank_known && element_count(scale->shape) == 1;
        if (!scalar) refused.add(n, "per-axis quantization has no opset-11 form");
        else n.attrs.erase("axis");
    } else if (op == "Scatter") {  // deprecated in opset 11 under its new name, same meaning
        n.op_type = "ScatterElements";
    } else if (op == "RoiAlign") {
        if (n.attrs.get_string("coordinate_transformation_mode", "half_pixel") != "output_half_pixel")
            refused.add(n, "coordinate_transformation_mode other than output_half_pixel has no opset-11 form");
        else n.attrs.erase("coordinate_transformation_mode");
    }
}

// The schema check every default-domain node passes after lower_node.
inline void check_against_opset11(graph::graph& g, graph::vertex v, refusals& refused) {
    graph::node& n = g[v];
    const auto* s11 = ::onnx::OpSchemaRegistry::Schema(n.op_type, static_cast<int>(opset11), "");
    const auto* s17 = ::onnx::OpSchemaRegistry::Schema(n.op_type, 17, "");
    if (!s11) {
        refused.add(n, s17 ? "the op exists only since opset " + std::to_string(s17->SinceVersion())
                           : "the op has no opset-11 schema");
        return;
    }
    if (s11->Deprecated()) {
        refused.add(n, "the op is deprecated in opset 11");
        return;
    }
    std::vector<std::string> unknown;
    for (const auto& [name, a] : n.attrs.all())
        if (!s11->attributes().count(name)) unknown.push_back(name);
    for (const auto& name : unknown) {
        const ::onnx::AttributeProto* fallback = nullptr;
        if (s17)
            if (auto it = s17->attributes().find(name);
                it != s17->attributes().end() && it->second.default_value.has_type())
                fallback = &it->second.default_value;
        if (fallback && equals_default(n.attrs.all().at(name), *fallback)) {
            n.attrs.erase(name);
        } else {
            refused.add(n, "attribute '" + name + "' has no opset-11 form");
        }
    }
    auto count = [](const std::vector<std::string>& names) {
        std::size_t c = names.size();
        while (c > 0 && names[c - 1].empty()) --c;
        return c;
    };
    if (count(n.inputs) > static_cast<std::size_t>(s11->max_input()))
        refused.add(
            n, std::to_string(count(n.inputs)) + " inputs, opset 11 takes at most " + std::to_string(s11->max_input()));
    if (count(n.outputs) > static_cast<std::size_t>(s11->max_output()))
        refused.add(n, std::to_string(count(n.outputs)) + " outputs, opset 11 gives at most " +
                           std::to_string(s11->max_output()));
}

}  // namespace detail

// Rewrites a canonical (opset-17) graph into opset-11 form and sets g.opset = 11. Throws
// unsupported_error listing every node that has no opset-11 form; `source` names the model.
inline void lower_to_opset11(graph::graph& g, const std::string& source = "model") {
    if (g.opset != 17)
        throw error(source + ": lowering to opset 11 expects the canonical opset-17 graph, not opset " +
                    std::to_string(g.opset));
    detail::refusals refused;
    for (const graph::vertex v : g.nodes())
        if (g[v].domain.empty()) detail::lower_node(g, v, refused);
    for (const graph::vertex v : g.nodes())
        if (g[v].domain.empty()) detail::check_against_opset11(g, v, refused);
    if (!refused.list.empty()) {
        std::string what = source + ": cannot write opset 11: ";
        for (std::size_t i = 0; i < refused.list.size(); ++i) what += (i ? "; " : "") + refused.list[i];
        throw unsupported_error(what);
    }
    g.opset = opset11;
}

// The checked opset-11, IR-6 model of a canonical graph (the graph itself is not changed). Its
// value_info is what strict onnx shape inference derived.
inline ::onnx::ModelProto to_opset11_model(graph::graph g, const std::string& source = "model") {
    lower_to_opset11(g, source);
    g.value_infos.clear();  // re-derived below, at opset 11
    ::onnx::ModelProto m = to_model(g);
    m.set_ir_version(opset11_ir_version);
    try {
        ::onnx::checker::check_model(m);
    } catch (const std::exception& e) {
        throw error(source + ": the opset-11 model fails the onnx checker: " + detail::first_line(e.what()));
    }
    try {
        ::onnx::shape_inference::InferShapes(m, ::onnx::OpSchemaRegistry::Instance(),
                                             ::onnx::ShapeInferenceOptions(true, 1, false));
    } catch (const std::exception& e) {
        throw error(source + ": the opset-11 model fails onnx shape inference: " + detail::first_line(e.what()));
    }
    return m;
}

// Writes the graph as a checked opset-11, IR-6 model, atomically.
inline void save_opset11(const graph::graph& g, const std::filesystem::path& path) {
    save_model(to_opset11_model(g, path.string()), path);
}

}  // namespace ktc::onnx
