// src/onnx.cpp - ONNX import, normalization, upgrade and shape inference, compiled once for ktc's own binaries
// (core/config.hpp: ktc's own binaries are built with KTC_SEPARATE_COMPILATION).
#include "ktc/onnx/import.ipp"
#include "ktc/onnx/export.ipp"
#include "ktc/onnx/normalize.ipp"
#include "ktc/onnx/upgrade.ipp"
#include "ktc/onnx/shape_inference.ipp"
