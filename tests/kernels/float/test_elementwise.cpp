// Elementwise float kernels. Expected values are worked by hand, taken from numpy (noted), or
// produced by a naive index-by-index reference written here independently of the kernels'
// collapsed broadcasting plan.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/kernel_runner.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// Naive numpy broadcasting: the flat index of operand `s` for output multi-index `idx`.
std::int64_t naive_index(const shape_t& s, const shape_t& out, const shape_t& idx) {
    std::int64_t flat = 0;
    const std::size_t off = out.size() - s.size();
    for (std::size_t i = 0; i < s.size(); ++i) flat = flat * s[i] + (s[i] == 1 ? 0 : idx[off + i]);
    return flat;
}

tensor random_tensor(const shape_t& shape, std::mt19937& rng) {
    tensor t(dtype::float32, shape);
    std::uniform_real_distribution<float> dist(-2.f, 2.f);
    for (auto& v : t.values<float>()) v = dist(rng);
    return t;
}

}  // namespace

TEST_CASE("Add of same-shape float tensors adds elementwise") {
    const tensor a = tensor::from<float>({2, 2}, {1, 2, 3, 4});
    const tensor b = tensor::from<float>({2, 2}, {10, 20, 30, 40});
    const tensor y = run_kernel1("Add", {}, {&a, &b});
    CHECK(y.shape() == shape_t{2, 2});
    check_close<float>(y, {11, 22, 33, 44});
}

