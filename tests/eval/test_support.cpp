// Each limit of the seed manual's Tables 1.1 (KDP520) and 1.2 (KDP720) with a node just inside and
// just outside it, the CPU-node policy, the all-at-once error and the NPU/CPU partition.
#include <doctest/doctest.h>

#include "ktc/eval/support.hpp"
#include "ktc/onnx/import.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using eval::placement;
using graph::node;
using platform::kdp520;
using platform::kdp720;

namespace {

// One node `n` reading graph input "x" (plus constants), as a graph with known shapes.
struct model_support {
    graph::graph g;

    explicit model_support(shape_t x_shape) {
        g.name = "m";
        g.inputs.push_back({"x", dtype::float32, std::move(x_shape)});
    }
    model_support& constant(const std::string& name, tensor t) {
        g.initializers.emplace(name, std::move(t));
        return *this;
    }
    model_support& weight(const std::string& name, shape_t shape) {
        return constant(name, tensor::zeros(dtype::float32, std::move(shape)));
    }
    model_support& shape_of(const std::string& value, shape_t shape) {
        g.value_infos[value] = {value, dtype::float32, std::move(shape)};
        return *this;
    }
    model_support& add(const std::string& op, std::vector<std::string> ins, std::vector<std::string> outs,
                       graph::attributes attrs_support = {}) {
        g.add_node(node{outs.at(0) + "_node", op, "", std::move(attrs_support), std::move(ins), std::move(outs)});
        return *this;
    }
};

graph::attributes attrs_support(std::initializer_list<std::pair<const char*, graph::attribute>> list) {
    graph::attributes a;
    for (auto& [k, v] : list) a.set(k, v);
    return a;
}

tensor ints_support(std::vector<std::int64_t> v) {
    return tensor::from<std::int64_t>({static_cast<std::int64_t>(v.size())}, v);
}

template <class P>
eval::node_support verdict(const graph::graph& g, const std::string& node_name) {
    const auto report = eval::support_check<P>(g);
    for (const auto& n : report.nodes)
        if (n.node == node_name) return n;
    FAIL("no node " << node_name);
    return {};
}

// Where the one node producing "y" goes.
template <class P>
placement where(const model_support& m) {
    return verdict<P>(m.g, "y_node").where;
}
template <class P>
std::string rule(const model_support& m) {
    return verdict<P>(m.g, "y_node").rule;
}

// A 2-D Conv over 8 channels; group and weight follow each other so the graph is well formed.
model_support conv(shape_t kernel, shape_t strides, shape_t pads = {0, 0, 0, 0}, std::int64_t group = 1) {
    model_support m({1, 8, 64, 64});
    m.weight("w", {8, 8 / group, kernel[0], kernel[1]});
    m.add("Conv", {"x", "w"}, {"y"}, attrs_support({{"strides", strides}, {"pads", pads}, {"group", group}}));
    return m;
}

model_support pool(const std::string& op, shape_t kernel, shape_t strides) {
    model_support m({1, 8, 64, 64});
    m.add(op, {"x"}, {"y"}, attrs_support({{"kernel_shape", kernel}, {"strides", strides}}));
    return m;
}

model_support unary(const std::string& op, shape_t x_shape = {1, 8, 16, 16}) {
    model_support m(std::move(x_shape));
    m.add(op, {"x"}, {"y"});
    return m;
}

model_support pad(std::vector<std::int64_t> pads) {
    model_support m({1, 8, 16, 16});
    m.constant("pads", ints_support(pads));
    m.add("Pad", {"x", "pads"}, {"y"});
    return m;
}

model_support concat(std::int64_t axis) {
    model_support m({1, 8, 16, 16});
    m.add("Concat", {"x", "x"}, {"y"}, attrs_support({{"axis", axis}}));
    return m;
}

model_support clip(std::optional<float> min) {
    model_support m({1, 8, 16, 16});
    if (!min) {
        m.add("Clip", {"x"}, {"y"});
        return m;
    }
    m.constant("min", tensor::scalar(*min)).constant("max", tensor::scalar(6.f));
    m.add("Clip", {"x", "min", "max"}, {"y"});
    return m;
}

model_support gemm(shape_t a_shape) {
    model_support m(a_shape);
    m.weight("b", {a_shape.back(), 4});
    m.add("Gemm", {"x", "b"}, {"y"});
    return m;
}

model_support batch_norm(shape_t x_shape) {
    model_support m(x_shape);
    for (const char* p : {"scale", "bias", "mean", "var"}) m.weight(p, {x_shape[1]});
    m.add("BatchNormalization", {"x", "scale", "bias", "mean", "var"}, {"y"});
    return m;
}

model_support slice(shape_t x_shape) {
    model_support m(x_shape);
    m.constant("starts", ints_support({0})).constant("ends", ints_support({1})).constant("axes", ints_support({1}));
    m.add("Slice", {"x", "starts", "ends", "axes"}, {"y"});
    return m;
}

// Flatten whose output feeds `reader` ("Gemm", "Relu", ...).
model_support flatten_before(const std::string& reader) {
    model_support m({1, 8, 2, 2});
    m.add("Flatten", {"x"}, {"y"});
    m.shape_of("y", {1, 32}).weight("b", {32, 4});
    m.add(reader, reader == "Gemm" ? std::vector<std::string>{"y", "b"} : std::vector<std::string>{"y"}, {"z"});
    return m;
}

}  // namespace

