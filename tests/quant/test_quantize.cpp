// The quantizer on small graphs: radices from calibrated ranges, per-channel weights, int32
// biases at the accumulator radix, data-moving ops keeping their input's format, lookup tables,
// platform widths; and calibration independent of the thread count.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/quant/range_search.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "support/onnx_builder.hpp"
#include "support/output_snr.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[1,2,4,4] -> Conv(2->3, 3x3, pad 1) + Relu -> Sigmoid -> Reshape -> y[1,48]
graph::graph conv_model() {
    model_builder b(13);
    b.input("x", {1, 2, 4, 4});
    b.output("y", {1, 48});
    std::vector<float> w(3 * 2 * 9);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = (i < 18 ? 0.05f : i < 36 ? 0.9f : 3.f) * (i % 2 ? 1.f : -1.f);
    add_float_initializer(b, "w", {3, 2, 3, 3}, w);
    add_float_initializer(b, "bias", {3}, {0.25f, -0.5f, 100.f});
    add_int64_initializer(b, "shape", {2}, {1, 48});
    auto* conv = b.node("Conv", {"x", "w", "bias"}, {"c"});
    conv->set_name("conv");
    set_ints(conv, "pads", {1, 1, 1, 1});
    b.node("Relu", {"c"}, {"r"})->set_name("relu");
    b.node("Sigmoid", {"r"}, {"s"})->set_name("sigmoid");
    b.node("Reshape", {"s", "shape"}, {"y"})->set_name("reshape");
    return ktc::onnx::parse(b.bytes(), "conv_model.onnx");
}

sim::tensor_map sample(std::size_t i) {
    tensor x(dtype::float32, {1, 2, 4, 4});
    for (std::int64_t k = 0; k < x.size(); ++k) x.data<float>()[k] = 0.1f * float((k * 5 + i * 3) % 13) - 0.55f;
    return {{"x", x}};
}

}  // namespace

TEST_CASE("calibration gives the same ranges with 1 and 3 threads") {
    const sim::float_simulator sim(conv_model());
    quant::calibration_options one, three;
    one.threads = 1;
    three.threads = 3;
    const auto a = quant::calibrate(sim, 7, sample, one), b = quant::calibrate(sim, 7, sample, three);
    CHECK(a.samples == 7);
    CHECK(b.samples == 7);
    REQUIRE(a.ranges.size() == b.ranges.size());
    for (const auto& [name, r] : a.ranges) {
        CAPTURE(name);
        CHECK(b.ranges.at(name).max_abs() == r.max_abs());
        CHECK(b.ranges.at(name).percentile_abs(0.999) == r.percentile_abs(0.999));
        CHECK(b.channel_means.at(name).means() == a.channel_means.at(name).means());  // exact sums
    }
    CHECK(a.ranges.at("x").max_abs() == doctest::Approx(0.65));
    CHECK_THROWS_AS(quant::calibrate(sim, 0, sample), usage_error);
}

