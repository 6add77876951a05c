// fuse_consecutive_gemms: Gemm -> Gemm with constant weights becomes one Gemm.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/fuse_consecutive_gemms.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[2,4] -> Gemm(4->3, transB) -> h [-> Relu] -> Gemm(3->2) -> y.
model_builder two_gemms(bool relu_between) {
    model_builder b(13);
    b.input("x", {2, 4});
    b.output("y", {2, 2});
    add_float_initializer(b, "w1", {3, 4}, ramp(12, 0.25f, -1.f));
    add_float_initializer(b, "c1", {3}, {0.1f, -0.2f, 0.3f});
    add_float_initializer(b, "w2", {3, 2}, ramp(6, 0.5f, -1.5f));
    add_float_initializer(b, "c2", {1, 2}, {0.7f, -0.4f});
    auto* g1 = b.node("Gemm", {"x", "w1", "c1"}, {"h"});
    set_int(g1, "transB", 1);
    set_float(g1, "alpha", 0.5f);
    set_float(g1, "beta", 2.f);
    std::string a = "h";
    if (relu_between) {
        b.node("Relu", {"h"}, {"hr"});
        a = "hr";
    }
    auto* g2 = b.node("Gemm", {a, "w2", "c2"}, {"y"});
    set_float(g2, "alpha", 1.5f);
    set_float(g2, "beta", 0.25f);
    return b;
}

rewrite::pass_result run_fuse_consecutive_gemms(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_consecutive_gemms>("p"), log);
}

}  // namespace

TEST_CASE("fuse_consecutive_gemms merges two linear Gemms into one") {
    const auto original = ktc::onnx::parse(two_gemms(false).bytes(), "gemms.onnx");
    auto g = original;
    const auto result = run_fuse_consecutive_gemms(g);
    CHECK(result.converged);
    CHECK(result.rewrites == 1);
    CHECK(count_op(g, "Gemm") == 1);
    check_same_outputs(original, g, {{"x", tensor::from<float>({2, 4}, ramp(8, 0.3f, -1.f))}}, 1e-5);
}

TEST_CASE("fuse_consecutive_gemms does not fire across an activation") {
    auto g = ktc::onnx::parse(two_gemms(true).bytes(), "gemms_relu.onnx");
    CHECK(run_fuse_consecutive_gemms(g).rewrites == 0);
    CHECK(count_op(g, "Gemm") == 2);
}
