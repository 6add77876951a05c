// eliminate_single_input_concat: a Concat of one tensor goes.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/eliminate_single_input_concat.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

rewrite::pass_result run_eliminate_single_input_concat(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::eliminate_single_input_concat>("p"), log);
}

}  // namespace

TEST_CASE("eliminate_single_input_concat drops a Concat of one input") {
    model_builder b(13);
    b.input("x", {1, 4});
    b.output("y", {1, 4});
    set_int(b.node("Concat", {"x"}, {"c"}), "axis", 1);
    b.node("Relu", {"c"}, {"y"});
    const auto original = ktc::onnx::parse(b.bytes(), "concat1.onnx");
    auto g = original;
    CHECK(run_eliminate_single_input_concat(g).rewrites == 1);
    CHECK(count_op(g, "Concat") == 0);
    check_same_outputs(original, g, {{"x", tensor::from<float>({1, 4}, {1.f, -2.f, 3.f, -4.f})}});
}

TEST_CASE("eliminate_single_input_concat keeps a Concat of two inputs and one making a graph output") {
    model_builder b(13);
    b.input("x", {1, 4});
    b.output("y", {1, 8});
    b.output("z", {1, 4});
    set_int(b.node("Concat", {"x", "x"}, {"y"}), "axis", 1);
    b.node("Relu", {"x"}, {"r"});
    set_int(b.node("Concat", {"r"}, {"z"}), "axis", 1);
    auto g = ktc::onnx::parse(b.bytes(), "concat2.onnx");
    CHECK(run_eliminate_single_input_concat(g).rewrites == 0);
    CHECK(count_op(g, "Concat") == 2);
}
