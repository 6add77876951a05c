// ktc/kernels/float/elementwise.hpp - elementwise float kernels: numpy-broadcasting binary and
// variadic ops, comparisons and logic, Where, activations and unary math (ONNX opset 17).
//
// Broadcasting. Operands are aligned on their trailing dimensions; the iteration space is then
// collapsed: output dimensions of size 1 are dropped and adjacent dimensions merge when every
// operand is either broadcast along both or contiguous across both. After that the innermost
// dimension is one contiguous run in which each operand advances by 1 or stays put, and the
// inner loop is specialised for the four (step, step) combinations so that the compiler emits a
// plain vector loop for each. Same-shape operands and a size-1 operand skip the plan entirely;
// [1,C,H,W] against [C,1,1] collapses to C rows of H*W with the second operand constant per row.
//
// Dtypes. Arithmetic (Add, Sub, Mul, Div, Mod, Max, Min, Sum, Mean) works on every numeric dtype
// with both operands of one type; integer arithmetic wraps (two's complement) and integer
// division truncates toward zero like C (integer Div and Mod by zero give 0 instead of trapping).
// Pow takes a base of float32, float64, int32 or int64 and an exponent of any numeric type; the
// result has the base's type. Comparisons take any dtype and give bool; And/Or/Xor/Not take bool.
// Activations and transcendental functions take float32 and float64; Abs, Neg, Sign, Relu,
// Clip and Shrink take every numeric dtype.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::floating {
namespace elementwise {

// ---- broadcasting --------------------------------------------------------------------------

// The collapsed iteration space of K operands broadcast to one output shape.
template <std::size_t K>
struct broadcast_plan {
    std::int64_t out_count = 0;
    std::vector<std::int64_t> dims;                    // outermost first; never empty
    std::array<std::vector<std::int64_t>, K> strides;  // per operand and dim; 0 = broadcast
};

// `shapes` must each broadcast to `out` (callers get `out` from broadcast_shapes).
template <std::size_t K>
broadcast_plan<K> make_plan(const std::array<const shape_t*, K>& shapes, const shape_t& out) {
    broadcast_plan<K> plan;
    plan.out_count = element_count(out);
    const std::size_t rank = out.size();
    std::array<std::vector<std::int64_t>, K> full;
    for (std::size_t k = 0; k < K; ++k) {
        const shape_t& s = *shapes[k];
        full[k].assign(rank, 0);
        std::int64_t stride = 1;
        for (std::size_t i = s.size(); i-- > 0;) {
            if (s[i] != 1) full[k][rank - s.size() + i] = stride;
            stride *= s[i];
        }
    }
    for (std::size_t d = 0; d < rank; ++d) {
        if (out[d] == 1) continue;
        if (!plan.dims.empty()) {
            bool merge = true;
            for (std::size_t k = 0; k < K && merge; ++k) {
                const std::int64_t prev = plan.strides[k].back(), cur = full[k][d];
                merge = (prev == 0 && cur == 0) || (prev != 0 && cur != 0 && prev == cur * out[d]);
            }
            if (merge) {
                plan.dims.back() *= out[d];
                for (std::size_t k = 0; k < K; ++k) plan.strides[k].back() = full[k][d];
                continue;
            }
        }
        plan.dims.push_back(out[d]);
        for (std::size_t k = 0; k < K; ++k) plan.strides[k].push_back(full[k][d]);
    }
    if (plan.dims.empty()) {
        plan.dims.push_back(1);
        for (std::size_t k = 0; k < K; ++k) plan.strides[k].push_back(0);
    }
    return plan;
}

// Calls row(offsets, out_offset, n, steps) for every innermost run: operand k starts at
// offsets[k] and advances by steps[k] (0 or 1) per element; the output is contiguous.
template <std::size_t K, class Row>
void for_each_row(const broadcast_plan<K>& plan, Row&& row) {
    if (plan.out_count == 0) return;
    const std::size_t r = plan.dims.size();
    const std::int64_t n = plan.dims.back();
    const std::int64_t rows = plan.out_count / n;
    std::array<bool, K> steps{};
    for (std::size_t k = 0; k < K; ++k) steps[k] = plan.strides[k].back() != 0;
    std::array<std::int64_t, K> off{};
    std::vector<std::int64_t> idx(r, 0);
    for (std::int64_t i = 0; i < rows; ++i) {
        row(off, i * n, n, steps);
        for (std::size_t d = r - 1; d-- > 0;) {
            for (std::size_t k = 0; k < K; ++k) off[k] += plan.strides[k][d];
            if (++idx[d] < plan.dims[d]) break;
            for (std::size_t k = 0; k < K; ++k) off[k] -= plan.strides[k][d] * plan.dims[d];
            idx[d] = 0;
        }
    }
}

// One contiguous run of a binary op; each (step, step) case is its own vectorizable loop.
template <class A, class B, class O, class F>
inline void binary_row(const A* __restrict a, bool step_a, const B* __restrict b, bool step_b, O* __restrict o,
                       std::int64_t n, F f) {
    if (step_a && step_b) {
        for (std::int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
    } else if (step_a) {
        const B bv = *b;
        for (std::int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
    } else if (step_b) {
        const A av = *a;
        for (std::int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
    } else {
        const O v = f(*a, *b);
        for (std::int64_t i = 0; i < n; ++i) o[i] = v;
    }
}

// out[i] = f(a[i'], b[i'']) over the broadcast of a and b to `out_shape`.
template <class A, class B, class O, class F>
tensor binary_apply(const tensor& a, const tensor& b, const shape_t& out_shape, F f) {
    tensor out(dtype_of<O>(), out_shape);
    const A* pa = a.data<A>();
    const B* pb = b.data<B>();
    O* po = out.data<O>();
    if (a.shape() == out_shape && b.shape() == out_shape) {
        binary_row(pa, true, pb, true, po, out.size(), f);
    } else if (a.shape() == out_shape && b.size() == 1) {
        binary_row(pa, true, pb, false, po, out.size(), f);
    } else if (b.shape() == out_shape && a.size() == 1) {
        binary_row(pa, false, pb, true, po, out.size(), f);
    } else {
        const auto plan = make_plan<2>({&a.shape(), &b.shape()}, out_shape);
        for_each_row(plan, [&](const auto& off, std::int64_t o, std::int64_t n, const auto& st) {
            binary_row(pa + off[0], st[0], pb + off[1], st[1], po + o, n, f);
        });
    }
    return out;
}

inline shape_t broadcast_or_fail(const kernel_call& call, const shape_t& a, const shape_t& b) {
    try {
        return broadcast_shapes(a, b);
    } catch (const error& e) {
        throw call.fail(e.what());
    }
}

inline void require_same_type(const kernel_call& call, const tensor& a, const tensor& b) {
    if (a.type() != b.type())
        throw call.fail(std::string("operand types differ: ") + name_of(a.type()) + " and " + name_of(b.type()));
}

template <class T>
inline constexpr bool is_bool_v = std::is_same_v<T, bool>;
template <class T>
inline constexpr bool is_numeric_v = !is_bool_v<T>;

// ---- integer arithmetic that wraps instead of overflowing ------------------------------------

// An unsigned type at least as wide as T and as unsigned int, so that no operand promotes to a
// signed int and overflows (uint16 * uint16 would).
template <class T>
using wide_unsigned_t = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;

template <class T>
constexpr T wrap_add(T a, T b) {
    using U = wide_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
}
template <class T>
constexpr T wrap_sub(T a, T b) {
    using U = wide_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
}
template <class T>
constexpr T wrap_mul(T a, T b) {
    using U = wide_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
}
template <class T>
constexpr T wrap_neg(T a) {
    return wrap_sub(T(0), a);
}

struct add_op {
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) return wrap_add(a, b);
        else return a + b;
    }
};
struct sub_op {
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) return wrap_sub(a, b);
        else return a - b;
    }
};
struct mul_op {
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) return wrap_mul(a, b);
        else return a * b;
    }
};
// Integer division truncates toward zero; x / 0 gives 0 and INT_MIN / -1 wraps.
struct div_op {
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_integral_v<T>) {
            if (b == 0) return T(0);
            if constexpr (std::is_signed_v<T>)
                if (b == T(-1)) return wrap_neg(a);
            return static_cast<T>(a / b);
        } else {
            return a / b;
        }
    }
};
// Max and Min propagate NaN, like numpy.maximum / minimum.
struct max_op {
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_floating_point_v<T>) return (a != a || a > b) ? a : b;
        else return a > b ? a : b;
    }
};
struct min_op {
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_floating_point_v<T>) return (a != a || a < b) ? a : b;
        else return a < b ? a : b;
    }
};
// fmod = 1: the remainder has the sign of the dividend (C fmod / %); fmod = 0: the sign of the
// divisor (Python %, numpy.mod). Integer x mod 0 gives 0.
struct mod_op {
    bool c_style = false;
    template <class T>
    T operator()(T a, T b) const {
        if constexpr (std::is_floating_point_v<T>) {
            T r = std::fmod(a, b);
            if (!c_style && r != 0 && ((r < 0) != (b < 0))) r += b;
            return r;
        } else {
            if (b == 0) return T(0);
            if constexpr (std::is_signed_v<T>) {
                if (b == T(-1)) return T(0);
                T r = static_cast<T>(a % b);
                if (!c_style && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
                return r;
            } else {
                return static_cast<T>(a % b);
            }
        }
    }
};

// ---- binary kernels ------------------------------------------------------------------------

// Both operands of one numeric type; the result has that type.
template <class Op>
void arithmetic(const kernel_call& call, Op op = {}) {
    const tensor& a = call.input(0);
    const tensor& b = call.input(1);
    require_same_type(call, a, b);
    if (a.type() == dtype::boolean) throw call.unsupported("bool operands");
    const shape_t out_shape = broadcast_or_fail(call, a.shape(), b.shape());
    visit_dtype(a.type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_numeric_v<T>) call.output(0) = binary_apply<T, T, T>(a, b, out_shape, op);
    });
}

