// ktc/kernels/fixed/pool.hpp - pooling on integers (docs/numerics.md), tensors [N, C, spatial...].
//
// MaxPool, GlobalMaxPool: the integer max over the window (padding never wins), radix unchanged;
//   if the output format differs from the input's (radix, scale or width), each max is requantized.
//   MaxPool's optional Indices output is not an NPU feature: such a node runs through the CPU
//   path (fallback.hpp), which computes it in float on the dequantized input.
// AveragePool, GlobalAveragePool: the window sum S (int64) times the real factor
//   f = 2^(r_out - r_in) * s_out / s_in / count as fixed::to_multiplier(f) = m * 2^-s (15-bit m), rounded once:
//   y = saturate(multiply_shift(S, m, s), bits_out). `count` is ONNX's: the taps inside the input
//   (count_include_pad = 0), or inside the padded input [-pad_begin, in + pad_end) with
//   count_include_pad = 1 (a ceil_mode window reaching past the end padding counts only up to it).
//   |S| <= 2^15 * count and m < 2^15, so |S * m| < 2^30 * count < 2^61 for any real window.
//
// Window geometry (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode) is
// kernels::resolve_window's, shared with the float kernels and the compiler.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ktc/kernels/fixed/fallback.hpp"
#include "ktc/kernels/fixed/requantize.hpp"
#include "ktc/kernels/float/conv.hpp"
#include "ktc/kernels/kernel.hpp"
#include "ktc/kernels/window.hpp"

