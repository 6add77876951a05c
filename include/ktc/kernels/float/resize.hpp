// ktc/kernels/float/resize.hpp - Resize (ONNX opset 13-17 form): nearest, n-linear and cubic
// interpolation over any axes, with every coordinate_transformation_mode and nearest_mode.
//
// Upsample (opset 7/9) and Resize-10 arrive here rewritten by the importer as Resize with
// coordinate_transformation_mode=asymmetric and nearest_mode=floor.
//
// How it computes: each axis gets a tap table (for every output index, the source indices and
// their weights, or "outside" for tf_crop_and_resize extrapolation), built once per call from the
// coordinate formulas. Nearest is then one gather pass over the output (any dtype; an output row
// whose source row is the one before is a memcpy of the previous row). Linear and cubic
// interpolate one axis at a time, innermost first, skipping axes whose table is the identity;
// along an outer axis a whole row is blended at once, so the inner loop is a contiguous
// multiply-add the compiler vectorizes. Separable passes give the n-linear / n-cubic result of
// the ONNX reference, which also interpolates the innermost axes first. When exactly the two
// innermost axes change (NCHW image resizing), a fused kernel does the same arithmetic row by
// row through a small cache of W-interpolated source rows, with no full-size intermediate; it is
// tested bit for bit against the separable passes.
//
// Reference-conformance notes (onnx 1.12 backend test data):
//   * with `scales`, length_resized in the align_corners and tf_crop_and_resize formulas is
//     input_length * scale (not the floored output length), as the ONNX reference computes it;
//     with `sizes` it is the output length;
//   * the output length is floor(input_length * scale), in double precision;
//   * pytorch_half_pixel maps every index to 0 when the output length is 1 (the spec).
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::floating {

namespace resize_impl {

enum class interpolation { nearest, linear, cubic };
enum class coordinate_mode {
    half_pixel,
    pytorch_half_pixel,
    align_corners,
    asymmetric,
    tf_half_pixel_for_nn,
    tf_crop_and_resize
};
enum class nearest_rounding { round_prefer_floor, round_prefer_ceil, floor, ceil };

struct options {
    interpolation mode = interpolation::nearest;
    coordinate_mode coordinates = coordinate_mode::half_pixel;
    nearest_rounding rounding = nearest_rounding::round_prefer_floor;
    double cubic_a = -0.75;
    bool exclude_outside = false;
    double extrapolation_value = 0.0;
};

// One axis of the resize.
struct axis_geometry {
    std::int64_t in = 0, out = 0;
    double scale = 1.0;           // output / input
    double resized_length = 0.0;  // length_resized of the coordinate formulas
    double roi_start = 0.0, roi_end = 1.0;
};

// The source coordinate of output index x.
inline double original_coordinate(const options& o, const axis_geometry& g, std::int64_t x_int) {
    const double x = static_cast<double>(x_int);
    const double in = static_cast<double>(g.in);
    switch (o.coordinates) {
        case coordinate_mode::half_pixel: return (x + 0.5) / g.scale - 0.5;
        case coordinate_mode::pytorch_half_pixel: return g.out > 1 ? (x + 0.5) / g.scale - 0.5 : 0.0;
        case coordinate_mode::align_corners:
            return g.resized_length == 1.0 ? 0.0 : x * (in - 1) / (g.resized_length - 1);
        case coordinate_mode::asymmetric: return x / g.scale;
        case coordinate_mode::tf_half_pixel_for_nn: return (x + 0.5) / g.scale;
        case coordinate_mode::tf_crop_and_resize:
            if (g.resized_length == 1.0) return 0.5 * (g.roi_start + g.roi_end) * (in - 1);
            return g.roi_start * (in - 1) + x * (g.roi_end - g.roi_start) * (in - 1) / (g.resized_length - 1);
    }
    return 0.0;
}

// For every output index of one axis: `taps` source indices and weights, or outside (the
// extrapolation value).
struct axis_taps {
    int taps = 1;
    std::vector<std::int64_t> index;  // out * taps
    std::vector<double> weight;       // out * taps
    std::vector<char> outside;        // out

    std::int64_t out() const { return static_cast<std::int64_t>(outside.size()); }
    // Whether output index i is exactly input index i for every i.
    bool identity(std::int64_t in) const {
        if (out() != in) return false;
        for (std::int64_t i = 0; i < out(); ++i) {
            if (outside[i]) return false;
            double self = 0.0;  // a clamped edge may list index i twice
            for (int k = 0; k < taps; ++k) {
                const double w = weight[i * taps + k];
                if (index[i * taps + k] == i) self += w;
                else if (w != 0.0) return false;
            }
            if (self != 1.0) return false;
        }
        return true;
    }
};

inline void cubic_coefficients(double r, double a, double c[4]) {
    const double r1 = r + 1, s = 1 - r, s1 = s + 1;
    c[0] = ((a * r1 - 5 * a) * r1 + 8 * a) * r1 - 4 * a;
    c[1] = ((a + 2) * r - (a + 3)) * r * r + 1;
    c[2] = ((a + 2) * s - (a + 3)) * s * s + 1;
    c[3] = ((a * s1 - 5 * a) * s1 + 8 * a) * s1 - 4 * a;
}

inline axis_taps make_taps(const options& o, const axis_geometry& g) {
    axis_taps t;
    t.taps = o.mode == interpolation::nearest ? 1 : o.mode == interpolation::linear ? 2 : 4;
    const auto n = static_cast<std::size_t>(g.out);
    t.index.assign(n * t.taps, 0);
    t.weight.assign(n * t.taps, 0.0);
    t.outside.assign(n, 0);
    const std::int64_t last = g.in - 1;
    auto clamp = [&](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, last); };
    for (std::int64_t x = 0; x < g.out; ++x) {
        const double xo = original_coordinate(o, g, x);
        if (o.coordinates == coordinate_mode::tf_crop_and_resize && (xo < 0 || xo > static_cast<double>(last))) {
            t.outside[x] = 1;
            continue;
        }
        const double fl = std::floor(xo);
        const auto i0 = static_cast<std::int64_t>(fl);
        const double r = xo - fl;  // in [0, 1)
        std::int64_t* idx = &t.index[x * t.taps];
        double* w = &t.weight[x * t.taps];
        switch (o.mode) {
            case interpolation::nearest: {
                std::int64_t i = i0;
                if (r != 0.0) {
                    switch (o.rounding) {
                        case nearest_rounding::round_prefer_floor: i = r <= 0.5 ? i0 : i0 + 1; break;
                        case nearest_rounding::round_prefer_ceil: i = r < 0.5 ? i0 : i0 + 1; break;
                        case nearest_rounding::floor: i = i0; break;
                        case nearest_rounding::ceil: i = i0 + 1; break;
                    }
                }
                idx[0] = clamp(i);
                w[0] = 1.0;
                break;
            }
            case interpolation::linear:
                idx[0] = clamp(i0);
                idx[1] = clamp(i0 + 1);
                w[0] = 1.0 - r;
                w[1] = r;
                break;
            case interpolation::cubic: {
                cubic_coefficients(r, o.cubic_a, w);
                double sum = 0.0;
                for (int k = 0; k < 4; ++k) {
                    const std::int64_t i = i0 - 1 + k;
                    if (o.exclude_outside && (i < 0 || i > last)) w[k] = 0.0;
                    sum += w[k];
                    idx[k] = clamp(i);
                }
                if (o.exclude_outside && sum != 0.0)
                    for (int k = 0; k < 4; ++k) w[k] /= sum;
                break;
            }
        }
    }
    return t;
}

// Nearest: out[i] = in[src(i)] per axis, one pass, any element size. `extrap` is the
// extrapolation value as one element of the tensor's type.
template <class W>
void nearest_gather(const W* src, W* dst, const shape_t& in_shape, const shape_t& out_shape,
                    const std::vector<axis_taps>& taps, W extrap) {
    const std::size_t r = in_shape.size();
    if (element_count(out_shape) == 0) return;
    if (r == 0) {
        dst[0] = src[0];
        return;
    }
    const shape_t in_strides = strides_of(in_shape);
    const std::int64_t cols = out_shape[r - 1];
    const std::int64_t rows = element_count(out_shape) / cols;
    const axis_taps& lt = taps[r - 1];
    const bool last_identity = lt.identity(in_shape[r - 1]);
    bool last_outside = false;
    for (char c : lt.outside) last_outside |= c != 0;
    std::vector<std::int64_t> idx(r - 1, 0);
    std::int64_t previous = -2;  // source offset of the previous output row; -1 = outside
    for (std::int64_t row = 0; row < rows; ++row) {
        W* d = dst + row * cols;
        std::int64_t off = 0;
        for (std::size_t k = 0; k + 1 < r; ++k) {
            if (taps[k].outside[idx[k]]) {
                off = -1;
                break;
            }
            off += taps[k].index[idx[k]] * in_strides[k];
        }
        if (off == previous && row > 0) {
            std::memcpy(d, d - cols, static_cast<std::size_t>(cols) * sizeof(W));
        } else if (off < 0) {
            std::fill(d, d + cols, extrap);
        } else if (last_identity) {
            std::memcpy(d, src + off, static_cast<std::size_t>(cols) * sizeof(W));
        } else {
            const W* s = src + off;
            const std::int64_t* map = lt.index.data();
            if (last_outside) {
                for (std::int64_t c = 0; c < cols; ++c) d[c] = lt.outside[c] ? extrap : s[map[c]];
            } else {
                for (std::int64_t c = 0; c < cols; ++c) d[c] = s[map[c]];
            }
        }
        previous = off;
        for (std::size_t k = r - 1; k-- > 0;) {
            if (++idx[k] < out_shape[k]) break;
            idx[k] = 0;
        }
    }
}

// d[i] = sum_k w[k] * rows[k][i]; separate restrict-qualified helpers so the loops vectorize.
template <class T>
void blend_rows(T* __restrict d, const T* __restrict r0, const T* __restrict r1, T w0, T w1, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) d[i] = w0 * r0[i] + w1 * r1[i];
}
template <class T>
void blend_rows(T* __restrict d, const T* __restrict r0, const T* __restrict r1, const T* __restrict r2,
                const T* __restrict r3, T w0, T w1, T w2, T w3, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) d[i] = w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i];
}

