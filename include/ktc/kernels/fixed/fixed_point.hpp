// ktc/kernels/fixed/fixed_point.hpp - the only rounding and saturation code of ktc.
//
// Dynamic fixed point as the vendor's NPUs use it (docs/numerics.md): a real value v is held as
// an integer q of `bits` bits with v = q / (scale * 2^radix), the scale a 15-bit fraction in
// [1, 2) (1 for power-of-two formats; the format itself is fixed/format.hpp). Every fixed-point
// kernel, the quantizer and both simulators convert, rescale and clamp through the functions
// below and nowhere else, so the .bie and .nef simulators agree bit for bit by construction.
//
// Rounding mode (one, everywhere): round half toward +infinity, i.e. floor(x + 1/2). For a
// right shift by s that is (x + 2^(s-1)) >> s with an arithmetic shift, which is what a shifter
// with a rounding bit computes in hardware; for float -> fixed it is floor(v * 2^radix + 0.5).
// Saturation: clamp to the two's-complement range [-2^(bits-1), 2^(bits-1) - 1].
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "ktc/core/error.hpp"
#include "ktc/core/tensor.hpp"
#include "ktc/fixed/format.hpp"
#include "ktc/kernels/simd.hpp"

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
    if (!(f > 0) || !std::isfinite(f))
        throw error("fixed point: scale factor " + std::to_string(f) + " is not positive");
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

// The 128-bit integer of GCC and Clang: exact products of a 64-bit accumulator and a multiplier.
__extension__ using wide_int = __int128;

// p * 2^-shift rounded half toward +infinity for a 128-bit p (|p| < 2^125), clamped to int64.
inline std::int64_t round_shift_wide(wide_int p, int shift) {
    using wide = wide_int;
    constexpr std::int64_t most = std::numeric_limits<std::int64_t>::max();
    wide r = 0;
    if (shift > 0) {
        r = shift >= 126 ? wide{0} : (p + (wide{1} << (shift - 1))) >> shift;  // |p| / 2^126 + 1/2 floors to 0
    } else if (p != 0) {
        if (-shift >= 64) return p > 0 ? most : -most - 1;
        const wide limit = wide{most} << 1;  // anything past it saturates either way
        if (p > (limit >> -shift)) return most;
        if (p < -(limit >> -shift)) return -most - 1;
        r = p * (wide{1} << -shift);
    }
    if (r > wide{most}) return most;
    if (r < -wide{most} - 1) return -most - 1;
    return static_cast<std::int64_t>(r);
}

// x * multiplier * 2^-shift rounded half toward +infinity, exact (a 128-bit product), clamped to
// the int64 range. Multiplier 1 is round_shift itself, so power-of-two formats keep its results.
inline std::int64_t multiply_round(std::int64_t x, std::int64_t multiplier, int shift) {
    if (multiplier == 1) return round_shift(x, shift);
    constexpr std::int64_t narrow = std::int64_t{1} << 47;  // |x| < 2^47, m < 2^15: the product fits 2^62
    if (x > -narrow && x < narrow && multiplier > 0 && multiplier < (std::int64_t{1} << 15))
        return round_shift(x * multiplier, shift);
    return round_shift_wide(static_cast<wide_int>(x) * multiplier, shift);  // |x * m| < 2^63 * 2^15
}

// The integer step from values at (from_radix, from_scale) to format `to`: y = saturate(round(x *
// multiplier * 2^-shift)). Equal scales leave a pure shift (multiplier 1), the power-of-two rule.
struct requantizer {
    std::int64_t multiplier = 1;
    int shift = 0;
    int bits = 8;
    std::int64_t operator()(std::int64_t x) const { return saturate(multiply_round(x, multiplier, shift), bits); }
};
inline requantizer requantizer_to(int from_radix, double from_scale, const value_format& to) {
    if (from_scale == to.scale) return {1, from_radix - to.radix, to.bits};
    const scaled_multiplier f = to_multiplier(std::ldexp(to.scale / from_scale, to.radix - from_radix));
    return {f.multiplier, f.shift, to.bits};
}
inline requantizer requantizer_to(const value_format& from, const value_format& to) {
    return requantizer_to(from.radix, from.scale, to);
}

