// ktc/onnx/upgrade.ipp - the definitions behind upgrade.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/onnx/upgrade.hpp"

namespace ktc::onnx {

KTC_DECL std::int64_t default_opset(const ::onnx::ModelProto& m) {
    std::int64_t opset = -1;
    for (const auto& op : m.opset_import())
        if (op.domain().empty() || op.domain() == "ai.onnx") opset = op.version();
    return opset;
}

KTC_DECL ::onnx::ModelProto upgrade_to_opset11(const ::onnx::ModelProto& m, const std::string& source) {
    const std::int64_t opset = default_opset(m);
    if (opset < 0) throw file_error(source, "model imports no default-domain opset");
    if (opset >= opset11) return m;
    if (opset < min_opset)
        throw unsupported_error(source + ": opset " + std::to_string(opset) + " is older than ktc reads (" +
                                std::to_string(min_opset) + "); only opset " + std::to_string(min_opset) +
                                " to 10 models can be upgraded");
    return to_opset11_model(parse(m.SerializeAsString(), source), source);
}

KTC_DECL upgrade_result upgrade_file(const std::filesystem::path& in, const std::filesystem::path& out) {
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
