// ktc/kernels/float/layout.hpp - data-movement kernels: ops that copy, reorder, select or create
// elements without arithmetic on them.
//
// Every op here is type-generic: it moves elements of whatever dtype the input holds (bytes of
// the element size), so float32 models and the int64 shape arithmetic around them share one
// kernel. Semantics are ONNX opset 17 (the importer normalizes older forms: Slice, Pad, Squeeze,
// Unsqueeze, Split arrive with their operands as inputs).
//
// Also here, being pure data movement: Compress, ScatterElements (and its opset-9 name Scatter),
// ScatterND, EyeLike, ReverseSequence.
//
// Speed: the shape-changing ops (Identity, Flatten, Reshape, Squeeze, Unsqueeze, Dropout) are one
// memcpy. Transpose first removes unit dimensions and merges dimensions that stay adjacent, so
// NCHW<->NHWC becomes a (batched) 2-D transpose done in cache tiles and a channel shuffle becomes
// a sequence of contiguous block copies. Concat, Split, Slice, Pad, Gather, Expand and Tile copy
// whole contiguous runs with memcpy wherever the layout allows.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::floating {

namespace layout_impl {

using index_vector = std::vector<std::int64_t>;

// Calls f(W{}) with W an unsigned integer type of `bytes` bytes: the type used to move elements
// of that size without caring what they mean.
template <class F>
decltype(auto) visit_element_size(std::size_t bytes, F&& f) {
    switch (bytes) {
        case 1: return f(std::uint8_t{});
        case 2: return f(std::uint16_t{});
        case 4: return f(std::uint32_t{});
        case 8: return f(std::uint64_t{});
    }
    throw error("unsupported element size " + std::to_string(bytes));
}

inline std::int64_t product(const index_vector& v, std::size_t from = 0,
                            std::size_t to = static_cast<std::size_t>(-1)) {
    const std::size_t end = std::min(to, v.size());
    if (from >= end) return 1;
    return std::accumulate(v.begin() + static_cast<std::ptrdiff_t>(from), v.begin() + static_cast<std::ptrdiff_t>(end),
                           std::int64_t{1}, std::multiplies<>());
}

// Calls f(a, b) for every index of the box `ext`, where a and b are the offsets of that index
// under strides `sa` and `sb`. Rank 0 visits once; an empty box never.
template <class F>
void for_each_offset(const index_vector& ext, const index_vector& sa, const index_vector& sb, F&& f) {
    const std::size_t r = ext.size();
    for (auto e : ext)
        if (e == 0) return;
    index_vector idx(r, 0);
    std::int64_t a = 0, b = 0;
    for (;;) {
        f(a, b);
        std::size_t k = r;
        for (;;) {
            if (k == 0) return;
            --k;
            if (++idx[k] < ext[k]) {
                a += sa[k];
                b += sb[k];
                break;
            }
            a -= sa[k] * (ext[k] - 1);
            b -= sb[k] * (ext[k] - 1);
            idx[k] = 0;
        }
    }
}

// Fills `count` elements of `esize` bytes at dst with the element at `value`.
inline void fill_elements(std::byte* dst, std::int64_t count, const std::byte* value, std::size_t esize) {
    visit_element_size(esize, [&](auto w) {
        using W = decltype(w);
        W v;
        std::memcpy(&v, value, sizeof(W));
        W* d = reinterpret_cast<W*>(dst);
        std::fill(d, d + count, v);
    });
}

// An integer operand (shape, axes, pads, ...): a rank-0 or rank-1 tensor of an integer type.
inline index_vector int_list(const kernel_call& call, std::size_t i, const char* what) {
    const tensor& t = call.input(i);
    if (is_floating(t.type()) || t.type() == dtype::boolean)
        throw call.fail(std::string(what) + " must be an integer tensor, got " + name_of(t.type()));
    if (t.rank() > 1) throw call.fail(std::string(what) + " must be 1-D, got shape " + to_string(t.shape()));
    return t.to_vector<std::int64_t>();
}

// An optional integer operand: absent when the input is omitted or empty.
inline bool has_list(const kernel_call& call, std::size_t i) { return call.has_input(i) && call.input(i).size() > 0; }

inline void check_same_type(const kernel_call& call, const tensor& a, const tensor& b, const char* what) {
    if (a.type() != b.type())
        throw call.fail(std::string(what) + " has type " + name_of(b.type()) + ", expected " + name_of(a.type()));
}

// A copy of `in` with a new shape of the same element count.
inline tensor reshaped_copy(const kernel_call& call, const tensor& in, shape_t shape) {
    std::int64_t n = 0;
    try {
        n = element_count(shape);
    } catch (const error& e) {
        throw call.fail(std::string("output shape ") + to_string(shape) + ": " + e.what());
    }
    if (n != in.size())
        throw call.fail("cannot reshape " + to_string(in.shape()) + " (" + std::to_string(in.size()) +
                        " elements) to " + to_string(shape));
    tensor out(in.type(), std::move(shape));
    if (out.byte_size()) std::memcpy(out.raw(), in.raw(), out.byte_size());
    return out;
}

// ---- strided copy ------------------------------------------------------------------------------
// dst (contiguous, shape `dims`) [i] = src[sum i_k * src_strides[k]] with src strides in elements,
// 0 for a broadcast dimension. Unit dimensions are dropped and mergeable neighbours merged, then
// the innermost run is a memcpy (stride 1), a fill (stride 0) or a strided gather.
inline void strided_copy(const std::byte* src, std::byte* dst, index_vector dims, index_vector strides,
                         std::size_t esize) {
    const std::int64_t total = product(dims);
    if (total == 0) return;
    index_vector d, s;
    for (std::size_t k = 0; k < dims.size(); ++k) {
        if (dims[k] == 1) continue;
        if (!d.empty() && s.back() == strides[k] * dims[k]) {
            d.back() *= dims[k];
            s.back() = strides[k];
        } else {
            d.push_back(dims[k]);
            s.push_back(strides[k]);
        }
    }
    if (d.empty()) {
        std::memcpy(dst, src, esize);
        return;
    }
    const std::int64_t inner = d.back(), inner_stride = s.back();
    d.pop_back();
    s.pop_back();
    const index_vector out_strides = [&] {
        index_vector o(d.size());
        std::int64_t st = inner;
        for (std::size_t k = d.size(); k-- > 0;) o[k] = st, st *= d[k];
        return o;
    }();
    visit_element_size(esize, [&](auto w) {
        using W = decltype(w);
        const W* sp = reinterpret_cast<const W*>(src);
        W* dp = reinterpret_cast<W*>(dst);
        for_each_offset(d, s, out_strides, [&](std::int64_t a, std::int64_t b) {
            const W* from = sp + a;
            W* to = dp + b;
            if (inner_stride == 1) {
                std::memcpy(to, from, static_cast<std::size_t>(inner) * sizeof(W));
            } else if (inner_stride == 0) {
                std::fill(to, to + inner, *from);
            } else {
                for (std::int64_t i = 0; i < inner; ++i) to[i] = from[i * inner_stride];
            }
        });
    });
}

// ---- transpose ---------------------------------------------------------------------------------
// dst[a + b * dst_stride] = src[a * src_stride + b] for a < rows, b < cols, in cache tiles.
template <class W>
void transpose_2d(const W* src, W* dst, std::int64_t rows, std::int64_t cols, std::int64_t src_stride,
                  std::int64_t dst_stride) {
    constexpr std::int64_t tile = 16;
    for (std::int64_t a0 = 0; a0 < rows; a0 += tile) {
        const std::int64_t a1 = std::min(rows, a0 + tile);
        for (std::int64_t b0 = 0; b0 < cols; b0 += tile) {
            const std::int64_t b1 = std::min(cols, b0 + tile);
            for (std::int64_t a = a0; a < a1; ++a) {
                const W* s = src + a * src_stride;
                W* d = dst + a;
                for (std::int64_t b = b0; b < b1; ++b) d[b * dst_stride] = s[b];
            }
        }
    }
}

// The transposed tensor: output dim i is input dim perm[i]. perm must be a permutation.
inline void permute(const std::byte* src, std::byte* dst, const index_vector& dims, const index_vector& perm,
                    std::size_t esize) {
    const std::int64_t total = product(dims);
    if (total == 0) return;
    // Drop unit dimensions.
    index_vector keep(dims.size(), -1), sdims;
    for (std::size_t k = 0; k < dims.size(); ++k)
        if (dims[k] != 1) keep[k] = static_cast<std::int64_t>(sdims.size()), sdims.push_back(dims[k]);
    index_vector sperm;
    for (auto p : perm)
        if (keep[p] >= 0) sperm.push_back(keep[p]);
    // Merge runs of input dimensions that stay consecutive in the output.
    std::vector<std::pair<std::int64_t, std::int64_t>> groups;  // input range [first, last], output order
    for (std::size_t j = 0; j < sperm.size(); ++j) {
        if (!groups.empty() && sperm[j] == groups.back().second + 1) groups.back().second = sperm[j];
        else groups.emplace_back(sperm[j], sperm[j]);
    }
    index_vector order(groups.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](auto x, auto y) { return groups[x].first < groups[y].first; });
    const std::size_t r = groups.size();
    index_vector in_dims(r), p(r);  // merged input dims; output dim j is input dim p[j]
    for (std::size_t i = 0; i < r; ++i) {
        const auto [first, last] = groups[order[i]];
        std::int64_t n = 1;
        for (auto k = first; k <= last; ++k) n *= sdims[k];
        in_dims[i] = n;
        p[order[i]] = static_cast<std::int64_t>(i);
    }
    if (r <= 1) {
        std::memcpy(dst, src, static_cast<std::size_t>(total) * esize);
        return;
    }
    const index_vector in_strides = strides_of(in_dims);
    index_vector out_dims(r);
    for (std::size_t j = 0; j < r; ++j) out_dims[j] = in_dims[p[j]];
    const index_vector out_strides = strides_of(out_dims);
    index_vector out_stride_of_in(r);  // output stride of each input dim
    for (std::size_t j = 0; j < r; ++j) out_stride_of_in[p[j]] = out_strides[j];

