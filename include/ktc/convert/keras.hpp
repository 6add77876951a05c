// ktc/convert/keras.hpp - a Keras model saved by model.save (.h5/.hdf5) -> the ktc graph.
#pragma once

#include <filesystem>

#include "ktc/core/error.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::convert {

// Reads `path` (HDF5: model_config + model_weights) and returns the equivalent ONNX-style graph.
inline graph::graph from_keras(const std::filesystem::path& path) {
    throw unsupported_error(path.string() + ": the Keras converter is not written yet");
}

}  // namespace ktc::convert