// ---- Conv ------------------------------------------------------------------------------------

TEST_CASE("520 Conv kernel: 1x1 up to 11x11 per axis on the NPU, 12 is unsupported") {
    CHECK(where<kdp520>(conv({1, 1}, {1, 1})) == placement::npu);
    CHECK(where<kdp520>(conv({11, 11}, {1, 1})) == placement::npu);
    CHECK(where<kdp520>(conv({1, 7}, {1, 1})) == placement::npu);
    CHECK(where<kdp520>(conv({12, 12}, {1, 1})) == placement::unsupported);
    CHECK(where<kdp520>(conv({1, 12}, {1, 1})) == placement::unsupported);
    CHECK(rule<kdp520>(conv({13, 13}, {1, 1})) == "Conv kernel 13x13 (allowed: 1..11 per axis); not a CPU op either");
}

TEST_CASE("520 Conv strides: 1, 2, 4 on the NPU; 3 and 5 are not") {
    for (std::int64_t s : {1, 2, 4}) CHECK(where<kdp520>(conv({3, 3}, {s, s})) == placement::npu);
    for (std::int64_t s : {3, 5}) CHECK(where<kdp520>(conv({3, 3}, {s, s})) == placement::unsupported);
    CHECK(where<kdp520>(conv({3, 3}, {1, 3})) == placement::unsupported);
    CHECK(rule<kdp520>(conv({3, 3}, {3, 3})).starts_with("Conv strides 3x3 (allowed: 1, 2, 4 per axis)"));
}

TEST_CASE("520 Conv pads: 0 to 15 on the NPU, 16 is not") {
    CHECK(where<kdp520>(conv({11, 11}, {1, 1}, {15, 15, 15, 15})) == placement::npu);
    CHECK(where<kdp520>(conv({11, 11}, {1, 1}, {0, 0, 16, 0})) == placement::unsupported);
    CHECK(rule<kdp520>(conv({3, 3}, {1, 1}, {16, 0, 0, 0})).starts_with("Conv pad 16 (allowed: 0..15)"));
    // SAME padding of an 11x11 kernel asks for at most 5 and 5.
    model_support same({1, 8, 64, 64});
    same.weight("w", {8, 8, 11, 11});
    same.add("Conv", {"x", "w"}, {"y"}, attrs_support({{"auto_pad", std::string("SAME_UPPER")}}));
    CHECK(where<kdp520>(same) == placement::npu);
}

TEST_CASE("520 Conv groups: plain and depthwise on the NPU, other groupings are not") {
    CHECK(where<kdp520>(conv({3, 3}, {1, 1}, {1, 1, 1, 1}, 1)) == placement::npu);
    CHECK(where<kdp520>(conv({3, 3}, {1, 1}, {1, 1, 1, 1}, 8)) == placement::npu);
    CHECK(where<kdp520>(conv({3, 3}, {1, 1}, {1, 1, 1, 1}, 2)) == placement::unsupported);
    CHECK(rule<kdp520>(conv({3, 3}, {1, 1}, {1, 1, 1, 1}, 2))
              .starts_with("Conv group 2 with 4 input channels per group"));
    CHECK(where<kdp720>(conv({3, 3}, {1, 1}, {1, 1, 1, 1}, 2)) == placement::npu);
}

