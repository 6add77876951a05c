// ktc/kernels/fixed/registry.hpp - the fixed-point kernel set: what the .bie simulator runs.
//
// kernels() maps every op of the float table to a kernel on a quantized graph (one whose nodes
// carry the attributes of fixed/annotations.hpp): the integer kernels of conv.hpp, linear.hpp,
// elementwise.hpp, pool.hpp and layout.hpp for the ops integer_ops() lists, and the CPU path of
// fallback.hpp (dequantize, float kernel, quantize) for every other op. The arithmetic of each is
// docs/numerics.md's, with rounding and saturation only through kernels/fixed/fixed_point.hpp.
//
// The interpreter (sim/interpreter.hpp) runs a quantized graph with this table exactly as the
// float simulator runs the float graph with kernels::floating::kernels().
#pragma once

#include <string>
#include <vector>

#include "ktc/core/config.hpp"
#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::fixed {

// The ops computed on integers only (never through float): everything the NPU may run. Resize
// is integer in mode "nearest" only, and MaxPool without its Indices output only; the other forms
// of both run as CPU nodes.
KTC_DECL const std::vector<std::string>& integer_ops();
KTC_DECL bool is_integer_op(const std::string& op);

// The table takes the address of every fixed-point kernel: defined in registry.ipp, compiled
// where core/config.hpp says.
KTC_DECL const kernel_table& kernels();

}  // namespace ktc::kernels::fixed

#if KTC_HEADER_ONLY
#include "ktc/kernels/fixed/registry.ipp"
#endif
