// ktc/core/shape.hpp - tensor shapes: dimensions, element counts, strides and their text form.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ktc/core/error.hpp"

namespace ktc {

using shape_t = std::vector<std::int64_t>;

// Largest element count a tensor may declare (2^31): a file claiming more is rejected before
// anything is allocated. 2^31 float32 elements are 8 GiB, more than any model ktc targets needs.
// A build may lower it (the fuzz targets use 2^24, to stay within the fuzzer's memory limit).
#ifndef KTC_MAX_TENSOR_ELEMENTS
#define KTC_MAX_TENSOR_ELEMENTS (std::int64_t{1} << 31)
#endif
inline constexpr std::int64_t max_tensor_elements = KTC_MAX_TENSOR_ELEMENTS;
// Largest rank (numpy's limit is 32 too): a file declaring a million dimensions of 1 is refused.
inline constexpr std::size_t max_tensor_rank = 32;

// Number of elements; throws if a dimension is negative or the rank or count exceeds its limit.
inline std::int64_t element_count(const shape_t& shape) {
    if (shape.size() > max_tensor_rank)
        throw error("rank " + std::to_string(shape.size()) + " exceeds " + std::to_string(max_tensor_rank));
    std::int64_t n = 1;
    for (auto d : shape) {
        if (d < 0) throw error("negative dimension in shape");
        if (d != 0 && n > max_tensor_elements / d)
            throw error("tensor has more than " + std::to_string(max_tensor_elements) + " elements");
        n *= d;
    }
    return n;
}

// Row-major strides, in elements.
inline shape_t strides_of(const shape_t& shape) {
    shape_t strides(shape.size(), 1);
    for (std::size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
    return strides;
}

inline std::string to_string(const shape_t& shape) {
    std::string s = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) s += ",";
        s += std::to_string(shape[i]);
    }
    return s + "]";
}

// Resolves a possibly negative axis against a rank, as ONNX defines it.
inline std::int64_t normalize_axis(std::int64_t axis, std::int64_t rank) {
    if (axis < -rank || axis >= rank)
        throw error("axis " + std::to_string(axis) + " out of range for rank " + std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

// The shape two operands broadcast to under numpy rules; throws on mismatch.
inline shape_t broadcast_shapes(const shape_t& a, const shape_t& b) {
    const std::size_t rank = std::max(a.size(), b.size());
    shape_t out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da != db && da != 1 && db != 1)
            throw error("shapes " + to_string(a) + " and " + to_string(b) + " do not broadcast");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

}  // namespace ktc
