// ktc/kernels/float/pool.hpp - pooling kernels as ONNX opset 17 defines them: MaxPool (with the
// optional Indices output), AveragePool, LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool,
// MaxRoiPool and MaxUnpool. Tensors are [N, C, spatial...] with any number of spatial axes.
//
// Windowed pooling is separable: the max (or sum) over a box of taps is the max (sum) along each
// spatial axis in turn, because the taps that fall inside the input form a box too. The fast path
// (pool_separable) therefore pools one (n, c) plane one axis at a time: along a leading axis each
// step combines whole rows (contiguous, vectorized over the trailing axes); along the last axis
// the hot CNN windows (2 or 3 taps, stride 1 or 2) run unrolled between the borders and any other
// window runs tap by tap over all outputs. Tap ranges are worked out once per call (axis_plan), not
// per row. Averaging divides by the per-axis tap count at each step, which equals dividing by the
// box's count at the end. The plain twin (pool_direct) visits every tap of every window; it also
// produces MaxPool's Indices (a rare output, so it stays plain) and is what the unit tests compare
// the fast path against.
//
// Window geometry (one axis): output o covers input positions o*stride - pad_begin + j*dilation for
// taps j in [0, kernel). Positions outside [0, in) are padding: ignored by max, zero for sums, and
// counted in an average's divisor only with count_include_pad=1, and then only as far as the padded
// input [-pad_begin, in + pad_end) reaches (a ceil_mode window can run past it; the ONNX reference
// clips it there).
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::floating {
namespace pool_detail {

// Floor and ceiling of a / b for b > 0 and any sign of a.
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
inline std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return -floor_div(-a, b); }

// The pooling window along one spatial axis.
struct axis_window {
    std::int64_t in = 1, out = 1, kernel = 1, stride = 1, dilation = 1, pad_begin = 0, pad_end = 0;

    // Input position of tap 0 of output o (negative inside the leading padding).
    std::int64_t start(std::int64_t o) const { return o * stride - pad_begin; }

    // The taps [lo, hi) of output o whose positions lie in [begin, end).
    std::pair<std::int64_t, std::int64_t> taps_in(std::int64_t o, std::int64_t begin, std::int64_t end) const {
        const std::int64_t s = start(o);
        const std::int64_t lo = std::max<std::int64_t>(0, ceil_div(begin - s, dilation));
        const std::int64_t hi = std::min(kernel, floor_div(end - 1 - s, dilation) + 1);
        return {lo, std::max(lo, hi)};
    }
    // Taps of output o inside the input.
    std::pair<std::int64_t, std::int64_t> taps(std::int64_t o) const { return taps_in(o, 0, in); }

    // The outputs [lo, hi) whose tap j lies inside the input; tap j of output o reads position
    // o*stride + tap_offset(j).
    std::int64_t tap_offset(std::int64_t j) const { return j * dilation - pad_begin; }
    std::pair<std::int64_t, std::int64_t> outputs_of_tap(std::int64_t j) const {
        const std::int64_t off = tap_offset(j);
        const std::int64_t lo = std::max<std::int64_t>(0, ceil_div(-off, stride));
        const std::int64_t hi = std::min(out, floor_div(in - 1 - off, stride) + 1);
        return {lo, std::max(lo, hi)};
    }

    // The divisor of an average for output o.
    std::int64_t count(std::int64_t o, bool include_pad) const {
        const auto [lo, hi] = include_pad ? taps_in(o, -pad_begin, in + pad_end) : taps(o);
        return hi - lo;
    }

    // Whether pooling along this axis leaves it unchanged.
    bool identity() const { return kernel == 1 && stride == 1 && pad_begin == 0 && pad_end == 0 && out == in; }
};

// Geometry of a windowed pool over x of shape [N, C, spatial...].
struct pool_params {
    std::int64_t batch = 1, channels = 1;
    std::vector<axis_window> axes;

    std::int64_t planes() const { return batch * channels; }
    std::int64_t in_plane() const {
        std::int64_t n = 1;
        for (const auto& a : axes) n *= a.in;
        return n;
    }
    std::int64_t out_plane() const {
        std::int64_t n = 1;
        for (const auto& a : axes) n *= a.out;
        return n;
    }
    shape_t output_shape() const {
        shape_t s{batch, channels};
        for (const auto& a : axes) s.push_back(a.out);
        return s;
    }
};

// Reads kernel_shape, strides, dilations, pads, auto_pad and ceil_mode and derives every axis's
// window and output size.
inline pool_params parse_pool(const kernel_call& call, const shape_t& x) {
    if (x.size() < 3) throw call.fail("input must be [N, C, spatial...], got shape " + to_string(x));
    const std::size_t nsp = x.size() - 2;
    const auto& a = call.attrs();
    if (!a.has("kernel_shape")) throw call.fail("attribute kernel_shape is required");
    const auto kernel = a.get_ints("kernel_shape");
    const auto strides = a.get_ints("strides", std::vector<std::int64_t>(nsp, 1));
    const auto dilations = a.get_ints("dilations", std::vector<std::int64_t>(nsp, 1));
    const auto pads = a.get_ints("pads", std::vector<std::int64_t>(2 * nsp, 0));
    std::string auto_pad = a.get_string("auto_pad", "NOTSET");
    if (auto_pad.empty()) auto_pad = "NOTSET";
    const bool ceil_mode = a.get_int("ceil_mode", 0) != 0;

    const auto rank_str = std::to_string(nsp);
    if (kernel.size() != nsp)
        throw call.fail("kernel_shape has " + std::to_string(kernel.size()) + " values for an input with " + rank_str +
                        " spatial axes");
    if (strides.size() != nsp) throw call.fail("strides must have " + rank_str + " values");
    if (dilations.size() != nsp) throw call.fail("dilations must have " + rank_str + " values");
    if (pads.size() != 2 * nsp) throw call.fail("pads must have " + std::to_string(2 * nsp) + " values");
    if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID")
        throw call.fail("unknown auto_pad '" + auto_pad + "'");

    pool_params p;
    p.batch = x[0];
    p.channels = x[1];
    p.axes.resize(nsp);
    for (std::size_t i = 0; i < nsp; ++i) {
        axis_window& w = p.axes[i];
        w.in = x[i + 2];
        w.kernel = kernel[i];
        w.stride = strides[i];
        w.dilation = dilations[i];
        if (w.kernel < 1 || w.stride < 1 || w.dilation < 1)
            throw call.fail("kernel_shape, strides and dilations must be positive");
        if (w.in < 1) throw call.fail("empty spatial axis in input shape " + to_string(x));
        const std::int64_t extent = (w.kernel - 1) * w.dilation + 1;
        if (auto_pad == "NOTSET") {
            w.pad_begin = pads[i];
            w.pad_end = pads[i + nsp];
            if (w.pad_begin < 0 || w.pad_end < 0) throw call.fail("pads must not be negative");
            const std::int64_t span = w.in + w.pad_begin + w.pad_end - extent;
            if (span < 0)
                throw call.fail("pooling window larger than the padded input on axis " + std::to_string(i + 2));
            w.out = (ceil_mode ? ceil_div(span, w.stride) : span / w.stride) + 1;
            // A ceil_mode window must start inside the input or its leading padding.
            if (ceil_mode && (w.out - 1) * w.stride >= w.in + w.pad_begin) --w.out;
        } else if (auto_pad == "VALID") {
            if (w.in < extent) throw call.fail("pooling window larger than the input on axis " + std::to_string(i + 2));
            w.out = (w.in - extent) / w.stride + 1;
        } else {
            w.out = ceil_div(w.in, w.stride);
            const std::int64_t total = std::max<std::int64_t>(0, (w.out - 1) * w.stride + extent - w.in);
            w.pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            w.pad_end = total - w.pad_begin;
        }
        if (w.out < 1) throw call.fail("pooling produces an empty output");
    }
    return p;
}

// ---- the fast path -----------------------------------------------------------------------------

enum class pool_mode { max, sum };

// What max pooling yields for a window that lies wholly in the padding (as ONNX Runtime does).
template <class T>
constexpr T lowest_of() {
    return std::numeric_limits<T>::lowest();
}

// What pool_axis needs for one axis, worked out once per call rather than once per row.
template <class T>
struct axis_plan {
    struct tap_outputs {
        std::int64_t lo, hi, offset;  // outputs [lo, hi) read input position o*stride + offset
    };
    axis_window w;
    std::vector<tap_outputs> by_tap;                               // one per tap
    std::vector<std::pair<std::int64_t, std::int64_t>> by_output;  // each output's taps
    std::vector<T> scale;  // per output multiplier (1 / tap count); empty for none

    axis_plan(const axis_window& window, bool average, bool include_pad) : w(window) {
        for (std::int64_t j = 0; j < w.kernel; ++j) {
            const auto [lo, hi] = w.outputs_of_tap(j);
            by_tap.push_back({lo, hi, w.tap_offset(j)});
        }
        for (std::int64_t o = 0; o < w.out; ++o) by_output.push_back(w.taps(o));
        if (average)
            for (std::int64_t o = 0; o < w.out; ++o) {
                const std::int64_t n = w.count(o, include_pad);
                scale.push_back(n > 0 ? T(1) / T(n) : T(0));
            }
    }
};

// One row along the last axis for a window of K taps, stride S and dilation 1: the outputs whose
// taps all lie in the input run unrolled, the few at the borders tap by tap.
template <pool_mode Mode, int K, int S, class T>
void pool_row_fixed(const T* s, T* d, const axis_plan<T>& plan) {
    const axis_window& w = plan.w;
    auto combine = [](T a, T b) { return Mode == pool_mode::max ? std::max(a, b) : T(a + b); };
    std::int64_t full_lo = 0, full_hi = w.out;
    for (const auto& t : plan.by_tap) {
        full_lo = std::max(full_lo, t.lo);
        full_hi = std::min(full_hi, t.hi);
    }
    full_lo = std::min(full_lo, w.out);
    full_hi = std::max(full_lo, full_hi);
    auto border = [&](std::int64_t o) {
        const auto [lo, hi] = plan.by_output[o];
        T v = Mode == pool_mode::max ? lowest_of<T>() : T(0);
        for (std::int64_t j = lo; j < hi; ++j) v = combine(v, s[w.start(o) + j]);
        d[o] = v;
    };
    for (std::int64_t o = 0; o < full_lo; ++o) border(o);
    const T* base = s - w.pad_begin;
    for (std::int64_t o = full_lo; o < full_hi; ++o) {
        T v = base[o * S];
        for (int j = 1; j < K; ++j) v = combine(v, base[o * S + j]);
        d[o] = v;
    }
    for (std::int64_t o = full_hi; o < w.out; ++o) border(o);
    if (!plan.scale.empty())
        for (std::int64_t o = 0; o < w.out; ++o) d[o] *= plan.scale[o];
}

// Pools the middle axis of src, laid out [outer, w.in, inner], into dst laid out
// [outer, w.out, inner], then applies the plan's per-output scale if it has one.
template <pool_mode Mode, class T>
void pool_axis(const T* src, T* dst, std::int64_t outer, std::int64_t inner, const axis_plan<T>& plan) {
    const axis_window& w = plan.w;
    const T identity = Mode == pool_mode::max ? lowest_of<T>() : T(0);
    auto combine = [](T a, T b) { return Mode == pool_mode::max ? std::max(a, b) : T(a + b); };
    const T* scale = plan.scale.empty() ? nullptr : plan.scale.data();
    if (inner == 1 && w.dilation == 1 && w.kernel <= 3 && w.stride <= 2 && w.kernel >= 2) {
        // The hot CNN windows (2 or 3 taps, stride 1 or 2) with the taps unrolled.
        const int key = static_cast<int>(w.kernel * 10 + w.stride);
        for (std::int64_t r = 0; r < outer; ++r) {
            const T* s = src + r * w.in;
            T* d = dst + r * w.out;
            switch (key) {
                case 21: pool_row_fixed<Mode, 2, 1>(s, d, plan); break;
                case 22: pool_row_fixed<Mode, 2, 2>(s, d, plan); break;
                case 31: pool_row_fixed<Mode, 3, 1>(s, d, plan); break;
                default: pool_row_fixed<Mode, 3, 2>(s, d, plan); break;
            }
        }
        return;
    }
    if (inner == 1) {
        // Tap by tap over the whole output row: contiguous for stride 1.
        for (std::int64_t r = 0; r < outer; ++r) {
            const T* s = src + r * w.in;
            T* d = dst + r * w.out;
            std::fill(d, d + w.out, identity);
            for (const auto& t : plan.by_tap) {
                const T* sj = s + t.offset;
                if (w.stride == 1) {
                    for (std::int64_t o = t.lo; o < t.hi; ++o) d[o] = combine(d[o], sj[o]);
                } else if (w.stride == 2) {
                    for (std::int64_t o = t.lo; o < t.hi; ++o) d[o] = combine(d[o], sj[2 * o]);
                } else {
                    const std::int64_t st = w.stride;
                    for (std::int64_t o = t.lo; o < t.hi; ++o) d[o] = combine(d[o], sj[o * st]);
                }
            }
            if (scale)
                for (std::int64_t o = 0; o < w.out; ++o) d[o] *= scale[o];
        }
        return;
    }
    // Output by output, combining whole rows of `inner` contiguous values.
    for (std::int64_t r = 0; r < outer; ++r) {
        const T* s = src + r * w.in * inner;
        for (std::int64_t o = 0; o < w.out; ++o) {
            T* d = dst + (r * w.out + o) * inner;
            const auto [lo, hi] = plan.by_output[o];
            if (lo == hi) {
                std::fill(d, d + inner, identity);
                continue;
            }
            const T* row = s + (w.start(o) + lo * w.dilation) * inner;
            const std::int64_t step = w.dilation * inner;
            if (hi - lo == 3) {  // one pass for the common 3- and 2-tap windows
                const T *r1 = row + step, *r2 = row + 2 * step;
                for (std::int64_t i = 0; i < inner; ++i) d[i] = combine(combine(row[i], r1[i]), r2[i]);
            } else if (hi - lo == 2) {
                const T* r1 = row + step;
                for (std::int64_t i = 0; i < inner; ++i) d[i] = combine(row[i], r1[i]);
            } else {
                std::copy(row, row + inner, d);
                for (std::int64_t j = lo + 1; j < hi; ++j) {
                    row += step;
                    for (std::int64_t i = 0; i < inner; ++i) d[i] = combine(d[i], row[i]);
                }
            }
            if (scale) {
                const T f = scale[o];
                for (std::int64_t i = 0; i < inner; ++i) d[i] *= f;
            }
        }
    }
}

// Windowed max or sum pooling of every plane of x into y, one axis at a time. With `average`, the
// sum is divided by the tap count (including padding when `include_pad`).
template <pool_mode Mode, class T>
void pool_separable(const T* x, T* y, const pool_params& p, bool average = false, bool include_pad = false) {
    const std::size_t nsp = p.axes.size();
    std::vector<std::size_t> active;
    std::vector<axis_plan<T>> plans;
    for (std::size_t a = 0; a < nsp; ++a)
        if (!p.axes[a].identity()) {
            active.push_back(a);
            plans.emplace_back(p.axes[a], average, include_pad);
        }
    const std::int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
    if (active.empty()) {
        std::copy(x, x + p.planes() * in_plane, y);
        return;
    }
    // Scratch for the intermediate planes: after step k, axes up to active[k] are pooled.
    std::vector<T> buf[2];
    if (active.size() > 1) {
        shape_t dims;
        for (const auto& w : p.axes) dims.push_back(w.in);
        std::int64_t largest = 0;
        for (std::size_t k = 0; k + 1 < active.size(); ++k) {
            dims[active[k]] = p.axes[active[k]].out;
            largest = std::max(largest, element_count(dims));
        }
        buf[0].resize(static_cast<std::size_t>(largest));
        if (active.size() > 2) buf[1].resize(static_cast<std::size_t>(largest));
    }
    // The [outer, axis, inner] view of each step, the same for every plane.
    std::vector<std::int64_t> step_outer, step_inner;
    {
        shape_t dims;
        for (const auto& w : p.axes) dims.push_back(w.in);
        for (std::size_t a : active) {
            std::int64_t outer = 1, inner = 1;
            for (std::size_t b = 0; b < a; ++b) outer *= dims[b];
            for (std::size_t b = a + 1; b < nsp; ++b) inner *= dims[b];
            step_outer.push_back(outer);
            step_inner.push_back(inner);
            dims[a] = p.axes[a].out;
        }
    }
    for (std::int64_t plane = 0; plane < p.planes(); ++plane) {
        const T* src = x + plane * in_plane;
        for (std::size_t k = 0; k < active.size(); ++k) {
            T* dst = k + 1 == active.size() ? y + plane * out_plane : buf[k % 2].data();
            pool_axis<Mode>(src, dst, step_outer[k], step_inner[k], plans[k]);
            src = dst;
        }
    }
}

// ---- the plain twin ----------------------------------------------------------------------------

enum class direct_mode { max, average, average_include_pad, lp };

// Visits every tap of every window. For max, `indices` (when given) receives each maximum's flat
// index into x (row-major, or with the spatial axes in column-major order when `col_major`); the
// first maximum in row-major tap order wins. For lp, the result is (sum |x|^p)^(1/p).
template <class T>
void pool_direct(const T* x, T* y, const pool_params& p, direct_mode mode, std::int64_t* indices = nullptr,
                 bool col_major = false, double lp = 2.0) {
    const std::size_t nsp = p.axes.size();
    const std::int64_t in_plane = p.in_plane(), out_plane = p.out_plane();
    std::vector<std::int64_t> o(nsp), j(nsp), pos(nsp);
    for (std::int64_t plane = 0; plane < p.planes(); ++plane) {
        const T* xp = x + plane * in_plane;
        std::fill(o.begin(), o.end(), 0);
        for (std::int64_t oi = 0; oi < out_plane; ++oi) {
            T best = lowest_of<T>();
            std::int64_t best_at = -1;
            double sum = 0;
            std::int64_t count = 1;
            if (mode == direct_mode::average || mode == direct_mode::average_include_pad)
                for (std::size_t a = 0; a < nsp; ++a)
                    count *= p.axes[a].count(o[a], mode == direct_mode::average_include_pad);
            std::fill(j.begin(), j.end(), 0);
            for (bool more = true; more;) {
                bool inside = true;
                std::int64_t flat = 0;
                for (std::size_t a = 0; a < nsp; ++a) {
                    pos[a] = p.axes[a].start(o[a]) + j[a] * p.axes[a].dilation;
                    inside = inside && pos[a] >= 0 && pos[a] < p.axes[a].in;
                    flat = flat * p.axes[a].in + pos[a];
                }
                if (inside) {
                    const T v = xp[flat];
                    if (mode == direct_mode::max) {
                        if (best_at < 0 || v > best) {
                            best = v;
                            std::int64_t at = 0;
                            if (col_major)
                                for (std::size_t a = nsp; a-- > 0;) at = at * p.axes[a].in + pos[a];
                            else at = flat;
                            best_at = at;
                        }
                    } else if (mode == direct_mode::lp) {
                        sum += std::pow(std::abs(static_cast<double>(v)), lp);
                    } else {
                        sum += static_cast<double>(v);
                    }
                }
                more = false;
                for (std::size_t a = nsp; a-- > 0;) {
                    if (++j[a] < p.axes[a].kernel) {
                        more = true;
                        break;
                    }
                    j[a] = 0;
                }
            }
            T result;
            if (mode == direct_mode::max) result = best;
            else if (mode == direct_mode::lp) result = static_cast<T>(std::pow(sum, 1.0 / lp));
            else result = count > 0 ? static_cast<T>(sum / static_cast<double>(count)) : T(0);
            y[plane * out_plane + oi] = result;
            if (indices) indices[plane * out_plane + oi] = best_at < 0 ? -1 : plane * in_plane + best_at;
            for (std::size_t a = nsp; a-- > 0;) {
                if (++o[a] < p.axes[a].out) break;
                o[a] = 0;
            }
        }
    }
}

// Whether the node declares output i (declared outputs may be "" for an omitted optional one).
inline bool wants_output(const kernel_call& call, std::size_t i) {
    return i < call.outputs.size() && (i >= call.node.outputs.size() || !call.node.outputs[i].empty());
}

template <class F>
void visit_float(const kernel_call& call, dtype t, F&& f) {
    if (t == dtype::float32) return f(float{});
    if (t == dtype::float64) return f(double{});
    throw call.unsupported(std::string("input type ") + name_of(t) + " (float32 or float64 only)");
}

}  // namespace pool_detail

