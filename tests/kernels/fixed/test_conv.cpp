// Fixed-point Conv and ConvTranspose (kernels/fixed/conv.hpp) against their float twins and on
// hand-computed cases.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "ktc/kernels/fixed/conv.hpp"
#include "kernels/fixed/fixed_support.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

struct conv_case {
    const char* name;
    shape_t x, w;             // input [N, C, spatial...], weight
    graph::attributes attrs;  // group, strides, pads, dilations, ...
    int in_bits, w_bits, out_bits;
    bool bias, per_channel;
    bool transpose = false;
};

// Runs one random case both ways. The float twin runs on the dequantized integers (every code
// is exact in float), so the fixed result differs from it only by
//   - the one rounding of the accumulator to the output radix: half an output LSB, and
//   - the float kernel's own rounding: a sum of K products in float32 is within K * 2^-24 of
//     sum|x*w| of the exact value (Higham's gamma_K, generously 2^-23 per term here),
// and saturation, which the comparison applies to the float value too (it is 1-Lipschitz), as is
// the fused clamp (its bounds are quantized at the output radix: at most half an LSB off, so the
// half-LSB bound still holds). bound = 2^-(r_out+1) + K * 2^-23 * (sum|x||w| + |b|).
void check_against_float(const conv_case& c, std::mt19937& rng) {
    CAPTURE(c.name);
    const std::string op = c.transpose ? "ConvTranspose" : "Conv";
    const std::int64_t M = c.transpose ? c.w[1] * c.attrs.get_int("group", 1) : c.w[0];
    const int r_in = c.in_bits == 8 ? 5 : 12;
    std::vector<int> r_w;
    for (std::int64_t m = 0; m < (c.per_channel ? M : 1); ++m)
        r_w.push_back((c.w_bits == 8 ? 6 : 13) + static_cast<int>(m % 3));
    const tensor x = random_codes(rng, c.x, c.in_bits);
    const tensor w = random_codes(rng, c.w, c.w_bits);
    // Output radix: the accumulator magnitude ~ sqrt(K) * 2^(r_in + r_w - 2 * (bits - 1)) ...;
    // pick one that leaves some outputs saturated and most not.
    const std::int64_t K = (c.transpose ? c.x[1] / c.attrs.get_int("group", 1) : c.w[1]) *
                           element_count(shape_t(c.w.begin() + 2, c.w.end()));
    const int spread = static_cast<int>(std::ceil(std::log2(std::sqrt(double(K)) * 2)));
    const int r_out = r_in + r_w[0] - (c.in_bits - 1) - (c.w_bits - 1) + (c.out_bits - 1) - spread + 2;
    graph::attributes a = c.attrs;
    std::vector<std::int64_t> wr(r_w.begin(), r_w.end());
    a.set(fixed::attr::weight_radix, wr);
    tensor b;
    std::vector<int> r_b;
    if (c.bias) {
        const std::int64_t range = std::int64_t{1} << (c.in_bits + c.w_bits - 4);  // ~ a typical accumulator
        b = random_codes(rng, {M}, 32, -range, range);
        for (std::int64_t m = 0; m < M; ++m)
            r_b.push_back(r_in + r_w[r_w.size() == 1 ? 0 : m] - static_cast<int>(m % 2) * 3);
        a.set(fixed::attr::bias_radix, std::vector<std::int64_t>(r_b.begin(), r_b.end()));
    }
    // A fused clamp (the float ConvTranspose has none: the float simulator fuses into Conv only).
    if (!c.transpose)
        a.set(kernels::attr::fused_min, -0.75f * static_cast<float>(lsb(r_out)) * float(fixed::max_of(c.out_bits)));
    const value_format fin{r_in, c.in_bits}, fout{r_out, c.out_bits};
    const graph::attributes qa = quantized(a, {fin, not_q, not_q}, {fout});
    const tensor y = run_fixed1(op, qa, {&x, &w, c.bias ? &b : nullptr});

    const tensor xf = dequantize(x, r_in);
    // A transposed weight's axis 0 is the input channel: its radices are placed below.
    tensor wf = c.transpose ? dequantize(w, 0) : dequantize_per_channel(w, r_w, 0);
    if (c.transpose) {  // weight [C, M/g, k...]: output channel m = (c / (C/g)) * M/g + j
        const std::int64_t Cg = c.w[0] / c.attrs.get_int("group", 1), Mg = c.w[1];
        const std::int64_t taps = element_count(shape_t(c.w.begin() + 2, c.w.end()));
        const auto q = codes(w);
        for (std::int64_t i = 0; i < w.size(); ++i) {
            const std::int64_t ci = i / (Mg * taps), j = (i / taps) % Mg, m = (ci / Cg) * Mg + j;
            wf.data<float>()[i] = fixed::dequantize(q[i], r_w[r_w.size() == 1 ? 0 : m]);
        }
    }
    tensor bf;
    if (c.bias) bf = dequantize_per_channel(b, r_b, 0);
    const tensor want = run_kernel1(op, a, {&xf, &wf, c.bias ? &bf : nullptr});
    graph::attributes plain = c.attrs;  // sum |x| |w| per output (no bias, no clamp)
    const tensor ax = abs_of(xf), aw = abs_of(wf);
    const tensor mag = run_kernel1(op, plain, {&ax, &aw});
    REQUIRE(y.shape() == want.shape());
    const auto m = mag.to_vector<double>();
    const auto st = strides_of(want.shape());
    std::vector<double> bound(m.size());
    for (std::size_t i = 0; i < m.size(); ++i) {
        const std::int64_t ch = (static_cast<std::int64_t>(i) / st[1]) % want.shape()[1];
        const double bias_mag = c.bias ? std::abs(double(bf.data<float>()[ch])) : 0.0;
        bound[i] = 0.5 * lsb(r_out) + double(K + 1) * std::ldexp(1.0, -23) * (m[i] + bias_mag);
    }
    const double worst = check_within(y, fout, want, bound);
    CHECK(worst <= 0.5 + 1e-3);
    // The case exercises rounding, not only saturation: most outputs are inside the range.
    std::int64_t saturated = 0;
    for (auto q : codes(y)) saturated += q == fixed::min_of(c.out_bits) || q == fixed::max_of(c.out_bits);
    CHECK(saturated * 4 < y.size());
}

}  // namespace

