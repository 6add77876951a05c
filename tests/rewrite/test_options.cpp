// The flow options (bn_on_skip, bn_before_add, bgr, norm, rgba2yynn): each fires where the
// vendor's option does and nowhere else, and the model computes what it computed (the identity
// BNs bit for bit; bgr/norm/rgba2yynn on the correspondingly changed input_options).
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/flows.hpp"
#include "ktc/rewrite/passes/bgr.hpp"
#include "ktc/rewrite/passes/bn_before_add.hpp"
#include "ktc/rewrite/passes/bn_on_skip.hpp"
#include "ktc/rewrite/passes/norm.hpp"
#include "ktc/rewrite/passes/rgba2yynn.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

void add_weight(model_builder& b, const std::string& name, shape_t shape, float scale, float offset) {
    add_float_initializer(b, name, shape, ramp(static_cast<std::size_t>(element_count(shape)), scale, offset));
}

// x[1,2,3,3] -> Conv c1 -> a -> Conv c2 -> b; y = Add(a, b): `a` forks, so it is the skip.
model_builder residual() {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 2, 3, 3});
    add_weight(b, "w1", {2, 2, 1, 1}, 0.2f, -0.5f);
    add_weight(b, "w2", {2, 2, 1, 1}, 0.3f, -0.7f);
    b.node("Conv", {"x", "w1"}, {"a"})->set_name("c1");
    b.node("Conv", {"a", "w2"}, {"b"})->set_name("c2");
    b.node("Add", {"a", "b"}, {"y"})->set_name("add");
    return b;
}

tensor input_options(shape_t shape, float scale = 0.13f, float offset = -0.6f) {
    return tensor::from<float>(shape, ramp(static_cast<std::size_t>(element_count(shape)), scale, offset));
}

// The same image with channels 0 and 2 swapped (NCHW, 3 channels).
tensor swap_rb(const tensor& x) {
    tensor y = x;
    const std::int64_t plane = x.dim(2) * x.dim(3);
    for (std::int64_t c = 0; c < 3; ++c)
        std::copy_n(x.data<float>() + c * plane, plane, y.data<float>() + (2 - c) * plane);
    return y;
}

void check_close(const sim::tensor_map& a, const sim::tensor_map& b, double relative) {
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
        CAPTURE(name);
        REQUIRE(b.count(name) == 1);
        REQUIRE(t.shape() == b.at(name).shape());
        const auto u = t.to_vector<float>(), v = b.at(name).to_vector<float>();
        for (std::size_t i = 0; i < u.size(); ++i) {
            if (relative == 0.0) CHECK(v[i] == u[i]);  // bit for bit (Approx is strict: never with 0)
            else CHECK(v[i] == doctest::Approx(u[i]).epsilon(relative));
        }
    }
}

// Bit for bit: every output of `after` equals the original's exactly.
void check_exact(const graph::graph& before, const graph::graph& after, const sim::tensor_map& inputs) {
    check_close(sim::float_simulator(before).run(inputs), sim::float_simulator(after).run(inputs), 0.0);
}

sim::tensor_map run(const graph::graph& g, const sim::tensor_map& inputs) {
    return sim::float_simulator(g).run(inputs);
}

std::vector<std::string> readers_of(const graph::graph& g, const std::string& value) {
    std::vector<std::string> ops;
    for (const auto& [v, slot] : g.consumers(value)) ops.push_back(g[v].op_type);
    std::sort(ops.begin(), ops.end());
    return ops;
}

}  // namespace

// ---- bn_on_skip ------------------------------------------------------------------------------

TEST_CASE("bn_on_skip puts an exact identity BN on the shortcut into an Add, once") {
    const auto original = ktc::onnx::parse(residual().bytes(), "residual.onnx");
    auto g = original;
    rewrite::change_log log;
    CHECK(rewrite::passes::add_bn_on_skip(g, log) == 1);
    CHECK(count_op(g, "BatchNormalization") == 1);
    const auto add = *g.find_node("add");
    const auto bn = g.producer(g[add].input(0));
    REQUIRE(bn);
    CHECK(g[*bn].op_type == "BatchNormalization");
    CHECK(g[*bn].input(0) == "a");
    CHECK(g[add].input(1) == "b");  // the other branch is left alone
    REQUIRE(log.size() == 1);
    CHECK(log[0].pass == "bn_on_skip");
    check_exact(original, g, {{"x", input_options({1, 2, 3, 3})}});
    // A second application finds no fork into an Add any more.
    CHECK(rewrite::passes::add_bn_on_skip(g, log) == 0);
    CHECK(count_op(g, "BatchNormalization") == 1);
}

