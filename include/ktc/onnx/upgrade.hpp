// ktc/onnx/upgrade.hpp - the vendor's onnx1_4to1_6: a model of opset < 11 becomes opset 11, IR 6.
//
// Built from the two halves ktc already has: import (check, shape inference, normalization of
// every node to its opset-17 form: Clip/Slice/Pad attributes -> inputs, Upsample and Resize-10
// -> Resize with coordinate_transformation_mode=asymmetric, nearest_mode=floor, ...) and the
// opset-11 export (onnx/opset11.hpp), which writes back the opset-11 form of each node. A model
// already at opset 11 or later is left alone: upgrade_to_opset11 returns it unchanged and
// upgrade_file copies its bytes. Models older than opset 7 (ktc's oldest) are refused with
// unsupported_error.
#pragma once

#include "ktc/core/config.hpp"

#include <filesystem>
#include <string>

#include <onnx/onnx_pb.h>

#include "ktc/core/atomic_file.hpp"
#include "ktc/core/read_file.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/onnx/opset11.hpp"

namespace ktc::onnx {

// The default-domain opset a model imports, or -1 when it imports none.
KTC_DECL std::int64_t default_opset(const ::onnx::ModelProto& m);

// The opset-11 (IR 6) form of `m`; `m` itself when it is at opset 11 or later. `source` names
// the model in errors.
KTC_DECL ::onnx::ModelProto upgrade_to_opset11(const ::onnx::ModelProto& m, const std::string& source);

struct upgrade_result {
    std::int64_t from_opset = -1;
    std::int64_t to_opset = -1;
    bool changed = false;  // false: the model was at opset >= 11 and its bytes were copied
};

// Reads `in`, upgrades it and writes `out` atomically (the onnx checker passes it first). A
// model already at opset >= 11 is written byte for byte as it was read; when `out` is `in` then,
// nothing is written.
KTC_DECL upgrade_result upgrade_file(const std::filesystem::path& in, const std::filesystem::path& out);

}  // namespace ktc::onnx

#if KTC_HEADER_ONLY
#include "ktc/onnx/upgrade.ipp"
#endif