// One row along the innermost axis: d[x] = sum_k w[x*N+k] * s[idx[x*N+k]].
template <class T, int N>
void interpolate_row(const T* __restrict s, T* __restrict d, std::int64_t out_len, const T* __restrict w,
                     const std::int32_t* __restrict idx) {
    for (std::int64_t x = 0; x < out_len; ++x) {
        T acc = w[x * N] * s[idx[x * N]];
        for (int k = 1; k < N; ++k) acc += w[x * N + k] * s[idx[x * N + k]];
        d[x] = acc;
    }
}

// Interpolates one axis: src is [outer, in_len, inner], dst is [outer, out_len, inner].
template <class T, int N>
void resample_axis(const T* src, T* dst, std::int64_t outer, std::int64_t in_len, std::int64_t inner,
                   const axis_taps& t, T extrap) {
    const std::int64_t out_len = t.out();
    const std::vector<T> w(t.weight.begin(), t.weight.end());
    std::vector<std::int64_t> outside;
    for (std::int64_t x = 0; x < out_len; ++x)
        if (t.outside[x]) outside.push_back(x);
    if (inner == 1) {
        // Along the innermost axis: a gather per output element, branch-free; outside
        // positions are overwritten afterwards.
        const std::vector<std::int32_t> idx(t.index.begin(), t.index.end());
        for (std::int64_t o = 0; o < outer; ++o) {
            T* d = dst + o * out_len;
            interpolate_row<T, N>(src + o * in_len, d, out_len, w.data(), idx.data());
            for (auto x : outside) d[x] = extrap;
        }
        return;
    }
    const std::int64_t* idx = t.index.data();
    for (std::int64_t o = 0; o < outer; ++o) {
        for (std::int64_t x = 0; x < out_len; ++x) {
            T* d = dst + (o * out_len + x) * inner;
            if (t.outside[x]) {
                std::fill(d, d + inner, extrap);
                continue;
            }
            const T* row = src + o * in_len * inner;
            const std::int64_t* ix = idx + x * N;
            const T* wx = w.data() + x * N;
            if constexpr (N == 2) blend_rows<T>(d, row + ix[0] * inner, row + ix[1] * inner, wx[0], wx[1], inner);
            else
                blend_rows<T>(d, row + ix[0] * inner, row + ix[1] * inner, row + ix[2] * inner, row + ix[3] * inner,
                              wx[0], wx[1], wx[2], wx[3], inner);
        }
    }
}