TEST_CASE("quantize annotates formats, per-channel weights and the int32 bias") {
    const sim::float_simulator sim(conv_model());  // Conv + Relu fused: the Conv produces "r"
    const auto cal = quant::calibrate(sim, 5, sample);
    quant::quantize_options o;
    o.method = quant::range_method::max;
    o.bias_correction = false;                     // the bias as given (bias correction has its own test)
    o.scales = quant::scale_policy::power_of_two;  // the radix rules alone (scales have their own test)
    const graph::graph q = quant::quantize<platform::kdp520>(sim.graph(), cal, o);

    const auto& conv = q[*q.find_node("conv")];
    CHECK(conv.outputs[0] == "r");
    CHECK(conv.attrs.get_ints(fixed::attr::weight_radix) == std::vector<std::int64_t>{11, 7, 5});  // 0.05, 0.9, 3.0
    const tensor& w = *q.initializer(conv.input(1));
    CHECK(w.type() == dtype::int8);
    CHECK(w.values<std::int8_t>()[0] == -102);  // -0.05 * 2048 = -102.4
    const int r_in = fixed::radix_for(cal.ranges.at("x").max_abs(), 8);
    CHECK(fixed::input_format(conv, 0).radix == r_in);
    const auto bias_radix = conv.attrs.get_ints(fixed::attr::bias_radix);
    CHECK(bias_radix[0] == r_in + 11);
    CHECK(bias_radix[2] <= r_in + 5);  // 100 * 2^(r_in + 5) may not fit in int32: lowered if so
    const tensor& b = *q.initializer(conv.input(2));
    CHECK(b.type() == dtype::int32);
    CHECK(b.values<std::int32_t>()[0] == fixed::quantize(0.25, int(bias_radix[0]), 32));
    CHECK(fixed::output_format(conv).radix == fixed::radix_for(cal.ranges.at("r").max_abs(), 8));

    // Sigmoid: a 256-entry table at the output radix; Reshape keeps its input's format.
    const auto& sig = q[*q.find_node("sigmoid")];
    const tensor& lut = sig.attrs.get_tensor(fixed::attr::lookup_table);
    CHECK(lut.size() == 256);
    CHECK(lut.type() == dtype::int8);
    const auto out = fixed::output_format(sig);
    CHECK(out.radix == 7);  // sigmoid <= 1 -> radix 7
    const int r_r = fixed::output_format(conv).radix;
    CHECK(lut.values<std::int8_t>()[128] == fixed::quantize(0.5, out.radix, 8));  // code 0 -> sigmoid(0)
    CHECK(lut.values<std::int8_t>()[255] ==
          fixed::quantize(1 / (1 + std::exp(-fixed::dequantize(127, r_r))), out.radix, 8));
    const auto& reshape = q[*q.find_node("reshape")];
    CHECK(fixed::output_format(reshape).radix == out.radix);
    CHECK(fixed::radices_of_inputs(reshape)[1] == fixed::not_quantized);  // the int64 shape
    CHECK(fixed::edge_formats(q).at("y").radix == out.radix);
    CHECK(q.initializers.count("w") == 0);  // the float weights are gone
}

TEST_CASE("int16 is refused on 520 and accepted on 720; per-tensor weights share one radix") {
    const sim::float_simulator sim(conv_model());
    const auto cal = quant::calibrate(sim, 3, sample);
    quant::quantize_options o;
    o.bits = 16;
    CHECK_THROWS_AS(quant::quantize<platform::kdp520>(sim.graph(), cal, o), usage_error);
    const auto q16 = quant::quantize<platform::kdp720>(sim.graph(), cal, o);
    const auto& conv = q16[*q16.find_node("conv")];
    CHECK(q16.initializer(conv.input(1))->type() == dtype::int16);
    CHECK(fixed::output_format(conv).bits == 16);
    CHECK(q16[*q16.find_node("sigmoid")].attrs.get_tensor(fixed::attr::lookup_table).size() == 65536);

    quant::quantize_options mixed;
    mixed.int16_nodes = {"sigmoid"};
    const auto qm = quant::quantize<platform::kdp720>(sim.graph(), cal, mixed);
    CHECK(fixed::output_format(qm[*qm.find_node("conv")]).bits == 8);
    CHECK(fixed::output_format(qm[*qm.find_node("sigmoid")]).bits == 16);
    mixed.int16_nodes = {"nope"};
    CHECK_THROWS_AS(quant::quantize<platform::kdp720>(sim.graph(), cal, mixed), usage_error);

    quant::quantize_options per_tensor;
    per_tensor.per_channel_weights = false;
    const auto qt = quant::quantize<platform::kdp520>(sim.graph(), cal, per_tensor);
    CHECK(qt[*qt.find_node("conv")].attrs.get_ints(fixed::attr::weight_radix) == std::vector<std::int64_t>{5, 5, 5});
}

