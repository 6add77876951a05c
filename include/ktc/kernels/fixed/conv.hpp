// ktc/kernels/fixed/conv.hpp - Conv and ConvTranspose on integers (docs/numerics.md, "How each
// NPU op computes"), any number of spatial axes, groups, depthwise, dilations, pads, strides.
//
// Operands (fixed/annotations.hpp):
//   input 0  X  int8/int16 activation at radix r_in (ktc.input_radix[0], ktc.input_bits[0])
//   input 1  W  int8/int16 constant weight; radix r_w[m] and scale s_w[m] per output channel m
//               (ktc.weight_radix, ktc.weight_scale, size M or 1); an activation weight
//               (ktc.input_radix[1]) is accepted too
//   input 2  B  optional int32 bias at its channel's accumulator scale; radix r_b[m] per channel
//               (ktc.bias_radix), r_b[m] <= r_in + r_w[m]
//   output   Y  int8/int16 at radix r_out, scale s_out, width bits_out (ktc.output_*[0])
//
// Per output element of channel m:
//   acc = (B[m] << (r_in + r_w[m] - r_b[m])) + sum over (c, tap) of X * W  (radix r_in + r_w[m], scale s_in * s_w[m])
//   y   = saturate(round(acc * M[m] * 2^-S[m]), bits_out)  with M[m] * 2^-S[m] = 2^(r_out - r_in - r_w[m]) *
//         s_out / (s_in * s_w[m]) (fixed::requantizer_to; a pure shift when the scales agree)
//   y   = min(max(y, lo), hi)  with lo, hi = quantize(ktc.fused_min / ktc.fused_max) at the output format
//
// Accumulator: int64. Each product is below 2^15 * 2^15 = 2^30 in magnitude; a sum over K = C/g *
// taps products (K < 2^31: a weight holds fewer than 2^31 elements) stays below 2^61, and the bias
// is below 2^31 * 2^30 (its shift is at most 30, checked): |acc| < 2^62, what fixed::round_shift
// requires. An int32 accumulator would suffice for int8 up to 2^17 products (docs/numerics.md).
//
// conv_reference and conv_transpose_reference are the plain kernels: one loop nest over the window
// (the float kernels' for_each_tap visits every (tap, output, input index) of a window). Conv on
// int8 operands runs, in order of preference: conv_depthwise (a 2-D depthwise conv through the
// float depthwise kernel, exact below 1024 taps), conv_vnni (AVX-512 VNNI builds,
// kernels/fixed/conv_vnni.hpp), conv_in_float (the float conv loop on chunks of input channels
// whose sums are provably exact in float, see float_exact_chunks); other operands, and what none
// of those takes, run conv_im2col (im2col + a vectorizable product, int32 accumulation for int8
// where it cannot overflow). All are tested bit-exact against conv_reference.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ktc/kernels/fixed/conv_vnni.hpp"
#include "ktc/kernels/fixed/requantize.hpp"
#include "ktc/kernels/float/conv.hpp"
#include "ktc/kernels/kernel.hpp"
#include "ktc/kernels/window.hpp"

namespace ktc::kernels::fixed {

namespace conv_detail {

// Everything a conv loop needs, resolved and checked before any arithmetic.
struct conv_params {
    window w;  // geometry of the forward window (input -> output)
    std::int64_t batch = 0, in_channels = 0, out_channels = 0, group = 1;
    detail::accumulators acc;        // per output channel: radix r_in + r_w[m], requantizer to out
    std::vector<std::int64_t> bias;  // per output channel at acc.radix[m]; empty = none
    detail::value_format out;
    detail::clamp_bounds clamp{0, 0};

