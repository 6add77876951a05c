// reshape_to_flatten and flatten_gemm_input: a Gemm reads a Flatten of its 4-D input.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/gemm_input_flatten.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[2,2,2,1] -> Reshape(shape) -> Gemm(w) -> y.
model_builder reshape_gemm(std::vector<std::int64_t> shape, shape_t w_shape) {
    model_builder b(13);
    b.input("x", {2, 2, 2, 1});
    b.output("y", {shape[0], w_shape[1]});
    add_int64_initializer(b, "shape", {2}, shape);
    add_float_initializer(b, "w", w_shape, ramp(static_cast<std::size_t>(w_shape[0] * w_shape[1]), 0.25f, -1.f));
    b.node("Reshape", {"x", "shape"}, {"r"});
    b.node("Gemm", {"r", "w"}, {"y"});
    return b;
}

template <class... P>
rewrite::pass_result run_gemm_input_flatten(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<P...>("p"), log);
}

}  // namespace

TEST_CASE("reshape_to_flatten turns a Reshape to [N, rest] before a Gemm into a Flatten") {
    const auto original = ktc::onnx::parse(reshape_gemm({2, -1}, {4, 3}).bytes(), "reshape_gemm.onnx");
    auto g = original;
    CHECK(run_gemm_input_flatten<rewrite::passes::reshape_to_flatten>(g).rewrites == 1);
    CHECK(count_op(g, "Reshape") == 0);
    CHECK(count_op(g, "Flatten") == 1);
    check_same_outputs(original, g, {{"x", tensor::from<float>({2, 2, 2, 1}, ramp(8, 0.5f, -2.f))}});
}

TEST_CASE("reshape_to_flatten leaves a Reshape that moves the batch boundary") {
    auto g = ktc::onnx::parse(reshape_gemm({4, 2}, {2, 3}).bytes(), "reshape_gemm_batch.onnx");
    CHECK(run_gemm_input_flatten<rewrite::passes::reshape_to_flatten>(g).rewrites == 0);
    CHECK(count_op(g, "Reshape") == 1);
}

TEST_CASE("flatten_gemm_input gives a Gemm on a 4-D value its Flatten; a 2-D input gets none") {
    model_builder b(13);
    b.input("x", {1, 4, 2, 2});
    b.output("y", {1, 3});
    add_float_initializer(b, "w", {4, 3}, ramp(12, 0.25f, -1.f));
    b.node("GlobalAveragePool", {"x"}, {"p"});
    set_int(b.node("Flatten", {"p"}, {"f"}), "axis", 1);
    b.node("Gemm", {"f", "w"}, {"y"});
    const auto reference = ktc::onnx::parse(b.bytes(), "gap_flatten_gemm.onnx");
    auto g = reference;
    CHECK(run_gemm_input_flatten<rewrite::passes::flatten_gemm_input>(g).rewrites == 0);  // already 2-D

    // The exporter's form: the Gemm reads the 4-D pooled value directly.
    const graph::vertex flatten = *g.producer("f");
    g.replace_all_uses("f", "p");
    g.remove_node(flatten);
    REQUIRE(count_op(g, "Flatten") == 0);
    CHECK(run_gemm_input_flatten<rewrite::passes::flatten_gemm_input>(g).rewrites == 1);
    CHECK(count_op(g, "Flatten") == 1);
    CHECK(run_gemm_input_flatten<rewrite::passes::flatten_gemm_input>(g).rewrites == 0);
    check_same_outputs(reference, g, {{"x", tensor::from<float>({1, 4, 2, 2}, ramp(16, 0.5f, -2.f))}});
}
