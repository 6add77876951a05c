// eliminate_tail: trailing layout and Softmax nodes go, walking back from the outputs while a
// parent has lost all its children; each new output equals the intermediate tensor the original
// computed there; the report names what went and which outputs replace which.
#include <doctest/doctest.h>

#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/flows.hpp"
#include "ktc/rewrite/passes/eliminate_tail.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

tensor input_eliminate_tail(shape_t shape) {
    return tensor::from<float>(shape, ramp(static_cast<std::size_t>(element_count(shape)), 0.13f, -0.6f));
}

// Every value the original computes (activations not fused, so every node's output is seen).
sim::tensor_map all_values(const graph::graph& g, const sim::tensor_map& inputs) {
    sim::tensor_map seen = inputs;
    sim::float_simulator(g, {.fuse_activations = false})
        .run(inputs, [&](const graph::node& n, std::span<const tensor> outs) {
            for (std::size_t i = 0; i < outs.size() && i < n.outputs.size(); ++i)
                if (!n.outputs[i].empty()) seen.insert_or_assign(n.outputs[i], outs[i]);
        });
    return seen;
}

// Each output of `after` equals the tensor of the same name in the original, bit for bit.
void check_outputs_are_intermediates(const graph::graph& before, const graph::graph& after,
                                     const sim::tensor_map& inputs) {
    const auto original = all_values(before, inputs);
    const auto now = sim::float_simulator(after).run(inputs);
    REQUIRE(now.size() == after.outputs.size());
    for (const auto& [name, t] : now) {
        CAPTURE(name);
        REQUIRE(original.count(name) == 1);
        REQUIRE(t.shape() == original.at(name).shape());
        CHECK(t.to_vector<float>() == original.at(name).to_vector<float>());
    }
}

std::vector<std::string> output_names_eliminate_tail(const graph::graph& g) {
    std::vector<std::string> names;
    for (const auto& o : g.outputs) names.push_back(o.name);
    return names;
}

// x[1,2,3,3] -> Conv -> c -> Reshape [1,18] -> r -> Softmax -> y
model_builder conv_reshape_softmax() {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 18});
    add_float_initializer(b, "w", {2, 2, 1, 1}, {0.5f, -1.f, 2.f, 0.25f});
    add_int64_initializer(b, "shape", {2}, {1, 18});
    b.node("Conv", {"x", "w"}, {"c"})->set_name("conv");
    b.node("Reshape", {"c", "shape"}, {"r"})->set_name("reshape");
    b.node("Softmax", {"r"}, {"y"})->set_name("softmax");
    return b;
}

}  // namespace

TEST_CASE("eliminate_tail removes a trailing Softmax and Reshape; the conv output becomes the output") {
    const auto original = ktc::onnx::parse(conv_reshape_softmax().bytes(), "tail.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto report = rewrite::passes::eliminate_tail(g, log);
    CHECK(g.node_count() == 1);
    CHECK(count_op(g, "Conv") == 1);
    CHECK(g.initializers.count("shape") == 0);
    REQUIRE(g.outputs.size() == 1);
    CHECK(g.outputs[0].name == "c");
    CHECK(g.outputs[0].shape == shape_t{1, 2, 3, 3});  // from value_infos
    REQUIRE(report.removed.size() == 2);
    CHECK(report.removed[0].name == "softmax");
    CHECK(report.removed[0].op_type == "Softmax");
    CHECK(report.removed[0].output == "y");
    CHECK(report.removed[0].input == "r");
    CHECK(report.removed[1].name == "reshape");
    CHECK(report.removed[1].op_type == "Reshape");
    REQUIRE(report.outputs.size() == 1);
    CHECK(report.outputs[0].name == "c");
    CHECK(report.outputs[0].replaces == std::vector<std::string>{"y"});
    CHECK(report.dropped.empty());
    CHECK(log.size() == 2);
    check_outputs_are_intermediates(original, g, {{"x", input_eliminate_tail({1, 2, 3, 3})}});
    // Nothing left to remove.
    const auto again = rewrite::passes::eliminate_tail(g, log);
    CHECK(again.removed.empty());
    CHECK(again.outputs.empty());
}

TEST_CASE("eliminate_tail stops at a parent that still has a child") {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 3, 3, 2});
    b.output("z", {1, 3, 3, 2});
    add_float_initializer(b, "w", {2, 2, 1, 1}, {0.5f, -1.f, 2.f, 0.25f});
    b.node("Conv", {"x", "w"}, {"c"});
    auto* t = b.node("Transpose", {"c"}, {"t"});
    set_ints(t, "perm", {0, 2, 3, 1});
    b.node("Softmax", {"t"}, {"y"})->set_name("softmax");
    b.node("Relu", {"t"}, {"z"});
    const auto original = ktc::onnx::parse(b.bytes(), "fork.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto report = rewrite::passes::eliminate_tail(g, log);
    REQUIRE(report.removed.size() == 1);
    CHECK(report.removed[0].name == "softmax");
    CHECK(count_op(g, "Transpose") == 1);  // the Relu still reads it
    CHECK(output_names_eliminate_tail(g) == std::vector<std::string>{"t", "z"});
    check_outputs_are_intermediates(original, g, {{"x", input_eliminate_tail({1, 2, 3, 3})}});
}