    visit_element_size(esize, [&](auto w) {
        using W = decltype(w);
        const W* sp = reinterpret_cast<const W*>(src);
        W* dp = reinterpret_cast<W*>(dst);
        if (p[r - 1] == static_cast<std::int64_t>(r - 1)) {
            // Innermost dimension stays innermost: contiguous block copies.
            const index_vector ext(out_dims.begin(), out_dims.end() - 1);
            index_vector sa(r - 1), sb(out_strides.begin(), out_strides.end() - 1);
            for (std::size_t j = 0; j + 1 < r; ++j) sa[j] = in_strides[p[j]];
            const std::size_t block = static_cast<std::size_t>(in_dims[r - 1]) * sizeof(W);
            for_each_offset(ext, sa, sb, [&](std::int64_t a, std::int64_t b) { std::memcpy(dp + b, sp + a, block); });
            return;
        }
        // Otherwise input dim q becomes innermost in the output and input dim r-1 moves out:
        // a tiled 2-D transpose of (q, r-1) for every index of the other dimensions.
        const std::int64_t q = p[r - 1];
        index_vector ext, sa, sb;
        for (std::size_t k = 0; k + 1 < r; ++k) {
            if (static_cast<std::int64_t>(k) == q) continue;
            ext.push_back(in_dims[k]);
            sa.push_back(in_strides[k]);
            sb.push_back(out_stride_of_in[k]);
        }
        const std::int64_t rows = in_dims[q], cols = in_dims[r - 1];
        const std::int64_t src_stride = in_strides[q], dst_stride = out_stride_of_in[r - 1];
        for_each_offset(ext, sa, sb, [&](std::int64_t a, std::int64_t b) {
            transpose_2d(sp + a, dp + b, rows, cols, src_stride, dst_stride);
        });
    });
}

inline tensor transposed(const tensor& in, const index_vector& perm) {
    shape_t out_shape(perm.size());
    for (std::size_t j = 0; j < perm.size(); ++j) out_shape[j] = in.shape()[perm[j]];
    tensor out(in.type(), out_shape);
    permute(in.raw(), out.raw(), in.shape(), perm, size_of(in.type()));
    return out;
}

// The ktc dtype of an ONNX TensorProto data-type code (Cast's `to`), or false if ktc has none.
inline bool dtype_from_onnx_code(std::int64_t code, dtype& out) {
    switch (code) {
        case 1: out = dtype::float32; return true;
        case 2: out = dtype::uint8; return true;
        case 3: out = dtype::int8; return true;
        case 4: out = dtype::uint16; return true;
        case 5: out = dtype::int16; return true;
        case 6: out = dtype::int32; return true;
        case 7: out = dtype::int64; return true;
        case 9: out = dtype::boolean; return true;
        case 11: out = dtype::float64; return true;
        case 12: out = dtype::uint32; return true;
        case 13: out = dtype::uint64; return true;
    }
    return false;
}

// A scalar operand (one element) converted to T.
template <class T>
T scalar_of(const kernel_call& call, std::size_t i, const char* what) {
    const tensor& t = call.input(i);
    if (t.size() != 1) throw call.fail(std::string(what) + " must hold one element, got shape " + to_string(t.shape()));
    return t.to_vector<T>()[0];
}

}  // namespace layout_impl

// ---- ops that only change the shape ------------------------------------------------------------

inline void identity_kernel(const kernel_call& call) { call.output(0) = call.input(0); }

// Inference-mode Dropout is the identity; the optional mask is all true. Training mode with a
// non-zero ratio is random and not supported.
inline void dropout_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    if (call.has_input(2) && layout_impl::scalar_of<bool>(call, 2, "training_mode")) {
        const double ratio = call.has_input(1) ? layout_impl::scalar_of<double>(call, 1, "ratio") : 0.5;
        if (ratio != 0.0) throw call.unsupported("training-mode Dropout (random) is not supported");
    }
    call.output(0) = x;
    if (call.outputs.size() > 1) {
        tensor mask(dtype::boolean, x.shape());
        std::fill_n(mask.data<bool>(), mask.size(), true);
        call.output(1) = std::move(mask);
    }
}

inline void flatten_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const std::int64_t r = x.rank();
    std::int64_t axis = call.attrs().get_int("axis", 1);
    if (axis < -r || axis > r)
        throw call.fail("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
    if (axis < 0) axis += r;
    const std::int64_t outer = layout_impl::product(x.shape(), 0, static_cast<std::size_t>(axis));
    const std::int64_t inner = layout_impl::product(x.shape(), static_cast<std::size_t>(axis));
    call.output(0) = layout_impl::reshaped_copy(call, x, {outer, inner});
}

