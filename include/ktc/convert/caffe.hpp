// ktc/convert/caffe.hpp - a Caffe deploy prototxt + caffemodel -> the ktc graph (ONNX opset 17 ops).
#pragma once

#include <filesystem>

#include "ktc/core/error.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::convert {

// Reads the network from `prototxt` and its weights from `caffemodel`.
inline graph::graph from_caffe(const std::filesystem::path& prototxt, const std::filesystem::path& caffemodel) {
    throw unsupported_error(prototxt.string() + ": the Caffe converter is not written yet");
}

}  // namespace ktc::convert