// ---- kernels -----------------------------------------------------------------------------------

inline void max_pool(const kernel_call& call) {
    using namespace pool_detail;
    const tensor& x = call.input(0);
    const pool_params p = parse_pool(call, x.shape());
    const std::int64_t storage_order = call.attrs().get_int("storage_order", 0);
    if (storage_order != 0 && storage_order != 1) throw call.fail("storage_order must be 0 or 1");
    if (x.type() == dtype::boolean) throw call.unsupported("bool input");
    const bool with_indices = wants_output(call, 1);
    tensor y(x.type(), p.output_shape());
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_same_v<T, bool>) {
            return;
        } else if (with_indices) {
            tensor idx(dtype::int64, p.output_shape());
            pool_direct<T>(x.data<T>(), y.data<T>(), p, direct_mode::max, idx.data<std::int64_t>(), storage_order == 1);
            call.output(1) = std::move(idx);
        } else {
            pool_separable<pool_mode::max, T>(x.data<T>(), y.data<T>(), p);
        }
    });
    call.output(0) = std::move(y);
}

inline void average_pool(const kernel_call& call) {
    using namespace pool_detail;
    const tensor& x = call.input(0);
    const pool_params p = parse_pool(call, x.shape());
    const bool include_pad = call.attrs().get_int("count_include_pad", 0) != 0;
    tensor y(x.type(), p.output_shape());
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        pool_separable<pool_mode::sum, T>(x.data<T>(), y.data<T>(), p, true, include_pad);
    });
    call.output(0) = std::move(y);
}