inline void add(const kernel_call& call) { arithmetic<add_op>(call); }
inline void sub(const kernel_call& call) { arithmetic<sub_op>(call); }
inline void mul(const kernel_call& call) { arithmetic<mul_op>(call); }
inline void div(const kernel_call& call) { arithmetic<div_op>(call); }
inline void mod(const kernel_call& call) {
    const std::int64_t fmod = call.attrs().get_int("fmod", 0);
    if (fmod != 0 && fmod != 1) throw call.fail("fmod must be 0 or 1");
    arithmetic<mod_op>(call, mod_op{fmod == 1});
}

// Integer power by squaring, wrapping on overflow; a negative exponent gives 1/a^|e| truncated.
template <class T>
T integer_pow(T base, std::int64_t e) {
    if (e < 0) {
        if (base == 1) return T(1);
        if constexpr (std::is_signed_v<T>)
            if (base == T(-1)) return (e % 2 == 0) ? T(1) : T(-1);
        return T(0);
    }
    T result = 1;
    while (e > 0) {
        if (e & 1) result = wrap_mul(result, base);
        base = wrap_mul(base, base);
        e >>= 1;
    }
    return result;
}

template <class T>
tensor pow_same_type(const tensor& x, const tensor& e, const shape_t& out_shape) {
    if (e.size() == 1) {  // the common scalar exponents of real models
        const T v = e.data<T>()[0];
        if (v == T(2)) return binary_apply<T, T, T>(x, e, out_shape, [](T a, T) { return a * a; });
        if (v == T(1)) return binary_apply<T, T, T>(x, e, out_shape, [](T a, T) { return a; });
        if (v == T(0.5)) return binary_apply<T, T, T>(x, e, out_shape, [](T a, T) { return std::sqrt(a); });
    }
    return binary_apply<T, T, T>(x, e, out_shape, [](T a, T b) { return std::pow(a, b); });
}

