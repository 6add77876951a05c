// ktc/kernels/attributes.hpp - ktc's own node attributes that kernels read (never exported).
#pragma once

namespace ktc::kernels::attr {

// float: the bounds of an activation fused into a Conv/Gemm. The float simulator sets them (Conv
// + Relu / Clip in one pass over memory, identical results); the quantized graph keeps them and
// the fixed kernels quantize them at the output radix.
inline constexpr const char* fused_min = "ktc.fused_min";
inline constexpr const char* fused_max = "ktc.fused_max";

}  // namespace ktc::kernels::attr
