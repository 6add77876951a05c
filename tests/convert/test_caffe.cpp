// tests/convert/test_caffe.cpp - the Caffe converter on the three MTCNN nets of the testdata and on
// a generated net using every supported layer type, each checked against OpenCV's dnn module
// (tools/oracles/caffe/opencv_run.py) with both ktc's float simulator and ONNX Runtime on the
// written .onnx; truncated, corrupted and unknown inputs are refused with errors that name them.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include "convert/testdata.hpp"
#include "ktc/convert/caffe.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/shape_inference.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace fs = std::filesystem;
using namespace ktc;

namespace {

const char* caffe_python = "/usr/bin/python3";

fs::path caffe_source_dir() { return KTC_SOURCE_DIR; }

// A folder of this test run, removed when the tests end.
fs::path caffe_scratch(const std::string& name) {
    struct run_folder {
        fs::path root = fs::temp_directory_path() / ("ktc_caffe_test_" + std::to_string(getpid()));
        ~run_folder() {
            std::error_code ec;
            fs::remove_all(root, ec);
        }
    };
    static const run_folder run;
    const fs::path dir = run.root / name;
    fs::create_directories(dir);
    return dir;
}

std::string caffe_quote(const fs::path& p) { return "'" + p.string() + "'"; }

bool caffe_opencv_available() {
    return std::system((std::string(caffe_python) + " -c 'import cv2, numpy' >/dev/null 2>&1").c_str()) == 0;
}

bool caffe_ort_available() {
    return fs::exists(caffe_source_dir() / "tools/peers/node_modules/onnxruntime-node") &&
           std::system("node --version >/dev/null 2>&1") == 0;
}

// Both oracles, or a skip message (a failure when KTC_REQUIRE_PEERS=1).
bool caffe_oracles_ready() {
    if (caffe_opencv_available() && caffe_ort_available()) return true;
    CHECK_MESSAGE(!ktc::testing::peers_required(),
                  "OpenCV (python3-opencv) or ONNX Runtime (tools/peers) is missing but KTC_REQUIRE_PEERS=1");
    MESSAGE("skipped: needs /usr/bin/python3 with cv2 (python3-opencv) and tools/peers (scripts/peers.sh)");
    return false;
}

sim::tensor_map caffe_read_outputs(const fs::path& dir, const graph::graph& g) {
    sim::tensor_map out;
    for (const auto& o : g.outputs) {
        std::string file = o.name;
        for (char& c : file)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') c = '_';
        REQUIRE_MESSAGE(fs::exists(dir / (file + ".npy")), "no output " << o.name << " in " << dir);
        out.emplace(o.name, npy::load(dir / (file + ".npy")));
    }
    return out;
}

sim::tensor_map caffe_run_opencv(const fs::path& prototxt, const fs::path& caffemodel, const graph::graph& g,
                                 const fs::path& input, const fs::path& out) {
    const std::string cmd = std::string(caffe_python) + " " +
                            caffe_quote(caffe_source_dir() / "tools/oracles/caffe/opencv_run.py") + " " +
                            caffe_quote(prototxt) + " " + caffe_quote(caffemodel) + " " + caffe_quote(out) + " '" +
                            g.inputs.at(0).name + "=" + input.string() + "' >/dev/null";
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "OpenCV failed: " << cmd);
    // OpenCV must see exactly the outputs ktc declares.
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(out)) files += e.path().extension() == ".npy";
    CHECK(files == g.outputs.size());
    return caffe_read_outputs(out, g);
}

sim::tensor_map caffe_run_ort(const fs::path& model, const graph::graph& g, const fs::path& input,
                              const fs::path& out) {
    const std::string cmd = "node " + caffe_quote(caffe_source_dir() / "tools/peers/ort_run.js") + " " +
                            caffe_quote(model) + " " + caffe_quote(out) + " '" + g.inputs.at(0).name + "=" +
                            input.string() + "'";
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "ONNX Runtime failed: " << cmd);
    return caffe_read_outputs(out, g);
}

