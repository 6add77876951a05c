// Fixed-point Add, Sub, Mul, Concat and the lookup-table unary ops (kernels/fixed/elementwise.hpp)
// against their float twins and on hand-computed cases.
#include <array>
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "ktc/kernels/fixed/elementwise.hpp"
#include "kernels/fixed/fixed_support.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// |float twin - exact|: the float kernel rounds one sum or product of exact operands once,
// within 2^-24 relative. The fixed result rounds the exact value once to the output radix.
// bound = 2^-(r_out+1) + 2^-23 * |want|.
std::vector<double> one_rounding(const tensor& want, int r_out) {
    std::vector<double> b(static_cast<std::size_t>(want.size()));
    for (std::int64_t i = 0; i < want.size(); ++i)
        b[i] = 0.5 * lsb(r_out) + std::ldexp(std::abs(double(want.data<float>()[i])), -23);
    return b;
}

}  // namespace

TEST_CASE("fixed Add, Sub and Mul match the float ops on the dequantized operands, with broadcasting") {
    std::mt19937 rng(3);
    struct bin_case {
        shape_t a, b;
        value_format fa, fb, out;
    };
    const std::vector<bin_case> cases{
        {{2, 3, 4}, {2, 3, 4}, {5, 8}, {5, 8}, {4, 8}},
        {{1, 4, 3, 3}, {4, 1, 1}, {6, 8}, {3, 8}, {5, 8}},  // per-channel operand, radices apart
        {{2, 5}, {}, {2, 8}, {7, 8}, {3, 8}},               // scalar operand
        {{3, 1, 5}, {1, 4, 1}, {12, 16}, {4, 8}, {9, 16}},  // mixed widths, both broadcast
        {{4, 6}, {4, 6}, {4, 8}, {6, 8}, {8, 16}},          // int8 in, int16 out, output radix above both
        {{4, 6}, {6}, {13, 16}, {10, 16}, {6, 8}},          // int16 in, int8 out
    };
    for (const std::string op : {"Add", "Sub", "Mul"})
        for (const auto& c : cases) {
            CAPTURE(op);
            CAPTURE(to_string(c.a));
            CAPTURE(to_string(c.b));
            const tensor a = random_codes(rng, c.a, c.fa.bits), b = random_codes(rng, c.b, c.fb.bits);
            value_format out = c.out;
            if (op == "Mul")
                out.radix = c.fa.radix + c.fb.radix - (c.fa.bits - 1) - (c.fb.bits - 1) + (out.bits - 1) - 1;
            const tensor y = run_fixed1(op, quantized({}, {c.fa, c.fb}, {out}), {&a, &b});
            const tensor af = dequantize(a, c.fa.radix), bf = dequantize(b, c.fb.radix);
            const tensor want = run_kernel1(op, {}, {&af, &bf});
            const double worst = check_within(y, out, want, one_rounding(want, out.radix));
            CHECK(worst <= 0.5 + 1e-3);
        }
}

TEST_CASE("fixed Add aligns exactly, rounds ties up and saturates") {
    // a at radix 2, b at radix 0: b shifts left by 2; the sum at radix 2 goes to radix 1.
    const tensor a = tensor::from<std::int8_t>({4}, {1, -1, 3, 127});
    const tensor b = tensor::from<std::int8_t>({4}, {0, 0, -1, 127});
    // 1 -> 0.5 LSB -> 1; -1 -> -0.5 -> 0; 3 - 4 = -1 -> 0; 127 + 508 = 635 -> 317.5 -> saturates 127.
    CHECK(codes(run_fixed1("Add", quantized({}, {{2, 8}, {0, 8}}, {{1, 8}}), {&a, &b})) ==
          std::vector<std::int64_t>{1, 0, 0, 127});
    CHECK(codes(run_fixed1("Add", quantized({}, {{2, 8}, {0, 8}}, {{1, 16}}), {&a, &b})) ==
          std::vector<std::int64_t>{1, 0, 0, 318});
    // Sub: 1 - 0, -1 - 0, 3 + 4 = 7 -> 3.5 -> 4, 127 - 508 = -381 -> -190.5 -> -190 -> saturates -128.
    CHECK(codes(run_fixed1("Sub", quantized({}, {{2, 8}, {0, 8}}, {{1, 8}}), {&a, &b})) ==
          std::vector<std::int64_t>{1, 0, 4, -128});
    CHECK(codes(run_fixed1("Sub", quantized({}, {{2, 8}, {0, 8}}, {{1, 16}}), {&a, &b})) ==
          std::vector<std::int64_t>{1, 0, 4, -190});
    // Output radix above the common one: an exact left shift.
    CHECK(codes(run_fixed1("Add", quantized({}, {{2, 8}, {0, 8}}, {{4, 16}}), {&a, &b})) ==
          std::vector<std::int64_t>{4, -4, -4, 2540});
}