TEST_CASE("720 Conv strides below [4, 16]; kernel and pads unlimited") {
    CHECK(where<kdp720>(conv({3, 3}, {3, 15})) == placement::npu);
    CHECK(where<kdp720>(conv({3, 3}, {4, 1})) == placement::unsupported);
    CHECK(where<kdp720>(conv({3, 3}, {1, 16})) == placement::unsupported);
    CHECK(rule<kdp720>(conv({3, 3}, {4, 1})).starts_with("Conv strides 4x1 (allowed: below 4x16)"));
    CHECK(where<kdp720>(conv({13, 13}, {1, 1}, {16, 16, 16, 16})) == placement::npu);
}

TEST_CASE_TEMPLATE("a Conv whose window is not 2-D is not NPU work", P, kdp520, kdp720) {
    model_support m({1, 8, 64});
    m.weight("w", {8, 8, 3});
    m.add("Conv", {"x", "w"}, {"y"});
    CHECK(where<P>(m) == placement::unsupported);
    CHECK(rule<P>(m).starts_with("Conv window 1-D (allowed: 2-D)"));
}

// ---- ConvTranspose ---------------------------------------------------------------------------

TEST_CASE("ConvTranspose: 520 has none (Upsample + Conv instead); 720 takes strides 1x1 and 2x2") {
    const auto deconv = [](shape_t strides) {
        model_support m({1, 8, 16, 16});
        m.weight("w", {8, 8, 4, 4});
        m.add("ConvTranspose", {"x", "w"}, {"y"}, attrs_support({{"strides", strides}}));
        return m;
    };
    CHECK(where<kdp520>(deconv({2, 2})) == placement::unsupported);
    CHECK(rule<kdp520>(deconv({2, 2})) == "ConvTranspose not in Table 1.1; not a CPU op either");
    CHECK(where<kdp720>(deconv({1, 1})) == placement::npu);
    CHECK(where<kdp720>(deconv({2, 2})) == placement::npu);
    CHECK(where<kdp720>(deconv({3, 3})) == placement::unsupported);
    CHECK(where<kdp720>(deconv({1, 2})) == placement::unsupported);
}

// ---- pooling ---------------------------------------------------------------------------------

TEST_CASE("520 MaxPool and AveragePool: 3x3 with strides 1-3, 2x2 with strides 1-2") {
    for (const std::string op : {"MaxPool", "AveragePool"}) {
        CAPTURE(op);
        for (std::int64_t s : {1, 2, 3}) CHECK(where<kdp520>(pool(op, {3, 3}, {s, s})) == placement::npu);
        CHECK(where<kdp520>(pool(op, {3, 3}, {4, 4})) == placement::cpu);
        for (std::int64_t s : {1, 2}) CHECK(where<kdp520>(pool(op, {2, 2}, {s, s})) == placement::npu);
        CHECK(where<kdp520>(pool(op, {2, 2}, {3, 3})) == placement::cpu);
        CHECK(where<kdp520>(pool(op, {4, 4}, {1, 1})) == placement::cpu);
        CHECK(where<kdp520>(pool(op, {1, 1}, {1, 1})) == placement::cpu);
        CHECK(where<kdp520>(pool(op, {2, 3}, {1, 1})) == placement::cpu);
    }
    CHECK(rule<kdp520>(pool("MaxPool", {3, 3}, {4, 4})) ==
          "MaxPool kernel 3x3 strides 4x4 (allowed: 3x3 strides 1, 2, 3; 2x2 strides 1, 2); "
          "runs on the CPU");
}

TEST_CASE("720 MaxPool and AveragePool: kernels 1x1, 2x2, 3x3 with any stride") {
    for (const std::string op : {"MaxPool", "AveragePool"}) {
        CAPTURE(op);
        for (std::int64_t k : {1, 2, 3}) CHECK(where<kdp720>(pool(op, {k, k}, {4, 4})) == placement::npu);
        CHECK(where<kdp720>(pool(op, {4, 4}, {1, 1})) == placement::cpu);
        CHECK(where<kdp720>(pool(op, {2, 3}, {1, 1})) == placement::cpu);
    }
}