inline void reshape_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    auto shape = layout_impl::int_list(call, 1, "shape");
    const bool allowzero = call.attrs().get_int("allowzero", 0) != 0;
    std::int64_t infer = -1, known = 1;
    bool has_zero = false;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            if (infer >= 0) throw call.fail("shape has more than one -1");
            infer = static_cast<std::int64_t>(i);
            continue;
        }
        if (shape[i] < -1 || shape[i] > max_tensor_elements)
            throw call.fail("invalid dimension " + std::to_string(shape[i]) + " in shape");
        if (shape[i] == 0) {
            has_zero = true;
            if (!allowzero) {
                if (static_cast<std::int64_t>(i) >= x.rank())
                    throw call.fail("shape copies dimension " + std::to_string(i) + " of a rank-" +
                                    std::to_string(x.rank()) + " input");
                shape[i] = x.shape()[i];
            }
        }
        known *= shape[i];
    }
    if (infer >= 0) {
        if (allowzero && has_zero) throw call.fail("allowzero shape holds both 0 and -1");
        if (known == 0 || x.size() % known != 0)
            throw call.fail("cannot infer the -1 dimension reshaping " + to_string(x.shape()) + " to " +
                            to_string(shape));
        shape[infer] = x.size() / known;
    }
    call.output(0) = layout_impl::reshaped_copy(call, x, std::move(shape));
}

inline void squeeze_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const std::int64_t r = x.rank();
    std::vector<bool> drop(static_cast<std::size_t>(r), false);
    if (layout_impl::has_list(call, 1)) {
        for (auto a : layout_impl::int_list(call, 1, "axes")) {
            if (a < -r || a >= r)
                throw call.fail("axis " + std::to_string(a) + " out of range for rank " + std::to_string(r));
            if (a < 0) a += r;
            if (x.shape()[a] != 1)
                throw call.fail("cannot squeeze axis " + std::to_string(a) + " of size " +
                                std::to_string(x.shape()[a]));
            drop[a] = true;
        }
    } else {
        for (std::int64_t a = 0; a < r; ++a) drop[a] = x.shape()[a] == 1;
    }
    shape_t shape;
    for (std::int64_t a = 0; a < r; ++a)
        if (!drop[a]) shape.push_back(x.shape()[a]);
    call.output(0) = layout_impl::reshaped_copy(call, x, std::move(shape));
}

inline void unsqueeze_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const auto axes = layout_impl::int_list(call, 1, "axes");
    const std::int64_t r = x.rank() + static_cast<std::int64_t>(axes.size());
    std::vector<bool> inserted(static_cast<std::size_t>(r), false);
    for (auto a : axes) {
        if (a < -r || a >= r)
            throw call.fail("axis " + std::to_string(a) + " out of range for output rank " + std::to_string(r));
        if (a < 0) a += r;
        if (inserted[a]) throw call.fail("axis " + std::to_string(a) + " repeated");
        inserted[a] = true;
    }
    shape_t shape;
    std::size_t next = 0;
    for (std::int64_t a = 0; a < r; ++a) shape.push_back(inserted[a] ? 1 : x.shape()[next++]);
    call.output(0) = layout_impl::reshaped_copy(call, x, std::move(shape));
}

// ---- reordering --------------------------------------------------------------------------------

inline void transpose_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const std::int64_t r = x.rank();
    auto perm = call.attrs().get_ints("perm");
    if (!call.attrs().has("perm")) {
        perm.resize(static_cast<std::size_t>(r));
        for (std::int64_t i = 0; i < r; ++i) perm[i] = r - 1 - i;
    }
    if (static_cast<std::int64_t>(perm.size()) != r)
        throw call.fail("perm has " + std::to_string(perm.size()) + " entries for a rank-" + std::to_string(r) +
                        " input");
    std::vector<bool> seen(static_cast<std::size_t>(r), false);
    for (auto& p : perm) {
        if (p < -r || p >= r) throw call.fail("perm entry " + std::to_string(p) + " out of range");
        if (p < 0) p += r;
        if (seen[p]) throw call.fail("perm is not a permutation");
        seen[p] = true;
    }
    call.output(0) = layout_impl::transposed(x, perm);
}

// DCR: [N, b, b, C/b^2, H, W] -> [N, C/b^2, H, b, W, b]; CRD: [N, C/b^2, b, b, H, W] -> same.
inline void depth_to_space_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const std::int64_t b = call.attrs().get_int("blocksize");
    const std::string mode = call.attrs().get_string("mode", "DCR");
    if (x.rank() != 4) throw call.fail("input must be 4-D, got " + to_string(x.shape()));
    if (b <= 0) throw call.fail("blocksize must be positive");
    const auto& s = x.shape();
    const std::int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    if (c % (b * b) != 0) throw call.fail("channels " + std::to_string(c) + " not divisible by blocksize^2");
    const std::int64_t oc = c / (b * b);
    tensor out(x.type(), {n, oc, h * b, w * b});
    if (mode == "DCR")
        layout_impl::permute(x.raw(), out.raw(), {n, b, b, oc, h, w}, {0, 3, 4, 1, 5, 2}, size_of(x.type()));
    else if (mode == "CRD")
        layout_impl::permute(x.raw(), out.raw(), {n, oc, b, b, h, w}, {0, 1, 4, 2, 5, 3}, size_of(x.type()));
    else throw call.fail("unknown mode '" + mode + "'");
    call.output(0) = std::move(out);
}

// [N, C, H/b, b, W/b, b] -> [N, b, b, C, H/b, W/b]
inline void space_to_depth_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const std::int64_t b = call.attrs().get_int("blocksize");
    if (x.rank() != 4) throw call.fail("input must be 4-D, got " + to_string(x.shape()));
    if (b <= 0) throw call.fail("blocksize must be positive");
    const auto& s = x.shape();
    const std::int64_t n = s[0], c = s[1], h = s[2], w = s[3];
    if (h % b != 0 || w % b != 0) throw call.fail("spatial size " + to_string(s) + " not divisible by blocksize");
    tensor out(x.type(), {n, c * b * b, h / b, w / b});
    layout_impl::permute(x.raw(), out.raw(), {n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4}, size_of(x.type()));
    call.output(0) = std::move(out);
}

// ---- joining and splitting ---------------------------------------------------------------------

inline void concat_kernel(const kernel_call& call) {
    const tensor& first = call.input(0);
    const std::int64_t r = first.rank();
    if (r == 0) throw call.fail("cannot concatenate scalars");
    const std::int64_t axis_attr = call.attrs().get_int("axis");
    if (axis_attr < -r || axis_attr >= r)
        throw call.fail("axis " + std::to_string(axis_attr) + " out of range for rank " + std::to_string(r));
    const std::int64_t axis = axis_attr < 0 ? axis_attr + r : axis_attr;
    shape_t shape = first.shape();
    shape[axis] = 0;
    for (std::size_t i = 0; i < call.input_count(); ++i) {
        const tensor& t = call.input(i);
        layout_impl::check_same_type(call, first, t, ("input " + std::to_string(i)).c_str());
        if (t.rank() != r)
            throw call.fail("input " + std::to_string(i) + " has rank " + std::to_string(t.rank()) + ", expected " +
                            std::to_string(r));
        for (std::int64_t k = 0; k < r; ++k)
            if (k != axis && t.shape()[k] != first.shape()[k])
                throw call.fail("input " + std::to_string(i) + " shape " + to_string(t.shape()) + " does not match " +
                                to_string(first.shape()) + " off the axis");
        shape[axis] += t.shape()[axis];
    }
    tensor out(first.type(), shape);
    const std::int64_t outer = layout_impl::product(shape, 0, static_cast<std::size_t>(axis));
    const std::size_t inner_bytes =
        static_cast<std::size_t>(layout_impl::product(shape, static_cast<std::size_t>(axis) + 1)) *
        size_of(first.type());
    const std::size_t row_bytes = static_cast<std::size_t>(shape[axis]) * inner_bytes;
    std::size_t offset = 0;
    for (std::size_t i = 0; i < call.input_count(); ++i) {
        const tensor& t = call.input(i);
        const std::size_t chunk = static_cast<std::size_t>(t.shape()[axis]) * inner_bytes;
        if (chunk) {
            for (std::int64_t o = 0; o < outer; ++o)
                std::memcpy(out.raw() + o * row_bytes + offset, t.raw() + o * chunk, chunk);
        }
        offset += chunk;
    }
    call.output(0) = std::move(out);
}