namespace pool_detail {
inline double lp_order(const kernel_call& call) {
    const auto& a = call.attrs();
    // p is an int in the standard; accept a float too.
    double p = 2.0;
    if (a.has("p")) {
        const auto& v = a.all().at("p");
        if (const auto* i = std::get_if<std::int64_t>(&v)) p = static_cast<double>(*i);
        else if (const auto* f = std::get_if<float>(&v)) p = *f;
        else throw call.fail("attribute p must be a number");
    }
    if (!(p > 0)) throw call.fail("p must be positive");
    return p;
}

// |x|^p elementwise, and its inverse root, with the common orders made cheap.
template <class T>
void lp_power(const T* x, T* y, std::int64_t n, double p) {
    if (p == 1.0)
        for (std::int64_t i = 0; i < n; ++i) y[i] = std::abs(x[i]);
    else if (p == 2.0)
        for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i];
    else
        for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(std::pow(std::abs(static_cast<double>(x[i])), p));
}
template <class T>
void lp_root(T* y, std::int64_t n, double p) {
    if (p == 1.0) return;
    if (p == 2.0)
        for (std::int64_t i = 0; i < n; ++i) y[i] = std::sqrt(y[i]);
    else
        for (std::int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(std::pow(static_cast<double>(y[i]), 1.0 / p));
}
}  // namespace pool_detail