// Linear or cubic resize of a float tensor, one axis at a time from the innermost.
template <class T>
void interpolate_separable(const tensor& x, tensor& out, const std::vector<axis_taps>& taps, T extrap) {
    const std::size_t r = static_cast<std::size_t>(x.rank());
    shape_t shape = x.shape();
    tensor current;  // empty until the first pass
    const T* src = x.data<T>();
    bool any = false;
    for (std::size_t a = r; a-- > 0;) {
        if (taps[a].identity(shape[a])) continue;
        shape_t next_shape = shape;
        next_shape[a] = taps[a].out();
        tensor next(x.type(), next_shape);
        const std::int64_t outer = element_count(shape_t(shape.begin(), shape.begin() + a));
        const std::int64_t inner = element_count(shape_t(shape.begin() + a + 1, shape.end()));
        if (element_count(next_shape) > 0) {
            if (taps[a].taps == 2) resample_axis<T, 2>(src, next.data<T>(), outer, shape[a], inner, taps[a], extrap);
            else resample_axis<T, 4>(src, next.data<T>(), outer, shape[a], inner, taps[a], extrap);
        }
        current = std::move(next);
        src = current.data<T>();
        shape = std::move(next_shape);
        any = true;
    }
    out = any ? std::move(current) : x;
}

