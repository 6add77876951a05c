// fold_transpose_into_gemm: Transpose -> Flatten -> Gemm becomes Flatten -> Gemm with the weight's
// rows reordered.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/fold_transpose_into_gemm.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[1,2,3,4] -> Transpose(perm) -> t -> Flatten -> f -> Gemm(w[24,5], c) -> y
graph::graph transpose_flatten_gemm(std::vector<std::int64_t> perm, bool t_is_output) {
    model_builder b(13);
    b.input("x", {1, 2, 3, 4});
    b.output("y", {1, 5});
    if (t_is_output) b.output("t", {1, 3, 4, 2});
    add_float_initializer(b, "w", {24, 5}, ramp(120, 0.25f, -1.f));
    add_float_initializer(b, "c", {5}, {0.1f, 0.2f, -0.3f, 0.4f, 0.5f});
    set_ints(b.node("Transpose", {"x"}, {"t"}), "perm", perm);
    b.node("Flatten", {"t"}, {"f"});
    b.node("Gemm", {"f", "w", "c"}, {"y"});
    return ktc::onnx::parse(b.bytes(), "tfg.onnx");
}

rewrite::pass_result run_fold_transpose_into_gemm(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fold_transpose_into_gemm>("p"), log);
}

const sim::tensor_map input_fold_transpose_into_gemm = {
    {"x", tensor::from<float>({1, 2, 3, 4}, ramp(24, 0.3f, -1.5f))}};

}  // namespace

TEST_CASE("fold_transpose_into_gemm reorders the weight rows and drops the Transpose") {
    for (const std::vector<std::int64_t>& perm : {std::vector<std::int64_t>{0, 2, 3, 1}, {0, 3, 1, 2}, {0, 1, 3, 2}}) {
        CAPTURE(perm);
        const auto original = transpose_flatten_gemm(perm, false);
        auto g = original;
        const auto result = run_fold_transpose_into_gemm(g);
        CHECK(result.converged);
        CHECK(result.rewrites == 1);
        CHECK(count_op(g, "Transpose") == 0);
        CHECK(count_op(g, "Flatten") == 1);
        check_same_outputs(original, g, input_fold_transpose_into_gemm, 1e-6);
    }
}

TEST_CASE("fold_transpose_into_gemm does not fire when the transposed value is read elsewhere or the batch moves") {
    auto g = transpose_flatten_gemm({0, 2, 3, 1}, true);
    CHECK(run_fold_transpose_into_gemm(g).rewrites == 0);
    CHECK(count_op(g, "Transpose") == 1);

    model_builder b(13);
    b.input("x", {2, 3});
    b.output("y", {3, 4});
    add_float_initializer(b, "w", {2, 4}, ramp(8, 0.5f));
    set_ints(b.node("Transpose", {"x"}, {"t"}), "perm", {1, 0});
    b.node("Flatten", {"t"}, {"f"});
    b.node("Gemm", {"f", "w"}, {"y"});
    auto moved = ktc::onnx::parse(b.bytes(), "batch_moves.onnx");
    CHECK(run_fold_transpose_into_gemm(moved).rewrites == 0);
}
