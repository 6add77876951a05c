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

#include <filesystem>
#include <string>

#include <onnx/onnx_pb.h>

#include "ktc/core/atomic_file.hpp"
#include "ktc/core/read_file.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/onnx/opset11.hpp"

namespace ktc::onnx {

// The default-domain opset a model imports, or -1 when it imports none.
inline std::int64_t default_opset(const ::onnx::ModelProto& m) {
    std::int64_t opset = -1;
    for (const auto& op : m.opset_import())
        if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
    return opset;
}

// The opset-11 (IR 6) form of `m`; `m` itself when it is at opset 11 or later. `source` names
// the model in errors.
inline ::onnx::ModelProto upgrade_to_opset11(const ::onnx::ModelProto& m, const std::string& source) {
    const std::int64_t opset = default_opset(m);
    if (opset < 0) throw file_error(source, "model imports no default-domain opset");
    if (opset >= opset11) return m;
    if (opset < min_opset)
        throw unsupported_error(source + ": opset " + std::to_string(opset) + " is older than ktc reads (" +
                                std::to_string(min_opset) + "); only opset " + std::to_string(min_opset) +
                                " to 10 models can be upgraded");
    return to_opset11_model(parse(m.SerializeAsString(), source), source);
}

struct upgrade_result {
    std::int64_t from_opset = -1;
    std::int64_t to_opset = -1;
    bool changed = false;  // false: the model was at opset >= 11 and its bytes were copied
};

// Reads `in`, upgrades it and writes `out` atomically (the onnx checker passes it first). A
// model already at opset >= 11 is written byte for byte as it was read; when `out` is `in` then,
// nothing is written.
inline upgrade_result upgrade_file(const std::filesystem::path& in, const std::filesystem::path& out) {
    const std::string bytes = read_whole_file(in, max_model_bytes, "an ONNX model");
    ::onnx::ModelProto m;
    if (bytes.empty()) throw file_error(in.string(), "empty file, not an ONNX model");
    if (!m.ParseFromString(bytes))
        throw file_error(in.string(), "not an ONNX model (protobuf parse failed; truncated or not ONNX)");
    if (!m.has_graph()) throw file_error(in.string(), "not an ONNX model (no graph)");
    upgrade_result result;
    result.from_opset = default_opset(m);
    if (result.from_opset >= opset11) {
        result.to_opset = result.from_opset;
        std::error_code ec;
        if (!std::filesystem::equivalent(in, out, ec)) write_file_atomically(out, bytes);
        return result;
    }
    const ::onnx::ModelProto upgraded = upgrade_to_opset11(m, in.string());
    result.to_opset = default_opset(upgraded);
    result.changed = true;
    save_model(upgraded, out);
    return result;
}

}  // namespace ktc::onnx
