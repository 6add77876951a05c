// Fixed-point MaxPool, GlobalMaxPool, AveragePool and GlobalAveragePool (kernels/fixed/pool.hpp)
// against their float twins and on hand-computed cases.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "ktc/kernels/fixed/pool.hpp"
#include "kernels/fixed/fixed_support.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

struct pool_case {
    const char* name;
    shape_t x;
    graph::attributes attrs;
};

std::vector<pool_case> window_cases() {
    return {
        {"2x2 stride 2", {1, 3, 6, 7}, attrs_of({{"kernel_shape", shape_t{2, 2}}, {"strides", shape_t{2, 2}}})},
        {"3x3 pad 1", {2, 2, 5, 5}, attrs_of({{"kernel_shape", shape_t{3, 3}}, {"pads", shape_t{1, 1, 1, 1}}})},
        {"ceil_mode, asymmetric pads",
         {1, 2, 7, 6},
         attrs_of({{"kernel_shape", shape_t{3, 2}},
                   {"strides", shape_t{2, 2}},
                   {"pads", shape_t{1, 0, 0, 1}},
                   {"ceil_mode", std::int64_t{1}}})},
        {"dilated",
         {1, 2, 9, 8},
         attrs_of({{"kernel_shape", shape_t{2, 3}}, {"dilations", shape_t{2, 2}}, {"pads", shape_t{1, 1, 1, 1}}})},
        {"1-D", {2, 3, 10}, attrs_of({{"kernel_shape", shape_t{3}}, {"strides", shape_t{2}}, {"pads", shape_t{1, 1}}})},
        {"3-D", {1, 2, 4, 5, 3}, attrs_of({{"kernel_shape", shape_t{2, 2, 2}}, {"pads", shape_t{0, 1, 1, 1, 0, 0}}})},
        {"SAME_LOWER",
         {1, 2, 5, 6},
         attrs_of(
             {{"kernel_shape", shape_t{3, 3}}, {"strides", shape_t{2, 2}}, {"auto_pad", std::string("SAME_LOWER")}})},
    };
}

}  // namespace

TEST_CASE("fixed MaxPool is the float MaxPool exactly at an unchanged format, within half an LSB otherwise") {
    std::mt19937 rng(17);
    for (const auto& c : window_cases()) {
        CAPTURE(c.name);
        for (const auto& [fin, fout] : std::vector<std::pair<value_format, value_format>>{
                 {{5, 8}, {5, 8}}, {{11, 16}, {11, 16}}, {{5, 8}, {3, 8}}, {{12, 16}, {6, 8}}, {{4, 8}, {9, 16}}}) {
            const tensor x = random_codes(rng, c.x, fin.bits);
            const tensor y = run_fixed1("MaxPool", quantized(c.attrs, {fin}, {fout}), {&x});
            const tensor xf = dequantize(x, fin.radix);
            const tensor want = run_kernel1("MaxPool", c.attrs, {&xf});
            const double worst = check_within(y, fout, want, 0.5 * lsb(fout.radix));
            if (fin.radix == fout.radix && fin.bits == fout.bits) CHECK(worst == 0);
        }
    }
}

TEST_CASE("fixed GlobalMaxPool and GlobalAveragePool match their float twins") {
    std::mt19937 rng(19);
    for (const shape_t& s : {shape_t{2, 3, 4, 5}, shape_t{1, 4, 7}, shape_t{1, 2, 3, 3, 2}, shape_t{1, 3, 1, 1}})
        for (const auto& [fin, fout] : std::vector<std::pair<value_format, value_format>>{
                 {{5, 8}, {5, 8}}, {{5, 8}, {7, 8}}, {{13, 16}, {6, 8}}, {{3, 8}, {10, 16}}}) {
            CAPTURE(to_string(s));
            const tensor x = random_codes(rng, s, fin.bits);
            const tensor xf = dequantize(x, fin.radix);
            const tensor ymax = run_fixed1("GlobalMaxPool", quantized({}, {fin}, {fout}), {&x});
            check_within(ymax, fout, run_kernel1("GlobalMaxPool", {}, {&xf}), 0.5 * lsb(fout.radix));
            // Average: the multiplier of 2^(r_out - r_in) / count has 15 significant bits, so it is
            // within 2^-15 relative of the factor; bound = 2^-(r_out+1) + 2^-15 |mean| + float slack.
            const tensor yavg = run_fixed1("GlobalAveragePool", quantized({}, {fin}, {fout}), {&x});
            const tensor want = run_kernel1("GlobalAveragePool", {}, {&xf});
            std::vector<double> bound;
            for (float v : want.values<float>())
                bound.push_back(0.5 * lsb(fout.radix) + std::ldexp(std::abs(double(v)), -15) +
                                std::ldexp(std::abs(double(v)), -20));
            check_within(yavg, fout, want, bound);
        }
}

