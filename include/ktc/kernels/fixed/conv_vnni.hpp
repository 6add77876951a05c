// ktc/kernels/fixed/conv_vnni.hpp - int8 Conv on AVX-512 VNNI, bit-exact with conv_reference.
//
// vpdpbusd adds four products of unsigned by signed bytes into each int32 lane: 64 exact
// multiply-adds per instruction, four times a float FMA's 16. The activations are signed, so
// they enter as x + 128 (a flip of the sign bit) and each output channel m takes back
// 128 * sum_k w[m, k]. The products are below 2^15 and the lanes wrap modulo 2^32 (the
// instruction does not saturate), so after the correction each lane holds sum_k x * w exactly
// whenever that fits int32: K < 2^17 products of magnitude at most 2^14 (docs/numerics.md,
// "Accumulators").
//
// Layout: an output tile is 8 output channels x 48 output positions (24 of the 32 registers). Per
// step it broadcasts 4 bytes of weights (one channel, 4 consecutive k) and loads 16 positions x
// the same 4 k of the columns, so the columns are interleaved by k-quads: quads[q][j][r] =
// cols[4q + r][j]. A 2-D conv gathers its columns (im2col) a band of output rows at a time; a
// 1x1 conv interleaves its input directly. Each band's int32 sums, corrected for the +128, go
// through channel_output, the requantizing epilogue every int8 conv route uses.
//
// Compiled where the target has AVX-512 VNNI and BW (KTC_CONV_VNNI); elsewhere the float route
// (conv_in_float) is the fast int8 conv.
#pragma once

#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512F__)
#define KTC_CONV_VNNI 1

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ktc/kernels/float/conv.hpp"

namespace ktc::kernels::fixed::vnni {

constexpr std::int64_t tile_rows = 8, tile_vectors = 3, lanes = 16;

// One group's weights W[M, K] by tiles: block b, quad q, row i hold W[8b + i, 4q .. 4q + 3] (zero
// past M and K); offset[m] = 128 * sum_k W[m, k] modulo 2^32, what the +128 adds.
struct packed_weights {
    std::vector<std::int8_t> bytes;
    std::vector<std::uint32_t> offset;
    std::int64_t quads = 0;
};

// The quads 4L + j (j < 4) of a transposed block: rows 0-3 from lane L of u[j], rows 4-7 from
// lane L of u[4 + j] (the lane is an immediate, hence the template).
template <int L>
inline void store_lane(const __m512i (&u)[8], std::int8_t* dst) {
    for (int j = 0; j < 4; ++j) {
        std::int8_t* d = dst + (4 * L + j) * 32;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm512_extracti32x4_epi32(u[j], L));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 16), _mm512_extracti32x4_epi32(u[4 + j], L));
    }
}

// dst[(q * 8 + i) * 4 .. + 3] = rows[i * ld + 4q .. + 3] for 8 rows i and 16 quads q: each row's
// 64 bytes are 16 words, and the block is their 8 x 16 transpose (words, then pairs of words
// within each 128-bit lane, then the lanes).
inline void transpose_quads(const std::int8_t* rows, std::int64_t ld, std::int8_t* dst) {
    __m512i r[8], t[8], u[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm512_loadu_si512(rows + i * ld);
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);      // per lane: quads 0, 1 of rows i, i + 1
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);  // quads 2, 3
    }
    for (int h = 0; h < 2; ++h) {  // rows 0-3, then rows 4-7
        const __m512i* a = t + 4 * h;
        u[4 * h + 0] = _mm512_unpacklo_epi64(a[0], a[2]);  // per lane: quad 0 of 4 rows
        u[4 * h + 1] = _mm512_unpackhi_epi64(a[0], a[2]);  // quad 1
        u[4 * h + 2] = _mm512_unpacklo_epi64(a[1], a[3]);  // quad 2
        u[4 * h + 3] = _mm512_unpackhi_epi64(a[1], a[3]);  // quad 3
    }
    store_lane<0>(u, dst);
    store_lane<1>(u, dst);
    store_lane<2>(u, dst);
    store_lane<3>(u, dst);
}

