// Preprocess extras: Constant nodes become initializers, the batch dimension of graph inputs is
// fixed to 1 and unused graph inputs go.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/constant_to_initializer.hpp"
#include "ktc/rewrite/passes/fix_graph_inputs.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

rewrite::pass_result run_preprocess_inputs(graph::graph& g, rewrite::change_log& log) {
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::constant_to_initializer>("c2i"), log);
}

}  // namespace

TEST_CASE("constant_to_initializer turns Constant nodes into initializers under their output names") {
    model_builder b(13);
    b.input("x", {1, 4});
    b.output("y", {1, 4});
    add_constant_node(b, "c", {4}, {1.f, -2.f, 3.f, -4.f});
    auto* k = b.node("Constant", {}, {"k"});
    set_float(k, "value_float", 0.5f);
    b.node("Add", {"x", "c"}, {"s"});
    b.node("Mul", {"s", "k"}, {"y"});
    const auto original = ktc::onnx::parse(b.bytes(), "consts.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto result = run_preprocess_inputs(g, log);
    CHECK(result.converged);
    CHECK(result.rewrites == 2);
    CHECK(count_op(g, "Constant") == 0);
    REQUIRE(g.initializers.count("c") == 1);
    REQUIRE(g.initializers.count("k") == 1);
    CHECK(g.initializers.at("k").shape().empty());
    check_same_outputs(original, g, {{"x", tensor::from<float>({1, 4}, {1.f, 2.f, 3.f, 4.f})}});
}

TEST_CASE("constant_to_initializer keeps a Constant that makes a graph output") {
    model_builder b(13);
    b.input("x", {1, 4});
    b.output("y", {1, 4});
    b.output("c", {4});
    add_constant_node(b, "c", {4}, {1.f, -2.f, 3.f, -4.f});
    b.node("Add", {"x", "c"}, {"y"});
    auto g = ktc::onnx::parse(b.bytes(), "const_out.onnx");
    rewrite::change_log log;
    CHECK(run_preprocess_inputs(g, log).rewrites == 0);
    CHECK(count_op(g, "Constant") == 1);
}

TEST_CASE("fix_batch_dimension sets an unknown or zero batch to 1 and leaves a fixed one") {
    model_builder b(13);
    b.input("x", {1, 3});
    b.input("z", {4, 3});
    b.output("y", {4, 3});
    b.node("Add", {"x", "z"}, {"y"});
    auto g = ktc::onnx::parse(b.bytes(), "batch.onnx");
    g.inputs[0].shape[0] = -1;
    rewrite::change_log log;
    CHECK(rewrite::fix_batch_dimension(g, log) == 1);
    CHECK(g.inputs[0].shape == shape_t{1, 3});
    CHECK(g.inputs[1].shape == shape_t{4, 3});  // a real batch of 4 is kept
    g.inputs[1].shape[0] = 0;
    CHECK(rewrite::fix_batch_dimension(g, log) == 1);
    CHECK(g.inputs[1].shape == shape_t{1, 3});
    CHECK(rewrite::fix_batch_dimension(g, log) == 0);
    CHECK(log.size() == 2);
}

TEST_CASE("remove_unused_inputs drops inputs no node reads, and only those") {
    model_builder b(13);
    b.input("x", {1, 3});
    b.input("unused", {1, 3});
    b.output("y", {1, 3});
    b.node("Relu", {"x"}, {"y"});
    auto g = ktc::onnx::parse(b.bytes(), "unused.onnx");
    rewrite::change_log log;
    CHECK(rewrite::remove_unused_inputs(g, log) == 1);
    REQUIRE(g.inputs.size() == 1);
    CHECK(g.inputs[0].name == "x");
    CHECK(rewrite::remove_unused_inputs(g, log) == 0);
}