inline void split_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const std::int64_t r = x.rank();
    const std::int64_t axis_attr = call.attrs().get_int("axis", 0);
    if (axis_attr < -r || axis_attr >= r)
        throw call.fail("axis " + std::to_string(axis_attr) + " out of range for rank " + std::to_string(r));
    const std::int64_t axis = axis_attr < 0 ? axis_attr + r : axis_attr;
    const std::int64_t dim = x.shape()[axis];
    const std::size_t n = call.outputs.size();
    if (n == 0) throw call.fail("no outputs");
    layout_impl::index_vector split;
    if (layout_impl::has_list(call, 1)) {
        split = layout_impl::int_list(call, 1, "split");
        if (split.size() != n)
            throw call.fail("split has " + std::to_string(split.size()) + " entries for " + std::to_string(n) +
                            " outputs");
        std::int64_t sum = 0;
        for (auto s : split) {
            if (s < 0) throw call.fail("negative split size");
            sum += s;
        }
        if (sum != dim)
            throw call.fail("split sizes sum to " + std::to_string(sum) + ", axis has " + std::to_string(dim));
    } else if (call.attrs().has("num_outputs")) {  // opset 18: the last part may be smaller
        const std::int64_t part = (dim + static_cast<std::int64_t>(n) - 1) / static_cast<std::int64_t>(n);
        for (std::size_t i = 0; i < n; ++i)
            split.push_back(std::max<std::int64_t>(0, std::min(part, dim - part * static_cast<std::int64_t>(i))));
    } else {
        if (dim % static_cast<std::int64_t>(n) != 0)
            throw call.fail("axis of size " + std::to_string(dim) + " does not split into " + std::to_string(n) +
                            " equal parts");
        split.assign(n, dim / static_cast<std::int64_t>(n));
    }
    const std::int64_t outer = layout_impl::product(x.shape(), 0, static_cast<std::size_t>(axis));
    const std::size_t inner_bytes =
        static_cast<std::size_t>(layout_impl::product(x.shape(), static_cast<std::size_t>(axis) + 1)) *
        size_of(x.type());
    const std::size_t row_bytes = static_cast<std::size_t>(dim) * inner_bytes;
    std::size_t offset = 0;
    for (std::size_t i = 0; i < n; ++i) {
        shape_t shape = x.shape();
        shape[axis] = split[i];
        tensor out(x.type(), shape);
        const std::size_t chunk = static_cast<std::size_t>(split[i]) * inner_bytes;
        if (chunk) {
            for (std::int64_t o = 0; o < outer; ++o)
                std::memcpy(out.raw() + o * chunk, x.raw() + o * row_bytes + offset, chunk);
        }
        offset += chunk;
        call.output(i) = std::move(out);
    }
}

// ---- selecting ---------------------------------------------------------------------------------

inline void slice_kernel(const kernel_call& call) {
    using layout_impl::index_vector;
    const tensor& x = call.input(0);
    const std::int64_t r = x.rank();
    const auto starts = layout_impl::int_list(call, 1, "starts");
    const auto ends = layout_impl::int_list(call, 2, "ends");
    if (starts.size() != ends.size()) throw call.fail("starts and ends differ in length");
    index_vector axes, steps;
    if (layout_impl::has_list(call, 3)) {
        axes = layout_impl::int_list(call, 3, "axes");
    } else {
        axes.resize(starts.size());
        std::iota(axes.begin(), axes.end(), 0);
    }
    if (layout_impl::has_list(call, 4)) steps = layout_impl::int_list(call, 4, "steps");
    else steps.assign(starts.size(), 1);
    if (axes.size() != starts.size() || steps.size() != starts.size())
        throw call.fail("starts, ends, axes and steps differ in length");

    index_vector first(static_cast<std::size_t>(r), 0), step(static_cast<std::size_t>(r), 1);
    shape_t shape = x.shape();
    std::vector<bool> seen(static_cast<std::size_t>(r), false);
    for (std::size_t i = 0; i < axes.size(); ++i) {
        std::int64_t a = axes[i];
        if (a < -r || a >= r)
            throw call.fail("axis " + std::to_string(a) + " out of range for rank " + std::to_string(r));
        if (a < 0) a += r;
        if (seen[a]) throw call.fail("axis " + std::to_string(a) + " repeated");
        seen[a] = true;
        const std::int64_t dim = x.shape()[a], st = steps[i];
        if (st == 0) throw call.fail("step 0");
        std::int64_t s = starts[i], e = ends[i];
        // Clamp as the spec says: [0, dim] for positive steps, [-1, dim-1] for negative.
        if (s < 0) s = s < -dim ? 0 : s + dim;  // INT64_MIN-safe
        if (e < 0) e = e < -dim ? -1 : e + dim;
        if (st > 0) {
            s = std::clamp<std::int64_t>(s, 0, dim);
            e = std::clamp<std::int64_t>(e, 0, dim);
        } else {
            s = std::clamp<std::int64_t>(s, 0, dim - 1);
            e = std::clamp<std::int64_t>(e, -1, dim - 1);
        }
        std::int64_t n = 0;  // written so that no step, however large, overflows
        if (st > 0 && e > s) n = (e - s - 1) / st + 1;
        if (st < 0 && s > e) n = (s - e - 1) / -(st == INT64_MIN ? st + 1 : st) + 1;
        first[a] = s;
        step[a] = n > 1 ? st : 1;  // |step| < dim whenever it matters, so strides cannot overflow
        shape[a] = n;
    }
    tensor out(x.type(), shape);
    const index_vector in_strides = strides_of(x.shape());
    index_vector strides(static_cast<std::size_t>(r));
    std::int64_t base = 0;
    for (std::int64_t k = 0; k < r; ++k) {
        strides[k] = in_strides[k] * step[k];
        base += first[k] * in_strides[k];
    }
    if (out.size()) {
        const std::size_t esize = size_of(x.type());
        layout_impl::strided_copy(x.raw() + base * static_cast<std::int64_t>(esize), out.raw(), shape, strides, esize);
    }
    call.output(0) = std::move(out);
}

