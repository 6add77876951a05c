// Centring bounded activations (quant/centre.hpp): the float model computes the same outputs, the
// clamp lands on the int8 type's two ends, tensors it must not move stay, and int8 accuracy improves.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "ktc/fixed/annotations.hpp"
#include "ktc/quant/accuracy.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/centre.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[1,3,8,8] -> Conv 3x3 3->4 + Clip(0,6) -> depthwise Conv 3x3 (padded) + Clip(0,6) -> Conv 1x1
// 4->4 + Clip(0,6) -> GlobalAveragePool -> Flatten -> Gemm 4->5 (transB) -> y. With `tap`, the
// depthwise Conv's Clip output is also a graph output; with `relu`, the first clamp is a Relu.
graph::graph centre_model(bool tap = false, bool relu = false) {
    model_builder b(13);
    b.input("x", {1, 3, 8, 8});
    b.output("y", {1, 5});
    if (tap) b.output("a2", {1, 4, 8, 8});
    add_float_initializer(b, "w1", {4, 3, 3, 3}, ramp(108, 0.05f, -2.5f));
    add_float_initializer(b, "b1", {4}, {0.5f, 1.f, 2.f, 3.f});
    add_float_initializer(b, "dw", {4, 1, 3, 3}, ramp(36, 0.03f, -0.2f));
    add_float_initializer(b, "pw", {4, 4, 1, 1}, ramp(16, 0.15f, -1.f));
    add_float_initializer(b, "pw_bias", {4}, {1.f, 2.f, 0.5f, 3.f});
    add_float_initializer(b, "fc", {5, 4}, ramp(20, 0.3f, -1.5f));
    add_float_initializer(b, "zero", {}, {0.f});
    add_float_initializer(b, "six", {}, {6.f});
    auto* c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"});
    c1->set_name("conv1");
    set_ints(c1, "pads", {1, 1, 1, 1});
    if (relu) b.node("Relu", {"c1"}, {"a1"})->set_name("act1");
    else b.node("Clip", {"c1", "zero", "six"}, {"a1"})->set_name("act1");
    auto* dw = b.node("Conv", {"a1", "dw"}, {"c2"});
    dw->set_name("dw");
    set_int(dw, "group", 4);
    set_ints(dw, "pads", {1, 1, 1, 1});
    b.node("Clip", {"c2", "zero", "six"}, {"a2"})->set_name("act2");
    b.node("Conv", {"a2", "pw", "pw_bias"}, {"c3"})->set_name("pw");
    b.node("Clip", {"c3", "zero", "six"}, {"a3"})->set_name("act3");
    b.node("GlobalAveragePool", {"a3"}, {"g"})->set_name("gap");
    b.node("Flatten", {"g"}, {"f"})->set_name("flatten");
    auto* fc = b.node("Gemm", {"f", "fc"}, {"y"});
    fc->set_name("fc");
    set_int(fc, "transB", 1);
    return ktc::onnx::parse(b.bytes(), "centre_model.onnx");
}

sim::tensor_map centre_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 3, 8, 8});
    for (std::int64_t k = 0; k < x.size(); ++k) x.data<float>()[k] = 0.11f * float((k * 7 + i * 5) % 29) - 1.5f;
    return {{"x", x}};
}

double largest_difference(const graph::graph& a, const graph::graph& b, const std::string& output) {
    const sim::float_simulator fa(a), fb(b);
    double diff = 0, largest = 0;
    for (std::size_t i = 0; i < 3; ++i) {
        const tensor ya = fa.run(centre_sample(i)).at(output), yb = fb.run(centre_sample(i)).at(output);
        for (std::int64_t k = 0; k < ya.size(); ++k) {
            largest = std::max(largest, double(std::fabs(ya.values<float>()[k])));
            diff = std::max(diff, double(std::fabs(ya.values<float>()[k] - yb.values<float>()[k])));
        }
    }
    return largest > 0 ? diff / largest : diff;
}

