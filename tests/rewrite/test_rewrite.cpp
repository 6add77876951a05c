// The rewrite engine and the first passes: each shown firing, and rightly not firing, with the
// rewritten graph computing what the original computed (float simulator).
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/eliminate_identity.hpp"
#include "ktc/rewrite/passes/eliminate_noop.hpp"
#include "ktc/rewrite/passes/fuse_bn_into_conv.hpp"
#include "ktc/rewrite/passes/fuse_into_consumer.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[1,2,3,3] -> Conv(2->2, 1x1) -> c -> BatchNormalization -> y, optionally c also an output.
model_builder conv_bn(bool conv_output_is_graph_output) {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 2, 3, 3});
    if (conv_output_is_graph_output) b.output("c", {1, 2, 3, 3});
    add_float_initializer(b, "w", {2, 2, 1, 1}, {0.5f, -1.f, 2.f, 0.25f});
    add_float_initializer(b, "bias", {2}, {0.1f, -0.2f});
    add_float_initializer(b, "scale", {2}, {1.5f, 0.5f});
    add_float_initializer(b, "shift", {2}, {0.3f, -0.4f});
    add_float_initializer(b, "mean", {2}, {0.2f, -0.1f});
    add_float_initializer(b, "var", {2}, {0.8f, 2.0f});
    b.node("Conv", {"x", "w", "bias"}, {"c"})->set_name("conv");
    b.node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"y"})->set_name("bn");
    return b;
}

}  // namespace

TEST_CASE("fuse_bn_into_conv folds BN into the conv and computes the same") {
    const auto original = ktc::onnx::parse(conv_bn(false).bytes(), "conv_bn.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto result = rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_bn_into_conv>("fuse"), log);
    CHECK(result.converged);
    CHECK(result.rewrites == 1);
    CHECK(count_op(g, "BatchNormalization") == 0);
    CHECK(g.initializers.count("scale") == 0);  // unused constants go with the BN
    REQUIRE(log.size() == 1);
    CHECK(log[0].node == "bn");
    CHECK(log[0].pattern == "fuse_bn_into_conv");
    const tensor x = tensor::from<float>({1, 2, 3, 3}, ramp(18, 0.3f, -1.f));
    check_same_outputs(original, g, {{"x", x}}, 1e-5);
}

TEST_CASE("fuse_bn_into_conv does not fire when the conv output has another reader") {
    auto g = ktc::onnx::parse(conv_bn(true).bytes(), "conv_bn_out.onnx");
    rewrite::change_log log;
    const auto result = rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_bn_into_conv>("fuse"), log);
    CHECK(result.converged);
    CHECK(result.rewrites == 0);
    CHECK(count_op(g, "BatchNormalization") == 1);
    CHECK(log.empty());
}

TEST_CASE("eliminate_identity removes Identity and Dropout, but keeps a graph output's name") {
    model_builder b(13);
    b.input("x", {1, 4});
    b.output("y", {1, 4});
    b.node("Identity", {"x"}, {"a"});
    b.node("Relu", {"a"}, {"r"});
    b.node("Dropout", {"r"}, {"d"});
    b.node("Relu", {"d"}, {"e"});
    b.node("Identity", {"e"}, {"y"});  // makes the graph output: "y" must survive
    const auto original = ktc::onnx::parse(b.bytes(), "ids.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto result = rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::eliminate_identity>("ids"), log);
    CHECK(result.converged);
    CHECK(count_op(g, "Identity") == 0);
    CHECK(count_op(g, "Dropout") == 0);
    CHECK(g.node_count() == 2);
    CHECK(g.outputs.at(0).name == "y");
    CHECK(g.producer("y"));
    check_same_outputs(original, g, {{"x", tensor::from<float>({1, 4}, {-1.f, 2.f, -3.f, 4.f})}}, 1e-5);
}

TEST_CASE("eliminate_identity keeps an Identity that passes a graph input straight to an output") {
    model_builder b(13);
    b.input("x", {1, 2});
    b.output("y", {1, 2});
    b.node("Identity", {"x"}, {"y"});
    auto g = ktc::onnx::parse(b.bytes(), "passthrough.onnx");
    rewrite::change_log log;
    const auto result = rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::eliminate_identity>("ids"), log);
    CHECK(result.rewrites == 0);
    CHECK(count_op(g, "Identity") == 1);
}

