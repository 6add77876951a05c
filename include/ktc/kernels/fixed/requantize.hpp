// ktc/kernels/fixed/requantize.hpp - what every fixed-point kernel shares: reading a node's
// fixed-point formats (fixed/annotations.hpp) with their preconditions checked, and converting
// whole tensors between radices, widths and float. Element arithmetic is fixed_point.hpp's:
// nothing here rounds or saturates by itself.
//
// Conventions of the fixed-point kernel set (kernels::fixed::kernels(), registry.hpp):
// - A quantized activation is an int8 or int16 tensor (bits 8 or 16) whose radix and width are the
//   node's ktc.input_radix / ktc.input_bits entry for that input; the tensor's dtype must be
//   ktc::fixed::integer_type(bits) (checked: a mismatch is an error naming the node and the input).
// - Each output is made as ktc::fixed::integer_type(ktc.output_bits[o]) at radix ktc.output_radix[o].
//   Inputs and outputs of one node may have different widths (mixed precision).
// - Per-channel constants (weight_radix, bias_radix) hold one radix per output channel, or one
//   radix for the whole tensor (size 1).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "ktc/fixed/annotations.hpp"
#include "ktc/kernels/attributes.hpp"
#include "ktc/kernels/fixed/fixed_point.hpp"
#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::fixed {
namespace detail {

using ktc::fixed::value_format;

// Calls f(T{}) with T the C++ type of a quantized activation or weight (int8 or int16).
template <class F>
decltype(auto) visit_activation(const kernel_call& call, dtype t, F&& f) {
    switch (t) {
        case dtype::int8: return f(std::int8_t{});
        case dtype::int16: return f(std::int16_t{});
        default: break;
    }
    throw call.unsupported(std::string("a quantized tensor must be int8 or int16, got ") + name_of(t));
}

inline void check_width(const kernel_call& call, int bits, const std::string& what) {
    if (bits != 8 && bits != 16)
        throw call.unsupported(what + " has width " + std::to_string(bits) + " (8 or 16 only)");
}

// Whether input i is a fixed-point activation (its ktc.input_radix is not `not_quantized`).
inline bool is_quantized_input(const kernel_call& call, std::size_t i) {
    const auto r = ktc::fixed::radices_of_inputs(call.node);
    return i < r.size() && r[i] != ktc::fixed::not_quantized;
}

// The format of quantized input i, checked against the tensor the kernel received.
inline value_format input_format(const kernel_call& call, std::size_t i) {
    const value_format f = ktc::fixed::input_format(call.node, i);
    check_width(call, f.bits, "input " + std::to_string(i));
    const tensor& x = call.input(i);
    if (x.type() != ktc::fixed::integer_type(f.bits))
        throw call.fail("input " + std::to_string(i) + " is " + name_of(x.type()) + " but " +
                        ktc::fixed::attr::input_bits + " says " + std::to_string(f.bits) + " bits");
    return f;
}

// The format of output o (radix and width).
inline value_format output_format(const kernel_call& call, std::size_t o = 0) {
    const value_format f = ktc::fixed::output_format(call.node, o);
    check_width(call, f.bits, "output " + std::to_string(o));
    return f;
}

// Whether output o has a fixed-point format (an entry of ktc.output_radix other than
// `not_quantized`): outputs that are not activations (Shape's int64, MaxPool's Indices) have none.
inline bool has_output_format(const kernel_call& call, std::size_t o) {
    const auto r = call.attrs().get_ints(ktc::fixed::attr::output_radix);
    return o < r.size() && r[o] != ktc::fixed::not_quantized;
}

// Whether the node declares output o (an omitted optional output is "").
inline bool wants_output(const kernel_call& call, std::size_t o) {
    return o < call.outputs.size() && (o >= call.node.outputs.size() || !call.node.outputs[o].empty());
}

// An ints attribute holding one radix per channel (size `channels`) or one for all (size 1),
// expanded to `channels` entries.
inline std::vector<int> per_channel(const kernel_call& call, const char* name, std::int64_t channels) {
    if (!call.attrs().has(name)) throw call.fail(std::string("attribute ") + name + " is required");
    const auto v = call.attrs().get_ints(name);
    if (v.size() != 1 && static_cast<std::int64_t>(v.size()) != channels)
        throw call.fail(std::string(name) + " has " + std::to_string(v.size()) + " entries, expected 1 or " +
                        std::to_string(channels));
    std::vector<int> out(static_cast<std::size_t>(channels));
    for (std::int64_t c = 0; c < channels; ++c) out[c] = static_cast<int>(v.size() == 1 ? v[0] : v[c]);
    return out;
}

// The formats of a MAC op's second operand (slot 1) per output channel: the per-channel
// ktc.weight_radix and ktc.weight_scale of a constant weight, or the one format of an activation
// operand (MatMul or Gemm of two activations).
inline std::vector<value_format> operand_formats(const kernel_call& call, std::int64_t channels) {
    if (call.attrs().has(ktc::fixed::attr::weight_radix)) {
        const std::vector<int> radix = per_channel(call, ktc::fixed::attr::weight_radix, channels);
        std::vector<float> scale(1, 1.f);
        if (call.attrs().has(ktc::fixed::attr::weight_scale)) {
            scale = call.attrs().get_floats(ktc::fixed::attr::weight_scale);
            if (scale.size() != 1 && static_cast<std::int64_t>(scale.size()) != channels)
                throw call.fail(std::string(ktc::fixed::attr::weight_scale) + " has " + std::to_string(scale.size()) +
                                " entries, expected 1 or " + std::to_string(channels));
        }
        std::vector<value_format> f(static_cast<std::size_t>(channels));
        for (std::size_t c = 0; c < f.size(); ++c) f[c] = {radix[c], 0, scale[scale.size() == 1 ? 0 : c]};
        return f;
    }
    if (is_quantized_input(call, 1))
        return std::vector<value_format>(static_cast<std::size_t>(channels), input_format(call, 1));
    throw call.fail(std::string("input 1 has neither ") + ktc::fixed::attr::weight_radix + " nor an input radix");
}

// A MAC op's accumulators, per output channel: their radix r_in + r_w[c] and the requantizer that
// takes them to the output format (scale s_in * s_w[c] -> s_out, docs/numerics.md).
struct accumulators {
    std::vector<int> radix;
    std::vector<ktc::fixed::requantizer> to_output;
};
inline accumulators accumulators_of(const kernel_call& call, const value_format& in, std::int64_t channels,
                                    const value_format& out) {
    const std::vector<value_format> w = operand_formats(call, channels);
    accumulators a;
    a.radix.resize(w.size());
    a.to_output.resize(w.size());
    for (std::size_t c = 0; c < w.size(); ++c) {
        a.radix[c] = in.radix + w[c].radix;
        a.to_output[c] = c > 0 && w[c].radix == w[c - 1].radix && w[c].scale == w[c - 1].scale
                             ? a.to_output[c - 1]
                             : ktc::fixed::requantizer_to(a.radix[c], in.scale * w[c].scale, out);
    }
    return a;
}

// The bias (slot 2) of a MAC op, per output channel, moved exactly to each channel's accumulator
// radix acc_radix[c] (a single value applies to every channel): bias_radix[c] <= acc_radix[c] (docs/numerics.md), so the move is a left
// shift. Precondition: the shift is at most 30 bits, so an int32 bias stays below 2^62 and the
// 64-bit accumulator keeps its headroom. Empty when the node has no bias.
inline std::vector<std::int64_t> bias_at_accumulator(const kernel_call& call, std::size_t slot,
                                                     const std::vector<int>& acc_radix) {
    if (!call.has_input(slot)) return {};
    const tensor& b = call.input(slot);
    if (is_floating(b.type()) || b.type() == dtype::boolean)
        throw call.fail("bias must be an integer tensor, got " + std::string(name_of(b.type())));
    const std::int64_t channels = static_cast<std::int64_t>(acc_radix.size());
    if (b.size() != channels && b.size() != 1)
        throw call.fail("bias has " + std::to_string(b.size()) + " values for " + std::to_string(channels) +
                        " channels");
    std::vector<int> radix;
    if (call.attrs().has(ktc::fixed::attr::bias_radix))
        radix = per_channel(call, ktc::fixed::attr::bias_radix, channels);
    else if (is_quantized_input(call, slot))
        radix.assign(acc_radix.size(), ktc::fixed::input_format(call.node, slot).radix);
    else throw call.fail(std::string("bias has neither ") + ktc::fixed::attr::bias_radix + " nor an input radix");
    const std::vector<std::int64_t> values = b.to_vector<std::int64_t>();
    std::vector<std::int64_t> out(static_cast<std::size_t>(channels));
    for (std::int64_t c = 0; c < channels; ++c) {
        const int shift = acc_radix[c] - radix[c];
        if (shift < 0 || shift > ktc::fixed::max_bias_shift)
            throw call.fail("bias radix " + std::to_string(radix[c]) + " of channel " + std::to_string(c) +
                            " must be within " + std::to_string(ktc::fixed::max_bias_shift) +
                            " below the accumulator radix " + std::to_string(acc_radix[c]));
        out[c] = ktc::fixed::round_shift(values[values.size() == 1 ? 0 : c], -shift);  // a left shift: exact
    }
    return out;
}

// The clamp of an activation fused into a MAC op (ktc.fused_min / ktc.fused_max, floats),
// quantized at the output format; the full range of the width when absent.
struct clamp_bounds {
    std::int64_t lo, hi;
    std::int64_t apply(std::int64_t q) const { return q < lo ? lo : (q > hi ? hi : q); }
};
inline clamp_bounds fused_bounds(const kernel_call& call, value_format out) {
    const float inf = std::numeric_limits<float>::infinity();
    const float lo = call.attrs().get_float(kernels::attr::fused_min, -inf);
    const float hi = call.attrs().get_float(kernels::attr::fused_max, inf);
    if (lo > hi) throw call.fail("fused_min is above fused_max");
    return {ktc::fixed::quantize(lo, out), ktc::fixed::quantize(hi, out)};
}

// ---- whole tensors --------------------------------------------------------------------------

// x (an integer tensor at format `from`) at format `to`: one requantizer for every element.
inline tensor requantize(const kernel_call& call, const tensor& x, const value_format& from, const value_format& to) {
    tensor y(ktc::fixed::integer_type(to.bits), x.shape());
    const ktc::fixed::requantizer step = ktc::fixed::requantizer_to(from, to);
    visit_activation(call, x.type(), [&](auto in_tag) {
        using X = decltype(in_tag);
        visit_activation(call, y.type(), [&](auto out_tag) {
            using Y = decltype(out_tag);
            const X* src = x.data<X>();
            Y* dst = y.data<Y>();
            for (std::int64_t i = 0; i < x.size(); ++i) dst[i] = static_cast<Y>(step(src[i]));
        });
    });
    return y;
}

// An integer tensor (any integer dtype) at format f as float32 values q / scale * 2^-radix.
inline tensor dequantize(const kernel_call& call, const tensor& x, const value_format& f) {
    if (is_floating(x.type()) || x.type() == dtype::boolean)
        throw call.fail(std::string("a quantized input must be an integer tensor, got ") + name_of(x.type()));
    return ktc::fixed::dequantize_tensor(x, f);
}

// A float tensor quantized at `to` (fixed::quantize of every element).
inline tensor quantize(const kernel_call& call, const tensor& x, value_format to) {
    if (!is_floating(x.type())) throw call.fail(std::string("cannot quantize a ") + name_of(x.type()) + " tensor");
    visit_activation(call, ktc::fixed::integer_type(to.bits), [](auto) {});  // int8 or int16 only
    return ktc::fixed::quantize_tensor(x, to);
}

}  // namespace detail
}  // namespace ktc::kernels::fixed
