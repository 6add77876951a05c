// fuse_bn_into_gemm: a BatchNormalization after a Gemm (directly or through a Reshape) folds into
// the Gemm's weight and bias.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/fuse_bn_into_gemm.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[1,4] -> Gemm(4->3) -> g [-> Reshape [1,3,1,1]] -> BN -> y; optionally g is also an output.
model_builder gemm_bn(bool through_reshape, bool gemm_output_is_graph_output, bool trans_b) {
    model_builder b(13);
    b.input("x", {1, 4});
    b.output("y", through_reshape ? shape_t{1, 3, 1, 1} : shape_t{1, 3});
    if (gemm_output_is_graph_output) b.output("g", {1, 3});
    add_float_initializer(b, "w", trans_b ? shape_t{3, 4} : shape_t{4, 3}, ramp(12, 0.25f, -1.f));
    add_float_initializer(b, "c", {3}, {0.1f, -0.2f, 0.3f});
    add_float_initializer(b, "scale", {3}, {1.5f, 0.5f, -2.f});
    add_float_initializer(b, "shift", {3}, {0.3f, -0.4f, 1.f});
    add_float_initializer(b, "mean", {3}, {0.2f, -0.1f, 0.5f});
    add_float_initializer(b, "var", {3}, {0.8f, 2.0f, 0.3f});
    auto* gemm = b.node("Gemm", {"x", "w", "c"}, {"g"});
    set_float(gemm, "beta", 0.5f);
    if (trans_b) set_int(gemm, "transB", 1);
    std::string bn_in = "g";
    if (through_reshape) {
        add_int64_initializer(b, "shape", {4}, {1, 3, 1, 1});
        b.node("Reshape", {"g", "shape"}, {"r"});
        bn_in = "r";
    }
    b.node("BatchNormalization", {bn_in, "scale", "shift", "mean", "var"}, {"y"});
    return b;
}

rewrite::pass_result run_fuse_bn_into_gemm(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_bn_into_gemm>("p"), log);
}

}  // namespace

TEST_CASE("fuse_bn_into_gemm folds a BN after a Gemm, directly or through a Reshape") {
    for (bool through_reshape : {false, true})
        for (bool trans_b : {false, true}) {
            CAPTURE(through_reshape);
            CAPTURE(trans_b);
            const auto original = ktc::onnx::parse(gemm_bn(through_reshape, false, trans_b).bytes(), "gemm_bn.onnx");
            auto g = original;
            const auto result = run_fuse_bn_into_gemm(g);
            CHECK(result.converged);
            CHECK(result.rewrites == 1);
            CHECK(count_op(g, "BatchNormalization") == 0);
            CHECK(count_op(g, "Gemm") == 1);
            CHECK(g.producer("y"));
            check_same_outputs(original, g, {{"x", tensor::from<float>({1, 4}, {1.f, -2.f, 0.5f, 3.f})}}, 1e-5);
        }
}

TEST_CASE("fuse_bn_into_gemm does not fire when the Gemm output is also a graph output") {
    auto g = ktc::onnx::parse(gemm_bn(false, true, false).bytes(), "gemm_bn_out.onnx");
    CHECK(run_fuse_bn_into_gemm(g).rewrites == 0);
    CHECK(count_op(g, "BatchNormalization") == 1);
}
