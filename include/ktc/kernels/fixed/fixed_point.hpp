// ktc/kernels/fixed/fixed_point.hpp - the only rounding and saturation code of ktc.
//
// Dynamic fixed point as the vendor's NPUs use it (docs/numerics.md): a real value v is held as
// an integer q of `bits` bits with v = q * 2^-radix. Every fixed-point kernel, the quantizer and
// both simulators convert, rescale and clamp through the functions below and nowhere else, so the
// .bie and .nef simulators agree bit for bit by construction.
//
// Rounding mode (one, everywhere): round half toward +infinity, i.e. floor(x + 1/2). For a
// right shift by s that is (x + 2^(s-1)) >> s with an arithmetic shift, which is what a shifter
// with a rounding bit computes in hardware; for float -> fixed it is floor(v * 2^radix + 0.5).
// Saturation: clamp to the two's-complement range [-2^(bits-1), 2^(bits-1) - 1].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <type_traits>

#include "ktc/core/error.hpp"
#include "ktc/core/tensor.hpp"

namespace ktc::fixed {

// Integer range of a `bits`-bit two's-complement value (bits in 2..32).
constexpr std::int64_t min_of(int bits) { return -(std::int64_t{1} << (bits - 1)); }
constexpr std::int64_t max_of(int bits) { return (std::int64_t{1} << (bits - 1)) - 1; }

// How far below its MAC op's accumulator radix a bias may sit: an int32 bias moved up by at most
// 30 bits stays below 2^62, and the 64-bit accumulator keeps its headroom.
inline constexpr int max_bias_shift = 30;

constexpr std::int64_t saturate(std::int64_t x, int bits) {
    const std::int64_t lo = min_of(bits), hi = max_of(bits);
    return x < lo ? lo : (x > hi ? hi : x);
}

// x * 2^-shift rounded half toward +infinity; a negative shift multiplies by 2^-shift exactly,
// clamped to the int64 range when it would overflow (callers saturate to their width after, so a
// clamp at 2^63 gives the same result as the exact product). Right shifts: |x| < 2^62 (64-bit
// accumulators of at most 2^14 * 2^31-term sums), so the rounding addend cannot overflow.
constexpr std::int64_t round_shift(std::int64_t x, int shift) {
    if (shift <= 0) {
        constexpr std::int64_t most = std::numeric_limits<std::int64_t>::max();
        if (x == 0) return 0;
        if (-shift >= 63) return x > 0 ? most : -most - 1;
        const std::int64_t limit = most >> -shift;
        if (x > limit) return most;
        if (x < -limit) return -most - 1;
        return x * (std::int64_t{1} << -shift);
    }
    if (shift >= 64) return 0;  // |x| <= 2^63: x * 2^-shift + 1/2 lies in [0, 1)
    if (shift == 63) return x >= (std::int64_t{1} << 62) ? 1 : (x < -(std::int64_t{1} << 62) ? -1 : 0);
    return (x + (std::int64_t{1} << (shift - 1))) >> shift;  // >> of a negative is arithmetic (C++20)
}

// Requantizes a value held at radix `from` to radix `to` and `bits` bits.
constexpr std::int64_t rescale(std::int64_t x, int from, int to, int bits) {
    return saturate(round_shift(x, from - to), bits);
}

// x * multiplier * 2^-shift, rounded once: the integer form of a real scale factor (average
// pooling's 1/count, LeakyRelu's alpha, a per-channel scale).
constexpr std::int64_t multiply_shift(std::int64_t x, std::int64_t multiplier, int shift) {
    return round_shift(x * multiplier, shift);
}

// A real factor f > 0 as multiplier * 2^-shift with `precision` significant bits (multiplier in
// [2^(precision-1), 2^precision)), so that multiply_shift(x, m, s) ~ x * f.
struct scaled_multiplier {
    std::int64_t multiplier = 0;
    int shift = 0;
};
inline scaled_multiplier to_multiplier(double f, int precision = 15) {
    if (!(f > 0) || !std::isfinite(f)) throw error("fixed point: scale factor " + std::to_string(f) + " is not positive");
    int exponent = 0;
    const double mantissa = std::frexp(f, &exponent);  // f = mantissa * 2^exponent, mantissa in [0.5, 1)
    std::int64_t m = static_cast<std::int64_t>(std::floor(mantissa * double(std::int64_t{1} << precision) + 0.5));
    int shift = precision - exponent;
    if (m == (std::int64_t{1} << precision)) {  // rounding carried into the next power of two
        m >>= 1;
        --shift;
    }
    return {m, shift};
}

// ---- float <-> fixed (quantization time and the simulators' edges) -------------------------

// floor(v * 2^radix + 1/2), saturated. NaN becomes 0 (a NaN input has no fixed-point meaning).
inline std::int64_t quantize(double v, int radix, int bits) {
    if (std::isnan(v)) return 0;
    const double scaled = std::floor(std::ldexp(v, radix) + 0.5);
    if (scaled <= double(min_of(bits))) return min_of(bits);
    if (scaled >= double(max_of(bits))) return max_of(bits);
    return static_cast<std::int64_t>(scaled);
}

inline float dequantize(std::int64_t q, int radix) { return static_cast<float>(std::ldexp(double(q), -radix)); }

// The radix that fits a range: the largest r with max_abs * 2^r within `bits` bits, rounded the
// vendor's way: r = (bits - 1) - ceil(log2(max_abs)) (get_radix of kneron-facts §1: inputs in
// [-0.5, 0.5] get radix 8 at 8 bits; 0.5 * 2^8 = 128 saturates to 127, as there). A zero or
// non-finite range gets `bits - 1` (values in [-1, 1)). A positive range below min_range (a
// denormal, or float rounding noise of a dead channel) counts as min_range: the radix is at most
// bits - 1 + 32, so no radix, radix sum or accumulator shift of a graph becomes absurd
// (docs/numerics.md, "Ranges and weights that are zero or denormal").
inline constexpr double min_range = 0x1p-32;
inline int radix_for(double max_abs, int bits) {
    if (!(max_abs > 0) || !std::isfinite(max_abs)) return bits - 1;
    return (bits - 1) - static_cast<int>(std::ceil(std::log2(std::max(max_abs, min_range))));
}

// ---- whole tensors ------------------------------------------------------------------------

// The integer dtype of a width.
inline dtype integer_type(int bits) {
    switch (bits) {
        case 8: return dtype::int8;
        case 16: return dtype::int16;
        case 32: return dtype::int32;
    }
    throw error("fixed point: unsupported width " + std::to_string(bits));
}

// `x` (any numeric dtype) quantized element by element at radix radix_of(flat index), `bits` wide.
inline tensor quantize_tensor(const tensor& x, const std::function<int(std::int64_t)>& radix_of, int bits) {
    tensor q(integer_type(bits), x.shape());
    const auto v = x.to_vector<double>();
    visit_dtype(q.type(), [&](auto zero) {
        using T = decltype(zero);
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            T* out = q.data<T>();
            for (std::size_t i = 0; i < v.size(); ++i)
                out[i] = static_cast<T>(quantize(v[i], radix_of(static_cast<std::int64_t>(i)), bits));
        }
    });
    return q;
}
inline tensor quantize_tensor(const tensor& x, int radix, int bits) {
    return quantize_tensor(x, [radix](std::int64_t) { return radix; }, bits);
}

// An integer tensor at `radix` as float32 values q * 2^-radix (exact for every 8- and 16-bit code).
inline tensor dequantize_tensor(const tensor& q, int radix) {
    if (is_floating(q.type()) || q.type() == dtype::boolean)
        throw error(std::string("fixed point: cannot dequantize a ") + name_of(q.type()) + " tensor");
    tensor x(dtype::float32, q.shape());
    const auto codes = q.to_vector<std::int64_t>();
    float* out = x.data<float>();
    for (std::size_t i = 0; i < codes.size(); ++i) out[i] = dequantize(codes[i], radix);
    return x;
}

}  // namespace ktc::fixed
