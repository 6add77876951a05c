// tests/compiler/small_model.hpp - a small quantized model that exercises every kind of step:
// Conv+Relu+MaxPool (one MAC layer with a halo), two Convs joined by an Add, an AveragePool,
// GlobalAveragePool, Flatten, Gemm and a Softmax CPU step.
#pragma once

#include "ktc/onnx/import.hpp"
#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "support/onnx_builder.hpp"

namespace ktc::testing {

inline graph::graph small_float_model() {
    model_builder b(13);
    b.input("x", {1, 3, 17, 12});
    b.output("y", {1, 5});
    const auto weights = [](std::size_t n, float scale) {
        std::vector<float> w(n);
        for (std::size_t i = 0; i < n; ++i) w[i] = scale * (float((i * 37) % 19) / 9.f - 1.f);
        return w;
    };
    add_float_initializer(b, "w1", {8, 3, 3, 3}, weights(8 * 27, 0.4f));
    add_float_initializer(b, "b1", {8}, weights(8, 0.1f));
    add_float_initializer(b, "w2", {8, 8, 3, 3}, weights(8 * 72, 0.2f));
    add_float_initializer(b, "b2", {8}, weights(8, 0.1f));
    add_float_initializer(b, "w3", {8, 8, 1, 1}, weights(64, 0.3f));
    add_float_initializer(b, "wg", {5, 8}, weights(40, 0.5f));
    add_float_initializer(b, "bg", {5}, weights(5, 0.2f));
    auto* c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"});
    c1->set_name("conv1");
    set_ints(c1, "pads", {1, 1, 1, 1});
    b.node("Relu", {"c1"}, {"r1"})->set_name("relu1");
    auto* p1 = b.node("MaxPool", {"r1"}, {"p1"});
    p1->set_name("pool1");
    set_ints(p1, "kernel_shape", {3, 3});
    set_ints(p1, "strides", {2, 2});
    set_ints(p1, "pads", {1, 1, 1, 1});
    auto* c2 = b.node("Conv", {"p1", "w2", "b2"}, {"c2"});
    c2->set_name("conv2");
    set_ints(c2, "pads", {1, 0, 1, 2});
    set_ints(c2, "strides", {1, 1});
    auto* c3 = b.node("Conv", {"p1", "w3"}, {"c3"});
    c3->set_name("conv3");
    b.node("Add", {"c3", "c2"}, {"a"})->set_name("add");
    auto* ap = b.node("AveragePool", {"a"}, {"ap"});
    ap->set_name("avg");
    set_ints(ap, "kernel_shape", {3, 3});
    set_ints(ap, "pads", {1, 1, 1, 1});
    b.node("GlobalAveragePool", {"ap"}, {"g"})->set_name("gap");
    b.node("Flatten", {"g"}, {"f"})->set_name("flatten");
    auto* gemm = b.node("Gemm", {"f", "wg", "bg"}, {"l"});
    gemm->set_name("gemm");
    set_int(gemm, "transB", 1);
    b.node("Softmax", {"l"}, {"y"})->set_name("softmax");
    return ktc::onnx::parse(b.bytes(), "small_model.onnx");
}

inline sim::tensor_map small_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 3, 17, 12});
    for (std::int64_t k = 0; k < x.size(); ++k) x.data<float>()[k] = 0.07f * float((k * 7 + i * 5) % 23) - 0.8f;
    return {{"x", x}};
}

template <class P>
graph::graph small_quantized_model() {
    const sim::float_simulator sim(small_float_model());
    const auto cal = quant::calibrate(sim, 4, small_sample);
    return quant::quantize<P>(sim.graph(), cal, quant::quantize_options{});
}

}  // namespace ktc::testing
