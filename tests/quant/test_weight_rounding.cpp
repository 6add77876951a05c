// Weights rounded against their layer's output error (quant/weight_rounding.hpp): the patches'
// second moments match a direct computation and do not depend on the thread count, adaptive
// rounding moves codes by at most one and lowers the output error on inputs it was not fitted
// on, and it leaves a layer alone where the calibration says too little about its inputs.
#include <doctest/doctest.h>

#include <cmath>

#include "ktc/onnx/import.hpp"
#include "ktc/io/bie.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "support/onnx_builder.hpp"
#include "support/output_snr.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[1,4,5,5] -> Conv(4->6, 3x3, group 2, stride 2, pad 1) -> y: patches with padding and groups.
graph::graph grouped_model() {
    model_builder b(13);
    b.input("x", {1, 4, 5, 5});
    b.output("y", {1, 6, 3, 3});
    std::vector<float> w(6 * 2 * 9);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.3f * std::sin(0.9f * float(i));
    add_float_initializer(b, "w", {6, 2, 3, 3}, w);
    auto* conv = b.node("Conv", {"x", "w"}, {"y"});
    conv->set_name("conv");
    set_ints(conv, "pads", {1, 1, 1, 1});
    set_ints(conv, "strides", {2, 2});
    set_int(conv, "group", 2);
    return ktc::onnx::parse(b.bytes(), "grouped.onnx");
}

sim::tensor_map grouped_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 4, 5, 5});
    for (std::int64_t k = 0; k < x.size(); ++k) x.data<float>()[k] = std::sin(0.23f * float(k) + 0.7f * float(i));
    return {{"x", x}};
}

// x[1,32,6,6] -> Conv(32->4, 1x1) + bias -> y: each output sums 32 non-negative inputs that move
// together, as a pointwise convolution after ReLU does; weights that round to the same side add up.
graph::graph pointwise_model() {
    model_builder b(13);
    b.input("x", {1, 32, 6, 6});
    b.output("y", {1, 4, 6, 6});
    std::vector<float> w(4 * 32);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.45f * std::sin(1.7f * float(i) + 0.2f);
    add_float_initializer(b, "w", {4, 32, 1, 1}, w);
    add_float_initializer(b, "bias", {4}, {0.1f, -0.2f, 0.05f, 0.3f});
    b.node("Conv", {"x", "w", "bias"}, {"y"})->set_name("pointwise");
    return ktc::onnx::parse(b.bytes(), "pointwise.onnx");
}

sim::tensor_map pointwise_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 32, 6, 6});
    for (std::int64_t c = 0; c < 32; ++c)
        for (std::int64_t p = 0; p < 36; ++p) {
            const float common = 1.5f + std::sin(0.31f * float(p) + 0.9f * float(i));  // shared by every channel
            x.data<float>()[c * 36 + p] =
                std::max(0.f, common * (1.f + 0.3f * std::cos(float(c))) + 0.2f * std::sin(float(c * 7 + p * 3 + i)));
        }
    return {{"x", x}};
}

double pointwise_snr(const sim::float_simulator& reference, const sim::fixed_simulator& fixed, std::size_t from,
                     std::size_t to) {
    return testing::output_snr(reference, fixed, pointwise_sample, from, to);
}

}  // namespace

