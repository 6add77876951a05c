// Fixed-point Gemm and MatMul (kernels/fixed/linear.hpp) against their float twins and on
// hand-computed cases.
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "ktc/kernels/fixed/linear.hpp"
#include "kernels/fixed/fixed_support.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// The float twin runs on the dequantized integers, so the only differences are the output
// rounding (half an LSB) and float32's own rounding of K products, below K * 2^-23 * sum|a||b|
// (plus the bias): bound = 2^-(r_out+1) + (K+1) * 2^-23 * (sum|a||b| + |c|).
std::vector<double> product_bound(const std::string& op, const graph::attributes& a, const tensor& af, const tensor& bf,
                                  const tensor* cf, std::int64_t K, int r_out) {
    const tensor aa = abs_of(af), ab = abs_of(bf);
    const tensor mag = run_kernel1(op, a, {&aa, &ab});
    std::vector<double> bound(static_cast<std::size_t>(mag.size()));
    const std::int64_t N = mag.shape().back();
    for (std::int64_t i = 0; i < mag.size(); ++i) {
        const double c = cf ? std::abs(double(cf->data<float>()[cf->size() == 1 ? 0 : i % N])) : 0.0;
        bound[i] = 0.5 * lsb(r_out) + double(K + 1) * std::ldexp(1.0, -23) * (mag.data<float>()[i] + c);
    }
    return bound;
}

void gemm_case(std::mt19937& rng, bool trans_a, bool trans_b, bool bias, int a_bits, int b_bits, int out_bits) {
    CAPTURE(trans_a);
    CAPTURE(trans_b);
    CAPTURE(a_bits);
    CAPTURE(out_bits);
    const std::int64_t M = 5, K = 17, N = 6;
    const tensor A = random_codes(rng, trans_a ? shape_t{K, M} : shape_t{M, K}, a_bits);
    const tensor B = random_codes(rng, trans_b ? shape_t{N, K} : shape_t{K, N}, b_bits);
    std::vector<int> r_b;
    for (std::int64_t n = 0; n < N; ++n) r_b.push_back(b_bits - 2 + static_cast<int>(n % 4));
    const int r_a = a_bits - 3;
    const int r_out = r_a + r_b[0] - (a_bits - 1) - (b_bits - 1) + (out_bits - 1) - 2;
    graph::attributes attrs = attrs_of({{"transA", std::int64_t{trans_a}}, {"transB", std::int64_t{trans_b}}});
    graph::attributes qa = attrs;
    qa.set(fixed::attr::weight_radix, std::vector<std::int64_t>(r_b.begin(), r_b.end()));
    tensor C, Cf;
    std::vector<int> r_c;
    if (bias) {
        const std::int64_t range = std::int64_t{1} << (a_bits + b_bits - 4);
        C = random_codes(rng, {N}, 32, -range, range);
        for (std::int64_t n = 0; n < N; ++n) r_c.push_back(r_a + r_b[n] - static_cast<int>(n % 3));
        qa.set(fixed::attr::bias_radix, std::vector<std::int64_t>(r_c.begin(), r_c.end()));
        Cf = dequantize_per_channel(C, r_c, 0);
    }
    const value_format fout{r_out, out_bits};
    const tensor y =
        run_fixed1("Gemm", quantized(qa, {{r_a, a_bits}, not_q, not_q}, {fout}), {&A, &B, bias ? &C : nullptr});
    const tensor Af = dequantize(A, r_a);
    const tensor Bf = dequantize_per_channel(B, r_b, trans_b ? 0 : 1);
    const tensor want = run_kernel1("Gemm", attrs, {&Af, &Bf, bias ? &Cf : nullptr});
    const double worst =
        check_within(y, fout, want, product_bound("Gemm", attrs, Af, Bf, bias ? &Cf : nullptr, K, r_out));
    CHECK(worst <= 0.5 + 1e-3);
}

}  // namespace

TEST_CASE("fixed Gemm matches the float Gemm on the dequantized operands, every transpose and width") {
    std::mt19937 rng(42);
    for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb) gemm_case(rng, ta, tb, true, 8, 8, 8);
    gemm_case(rng, false, true, false, 8, 8, 8);
    gemm_case(rng, false, true, true, 16, 16, 16);
    gemm_case(rng, true, false, true, 16, 8, 8);   // mixed: int16 activation, int8 weight and output
    gemm_case(rng, false, false, true, 8, 8, 16);  // mixed: int8 in, int16 out
}