TEST_CASE("fixed Mul multiplies at r_a + r_b, rounds ties up and saturates") {
    const tensor a = tensor::from<std::int16_t>({4}, {3, -3, 5, -32768});
    const tensor b = tensor::from<std::int8_t>({4}, {1, 1, 3, -128});
    // radix 1 + 1 = 2 -> radix 1: 3/2 = 1.5 -> 2, -1.5 -> -1, 15/2 = 7.5 -> 8, 2^22 -> saturates.
    CHECK(codes(run_fixed1("Mul", quantized({}, {{1, 16}, {1, 8}}, {{1, 8}}), {&a, &b})) ==
          std::vector<std::int64_t>{2, -1, 8, 127});
    CHECK(codes(run_fixed1("Mul", quantized({}, {{1, 16}, {1, 8}}, {{1, 16}}), {&a, &b})) ==
          std::vector<std::int64_t>{2, -1, 8, 32767});
    const tensor c = tensor::from<std::int8_t>({1}, {127}), d = tensor::from<std::int8_t>({1}, {-128});
    CHECK(codes(run_fixed1("Mul", quantized({}, {{0, 8}, {0, 8}}, {{0, 8}}), {&c, &d})) ==
          std::vector<std::int64_t>{-128});
}

TEST_CASE("fixed Concat requantizes each input to the output format") {
    std::mt19937 rng(8);
    const tensor a = random_codes(rng, {1, 2, 3}, 8), b = random_codes(rng, {1, 4, 3}, 16),
                 c = random_codes(rng, {1, 1, 3}, 8);
    const value_format fa{4, 8}, fb{9, 16}, fc{7, 8}, out{5, 8};
    const graph::attributes attrs = attrs_of({{"axis", std::int64_t{1}}});
    const tensor y = run_fixed1("Concat", quantized(attrs, {fa, fb, fc}, {out}), {&a, &b, &c});
    const tensor af = dequantize(a, fa.radix), bf = dequantize(b, fb.radix), cf = dequantize(c, fc.radix);
    const tensor want = run_kernel1("Concat", attrs, {&af, &bf, &cf});
    check_within(y, out, want, 0.5 * lsb(out.radix));
    // The input already at the output format is copied unchanged; a tie rounds up.
    const tensor p = tensor::from<std::int8_t>({2}, {3, -3}), q = tensor::from<std::int8_t>({1}, {-7});
    const tensor z =
        run_fixed1("Concat", quantized(attrs_of({{"axis", std::int64_t{0}}}), {{2, 8}, {1, 8}}, {{1, 8}}), {&p, &q});
    CHECK(codes(z) == std::vector<std::int64_t>{2, -1, -7});  // 1.5 -> 2, -1.5 -> -1
    const tensor z16 =
        run_fixed1("Concat", quantized(attrs_of({{"axis", std::int64_t{0}}}), {{2, 8}, {1, 8}}, {{6, 16}}), {&p, &q});
    CHECK(z16.type() == dtype::int16);
    CHECK(codes(z16) == std::vector<std::int64_t>{48, -48, -224});
}

