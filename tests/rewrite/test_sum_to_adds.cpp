// sum_to_adds: Sum of several inputs becomes a chain of Adds.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/sum_to_adds.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

rewrite::pass_result run_sum_to_adds(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::sum_to_adds>("p"), log);
}

}  // namespace

TEST_CASE("sum_to_adds turns a Sum of four inputs (with broadcasting) into three Adds") {
    model_builder b(13);
    b.input("a", {2, 3});
    b.input("b", {2, 3});
    b.input("c", {1, 3});
    b.output("y", {2, 3});
    add_float_initializer(b, "k", {3}, {0.5f, -1.f, 2.f});
    b.node("Sum", {"a", "b", "c", "k"}, {"y"})->set_name("sum");
    const auto original = ktc::onnx::parse(b.bytes(), "sum.onnx");
    auto g = original;
    CHECK(run_sum_to_adds(g).rewrites == 1);
    CHECK(count_op(g, "Sum") == 0);
    CHECK(count_op(g, "Add") == 3);
    CHECK(g[*g.producer("y")].name == "sum");
    check_same_outputs(original, g,
                       {{"a", tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6})},
                        {"b", tensor::from<float>({2, 3}, {-1, 0.5f, 2, 0, 1, -3})},
                        {"c", tensor::from<float>({1, 3}, {0.25f, 0.5f, 0.75f})}});
}

TEST_CASE("sum_to_adds leaves a Sum of one input") {
    model_builder b(13);
    b.input("a", {2, 3});
    b.output("y", {2, 3});
    b.node("Sum", {"a"}, {"y"});
    auto g = ktc::onnx::parse(b.bytes(), "sum1.onnx");
    CHECK(run_sum_to_adds(g).rewrites == 0);
    CHECK(count_op(g, "Sum") == 1);
}
