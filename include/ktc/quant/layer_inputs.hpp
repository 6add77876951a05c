// ktc/quant/layer_inputs.hpp - what a MAC layer's weights multiply: the second moments of its
// input patches, learned on calibration samples, for weight rounding against the layer's output
// error (quant/weight_rounding.hpp, docs/numerics.md rule 7).
//
// Output channel c of a Conv computes w_c . p over patches p of its input (the C/group channels
// times the kernel taps it reads, zeros where it reads padding); a Gemm or MatMul's patch is one
// row of its input. If rounding moves w_c by e, the channel's output moves by e . p, whose mean
// square over the data is e^T H e with H = E[p p^T]. One H per group: the patches of a group are
// the same for each of its output channels.
//
// Sums are kept as integers (radix `radix`) so that merging observers of different threads is
// exact and the result does not depend on the thread count, as for the other observers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include <Eigen/Dense>

#include "ktc/graph/constants.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/kernels/window.hpp"

namespace ktc::quant {

// Where a MAC layer's patches come from: which input elements make patch element d of group g.
struct patch_geometry {
    std::int64_t groups = 1;
    std::int64_t dim = 0;  // elements of one patch (channels per group x kernel taps, or K)
    std::int64_t positions = 0;  // patches one sample gives
    // The flat input index of patch element d of group g at position `at`, or -1 for padding.
    std::function<std::int64_t(std::int64_t g, std::int64_t at, std::int64_t d)> element;
};

// Patches of the ops whose weights can be rounded against their output: Conv (any group count)
// and Gemm/MatMul with a constant 2-D weight read from the right. Nothing for other ops or shapes.
inline std::optional<patch_geometry> patches_of(const graph::node& n, const graph::graph& g, const shape_t& input_shape) {
    const auto w = n.has_input(1) ? graph::constant_value(g, n.input(1)) : std::nullopt;
    if (!w || w->type() != dtype::float32) return std::nullopt;
    const auto& ws = w->shape();
    if (n.op_type == "Conv" && ws.size() >= 3 && input_shape.size() == ws.size() && input_shape[0] == 1) {
        const std::int64_t group = n.attrs.get_int("group", 1), Cg = ws[1], channels = input_shape[1];
        if (group < 1 || Cg * group != channels) return std::nullopt;
        const shape_t in(input_shape.begin() + 2, input_shape.end()), kernel(ws.begin() + 2, ws.end());
        std::vector<tensor> no_outputs;
        const kernels::window win = kernels::resolve_window(kernels::kernel_call{n, {}, no_outputs}, in, kernel);
        const std::int64_t taps = win.kernel_size(), plane = win.in_size();
        patch_geometry p{group, Cg * taps, win.out_size(), {}};
        p.element = [=](std::int64_t grp, std::int64_t at, std::int64_t d) -> std::int64_t {
            const std::int64_t channel = grp * Cg + d / taps;
            std::int64_t tap = d % taps, position = at, offset = 0;
            for (std::size_t axis = win.rank(); axis-- > 0;) {  // innermost axis first
                const std::int64_t k = tap % win.kernel[axis], o = position % win.out[axis];
                tap /= win.kernel[axis];
                position /= win.out[axis];
                const std::int64_t x = o * win.strides[axis] - win.pads_begin[axis] + k * win.dilations[axis];
                if (x < 0 || x >= win.in[axis]) return -1;
                std::int64_t stride = 1;
                for (std::size_t inner = axis + 1; inner < win.rank(); ++inner) stride *= win.in[inner];
                offset += x * stride;
            }
            return channel * plane + offset;
        };
        return p;
    }
    const bool gemm = n.op_type == "Gemm" && n.attrs.get_int("transA", 0) == 0;
    if ((gemm || n.op_type == "MatMul") && ws.size() == 2 && !input_shape.empty()) {
        const std::int64_t K = gemm && n.attrs.get_int("transB", 0) != 0 ? ws[1] : ws[0];
        if (input_shape.back() != K) return std::nullopt;
        std::int64_t rows = 1;
        for (std::size_t i = 0; i + 1 < input_shape.size(); ++i) rows *= input_shape[i];
        patch_geometry p{1, K, rows, {}};
        p.element = [K](std::int64_t, std::int64_t at, std::int64_t d) { return at * K + d; };
        return p;
    }
    return std::nullopt;
}

class patch_moments {
public:
    static constexpr int radix = 30;
    __extension__ using wide = __int128;  // exact sums of 2^60-bounded terms
    static constexpr std::int64_t max_dim = 1152;            // 3x3 x 128 channels (21 MB of sums): larger layers keep nearest rounding
    static constexpr std::int64_t positions_per_sample = 512;  // spread evenly over the output