namespace {

// x[1,2,4,4] -> Conv(2->3, 3x3, pad 1) + Relu -> c, with a dead channel as a trained net leaves
// it after BN folding (weights 2e-34, bias -0.77: mini-Xception's conv2d_1), a denormal channel
// (1e-41) and a live one; and x * 1e-39 -> d, a tensor whose whole range is denormal.
graph::graph dead_channel_model() {
    model_builder b(13);
    b.input("x", {1, 2, 4, 4});
    b.output("c", {1, 3, 4, 4});
    b.output("d", {1, 2, 4, 4});
    std::vector<float> w(3 * 2 * 9);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = (i < 18 ? 2e-34f : i < 36 ? 1e-41f : 0.5f) * (i % 3 ? 1.f : -1.f);
    add_float_initializer(b, "w", {3, 2, 3, 3}, w);
    add_float_initializer(b, "bias", {3}, {-0.77f, 0.3f, 0.1f});
    add_float_initializer(b, "tiny", {1}, {1e-39f});
    auto* conv = b.node("Conv", {"x", "w", "bias"}, {"conv_out"});
    conv->set_name("conv");
    set_ints(conv, "pads", {1, 1, 1, 1});
    b.node("Relu", {"conv_out"}, {"c"})->set_name("relu");
    b.node("Mul", {"x", "tiny"}, {"d"})->set_name("mul");
    return ktc::onnx::parse(b.bytes(), "dead_channel.onnx");
}

}  // namespace

TEST_CASE("zero, denormal and dead channels get sane radices: the fixed run works and matches the float one") {
    const sim::float_simulator sim(dead_channel_model());  // Relu fused: the Conv produces "c"
    const auto cal = quant::calibrate(sim, 4, sample);
    for (const int bits : {8, 16}) {
        CAPTURE(bits);
        quant::quantize_options o;
        o.bits = bits;
        const graph::graph q = quant::quantize<platform::kdp720>(sim.graph(), cal, o);
        CHECK_NOTHROW(fixed::check_annotations(q, "dead_channel.bie"));  // every radix within +-127
        const auto& conv = q[*q.find_node("conv")];
        const int r_in = fixed::input_format(conv, 0).radix, r_out = fixed::output_format(conv).radix;
        const auto w_radix = conv.attrs.get_ints(fixed::attr::weight_radix);
        const auto b_radix = conv.attrs.get_ints(fixed::attr::bias_radix);
        for (std::size_t c = 0; c < 3; ++c) {
            CAPTURE(c);
            // The accumulator at most 30 bits above the output and above the bias (the rule).
            CHECK(r_in + w_radix[c] <= r_out + fixed::max_bias_shift);
            CHECK(r_in + w_radix[c] - b_radix[c] <= fixed::max_bias_shift);
            CHECK(b_radix[c] <= r_in + w_radix[c]);
        }
        CHECK(w_radix[2] ==
              fixed::format_for(0.5, bits, false).radix);  // the live channel (max 0.5) keeps its own radix
        CHECK(fixed::output_format(q[*q.find_node("mul")]).radix <= bits - 1 + 32);

        const sim::fixed_simulator fixed{graph::graph(q)};
        for (std::size_t s = 0; s < 4; ++s) {
            const auto in = sample(s);
            const auto want = sim.run(in), got = fixed.run(in);
            const auto c_want = want.at("c").values<float>(), c_got = got.at("c").values<float>();
            for (std::size_t i = 0; i < c_want.size(); ++i)
                CHECK(std::abs(c_got[i] - c_want[i]) <= 0.1);  // input and weights of the live channel rounded
            for (const float v : got.at("d").values<float>()) CHECK(v == 0.f);  // 1e-39 * |x| < 2^-40
        }
    }
}

