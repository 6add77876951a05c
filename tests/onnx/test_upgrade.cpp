// The opset-11 export (onnx/opset11.hpp) and the vendor's onnx1_4to1_6 (onnx/upgrade.hpp).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "ktc/onnx/import.hpp"
#include "ktc/onnx/opset11.hpp"
#include "ktc/onnx/upgrade.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

namespace fs = std::filesystem;
using namespace ktc;
using ktc::testing::add_float_initializer;
using ktc::testing::add_int64_initializer;
using ktc::testing::model_builder;
using ktc::testing::set_float;
using ktc::testing::set_int;
using ktc::testing::set_ints;

namespace {

tensor random_tensor_upgrade(shape_t shape, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    tensor t(dtype::float32, std::move(shape));
    for (float& v : t.values<float>()) v = dist(rng);
    return t;
}

const ::onnx::NodeProto* find_op(const ::onnx::ModelProto& m, const std::string& op) {
    for (const auto& n : m.graph().node())
        if (n.op_type() == op) return &n;
    return nullptr;
}

bool has_attribute(const ::onnx::NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute())
        if (a.name() == name) return true;
    return false;
}

std::string string_attribute(const ::onnx::NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute())
        if (a.name() == name) return a.s();
    return "";
}

// The checks every upgraded model passes: opset 11, IR 6, checker and strict shape inference.
void check_opset11_model(::onnx::ModelProto m) {
    CHECK(m.ir_version() == 6);
    REQUIRE(m.opset_import_size() == 1);
    CHECK(m.opset_import(0).version() == 11);
    CHECK_NOTHROW(::onnx::checker::check_model(m));
    CHECK_NOTHROW(::onnx::shape_inference::InferShapes(m, ::onnx::OpSchemaRegistry::Instance(),
                                                       ::onnx::ShapeInferenceOptions(true, 1, false)));
}

// Upgrades `original`, checks the result and that it computes what the original computes.
::onnx::ModelProto upgrade_and_compare(const model_builder& original, const sim::tensor_map& inputs) {
    const ::onnx::ModelProto up = ktc::onnx::upgrade_to_opset11(original.m, "test.onnx");
    check_opset11_model(up);
    const auto before = ktc::onnx::parse(original.bytes(), "before.onnx");
    const auto after = ktc::onnx::parse(up.SerializeAsString(), "after.onnx");
    ktc::testing::check_same_outputs(before, after, inputs);
    return up;
}

// An opset-9 model with every attribute form onnx1_4to1_6 rewrites.
model_builder opset9_model() {
    model_builder b(9);
    b.m.set_ir_version(4);
    b.input("x", {1, 2, 4, 4});
    b.output("y", {1, 8, 8});
    b.output("z0", {1, 1, 4, 4});
    b.output("z1", {1, 1, 4, 4});
    auto* pad = b.node("Pad", {"x"}, {"p"});
    set_ints(pad, "pads", {0, 0, 1, 1, 0, 0, 1, 1});
    set_float(pad, "value", 0.5f);
    auto* clip = b.node("Clip", {"p"}, {"c"});
    set_float(clip, "min", -0.5f);
    set_float(clip, "max", 0.8f);
    auto* slice = b.node("Slice", {"c"}, {"s"});
    set_ints(slice, "starts", {1, 1});
    set_ints(slice, "ends", {5, 5});
    set_ints(slice, "axes", {2, 3});
    add_float_initializer(b, "scales", {4}, {1.f, 1.f, 2.f, 2.f});
    auto* up = b.node("Upsample", {"s", "scales"}, {"u"});
    up->add_attribute()->set_name("mode");
    up->mutable_attribute(0)->set_type(::onnx::AttributeProto::STRING);
    up->mutable_attribute(0)->set_s("nearest");
    auto* sum = b.node("ReduceSum", {"u"}, {"r"});
    set_ints(sum, "axes", {1});
    set_int(sum, "keepdims", 1);
    set_ints(b.node("Squeeze", {"r"}, {"q"}), "axes", {1});
    auto* unsq = b.node("Unsqueeze", {"q"}, {"uq"});
    set_ints(unsq, "axes", {1});
    set_ints(b.node("Squeeze", {"uq"}, {"y"}), "axes", {1});
    auto* split = b.node("Split", {"s"}, {"z0", "z1"});
    set_int(split, "axis", 1);
    set_ints(split, "split", {1, 1});
    return b;
}

}  // namespace

