// `ktc optimize`: writes a model the onnx checker accepts, never overwrites its input without
// --force, answers bad input with one line and the right exit code, and says what
// --eliminate-tail removed.
#include <doctest/doctest.h>

#include <filesystem>

#include "ktc/onnx/import.hpp"
#include "support/cli_runner.hpp"
#include "support/graph_checks.hpp"
#include "support/onnx_builder.hpp"

namespace fs = std::filesystem;
using namespace ktc;

using testing::ktc_run;
using testing::line_count;
using testing::temp_dir;

namespace {

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// x[1,2,3,3] -> Conv -> BN -> Identity -> Reshape [1,18] -> Softmax -> y
std::string conv_bn_softmax() {
    testing::model_builder b(13);
    b.input("x", {1, 2, 3, 3});
    b.output("y", {1, 18});
    testing::add_float_initializer(b, "w", {2, 2, 1, 1}, {0.5f, -1.f, 2.f, 0.25f});
    testing::add_float_initializer(b, "scale", {2}, {1.5f, 0.5f});
    testing::add_float_initializer(b, "shift", {2}, {0.3f, -0.4f});
    testing::add_float_initializer(b, "mean", {2}, {0.2f, -0.1f});
    testing::add_float_initializer(b, "var", {2}, {0.8f, 2.0f});
    testing::add_int64_initializer(b, "shape", {2}, {1, 18});
    b.node("Conv", {"x", "w"}, {"c"})->set_name("conv");
    b.node("BatchNormalization", {"c", "scale", "shift", "mean", "var"}, {"n"})->set_name("bn");
    b.node("Identity", {"n"}, {"i"})->set_name("id");
    b.node("Reshape", {"i", "shape"}, {"r"})->set_name("reshape");
    b.node("Softmax", {"r"}, {"y"})->set_name("softmax");
    return b.bytes();
}

}  // namespace

TEST_CASE("ktc optimize writes a checked model and a summary") {
    temp_dir tmp("optimize");
    const auto in = tmp.file("m.onnx", conv_bn_softmax());
    const auto out = tmp / "opt.onnx";
    const auto r = ktc_run("optimize " + in + " -o " + out);
    CHECK(r.code == 0);
    CAPTURE(r.output);
    CHECK(has(r.output, "nodes: 5 -> 3"));
    CHECK(has(r.output, "removed: BatchNormalization 1, Identity 1"));
    CHECK(has(r.output, "time: "));
    CHECK_FALSE(has(r.output, "eliminate_tail"));
    // The output loads back (the onnx checker and shape inference accept it) and computes the same.
    const auto before = ktc::onnx::load(in), after = ktc::onnx::load(out);
    CHECK(after.node_count() == 3);
    const auto x = tensor::from<float>({1, 2, 3, 3}, std::vector<float>(18, 0.25f));
    testing::check_same_outputs(before, after, {{"x", x}}, 1e-5);

    // -v lists every change; --quiet prints nothing.
    const auto v = ktc_run("optimize " + in + " -o " + out + " -v");
    CHECK(v.code == 0);
    CHECK(has(v.output, "[fuse_bn_into_conv/fuse_bn_into_conv] bn: erased"));
    const auto q = ktc_run("optimize " + in + " -o " + out + " --quiet");
    CHECK(q.code == 0);
    CHECK(q.output.empty());
}

TEST_CASE("ktc optimize --eliminate-tail reports the removed nodes and the new outputs") {
    temp_dir tmp("optimize_tail");
    const auto in = tmp.file("m.onnx", conv_bn_softmax());
    const auto out = tmp / "tail.onnx";
    const auto r = ktc_run("optimize " + in + " -o " + out + " --eliminate-tail");
    CHECK(r.code == 0);
    CAPTURE(r.output);
    CHECK(has(r.output, "eliminate_tail: removed 2 trailing node(s)"));
    CHECK(has(r.output, "  Softmax 'softmax': 'r' -> 'y'"));
    CHECK(has(r.output, "  Reshape 'reshape': "));
    CHECK(has(r.output, "' [1,2,3,3] replaces 'y'"));
    const auto g = ktc::onnx::load(out);
    CHECK(g.node_count() == 1);
    REQUIRE(g.outputs.size() == 1);
    CHECK(g.outputs[0].shape == shape_t{1, 2, 3, 3});
}