TEST_CASE("bn_on_skip takes a graph input_options as the shortcut too") {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 2, 3, 3});
    add_weight(b, "w", {2, 2, 1, 1}, 0.2f, -0.5f);
    b.node("Conv", {"x", "w"}, {"c"});
    b.node("Add", {"c", "x"}, {"y"})->set_name("add");
    auto g = ktc::onnx::parse(b.bytes(), "input_skip.onnx");
    rewrite::change_log log;
    CHECK(rewrite::passes::add_bn_on_skip(g, log) == 1);
    CHECK(g[*g.producer(g[*g.find_node("add")].input(1))].op_type == "BatchNormalization");
}

TEST_CASE("bn_on_skip does not fire on plain branches, constants or x + x") {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 2, 3, 3});
    b.output("z", {1, 2, 3, 3});
    add_weight(b, "w1", {2, 2, 1, 1}, 0.2f, -0.5f);
    add_weight(b, "w2", {2, 2, 1, 1}, 0.3f, -0.7f);
    add_weight(b, "k", {1, 2, 1, 1}, 0.5f, 0.f);
    b.node("Conv", {"x", "w1"}, {"a"});  // x forks into two convs, but no Add reads x
    b.node("Conv", {"x", "w2"}, {"b"});
    b.node("Add", {"a", "b"}, {"s"});
    b.node("Add", {"s", "s"}, {"d"});  // one reader, twice
    b.node("Add", {"d", "k"}, {"y"});  // a constant
    b.node("Relu", {"y"}, {"z"});
    auto g = ktc::onnx::parse(b.bytes(), "plain.onnx");
    rewrite::change_log log;
    CHECK(rewrite::passes::add_bn_on_skip(g, log) == 0);
    CHECK(count_op(g, "BatchNormalization") == 0);
    CHECK(log.empty());
}

// ---- bn_before_add ---------------------------------------------------------------------------

TEST_CASE("bn_before_add puts identity BNs before every Add input_options and lone activations") {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 2, 3, 3});
    b.output("z", {1, 2, 3, 3});
    add_weight(b, "w1", {2, 2, 1, 1}, 0.2f, -0.5f);
    add_weight(b, "w2", {2, 2, 1, 1}, 0.3f, -0.7f);
    b.node("Conv", {"x", "w1"}, {"a"});
    b.node("Relu", {"a"}, {"ra"})->set_name("relu_after_conv");  // producer Conv: no BN
    b.node("Conv", {"ra", "w2"}, {"c"});
    b.node("Add", {"a", "c"}, {"s"})->set_name("add");     // two BNs
    b.node("Sigmoid", {"s"}, {"y"})->set_name("sigmoid");  // producer Add: BN
    auto* leaky = b.node("LeakyRelu", {"x"}, {"z"});       // a graph input_options: BN
    set_float(leaky, "alpha", 0.1f);
    const auto original = ktc::onnx::parse(b.bytes(), "acts.onnx");
    auto g = original;
    rewrite::change_log log;
    CHECK(rewrite::passes::add_bn_before_add(g, log) == 4);
    CHECK(count_op(g, "BatchNormalization") == 4);
    const auto add = *g.find_node("add");
    for (std::size_t slot = 0; slot < 2; ++slot)
        CHECK(g[*g.producer(g[add].input(slot))].op_type == "BatchNormalization");
    CHECK(g[*g.producer(g[*g.find_node("sigmoid")].input(0))].op_type == "BatchNormalization");
    CHECK(g[*g.producer(g[*g.find_node("relu_after_conv")].input(0))].op_type == "Conv");
    CHECK(readers_of(g, "x") == std::vector<std::string>{"BatchNormalization", "Conv"});
    check_exact(original, g, {{"x", input_options({1, 2, 3, 3})}});
    // Idempotent: every site now has its own BN.
    CHECK(rewrite::passes::add_bn_before_add(g, log) == 0);
    CHECK(count_op(g, "BatchNormalization") == 4);
}

