// ktc/api.hpp - the C++ API shaped after the seed's Python API (docs/api.md), for projects that
// link ktc::ktc:
//
//   ktc::onnx_optimizer::onnx2onnx_flow / torch_exported_onnx_flow / onnx1_4to1_6   (manual 3.1)
//   ktc::model_config{id, version, platform, onnx | onnx_path | bie_path}
//       .evaluate()                      the IP evaluator                                (3.2)
//       .analysis(input_mapping, opts)   calibration and quantization -> .bie            (4.1)
//   ktc::kneron_inference(inputs, {onnx | bie | nef, model_id, radix, platform})    (3.3, 4.2, 5.2)
//   ktc::get_radix(inputs)                                                               (4.2)
//   ktc::compile(models, opts) -> .nef, ktc::combine_nef(paths, out_dir)                 (5.1, 5.3)
//
// The converter flows (tflite2onnx_flow, caffe2onnx_flow, keras2onnx_flow) are in
// ktc/api/convert.hpp, which needs ktc::convert. Every failure is a ktc::error (usage_error,
// unsupported_error, file_error); nothing exits and nothing is global.
#pragma once

#include "ktc/api/compile.hpp"
#include "ktc/api/inference.hpp"
#include "ktc/api/inputs.hpp"
#include "ktc/api/model_config.hpp"
#include "ktc/api/optimizer.hpp"
#include "ktc/api/version.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"
