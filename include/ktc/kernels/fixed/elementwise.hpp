// ktc/kernels/fixed/elementwise.hpp - element-wise ops on integers (docs/numerics.md).
//
// Add / Sub: with equal scales, a at r_a and b at r_b are both shifted left to r = max(r_a, r_b)
//            (exact), added or subtracted in int64, then requantized to the output format. With
//            different scales each operand gets its requantizer M * 2^-S to the output format,
//            and q_a * M_a * 2^(S - S_a) +- q_b * M_b * 2^(S - S_b) (128-bit, S = max(S_a, S_b))
//            is rounded once by 2^-S: still one rounding.
// Mul:       q_a * q_b (int64) at r_a + r_b and scale s_a * s_b, requantized to the output format.
//            Both with numpy broadcasting (the float kernels' broadcast plan). Operands and the
//            output may have different widths. int64 holds every intermediate: |q| < 2^15 and
//            the radices differ by far less than 46 bits, so a shifted operand stays below 2^61
//            (checked) and a product below 2^30.
// Concat:    each input rescaled to the output format, then concatenated (the float kernel).
// PRelu:     as the chip runs it, with an integer slope q_s[c] at its own radix r_s[c] per channel
//            (ktc.slope_radix, one per element of the slope tensor, which broadcasts to the
//            input): q_y = requantize(q_x, input format -> output) for q_x >= 0, and
//            requantize(q_x * q_s[c], (r_in + r_s[c], s_in) -> output) for q_x < 0; one rounding each, the
//            product below 2^30. A PRelu that carries ktc.lookup_table (a .bie of ktc 0.1 that
//            tabulated a scalar slope) runs its table.
// Unary element-wise ops (Relu, LeakyRelu, Clip, Sigmoid, Tanh,
//            HardSigmoid, HardSwish, Elu, Selu, Softplus, Exp, Log, Sqrt, Abs, Neg, Erf,
//            Reciprocal, and any other node that carries ktc.lookup_table): the quantizer tabulates
//            the float op over every input code, table[q - min_of(input_bits)] =
//            quantize(f(dequantize(q, input format)), output format); one load per element.
//            The table's dtype is the output's. The op's other inputs (PRelu's slope, Clip's
//            bounds) and attributes are in the table already and are not read. A node without
//            a table is an error naming it.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>
#if defined(__AVX512VBMI__)
#include <immintrin.h>
#endif

#include "ktc/graph/ops.hpp"
#include "ktc/kernels/fixed/requantize.hpp"
#include "ktc/kernels/float/elementwise.hpp"
#include "ktc/kernels/float/layout.hpp"
#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::fixed {

