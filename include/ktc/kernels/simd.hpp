// ktc/kernels/simd.hpp - 16 floats as one value, for the few kernel loops the compiler does not
// vectorize well by itself (accumulators it would keep on the stack, a clamp it leaves scalar).
//
// A GCC vector extension rather than intrinsics: the compiler lowers it to what the target has
// (one AVX-512 register, two AVX2 ones, four SSE ones), so the same source builds for any x86-64
// level and for other architectures, and a*b + c still becomes one FMA where the target has it.
// Where a loop needs an instruction the extension cannot spell (a masked tail), the intrinsics sit
// behind the target's macros with the portable loop beside them.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>
#if defined(__AVX512BW__) && defined(__AVX512VL__)
#include <immintrin.h>
#endif

namespace ktc::kernels::simd {

constexpr std::int64_t lanes = 16;
typedef float f32x16 __attribute__((vector_size(64)));

inline f32x16 load(const float* p) {
    f32x16 v;
    std::memcpy(&v, p, sizeof v);  // an unaligned load
    return v;
}
inline void store(float* p, f32x16 v) { std::memcpy(p, &v, sizeof v); }

// The first n < 16 lanes only: the rest of p is not touched.
inline void store_first(float* p, f32x16 v, std::int64_t n) {
    float tmp[lanes];
    store(tmp, v);
    std::memcpy(p, tmp, static_cast<std::size_t>(n) * sizeof(float));
}

inline f32x16 broadcast(float x) { return f32x16{} + x; }

typedef std::int32_t i32x16 __attribute__((vector_size(64)));

// The lanes as int32, truncated toward zero (exact for integer values below 2^31): an explicit
// conversion, which the compiler emits as one instruction even where -ftrapping-math (the
// default) keeps it from vectorizing a scalar float-to-int loop.
inline i32x16 to_int32(f32x16 v) { return __builtin_convertvector(v, i32x16); }

inline i32x16 load(const std::int32_t* p) {
    i32x16 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// a - b per lane modulo 2^32 (in unsigned lanes, where wrapping is defined).
inline i32x16 wrapping_sub(i32x16 a, std::uint32_t b) {
    typedef std::uint32_t u32x16 __attribute__((vector_size(64)));
    u32x16 u;
    std::memcpy(&u, &a, sizeof u);
    u -= b;
    std::memcpy(&a, &u, sizeof a);
    return a;
}

// dst[0, n) = src[0, n) as floats. The pointers are declared not to alias: an int8 source may
// alias anything, and without it the compiler keeps the loop scalar. int8 with AVX-512 BW/VL: 16
// at a time and a masked last step, since the compiler's scalar tail took a tenth of a depthwise
// conv's time on 7- to 28-wide maps.
template <class X>
void convert(const X* __restrict src, std::int64_t n, float* __restrict dst) {
#if defined(__AVX512BW__) && defined(__AVX512VL__)
    if constexpr (std::is_same_v<X, std::int8_t>) {
        const auto widen = [](__m128i bytes) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)); };
        std::int64_t i = 0;
        for (; i + lanes <= n; i += lanes) _mm512_storeu_ps(dst + i, widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
        if (i < n) {
            const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
            _mm512_mask_storeu_ps(dst + i, m, widen(_mm_maskz_loadu_epi8(m, src + i)));
        }
        return;
    }
#endif
    for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
}

// The even and odd lanes of the 32 floats at p: a row dealt to two stride-2 planes.
inline void deinterleave(const float* p, float* even, float* odd) {
    const f32x16 a = load(p), b = load(p + lanes);
    // __builtin_shufflevector: GCC 12 and Clang both take it (GCC's __builtin_shuffle is GCC's alone).
    store(even, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
    store(odd, __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31));
}

// min(max(v, lo), hi) per lane, as std::min/std::max spell it: a NaN lane stays NaN.
inline f32x16 clamp(f32x16 v, f32x16 lo, f32x16 hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

}  // namespace ktc::kernels::simd