TEST_CASE("an opset-9 model becomes opset 11, IR 6, with inputs for Clip/Slice/Pad and Resize for Upsample") {
    const model_builder b = opset9_model();
    const auto up = upgrade_and_compare(b, {{"x", random_tensor_upgrade({1, 2, 4, 4}, 1)}});

    const auto* clip = find_op(up, "Clip");
    REQUIRE(clip);
    CHECK(clip->input_size() == 3);
    CHECK_FALSE(has_attribute(*clip, "min"));
    const auto* slice = find_op(up, "Slice");
    REQUIRE(slice);
    CHECK(slice->input_size() == 4);
    CHECK(slice->attribute_size() == 0);
    const auto* pad = find_op(up, "Pad");
    REQUIRE(pad);
    CHECK(pad->input_size() == 3);
    CHECK_FALSE(has_attribute(*pad, "pads"));
    CHECK(find_op(up, "Upsample") == nullptr);
    const auto* resize = find_op(up, "Resize");
    REQUIRE(resize);
    CHECK(resize->input_size() == 3);  // X, roi (empty constant), scales
    CHECK(string_attribute(*resize, "coordinate_transformation_mode") == "asymmetric");
    CHECK(string_attribute(*resize, "mode") == "nearest");
    // Opset-11 forms of the ops that opset 13 changed: attributes, not inputs.
    const auto* squeeze = find_op(up, "Squeeze");
    REQUIRE(squeeze);
    CHECK(squeeze->input_size() == 1);
    CHECK(has_attribute(*squeeze, "axes"));
    const auto* sum = find_op(up, "ReduceSum");
    REQUIRE(sum);
    CHECK(sum->input_size() == 1);
    CHECK(has_attribute(*sum, "axes"));
    const auto* split = find_op(up, "Split");
    REQUIRE(split);
    CHECK(split->input_size() == 1);
    CHECK(has_attribute(*split, "split"));
}

TEST_CASE("an opset-10 model with Resize-10, Dropout and a Softmax on axis 1 upgrades and computes the same") {
    model_builder b(10);
    b.m.set_ir_version(5);
    b.input("x", {1, 3, 4, 4});
    b.output("y", {1, 3, 8, 8});
    b.output("sm", {1, 3, 4, 4});
    add_float_initializer(b, "scales", {4}, {1.f, 1.f, 2.f, 2.f});
    auto* resize = b.node("Resize", {"x", "scales"}, {"r"});
    resize->add_attribute()->set_name("mode");
    resize->mutable_attribute(0)->set_type(::onnx::AttributeProto::STRING);
    resize->mutable_attribute(0)->set_s("linear");
    set_float(b.node("Dropout", {"r"}, {"d"}), "ratio", 0.25f);
    auto* clip = b.node("Clip", {"d"}, {"c"});
    set_float(clip, "min", 0.f);
    set_float(clip, "max", 0.6f);
    add_int64_initializer(b, "starts", {1}, {0});
    add_int64_initializer(b, "ends", {1}, {8});
    add_int64_initializer(b, "axes", {1}, {3});
    b.node("Slice", {"c", "starts", "ends", "axes"}, {"y"});
    set_int(b.node("Softmax", {"x"}, {"sm"}), "axis", 1);  // opset 10: softmax over C*H*W together
    const auto up = upgrade_and_compare(b, {{"x", random_tensor_upgrade({1, 3, 4, 4}, 2)}});

    const auto* r = find_op(up, "Resize");
    REQUIRE(r);
    CHECK(string_attribute(*r, "coordinate_transformation_mode") == "asymmetric");
    const auto* dropout = find_op(up, "Dropout");
    REQUIRE(dropout);
    CHECK(dropout->input_size() == 1);
}

