// ktc/onnx/export.hpp - the IR back to a valid ONNX model (opset 17, every node in its opset-17
// form as normalize.hpp produces it).
#pragma once

#include "ktc/core/config.hpp"

#include <filesystem>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "ktc/core/atomic_file.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/onnx/tensor_proto.hpp"

namespace ktc::onnx {

namespace detail {

KTC_DECL void value_info_to_proto(const graph::value_info& info, ::onnx::ValueInfoProto* p);

KTC_DECL void attribute_to_proto(const std::string& name, const graph::attribute& a, ::onnx::AttributeProto* p);

}  // namespace detail

KTC_DECL ::onnx::ModelProto to_model(const graph::graph& g);

// Writes `m` atomically after checking it with the onnx checker: ktc never writes a model the
// onnx library would reject.
KTC_DECL void save_model(const ::onnx::ModelProto& m, const std::filesystem::path& path);

// Writes the graph at opset g.opset (17), IR 8; see save_model. (onnx/opset11.hpp writes opset 11.)
inline void save(const graph::graph& g, const std::filesystem::path& path) { save_model(to_model(g), path); }

}  // namespace ktc::onnx

#if KTC_HEADER_ONLY
#include "ktc/onnx/export.ipp"
#endif