// Pow: the result has the base's type. A floating base takes the exponent converted to its type;
// an integer base takes an integer exponent as int64 and a floating one through double.
inline void pow(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& e = call.input(1);
    const shape_t out_shape = broadcast_or_fail(call, x.shape(), e.shape());
    if (e.type() == dtype::boolean) throw call.unsupported("bool exponent");
    tensor cast_exponent;  // holds the exponent converted to another dtype, when it must be
    const auto converted = [&](dtype to) -> const tensor& {
        if (e.type() == to) return e;
        cast_exponent = e.cast(to);
        return cast_exponent;
    };
    switch (x.type()) {
        case dtype::float32: call.output(0) = pow_same_type<float>(x, converted(dtype::float32), out_shape); return;
        case dtype::float64: call.output(0) = pow_same_type<double>(x, converted(dtype::float64), out_shape); return;
        case dtype::int32:
        case dtype::int64:
            visit_dtype(x.type(), [&](auto tag) {
                using T = decltype(tag);
                if constexpr (std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::int64_t>) {
                    if (is_floating(e.type())) {
                        call.output(0) = binary_apply<T, double, T>(
                            x, converted(dtype::float64), out_shape,
                            [](T a, double b) { return static_cast<T>(std::pow(static_cast<double>(a), b)); });
                    } else {
                        call.output(0) =
                            binary_apply<T, std::int64_t, T>(x, converted(dtype::int64), out_shape,
                                                             [](T a, std::int64_t b) { return integer_pow(a, b); });
                    }
                }
            });
            return;
        default: throw call.unsupported(std::string("base of type ") + name_of(x.type()));
    }
}