TEST_CASE("GlobalAveragePool: 720 needs a 4-D input, 520 takes any; GlobalMaxPool runs on both") {
    CHECK(where<kdp720>(unary("GlobalAveragePool", {1, 8, 4, 4})) == placement::npu);
    CHECK(where<kdp720>(unary("GlobalAveragePool", {1, 8, 4})) == placement::cpu);
    CHECK(where<kdp720>(unary("GlobalAveragePool", {1, 8, 4, 4, 4})) == placement::cpu);
    CHECK(
        rule<kdp720>(unary("GlobalAveragePool", {1, 8, 4})).starts_with("GlobalAveragePool input rank 3 (allowed: 4)"));
    CHECK(where<kdp520>(unary("GlobalAveragePool", {1, 8, 4})) == placement::npu);
    CHECK(where<kdp520>(unary("GlobalMaxPool")) == placement::npu);
    CHECK(where<kdp720>(unary("GlobalMaxPool")) == placement::npu);
}

// ---- Pad -------------------------------------------------------------------------------------

TEST_CASE("520 Pad: amounts 0 to 15 on the NPU, 16 and negative ones run on the CPU") {
    CHECK(where<kdp520>(pad({0, 0, 15, 15, 0, 0, 15, 15})) == placement::npu);
    CHECK(where<kdp520>(pad({0, 0, 16, 0, 0, 0, 0, 0})) == placement::cpu);
    CHECK(where<kdp520>(pad({0, 0, -1, 0, 0, 0, 0, 0})) == placement::cpu);
    CHECK(rule<kdp520>(pad({0, 0, 16, 0, 0, 0, 0, 0})) == "Pad pad 16 (allowed: 0..15); runs on the CPU");
}

TEST_CASE("720 Pad: spatial axes only, any amount") {
    CHECK(where<kdp720>(pad({0, 0, 100, 1, 0, 0, 2, 100})) == placement::npu);
    CHECK(where<kdp720>(pad({0, 1, 0, 0, 0, 0, 0, 0})) == placement::cpu);
    CHECK(where<kdp720>(pad({0, 0, 0, 0, 1, 0, 0, 0})) == placement::cpu);
    CHECK(rule<kdp720>(pad({0, 1, 0, 0, 0, 0, 0, 0})).starts_with("Pad pads on axis 1 (allowed: spatial axes only)"));
}

TEST_CASE_TEMPLATE("a Pad whose amounts are not constant cannot be checked: CPU", P, kdp520, kdp720) {
    model_support m({1, 8, 16, 16});
    m.g.inputs.push_back({"p", dtype::int64, {8}});
    m.add("Pad", {"x", "p"}, {"y"});
    CHECK(where<P>(m) == placement::cpu);
}

// ---- Concat, Clip ----------------------------------------------------------------------------

TEST_CASE_TEMPLATE("Concat on the NPU along axis 1 only", P, kdp520, kdp720) {
    CHECK(where<P>(concat(1)) == placement::npu);
    CHECK(where<P>(concat(-3)) == placement::npu);  // axis 1 of a 4-D input
    CHECK(where<P>(concat(0)) == placement::cpu);
    CHECK(where<P>(concat(2)) == placement::cpu);
    CHECK(rule<P>(concat(2)) == "Concat axis 2 (allowed: 1); runs on the CPU");
}

TEST_CASE_TEMPLATE("Clip on the NPU only with min = 0", P, kdp520, kdp720) {
    CHECK(where<P>(clip(0.f)) == placement::npu);
    CHECK(where<P>(clip(0.1f)) == placement::cpu);
    CHECK(where<P>(clip(-1.f)) == placement::cpu);
    CHECK(where<P>(clip(std::nullopt)) == placement::cpu);
    CHECK(rule<P>(clip(-1.f)) == "Clip min -1 (allowed: 0); runs on the CPU");
}

// ---- Gemm, Flatten ---------------------------------------------------------------------------

TEST_CASE("Gemm: 720 needs a 2-D input, 520 states no limit") {
    CHECK(where<kdp720>(gemm({1, 32})) == placement::npu);
    CHECK(where<kdp720>(gemm({1, 2, 32})) == placement::unsupported);
    CHECK(where<kdp520>(gemm({1, 2, 32})) == placement::npu);
}