namespace {

// x[1,2,4,4] -> Conv(2->3, 3x3, pad 1) -> PRelu(slope [3,1,1], as Caffe's MTCNN) -> y
graph::graph prelu_model() {
    model_builder b(13);
    b.input("x", {1, 2, 4, 4});
    b.output("y", {1, 3, 4, 4});
    std::vector<float> w(3 * 2 * 9);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.1f * float(int(i % 7) - 3);
    add_float_initializer(b, "w", {3, 2, 3, 3}, w);
    add_float_initializer(b, "bias", {3}, {0.05f, -0.2f, 0.1f});
    add_float_initializer(b, "slope", {3, 1, 1}, {0.25f, 0.0732f, -0.6f});
    auto* conv = b.node("Conv", {"x", "w", "bias"}, {"c"});
    conv->set_name("conv");
    set_ints(conv, "pads", {1, 1, 1, 1});
    b.node("PRelu", {"c", "slope"}, {"y"})->set_name("prelu");
    return ktc::onnx::parse(b.bytes(), "prelu.onnx");
}

}  // namespace

TEST_CASE("PRelu with a per-channel slope is quantized to an integer slope per channel, not a table") {
    const sim::float_simulator sim(prelu_model());
    const auto cal = quant::calibrate(sim, 4, sample);
    for (const int bits : {8, 16}) {
        CAPTURE(bits);
        quant::quantize_options o;
        o.bits = bits;
        const graph::graph q = quant::quantize<platform::kdp720>(sim.graph(), cal, o);
        const auto& prelu = q[*q.find_node("prelu")];
        CHECK_FALSE(prelu.attrs.has(fixed::attr::lookup_table));
        CHECK(prelu.attrs.get_ints(fixed::attr::slope_radix) ==
              std::vector<std::int64_t>{bits + 1, bits + 2, bits - 1});
        const tensor& slope = *q.initializer(prelu.input(1));
        CHECK(slope.type() == fixed::integer_type(bits));
        CHECK(slope.to_vector<std::int64_t>() == std::vector<std::int64_t>{fixed::quantize(0.25, bits + 1, bits),
                                                                           fixed::quantize(0.0732, bits + 2, bits),
                                                                           fixed::quantize(-0.6, bits - 1, bits)});
        CHECK(q.initializers.count("slope") == 0);

        const sim::fixed_simulator fixed{graph::graph(q)};
        const int r_out = fixed::output_format(prelu).radix;
        for (std::size_t s = 0; s < 4; ++s) {
            const auto in = sample(s);
            // The runs' outputs are kept: values() is a span into the tensor.
            const auto want_run = sim.run(in), got_run = fixed.run(in);
            const auto want = want_run.at("y").values<float>(), got = got_run.at("y").values<float>();
            for (std::size_t i = 0; i < want.size(); ++i)  // input, weights and slope rounded: a few LSBs
                CHECK(std::abs(got[i] - want[i]) <= 8 * std::ldexp(1.0, -r_out) + (bits == 8 ? 0.05 : 0.001));
        }
    }
}

namespace {

// x[1,16,4,4] (values in [1, 3]) -> Conv 1x1 (16 -> 2) -> y. Output channel 0 reads input 0 with
// weight 0.9 and the 15 others with 0.0039, which round to 0 at that channel's radix (7): a
// systematic shift of the output mean by about -15 * 0.0039 * E[x] = -0.117, four output LSBs.
graph::graph rounding_bias_model() {
    model_builder b(13);
    b.input("x", {1, 16, 4, 4});
    b.output("y", {1, 2, 4, 4});
    std::vector<float> w(2 * 16, 0.f);
    w[0] = 0.9f;
    for (std::size_t k = 1; k < 16; ++k) w[k] = 0.0039f;
    for (std::size_t k = 16; k < 32; ++k) w[k] = k % 2 ? 0.375f : -0.25f;  // channel 1: exact at radix 8
    add_float_initializer(b, "w", {2, 16, 1, 1}, w);
    add_float_initializer(b, "bias", {2}, {0.1f, -0.1f});
    b.node("Conv", {"x", "w", "bias"}, {"y"})->set_name("conv");
    return ktc::onnx::parse(b.bytes(), "rounding_bias.onnx");
}

sim::tensor_map positive_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 16, 4, 4});
    for (std::int64_t k = 0; k < x.size(); ++k) x.data<float>()[k] = 1.f + 2.f * float((k * 7 + i * 11) % 29) / 28.f;
    return {{"x", x}};
}

