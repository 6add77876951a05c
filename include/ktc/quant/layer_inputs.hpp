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

// Where a MAC layer's patches come from: which input elements make the patch of group g at a
// position.
struct patch_geometry {
    std::int64_t groups = 1;
    std::int64_t dim = 0;           // elements of one patch (channels per group x kernel taps, or K)
    std::int64_t positions = 0;     // patches one sample gives
    std::int64_t group_stride = 0;  // how far group g's elements lie from group 0's
    // Writes the flat input index of each of the `dim` elements of group 0's patch at position
    // `at`, or -1 where it reads padding.
    std::function<void(std::int64_t at, std::int64_t* index)> elements;
};

// Patches of the ops whose weights can be rounded against their output: Conv (any group count)
// and Gemm/MatMul with a constant 2-D weight read from the right. Nothing for other ops or shapes.
inline std::optional<patch_geometry> patches_of(const graph::node& n, const graph::graph& g,
                                                const shape_t& input_shape) {
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
        patch_geometry p{group, Cg * taps, win.out_size(), Cg * plane, {}};
        p.elements = [=](std::int64_t at, std::int64_t* index) {
            for (std::int64_t t = 0; t < taps; ++t) {  // each tap's offset in a channel's plane
                std::int64_t tap = t, position = at, offset = 0, stride = 1;
                for (std::size_t axis = win.rank(); axis-- > 0;) {  // innermost axis first
                    const std::int64_t k = tap % win.kernel[axis], o = position % win.out[axis];
                    tap /= win.kernel[axis];
                    position /= win.out[axis];
                    const std::int64_t x = o * win.strides[axis] - win.pads_begin[axis] + k * win.dilations[axis];
                    if (x < 0 || x >= win.in[axis]) {
                        offset = -1;
                        break;
                    }
                    offset += x * stride;
                    stride *= win.in[axis];
                }
                for (std::int64_t c = 0; c < Cg; ++c) index[c * taps + t] = offset < 0 ? -1 : c * plane + offset;
            }
        };
        return p;
    }
    const bool gemm = n.op_type == "Gemm" && n.attrs.get_int("transA", 0) == 0;
    if ((gemm || n.op_type == "MatMul") && ws.size() == 2 && !input_shape.empty()) {
        const std::int64_t K = gemm && n.attrs.get_int("transB", 0) != 0 ? ws[1] : ws[0];
        if (input_shape.back() != K) return std::nullopt;
        std::int64_t rows = 1;
        for (std::size_t i = 0; i + 1 < input_shape.size(); ++i) rows *= input_shape[i];
        patch_geometry p{1, K, rows, 0, {}};
        p.elements = [K](std::int64_t at, std::int64_t* index) {
            for (std::int64_t d = 0; d < K; ++d) index[d] = at * K + d;
        };
        return p;
    }
    return std::nullopt;
}

class patch_moments {
public:
    static constexpr int radix = 30;
    __extension__ using wide = __int128;  // exact sums of 2^60-bounded terms
    static constexpr std::int64_t max_dim =
        1152;  // 3x3 x 128 channels (11 MB of sums): larger layers keep nearest rounding
    static constexpr std::int64_t positions_per_sample = 512;  // spread evenly over the output

    // Adds one sample's patches (its input tensor, batch 1).
    void observe(const patch_geometry& p, std::span<const float> input) { observe(p, input, {}); }

    // Adds one sample's patches as the quantized model sees them (`quantized`, dequantized) beside
    // the float model's (`reference`, the same value): H becomes E[q q^T] of the quantized patches
    // and the cross moment E[q (p - q)^T] is kept, so that weight rounding can also take back
    // what the upstream layers' rounding moved (weight_rounding.hpp).
    void observe(const patch_geometry& p, std::span<const float> quantized, std::span<const float> reference) {
        if (p.dim <= 0 || p.dim > max_dim || p.positions <= 0) return;
        const std::int64_t taken = std::min(p.positions, positions_per_sample);
        const bool cross = !reference.empty();
        if (sums_.empty()) {
            groups_ = p.groups, dim_ = p.dim, positions_ = taken, cross_ = cross;
            sums_.assign(static_cast<std::size_t>(groups_ * triangle()), 0);
            if (cross_) cross_sums_.assign(static_cast<std::size_t>(groups_ * dim_ * dim_), 0);
        }
        if (groups_ != p.groups || dim_ != p.dim || positions_ != taken || cross_ != cross)
            return;  // an input shape that varies
        // Patches as rows (row-major, so that one patch is contiguous) and their moments, in buffers
        // each thread keeps: a pointwise layer's are megabytes, which fresh allocations would
        // fault in page by page for every sample and layer.
        using rows = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
        thread_local std::vector<double> patch_buffer, reference_buffer, moment_buffer;
        thread_local std::vector<std::int64_t> index;
        patch_buffer.resize(static_cast<std::size_t>(taken * dim_));
        reference_buffer.resize(cross ? static_cast<std::size_t>(taken * dim_) : 0);
        moment_buffer.resize(static_cast<std::size_t>(dim_ * dim_));
        index.resize(static_cast<std::size_t>(taken * dim_));
        Eigen::Map<rows> x(patch_buffer.data(), taken, dim_), d(reference_buffer.data(), cross ? taken : 0, dim_);
        Eigen::Map<Eigen::MatrixXd> h(moment_buffer.data(), dim_, dim_);
        for (std::int64_t r = 0; r < taken; ++r)
            p.elements(r * p.positions / taken, &index[static_cast<std::size_t>(r * dim_)]);
        const auto gather = [&](std::span<const float> input, auto& out, std::int64_t shift) {
            const auto size = static_cast<std::int64_t>(input.size());
            for (std::int64_t r = 0; r < taken; ++r)
                for (std::int64_t k = 0; k < dim_; ++k) {
                    const std::int64_t i = index[static_cast<std::size_t>(r * dim_ + k)];
                    const float v = i < 0 || i + shift >= size ? 0.f : input[static_cast<std::size_t>(i + shift)];
                    out(r, k) = std::isfinite(v) ? double(v) : 0.0;
                }
        };
        for (std::int64_t grp = 0; grp < groups_; ++grp) {
            gather(quantized, x, grp * p.group_stride);
            h.noalias() = x.transpose() * x;
            add(&sums_[static_cast<std::size_t>(grp * triangle())], h, taken, true);
            if (!cross) continue;
            gather(reference, d, grp * p.group_stride);
            d -= x;  // what the quantized model's patches miss
            h.noalias() = x.transpose() * d;
            add(&cross_sums_[static_cast<std::size_t>(grp * dim_ * dim_)], h, taken, false);
        }
        ++samples_;
    }