// Centred as analysis does it: at the ranges a first calibration gives.
quant::centring_report centre(graph::graph& g) {
    const auto cal = quant::calibrate(sim::float_simulator(g), 8, centre_sample);
    return quant::centre_bounded_activations(g, 8, cal);
}

graph::graph quantized(const graph::graph& g) {
    const sim::float_simulator reference(g);
    const auto cal = quant::calibrate(reference, 8, centre_sample);
    return quant::quantize<platform::kdp720>(reference.graph(), cal, {});
}

// x[1,1,8,8] (multiples of 1/64: exact at the input's radix 6) -> Conv 1x1 1->2 with weights 4
// and 3 (exact in their formats) + Clip(0,6) (or Relu) -> Conv 1x1 2->2 -> y: the clamp's output carries
// its own rounding and nothing else.
graph::graph exact_model(bool relu = false) {
    model_builder b(13);
    b.input("x", {1, 1, 8, 8});
    b.output("y", {1, 2, 8, 8});
    add_float_initializer(b, "w1", {2, 1, 1, 1}, {4.f, 3.f});
    add_float_initializer(b, "w2", {2, 2, 1, 1}, {0.5f, -0.25f, 0.75f, 1.f});
    add_float_initializer(b, "zero", {}, {0.f});
    add_float_initializer(b, "six", {}, {6.f});
    b.node("Conv", {"x", "w1"}, {"c1"})->set_name("conv1");
    if (relu) b.node("Relu", {"c1"}, {"a1"})->set_name("act1");
    else b.node("Clip", {"c1", "zero", "six"}, {"a1"})->set_name("act1");
    b.node("Conv", {"a1", "w2"}, {"y"})->set_name("conv2");
    return ktc::onnx::parse(b.bytes(), "exact_model.onnx");
}

sim::tensor_map exact_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 1, 8, 8});
    for (std::int64_t k = 0; k < x.size(); ++k) x.data<float>()[k] = float((k * 7 + i * 5) % 193) / 64.f - 1.f;
    return {{"x", x}};
}

// The int8 rounding noise of `value` (fixed minus float, summed over 8 unseen samples). Noise, not
// SNR: a centred tensor's values are moved by c, which would inflate its signal.
double int8_noise(const graph::graph& g, const std::string& value,
                  const std::function<sim::tensor_map(std::size_t)>& sample = exact_sample) {
    const sim::float_simulator reference(g);
    const auto cal = quant::calibrate(reference, 8, sample);
    const sim::fixed_simulator fixed(quant::quantize<platform::kdp720>(reference.graph(), cal, {}));
    for (const auto& l : quant::per_layer_accuracy(reference, fixed, 8, [&](std::size_t i) { return sample(8 + i); }))
        if (l.value == value) return l.error.noise;
    FAIL("no tensor " << value);
    return 0;
}

}  // namespace

TEST_CASE("centring keeps the float outputs and pads a padded reader with the moved zero") {
    const graph::graph before = centre_model();
    graph::graph after = before;
    const auto report = centre(after);
    CHECK(report.activations == 2);  // conv1 -> dw (padded), dw -> pw; not pw -> gap (an average)
    CHECK(report.pads == 1);
    CHECK(largest_difference(before, after, "y") <= 1e-5);
    const auto pad = after.producer(after[*after.find_node("dw")].input(0));
    REQUIRE(pad);
    CHECK(after[*pad].op_type == "Pad");
    CHECK(after[*after.find_node("dw")].attrs.get_ints("pads", {}) == std::vector<std::int64_t>{0, 0, 0, 0});
    // The readers know the shift: their quantized biases also absorb what rounding their weights
    // makes of it (the zoo's mobilenet_v2 and the real-model suite's MobileNetV1 measure it).
    for (const char* reader : {"dw", "pw"})
        CHECK(after[*after.find_node(reader)].attrs.get_float(quant::input_shift_attribute, 0.f) > 0.f);
    CHECK(!after[*after.find_node("fc")].attrs.has(quant::input_shift_attribute));
}