inline void lp_pool(const kernel_call& call) {
    using namespace pool_detail;
    const tensor& x = call.input(0);
    const pool_params p = parse_pool(call, x.shape());
    const double order = lp_order(call);
    tensor y(x.type(), p.output_shape());
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        std::vector<T> powered(static_cast<std::size_t>(x.size()));
        lp_power(x.data<T>(), powered.data(), x.size(), order);
        pool_separable<pool_mode::sum, T>(powered.data(), y.data<T>(), p);
        lp_root(y.data<T>(), y.size(), order);
    });
    call.output(0) = std::move(y);
}

namespace pool_detail {
enum class global_mode { average, max, lp };

// The sum (or max) of n > 0 contiguous values, in `Lanes` interleaved lanes so that the compiler
// vectorizes it into several independent chains without reassociating a serial one.
template <int Lanes, bool Max, class T>
T reduce_lanes(const T* x, std::int64_t n) {
    if (n < Lanes) {
        T r = x[0];
        for (std::int64_t i = 1; i < n; ++i) r = Max ? std::max(r, x[i]) : T(r + x[i]);
        return r;
    }
    T acc[Lanes];
    for (int k = 0; k < Lanes; ++k) acc[k] = x[k];
    std::int64_t i = Lanes;
    for (; i + Lanes <= n; i += Lanes)
        for (int k = 0; k < Lanes; ++k) acc[k] = Max ? std::max(acc[k], x[i + k]) : T(acc[k] + x[i + k]);
    for (int k = 0; i < n; ++i, ++k) acc[k] = Max ? std::max(acc[k], x[i]) : T(acc[k] + x[i]);
    T r = acc[0];
    for (int k = 1; k < Lanes; ++k) r = Max ? std::max(r, acc[k]) : T(r + acc[k]);
    return r;
}

// The sum (or max) of n > 0 contiguous values: 8 lanes for short planes (7x7), 32 otherwise.
template <bool Max, class T>
T reduce_plane(const T* x, std::int64_t n) {
    return n < 8 * 32 ? reduce_lanes<8, Max>(x, n) : reduce_lanes<32, Max>(x, n);
}

template <global_mode Mode>
void global_pool(const kernel_call& call) {
    const tensor& x = call.input(0);
    if (x.rank() < 2) throw call.fail("input must be [N, C, spatial...], got " + to_string(x.shape()));
    shape_t out_shape{x.shape()[0], x.shape()[1]};
    std::int64_t plane = 1;
    for (std::int64_t a = 2; a < x.rank(); ++a) {
        plane *= x.shape()[a];
        out_shape.push_back(1);
    }
    if (plane == 0) throw call.fail("empty spatial extent in input shape " + to_string(x.shape()));
    const double order = Mode == global_mode::lp ? lp_order(call) : 2.0;
    const std::int64_t planes = x.shape()[0] * x.shape()[1];
    tensor y(x.type(), out_shape);
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        const T* xd = x.data<T>();
        T* yd = y.data<T>();
        if constexpr (Mode == global_mode::average) {
            for (std::int64_t i = 0; i < planes; ++i)
                yd[i] = reduce_plane<false>(xd + i * plane, plane) / static_cast<T>(plane);
        } else if constexpr (Mode == global_mode::max) {
            for (std::int64_t i = 0; i < planes; ++i) yd[i] = reduce_plane<true>(xd + i * plane, plane);
        } else {
            std::vector<T> powered(static_cast<std::size_t>(plane));
            for (std::int64_t i = 0; i < planes; ++i) {
                lp_power(xd + i * plane, powered.data(), plane, order);
                yd[i] = reduce_plane<false>(powered.data(), plane);
            }
            lp_root(yd, planes, order);
        }
    });
    call.output(0) = std::move(y);
}
}  // namespace pool_detail

