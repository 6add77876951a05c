// ktc/kernels/float/reduce.hpp - reductions and ops along one axis (ONNX opset 17): ReduceSum,
// ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
// ReduceLogSumExp, ReduceSumSquare, ArgMax, ArgMin, Softmax, LogSoftmax, Hardmax, CumSum.
//
// Reductions. The input's dimensions are classified as kept or reduced and collapsed (size-1
// dimensions dropped, neighbours of one kind merged), so the input is walked once, in memory
// order, as contiguous rows. A row along a reduced innermost run folds into one value (for floats
// through Eigen's vectorized reductions, whose partial sums form a tree rather than one serial
// chain); a row along a kept run folds elementwise into a contiguous slice of the output.
// Accumulation is in the element type (as onnxruntime does); integer sums and products wrap.
//
// Axes. ReduceSum takes its axes from the optional second input (opset 13); the other reductions
// from the `axes` attribute, or from a second input when one is given (the opset-18 form). Empty
// axes reduce everything, unless noop_with_empty_axes = 1, which makes the op an identity.
// Softmax, LogSoftmax and Hardmax have the opset-13 meaning: along one axis (default -1).
//
// Dtypes. ReduceSum/Mean/Max/Min/Prod/L1/SumSquare, ArgMax/ArgMin and CumSum take every numeric
// dtype; ReduceL2/LogSum/LogSumExp and the softmax family take float32 and float64.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::floating {
namespace reduction {

template <class T>
inline constexpr bool is_numeric_v = !std::is_same_v<T, bool>;

// Sums and products that wrap for integers instead of overflowing (signed overflow is UB).
template <class T>
constexpr T add(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
        using U = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
        return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
    } else {
        return a + b;
    }
}
template <class T>
constexpr T mul(T a, T b) {
    if constexpr (std::is_integral_v<T>) {
        using U = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
        return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
    } else {
        return a * b;
    }
}
// Max and min that propagate NaN (numpy semantics): `a` is the accumulator.
template <class T>
constexpr T nan_max(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) return (a != a || a > b) ? a : b;
    else return a > b ? a : b;
}
template <class T>
constexpr T nan_min(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) return (a != a || a < b) ? a : b;
    else return a < b ? a : b;
}
template <class T>
constexpr T lowest() {
    if constexpr (std::numeric_limits<T>::has_infinity) return -std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::lowest();
}
template <class T>
constexpr T highest() {
    if constexpr (std::numeric_limits<T>::has_infinity) return std::numeric_limits<T>::infinity();
    else return std::numeric_limits<T>::max();
}

// ---- the reduction plan --------------------------------------------------------------------

struct reduce_plan {
    shape_t out_shape;
    std::int64_t in_count = 0;
    std::int64_t out_count = 0;
    std::int64_t reduce_count = 1;          // input elements folded into each output element
    std::vector<std::int64_t> dims;         // collapsed input dims, outermost first; never empty
    std::vector<std::int64_t> out_strides;  // output stride per collapsed dim; 0 when reduced
    bool inner_reduced = true;              // whether the innermost collapsed dim is reduced
};

inline reduce_plan make_reduce_plan(const shape_t& in, const std::vector<bool>& reduced, bool keepdims) {
    reduce_plan p;
    p.in_count = element_count(in);
    const std::size_t rank = in.size();
    shape_t kept_shape(rank);  // the keepdims output shape
    for (std::size_t d = 0; d < rank; ++d) {
        kept_shape[d] = reduced[d] ? 1 : in[d];
        if (reduced[d]) p.reduce_count *= in[d];
        if (!reduced[d] || keepdims) p.out_shape.push_back(kept_shape[d]);
    }
    p.out_count = element_count(p.out_shape);
    const shape_t strides = strides_of(kept_shape);
    bool last_reduced = false;
    for (std::size_t d = 0; d < rank; ++d) {
        if (in[d] == 1) continue;
        const std::int64_t stride = reduced[d] ? 0 : strides[d];
        if (!p.dims.empty() && last_reduced == reduced[d] && (reduced[d] || p.out_strides.back() == stride * in[d])) {
            p.dims.back() *= in[d];
            p.out_strides.back() = stride;
            continue;
        }
        p.dims.push_back(in[d]);
        p.out_strides.push_back(stride);
        last_reduced = reduced[d];
    }
    if (p.dims.empty()) {
        p.dims.push_back(1);
        p.out_strides.push_back(0);
        last_reduced = true;
    }
    p.inner_reduced = last_reduced;
    return p;
}