namespace elementwise_detail {

enum class binary_kind { add, sub, mul };

// y = op(q_a, q_b) over the broadcast shape, for every combination of operand and output widths.
template <class Op>
void apply(const kernel_call& call, const tensor& a, const tensor& b, const shape_t& shape,
           const detail::value_format& out, Op op) {
    tensor y;
    detail::visit_activation(call, a.type(), [&](auto at) {
        detail::visit_activation(call, b.type(), [&](auto bt) {
            detail::visit_activation(call, ktc::fixed::integer_type(out.bits), [&](auto yt) {
                using A = decltype(at);
                using B = decltype(bt);
                using Y = decltype(yt);
                y = floating::elementwise::binary_apply<A, B, Y>(a, b, shape, [&](A qa, B qb) -> Y {
                    return static_cast<Y>(op(std::int64_t{qa}, std::int64_t{qb}));
                });
            });
        });
    });
    call.output() = std::move(y);
}

template <binary_kind Kind>
void binary(const kernel_call& call) {
    const tensor& a = call.input(0);
    const tensor& b = call.input(1);
    const detail::value_format fa = detail::input_format(call, 0), fb = detail::input_format(call, 1);
    const detail::value_format out = detail::output_format(call);
    const shape_t shape = floating::elementwise::broadcast_or_fail(call, a.shape(), b.shape());
    if (Kind == binary_kind::mul || fa.scale == fb.scale) {
        // Mul: the product's radix. Add/Sub: the common radix and each operand's (non-negative)
        // left shift to it.
        const int common = Kind == binary_kind::mul ? fa.radix + fb.radix : std::max(fa.radix, fb.radix);
        const int shift_a = Kind == binary_kind::mul ? 0 : common - fa.radix;
        const int shift_b = Kind == binary_kind::mul ? 0 : common - fb.radix;
        if (shift_a > 46 || shift_b > 46)
            throw call.fail("input radices " + std::to_string(fa.radix) + " and " + std::to_string(fb.radix) +
                            " are too far apart for an exact 64-bit alignment");
        const ktc::fixed::requantizer to_out =
            ktc::fixed::requantizer_to(common, Kind == binary_kind::mul ? fa.scale * fb.scale : fa.scale, out);
        // The usual case, branch-free so that the loop vectorizes: shifts of at most 31 keep the
        // sum below 2^47, so a requantizer that fixed::unguarded() takes needs no guards.
        const auto fast = ktc::fixed::unguarded(to_out, ktc::fixed::min_of(out.bits), ktc::fixed::max_of(out.bits));
        if (fast && Kind == binary_kind::mul && a.type() == dtype::int8 && b.type() == dtype::int8 &&
            fast->shift <= 31) {
            // int8 x int8: a product is at most 2^14 and the multiplier below 2^15, so the whole
            // sum product * multiplier + 2^(shift - 1) stays below 2^31: 32-bit lanes hold it
            // (twice the lanes of the 64-bit form below; the same codes).
            const std::int32_t m = static_cast<std::int32_t>(fast->multiplier),
                               half = static_cast<std::int32_t>(fast->half);
            const std::int32_t lo = static_cast<std::int32_t>(fast->lo), hi = static_cast<std::int32_t>(fast->hi);
            const int shift = fast->shift;
            return apply(call, a, b, shape, out, [=](std::int64_t qa, std::int64_t qb) {
                const std::int32_t product = static_cast<std::int32_t>(qa) * static_cast<std::int32_t>(qb);
                return std::int64_t{std::min(std::max((product * m + half) >> shift, lo), hi)};
            });
        }
        if (fast && Kind == binary_kind::mul) {
            // The product of two codes of at most 16 bits fits int32: the requantizer's biased
            // form then multiplies 32 x 32 -> 64 bits per element.
            const auto step = fast->with_bias(0);
            return apply(call, a, b, shape, out,
                         [=](std::int64_t qa, std::int64_t qb) { return step(static_cast<std::int32_t>(qa * qb)); });
        }
        if (fast && shift_a <= 31 && shift_b <= 31) {
            const ktc::fixed::unguarded_requantizer step = *fast;
            return apply(call, a, b, shape, out, [=](std::int64_t qa, std::int64_t qb) {
                return step(Kind == binary_kind::mul   ? qa * qb
                            : Kind == binary_kind::add ? (qa << shift_a) + (qb << shift_b)
                                                       : (qa << shift_a) - (qb << shift_b));
            });
        }
        return apply(call, a, b, shape, out, [=](std::int64_t qa, std::int64_t qb) {
            std::int64_t r;
            if constexpr (Kind == binary_kind::mul) {
                r = qa * qb;
            } else {
                const std::int64_t xa = ktc::fixed::round_shift(qa, -shift_a);  // exact
                const std::int64_t xb = ktc::fixed::round_shift(qb, -shift_b);
                r = Kind == binary_kind::add ? xa + xb : xa - xb;
            }
            return to_out(r);
        });
    }
    const ktc::fixed::requantizer ra = ktc::fixed::requantizer_to(fa, out), rb = ktc::fixed::requantizer_to(fb, out);
    const int common = std::max(ra.shift, rb.shift);
    if (common - ra.shift > 46 || common - rb.shift > 46)
        throw call.fail("input formats (radix " + std::to_string(fa.radix) + " and " + std::to_string(fb.radix) +
                        ") are too far apart for an exact 128-bit alignment");
    // The usual case in int64, branch-free: multipliers below 2^46 keep |r| below 2^62 and the
    // rounding term below 2^61, the same sum and rounding as the 128-bit path below.
    if (common >= 1 && common <= 62 && ra.multiplier >= 1 && rb.multiplier >= 1 &&
        (ra.multiplier << (common - ra.shift)) < (std::int64_t{1} << 46) && common - ra.shift <= 31 &&
        common - rb.shift <= 31 && (rb.multiplier << (common - rb.shift)) < (std::int64_t{1} << 46)) {
        const std::int64_t ma = ra.multiplier << (common - ra.shift), mb = rb.multiplier << (common - rb.shift);
        const std::int64_t half = std::int64_t{1} << (common - 1);
        const std::int64_t lo = ktc::fixed::min_of(out.bits), hi = ktc::fixed::max_of(out.bits);
        constexpr std::int64_t int32_top = std::int64_t{1} << 31;
        if (ma < int32_top && mb < int32_top) {  // the same sums, with widening 32 x 32 -> 64 multiplies
            const std::int32_t ma32 = static_cast<std::int32_t>(ma), mb32 = static_cast<std::int32_t>(mb);
            return apply(call, a, b, shape, out, [=](std::int64_t qa, std::int64_t qb) {
                const std::int64_t pa = std::int64_t{static_cast<std::int32_t>(qa)} * ma32;
                const std::int64_t pb = std::int64_t{static_cast<std::int32_t>(qb)} * mb32;
                const std::int64_t r = Kind == binary_kind::add ? pa + pb : pa - pb;
                return std::min(std::max((r + half) >> common, lo), hi);
            });
        }
        return apply(call, a, b, shape, out, [=](std::int64_t qa, std::int64_t qb) {
            const std::int64_t r = Kind == binary_kind::add ? qa * ma + qb * mb : qa * ma - qb * mb;
            return std::min(std::max((r + half) >> common, lo), hi);
        });
    }
    using wide = ktc::fixed::wide_int;
    const wide ma = wide{ra.multiplier} << (common - ra.shift), mb = wide{rb.multiplier} << (common - rb.shift);
    apply(call, a, b, shape, out, [=](std::int64_t qa, std::int64_t qb) {
        const wide r =
            Kind == binary_kind::add ? qa * ma + qb * mb : qa * ma - qb * mb;  // |r| < 2^15 * 2^15 * 2^46 * 2
        return ktc::fixed::saturate(ktc::fixed::round_shift_wide(r, common), out.bits);
    });
}

}  // namespace elementwise_detail