// Comparisons: two operands of one dtype, a bool result.
template <class Cmp>
void compare(const kernel_call& call) {
    const tensor& a = call.input(0);
    const tensor& b = call.input(1);
    require_same_type(call, a, b);
    const shape_t out_shape = broadcast_or_fail(call, a.shape(), b.shape());
    visit_dtype(a.type(), [&](auto tag) {
        using T = decltype(tag);
        call.output(0) = binary_apply<T, T, bool>(a, b, out_shape, Cmp{});
    });
}
struct equal_op {
    template <class T>
    bool operator()(T a, T b) const {
        return a == b;
    }
};
struct less_op {
    template <class T>
    bool operator()(T a, T b) const {
        return a < b;
    }
};
struct greater_op {
    template <class T>
    bool operator()(T a, T b) const {
        return a > b;
    }
};
struct less_equal_op {
    template <class T>
    bool operator()(T a, T b) const {
        return a <= b;
    }
};
struct greater_equal_op {
    template <class T>
    bool operator()(T a, T b) const {
        return a >= b;
    }
};
inline void equal(const kernel_call& call) { compare<equal_op>(call); }
inline void less(const kernel_call& call) { compare<less_op>(call); }
inline void greater(const kernel_call& call) { compare<greater_op>(call); }
inline void less_or_equal(const kernel_call& call) { compare<less_equal_op>(call); }
inline void greater_or_equal(const kernel_call& call) { compare<greater_equal_op>(call); }

template <class F>
void logical(const kernel_call& call, F f) {
    const tensor& a = call.input(0);
    const tensor& b = call.input(1);
    if (a.type() != dtype::boolean || b.type() != dtype::boolean) throw call.fail("operands must be bool");
    const shape_t out_shape = broadcast_or_fail(call, a.shape(), b.shape());
    call.output(0) = binary_apply<bool, bool, bool>(a, b, out_shape, f);
}
inline void logical_and(const kernel_call& call) {
    logical(call, [](bool a, bool b) { return a && b; });
}
inline void logical_or(const kernel_call& call) {
    logical(call, [](bool a, bool b) { return a || b; });
}
inline void logical_xor(const kernel_call& call) {
    logical(call, [](bool a, bool b) { return a != b; });
}

// PRelu: slope broadcasts to X (unidirectionally); y = x < 0 ? slope * x : x.
inline void prelu(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& slope = call.input(1);
    require_same_type(call, x, slope);
    if (broadcast_or_fail(call, x.shape(), slope.shape()) != x.shape())
        throw call.fail("slope " + to_string(slope.shape()) + " does not broadcast to X " + to_string(x.shape()));
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_bool_v<T> || std::is_unsigned_v<T>) {
            throw call.unsupported(std::string("dtype ") + name_of(x.type()));
        } else {
            call.output(0) =
                binary_apply<T, T, T>(x, slope, x.shape(), [](T v, T s) { return v < 0 ? mul_op{}(s, v) : v; });
        }
    });
}

// ---- variadic ops --------------------------------------------------------------------------