// Calls row(in_offset, out_offset, n) for every innermost input row, in memory order.
template <class Row>
void walk(const reduce_plan& p, Row&& row) {
    if (p.in_count == 0) return;
    const std::size_t r = p.dims.size();
    const std::int64_t n = p.dims.back();
    const std::int64_t rows = p.in_count / n;
    std::vector<std::int64_t> idx(r, 0);
    std::int64_t out = 0;
    for (std::int64_t i = 0; i < rows; ++i) {
        row(i * n, out, n);
        for (std::size_t d = r - 1; d-- > 0;) {
            out += p.out_strides[d];
            if (++idx[d] < p.dims[d]) break;
            out -= p.out_strides[d] * p.dims[d];
            idx[d] = 0;
        }
    }
}

// A contiguous row as an Eigen array, for its vectorized reductions.
template <class T>
auto eigen_row(const T* x, std::int64_t n) {
    return Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x, n);
}

// The plain fold of map(x) over a contiguous row (integer dtypes).
template <class T, class Map, class Comb>
struct plain_fold {
    T init;
    Map map;
    Comb comb;
    T operator()(const T* x, std::int64_t n) const {
        T s = init;
        for (std::int64_t i = 0; i < n; ++i) s = comb(s, map(x[i]));
        return s;
    }
};

// out[j] = comb, starting from init, of map(x) over the input elements reduced into j. Rows along
// a reduced innermost run go through fold(x, n), the same reduction of one contiguous row.
template <class T, class Map, class Comb, class Fold>
void reduce_into(const reduce_plan& p, const T* x, T* out, T init, Map map, Comb comb, Fold fold) {
    std::fill(out, out + p.out_count, init);
    walk(p, [&](std::int64_t in, std::int64_t o, std::int64_t n) {
        if (p.inner_reduced) {
            out[o] = comb(out[o], fold(x + in, n));
        } else {
            const T* __restrict xr = x + in;
            T* __restrict orow = out + o;
            for (std::int64_t i = 0; i < n; ++i) orow[i] = comb(orow[i], map(xr[i]));
        }
    });
}

// As above with a row fold that is Eigen's for floating T (vectorized; the partial sums are
// Eigen's tree, not one serial chain) and the plain loop for integers.
template <class T, class Map, class Comb, class EigenFold>
void reduce_into(const reduce_plan& p, const T* x, T* out, T init, Map map, Comb comb, EigenFold eigen_fold,
                 std::true_type /*has_eigen_fold*/) {
    if constexpr (std::is_floating_point_v<T>)
        reduce_into(p, x, out, init, map, comb,
                    [&](const T* r, std::int64_t n) { return eigen_fold(eigen_row(r, n)); });
    else reduce_into(p, x, out, init, map, comb, plain_fold<T, Map, Comb>{init, map, comb});
}

// Which dimensions a Reduce* node reduces; `identity` when it is a no-op (empty axes with
// noop_with_empty_axes = 1).
struct reduce_axes {
    std::vector<bool> reduced;
    bool identity = false;
};