TEST_CASE("fixed Conv matches the float Conv on the dequantized operands within half an output LSB") {
    std::mt19937 rng(1234);
    const std::vector<conv_case> cases{
        {"3x3 pad 1, int8, per-channel, bias",
         {1, 3, 7, 6},
         {4, 3, 3, 3},
         attrs_of({{"pads", shape_t{1, 1, 1, 1}}}),
         8,
         8,
         8,
         true,
         true},
        {"strided dilated, per-tensor",
         {2, 2, 9, 9},
         {3, 2, 3, 2},
         attrs_of({{"strides", shape_t{2, 1}}, {"dilations", shape_t{2, 3}}, {"pads", shape_t{1, 0, 2, 1}}}),
         8,
         8,
         8,
         false,
         false},
        {"groups",
         {1, 4, 5, 5},
         {6, 2, 3, 3},
         attrs_of({{"group", std::int64_t{2}}, {"pads", shape_t{1, 1, 1, 1}}}),
         8,
         8,
         8,
         true,
         true},
        {"depthwise",
         {1, 5, 8, 7},
         {5, 1, 3, 3},
         attrs_of({{"group", std::int64_t{5}}, {"strides", shape_t{2, 2}}, {"pads", shape_t{1, 1, 1, 1}}}),
         8,
         8,
         8,
         true,
         true},
        {"1x1", {1, 8, 4, 4}, {5, 8, 1, 1}, graph::attributes{}, 8, 8, 8, true, true},
        {"auto_pad SAME_UPPER",
         {1, 2, 6, 5},
         {3, 2, 4, 3},
         attrs_of({{"auto_pad", std::string("SAME_UPPER")}, {"strides", shape_t{2, 2}}}),
         8,
         8,
         8,
         false,
         true},
        {"1-D",
         {2, 3, 11},
         {4, 3, 3},
         attrs_of({{"pads", shape_t{2, 0}}, {"dilations", shape_t{2}}}),
         8,
         8,
         8,
         true,
         true},
        {"3-D", {1, 2, 4, 4, 3}, {2, 2, 2, 3, 2}, attrs_of({{"pads", shape_t{1, 0, 1, 0, 1, 0}}}), 8, 8, 8, true, true},
        {"int16 in, int16 weight, int16 out",
         {1, 3, 6, 6},
         {4, 3, 3, 3},
         attrs_of({{"pads", shape_t{1, 1, 1, 1}}}),
         16,
         16,
         16,
         true,
         true},
        {"int16 in, int8 weight, int8 out",
         {1, 3, 6, 6},
         {4, 3, 3, 3},
         attrs_of({{"pads", shape_t{1, 1, 1, 1}}}),
         16,
         8,
         8,
         true,
         true},
        {"int8 in, int8 weight, int16 out", {1, 3, 6, 6}, {4, 3, 3, 3}, graph::attributes{}, 8, 8, 16, true, true},
        {"int8 in, int16 weight, int8 out, depthwise",
         {1, 3, 6, 6},
         {3, 1, 3, 3},
         attrs_of({{"group", std::int64_t{3}}}),
         8,
         16,
         8,
         false,
         true},
    };
    for (const auto& c : cases) check_against_float(c, rng);
}

