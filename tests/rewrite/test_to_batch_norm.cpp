// depthwise_conv_to_bn, mul_add_to_bn, per_channel_to_bn: per-channel affine maps become
// BatchNormalization.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/to_batch_norm.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

rewrite::pass_result run_to_batch_norm(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(
        g,
        rewrite::make_pass<rewrite::passes::depthwise_conv_to_bn, rewrite::passes::mul_add_to_bn,
                           rewrite::passes::per_channel_to_bn>("p"),
        log);
}

const tensor input_to_batch_norm = tensor::from<float>({1, 3, 2, 2}, ramp(12, 0.5f, -2.f));

}  // namespace

TEST_CASE("depthwise_conv_to_bn turns a depthwise 1x1 Conv into a BN; a 3x3 one stays") {
    for (int k : {1, 3}) {
        CAPTURE(k);
        model_builder b(13);
        b.input("x", {1, 3, 2, 2});
        b.output("y", {1, 3, 2, 2});
        add_float_initializer(b, "w", {3, 1, k, k}, ramp(static_cast<std::size_t>(3 * k * k), 0.5f, -1.f));
        add_float_initializer(b, "bias", {3}, {0.1f, -0.2f, 0.3f});
        auto* conv = b.node("Conv", {"x", "w", "bias"}, {"y"});
        set_int(conv, "group", 3);
        if (k == 3) set_ints(conv, "pads", {1, 1, 1, 1});
        const auto original = ktc::onnx::parse(b.bytes(), "dw.onnx");
        auto g = original;
        CHECK(run_to_batch_norm(g).rewrites == (k == 1 ? 1u : 0u));
        CHECK(count_op(g, "BatchNormalization") == (k == 1 ? 1u : 0u));
        check_same_outputs(original, g, {{"x", input_to_batch_norm}});
    }
}

TEST_CASE("mul_add_to_bn: Mul then Add by per-channel constants is one BN") {
    model_builder b(13);
    b.input("x", {1, 3, 2, 2});
    b.output("y", {1, 3, 2, 2});
    add_float_initializer(b, "s", {3, 1, 1}, {2.f, -0.5f, 1.5f});
    add_float_initializer(b, "t", {1, 3, 1, 1}, {0.25f, 1.f, -3.f});
    b.node("Mul", {"s", "x"}, {"m"});
    b.node("Add", {"m", "t"}, {"y"});
    const auto original = ktc::onnx::parse(b.bytes(), "muladd.onnx");
    auto g = original;
    CHECK(run_to_batch_norm(g).rewrites == 1);
    CHECK(g.node_count() == 1);
    CHECK(count_op(g, "BatchNormalization") == 1);
    check_same_outputs(original, g, {{"x", input_to_batch_norm}});
}

TEST_CASE("per_channel_to_bn: a lone per-channel Mul or Add (or a scalar one) becomes a BN") {
    for (const char* op : {"Mul", "Add"})
        for (const shape_t& c_shape : {shape_t{1, 3, 1, 1}, shape_t{1}}) {
            CAPTURE(op);
            CAPTURE(c_shape.size());
            model_builder b(13);
            b.input("x", {1, 3, 2, 2});
            b.output("y", {1, 3, 2, 2});
            add_float_initializer(b, "c", c_shape, ramp(static_cast<std::size_t>(element_count(c_shape)), 0.75f, -1.f));
            b.node(op, {"x", "c"}, {"y"});
            const auto original = ktc::onnx::parse(b.bytes(), "lone.onnx");
            auto g = original;
            CHECK(run_to_batch_norm(g).rewrites == 1);
            CHECK(count_op(g, op) == 0);
            CHECK(count_op(g, "BatchNormalization") == 1);
            check_same_outputs(original, g, {{"x", input_to_batch_norm}});
        }
}

TEST_CASE("per-channel passes leave a constant that varies along W, and a Mul whose output is read twice") {
    model_builder b(13);
    b.input("x", {1, 3, 2, 2});
    b.output("y", {1, 3, 2, 2});
    b.output("m", {1, 3, 2, 2});
    add_float_initializer(b, "w_const", {2}, {2.f, 3.f});
    add_float_initializer(b, "s", {1, 3, 1, 1}, {2.f, -0.5f, 1.5f});
    add_float_initializer(b, "t", {1, 3, 1, 1}, {0.25f, 1.f, -3.f});
    b.node("Mul", {"x", "w_const"}, {"a"});
    b.node("Mul", {"a", "s"}, {"m"});
    b.node("Add", {"m", "t"}, {"y"});
    const auto original = ktc::onnx::parse(b.bytes(), "keep.onnx");
    auto g = original;
    run_to_batch_norm(g);
    CHECK(count_op(g, "Mul") == 1);                 // the W-wise Mul stays
    CHECK(count_op(g, "BatchNormalization") == 2);  // the other two become separate BNs, not one
    CHECK(g.producer("m"));
    check_same_outputs(original, g, {{"x", input_to_batch_norm}});
}