namespace {

// The table the quantizer builds for a unary float op: lut[q] = quantize(f(q * 2^-r_in), r_out).
tensor make_table(const std::string& op, const graph::attributes& attrs, value_format in, value_format out,
                  const std::vector<const tensor*>& extra = {}) {
    const std::int64_t n = std::int64_t{1} << in.bits;
    std::vector<float> x(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) x[i] = fixed::dequantize(fixed::min_of(in.bits) + i, in.radix);
    const tensor xs = tensor::from<float>({n}, x);
    std::vector<const tensor*> args{&xs};
    args.insert(args.end(), extra.begin(), extra.end());
    return quantize(run_kernel1(op, attrs, args), out.radix, out.bits);
}

}  // namespace

TEST_CASE("lookup-table ops match the float op on the dequantized input within half an output LSB") {
    std::mt19937 rng(21);
    const tensor slope = tensor::from<float>({1}, {0.25f});
    const tensor lo = tensor::scalar<float>(-0.5f), hi = tensor::scalar<float>(1.5f);
    struct lut_case {
        std::string op;
        graph::attributes attrs;
        std::vector<const tensor*> extra;
        value_format in, out;
    };
    const std::vector<lut_case> cases{
        {"Relu", {}, {}, {4, 8}, {4, 8}},
        {"LeakyRelu", attrs_of({{"alpha", 0.1f}}), {}, {4, 8}, {5, 8}},
        {"PRelu", {}, {&slope}, {3, 8}, {4, 8}},
        {"Clip", {}, {&lo, &hi}, {5, 8}, {6, 8}},
        {"Sigmoid", {}, {}, {4, 8}, {7, 8}},
        {"Sigmoid", {}, {}, {11, 16}, {15, 16}},    // int16 table of 65536 entries
        {"Tanh", {}, {}, {12, 16}, {7, 8}},         // int16 in, int8 out
        {"HardSigmoid", {}, {}, {4, 8}, {12, 16}},  // int8 in, int16 out
        {"HardSwish", {}, {}, {5, 8}, {5, 8}},
        {"Elu", {}, {}, {5, 8}, {6, 8}},
        {"Selu", {}, {}, {5, 8}, {5, 8}},
        {"Softplus", {}, {}, {4, 8}, {4, 8}},
        {"Exp", {}, {}, {5, 8}, {4, 8}},
        {"Log", {}, {}, {5, 8}, {4, 8}},  // log of codes <= 0 is -inf / NaN: the table saturates / holds 0
        {"Sqrt", {}, {}, {5, 8}, {6, 8}},
        {"Abs", {}, {}, {7, 8}, {6, 8}},
        {"Neg", {}, {}, {7, 8}, {7, 8}},
        {"Erf", {}, {}, {5, 8}, {7, 8}},
        {"Reciprocal", {}, {}, {5, 8}, {2, 8}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.op);
        graph::attributes a = c.attrs;
        a.set(fixed::attr::lookup_table, make_table(c.op, c.attrs, c.in, c.out, c.extra));
        const tensor x = random_codes(rng, {3, 50}, c.in.bits);
        std::vector<const tensor*> args{&x};
        std::vector<value_format> formats{c.in};
        for (auto* e : c.extra) {
            args.push_back(e);
            formats.push_back(not_q);
        }
        const tensor y = run_fixed1(c.op, quantized(a, formats, {c.out}), args);
        const tensor xf = dequantize(x, c.in.radix);
        std::vector<const tensor*> fargs{&xf};
        fargs.insert(fargs.end(), c.extra.begin(), c.extra.end());
        tensor want = run_kernel1(c.op, c.attrs, fargs);
        // NaN (log/sqrt of a negative) has no fixed-point value: quantize maps it to 0.
        for (auto& v : want.values<float>())
            if (std::isnan(v)) v = 0.f;
        check_within(y, c.out, want, one_rounding(want, c.out.radix));
    }
}

