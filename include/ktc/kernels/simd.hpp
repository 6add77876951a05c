// ktc/kernels/simd.hpp - 16 floats as one value, for the few kernel loops the compiler does not
// vectorize well by itself (accumulators it would keep on the stack, a clamp it leaves scalar).
//
// A GCC vector extension rather than intrinsics, so that the same source builds for any x86-64
// level and for other architectures, and a*b + c still becomes one FMA where the target has it.
// With AVX-512 a value is one 64-byte vector. Without it, GCC lowers a 64-byte vector type
// through the stack (every broadcast, accumulator and load went through memory: half the time of
// a depthwise conv on AVX2), so there a value is an array of the target's own vectors (two of 8
// floats with AVX, four of 4 without) with the same operations, which stay in registers.
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

#if defined(__AVX512F__)
typedef float f32x16 __attribute__((vector_size(64)));
typedef std::int32_t i32x16 __attribute__((vector_size(64)));
#else
// 16 lanes as `count` vectors of the target's width, with the operations the kernels use.
template <class Part, int count>
struct parts16 {
    static constexpr int width = 16 / count;
    Part part[count];
    auto operator[](int i) const { return part[i / width][i % width]; }
    friend parts16 operator+(parts16 a, const parts16& b) {
        for (int k = 0; k < count; ++k) a.part[k] += b.part[k];
        return a;
    }
    friend parts16 operator*(parts16 a, const parts16& b) {
        for (int k = 0; k < count; ++k) a.part[k] *= b.part[k];
        return a;
    }
    parts16& operator+=(const parts16& b) {
        for (int k = 0; k < count; ++k) part[k] += b.part[k];
        return *this;
    }
};
#if defined(__AVX__)
inline constexpr int part_count = 2;
#else
inline constexpr int part_count = 4;
#endif
typedef float f32_part __attribute__((vector_size(64 / part_count)));
typedef std::int32_t i32_part __attribute__((vector_size(64 / part_count)));
using f32x16 = parts16<f32_part, part_count>;
using i32x16 = parts16<i32_part, part_count>;
#endif

// Unaligned loads and stores.
template <class V, class T>
V load_as(const T* p) {
    V v;
#if defined(__AVX512F__)
    std::memcpy(&v, p, sizeof v);
#else
    // One part at a time: a copy of the whole array would go through the stack.
    for (int k = 0; k < part_count; ++k) std::memcpy(&v.part[k], p + k * V::width, sizeof v.part[k]);
#endif
    return v;
}
template <class V, class T>
void store_as(T* p, const V& v) {
#if defined(__AVX512F__)
    std::memcpy(p, &v, sizeof v);
#else
    for (int k = 0; k < part_count; ++k) std::memcpy(p + k * V::width, &v.part[k], sizeof v.part[k]);
#endif
}
inline f32x16 load(const float* p) { return load_as<f32x16>(p); }
inline void store(float* p, f32x16 v) { store_as(p, v); }

// The first n < 16 lanes only: the rest of p is not touched.
inline void store_first(float* p, f32x16 v, std::int64_t n) {
    float tmp[lanes];
    store(tmp, v);
    std::memcpy(p, tmp, static_cast<std::size_t>(n) * sizeof(float));
}

inline f32x16 broadcast(float x) {
#if defined(__AVX512F__)
    return f32x16{} + x;
#else
    f32x16 v;
    for (auto& part : v.part) part = f32_part{} + x;
    return v;
#endif
}

// The lanes as int32, truncated toward zero (exact for integer values below 2^31): an explicit
// conversion, which the compiler emits as one instruction even where -ftrapping-math (the
// default) keeps it from vectorizing a scalar float-to-int loop.
inline i32x16 to_int32(f32x16 v) {
#if defined(__AVX512F__)
    return __builtin_convertvector(v, i32x16);
#else
    i32x16 r;
    for (int k = 0; k < part_count; ++k) r.part[k] = __builtin_convertvector(v.part[k], i32_part);
    return r;
#endif
}

inline i32x16 load(const std::int32_t* p) { return load_as<i32x16>(p); }

// a - b per lane modulo 2^32 (in unsigned lanes, where wrapping is defined).
inline i32x16 wrapping_sub(i32x16 a, std::uint32_t b) {
#if defined(__AVX512F__)
    typedef std::uint32_t u32x16 __attribute__((vector_size(64)));
    u32x16 u;
    std::memcpy(&u, &a, sizeof u);
    u -= b;
    std::memcpy(&a, &u, sizeof a);
#else
    typedef std::uint32_t u32_part __attribute__((vector_size(64 / part_count)));
    for (auto& part : a.part) {
        u32_part u;
        std::memcpy(&u, &part, sizeof u);
        u -= b;
        std::memcpy(&part, &u, sizeof part);
    }
#endif
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
        for (; i + lanes <= n; i += lanes)
            _mm512_storeu_ps(dst + i, widen(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
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
    // __builtin_shufflevector: GCC 12 and Clang both take it (GCC's __builtin_shuffle is GCC's alone).
#if defined(__AVX512F__)
    const f32x16 a = load(p), b = load(p + lanes);
    store(even, __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
    store(odd, __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31));
#elif defined(__AVX__)
    // Each pair of 8-float parts gives 8 even and 8 odd lanes.
    for (int k = 0; k < 2; ++k) {
        f32_part a, b;
        std::memcpy(&a, p + 16 * k, sizeof a);
        std::memcpy(&b, p + 16 * k + 8, sizeof b);
        const f32_part e = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
        const f32_part o = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
        std::memcpy(even + 8 * k, &e, sizeof e);
        std::memcpy(odd + 8 * k, &o, sizeof o);
    }
#else
    for (int k = 0; k < 4; ++k) {
        f32_part a, b;
        std::memcpy(&a, p + 8 * k, sizeof a);
        std::memcpy(&b, p + 8 * k + 4, sizeof b);
        const f32_part e = __builtin_shufflevector(a, b, 0, 2, 4, 6);
        const f32_part o = __builtin_shufflevector(a, b, 1, 3, 5, 7);
        std::memcpy(even + 4 * k, &e, sizeof e);
        std::memcpy(odd + 4 * k, &o, sizeof o);
    }
#endif
}

// min(max(v, lo), hi) per lane, as std::min/std::max spell it: a NaN lane stays NaN.
inline f32x16 clamp(f32x16 v, f32x16 lo, f32x16 hi) {
    const auto clamp_part = [](auto x, auto l, auto h) {
        x = x < l ? l : x;
        return x > h ? h : x;
    };
#if defined(__AVX512F__)
    return clamp_part(v, lo, hi);
#else
    for (int k = 0; k < part_count; ++k) v.part[k] = clamp_part(v.part[k], lo.part[k], hi.part[k]);
    return v;
#endif
}

}  // namespace ktc::kernels::simd
