// The model editor (rewrite/editor.hpp): each function does its edit, keeps the model valid and
// computing what it should, and refuses unknown names with a usage_error naming them.
#include <doctest/doctest.h>

#include <random>

#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/onnx/shape_inference.hpp"
#include "ktc/rewrite/editor.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using ktc::testing::add_float_initializer;
using ktc::testing::check_same_outputs;
using ktc::testing::count_op;
using ktc::testing::model_builder;
using ktc::testing::set_int;

namespace {

std::vector<float> random_values(std::size_t n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
}

tensor random_tensor_editor(shape_t shape, unsigned seed) {
    const auto v = random_values(static_cast<std::size_t>(element_count(shape)), seed);
    return tensor::from<float>(std::move(shape), v);
}

// x -> conv1 -> a -> relu1 -> b -> flat -> f -> sm -> y       (output y [1,256])
//               a -> sig -> s                                 (output s [1,4,8,8])
//                            b + aux -> add -> z              (output z [1,4,8,8])
graph::graph test_graph() {
    model_builder m(13);
    m.input("x", {1, 3, 8, 8});
    m.input("aux", {1, 4, 8, 8});
    m.output("y", {1, 256});
    m.output("s", {1, 4, 8, 8});
    m.output("z", {1, 4, 8, 8});
    add_float_initializer(m, "W1", {4, 3, 1, 1}, random_values(12, 1));
    add_float_initializer(m, "B1", {4}, random_values(4, 2));
    m.node("Conv", {"x", "W1", "B1"}, {"a"})->set_name("conv1");
    m.node("Relu", {"a"}, {"b"})->set_name("relu1");
    m.node("Flatten", {"b"}, {"f"})->set_name("flat");
    m.node("Softmax", {"f"}, {"y"})->set_name("sm");
    m.node("Sigmoid", {"a"}, {"s"})->set_name("sig");
    m.node("Add", {"b", "aux"}, {"z"})->set_name("add");
    return ktc::onnx::parse(m.bytes(), "editor.onnx");
}

sim::tensor_map test_inputs() {
    return {{"x", random_tensor_editor({1, 3, 8, 8}, 3)}, {"aux", random_tensor_editor({1, 4, 8, 8}, 4)}};
}

// The edited graph still exports to a model the onnx checker and shape inference accept.
void check_valid(graph::graph g) {
    REQUIRE_NOTHROW(ktc::onnx::infer_shapes(g, "edited"));
    ::onnx::ModelProto m = ktc::onnx::to_model(g);
    CHECK_NOTHROW(::onnx::checker::check_model(m));
}

std::vector<std::string> output_names_editor(const graph::graph& g) {
    std::vector<std::string> names;
    for (const auto& o : g.outputs) names.push_back(o.name);
    return names;
}

// Runs `edit` and expects a usage_error whose message names `culprit`; the graph is unchanged.
template <class Edit>
void check_usage_error(Edit edit, const std::string& culprit) {
    graph::graph g = test_graph();
    const std::size_t nodes = g.node_count();
    rewrite::change_log log;
    try {
        edit(g, log);
        FAIL("no usage_error for " << culprit);
    } catch (const usage_error& e) {
        CHECK(std::string(e.what()).find("'" + culprit + "'") != std::string::npos);
    }
    CHECK(g.node_count() == nodes);
    CHECK(log.empty());
}

}  // namespace

TEST_CASE("delete_nodes makes the readers of a deleted node read its first input") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::delete_nodes(g, {"relu1"}, log);
    CHECK(count_op(g, "Relu") == 0);
    CHECK(g[*g.find_node("flat")].input(0) == "a");
    CHECK(g[*g.find_node("add")].input(0) == "a");
    REQUIRE(log.size() == 1);
    CHECK(log[0].pattern == "delete_nodes");
    CHECK(log[0].node == "relu1");
    check_valid(g);
}

TEST_CASE("delete_nodes of a graph output's producer keeps the output's name") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::delete_nodes(g, {"sm"}, log);
    CHECK(count_op(g, "Softmax") == 0);
    CHECK(output_names_editor(g) == std::vector<std::string>{"y", "s", "z"});
    REQUIRE(g.producer("y"));
    CHECK(g[*g.producer("y")].op_type == "Flatten");
    check_valid(g);
    // y is now the flattened relu output.
    const auto out = sim::float_simulator(g).run(test_inputs());
    const auto b = sim::float_simulator(test_graph()).run(test_inputs());
    const auto y = out.at("y").to_vector<float>();
    for (float v : y) CHECK(v >= 0.f);
    CHECK(out.at("s").to_vector<float>() == b.at("s").to_vector<float>());
}

