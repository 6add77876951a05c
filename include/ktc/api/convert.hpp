// ktc/api/convert.hpp - the seed's converter flows (manual 3.1.1, 3.1.3, 3.1.4): TFLite, Caffe
// and Keras files -> an ONNX-style graph, to pass through onnx2onnx_flow next. Needs the
// ktc::convert target (FlatBuffers, HDF5); ktc/api.hpp does not include this header.
#pragma once

#include <filesystem>

#include "ktc/convert/caffe.hpp"
#include "ktc/convert/keras.hpp"
#include "ktc/convert/tflite.hpp"

namespace ktc::onnx_optimizer {

inline graph::graph tflite2onnx_flow(const std::filesystem::path& tflite) { return convert::from_tflite(tflite); }

inline graph::graph caffe2onnx_flow(const std::filesystem::path& prototxt, const std::filesystem::path& caffemodel) {
    return convert::from_caffe(prototxt, caffemodel);
}

inline graph::graph keras2onnx_flow(const std::filesystem::path& hdf5) { return convert::from_keras(hdf5); }

}  // namespace ktc::onnx_optimizer