TEST_CASE("a model already at opset 11 or later is returned unchanged, byte for byte") {
    model_builder b(11);
    b.input("x", {1, 4});
    b.output("y", {1, 4});
    b.node("Relu", {"x"}, {"y"});
    b.m.set_producer_name("someone");
    b.m.set_ir_version(7);
    const auto up = ktc::onnx::upgrade_to_opset11(b.m, "m.onnx");
    CHECK(up.SerializeAsString() == b.bytes());

    const fs::path dir = fs::temp_directory_path() / ("ktc_upgrade_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string bytes = b.bytes() + "";  // exactly what is on disk
    std::ofstream(dir / "in.onnx", std::ios::binary) << bytes;
    const auto r = ktc::onnx::upgrade_file(dir / "in.onnx", dir / "out.onnx");
    CHECK_FALSE(r.changed);
    CHECK(r.from_opset == 11);
    std::ifstream in(dir / "out.onnx", std::ios::binary);
    const std::string written{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    CHECK(written == bytes);
    fs::remove_all(dir);
}

TEST_CASE("upgrade_file writes an opset-11 model the onnx checker accepts") {
    const fs::path dir = fs::temp_directory_path() / ("ktc_upgrade_file_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "in.onnx", std::ios::binary) << opset9_model().bytes();
    const auto r = ktc::onnx::upgrade_file(dir / "in.onnx", dir / "out.onnx");
    CHECK(r.changed);
    CHECK(r.from_opset == 9);
    CHECK(r.to_opset == 11);
    ::onnx::ModelProto m;
    std::ifstream in(dir / "out.onnx", std::ios::binary);
    REQUIRE(m.ParseFromIstream(&in));
    check_opset11_model(m);
    fs::remove_all(dir);
}

TEST_CASE("upgrade refuses models older than opset 7 and files that are not models") {
    model_builder b(6);
    b.m.set_ir_version(3);
    b.input("x", {1, 4});
    b.output("y", {1, 4});
    b.node("Relu", {"x"}, {"y"});
    CHECK_THROWS_AS(ktc::onnx::upgrade_to_opset11(b.m, "old.onnx"), unsupported_error);

    const fs::path dir = fs::temp_directory_path() / ("ktc_upgrade_bad_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "bad.onnx", std::ios::binary) << "not a model at all";
    try {
        ktc::onnx::upgrade_file(dir / "bad.onnx", dir / "out.onnx");
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == exit_code::bad_file);
        CHECK(std::string(e.what()).find("bad.onnx") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(dir / "out.onnx"));
    fs::remove_all(dir);
}

// ---- the opset-11 export of canonical graphs -------------------------------------------------

TEST_CASE("opset-13 forms are written as opset-11 forms that compute the same") {
    model_builder b(13);
    b.input("x", {1, 3, 4, 4});
    b.output("sm", {1, 3, 4, 4});
    b.output("sum", {1, 4, 4});
    b.output("rs", {1, 3, 2, 2});
    b.output("bn", {1, 3, 4, 4});
    b.output("uq", {1, 1, 3, 4, 4});
    b.output("dr", {1, 3, 4, 4});
    set_int(b.node("Softmax", {"x"}, {"sm"}), "axis", 1);  // per-axis over C: needs the Transpose form
    add_int64_initializer(b, "axes", {1}, {1});
    set_int(b.node("ReduceSum", {"x", "axes"}, {"sum"}), "keepdims", 0);
    add_int64_initializer(b, "sizes", {4}, {1, 3, 2, 2});
    b.node("Resize", {"x", "", "", "sizes"}, {"rs"});
    add_float_initializer(b, "s", {3}, {1.f, 2.f, 0.5f});
    add_float_initializer(b, "bias", {3}, {0.f, 1.f, -1.f});
    add_float_initializer(b, "mean", {3}, {0.1f, 0.2f, 0.3f});
    add_float_initializer(b, "var", {3}, {1.f, 2.f, 3.f});
    b.node("BatchNormalization", {"x", "s", "bias", "mean", "var"}, {"bn"});
    add_int64_initializer(b, "uaxes", {1}, {1});
    b.node("Unsqueeze", {"x", "uaxes"}, {"uq"});
    add_float_initializer(b, "ratio", {}, {0.1f});
    b.node("Dropout", {"x", "ratio"}, {"dr"});

    const auto g = ktc::onnx::parse(b.bytes(), "m13.onnx");
    const auto m11 = ktc::onnx::to_opset11_model(g, "m13.onnx");
    check_opset11_model(m11);
    CHECK(find_op(m11, "Transpose") != nullptr);
    const auto* resize = find_op(m11, "Resize");
    REQUIRE(resize);
    CHECK(resize->input_size() == 4);
    CHECK_FALSE(resize->input(2).empty());  // an empty scales constant, not an omitted input
    const auto* dropout = find_op(m11, "Dropout");
    REQUIRE(dropout);
    CHECK(dropout->input_size() == 1);
    CHECK(has_attribute(*dropout, "ratio"));

    const auto back = ktc::onnx::parse(m11.SerializeAsString(), "m11.onnx");
    ktc::testing::check_same_outputs(g, back, {{"x", random_tensor_upgrade({1, 3, 4, 4}, 3)}});
}

TEST_CASE("ops without an opset-11 form are refused with every offending node named") {
    model_builder b(13);
    b.input("x", {1, 3, 4, 4});
    b.input("ax", {1});
    b.output("y", {1, 3, 4, 4});
    b.output("z", {1, 3, 4, 4});
    b.g->mutable_input(1)->mutable_type()->mutable_tensor_type()->set_elem_type(::onnx::TensorProto::INT64);
    b.node("Celu", {"x"}, {"y"})->set_name("the_celu");
    b.node("Squeeze", {"x", "ax"}, {"sq"})->set_name("dynamic_squeeze");
    b.node("Unsqueeze", {"sq", "ax"}, {"z"})->set_name("dynamic_unsqueeze");
    auto* z_shape = b.g->mutable_output(1)->mutable_type()->mutable_tensor_type()->mutable_shape();
    for (auto& d : *z_shape->mutable_dim()) d.set_dim_param("d");  // unknown: the axes are inputs
    const auto g = ktc::onnx::parse(b.bytes(), "m.onnx");
    try {
        (void)ktc::onnx::to_opset11_model(g, "m.onnx");
        FAIL("no error");
    } catch (const unsupported_error& e) {
        const std::string what = e.what();
        CHECK(what.find("'the_celu'") != std::string::npos);
        CHECK(what.find("since opset 12") != std::string::npos);
        CHECK(what.find("'dynamic_squeeze'") != std::string::npos);
        CHECK(what.find("'dynamic_unsqueeze'") != std::string::npos);
    }
}

TEST_CASE("an attribute newer than opset 11 is dropped at its default and refused otherwise") {
    for (const std::int64_t last : {0, 1}) {
        CAPTURE(last);
        model_builder b(13);
        b.input("x", {2, 5});
        b.output("y", {2, 1});
        b.g->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(::onnx::TensorProto::INT64);
        auto* n = b.node("ArgMax", {"x"}, {"y"});
        set_int(n, "axis", 1);
        set_int(n, "select_last_index", last);
        const auto g = ktc::onnx::parse(b.bytes(), "argmax.onnx");
        if (last == 0) {
            const auto m = ktc::onnx::to_opset11_model(g, "argmax.onnx");
            check_opset11_model(m);
            CHECK_FALSE(has_attribute(*find_op(m, "ArgMax"), "select_last_index"));
        } else {
            CHECK_THROWS_AS((void)ktc::onnx::to_opset11_model(g, "argmax.onnx"), unsupported_error);
        }
    }
}

// ---- real opset < 11 models from the ONNX test data -----------------------------------------

TEST_CASE("opset-9 models from libonnx-testdata upgrade and still match their stored outputs") {
    const fs::path root = "/usr/share/libonnx-testdata/data";
    const char* models[] = {"node/test_upsample_nearest", "simple/test_single_relu_model", "simple/test_sign_model",
                            "simple/test_expand_shape_model1",
                            "node/test_scatter_with_axis"};  // opset-10 Scatter -> ScatterElements
    for (const char* name : models) {
        const fs::path dir = root / name;
        CAPTURE(name);
        // as the conformance test, this needs Debian's libonnx-testdata (scripts/setup.sh installs it)
        REQUIRE_MESSAGE(fs::exists(dir / "model.onnx"), "install the Debian package libonnx-testdata");
        ::onnx::ModelProto m;
        std::ifstream in(dir / "model.onnx", std::ios::binary);
        REQUIRE(m.ParseFromIstream(&in));
        CHECK(ktc::onnx::default_opset(m) < 11);
        const auto up = ktc::onnx::upgrade_to_opset11(m, name);
        check_opset11_model(up);
        const auto g = ktc::onnx::parse(up.SerializeAsString(), name);
        auto read_pb = [](const fs::path& p) {
            ::onnx::TensorProto t;
            std::ifstream f(p, std::ios::binary);
            REQUIRE(t.ParseFromIstream(&f));
            return ktc::onnx::from_proto(t, p.string());
        };
        sim::tensor_map inputs;
        const fs::path data = dir / "test_data_set_0";
        for (std::size_t i = 0; i < g.inputs.size(); ++i)
            inputs.emplace(g.inputs[i].name, read_pb(data / ("input_" + std::to_string(i) + ".pb")));
        const auto outputs = sim::float_simulator(g).run(inputs);
        for (std::size_t i = 0; i < g.outputs.size(); ++i) {
            const tensor expected = read_pb(data / ("output_" + std::to_string(i) + ".pb"));
            const tensor& actual = outputs.at(g.outputs[i].name);
            REQUIRE(actual.shape() == expected.shape());
            const auto e = expected.to_vector<double>(), a = actual.to_vector<double>();
            for (std::size_t k = 0; k < e.size(); ++k) CHECK(a[k] == doctest::Approx(e[k]).epsilon(1e-6));
        }
    }
}
