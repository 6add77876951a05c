// `ktc upgrade` and `ktc edit` end to end: files written, refusals, exit codes.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include "ktc/core/npy.hpp"
#include "support/cli_runner.hpp"
#include "support/onnx_builder.hpp"

namespace fs = std::filesystem;
using namespace ktc;

using testing::ktc_run;
using testing::line_count;
using testing::temp_dir;

namespace {

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

::onnx::ModelProto read_model(const std::string& path) {
    ::onnx::ModelProto m;
    REQUIRE(m.ParseFromString(read_bytes(path)));
    return m;
}

std::int64_t opset_of(const ::onnx::ModelProto& m) {
    for (const auto& op : m.opset_import())
        if (op.domain().empty()) return op.version();
    return -1;
}

std::size_t count_op(const ::onnx::ModelProto& m, const std::string& op) {
    std::size_t n = 0;
    for (const auto& node : m.graph().node()) n += node.op_type() == op;
    return n;
}

// An opset-9 model: Clip with attributes, then Upsample.
std::string opset9_bytes() {
    testing::model_builder b(9);
    b.m.set_ir_version(4);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 2, 6, 6});
    auto* clip = b.node("Clip", {"x"}, {"c"});
    testing::set_float(clip, "min", 0.f);
    testing::set_float(clip, "max", 6.f);
    testing::add_float_initializer(b, "scales", {4}, {1.f, 1.f, 2.f, 2.f});
    b.node("Upsample", {"c", "scales"}, {"y"});
    return b.bytes();
}

// x -> conv1 -> a -> relu1 -> b -> flat -> f -> sm -> y
std::string edit_model_bytes() {
    testing::model_builder b(13);
    b.input("x", {1, 3, 4, 4});
    b.output("y", {1, 48});
    testing::add_float_initializer(b, "W", {3, 3, 1, 1}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
    b.node("Conv", {"x", "W"}, {"a"})->set_name("conv1");
    b.node("Relu", {"a"}, {"b"})->set_name("relu1");
    b.node("Flatten", {"b"}, {"f"})->set_name("flat");
    b.node("Softmax", {"f"}, {"y"})->set_name("sm");
    return b.bytes();
}

}  // namespace

TEST_CASE("ktc upgrade writes an opset-11, IR-6 model the onnx checker accepts") {
    temp_dir tmp("upgrade");
    const auto in = tmp.file("old.onnx", opset9_bytes());
    const auto r = ktc_run("upgrade " + in + " -o " + tmp / "new.onnx");
    CHECK(r.code == 0);
    CHECK(r.output.find("opset 9") != std::string::npos);
    const auto m = read_model(tmp / "new.onnx");
    CHECK(opset_of(m) == 11);
    CHECK(m.ir_version() == 6);
    CHECK(count_op(m, "Resize") == 1);
    CHECK(count_op(m, "Upsample") == 0);
    CHECK_NOTHROW(::onnx::checker::check_model(m));
    // Its outputs equal the original's under the float simulator.
    std::vector<float> x(18);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 0.75f - 4.f;
    npy::save(tmp / "x.npy", tensor::from<float>({1, 2, 3, 3}, x));
    for (const char* model : {"old", "new"}) {
        const auto run = ktc_run("infer --onnx " + tmp / (std::string(model) + ".onnx") +
                                 " --input x=" + tmp / "x.npy" + " --layout nchw -q -o " + tmp / model);
        CHECK(run.code == 0);
    }
    const tensor before = npy::load(tmp / "old/y.npy"), after = npy::load(tmp / "new/y.npy");
    CHECK(before.shape() == shape_t{1, 2, 6, 6});
    CHECK(after.to_vector<float>() == before.to_vector<float>());
}

TEST_CASE("ktc upgrade copies an opset-11 model byte for byte") {
    temp_dir tmp("upgrade11");
    testing::model_builder b(11);
    b.input("x", {1, 2});
    b.output("y", {1, 2});
    b.node("Relu", {"x"}, {"y"});
    const auto in = tmp.file("m.onnx", b.bytes());
    const auto r = ktc_run("upgrade " + in + " -o " + tmp / "out.onnx");
    CHECK(r.code == 0);
    CHECK(r.output.find("already at opset 11") != std::string::npos);
    CHECK(read_bytes(tmp / "out.onnx") == b.bytes());
}

TEST_CASE("ktc upgrade and ktc edit refuse to overwrite the input without --force") {
    temp_dir tmp("overwrite");
    const auto in = tmp.file("old.onnx", opset9_bytes());
    auto r = ktc_run("upgrade " + in + " -o " + in);
    CHECK(r.code == 2);
    CHECK(line_count(r.output) == 1);
    CHECK(r.output.find("--force") != std::string::npos);
    CHECK(read_bytes(in) == opset9_bytes());
    r = ktc_run("upgrade " + in + " -o " + in + " --force");
    CHECK(r.code == 0);
    CHECK(opset_of(read_model(in)) == 11);

    const auto model = tmp.file("m.onnx", edit_model_bytes());
    r = ktc_run("edit " + model + " -o " + model + " --delete-node relu1");
    CHECK(r.code == 2);
    CHECK(read_bytes(model) == edit_model_bytes());
    CHECK(ktc_run("edit " + model + " -o " + model + " --delete-node relu1 --force").code == 0);
    CHECK(count_op(read_model(model), "Relu") == 0);
}

