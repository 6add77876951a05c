// ktc/convert/tflite.hpp - a float TFLite flatbuffer -> the ktc graph (NCHW, ONNX opset 17 ops).
#pragma once

#include <filesystem>

#include "ktc/core/error.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::convert {

// Reads `path` (a .tflite file) and returns the equivalent ONNX-style graph.
inline graph::graph from_tflite(const std::filesystem::path& path) {
    throw unsupported_error(path.string() + ": the TFLite converter is not written yet");
}

}  // namespace ktc::convert