TEST_CASE("lookup: table[q - min_of(bits)] exactly, and a node without a table is an error naming it") {
    std::vector<std::int8_t> table(256);
    for (int i = 0; i < 256; ++i) table[i] = static_cast<std::int8_t>(255 - i - 128);  // q -> -q - 1
    graph::attributes a;
    a.set(fixed::attr::lookup_table, tensor::from<std::int8_t>({256}, table));
    const tensor x = tensor::from<std::int8_t>({2, 2}, {-128, 0, 5, 127});
    const tensor y = run_fixed1("Sigmoid", quantized(a, {{4, 8}}, {{4, 8}}), {&x});
    CHECK(y.shape() == shape_t{2, 2});
    CHECK(codes(y) == std::vector<std::int64_t>{127, -1, -6, -128});
    // Any op carrying a table runs it, registered lookup op or not (Softsign is a CPU op otherwise).
    CHECK(codes(run_fixed1("Softsign", quantized(a, {{4, 8}}, {{4, 8}}), {&x})) ==
          std::vector<std::int64_t>{127, -1, -6, -128});
    CHECK_THROWS_WITH_AS(run_fixed1("Tanh", quantized({}, {{4, 8}}, {{4, 8}}), {&x}), doctest::Contains("'n0' (Tanh)"),
                         error);
    CHECK_THROWS_WITH_AS(run_fixed1("Tanh", quantized(a, {{4, 8}}, {{4, 16}}), {&x}), doctest::Contains("lookup_table"),
                         error);
    const tensor x16 = tensor::from<std::int16_t>({1}, {0});
    CHECK_THROWS_WITH_AS(run_fixed1("Tanh", quantized(a, {{4, 16}}, {{4, 8}}), {&x16}), doctest::Contains("2^16"),
                         error);
}

namespace {

// PRelu's slope as the quantizer makes it: one integer per element at its own radix
// (fixed::radix_for of |slope| at the layer's width).
struct quantized_slope {
    tensor q;
    std::vector<std::int64_t> radix;
};
quantized_slope quantize_slope(const tensor& slope, int bits) {
    quantized_slope s;
    const auto v = slope.to_vector<double>();
    for (double x : v) s.radix.push_back(fixed::radix_for(std::abs(x), bits));
    s.q = fixed::quantize_tensor(
        slope, [&](std::int64_t i) { return int(s.radix[i]); }, bits);
    return s;
}

}  // namespace

TEST_CASE("fixed PRelu: a per-channel integer slope at its own radix, within the rounding the rule promises") {
    std::mt19937 rng(34);
    struct prelu_case {
        shape_t x, slope;
        std::vector<float> slopes;
        value_format in, out;
    };
    const std::vector<prelu_case> cases{
        {{1, 4, 3, 5}, {4, 1, 1}, {0.25f, -0.1f, 0.0732f, 0.f}, {5, 8}, {5, 8}},  // MTCNN's [C,1,1]
        {{2, 6}, {6}, {0.9f, 0.01f, 1.7f, 0.33f, 1e-41f, 0.5f}, {4, 8}, {3, 8}},  // after a Gemm
        {{1, 3, 4, 4}, {3, 1, 1}, {0.2f, 0.05f, 0.6f}, {12, 16}, {11, 16}},       // int16
        {{1, 3, 4, 4}, {1}, {0.3f}, {5, 8}, {6, 16}},  // one shared slope, int8 in, int16 out
    };
    for (const auto& c : cases) {
        CAPTURE(to_string(c.x));
        const tensor slope = tensor::from<float>(c.slope, c.slopes);
        const quantized_slope s = quantize_slope(slope, c.out.bits);
        graph::attributes a;
        a.set(fixed::attr::slope_radix, s.radix);
        const tensor x = random_codes(rng, c.x, c.in.bits);
        const tensor y = run_fixed1("PRelu", quantized(a, {c.in, not_q}, {c.out}), {&x, &s.q});
        const tensor xf = dequantize(x, c.in.radix);
        const tensor want = run_kernel1("PRelu", {}, {&xf, &slope});
        // Bound: the slope's rounding times |x| (negative x only), then one rounding to r_out.
        std::vector<double> bound = one_rounding(want, c.out.radix);
        const auto xv = xf.to_vector<double>();
        const std::int64_t inner = element_count(c.x) / element_count(c.slope) / c.x[0];
        for (std::size_t i = 0; i < xv.size(); ++i) {
            const std::size_t k = c.slopes.size() == 1 ? 0 : (i / inner) % c.slopes.size();
            if (xv[i] < 0) bound[i] += std::abs(xv[i]) * std::ldexp(0.5, -int(s.radix[k]));
        }
        check_within(y, c.out, want, bound);
    }
}