    std::int64_t in_per_group() const { return in_channels / group; }
    std::int64_t out_per_group() const { return out_channels / group; }
};

// Accumulators, bias, output format and clamp: the epilogue shared by Conv and ConvTranspose.
inline void resolve_epilogue(const kernel_call& call, conv_params& p, const detail::value_format& in) {
    p.out = detail::output_format(call);
    p.acc = detail::accumulators_of(call, in, p.out_channels, p.out);
    p.bias = detail::bias_at_accumulator(call, 2, p.acc.radix);
    p.clamp = detail::fused_bounds(call, p.out);
}

// One output element from its accumulator.
template <class Y>
Y finish(const conv_params& p, std::int64_t acc, std::int64_t m) {
    return static_cast<Y>(p.clamp.apply(p.acc.to_output[static_cast<std::size_t>(m)](acc)));
}

// The plain conv: for each image n and output channel m, acc[o] over every (c, tap).
template <class X, class W, class Y>
void conv_reference(const conv_params& p, const X* x, const W* wt, Y* y) {
    const window& w = p.w;
    const std::int64_t Cg = p.in_per_group(), Mg = p.out_per_group(), taps = w.kernel_size();
    const std::int64_t in = w.in_size(), out = w.out_size();
    std::vector<std::int64_t> acc(static_cast<std::size_t>(out));
    for (std::int64_t n = 0; n < p.batch; ++n)
        for (std::int64_t m = 0; m < p.out_channels; ++m) {
            const std::int64_t g = m / Mg;
            std::fill(acc.begin(), acc.end(), p.bias.empty() ? 0 : p.bias[m]);
            for (std::int64_t c = 0; c < Cg; ++c) {
                const X* xc = x + (n * p.in_channels + g * Cg + c) * in;
                const W* wc = wt + (m * Cg + c) * taps;
                floating::detail::for_each_tap(w, [&](std::int64_t tap, std::int64_t o, std::int64_t i) {
                    if (i >= 0) acc[o] += std::int64_t{xc[i]} * std::int64_t{wc[tap]};
                });
            }
            Y* ym = y + (n * p.out_channels + m) * out;
            for (std::int64_t o = 0; o < out; ++o) ym[o] = finish<Y>(p, acc[o], m);
        }
}

// The fast conv, bit-exact with conv_reference (tests/kernels/fixed/test_conv.cpp checks it on
// random shapes): per image and group, im2col gathers the window into columns
// cols[c * taps + tap, o] (0 in the padding), then each output channel is one pass of
// acc[o] += w[m, k] * cols[k, o] over k, a contiguous inner loop the compiler vectorizes.
// Acc is int32 when every product fits 2^14 (int8 x int8) and K = C/g * taps < 2^17, so that
// |sum| < 2^31 (docs/numerics.md); int64 otherwise. The bias is added in int64 afterwards.
template <class Acc, class X, class W, class Y>
void conv_im2col(const conv_params& p, const X* x, const W* wt, Y* y) {
    const window& w = p.w;
    const std::int64_t Cg = p.in_per_group(), Mg = p.out_per_group(), taps = w.kernel_size();
    const std::int64_t in = w.in_size(), out = w.out_size(), K = Cg * taps;
    std::vector<Acc> cols(static_cast<std::size_t>(K * out)), acc(static_cast<std::size_t>(out));
    for (std::int64_t n = 0; n < p.batch; ++n)
        for (std::int64_t g = 0; g < p.group; ++g) {
            for (std::int64_t c = 0; c < Cg; ++c) {
                const X* xc = x + (n * p.in_channels + g * Cg + c) * in;
                Acc* cc = cols.data() + c * taps * out;
                floating::detail::for_each_tap(w, [&](std::int64_t tap, std::int64_t o, std::int64_t i) {
                    cc[tap * out + o] = i < 0 ? Acc{0} : static_cast<Acc>(xc[i]);
                });
            }
            for (std::int64_t j = 0; j < Mg; ++j) {
                const std::int64_t m = g * Mg + j;
                const W* wm = wt + m * K;
                std::fill(acc.begin(), acc.end(), Acc{0});
                for (std::int64_t k = 0; k < K; ++k) {
                    const Acc wk = static_cast<Acc>(wm[k]);
                    if (wk == 0) continue;
                    const Acc* col = cols.data() + k * out;
                    Acc* a = acc.data();
                    for (std::int64_t o = 0; o < out; ++o) a[o] += wk * col[o];
                }
                const std::int64_t b = p.bias.empty() ? 0 : p.bias[m];
                Y* ym = y + (n * p.out_channels + m) * out;
                for (std::int64_t o = 0; o < out; ++o) ym[o] = finish<Y>(p, b + std::int64_t{acc[o]}, m);
            }
        }
}

// int8 operands through the float conv (floating::detail::conv_groups), exactly. Each output is
// a sum of products x * w; whatever order the float product adds them in, every partial sum is
// at most max|x| * sum_k |w[m, k]| in magnitude. When that bound is within 2^24, every partial
// sum is an integer a float holds exactly, so the float result is the integer accumulator
// (docs/numerics.md, "Accumulators"). Where the bound is larger, the input channels are split
// into chunks whose bounds fit, each chunk is one exact float conv, and the chunks add up in
// int32. The float kernels' blocking and vector code then serve both simulators.
constexpr std::int64_t float_exact = std::int64_t{1} << 24;

// The first input channel of each chunk (per group) and the end, or empty when one channel alone
// exceeds the bound (a kernel of more than 1024 taps) or int32 could not hold the sum.
inline std::vector<std::int64_t> float_exact_chunks(const conv_params& p, const std::int8_t* x, std::int64_t x_size,
                                                    const std::int8_t* wt) {
    // K products of at most 2^14 stay within 2^24 whatever the values: no need to look at them
    // (every depthwise conv and most small ones).
    if (p.in_per_group() * p.w.kernel_size() <= float_exact >> 14) return {0, p.in_per_group()};
    const auto magnitude = [](std::int8_t v) { return v < 0 ? -std::int32_t{v} : std::int32_t{v}; };
    std::int32_t x_max = 0;
    for (std::int64_t i = 0; i < x_size; ++i) x_max = std::max(x_max, magnitude(x[i]));
    const std::int64_t Cg = p.in_per_group(), taps = p.w.kernel_size(), M = p.out_channels;
    if (Cg * taps >= (std::int64_t{1} << 17)) return {};  // int32 sums (see fits_int32)
    // The common case first: every output channel's whole sum within the bound (one contiguous
    // pass over the weights).
    const std::int64_t K = Cg * taps;
    std::int64_t widest = 0;
    for (std::int64_t m = 0; m < M; ++m) {
        std::int32_t total = 0;  // below 2^17 * 2^7
        for (std::int64_t k = 0; k < K; ++k) total += magnitude(wt[m * K + k]);
        widest = std::max<std::int64_t>(widest, total);
    }
    if (widest * x_max <= float_exact) return {0, Cg};
    // l1[c * M + m] = sum over taps of |w[m, c, tap]|
    std::vector<std::int64_t> l1(static_cast<std::size_t>(Cg * M));
    for (std::int64_t m = 0; m < M; ++m)
        for (std::int64_t c = 0; c < Cg; ++c) {
            std::int32_t sum = 0;
            for (std::int64_t t = 0; t < taps; ++t) sum += magnitude(wt[(m * Cg + c) * taps + t]);
            l1[c * M + m] = sum;
        }
    std::vector<std::int64_t> starts{0}, sum(static_cast<std::size_t>(M), 0);
    for (std::int64_t c = 0; c < Cg; ++c) {
        const std::int64_t* row = l1.data() + c * M;
        std::int64_t most = 0;
        for (std::int64_t m = 0; m < M; ++m) most = std::max(most, sum[m] + row[m]);
        if (most * x_max > float_exact) {
            if (starts.back() == c) return {};
            starts.push_back(c);
            std::fill(sum.begin(), sum.end(), 0);
        }
        for (std::int64_t m = 0; m < M; ++m) sum[m] += row[m];
    }
    starts.push_back(Cg);
    return starts;
}

// The integer an accumulator holds: an int32 as it is, a float with an integer value below 2^51
// in magnitude by adding 1.5 * 2^52, which makes it the low bits of a double whose unit is 1. No
// float-to-int conversion, which GCC will not vectorize while float exceptions may be observed
// (-ftrapping-math, the default).
inline std::int64_t integer_of(std::int32_t v) { return v; }
inline std::int64_t integer_of(float v) {
    constexpr double magic = 6755399441055744.0;  // 1.5 * 2^52
    return std::bit_cast<std::int64_t>(double(v) + magic) - std::bit_cast<std::int64_t>(magic);
}

// The epilogue of output channel m, its bias included: finish(bias + acc) for int32
// accumulators. With a bias below 2^31 the sum stays below 2^32, so a requantizer that
// fixed::unguarded() takes (every MAC output the quantizer writes) runs in its biased form, 16
// outputs at a time (`apply16`); other formats go through finish() one by one.
template <class Y>
class channel_output {
public:
    channel_output(const conv_params& p, std::int64_t m, std::int64_t bias) : p_(p), m_(m), bias_(bias) {
        constexpr std::int64_t limit = std::int64_t{1} << 31;
        const auto fast = ktc::fixed::unguarded(p.acc.to_output[static_cast<std::size_t>(m)], p.clamp.lo, p.clamp.hi);
        if (fast && bias > -limit && bias < limit) step_ = fast->with_bias(bias);
    }

