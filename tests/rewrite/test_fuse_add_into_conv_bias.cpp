// fuse_add_into_conv_bias: a per-channel constant added after a Conv joins its bias.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/fuse_add_into_conv_bias.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[1,2,3,3] -> Conv(2->3, 1x1[, bias]) -> c -> Add(k of shape k_shape) -> y.
model_builder conv_add(shape_t k_shape, bool with_bias) {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 3, 3, 3});
    add_float_initializer(b, "w", {3, 2, 1, 1}, ramp(6, 0.5f, -1.f));
    if (with_bias) add_float_initializer(b, "bias", {3}, {0.1f, -0.2f, 0.3f});
    add_float_initializer(b, "k", k_shape, ramp(static_cast<std::size_t>(element_count(k_shape)), 0.25f, -0.5f));
    b.node("Conv", with_bias ? std::vector<std::string>{"x", "w", "bias"} : std::vector<std::string>{"x", "w"}, {"c"});
    b.node("Add", {"k", "c"}, {"y"});
    return b;
}

rewrite::pass_result run_fuse_add_into_conv_bias(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_add_into_conv_bias>("p"), log);
}

const tensor input_fuse_add_into_conv_bias = tensor::from<float>({1, 2, 3, 3}, ramp(18, 0.5f, -2.f));

}  // namespace

TEST_CASE("fuse_add_into_conv_bias folds a [1,C,1,1] or [C,1,1] constant into the Conv bias") {
    for (const shape_t& k_shape : {shape_t{1, 3, 1, 1}, shape_t{3, 1, 1}})
        for (bool with_bias : {true, false}) {
            CAPTURE(k_shape.size());
            CAPTURE(with_bias);
            const auto original = ktc::onnx::parse(conv_add(k_shape, with_bias).bytes(), "conv_add.onnx");
            auto g = original;
            CHECK(run_fuse_add_into_conv_bias(g).rewrites == 1);
            CHECK(count_op(g, "Add") == 0);
            CHECK(g[*g.producer("y")].op_type == "Conv");
            check_same_outputs(original, g, {{"x", input_fuse_add_into_conv_bias}});
        }
}

TEST_CASE("fuse_add_into_conv_bias leaves a constant that varies along W") {
    auto g = ktc::onnx::parse(conv_add({3}, true).bytes(), "conv_add_w.onnx");
    CHECK(run_fuse_add_into_conv_bias(g).rewrites == 0);
    CHECK(count_op(g, "Add") == 1);
}