TEST_CASE("a centred clamp is the int8 output's own saturation") {
    graph::graph g = centre_model();
    centre(g);
    const graph::graph q = quantized(g);
    for (const char* name : {"conv1", "dw"}) {
        CAPTURE(name);
        const graph::node& n = q[*q.find_node(name)];
        const double lo = n.attrs.get_float(kernels::attr::fused_min), hi = n.attrs.get_float(kernels::attr::fused_max);
        CHECK(n.attrs.has(quant::centred_attribute));
        CHECK(lo < 0);
        CHECK(hi - lo == doctest::Approx(6.0).epsilon(1e-6));
        const fixed::value_format f = fixed::output_format(n);
        CHECK(f.bits == 8);
        CHECK(fixed::quantize(lo, f) == -128);
        CHECK(fixed::quantize(hi, f) >= 127);
    }
}

TEST_CASE("centring leaves a graph output alone") {
    graph::graph tapped = centre_model(/*tap=*/true);
    CHECK(centre(tapped).activations == 1);  // not dw's: a2 is an output
    CHECK(tapped[*tapped.find_node("act2")].op_type == "Clip");
    CHECK(largest_difference(centre_model(true), tapped, "a2") <= 1e-5);
}

TEST_CASE("a centred Relu is clamped at its one-sided clip, which its codes span") {
    graph::graph relu = centre_model(/*tap=*/false, /*relu=*/true);
    const auto cal = quant::calibrate(sim::float_simulator(relu), 8, centre_sample);
    const auto report = quant::centre_bounded_activations(relu, 8, cal);
    CHECK(report.relus == 1);
    CHECK(report.activations == 1);  // dw's Clip(0, 6); pw's is read by an average
    const graph::node& act = relu[*relu.find_node("act1")];
    REQUIRE(act.op_type == "Clip");
    const double lo = graph::constant_value(relu, act.input(1))->values<float>()[0],
                 hi = graph::constant_value(relu, act.input(2))->values<float>()[0];
    const double clip = cal.ranges.at("a1").mse_abs(9, true);  // 255 steps over [0, clip]
    CHECK(lo < 0);
    CHECK(hi - lo == doctest::Approx(clip).epsilon(1e-5));
    CHECK(hi - lo <= cal.ranges.at("a1").max_abs());

    // Quantized, the clamp is the output's saturation: -c on the lowest code, the clip on the top.
    const graph::graph q = quantized(relu);
    const graph::node& conv = q[*q.find_node("conv1")];
    const fixed::value_format f = fixed::output_format(conv);
    CHECK(fixed::quantize(conv.attrs.get_float(kernels::attr::fused_min), f) == -128);
    CHECK(fixed::quantize(conv.attrs.get_float(kernels::attr::fused_max), f) >= 126);
}

TEST_CASE("centring a ReLU6 output quarters its int8 rounding noise") {
    graph::graph centred = exact_model();
    const auto cal = quant::calibrate(sim::float_simulator(centred), 8, exact_sample);
    const auto report = quant::centre_bounded_activations(centred, 8, cal);
    REQUIRE(report.activations == 1);
    const double plain = int8_noise(exact_model(), "a1"), better = int8_noise(centred, "a1");
    CAPTURE(plain);
    CAPTURE(better);
    CHECK(better < plain / 3);  // 255 steps instead of 127 over [0, 6]: a quarter, about 6 dB
}

TEST_CASE("centring a Relu output lowers its int8 rounding noise") {
    graph::graph centred = exact_model(/*relu=*/true);
    const auto cal = quant::calibrate(sim::float_simulator(centred), 8, exact_sample);
    REQUIRE(quant::centre_bounded_activations(centred, 8, cal).relus == 1);
    const double plain = int8_noise(exact_model(true), "a1"), better = int8_noise(centred, "a1");
    CAPTURE(plain);
    CAPTURE(better);
    CHECK(better < plain / 2);  // 255 steps instead of 127, less what clipping at the mse clip costs
}