TEST_CASE("fixed Gemm: hand-computed per-column radices, bias, tie and saturation") {
    // A = [[3, -3]] at radix 0; B columns: [1, 1] at radix 1 and [2, 0] at radix 2.
    const tensor A = tensor::from<std::int8_t>({1, 2}, {3, -3});
    const tensor B = tensor::from<std::int8_t>({2, 2}, {1, 2, 1, 0});
    const tensor C = tensor::from<std::int32_t>({2}, {1, -1});  // radices 0 and 2
    graph::attributes a;
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{1, 2});
    a.set(fixed::attr::bias_radix, std::vector<std::int64_t>{0, 2});
    // column 0: acc radix 1: 3 - 3 + (1 << 1) = 2 -> radix 0: 1. column 1: radix 2: 6 - 1 = 5 -> 1.25 -> 1.
    CHECK(codes(run_fixed1("Gemm", quantized(a, {{0, 8}, not_q, not_q}, {{0, 8}}), {&A, &B, &C})) ==
          std::vector<std::int64_t>{1, 1});
    // radix 1: column 0 2 -> 2; column 1: 5 / 2 = 2.5 -> 3 (tie up).
    CHECK(codes(run_fixed1("Gemm", quantized(a, {{0, 8}, not_q, not_q}, {{1, 8}}), {&A, &B, &C})) ==
          std::vector<std::int64_t>{2, 3});
    const tensor big = tensor::from<std::int8_t>({1, 2}, {127, 127}),
                 small = tensor::from<std::int8_t>({1, 2}, {-128, -128});
    graph::attributes p;
    p.set(fixed::attr::weight_radix, std::vector<std::int64_t>{0});
    const tensor ones = tensor::from<std::int8_t>({2, 1}, {127, 127});
    CHECK(codes(run_fixed1("Gemm", quantized(p, {{0, 8}, not_q}, {{0, 8}}), {&big, &ones})) ==
          std::vector<std::int64_t>{127});
    CHECK(codes(run_fixed1("Gemm", quantized(p, {{0, 8}, not_q}, {{0, 8}}), {&small, &ones})) ==
          std::vector<std::int64_t>{-128});
    CHECK(codes(run_fixed1("Gemm", quantized(p, {{0, 8}, not_q}, {{0, 16}}), {&small, &ones})) ==
          std::vector<std::int64_t>{-32512});
}

TEST_CASE("fixed Gemm supports only alpha = beta = 1 and a per-column bias") {
    const tensor A = tensor::from<std::int8_t>({1, 1}, {1}), B = tensor::from<std::int8_t>({1, 1}, {1});
    graph::attributes a = attrs_of({{"alpha", 0.5f}});
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{0});
    CHECK_THROWS_AS(run_fixed1("Gemm", quantized(a, {{0, 8}, not_q}, {{0, 8}}), {&A, &B}), unsupported_error);
    a = attrs_of({{"beta", 2.f}});
    a.set(fixed::attr::weight_radix, std::vector<std::int64_t>{0});
    CHECK_THROWS_AS(run_fixed1("Gemm", quantized(a, {{0, 8}, not_q}, {{0, 8}}), {&A, &B}), unsupported_error);
    const tensor A2 = tensor::from<std::int8_t>({2, 1}, {1, 2});
    const tensor C = tensor::from<std::int32_t>({2, 1}, {1, 2});  // varies along M
    graph::attributes b;
    b.set(fixed::attr::weight_radix, std::vector<std::int64_t>{0});
    b.set(fixed::attr::bias_radix, std::vector<std::int64_t>{0});
    CHECK_THROWS_AS(run_fixed1("Gemm", quantized(b, {{0, 8}, not_q, not_q}, {{0, 8}}), {&A2, &B, &C}),
                    unsupported_error);
    const tensor c1 = tensor::from<std::int32_t>({}, {3});  // a scalar bias applies to every column
    CHECK(codes(run_fixed1("Gemm", quantized(b, {{0, 8}, not_q, not_q}, {{0, 8}}), {&A2, &B, &c1})) ==
          std::vector<std::int64_t>{4, 5});
}

