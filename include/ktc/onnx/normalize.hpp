// ktc/onnx/normalize.hpp - rewrite every node of an imported model into its opset-17 form.
//
// ONNX moved several attributes into inputs and changed a few semantics between opset 7 and 17.
// Normalizing once, on import, gives every later layer (kernels, passes, quantizer, compiler) one
// meaning per op. The rules, by op and the opset version that changed it:
//   Clip < 11            min/max attributes -> inputs
//   Slice < 10           starts/ends/axes attributes -> inputs
//   Pad < 11             pads/value attributes -> inputs (pads, constant_value)
//   Squeeze, Unsqueeze,
//   Split, ReduceSum < 13  axes/split attributes -> inputs
//   Softmax, LogSoftmax,
//   Hardmax < 13         "flatten to 2-D at axis" semantics -> Flatten, op on the last axis, Reshape
//   Upsample (7, 9)      -> Resize(X, "", scales), coordinate_transformation_mode=asymmetric,
//                           nearest_mode=floor
//   Resize 10            -> Resize(X, "", scales), same modes as Upsample
//   BatchNormalization 7 spatial=1 dropped (spatial=0 is refused)
//   Dropout < 12         ratio attribute dropped (inference ignores it)
#pragma once

#include "ktc/core/config.hpp"

#include <string>

#include <onnx/defs/schema.h>

#include "ktc/graph/graph.hpp"

namespace ktc::onnx {

namespace detail {

// A value name not yet used in `g`, derived from `base`.
KTC_DECL std::string unique_value_name(const graph::graph& g, const std::string& base);

// Adds `t` as an initializer named after `base` and returns its name.
KTC_DECL std::string add_constant(graph::graph& g, const std::string& base, tensor t);

KTC_DECL tensor int64_vector(const std::vector<std::int64_t>& v);

// Moves attribute `attr` (ints) of node `v` into input `slot` as an int64 constant.
KTC_DECL void ints_attribute_to_input(graph::graph& g, graph::vertex v, const std::string& attr, std::size_t slot);

// Opset < 13 softmax-like ops coerce the input to 2-D at `axis`; express that with opset-13 ops.
KTC_DECL void normalize_coerced_softmax(graph::graph& g, graph::vertex v);

}  // namespace detail

KTC_DECL void normalize_to_opset17(graph::graph& g);

}  // namespace ktc::onnx

#if KTC_HEADER_ONLY
#include "ktc/onnx/normalize.ipp"
#endif
