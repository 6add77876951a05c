// ktc/core/layout.hpp - channel-last <-> channel-first conversion of whole tensors.
//
// Users hand ktc channel-last data, as the vendor's toolchain expects ([1,H,W,C] for a model
// input [1,C,H,W]); the graph computes channel-first. Rank < 3 tensors have no channel axis to
// move and pass unchanged.
#pragma once

#include <cstring>
#include <string>

#include "ktc/core/tensor.hpp"

namespace ktc {

enum class layout { channel_last, channel_first };

inline layout parse_layout(const std::string& s) {
    if (s == "nhwc" || s == "channel_last") return layout::channel_last;
    if (s == "nchw" || s == "channel_first") return layout::channel_first;
    throw usage_error("unknown layout '" + s + "' (expected nhwc or nchw)");
}

namespace detail {
// Moves axis `from` to position `to`, keeping the order of the others.
inline tensor move_axis(const tensor& t, std::int64_t from, std::int64_t to) {
    const std::int64_t r = t.rank();
    shape_t perm;
    for (std::int64_t i = 0; i < r; ++i)
        if (i != from) perm.push_back(i);
    perm.insert(perm.begin() + to, from);
    shape_t out_shape(r);
    for (std::int64_t i = 0; i < r; ++i) out_shape[i] = t.shape()[perm[i]];
    tensor out(t.type(), out_shape);
    const auto in_strides = strides_of(t.shape());
    const std::size_t es = size_of(t.type());
    // Odometer over the output; innermost run copies one element at a time (sizes are inputs and
    // outputs, not on a hot path).
    shape_t idx(r, 0);
    for (std::int64_t o = 0; o < out.size(); ++o) {
        std::int64_t src = 0;
        for (std::int64_t d = 0; d < r; ++d) src += idx[d] * in_strides[perm[d]];
        std::memcpy(out.raw() + o * es, t.raw() + src * es, es);
        for (std::int64_t d = r; d-- > 0;)
            if (++idx[d] < out_shape[d]) break;
            else idx[d] = 0;
    }
    return out;
}
}  // namespace detail

// [N, d2, ..., dk, C] -> [N, C, d2, ..., dk]
inline tensor channel_last_to_first(const tensor& t) {
    return t.rank() < 3 ? t : detail::move_axis(t, t.rank() - 1, 1);
}
// [N, C, d2, ..., dk] -> [N, d2, ..., dk, C]
inline tensor channel_first_to_last(const tensor& t) {
    return t.rank() < 3 ? t : detail::move_axis(t, 1, t.rank() - 1);
}

}  // namespace ktc
