// Weights rounded against their layer's output error (quant/weight_rounding.hpp): the patches'
// second moments match a direct computation and do not depend on the thread count, adaptive
// rounding moves codes by at most one and lowers the output error on inputs it was not fitted
// on, and it leaves a layer alone where the calibration says too little about its inputs; rounded
// layer after layer on the quantized model's own inputs (upstream), a deeper layer takes back
// part of what the layers above it lost.
#include <doctest/doctest.h>

#include <cmath>

#include "ktc/onnx/import.hpp"
#include "ktc/io/bie.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/quant/upstream_rounding.hpp"
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

// x[1,16,6,6] -> (Conv(16->16, 1x1) + bias -> Relu) x 5 -> Conv(16->4, 1x1) -> y: each layer
// reads what the codes of the layers above it lost (at int16 mostly their weights' rounding, which
// a layer below can partly take back; at int8 the activations' rounding, which it cannot).
graph::graph chain_model() {
    model_builder b(13);
    b.input("x", {1, 16, 6, 6});
    b.output("y", {1, 4, 6, 6});
    std::string in = "x";
    for (int l = 0; l < 5; ++l) {
        const std::string id = std::to_string(l);
        std::vector<float> w(16 * 16), bias(16);
        for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.35f * std::sin(1.3f * float(i) + 0.5f + 0.9f * float(l));
        for (std::size_t i = 0; i < bias.size(); ++i) bias[i] = 0.2f + 0.1f * std::sin(float(i + l));
        add_float_initializer(b, "w" + id, {16, 16, 1, 1}, w);
        add_float_initializer(b, "b" + id, {16}, bias);
        b.node("Conv", {in, "w" + id, "b" + id}, {"h" + id})->set_name("conv" + id);
        b.node("Relu", {"h" + id}, {"r" + id})->set_name("relu" + id);
        in = "r" + id;
    }
    std::vector<float> w(4 * 16);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.5f * std::cos(0.7f * float(i) + 0.1f);
    add_float_initializer(b, "w_last", {4, 16, 1, 1}, w);
    b.node("Conv", {in, "w_last"}, {"y"})->set_name("last");
    return ktc::onnx::parse(b.bytes(), "chain.onnx");
}

sim::tensor_map chain_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 16, 6, 6});
    for (std::int64_t c = 0; c < 16; ++c)
        for (std::int64_t p = 0; p < 36; ++p) {
            const float common = 1.2f + std::sin(0.37f * float(p) + 1.1f * float(i));
            x.data<float>()[c * 36 + p] =
                common * (1.f + 0.4f * std::cos(float(c))) + 0.3f * std::sin(float(c * 5 + p * 11) + 0.6f * float(i));
        }
    return {{"x", x}};
}

}  // namespace

TEST_CASE("a layer's cross moment: E[q (p - q)^T] of the quantized patches against the float ones") {
    const graph::graph g = grouped_model();
    const graph::node& conv = g[*g.find_node("conv")];
    const auto geometry = quant::patches_of(conv, g, {1, 4, 5, 5});
    REQUIRE(geometry);
    quant::patch_moments m;
    std::vector<std::vector<float>> floats, quantized;
    for (std::size_t i = 0; i < 3; ++i) {
        const tensor x = grouped_sample(i).at("x");
        floats.push_back(x.to_vector<float>());
        quantized.emplace_back();
        for (const float v : floats.back()) quantized.back().push_back(std::round(v * 8) / 8);
        m.observe(*geometry, quantized.back(), floats.back());
    }
    REQUIRE(m.has_cross_moment());
    std::vector<std::int64_t> index(static_cast<std::size_t>(geometry->dim));
    for (std::int64_t g_ = 0; g_ < 2; ++g_) {
        Eigen::MatrixXd want_h = Eigen::MatrixXd::Zero(geometry->dim, geometry->dim), want_c = want_h;
        for (std::size_t s = 0; s < 3; ++s) {
            Eigen::MatrixXd h_s = Eigen::MatrixXd::Zero(geometry->dim, geometry->dim), c_s = h_s;
            for (std::int64_t at = 0; at < geometry->positions; ++at) {
                geometry->elements(at, index.data());
                Eigen::VectorXd q(geometry->dim), d(geometry->dim);
                for (std::int64_t k = 0; k < geometry->dim; ++k) {
                    const std::int64_t i = index[std::size_t(k)];
                    const auto e = std::size_t(i + g_ * geometry->group_stride);
                    q[k] = i < 0 ? 0.0 : quantized[s][e];
                    d[k] = i < 0 ? 0.0 : floats[s][e] - quantized[s][e];
                }
                h_s += q * q.transpose();
                c_s += q * d.transpose();
            }
            want_h += h_s / double(geometry->positions);
            want_c += c_s / double(geometry->positions);
        }
        CAPTURE(g_);
        CHECK((m.second_moment(g_) - want_h / 3.0).cwiseAbs().maxCoeff() < 1e-8);
        CHECK((m.cross_moment(g_) - want_c / 3.0).cwiseAbs().maxCoeff() < 1e-8);
        CHECK(m.cross_moment(g_).cwiseAbs().maxCoeff() > 1e-4);  // the rounding left something
    }
    // Observed without quantized patches, the cross moment is zero.
    quant::patch_moments plain;
    plain.observe(*geometry, floats[0]);
    CHECK(!plain.has_cross_moment());
    CHECK(plain.cross_moment(0).isZero());
}

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
        const Eigen::VectorXd no_cross = Eigen::VectorXd::Zero(32);
        CHECK(quant::rounding_detail::output_error(moments.check.second_moment(0), no_cross, wc, got, step) <=
              quant::rounding_detail::output_error(moments.check.second_moment(0), no_cross, wc, base, step));
    }
}