TEST_CASE("fixed ConvTranspose matches the float ConvTranspose on the dequantized operands") {
    std::mt19937 rng(99);
    std::vector<conv_case> cases{
        {"stride 2, pads",
         {1, 3, 4, 5},
         {3, 2, 3, 3},
         attrs_of({{"strides", shape_t{2, 2}}, {"pads", shape_t{1, 1, 1, 1}}}),
         8,
         8,
         8,
         true,
         true},
        {"groups, output_padding, dilation",
         {1, 4, 3, 3},
         {4, 3, 2, 3},
         attrs_of({{"group", std::int64_t{2}},
                   {"strides", shape_t{2, 3}},
                   {"output_padding", shape_t{1, 1}},
                   {"dilations", shape_t{1, 2}}}),
         8,
         8,
         8,
         true,
         true},
        {"output_shape SAME",
         {1, 2, 3, 4},
         {2, 2, 3, 3},
         attrs_of({{"strides", shape_t{2, 2}}, {"output_shape", shape_t{6, 8}}}),
         8,
         8,
         8,
         false,
         false},
        {"1-D mixed widths int16 -> int8",
         {2, 2, 5},
         {2, 3, 4},
         attrs_of({{"strides", shape_t{3}}}),
         16,
         8,
         8,
         true,
         true},
        {"int8 -> int16", {1, 2, 3, 3}, {2, 2, 2, 2}, attrs_of({{"strides", shape_t{2, 2}}}), 8, 16, 16, true, true},
    };
    for (auto& c : cases) {
        c.transpose = true;
        check_against_float(c, rng);
    }
}

// The brief's bound with the float model itself as reference: x and w rounded to their radices
// (each within half an LSB, no saturation here) perturb each product x*w by at most
// |w| * 2^-(r_in+1) + |x| * 2^-(r_w+1) + 2^-(r_in+1) * 2^-(r_w+1), the bias by 2^-(r_b+1), and the
// output rounds once more: bound = 2^-(r_out+1) + sum over taps of those + float32 slack.
TEST_CASE("fixed Conv stays within the quantization error bound of the float Conv on float data") {
    std::mt19937 rng(7);
    const shape_t xs{1, 3, 8, 8}, ws{4, 3, 3, 3};
    const tensor xf = random_floats(rng, xs, -1.9f, 1.9f), wf = random_floats(rng, ws, -0.9f, 0.9f);
    const tensor bf = random_floats(rng, {4}, -2.f, 2.f);
    const int r_in = 6;                       // |x| < 2: no saturation at int8
    const std::vector<int> r_w{7, 8, 9, 10};  // channel m holds |w| < 2^(7 - r_w[m]): no saturation
    tensor wf_scaled = wf;
    for (std::int64_t i = 0; i < wf.size(); ++i) {
        const std::int64_t m = i / 27;
        wf_scaled.data<float>()[i] = std::ldexp(wf.data<float>()[i], 7 - r_w[m]);
    }
    const std::vector<int> r_b{12, 13, 14, 15};
    const int r_out = 3;
    graph::attributes a = attrs_of({{"pads", shape_t{1, 1, 1, 1}}});
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>(r_w.begin(), r_w.end()));
    a.set(fixed::attr::bias_radix, std::vector<std::int64_t>(r_b.begin(), r_b.end()));
    const tensor x = quantize(xf, r_in, 8), w = quantize_per_channel(wf_scaled, r_w, 8, 0);
    const tensor b = quantize_per_channel(bf, r_b, 32, 0);
    const tensor y = run_fixed1("Conv", quantized(a, {{r_in, 8}, not_q, not_q}, {{r_out, 8}}), {&x, &w, &b});
    const tensor want = run_kernel1("Conv", attrs_of({{"pads", shape_t{1, 1, 1, 1}}}), {&xf, &wf_scaled, &bf});
    // sum |w| over the taps inside the input: conv of ones with |w|; sum |x| per tap: conv of |x| with ones.
    const tensor abs_x = abs_of(xf), aw = abs_of(wf_scaled);
    tensor unit_x(dtype::float32, xs), unit_w(dtype::float32, ws);
    for (auto& v : unit_x.values<float>()) v = 1.f;
    for (auto& v : unit_w.values<float>()) v = 1.f;
    const graph::attributes pads = attrs_of({{"pads", shape_t{1, 1, 1, 1}}});
    const tensor sum_w = run_kernel1("Conv", pads, {&unit_x, &aw});
    const tensor sum_x = run_kernel1("Conv", pads, {&abs_x, &unit_w});
    const tensor taps = run_kernel1("Conv", pads, {&unit_x, &unit_w});
    std::vector<double> bound(static_cast<std::size_t>(want.size()));
    for (std::int64_t i = 0; i < want.size(); ++i) {
        const std::int64_t m = (i / 64) % 4;
        bound[i] = 0.5 * lsb(r_out) + sum_w.data<float>()[i] * lsb(r_in + 1) +
                   sum_x.data<float>()[i] * lsb(r_w[m] + 1) + taps.data<float>()[i] * lsb(r_in + 1) * lsb(r_w[m] + 1) +
                   lsb(r_b[m] + 1) + 1e-5;
    }
    check_within(y, {r_out, 8}, want, bound);
}