inline void global_average_pool(const kernel_call& call) {
    pool_detail::global_pool<pool_detail::global_mode::average>(call);
}
inline void global_max_pool(const kernel_call& call) { pool_detail::global_pool<pool_detail::global_mode::max>(call); }
inline void global_lp_pool(const kernel_call& call) { pool_detail::global_pool<pool_detail::global_mode::lp>(call); }

// MaxRoiPool with Caffe's ROIPooling semantics: each roi (batch_index, x1, y1, x2, y2) is scaled
// by spatial_scale and rounded half away from zero to whole input cells, inclusive of both ends;
// it is cut into pooled_shape bins of real-valued size whose edges are floored (start) and ceiled
// (end); a bin's output is the max over its cells, or 0 when the bin is empty.
inline void max_roi_pool(const kernel_call& call) {
    using namespace pool_detail;
    const tensor& x = call.input(0);
    const tensor& rois = call.input(1);
    if (x.rank() != 4) throw call.fail("input must be [N, C, H, W], got " + to_string(x.shape()));
    if (rois.rank() != 2 || rois.shape()[1] != 5)
        throw call.fail("rois must be [num_rois, 5], got " + to_string(rois.shape()));
    if (!call.attrs().has("pooled_shape")) throw call.fail("attribute pooled_shape is required");
    const auto pooled = call.attrs().get_ints("pooled_shape");
    if (pooled.size() != 2 || pooled[0] < 1 || pooled[1] < 1)
        throw call.fail("pooled_shape must be two positive values");
    const double scale = call.attrs().get_float("spatial_scale", 1.0f);
    const std::int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
    const std::int64_t ph = pooled[0], pw = pooled[1], num = rois.shape()[0];
    const std::vector<double> r = rois.to_vector<double>();
    tensor y(x.type(), {num, c, ph, pw});
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        const T* xd = x.data<T>();
        T* yd = y.data<T>();
        for (std::int64_t k = 0; k < num; ++k) {
            const double* roi = r.data() + k * 5;
            const auto b = static_cast<std::int64_t>(roi[0]);
            if (b < 0 || b >= n)
                throw call.fail("roi " + std::to_string(k) + " names batch " + std::to_string(b) + " of " +
                                std::to_string(n));
            const auto x1 = static_cast<std::int64_t>(std::round(roi[1] * scale));
            const auto y1 = static_cast<std::int64_t>(std::round(roi[2] * scale));
            const auto x2 = static_cast<std::int64_t>(std::round(roi[3] * scale));
            const auto y2 = static_cast<std::int64_t>(std::round(roi[4] * scale));
            const double bin_h = static_cast<double>(std::max<std::int64_t>(y2 - y1 + 1, 1)) / ph;
            const double bin_w = static_cast<double>(std::max<std::int64_t>(x2 - x1 + 1, 1)) / pw;
            for (std::int64_t ch = 0; ch < c; ++ch) {
                const T* plane = xd + (b * c + ch) * h * w;
                T* out = yd + ((k * c + ch) * ph) * pw;
                for (std::int64_t i = 0; i < ph; ++i) {
                    const std::int64_t hs =
                        std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(i * bin_h)) + y1, 0, h);
                    const std::int64_t he =
                        std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil((i + 1) * bin_h)) + y1, 0, h);
                    for (std::int64_t jj = 0; jj < pw; ++jj) {
                        const std::int64_t ws =
                            std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(jj * bin_w)) + x1, 0, w);
                        const std::int64_t we =
                            std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil((jj + 1) * bin_w)) + x1, 0, w);
                        T m = T(0);
                        if (he > hs && we > ws) {
                            m = lowest_of<T>();
                            for (std::int64_t yy = hs; yy < he; ++yy)
                                for (std::int64_t xx = ws; xx < we; ++xx) m = std::max(m, plane[yy * w + xx]);
                        }
                        out[i * pw + jj] = m;
                    }
                }
            }
        }
    });
    call.output(0) = std::move(y);
}

