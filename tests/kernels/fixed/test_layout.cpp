// Fixed-point data-movement ops (kernels/fixed/layout.hpp): the float kernels on the integers,
// rescaled only where an output's format differs from the input's.
#include <doctest/doctest.h>

#include <random>

#include "ktc/kernels/fixed/layout.hpp"
#include "kernels/fixed/fixed_support.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

tensor ints(shape_t s, std::vector<std::int64_t> v) { return tensor::from<std::int64_t>(std::move(s), v); }

}  // namespace

TEST_CASE("data-movement ops move the integers unchanged at an unchanged format") {
    std::mt19937 rng(31);
    const tensor x = random_codes(rng, {1, 4, 2, 3}, 8);
    const tensor x16 = random_codes(rng, {1, 4, 2, 3}, 16);
    const tensor shape = ints({2}, {4, 6}), axes = ints({1}, {0}), axis1 = ints({1}, {1}), starts = ints({1}, {1}),
                 ends = ints({1}, {3});
    const tensor indices = ints({2}, {3, 1}), repeats = ints({4}, {1, 1, 2, 1}), expand_to = ints({4}, {2, 4, 2, 3});
    struct move_case {
        std::string op;
        graph::attributes attrs;
        std::vector<const tensor*> extra;
    };
    const std::vector<move_case> cases{
        {"Reshape", {}, {&shape}},
        {"Flatten", attrs_of({{"axis", std::int64_t{2}}}), {}},
        {"Transpose", attrs_of({{"perm", shape_t{0, 2, 3, 1}}}), {}},
        {"Squeeze", {}, {&axes}},
        {"Unsqueeze", {}, {&axes}},
        {"Slice", {}, {&starts, &ends, &axis1}},
        {"Gather", attrs_of({{"axis", std::int64_t{1}}}), {&indices}},
        {"Identity", {}, {}},
        {"DepthToSpace", attrs_of({{"blocksize", std::int64_t{2}}}), {}},
        {"Tile", {}, {&repeats}},
        {"Expand", {}, {&expand_to}},
    };
    for (const tensor* in : {&x, &x16}) {
        const int bits = in->type() == dtype::int8 ? 8 : 16;
        for (const auto& c : cases) {
            CAPTURE(c.op);
            std::vector<const tensor*> args{in};
            std::vector<value_format> formats{{5, bits}};
            for (auto* e : c.extra) {
                args.push_back(e);
                formats.push_back(not_q);
            }
            const tensor y = run_fixed1(c.op, quantized(c.attrs, formats, {{5, bits}}), args);
            const tensor want = run_kernel1(c.op, c.attrs, args);  // the float kernel on the integers
            REQUIRE(y.type() == in->type());
            CHECK(y.shape() == want.shape());
            CHECK(codes(y) == codes(want));
        }
    }
    // Shape makes an int64 tensor without a fixed-point format: it passes through.
    const tensor s = run_fixed1("Shape", quantized({}, {{5, 8}}, {not_q}), {&x});
    CHECK(codes(s) == std::vector<std::int64_t>{1, 4, 2, 3});
}

TEST_CASE("a data-movement op whose output format differs rescales after the move") {
    const tensor x = tensor::from<std::int8_t>({2, 2}, {3, -3, 100, -100});
    const graph::attributes perm = attrs_of({{"perm", shape_t{1, 0}}});
    // radix 2 -> 1: 1.5 -> 2, -1.5 -> -1, 50, -50; transposed.
    const tensor y = run_fixed1("Transpose", quantized(perm, {{2, 8}}, {{1, 8}}), {&x});
    CHECK(codes(y) == std::vector<std::int64_t>{2, 50, -1, -50});
    // radix 2 -> 4 at 8 bits saturates; at 16 bits it is exact.
    CHECK(codes(run_fixed1("Transpose", quantized(perm, {{2, 8}}, {{4, 8}}), {&x})) ==
          std::vector<std::int64_t>{12, 127, -12, -128});
    const tensor w = run_fixed1("Transpose", quantized(perm, {{2, 8}}, {{4, 16}}), {&x});
    CHECK(w.type() == dtype::int16);
    CHECK(codes(w) == std::vector<std::int64_t>{12, 400, -12, -400});
    // Split: each output at its own format.
    const tensor parts = ints({2}, {1, 1});
    const auto out = run_fixed(
        "Split", quantized(attrs_of({{"axis", std::int64_t{0}}}), {{2, 8}, not_q}, {{2, 8}, {0, 16}}), {&x, &parts}, 2);
    CHECK(codes(out[0]) == std::vector<std::int64_t>{3, -3});
    CHECK(out[1].type() == dtype::int16);
    CHECK(codes(out[1]) == std::vector<std::int64_t>{25, -25});
}

TEST_CASE("fixed Pad fills with 0, a float constant quantized at the input format, or a rescaled quantized one") {
    const tensor x = tensor::from<std::int8_t>({1, 2}, {7, -7});
    const tensor pads = ints({4}, {0, 1, 0, 2});
    CHECK(codes(run_fixed1("Pad", quantized({}, {{3, 8}, not_q}, {{3, 8}}), {&x, &pads})) ==
          std::vector<std::int64_t>{0, 7, -7, 0, 0});
    const tensor fill = tensor::scalar<float>(0.3125f);  // 2.5 at radix 3 -> 3
    CHECK(codes(run_fixed1("Pad", quantized({}, {{3, 8}, not_q, not_q}, {{3, 8}}), {&x, &pads, &fill})) ==
          std::vector<std::int64_t>{3, 7, -7, 3, 3});
    const tensor qfill = tensor::from<std::int8_t>({1}, {-5});  // -5 at radix 1 -> -20 at radix 3
    CHECK(codes(run_fixed1("Pad", quantized({}, {{3, 8}, not_q, {1, 8}}, {{3, 8}}), {&x, &pads, &qfill})) ==
          std::vector<std::int64_t>{-20, 7, -7, -20, -20});
    // Output at another radix: the fill moves with the data.
    CHECK(codes(run_fixed1("Pad", quantized({}, {{3, 8}, not_q, not_q}, {{2, 8}}), {&x, &pads, &fill})) ==
          std::vector<std::int64_t>{2, 4, -3, 2, 2});
}

TEST_CASE("fixed Resize: nearest moves integers, linear runs as a CPU node") {
    const tensor x = tensor::from<std::int8_t>({1, 1, 2, 2}, {1, 2, 3, 4});
    const tensor scales = tensor::from<float>({4}, {1.f, 1.f, 2.f, 2.f});
    const graph::attributes nearest = attrs_of({{"mode", std::string("nearest")}});
    const tensor y = run_fixed1("Resize", quantized(nearest, {{4, 8}, not_q, not_q}, {{4, 8}}), {&x, nullptr, &scales});
    CHECK(y.type() == dtype::int8);
    CHECK(codes(y) == codes(run_kernel1("Resize", nearest, {&x, nullptr, &scales})));
    const graph::attributes linear = attrs_of({{"mode", std::string("linear")}});
    const tensor z = run_fixed1("Resize", quantized(linear, {{4, 8}, not_q, not_q}, {{4, 8}}), {&x, nullptr, &scales});
    const tensor xf = dequantize(x, 4);
    const tensor want = run_kernel1("Resize", linear, {&xf, nullptr, &scales});
    CHECK(codes(z) == codes(quantize(want, 4, 8)));
}