TEST_CASE("fixed Conv rounds a tie half up, toward +infinity") {
    // 1x1 conv, weight 1 at radix 1 (0.5): y = x / 2 at radix 0.
    const tensor x = tensor::from<std::int8_t>({1, 1, 1, 6}, {1, -1, 3, -3, 5, -5});
    const tensor w = tensor::from<std::int8_t>({1, 1, 1, 1}, {1});
    graph::attributes a;
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{1});
    const tensor y = run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{0, 8}}), {&x, &w});
    CHECK(codes(y) == std::vector<std::int64_t>{1, 0, 2, -1, 3, -2});  // 0.5, -0.5, 1.5, -1.5, 2.5, -2.5
}

TEST_CASE("fixed Conv saturates at both ends of the output width") {
    const tensor x = tensor::from<std::int8_t>({1, 2, 1, 2}, {127, -128, 127, 127});
    const tensor w = tensor::from<std::int8_t>({1, 2, 1, 1}, {127, 127});
    graph::attributes a;
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{0});
    const tensor y8 = run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{0, 8}}), {&x, &w});
    CHECK(codes(y8) == std::vector<std::int64_t>{127, -127});  // 127*127*2 saturates; -128*127 + 127*127
    const tensor y16 = run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{0, 16}}), {&x, &w});
    CHECK(codes(y16) == std::vector<std::int64_t>{32258, -127});
    const tensor y16s = run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{-1, 16}}), {&x, &w});
    CHECK(codes(y16s) == std::vector<std::int64_t>{16129, -63});  // -63.5 rounds up to -63
    const tensor x2 = tensor::from<std::int8_t>({1, 2, 1, 1}, {-128, -128});
    const tensor y2 = run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{0, 16}}), {&x2, &w});
    CHECK(codes(y2) == std::vector<std::int64_t>{-32512});
    CHECK(codes(run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{0, 8}}), {&x2, &w})) ==
          std::vector<std::int64_t>{-128});
    const tensor y3 = run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{1, 16}}), {&x2, &w});
    CHECK(codes(y3) == std::vector<std::int64_t>{-32768});
}