TEST_CASE("delete_nodes refuses a node whose output shape differs from its input's, and unknown names") {
    check_usage_error([](graph::graph& g, rewrite::change_log& log) { rewrite::delete_nodes(g, {"flat"}, log); },
                      "flat");
    check_usage_error(
        [](graph::graph& g, rewrite::change_log& log) {
            rewrite::delete_nodes(g, {"relu1", "nope"}, log);
        },
        "nope");
}

TEST_CASE("remove_nodes_with_types deletes every node of the types, and refuses a type no node has") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::remove_nodes_with_types(g, {"Relu", "Sigmoid"}, log);
    CHECK(count_op(g, "Relu") == 0);
    CHECK(count_op(g, "Sigmoid") == 0);
    CHECK(g.is_graph_output("s"));  // kept its name: a (the conv output) is now called s
    check_valid(g);
    check_usage_error(
        [](graph::graph& g2, rewrite::change_log& l) {
            rewrite::remove_nodes_with_types(g2, {"Relu", "Gelu"}, l);
        },
        "Gelu");
}

TEST_CASE("delete_inputs removes the input and what depends on it") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::delete_inputs(g, {"aux"}, log);
    CHECK_FALSE(g.is_graph_input("aux"));
    CHECK(count_op(g, "Add") == 0);
    CHECK(output_names_editor(g) == std::vector<std::string>{"y", "s"});
    check_valid(g);
    check_usage_error([](graph::graph& g2, rewrite::change_log& l) { rewrite::delete_inputs(g2, {"nope"}, l); },
                      "nope");
    check_usage_error([](graph::graph& g2, rewrite::change_log& l) { rewrite::delete_inputs(g2, {"x"}, l); }, "x");
}

TEST_CASE("delete_outputs removes the outputs and the nodes only they needed") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::delete_outputs(g, {"y", "z"}, log);
    CHECK(output_names_editor(g) == std::vector<std::string>{"s"});
    CHECK(g.node_count() == 2);  // conv1, sig
    check_valid(g);
    check_usage_error([](graph::graph& g2, rewrite::change_log& l) { rewrite::delete_outputs(g2, {"a"}, l); }, "a");
    check_usage_error(
        [](graph::graph& g2, rewrite::change_log& l) {
            rewrite::delete_outputs(g2, {"y", "s", "z"}, l);
        },
        "z");
}

TEST_CASE("cut_graph_from_nodes ends the graph at the nodes: their outputs become graph outputs") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::cut_graph_from_nodes(g, {"relu1"}, log);
    CHECK(output_names_editor(g) == std::vector<std::string>{"s", "b"});
    CHECK(count_op(g, "Flatten") == 0);
    CHECK(count_op(g, "Softmax") == 0);
    CHECK(count_op(g, "Add") == 0);
    CHECK(count_op(g, "Relu") == 1);
    check_valid(g);
    const auto before = sim::float_simulator(test_graph(), {.fuse_activations = false});
    std::vector<float> seen;
    before.run(test_inputs(), [&](const graph::node& n, std::span<const tensor> outs) {
        if (n.name == "relu1") seen = outs[0].to_vector<float>();
    });
    const auto after = sim::float_simulator(g).run(test_inputs());
    CHECK(after.at("b").to_vector<float>() == seen);
    check_usage_error([](graph::graph& g2, rewrite::change_log& l) { rewrite::cut_graph_from_nodes(g2, {"nope"}, l); },
                      "nope");
}

TEST_CASE("change_input_output_shapes sets the shapes, and the model re-infers from them") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::change_input_output_shapes(
        g, {{"x", {2, 3, 8, 8}}, {"aux", {2, 4, 8, 8}}, {"y", {2, 256}}, {"s", {2, 4, 8, 8}}, {"z", {-1, 4, 8, 8}}},
        log);
    CHECK(g.inputs[0].shape == shape_t{2, 3, 8, 8});
    CHECK(log.size() == 5);
    ktc::onnx::infer_shapes(g, "edited");
    REQUIRE(g.info("a"));
    CHECK(g.info("a")->shape == shape_t{2, 4, 8, 8});
    CHECK(g.info("z")->shape == shape_t{2, 4, 8, 8});
    check_valid(g);
    check_usage_error(
        [](graph::graph& g2, rewrite::change_log& l) {
            rewrite::change_input_output_shapes(g2, {{"a", {1}}}, l);
        },
        "a");
    check_usage_error(
        [](graph::graph& g2, rewrite::change_log& l) {
            rewrite::change_input_output_shapes(g2, {{"x", {1, 0, 2}}}, l);
        },
        "x");
}