TEST_CASE("bn_before_add leaves activations after Conv or BN and constant Add inputs alone") {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 2, 3, 3});
    add_weight(b, "w", {2, 2, 1, 1}, 0.2f, -0.5f);
    add_weight(b, "k", {1, 2, 1, 1}, 0.5f, 0.f);
    for (const char* p : {"scale", "shift", "mean", "var"}) add_weight(b, p, {2}, 0.1f, 1.f);
    b.node("Conv", {"x", "w"}, {"c"});
    b.node("Clip", {"c"}, {"r"});
    b.node("BatchNormalization", {"r", "scale", "shift", "mean", "var"}, {"n"});
    b.node("Relu", {"n"}, {"m"});
    b.node("Add", {"k", "m"}, {"y"})->set_name("add");  // the constant gets no BN, m does
    auto g = ktc::onnx::parse(b.bytes(), "after_conv.onnx");
    rewrite::change_log log;
    CHECK(rewrite::passes::add_bn_before_add(g, log) == 1);
    CHECK(g[*g.find_node("add")].input(0) == "k");
}

// ---- bgr -------------------------------------------------------------------------------------

TEST_CASE("bgr permutes the first conv's input_options channels: the model takes the swapped image") {
    model_builder b(13);
    b.input("x", {1, 3, 4, 4});
    b.output("y", {1, 2, 4, 4});
    add_weight(b, "w", {2, 3, 3, 3}, 0.05f, -0.2f);
    add_weight(b, "bias", {2}, 0.1f, 0.f);
    auto* conv = b.node("Conv", {"x", "w", "bias"}, {"y"});
    set_ints(conv, "pads", {1, 1, 1, 1});
    const auto original = ktc::onnx::parse(b.bytes(), "rgb.onnx");
    auto g = original;
    rewrite::change_log log;
    CHECK(rewrite::passes::swap_input_rgb_bgr(g, log) == 1);
    CHECK(g.node_count() == 1);  // no new node
    CHECK(g.initializers.count("w") == 0);
    const tensor x = input_options({1, 3, 4, 4});
    check_close(run(original, {{"x", x}}), run(g, {{"x", swap_rb(x)}}), 1e-6);
    // A second application swaps back.
    CHECK(rewrite::passes::swap_input_rgb_bgr(g, log) == 1);
    check_close(run(original, {{"x", x}}), run(g, {{"x", x}}), 1e-6);
}

TEST_CASE("bgr inserts a 1x1 permutation conv when the input_options feeds more than plain convs") {
    model_builder b(13);
    b.input("x", {1, 3, 4, 4});
    b.output("y", {1, 3, 4, 4});
    b.output("z", {1, 3, 4, 4});
    add_weight(b, "dw", {3, 1, 3, 3}, 0.05f, -0.2f);
    auto* conv = b.node("Conv", {"x", "dw"}, {"y"});  // depthwise: group 3
    set_ints(conv, "pads", {1, 1, 1, 1});
    set_int(conv, "group", 3);
    b.node("Relu", {"x"}, {"z"});
    const auto original = ktc::onnx::parse(b.bytes(), "rgb_dw.onnx");
    auto g = original;
    rewrite::change_log log;
    CHECK(rewrite::passes::swap_input_rgb_bgr(g, log) == 1);
    CHECK(count_op(g, "Conv") == 2);
    CHECK(readers_of(g, "x") == std::vector<std::string>{"Conv"});
    REQUIRE(log.size() == 1);
    CHECK(log[0].pattern == "insert_bgr_conv");
    const tensor x = input_options({1, 3, 4, 4});
    check_close(run(original, {{"x", x}}), run(g, {{"x", swap_rb(x)}}), 0.0);
}

TEST_CASE("bgr does not fire on inputs that are not 3-channel images") {
    model_builder b(13);
    b.input("x", {1, 4, 2, 2});
    b.input("v", {1, 3});
    b.output("y", {1, 4, 2, 2});
    b.output("u", {1, 3});
    b.node("Relu", {"x"}, {"y"});
    b.node("Relu", {"v"}, {"u"});
    auto g = ktc::onnx::parse(b.bytes(), "not_rgb.onnx");
    rewrite::change_log log;
    CHECK(rewrite::passes::swap_input_rgb_bgr(g, log) == 0);
    CHECK(g.node_count() == 2);
}

// ---- norm ------------------------------------------------------------------------------------