inline reduce_axes axes_of(const kernel_call& call, std::int64_t rank) {
    std::vector<std::int64_t> axes;
    if (call.has_input(1)) {
        const tensor& a = call.input(1);
        if (a.type() != dtype::int64 && a.type() != dtype::int32)
            throw call.fail(std::string("axes must be int64, got ") + name_of(a.type()));
        if (a.rank() > 1) throw call.fail("axes must be 1-D");
        axes = a.to_vector<std::int64_t>();
    } else {
        axes = call.attrs().get_ints("axes", {});
    }
    reduce_axes r;
    r.reduced.assign(static_cast<std::size_t>(rank), axes.empty());
    if (axes.empty()) {
        r.identity = call.attrs().get_int("noop_with_empty_axes", 0) != 0;
        return r;
    }
    for (std::int64_t axis : axes) {
        if (axis < -rank || axis >= rank)
            throw call.fail("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
        const std::size_t d = static_cast<std::size_t>(axis < 0 ? axis + rank : axis);
        if (r.reduced[d]) throw call.fail("axis " + std::to_string(axis) + " repeated");
        r.reduced[d] = true;
    }
    return r;
}

enum class kind { sum, mean, max, min, prod, l1, l2, log_sum, log_sum_exp, sum_square };

constexpr bool floating_only(kind k) { return k == kind::l2 || k == kind::log_sum || k == kind::log_sum_exp; }

template <class T>
void reduce_typed(kind k, const reduce_plan& p, const T* x, T* out) {
    constexpr std::true_type with_eigen{};
    const auto id = [](T v) { return v; };
    const auto plus = [](T a, T b) { return add(a, b); };
    const auto max = [](T a, T b) { return nan_max(a, b); };
    const auto sum = [](const auto& row) { return row.sum(); };
    const auto sum_of_squares = [](const auto& row) { return row.square().sum(); };
    const auto row_max = [](const auto& row) { return row.template maxCoeff<Eigen::PropagateNaN>(); };
    switch (k) {
        case kind::sum: reduce_into(p, x, out, T(0), id, plus, sum, with_eigen); return;
        case kind::mean:
            reduce_into(p, x, out, T(0), id, plus, sum, with_eigen);
            if constexpr (std::is_floating_point_v<T>) {
                const T count = static_cast<T>(p.reduce_count);  // 0 / 0 is NaN, as in numpy
                for (std::int64_t i = 0; i < p.out_count; ++i) out[i] /= count;
            } else {
                if (p.reduce_count != 0) {
                    const T count = static_cast<T>(p.reduce_count);
                    for (std::int64_t i = 0; i < p.out_count; ++i) out[i] = static_cast<T>(out[i] / count);
                }
            }
            return;
        case kind::max: reduce_into(p, x, out, lowest<T>(), id, max, row_max, with_eigen); return;
        case kind::min:
            reduce_into(
                p, x, out, highest<T>(), id, [](T a, T b) { return nan_min(a, b); },
                [](const auto& row) { return row.template minCoeff<Eigen::PropagateNaN>(); }, with_eigen);
            return;
        case kind::prod:
            reduce_into(
                p, x, out, T(1), id, [](T a, T b) { return mul(a, b); }, [](const auto& row) { return row.prod(); },
                with_eigen);
            return;
        case kind::l1:
            reduce_into(
                p, x, out, T(0),
                [](T v) {
                    if constexpr (std::is_unsigned_v<T>) return v;
                    else return v < T(0) ? static_cast<T>(T(0) - v) : v;
                },
                plus, [](const auto& row) { return row.abs().sum(); }, with_eigen);
            return;
        case kind::sum_square:
            reduce_into(
                p, x, out, T(0), [](T v) { return mul(v, v); }, plus, sum_of_squares, with_eigen);
            return;
        case kind::l2:
        case kind::log_sum:
        case kind::log_sum_exp:
            if constexpr (std::is_floating_point_v<T>) {
                if (k == kind::l2) {
                    reduce_into(
                        p, x, out, T(0), [](T v) { return v * v; }, plus, sum_of_squares, with_eigen);
                    for (std::int64_t i = 0; i < p.out_count; ++i) out[i] = std::sqrt(out[i]);
                } else if (k == kind::log_sum) {
                    reduce_into(p, x, out, T(0), id, plus, sum, with_eigen);
                    for (std::int64_t i = 0; i < p.out_count; ++i) out[i] = std::log(out[i]);
                } else {
                    // log(sum(exp(x))) = m + log(sum(exp(x - m))) with m the maximum.
                    std::vector<T> m(static_cast<std::size_t>(p.out_count));
                    reduce_into(p, x, m.data(), lowest<T>(), id, max, row_max, with_eigen);
                    for (T& v : m) v = std::isfinite(v) ? v : T(0);
                    std::fill(out, out + p.out_count, T(0));
                    walk(p, [&](std::int64_t in, std::int64_t o, std::int64_t n) {
                        const T* xr = x + in;
                        if (p.inner_reduced) {
                            out[o] += (eigen_row(xr, n) - m[o]).exp().sum();
                        } else {
                            for (std::int64_t i = 0; i < n; ++i) out[o + i] += std::exp(xr[i] - m[o + i]);
                        }
                    });
                    for (std::int64_t i = 0; i < p.out_count; ++i) out[i] = m[i] + std::log(out[i]);
                }
            }
            return;
    }
}

template <kind K>
void reduce(const kernel_call& call) {
    const tensor& x = call.input(0);
    const reduce_axes axes = axes_of(call, x.rank());
    if (axes.identity) {
        call.output(0) = x;
        return;
    }
    const bool keepdims = call.attrs().get_int("keepdims", 1) != 0;
    const reduce_plan plan = make_reduce_plan(x.shape(), axes.reduced, keepdims);
    const bool floating = is_floating(x.type());
    if (x.type() == dtype::boolean || (floating_only(K) && !floating))
        throw call.unsupported(std::string("dtype ") + name_of(x.type()));
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_numeric_v<T>) {
            tensor out(x.type(), plan.out_shape);
            reduce_typed<T>(K, plan, x.data<T>(), out.data<T>());
            call.output(0) = std::move(out);
        }
    });
}

