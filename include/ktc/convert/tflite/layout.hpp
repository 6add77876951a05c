// ktc/convert/tflite/layout.hpp - TFLite's NHWC against ktc's NCHW: the converter keeps every
// rank-4 activation NCHW ("held" layout) and every other tensor as TFLite has it, so the ONNX
// graph needs a Transpose only where a reshape really reorders elements.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "ktc/core/error.hpp"
#include "ktc/core/shape.hpp"
#include "ktc/core/tensor.hpp"
#include "ktc/kernels/float/layout.hpp"

namespace ktc::convert::tflite {

// held axis i is NHWC axis to_nchw[i]; NHWC axis a is held axis to_nhwc[a]. As Transpose perms:
// to_nchw turns NHWC data into NCHW, to_nhwc turns NCHW back.
inline constexpr std::array<std::int64_t, 4> to_nchw{0, 3, 1, 2};
inline constexpr std::array<std::int64_t, 4> to_nhwc{0, 2, 3, 1};

inline std::vector<std::int64_t> perm_vector(const std::array<std::int64_t, 4>& p) { return {p.begin(), p.end()}; }

// The shape ktc holds a TFLite tensor of shape `nhwc` in.
inline shape_t held_shape(const shape_t& nhwc) {
    if (nhwc.size() != 4) return nhwc;
    return {nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
}

// Where TFLite's `axis` of a rank-`rank` tensor is in the held tensor.
inline std::int64_t held_axis(std::int64_t axis, std::int64_t rank) {
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank)
        throw error("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
    return rank == 4 ? to_nhwc[static_cast<std::size_t>(axis)] : axis;
}

// True when NHWC and NCHW orders of a tensor of shape `nhwc` list the elements alike (C == 1 or
// H == W == 1, batch 1...): then a Reshape of the held tensor needs no Transpose.
inline bool same_order_in_both_layouts(const shape_t& nhwc) {
    if (nhwc.size() != 4) return true;
    std::int64_t last = -1;
    for (const auto axis : to_nchw) {
        if (nhwc[static_cast<std::size_t>(axis)] == 1) continue;
        if (axis < last) return false;
        last = axis;
    }
    return true;
}

// TFLite's SAME padding of one spatial axis: the output is ceil(in / stride) and the odd pixel of
// padding goes after (bottom/right).
inline std::array<std::int64_t, 2> same_padding(std::int64_t in, std::int64_t kernel, std::int64_t stride,
                                                std::int64_t dilation) {
    const std::int64_t effective = (kernel - 1) * dilation + 1;
    const std::int64_t out = (in + stride - 1) / stride;
    const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + effective - in, 0);
    return {total / 2, total - total / 2};
}

// A tensor's axes permuted: out.shape[i] = t.shape[perm[i]] (weights, at conversion time); the
// float kernels' Transpose does the work.
inline tensor permuted(const tensor& t, const std::vector<std::int64_t>& perm) {
    return kernels::floating::layout_impl::transposed(t, perm);
}

}  // namespace ktc::convert::tflite