TEST_CASE("upstream rounding: layer after layer on the quantized model's inputs, nearer the float output") {
    const sim::float_simulator reference(chain_model());
    const graph::graph& g = reference.graph();
    CHECK(quant::waves_of(g, {"conv0", "conv1", "last"}) ==
          std::vector<std::set<std::string>>{{"conv0"}, {"conv1"}, {"last"}});

    quant::calibration_options co;
    co.layer_input_samples = 32;
    const auto cal = quant::calibrate(reference, 32, chain_sample, co);
    quant::quantize_options adaptive, upstream;
    adaptive.rounding = quant::weight_rounding::adaptive;
    upstream.rounding = quant::weight_rounding::upstream;
    adaptive.bits = upstream.bits = 16;
    const graph::graph q_adaptive = quant::quantize<platform::kdp720>(g, cal, adaptive);
    const graph::graph q_upstream =
        quant::quantize_rounding_upstream<platform::kdp720>(reference, cal, upstream, 32, chain_sample, co);

    // The formats are the same; only codes move, by at most one from nearest's.
    quant::quantize_options nearest;
    nearest.rounding = quant::weight_rounding::nearest;
    nearest.bits = 16;
    const graph::graph q_nearest = quant::quantize<platform::kdp720>(g, cal, nearest);
    std::size_t moved = 0;
    for (const char* layer : {"conv0", "conv1", "conv2", "conv3", "conv4", "last"}) {
        const auto codes = [&](const graph::graph& q) {
            return q.initializer(q[*q.find_node(layer)].input(1))->to_vector<std::int64_t>();
        };
        const auto u = codes(q_upstream), a = codes(q_adaptive), n = codes(q_nearest);
        for (std::size_t i = 0; i < u.size(); ++i) CHECK(std::abs(u[i] - n[i]) <= 1);
        for (std::size_t i = 0; i < u.size(); ++i) moved += u[i] != a[i];
        CHECK(q_upstream[*q_upstream.find_node(layer)].attrs.get_ints(fixed::attr::weight_radix) ==
              q_adaptive[*q_adaptive.find_node(layer)].attrs.get_ints(fixed::attr::weight_radix));
    }
    CHECK(moved > 0);

    // Measured on samples the calibration did not see.
    const double snr_adaptive =
        testing::output_snr(reference, sim::fixed_simulator(graph::graph(q_adaptive)), chain_sample, 100, 164);
    const double snr_upstream =
        testing::output_snr(reference, sim::fixed_simulator(graph::graph(q_upstream)), chain_sample, 100, 164);
    CAPTURE(snr_adaptive);
    CAPTURE(snr_upstream);
    CHECK(snr_upstream > snr_adaptive + 0.3);  // 83.07 -> 83.77 dB when written
    CHECK(quant::parse_weight_rounding("upstream") == quant::weight_rounding::upstream);
}