// Sum, Max, Min, Mean of one or more operands of one numeric type, all broadcast together.
template <class Op>
void variadic(const kernel_call& call, bool mean = false) {
    const std::size_t n = call.input_count();
    if (n == 0) throw call.fail("needs at least one input");
    const tensor& first = call.input(0);
    for (std::size_t i = 1; i < n; ++i) require_same_type(call, first, call.input(i));
    if (first.type() == dtype::boolean) throw call.unsupported("bool operands");
    visit_dtype(first.type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_numeric_v<T>) {
            auto combine = [&](const tensor& a, const tensor& b) {
                return binary_apply<T, T, T>(a, b, broadcast_or_fail(call, a.shape(), b.shape()), Op{});
            };
            tensor acc = n == 1 ? first : combine(first, call.input(1));
            for (std::size_t i = 2; i < n; ++i) acc = combine(acc, call.input(i));
            if (mean && n > 1) {
                const T count = static_cast<T>(n);
                T* p = acc.data<T>();
                for (std::int64_t i = 0; i < acc.size(); ++i) p[i] = static_cast<T>(p[i] / count);
            }
            call.output(0) = std::move(acc);
        }
    });
}
inline void sum(const kernel_call& call) { variadic<add_op>(call); }
inline void mean(const kernel_call& call) { variadic<add_op>(call, true); }
inline void max(const kernel_call& call) { variadic<max_op>(call); }
inline void min(const kernel_call& call) { variadic<min_op>(call); }

// Where(cond, X, Y): three-way broadcast.
inline void where(const kernel_call& call) {
    const tensor& c = call.input(0);
    const tensor& x = call.input(1);
    const tensor& y = call.input(2);
    if (c.type() != dtype::boolean) throw call.fail("condition must be bool");
    require_same_type(call, x, y);
    const shape_t out_shape = broadcast_or_fail(call, broadcast_or_fail(call, c.shape(), x.shape()), y.shape());
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        tensor out(x.type(), out_shape);
        const bool* pc = c.data<bool>();
        const T* px = x.data<T>();
        const T* py = y.data<T>();
        T* po = out.data<T>();
        if (c.shape() == out_shape && x.shape() == out_shape && y.shape() == out_shape) {
            for (std::int64_t i = 0; i < out.size(); ++i) po[i] = pc[i] ? px[i] : py[i];
        } else {
            const auto plan = make_plan<3>({&c.shape(), &x.shape(), &y.shape()}, out_shape);
            for_each_row(plan, [&](const auto& off, std::int64_t o, std::int64_t n, const auto& st) {
                const bool* rc = pc + off[0];
                const T* rx = px + off[1];
                const T* ry = py + off[2];
                const std::int64_t sc = st[0], sx = st[1], sy = st[2];
                for (std::int64_t i = 0; i < n; ++i) po[o + i] = rc[i * sc] ? rx[i * sx] : ry[i * sy];
            });
        }
        call.output(0) = std::move(out);
    });
}

// ---- unary ops -----------------------------------------------------------------------------

template <class T, class U, class F>
inline void map_row(const T* __restrict x, U* __restrict y, std::int64_t n, F f) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// A float32 / float64 op: f is called with each element (a float or a double).
template <class F>
void floating_unary(const kernel_call& call, F f) {
    const tensor& x = call.input(0);
    auto run = [&](auto tag) {
        using T = decltype(tag);
        tensor y(x.type(), x.shape());
        map_row(x.data<T>(), y.data<T>(), x.size(), f);
        call.output(0) = std::move(y);
    };
    if (x.type() == dtype::float32) run(float{});
    else if (x.type() == dtype::float64) run(double{});
    else throw call.unsupported(std::string("dtype ") + name_of(x.type()));
}

// A float32 / float64 op computed with Eigen's vectorized array functions: f maps an Eigen
// array expression to an expression.
template <class F>
void eigen_unary(const kernel_call& call, F f) {
    const tensor& x = call.input(0);
    auto run = [&](auto tag) {
        using T = decltype(tag);
        using array = Eigen::Array<T, Eigen::Dynamic, 1>;
        tensor y(x.type(), x.shape());
        Eigen::Map<const array> in(x.data<T>(), x.size());
        Eigen::Map<array> out(y.data<T>(), y.size());
        out = f(in);
        call.output(0) = std::move(y);
    };
    if (x.type() == dtype::float32) run(float{});
    else if (x.type() == dtype::float64) run(double{});
    else throw call.unsupported(std::string("dtype ") + name_of(x.type()));
}

// An op defined for every numeric dtype.
template <class F>
void numeric_unary(const kernel_call& call, F f) {
    const tensor& x = call.input(0);
    if (x.type() == dtype::boolean) throw call.unsupported("bool input");
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_numeric_v<T>) {
            tensor y(x.type(), x.shape());
            map_row(x.data<T>(), y.data<T>(), x.size(), [&](T v) { return f(v); });
            call.output(0) = std::move(y);
        }
    });
}