TEST_CASE("Flatten: 720 only before Gemm, 520 anywhere") {
    CHECK(verdict<kdp720>(flatten_before("Gemm").g, "y_node").where == placement::npu);
    CHECK(verdict<kdp720>(flatten_before("Relu").g, "y_node").where == placement::cpu);
    CHECK(verdict<kdp720>(flatten_before("Relu").g, "y_node").rule ==
          "Flatten feeds Relu (allowed: Gemm only); runs on the CPU");
    auto both = flatten_before("Gemm");
    both.add("Relu", {"y"}, {"r"});
    CHECK(verdict<kdp720>(both.g, "y_node").where == placement::cpu);
    CHECK(verdict<kdp520>(flatten_before("Relu").g, "y_node").where == placement::npu);
}

// ---- ranks: BatchNormalization, Slice --------------------------------------------------------

TEST_CASE("BatchNormalization: 720 up to 4-D input, 520 any") {
    CHECK(where<kdp720>(batch_norm({1, 8, 4, 4})) == placement::npu);
    CHECK(where<kdp720>(batch_norm({1, 8, 4, 4, 4})) == placement::cpu);
    CHECK(where<kdp520>(batch_norm({1, 8, 4, 4, 4})) == placement::npu);
}

TEST_CASE("Slice: 720 input up to 4-D on the NPU; 520 runs every Slice on the CPU") {
    CHECK(where<kdp720>(slice({1, 8, 4, 4})) == placement::npu);
    CHECK(where<kdp720>(slice({1, 8, 4, 4, 4})) == placement::cpu);
    CHECK(rule<kdp720>(slice({1, 8, 4, 4, 4})).starts_with("Slice input rank 5 (allowed: <= 4)"));
    CHECK(where<kdp520>(slice({1, 8, 4, 4})) == placement::cpu);
}

TEST_CASE("a limit that needs a shape nobody inferred is not met") {
    model_support m({1, 8, 4, 4});
    m.add("Relu", {"x"}, {"r"});
    m.add("GlobalAveragePool", {"r"}, {"y"});  // no value_info for r
    CHECK(where<kdp720>(m) == placement::cpu);
    CHECK(rule<kdp720>(m).starts_with("GlobalAveragePool input rank unknown"));
}

// ---- ops without subsets, and the CPU-node policy ---------------------------------------------

TEST_CASE_TEMPLATE("ops both tables support without limits run on the NPU", P, kdp520, kdp720) {
    for (const char* op : {"Relu", "LeakyRelu", "GlobalMaxPool"})
        CHECK_MESSAGE(where<P>(unary(op)) == placement::npu, op);
    model_support prelu({1, 8, 4, 4});
    prelu.weight("slope", {8, 1, 1}).add("PRelu", {"x", "slope"}, {"y"});
    CHECK(where<P>(prelu) == placement::npu);
    model_support add({1, 8, 4, 4});
    add.add("Add", {"x", "x"}, {"y"});
    CHECK(where<P>(add) == placement::npu);
}

TEST_CASE("ops only Table 1.2 lists run on 720's NPU and 520's CPU") {
    for (const char* op : {"Sigmoid", "Tanh", "Resize"}) {
        CHECK_MESSAGE(where<kdp720>(unary(op)) == placement::npu, op);
        CHECK_MESSAGE(where<kdp520>(unary(op)) == placement::cpu, op);
    }
    model_support mul({1, 8, 4, 4});
    mul.add("Mul", {"x", "x"}, {"y"});
    CHECK(where<kdp720>(mul) == placement::npu);
    CHECK(where<kdp520>(mul) == placement::cpu);
    CHECK(rule<kdp520>(unary("Resize")) == "Resize not in Table 1.1; runs on the CPU");
    // MaxRoiPool is NPU work on 720; 520's CPU does not run it.
    CHECK(where<kdp720>(unary("MaxRoiPool")) == placement::npu);
    CHECK(where<kdp520>(unary("MaxRoiPool")) == placement::unsupported);
}

