// ktc/kernels/fixed/layout.hpp - ops that only move data, on integers.
//
// Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Slice, Gather, Split, Pad, Identity, Dropout,
// Resize (nearest), DepthToSpace, SpaceToDepth, Tile, Expand, Shape: the float kernels
// (kernels/float/layout.hpp, resize.hpp) are dtype-generic, so they run on the integers
// themselves. Their output radix is their input's (docs/numerics.md, "Choosing radices" 4); an
// output whose format differs from input 0's anyway (another radix, scale or width) is
// requantized after the move (fixed::requantizer per element), exact when it only widens.
//   - Operands that are not activations (shapes, indices, axes, Resize's scales) pass through.
//   - Outputs without a fixed-point format (Shape's int64, Dropout's mask) pass through.
//   - Pad's constant value (input 2) is a float constant (ktc.input_radix `not_quantized`),
//     quantized at input 0's format, or a quantized value, rescaled to input 0's format; absent
//     means 0.
//   - Resize other than mode "nearest" computes new values: it runs as a CPU node (fallback.hpp).
#pragma once

#include "ktc/core/config.hpp"

#include <string>
#include <vector>

#include "ktc/kernels/fixed/fallback.hpp"
#include "ktc/kernels/fixed/requantize.hpp"
#include "ktc/kernels/float/layout.hpp"
#include "ktc/kernels/float/resize.hpp"
#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::fixed {

namespace layout_detail {

// Rescales every output that has a fixed-point format other than input 0's.
inline void requantize_outputs(const kernel_call& call) {
    if (!detail::is_quantized_input(call, 0)) return;
    const detail::value_format in = detail::input_format(call, 0);
    for (std::size_t o = 0; o < call.outputs.size(); ++o) {
        if (!detail::wants_output(call, o) || !detail::has_output_format(call, o)) continue;
        tensor& y = call.output(o);
        if (y.type() != call.input(0).type()) continue;  // not a moved copy of input 0 (Shape)
        const detail::value_format out = detail::output_format(call, o);
        if (out != in) y = detail::requantize(call, y, in, out);
    }
}

}  // namespace layout_detail

// The float kernel `Move` on the integers, then a rescale where an output's format differs.
template <kernel_fn Move>
void move_data(const kernel_call& call) {
    if (detail::is_quantized_input(call, 0)) detail::input_format(call, 0);  // checks dtype vs width
    Move(call);
    layout_detail::requantize_outputs(call);
}

inline void pad(const kernel_call& call) {
    if (!detail::is_quantized_input(call, 0)) return floating::pad_kernel(call);
    const detail::value_format in = detail::input_format(call, 0);
    tensor value;
    std::vector<const tensor*> args(call.inputs.begin(), call.inputs.end());
    if (call.has_input(2) && call.input(2).size() > 0) {
        const tensor& v = call.input(2);
        if (v.size() != 1) throw call.fail("constant_value must be one value");
        if (detail::is_quantized_input(call, 2)) {
            value = detail::requantize(call, v, detail::input_format(call, 2), in);
        } else if (is_floating(v.type())) {
            value = detail::quantize(call, v, in);
        } else {
            throw call.fail(std::string("constant_value is ") + name_of(v.type()) + " without an input radix");
        }
        args[2] = &value;
    }
    floating::pad_kernel(kernel_call{call.node, args, call.outputs});
    layout_detail::requantize_outputs(call);
}

inline void resize(const kernel_call& call) {
    if (call.attrs().get_string("mode", "nearest") != "nearest") return run_in_float(call);
    move_data<&floating::resize_kernel>(call);
}

KTC_DECL void add_layout_kernels(kernel_table& t);

}  // namespace ktc::kernels::fixed

#if KTC_HEADER_ONLY
#include "ktc/kernels/fixed/layout.ipp"
#endif
