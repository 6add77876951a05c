// The rewrite engine and the first passes: each shown firing, and rightly not firing, with the
// rewritten graph computing what the original computed (float simulator).
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/passes/eliminate_identity.hpp"
#include "ktc/rewrite/passes/fuse_bn_into_conv.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using testing::model_builder;

namespace {

void add_initializer(model_builder& b, const std::string& name, shape_t shape, std::vector<float> values) {
    auto* t = b.g->add_initializer();
    t->set_name(name);
    t->set_data_type(::onnx::TensorProto::FLOAT);
    for (auto d : shape) t->add_dims(d);
    for (float v : values) t->add_float_data(v);
}

std::vector<float> ramp(std::size_t n, float scale, float offset = 0.f) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = offset + scale * static_cast<float>((i * 7) % 11);
    return v;
}

// x[1,2,3,3] -> Conv(2->2, 1x1) -> c -> BatchNormalization -> y, optionally c also an output.
model_builder conv_bn(bool conv_output_is_graph_output) {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 2, 3, 3});
    if (conv_output_is_graph_output) b.output("c", {1, 2, 3, 3});
    add_initializer(b, "w", {2, 2, 1, 1}, {0.5f, -1.f, 2.f, 0.25f});
    add_initializer(b, "bias", {2}, {0.1f, -0.2f});
    add_initializer(b, "scale", {2}, {1.5f, 0.5f});
    add_initializer(b, "shift", {2}, {0.3f, -0.4f});
    add_initializer(b, "mean", {2}, {0.2f, -0.1f});
    add_initializer(b, "var", {2}, {0.8f, 2.0f});
    b.node("Conv", {"x", "w", "bias"}, {"c"})->set_name("conv");
    b.node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"y"})->set_name("bn");
    return b;
}

sim::tensor_map run(const graph::graph& g, const tensor& x) {
    return sim::float_simulator(g).run({{"x", x}});
}

void check_same_outputs(const graph::graph& before, const graph::graph& after, const tensor& x) {
    const auto a = run(before, x), b = run(after, x);
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
        const auto u = t.to_vector<float>(), v = b.at(name).to_vector<float>();
        REQUIRE(u.size() == v.size());
        for (std::size_t i = 0; i < u.size(); ++i) CHECK(v[i] == doctest::Approx(u[i]).epsilon(1e-5));
    }
}

std::size_t count_op(const graph::graph& g, const std::string& op) {
    std::size_t n = 0;
    for (auto v : g.nodes()) n += g[v].op_type == op;
    return n;
}

}  // namespace

TEST_CASE("fuse_bn_into_conv folds BN into the conv and computes the same") {
    const auto original = ktc::onnx::parse(conv_bn(false).bytes(), "conv_bn.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto result = rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_bn_into_conv>("fuse"), log);
    CHECK(result.converged);
    CHECK(result.rewrites == 1);
    CHECK(count_op(g, "BatchNormalization") == 0);
    CHECK(g.initializers.count("scale") == 0);  // unused constants go with the BN
    REQUIRE(log.size() == 1);
    CHECK(log[0].node == "bn");
    CHECK(log[0].pattern == "fuse_bn_into_conv");
    const tensor x = tensor::from<float>({1, 2, 3, 3}, ramp(18, 0.3f, -1.f));
    check_same_outputs(original, g, x);
}

TEST_CASE("fuse_bn_into_conv does not fire when the conv output has another reader") {
    auto g = ktc::onnx::parse(conv_bn(true).bytes(), "conv_bn_out.onnx");
    rewrite::change_log log;
    const auto result = rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::fuse_bn_into_conv>("fuse"), log);
    CHECK(result.converged);
    CHECK(result.rewrites == 0);
    CHECK(count_op(g, "BatchNormalization") == 1);
    CHECK(log.empty());
}

TEST_CASE("eliminate_identity removes Identity and Dropout, but keeps a graph output's name") {
    model_builder b(13);
    b.input("x", {1, 4});
    b.output("y", {1, 4});
    b.node("Identity", {"x"}, {"a"});
    b.node("Relu", {"a"}, {"r"});
    b.node("Dropout", {"r"}, {"d"});
    b.node("Relu", {"d"}, {"e"});
    b.node("Identity", {"e"}, {"y"});  // makes the graph output: "y" must survive
    const auto original = ktc::onnx::parse(b.bytes(), "ids.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto result = rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::eliminate_identity>("ids"), log);
    CHECK(result.converged);
    CHECK(count_op(g, "Identity") == 0);
    CHECK(count_op(g, "Dropout") == 0);
    CHECK(g.node_count() == 2);
    CHECK(g.outputs.at(0).name == "y");
    CHECK(g.producer("y"));
    check_same_outputs(original, g, tensor::from<float>({1, 4}, {-1.f, 2.f, -3.f, 4.f}));
}

TEST_CASE("eliminate_identity keeps an Identity that passes a graph input straight to an output") {
    model_builder b(13);
    b.input("x", {1, 2});
    b.output("y", {1, 2});
    b.node("Identity", {"x"}, {"y"});
    auto g = ktc::onnx::parse(b.bytes(), "passthrough.onnx");
    rewrite::change_log log;
    const auto result = rewrite::apply_greedily(g, rewrite::make_pass<rewrite::passes::eliminate_identity>("ids"), log);
    CHECK(result.rewrites == 0);
    CHECK(count_op(g, "Identity") == 1);
}

TEST_CASE("running a pass twice changes nothing the second time") {
    auto g = ktc::onnx::parse(conv_bn(false).bytes(), "conv_bn.onnx");
    rewrite::change_log log;
    const auto fuse = rewrite::make_pass<rewrite::passes::fuse_bn_into_conv, rewrite::passes::eliminate_identity>("both");
    rewrite::apply_greedily(g, fuse, log);
    const auto again = rewrite::apply_greedily(g, fuse, log);
    CHECK(again.converged);
    CHECK(again.rewrites == 0);
    CHECK(again.sweeps == 1);
}
