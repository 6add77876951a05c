// tests/support/unity_prelude.hpp - included first in every unity batch of the unit tests.
//
// The onnx headers name their own namespace `onnx` unqualified (through ONNX_NAMESPACE). In a
// unity batch, a test file's `using namespace ktc;` (which brings in ktc::onnx) can precede the
// first inclusion of those headers by a later file, making `onnx` ambiguous inside them. Parsing
// them once, before any test file, keeps batches independent of which files land together.
#pragma once

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