// Reads a float attribute in the element type.
template <class T>
T attr(const kernel_call& call, const char* name, float fallback) {
    return static_cast<T>(call.attrs().get_float(name, fallback));
}

inline void relu(const kernel_call& call) {
    numeric_unary(call, [](auto v) {
        using T = decltype(v);
        return v > T(0) ? v : T(0);
    });
}
inline void leaky_relu(const kernel_call& call) {
    const float alpha = call.attrs().get_float("alpha", 0.01f);
    floating_unary(call, [alpha](auto v) {
        using T = decltype(v);
        return v < T(0) ? static_cast<T>(alpha) * v : v;
    });
}
inline void sigmoid(const kernel_call& call) {
    eigen_unary(call, [](const auto& x) { return x.logistic(); });
}
inline void hard_sigmoid(const kernel_call& call) {
    const float alpha = call.attrs().get_float("alpha", 0.2f);
    const float beta = call.attrs().get_float("beta", 0.5f);
    floating_unary(call, [alpha, beta](auto v) {
        using T = decltype(v);
        const T r = static_cast<T>(alpha) * v + static_cast<T>(beta);
        return std::min(T(1), std::max(T(0), r));
    });
}
inline void hard_swish(const kernel_call& call) {
    floating_unary(call, [](auto v) {
        using T = decltype(v);
        const T r = v * T(1.0 / 6.0) + T(0.5);
        return v * std::min(T(1), std::max(T(0), r));
    });
}
inline void tanh(const kernel_call& call) {
    eigen_unary(call, [](const auto& x) { return x.tanh(); });
}
inline void elu(const kernel_call& call) {
    const float alpha = call.attrs().get_float("alpha", 1.0f);
    floating_unary(call, [alpha](auto v) {
        using T = decltype(v);
        return v < T(0) ? static_cast<T>(alpha) * std::expm1(v) : v;
    });
}
inline void selu(const kernel_call& call) {
    const float alpha = call.attrs().get_float("alpha", 1.67326319217681884765625f);
    const float gamma = call.attrs().get_float("gamma", 1.05070102214813232421875f);
    floating_unary(call, [alpha, gamma](auto v) {
        using T = decltype(v);
        const T g = static_cast<T>(gamma);
        return v > T(0) ? g * v : g * static_cast<T>(alpha) * std::expm1(v);
    });
}
inline void celu(const kernel_call& call) {
    const float alpha = call.attrs().get_float("alpha", 1.0f);
    if (alpha == 0.f) throw call.fail("alpha must not be 0");
    floating_unary(call, [alpha](auto v) {
        using T = decltype(v);
        const T a = static_cast<T>(alpha);
        return v > T(0) ? v : a * std::expm1(v / a);
    });
}
inline void softplus(const kernel_call& call) {
    floating_unary(call, [](auto v) {  // log(1 + exp(v)) without overflow
        using T = decltype(v);
        return v > T(0) ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
    });
}
inline void softsign(const kernel_call& call) {
    floating_unary(call, [](auto v) {
        using T = decltype(v);
        return v / (T(1) + std::abs(v));
    });
}
inline void thresholded_relu(const kernel_call& call) {
    const float alpha = call.attrs().get_float("alpha", 1.0f);
    floating_unary(call, [alpha](auto v) {
        using T = decltype(v);
        return v > static_cast<T>(alpha) ? v : T(0);
    });
}
inline void shrink(const kernel_call& call) {
    const float lambd = call.attrs().get_float("lambd", 0.5f);
    const float bias = call.attrs().get_float("bias", 0.0f);
    numeric_unary(call, [lambd, bias](auto v) {
        using T = decltype(v);
        const double d = static_cast<double>(v);
        if (d < -lambd) return static_cast<T>(d + bias);
        if (d > lambd) return static_cast<T>(d - bias);
        return T(0);
    });
}

inline void abs(const kernel_call& call) {
    numeric_unary(call, [](auto v) {
        using T = decltype(v);
        if constexpr (std::is_unsigned_v<T>) return v;
        else if constexpr (std::is_integral_v<T>) return v < 0 ? wrap_neg(v) : v;
        else return std::abs(v);
    });
}
inline void neg(const kernel_call& call) {
    numeric_unary(call, [](auto v) {
        using T = decltype(v);
        if constexpr (std::is_integral_v<T>) return wrap_neg(v);
        else return T(-v);
    });
}
inline void sign(const kernel_call& call) {
    numeric_unary(call, [](auto v) {
        using T = decltype(v);
        return v > T(0) ? T(1) : (v < T(0) ? static_cast<T>(-1) : T(0));
    });
}
inline void reciprocal(const kernel_call& call) {
    floating_unary(call, [](auto v) { return decltype(v)(1) / v; });
}

