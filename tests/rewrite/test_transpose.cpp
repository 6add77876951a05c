// Transposes: pushed through element-wise ops, inverse pairs cancel, identities go.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/transpose.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

rewrite::pass_result run_transpose(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(
        g,
        rewrite::make_pass<rewrite::passes::eliminate_identity_transpose, rewrite::passes::merge_transposes,
                           rewrite::passes::push_transpose_through_elementwise>("p"),
        log);
}

const tensor input_transpose = tensor::from<float>({1, 3, 2, 4}, ramp(24, 0.5f, -2.f));

}  // namespace

TEST_CASE("a Transpose pushed through Relu and Add(constant) cancels its inverse") {
    model_builder b(13);
    b.input("x", {1, 3, 2, 4});
    b.output("y", {1, 3, 2, 4});
    add_float_initializer(b, "k", {3}, {0.5f, -1.f, 2.f});  // broadcasts along the last (channel) axis
    set_ints(b.node("Transpose", {"x"}, {"t"}), "perm", {0, 2, 3, 1});
    b.node("Relu", {"t"}, {"r"});
    b.node("Add", {"r", "k"}, {"a"});
    set_ints(b.node("Transpose", {"a"}, {"y"}), "perm", {0, 3, 1, 2});
    const auto original = ktc::onnx::parse(b.bytes(), "nhwc_roundtrip.onnx");
    auto g = original;
    const auto result = run_transpose(g);
    CHECK(result.converged);
    CHECK(count_op(g, "Transpose") == 1);  // the last one makes the graph output: it stays, as identity
    CHECK(g[*g.producer("y")].attrs.get_ints("perm") == std::vector<std::int64_t>{0, 1, 2, 3});
    check_same_outputs(original, g, {{"x", input_transpose}});
}

TEST_CASE("an inverse pair inside the graph cancels completely; an identity Transpose goes") {
    model_builder b(13);
    b.input("x", {1, 3, 2, 4});
    b.output("y", {1, 3, 2, 4});
    set_ints(b.node("Transpose", {"x"}, {"t1"}), "perm", {0, 2, 3, 1});
    set_ints(b.node("Transpose", {"t1"}, {"t2"}), "perm", {0, 3, 1, 2});
    set_ints(b.node("Transpose", {"t2"}, {"t3"}), "perm", {0, 1, 2, 3});
    b.node("Relu", {"t3"}, {"y"});
    const auto original = ktc::onnx::parse(b.bytes(), "pair.onnx");
    auto g = original;
    run_transpose(g);
    CHECK(count_op(g, "Transpose") == 0);
    CHECK(g.node_count() == 1);
    check_same_outputs(original, g, {{"x", input_transpose}});
}

TEST_CASE("Transposes stay when their output is read elsewhere or the perms differ") {
    model_builder b(13);
    b.input("x", {1, 3, 2, 4});
    b.input("z", {1, 3, 2, 4});
    b.output("y", {2, 4, 1, 3});
    b.output("t", {1, 2, 4, 3});
    set_ints(b.node("Transpose", {"x"}, {"t"}), "perm", {0, 2, 3, 1});  // also a graph output
    b.node("Relu", {"t"}, {"r"});
    set_ints(b.node("Transpose", {"z"}, {"u"}), "perm", {2, 3, 0, 1});
    set_ints(b.node("Transpose", {"r"}, {"rr"}), "perm", {1, 2, 0, 3});
    b.node("Add", {"rr", "u"}, {"y"});
    const auto original = ktc::onnx::parse(b.bytes(), "keep.onnx");
    auto g = original;
    run_transpose(g);
    CHECK(count_op(g, "Transpose") == 3);
    CHECK(count_op(g, "Relu") == 1);
    check_same_outputs(original, g, {{"x", input_transpose}, {"z", input_transpose}});
}