TEST_CASE("eliminate_tail merges outputs that lead back to one tensor, and drops Constant outputs") {
    model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("f", {1, 18});
    b.output("k", {2});
    b.output("u", {1, 1, 2, 3, 3});
    add_float_initializer(b, "w", {2, 2, 1, 1}, {0.5f, -1.f, 2.f, 0.25f});
    b.node("Conv", {"x", "w"}, {"c"});
    b.node("Flatten", {"c"}, {"f"});
    auto* k = b.node("Constant", {}, {"k"});
    auto* value = k->add_attribute();
    value->set_name("value");
    value->set_type(::onnx::AttributeProto::TENSOR);
    auto* kt = value->mutable_t();
    kt->set_data_type(::onnx::TensorProto::FLOAT);
    kt->add_dims(2);
    kt->add_float_data(1.f);
    kt->add_float_data(2.f);
    // Unsqueeze with its axes from a Constant node: that Constant goes with it.
    auto* axes = b.node("Constant", {}, {"axes"});
    auto* av = axes->add_attribute();
    av->set_name("value");
    av->set_type(::onnx::AttributeProto::TENSOR);
    av->mutable_t()->set_data_type(::onnx::TensorProto::INT64);
    av->mutable_t()->add_dims(1);
    av->mutable_t()->add_int64_data(1);
    b.node("Unsqueeze", {"c", "axes"}, {"u"});
    const auto original = ktc::onnx::parse(b.bytes(), "merge.onnx");
    auto g = original;
    rewrite::change_log log;
    const auto report = rewrite::passes::eliminate_tail(g, log);
    CHECK(report.removed.size() == 3);
    CHECK(g.node_count() == 1);
    CHECK(output_names_eliminate_tail(g) == std::vector<std::string>{"c"});
    REQUIRE(report.outputs.size() == 1);
    CHECK(report.outputs[0].replaces == std::vector<std::string>{"f", "u"});
    CHECK(report.dropped == std::vector<std::string>{"k"});
    check_outputs_are_intermediates(original, g, {{"x", input_eliminate_tail({1, 2, 3, 3})}});
}

TEST_CASE("eliminate_tail does not fire on other ops, on graph inputs, or on the last Constant") {
    {
        model_builder b(13);
        b.input("x", {1, 4});
        b.output("y", {1, 4});
        b.output("z", {4});
        b.node("Relu", {"x"}, {"y"});
        add_int64_initializer(b, "shape", {1}, {4});
        b.node("Reshape", {"x", "shape"}, {"z"});  // its input_eliminate_tail is a graph input_eliminate_tail
        auto g = ktc::onnx::parse(b.bytes(), "inputs.onnx");
        rewrite::change_log log;
        const auto report = rewrite::passes::eliminate_tail(g, log);
        CHECK(report.removed.empty());
        CHECK(g.node_count() == 2);
        CHECK(log.empty());
    }
    {
        model_builder b(13);
        b.output("k", {1});
        auto* k = b.node("Constant", {}, {"k"});
        auto* value = k->add_attribute();
        value->set_name("value");
        value->set_type(::onnx::AttributeProto::TENSOR);
        value->mutable_t()->set_data_type(::onnx::TensorProto::FLOAT);
        value->mutable_t()->add_dims(1);
        value->mutable_t()->add_float_data(3.f);
        auto g = ktc::onnx::parse(b.bytes(), "const.onnx");
        rewrite::change_log log;
        CHECK(rewrite::passes::eliminate_tail(g, log).removed.empty());
        CHECK(g.outputs.size() == 1);
    }
}

TEST_CASE("onnx2onnx_flow runs eliminate_tail when asked and keeps its report") {
    const auto original = ktc::onnx::parse(conv_reshape_softmax().bytes(), "tail.onnx");
    auto g = original;
    rewrite::flow_options o;
    o.eliminate_tail = true;
    const auto report = rewrite::onnx2onnx_flow(g, o);
    REQUIRE(report.tail);
    CHECK(report.tail->removed.size() == 2);
    CHECK(output_names_eliminate_tail(g) == std::vector<std::string>{"c"});
    check_outputs_are_intermediates(original, g, {{"x", input_eliminate_tail({1, 2, 3, 3})}});

    auto untouched = original;
    CHECK_FALSE(rewrite::onnx2onnx_flow(untouched).tail);
    CHECK(count_op(untouched, "Softmax") == 1);
}