    // y[0, n) from acc[0, n); a last block of fewer than 16 goes through a padded copy.
    void finish(const std::int32_t* acc, std::int64_t n, Y* y) const {
        constexpr std::int64_t lanes = 16;
        std::int64_t i = 0;
        if (step_) {
            const auto step = step_->lanes();
            for (; i + lanes <= n; i += lanes) step.apply16(simd::load(acc + i), y + i);
            if (i < n) {
                std::int32_t a[lanes] = {};
                Y q[lanes];
                std::copy(acc + i, acc + n, a);
                step.apply16(simd::load(a), q);
                std::copy(q, q + (n - i), y + i);
            }
            return;
        }
        for (; i < n; ++i) y[i] = conv_detail::finish<Y>(p_, bias_ + acc[i], m_);
    }

    // Calls body(finish16), where finish16(simd::i32x16 acc, Y* y) sets y[0, 16) from 16 int32
    // accumulators. Where the vector requantizer applies, finish16 holds its constants by value,
    // so that the loop in body keeps them in registers (a store through Y* may alias this
    // object's fields); body is compiled for it and for the general path.
    template <class Body>
    void with_finish16(Body&& body) const {
        if (step_) {
            const auto step = step_->lanes();
            body([step](simd::i32x16 acc, Y* y) { step.apply16(acc, y); });
            return;
        }
        body([this](simd::i32x16 acc, Y* y) {
            for (std::int64_t i = 0; i < simd::lanes; ++i) y[i] = conv_detail::finish<Y>(p_, bias_ + acc[i], m_);
        });
    }

private:
    const conv_params& p_;
    std::int64_t m_, bias_;
    std::optional<ktc::fixed::unguarded_requantizer::biased> step_;
};

// y[i] = finish(bias + acc[i]) for one output channel m, acc[i] integers below 2^31 (int32, or
// floats below 2^24, converted 16 at a time).
template <class Y, class A>
void finish_channel(const conv_params& p, std::int64_t m, const A* acc, std::int64_t bias, Y* y, std::int64_t n) {
    const channel_output<Y> output(p, m, bias);
    if constexpr (std::is_same_v<A, std::int32_t>) {
        output.finish(acc, n, y);
    } else {
        constexpr std::int64_t lanes = 16;
        for (std::int64_t i = 0; i < n; i += lanes) {
            const std::int64_t count = std::min(lanes, n - i);
            std::int32_t a[lanes];
            for (std::int64_t j = 0; j < count; ++j) a[j] = static_cast<std::int32_t>(integer_of(acc[i + j]));
            output.finish(a, count, y + i);
        }
    }
}

// The conv of int8 x and wt through float, one float conv per chunk of input channels (`chunks`
// from float_exact_chunks), then the epilogue.
template <class Y>
void conv_in_float(const conv_params& p, const std::vector<std::int64_t>& chunks, const std::int8_t* x,
                   const std::int8_t* wt, Y* y) {
    const std::int64_t out = p.w.out_size(), in = p.w.in_size(), taps = p.w.kernel_size();
    const std::int64_t Cg = p.in_per_group(), G = p.group, M = p.out_channels;
    const std::int64_t y_size = p.batch * M * out;
    const std::int64_t widest = [&] {
        std::int64_t w = 0;
        for (std::size_t k = 1; k < chunks.size(); ++k) w = std::max(w, chunks[k] - chunks[k - 1]);
        return w;
    }();
    // One scratch per thread, grown to the largest conv and kept: no allocation, zeroing or page
    // faults per call (the simulators run a sample per thread).
    thread_local std::vector<float> scratch;
    thread_local std::vector<std::int32_t> sums;
    const std::int64_t x_chunk = p.batch * G * widest * in, w_chunk = M * widest * taps;
    if (scratch.size() < std::size_t(x_chunk + w_chunk + y_size))
        scratch.resize(std::size_t(x_chunk + w_chunk + y_size));
    float* xf = scratch.data();
    float* wf = xf + x_chunk;
    float* acc = wf + w_chunk;
    const bool one = chunks.size() == 2;
    if (!one) sums.assign(static_cast<std::size_t>(y_size), 0);
    const float inf = std::numeric_limits<float>::infinity();
    for (std::size_t k = 0; k + 1 < chunks.size(); ++k) {
        const std::int64_t c0 = chunks[k], width = chunks[k + 1] - c0;
        for (std::int64_t ng = 0; ng < p.batch * G; ++ng)  // channels [c0, c0 + width) of each image and group
            std::copy(x + (ng * Cg + c0) * in, x + (ng * Cg + c0 + width) * in, xf + ng * width * in);
        for (std::int64_t m = 0; m < M; ++m)
            std::copy(wt + (m * Cg + c0) * taps, wt + (m * Cg + c0 + width) * taps, wf + m * width * taps);
        floating::detail::conv_groups({p.w, p.batch, G * width, M, G}, xf, wf, acc, {nullptr, -inf, inf});
        if (!one)
            for (std::int64_t i = 0; i < y_size; ++i) sums[i] += static_cast<std::int32_t>(integer_of(acc[i]));
    }
    for (std::int64_t n = 0; n < p.batch; ++n)
        for (std::int64_t m = 0; m < M; ++m) {
            const std::int64_t row = (n * M + m) * out;
            const std::int64_t bias = p.bias.empty() ? 0 : p.bias[m];
            if (one) finish_channel(p, m, acc + row, bias, y + row, out);
            else finish_channel(p, m, sums.data() + row, bias, y + row, out);
        }
}

// Whether conv_depthwise runs this conv: int8 operands (checked by the caller), one input and one
// output channel per group, a 2-D window, and at most 1024 taps so that every partial sum
// (taps products of at most 2^14) is below 2^24, exact in float.
inline bool depthwise_in_float(const conv_params& p) {
    return p.in_per_group() == 1 && p.out_per_group() == 1 && p.w.rank() == 2 &&
           p.w.kernel_size() <= (float_exact >> 14);
}

// A depthwise conv of int8 x and wt through the float depthwise kernel, in one pass per channel:
// the int8 image is laid into the kernel's float planes as it is, and each vector of 16 exact
// sums is converted and requantized in registers (no float copy of the input, no float output).
template <class Y>
void conv_depthwise(const conv_params& p, const std::int8_t* x, const std::int8_t* wt, Y* y) {
    thread_local floating::detail::depthwise_planes planes;
    planes.reset(p.w);
    const std::int64_t taps = p.w.kernel_size(), in = p.w.in_size(), out = p.w.out_size(), C = p.in_channels;
    std::vector<float> k(static_cast<std::size_t>(taps));
    for (std::int64_t n = 0; n < p.batch; ++n)
        for (std::int64_t m = 0; m < C; ++m) {
            std::copy(wt + m * taps, wt + (m + 1) * taps, k.begin());
            const channel_output<Y> output(p, m, p.bias.empty() ? 0 : p.bias[m]);
            output.with_finish16([&](const auto& finish16) {
                planes.run_2d(x + (n * C + m) * in, k.data(), 0.f, y + (n * C + m) * out,
                              [&](simd::f32x16 sums, Y* dst) { finish16(simd::to_int32(sums), dst); });
            });
        }
}

#if KTC_CONV_VNNI
// The weights of every group packed for vnni::product_rows (a conv node's prepared data: the
// simulators pack them once per model, kernels/kernel.hpp).
inline std::vector<vnni::packed_weights> pack_groups(const conv_params& p, const std::int8_t* wt) {
    const std::int64_t Mg = p.out_per_group(), K = p.in_per_group() * p.w.kernel_size();
    std::vector<vnni::packed_weights> packed(static_cast<std::size_t>(p.group));
    for (std::int64_t g = 0; g < p.group; ++g) vnni::pack_weights(wt + g * Mg * K, Mg, K, packed[std::size_t(g)]);
    return packed;
}

// The conv of int8 x and the weights packed per group (pack_groups) on VNNI
// (kernels/fixed/conv_vnni.hpp, where vnni::applies), then the epilogue: per image the output
// positions go in bands whose columns take ~512 KiB (whole output rows of a 2-D conv), and per
// band each block of 8 output channels is summed, corrected for the +128 and requantized.
template <class Y>
void conv_vnni(const conv_params& p, const std::int8_t* x, const std::vector<vnni::packed_weights>& weights, Y* y) {
    const window& w = p.w;
    const std::int64_t Cg = p.in_per_group(), Mg = p.out_per_group(), M = p.out_channels;
    const std::int64_t in = w.in_size(), out = w.out_size(), K = Cg * w.kernel_size();
    const bool pointwise = floating::detail::is_pointwise(w);
    // A 1x1 conv's positions are one flat row each (any rank); a 2-D conv's bands are whole rows.
    const std::int64_t row = pointwise ? 1 : w.out[1], rows = out / row;
    constexpr std::int64_t band_bytes = 512 * 1024;
    const std::int64_t band_rows = std::clamp<std::int64_t>(band_bytes / std::max<std::int64_t>(K * row, 1), 1, rows);
    const auto round_up = [](std::int64_t v) { return (v + vnni::lanes - 1) / vnni::lanes * vnni::lanes; };
    const std::int64_t stride_most = round_up(band_rows * row);
    // One scratch per thread, grown to the largest conv and kept (the simulators run a sample per
    // thread).
    thread_local std::vector<std::int8_t> cols;
    thread_local std::vector<std::uint8_t> quads;
    thread_local std::vector<std::int32_t> sums;
    if (!pointwise && cols.size() < std::size_t(K * band_rows * row)) cols.resize(std::size_t(K * band_rows * row));
    const std::int64_t quad_bytes = (K + 3) / 4 * 4 * stride_most;
    if (quads.size() < std::size_t(quad_bytes)) quads.resize(std::size_t(quad_bytes));
    if (sums.size() < std::size_t(vnni::tile_rows * stride_most))
        sums.resize(std::size_t(vnni::tile_rows * stride_most));
    for (std::int64_t g = 0; g < p.group; ++g) {
        const vnni::packed_weights& packed = weights[std::size_t(g)];
        const std::int64_t block_bytes = packed.quads * vnni::tile_rows * 4;
        for (std::int64_t n = 0; n < p.batch; ++n) {
            const std::int8_t* xg = x + (n * p.in_channels + g * Cg) * in;
            for (std::int64_t r0 = 0; r0 < rows; r0 += band_rows) {
                const std::int64_t r1 = std::min(rows, r0 + band_rows), width = (r1 - r0) * row,
                                   stride = round_up(width);
                if (pointwise) {
                    vnni::interleave(xg + r0, in, K, width, stride, quads.data());
                } else {
                    floating::detail::im2col(xg, Cg, w, cols.data(), r0, r1);
                    vnni::interleave(cols.data(), width, K, width, stride, quads.data());
                }
                for (std::int64_t m0 = 0; m0 < Mg; m0 += vnni::tile_rows) {
                    vnni::product_rows(packed.bytes.data() + m0 / vnni::tile_rows * block_bytes, quads.data(), stride,
                                       packed.quads, width, sums.data());
                    for (std::int64_t i = 0; i < std::min(vnni::tile_rows, Mg - m0); ++i) {
                        const std::int64_t m = g * Mg + m0 + i;
                        std::int32_t* s = sums.data() + i * stride;
                        const std::uint32_t offset = packed.offset[std::size_t(m0 + i)];
                        const channel_output<Y> output(p, m, p.bias.empty() ? 0 : p.bias[m]);
                        Y* ym = y + (n * M + m) * out + r0 * row;
                        // The correction applied in the registers the epilogue reads; a last
                        // partial vector corrected in place and finished through a padded copy.
                        std::int64_t j = 0;
                        output.with_finish16([&](const auto& finish16) {
                            for (; j + simd::lanes <= width; j += simd::lanes)
                                finish16(simd::wrapping_sub(simd::load(s + j), offset), ym + j);
                        });
                        for (std::int64_t k = j; k < width; ++k)
                            s[k] = static_cast<std::int32_t>(static_cast<std::uint32_t>(s[k]) - offset);
                        output.finish(s + j, width - j, ym + j);
                    }
                }
            }
        }
    }
}
#endif

// Whether conv_im2col may accumulate in int32 for these operand types and reduction length.
template <class X, class W>
bool fits_int32(const conv_params& p) {
    return sizeof(X) == 1 && sizeof(W) == 1 && p.in_per_group() * p.w.kernel_size() < (std::int64_t{1} << 17);
}

// The plain transposed conv: every input element scatters X * W into the output positions its
// taps reach (the adjoint of conv_reference's gather), then the epilogue per output element.
template <class X, class W, class Y>
void conv_transpose_reference(const conv_params& p, const X* x, const W* wt, Y* y) {
    const window& w = p.w;  // w.in: output extent, w.out: input extent (the forward conv's view)
    const std::int64_t Cg = p.in_per_group(), Mg = p.out_per_group(), taps = w.kernel_size();
    const std::int64_t in = w.out_size(), out = w.in_size();
    std::vector<std::int64_t> acc(static_cast<std::size_t>(out));
    for (std::int64_t n = 0; n < p.batch; ++n)
        for (std::int64_t m = 0; m < p.out_channels; ++m) {
            const std::int64_t g = m / Mg, j = m % Mg;
            std::fill(acc.begin(), acc.end(), p.bias.empty() ? 0 : p.bias[m]);
            for (std::int64_t c = 0; c < Cg; ++c) {
                const X* xc = x + (n * p.in_channels + g * Cg + c) * in;
                const W* wc = wt + ((g * Cg + c) * Mg + j) * taps;  // weight [C, M/g, k...]
                floating::detail::for_each_tap(w, [&](std::int64_t tap, std::int64_t o, std::int64_t i) {
                    if (i >= 0) acc[i] += std::int64_t{xc[o]} * std::int64_t{wc[tap]};
                });
            }
            Y* ym = y + (n * p.out_channels + m) * out;
            for (std::int64_t o = 0; o < out; ++o) ym[o] = finish<Y>(p, acc[o], m);
        }
}

// Runs body.template operator()<X, W, Y>() for the dtypes of X, W and the output width.
template <class Body>
void visit_conv_types(const kernel_call& call, dtype x, dtype w, int out_bits, Body&& body) {
    detail::visit_activation(call, x, [&](auto xt) {
        detail::visit_activation(call, w, [&](auto wt) {
            detail::visit_activation(call, ktc::fixed::integer_type(out_bits), [&](auto yt) { body(xt, wt, yt); });
        });
    });
}

inline void check_weight(const kernel_call& call, const tensor& x, const tensor& wt) {
    if (x.rank() < 3 || wt.rank() != x.rank())
        throw call.fail("input " + to_string(x.shape()) + " and weight " + to_string(wt.shape()) +
                        " must both be N x C x spatial...");
    if (wt.type() != dtype::int8 && wt.type() != dtype::int16)
        throw call.fail(std::string("weight must be an int8 or int16 tensor, got ") + name_of(wt.type()));
}

}  // namespace conv_detail

// Conv's parameters from the node and its operands, every precondition checked.
inline conv_detail::conv_params resolve_conv(const kernel_call& call) {
    using namespace conv_detail;
    const tensor& x = call.input(0);
    const tensor& wt = call.input(1);
    const detail::value_format in = detail::input_format(call, 0);
    check_weight(call, x, wt);
    conv_params p;
    p.batch = x.dim(0);
    p.in_channels = x.dim(1);
    p.out_channels = wt.dim(0);
    p.group = call.attrs().get_int("group", 1);
    if (p.group < 1 || p.in_channels % p.group || p.out_channels % p.group || wt.dim(1) != p.in_channels / p.group)
        throw call.fail("group " + std::to_string(p.group) + " does not divide input channels " +
                        std::to_string(p.in_channels) + " and weight " + to_string(wt.shape()));
    const shape_t spatial(x.shape().begin() + 2, x.shape().end());
    const shape_t kernel(wt.shape().begin() + 2, wt.shape().end());
    if (call.attrs().has("kernel_shape") && call.attrs().get_ints("kernel_shape") != kernel)
        throw call.fail("kernel_shape does not match the weight");
    p.w = resolve_window(call, spatial, kernel);
    resolve_epilogue(call, p, in);
    return p;
}

inline void conv(const kernel_call& call) {
    using namespace conv_detail;
    const tensor& x = call.input(0);
    const tensor& wt = call.input(1);
    const conv_params p = resolve_conv(call);
    shape_t out_shape{p.batch, p.out_channels};
    out_shape.insert(out_shape.end(), p.w.out.begin(), p.w.out.end());
    tensor y(ktc::fixed::integer_type(p.out.bits), out_shape);
    visit_conv_types(call, x.type(), wt.type(), p.out.bits, [&](auto xt, auto wt_tag, auto yt) {
        using X = decltype(xt);
        using W = decltype(wt_tag);
        using Y = decltype(yt);
        if constexpr (sizeof(X) == 1 && sizeof(W) == 1) {
            if (depthwise_in_float(p)) {
                conv_depthwise(p, x.data<X>(), wt.data<W>(), y.data<Y>());
                return;
            }
#if KTC_CONV_VNNI
            if (vnni::applies(p)) {
                const auto packed =
                    call.prepared<std::vector<vnni::packed_weights>>(1, [&] { return pack_groups(p, wt.data<W>()); });
                conv_vnni(p, x.data<X>(), *packed, y.data<Y>());
                return;
            }
#endif
            const std::vector<std::int64_t> chunks = float_exact_chunks(p, x.data<X>(), x.size(), wt.data<W>());
            if (!chunks.empty()) {
                conv_in_float(p, chunks, x.data<X>(), wt.data<W>(), y.data<Y>());
                return;
            }
        }
        if (fits_int32<X, W>(p)) conv_im2col<std::int32_t, X, W, Y>(p, x.data<X>(), wt.data<W>(), y.data<Y>());
        else conv_im2col<std::int64_t, X, W, Y>(p, x.data<X>(), wt.data<W>(), y.data<Y>());
    });
    call.output() = std::move(y);
}

// ConvTranspose geometry as ONNX defines it (strides, dilations, pads or auto_pad, output_padding,
// output_shape), the same rule as the float kernel's: the output is the input of the forward
// conv whose window is returned (w.in = output extent, w.out = input extent).
inline window conv_transpose_window(const kernel_call& call, const shape_t& in, const shape_t& kernel) {
    const auto& a = call.attrs();
    const std::size_t r = in.size();
    const shape_t strides = a.get_ints("strides", shape_t(r, 1));
    const shape_t dilations = a.get_ints("dilations", shape_t(r, 1));
    const shape_t output_padding = a.get_ints("output_padding", shape_t(r, 0));
    if (strides.size() != r || dilations.size() != r || output_padding.size() != r)
        throw call.fail("strides, dilations and output_padding need one value per spatial axis");
    shape_t pads = a.get_ints("pads", shape_t(2 * r, 0));
    if (pads.size() != 2 * r) throw call.fail("pads must have 2 values per spatial axis");
    const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
    const shape_t output_shape = a.get_ints("output_shape");
    window w;
    w.kernel = kernel;
    w.strides = strides;
    w.dilations = dilations;
    w.out = in;
    w.in.resize(r);
    for (std::size_t d = 0; d < r; ++d) {
        if (strides[d] < 1 || dilations[d] < 1) throw call.fail("strides and dilations must be positive");
        const std::int64_t full = strides[d] * (in[d] - 1) + output_padding[d] + (kernel[d] - 1) * dilations[d] + 1;
        if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            if (!output_shape.empty() && output_shape.size() < r) throw call.fail("output_shape is too short");
            const std::int64_t target =
                !output_shape.empty() ? output_shape[output_shape.size() - r + d] : in[d] * strides[d];
            const std::int64_t total = full - target;
            pads[d] = total < 0 ? 0 : auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            pads[d + r] = total - pads[d];
        }
        w.in[d] = full - pads[d] - pads[d + r];
        if (w.in[d] < 0) throw call.fail("pads remove more than the output holds");
    }
    w.pads_begin.assign(pads.begin(), pads.begin() + static_cast<std::ptrdiff_t>(r));
    w.pads_end.assign(pads.begin() + static_cast<std::ptrdiff_t>(r), pads.end());
    return w;
}

