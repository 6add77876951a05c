// squeeze_to_reshape: Squeeze/Unsqueeze of static shapes become Reshape.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/squeeze_to_reshape.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

rewrite::pass_result run_squeeze_to_reshape(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::squeeze_to_reshape>("p"), log);
}

// x[?,3] -> Unsqueeze(axes [2]) -> Relu -> Squeeze(axes [2]) -> y (opset 13: axes are inputs).
model_builder squeeze_chain(bool symbolic_batch) {
    model_builder b(13);
    b.input("x", {2, 3});
    b.output("y", {2, 3});
    if (symbolic_batch)
        for (auto* vi : {b.g->mutable_input(0), b.g->mutable_output(0)})
            vi->mutable_type()->mutable_tensor_type()->mutable_shape()->mutable_dim(0)->set_dim_param("N");
    add_int64_initializer(b, "axes", {1}, {2});
    b.node("Unsqueeze", {"x", "axes"}, {"u"});
    b.node("Relu", {"u"}, {"r"});
    b.node("Squeeze", {"r", "axes"}, {"y"});
    return b;
}

}  // namespace

TEST_CASE("squeeze_to_reshape turns Squeeze and Unsqueeze of static shapes into Reshape") {
    const auto original = ktc::onnx::parse(squeeze_chain(false).bytes(), "squeeze.onnx");
    auto g = original;
    CHECK(run_squeeze_to_reshape(g).rewrites == 2);
    CHECK(count_op(g, "Squeeze") == 0);
    CHECK(count_op(g, "Unsqueeze") == 0);
    CHECK(count_op(g, "Reshape") == 2);
    check_same_outputs(original, g, {{"x", tensor::from<float>({2, 3}, {1.f, -2.f, 3.f, -4.f, 5.f, -6.f})}});
}

TEST_CASE("squeeze_to_reshape leaves shapes with an unknown dimension") {
    auto g = ktc::onnx::parse(squeeze_chain(true).bytes(), "squeeze_symbolic.onnx");
    CHECK(run_squeeze_to_reshape(g).rewrites == 0);
    CHECK(count_op(g, "Reshape") == 0);
}
