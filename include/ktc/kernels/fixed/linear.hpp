// ktc/kernels/fixed/linear.hpp - Gemm and MatMul on integers (docs/numerics.md).
//
// Gemm:   Y[M, N] = A'[M, K] * B'[K, N] + C with A' = transA ? A^T : A, B' = transB ? B^T : B.
//         alpha = beta = 1 only (other values are an unsupported_error: the quantizer folds them
//         into the weights). A is an int8/int16 activation at r_a; B a constant int8/int16
//         weight with a radix per output column n (ktc.weight_radix, size N or 1) or an activation
//         at its input radix; C an optional int32 bias with ktc.bias_radix per column, [N], [1, N]
//         or a scalar (a bias varying along M is not a per-channel constant: unsupported).
// MatMul: numpy matmul with batch broadcasting; B is either a constant integer weight (radices
//         per column n in ktc.weight_radix) or an activation at its input radix, so the
//         accumulator radix of column n is r_a + r_b[n].
// Both:   acc (int64) at r_a + r_b[n] and scale s_a * s_b[n], requantized to the output format
//         (fixed::requantizer_to, as Conv), then the fused clamp
//         (ktc.fused_min / ktc.fused_max) if the node carries one.
//
// Accumulator: int64; each product is below 2^30 in magnitude and K < 2^31, the bias below 2^61
// (detail::bias_at_accumulator), so |acc| < 2^62 as fixed::round_shift requires. The fast loops
// (product_rows) sum 8-bit operands in int32 below 2^17 terms, as the int8 Conv does.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>
#if defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include "ktc/kernels/fixed/requantize.hpp"
#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::fixed {

namespace linear_detail {

// The epilogue of a matrix product: per output column n its accumulator radix and bias.
struct product_params {
    detail::accumulators acc;        // per column n
    std::vector<std::int64_t> bias;  // per column n at acc.radix[n]; empty = none
    detail::value_format out;
    detail::clamp_bounds clamp{0, 0};
};

// y[i, j] of an M x N product of A (strides a_row, a_col) and B (strides b_row, b_col).
template <class A, class B, class Y>
void product_reference(const product_params& p, const A* a, std::int64_t a_row, std::int64_t a_col, const B* b,
                       std::int64_t b_row, std::int64_t b_col, Y* y, std::int64_t M, std::int64_t N, std::int64_t K) {
    for (std::int64_t i = 0; i < M; ++i)
        for (std::int64_t j = 0; j < N; ++j) {
            std::int64_t acc = p.bias.empty() ? 0 : p.bias[j];
            for (std::int64_t k = 0; k < K; ++k)
                acc += std::int64_t{a[i * a_row + k * a_col]} * std::int64_t{b[k * b_row + j * b_col]};
            y[i * N + j] = static_cast<Y>(p.clamp.apply(p.acc.to_output[static_cast<std::size_t>(j)](acc)));
        }
}

// The int32 dot product of K 8-bit pairs, K < 2^17 (|sum| < 2^31, so lanes that wrap on the
// way still end exact). With AVX-512BW 32 pairs at a time through vpmaddwd (each pair sum of two
// int16 products is at most 2^15): the compiler's own loop multiplies 16-bit lanes one by one.
template <class A, class B>
std::int32_t dot_int8(const A* a, const B* b, std::int64_t K) {
    std::int32_t sum = 0;
    std::int64_t k = 0;
#if defined(__AVX512BW__)
    if constexpr (std::is_same_v<A, std::int8_t> && std::is_same_v<B, std::int8_t>) {
        __m512i lanes = _mm512_setzero_si512();
        for (; k + 32 <= K; k += 32) {
            const __m512i x = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + k)));
            const __m512i y = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + k)));
            lanes = _mm512_add_epi32(lanes, _mm512_madd_epi16(x, y));
        }
        sum = _mm512_reduce_add_epi32(lanes);
    }
#endif
    for (; k < K; ++k) sum += std::int32_t{a[k]} * std::int32_t{b[k]};
    return sum;
}