// A requantizer's arithmetic, saturation and a clamp [lo, hi] without the overflow guards of
// multiply_round, for loops that must vectorize: (x * multiplier + 2^(shift-1)) >> shift. It
// gives the same codes when the multiplier is below 2^15, the shift a right shift (1 to 62) and
// |x| < 2^47, so that nothing overflows; unguarded() says whether a requantizer qualifies, and the
// caller keeps |x| within 2^47 (every MAC accumulator and element-wise sum of the fast kernels).
struct unguarded_requantizer {
    std::int64_t multiplier, half;
    int shift;
    std::int64_t lo, hi;  // the clamp within the width: saturation included
    std::int64_t operator()(std::int64_t x) const {
        return std::min(std::max((x * multiplier + half) >> shift, lo), hi);
    }

    // The same of x = bias + acc for int32 accumulators acc and |bias| < 2^31: (bias + acc) *
    // multiplier + half regrouped as acc * multiplier + (bias * multiplier + half), the same
    // integer, so that the per-element product is a widening 32 x 32 -> 64 bit one (one vpmuldq
    // per 8 lanes on x86 rather than a 64-bit multiply).
    struct biased {
        std::int32_t multiplier;
        std::int64_t offset;
        int shift;
        std::int64_t lo, hi;
        // The same sum scaled by 2^(32 - shift) when shift <= 32 (exact: the multiplier then
        // stays below 2^31, the offset below 2^62), so that the result is the sum's high 32 bits,
        // shifted right by high_shift = shift - 32 when shift > 32. Set where shift >= 16.
        std::int32_t high_multiplier = 0;
        std::int64_t high_offset = 0;
        int high_shift = 0;

        std::int64_t operator()(std::int32_t acc) const {
            return std::min(std::max((std::int64_t{acc} * multiplier + offset) >> shift, lo), hi);
        }
        // out[j] = (*this)(acc[j]) for 16 accumulators, stored as Y (an integer type that holds
        // [lo, hi]): lanes16's, made for this one call. A loop over a row makes lanes() once.
        template <class Y>
        void apply16(kernels::simd::i32x16 acc, Y* out) const {
            lanes().apply16(acc, out);
        }

        // The same with the constants made once: a loop that keeps a lanes16 by value holds them
        // in registers, where a requantizer read through a reference would be reloaded after
        // every store (a store of bytes may alias anything). With AVX-512 the integer operations
        // are written out (the compiler's own vectorization of the loop leaves parts scalar),
        // narrowed straight into Y: where the high form is set, the 64-bit products of the even
        // and the odd lanes give their high halves as 16 int32 lanes at once (no 64-bit shift,
        // clamp or narrowing).
        struct lanes16 {
#if defined(__AVX512F__)
            __m512i m, add, lo, hi;  // epi64 m and add; lo and hi epi32 in the high form, else epi64
            __m128i count;           // shift, or high_shift in the high form
            bool high, high_shifted;
#else
            const biased* scalar;  // without AVX-512: the requantizer itself
#endif
            template <class Y>
            void apply16(kernels::simd::i32x16 acc, Y* out) const {
#if defined(__AVX512F__)
                const __m512i all = reinterpret_cast<__m512i>(acc);
                if (high) {
                    // vpmuldq reads the low (even) int32 of each 64-bit lane, sign-extended.
                    const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(all, m), add);
                    const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(all, 32), m), add);
                    __m512i t = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
                    if (high_shifted) t = _mm512_sra_epi32(t, count);
                    t = _mm512_min_epi32(_mm512_max_epi32(t, lo), hi);
                    if constexpr (sizeof(Y) == 1)
                        _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtepi32_epi8(t));
                    else if constexpr (sizeof(Y) == 2)
                        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtepi32_epi16(t));
                    else _mm512_storeu_si512(out, t);
                    return;
                }
                for (int h = 0; h < 2; ++h) {
                    // Sign-extended to 64-bit lanes; vpmuldq multiplies their low 32 bits, signed.
                    const __m512i a =
                        _mm512_cvtepi32_epi64(h ? _mm512_extracti64x4_epi64(all, 1) : _mm512_castsi512_si256(all));
                    __m512i t = _mm512_sra_epi64(_mm512_add_epi64(_mm512_mul_epi32(a, m), add), count);
                    t = _mm512_min_epi64(_mm512_max_epi64(t, lo), hi);
                    if constexpr (sizeof(Y) == 1)
                        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + 8 * h), _mm512_cvtepi64_epi8(t));
                    else if constexpr (sizeof(Y) == 2)
                        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 8 * h), _mm512_cvtepi64_epi16(t));
                    else _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8 * h), _mm512_cvtepi64_epi32(t));
                }
