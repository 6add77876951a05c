// ktc/api/optimizer.hpp - the seed's ktc.onnx_optimizer: the optimizer flows and the opset
// upgrade on in-memory models (an "onnx object" is a graph::graph; onnx::load and onnx::save read
// and write files). Each takes the model by value and returns the new one, as the seed does.
#pragma once

#include <filesystem>

#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/onnx/upgrade.hpp"
#include "ktc/rewrite/flows.hpp"

namespace ktc::onnx_optimizer {

// The seed's keyword arguments: disable_fuse_bn is `fuse_bn = false`, eliminate_tail,
// bn_on_skip, bn_before_add, bgr, norm, rgba2yynn keep their names.
using options = rewrite::flow_options;

// The general flow every model should pass before evaluation and quantization (manual 3.1.5).
inline graph::graph onnx2onnx_flow(graph::graph m, const options& o = {}) {
    rewrite::onnx2onnx_flow(m, o);
    return m;
}

// The flow for models exported by torch.onnx (manual 3.1.2): also folds their Shape/Gather chains.
inline graph::graph torch_exported_onnx_flow(graph::graph m, const options& o = {}) {
    rewrite::torch_exported_onnx_flow(m, o);
    return m;
}

// Opset < 11 -> opset 11, IR 6 (manual 3.1.6). A model read by onnx::load is already in ktc's
// canonical form; this gives the opset-11 form the vendor's tools exchange.
inline graph::graph onnx1_4to1_6(const graph::graph& m) {
    if (m.opset >= onnx::opset11) return m;
    return onnx::from_model(onnx::to_opset11_model(m, m.name.empty() ? "model" : m.name), m.name);
}

// The same for a file that ktc reads only after the upgrade (opset 7 to 10).
inline graph::graph onnx1_4to1_6(const std::filesystem::path& path) {
    const std::string bytes = read_whole_file(path, onnx::max_model_bytes, "an ONNX model");
    ::onnx::ModelProto m;
    if (bytes.empty() || !m.ParseFromString(bytes) || !m.has_graph())
        throw file_error(path.string(), "not an ONNX model (protobuf parse failed; truncated or not ONNX)");
    return onnx::parse(onnx::upgrade_to_opset11(m, path.string()).SerializeAsString(), path.string());
}

}  // namespace ktc::onnx_optimizer
