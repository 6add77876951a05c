// ktc/quant/weight_rounding.hpp - weights rounded against the error they cause at their layer's
// output (`--weight-rounding adaptive` and `upstream`, docs/numerics.md rule 7).
//
// Rounding every weight to its nearest code minimizes each weight's own error, not the layer's:
// an output channel sums tens to hundreds of products, and rounding errors on inputs that move
// together add up (a 1x1 convolution over non-negative ReLU outputs turns them into an offset).
// With H = E[p p^T] of the layer's input patches (quant/layer_inputs.hpp), rounding errors e of
// channel c move its output by a mean square of e^T H e. Each weight may take the code below or
// above its value, as in AdaRound (Nagel et al. 2020); a greedy descent flips one weight at a
// time while that lowers e^T H e, keeping the gradient H e up to date (O(dim) per flip), until a
// pass flips nothing. Starting from nearest rounding, the result is never worse on the
// calibration patches.
//
// With the quantized model's patches q beside the float ones p (`--weight-rounding upstream`,
// quant/upstream_rounding.hpp), the error against the float output w.p is e^T H e - 2 e^T l with
// H = E[q q^T] and l = E[q (p - q)^T] w: the same descent, with the gradient H e - l, also takes
// back part of what the layers above lost.
//
// H is trusted only where the calibration gave at least `patches_per_dim` patches per weight of a
// channel (a classifier's last Gemm on 48 samples has 48 patches for 1000 weights: any rounding
// fits them), and is damped by 1% of its mean diagonal, so that directions the samples never
// visited still cost something. The descent fits H of one half of the samples kept; a channel
// keeps its new codes only if they also lower e^T H e on the other half, so that a rounding which
// fits the calibration set's quirks rather than the layer's inputs stays nearest.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "ktc/core/error.hpp"
#include "ktc/core/tensor.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/kernels/fixed/fixed_point.hpp"
#include "ktc/quant/layer_inputs.hpp"

namespace ktc::quant {

// nearest: each weight to its nearest code. adaptive: against the layer's output error on the
// float model's inputs. upstream: the same, then again on the inputs the quantized model gives
// each layer, against the float model's output (the cross moment of layer_inputs.hpp).
enum class weight_rounding { nearest, adaptive, upstream };
inline const char* name_of(weight_rounding r) {
    return r == weight_rounding::adaptive ? "adaptive" : r == weight_rounding::upstream ? "upstream" : "nearest";
}
inline weight_rounding parse_weight_rounding(const std::string& s) {
    if (s == "nearest") return weight_rounding::nearest;
    if (s == "adaptive") return weight_rounding::adaptive;
    if (s == "upstream") return weight_rounding::upstream;
    throw usage_error("--weight-rounding " + s + ": expected nearest, adaptive or upstream");
}

// The calibration samples (spread over the set) whose layer inputs adaptive rounding reads: the
// moments settle well before, and the patches cost O(dim^2) each.
constexpr std::size_t adaptive_rounding_samples = 64;

namespace rounding_detail {

constexpr double patches_per_dim = 4;
constexpr double damping = 0.01;
constexpr int max_passes = 16;

// The flat index of weight element d (in patch order) of output channel c, for the layouts
// patches_of covers: Conv [M, C/group, k...], Gemm B [N, K] (transB) or [K, N], MatMul B [K, N].
inline std::function<std::int64_t(std::int64_t, std::int64_t)> weight_index(const graph::node& n, const shape_t& w,
                                                                            std::int64_t dim) {
    if (n.op_type == "Conv") return [dim](std::int64_t c, std::int64_t d) { return c * dim + d; };
    if (n.op_type == "Gemm" && n.attrs.get_int("transB", 0) != 0)
        return [dim](std::int64_t c, std::int64_t d) { return c * dim + d; };
    const std::int64_t N = w.back();
    return [N](std::int64_t c, std::int64_t d) { return d * N + c; };
}

// Flips codes of one channel between the two codes around each weight while e^T H e - 2 e^T l
// falls.
inline void descend(const Eigen::MatrixXd& h, const Eigen::VectorXd& l, const std::vector<double>& w,
                    std::vector<std::int64_t>& q, double step, std::int64_t lo, std::int64_t hi) {
    const auto dim = static_cast<Eigen::Index>(w.size());
    Eigen::VectorXd e(dim);
    for (Eigen::Index d = 0; d < dim; ++d) e[d] = double(q[std::size_t(d)]) * step - w[std::size_t(d)];
    Eigen::VectorXd gradient = h * e - l;  // half the gradient
    for (int pass = 0; pass < max_passes; ++pass) {
        bool flipped = false;
        for (Eigen::Index d = 0; d < dim; ++d) {
            const auto i = std::size_t(d);
            const std::int64_t other = double(q[i]) * step > w[i] ? q[i] - 1 : q[i] + 1;  // the code on w's other side
            if (other < lo || other > hi) continue;
            const double delta = double(other - q[i]) * step;
            if (2 * delta * gradient[d] + delta * delta * h(d, d) >= 0) continue;
            q[i] = other;
            gradient += delta * h.col(d);
            flipped = true;
        }
        if (!flipped) break;
    }
}

// e^T H e - 2 e^T l for the rounding errors e of codes q against w: the output's mean square
// error less what does not depend on the codes.
inline double output_error(const Eigen::MatrixXd& h, const Eigen::VectorXd& l, const std::vector<double>& w,
                           const std::vector<std::int64_t>& q, double step) {
    Eigen::VectorXd e(static_cast<Eigen::Index>(w.size()));
    for (std::size_t d = 0; d < w.size(); ++d) e[Eigen::Index(d)] = double(q[d]) * step - w[d];
    return e.dot(h * e) - 2 * e.dot(l);
}

}  // namespace rounding_detail

// `qw` (the nearest codes of w at `formats`, one per output channel) rounded against the layer's
// output error; unchanged where the moments do not describe this layer well enough.
inline tensor round_against_output(const graph::node& n, const tensor& w, tensor qw,
                                   const std::vector<fixed::value_format>& formats, const layer_input_moments& moments,
                                   int bits) {
    using namespace rounding_detail;
    auto codes = qw.to_vector<std::int64_t>();
    const auto store = [&](const std::vector<std::int64_t>& rounded) {
        visit_dtype(qw.type(), [&](auto zero) {
            using T = decltype(zero);
            if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
                T* out = qw.data<T>();
                for (std::size_t i = 0; i < rounded.size(); ++i) out[i] = static_cast<T>(rounded[i]);
            }
        });
        return qw;
    };
    layer_input_moments::memo asked;
    if (moments.memoize) {
        asked = {w.to_vector<float>(), qw.to_vector<std::int32_t>(), {}, {}, bits};
        for (const auto& f : formats) asked.formats.insert(asked.formats.end(), {double(f.radix), f.scale});
        if (const auto& m = moments.last_rounding; m && m->weights == asked.weights && m->nearest == asked.nearest &&
                                                   m->formats == asked.formats && m->bits == bits)
            return store(std::vector<std::int64_t>(m->codes.begin(), m->codes.end()));
    }