namespace {

// x[1,1,8,8] -> Conv 1x1 1->2 + Relu, Conv 1x1 1->2 + Clip(0,6) -> Concat -> Conv 1x1 4->2 -> y;
// with `tap`, the Relu output is also a graph output; with `shared_bias`, both convs read one
// all-zero bias, as exporters write untrained nets.
graph::graph concat_model(bool tap = false, bool shared_bias = false) {
    model_builder b(13);
    b.input("x", {1, 1, 8, 8});
    b.output("y", {1, 2, 8, 8});
    if (tap) b.output("r", {1, 2, 8, 8});
    add_float_initializer(b, "wa", {2, 1, 1, 1}, {4.f, 3.f});
    add_float_initializer(b, "wb", {2, 1, 1, 1}, {2.f, -1.f});
    add_float_initializer(b, "w2", {2, 4, 1, 1}, {0.5f, -0.25f, 0.75f, 1.f, 0.25f, 0.5f, -0.5f, 0.125f});
    add_float_initializer(b, "zero", {}, {0.f});
    add_float_initializer(b, "six", {}, {6.f});
    add_float_initializer(b, "zb", {2}, {0.f, 0.f});
    const auto conv_inputs = [&](const char* w) {
        return shared_bias ? std::vector<std::string>{"x", w, "zb"} : std::vector<std::string>{"x", w};
    };
    b.node("Conv", conv_inputs("wa"), {"ca"})->set_name("conv_a");
    b.node("Relu", {"ca"}, {"r"})->set_name("relu_a");
    b.node("Conv", conv_inputs("wb"), {"cb"})->set_name("conv_b");
    b.node("Clip", {"cb", "zero", "six"}, {"s"})->set_name("clip_b");
    set_int(b.node("Concat", {"r", "s"}, {"k"}), "axis", 1);
    b.node("Conv", {"k", "w2"}, {"y"})->set_name("conv2");
    return ktc::onnx::parse(b.bytes(), "concat_model.onnx");
}

}  // namespace

TEST_CASE("the inputs of a Concat are centred by one shift, and the Concat keeps their format") {
    graph::graph g = concat_model();
    const auto cal = quant::calibrate(sim::float_simulator(g), 8, exact_sample);
    const auto report = quant::centre_bounded_activations(g, 8, cal);
    CHECK(report.concats == 1);
    CHECK(report.relus == 1);
    CHECK(report.activations == 1);
    const double shift_a = -graph::constant_value(g, g[*g.find_node("relu_a")].input(1))->values<float>()[0],
                 shift_b = -graph::constant_value(g, g[*g.find_node("clip_b")].input(1))->values<float>()[0];
    CHECK(shift_a > 0);
    CHECK(shift_a == shift_b);
    CHECK(g[*g.find_node("conv2")].attrs.get_float(quant::input_shift_attribute, 0.f) == float(shift_a));

    const sim::float_simulator reference(g);
    const graph::graph q =
        quant::quantize<platform::kdp720>(reference.graph(), quant::calibrate(reference, 8, exact_sample), {});
    const fixed::value_format a = fixed::output_format(q[*q.find_node("conv_a")]),
                              k = fixed::output_format(q[*q.producer("k")]);
    CHECK(a.radix == k.radix);
    CHECK(a.scale == k.scale);
    CHECK(fixed::quantize(-shift_a, k) == -128);

    const double plain = int8_noise(concat_model(), "k"), better = int8_noise(g, "k");
    CAPTURE(plain);
    CAPTURE(better);
    CHECK(better < plain / 2);

    graph::graph tapped = concat_model(/*tap=*/true);  // an input read elsewhere: nothing moves
    const auto tapped_cal = quant::calibrate(sim::float_simulator(tapped), 8, exact_sample);
    CHECK(quant::centre_bounded_activations(tapped, 8, tapped_cal).concats == 0);

    graph::graph shared = concat_model(/*tap=*/false, /*shared_bias=*/true);  // each conv gets its own copy
    const auto shared_cal = quant::calibrate(sim::float_simulator(shared), 8, exact_sample);
    CHECK(quant::centre_bounded_activations(shared, 8, shared_cal).concats == 1);
    CHECK(shared[*shared.find_node("conv_a")].input(2) != shared[*shared.find_node("conv_b")].input(2));
}