TEST_CASE("fixed PRelu: exact codes, ties up, saturation, and its errors") {
    // slope 0.75 at radix 2 (code 3), x at radix 1, out at radix 1: x < 0 -> x * 3 >> 2.
    graph::attributes a;
    a.set(fixed::attr::slope_radix, std::vector<std::int64_t>{2, 3});
    const tensor slope = tensor::from<std::int8_t>({2, 1}, {3, 1});  // 0.75, 0.125
    const tensor x = tensor::from<std::int8_t>({2, 3}, {-2, -1, 5, -128, -4, 127});
    // row 0: -6/4 = -1.5 -> -1; -3/4 = -0.75 -> -1; 5 stays. row 1: -128/8 = -16; -4/8 = -0.5 -> 0; 127.
    CHECK(codes(run_fixed1("PRelu", quantized(a, {{1, 8}, not_q}, {{1, 8}}), {&x, &slope})) ==
          std::vector<std::int64_t>{-1, -1, 5, -16, 0, 127});
    // To radix 3: positives shift left and saturate at 127; -128 * 1 at radix 4 -> radix 3: -64.
    CHECK(codes(run_fixed1("PRelu", quantized(a, {{1, 8}, not_q}, {{3, 8}}), {&x, &slope})) ==
          std::vector<std::int64_t>{-6, -3, 20, -64, -2, 127});
    // Errors name the node: no radices, a float slope, a slope that does not broadcast to x.
    CHECK_THROWS_WITH_AS(run_fixed1("PRelu", quantized({}, {{1, 8}, not_q}, {{1, 8}}), {&x, &slope}),
                         doctest::Contains("slope_radix"), error);
    const tensor fslope = tensor::from<float>({2, 1}, {0.75f, 0.125f});
    CHECK_THROWS_WITH_AS(run_fixed1("PRelu", quantized(a, {{1, 8}, not_q}, {{1, 8}}), {&x, &fslope}),
                         doctest::Contains("'n0' (PRelu)"), error);
    const tensor wide = tensor::from<std::int8_t>({2, 1, 1}, {1, 1});  // x [2,3] would become [2,2,3]
    graph::attributes a4;
    a4.set(fixed::attr::slope_radix, std::vector<std::int64_t>{0});
    CHECK_THROWS_WITH_AS(run_fixed1("PRelu", quantized(a4, {{1, 8}, not_q}, {{1, 8}}), {&x, &wide}),
                         doctest::Contains("broadcast"), error);
}