inline void pack_weights(const std::int8_t* w, std::int64_t M, std::int64_t K, packed_weights& out) {
    const std::int64_t quads = (K + 3) / 4, blocks = (M + tile_rows - 1) / tile_rows;
    out.quads = quads;
    out.bytes.resize(static_cast<std::size_t>(blocks * quads * tile_rows * 4));
    out.offset.resize(static_cast<std::size_t>(M));
    // Word by word: every word is written (zero past M and K), no division per byte, and a raw
    // pointer (a store through a byte type may alias the vector's own pointer). A whole block of
    // 8 rows takes 16 quads at a time as an 8 x 16 transpose of 32-bit words in registers.
    std::int8_t* dst = out.bytes.data();
    for (std::int64_t b = 0; b < blocks; ++b) {
        std::int64_t q0 = 0;
        if ((b + 1) * tile_rows <= M)
            for (; (q0 + 16) * 4 <= K; q0 += 16, dst += 16 * tile_rows * 4)
                transpose_quads(w + b * tile_rows * K + q0 * 4, K, dst);
        for (std::int64_t q = q0; q < quads; ++q)
            for (std::int64_t i = 0; i < tile_rows; ++i, dst += 4) {
                const std::int64_t m = b * tile_rows + i, k = 4 * q;
                std::int8_t word[4] = {0, 0, 0, 0};
                if (m < M) {
                    if (k + 4 <= K) std::memcpy(word, w + m * K + k, 4);
                    else std::memcpy(word, w + m * K + k, static_cast<std::size_t>(K - k));
                }
                std::memcpy(dst, word, 4);
            }
    }
    for (std::int64_t m = 0; m < M; ++m) {
        std::int32_t sum = 0;  // below 2^17 * 2^7
        for (std::int64_t k = 0; k < K; ++k) sum += w[m * K + k];
        out.offset[static_cast<std::size_t>(m)] = static_cast<std::uint32_t>(128 * std::int64_t{sum});
    }
}

// dst[j] = the bytes a[j] + 128, b[j] + 128, c[j] + 128, d[j] + 128 (low to high) for j < 64:
// bytes interleaved in pairs, then pairs in quads, within each 128-bit lane (positions 16L + 4k
// .. + 3 land in lane L of q[k]), then the 4 x 4 lanes transposed so that each output vector holds
// 16 consecutive positions.
inline void interleave64(const std::int8_t* a, const std::int8_t* b, const std::int8_t* c, const std::int8_t* d,
                         std::uint32_t* dst) {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    const __m512i ra = _mm512_xor_si512(_mm512_loadu_si512(a), flip),
                  rb = _mm512_xor_si512(_mm512_loadu_si512(b), flip);
    const __m512i rc = _mm512_xor_si512(_mm512_loadu_si512(c), flip),
                  rd = _mm512_xor_si512(_mm512_loadu_si512(d), flip);
    const __m512i ab_lo = _mm512_unpacklo_epi8(ra, rb), ab_hi = _mm512_unpackhi_epi8(ra, rb);
    const __m512i cd_lo = _mm512_unpacklo_epi8(rc, rd), cd_hi = _mm512_unpackhi_epi8(rc, rd);
    const __m512i q0 = _mm512_unpacklo_epi16(ab_lo, cd_lo), q1 = _mm512_unpackhi_epi16(ab_lo, cd_lo);
    const __m512i q2 = _mm512_unpacklo_epi16(ab_hi, cd_hi), q3 = _mm512_unpackhi_epi16(ab_hi, cd_hi);
    const __m512i t0 = _mm512_shuffle_i32x4(q0, q1, 0x44), t1 = _mm512_shuffle_i32x4(q2, q3, 0x44);
    const __m512i t2 = _mm512_shuffle_i32x4(q0, q1, 0xEE), t3 = _mm512_shuffle_i32x4(q2, q3, 0xEE);
    _mm512_storeu_si512(dst, _mm512_shuffle_i32x4(t0, t1, 0x88));
    _mm512_storeu_si512(dst + 16, _mm512_shuffle_i32x4(t0, t1, 0xDD));
    _mm512_storeu_si512(dst + 32, _mm512_shuffle_i32x4(t2, t3, 0x88));
    _mm512_storeu_si512(dst + 48, _mm512_shuffle_i32x4(t2, t3, 0xDD));
}