// Converts, writes the .onnx, runs ktc's float simulator and ONNX Runtime on it and OpenCV on the
// Caffe files, all on `input`; every output must agree with OpenCV within 1e-4.
graph::graph caffe_check_against_opencv(const std::string& label, const fs::path& prototxt, const fs::path& caffemodel,
                                        const fs::path& input) {
    CAPTURE(label);
    graph::graph g = convert::from_caffe(prototxt, caffemodel);
    ktc::onnx::infer_shapes(g, label);
    const fs::path dir = caffe_scratch(label);
    ktc::onnx::save(g, dir / (label + ".onnx"));

    const tensor x = npy::load(input);
    REQUIRE(x.shape() == g.inputs.at(0).shape);
    sim::float_simulator simulator(g);
    const auto simulated = simulator.run({{g.inputs.at(0).name, x}});
    const auto reference = caffe_run_opencv(prototxt, caffemodel, g, input, dir / "opencv");
    const auto ort = caffe_run_ort(dir / (label + ".onnx"), g, input, dir / "ort");
    for (const auto& o : g.outputs) {
        CAPTURE(o.name);
        const tensor& want = reference.at(o.name);
        CHECK(simulated.at(o.name).shape() == o.shape);
        const double sim_error = ktc::testing::max_relative_error(want, simulated.at(o.name));
        const double ort_error = ktc::testing::max_relative_error(want, ort.at(o.name));
        MESSAGE(label << " " << o.name << to_string(o.shape) << ": max rel error vs OpenCV: float simulator "
                      << sim_error << ", ONNX Runtime " << ort_error);
        CHECK(sim_error <= 1e-4);
        CHECK(ort_error <= 1e-4);
    }
    return g;
}

fs::path caffe_random_input(const std::string& name, const shape_t& shape) {
    tensor x(dtype::float32, shape);
    std::mt19937 rng(20261127);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (float& v : x.values<float>()) v = u(rng);
    const fs::path path = caffe_scratch("inputs") / (name + ".npy");
    npy::save(path, x);
    return path;
}

std::string caffe_read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void caffe_write_text(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

std::string caffe_replace(std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, "'" << from << "' not found");
    return s.replace(at, from.size(), to);
}

// The exit code and message of a conversion that must fail.
std::pair<exit_code, std::string> caffe_failure(const fs::path& prototxt, const fs::path& caffemodel) {
    try {
        convert::from_caffe(prototxt, caffemodel);
    } catch (const ktc::error& e) {
        return {e.code(), e.what()};
    }
    return {exit_code::success, ""};
}

bool caffe_contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("caffe: the three MTCNN nets match OpenCV through the float simulator and ONNX Runtime") {
    const fs::path dir = testing::converter_testdata() / "caffe";
    if (dir == "caffe" || !caffe_oracles_ready()) return;
    const graph::graph det1 = caffe_check_against_opencv(
        "det1", dir / "mtcnn_det1.prototxt", dir / "mtcnn_det1.caffemodel", caffe_random_input("det1", {1, 3, 12, 12}));
    CHECK(det1.outputs.size() == 2);
    caffe_check_against_opencv("det2", dir / "mtcnn_det2.prototxt", dir / "mtcnn_det2.caffemodel",
                               caffe_random_input("det2", {1, 3, 24, 24}));
    const graph::graph det3 = caffe_check_against_opencv(
        "det3", dir / "mtcnn_det3.prototxt", dir / "mtcnn_det3.caffemodel", caffe_random_input("det3", {1, 3, 48, 48}));
    CHECK(det3.outputs.size() == 3);

    // PNet is fully convolutional: at 47x61 its 2x2 pooling rounds 45x59 up to 23x30, as Caffe does.
    const fs::path big = caffe_scratch("det1_47x61") / "det1_47x61.prototxt";
    caffe_write_text(big, caffe_replace(caffe_read_text(dir / "mtcnn_det1.prototxt"), "input_dim: 12\ninput_dim: 12",
                                        "input_dim: 47\ninput_dim: 61"));
    const graph::graph large = caffe_check_against_opencv("det1_47x61", big, dir / "mtcnn_det1.caffemodel",
                                                          caffe_random_input("det1_47x61", {1, 3, 47, 61}));
    CHECK(large.info("prob1")->shape == shape_t{1, 2, 19, 26});
}