TEST_CASE("fixed Add, Sub, Mul and Concat with scales beside the radices stay within one rounding of float") {
    // One rounding of the real factor plus its 15-bit multiplier: 2^-15 of the result, relative.
    std::mt19937 rng(11);
    struct scaled_case {
        shape_t a, b;
        value_format fa, fb, out;
    };
    const std::vector<scaled_case> cases{
        {{2, 3, 4}, {2, 3, 4}, {5, 8, 1.5}, {5, 8, 1.25}, {4, 8, 1.875}},           // same radix, different scales
        {{1, 4, 3, 3}, {4, 1, 1}, {6, 8, 1.0}, {3, 8, 1.3330078125}, {5, 8, 1.0}},  // one scaled operand
        {{3, 1, 5}, {1, 4, 1}, {12, 16, 1.0625}, {4, 8, 1.75}, {9, 16, 1.5}},       // mixed widths
        {{4, 6}, {4, 6}, {4, 8, 1.25}, {4, 8, 1.25}, {3, 8, 1.25}},                 // equal scales: a pure shift
    };
    for (const std::string op : {"Add", "Sub", "Mul"})
        for (const auto& c : cases) {
            CAPTURE(op);
            CAPTURE(to_string(c.a));
            const tensor a = random_codes(rng, c.a, c.fa.bits), b = random_codes(rng, c.b, c.fb.bits);
            value_format out = c.out;
            if (op == "Mul")
                out.radix = c.fa.radix + c.fb.radix - (c.fa.bits - 1) - (c.fb.bits - 1) + (out.bits - 1) - 1;
            const tensor y = run_fixed1(op, quantized({}, {c.fa, c.fb}, {out}), {&a, &b});
            const tensor af = dequantize(a, c.fa), bf = dequantize(b, c.fb);
            const tensor want = run_kernel1(op, {}, {&af, &bf});
            // Each operand's multiplier is within 2^-15 of its factor: the error scales with
            // |a| + |b| for Add and Sub (the sum may cancel), with |a b| for Mul.
            const tensor aa = abs_of(af), ab = abs_of(bf);
            const tensor magnitude = run_kernel1(op == "Mul" ? "Mul" : "Add", {}, {&aa, &ab});
            std::vector<double> bound(static_cast<std::size_t>(want.size()));
            for (std::int64_t i = 0; i < want.size(); ++i)
                bound[i] = (0.5 + 1e-3) * lsb(out) +
                           double(magnitude.data<float>()[i]) * (std::ldexp(1.0, -15) + std::ldexp(1.0, -22));
            CHECK(check_within(y, out, want, bound) <= 1.5);  // the bound above is the test; at 16 bits 2^-15 is an LSB
        }
    // Concat moves each input to the output's scale.
    const tensor a = random_codes(rng, {1, 2, 3}, 8), b = random_codes(rng, {1, 3, 3}, 8);
    const value_format fa{5, 8, 1.5}, fb{6, 8, 1.0}, out{5, 8, 1.25};
    const tensor y = run_fixed1("Concat", quantized(attrs_of({{"axis", std::int64_t{1}}}), {fa, fb}, {out}), {&a, &b});
    const tensor af = dequantize(a, fa), bf = dequantize(b, fb);
    const tensor want = run_kernel1("Concat", attrs_of({{"axis", std::int64_t{1}}}), {&af, &bf});
    CHECK(check_within(y, out, want, (0.5 + 0.01) * lsb(out)) <= 0.51);
}

TEST_CASE(
    "fixed Add, Sub and Mul give the contract's codes on random formats (the branch-free paths and the guarded ones)") {
    // The contract (docs/numerics.md) written out per element with the scalar helpers: equal
    // scales align exactly and requantize once; different scales give each operand its
    // multiplier and round the 128-bit sum once.
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> radix(-6, 18), pick(0, 3);
    const std::vector<double> scales{1.0, 1.25, 1.5, 1.9998779296875};
    for (int trial = 0; trial < 300; ++trial) {
        CAPTURE(trial);
        const std::string op = trial % 3 == 0 ? "Add" : trial % 3 == 1 ? "Sub" : "Mul";
        const int bits_a = pick(rng) ? 8 : 16, bits_b = pick(rng) ? 8 : 16, bits_out = pick(rng) ? 8 : 16;
        const double sa = scales[pick(rng)], sb = pick(rng) ? sa : scales[pick(rng)];
        const value_format fa{radix(rng), bits_a, sa}, fb{radix(rng), bits_b, op == "Mul" ? sb : (trial % 2 ? sa : sb)};
        const value_format out{radix(rng), bits_out, scales[pick(rng)]};
        CAPTURE(op);
        CAPTURE(fa.radix);
        CAPTURE(fb.radix);
        CAPTURE(out.radix);
        const tensor a = random_codes(rng, {37}, bits_a), b = random_codes(rng, {37}, bits_b);
        const tensor y = run_fixed1(op, quantized({}, {fa, fb}, {out}), {&a, &b});
        const auto qa = codes(a), qb = codes(b), got = codes(y);
        for (std::size_t i = 0; i < got.size(); ++i) {
            std::int64_t want;
            if (op == "Mul" || fa.scale == fb.scale) {
                const int common = op == "Mul" ? fa.radix + fb.radix : std::max(fa.radix, fb.radix);
                const std::int64_t xa = fixed::round_shift(qa[i], -(common - fa.radix));
                const std::int64_t xb = fixed::round_shift(qb[i], -(common - fb.radix));
                const std::int64_t r = op == "Mul" ? qa[i] * qb[i] : op == "Add" ? xa + xb : xa - xb;
                want = fixed::requantizer_to(common, op == "Mul" ? fa.scale * fb.scale : fa.scale, out)(r);
            } else {
                const auto ra = fixed::requantizer_to(fa, out), rb = fixed::requantizer_to(fb, out);
                const int common = std::max(ra.shift, rb.shift);
                const fixed::wide_int ma = fixed::wide_int{ra.multiplier} << (common - ra.shift);
                const fixed::wide_int mb = fixed::wide_int{rb.multiplier} << (common - rb.shift);
                const fixed::wide_int r = op == "Add" ? qa[i] * ma + qb[i] * mb : qa[i] * ma - qb[i] * mb;
                want = fixed::saturate(fixed::round_shift_wide(r, common), out.bits);
            }
            CHECK(got[i] == want);
        }
    }
}