TEST_CASE("fixed AveragePool matches the float AveragePool, with and without count_include_pad") {
    std::mt19937 rng(23);
    for (auto c : window_cases()) {
        if (c.attrs.has("dilations")) continue;  // AveragePool has dilations only from opset 19
        for (std::int64_t include_pad : {0, 1}) {
            CAPTURE(c.name);
            CAPTURE(include_pad);
            c.attrs.set("count_include_pad", include_pad);
            for (const auto& [fin, fout] : std::vector<std::pair<value_format, value_format>>{
                     {{5, 8}, {5, 8}}, {{5, 8}, {6, 8}}, {{12, 16}, {7, 8}}, {{4, 8}, {11, 16}}}) {
                const tensor x = random_codes(rng, c.x, fin.bits);
                const tensor y = run_fixed1("AveragePool", quantized(c.attrs, {fin}, {fout}), {&x});
                const tensor xf = dequantize(x, fin.radix);
                const tensor want = run_kernel1("AveragePool", c.attrs, {&xf});
                std::vector<double> bound;  // as for GlobalAveragePool
                for (float v : want.values<float>())
                    bound.push_back(0.5 * lsb(fout.radix) + std::ldexp(std::abs(double(v)), -15) +
                                    std::ldexp(std::abs(double(v)), -20));
                check_within(y, fout, want, bound);
            }
        }
    }
}

TEST_CASE("fixed AveragePool: count as ONNX defines it, one rounding, ties up, saturation") {
    // 1x4 input, kernel 1x2, pads 1 on the left: windows {pad, 1}, {3, 6}, {-4, pad}.
    const tensor x = tensor::from<std::int8_t>({1, 1, 1, 4}, {1, 6, -3, -4});
    graph::attributes a =
        attrs_of({{"kernel_shape", shape_t{1, 2}}, {"strides", shape_t{1, 2}}, {"pads", shape_t{0, 1, 0, 1}}});
    // count_include_pad = 0: 1/1 = 1, (6 - 3)/2 = 1.5 -> 2, -4/1 = -4.
    CHECK(codes(run_fixed1("AveragePool", quantized(a, {{0, 8}}, {{0, 8}}), {&x})) ==
          std::vector<std::int64_t>{1, 2, -4});
    a.set("count_include_pad", std::int64_t{1});
    // count 2 everywhere: 0.5 -> 1, 1.5 -> 2, -2.
    CHECK(codes(run_fixed1("AveragePool", quantized(a, {{0, 8}}, {{0, 8}}), {&x})) ==
          std::vector<std::int64_t>{1, 2, -2});
    // Output radix 1 above the input's: 1, 3, -4 exactly.
    CHECK(codes(run_fixed1("AveragePool", quantized(a, {{0, 8}}, {{1, 8}}), {&x})) ==
          std::vector<std::int64_t>{1, 3, -4});
    // A tie below zero rounds up: mean of -1 and -2 is -1.5 -> -1.
    const tensor n = tensor::from<std::int16_t>({1, 1, 2}, {-1, -2});
    CHECK(codes(run_fixed1("GlobalAveragePool", quantized({}, {{0, 16}}, {{0, 16}}), {&n})) ==
          std::vector<std::int64_t>{-1});
    // Saturation at both ends when the output radix leaves no room (int16 in, int8 out).
    const tensor big = tensor::from<std::int16_t>({1, 2, 2}, {1000, 1000, -1000, -1000});
    CHECK(codes(run_fixed1("GlobalAveragePool", quantized({}, {{0, 16}}, {{0, 8}}), {&big})) ==
          std::vector<std::int64_t>{127, -128});
    CHECK(codes(run_fixed1("GlobalMaxPool", quantized({}, {{0, 16}}, {{0, 8}}), {&big})) ==
          std::vector<std::int64_t>{127, -128});
    // 1/3 is not a power of two: the sum 3 * 7 = 21 times m * 2^-s for 1/3 is 7 exactly.
    const tensor three = tensor::from<std::int8_t>({1, 1, 3}, {7, 7, 7});
    CHECK(codes(run_fixed1("GlobalAveragePool", quantized({}, {{3, 8}}, {{3, 8}}), {&three})) ==
          std::vector<std::int64_t>{7});
}

TEST_CASE("fixed MaxPool: integer max over the window, padding never wins, radix change rounds") {
    const tensor x = tensor::from<std::int8_t>({1, 1, 2, 2}, {-5, -7, -9, -3});
    const graph::attributes a = attrs_of({{"kernel_shape", shape_t{2, 2}}, {"pads", shape_t{1, 1, 0, 0}}});
    CHECK(codes(run_fixed1("MaxPool", quantized(a, {{2, 8}}, {{2, 8}}), {&x})) ==
          std::vector<std::int64_t>{-5, -5, -5, -3});
    CHECK(codes(run_fixed1("MaxPool", quantized(a, {{2, 8}}, {{1, 8}}), {&x})) ==
          std::vector<std::int64_t>{-2, -2, -2, -1});
    // With the Indices output it runs as a CPU node: same values, indices from the float kernel.
    const auto out = run_fixed("MaxPool", quantized(a, {{2, 8}}, {{2, 8}, not_q}), {&x}, 2);
    CHECK(codes(out[0]) == std::vector<std::int64_t>{-5, -5, -5, -3});
    CHECK(out[1].type() == dtype::int64);
    CHECK(codes(out[1]) == std::vector<std::int64_t>{0, 0, 0, 3});
}