TEST_CASE("caffe: training snapshots give only the deploy net's weights, and in-place blobs become SSA values") {
    const fs::path dir = testing::converter_testdata() / "caffe";
    if (dir == "caffe") return;
    // det2.caffemodel also holds a landmark head (conv5-3) and data/loss layers the deploy net lacks.
    const graph::graph g = convert::from_caffe(dir / "mtcnn_det2.prototxt", dir / "mtcnn_det2.caffemodel");
    for (const auto& [name, t] : g.initializers) CHECK_FALSE(caffe_contains(name, "conv5-3"));
    CHECK(g.outputs.size() == 2);
    CHECK(g.is_graph_output("prob1"));
    CHECK(g.is_graph_output("conv5-2"));
    // conv1 is written by the convolution and again by prelu1 in place: two values, the last named conv1.
    std::map<std::string, int> producers;
    for (auto v : g.nodes())
        for (const auto& out : g[v].outputs) ++producers[out];
    for (const auto& [value, n] : producers) CHECK_MESSAGE(n == 1, value);
    REQUIRE(g.producer("conv1"));
    CHECK(g[*g.producer("conv1")].op_type == "PRelu");
    REQUIRE(g.producer("conv1@conv1"));
    CHECK(g[*g.producer("conv1@conv1")].op_type == "Conv");
    // RNet's 3x3/2 pooling rounds 22 up to 11 (explicit end padding, no ceil_mode needed).
    REQUIRE(g.producer("pool1"));
    CHECK(g[*g.producer("pool1")].attrs.get_ints("pads") == std::vector<std::int64_t>{0, 0, 1, 1});

    // PNet at another size without editing its prototxt.
    convert::caffe_options options;
    options.input_shapes["data"] = {1, 3, 47, 61};
    const graph::graph pnet = convert::from_caffe(dir / "mtcnn_det1.prototxt", dir / "mtcnn_det1.caffemodel", options);
    CHECK(pnet.inputs.at(0).shape == shape_t{1, 3, 47, 61});
    CHECK(pnet.info("prob1")->shape == shape_t{1, 2, 19, 26});
    options.input_shapes = {{"image", {1, 3, 24, 24}}};
    CHECK_THROWS_AS(convert::from_caffe(dir / "mtcnn_det1.prototxt", dir / "mtcnn_det1.caffemodel", options),
                    usage_error);
}

TEST_CASE("caffe: every supported layer type matches OpenCV on a generated net") {
    if (!caffe_oracles_ready()) return;
    const fs::path dir = caffe_scratch("generated");
    const std::string cmd = std::string(caffe_python) + " " +
                            caffe_quote(caffe_source_dir() / "tools/oracles/caffe/make_nets.py") + " " +
                            caffe_quote(dir);
    REQUIRE(std::system(cmd.c_str()) == 0);
    const graph::graph g =
        caffe_check_against_opencv("tour", dir / "tour.prototxt", dir / "tour.caffemodel", dir / "tour.input.npy");
    std::map<std::string, int> ops;
    for (auto v : g.nodes()) ++ops[g[v].op_type];
    for (const char* op : {"Conv", "ConvTranspose", "BatchNormalization", "LeakyRelu", "Relu", "PRelu", "AveragePool",
                           "MaxPool", "GlobalAveragePool", "Sigmoid", "Tanh", "Max", "Concat", "Flatten", "Gemm",
                           "Softmax", "Transpose", "Reshape", "Identity"})
        CHECK_MESSAGE(ops[op] > 0, op);
    CHECK_FALSE(g.find_node("sc_a").has_value());  // that Scale became the BatchNormalization's scale and bias
    CHECK(g.outputs.size() == 5);
}

