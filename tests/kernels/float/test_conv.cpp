// The float conv loop (floating::detail::conv_groups: depthwise planes, 1x1 and im2col products,
// the bias and clamp epilogue) against a direct transcription of the ONNX Conv definition in
// double, on random shapes that reach every edge case of the vector loops: widths that are not a
// multiple of 16, heights not a multiple of 4, strides up to 3, dilations, pads wider than the
// kernel's reach.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "ktc/kernels/float/conv.hpp"

using namespace ktc;
using ktc::kernels::window;
namespace conv = ktc::kernels::floating::detail;

namespace {

// y[n, m, oh, ow] = clamp(bias[m] + sum over c in m's group, kh, kw of x * w), zero padding.
std::vector<double> reference(const conv::conv_shape& s, const std::vector<float>& x, const std::vector<float>& wt,
                              const conv::epilogue& post) {
    const window& w = s.w;
    const std::int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1], KH = w.kernel[0], KW = w.kernel[1];
    const std::int64_t Cg = s.C / s.group, Mg = s.M / s.group;
    std::vector<double> y(static_cast<std::size_t>(s.N * s.M * OH * OW));
    for (std::int64_t n = 0; n < s.N; ++n)
        for (std::int64_t m = 0; m < s.M; ++m)
            for (std::int64_t oh = 0; oh < OH; ++oh)
                for (std::int64_t ow = 0; ow < OW; ++ow) {
                    double acc = post.bias ? post.bias[m] : 0.0;
                    for (std::int64_t c = 0; c < Cg; ++c)
                        for (std::int64_t kh = 0; kh < KH; ++kh)
                            for (std::int64_t kw = 0; kw < KW; ++kw) {
                                const std::int64_t ih = oh * w.strides[0] - w.pads_begin[0] + kh * w.dilations[0];
                                const std::int64_t iw = ow * w.strides[1] - w.pads_begin[1] + kw * w.dilations[1];
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                const std::int64_t ci = (m / Mg) * Cg + c;
                                acc += double(x[((n * s.C + ci) * H + ih) * W + iw]) *
                                       wt[((m * Cg + c) * KH + kh) * KW + kw];
                            }
                    y[((n * s.M + m) * OH + oh) * OW + ow] = std::min<double>(std::max<double>(acc, post.lo), post.hi);
                }
    return y;
}

struct random_conv {
    conv::conv_shape shape;
    std::vector<float> x, wt, bias;
    conv::epilogue post{nullptr, -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
};

// kind 0: depthwise, 1: 1x1 stride 1 unpadded, 2: any (groups included).
random_conv make(std::mt19937& rng, int kind) {
    auto pick = [&](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    random_conv r;
    window& w = r.shape.w;
    const bool one = kind == 1;
    w.kernel = one ? shape_t{1, 1} : shape_t{pick(1, 5), pick(1, 5)};
    w.strides = one ? shape_t{1, 1} : shape_t{pick(1, 3), pick(1, 3)};
    w.dilations = one ? shape_t{1, 1} : shape_t{pick(1, 2), pick(1, 2)};
    w.pads_begin = one ? shape_t{0, 0} : shape_t{pick(0, 3), pick(0, 3)};
    w.pads_end = one ? shape_t{0, 0} : shape_t{pick(0, 3), pick(0, 3)};
    w.in = {pick(1, 23), pick(1, 41)};
    w.out.resize(2);
    for (std::size_t d = 0; d < 2; ++d) {
        const std::int64_t reach = (w.kernel[d] - 1) * w.dilations[d] + 1;
        const std::int64_t room = w.in[d] + w.pads_begin[d] + w.pads_end[d] - reach;
        if (room < 0) w.pads_end[d] += -room;  // at least one output
        w.out[d] = (w.in[d] + w.pads_begin[d] + w.pads_end[d] - reach) / w.strides[d] + 1;
    }
    r.shape.N = pick(1, 2);
    r.shape.group = kind == 0 ? pick(1, 5) : kind == 1 ? 1 : pick(1, 3);
    const std::int64_t Cg = kind == 0 ? 1 : pick(1, 4), Mg = kind == 0 ? 1 : pick(1, 11);
    r.shape.C = Cg * r.shape.group;
    r.shape.M = Mg * r.shape.group;
    std::normal_distribution<float> normal;
    r.x.resize(static_cast<std::size_t>(r.shape.N * r.shape.C * w.in_size()));
    r.wt.resize(static_cast<std::size_t>(r.shape.M * Cg * w.kernel_size()));
    for (auto& v : r.x) v = normal(rng);
    for (auto& v : r.wt) v = normal(rng);
    if (pick(0, 1)) {
        r.bias.resize(static_cast<std::size_t>(r.shape.M));
        for (auto& v : r.bias) v = normal(rng);
        r.post.bias = r.bias.data();
    }
    if (pick(0, 1)) r.post.lo = 0.f, r.post.hi = 1.5f;  // a fused Relu6-like clamp
    return r;
}

void check_against_reference(std::mt19937& rng, int kind, int cases) {
    for (int i = 0; i < cases; ++i) {
        const random_conv r = make(rng, kind);
        const auto& s = r.shape;
        std::vector<float> y(static_cast<std::size_t>(s.N * s.M * s.w.out_size()), std::nanf(""));
        conv::conv_groups(s, r.x.data(), r.wt.data(), y.data(), r.post);
        const std::vector<double> want = reference(s, r.x, r.wt, r.post);
        INFO("case " << i << ": C " << s.C << " M " << s.M << " group " << s.group << " in " << to_string(s.w.in)
                     << " kernel " << to_string(s.w.kernel) << " strides " << to_string(s.w.strides) << " dilations "
                     << to_string(s.w.dilations) << " pads " << to_string(s.w.pads_begin) << to_string(s.w.pads_end));
        for (std::size_t j = 0; j < y.size(); ++j)
            if (!(std::abs(y[j] - want[j]) <= 1e-4 * (1 + std::abs(want[j])))) {
                FAIL_CHECK("element " << j << ": " << y[j] << " != " << want[j]);
                break;
            }
    }
}

}  // namespace

TEST_CASE("float depthwise conv matches the definition on random shapes") {
    std::mt19937 rng(7);
    check_against_reference(rng, 0, 300);
}

TEST_CASE("float 1x1 conv matches the definition on random shapes") {
    std::mt19937 rng(8);
    check_against_reference(rng, 1, 60);
}

TEST_CASE("float conv with groups, strides and pads matches the definition on random shapes") {
    std::mt19937 rng(9);
    check_against_reference(rng, 2, 150);
}

TEST_CASE("the fused clamp keeps a NaN, as Clip and Relu do") {
    window w;
    w.kernel = {3, 3}, w.strides = {1, 1}, w.dilations = {1, 1}, w.pads_begin = {1, 1}, w.pads_end = {1, 1};
    w.in = {5, 20}, w.out = {5, 20};
    std::vector<float> x(100, 1.f), wt(9, 1.f), y(100);
    x[47] = std::nanf("");  // row 2, column 7
    const conv::epilogue relu6{nullptr, 0.f, 6.f};
    conv::conv_groups({w, 1, 1, 1, 1}, x.data(), wt.data(), y.data(), relu6);
    CHECK(std::isnan(y[2 * 20 + 7]));
    CHECK(std::isnan(y[1 * 20 + 6]));
    CHECK(y[0] == 4.f);
    CHECK(y[4 * 20 + 19] == 4.f);
    CHECK(y[2 * 20 + 12] == 6.f);  // 9, clamped
}