TEST_CASE("fixed MatMul with a constant weight: per-column radices, batches, 1-D operands, widths") {
    std::mt19937 rng(5);
    struct mm_case {
        shape_t a, b;
        int a_bits, b_bits, out_bits;
    };
    for (const auto& c : std::vector<mm_case>{{{2, 3, 4, 9}, {9, 5}, 8, 8, 8},
                                              {{7, 9}, {9, 4}, 16, 8, 16},
                                              {{9}, {9, 3}, 8, 16, 8},
                                              {{3, 9}, {9}, 8, 8, 16},
                                              {{2, 1, 3, 9}, {4, 9, 2}, 16, 16, 8}}) {
        CAPTURE(to_string(c.a));
        CAPTURE(to_string(c.b));
        const tensor A = random_codes(rng, c.a, c.a_bits), B = random_codes(rng, c.b, c.b_bits);
        const std::int64_t N = c.b.size() == 1 ? 1 : c.b.back(), K = c.a.back();
        std::vector<int> r_b;
        for (std::int64_t n = 0; n < N; ++n) r_b.push_back(c.b_bits - 1 + static_cast<int>(n % 3));
        const int r_a = c.a_bits - 2;
        const int r_out = r_a + r_b[0] - (c.a_bits - 1) - (c.b_bits - 1) + (c.out_bits - 1) - 1;
        graph::attributes qa;
        qa.set(fixed::attr::weight_radix, std::vector<std::int64_t>(r_b.begin(), r_b.end()));
        const value_format fout{r_out, c.out_bits};
        const tensor y = run_fixed1("MatMul", quantized(qa, {{r_a, c.a_bits}, not_q}, {fout}), {&A, &B});
        const tensor Af = dequantize(A, r_a);
        const tensor Bf = dequantize_per_channel(B, r_b, static_cast<int>(c.b.size()) - 1);
        const tensor want = run_kernel1("MatMul", {}, {&Af, &Bf});
        const double worst = check_within(y, fout, want, product_bound("MatMul", {}, Af, Bf, nullptr, K, r_out));
        CHECK(worst <= 0.5 + 1e-3);
    }
}

TEST_CASE("fixed MatMul of two activations accumulates at r_a + r_b") {
    std::mt19937 rng(11);
    const tensor A = random_codes(rng, {2, 3, 8}, 8), B = random_codes(rng, {2, 8, 4}, 16);
    const int r_a = 6, r_b = 12, r_out = 7;
    const tensor y = run_fixed1("MatMul", quantized({}, {{r_a, 8}, {r_b, 16}}, {{r_out, 8}}), {&A, &B});
    const tensor Af = dequantize(A, r_a), Bf = dequantize(B, r_b);
    const tensor want = run_kernel1("MatMul", {}, {&Af, &Bf});
    check_within(y, {r_out, 8}, want, product_bound("MatMul", {}, Af, Bf, nullptr, 8, r_out));
    // Exact: [1, 3] x [[1], [1]] at radices 1 and 1 -> 4 at radix 2 = 1.0 -> radix 0: 1; 5/4 -> 1.25 -> 1.
    const tensor a = tensor::from<std::int8_t>({1, 2}, {1, 3}), b = tensor::from<std::int8_t>({2, 1}, {1, 1});
    CHECK(codes(run_fixed1("MatMul", quantized({}, {{1, 8}, {1, 8}}, {{0, 8}}), {&a, &b})) ==
          std::vector<std::int64_t>{1});
    const tensor a2 = tensor::from<std::int8_t>({1, 2}, {3, 3});  // 6/4 = 1.5 -> 2
    CHECK(codes(run_fixed1("MatMul", quantized({}, {{1, 8}, {1, 8}}, {{0, 8}}), {&a2, &b})) ==
          std::vector<std::int64_t>{2});
    const tensor a3 = tensor::from<std::int8_t>({1, 2}, {-3, -3});  // -1.5 -> -1
    CHECK(codes(run_fixed1("MatMul", quantized({}, {{1, 8}, {1, 8}}, {{0, 8}}), {&a3, &b})) ==
          std::vector<std::int64_t>{-1});
    // The fused clamp applies to MatMul too.
    graph::attributes relu;
    relu.set(kernels::attr::fused_min, 0.f);
    CHECK(codes(run_fixed1("MatMul", quantized(relu, {{1, 8}, {1, 8}}, {{0, 8}}), {&a3, &b})) ==
          std::vector<std::int64_t>{0});
}