inline void pad_kernel(const kernel_call& call) {
    using layout_impl::index_vector;
    const tensor& x = call.input(0);
    const std::int64_t r = x.rank();
    const std::string mode = call.attrs().get_string("mode", "constant");
    if (mode != "constant" && mode != "reflect" && mode != "edge") throw call.fail("unknown mode '" + mode + "'");
    const auto pads_in = layout_impl::int_list(call, 1, "pads");
    index_vector axes;
    if (layout_impl::has_list(call, 3)) {  // opset 18
        axes = layout_impl::int_list(call, 3, "axes");
    } else {
        axes.resize(static_cast<std::size_t>(r));
        std::iota(axes.begin(), axes.end(), 0);
    }
    if (pads_in.size() != 2 * axes.size())
        throw call.fail("pads has " + std::to_string(pads_in.size()) + " entries, expected " +
                        std::to_string(2 * axes.size()));
    index_vector before(static_cast<std::size_t>(r), 0), after(static_cast<std::size_t>(r), 0);
    for (auto p : pads_in)
        if (p > max_tensor_elements || p < -max_tensor_elements)
            throw call.fail("pad " + std::to_string(p) + " out of range");
    for (std::size_t i = 0; i < axes.size(); ++i) {
        std::int64_t a = axes[i];
        if (a < -r || a >= r) throw call.fail("axis " + std::to_string(a) + " out of range");
        if (a < 0) a += r;
        before[a] = pads_in[i];
        after[a] = pads_in[i + axes.size()];
    }
    const std::size_t esize = size_of(x.type());
    // The padding value, as an element of x's type.
    std::vector<std::byte> value(esize, std::byte{0});
    if (mode == "constant" && call.has_input(2) && call.input(2).size() > 0) {
        const tensor v = call.input(2).cast(x.type());
        std::memcpy(value.data(), v.raw(), esize);
    }
    shape_t shape(static_cast<std::size_t>(r));
    for (std::int64_t k = 0; k < r; ++k) {
        shape[k] = x.shape()[k] + before[k] + after[k];
        if (shape[k] < 0) throw call.fail("pads remove more than axis " + std::to_string(k) + " holds");
        if (mode != "constant" && x.shape()[k] == 0 && shape[k] > 0)
            throw call.fail(mode + " padding of an empty axis");
    }
    tensor out(x.type(), shape);
    if (out.size() == 0) {
        call.output(0) = std::move(out);
        return;
    }
    if (r == 0) {
        std::memcpy(out.raw(), x.raw(), esize);
        call.output(0) = std::move(out);
        return;
    }
    // Per axis, the source index of every output index (-1: the constant).
    std::vector<index_vector> src(static_cast<std::size_t>(r));
    for (std::int64_t k = 0; k < r; ++k) {
        const std::int64_t n = x.shape()[k];
        src[k].resize(static_cast<std::size_t>(shape[k]));
        for (std::int64_t o = 0; o < shape[k]; ++o) {
            std::int64_t i = o - before[k];
            if (i < 0 || i >= n) {
                if (mode == "constant") {
                    i = -1;
                } else if (mode == "edge") {
                    i = std::clamp<std::int64_t>(i, 0, n - 1);
                } else if (n == 1) {
                    i = 0;
                } else {  // reflect, periodic with period 2(n-1) like numpy
                    const std::int64_t period = 2 * (n - 1);
                    i = ((i % period) + period) % period;
                    if (i >= n) i = period - i;
                }
            }
            src[k][o] = i;
        }
    }
    const index_vector in_strides = strides_of(x.shape());
    const std::int64_t cols = shape[r - 1];
    // The run of the last axis copied straight from the source row.
    std::int64_t lo = std::max<std::int64_t>(0, before[r - 1]);
    std::int64_t hi = std::min<std::int64_t>(cols, before[r - 1] + x.shape()[r - 1]);
    if (hi < lo) hi = lo;
    layout_impl::visit_element_size(esize, [&](auto w) {
        using W = decltype(w);
        W v;
        std::memcpy(&v, value.data(), esize);
        const W* sp = reinterpret_cast<const W*>(x.raw());
        W* dp = reinterpret_cast<W*>(out.raw());
        const std::size_t outer_rank = static_cast<std::size_t>(r - 1);
        index_vector idx(outer_rank, 0);
        const std::int64_t rows = out.size() / cols;
        const index_vector& last = src[r - 1];
        for (std::int64_t row = 0; row < rows; ++row) {
            W* d = dp + row * cols;
            std::int64_t off = 0;
            bool constant_row = false;
            for (std::size_t k = 0; k < outer_rank; ++k) {
                const std::int64_t s = src[k][idx[k]];
                if (s < 0) {
                    constant_row = true;
                    break;
                }
                off += s * in_strides[k];
            }
            if (constant_row) {
                std::fill(d, d + cols, v);
            } else {
                const W* s = sp + off;
                for (std::int64_t c = 0; c < lo; ++c) d[c] = last[c] < 0 ? v : s[last[c]];
                if (hi > lo) std::memcpy(d + lo, s + last[lo], static_cast<std::size_t>(hi - lo) * sizeof(W));
                for (std::int64_t c = hi; c < cols; ++c) d[c] = last[c] < 0 ? v : s[last[c]];
            }
            for (std::size_t k = outer_rank; k-- > 0;) {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
    });
    call.output(0) = std::move(out);
}

inline void gather_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& ind = call.input(1);
    const std::int64_t r = x.rank();
    if (r == 0) throw call.fail("data must have rank >= 1");
    const std::int64_t axis_attr = call.attrs().get_int("axis", 0);
    if (axis_attr < -r || axis_attr >= r)
        throw call.fail("axis " + std::to_string(axis_attr) + " out of range for rank " + std::to_string(r));
    const std::int64_t axis = axis_attr < 0 ? axis_attr + r : axis_attr;
    if (is_floating(ind.type()) || ind.type() == dtype::boolean) throw call.fail("indices must be integers");
    const auto indices = ind.to_vector<std::int64_t>();
    const std::int64_t dim = x.shape()[axis];
    shape_t shape(x.shape().begin(), x.shape().begin() + axis);
    shape.insert(shape.end(), ind.shape().begin(), ind.shape().end());
    shape.insert(shape.end(), x.shape().begin() + axis + 1, x.shape().end());
    tensor out(x.type(), shape);
    const std::int64_t outer = layout_impl::product(x.shape(), 0, static_cast<std::size_t>(axis));
    const std::size_t inner =
        static_cast<std::size_t>(layout_impl::product(x.shape(), static_cast<std::size_t>(axis) + 1)) *
        size_of(x.type());
    std::vector<std::int64_t> norm(indices.size());
    for (std::size_t i = 0; i < indices.size(); ++i) {
        std::int64_t k = indices[i];
        if (k < -dim || k >= dim)
            throw call.fail("index " + std::to_string(k) + " out of range for axis of size " + std::to_string(dim));
        norm[i] = k < 0 ? k + dim : k;
    }
    std::byte* d = out.raw();
    if (inner) {
        for (std::int64_t o = 0; o < outer; ++o) {
            const std::byte* s = x.raw() + static_cast<std::size_t>(o * dim) * inner;
            for (auto k : norm) {
                std::memcpy(d, s + static_cast<std::size_t>(k) * inner, inner);
                d += inner;
            }
        }
    }
    call.output(0) = std::move(out);
}

inline void gather_elements_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& ind = call.input(1);
    const std::int64_t r = x.rank();
    if (r == 0) throw call.fail("data must have rank >= 1");
    if (ind.rank() != r) throw call.fail("indices must have the rank of data");
    const std::int64_t axis_attr = call.attrs().get_int("axis", 0);
    if (axis_attr < -r || axis_attr >= r)
        throw call.fail("axis " + std::to_string(axis_attr) + " out of range for rank " + std::to_string(r));
    const std::int64_t axis = axis_attr < 0 ? axis_attr + r : axis_attr;
    if (is_floating(ind.type()) || ind.type() == dtype::boolean) throw call.fail("indices must be integers");
    for (std::int64_t k = 0; k < r; ++k)
        if (k != axis && ind.shape()[k] > x.shape()[k])
            throw call.fail("indices shape " + to_string(ind.shape()) + " exceeds data shape " + to_string(x.shape()));
    const auto indices = ind.to_vector<std::int64_t>();
    const std::int64_t dim = x.shape()[axis];
    tensor out(x.type(), ind.shape());
    layout_impl::index_vector sa = strides_of(x.shape());
    const std::int64_t axis_stride = sa[axis];
    sa[axis] = 0;
    const layout_impl::index_vector sb = strides_of(ind.shape());
    layout_impl::visit_element_size(size_of(x.type()), [&](auto w) {
        using W = decltype(w);
        const W* sp = reinterpret_cast<const W*>(x.raw());
        W* dp = reinterpret_cast<W*>(out.raw());
        layout_impl::for_each_offset(ind.shape(), sa, sb, [&](std::int64_t a, std::int64_t b) {
            std::int64_t k = indices[b];
            if (k < -dim || k >= dim)
                throw call.fail("index " + std::to_string(k) + " out of range for axis of size " + std::to_string(dim));
            if (k < 0) k += dim;
            dp[b] = sp[a + k * axis_stride];
        });
    });
    call.output(0) = std::move(out);
}