// quads[(q * stride + j) * 4 + r] = rows[4q + r][j] + 128 for j < width (rows `ld` apart), zero
// past K; positions [width, stride) are zero too.
inline void interleave(const std::int8_t* rows, std::int64_t ld, std::int64_t K, std::int64_t width,
                       std::int64_t stride, std::uint8_t* quads) {
    for (std::int64_t q = 0; q < (K + 3) / 4; ++q) {
        const std::int8_t* r[4];  // nullptr past K
        for (int i = 0; i < 4; ++i) r[i] = 4 * q + i < K ? rows + (4 * q + i) * ld : nullptr;
        std::uint32_t* dst = reinterpret_cast<std::uint32_t*>(quads) + q * stride;
        const auto shifted = [](std::int8_t v) { return std::uint32_t(std::uint8_t(v)) ^ 0x80u; };  // v + 128
        if (r[3]) {
            std::int64_t j = 0;
            for (; j + 64 <= width; j += 64) interleave64(r[0] + j, r[1] + j, r[2] + j, r[3] + j, dst + j);
            for (; j < width; ++j)
                dst[j] = shifted(r[0][j]) | shifted(r[1][j]) << 8 | shifted(r[2][j]) << 16 | shifted(r[3][j]) << 24;
        } else {
            for (std::int64_t j = 0; j < width; ++j) {
                std::uint32_t v = 0;
                for (int i = 0; i < 4; ++i)
                    if (r[i]) v |= shifted(r[i][j]) << (8 * i);
                dst[j] = v;
            }
        }
        std::fill(dst + width, dst + stride, 0u);
    }
}

// acc[i][j] (rows `ld` apart) = sum over quads of the weight tile's row i times columns j < 16 V.
template <int V>
inline void product_tile(const std::int8_t* pw, const std::uint8_t* xq, std::int64_t stride, std::int64_t quads,
                         std::int32_t* acc, std::int64_t ld) {
    __m512i a[tile_rows][V];
#pragma GCC unroll 8
    for (int i = 0; i < tile_rows; ++i)
#pragma GCC unroll 3
        for (int v = 0; v < V; ++v) a[i][v] = _mm512_setzero_si512();
    for (std::int64_t q = 0; q < quads; ++q, xq += stride * 4, pw += tile_rows * 4) {
        __m512i x[V];
#pragma GCC unroll 3
        for (int v = 0; v < V; ++v) x[v] = _mm512_loadu_si512(xq + v * 64);
#pragma GCC unroll 8
        for (int i = 0; i < tile_rows; ++i) {
            std::int32_t w4;
            std::memcpy(&w4, pw + i * 4, 4);
            const __m512i w = _mm512_set1_epi32(w4);
#pragma GCC unroll 3
            for (int v = 0; v < V; ++v) a[i][v] = _mm512_dpbusd_epi32(a[i][v], x[v], w);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < tile_rows; ++i)
#pragma GCC unroll 3
        for (int v = 0; v < V; ++v) _mm512_storeu_si512(acc + i * ld + v * lanes, a[i][v]);
}

// sums[i][j] for the weight block's 8 rows and every position j < width of the interleaved band
// (stride = width rounded up to 16 lanes).
inline void product_rows(const std::int8_t* pw, const std::uint8_t* xq, std::int64_t stride, std::int64_t quads,
                         std::int64_t width, std::int32_t* sums) {
    constexpr std::int64_t tile_cols = tile_vectors * lanes;
    for (std::int64_t j0 = 0; j0 < width; j0 += tile_cols) {
        const std::uint8_t* x = xq + j0 * 4;
        switch (std::min<std::int64_t>(tile_vectors, (width - j0 + lanes - 1) / lanes)) {
            case 1: product_tile<1>(pw, x, stride, quads, sums + j0, stride); break;
            case 2: product_tile<2>(pw, x, stride, quads, sums + j0, stride); break;
            default: product_tile<3>(pw, x, stride, quads, sums + j0, stride); break;
        }
    }
}

// Whether conv_vnni runs this conv: int32 sums (K < 2^17), a 2-D window or a 1x1 conv, and not
// depthwise (one input channel per group: too short a sum for the quads; the float route's
// depthwise loop serves it).
template <class Params>
bool applies(const Params& p) {
    const std::int64_t K = p.in_per_group() * p.w.kernel_size();
    const bool depthwise = p.in_per_group() == 1 && p.out_per_group() == 1;
    return K < (std::int64_t{1} << 17) && !depthwise && (p.w.rank() == 2 || floating::detail::is_pointwise(p.w));
}

}  // namespace ktc::kernels::fixed::vnni

#endif