TEST_CASE("fixed Mul of two int8 tensors: every pair of codes gives the contract's code (the 32-bit lanes)") {
    // The int8 x int8 path keeps product * multiplier + 2^(shift - 1) in 32 bits: the extreme
    // products (-128 * -128) with the largest multipliers and shifts are where it would overflow.
    std::vector<std::int8_t> xa, xb;
    for (int i = -128; i < 128; ++i)
        for (int j = -128; j < 128; ++j)
            xa.push_back(static_cast<std::int8_t>(i)), xb.push_back(static_cast<std::int8_t>(j));
    const tensor a = tensor::from<std::int8_t>({std::int64_t(xa.size())}, xa),
                 b = tensor::from<std::int8_t>({std::int64_t(xb.size())}, xb);
    for (const auto& [ra, rb, ro, bits_out] :
         std::vector<std::array<int, 4>>{{7, 7, 0, 8}, {7, 7, 7, 8}, {3, 4, 2, 16}, {12, 14, -3, 8}, {7, 7, 12, 16}}) {
        CAPTURE(ra);
        CAPTURE(rb);
        CAPTURE(ro);
        const value_format fa{ra, 8, 1.9998779296875}, fb{rb, 8, 1.5}, out{ro, bits_out, 1.0};
        const auto got = codes(run_fixed1("Mul", quantized({}, {fa, fb}, {out}), {&a, &b}));
        const auto requantize = fixed::requantizer_to(ra + rb, fa.scale * fb.scale, out);
        for (std::size_t i = 0; i < got.size(); ++i) {
            const std::int64_t want = requantize(std::int64_t{xa[i]} * std::int64_t{xb[i]});
            if (got[i] != want) CHECK(got[i] == want);  // one CHECK per failure, not 65536 passes
        }
    }
}

TEST_CASE("lookup over a long tensor: every code through a random table, the vector loop and its tail") {
    std::mt19937 rng(11);
    std::uniform_int_distribution<int> code(-128, 127);
    std::vector<std::int8_t> table(256);
    for (auto& v : table) v = static_cast<std::int8_t>(code(rng));
    graph::attributes a;
    a.set(fixed::attr::lookup_table, tensor::from<std::int8_t>({256}, table));
    std::vector<std::int8_t> values(256 * 3 + 17);
    for (std::size_t i = 0; i < values.size(); ++i)
        values[i] = static_cast<std::int8_t>(i < 256 ? int(i) - 128 : code(rng));
    const tensor x = tensor::from<std::int8_t>({std::int64_t(values.size())}, values);
    const auto y = codes(run_fixed1("Sigmoid", quantized(a, {{4, 8}}, {{4, 8}}), {&x}));
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(y[i] == table[std::size_t(values[i] + 128)]);
}