TEST_CASE("the 2-D window fold of the fixed pools visits exactly the taps inside the image") {
    // Sums and maxima against the ONNX definition written out, on random windows: strides,
    // dilations, pads up to the kernel's reach, ceil-mode-like outputs whose last window starts
    // in the padding; the last 20 windows global (the contiguous pass).
    std::mt19937 rng(5);
    auto pick = [&](std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    for (int trial = 0; trial < 220; ++trial) {
        kernels::window w;
        w.kernel = {pick(1, 4), pick(1, 4)};
        w.strides = {pick(1, 3), pick(1, 3)};
        w.dilations = {pick(1, 2), pick(1, 2)};
        w.pads_begin = {pick(0, w.kernel[0] - 1), pick(0, w.kernel[1] - 1)};
        w.pads_end = {pick(0, w.kernel[0]), pick(0, w.kernel[1])};
        w.in = {pick(1, 12), pick(1, 12)};
        if (trial >= 200) w.kernel = w.in, w.strides = w.dilations = {1, 1}, w.pads_begin = w.pads_end = {0, 0};
        w.out.resize(2);
        for (std::size_t d = 0; d < 2; ++d) {
            const std::int64_t reach = (w.kernel[d] - 1) * w.dilations[d] + 1;
            const std::int64_t room = w.in[d] + w.pads_begin[d] + w.pads_end[d] - reach;
            w.out[d] = std::max<std::int64_t>(room, 0) / w.strides[d] + 1;
        }
        std::vector<std::int8_t> x(static_cast<std::size_t>(w.in_size()));
        for (auto& v : x) v = static_cast<std::int8_t>(pick(-128, 127));
        std::vector<std::int64_t> sum(static_cast<std::size_t>(w.out_size())), most(sum.size());
        kernels::fixed::pool_detail::fold_windows<std::int64_t>(w, x.data(), 0, std::plus<>{}, sum.data());
        kernels::fixed::pool_detail::fold_windows<std::int64_t>(
            w, x.data(), -1000, [](std::int64_t a, std::int64_t b) { return std::max(a, b); }, most.data());
        for (std::int64_t oh = 0; oh < w.out[0]; ++oh)
            for (std::int64_t ow = 0; ow < w.out[1]; ++ow) {
                std::int64_t s = 0, m = -1000;
                for (std::int64_t kh = 0; kh < w.kernel[0]; ++kh)
                    for (std::int64_t kw = 0; kw < w.kernel[1]; ++kw) {
                        const std::int64_t ih = oh * w.strides[0] - w.pads_begin[0] + kh * w.dilations[0];
                        const std::int64_t iw = ow * w.strides[1] - w.pads_begin[1] + kw * w.dilations[1];
                        if (ih < 0 || ih >= w.in[0] || iw < 0 || iw >= w.in[1]) continue;
                        s += x[static_cast<std::size_t>(ih * w.in[1] + iw)];
                        m = std::max<std::int64_t>(m, x[static_cast<std::size_t>(ih * w.in[1] + iw)]);
                    }
                const std::size_t o = static_cast<std::size_t>(oh * w.out[1] + ow);
                CHECK(sum[o] == s);
                CHECK(most[o] == m);
            }
    }
}

TEST_CASE("a global window's 8-bit sum over more values than one int32 block holds") {
    // 257 x 300 = 77100 values, past the 2^16 of one block: -128 everywhere (the largest
    // magnitude), then random codes, against a 64-bit sum.
    kernels::window w;
    w.in = w.kernel = {257, 300};
    w.strides = w.dilations = {1, 1};
    w.pads_begin = w.pads_end = {0, 0};
    w.out = {1, 1};
    std::vector<std::int8_t> x(static_cast<std::size_t>(w.in_size()), -128);
    std::int64_t sum = 0;
    kernels::fixed::pool_detail::fold_windows<std::int64_t>(w, x.data(), 0, std::plus<>{}, &sum);
    CHECK(sum == -128 * w.in_size());
    std::mt19937 rng(9);
    std::int64_t want = 0;
    for (auto& v : x) want += v = static_cast<std::int8_t>(std::uniform_int_distribution<int>(-128, 127)(rng));
    kernels::fixed::pool_detail::fold_windows<std::int64_t>(w, x.data(), 0, std::plus<>{}, &sum);
    CHECK(sum == want);
}