inline void gather_nd_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& ind = call.input(1);
    const std::int64_t b = call.attrs().get_int("batch_dims", 0);
    const std::int64_t r = x.rank(), q = ind.rank();
    if (is_floating(ind.type()) || ind.type() == dtype::boolean) throw call.fail("indices must be integers");
    if (q < 1 || r < 1 || b < 0 || b >= std::min(q, r)) throw call.fail("invalid ranks or batch_dims");
    const std::int64_t k = ind.shape()[q - 1];
    if (k < 1 || b + k > r)
        throw call.fail("last indices dimension " + std::to_string(k) + " invalid for data rank " + std::to_string(r));
    for (std::int64_t i = 0; i < b; ++i)
        if (x.shape()[i] != ind.shape()[i]) throw call.fail("batch dimensions of data and indices differ");
    shape_t shape(ind.shape().begin(), ind.shape().end() - 1);
    shape.insert(shape.end(), x.shape().begin() + b + k, x.shape().end());
    tensor out(x.type(), shape);
    const auto indices = ind.to_vector<std::int64_t>();
    const auto strides = strides_of(x.shape());
    const std::int64_t batches = layout_impl::product(x.shape(), 0, static_cast<std::size_t>(b));
    const std::int64_t batch_stride = b > 0 ? strides[b - 1] : 0;
    const std::int64_t per_batch =
        layout_impl::product(ind.shape(), static_cast<std::size_t>(b), static_cast<std::size_t>(q - 1));
    const std::size_t esize = size_of(x.type());
    const std::size_t slice =
        static_cast<std::size_t>(layout_impl::product(x.shape(), static_cast<std::size_t>(b + k))) * esize;
    std::byte* d = out.raw();
    for (std::int64_t bi = 0; bi < batches; ++bi) {
        for (std::int64_t t = 0; t < per_batch; ++t) {
            const std::int64_t* tuple = indices.data() + (bi * per_batch + t) * k;
            std::int64_t off = bi * batch_stride;
            for (std::int64_t j = 0; j < k; ++j) {
                const std::int64_t dim = x.shape()[b + j];
                std::int64_t v = tuple[j];
                if (v < -dim || v >= dim)
                    throw call.fail("index " + std::to_string(v) + " out of range for axis of size " +
                                    std::to_string(dim));
                if (v < 0) v += dim;
                off += v * strides[b + j];
            }
            if (slice) std::memcpy(d, x.raw() + static_cast<std::size_t>(off) * esize, slice);
            d += slice;
        }
    }
    call.output(0) = std::move(out);
}

// ---- shape queries -----------------------------------------------------------------------------

inline void shape_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const std::int64_t r = x.rank();
    auto clamp_end = [&](std::int64_t v) {
        if (v < 0) v += r;
        return std::clamp<std::int64_t>(v, 0, r);
    };
    const std::int64_t start = clamp_end(call.attrs().get_int("start", 0));
    const std::int64_t end = call.attrs().has("end") ? clamp_end(call.attrs().get_int("end")) : r;
    const std::int64_t n = std::max<std::int64_t>(0, end - start);
    tensor out(dtype::int64, {n});
    for (std::int64_t i = 0; i < n; ++i) out.data<std::int64_t>()[i] = x.shape()[start + i];
    call.output(0) = std::move(out);
}

inline void size_kernel(const kernel_call& call) {
    call.output(0) = tensor::scalar<std::int64_t>(call.input(0).size());
}

// ---- type conversion ---------------------------------------------------------------------------

inline void cast_kernel(const kernel_call& call) {
    const std::int64_t code = call.attrs().get_int("to");
    dtype to{};
    if (!layout_impl::dtype_from_onnx_code(code, to))
        throw call.unsupported("Cast to ONNX data type " + std::to_string(code) + " is not supported");
    call.output(0) = call.input(0).cast(to);
}

inline void cast_like_kernel(const kernel_call& call) { call.output(0) = call.input(0).cast(call.input(1).type()); }

// ---- creating ----------------------------------------------------------------------------------

inline void constant_kernel(const kernel_call& call) {
    const auto& a = call.attrs();
    if (a.has("value")) {
        call.output(0) = a.get_tensor("value");
    } else if (a.has("value_float")) {
        call.output(0) = tensor::scalar<float>(a.get_float("value_float"));
    } else if (a.has("value_int")) {
        call.output(0) = tensor::scalar<std::int64_t>(a.get_int("value_int"));
    } else if (a.has("value_floats")) {
        const auto v = a.get_floats("value_floats");
        call.output(0) = tensor::from<float>({static_cast<std::int64_t>(v.size())}, v);
    } else if (a.has("value_ints")) {
        const auto v = a.get_ints("value_ints");
        call.output(0) = tensor::from<std::int64_t>({static_cast<std::int64_t>(v.size())}, v);
    } else if (a.has("sparse_value") || a.has("value_string") || a.has("value_strings")) {
        throw call.unsupported("Constant with a sparse or string value is not supported");
    } else {
        throw call.fail("Constant has no value attribute");
    }
}

inline void constant_of_shape_kernel(const kernel_call& call) {
    shape_t shape = layout_impl::int_list(call, 0, "shape");
    for (auto d : shape)
        if (d < 0) throw call.fail("negative dimension in shape " + to_string(shape));
    tensor value = tensor::scalar<float>(0.f);
    if (call.attrs().has("value")) {
        value = call.attrs().get_tensor("value");
        if (value.size() != 1) throw call.fail("value must hold one element");
    }
    tensor out;
    try {
        out = tensor(value.type(), shape);
    } catch (const error& e) {
        throw call.fail(std::string("shape ") + to_string(shape) + ": " + e.what());
    }
    layout_impl::fill_elements(out.raw(), out.size(), value.raw(), size_of(value.type()));
    call.output(0) = std::move(out);
}

inline void expand_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const auto target = layout_impl::int_list(call, 1, "shape");
    for (auto d : target)
        if (d < 0) throw call.fail("negative dimension in shape " + to_string(target));
    shape_t shape;
    try {
        shape = broadcast_shapes(x.shape(), target);
    } catch (const error& e) {
        throw call.fail(e.what());
    }
    tensor out(x.type(), shape);
    const std::size_t r = shape.size(), off = r - x.shape().size();
    const auto in_strides = strides_of(x.shape());
    layout_impl::index_vector strides(r, 0);
    for (std::size_t k = off; k < r; ++k) strides[k] = x.shape()[k - off] == 1 ? 0 : in_strides[k - off];
    layout_impl::strided_copy(x.raw(), out.raw(), shape, strides, size_of(x.type()));
    call.output(0) = std::move(out);
}

// Tile is a broadcast copy of [1, d0, 1, d1, ...] to [r0, d0, r1, d1, ...].
inline void tile_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const auto repeats = layout_impl::int_list(call, 1, "repeats");
    const std::size_t r = static_cast<std::size_t>(x.rank());
    if (repeats.size() != r)
        throw call.fail("repeats has " + std::to_string(repeats.size()) + " entries for rank " + std::to_string(r));
    shape_t shape(r);
    layout_impl::index_vector dims, strides;
    const auto in_strides = strides_of(x.shape());
    for (std::size_t k = 0; k < r; ++k) {
        if (repeats[k] < 0) throw call.fail("negative repeat");
        if (repeats[k] > 0 && x.shape()[k] > max_tensor_elements / repeats[k]) throw call.fail("Tile output too large");
        shape[k] = x.shape()[k] * repeats[k];
        dims.push_back(repeats[k]);
        strides.push_back(0);
        dims.push_back(x.shape()[k]);
        strides.push_back(in_strides[k]);
    }
    tensor out(x.type(), shape);
    layout_impl::strided_copy(x.raw(), out.raw(), dims, strides, size_of(x.type()));
    call.output(0) = std::move(out);
}