TEST_CASE("caffe: truncated, corrupted and mismatched files are file errors naming the file") {
    const fs::path dir = testing::converter_testdata() / "caffe";
    if (dir == "caffe") return;
    const fs::path prototxt = dir / "mtcnn_det1.prototxt", caffemodel = dir / "mtcnn_det1.caffemodel";
    const fs::path scratch = caffe_scratch("corrupt");
    const std::string model = caffe_read_text(caffemodel), text = caffe_read_text(prototxt);

    for (std::size_t size : {std::size_t{0}, std::size_t{10}, model.size() / 3, model.size() / 2, model.size() - 1}) {
        CAPTURE(size);
        const fs::path cut = scratch / "cut.caffemodel";
        caffe_write_text(cut, model.substr(0, size));
        const auto [code, message] = caffe_failure(prototxt, cut);
        CHECK(code == exit_code::bad_file);
        CHECK(message.rfind(cut.string() + ": ", 0) == 0);
    }
    {
        std::string flipped = model;
        flipped[0] = static_cast<char>(flipped[0] ^ 0x04);  // the first field's wire type
        const fs::path bad = scratch / "flipped.caffemodel";
        caffe_write_text(bad, flipped);
        const auto [code, message] = caffe_failure(prototxt, bad);
        CHECK(code == exit_code::bad_file);
        CHECK(caffe_contains(message, "wire format"));
    }
    // Any single bit flip: an error or a (possibly numerically different) model, never a crash.
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        std::string flipped = model;
        flipped[rng() % flipped.size()] ^= static_cast<char>(1 << (rng() % 8));
        const fs::path bad = scratch / "flip.caffemodel";
        caffe_write_text(bad, flipped);
        const auto [code, message] = caffe_failure(prototxt, bad);
        CHECK((code == exit_code::success || code == exit_code::bad_file || code == exit_code::unsupported));
    }
    {
        const fs::path broken = scratch / "broken.prototxt";
        caffe_write_text(broken, caffe_replace(text, "  top: \"pool1\"", "  top: \"pool1\" }"));
        const auto [code, message] = caffe_failure(broken, caffemodel);
        CHECK(code == exit_code::bad_file);
        CHECK(message.rfind(broken.string() + ": not a Caffe prototxt: line ", 0) == 0);
    }
    {  // the two files swapped
        const auto [code, message] = caffe_failure(caffemodel, prototxt);
        CHECK(code == exit_code::bad_file);
        CHECK(message.rfind(caffemodel.string() + ": ", 0) == 0);
    }
    {  // weights that do not fit the prototxt
        const fs::path wider = scratch / "wider.prototxt";
        caffe_write_text(wider, caffe_replace(text, "num_output: 10", "num_output: 12"));
        const auto [code, message] = caffe_failure(wider, caffemodel);
        CHECK(code == exit_code::bad_file);
        CHECK(caffe_contains(message, "layer 'conv1' (Convolution)"));
    }
    {
        const auto [code, message] = caffe_failure(prototxt, scratch / "missing.caffemodel");
        CHECK(code == exit_code::bad_file);
    }
}

TEST_CASE("caffe: unknown layer types and unknown layer options are named") {
    const fs::path dir = testing::converter_testdata() / "caffe";
    if (dir == "caffe") return;
    const fs::path scratch = caffe_scratch("unknown");
    const std::string text = caffe_read_text(dir / "mtcnn_det1.prototxt");
    {
        const fs::path p = scratch / "prior_box.prototxt";
        caffe_write_text(
            p, text +
                   "layer {\n  name: \"priors\"\n  type: \"PriorBox\"\n  bottom: \"conv3\"\n  top: \"priors\"\n"
                   "  prior_box_param { min_size: 30 }\n}\n");
        const auto [code, message] = caffe_failure(p, dir / "mtcnn_det1.caffemodel");
        CHECK(code == exit_code::unsupported);
        CHECK(caffe_contains(message, "'priors' (PriorBox)"));
    }
    {
        const fs::path p = scratch / "round_mode.prototxt";
        caffe_write_text(p, caffe_replace(text, "pool: MAX", "pool: MAX\n    pad_mode: 2"));
        const auto [code, message] = caffe_failure(p, dir / "mtcnn_det1.caffemodel");
        CHECK(code == exit_code::unsupported);
        CHECK(caffe_contains(message, "pad_mode"));
        CHECK(caffe_contains(message, "line 47"));
    }
}