TEST_CASE("Add and Mul broadcast a per-channel [C,1,1] operand over [1,C,H,W]") {
    const tensor x = tensor::from<float>({1, 2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    const tensor bias = tensor::from<float>({2, 1, 1}, {100, 200});
    check_close<float>(run_kernel1("Add", {}, {&x, &bias}), {101, 102, 103, 104, 205, 206, 207, 208});
    check_close<float>(run_kernel1("Mul", {}, {&bias, &x}), {100, 200, 300, 400, 1000, 1200, 1400, 1600});
    const tensor two = tensor::scalar<float>(2.f);
    const tensor y = run_kernel1("Mul", {}, {&x, &two});
    CHECK(y.shape() == shape_t{1, 2, 2, 2});
    check_close<float>(y, {2, 4, 6, 8, 10, 12, 14, 16});
    check_close<float>(run_kernel1("Sub", {}, {&two, &x}), {1, 0, -1, -2, -3, -4, -5, -6});
}

TEST_CASE("binary ops broadcast like numpy over many shape pairs") {
    std::mt19937 rng(7);
    const std::vector<std::pair<shape_t, shape_t>> cases = {
        {{3, 4, 5}, {5}},          {{3, 4, 5}, {4, 1}},
        {{2, 1, 3}, {4, 1}},       {{1, 4, 1, 6}, {3, 1, 5, 6}},
        {{2, 3, 4, 5}, {3, 1, 1}}, {{1, 3, 1, 5}, {2, 1, 4, 1}},
        {{6}, {2, 3, 6}},          {{}, {2, 3}},
        {{2, 1}, {1, 1, 1}},       {{1, 16, 8, 8}, {1, 16, 1, 1}},
        {{2, 0, 3}, {1, 3}},
    };
    for (const auto& [sa, sb] : cases) {
        const shape_t out = broadcast_shapes(sa, sb);
        const tensor a = random_tensor(sa, rng);
        const tensor b = random_tensor(sb, rng);
        for (const char* op : {"Add", "Sub", "Mul", "Div", "Max"}) {
            INFO(op << " " << to_string(sa) << " with " << to_string(sb));
            const tensor y = run_kernel1(op, {}, {&a, &b});
            REQUIRE(y.shape() == out);
            std::vector<float> expected(static_cast<std::size_t>(element_count(out)));
            shape_t idx(out.size(), 0);
            for (std::size_t flat = 0; flat < expected.size(); ++flat) {
                std::int64_t rem = static_cast<std::int64_t>(flat);
                for (std::size_t d = out.size(); d-- > 0;) {
                    idx[d] = rem % out[d];
                    rem /= out[d];
                }
                const float va = a.data<float>()[naive_index(sa, out, idx)];
                const float vb = b.data<float>()[naive_index(sb, out, idx)];
                const std::string o = op;
                expected[flat] = o == "Add"   ? va + vb
                                 : o == "Sub" ? va - vb
                                 : o == "Mul" ? va * vb
                                 : o == "Div" ? va / vb
                                              : std::max(va, vb);
            }
            check_close<float>(y, expected, exactly);
        }
    }
}

TEST_CASE("integer arithmetic wraps and Div truncates toward zero") {
    const tensor a = tensor::from<std::uint8_t>({3}, {200, 7, 16});
    const tensor b = tensor::from<std::uint8_t>({3}, {2, 2, 11});
    check_close<std::uint8_t>(run_kernel1("Mul", {}, {&a, &b}), {144, 14, 176});  // 400 mod 256
    check_close<std::uint8_t>(run_kernel1("Add", {}, {&a, &b}), {202, 9, 27});
    check_close<std::uint8_t>(run_kernel1("Sub", {}, {&b, &a}), {58, 251, 251});  // 2-200 mod 256
    check_close<std::uint8_t>(run_kernel1("Div", {}, {&a, &b}), {100, 3, 1});
    const tensor c = tensor::from<std::int32_t>({4}, {-7, 7, -7, 5});
    const tensor d = tensor::from<std::int32_t>({4}, {2, -2, -2, 0});
    check_close<std::int32_t>(run_kernel1("Div", {}, {&c, &d}), {-3, -3, 3, 0});
    const tensor big = tensor::from<std::int32_t>({1}, {std::numeric_limits<std::int32_t>::min()});
    const tensor minus_one = tensor::from<std::int32_t>({1}, {-1});
    check_close<std::int32_t>(run_kernel1("Div", {}, {&big, &minus_one}), {std::numeric_limits<std::int32_t>::min()});
}

TEST_CASE("Mod follows the divisor's sign by default and the dividend's with fmod=1") {
    const tensor a = tensor::from<std::int64_t>({6}, {-4, 7, 5, 4, -7, 8});
    const tensor b = tensor::from<std::int64_t>({6}, {2, -3, 8, -2, 3, 5});
    check_close<std::int64_t>(run_kernel1("Mod", {}, {&a, &b}), {0, -2, 5, 0, 2, 3});
    check_close<std::int64_t>(run_kernel1("Mod", attrs_of({{"fmod", std::int64_t{1}}}), {&a, &b}), {0, 1, 5, 0, -1, 3});
    const tensor fa = tensor::from<float>({3}, {-4.5f, 7.5f, 5.f});
    const tensor fb = tensor::from<float>({3}, {2.f, -2.f, 3.f});
    check_close<float>(run_kernel1("Mod", attrs_of({{"fmod", std::int64_t{1}}}), {&fa, &fb}), {-0.5f, 1.5f, 2.f});
    check_close<float>(run_kernel1("Mod", {}, {&fa, &fb}), {1.5f, -0.5f, 2.f});
    const tensor zero = tensor::from<std::int64_t>({6}, {0, 0, 0, 0, 0, 0});
    check_close<std::int64_t>(run_kernel1("Mod", {}, {&a, &zero}), {0, 0, 0, 0, 0, 0});
}

TEST_CASE("Pow keeps the base type and accepts any exponent type") {
    const tensor x = tensor::from<float>({3}, {1.f, 2.f, 3.f});
    const tensor e = tensor::from<std::int64_t>({3}, {4, 5, 6});
    check_close<float>(run_kernel1("Pow", {}, {&x, &e}), {1, 32, 729});
    const tensor two = tensor::scalar<float>(2.f);
    check_close<float>(run_kernel1("Pow", {}, {&x, &two}), {1, 4, 9});
    const tensor half = tensor::scalar<float>(0.5f);
    check_close<float>(run_kernel1("Pow", {}, {&x, &half}), {1.f, 1.41421356f, 1.73205081f});
    const tensor xi = tensor::from<std::int32_t>({3}, {1, 2, 3});
    const tensor ef = tensor::from<float>({3}, {4.f, 5.f, 0.5f});
    check_close<std::int32_t>(run_kernel1("Pow", {}, {&xi, &ef}), {1, 32, 1});  // 3^0.5 truncates to 1
    const tensor ei = tensor::from<std::int32_t>({3}, {4, 5, -1});
    check_close<std::int32_t>(run_kernel1("Pow", {}, {&xi, &ei}), {1, 32, 0});
}

TEST_CASE("comparisons give bool and logic ops take bool") {
    const tensor a = tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
    const tensor b = tensor::from<float>({3}, {2, 2, 2});
    const tensor lt = run_kernel1("Less", {}, {&a, &b});
    check_close<bool>(lt, {true, false, false, false, false, false});
    check_close<bool>(run_kernel1("Greater", {}, {&a, &b}), {false, false, true, true, true, true});
    check_close<bool>(run_kernel1("LessOrEqual", {}, {&a, &b}), {true, true, false, false, false, false});
    check_close<bool>(run_kernel1("GreaterOrEqual", {}, {&a, &b}), {false, true, true, true, true, true});
    check_close<bool>(run_kernel1("Equal", {}, {&a, &b}), {false, true, false, false, false, false});
    const tensor p = tensor::from<bool>({2, 2}, {true, true, false, false});
    const tensor q = tensor::from<bool>({2}, {true, false});
    check_close<bool>(run_kernel1("And", {}, {&p, &q}), {true, false, false, false});
    check_close<bool>(run_kernel1("Or", {}, {&p, &q}), {true, true, true, false});
    check_close<bool>(run_kernel1("Xor", {}, {&p, &q}), {false, true, true, false});
    check_close<bool>(run_kernel1("Not", {}, {&p}), {false, false, true, true});
    CHECK_THROWS_AS(run_kernel1("And", {}, {&a, &b}), error);
}

TEST_CASE("Where selects with a three-way broadcast") {
    const tensor c = tensor::from<bool>({2, 1}, {true, false});
    const tensor x = tensor::from<std::int64_t>({3}, {1, 2, 3});
    const tensor y = tensor::from<std::int64_t>({2, 3}, {10, 20, 30, 40, 50, 60});
    const tensor out = run_kernel1("Where", {}, {&c, &x, &y});
    CHECK(out.shape() == shape_t{2, 3});
    check_close<std::int64_t>(out, {1, 2, 3, 40, 50, 60});
    const tensor c2 = tensor::from<bool>({2, 2}, {true, false, true, true});
    const tensor x2 = tensor::from<float>({2, 2}, {1, 2, 3, 4});
    const tensor y2 = tensor::from<float>({2, 2}, {9, 8, 7, 6});
    check_close<float>(run_kernel1("Where", {}, {&c2, &x2, &y2}), {1, 8, 3, 4});
}

TEST_CASE("variadic Sum, Mean, Max and Min broadcast all operands; Max/Min propagate NaN") {
    const tensor a = tensor::from<float>({3}, {3, 2, 1});
    const tensor b = tensor::from<float>({3}, {1, 4, 4});
    const tensor c = tensor::from<float>({2, 1}, {2, 6});
    const tensor s = run_kernel1("Sum", {}, {&a, &b, &c});
    CHECK(s.shape() == shape_t{2, 3});
    check_close<float>(s, {6, 8, 7, 10, 12, 11});
    check_close<float>(run_kernel1("Mean", {}, {&a, &b, &c}), {2, 8.f / 3, 7.f / 3, 10.f / 3, 4, 11.f / 3});
    check_close<float>(run_kernel1("Max", {}, {&a, &b, &c}), {3, 4, 4, 6, 6, 6});
    check_close<float>(run_kernel1("Min", {}, {&a, &b, &c}), {1, 2, 1, 1, 2, 1});
    check_close<float>(run_kernel1("Sum", {}, {&a}), {3, 2, 1});
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const tensor n1 = tensor::from<float>({2}, {nan, 1});
    const tensor n2 = tensor::from<float>({2}, {1, nan});
    check_close<float>(run_kernel1("Max", {}, {&n1, &n2}), {nan, nan});
    check_close<float>(run_kernel1("Min", {}, {&n1, &n2}), {nan, nan});
}

TEST_CASE("activations match their closed forms") {
    const tensor x = tensor::from<float>({5}, {-3.f, -0.5f, 0.f, 0.5f, 4.f});
    check_close<float>(run_kernel1("Relu", {}, {&x}), {0, 0, 0, 0.5f, 4});
    check_close<float>(run_kernel1("LeakyRelu", attrs_of({{"alpha", 0.1f}}), {&x}), {-0.3f, -0.05f, 0, 0.5f, 4});
    // numpy: 1 / (1 + exp(-x)), np.tanh(x)
    check_close<float>(run_kernel1("Sigmoid", {}, {&x}), {0.047425873f, 0.37754067f, 0.5f, 0.62245933f, 0.98201379f});
    check_close<float>(run_kernel1("Tanh", {}, {&x}), {-0.99505475f, -0.46211716f, 0.f, 0.46211716f, 0.99932930f});
    check_close<float>(run_kernel1("HardSigmoid", {}, {&x}), {0, 0.4f, 0.5f, 0.6f, 1});
    check_close<float>(run_kernel1("HardSwish", {}, {&x}), {0, -0.5f * (2.5f / 6), 0, 0.5f * (3.5f / 6), 4});
    // numpy: alpha * (exp(x) - 1) for x < 0
    check_close<float>(run_kernel1("Elu", attrs_of({{"alpha", 2.f}}), {&x}), {-1.90042586f, -0.78693868f, 0, 0.5f, 4});
    check_close<float>(run_kernel1("Selu", {}, {&x}), {-1.67056873f, -0.69175819f, 0, 0.52535051f, 4.20280409f});
    check_close<float>(run_kernel1("Celu", attrs_of({{"alpha", 2.f}}), {&x}), {-1.55373968f, -0.44239843f, 0, 0.5f, 4});
    check_close<float>(run_kernel1("Softplus", {}, {&x}),
                       {0.04858735f, 0.47407698f, 0.69314718f, 0.97407698f, 4.01814993f});
    check_close<float>(run_kernel1("Softsign", {}, {&x}), {-0.75f, -1.f / 3, 0, 1.f / 3, 0.8f});
    check_close<float>(run_kernel1("ThresholdedRelu", {}, {&x}), {0, 0, 0, 0, 4});
    check_close<float>(run_kernel1("Shrink", attrs_of({{"lambd", 0.5f}, {"bias", 1.f}}), {&x}), {-2, 0, 0, 0, 3});
    const tensor big = tensor::from<float>({2}, {100.f, -100.f});
    check_close<float>(run_kernel1("Softplus", {}, {&big}), {100.f, 3.7200760e-44f}, within(1e-6, 1e-30));
    check_close<float>(run_kernel1("Sigmoid", {}, {&big}), {1.f, 0.f});
}

TEST_CASE("PRelu broadcasts the slope to X") {
    const tensor x = tensor::from<float>({1, 2, 2}, {-1, 2, -3, 4});
    const tensor slope = tensor::from<float>({2, 1}, {0.5f, 0.25f});
    const tensor y = run_kernel1("PRelu", {}, {&x, &slope});
    CHECK(y.shape() == shape_t{1, 2, 2});
    check_close<float>(y, {-0.5f, 2, -0.75f, 4});
    const tensor wide = tensor::from<float>({3, 1, 1}, {1, 2, 3});
    CHECK_THROWS_AS(run_kernel1("PRelu", {}, {&x, &wide}), error);
}

TEST_CASE("unary math: rounding half to even, sign, reciprocal, exp/log and trigonometry") {
    const tensor x = tensor::from<float>({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.3f, -2.7f, 0.f});
    check_close<float>(run_kernel1("Round", {}, {&x}), {0, 2, 2, -0, -2, 2, -3, 0});
    check_close<float>(run_kernel1("Floor", {}, {&x}), {0, 1, 2, -1, -2, 2, -3, 0});
    check_close<float>(run_kernel1("Ceil", {}, {&x}), {1, 2, 3, -0, -1, 3, -2, 0});
    check_close<float>(run_kernel1("Sign", {}, {&x}), {1, 1, 1, -1, -1, 1, -1, 0});
    check_close<float>(run_kernel1("Abs", {}, {&x}), {0.5f, 1.5f, 2.5f, 0.5f, 1.5f, 2.3f, 2.7f, 0});
    check_close<float>(run_kernel1("Neg", {}, {&x}), {-0.5f, -1.5f, -2.5f, 0.5f, 1.5f, -2.3f, 2.7f, 0});
    const tensor p = tensor::from<double>({3}, {0.25, 1.0, 4.0});
    check_close<double>(run_kernel1("Reciprocal", {}, {&p}), {4, 1, 0.25});
    check_close<double>(run_kernel1("Sqrt", {}, {&p}), {0.5, 1, 2});
    check_close<double>(run_kernel1("Log", {}, {&p}), {-1.3862943611198906, 0, 1.3862943611198906});
    check_close<double>(run_kernel1("Exp", {}, {&p}), {1.2840254166877414, 2.718281828459045, 54.598150033144236});
    const tensor t = tensor::from<float>({2}, {0.5f, -0.25f});
    // numpy float64 values of sin, cos, ..., erf at 0.5 and -0.25
    check_close<float>(run_kernel1("Sin", {}, {&t}), {0.47942554f, -0.24740396f});
    check_close<float>(run_kernel1("Cos", {}, {&t}), {0.87758256f, 0.96891242f});
    check_close<float>(run_kernel1("Tan", {}, {&t}), {0.54630249f, -0.25534192f});
    check_close<float>(run_kernel1("Asin", {}, {&t}), {0.52359878f, -0.25268026f});
    check_close<float>(run_kernel1("Acos", {}, {&t}), {1.04719755f, 1.82347658f});
    check_close<float>(run_kernel1("Atan", {}, {&t}), {0.46364761f, -0.24497866f});
    check_close<float>(run_kernel1("Sinh", {}, {&t}), {0.52109531f, -0.25261232f});
    check_close<float>(run_kernel1("Cosh", {}, {&t}), {1.12762597f, 1.03141310f});
    check_close<float>(run_kernel1("Asinh", {}, {&t}), {0.48121183f, -0.24746646f});
    check_close<float>(run_kernel1("Atanh", {}, {&t}), {0.54930614f, -0.25541281f});
    check_close<float>(run_kernel1("Erf", {}, {&t}), {0.52049988f, -0.27632639f});
    const tensor h = tensor::from<float>({2}, {1.5f, 2.f});
    check_close<float>(run_kernel1("Acosh", {}, {&h}), {0.96242365f, 1.31695790f});
    const tensor ints = tensor::from<std::int8_t>({3}, {-128, -5, 7});
    check_close<std::int8_t>(run_kernel1("Abs", {}, {&ints}), {-128, 5, 7});  // wraps like numpy
    check_close<std::int8_t>(run_kernel1("Relu", {}, {&ints}), {0, 0, 7});
}

TEST_CASE("IsNaN and IsInf classify floats") {
    const float inf = std::numeric_limits<float>::infinity();
    const tensor x = tensor::from<float>({4}, {1.f, std::nanf(""), inf, -inf});
    check_close<bool>(run_kernel1("IsNaN", {}, {&x}), {false, true, false, false});
    check_close<bool>(run_kernel1("IsInf", {}, {&x}), {false, false, true, true});
    check_close<bool>(run_kernel1("IsInf", attrs_of({{"detect_negative", std::int64_t{0}}}), {&x}),
                      {false, false, true, false});
    check_close<bool>(run_kernel1("IsInf", attrs_of({{"detect_positive", std::int64_t{0}}}), {&x}),
                      {false, false, false, true});
}

TEST_CASE("Clip takes optional min and max inputs of X's type") {
    const tensor x = tensor::from<float>({4}, {-2, -0.5f, 0.5f, 2});
    const tensor lo = tensor::scalar<float>(-1.f);
    const tensor hi = tensor::scalar<float>(1.f);
    check_close<float>(run_kernel1("Clip", {}, {&x, &lo, &hi}), {-1, -0.5f, 0.5f, 1});
    check_close<float>(run_kernel1("Clip", {}, {&x, &lo}), {-1, -0.5f, 0.5f, 2});
    check_close<float>(run_kernel1("Clip", {}, {&x, nullptr, &hi}), {-2, -0.5f, 0.5f, 1});
    check_close<float>(run_kernel1("Clip", {}, {&x}), {-2, -0.5f, 0.5f, 2});
    const tensor xi = tensor::from<std::int8_t>({3}, {-100, 5, 100});
    const tensor hi8 = tensor::scalar<std::int8_t>(10);
    check_close<std::int8_t>(run_kernel1("Clip", {}, {&xi, nullptr, &hi8}), {-100, 5, 10});
    CHECK_THROWS_AS(run_kernel1("Clip", {}, {&x, &hi8}), error);  // bound of another type
    const tensor two = tensor::from<float>({2}, {0, 1});
    CHECK_THROWS_AS(run_kernel1("Clip", {}, {&x, &two}), error);  // bound not a scalar
}

TEST_CASE("invalid operands are errors that name the node") {
    const tensor a = tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
    const tensor b = tensor::from<float>({4}, {1, 2, 3, 4});
    const tensor i = tensor::from<std::int32_t>({3}, {1, 2, 3});
    const tensor flags = tensor::from<bool>({3}, {true, false, true});
    CHECK_THROWS_WITH_AS(run_kernel1("Add", {}, {&a, &b}), doctest::Contains("'n0' (Add)"), error);
    CHECK_THROWS_WITH_AS(run_kernel1("Mul", {}, {&a, &i}), doctest::Contains("types differ"), error);
    CHECK_THROWS_AS(run_kernel1("Add", {}, {&flags, &flags}), unsupported_error);
    CHECK_THROWS_AS(run_kernel1("Exp", {}, {&i}), unsupported_error);
    CHECK_THROWS_AS(run_kernel1("Add", {}, {&a}), error);  // missing second input
}