// The common image case: only the two innermost axes change (NCHW H and W) and nothing is
// extrapolated. Per plane and output row, the N source rows it needs are interpolated along W
// into a small row cache (each source row about once when upsampling) and blended into the
// output row: the same arithmetic as the separable passes, without the full-size intermediate.
template <class T, int N>
void interpolate_last_two(const T* src, T* dst, std::int64_t planes, std::int64_t in_h, std::int64_t in_w,
                          const axis_taps& th, const axis_taps& tw) {
    const std::int64_t out_h = th.out(), out_w = tw.out();
    const std::vector<T> ww(tw.weight.begin(), tw.weight.end());
    const std::vector<std::int32_t> iw(tw.index.begin(), tw.index.end());
    std::vector<T> cache(static_cast<std::size_t>(N * out_w));
    std::int64_t key[N];
    for (std::int64_t p = 0; p < planes; ++p) {
        const T* plane = src + p * in_h * in_w;
        for (int k = 0; k < N; ++k) key[k] = -1;
        for (std::int64_t y = 0; y < out_h; ++y) {
            const std::int64_t* need = &th.index[y * N];
            const T* rows[N];
            for (int k = 0; k < N; ++k) {
                int slot = -1;
                for (int j = 0; j < N; ++j)
                    if (key[j] == need[k]) slot = j;
                if (slot < 0) {  // evict a row this output row does not use
                    for (int j = 0; j < N && slot < 0; ++j) {
                        bool used = false;
                        for (int m = 0; m < N; ++m) used |= key[j] == need[m];
                        if (!used) slot = j;
                    }
                    key[slot] = need[k];
                    interpolate_row<T, N>(plane + need[k] * in_w, cache.data() + slot * out_w, out_w, ww.data(),
                                          iw.data());
                }
                rows[k] = cache.data() + slot * out_w;
            }
            T* d = dst + (p * out_h + y) * out_w;
            const double* wy = &th.weight[y * N];
            if constexpr (N == 2)
                blend_rows<T>(d, rows[0], rows[1], static_cast<T>(wy[0]), static_cast<T>(wy[1]), out_w);
            else
                blend_rows<T>(d, rows[0], rows[1], rows[2], rows[3], static_cast<T>(wy[0]), static_cast<T>(wy[1]),
                              static_cast<T>(wy[2]), static_cast<T>(wy[3]), out_w);
        }
    }
}