    // Adds one sample's patches (its input tensor, batch 1).
    void observe(const patch_geometry& p, std::span<const float> input) {
        if (p.dim <= 0 || p.dim > max_dim || p.positions <= 0) return;
        const std::int64_t taken = std::min(p.positions, positions_per_sample);
        if (sums_.empty()) {
            groups_ = p.groups, dim_ = p.dim, positions_ = taken;
            sums_.assign(static_cast<std::size_t>(groups_ * dim_ * dim_), 0);
        }
        if (groups_ != p.groups || dim_ != p.dim || positions_ != taken) return;  // an input shape that varies
        Eigen::MatrixXd x(taken, dim_);
        for (std::int64_t grp = 0; grp < groups_; ++grp) {
            for (std::int64_t r = 0; r < taken; ++r) {
                const std::int64_t at = r * p.positions / taken;
                for (std::int64_t d = 0; d < dim_; ++d) {
                    const std::int64_t i = p.element(grp, at, d);
                    const float v = i < 0 || i >= static_cast<std::int64_t>(input.size()) ? 0.f : input[static_cast<std::size_t>(i)];
                    x(r, d) = std::isfinite(v) ? double(v) : 0.0;
                }
            }
            const Eigen::MatrixXd h = (x.transpose() * x) / double(taken);
            wide* out = &sums_[static_cast<std::size_t>(grp * dim_ * dim_)];
            for (std::int64_t i = 0; i < dim_ * dim_; ++i) {
                // Clamped far above what a layer's input products reach, so the integer cannot overflow.
                const double m = std::clamp(h.data()[i], -double(1 << 30), double(1 << 30));
                out[i] += static_cast<wide>(std::llround(std::ldexp(m, radix)));
            }
        }
        ++samples_;
    }

    void merge(const patch_moments& other) {
        if (other.sums_.empty()) return;
        if (sums_.empty()) groups_ = other.groups_, dim_ = other.dim_, positions_ = other.positions_, sums_.assign(other.sums_.size(), 0);
        if (groups_ != other.groups_ || dim_ != other.dim_ || positions_ != other.positions_) return;
        for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += other.sums_[i];
        samples_ += other.samples_;
    }

    std::int64_t groups() const { return groups_; }
    std::int64_t dim() const { return dim_; }
    std::uint64_t samples() const { return samples_; }
    std::uint64_t patches() const { return samples_ * std::uint64_t(positions_); }

    // E[p p^T] of group g (samples weighted alike).
    Eigen::MatrixXd second_moment(std::int64_t g) const {
        Eigen::MatrixXd h(dim_, dim_);
        const wide* in = &sums_.at(static_cast<std::size_t>(g * dim_ * dim_));
        for (std::int64_t i = 0; i < dim_ * dim_; ++i)
            h.data()[i] = std::ldexp(double(in[i] / static_cast<wide>(samples_)), -radix);
        return h;
    }

private:
    std::int64_t groups_ = 0, dim_ = 0, positions_ = 0;
    std::uint64_t samples_ = 0;
    std::vector<wide> sums_;
};

// A layer's patch moments from two disjoint halves of the samples kept: rounding is fitted on
// `fit` and kept only where it also lowers the error on `check` (weight_rounding.hpp).
struct layer_input_moments {
    patch_moments fit, check;
    void merge(const layer_input_moments& other) { fit.merge(other.fit), check.merge(other.check); }
};

}  // namespace ktc::quant
