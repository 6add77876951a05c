// ktc/onnx/import.ipp - the definitions behind import.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/onnx/import.hpp"

namespace ktc::onnx {
namespace detail {

KTC_DECL std::string first_line(const std::string& s) {
    const auto nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl);
}

KTC_DECL graph::value_info value_info_from_proto(const ::onnx::ValueInfoProto& v, const std::string& where) {
    graph::value_info info;
    info.name = v.name();
    if (!v.type().has_tensor_type()) {
        info.rank_known = false;
        return info;
    }
    const auto& tt = v.type().tensor_type();
    if (tt.elem_type() != ::onnx::TensorProto::UNDEFINED)
        info.type = dtype_from_onnx(tt.elem_type(), where + " '" + v.name() + "'");
    if (!tt.has_shape()) {
        info.rank_known = false;
        return info;
    }
    for (const auto& d : tt.shape().dim()) info.shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    return info;
}

KTC_DECL graph::attribute attribute_from_proto(const ::onnx::AttributeProto& a, const std::string& node_name) {
    using AP = ::onnx::AttributeProto;
    switch (a.type()) {
        case AP::INT: return static_cast<std::int64_t>(a.i());
        case AP::FLOAT: return a.f();
        case AP::STRING: return a.s();
        case AP::TENSOR: return from_proto(a.t(), "node '" + node_name + "' attribute '" + a.name() + "'");
        case AP::INTS: return std::vector<std::int64_t>(a.ints().begin(), a.ints().end());
        case AP::FLOATS: return std::vector<float>(a.floats().begin(), a.floats().end());
        case AP::STRINGS: return std::vector<std::string>(a.strings().begin(), a.strings().end());
        default:
            throw unsupported_error("node '" + node_name + "': attribute '" + a.name() + "' of type " +
                                    AP::AttributeType_Name(a.type()) + " is not supported");
    }
}

}  // namespace detail
KTC_DECL graph::graph from_model(const ::onnx::ModelProto& model, const std::string& source) {
    graph::graph g;
    const auto& gp = model.graph();
    for (const auto& [count, what] : {std::pair{gp.node_size(), "nodes"},
                                      {gp.initializer_size(), "initializers"},
                                      {gp.value_info_size(), "value_infos"},
                                      {gp.input_size() + gp.output_size(), "inputs and outputs"}})
        if (static_cast<std::size_t>(count) > graph::max_graph_nodes)
            throw file_error(source, "the graph has " + std::to_string(count) + " " + what + " (limit " +
                                         std::to_string(graph::max_graph_nodes) + ")");
    g.name = gp.name();
    for (const auto& op : model.opset_import())
        if (op.domain().empty() || op.domain() == "ai.onnx") g.opset = op.version();

    for (const auto& init : gp.initializer())
        g.initializers.emplace(init.name(), from_proto(init, "initializer '" + init.name() + "'"));
    for (const auto& in : gp.input())
        if (!g.initializers.count(in.name())) g.inputs.push_back(detail::value_info_from_proto(in, "input"));
    for (const auto& out : gp.output()) g.outputs.push_back(detail::value_info_from_proto(out, "output"));
    for (const auto& vi : gp.value_info()) {
        try {
            g.value_infos[vi.name()] = detail::value_info_from_proto(vi, "value");
        } catch (const unsupported_error&) {
            // An intermediate of an unsupported type fails later, at the node that produces it.
        }
    }

    std::map<std::string, int> op_counts;
    std::set<std::string> names;
    for (const auto& np : gp.node()) {
        graph::node n;
        n.op_type = np.op_type();
        n.domain = np.domain() == "ai.onnx" ? "" : np.domain();
        // Every node gets a unique name so that errors and reports can point at it.
        n.name = np.name();
        while (n.name.empty() || names.count(n.name))
            n.name = (np.name().empty() ? n.op_type : np.name()) + "_" + std::to_string(op_counts[n.op_type]++);
        names.insert(n.name);
        n.inputs.assign(np.input().begin(), np.input().end());
        n.outputs.assign(np.output().begin(), np.output().end());
        for (const auto& a : np.attribute()) {
            if (a.type() == ::onnx::AttributeProto::GRAPH || a.type() == ::onnx::AttributeProto::GRAPHS)
                throw unsupported_error(source + ": node '" + n.name + "' (" + n.op_type +
                                        ") has a subgraph; control flow is not supported");
            n.attrs.set(a.name(), detail::attribute_from_proto(a, n.name));
        }
        g.add_node(std::move(n));
    }
    normalize_to_opset17(g);
    return g;
}

KTC_DECL graph::graph parse(const std::string& bytes, const std::string& source) {
    ::onnx::ModelProto model;
    if (bytes.empty()) throw file_error(source, "empty file, not an ONNX model");
    if (!model.ParseFromString(bytes))
        throw file_error(source, "not an ONNX model (protobuf parse failed; truncated or not ONNX)");
    if (!model.has_graph()) throw file_error(source, "not an ONNX model (no graph)");
    std::int64_t opset = -1;
    for (const auto& op : model.opset_import())
        if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
    if (opset < 0) throw file_error(source, "model imports no default-domain opset");
    if (opset > max_opset)
        throw file_error(source, "opset " + std::to_string(opset) + " is newer than ktc supports (" +
                                     std::to_string(max_opset) + ")");
    if (opset < min_opset)
        throw file_error(source, "opset " + std::to_string(opset) + " is older than ktc supports (" +
                                     std::to_string(min_opset) + "); upgrade the model first");
    // The onnx library's checker and shape inference crash on some malformed models (they index
    // past the rank of a tensor, dereference a missing input): they run in a child process and
    // send back only the value_infos they derived (ktc/core/isolated.hpp). The schema registry
    // is built here first, once, rather than in every child.
    (void)::onnx::OpSchemaRegistry::Schema("Conv", max_opset, "");
    const isolated_result checked = run_isolated([&] {
        try {
            ::onnx::checker::check_model(model);
        } catch (const std::exception& e) {
            throw std::runtime_error("invalid ONNX model: " + detail::first_line(e.what()));
        }
        try {
            ::onnx::shape_inference::InferShapes(model);
        } catch (const std::exception& e) {
            throw std::runtime_error("shape inference failed: " + detail::first_line(e.what()));
        }
        ::onnx::GraphProto inferred;
        *inferred.mutable_value_info() = model.graph().value_info();
        *inferred.mutable_output() = model.graph().output();
        return inferred.SerializeAsString();
    });
    if (checked.status == isolated_result::status::threw) throw file_error(source, checked.bytes);
    if (checked.status == isolated_result::status::crashed)
        throw file_error(source, "the onnx library's checker or shape inference " + checked.why +
                                     " on this model (a malformed node or tensor)");
    ::onnx::GraphProto inferred;
    if (!inferred.ParseFromString(checked.bytes)) throw error(source + ": unreadable shape inference results");
    model.mutable_graph()->mutable_value_info()->Swap(inferred.mutable_value_info());
    model.mutable_graph()->mutable_output()->Swap(inferred.mutable_output());
    try {
        return from_model(model, source);
    } catch (const error& e) {
        if (std::string(e.what()).starts_with(source)) throw;
        throw error(source + ": " + e.what(), e.code());
    }
}

KTC_DECL graph::graph load(const std::filesystem::path& path) {
    return parse(read_whole_file(path, max_model_bytes, "an ONNX model"), path.string());
}

}  // namespace ktc::onnx