inline void add(const kernel_call& call) { elementwise_detail::binary<elementwise_detail::binary_kind::add>(call); }
inline void sub(const kernel_call& call) { elementwise_detail::binary<elementwise_detail::binary_kind::sub>(call); }
inline void mul(const kernel_call& call) { elementwise_detail::binary<elementwise_detail::binary_kind::mul>(call); }

inline void concat(const kernel_call& call) {
    const detail::value_format out = detail::output_format(call);
    std::vector<tensor> moved(call.input_count());
    std::vector<const tensor*> args(call.input_count());
    for (std::size_t i = 0; i < call.input_count(); ++i) {
        const tensor& x = call.input(i);
        const detail::value_format in = detail::input_format(call, i);
        if (in == out) {
            args[i] = &x;
        } else {
            moved[i] = detail::requantize(call, x, in, out);
            args[i] = &moved[i];
        }
    }
    floating::concat_kernel(kernel_call{call.node, args, call.outputs});
}

// One table load per element: y = table[q - min_of(input_bits)].
inline void lookup(const kernel_call& call) {
    const tensor& x = call.input(0);
    const detail::value_format in = detail::input_format(call, 0);
    const detail::value_format out = detail::output_format(call);
    if (!call.attrs().has(ktc::fixed::attr::lookup_table))
        throw call.fail(std::string("no ") + ktc::fixed::attr::lookup_table +
                        " attribute: the quantizer tabulates every unary op it leaves on the NPU");
    const tensor& table = call.attrs().get_tensor(ktc::fixed::attr::lookup_table);
    const std::int64_t entries = std::int64_t{1} << in.bits;
    if (table.size() != entries || table.type() != ktc::fixed::integer_type(out.bits))
        throw call.fail(std::string(ktc::fixed::attr::lookup_table) + " must hold 2^" + std::to_string(in.bits) + " " +
                        name_of(ktc::fixed::integer_type(out.bits)) + " entries, got " + std::to_string(table.size()) +
                        " " + name_of(table.type()));
    const std::int64_t offset = ktc::fixed::min_of(in.bits);
    tensor y(table.type(), x.shape());
    detail::visit_activation(call, x.type(), [&](auto xt) {
        detail::visit_activation(call, table.type(), [&](auto yt) {
            using X = decltype(xt);
            using Y = decltype(yt);
            const X* src = x.data<X>();
            const Y* lut = table.data<Y>();
            Y* dst = y.data<Y>();
            std::int64_t i = 0;
#if defined(__AVX512VBMI__)
            // int8 -> int8: 64 elements per step, the 256-entry table held in four registers.
            // vpermi2b looks up 7 bits in two of them; the index's top bit picks which pair.
            if constexpr (sizeof(X) == 1 && sizeof(Y) == 1) {
                const __m512i t0 = _mm512_loadu_si512(lut), t1 = _mm512_loadu_si512(lut + 64);
                const __m512i t2 = _mm512_loadu_si512(lut + 128), t3 = _mm512_loadu_si512(lut + 192);
                const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));  // q - (-128)
                for (; i + 64 <= x.size(); i += 64) {
                    const __m512i index = _mm512_xor_si512(_mm512_loadu_si512(src + i), flip);
                    const __m512i low = _mm512_permutex2var_epi8(t0, index, t1);
                    const __m512i high = _mm512_permutex2var_epi8(t2, index, t3);
                    _mm512_storeu_si512(dst + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(index), low, high));
                }
            }
#endif
            for (; i < x.size(); ++i) dst[i] = lut[std::int64_t{src[i]} - offset];
        });
    });
    call.output() = std::move(y);
}