inline void range_kernel(const kernel_call& call) {
    const tensor& start_t = call.input(0);
    const dtype type = start_t.type();
    if (type == dtype::boolean) throw call.fail("Range of bool");
    for (std::size_t i = 1; i < 3; ++i)
        layout_impl::check_same_type(call, start_t, call.input(i), i == 1 ? "limit" : "delta");
    visit_dtype(type, [&](auto tag) {
        using T = decltype(tag);
        const T start = layout_impl::scalar_of<T>(call, 0, "start");
        const T limit = layout_impl::scalar_of<T>(call, 1, "limit");
        const T delta = layout_impl::scalar_of<T>(call, 2, "delta");
        if (delta == T(0)) throw call.fail("delta is 0");
        const double n =
            std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
        if (!(n <= static_cast<double>(max_tensor_elements))) throw call.fail("Range too long");
        const std::int64_t count = std::max<std::int64_t>(0, static_cast<std::int64_t>(n));
        tensor out(type, {count});
        T* d = out.data<T>();
        for (std::int64_t i = 0; i < count; ++i) d[i] = static_cast<T>(start + static_cast<T>(i) * delta);
        call.output(0) = std::move(out);
    });
}

inline void trilu_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    if (x.rank() < 2) throw call.fail("input must have rank >= 2");
    const bool upper = call.attrs().get_int("upper", 1) != 0;
    const std::int64_t k = call.has_input(1) ? layout_impl::scalar_of<std::int64_t>(call, 1, "k") : 0;
    tensor out = x;  // zero bits are 0 in every dtype
    const std::int64_t n = x.shape()[x.rank() - 2], m = x.shape()[x.rank() - 1];
    const std::size_t esize = size_of(x.type());
    const std::int64_t mats = (n * m) != 0 ? x.size() / (n * m) : 0;
    for (std::int64_t b = 0; b < mats; ++b) {
        for (std::int64_t i = 0; i < n; ++i) {
            std::byte* row = out.raw() + static_cast<std::size_t>((b * n + i) * m) * esize;
            // upper keeps j >= i + k, lower keeps j <= i + k
            std::int64_t z0, z1;
            if (upper) {
                z0 = 0;
                z1 = std::clamp<std::int64_t>(i + k, 0, m);
            } else {
                z0 = std::clamp<std::int64_t>(i + k + 1, 0, m);
                z1 = m;
            }
            if (z1 > z0) std::memset(row + z0 * esize, 0, static_cast<std::size_t>(z1 - z0) * esize);
        }
    }
    call.output(0) = std::move(out);
}

inline void non_zero_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const std::int64_t r = std::max<std::int64_t>(1, x.rank());  // a scalar counts as 1-D
    const shape_t dims = x.rank() ? x.shape() : shape_t{1};
    std::vector<std::int64_t> hits;
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = x.data<T>();
        for (std::int64_t i = 0; i < x.size(); ++i)
            if (p[i] != T(0)) hits.push_back(i);
    });
    const std::int64_t nnz = static_cast<std::int64_t>(hits.size());
    tensor out(dtype::int64, {r, nnz});
    std::int64_t* d = out.data<std::int64_t>();
    const auto strides = strides_of(dims);
    for (std::int64_t j = 0; j < nnz; ++j) {
        std::int64_t rem = hits[j];
        for (std::int64_t a = 0; a < r; ++a) {
            d[a * nnz + j] = rem / strides[a];
            rem %= strides[a];
        }
    }
    call.output(0) = std::move(out);
}

inline void one_hot_kernel(const kernel_call& call) {
    const tensor& ind = call.input(0);
    const tensor& values = call.input(2);
    if (values.size() != 2) throw call.fail("values must hold [off, on]");
    const double depth_value = layout_impl::scalar_of<double>(call, 1, "depth");
    if (!(depth_value >= 0 && depth_value <= static_cast<double>(max_tensor_elements)))
        throw call.fail("depth out of range");
    const auto depth = static_cast<std::int64_t>(depth_value);
    const std::int64_t r = ind.rank() + 1;
    std::int64_t axis = call.attrs().get_int("axis", -1);
    if (axis < -r || axis >= r)
        throw call.fail("axis " + std::to_string(axis) + " out of range for output rank " + std::to_string(r));
    if (axis < 0) axis += r;
    shape_t shape(ind.shape().begin(), ind.shape().begin() + axis);
    shape.push_back(depth);
    shape.insert(shape.end(), ind.shape().begin() + axis, ind.shape().end());
    tensor out(values.type(), shape);
    const std::size_t esize = size_of(values.type());
    layout_impl::fill_elements(out.raw(), out.size(), values.raw(), esize);
    const auto idx = ind.to_vector<std::int64_t>();
    const std::int64_t inner = layout_impl::product(ind.shape(), static_cast<std::size_t>(axis));
    for (std::size_t i = 0; i < idx.size(); ++i) {
        std::int64_t v = idx[i];
        if (v < 0) v += depth;
        if (v < 0 || v >= depth) continue;
        const std::int64_t outer = static_cast<std::int64_t>(i) / inner, in = static_cast<std::int64_t>(i) % inner;
        std::memcpy(out.raw() + static_cast<std::size_t>((outer * depth + v) * inner + in) * esize,
                    values.raw() + esize, esize);
    }
    call.output(0) = std::move(out);
}

// Elements of condition-true positions along `axis` (or of the flattened input without one).
inline void compress_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& cond = call.input(1);
    if (cond.rank() != 1) throw call.fail("condition must be 1-D");
    const auto keep = cond.to_vector<bool>();
    const bool flat = !call.attrs().has("axis");
    const shape_t in_shape = flat ? shape_t{x.size()} : x.shape();
    const std::int64_t r = static_cast<std::int64_t>(in_shape.size());
    std::int64_t axis = flat ? 0 : call.attrs().get_int("axis");
    if (axis < -r || axis >= r)
        throw call.fail("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(r));
    if (axis < 0) axis += r;
    const std::int64_t dim = in_shape[axis];
    if (static_cast<std::int64_t>(keep.size()) > dim) throw call.fail("condition is longer than the axis");
    std::vector<std::int64_t> picked;
    for (std::size_t i = 0; i < keep.size(); ++i)
        if (keep[i]) picked.push_back(static_cast<std::int64_t>(i));
    shape_t shape = in_shape;
    shape[axis] = static_cast<std::int64_t>(picked.size());
    tensor out(x.type(), shape);
    const std::int64_t outer = layout_impl::product(in_shape, 0, static_cast<std::size_t>(axis));
    const std::size_t inner =
        static_cast<std::size_t>(layout_impl::product(in_shape, static_cast<std::size_t>(axis) + 1)) *
        size_of(x.type());
    std::byte* d = out.raw();
    if (inner) {
        for (std::int64_t o = 0; o < outer; ++o)
            for (auto k : picked) {
                std::memcpy(d, x.raw() + static_cast<std::size_t>(o * dim + k) * inner, inner);
                d += inner;
            }
    }
    call.output(0) = std::move(out);
}

namespace layout_impl {

// dst = combine(dst, v) for Scatter's reduction attribute (none, add, mul; opset 18 max, min).
template <class T>
void scatter_combine(T& dst, T v, const std::string& reduction) {
    if (reduction == "none") {
        dst = v;
    } else if constexpr (std::is_same_v<T, bool>) {
        if (reduction == "add" || reduction == "max") dst = dst || v;
        else dst = dst && v;  // mul, min
    } else {
        if (reduction == "add") dst = static_cast<T>(dst + v);
        else if (reduction == "mul") dst = static_cast<T>(dst * v);
        else if (reduction == "max") dst = std::max(dst, v);
        else dst = std::min(dst, v);
    }
}

inline std::string scatter_reduction(const kernel_call& call) {
    const std::string r = call.attrs().get_string("reduction", "none");
    if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min")
        throw call.fail("unknown reduction '" + r + "'");
    return r;
}

}  // namespace layout_impl

