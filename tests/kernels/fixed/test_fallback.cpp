// The CPU path (kernels/fixed/fallback.hpp), the registry (registry.hpp) and the interpreter
// running a small quantized graph with the fixed-point table.
#include <doctest/doctest.h>

#include <random>
#include <set>

#include "ktc/kernels/fixed/fallback.hpp"
#include "ktc/kernels/isa.hpp"
#include "kernels/fixed/fixed_support.hpp"
#include "ktc/sim/interpreter.hpp"

using namespace ktc;
using namespace ktc::testing;

TEST_CASE("a CPU node dequantizes its quantized inputs, runs the float kernel and quantizes its outputs") {
    std::mt19937 rng(41);
    const tensor x = random_codes(rng, {2, 10}, 8);
    const graph::attributes axis = attrs_of({{"axis", std::int64_t{1}}});
    const value_format out{7, 8};
    const tensor y = run_fixed1("Softmax", quantized(axis, {{4, 8}}, {out}), {&x});
    const tensor xf = dequantize(x, 4);
    // Exactly the float kernel's result quantized once: the same float computation on the same values.
    CHECK(codes(y) == codes(quantize(run_kernel1("Softmax", axis, {&xf}), out.radix, out.bits)));
    // Mixed widths and an operand that is not quantized (a float constant) passing through.
    const tensor a = random_codes(rng, {3, 4}, 16);
    const tensor d = tensor::scalar<float>(3.f);
    const tensor q = run_fixed1("Div", quantized({}, {{10, 16}, not_q}, {{6, 8}}), {&a, &d});
    CHECK(q.type() == dtype::int8);
    const tensor af = dequantize(a, 10);
    CHECK(codes(q) == codes(quantize(run_kernel1("Div", {}, {&af, &d}), 6, 8)));
    // An int64 operand (axes) passes through; an output marked not_quantized stays float.
    const tensor axes = tensor::from<std::int64_t>({1}, {1});
    const tensor m = run_fixed1(
        "ReduceMax", quantized(attrs_of({{"keepdims", std::int64_t{0}}}), {{4, 8}, not_q}, {not_q}), {&x, &axes});
    CHECK(m.type() == dtype::float32);
    CHECK(codes(m.cast(dtype::int64)).size() == 2);
}

TEST_CASE("integer shape arithmetic (no quantized input, no output format) runs on its values as they are") {
    const tensor a = tensor::from<std::int64_t>({2}, {3, 4}), b = tensor::from<std::int64_t>({1}, {-1});
    const graph::attributes plain = quantized({}, {not_q, not_q}, {not_q});
    CHECK(codes(run_fixed1("Mul", plain, {&a, &b})) == std::vector<std::int64_t>{-3, -4});
    CHECK(codes(run_fixed1("Add", plain, {&a, &b})) == std::vector<std::int64_t>{2, 3});
    const graph::attributes axis0 = quantized(attrs_of({{"axis", std::int64_t{0}}}), {not_q, not_q}, {not_q});
    CHECK(codes(run_fixed1("Concat", axis0, {&a, &b})) == std::vector<std::int64_t>{3, 4, -1});
    CHECK(codes(run_fixed1("Neg", quantized({}, {not_q}, {not_q}), {&a})) == std::vector<std::int64_t>{-3, -4});
}

TEST_CASE("a CPU node whose float output has no format is an error naming the node") {
    const tensor x = tensor::from<std::int8_t>({2}, {1, 2});
    graph::attributes a;
    a.set(fixed::attr::input_radix, std::vector<std::int64_t>{0});
    a.set(fixed::attr::input_bits, std::vector<std::int64_t>{8});
    CHECK_THROWS_WITH_AS(run_fixed1("Softmax", a, {&x}), doctest::Contains("'n0' (Softmax)"), error);
    const tensor f = tensor::from<float>({2}, {1.f, 2.f});  // marked quantized but float
    CHECK_THROWS_WITH_AS(run_fixed1("Softmax", quantized({}, {{0, 8}}, {{0, 8}}), {&f}), doctest::Contains("integer"),
                         error);
}

