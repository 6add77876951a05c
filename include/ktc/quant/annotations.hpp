// ktc/quant/annotations.hpp - how a quantized graph records its fixed-point parameters.
//
// A quantized graph is the optimized float graph with, on every node, the attributes below
// (written by the quantizer, read by the fixed-point kernels, the compiler and the .bie writer),
// and with the constants MAC ops read (weights, biases) replaced by integer initializers. The
// fixed-point interpreter then runs it exactly like the float one, with another kernel table.
// Attribute names live here and nowhere else. docs/numerics.md gives the arithmetic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ktc/graph/graph.hpp"
#include "ktc/kernels/fixed/fixed_point.hpp"

namespace ktc::quant {

namespace attr {
// ints, one per node input: the radix that input's integer values are at, or `not_quantized`
// for an input that is not a fixed-point activation (an int64 shape, a float constant of a CPU
// op, a per-channel weight whose radices are in weight_radix).
inline constexpr const char* input_radix = "ktc.input_radix";
// ints, one per node input: the width of each quantized input (8 or 16; 0 if not quantized).
inline constexpr const char* input_bits = "ktc.input_bits";
// ints, one per node output: radix and width of what the node produces.
inline constexpr const char* output_radix = "ktc.output_radix";
inline constexpr const char* output_bits = "ktc.output_bits";
// ints, per output channel (size 1 when per tensor): the radix of the integer weight (input 1 of
// Conv, ConvTranspose, Gemm, MatMul).
inline constexpr const char* weight_radix = "ktc.weight_radix";
// ints, per output channel: the radix of the int32 bias (input 2 of Conv, ConvTranspose, Gemm).
inline constexpr const char* bias_radix = "ktc.bias_radix";
// tensor (int8 or int16), 2^input_bits entries: the table of a unary element-wise op, indexed by
// q - min_of(input_bits) (docs/numerics.md, "Unary element-wise ops").
inline constexpr const char* lookup_table = "ktc.lookup_table";
// float: the bounds of an activation fused into a Conv/Gemm (set by the float simulator's
// fusion, kept in the quantized graph; the kernel quantizes them at the output radix).
inline constexpr const char* fused_min = "ktc.fused_min";
inline constexpr const char* fused_max = "ktc.fused_max";
}  // namespace attr

// The input_radix of an input that is not a fixed-point activation.
inline constexpr std::int64_t not_quantized = -1000;

// Radix and width of one value.
struct value_format {
    int radix = 0;
    int bits = 8;
};

inline std::vector<std::int64_t> radices_of_inputs(const graph::node& n) {
    return n.attrs.get_ints(attr::input_radix, std::vector<std::int64_t>(n.inputs.size(), not_quantized));
}

inline value_format output_format(const graph::node& n, std::size_t slot = 0) {
    const auto r = n.attrs.get_ints(attr::output_radix), b = n.attrs.get_ints(attr::output_bits);
    if (slot >= r.size() || slot >= b.size())
        throw error("node '" + n.name + "' (" + n.op_type + "): no fixed-point format for output " +
                    std::to_string(slot) + " (not a quantized graph?)");
    return {static_cast<int>(r[slot]), static_cast<int>(b[slot])};
}

inline value_format input_format(const graph::node& n, std::size_t slot) {
    const auto r = n.attrs.get_ints(attr::input_radix), b = n.attrs.get_ints(attr::input_bits);
    if (slot >= r.size() || slot >= b.size() || r[slot] == not_quantized)
        throw error("node '" + n.name + "' (" + n.op_type + "): input " + std::to_string(slot) +
                    " has no fixed-point format (not a quantized graph?)");
    return {static_cast<int>(r[slot]), static_cast<int>(b[slot])};
}

// The integer dtype of a width (one definition, with the rounding rules).
using fixed::integer_type;

}  // namespace ktc::quant
