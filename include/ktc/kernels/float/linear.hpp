// ktc/kernels/float/linear.hpp - Gemm and MatMul in float (Eigen products).
#pragma once

#include "ktc/core/config.hpp"

#include <Eigen/Core>

#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::floating {

namespace detail {

template <class T>
using matrix_of = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Elements of `c` broadcast (unidirectionally) to [M, N], as Gemm's C input is.
template <class T>
void broadcast_into(const tensor& c, std::int64_t M, std::int64_t N, T* y, const kernel_call& call) {
    const shape_t& s = c.shape();
    if (s.size() > 2) throw call.fail("C must have rank <= 2");
    const std::int64_t cm = s.size() == 2 ? s[0] : 1, cn = s.empty() ? 1 : s.back();
    if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
        throw call.fail("C " + to_string(s) + " does not broadcast to [" + std::to_string(M) + "," + std::to_string(N) +
                        "]");
    const auto values = c.to_vector<T>();
    for (std::int64_t i = 0; i < M; ++i)
        for (std::int64_t j = 0; j < N; ++j) y[i * N + j] = values[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
}

template <class T>
void gemm_typed(const kernel_call& call) {
    const tensor& a = call.input(0);
    const tensor& b = call.input(1);
    const auto& at = call.attrs();
    const bool trans_a = at.get_int("transA", 0) != 0, trans_b = at.get_int("transB", 0) != 0;
    const T alpha = static_cast<T>(at.get_float("alpha", 1.f)), beta = static_cast<T>(at.get_float("beta", 1.f));
    if (a.rank() != 2 || b.rank() != 2) throw call.fail("A and B must be 2-D");
    const std::int64_t M = trans_a ? a.dim(1) : a.dim(0), K = trans_a ? a.dim(0) : a.dim(1);
    const std::int64_t N = trans_b ? b.dim(0) : b.dim(1), Kb = trans_b ? b.dim(1) : b.dim(0);
    if (K != Kb) throw call.fail("A " + to_string(a.shape()) + " and B " + to_string(b.shape()) + " do not multiply");
    tensor y(dtype_of<T>(), {M, N});
    Eigen::Map<matrix_of<T>> Y(y.data<T>(), M, N);
    Eigen::Map<const matrix_of<T>> A(a.data<T>(), a.dim(0), a.dim(1)), B(b.data<T>(), b.dim(0), b.dim(1));
    if (call.has_input(2) && beta != T(0)) {
        broadcast_into<T>(call.input(2), M, N, y.data<T>(), call);
        if (beta != T(1)) Y *= beta;
    } else {
        Y.setZero();
    }
    if (trans_a && trans_b) Y.noalias() += alpha * (A.transpose() * B.transpose());
    else if (trans_a) Y.noalias() += alpha * (A.transpose() * B);
    else if (trans_b) Y.noalias() += alpha * (A * B.transpose());
    else Y.noalias() += alpha * (A * B);
    call.output() = std::move(y);
}

template <class T>
void matmul_typed(const kernel_call& call) {
    tensor a = call.input(0), b = call.input(1);
    if (a.rank() == 0 || b.rank() == 0) throw call.fail("MatMul operands must have rank >= 1");
    // numpy: a 1-D left operand is a row, a 1-D right operand a column; both are dropped after.
    const bool a_vec = a.rank() == 1, b_vec = b.rank() == 1;
    if (a_vec) a.reshape({1, a.dim(0)});
    if (b_vec) b.reshape({b.dim(0), 1});
    const std::int64_t M = a.dim(-2), K = a.dim(-1), N = b.dim(-1);
    if (b.dim(-2) != K)
        throw call.fail("operands " + to_string(call.input(0).shape()) + " and " + to_string(call.input(1).shape()) +
                        " do not multiply");
    const shape_t batch_a(a.shape().begin(), a.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
    shape_t batch;
    try {
        batch = broadcast_shapes(batch_a, batch_b);
    } catch (const error& e) {
        throw call.fail(e.what());
    }
    shape_t out_shape = batch;
    if (!a_vec) out_shape.push_back(M);
    if (!b_vec) out_shape.push_back(N);
    tensor y(dtype_of<T>(), out_shape);
    const std::int64_t batches = element_count(batch);
    const auto bs = strides_of(batch);
    for (std::int64_t i = 0; i < batches; ++i) {
        // Batch index of each operand under broadcasting.
        std::int64_t ia = 0, ib = 0, sa = 1, sb = 1;
        for (std::size_t d = batch.size(); d-- > 0;) {
            const std::int64_t idx = (i / bs[d]) % batch[d];
            const std::size_t da = d + batch_a.size() - batch.size(), db = d + batch_b.size() - batch.size();
            if (d >= batch.size() - batch_a.size()) {
                ia += (batch_a[da] == 1 ? 0 : idx) * sa;
                sa *= batch_a[da];
            }
            if (d >= batch.size() - batch_b.size()) {
                ib += (batch_b[db] == 1 ? 0 : idx) * sb;
                sb *= batch_b[db];
            }
        }
        Eigen::Map<matrix_of<T>>(y.data<T>() + i * M * N, M, N).noalias() =
            Eigen::Map<const matrix_of<T>>(a.data<T>() + ia * M * K, M, K) *
            Eigen::Map<const matrix_of<T>>(b.data<T>() + ib * K * N, K, N);
    }
    call.output() = std::move(y);
}

template <template <class> class Body>
void float_or_double(const kernel_call& call) {
    const dtype t = call.input(0).type();
    if (t != call.input(1).type()) throw call.fail("operands have different types");
    if (t == dtype::float32) return Body<float>::run(call);
    if (t == dtype::float64) return Body<double>::run(call);
    throw call.unsupported(std::string("no kernel for ") + name_of(t));
}
template <class T>
struct gemm_body {
    static void run(const kernel_call& c) { gemm_typed<T>(c); }
};
template <class T>
struct matmul_body {
    static void run(const kernel_call& c) { matmul_typed<T>(c); }
};

}  // namespace detail

inline void gemm(const kernel_call& call) { detail::float_or_double<detail::gemm_body>(call); }
inline void matmul(const kernel_call& call) { detail::float_or_double<detail::matmul_body>(call); }

KTC_DECL void add_linear_kernels(kernel_table& t);

}  // namespace ktc::kernels::floating

#if KTC_HEADER_ONLY
#include "ktc/kernels/float/linear.ipp"
#endif
