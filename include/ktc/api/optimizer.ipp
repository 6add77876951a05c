// ktc/api/optimizer.ipp - the definitions behind optimizer.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/api/optimizer.hpp"

namespace ktc::onnx_optimizer {

KTC_DECL graph::graph onnx2onnx_flow(graph::graph m, const options& o) {
    rewrite::onnx2onnx_flow(m, o);
    return m;
}

KTC_DECL graph::graph torch_exported_onnx_flow(graph::graph m, const options& o) {
    rewrite::torch_exported_onnx_flow(m, o);
    return m;
}

KTC_DECL graph::graph onnx1_4to1_6(const graph::graph& m) {
    if (m.opset >= onnx::opset11) return m;
    return onnx::from_model(onnx::to_opset11_model(m, m.name.empty() ? "model" : m.name), m.name);
}

KTC_DECL graph::graph onnx1_4to1_6(const std::filesystem::path& path) {
    const std::string bytes = read_whole_file(path, onnx::max_model_bytes, "an ONNX model");
    ::onnx::ModelProto m;
    if (bytes.empty() || !m.ParseFromString(bytes) || !m.has_graph())
        throw file_error(path.string(), "not an ONNX model (protobuf parse failed; truncated or not ONNX)");
    return onnx::parse(onnx::upgrade_to_opset11(m, path.string()).SerializeAsString(), path.string());
}

}  // namespace ktc::onnx_optimizer