// The same product, bit-exact with product_reference, for the layouts a model has: B' read along
// k contiguously (Gemm with transB, PyTorch's Linear) as one dot product per (i, j), or along j
// (Gemm without transB, MatMul) as a row update per (i, k). Acc is int32 when both operands are
// 8-bit and K < 2^17 (each product below 2^14, as the int8 Conv), int64 otherwise; both loops
// vectorize. The bias is added and the result requantized per element, as the reference does.
template <class Acc, class A, class B, class Y>
void product_rows(const product_params& p, const A* a, std::int64_t a_row, const B* b, bool b_along_k,
                  std::int64_t b_stride, Y* y, std::int64_t M, std::int64_t N, std::int64_t K) {
    std::vector<Acc> acc(static_cast<std::size_t>(N));
    for (std::int64_t i = 0; i < M; ++i) {
        const A* ai = a + i * a_row;
        if (b_along_k) {
            for (std::int64_t j = 0; j < N; ++j) {
                const B* bj = b + j * b_stride;
                if constexpr (std::is_same_v<Acc, std::int32_t> && sizeof(A) == 1 && sizeof(B) == 1) {
                    acc[j] = dot_int8(ai, bj, K);
                } else {
                    Acc sum = 0;
                    for (std::int64_t k = 0; k < K; ++k) sum += Acc{ai[k]} * Acc{bj[k]};
                    acc[j] = sum;
                }
            }
        } else {
            std::fill(acc.begin(), acc.end(), Acc{0});
            for (std::int64_t k = 0; k < K; ++k) {
                const Acc ak = ai[k];
                const B* bk = b + k * b_stride;
                for (std::int64_t j = 0; j < N; ++j) acc[j] += ak * Acc{bk[j]};
            }
        }
        for (std::int64_t j = 0; j < N; ++j) {
            const std::int64_t total = (p.bias.empty() ? 0 : p.bias[j]) + std::int64_t{acc[j]};
            y[i * N + j] = static_cast<Y>(p.clamp.apply(p.acc.to_output[static_cast<std::size_t>(j)](total)));
        }
    }
}

// product_reference, or product_rows where A' runs along k contiguously and B' along k or j.
template <class A, class B, class Y>
void product(const product_params& p, const A* a, std::int64_t a_row, std::int64_t a_col, const B* b,
             std::int64_t b_row, std::int64_t b_col, Y* y, std::int64_t M, std::int64_t N, std::int64_t K) {
    if (a_col != 1 || (b_row != 1 && b_col != 1))
        return product_reference<A, B, Y>(p, a, a_row, a_col, b, b_row, b_col, y, M, N, K);
    const bool along_k = b_row == 1;
    const std::int64_t stride = along_k ? b_col : b_row;
    if (sizeof(A) == 1 && sizeof(B) == 1 && K < (std::int64_t{1} << 17))
        product_rows<std::int32_t>(p, a, a_row, b, along_k, stride, y, M, N, K);
    else product_rows<std::int64_t>(p, a, a_row, b, along_k, stride, y, M, N, K);
}

template <class Body>
void visit_product_types(const kernel_call& call, dtype a, dtype b, int out_bits, Body&& body) {
    detail::visit_activation(call, a, [&](auto at) {
        detail::visit_activation(call, b, [&](auto bt) {
            detail::visit_activation(call, ktc::fixed::integer_type(out_bits), [&](auto yt) { body(at, bt, yt); });
        });
    });
}

inline product_params resolve_product(const kernel_call& call, std::int64_t N, const detail::value_format& a) {
    product_params p;
    p.out = detail::output_format(call);
    p.acc = detail::accumulators_of(call, a, N, p.out);
    p.clamp = detail::fused_bounds(call, p.out);
    return p;
}

inline void check_operand(const kernel_call& call, std::size_t slot) {
    const dtype t = call.input(slot).type();
    if (t != dtype::int8 && t != dtype::int16)
        throw call.fail("input " + std::to_string(slot) + " must be int8 or int16, got " + name_of(t));
    if (detail::is_quantized_input(call, slot)) detail::input_format(call, slot);  // width check
}

}  // namespace linear_detail