// The mean over samples and positions of fixed - float, per output channel.
std::vector<double> mean_output_error(const sim::float_simulator& reference, const graph::graph& q, std::size_t first,
                                      std::size_t count) {
    const sim::fixed_simulator fixed{graph::graph(q)};
    std::vector<double> error(2, 0.0);
    for (std::size_t s = first; s < first + count; ++s) {
        const auto in = positive_sample(s);
        const auto want_outputs = reference.run(in), got_outputs = fixed.run(in);  // alive while read
        const auto want = want_outputs.at("y").values<float>(), got = got_outputs.at("y").values<float>();
        for (std::size_t i = 0; i < want.size(); ++i) error[i / 16] += double(got[i]) - double(want[i]);
    }
    for (auto& e : error) e /= double(16 * count);
    return error;
}

}  // namespace

TEST_CASE("bias correction removes the mean output shift of rounded weights (on inputs not calibrated on)") {
    const sim::float_simulator reference(rounding_bias_model());
    const auto cal = quant::calibrate(reference, 8, positive_sample);
    quant::quantize_options plain, corrected;
    corrected.bias_correction = true;
    // The weights below are chosen against power-of-two rounding (0.9 at radix 7 is 115/128).
    plain.scales = corrected.scales = quant::scale_policy::power_of_two;
    const graph::graph q_plain = quant::quantize<platform::kdp720>(reference.graph(), cal, plain);
    const graph::graph q_corrected = quant::quantize<platform::kdp720>(reference.graph(), cal, corrected);

    // The corrected bias is b - sum_k e[c,k] E[x_k], with E[x] the calibrated channel means.
    const auto& conv = q_corrected[*q_corrected.find_node("conv")];
    const auto means = cal.channel_means.at("x").means();
    REQUIRE(means.size() == 16);
    const auto w_radix = conv.attrs.get_ints(fixed::attr::weight_radix);
    CHECK(w_radix[0] == 7);
    double shift = (std::ldexp(std::round(0.9 * 128), -7) - 0.9f) * means[0];
    for (std::size_t k = 1; k < 16; ++k) shift += (0.0 - double(0.0039f)) * means[k];
    const auto b_radix = conv.attrs.get_ints(fixed::attr::bias_radix);
    const tensor& b = *q_corrected.initializer(conv.input(2));
    CHECK(fixed::dequantize(b.values<std::int32_t>()[0], int(b_radix[0])) ==
          doctest::Approx(0.1 - shift).epsilon(1e-4));
    CHECK(fixed::dequantize(b.values<std::int32_t>()[1], int(b_radix[1])) == doctest::Approx(-0.1).epsilon(1e-4));

    // Measured on samples the calibration did not see: the shift is there without the correction
    // and gone with it.
    const auto before = mean_output_error(reference, q_plain, 100, 16);
    const auto after = mean_output_error(reference, q_corrected, 100, 16);
    CHECK(before[0] < -0.08);
    CHECK(std::abs(after[0]) < 0.02);
    CHECK(std::abs(after[1]) < 0.02);
}