// MaxUnpool: y is zero except y.flat[I[i]] = X[i]; I holds flat indices into y as MaxPool's
// Indices output gives them. y's shape is output_shape when given, else
// (in - 1) * stride + kernel - pad_begin - pad_end per spatial axis.
inline void max_unpool(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& ind = call.input(1);
    if (x.rank() < 3) throw call.fail("input must be [N, C, spatial...], got " + to_string(x.shape()));
    if (ind.shape() != x.shape())
        throw call.fail("indices shape " + to_string(ind.shape()) + " differs from input shape " +
                        to_string(x.shape()));
    if (x.type() == dtype::boolean) throw call.unsupported("bool input");
    const std::size_t nsp = static_cast<std::size_t>(x.rank()) - 2;
    const auto& a = call.attrs();
    if (!a.has("kernel_shape")) throw call.fail("attribute kernel_shape is required");
    const auto kernel = a.get_ints("kernel_shape");
    const auto strides = a.get_ints("strides", std::vector<std::int64_t>(nsp, 1));
    const auto pads = a.get_ints("pads", std::vector<std::int64_t>(2 * nsp, 0));
    if (kernel.size() != nsp || strides.size() != nsp || pads.size() != 2 * nsp)
        throw call.fail("kernel_shape, strides and pads must match the " + std::to_string(nsp) + " spatial axes");
    shape_t out_shape{x.shape()[0], x.shape()[1]};
    if (call.has_input(2)) {
        out_shape = call.input(2).to_vector<std::int64_t>();
        if (out_shape.size() != static_cast<std::size_t>(x.rank()) || out_shape[0] != x.shape()[0] ||
            out_shape[1] != x.shape()[1])
            throw call.fail("output_shape " + to_string(out_shape) + " does not fit input " + to_string(x.shape()));
    } else {
        for (std::size_t i = 0; i < nsp; ++i)
            out_shape.push_back((x.shape()[i + 2] - 1) * strides[i] + kernel[i] - pads[i] - pads[i + nsp]);
    }
    for (auto d : out_shape)
        if (d < 1) throw call.fail("output shape " + to_string(out_shape) + " is empty");
    tensor y = tensor::zeros(x.type(), out_shape);
    const std::vector<std::int64_t> idx = ind.to_vector<std::int64_t>();
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        const T* xd = x.data<T>();
        T* yd = y.data<T>();
        for (std::size_t i = 0; i < idx.size(); ++i) {
            if (idx[i] < 0 || idx[i] >= y.size())
                throw call.fail("index " + std::to_string(idx[i]) + " outside output of " + std::to_string(y.size()) +
                                " elements");
            yd[idx[i]] = xd[i];
        }
    });
    call.output(0) = std::move(y);
}

KTC_DECL void add_pool_kernels(kernel_table& t);

}  // namespace ktc::kernels::floating

#if KTC_HEADER_ONLY
#include "ktc/kernels/float/pool.ipp"
#endif
