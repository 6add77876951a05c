// bake_gemm_transb: a transposed constant Gemm weight is stored transposed.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/bake_gemm_transb.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

rewrite::pass_result run_bake_gemm_transb(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::bake_gemm_transb>("p"), log);
}

}  // namespace

TEST_CASE("bake_gemm_transb transposes a constant weight and drops transB") {
    model_builder b(13);
    b.input("x", {2, 3});
    b.output("y", {2, 4});
    add_float_initializer(b, "w", {4, 3}, ramp(12, 0.5f, -2.f));
    add_float_initializer(b, "c", {4}, {0.1f, 0.2f, -0.3f, 0.4f});
    auto* gemm = b.node("Gemm", {"x", "w", "c"}, {"y"});
    set_int(gemm, "transB", 1);
    set_float(gemm, "alpha", 0.5f);
    const auto original = ktc::onnx::parse(b.bytes(), "gemm.onnx");
    auto g = original;
    const auto result = run_bake_gemm_transb(g);
    CHECK(result.converged);
    CHECK(result.rewrites == 1);
    const graph::node& n = g[g.nodes().at(0)];
    CHECK(n.attrs.get_int("transB", 0) == 0);
    CHECK(g.initializer(n.input(1))->shape() == shape_t{3, 4});
    CHECK(g.initializers.count("w") == 0);
    check_same_outputs(original, g, {{"x", tensor::from<float>({2, 3}, ramp(6, 0.3f, -1.f))}});
}

TEST_CASE("bake_gemm_transb leaves a weight that is not constant") {
    model_builder b(13);
    b.input("x", {2, 3});
    b.input("w", {4, 3});
    b.output("y", {2, 4});
    set_int(b.node("Gemm", {"x", "w"}, {"y"}), "transB", 1);
    auto g = ktc::onnx::parse(b.bytes(), "gemm_input_w.onnx");
    CHECK(run_bake_gemm_transb(g).rewrites == 0);
    CHECK(g[g.nodes().at(0)].attrs.get_int("transB", 0) == 1);
}
