#include <doctest/doctest.h>

#include "ktc/kernels/float/registry.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/sim/interpreter.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using ktc::testing::model_builder;
using ktc::testing::set_float;
using ktc::testing::set_int;

namespace {

exit_code code_of(const std::string& bytes) {
    try {
        ktc::onnx::parse(bytes, "m.onnx");
    } catch (const error& e) {
        CHECK(std::string(e.what()).starts_with("m.onnx: "));
        return e.code();
    }
    return exit_code::success;
}

}  // namespace

TEST_CASE("Clip of opset 7 is normalized to min/max inputs and computes the same") {
    model_builder b(7);
    b.input("x", {4});
    b.output("y", {4});
    auto* n = b.node("Clip", {"x"}, {"y"});
    set_float(n, "min", -1.f);
    set_float(n, "max", 2.f);
    const auto g = ktc::onnx::parse(b.bytes(), "clip.onnx");
    const auto& clip = g[*g.producer("y")];
    CHECK(clip.inputs.size() == 3);
    CHECK_FALSE(clip.attrs.has("min"));
    CHECK(g.opset == 17);
    const sim::interpreter interp(g, kernels::floating::kernels());
    const auto out = interp.run({{"x", tensor::from<float>({4}, {-3.f, 0.5f, 1.5f, 9.f})}});
    CHECK(out.at("y").to_vector<float>() == std::vector<float>{-1.f, 0.5f, 1.5f, 2.f});
}

TEST_CASE("Softmax of opset 11 keeps its flatten-to-2D meaning") {
    model_builder b(11);
    b.input("x", {1, 2, 2});
    b.output("y", {1, 2, 2});
    set_int(b.node("Softmax", {"x"}, {"y"}), "axis", 1);
    const auto g = ktc::onnx::parse(b.bytes(), "softmax.onnx");
    const sim::interpreter interp(g, kernels::floating::kernels());
    // Axis 1 of a [1,2,2] tensor coerced to 2-D is a softmax over all 4 values together.
    const auto y = interp.run({{"x", tensor::from<float>({1, 2, 2}, {0.f, 0.f, 0.f, 0.f})}}).at("y");
    CHECK(y.shape() == shape_t{1, 2, 2});
    for (float v : y.to_vector<float>()) CHECK(v == doctest::Approx(0.25f));
}

TEST_CASE("an imported model exports to a model the onnx checker accepts, with the same meaning") {
    model_builder b(9);
    b.input("x", {1, 3});
    b.output("y", {1, 3});
    auto* n = b.node("Clip", {"x"}, {"c"});
    set_float(n, "min", 0.f);
    b.node("Relu", {"c"}, {"y"});
    const auto g = ktc::onnx::parse(b.bytes(), "a.onnx");
    const ::onnx::ModelProto m = ktc::onnx::to_model(g);
    CHECK_NOTHROW(::onnx::checker::check_model(m));
    const auto back = ktc::onnx::parse(m.SerializeAsString(), "b.onnx");
    CHECK(back.node_count() == 2);
    CHECK(back.initializers.size() == g.initializers.size());
    CHECK(back.inputs.size() == 1);
    CHECK(back.inputs[0].shape == shape_t{1, 3});
}

TEST_CASE("bad model files are rejected with exit code 4, naming the file") {
    model_builder b(11);
    b.input("x", {1});
    b.output("y", {1});
    b.node("Relu", {"x"}, {"y"});
    const std::string good = b.bytes();
    CHECK(code_of(good) == exit_code::success);
    CHECK(code_of("") == exit_code::bad_file);
    CHECK(code_of("this is not protobuf at all \xff\xff\xff") == exit_code::bad_file);
    for (std::size_t cut = 1; cut < good.size(); cut += 7) CHECK(code_of(good.substr(0, cut)) != exit_code::success);

    model_builder unknown(11);
    unknown.input("x", {1});
    unknown.output("y", {1});
    unknown.node("NoSuchOp", {"x"}, {"y"});
    CHECK(code_of(unknown.bytes()) == exit_code::bad_file);

    model_builder missing(11);
    missing.input("x", {1});
    missing.output("y", {1});
    missing.node("Add", {"x", "nowhere"}, {"y"});
    CHECK(code_of(missing.bytes()) == exit_code::bad_file);

    model_builder future(18);
    future.input("x", {1});
    future.output("y", {1});
    future.node("Relu", {"x"}, {"y"});
    CHECK(code_of(future.bytes()) == exit_code::bad_file);
}

TEST_CASE("a valid op without a kernel is reported as unsupported (exit code 3)") {
    model_builder b(11);
    b.input("x", {2, 2});
    b.output("y", {});
    b.node("Det", {"x"}, {"y"});
    const auto g = ktc::onnx::parse(b.bytes(), "det.onnx");
    CHECK_THROWS_AS(sim::interpreter(g, kernels::floating::kernels()), unsupported_error);
}