TEST_CASE("a layer's patch moments: E[p p^T] per group with padding zeros, the same with 1 and 3 threads") {
    const sim::float_simulator sim(grouped_model());
    quant::calibration_options one, three;
    one.threads = 1, three.threads = 3;
    one.layer_input_samples = three.layer_input_samples = 5;
    const auto a = quant::calibrate(sim, 5, grouped_sample, one), b = quant::calibrate(sim, 5, grouped_sample, three);
    REQUIRE(a.layer_inputs.count("conv"));
    const auto& m = a.layer_inputs.at("conv").fit;        // samples 0, 2, 4
    const auto& check = a.layer_inputs.at("conv").check;  // samples 1, 3
    CHECK(m.groups() == 2);
    CHECK(m.dim() == 18);  // 2 channels x 9 taps
    CHECK(m.samples() == 3);
    CHECK(m.patches() == 3 * 9);
    CHECK(check.samples() == 2);
    for (std::int64_t g = 0; g < 2; ++g) {  // exact sums
        CHECK(b.layer_inputs.at("conv").fit.second_moment(g) == m.second_moment(g));
        CHECK(b.layer_inputs.at("conv").check.second_moment(g) == check.second_moment(g));
    }

    // Direct: patch element (channel c of the group, tap ky,kx) at output (oy, ox) reads
    // x[g*2 + c, 2*oy - 1 + ky, 2*ox - 1 + kx], zero outside.
    for (std::int64_t g = 0; g < 2; ++g) {
        Eigen::MatrixXd want = Eigen::MatrixXd::Zero(18, 18);
        for (std::size_t s = 0; s < 5; s += 2) {
            const tensor x = grouped_sample(s).at("x");
            Eigen::MatrixXd per_sample = Eigen::MatrixXd::Zero(18, 18);
            for (int oy = 0; oy < 3; ++oy)
                for (int ox = 0; ox < 3; ++ox) {
                    Eigen::VectorXd p(18);
                    for (int d = 0; d < 18; ++d) {
                        const int c = int(g) * 2 + d / 9, y = 2 * oy - 1 + (d % 9) / 3, xx = 2 * ox - 1 + d % 3;
                        p[d] =
                            y < 0 || y >= 5 || xx < 0 || xx >= 5 ? 0.0 : double(x.data<float>()[(c * 5 + y) * 5 + xx]);
                    }
                    per_sample += p * p.transpose();
                }
            want += per_sample / 9.0;
        }
        want /= 3.0;
        CHECK((m.second_moment(g) - want).cwiseAbs().maxCoeff() < 1e-8);
    }

    // Without the option nothing is kept.
    CHECK(quant::calibrate(sim, 5, grouped_sample).layer_inputs.empty());
}

TEST_CASE("adaptive weight rounding: codes within one of nearest, lower output error on unseen inputs") {
    const sim::float_simulator reference(pointwise_model());
    quant::calibration_options co;
    co.layer_input_samples = 16;
    const auto cal = quant::calibrate(reference, 16, pointwise_sample, co);
    quant::quantize_options nearest, adaptive;
    nearest.rounding = quant::weight_rounding::nearest;
    adaptive.rounding = quant::weight_rounding::adaptive;
    const graph::graph q_nearest = quant::quantize<platform::kdp720>(reference.graph(), cal, nearest);
    const graph::graph q_adaptive = quant::quantize<platform::kdp720>(reference.graph(), cal, adaptive);

    const auto codes = [](const graph::graph& q) {
        const auto& n = q[*q.find_node("pointwise")];
        return q.initializer(n.input(1))->to_vector<std::int64_t>();
    };
    const auto a = codes(q_adaptive), b = codes(q_nearest);
    REQUIRE(a.size() == b.size());
    std::size_t moved = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        CHECK(std::abs(a[i] - b[i]) <= 1);
        moved += a[i] != b[i];
    }
    CHECK(moved > 0);
    CHECK(q_adaptive[*q_adaptive.find_node("pointwise")].attrs.get_ints(fixed::attr::weight_radix) ==
          q_nearest[*q_nearest.find_node("pointwise")].attrs.get_ints(fixed::attr::weight_radix));

    // Measured on samples the calibration did not see.
    const double snr_nearest = pointwise_snr(reference, sim::fixed_simulator(graph::graph(q_nearest)), 100, 132);
    const double snr_adaptive = pointwise_snr(reference, sim::fixed_simulator(graph::graph(q_adaptive)), 100, 132);
    CAPTURE(snr_nearest);
    CAPTURE(snr_adaptive);
    CHECK(snr_adaptive > snr_nearest + 1.0);

    // Without the layer inputs (calibrated without them), adaptive is nearest.
    const auto plain_cal = quant::calibrate(reference, 16, pointwise_sample);
    CHECK(codes(quant::quantize<platform::kdp720>(reference.graph(), plain_cal, adaptive)) == b);

    // The choice is recorded in the .bie.
    quant::bie_model m;
    m.platform = ktc::platform::chip::kdp720;
    m.graph = q_adaptive;
    m.options = adaptive;
    CHECK(io::parse_bie(io::serialize_bie(m), "t.bie").options.rounding == quant::weight_rounding::adaptive);
}

