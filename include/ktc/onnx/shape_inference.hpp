// ktc/onnx/shape_inference.hpp - refresh what the IR knows of intermediate shapes after rewrites.
//
// Rewrites change values (a BN fused away, a Shape chain folded, a batch dimension fixed), so the
// value_infos inferred at import go stale. This runs ONNX shape inference again on the graph as
// it stands, from scratch: the old value_infos are dropped first, because onnx merges with what a
// model declares and a stale declaration would be reported as a conflict.
#pragma once

#include "ktc/core/config.hpp"

#include <string>

#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"

namespace ktc::onnx {

// Throws error (exit 1) naming `what` when inference fails: the graph is left as it was.
KTC_DECL void infer_shapes(graph::graph& g, const std::string& what = "model");

}  // namespace ktc::onnx

#if KTC_HEADER_ONLY
#include "ktc/onnx/shape_inference.ipp"
#endif