    const patch_moments& fit = moments.fit;
    const std::int64_t dim = fit.dim(), channels = static_cast<std::int64_t>(formats.size());
    if (dim <= 0 || fit.samples() == 0 || double(fit.patches()) < patches_per_dim * double(dim)) return qw;
    if (moments.check.samples() == 0 || moments.check.dim() != dim || moments.check.groups() != fit.groups()) return qw;
    if (channels * dim != w.size() || channels % fit.groups() != 0) return qw;
    const auto index = weight_index(n, w.shape(), dim);
    const std::int64_t per_group = channels / fit.groups();
    const auto wv = w.to_vector<double>();
    const std::int64_t lo = fixed::min_of(bits), hi = fixed::max_of(bits);

    Eigen::MatrixXd h, h_check, cross, cross_check;
    std::int64_t h_group = -1;
    bool group_seen_inputs = false;  // a group whose inputs were all zero keeps nearest rounding
    for (std::int64_t c = 0; c < channels; ++c) {
        if (c / per_group != h_group) {
            h_group = c / per_group;
            h = fit.second_moment(h_group);
            h_check = moments.check.second_moment(h_group);
            cross = fit.cross_moment(h_group);
            cross_check = moments.check.cross_moment(h_group);
            const double mean_diagonal = h.diagonal().mean();
            group_seen_inputs = mean_diagonal > 0;
            if (group_seen_inputs) h.diagonal().array() += damping * mean_diagonal;
        }
        if (!group_seen_inputs) continue;
        const fixed::value_format& f = formats[std::size_t(c)];
        const double step = std::ldexp(1.0 / f.scale, -f.radix);
        std::vector<double> wc(static_cast<std::size_t>(dim));
        std::vector<std::int64_t> qc(static_cast<std::size_t>(dim));
        for (std::int64_t d = 0; d < dim; ++d) {
            wc[std::size_t(d)] = wv[std::size_t(index(c, d))];
            qc[std::size_t(d)] = codes[std::size_t(index(c, d))];
        }
        const Eigen::Map<const Eigen::VectorXd> weights(wc.data(), dim);
        const Eigen::VectorXd l = cross * weights, l_check = cross_check * weights;
        const double nearest_error = output_error(h_check, l_check, wc, qc, step);
        descend(h, l, wc, qc, step, lo, hi);
        if (!(output_error(h_check, l_check, wc, qc, step) < nearest_error)) continue;  // fits the fit half only
        for (std::int64_t d = 0; d < dim; ++d) codes[std::size_t(index(c, d))] = qc[std::size_t(d)];
    }
    if (moments.memoize) {
        asked.codes.assign(codes.begin(), codes.end());
        moments.last_rounding = std::move(asked);
    }
    return store(codes);
}

}  // namespace ktc::quant