TEST_CASE("ktc optimize options: --no-fuse-bn keeps the BN, --bn-on-skip / --bgr are accepted") {
    temp_dir tmp("optimize_opts");
    const auto in = tmp.file("m.onnx", conv_bn_softmax());
    const auto out = tmp / "o.onnx";
    auto r = ktc_run("optimize " + in + " -o " + out + " --no-fuse-bn");
    CHECK(r.code == 0);
    CHECK(testing::count_op(ktc::onnx::load(out), "BatchNormalization") == 1);
    r = ktc_run("optimize " + in + " -o " + out +
                " --flow torch --bn-on-skip --bn-before-add --bgr --norm --rgba2yynn");
    CHECK(r.code == 0);
    CAPTURE(r.output);
    CHECK(has(r.output, "torch_exported flow"));
    CHECK(has(r.output, "added: Conv 1"));  // norm at the 2-channel image input
    CHECK(ktc::onnx::load(out).node_count() == 4);
}

TEST_CASE("ktc optimize never overwrites its input without --force") {
    temp_dir tmp("optimize_force");
    const auto bytes = conv_bn_softmax();
    const auto in = tmp.file("m.onnx", bytes);
    auto r = ktc_run("optimize " + in + " -o " + in);
    CHECK(r.code == 2);
    CHECK(line_count(r.output) == 1);
    CHECK(has(r.output, "--force"));
    // Another spelling of the same path is the same file.
    r = ktc_run("optimize " + in + " -o " + (tmp.path / "." / "m.onnx").string());
    CHECK(r.code == 2);
    CHECK(ktc::onnx::load(in).node_count() == 5);  // untouched
    r = ktc_run("optimize " + in + " -o " + in + " --force");
    CHECK(r.code == 0);
    CHECK(ktc::onnx::load(in).node_count() == 3);
}

TEST_CASE("ktc optimize: usage errors exit 2, bad files exit 4, one line each") {
    temp_dir tmp("optimize_bad");
    CHECK(ktc_run("optimize").code == 2);
    CHECK(ktc_run("optimize m.onnx").code == 2);  // no -o
    const auto in = tmp.file("m.onnx", conv_bn_softmax());
    auto r = ktc_run("optimize " + in + " -o " + (tmp / "o.onnx") + " --flow keras");
    CHECK(r.code == 2);
    CHECK(has(r.output, "--flow"));
    CHECK(ktc_run("optimize --help").code == 0);

    const auto garbage = tmp.file("garbage.onnx", "not a model at all");
    r = ktc_run("optimize " + garbage + " -o " + (tmp / "o2.onnx"));
    CHECK(r.code == 4);
    CHECK(line_count(r.output) == 1);
    CHECK(has(r.output, "garbage.onnx"));
    CHECK_FALSE(fs::exists(tmp.path / "o2.onnx"));
    r = ktc_run("optimize " + (tmp / "absent.onnx") + " -o " + (tmp / "o2.onnx"));
    CHECK(r.code == 4);
    CHECK(line_count(r.output) == 1);

    // A cycle: a -> Relu -> b -> Relu -> a.
    testing::model_builder cyc(13);
    cyc.input("x", {1, 2});
    cyc.output("y", {1, 2});
    cyc.node("Add", {"x", "b"}, {"a"});
    cyc.node("Relu", {"a"}, {"b"});
    cyc.node("Relu", {"b"}, {"y"});
    r = ktc_run("optimize " + tmp.file("cycle.onnx", cyc.bytes()) + " -o " + (tmp / "o3.onnx"));
    CHECK(r.code != 0);
    CHECK(line_count(r.output) == 1);
    CHECK(has(r.output, "cycle.onnx"));

    // Shape inference fails: the declared output shape contradicts the inferred one.
    testing::model_builder mm(13);
    mm.input("x", {1, 3});
    mm.output("y", {1, 7});
    mm.node("Relu", {"x"}, {"y"});
    r = ktc_run("optimize " + tmp.file("shapes.onnx", mm.bytes()) + " -o " + (tmp / "o4.onnx"));
    CHECK(r.code == 4);
    CHECK(has(r.output, "shape inference failed"));
    CHECK(line_count(r.output) == 1);
    CHECK(has(r.output, "shapes.onnx"));
    CHECK_FALSE(fs::exists(tmp.path / "o4.onnx"));
}
