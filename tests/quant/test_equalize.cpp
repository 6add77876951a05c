// Cross-layer equalization: the float model computes the same outputs, channel ranges move
// together, the pairs it must not touch stay as they are, and int8 accuracy improves.
#include <doctest/doctest.h>

#include <cmath>

#include "ktc/onnx/import.hpp"
#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/equalize.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[1,3,6,6] -> depthwise Conv 3x3 (channels of very different size) + Relu -> MaxPool 2x2
// -> Conv 1x1 3->4 + Relu -> GlobalAveragePool -> Flatten -> Gemm 4->5 (transB) -> y.
// With `tap`, the first Relu's output is also a graph output (so its channels must not move).
graph::graph equalize_model(bool tap = false) {
    model_builder b(13);
    b.input("x", {1, 3, 6, 6});
    b.output("y", {1, 5});
    if (tap) b.output("r1", {1, 3, 6, 6});
    std::vector<float> dw = ramp(27, 0.1f, -0.5f);
    const float channel_size[3] = {0.01f, 1.f, 40.f};
    for (std::size_t i = 0; i < dw.size(); ++i) dw[i] *= channel_size[i / 9];
    add_float_initializer(b, "dw", {3, 1, 3, 3}, dw);
    add_float_initializer(b, "dw_bias", {3}, {0.001f, 0.1f, 2.f});
    add_float_initializer(b, "pw", {4, 3, 1, 1}, ramp(12, 0.2f, -1.f));
    add_float_initializer(b, "fc", {5, 4}, ramp(20, 0.3f, -1.5f));
    add_float_initializer(b, "fc_bias", {5}, {0.f, 0.1f, 0.2f, 0.3f, 0.4f});
    auto* conv = b.node("Conv", {"x", "dw", "dw_bias"}, {"c1"});
    conv->set_name("dw");
    set_int(conv, "group", 3);
    set_ints(conv, "pads", {1, 1, 1, 1});
    b.node("Relu", {"c1"}, {"r1"})->set_name("relu1");
    auto* pool = b.node("MaxPool", {"r1"}, {"p"});
    pool->set_name("pool");
    set_ints(pool, "kernel_shape", {2, 2});
    set_ints(pool, "strides", {2, 2});
    b.node("Conv", {"p", "pw"}, {"c2"})->set_name("pw");
    b.node("Relu", {"c2"}, {"r2"})->set_name("relu2");
    b.node("GlobalAveragePool", {"r2"}, {"g"})->set_name("gap");
    b.node("Flatten", {"g"}, {"f"})->set_name("flatten");
    auto* fc = b.node("Gemm", {"f", "fc", "fc_bias"}, {"y"});
    fc->set_name("fc");
    set_int(fc, "transB", 1);
    return ktc::onnx::parse(b.bytes(), "equalize_model.onnx");
}

sim::tensor_map equalize_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 3, 6, 6});
    for (std::int64_t k = 0; k < x.size(); ++k) x.data<float>()[k] = 0.07f * float((k * 7 + i * 5) % 23) - 0.8f;
    return {{"x", x}};
}

double channel_spread(const tensor& w) {  // largest / smallest max|w| over output channels
    const std::int64_t per = w.size() / w.dim(0);
    double lo = 1e30, hi = 0;
    for (std::int64_t c = 0; c < w.dim(0); ++c) {
        double m = 0;
        for (std::int64_t i = 0; i < per; ++i) m = std::max(m, double(std::fabs(w.values<float>()[c * per + i])));
        lo = std::min(lo, m), hi = std::max(hi, m);
    }
    return hi / lo;
}

double int8_output_snr(const graph::graph& g) {
    const sim::float_simulator reference(g);
    const auto cal = quant::calibrate(reference, 6, equalize_sample);
    quant::quantize_options o;
    o.method = quant::range_method::max;
    o.bias_correction = false;  // equalization's own gain (bias correction recovers part of it too)
    // Power-of-two activation formats, where one radix for all channels costs the most (scales and
    // mse ranges recover part of what equalization gains: 39.5 -> 44.3 dB with the defaults).
    o.scales = quant::scale_policy::automatic;
    const sim::fixed_simulator fixed(quant::quantize<platform::kdp520>(reference.graph(), cal, o));
    double signal = 0, noise = 0;
    for (std::size_t i = 6; i < 10; ++i) {
        const tensor a = reference.run(equalize_sample(i)).at("y"), b = fixed.run(equalize_sample(i)).at("y");
        for (std::int64_t k = 0; k < a.size(); ++k) {
            const double d = a.values<float>()[k] - b.values<float>()[k];
            signal += double(a.values<float>()[k]) * a.values<float>()[k], noise += d * d;
        }
    }
    return 10 * std::log10(signal / noise);
}

}  // namespace

TEST_CASE("equalization keeps the float outputs and balances the channel ranges") {
    const graph::graph before = equalize_model();
    graph::graph after = before;
    const auto report = quant::equalize_cross_layer(after);
    CHECK(report.pairs == 2);  // dw -> (relu, pool) -> pw, pw -> (relu, gap, flatten) -> fc
    CHECK(report.sweeps >= 1);
    CHECK(channel_spread(*after.initializer("dw")) < channel_spread(*before.initializer("dw")) / 10);

    const sim::float_simulator a(before), b(after);
    for (std::size_t i = 0; i < 3; ++i) {
        const tensor ya = a.run(equalize_sample(i)).at("y"), yb = b.run(equalize_sample(i)).at("y");
        double largest = 0, diff = 0;
        for (std::int64_t k = 0; k < ya.size(); ++k) {
            largest = std::max(largest, double(std::fabs(ya.values<float>()[k])));
            diff = std::max(diff, double(std::fabs(ya.values<float>()[k] - yb.values<float>()[k])));
        }
        CHECK(diff <= 1e-5 * largest);
    }
}

TEST_CASE("equalization leaves a tensor alone when anything else reads it") {
    graph::graph g = equalize_model(/*tap=*/true);
    const tensor dw = *g.initializer("dw");
    CHECK(quant::equalize_cross_layer(g).pairs == 1);  // only pw -> fc
    CHECK(
        std::equal(dw.values<float>().begin(), dw.values<float>().end(), g.initializer("dw")->values<float>().begin()));
}

TEST_CASE("equalization raises the int8 output SNR of a depthwise model") {
    graph::graph equalized = equalize_model();
    quant::equalize_cross_layer(equalized);
    const double plain = int8_output_snr(equalize_model()), better = int8_output_snr(equalized);
    CAPTURE(plain);
    CAPTURE(better);
    CHECK(better > plain + 6);
}