TEST_CASE("fixed Conv: per-channel weight radices, a bias shifted to the accumulator, negative shifts") {
    // Two output channels reading one input channel: w = 3 at radix 2 (0.75) and 3 at radix 4 (0.1875).
    const tensor x = tensor::from<std::int8_t>({1, 1, 1, 2}, {10, -7});  // radix 1: 5, -3.5
    const tensor w = tensor::from<std::int8_t>({2, 1, 1, 1}, {3, 3});
    const tensor b = tensor::from<std::int32_t>({2}, {5, -9});  // radix 2: 1.25; radix 4: -0.5625
    graph::attributes a;
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{2, 4});
    a.set(fixed::attr::bias_radix, std::vector<std::int64_t>{2, 4});
    // acc radix 3 and 5: ch0 30 + 5<<1 = 40, -21 + 10 = -11; ch1 30 + (-9 << 1) = 12, -21 - 18 = -39.
    const tensor y = run_fixed1("Conv", quantized(a, {{1, 8}, not_q, not_q}, {{2, 8}}), {&x, &w, &b});
    // to radix 2: 40 >> 1 = 20; -11/2 = -5.5 -> -5; 12 >> 3 = 1.5 -> 2; -39/8 = -4.875 -> -5.
    CHECK(codes(y) == std::vector<std::int64_t>{20, -5, 2, -5});
    // r_out above the accumulator radix: an exact left shift (ch0 by 3, ch1 by 1).
    const tensor z = run_fixed1("Conv", quantized(a, {{1, 8}, not_q, not_q}, {{6, 16}}), {&x, &w, &b});
    CHECK(codes(z) == std::vector<std::int64_t>{320, -88, 24, -78});
}

TEST_CASE("fixed Conv applies the fused clamp quantized at the output radix") {
    const tensor x = tensor::from<std::int8_t>({1, 1, 1, 4}, {-50, 10, 90, 127});
    const tensor w = tensor::from<std::int8_t>({1, 1, 1, 1}, {1});
    graph::attributes a;
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{0});
    a.set(kernels::attr::fused_min, 0.f);
    a.set(kernels::attr::fused_max, 6.f);  // 6 at radix 4 = 96
    const tensor y = run_fixed1("Conv", quantized(a, {{4, 8}, not_q}, {{4, 8}}), {&x, &w});
    CHECK(codes(y) == std::vector<std::int64_t>{0, 10, 90, 96});
    a.set(kernels::attr::fused_max, 6.02f);  // 96.32 rounds to 96; 6.04 -> 96.64 -> 97
    CHECK(codes(run_fixed1("Conv", quantized(a, {{4, 8}, not_q}, {{4, 8}}), {&x, &w})) ==
          std::vector<std::int64_t>{0, 10, 90, 96});
    a.set(kernels::attr::fused_max, 6.04f);
    CHECK(codes(run_fixed1("Conv", quantized(a, {{4, 8}, not_q}, {{4, 8}}), {&x, &w})) ==
          std::vector<std::int64_t>{0, 10, 90, 97});
}

TEST_CASE("fixed ConvTranspose on a hand-computed case") {
    // One channel, kernel [1, 2] at radix 1 (0.5, 1), stride 2: each input spreads over two outputs.
    const tensor x = tensor::from<std::int16_t>({1, 1, 1, 2}, {3, -5});
    const tensor w = tensor::from<std::int8_t>({1, 1, 1, 2}, {1, 2});
    graph::attributes a = attrs_of({{"strides", shape_t{1, 2}}});
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{1});
    const tensor y = run_fixed1("ConvTranspose", quantized(a, {{0, 16}, not_q}, {{0, 8}}), {&x, &w});
    CHECK(y.shape() == shape_t{1, 1, 1, 4});
    CHECK(codes(y) == std::vector<std::int64_t>{2, 3, -2, -5});  // 1.5 -> 2, 3, -2.5 -> -2, -5
}

TEST_CASE("fixed Conv refuses what breaks its preconditions, naming the node") {
    const tensor x = tensor::from<std::int8_t>({1, 1, 1, 1}, {1});
    const tensor w = tensor::from<std::int8_t>({1, 1, 1, 1}, {1});
    const tensor x16 = tensor::from<std::int16_t>({1, 1, 1, 1}, {1});
    graph::attributes a;
    CHECK_THROWS_WITH_AS(run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{0, 8}}), {&x, &w}), doctest::Contains("n0"),
                         error);  // no weight_radix
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{0, 1});
    CHECK_THROWS_WITH_AS(run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{0, 8}}), {&x, &w}),
                         doctest::Contains("weight_radix"), error);  // 2 radices for 1 channel
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{0});
    CHECK_THROWS_WITH_AS(run_fixed1("Conv", quantized(a, {{0, 8}, not_q}, {{0, 8}}), {&x16, &w}),
                         doctest::Contains("int16"), error);  // dtype does not match input_bits
    CHECK_THROWS_AS(run_fixed1("Conv", a, {&x, &w}), error);  // not a quantized node
    const tensor b = tensor::from<std::int32_t>({1}, {1});
    a.set(fixed::attr::bias_radix, std::vector<std::int64_t>{5});  // above the accumulator radix 0
    CHECK_THROWS_WITH_AS(run_fixed1("Conv", quantized(a, {{0, 8}, not_q, not_q}, {{0, 8}}), {&x, &w, &b}),
                         doctest::Contains("bias radix"), error);
}