TEST_CASE("norm adds 0.5 at every image input_options: the model takes x - 0.5") {
    model_builder b(13);
    b.input("x", {1, 3, 4, 4});
    b.input("g", {1, 1, 2, 2});  // any channel count
    b.input("v", {1, 3});        // not an image: left alone
    b.output("y", {1, 2, 4, 4});
    b.output("h", {1, 1, 2, 2});
    b.output("u", {1, 3});
    add_weight(b, "w", {2, 3, 1, 1}, 0.2f, -0.5f);
    b.node("Conv", {"x", "w"}, {"y"});
    b.node("Relu", {"g"}, {"h"});
    b.node("Relu", {"v"}, {"u"});
    const auto original = ktc::onnx::parse(b.bytes(), "norm.onnx");
    auto g = original;
    rewrite::change_log log;
    CHECK(rewrite::passes::add_half_to_inputs(g, log) == 2);
    CHECK(count_op(g, "Conv") == 3);
    const auto norm = g.producer(g[*g.producer("y")].input(0));
    REQUIRE(norm);
    CHECK(g[*norm].attrs.get_int("group") == 3);
    const tensor x = input_options({1, 3, 4, 4}, 0.09f, 0.f), gr = input_options({1, 1, 2, 2}, 0.09f, 0.f),
                 v = input_options({1, 3});
    auto minus_half = [](tensor t) {
        for (auto& e : t.values<float>()) e -= 0.5f;
        return t;
    };
    check_close(run(original, {{"x", x}, {"g", gr}, {"v", v}}),
                run(g, {{"x", minus_half(x)}, {"g", minus_half(gr)}, {"v", v}}), 1e-5);
}

// ---- rgba2yynn -------------------------------------------------------------------------------

TEST_CASE("rgba2yynn feeds the model luma twice and two zero channels from an RGBA input_options") {
    model_builder b(13);
    b.input("x", {1, 4, 2, 2});
    b.output("y", {1, 2, 2, 2});
    add_weight(b, "w", {2, 4, 1, 1}, 0.2f, -0.5f);
    b.node("Conv", {"x", "w"}, {"y"});
    const auto original = ktc::onnx::parse(b.bytes(), "yynn.onnx");
    auto g = original;
    rewrite::change_log log;
    CHECK(rewrite::passes::convert_rgba_to_yynn(g, log) == 1);
    CHECK(count_op(g, "Conv") == 2);
    const tensor rgba = input_options({1, 4, 2, 2});
    tensor yynn = tensor::zeros(dtype::float32, {1, 4, 2, 2});
    const float* p = rgba.data<float>();
    for (int i = 0; i < 4; ++i) {
        const float y = 0.299f * p[i] + 0.587f * p[4 + i] + 0.114f * p[8 + i];
        yynn.data<float>()[i] = yynn.data<float>()[4 + i] = y;
    }
    check_close(run(original, {{"x", yynn}}), run(g, {{"x", rgba}}), 1e-5);

    // Not on a 3-channel input_options.
    model_builder b3(13);
    b3.input("x", {1, 3, 2, 2});
    b3.output("y", {1, 3, 2, 2});
    b3.node("Relu", {"x"}, {"y"});
    auto g3 = ktc::onnx::parse(b3.bytes(), "rgb.onnx");
    CHECK(rewrite::passes::convert_rgba_to_yynn(g3, log) == 0);
}

// ---- in the flows ----------------------------------------------------------------------------

TEST_CASE("the flows apply the options once, after the fixed point: fuse_bn leaves the new BNs") {
    const auto original = ktc::onnx::parse(residual().bytes(), "residual.onnx");
    auto g = original;
    rewrite::flow_options o;
    o.bn_on_skip = true;
    const auto report = rewrite::onnx2onnx_flow(g, o);
    CHECK(count_op(g, "BatchNormalization") == 1);
    CHECK(std::any_of(report.steps.begin(), report.steps.end(), [](auto& s) { return s.pass == "bn_on_skip"; }));
    CHECK(std::any_of(report.changes.begin(), report.changes.end(), [](auto& c) { return c.pass == "bn_on_skip"; }));
    CHECK_FALSE(report.tail);
    // Shapes known for the new values.
    CHECK(g.info(g[*g.producer(g[*g.find_node("add")].input(0))].outputs[0]) != nullptr);
    check_exact(original, g, {{"x", input_options({1, 2, 3, 3})}});

    // bgr through the torch flow too.
    model_builder b(13);
    b.input("x", {1, 3, 4, 4});
    b.output("y", {1, 2, 4, 4});
    add_weight(b, "w", {2, 3, 1, 1}, 0.2f, -0.5f);
    b.node("Conv", {"x", "w"}, {"y"});
    const auto rgb = ktc::onnx::parse(b.bytes(), "rgb.onnx");
    auto bgr = rgb;
    rewrite::flow_options ob;
    ob.bgr = true;
    rewrite::torch_exported_onnx_flow(bgr, ob);
    const tensor x = input_options({1, 3, 4, 4});
    check_close(run(rgb, {{"x", x}}), run(bgr, {{"x", swap_rb(x)}}), 1e-6);
}