// ---- ops along one axis --------------------------------------------------------------------

// The input seen as [outer, n, inner] around `axis`.
struct axis_view {
    std::int64_t axis = 0, outer = 1, n = 1, inner = 1;
};

inline axis_view view_along(const kernel_call& call, const shape_t& shape, std::int64_t axis) {
    const std::int64_t rank = static_cast<std::int64_t>(shape.size());
    if (axis < -rank || axis >= rank)
        throw call.fail("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
    axis_view v;
    v.axis = axis < 0 ? axis + rank : axis;
    for (std::int64_t d = 0; d < rank; ++d) {
        if (d < v.axis) v.outer *= shape[d];
        else if (d == v.axis) v.n = shape[d];
        else v.inner *= shape[d];
    }
    return v;
}

// ArgMax / ArgMin: the first (or, with select_last_index, last) extreme index along `axis`.
template <bool IsMax>
void arg_extreme(const kernel_call& call) {
    const tensor& x = call.input(0);
    if (x.type() == dtype::boolean) throw call.unsupported("bool input");
    const axis_view v = view_along(call, x.shape(), call.attrs().get_int("axis", 0));
    if (v.n == 0) throw call.fail("cannot take the arg-extreme of an empty axis");
    const bool keepdims = call.attrs().get_int("keepdims", 1) != 0;
    const bool last = call.attrs().get_int("select_last_index", 0) != 0;
    shape_t out_shape = x.shape();
    if (keepdims) out_shape[static_cast<std::size_t>(v.axis)] = 1;
    else out_shape.erase(out_shape.begin() + v.axis);
    tensor out(dtype::int64, out_shape);
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_numeric_v<T>) {
            // `candidate` beats `best` when strictly more extreme, or NaN over a number.
            const auto better = [](T candidate, T best) {
                bool b = IsMax ? candidate > best : candidate < best;
                if constexpr (std::is_floating_point_v<T>) b = b || (candidate != candidate && best == best);
                return b;
            };
            std::vector<T> best(static_cast<std::size_t>(v.inner));
            const T* px = x.data<T>();
            std::int64_t* po = out.data<std::int64_t>();
            for (std::int64_t o = 0; o < v.outer; ++o) {
                const T* block = px + o * v.n * v.inner;
                std::int64_t* res = po + o * v.inner;
                std::copy(block, block + v.inner, best.begin());
                std::fill(res, res + v.inner, std::int64_t{0});
                for (std::int64_t r = 1; r < v.n; ++r) {
                    const T* row = block + r * v.inner;
                    for (std::int64_t i = 0; i < v.inner; ++i) {
                        const T c = row[i];
                        if (better(c, best[i]) || (last && c == best[i])) {
                            best[i] = c;
                            res[i] = r;
                        }
                    }
                }
            }
        }
    });
    call.output(0) = std::move(out);
}

enum class softmax_kind { softmax, log_softmax, hardmax };

// One [n, inner] block of Softmax / LogSoftmax along n. `scratch` holds 2 * inner values.
template <class T>
void softmax_block(softmax_kind k, const T* x, T* y, std::int64_t n, std::int64_t inner, std::vector<T>& scratch) {
    using array = Eigen::Array<T, Eigen::Dynamic, 1>;
    const std::int64_t count = n * inner;
    if (inner == 1) {  // a contiguous row: the common last-axis case
        Eigen::Map<const array> xr(x, n);
        Eigen::Map<array> yr(y, n);
        const T m = xr.maxCoeff();
        yr = (xr - m).exp();
        const T s = yr.sum();
        if (k == softmax_kind::softmax) yr *= T(1) / s;
        else yr = xr - (m + std::log(s));
        return;
    }
    T* m = scratch.data();
    T* s = scratch.data() + inner;
    std::copy(x, x + inner, m);
    for (std::int64_t r = 1; r < n; ++r)
        for (std::int64_t i = 0; i < inner; ++i) m[i] = std::max(m[i], x[r * inner + i]);
    for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t i = 0; i < inner; ++i) y[r * inner + i] = x[r * inner + i] - m[i];
    Eigen::Map<array> yb(y, count);
    yb = yb.exp();
    std::fill(s, s + inner, T(0));
    for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t i = 0; i < inner; ++i) s[i] += y[r * inner + i];
    if (k == softmax_kind::softmax) {
        for (std::int64_t i = 0; i < inner; ++i) s[i] = T(1) / s[i];
        for (std::int64_t r = 0; r < n; ++r)
            for (std::int64_t i = 0; i < inner; ++i) y[r * inner + i] *= s[i];
    } else {
        for (std::int64_t i = 0; i < inner; ++i) s[i] = m[i] + std::log(s[i]);
        for (std::int64_t r = 0; r < n; ++r)
            for (std::int64_t i = 0; i < inner; ++i) y[r * inner + i] = x[r * inner + i] - s[i];
    }
}