TEST_CASE("the fast fixed product (B' along k or along j, int32 or int64 sums) is bit-exact with the reference") {
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> dim(1, 40), coin(0, 1);
    namespace ld = kernels::fixed::linear_detail;
    for (int trial = 0; trial < 80; ++trial) {
        CAPTURE(trial);
        const std::int64_t M = dim(rng) % 4 + 1, N = dim(rng), K = dim(rng) * (trial % 7 == 0 ? 9 : 1);
        const int a_bits = trial % 5 == 4 ? 16 : 8, b_bits = trial % 6 == 5 ? 16 : 8, out_bits = coin(rng) ? 8 : 16;
        const bool trans_b = coin(rng);
        const tensor a = random_codes(rng, {M, K}, a_bits);
        const tensor b = random_codes(rng, trans_b ? shape_t{N, K} : shape_t{K, N}, b_bits);
        graph::node node;
        node.name = "n0";
        node.op_type = "Gemm";
        std::vector<std::int64_t> radix;
        std::vector<float> scale;
        for (std::int64_t j = 0; j < N; ++j) {
            radix.push_back(3 + j % 5);
            scale.push_back(1.f + float(j % 3) / 4.f);
        }
        node.attrs.set(fixed::attr::weight_radix, radix);
        if (coin(rng)) node.attrs.set(fixed::attr::weight_scale, scale);
        node.attrs = quantized(node.attrs, {{4, a_bits, trial % 2 ? 1.5 : 1.0}, not_q}, {{trial % 11, out_bits}});
        node.inputs = {"a", "b"};
        node.outputs = {"y"};
        std::vector<const tensor*> inputs{&a, &b};
        std::vector<tensor> outputs(1);
        const kernels::kernel_call call{node, inputs, outputs};
        const ld::product_params p = ld::resolve_product(call, N, fixed::input_format(node, 0));
        const std::int64_t b_row = trans_b ? 1 : N, b_col = trans_b ? K : 1;
        kernels::fixed::linear_detail::visit_product_types(
            call, a.type(), b.type(), out_bits, [&](auto at, auto bt, auto yt) {
                using A = decltype(at);
                using B = decltype(bt);
                using Y = decltype(yt);
                std::vector<Y> plain(static_cast<std::size_t>(M * N)), fast(plain.size());
                ld::product_reference<A, B, Y>(p, a.data<A>(), K, 1, b.data<B>(), b_row, b_col, plain.data(), M, N, K);
                ld::product<A, B, Y>(p, a.data<A>(), K, 1, b.data<B>(), b_row, b_col, fast.data(), M, N, K);
                CHECK(plain == fast);
            });
    }
}

TEST_CASE("the int8 dot product of the fast Gemm is exact up to its bound (K < 2^17 products of -128 * -128)") {
    namespace ld = kernels::fixed::linear_detail;
    for (const std::int64_t K : {std::int64_t{31}, std::int64_t{33}, std::int64_t{4096}, (std::int64_t{1} << 17) - 1}) {
        CAPTURE(K);
        const std::vector<std::int8_t> low(static_cast<std::size_t>(K), -128);
        std::vector<std::int8_t> mixed(low.size());
        for (std::size_t k = 0; k < mixed.size(); ++k) mixed[k] = static_cast<std::int8_t>(k % 3 == 0 ? 127 : -128);
        CHECK(std::int64_t{ld::dot_int8(low.data(), low.data(), K)} == K * 16384);
        std::int64_t want = 0;
        for (std::size_t k = 0; k < mixed.size(); ++k) want += std::int64_t{mixed[k]} * -128;
        CHECK(std::int64_t{ld::dot_int8(mixed.data(), low.data(), K)} == want);
    }
}
