// ktc/onnx/import.hpp - read an ONNX model into the IR: parse, check, infer shapes, convert,
// then normalize op versions so the rest of ktc sees every op as opset 17 defines it.
#pragma once

#include "ktc/core/config.hpp"

#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "ktc/core/isolated.hpp"
#include "ktc/core/read_file.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/onnx/normalize.hpp"
#include "ktc/onnx/tensor_proto.hpp"

namespace ktc::onnx {

// The default-domain opsets ktc reads; older models predate broadcasting rules ktc relies on,
// newer ones are beyond what the onnx library (1.12) in Debian 12 knows.
inline constexpr std::int64_t min_opset = 7;
inline constexpr std::int64_t max_opset = 17;
// Largest model file read (2 GiB: protobuf's own limit).
inline constexpr std::uintmax_t max_model_bytes = std::uintmax_t{2} << 30;

namespace detail {

KTC_DECL std::string first_line(const std::string& s);

KTC_DECL graph::value_info value_info_from_proto(const ::onnx::ValueInfoProto& v, const std::string& where);

KTC_DECL graph::attribute attribute_from_proto(const ::onnx::AttributeProto& a, const std::string& node_name);

}  // namespace detail

// Converts a checked, shape-inferred ModelProto. `source` names the model in errors.
KTC_DECL graph::graph from_model(const ::onnx::ModelProto& model, const std::string& source);

// Parses, checks and shape-infers a serialized model; `source` names it in errors.
KTC_DECL graph::graph parse(const std::string& bytes, const std::string& source);

KTC_DECL graph::graph load(const std::filesystem::path& path);

}  // namespace ktc::onnx

#if KTC_HEADER_ONLY
#include "ktc/onnx/import.ipp"
#endif