template <class T>
void interpolate(const tensor& x, tensor& out, const std::vector<axis_taps>& taps, T extrap) {
    const std::size_t r = static_cast<std::size_t>(x.rank());
    bool fused = r >= 2;
    for (std::size_t a = 0; a < r && fused; ++a) {
        const bool same = taps[a].identity(x.shape()[a]);
        if (a + 2 < r ? !same : same) fused = false;
        for (char c : taps[a].outside) fused = fused && !c;
    }
    if (!fused) {
        interpolate_separable<T>(x, out, taps, extrap);
        return;
    }
    shape_t shape = x.shape();
    shape[r - 2] = taps[r - 2].out();
    shape[r - 1] = taps[r - 1].out();
    out = tensor(x.type(), shape);
    if (out.size() == 0) return;
    const std::int64_t planes = element_count(shape_t(shape.begin(), shape.end() - 2));
    const std::int64_t in_h = x.shape()[r - 2], in_w = x.shape()[r - 1];
    if (taps[r - 1].taps == 2)
        interpolate_last_two<T, 2>(x.data<T>(), out.data<T>(), planes, in_h, in_w, taps[r - 2], taps[r - 1]);
    else interpolate_last_two<T, 4>(x.data<T>(), out.data<T>(), planes, in_h, in_w, taps[r - 2], taps[r - 1]);
}

}  // namespace resize_impl