inline void conv_transpose(const kernel_call& call) {
    using namespace conv_detail;
    const tensor& x = call.input(0);
    const tensor& wt = call.input(1);
    const detail::value_format in = detail::input_format(call, 0);
    check_weight(call, x, wt);
    conv_params p;
    p.batch = x.dim(0);
    p.in_channels = x.dim(1);
    p.group = call.attrs().get_int("group", 1);
    if (p.group < 1 || p.in_channels % p.group || wt.dim(0) != p.in_channels)
        throw call.fail("weight " + to_string(wt.shape()) + " must be [C, M/group, k...]");
    p.out_channels = wt.dim(1) * p.group;
    const shape_t spatial(x.shape().begin() + 2, x.shape().end());
    const shape_t kernel(wt.shape().begin() + 2, wt.shape().end());
    p.w = conv_transpose_window(call, spatial, kernel);
    resolve_epilogue(call, p, in);

    shape_t out_shape{p.batch, p.out_channels};
    out_shape.insert(out_shape.end(), p.w.in.begin(), p.w.in.end());
    tensor y(ktc::fixed::integer_type(p.out.bits), out_shape);
    visit_conv_types(call, x.type(), wt.type(), p.out.bits, [&](auto xt, auto wt_tag, auto yt) {
        using X = decltype(xt);
        using W = decltype(wt_tag);
        using Y = decltype(yt);
        conv_transpose_reference<X, W, Y>(p, x.data<X>(), wt.data<W>(), y.data<Y>());
    });
    call.output() = std::move(y);
}

KTC_DECL void add_conv_kernels(kernel_table& t);

}  // namespace ktc::kernels::fixed

#if KTC_HEADER_ONLY
#include "ktc/kernels/fixed/conv.ipp"
#endif