namespace {

// conv_reference and the fast conv_im2col (int64, and int32 where it applies) on one node.
template <class X, class W, class Y>
void check_fast_is_bit_exact(const tensor& x, const tensor& w, const tensor* b, const graph::attributes& attrs) {
    graph::node node;
    node.name = "n0";
    node.op_type = "Conv";
    node.attrs = attrs;
    node.inputs = {"x", "w", b ? "b" : ""};
    node.outputs = {"y"};
    std::vector<const tensor*> inputs{&x, &w, b};
    std::vector<tensor> outputs(1);
    const kernels::kernel_call call{node, inputs, outputs};
    namespace cd = kernels::fixed::conv_detail;
    const cd::conv_params p = kernels::fixed::resolve_conv(call);
    const std::int64_t n = p.batch * p.out_channels * p.w.out_size();
    std::vector<Y> plain(static_cast<std::size_t>(n)), fast64(plain.size()), fast32(plain.size());
    cd::conv_reference<X, W, Y>(p, x.data<X>(), w.data<W>(), plain.data());
    // What the simulators run: the table's Conv, from the kernels' AVX-512 copy where this CPU has
    // it (its VNNI and depthwise paths) or from the baseline copy (src/isa.cpp; ctest runs this
    // file both ways). The paths below, called directly, are the ones compiled into this file.
    std::vector<tensor> from_table(1);
    kernels::fixed::kernels().at("Conv")(kernels::kernel_call{node, inputs, from_table});
    REQUIRE(from_table[0].size() == n);
    CHECK(std::equal(plain.begin(), plain.end(), from_table[0].data<Y>()));
    cd::conv_im2col<std::int64_t, X, W, Y>(p, x.data<X>(), w.data<W>(), fast64.data());
    CHECK(plain == fast64);
    if (cd::fits_int32<X, W>(p)) {
        cd::conv_im2col<std::int32_t, X, W, Y>(p, x.data<X>(), w.data<W>(), fast32.data());
        CHECK(plain == fast32);
    }
    if constexpr (sizeof(X) == 1 && sizeof(W) == 1) {
        // Sums bounded by 2^24 whatever the values go through float in one chunk; larger ones in
        // several (the worst case below: 4096 channels of 3x3 taps, -128 everywhere, 37 chunks).
        const std::vector<std::int64_t> chunks = cd::float_exact_chunks(p, x.data<X>(), x.size(), w.data<W>());
        REQUIRE(chunks.size() >= 2);
        if (p.in_per_group() * p.w.kernel_size() * 128 * 128 <= (1 << 24)) CHECK(chunks.size() == 2);
        if (x.values<X>()[0] == -128 && w.values<W>()[0] == -128) CHECK(chunks.size() == 38);  // 113 channels each
        for (std::size_t k = 1; k < chunks.size(); ++k) CHECK(chunks[k] > chunks[k - 1]);
        std::vector<Y> in_float(plain.size());
        cd::conv_in_float(p, chunks, x.data<X>(), w.data<W>(), in_float.data());
        CHECK(plain == in_float);
        if (cd::depthwise_in_float(p)) {
            std::vector<Y> depthwise(plain.size());
            cd::conv_depthwise(p, x.data<X>(), w.data<W>(), depthwise.data());
            CHECK(plain == depthwise);
        }
#if KTC_CONV_VNNI
        if (kernels::fixed::vnni::applies(p)) {
            std::vector<Y> on_vnni(plain.size());
            cd::conv_vnni(p, x.data<X>(), cd::pack_groups(p, w.data<W>()), on_vnni.data());
            CHECK(plain == on_vnni);
        }
#endif
    }
}

}  // namespace