inline void exp(const kernel_call& call) {
    eigen_unary(call, [](const auto& x) { return x.exp(); });
}
inline void log(const kernel_call& call) {
    eigen_unary(call, [](const auto& x) { return x.log(); });
}
inline void sqrt(const kernel_call& call) {
    eigen_unary(call, [](const auto& x) { return x.sqrt(); });
}
inline void floor(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::floor(v); });
}
inline void ceil(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::ceil(v); });
}
// Round half to even: nearbyint in the default rounding mode (to nearest, ties to even).
inline void round(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::nearbyint(v); });
}
inline void erf(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::erf(v); });
}
inline void sin(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::sin(v); });
}
inline void cos(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::cos(v); });
}
inline void tan(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::tan(v); });
}
inline void asin(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::asin(v); });
}
inline void acos(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::acos(v); });
}
inline void atan(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::atan(v); });
}
inline void sinh(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::sinh(v); });
}
inline void cosh(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::cosh(v); });
}
inline void asinh(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::asinh(v); });
}
inline void acosh(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::acosh(v); });
}
inline void atanh(const kernel_call& call) {
    floating_unary(call, [](auto v) { return std::atanh(v); });
}

// Float predicates: a bool tensor of X's shape.
template <class F>
void floating_predicate(const kernel_call& call, F f) {
    const tensor& x = call.input(0);
    auto run = [&](auto tag) {
        using T = decltype(tag);
        tensor y(dtype::boolean, x.shape());
        map_row(x.data<T>(), y.data<bool>(), x.size(), f);
        call.output(0) = std::move(y);
    };
    if (x.type() == dtype::float32) run(float{});
    else if (x.type() == dtype::float64) run(double{});
    else throw call.unsupported(std::string("dtype ") + name_of(x.type()));
}
inline void is_nan(const kernel_call& call) {
    floating_predicate(call, [](auto v) { return std::isnan(v); });
}
inline void is_inf(const kernel_call& call) {
    const bool negative = call.attrs().get_int("detect_negative", 1) != 0;
    const bool positive = call.attrs().get_int("detect_positive", 1) != 0;
    floating_predicate(call, [negative, positive](auto v) { return std::isinf(v) && (v > 0 ? positive : negative); });
}

inline void logical_not(const kernel_call& call) {
    const tensor& x = call.input(0);
    if (x.type() != dtype::boolean) throw call.fail("input must be bool");
    tensor y(dtype::boolean, x.shape());
    map_row(x.data<bool>(), y.data<bool>(), x.size(), [](bool v) { return !v; });
    call.output(0) = std::move(y);
}

// Clip(X, min?, max?): the bounds are optional one-element inputs of X's type.
inline void clip(const kernel_call& call) {
    const tensor& x = call.input(0);
    if (x.type() == dtype::boolean) throw call.unsupported("bool input");
    for (std::size_t i = 1; i <= 2; ++i) {
        if (!call.has_input(i)) continue;
        const tensor& bound = call.input(i);
        require_same_type(call, x, bound);
        if (bound.size() != 1)
            throw call.fail(std::string(i == 1 ? "min" : "max") + " must be a scalar, got shape " +
                            to_string(bound.shape()));
    }
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (is_numeric_v<T>) {
            const T lo = call.has_input(1) ? call.input(1).data<T>()[0] : std::numeric_limits<T>::lowest();
            const T hi = call.has_input(2) ? call.input(2).data<T>()[0] : std::numeric_limits<T>::max();
            tensor y(x.type(), x.shape());
            map_row(x.data<T>(), y.data<T>(), x.size(), [lo, hi](T v) {
                v = v < lo ? lo : v;
                return v > hi ? hi : v;
            });
            call.output(0) = std::move(y);
        }
    });
}

}  // namespace elementwise

KTC_DECL void add_elementwise_kernels(kernel_table& t);

}  // namespace ktc::kernels::floating

#if KTC_HEADER_ONLY
#include "ktc/kernels/float/elementwise.ipp"
#endif
