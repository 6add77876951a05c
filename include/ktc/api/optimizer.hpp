// ktc/api/optimizer.hpp - the seed's ktc.onnx_optimizer: the optimizer flows and the opset
// upgrade on in-memory models (an "onnx object" is a graph::graph; onnx::load and onnx::save read
// and write files). Each takes the model by value and returns the new one, as the seed does.
#pragma once

#include "ktc/core/config.hpp"

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
KTC_DECL graph::graph onnx2onnx_flow(graph::graph m, const options& o = {});

// The flow for models exported by torch.onnx (manual 3.1.2): also folds their Shape/Gather chains.
KTC_DECL graph::graph torch_exported_onnx_flow(graph::graph m, const options& o = {});

// Opset < 11 -> opset 11, IR 6 (manual 3.1.6). A model read by onnx::load is already in ktc's
// canonical form; this gives the opset-11 form the vendor's tools exchange.
KTC_DECL graph::graph onnx1_4to1_6(const graph::graph& m);

// The same for a file that ktc reads only after the upgrade (opset 7 to 10).
KTC_DECL graph::graph onnx1_4to1_6(const std::filesystem::path& path);

}  // namespace ktc::onnx_optimizer

#if KTC_HEADER_ONLY
#include "ktc/api/optimizer.ipp"
#endif
