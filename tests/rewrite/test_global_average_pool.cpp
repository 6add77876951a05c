// average_pool_to_global and reduce_mean_to_global_pool.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/global_average_pool.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

template <class P>
rewrite::pass_result run_global_average_pool(graph::graph& g) {
    rewrite::change_log log;
    return rewrite::apply_greedily(g, rewrite::make_pass<P>("p"), log);
}

const tensor input_global_average_pool = tensor::from<float>({1, 2, 3, 3}, ramp(18, 0.5f, -2.f));

}  // namespace

TEST_CASE("average_pool_to_global: a kernel covering the input_global_average_pool becomes GlobalAveragePool") {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 2, 1, 1});
    auto* pool = b.node("AveragePool", {"x"}, {"y"});
    set_ints(pool, "kernel_shape", {3, 3});
    set_ints(pool, "strides", {2, 2});
    const auto original = ktc::onnx::parse(b.bytes(), "avgpool.onnx");
    auto g = original;
    CHECK(run_global_average_pool<rewrite::passes::average_pool_to_global>(g).rewrites == 1);
    CHECK(count_op(g, "GlobalAveragePool") == 1);
    CHECK(count_op(g, "AveragePool") == 0);
    check_same_outputs(original, g, {{"x", input_global_average_pool}});
}

TEST_CASE("average_pool_to_global leaves a padded or smaller window") {
    for (bool padded : {true, false}) {
        model_builder b(13);
        b.input("x", {1, 2, 3, 3});
        b.output("y", {1, 2, padded ? 3 : 2, padded ? 3 : 2});
        auto* pool = b.node("AveragePool", {"x"}, {"y"});
        set_ints(pool, "kernel_shape", {padded ? 3 : 2, padded ? 3 : 2});
        if (padded) set_ints(pool, "pads", {1, 1, 1, 1});
        auto g = ktc::onnx::parse(b.bytes(), "avgpool_keep.onnx");
        CHECK(run_global_average_pool<rewrite::passes::average_pool_to_global>(g).rewrites == 0);
        CHECK(count_op(g, "AveragePool") == 1);
    }
}

TEST_CASE("reduce_mean_to_global_pool: a mean over H,W becomes GlobalAveragePool (+ Flatten without keepdims)") {
    for (int keepdims : {1, 0}) {
        CAPTURE(keepdims);
        model_builder b(13);
        b.input("x", {1, 2, 3, 3});
        b.output("y", keepdims ? shape_t{1, 2, 1, 1} : shape_t{1, 2});
        auto* mean = b.node("ReduceMean", {"x"}, {"y"});
        set_ints(mean, "axes", {-1, 2});
        set_int(mean, "keepdims", keepdims);
        const auto original = ktc::onnx::parse(b.bytes(), "mean_hw.onnx");
        auto g = original;
        CHECK(run_global_average_pool<rewrite::passes::reduce_mean_to_global_pool>(g).rewrites == 1);
        CHECK(count_op(g, "ReduceMean") == 0);
        CHECK(count_op(g, "GlobalAveragePool") == 1);
        CHECK(count_op(g, "Flatten") == (keepdims ? 0u : 1u));
        check_same_outputs(original, g, {{"x", input_global_average_pool}});
    }
}

TEST_CASE("reduce_mean_to_global_pool leaves a mean over other axes") {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 1, 1, 3});
    set_ints(b.node("ReduceMean", {"x"}, {"y"}), "axes", {1, 2});
    auto g = ktc::onnx::parse(b.bytes(), "mean_ch.onnx");
    CHECK(run_global_average_pool<rewrite::passes::reduce_mean_to_global_pool>(g).rewrites == 0);
    CHECK(count_op(g, "ReduceMean") == 1);
}