TEST_CASE_TEMPLATE("ops outside both tables: CPU when cheap, unsupported when MAC-heavy or unknown", P, kdp520,
                   kdp720) {
    for (const char* op : {"Softmax", "Reshape", "Transpose", "ReduceMean"})
        CHECK_MESSAGE(where<P>(unary(op)) == placement::cpu, op);
    for (const char* op : {"MatMul", "LSTM", "NonMaxSuppression"})
        CHECK_MESSAGE(where<P>(unary(op)) == placement::unsupported, op);
    model_support custom({1, 8});
    custom.g.add_node(node{"y_node", "Decode", "com.vendor", {}, {"x"}, {"y"}});
    CHECK(where<P>(custom) == placement::unsupported);
}

TEST_CASE_TEMPLATE("Constant, Identity and Dropout are folded, never scheduled", P, kdp520, kdp720) {
    model_support m({1, 8, 4, 4});
    m.add("Identity", {"x"}, {"y"});
    const auto report = eval::support_check<P>(m.g);
    CHECK(report.nodes.at(0).where == placement::npu);
    CHECK(report.nodes.at(0).folded);
    CHECK(report.segments.empty());
}

// ---- whole-model_support answers ---------------------------------------------------------------------

TEST_CASE_TEMPLATE("every node a chip cannot run is listed at once, with its rule", P, kdp520, kdp720) {
    model_support m({1, 8, 16, 16});
    m.weight("w", {8, 8, 3, 3});
    m.add("Conv", {"x", "w"}, {"c"}, attrs_support({{"strides", shape_t{5, 5}}}));
    m.add("MatMul", {"c", "c"}, {"mm"});
    m.add("LSTM", {"mm"}, {"y"});
    const auto report = eval::support_check<P>(m.g);
    CHECK_FALSE(report.runnable());
    CHECK(report.placed(placement::unsupported).size() == 3);
    try {
        report.require_runnable("m.onnx");
        FAIL("expected unsupported_error");
    } catch (const unsupported_error& e) {
        const std::string what = e.what();
        CHECK(e.code() == exit_code::unsupported);
        CHECK(what.starts_with("m.onnx: 3 nodes cannot run on KDP"));
        CHECK(what.find("c_node (Conv) Conv strides 5x5") != std::string::npos);
        CHECK(what.find("mm_node (MatMul)") != std::string::npos);
        CHECK(what.find("y_node (LSTM)") != std::string::npos);
        CHECK(what.find('\n') == std::string::npos);
    }
}

TEST_CASE_TEMPLATE("a model_support the chip runs passes require_runnable", P, kdp520, kdp720) {
    const auto m = conv({3, 3}, {1, 1}, {1, 1, 1, 1});
    const auto report = eval::support_check<P>(m.g);
    CHECK(report.runnable());
    CHECK_NOTHROW(report.require_runnable("m.onnx"));
    CHECK(report.placed(placement::npu).size() == 1);
    CHECK(report.nodes.at(0).rule == "Conv within " + std::string(platform::platform_traits<P>::ops_table));
}