TEST_CASE("add_conv_after inserts identity 1x1 convs: same outputs, same output names") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    const auto added = rewrite::add_conv_after(g, {"a", "s", "x"}, log);
    CHECK(added.size() == 3);
    CHECK(count_op(g, "Conv") == 4);
    CHECK(g[*g.producer("s")].op_type == "Conv");  // the graph output keeps its name
    CHECK(output_names_editor(g) == std::vector<std::string>{"y", "s", "z"});
    check_valid(g);
    check_same_outputs(test_graph(), g, test_inputs());
    check_usage_error([](graph::graph& g2, rewrite::change_log& l) { rewrite::add_conv_after(g2, {"nope"}, l); },
                      "nope");
    check_usage_error([](graph::graph& g2, rewrite::change_log& l) { rewrite::add_conv_after(g2, {"f"}, l); }, "f");
}

TEST_CASE("add_bn_after inserts identity BatchNormalizations that change nothing") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::add_bn_after(g, {"b", "y"}, log);
    CHECK(count_op(g, "BatchNormalization") == 2);
    check_valid(g);
    check_same_outputs(test_graph(), g, test_inputs());
    // var + eps is exactly 1, in float as in double: the BN scales by exactly 1.
    constexpr float eps = rewrite::detail::edit::identity_bn_epsilon;
    CHECK((1.f - eps) + eps == 1.f);
    check_usage_error([](graph::graph& g2, rewrite::change_log& l) { rewrite::add_bn_after(g2, {"W2"}, l); }, "W2");
}

TEST_CASE("rename_output renames a graph output everywhere, refusing names in use") {
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::rename_output(g, "s", "gate", log);
    CHECK(output_names_editor(g) == std::vector<std::string>{"y", "gate", "z"});
    CHECK(g[*g.producer("gate")].name == "sig");
    check_valid(g);
    check_usage_error([](graph::graph& g2, rewrite::change_log& l) { rewrite::rename_output(g2, "nope", "q", l); },
                      "nope");
    check_usage_error([](graph::graph& g2, rewrite::change_log& l) { rewrite::rename_output(g2, "y", "a", l); }, "a");
}

TEST_CASE("pixel_modify computes x * scale + bias per channel before the model") {
    const std::vector<float> scale{0.5f, 2.f, -1.f}, bias{0.25f, 0.f, 1.f};
    graph::graph g = test_graph();
    rewrite::change_log log;
    rewrite::pixel_modify(g, scale, bias, log, "x");
    CHECK(count_op(g, "BatchNormalization") == 1);
    check_valid(g);
    // The edited model on x equals the original on x * scale + bias.
    const sim::tensor_map inputs = test_inputs();
    sim::tensor_map modified = test_inputs();
    auto v = modified.at("x").values<float>();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = v[i] * scale[i / 64] + bias[i / 64];
    const auto expected = sim::float_simulator(test_graph()).run(modified);
    const auto actual = sim::float_simulator(g).run(inputs);
    for (const auto& [name, t] : expected) {
        CAPTURE(name);
        const auto e = t.to_vector<float>(), a = actual.at(name).to_vector<float>();
        REQUIRE(e.size() == a.size());
        for (std::size_t i = 0; i < e.size(); ++i) CHECK(a[i] == doctest::Approx(e[i]).epsilon(1e-6));
    }
    check_usage_error(
        [&](graph::graph& g2, rewrite::change_log& l) { rewrite::pixel_modify(g2, scale, bias, l, "nope"); }, "nope");
    check_usage_error(
        [&](graph::graph& g2, rewrite::change_log& l) {
            rewrite::pixel_modify(g2, {1.f, 1.f}, {0.f, 0.f}, l, "x");
        },
        "x");
    // Two 4-D inputs: which one must be said.
    graph::graph two = test_graph();
    CHECK_THROWS_AS(rewrite::pixel_modify(two, scale, bias, log), usage_error);
}