#else
                for (int j = 0; j < 16; ++j) out[j] = static_cast<Y>((*scalar)(acc[j]));
#endif
            }
        };
        lanes16 lanes() const {
#if defined(__AVX512F__)
            if (high_multiplier)
                return {_mm512_set1_epi64(high_multiplier),
                        _mm512_set1_epi64(high_offset),
                        _mm512_set1_epi32(static_cast<std::int32_t>(lo)),
                        _mm512_set1_epi32(static_cast<std::int32_t>(hi)),
                        _mm_cvtsi32_si128(high_shift),
                        true,
                        high_shift != 0};
            return {_mm512_set1_epi64(multiplier),
                    _mm512_set1_epi64(offset),
                    _mm512_set1_epi64(lo),
                    _mm512_set1_epi64(hi),
                    _mm_cvtsi32_si128(shift),
                    false,
                    false};
#else
            return {this};
#endif
        }
        template <class Y>
        void apply16(const std::int32_t* acc, Y* out) const {
            kernels::simd::i32x16 v;
            std::memcpy(&v, acc, sizeof v);
            apply16(v, out);
        }
    };
    // The biased form for one bias, |bias| < 2^31 (the caller checks).
    biased with_bias(std::int64_t bias) const {
        biased b{static_cast<std::int32_t>(multiplier), bias * multiplier + half, shift, lo, hi};
        if (shift >= 16 && lo >= std::numeric_limits<std::int32_t>::min() &&
            hi <= std::numeric_limits<std::int32_t>::max()) {
            const int up = std::max(0, 32 - shift);
            b.high_multiplier = static_cast<std::int32_t>(multiplier << up);
            b.high_offset = b.offset * (std::int64_t{1} << up);
            b.high_shift = std::max(0, shift - 32);
        }
        return b;
    }
};
inline std::optional<unguarded_requantizer> unguarded(const requantizer& r, std::int64_t lo, std::int64_t hi) {
    if (r.shift < 1 || r.shift > 62 || r.multiplier < 1 || r.multiplier >= (std::int64_t{1} << 15)) return std::nullopt;
    return unguarded_requantizer{r.multiplier, std::int64_t{1} << (r.shift - 1), r.shift, std::max(lo, min_of(r.bits)),
                                 std::min(hi, max_of(r.bits))};
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

// The same at a format with a scale: floor(v * scale * 2^radix + 1/2) and q / scale * 2^-radix.
inline std::int64_t quantize(double v, const value_format& f) { return quantize(v * f.scale, f.radix, f.bits); }
inline float dequantize(std::int64_t q, const value_format& f) {
    return static_cast<float>(std::ldexp(double(q) / f.scale, -f.radix));
}

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

// The format that fits a range. power_of_two: radix_for's radix, scale 1. Otherwise the radix and
// the largest scale with max_abs * scale * 2^radix <= 2^(bits-1) - 1: the range's top is the top
// code itself, not clipped by one as radix_for's power of two clips it (a ReLU6 output that sits
// at 6.0, or a channel's largest weight, keeps its value), and the range uses every code instead
// of the 50-100% of them a power of two leaves (6.0 at 8 bits: 127 codes instead of 96).
inline value_format format_for(double max_abs, int bits, bool power_of_two) {
    if (power_of_two || !(max_abs > 0) || !std::isfinite(max_abs)) return {radix_for(max_abs, bits), bits, 1.0};
    const double room = double(max_of(bits)) / std::max(max_abs, min_range);  // scale * 2^radix
    int radix = static_cast<int>(std::floor(std::log2(room)));
    double scale = std::ldexp(room, -radix);
    if (scale >= 2) scale /= 2, ++radix;  // log2's rounding at an exact power of two
    if (scale < 1) scale *= 2, --radix;
    return {radix, bits,
            std::ldexp(std::floor(std::ldexp(scale, scale_bits)), -scale_bits)};  // rounded down: the top still fits
}

// ---- whole tensors ------------------------------------------------------------------------

// `x` (any numeric dtype) quantized element by element at format_of(flat index), `bits` wide.
inline tensor quantize_tensor(const tensor& x, const std::function<value_format(std::int64_t)>& format_of, int bits) {
    tensor q(integer_type(bits), x.shape());
    const auto v = x.to_vector<double>();
    visit_dtype(q.type(), [&](auto zero) {
        using T = decltype(zero);
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            T* out = q.data<T>();
            for (std::size_t i = 0; i < v.size(); ++i) {
                value_format f = format_of(static_cast<std::int64_t>(i));
                f.bits = bits;
                out[i] = static_cast<T>(quantize(v[i], f));
            }
        }
    });
    return q;
}
inline tensor quantize_tensor(const tensor& x, const std::function<int(std::int64_t)>& radix_of, int bits) {
    return quantize_tensor(x, std::function<value_format(std::int64_t)>([&](std::int64_t i) {
                               return value_format{radix_of(i), bits};
                           }),
                           bits);
}
// The codes of n float values at format f, quantize()'s. A float times a valid scale (15
// significant bits) times 2^radix is exact in a double (24 + 15 bits), so v * scale * 2^radix
// is one multiplication by a factor made once, with no rounding, and a fused multiply-add gives
// the same sum: with AVX-512 8 at a time, else one by one without a call per value. The caller
// checks those conditions (quantize_tensor: a valid scale, |radix| < 800).
template <class T>
void quantize_floats(const float* __restrict in, std::int64_t n, const value_format& f, T* __restrict out) {
    std::int64_t i = 0;
#if defined(__AVX512F__) && defined(__AVX512VL__)
    // Written out: the compiler keeps the plain loop scalar, as its NaN test and float-to-int
    // conversion may trap. The same steps: floor(v * factor + 1/2), NaN -> 0, clamp.
    if constexpr (sizeof(T) <= 4) {
        const __m512d factor = _mm512_set1_pd(std::ldexp(f.scale, f.radix)), half = _mm512_set1_pd(0.5);
        const __m512d low = _mm512_set1_pd(double(min_of(f.bits))), high = _mm512_set1_pd(double(max_of(f.bits)));
        for (; i + 8 <= n; i += 8) {
            const __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(in + i));
            __m512d q =
                _mm512_roundscale_pd(_mm512_fmadd_pd(v, factor, half), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
            q = _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(q, q, _CMP_ORD_Q), q);  // NaN -> 0
            const __m256i codes = _mm512_cvttpd_epi32(_mm512_min_pd(_mm512_max_pd(q, low), high));
            if constexpr (sizeof(T) == 1)
                _mm_storel_epi64(reinterpret_cast<__m128i*>(out + i), _mm256_cvtepi32_epi8(codes));
            else if constexpr (sizeof(T) == 2)
                _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_cvtepi32_epi16(codes));
            else _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), codes);
        }
    }