TEST_CASE("the fixed table covers every float op; integer ops have integer kernels, the rest the CPU path") {
    const auto& fixed_table = kernels::fixed::kernels();
    // The ops without an integer kernel share one: the CPU path (the table's copy of run_in_float,
    // src/isa.cpp: the AVX-512 copy's own where this CPU runs that copy).
    std::set<kernels::kernel_fn> cpu_paths;
    for (const auto& [op, kernel] : kernels::floating::kernels()) {
        CAPTURE(op);
        REQUIRE(fixed_table.count(op) == 1);
        if (!kernels::fixed::is_integer_op(op)) cpu_paths.insert(fixed_table.at(op));
    }
    REQUIRE(cpu_paths.size() == 1);
    if (std::string(kernels::isa::running()) == "baseline")
        CHECK((*cpu_paths.begin() == &kernels::fixed::run_in_float));
    for (const auto& op : kernels::fixed::integer_ops()) {
        CAPTURE(op);
        CHECK((fixed_table.at(op) != *cpu_paths.begin()));
    }
    for (const auto& op : kernels::fixed::integer_ops()) CHECK(fixed_table.count(op) == 1);
    CHECK(kernels::fixed::is_integer_op("Conv"));
    CHECK(kernels::fixed::is_integer_op("Sigmoid"));
    CHECK(!kernels::fixed::is_integer_op("Softmax"));
}

TEST_CASE("the interpreter runs a quantized Conv -> Sigmoid (table) -> Softmax (CPU) graph with the fixed table") {
    graph::graph g;
    g.inputs.push_back({"x", dtype::int8, {1, 1, 1, 4}, true});
    g.initializers.emplace("w", tensor::from<std::int8_t>({2, 1, 1, 1}, {64, -64}));  // 0.5, -0.5 at radix 7
    graph::node conv;
    conv.name = "conv";
    conv.op_type = "Conv";
    conv.inputs = {"x", "w"};
    conv.outputs = {"c"};
    conv.attrs = quantized({}, {{4, 8}, not_q}, {{4, 8}});
    conv.attrs.set(fixed::attr::weight_radix, std::vector<std::int64_t>{7});
    graph::node sig;
    sig.name = "sig";
    sig.op_type = "Sigmoid";
    sig.inputs = {"c"};
    sig.outputs = {"s"};
    sig.attrs = quantized({}, {{4, 8}}, {{7, 8}});
    std::vector<float> grid(256);
    for (int i = 0; i < 256; ++i) grid[i] = fixed::dequantize(i - 128, 4);
    const tensor gx = tensor::from<float>({256}, grid);
    sig.attrs.set(fixed::attr::lookup_table, quantize(run_kernel1("Sigmoid", {}, {&gx}), 7, 8));
    graph::node soft;
    soft.name = "soft";
    soft.op_type = "Softmax";
    soft.inputs = {"s"};
    soft.outputs = {"y"};
    soft.attrs = quantized(attrs_of({{"axis", std::int64_t{1}}}), {{7, 8}}, {{7, 8}});
    g.add_node(conv);
    g.add_node(sig);
    g.add_node(soft);
    g.outputs.push_back({"y", dtype::int8, {1, 2, 1, 4}, true});
    const sim::interpreter run(g, kernels::fixed::kernels());
    const tensor x = tensor::from<std::int8_t>({1, 1, 1, 4}, {16, -16, 40, 0});  // 1, -1, 2.5, 0
    const tensor y = run.run({{"x", x}}).at("y");
    CHECK(y.type() == dtype::int8);
    CHECK(y.shape() == shape_t{1, 2, 1, 4});
    // By hand: conv gives +-x/2 at radix 4: (8, -8, 20, 0) and (-8, 8, -20, 0); sigmoid then
    // softmax over the two channels; compare with the kernels composed by hand.
    const tensor c = run_fixed1("Conv", conv.attrs, {&x, &g.initializers.at("w")});
    CHECK(codes(c) == std::vector<std::int64_t>{8, -8, 20, 0, -8, 8, -20, 0});
    const tensor s = run_fixed1("Sigmoid", sig.attrs, {&c});
    CHECK(codes(y) == codes(run_fixed1("Softmax", soft.attrs, {&s})));
    const auto yc = codes(y);
    for (std::size_t i = 0; i < 4; ++i) CHECK(std::abs(yc[i] + yc[i + 4] - 128) <= 2);  // the pair sums to ~1.0
}
