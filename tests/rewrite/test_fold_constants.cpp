// fold_constants: constant subgraphs become initializers, Shape of a static value becomes its
// shape, and the folded graph computes what the original computed (float simulator).
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "ktc/core/npy.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/fold_constants.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

namespace fs = std::filesystem;

// A Constant node with a float `value` attribute.
rewrite::pass_result fold(graph::graph& g, rewrite::change_log& log) {
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fold_constants>("fold"), log);
}

// x[1,4] + (Constant c * k1 + k2) -> Relu -> y; optionally the constant product is an output.
model_builder constant_chain(bool product_is_output) {
    model_builder b(13);
    b.input("x", {1, 4});
    b.output("y", {1, 4});
    if (product_is_output) b.output("m", {4});
    add_constant_node(b, "c", {4}, {1.f, -2.f, 3.f, -4.f});
    add_float_initializer(b, "k1", {4}, {0.5f, 0.25f, -1.f, 2.f});
    add_float_initializer(b, "k2", {4}, {0.1f, 0.2f, 0.3f, 0.4f});
    b.node("Mul", {"c", "k1"}, {"m"})->set_name("mul");
    b.node("Add", {"m", "k2"}, {"a"})->set_name("add_const");
    b.node("Add", {"x", "a"}, {"s"})->set_name("add_x");
    b.node("Relu", {"s"}, {"y"})->set_name("relu");
    return b;
}

// PyTorch's flatten-by-shape: y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])).
// With `batch_unknown`, x's first dimension is symbolic.
model_builder shape_chain(bool batch_unknown) {
    model_builder b(13);
    b.input("x", {1, 2, 3, 4});
    b.output("y", {1, 24});
    if (batch_unknown)
        for (auto* vi : {b.g->mutable_input(0), b.g->mutable_output(0)})
            vi->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("N");
    add_int64_initializer(b, "zero", {}, {0});
    add_int64_initializer(b, "axes", {1}, {0});
    add_int64_initializer(b, "minus_one", {1}, {-1});
    b.node("Shape", {"x"}, {"s"});
    b.node("Gather", {"s", "zero"}, {"n"});
    b.node("Unsqueeze", {"n", "axes"}, {"nu"});
    auto* concat = b.node("Concat", {"nu", "minus_one"}, {"shape"});
    testing::set_int(concat, "axis", 0);
    b.node("Reshape", {"x", "shape"}, {"r"});
    b.node("Relu", {"r"}, {"y"});
    return b;
}

fs::path zoo_dir() {
    if (const char* dir = std::getenv("KTC_ZOO_DIR")) return dir;
    const char* home = std::getenv("HOME");
    return fs::path(home ? home : ".") / ".cache" / "ktc" / "zoo";
}

}  // namespace