namespace {

// Tiny-YOLOv3-shaped: a backbone with a first head, and a second head that upsamples the backbone
// and concatenates it with an earlier feature map.
model_support two_heads() {
    model_support m({1, 8, 16, 16});
    m.weight("w", {8, 8, 3, 3});
    const auto same = attrs_support({{"pads", shape_t{1, 1, 1, 1}}});
    m.add("Conv", {"x", "w"}, {"early"}, same).shape_of("early", {1, 8, 16, 16});
    m.add("MaxPool", {"early"}, {"down"}, attrs_support({{"kernel_shape", shape_t{2, 2}}, {"strides", shape_t{2, 2}}}));
    m.shape_of("down", {1, 8, 8, 8});
    m.add("Conv", {"down", "w"}, {"head1"}, same);
    m.add("Conv", {"down", "w"}, {"lateral"}, same);
    m.constant("scales", tensor::from<float>({4}, {1.f, 1.f, 2.f, 2.f}));
    m.add("Resize", {"lateral", "", "scales"}, {"up"}).shape_of("up", {1, 8, 16, 16});
    m.add("Concat", {"up", "early"}, {"cat"}, attrs_support({{"axis", std::int64_t{1}}}));
    m.shape_of("cat", {1, 16, 16, 16}).weight("w2", {8, 16, 3, 3});
    m.add("Conv", {"cat", "w2"}, {"head2"}, same);
    return m;
}

std::vector<std::string> names(const graph::graph& g, const eval::segment& s) {
    std::vector<std::string> out;
    for (auto v : s.nodes) out.push_back(g[v].name);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("partition on 520: the Upsample splits the NPU work in two around one CPU node") {
    const auto m = two_heads();
    const auto report = eval::support_check<kdp520>(m.g);
    CHECK(report.runnable());
    REQUIRE(report.segments.size() == 3);
    CHECK(report.segments[0].where == placement::npu);
    CHECK(names(m.g, report.segments[0]) ==
          std::vector<std::string>{"down_node", "early_node", "head1_node", "lateral_node"});
    CHECK(report.segments[1].where == placement::cpu);
    CHECK(names(m.g, report.segments[1]) == std::vector<std::string>{"up_node"});
    CHECK(report.segments[2].where == placement::npu);
    CHECK(names(m.g, report.segments[2]) == std::vector<std::string>{"cat_node", "head2_node"});
}

TEST_CASE("partition on 720: the same model_support is one NPU segment") {
    const auto m = two_heads();
    const auto report = eval::support_check<kdp720>(m.g);
    REQUIRE(report.segments.size() == 1);
    CHECK(report.segments[0].where == placement::npu);
    CHECK(report.segments[0].nodes.size() == 7);
    CHECK(report.placed(placement::cpu).empty());
}

TEST_CASE_TEMPLATE("CPU nodes at the tail are one segment each, after the NPU segment", P, kdp520, kdp720) {
    model_support m({1, 8, 4, 4});
    m.add("Relu", {"x"}, {"r"});
    m.constant("shape", ints_support({1, -1}));
    m.add("Reshape", {"r", "shape"}, {"flat"});
    m.add("Softmax", {"flat"}, {"y"});
    const auto report = eval::support_check<P>(m.g);
    REQUIRE(report.segments.size() == 3);
    CHECK(report.segments[0].where == placement::npu);
    CHECK(m.g[report.segments[1].nodes.at(0)].op_type == "Reshape");
    CHECK(m.g[report.segments[2].nodes.at(0)].op_type == "Softmax");
}

// ---- through the ONNX importer ---------------------------------------------------------------

TEST_CASE("an imported Upsample (normalized to Resize) is a CPU node on 520 and NPU work on 720") {
    ktc::testing::model_builder b(7);
    b.input("x", {1, 3, 4, 4});
    b.output("y", {1, 3, 8, 8});
    auto* up = b.node("Upsample", {"x"}, {"y"});
    auto* scales = up->add_attribute();
    scales->set_name("scales");
    scales->set_type(::onnx::AttributeProto::FLOATS);
    for (float s : {1.f, 1.f, 2.f, 2.f}) scales->add_floats(s);
    const auto g = ktc::onnx::parse(b.bytes(), "up.onnx");
    const auto on520 = eval::support_check<kdp520>(g), on720 = eval::support_check<kdp720>(g);
    REQUIRE(on520.nodes.size() == 1);
    CHECK(on520.nodes[0].op == "Resize");
    CHECK(on520.nodes[0].where == placement::cpu);
    CHECK(on720.nodes[0].where == placement::npu);
}

TEST_CASE_TEMPLATE("imported models: Clip-6 attributes and inferred ranks are what the rules read", P, kdp520, kdp720) {
    ktc::testing::model_builder b(9);
    b.input("x", {1, 3, 8, 8});
    b.output("y", {1, 3, 1, 1});
    auto* relu6 = b.node("Clip", {"x"}, {"c"});
    ktc::testing::set_float(relu6, "min", 0.f);
    ktc::testing::set_float(relu6, "max", 6.f);
    auto* hardtanh = b.node("Clip", {"c"}, {"h"});
    ktc::testing::set_float(hardtanh, "min", -1.f);
    b.node("GlobalAveragePool", {"h"}, {"y"});
    const auto g = ktc::onnx::parse(b.bytes(), "clip.onnx");
    const auto report = eval::support_check<P>(g);
    REQUIRE(report.nodes.size() == 3);
    CHECK(report.nodes[0].where == placement::npu);
    CHECK(report.nodes[1].where == placement::cpu);
    CHECK(report.nodes[2].where == placement::npu);  // rank 4 from shape inference
}