namespace ktc::kernels::fixed {

namespace pool_detail {

inline window pool_window(const kernel_call& call, const tensor& x) {
    if (x.rank() < 3) throw call.fail("input must be [N, C, spatial...], got " + to_string(x.shape()));
    if (!call.attrs().has("kernel_shape")) throw call.fail("attribute kernel_shape is required");
    const shape_t spatial(x.shape().begin() + 2, x.shape().end());
    for (auto d : spatial)
        if (d < 1) throw call.fail("empty spatial axis in input shape " + to_string(x.shape()));
    return resolve_window(call, spatial, call.attrs().get_ints("kernel_shape"),
                          call.attrs().get_int("ceil_mode", 0) != 0);
}

inline shape_t pooled_shape(const tensor& x, const shape_t& spatial) {
    shape_t s{x.dim(0), x.dim(1)};
    s.insert(s.end(), spatial.begin(), spatial.end());
    return s;
}

// The divisor of every output position of an average pool (row-major over w.out): the product
// over axes of the taps inside [0, in) or, with include_pad, inside [-pad_begin, in + pad_end).
inline std::vector<std::int64_t> window_counts(const window& w, bool include_pad) {
    const std::size_t r = w.rank();
    std::vector<std::vector<std::int64_t>> per_axis(r);
    for (std::size_t d = 0; d < r; ++d) {
        const std::int64_t lo = include_pad ? -w.pads_begin[d] : 0;
        const std::int64_t hi = include_pad ? w.in[d] + w.pads_end[d] : w.in[d];
        per_axis[d].resize(static_cast<std::size_t>(w.out[d]));
        for (std::int64_t o = 0; o < w.out[d]; ++o) {
            std::int64_t n = 0;
            for (std::int64_t j = 0; j < w.kernel[d]; ++j) {
                const std::int64_t pos = o * w.strides[d] - w.pads_begin[d] + j * w.dilations[d];
                n += pos >= lo && pos < hi;
            }
            per_axis[d][o] = n;
        }
    }
    std::vector<std::int64_t> counts(static_cast<std::size_t>(w.out_size()));
    shape_t idx(r, 0);
    for (std::int64_t o = 0; o < w.out_size(); ++o) {
        std::int64_t n = 1;
        for (std::size_t d = 0; d < r; ++d) n *= per_axis[d][idx[d]];
        counts[o] = n;
        for (std::size_t d = r; d-- > 0;)
            if (++idx[d] < w.out[d]) break;
            else idx[d] = 0;
    }
    return counts;
}

template <class Body>
void visit_in_out(const kernel_call& call, dtype x, int out_bits, Body&& body) {
    detail::visit_activation(call, x, [&](auto xt) {
        detail::visit_activation(call, ktc::fixed::integer_type(out_bits), [&](auto yt) { body(xt, yt); });
    });
}

// acc[o] = op folded over the input elements of output o's window, the padding skipped, from
// `init`. A 2-D window runs output by output over the window's rows clipped to the image (no
// test per element); a global pool is one contiguous pass; other ranks visit every tap.
template <class Acc, class X, class Op>
void fold_windows(const window& w, const X* xp, Acc init, Op op, Acc* acc) {
    if (w.rank() != 2) {
        std::fill(acc, acc + w.out_size(), init);
        floating::detail::for_each_tap(w, [&](std::int64_t, std::int64_t o, std::int64_t i) {
            if (i >= 0) acc[o] = op(acc[o], Acc{xp[i]});
        });
        return;
    }
    const std::int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
    const std::int64_t KH = w.kernel[0], KW = w.kernel[1], sh = w.strides[0], sw = w.strides[1];
    const std::int64_t dh = w.dilations[0], dw = w.dilations[1];
    if (OH == 1 && OW == 1 && KH == H && KW == W && dh == 1 && dw == 1 && w.pads_begin[0] == 0 &&
        w.pads_begin[1] == 0) {  // a global pool: one contiguous reduction the compiler vectorizes
        Acc a = init;
        std::int64_t i = 0;
        if constexpr (sizeof(X) == 1 && std::is_same_v<Op, std::plus<>>)
            // 8-bit sums in int32 lanes, 2^16 values at a time (each block below 2^23): four times
            // the lanes of widening every value to 64 bits.
            for (constexpr std::int64_t block = std::int64_t{1} << 16; i < H * W; i += block) {
                std::int32_t part = 0;
                for (std::int64_t j = i; j < std::min(H * W, i + block); ++j) part += xp[j];
                a = op(a, Acc{part});
            }
        for (; i < H * W; ++i) a = op(a, Acc{xp[i]});
        *acc = a;
        return;
    }
    // The taps [lo, hi) of a window starting at `start` (in input units) that land in [0, extent).
    const auto inside = [](std::int64_t start, std::int64_t taps, std::int64_t step, std::int64_t extent) {
        const std::int64_t lo = start >= 0 ? 0 : (-start + step - 1) / step;
        const std::int64_t hi = start >= extent ? 0 : std::min(taps, (extent - 1 - start) / step + 1);
        return std::pair{lo, std::max(lo, hi)};
    };
    for (std::int64_t oh = 0; oh < OH; ++oh) {
        const std::int64_t ih0 = oh * sh - w.pads_begin[0];
        const auto [kh_lo, kh_hi] = inside(ih0, KH, dh, H);
        for (std::int64_t ow = 0; ow < OW; ++ow) {
            const std::int64_t iw0 = ow * sw - w.pads_begin[1];
            const auto [kw_lo, kw_hi] = inside(iw0, KW, dw, W);
            Acc a = init;
            for (std::int64_t kh = kh_lo; kh < kh_hi; ++kh) {
                const X* row = xp + (ih0 + kh * dh) * W + iw0;
                for (std::int64_t kw = kw_lo; kw < kw_hi; ++kw) a = op(a, Acc{row[kw * dw]});
            }
            acc[oh * OW + ow] = a;
        }
    }
}

// The integer max of every window of every (n, c) plane, rescaled to `out`.
template <class X, class Y>
void max_pool_reference(const window& w, std::int64_t planes, const X* x, Y* y, ktc::fixed::requantizer to_out) {
    const std::int64_t in = w.in_size(), n_out = w.out_size();
    std::vector<std::int64_t> best(static_cast<std::size_t>(n_out));
    for (std::int64_t p = 0; p < planes; ++p) {
        fold_windows<std::int64_t>(
            w, x + p * in, ktc::fixed::min_of(static_cast<int>(8 * sizeof(X))),
            [](std::int64_t a, std::int64_t b) { return std::max(a, b); }, best.data());
        for (std::int64_t o = 0; o < n_out; ++o) y[p * n_out + o] = static_cast<Y>(to_out(best[o]));
    }
}

// The window sums of every (n, c) plane times the multiplier of 2^(r_out - r_in) / count.
template <class X, class Y>
void average_pool_reference(const window& w, std::int64_t planes, const X* x, Y* y,
                            const std::vector<ktc::fixed::scaled_multiplier>& factor, int out_bits) {
    const std::int64_t in = w.in_size(), n_out = w.out_size();
    std::vector<std::int64_t> sum(static_cast<std::size_t>(n_out));
    for (std::int64_t p = 0; p < planes; ++p) {
        fold_windows<std::int64_t>(w, x + p * in, 0, std::plus<>{}, sum.data());
        for (std::int64_t o = 0; o < n_out; ++o)
            y[p * n_out + o] = static_cast<Y>(ktc::fixed::saturate(
                ktc::fixed::multiply_shift(sum[o], factor[o].multiplier, factor[o].shift), out_bits));
    }
}

// 2^(r_out - r_in) * s_out / s_in / count for each output position (counts are positive).
inline std::vector<ktc::fixed::scaled_multiplier> average_factors(const kernel_call& call,
                                                                  const std::vector<std::int64_t>& counts,
                                                                  const detail::value_format& in,
                                                                  const detail::value_format& out) {
    std::vector<ktc::fixed::scaled_multiplier> f(counts.size());
    for (std::size_t o = 0; o < counts.size(); ++o) {
        if (counts[o] < 1) throw call.fail("a pooling window lies wholly in the padding");
        if (o > 0 && counts[o] == counts[o - 1]) f[o] = f[o - 1];
        else
            f[o] = ktc::fixed::to_multiplier(std::ldexp(out.scale / in.scale, out.radix - in.radix) /
                                             static_cast<double>(counts[o]));
    }
    return f;
}

// The window of a global pool: one output covering the whole plane.
inline window global_window(const kernel_call& call, const tensor& x) {
    if (x.rank() < 3) throw call.fail("input must be [N, C, spatial...], got " + to_string(x.shape()));
    window w;
    w.in.assign(x.shape().begin() + 2, x.shape().end());
    for (auto d : w.in)
        if (d < 1) throw call.fail("empty spatial extent in input shape " + to_string(x.shape()));
    w.kernel = w.in;
    const std::size_t r = w.in.size();
    w.strides.assign(r, 1);
    w.dilations.assign(r, 1);
    w.pads_begin.assign(r, 0);
    w.pads_end.assign(r, 0);
    w.out.assign(r, 1);
    return w;
}

template <bool Max>
void pool(const kernel_call& call, bool global) {
    const tensor& x = call.input(0);
    const detail::value_format in = detail::input_format(call, 0);
    const detail::value_format out = detail::output_format(call);
    const window w = global ? global_window(call, x) : pool_window(call, x);
    const std::int64_t planes = x.dim(0) * x.dim(1);
    tensor y(ktc::fixed::integer_type(out.bits), pooled_shape(x, w.out));
    std::vector<ktc::fixed::scaled_multiplier> factors;
    if constexpr (!Max) {
        const bool include_pad = call.attrs().get_int("count_include_pad", 0) != 0;
        factors = average_factors(call, window_counts(w, include_pad), in, out);
    }
    visit_in_out(call, x.type(), out.bits, [&](auto xt, auto yt) {
        using X = decltype(xt);
        using Y = decltype(yt);
        if constexpr (Max)
            max_pool_reference<X, Y>(w, planes, x.data<X>(), y.data<Y>(), ktc::fixed::requantizer_to(in, out));
        else average_pool_reference<X, Y>(w, planes, x.data<X>(), y.data<Y>(), factors, out.bits);
    });
    call.output() = std::move(y);
}

}  // namespace pool_detail

inline void max_pool(const kernel_call& call) {
    if (detail::wants_output(call, 1)) return run_in_float(call);  // Indices: a CPU node
    if (call.attrs().get_int("storage_order", 0) != 0 && call.attrs().get_int("storage_order", 0) != 1)
        throw call.fail("storage_order must be 0 or 1");
    pool_detail::pool<true>(call, false);
}
inline void average_pool(const kernel_call& call) { pool_detail::pool<false>(call, false); }
inline void global_max_pool(const kernel_call& call) { pool_detail::pool<true>(call, true); }
inline void global_average_pool(const kernel_call& call) { pool_detail::pool<false>(call, true); }

KTC_DECL void add_pool_kernels(kernel_table& t);

}  // namespace ktc::kernels::fixed

#if KTC_HEADER_ONLY
#include "ktc/kernels/fixed/pool.ipp"
#endif