TEST_CASE(
    "the fast convs (im2col, int32 accumulation for int8, int8 in float) are bit-exact with the plain one on random shapes") {
    std::mt19937 rng(2024);
    std::uniform_int_distribution<int> dim(1, 6), kdim(1, 3), pad(0, 2), stride(1, 2), grp(1, 3), coin(0, 1);
    for (int trial = 0; trial < 60; ++trial) {
        CAPTURE(trial);
        const std::int64_t group = grp(rng), Cg = dim(rng), Mg = dim(rng) % 3 + 1;
        const bool one_d = trial % 5 == 4;
        shape_t xs{std::int64_t{dim(rng) % 2 + 1}, group * Cg}, ws{group * Mg, Cg};
        shape_t pads_b, pads_e, strides, dil;
        for (int d = 0; d < (one_d ? 1 : 2); ++d) {
            const std::int64_t k = kdim(rng);
            xs.push_back(2 * k + dim(rng));
            ws.push_back(k);
            pads_b.push_back(pad(rng) % (k + 1));
            pads_e.push_back(pad(rng) % (k + 1));
            strides.push_back(stride(rng));
            dil.push_back(stride(rng));
        }
        shape_t pads = pads_b;
        pads.insert(pads.end(), pads_e.begin(), pads_e.end());
        graph::attributes a = attrs_of({{"group", group}, {"pads", pads}, {"strides", strides}, {"dilations", dil}});
        const std::int64_t M = group * Mg;
        std::vector<std::int64_t> wr, br;
        for (std::int64_t m = 0; m < M; ++m) {
            wr.push_back(5 + m % 4);
            br.push_back(5 + m % 4 + 3 - m % 2);
        }
        a.set(fixed::attr::weight_radix, wr);
        a.set(fixed::attr::bias_radix, br);
        const tensor b = random_codes(rng, {M}, 32, -100000, 100000);
        const bool with_bias = coin(rng);
        const int in_bits = trial % 3 == 2 ? 16 : 8, w_bits = trial % 4 == 3 ? 16 : 8, out_bits = coin(rng) ? 8 : 16;
        const tensor x = random_codes(rng, xs, in_bits), w = random_codes(rng, ws, w_bits);
        if (trial % 2) {  // scales: a multiplier and a shift instead of a shift alone
            std::vector<float> ws_scale;
            for (std::int64_t m = 0; m < M; ++m) ws_scale.push_back(1.f + float(m % 7) / 8.f);
            a.set(fixed::attr::weight_scale, ws_scale);
        }
        const double in_scale = trial % 2 ? 1.25 : 1.0, out_scale = trial % 4 == 1 ? 1.6875 : 1.0;
        const graph::attributes qa =
            quantized(a, {{4, in_bits, in_scale}, not_q, not_q}, {{trial % 13, out_bits, out_scale}});
        kernels::fixed::conv_detail::visit_conv_types(
            kernels::kernel_call{graph::node{}, {}, {}}, x.type(), w.type(), out_bits, [&](auto xt, auto wt, auto yt) {
                check_fast_is_bit_exact<decltype(xt), decltype(wt), decltype(yt)>(x, w, with_bias ? &b : nullptr, qa);
            });
    }
}

TEST_CASE("the fast int8 convs are bit-exact on shapes past their tiles and bands") {
    // Output channels not a multiple of 8, K not a multiple of 4, widths past 48 with a tail,
    // several bands of output rows (2-D) and of positions (1x1), groups, a 1x1 conv of rank 3,
    // depthwise convs with widths past 16 and heights past 4 with tails, strides up to 3, stride-2
    // rows of more than 32 pairs.
    struct shape_case {
        shape_t x, w;
        std::int64_t group;
        shape_t pads, strides;
    };
    const std::vector<shape_case> cases{
        {{1, 12, 30, 37}, {20, 12, 3, 3}, 1, {1, 1, 1, 1}, {1, 1}},
        {{1, 64, 40, 40}, {9, 64, 3, 3}, 1, {1, 0, 2, 1}, {1, 1}},
        {{1, 64, 100, 100}, {10, 64, 1, 1}, 1, {0, 0, 0, 0}, {1, 1}},
        {{2, 6, 17, 50}, {12, 3, 5, 3}, 2, {2, 1, 2, 1}, {2, 1}},
        {{1, 7, 9, 3, 5}, {13, 7, 1, 1, 1}, 1, {0, 0, 0, 0, 0, 0}, {1, 1, 1}},
        {{1, 5, 30, 37}, {5, 1, 3, 3}, 5, {1, 1, 1, 1}, {1, 1}},  // depthwise
        {{2, 3, 17, 50}, {3, 1, 5, 5}, 3, {2, 2, 2, 2}, {2, 2}},
        {{1, 4, 9, 20}, {4, 1, 3, 3}, 4, {0, 1, 2, 0}, {3, 3}},
        {{1, 3, 12, 113}, {3, 1, 3, 3}, 3, {1, 1, 1, 1}, {2, 2}},  // stride-2 rows past 32 pairs (VBMI)
    };
    std::mt19937 rng(31);
    for (const auto& c : cases) {
        CAPTURE(to_string(c.x));
        graph::attributes a = attrs_of({{"group", c.group}, {"pads", c.pads}, {"strides", c.strides}});
        std::vector<std::int64_t> wr(static_cast<std::size_t>(c.w[0]), 6), br(wr.size(), 9);
        a.set(fixed::attr::weight_radix, wr);
        a.set(fixed::attr::bias_radix, br);
        const tensor x = random_codes(rng, c.x, 8), w = random_codes(rng, c.w, 8);
        const tensor b = random_codes(rng, {c.w[0]}, 32, -100000, 100000);
        const graph::attributes qa = quantized(a, {{4, 8}, not_q, not_q}, {{1, 8}});
        check_fast_is_bit_exact<std::int8_t, std::int8_t, std::int8_t>(x, w, &b, qa);
    }
}