TEST_CASE("adaptive rounding leaves a layer alone when the calibration has few patches per weight") {
    // Fitted on two samples of 6x6 positions: 72 patches for 32 weights a channel.
    const sim::float_simulator reference(pointwise_model());
    quant::calibration_options co;
    co.layer_input_samples = 4;
    const auto cal = quant::calibrate(reference, 4, pointwise_sample, co);
    REQUIRE(cal.layer_inputs.at("pointwise").fit.patches() == 72);  // 72 < 4 x 32
    quant::quantize_options nearest, adaptive;
    adaptive.rounding = quant::weight_rounding::adaptive;
    const auto q_a = quant::quantize<platform::kdp720>(reference.graph(), cal, adaptive);
    const auto q_n = quant::quantize<platform::kdp720>(reference.graph(), cal, nearest);
    CHECK(q_a.initializer(q_a[*q_a.find_node("pointwise")].input(1))->to_vector<std::int64_t>() ==
          q_n.initializer(q_n[*q_n.find_node("pointwise")].input(1))->to_vector<std::int64_t>());
    CHECK_THROWS_AS(quant::parse_weight_rounding("up"), usage_error);
}

TEST_CASE("adaptive rounding keeps a channel's new codes only where they also help on the check half") {
    // Fit half (even samples): inputs that move together, where rounding against them pays. Check
    // half (odd samples): independent zero-mean inputs, for which nearest rounding is already the
    // best: codes fitted to the first must not be kept where they raise the second's error.
    const auto sample = [](std::size_t i) {
        if (i % 2 == 0) return pointwise_sample(i);
        tensor x(dtype::float32, {1, 32, 6, 6});
        for (std::int64_t k = 0; k < x.size(); ++k)
            x.data<float>()[k] = std::sin(12.9898f * float(k) + 78.233f * float(i)) * 2.f;
        return sim::tensor_map{{"x", x}};
    };
    const sim::float_simulator reference(pointwise_model());
    quant::calibration_options co;
    co.layer_input_samples = 16;
    const auto cal = quant::calibrate(reference, 16, sample, co);
    const auto& moments = cal.layer_inputs.at("pointwise");

    const graph::graph& g = reference.graph();
    const graph::node& n = g[*g.find_node("pointwise")];
    const tensor w = *g.initializer(n.input(1));
    const std::vector<fixed::value_format> formats(4, fixed::value_format{7, 8, 1.0});
    const double step = 1.0 / 128;
    tensor nearest(dtype::int8, w.shape());
    for (std::int64_t i = 0; i < w.size(); ++i)
        nearest.data<std::int8_t>()[i] = static_cast<std::int8_t>(std::lround(w.data<float>()[i] * 128));
    const auto codes = quant::round_against_output(n, w, nearest, formats, moments, 8).to_vector<std::int64_t>();
    const auto nearest_codes = nearest.to_vector<std::int64_t>();
    const auto wv = w.to_vector<double>();
    for (std::int64_t c = 0; c < 4; ++c) {
        const auto from = wv.begin() + c * 32;
        const std::vector<double> wc(from, from + 32);
        const std::vector<std::int64_t> got(codes.begin() + c * 32, codes.begin() + c * 32 + 32),
            base(nearest_codes.begin() + c * 32, nearest_codes.begin() + c * 32 + 32);
        CAPTURE(c);
        CHECK(quant::rounding_detail::output_error(moments.check.second_moment(0), wc, got, step) <=
              quant::rounding_detail::output_error(moments.check.second_moment(0), wc, base, step));
    }
}