// PRelu with a per-channel integer slope (see the top of this file).
inline void prelu(const kernel_call& call) {
    if (call.attrs().has(ktc::fixed::attr::lookup_table)) return lookup(call);
    const tensor& x = call.input(0);
    const detail::value_format in = detail::input_format(call, 0);
    const detail::value_format out = detail::output_format(call);
    if (!call.has_input(1)) throw call.fail("the slope (input 1) is missing");
    const tensor& slope = call.input(1);
    if (is_floating(slope.type()) || slope.type() == dtype::boolean)
        throw call.fail(std::string("the slope must be an integer tensor, got ") + name_of(slope.type()) +
                        " (not a quantized graph?)");
    std::vector<int> radix;
    if (call.attrs().has(ktc::fixed::attr::slope_radix))
        radix = detail::per_channel(call, ktc::fixed::attr::slope_radix, slope.size());
    else if (detail::is_quantized_input(call, 1))
        radix.assign(static_cast<std::size_t>(slope.size()), detail::input_format(call, 1).radix);
    else throw call.fail(std::string("the slope has neither ") + ktc::fixed::attr::slope_radix + " nor an input radix");
    const shape_t shape = floating::elementwise::broadcast_or_fail(call, x.shape(), slope.shape());
    if (shape != x.shape())
        throw call.fail("slope of shape " + to_string(slope.shape()) + " does not broadcast to the input's " +
                        to_string(x.shape()));
    const std::vector<std::int64_t> q_s = slope.to_vector<std::int64_t>();
    for (const std::int64_t q : q_s)
        if (q < ktc::fixed::min_of(16) || q > ktc::fixed::max_of(16))
            throw call.fail("slope value " + std::to_string(q) + " is wider than 16 bits");
    // Element k of the slope, as a broadcast operand: the kernel reads q_s[k] and radix[k].
    tensor index(dtype::int32, slope.shape());
    for (std::int64_t k = 0; k < index.size(); ++k) index.data<std::int32_t>()[k] = static_cast<std::int32_t>(k);
    const ktc::fixed::requantizer positive = ktc::fixed::requantizer_to(in, out);
    std::vector<ktc::fixed::requantizer> negative(radix.size());
    for (std::size_t k = 0; k < radix.size(); ++k)
        negative[k] = ktc::fixed::requantizer_to(in.radix + radix[k], in.scale, out);
    tensor y;
    detail::visit_activation(call, x.type(), [&](auto xt) {
        detail::visit_activation(call, ktc::fixed::integer_type(out.bits), [&](auto yt) {
            using X = decltype(xt);
            using Y = decltype(yt);
            y = floating::elementwise::binary_apply<X, std::int32_t, Y>(x, index, shape, [&](X q, std::int32_t k) -> Y {
                if (q >= 0) return static_cast<Y>(positive(q));
                return static_cast<Y>(negative[static_cast<std::size_t>(k)](std::int64_t{q} * q_s[k]));
            });
        });
    });
    call.output() = std::move(y);
}

// The unary ops the quantizer tabulates (docs/numerics.md, "Unary element-wise ops").
inline const std::vector<std::string>& lookup_ops() {
    static const std::vector<std::string> names = ops::with(ops::lookup_unary);
    return names;
}

KTC_DECL void add_elementwise_kernels(kernel_table& t);

}  // namespace ktc::kernels::fixed

#if KTC_HEADER_ONLY
#include "ktc/kernels/fixed/elementwise.ipp"
#endif