// ScatterElements (and the opset-9 Scatter it replaced): a copy of data with
// out[..., indices[i...], ...] (along axis) combined with updates[i...].
inline void scatter_elements_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& ind = call.input(1);
    const tensor& upd = call.input(2);
    const std::int64_t r = x.rank();
    if (r == 0) throw call.fail("data must have rank >= 1");
    if (ind.rank() != r || upd.shape() != ind.shape())
        throw call.fail("indices and updates must have data's rank and one shape");
    layout_impl::check_same_type(call, x, upd, "updates");
    if (is_floating(ind.type()) || ind.type() == dtype::boolean) throw call.fail("indices must be integers");
    const std::int64_t axis_attr = call.attrs().get_int("axis", 0);
    if (axis_attr < -r || axis_attr >= r)
        throw call.fail("axis " + std::to_string(axis_attr) + " out of range for rank " + std::to_string(r));
    const std::int64_t axis = axis_attr < 0 ? axis_attr + r : axis_attr;
    for (std::int64_t k = 0; k < r; ++k)
        if (k != axis && ind.shape()[k] > x.shape()[k])
            throw call.fail("indices shape " + to_string(ind.shape()) + " exceeds data shape " + to_string(x.shape()));
    const std::string reduction = layout_impl::scatter_reduction(call);
    const auto indices = ind.to_vector<std::int64_t>();
    const std::int64_t dim = x.shape()[axis];
    tensor out = x;
    layout_impl::index_vector sa = strides_of(x.shape());
    const std::int64_t axis_stride = sa[axis];
    sa[axis] = 0;
    const layout_impl::index_vector sb = strides_of(ind.shape());
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        T* dp = out.data<T>();
        const T* up = upd.data<T>();
        layout_impl::for_each_offset(ind.shape(), sa, sb, [&](std::int64_t a, std::int64_t b) {
            std::int64_t k = indices[b];
            if (k < -dim || k >= dim)
                throw call.fail("index " + std::to_string(k) + " out of range for axis of size " + std::to_string(dim));
            if (k < 0) k += dim;
            layout_impl::scatter_combine(dp[a + k * axis_stride], up[b], reduction);
        });
    });
    call.output(0) = std::move(out);
}

inline void scatter_nd_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& ind = call.input(1);
    const tensor& upd = call.input(2);
    layout_impl::check_same_type(call, x, upd, "updates");
    if (is_floating(ind.type()) || ind.type() == dtype::boolean) throw call.fail("indices must be integers");
    const std::int64_t r = x.rank(), q = ind.rank();
    if (q < 1 || r < 1) throw call.fail("data and indices must have rank >= 1");
    const std::int64_t k = ind.shape()[q - 1];
    if (k < 1 || k > r)
        throw call.fail("last indices dimension " + std::to_string(k) + " invalid for data rank " + std::to_string(r));
    shape_t upd_shape(ind.shape().begin(), ind.shape().end() - 1);
    upd_shape.insert(upd_shape.end(), x.shape().begin() + k, x.shape().end());
    if (upd.shape() != upd_shape)
        throw call.fail("updates shape " + to_string(upd.shape()) + ", expected " + to_string(upd_shape));
    const std::string reduction = layout_impl::scatter_reduction(call);
    const auto indices = ind.to_vector<std::int64_t>();
    const auto strides = strides_of(x.shape());
    const std::int64_t tuples = layout_impl::product(ind.shape(), 0, static_cast<std::size_t>(q - 1));
    const std::int64_t slice = layout_impl::product(x.shape(), static_cast<std::size_t>(k));
    tensor out = x;
    visit_dtype(x.type(), [&](auto tag) {
        using T = decltype(tag);
        T* dp = out.data<T>();
        const T* up = upd.data<T>();
        for (std::int64_t t = 0; t < tuples; ++t) {
            std::int64_t off = 0;
            for (std::int64_t j = 0; j < k; ++j) {
                const std::int64_t dim = x.shape()[j];
                std::int64_t v = indices[t * k + j];
                if (v < -dim || v >= dim)
                    throw call.fail("index " + std::to_string(v) + " out of range for axis of size " +
                                    std::to_string(dim));
                if (v < 0) v += dim;
                off += v * strides[j];
            }
            for (std::int64_t i = 0; i < slice; ++i)
                layout_impl::scatter_combine(dp[off + i], up[t * slice + i], reduction);
        }
    });
    call.output(0) = std::move(out);
}

// A 2-D tensor of input's shape with ones on the k-th diagonal.
inline void eye_like_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    if (x.rank() != 2) throw call.fail("input must be 2-D");
    dtype type = x.type();
    if (call.attrs().has("dtype") && !layout_impl::dtype_from_onnx_code(call.attrs().get_int("dtype"), type))
        throw call.unsupported("EyeLike of ONNX data type " + std::to_string(call.attrs().get_int("dtype")) +
                               " is not supported");
    const std::int64_t k = call.attrs().get_int("k", 0);
    tensor out = tensor::zeros(type, x.shape());
    const std::int64_t n = x.shape()[0], m = x.shape()[1];
    const tensor one = tensor::scalar<std::int64_t>(1).cast(type);
    const std::size_t esize = size_of(type);
    for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t j = i + k;
        if (j >= 0 && j < m) std::memcpy(out.raw() + static_cast<std::size_t>(i * m + j) * esize, one.raw(), esize);
    }
    call.output(0) = std::move(out);
}

// Reverses the first sequence_lens[b] steps along time_axis of every batch entry b.
inline void reverse_sequence_kernel(const kernel_call& call) {
    const tensor& x = call.input(0);
    const auto lens = layout_impl::int_list(call, 1, "sequence_lens");
    if (x.rank() < 2) throw call.fail("input must have rank >= 2");
    const std::int64_t batch_axis = call.attrs().get_int("batch_axis", 1),
                       time_axis = call.attrs().get_int("time_axis", 0);
    if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0)))
        throw call.fail("batch_axis and time_axis must be 0 and 1");
    const std::int64_t batch = x.shape()[batch_axis], steps = x.shape()[time_axis];
    if (static_cast<std::int64_t>(lens.size()) != batch) throw call.fail("sequence_lens must have one entry per batch");
    tensor out = x;
    const std::size_t inner = static_cast<std::size_t>(layout_impl::product(x.shape(), 2)) * size_of(x.type());
    const auto strides = strides_of(x.shape());
    const std::size_t esize = size_of(x.type());
    for (std::int64_t b = 0; b < batch; ++b) {
        if (lens[b] < 0 || lens[b] > steps)
            throw call.fail("sequence length " + std::to_string(lens[b]) + " out of range");
        for (std::int64_t t = 0; t < lens[b]; ++t) {
            const std::int64_t src = b * strides[batch_axis] + (lens[b] - 1 - t) * strides[time_axis];
            const std::int64_t dst = b * strides[batch_axis] + t * strides[time_axis];
            if (inner)
                std::memcpy(out.raw() + static_cast<std::size_t>(dst) * esize,
                            x.raw() + static_cast<std::size_t>(src) * esize, inner);
        }
    }
    call.output(0) = std::move(out);
}

KTC_DECL void add_layout_kernels(kernel_table& t);

}  // namespace ktc::kernels::floating

#if KTC_HEADER_ONLY
#include "ktc/kernels/float/layout.ipp"
#endif