namespace {

// x[1,3,8,8] -> Conv(3->4, 3x3, pad 1) + Clip(0, 6) -> Conv(4->2, 1x1) -> y: a ReLU6 network whose
// first activation saturates at 6, as MobileNet's do.
graph::graph relu6_model() {
    model_builder b(13);
    b.input("x", {1, 3, 8, 8});
    b.output("y", {1, 2, 8, 8});
    std::vector<float> w1(4 * 3 * 9), w2(2 * 4);
    for (std::size_t i = 0; i < w1.size(); ++i) w1[i] = 0.6f * std::sin(0.7f * float(i) + 0.3f) * (i < 27 ? 0.3f : 1.f);
    for (std::size_t i = 0; i < w2.size(); ++i) w2[i] = 0.4f * std::cos(1.3f * float(i));
    add_float_initializer(b, "w1", {4, 3, 3, 3}, w1);
    add_float_initializer(b, "b1", {4}, {0.5f, 1.0f, -0.2f, 2.0f});
    add_float_initializer(b, "w2", {2, 4, 1, 1}, w2);
    add_float_initializer(b, "lo", {}, {0.f});
    add_float_initializer(b, "hi", {}, {6.f});
    auto* conv = b.node("Conv", {"x", "w1", "b1"}, {"c1"});
    conv->set_name("conv1");
    set_ints(conv, "pads", {1, 1, 1, 1});
    b.node("Clip", {"c1", "lo", "hi"}, {"r1"})->set_name("relu6");
    b.node("Conv", {"r1", "w2"}, {"y"})->set_name("conv2");
    return ktc::onnx::parse(b.bytes(), "relu6.onnx");
}

sim::tensor_map relu6_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 3, 8, 8});
    for (std::int64_t k = 0; k < x.size(); ++k)
        x.data<float>()[k] = 2.5f * std::sin(0.37f * float(k) + 1.1f * float(i));
    return {{"x", x}};
}

double output_snr(const sim::float_simulator& reference, const sim::fixed_simulator& fixed, std::size_t from,
                  std::size_t to) {
    return testing::output_snr(reference, fixed, relu6_sample, from, to);
}

}  // namespace