#endif
    const double factor = std::ldexp(f.scale, f.radix), low = double(min_of(f.bits)), high = double(max_of(f.bits));
    for (; i < n; ++i) {
        const double q = std::floor(static_cast<double>(in[i]) * factor + 0.5);
        out[i] = static_cast<T>(std::isnan(q) ? 0.0 : std::min(std::max(q, low), high));  // NaN -> 0
    }
}

// The same at one format for the whole tensor (a simulator's inputs, every sample): float values
// at a valid scale through quantize_floats, others element by element.
inline tensor quantize_tensor(const tensor& x, const value_format& f) {
    if (x.type() != dtype::float32 || !is_valid_scale(f.scale) || std::abs(f.radix) >= 800)
        return quantize_tensor(x, std::function<value_format(std::int64_t)>([&](std::int64_t) { return f; }), f.bits);
    tensor q(integer_type(f.bits), x.shape());
    visit_dtype(q.type(), [&](auto zero) {
        using T = decltype(zero);
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
            quantize_floats(x.data<float>(), x.size(), f, q.data<T>());
    });
    return q;
}
inline tensor quantize_tensor(const tensor& x, int radix, int bits) {
    return quantize_tensor(x, value_format{radix, bits});
}

// An integer tensor at format f as float32 values q / scale * 2^-radix (exact for every 8- and
// 16-bit code at scale 1).
inline tensor dequantize_tensor(const tensor& q, const value_format& f) {
    if (is_floating(q.type()) || q.type() == dtype::boolean)
        throw error(std::string("fixed point: cannot dequantize a ") + name_of(q.type()) + " tensor");
    tensor x(dtype::float32, q.shape());
    const auto codes = q.to_vector<std::int64_t>();
    float* out = x.data<float>();
    for (std::size_t i = 0; i < codes.size(); ++i) out[i] = dequantize(codes[i], f);
    return x;
}
inline tensor dequantize_tensor(const tensor& q, int radix) { return dequantize_tensor(q, value_format{radix, 8}); }

}  // namespace ktc::fixed