inline void resize_kernel(const kernel_call& call) {
    using namespace resize_impl;
    const tensor& x = call.input(0);
    const auto& attrs = call.attrs();
    const std::size_t r = static_cast<std::size_t>(x.rank());

    options o;
    const std::string mode = attrs.get_string("mode", "nearest");
    if (mode == "nearest") o.mode = interpolation::nearest;
    else if (mode == "linear") o.mode = interpolation::linear;
    else if (mode == "cubic") o.mode = interpolation::cubic;
    else throw call.fail("unknown mode '" + mode + "'");
    const std::string ctm = attrs.get_string("coordinate_transformation_mode", "half_pixel");
    if (ctm == "half_pixel") o.coordinates = coordinate_mode::half_pixel;
    else if (ctm == "pytorch_half_pixel") o.coordinates = coordinate_mode::pytorch_half_pixel;
    else if (ctm == "align_corners") o.coordinates = coordinate_mode::align_corners;
    else if (ctm == "asymmetric") o.coordinates = coordinate_mode::asymmetric;
    else if (ctm == "tf_half_pixel_for_nn") o.coordinates = coordinate_mode::tf_half_pixel_for_nn;
    else if (ctm == "tf_crop_and_resize") o.coordinates = coordinate_mode::tf_crop_and_resize;
    else throw call.fail("unknown coordinate_transformation_mode '" + ctm + "'");
    const std::string nm = attrs.get_string("nearest_mode", "round_prefer_floor");
    if (nm == "round_prefer_floor") o.rounding = nearest_rounding::round_prefer_floor;
    else if (nm == "round_prefer_ceil") o.rounding = nearest_rounding::round_prefer_ceil;
    else if (nm == "floor") o.rounding = nearest_rounding::floor;
    else if (nm == "ceil") o.rounding = nearest_rounding::ceil;
    else throw call.fail("unknown nearest_mode '" + nm + "'");
    o.cubic_a = attrs.get_float("cubic_coeff_a", -0.75f);
    o.exclude_outside = attrs.get_int("exclude_outside", 0) != 0;
    o.extrapolation_value = attrs.get_float("extrapolation_value", 0.f);
    // Opset-18 additions, refused unless at their defaults.
    if (attrs.get_int("antialias", 0) != 0) throw call.unsupported("antialias is not supported");
    if (attrs.has("axes")) throw call.unsupported("the axes attribute (opset 18) is not supported");
    if (attrs.get_string("keep_aspect_ratio_policy", "stretch") != "stretch")
        throw call.unsupported("keep_aspect_ratio_policy is not supported");
    if (o.mode != interpolation::nearest && !is_floating(x.type()))
        throw call.unsupported(mode + " resize of " + name_of(x.type()) + " data is not supported");

    // An omitted or empty operand is absent.
    auto present = [&](std::size_t i) { return call.has_input(i) && call.input(i).size() > 0; };
    const bool has_scales = present(2), has_sizes = present(3);
    if (has_scales == has_sizes) throw call.fail("exactly one of scales and sizes must be given");

    std::vector<axis_geometry> geo(r);
    if (has_scales) {
        const tensor& s = call.input(2);
        if (!is_floating(s.type())) throw call.fail("scales must be floating point");
        const auto scales = s.to_vector<double>();
        if (scales.size() != r)
            throw call.fail("scales has " + std::to_string(scales.size()) + " entries for a rank-" + std::to_string(r) +
                            " input");
        for (std::size_t a = 0; a < r; ++a) {
            if (!(scales[a] > 0.0) || !std::isfinite(scales[a]))
                throw call.fail("scale " + std::to_string(scales[a]) + " must be positive");
            geo[a].in = x.shape()[a];
            geo[a].scale = scales[a];
            geo[a].resized_length = static_cast<double>(geo[a].in) * scales[a];
            if (!(geo[a].resized_length < static_cast<double>(max_tensor_elements)))
                throw call.fail("output too large");
            geo[a].out = static_cast<std::int64_t>(std::floor(geo[a].resized_length));
        }
    } else {
        const tensor& s = call.input(3);
        if (is_floating(s.type()) || s.type() == dtype::boolean) throw call.fail("sizes must be integers");
        const auto sizes = s.to_vector<std::int64_t>();
        if (sizes.size() != r)
            throw call.fail("sizes has " + std::to_string(sizes.size()) + " entries for a rank-" + std::to_string(r) +
                            " input");
        for (std::size_t a = 0; a < r; ++a) {
            geo[a].in = x.shape()[a];
            geo[a].out = sizes[a];
            if (sizes[a] < 0 || sizes[a] > max_tensor_elements)
                throw call.fail("size " + std::to_string(sizes[a]) + " out of range");
            if (geo[a].in == 0 && sizes[a] > 0) throw call.fail("cannot resize an empty axis to a non-empty one");
            geo[a].scale = geo[a].in ? static_cast<double>(sizes[a]) / static_cast<double>(geo[a].in) : 1.0;
            geo[a].resized_length = static_cast<double>(sizes[a]);
        }
    }
    shape_t out_shape(r);
    for (std::size_t a = 0; a < r; ++a) out_shape[a] = geo[a].out;
    try {
        element_count(out_shape);
    } catch (const error& e) {
        throw call.fail("output shape " + to_string(out_shape) + ": " + e.what());
    }
    if (o.coordinates == coordinate_mode::tf_crop_and_resize) {
        if (!present(1)) throw call.fail("tf_crop_and_resize needs roi");
        const auto roi = call.input(1).to_vector<double>();
        if (roi.size() != 2 * r)
            throw call.fail("roi has " + std::to_string(roi.size()) + " entries, expected " + std::to_string(2 * r));
        for (std::size_t a = 0; a < r; ++a) geo[a].roi_start = roi[a], geo[a].roi_end = roi[a + r];
    }
    for (std::size_t a = 0; a < r; ++a)
        if (geo[a].in == 0 && geo[a].out > 0) throw call.fail("cannot resize an empty axis to a non-empty one");

    if (element_count(out_shape) == 0) {
        call.output(0) = tensor(x.type(), out_shape);
        return;
    }
    std::vector<axis_taps> taps(r);
    for (std::size_t a = 0; a < r; ++a) taps[a] = make_taps(o, geo[a]);

    if (o.mode == interpolation::nearest) {
        tensor out(x.type(), out_shape);
        const tensor extrap = tensor::scalar<double>(o.extrapolation_value).cast(x.type());
        visit_dtype(x.type(), [&](auto tag) {
            using T = decltype(tag);
            nearest_gather<T>(x.data<T>(), out.data<T>(), x.shape(), out_shape, taps, extrap.data<T>()[0]);
        });
        call.output(0) = std::move(out);
        return;
    }
    tensor out;
    if (x.type() == dtype::float32) interpolate<float>(x, out, taps, static_cast<float>(o.extrapolation_value));
    else interpolate<double>(x, out, taps, o.extrapolation_value);
    call.output(0) = std::move(out);
}

KTC_DECL void add_resize_kernels(kernel_table& t);

}  // namespace ktc::kernels::floating

#if KTC_HEADER_ONLY
#include "ktc/kernels/float/resize.ipp"
#endif