inline void gemm(const kernel_call& call) {
    using namespace linear_detail;
    const tensor& a = call.input(0);
    const tensor& b = call.input(1);
    const auto& at = call.attrs();
    if (at.get_float("alpha", 1.f) != 1.f || at.get_float("beta", 1.f) != 1.f)
        throw call.unsupported("alpha and beta other than 1 (fold them into the weights before quantizing)");
    const bool trans_a = at.get_int("transA", 0) != 0, trans_b = at.get_int("transB", 0) != 0;
    if (a.rank() != 2 || b.rank() != 2) throw call.fail("A and B must be 2-D");
    const detail::value_format fa = detail::input_format(call, 0);
    check_operand(call, 1);
    const std::int64_t M = trans_a ? a.dim(1) : a.dim(0), K = trans_a ? a.dim(0) : a.dim(1);
    const std::int64_t N = trans_b ? b.dim(0) : b.dim(1), Kb = trans_b ? b.dim(1) : b.dim(0);
    if (K != Kb) throw call.fail("A " + to_string(a.shape()) + " and B " + to_string(b.shape()) + " do not multiply");
    product_params p = resolve_product(call, N, fa);
    if (call.has_input(2)) {
        const tensor& c = call.input(2);
        const shape_t& s = c.shape();
        const bool per_column = c.size() == N && (s.size() == 1 || (s.size() == 2 && s[0] == 1));
        if (!per_column && c.size() != 1)
            throw call.unsupported("C " + to_string(s) + " is not one value per output column");
        p.bias = detail::bias_at_accumulator(call, 2, p.acc.radix);
    }
    // Element (i, k) of A' is a[i * a_row + k * a_col]; element (k, j) of B' is b[k * b_row + j * b_col].
    const std::int64_t a_row = trans_a ? 1 : a.dim(1), a_col = trans_a ? a.dim(1) : 1;
    const std::int64_t b_row = trans_b ? 1 : b.dim(1), b_col = trans_b ? b.dim(1) : 1;
    tensor y(ktc::fixed::integer_type(p.out.bits), {M, N});
    visit_product_types(call, a.type(), b.type(), p.out.bits, [&](auto at_, auto bt_, auto yt_) {
        using A = decltype(at_);
        using B = decltype(bt_);
        using Y = decltype(yt_);
        product<A, B, Y>(p, a.data<A>(), a_row, a_col, b.data<B>(), b_row, b_col, y.data<Y>(), M, N, K);
    });
    call.output() = std::move(y);
}

inline void matmul(const kernel_call& call) {
    using namespace linear_detail;
    const tensor& a0 = call.input(0);
    const tensor& b0 = call.input(1);
    const detail::value_format fa = detail::input_format(call, 0);
    check_operand(call, 1);
    if (a0.rank() == 0 || b0.rank() == 0) throw call.fail("MatMul operands must have rank >= 1");
    // numpy: a 1-D left operand is a row, a 1-D right operand a column; both are dropped after.
    const bool a_vec = a0.rank() == 1, b_vec = b0.rank() == 1;
    const shape_t sa = a_vec ? shape_t{1, a0.dim(0)} : a0.shape();
    const shape_t sb = b_vec ? shape_t{b0.dim(0), 1} : b0.shape();
    const std::int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
    if (sb[sb.size() - 2] != K)
        throw call.fail("operands " + to_string(a0.shape()) + " and " + to_string(b0.shape()) + " do not multiply");
    const shape_t batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
    shape_t batch;
    try {
        batch = broadcast_shapes(batch_a, batch_b);
    } catch (const error& e) {
        throw call.fail(e.what());
    }
    const product_params p = resolve_product(call, N, fa);
    if (call.has_input(2)) throw call.fail("MatMul has two inputs");
    shape_t out_shape = batch;
    if (!a_vec) out_shape.push_back(M);
    if (!b_vec) out_shape.push_back(N);
    tensor y(ktc::fixed::integer_type(p.out.bits), out_shape);
    const std::int64_t batches = element_count(batch);
    const shape_t bs = strides_of(batch);
    visit_product_types(call, a0.type(), b0.type(), p.out.bits, [&](auto at_, auto bt_, auto yt_) {
        using A = decltype(at_);
        using B = decltype(bt_);
        using Y = decltype(yt_);
        for (std::int64_t i = 0; i < batches; ++i) {
            // Batch index of each operand under broadcasting (a size-1 batch axis repeats).
            std::int64_t ia = 0, ib = 0, stride_a = 1, stride_b = 1;
            for (std::size_t d = batch.size(); d-- > 0;) {
                const std::int64_t idx = (i / bs[d]) % batch[d];
                if (d >= batch.size() - batch_a.size()) {
                    const std::int64_t ext = batch_a[d - (batch.size() - batch_a.size())];
                    ia += (ext == 1 ? 0 : idx) * stride_a;
                    stride_a *= ext;
                }
                if (d >= batch.size() - batch_b.size()) {
                    const std::int64_t ext = batch_b[d - (batch.size() - batch_b.size())];
                    ib += (ext == 1 ? 0 : idx) * stride_b;
                    stride_b *= ext;
                }
            }
            product<A, B, Y>(p, a0.data<A>() + ia * M * K, K, 1, b0.data<B>() + ib * K * N, N, 1,
                             y.data<Y>() + i * M * N, M, N, K);
        }
    });
    call.output() = std::move(y);
}

KTC_DECL void add_linear_kernels(kernel_table& t);

}  // namespace ktc::kernels::fixed

#if KTC_HEADER_ONLY
#include "ktc/kernels/fixed/linear.ipp"
#endif
