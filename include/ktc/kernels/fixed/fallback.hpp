// ktc/kernels/fixed/fallback.hpp - how the fixed-point simulator runs a CPU node: in float.
//
// Every op of the float kernel table that has no integer kernel in registry.hpp runs here
// (Softmax, Div, Resize linear, reductions, ...), as the chip's Cortex-M4 runs it with its FPU
// (docs/numerics.md, "CPU nodes"):
//   1. each input whose ktc.input_radix is not `not_quantized` is dequantized (q * 2^-radix, exact);
//      every other input reaches the float kernel as it is (int64 shapes and indices, float
//      constants of the CPU op, booleans);
//   2. the float kernel of the op runs;
//   3. each output with a fixed-point format (ktc.output_radix[o] other than `not_quantized`) that
//      the float kernel made in float is quantized at its radix and width (fixed::quantize);
//      other outputs (an int64 Shape, MaxPool's Indices, a bool mask, or a float output the
//      quantizer left float by marking it `not_quantized`) pass through as they are.
// A node that carries ktc.lookup_table is tabulated whatever its op, and runs the table instead.
//
// NPU ops never take this path: the quantizer gives every op the platform runs on the NPU an
// integer kernel's annotations, and kernels::fixed::integer_ops() (registry.hpp) lists the ops
// that have one, so a fixed-point result on the NPU never depends on float arithmetic.
#pragma once

#include "ktc/core/config.hpp"

#include <string>
#include <vector>

#include "ktc/kernels/fixed/elementwise.hpp"
#include "ktc/kernels/fixed/requantize.hpp"
#include "ktc/kernels/float/registry.hpp"
#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::fixed {

inline void run_in_float(const kernel_call& call) {
    if (call.attrs().has(ktc::fixed::attr::lookup_table)) return lookup(call);
    const kernel_table& floats = floating::kernels();
    const auto kernel = floats.find(call.node.op_type);
    if (kernel == floats.end()) throw call.unsupported("no float kernel to run this CPU node with");
    const auto radices = ktc::fixed::radices_of_inputs(call.node);
    std::vector<tensor> dequantized(call.input_count());
    std::vector<const tensor*> args(call.input_count(), nullptr);
    for (std::size_t i = 0; i < call.input_count(); ++i) {
        if (!call.has_input(i)) continue;
        if (i < radices.size() && radices[i] != ktc::fixed::not_quantized) {
            dequantized[i] = detail::dequantize(call, call.input(i), ktc::fixed::input_format(call.node, i));
            args[i] = &dequantized[i];
        } else {
            args[i] = &call.input(i);
        }
    }
    kernel->second(kernel_call{call.node, args, call.outputs});
    for (std::size_t o = 0; o < call.outputs.size(); ++o) {
        tensor& y = call.output(o);
        if (!detail::wants_output(call, o) || !is_floating(y.type())) continue;
        const auto r = call.attrs().get_ints(ktc::fixed::attr::output_radix);
        if (o < r.size() && r[o] == ktc::fixed::not_quantized) continue;  // left float on purpose
        y = detail::quantize(call, y, detail::output_format(call, o));
    }
}

// Registers run_in_float for every op of the float table; the integer kernels are added after it
// and replace it for their ops (registry.hpp).
KTC_DECL void add_fallback_kernels(kernel_table& t);

}  // namespace ktc::kernels::fixed

#if KTC_HEADER_ONLY
#include "ktc/kernels/fixed/fallback.ipp"
#endif