TEST_CASE("the int32 accumulator of the fast int8 conv holds the worst case below 2^17 products") {
    // K = 4096 * 9 = 36864 products of (-128) * (-128): 603979776 < 2^31.
    const shape_t xs{1, 4096, 3, 3}, ws{1, 4096, 3, 3};
    tensor x(dtype::int8, xs), w(dtype::int8, ws);
    for (auto& v : x.values<std::int8_t>()) v = -128;
    for (auto& v : w.values<std::int8_t>()) v = -128;
    graph::attributes a;
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{0});
    const graph::attributes qa = quantized(a, {{0, 8}, not_q}, {{-16, 16}});
    check_fast_is_bit_exact<std::int8_t, std::int8_t, std::int16_t>(x, w, nullptr, qa);
    const tensor y = run_fixed1("Conv", qa, {&x, &w});
    CHECK(codes(y) == std::vector<std::int64_t>{fixed::round_shift(603979776, 16)});  // 9216
}

TEST_CASE("fixed Conv with scales (input, per-channel weight, output) stays within one rounding of float") {
    std::mt19937 rng(77);
    const tensor x = random_codes(rng, {1, 3, 6, 5}, 8);
    const tensor w = random_codes(rng, {4, 3, 3, 3}, 8);
    const std::vector<int> r_w{6, 7, 6, 8};
    const std::vector<float> s_w{1.0f, 1.5f, 1.3330078125f, 1.9999389648f};
    const value_format fin{5, 8, 1.25}, fout{2, 8, 1.6875};
    graph::attributes a = attrs_of({{"pads", shape_t{1, 1, 1, 1}}});
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>(r_w.begin(), r_w.end()));
    a.set(fixed::attr::weight_scale, s_w);
    const tensor b = random_codes(rng, {4}, 32, -4000, 4000);
    a.set(fixed::attr::bias_radix, std::vector<std::int64_t>{11, 12, 10, 13});  // at most r_in + r_w[m]
    const tensor y = run_fixed1("Conv", quantized(a, {fin, not_q, not_q}, {fout}), {&x, &w, &b});

    const tensor xf = dequantize(x, fin);
    tensor wf = dequantize(w, 0);
    const auto wq = codes(w);
    for (std::int64_t i = 0; i < w.size(); ++i)
        wf.data<float>()[i] = fixed::dequantize(wq[i], value_format{r_w[i / 27], 8, s_w[i / 27]});
    // The bias is at its channel's accumulator scale: s_in * s_w[m].
    tensor bf(dtype::float32, {4});
    const std::vector<int> r_b{11, 12, 10, 13};
    for (int m = 0; m < 4; ++m)
        bf.data<float>()[m] = float(std::ldexp(double(codes(b)[m]), -r_b[m]) / (fin.scale * s_w[m]));
    const tensor want = run_kernel1("Conv", attrs_of({{"pads", shape_t{1, 1, 1, 1}}}), {&xf, &wf, &bf});
    std::vector<double> bound(static_cast<std::size_t>(want.size()));
    for (std::int64_t i = 0; i < want.size(); ++i)
        bound[i] = (0.5 + 1e-3) * lsb(fout) + std::abs(double(want.data<float>()[i])) * std::ldexp(1.0, -14) + 1e-5;
    CHECK(check_within(y, fout, want, bound) <= 0.51);
    std::int64_t saturated = 0;
    for (auto q : codes(y)) saturated += q == -128 || q == 127;
    CHECK(saturated * 4 < y.size());  // the case tests rounding, not saturation
}