TEST_CASE("running a pass twice changes nothing the second time") {
    auto g = ktc::onnx::parse(conv_bn(false).bytes(), "conv_bn.onnx");
    rewrite::change_log log;
    const auto fuse =
        rewrite::make_pass<rewrite::passes::fuse_bn_into_conv, rewrite::passes::eliminate_identity>("both");
    rewrite::apply_greedily(g, fuse, log);
    const auto again = rewrite::apply_greedily(g, fuse, log);
    CHECK(again.converged);
    CHECK(again.rewrites == 0);
    CHECK(again.sweeps == 1);
}

TEST_CASE("no-op Pad and 1x1 stride-1 pools go; real ones stay") {
    model_builder b(13);
    b.input("x", {1, 1, 3, 3});
    b.output("y", {1, 1, 2, 2});
    auto* zeros = b.g->add_initializer();
    zeros->set_name("zero_pads");
    zeros->set_data_type(::onnx::TensorProto::INT64);
    zeros->add_dims(8);
    for (int i = 0; i < 8; ++i) zeros->add_int64_data(0);
    b.node("Pad", {"x", "zero_pads"}, {"p"});
    auto* trivial = b.node("MaxPool", {"p"}, {"m"});
    testing::set_ints(trivial, "kernel_shape", {1, 1});
    auto* real = b.node("MaxPool", {"m"}, {"y"});
    testing::set_ints(real, "kernel_shape", {2, 2});
    const auto original = ktc::onnx::parse(b.bytes(), "noops.onnx");
    auto g = original;
    rewrite::change_log log;
    rewrite::apply_greedily(
        g, rewrite::make_pass<rewrite::passes::eliminate_noop_pad, rewrite::passes::eliminate_trivial_pool>("noops"),
        log);
    CHECK(count_op(g, "Pad") == 0);
    CHECK(count_op(g, "MaxPool") == 1);
    check_same_outputs(original, g, {{"x", tensor::from<float>({1, 1, 3, 3}, ramp(9, 1.f, -4.f))}}, 1e-5);
}

TEST_CASE("a zero Pad on spatial axes folds into the Conv; a reflect Pad does not") {
    for (const char* mode : {"constant", "reflect"}) {
        CAPTURE(mode);
        model_builder b(13);
        b.input("x", {1, 1, 4, 4});
        b.output("y", {1, 1, 4, 4});
        auto* pads = b.g->add_initializer();
        pads->set_name("pads");
        pads->set_data_type(::onnx::TensorProto::INT64);
        pads->add_dims(8);
        for (int p : {0, 0, 1, 1, 0, 0, 1, 1}) pads->add_int64_data(p);
        add_float_initializer(b, "w", {1, 1, 3, 3}, ramp(9, 0.25f, -1.f));
        auto* pad = b.node("Pad", {"x", "pads"}, {"p"});
        auto* a = pad->add_attribute();
        a->set_name("mode");
        a->set_type(::onnx::AttributeProto::STRING);
        a->set_s(mode);
        b.node("Conv", {"p", "w"}, {"y"});
        const auto original = ktc::onnx::parse(b.bytes(), "padconv.onnx");
        auto g = original;
        rewrite::change_log log;
        rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_pad_into_conv>("pad"), log);
        CHECK(count_op(g, "Pad") == (std::string(mode) == "constant" ? 0u : 1u));
        check_same_outputs(original, g, {{"x", tensor::from<float>({1, 1, 4, 4}, ramp(16, 0.5f, -2.f))}}, 1e-5);
    }
}

TEST_CASE("MatMul + constant Add becomes Gemm; a MatMul read twice does not") {
    for (bool shared : {false, true}) {
        CAPTURE(shared);
        model_builder b(13);
        b.input("x", {2, 3});
        b.output("y", {2, 2});
        if (shared) b.output("m", {2, 2});
        add_float_initializer(b, "w", {3, 2}, {1, -1, 0.5f, 2, -0.25f, 1});
        add_float_initializer(b, "bias", {2}, {0.5f, -1});
        b.node("MatMul", {"x", "w"}, {"m"});
        b.node("Add", {"m", "bias"}, {"y"});
        const auto original = ktc::onnx::parse(b.bytes(), "mm.onnx");
        auto g = original;
        rewrite::change_log log;
        rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_matmul_add_into_gemm>("gemm"), log);
        CHECK(count_op(g, "Gemm") == (shared ? 0u : 1u));
        check_same_outputs(original, g, {{"x", tensor::from<float>({2, 3}, {1, 2, 3, -1, 0.5f, 4})}}, 1e-5);
    }
}