TEST_CASE("scales beside the radices: where the policy puts them, what they gain, power-of-two unchanged") {
    const sim::float_simulator sim(relu6_model());
    const auto cal = quant::calibrate(sim, 6, relu6_sample);
    REQUIRE(cal.ranges.at("r1").percentile_abs(0.999) == doctest::Approx(6.0).epsilon(0.01));  // the clamp is reached
    quant::quantize_options o;
    o.bias_correction = false;
    CHECK(o.scales == quant::scale_policy::all);  // the default
    const graph::graph all = quant::quantize<platform::kdp520>(sim.graph(), cal, o);
    o.scales = quant::scale_policy::automatic;
    const graph::graph q = quant::quantize<platform::kdp520>(sim.graph(), cal, o);
    o.scales = quant::scale_policy::power_of_two;
    const graph::graph p = quant::quantize<platform::kdp520>(sim.graph(), cal, o);

    // auto: the ReLU6 output gets radix 4 and the scale 127/96 (6.0 -> code 127); weights a scale per channel.
    const auto& conv1 = q[*q.find_node("conv1")];
    const auto r1 = fixed::output_format(conv1);
    CHECK(r1.radix == 4);
    CHECK(r1.scale == doctest::Approx(127.0 / 96).epsilon(1e-4));
    CHECK(fixed::input_format(q[*q.find_node("conv2")], 0) == r1);  // the consumer reads the same format
    const auto ws = conv1.attrs.get_floats(fixed::attr::weight_scale);
    CHECK(ws.size() == 4);
    for (float s : ws) CHECK(fixed::is_valid_scale(s));
    CHECK(fixed::input_format(conv1, 0).scale == 1.0);              // a graph input keeps a power-of-two format
    const auto y = fixed::output_format(q[*q.find_node("conv2")]);  // unbounded 8-bit output: a power of two
    CHECK(y.scale == 1.0);
    fixed::check_annotations(q, "relu6.bie");
    // all: that output gets a scale too, at its mse clip; the ReLU6 output is as with auto.
    CHECK(fixed::output_format(all[*all.find_node("conv2")]).scale != 1.0);
    CHECK(fixed::output_format(all[*all.find_node("conv1")]) == r1);
    fixed::check_annotations(all, "relu6.bie");

    // power-of-two: no scale attribute anywhere, radices as before.
    for (const graph::vertex v : p.nodes())
        for (const char* a : {fixed::attr::input_scale, fixed::attr::output_scale, fixed::attr::weight_scale})
            CHECK_FALSE(p[v].attrs.has(a));
    CHECK(fixed::output_format(p[*p.find_node("conv1")]) == fixed::value_format{4, 8, 1.0});

    // The scale gains resolution on samples that were not calibrated on.
    const sim::fixed_simulator fq(q), fp(p);
    const double with_scales = output_snr(sim, fq, 10, 16), without = output_snr(sim, fp, 10, 16);
    CAPTURE(with_scales);
    CAPTURE(without);
    CHECK(with_scales > without + 1.0);
    CHECK(with_scales > 25.0);

    // A stored scale outside [1, 2) or off the 2^-14 grid is refused, naming the node.
    graph::graph bad = q;
    bad[*bad.find_node("conv1")].attrs.set(fixed::attr::output_scale, std::vector<float>{0.75f});
    CHECK_THROWS_WITH_AS(fixed::check_annotations(bad, "m.bie"), doctest::Contains("conv1"), file_error);
    bad[*bad.find_node("conv1")].attrs.set(fixed::attr::output_scale, std::vector<float>{1.5f, 1.5f});
    CHECK_THROWS_AS(fixed::check_annotations(bad, "m.bie"), file_error);

    // A value's format is stored on its writer and on each reader: a file where they differ is
    // refused, naming the value and both nodes (the kernels would read the reader's copy).
    for (const char* changed : {fixed::attr::input_radix, fixed::attr::input_scale}) {
        graph::graph differs = q;
        auto& conv2 = differs[*differs.find_node("conv2")];
        if (changed == fixed::attr::input_radix) {
            auto r = conv2.attrs.get_ints(changed);
            r[0] += 1;
            conv2.attrs.set(changed, r);
        } else {
            auto s = conv2.attrs.get_floats(changed);
            s[0] = 1.0f;
            conv2.attrs.set(changed, s);
        }
        CAPTURE(changed);
        CHECK_THROWS_WITH_AS(fixed::check_annotations(differs, "m.bie"),
                             doctest::Contains("value 'r1' is written by node 'conv1'"), file_error);
        CHECK_THROWS_WITH_AS(fixed::check_annotations(differs, "m.bie"), doctest::Contains("read by node 'conv2'"),
                             file_error);
    }
}

TEST_CASE("the range search never ends worse than the rule on the samples it searches, and moves 8-bit tensors only") {
    const sim::float_simulator sim(relu6_model());
    const auto cal = quant::calibrate(sim, 6, relu6_sample);
    quant::quantize_options o;
    o.bias_correction = false;
    const auto chosen = quant::search_ranges<platform::kdp720>(sim, cal, o, 6, relu6_sample);
    for (const auto& [value, range] : chosen) {
        CAPTURE(value);
        CHECK(range > 0);
        CHECK(range <= cal.ranges.at(value).max_abs() * 1.5 + 1e-9);
    }
    quant::quantize_options searched = o;
    searched.chosen_ranges = chosen;
    const sim::fixed_simulator rule(quant::quantize<platform::kdp720>(sim.graph(), cal, o));
    const sim::fixed_simulator best(quant::quantize<platform::kdp720>(sim.graph(), cal, searched));
    CHECK(output_snr(sim, best, 0, 6) >= output_snr(sim, rule, 0, 6) - 1e-9);
    quant::quantize_options wide = o;
    wide.bits = 16;
    CHECK(quant::search_ranges<platform::kdp720>(sim, cal, wide, 6, relu6_sample).empty());
    wide.bits = 8;
    wide.scales = quant::scale_policy::power_of_two;
    CHECK(quant::search_ranges<platform::kdp720>(sim, cal, wide, 6, relu6_sample).empty());
}