    void merge(const patch_moments& other) {
        if (other.sums_.empty()) return;
        if (sums_.empty())
            groups_ = other.groups_, dim_ = other.dim_, positions_ = other.positions_, cross_ = other.cross_,
            sums_.assign(other.sums_.size(), 0), cross_sums_.assign(other.cross_sums_.size(), 0);
        if (groups_ != other.groups_ || dim_ != other.dim_ || positions_ != other.positions_ || cross_ != other.cross_)
            return;
        for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += other.sums_[i];
        for (std::size_t i = 0; i < cross_sums_.size(); ++i) cross_sums_[i] += other.cross_sums_[i];
        samples_ += other.samples_;
    }

    std::int64_t groups() const { return groups_; }
    std::int64_t dim() const { return dim_; }
    std::uint64_t samples() const { return samples_; }
    std::uint64_t patches() const { return samples_ * std::uint64_t(positions_); }
    bool has_cross_moment() const { return cross_; }

    // E[p p^T] of group g (samples weighted alike); of the quantized patches when there is a cross moment.
    Eigen::MatrixXd second_moment(std::int64_t g) const {
        Eigen::MatrixXd h(dim_, dim_);
        const wide* in = &sums_.at(static_cast<std::size_t>(g * triangle()));
        for (std::int64_t j = 0; j < dim_; ++j)
            for (std::int64_t i = 0; i <= j; ++i) h(i, j) = h(j, i) = mean(*in++);
        return h;
    }

    // E[q (p - q)^T] of group g: zero without quantized patches.
    Eigen::MatrixXd cross_moment(std::int64_t g) const {
        Eigen::MatrixXd c = Eigen::MatrixXd::Zero(dim_, dim_);
        if (!cross_) return c;
        const wide* in = &cross_sums_.at(static_cast<std::size_t>(g * dim_ * dim_));
        for (std::int64_t j = 0; j < dim_; ++j)
            for (std::int64_t i = 0; i < dim_; ++i) c(i, j) = mean(*in++);
        return c;
    }

private:
    std::int64_t triangle() const { return dim_ * (dim_ + 1) / 2; }  // sums kept per group
    double mean(wide sum) const { return std::ldexp(double(sum / static_cast<wide>(samples_)), -radix); }

    // Adds m / taken as integers: its upper triangle column by column (symmetric) or all of it.
    static void add(wide* out, const Eigen::Map<Eigen::MatrixXd>& m, std::int64_t taken, bool symmetric) {
        const double to_integer = std::ldexp(1.0, radix);
        for (Eigen::Index j = 0; j < m.cols(); ++j)
            for (Eigen::Index i = 0; i < (symmetric ? j + 1 : m.rows()); ++i) {
                // Clamped far above what a layer's input products reach, so the integer cannot overflow.
                const double mean = std::clamp(m(i, j) / double(taken), -double(1 << 30), double(1 << 30));
                *out++ += static_cast<wide>(std::llround(mean * to_integer));
            }
    }

    std::int64_t groups_ = 0, dim_ = 0, positions_ = 0;
    bool cross_ = false;
    std::uint64_t samples_ = 0;
    std::vector<wide> sums_, cross_sums_;
};

// A layer's patch moments from two disjoint halves of the samples kept: rounding is fitted on
// `fit` and kept only where it also lowers the error on `check` (weight_rounding.hpp).
struct layer_input_moments {
    patch_moments fit, check;
    void merge(const layer_input_moments& other) { fit.merge(other.fit), check.merge(other.check); }
    // Frees the sums (megabytes for a wide layer) and keeps last_rounding.
    void release_sums() { fit = {}, check = {}; }

    // With `memoize`, the last rounding made from these moments and what it was made of
    // (weight_rounding.hpp): quantizing again with the same moments, weights and formats gives the
    // same codes without the descent (upstream_rounding.hpp quantizes the whole model once per
    // wave of layers). quantize() runs on one thread.
    struct memo {
        std::vector<float> weights;
        std::vector<std::int32_t> nearest, codes;
        std::vector<double> formats;  // radix and scale of each channel
        int bits = 0;
    };
    bool memoize = false;
    mutable std::optional<memo> last_rounding;
};

}  // namespace ktc::quant
