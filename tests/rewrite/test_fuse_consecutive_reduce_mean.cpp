// fuse_consecutive_reduce_mean: a mean of a mean is one mean over both sets of axes.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/fuse_consecutive_reduce_mean.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

rewrite::pass_result run_fuse_consecutive_reduce_mean(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_consecutive_reduce_mean>("p"), log);
}

const tensor input_fuse_consecutive_reduce_mean = tensor::from<float>({1, 2, 3, 4}, ramp(24, 0.5f, -2.f));

}  // namespace

TEST_CASE("fuse_consecutive_reduce_mean merges two means (axes mapped back when keepdims = 0)") {
    for (int keepdims : {0, 1}) {
        CAPTURE(keepdims);
        model_builder b(13);
        b.input("x", {1, 2, 3, 4});
        b.output("y", keepdims ? shape_t{1, 2, 1, 1} : shape_t{1, 2});
        auto* m1 = b.node("ReduceMean", {"x"}, {"m"});
        set_ints(m1, "axes", {3});
        set_int(m1, "keepdims", keepdims);
        auto* m2 = b.node("ReduceMean", {"m"}, {"y"});
        set_ints(m2, "axes", {-1 - keepdims});  // H: axis 2 of the (kept or reduced) mean
        set_int(m2, "keepdims", keepdims);
        const auto original = ktc::onnx::parse(b.bytes(), "means.onnx");
        auto g = original;
        CHECK(run_fuse_consecutive_reduce_mean(g).rewrites == 1);
        REQUIRE(count_op(g, "ReduceMean") == 1);
        CHECK(g[*g.producer("y")].attrs.get_ints("axes") == std::vector<std::int64_t>{2, 3});
        check_same_outputs(original, g, {{"x", input_fuse_consecutive_reduce_mean}});
    }
}

TEST_CASE("fuse_consecutive_reduce_mean leaves means with different keepdims") {
    model_builder b(13);
    b.input("x", {1, 2, 3, 4});
    b.output("y", {1, 2, 1});
    auto* m1 = b.node("ReduceMean", {"x"}, {"m"});
    set_ints(m1, "axes", {3});
    set_int(m1, "keepdims", 0);
    set_ints(b.node("ReduceMean", {"m"}, {"y"}), "axes", {2});
    auto g = ktc::onnx::parse(b.bytes(), "means_mixed.onnx");
    CHECK(run_fuse_consecutive_reduce_mean(g).rewrites == 0);
    CHECK(count_op(g, "ReduceMean") == 2);
}