TEST_CASE("ktc upgrade: exit codes for bad files and old opsets") {
    temp_dir tmp("upgrade_bad");
    const auto garbage = tmp.file("garbage.onnx", "not a model");
    auto r = ktc_run("upgrade " + garbage + " -o " + tmp / "out.onnx");
    CHECK(r.code == 4);
    CHECK(line_count(r.output) == 1);
    CHECK(r.output.find("garbage.onnx") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "out.onnx"));
    CHECK(ktc_run("upgrade " + tmp / "missing.onnx -o " + tmp / "out.onnx").code == 4);
    CHECK(ktc_run("upgrade " + garbage).code == 2);  // no -o

    testing::model_builder b(6);
    b.m.set_ir_version(3);
    b.input("x", {1, 2});
    b.output("y", {1, 2});
    b.node("Relu", {"x"}, {"y"});
    r = ktc_run("upgrade " + tmp.file("v6.onnx", b.bytes()) + " -o " + tmp / "out.onnx");
    CHECK(r.code == 3);
    CHECK(r.output.find("opset 6") != std::string::npos);
}

TEST_CASE("ktc edit applies the edits and writes a checked model") {
    temp_dir tmp("edit");
    const auto in = tmp.file("m.onnx", edit_model_bytes());
    const auto out = tmp / "out.onnx";
    auto r = ktc_run("edit " + in + " -o " + out + " --delete-node relu1 --add-bn-after a --rename-output y=probs -v");
    CHECK(r.code == 0);
    CHECK(r.output.find("[delete_nodes] relu1") != std::string::npos);
    auto m = read_model(out);
    CHECK(opset_of(m) == 17);
    CHECK(count_op(m, "Relu") == 0);
    CHECK(count_op(m, "BatchNormalization") == 1);
    REQUIRE(m.graph().output_size() == 1);
    CHECK(m.graph().output(0).name() == "probs");
    CHECK_NOTHROW(::onnx::checker::check_model(m));

    r = ktc_run("edit " + in + " -o " + out + " --cut-from relu1 --opset 11");
    CHECK(r.code == 0);
    m = read_model(out);
    CHECK(opset_of(m) == 11);
    CHECK(m.ir_version() == 6);
    REQUIRE(m.graph().output_size() == 1);
    CHECK(m.graph().output(0).name() == "b");
    CHECK(count_op(m, "Softmax") == 0);

    r = ktc_run("edit " + in + " -o " + out +
                " --input-shape x=2,3,4,4 --output-shape y=2,48 --pixel-modify 1,2,3:0,0.5,-1 -q");
    CHECK(r.code == 0);
    CHECK(r.output.empty());
    m = read_model(out);
    CHECK(m.graph().input(0).type().tensor_type().shape().dim(0).dim_value() == 2);
    CHECK(count_op(m, "BatchNormalization") == 1);

    r = ktc_run("edit " + in + " -o " + out + " --remove-op-type Relu --add-conv-after x");
    CHECK(r.code == 0);
    m = read_model(out);
    CHECK(count_op(m, "Conv") == 2);
}

TEST_CASE("ktc edit: unknown names and malformed options are usage errors naming them") {
    temp_dir tmp("edit_bad");
    const auto in = tmp.file("m.onnx", edit_model_bytes());
    const auto out = tmp / "out.onnx";
    const std::pair<const char*, const char*> cases[] = {
        {"--delete-node nope", "nope"},
        {"--delete-input nope", "nope"},
        {"--delete-output nope", "nope"},
        {"--cut-from nope", "nope"},
        {"--remove-op-type Gelu", "Gelu"},
        {"--input-shape nope=1,2", "nope"},
        {"--input-shape x=1,three", "three"},
        {"--add-conv-after nope", "nope"},
        {"--add-bn-after nope", "nope"},
        {"--rename-output nope=y2", "nope"},
        {"--rename-output y", "--rename-output"},
        {"--pixel-modify 1,2:0,0", "'x' has 3 channels"},
        {"--pixel-modify 1,2,3", "--pixel-modify"},
        {"--delete-node flat", "flat"},  // output shape differs from its input's
        {"--opset 12 --delete-node relu1", "--opset"},
        {"", "no edit"},
    };
    for (const auto& [options, culprit] : cases) {
        CAPTURE(options);
        const auto r = ktc_run("edit " + in + " -o " + out + " " + options);
        CHECK(r.code == 2);
        CHECK(line_count(r.output) == 1);
        CHECK(r.output.find(culprit) != std::string::npos);
        CHECK_FALSE(fs::exists(out));
    }
    CHECK(ktc_run("edit --help").code == 0);
    CHECK(ktc_run("upgrade --help").code == 0);
    const auto top = ktc_run("--help");
    CHECK(top.output.find("upgrade") != std::string::npos);
    CHECK(top.output.find("edit") != std::string::npos);
}