TEST_CASE("fold_constants folds a constant chain and the graph computes the same") {
    const auto original = ktc::onnx::parse(constant_chain(false).bytes(), "chain.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto result = fold(g, log);
    CHECK(result.converged);
    CHECK(result.rewrites == 2);  // Mul, then the Add of constants
    CHECK(count_op(g, "Constant") == 0);
    CHECK(count_op(g, "Mul") == 0);
    CHECK(count_op(g, "Add") == 1);
    CHECK(g.node_count() == 2);
    REQUIRE(g.initializer("a"));  // the folded value keeps its name
    const auto a = g.initializer("a")->to_vector<float>();
    const std::vector<float> expected = {1.f * 0.5f + 0.1f, -2.f * 0.25f + 0.2f, 3.f * -1.f + 0.3f, -4.f * 2.f + 0.4f};
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(a.at(i) == doctest::Approx(expected[i]));
    CHECK(g.initializers.count("k1") == 0);  // unused constants go
    CHECK(g.initializers.count("m") == 0);
    check_same_outputs(original, g, {{"x", tensor::from<float>({1, 4}, {-1.f, 0.5f, 2.f, 3.f})}});
}

TEST_CASE("fold_constants does not fold a node producing a graph output") {
    const auto original = ktc::onnx::parse(constant_chain(true).bytes(), "chain_out.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto result = fold(g, log);
    CHECK(result.converged);
    CHECK(count_op(g, "Mul") == 1);       // makes output "m": kept
    CHECK(count_op(g, "Constant") == 1);  // still read by the Mul
    CHECK(count_op(g, "Add") == 2);       // "m" is not a constant while the Mul makes it
    CHECK(g.producer("m"));
    CHECK(g.outputs.at(1).name == "m");
    check_same_outputs(original, g, {{"x", tensor::from<float>({1, 4}, {-1.f, 0.5f, 2.f, 3.f})}});
}

TEST_CASE("fold_constants makes a Shape->Gather->Unsqueeze->Concat->Reshape chain static") {
    const auto original = ktc::onnx::parse(shape_chain(false).bytes(), "shape_chain.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto result = fold(g, log);
    CHECK(result.converged);
    CHECK(result.rewrites == 4);
    for (const char* op : {"Shape", "Gather", "Unsqueeze", "Concat"}) {
        CAPTURE(op);
        CHECK(count_op(g, op) == 0);
    }
    REQUIRE(count_op(g, "Reshape") == 1);
    const auto reshape = *g.producer("r");
    const auto shape = graph::constant_value(g, g[reshape].input(1));
    REQUIRE(shape);
    CHECK(shape->to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -1});
    std::vector<float> x(24);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) - 11.5f;
    check_same_outputs(original, g, {{"x", tensor::from<float>({1, 2, 3, 4}, x)}});
}

TEST_CASE("fold_constants leaves Shape alone when a dimension is unknown") {
    auto g = ktc::onnx::parse(shape_chain(true).bytes(), "shape_chain_dynamic.onnx");
    const std::size_t nodes = g.node_count();
    rewrite::change_log log;
    const auto result = fold(g, log);
    CHECK(result.converged);
    CHECK(result.rewrites == 0);
    CHECK(g.node_count() == nodes);
    CHECK(count_op(g, "Shape") == 1);
    CHECK(log.empty());
}

TEST_CASE("fold_constants leaves an output bigger than its bound unfolded") {
    // ConstantOfShape of [4096, 4097] would hold more than 2^24 elements.
    model_builder b(13);
    b.input("x", {1});
    b.output("y", {4096, 4097});
    add_int64_initializer(b, "big", {2}, {4096, 4097});
    b.node("ConstantOfShape", {"big"}, {"z"});
    b.node("Add", {"z", "x"}, {"y"});
    auto g = ktc::onnx::parse(b.bytes(), "big.onnx");
    rewrite::change_log log;
    const auto result = fold(g, log);
    CHECK(result.rewrites == 0);
    CHECK(count_op(g, "ConstantOfShape") == 1);
}

TEST_CASE("fold_constants converges and a second run changes nothing") {
    for (bool shapes : {false, true}) {
        CAPTURE(shapes);
        auto g = ktc::onnx::parse(shapes ? shape_chain(false).bytes() : constant_chain(false).bytes(), "again.onnx");
        rewrite::change_log log;
        const auto first = fold(g, log);
        CHECK(first.converged);
        CHECK(first.rewrites > 0);
        const std::size_t logged = log.size();
        const auto again = fold(g, log);
        CHECK(again.converged);
        CHECK(again.rewrites == 0);
        CHECK(again.sweeps == 1);
        CHECK(log.size() == logged);
    }
}

TEST_CASE("fold_constants makes shufflenet_v2_x1_0 static and keeps its outputs (zoo)") {
    const fs::path dir = zoo_dir();
    const fs::path model = dir / "shufflenet_v2_x1_0.onnx", input = dir / "shufflenet_v2_x1_0.input.npy";
    // the zoo is made by scripts/test.sh: without it this fails, saying how to make it
    REQUIRE_MESSAGE(
        (fs::exists(model) && fs::exists(input)),
        model << " or its input is missing: run /usr/bin/python3 tools/zoo.py --out " << dir << " (docs/zoo.md)");
    const auto original = ktc::onnx::load(model);
    auto g = original;
    rewrite::change_log log;
    const auto result = fold(g, log);
    CHECK(result.converged);
    MESSAGE("shufflenet_v2_x1_0: " << original.node_count() << " nodes before fold_constants, " << g.node_count()
                                   << " after (" << result.rewrites << " folds, " << result.sweeps << " sweeps)");
    CHECK(count_op(original, "Shape") > 0);
    CHECK(count_op(g, "Shape") == 0);
    CHECK(count_op(g, "Gather") == 0);
    CHECK(count_op(g, "Unsqueeze") == 0);
    for (const auto v : g.nodes()) {
        if (g[v].op_type == "Constant") CHECK(!g.consumers(g[v].outputs.at(0)).empty());  // none left dead
    }
    // This export splits channels with Shape -> Gather -> Add/Div/Mul -> Slice; its Reshapes read
    // Constant shapes. After folding, every Slice and Reshape has constant parameters.
    for (const auto v : g.nodes()) {
        const graph::node& n = g[v];
        if (n.op_type != "Reshape" && n.op_type != "Slice") continue;
        CAPTURE(n.name);
        for (std::size_t i = 1; i < n.inputs.size(); ++i)
            if (n.has_input(i)) CHECK(graph::constant_value(g, n.input(i)));
        if (const auto p = g.producer(n.input(1))) CHECK(g[*p].op_type != "Concat");
    }
    check_same_outputs(original, g, {{original.inputs.at(0).name, npy::load(input)}}, 1e-5);
}