// Hardmax: 1 at the first maximum along the axis, 0 elsewhere.
template <class T>
void hardmax_block(const T* x, T* y, std::int64_t n, std::int64_t inner, std::vector<T>& scratch) {
    std::fill(y, y + n * inner, T(0));
    if (n == 0) return;
    T* best = scratch.data();
    std::vector<std::int64_t> at(static_cast<std::size_t>(inner), 0);
    std::copy(x, x + inner, best);
    for (std::int64_t r = 1; r < n; ++r)
        for (std::int64_t i = 0; i < inner; ++i)
            if (x[r * inner + i] > best[i]) {
                best[i] = x[r * inner + i];
                at[i] = r;
            }
    for (std::int64_t i = 0; i < inner; ++i) y[at[i] * inner + i] = T(1);
}

template <softmax_kind K>
void softmax_family(const kernel_call& call) {
    const tensor& x = call.input(0);
    const axis_view v = view_along(call, x.shape(), call.attrs().get_int("axis", -1));
    auto run = [&](auto tag) {
        using T = decltype(tag);
        tensor y(x.type(), x.shape());
        std::vector<T> scratch(static_cast<std::size_t>(2 * v.inner));
        const std::int64_t block = v.n * v.inner;
        if (block > 0) {
            for (std::int64_t o = 0; o < v.outer; ++o) {
                const T* xb = x.data<T>() + o * block;
                T* yb = y.data<T>() + o * block;
                if constexpr (K == softmax_kind::hardmax) hardmax_block(xb, yb, v.n, v.inner, scratch);
                else softmax_block(K, xb, yb, v.n, v.inner, scratch);
            }
        }
        call.output(0) = std::move(y);
    };
    if (x.type() == dtype::float32) run(float{});
    else if (x.type() == dtype::float64) run(double{});
    else throw call.unsupported(std::string("dtype ") + name_of(x.type()));
}

// CumSum(X, axis): running sums along axis; `exclusive` shifts by one, `reverse` runs backwards.
inline void cumsum(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& axis_t = call.input(1);
    if (axis_t.type() != dtype::int32 && axis_t.type() != dtype::int64)
        throw call.fail(std::string("axis must be int32 or int64, got ") + name_of(axis_t.type()));
    if (axis_t.size() != 1) throw call.fail("axis must be a scalar");
    if (x.type() == dtype::boolean) throw call.unsupported("bool input");
    const axis_view v = view_along(call, x.shape(), axis_t.to_vector<std::int64_t>()[0]);
    const bool exclusive = call.attrs().get_int("exclusive", 0) != 0;
    const bool reverse = call.attrs().get_int("reverse", 0) != 0;
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_numeric_v<T>) {
            tensor y(x.type(), x.shape());
            std::vector<T> run(static_cast<std::size_t>(v.inner));
            for (std::int64_t o = 0; o < v.outer; ++o) {
                std::fill(run.begin(), run.end(), T(0));
                for (std::int64_t step = 0; step < v.n; ++step) {
                    const std::int64_t r = reverse ? v.n - 1 - step : step;
                    const std::int64_t base = (o * v.n + r) * v.inner;
                    const T* xr = x.data<T>() + base;
                    T* yr = y.data<T>() + base;
                    for (std::int64_t i = 0; i < v.inner; ++i) {
                        const T value = xr[i];
                        if (exclusive) {
                            yr[i] = run[i];
                            run[i] = add(run[i], value);
                        } else {
                            run[i] = add(run[i], value);
                            yr[i] = run[i];
                        }
                    }
                }
            }
            call.output(0) = std::move(y);
        }
    });
}

}  // namespace reduction

KTC_DECL void add_reduce_kernels(kernel_table& t);

}  // namespace ktc::kernels::floating

#if KTC_HEADER_ONLY
#include "ktc/kernels/float/reduce.ipp"
#endif
