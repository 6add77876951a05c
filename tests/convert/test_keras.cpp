// tests/convert/test_keras.cpp - the Keras (.h5) converter on third-party files, against
// TensorFlow.js running the same files (tools/oracles/keras: weights read by h5py, not by ktc):
// ktc's float simulator on the converted graph and ONNX Runtime on the written .onnx must both
// match it. Also: unknown layers are named, damaged files are refused with a file_error.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "convert/testdata.hpp"
#include "ktc/convert/keras.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/shape_inference.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace {

namespace fs = std::filesystem;
using ktc::tensor;
using tensor_map = std::map<std::string, tensor>;

const fs::path keras_source_dir = KTC_SOURCE_DIR;

fs::path keras_file(const std::string& name) {
    const fs::path dir = ktc::testing::converter_testdata();
    return dir.empty() ? fs::path() : dir / "keras" / name;
}

struct keras_scratch {
    fs::path path;
    explicit keras_scratch(const std::string& tag)
        : path(fs::temp_directory_path() / ("ktc_keras_" + tag + "_" + std::to_string(::getpid()))) {
        fs::create_directories(path);
    }
    ~keras_scratch() { fs::remove_all(path); }
};

// True when the oracle can run; otherwise fails under KTC_REQUIRE_PEERS=1 and skips with a message.
bool keras_oracle_ready() {
    const bool ready =
        fs::exists(keras_source_dir / "tools/oracles/keras/node_modules/@tensorflow/tfjs-layers") &&
        fs::exists(keras_source_dir / "tools/peers/node_modules/onnxruntime-node") &&
        std::system("node --version >/dev/null 2>&1 && /usr/bin/python3 -c 'import h5py' 2>/dev/null") == 0;
    if (!ready) {
        if (ktc::testing::peers_required())
            FAIL("KTC_REQUIRE_PEERS=1 but the Keras oracle cannot run (scripts/peers.sh installs it)");
        MESSAGE("skipped: TensorFlow.js (tools/oracles/keras), onnxruntime-node or h5py missing; run scripts/peers.sh");
    }
    return ready;
}

// Deterministic values in [-1, 1).
tensor keras_random(const ktc::shape_t& shape, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    tensor t(ktc::dtype::float32, shape);
    for (float& v : t.values<float>()) v = dist(rng);
    return t;
}

// Graph (NCHW) <-> Keras (NHWC) layout of a 4-D tensor; other ranks are the same in both.
tensor keras_layout(const tensor& held) {
    return held.rank() == 4 ? ktc::convert::keras::permuted(held, {0, 2, 3, 1}) : held;
}

std::string keras_quote(const fs::path& p) { return "'" + p.string() + "'"; }

tensor_map keras_oracle(const fs::path& model, const tensor_map& held_inputs,
                        const std::vector<std::string>& output_layers, const fs::path& scratch) {
    std::string cmd = "node " + keras_quote(keras_source_dir / "tools/oracles/keras/run.js") + " " +
                      keras_quote(model) + " " + keras_quote(scratch / "oracle");
    for (const auto& [name, t] : held_inputs) {
        const fs::path file = scratch / (name + "_nhwc.npy");
        ktc::npy::save(file, keras_layout(t));
        cmd += " " + keras_quote(name + "=" + file.string());
    }
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "the Keras oracle failed: " << cmd);
    tensor_map out;
    for (const auto& layer : output_layers) out.emplace(layer, ktc::npy::load(scratch / "oracle" / (layer + ".npy")));
    return out;
}

std::vector<tensor> keras_onnx_runtime(const fs::path& onnx, const ktc::graph::graph& g, const tensor_map& held_inputs,
                                       const fs::path& scratch) {
    std::string cmd = "node " + keras_quote(keras_source_dir / "tools/peers/ort_run.js") + " " + keras_quote(onnx) +
                      " " + keras_quote(scratch / "ort");
    for (const auto& [name, t] : held_inputs) {
        const fs::path file = scratch / (name + "_nchw.npy");
        ktc::npy::save(file, t);
        cmd += " " + keras_quote(name + "=" + file.string());
    }
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "ONNX Runtime failed: " << cmd);
    std::vector<tensor> out;
    for (const auto& o : g.outputs) {
        std::string file = o.name;
        for (char& c : file)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') c = '_';
        out.push_back(ktc::npy::load(scratch / "ort" / (file + ".npy")));
    }
    return out;
}

// max |a - b| / max |b|, `a` in the graph's layout, `reference` in Keras's.
double keras_relative_error(const tensor& a, const tensor& reference) {
    const tensor a_keras = keras_layout(a);
    REQUIRE(a_keras.shape() == reference.shape());
    return ktc::testing::max_relative_error(reference, a_keras);
}

// Converts `model`, then checks the float simulator and ONNX Runtime against TensorFlow.js on
// random inputs; returns the converted graph.
ktc::graph::graph keras_check_against_oracle(const fs::path& path, const std::vector<std::string>& output_layers) {
    const std::string model = path.filename().string();
    ktc::graph::graph g = ktc::convert::from_keras(path);
    ktc::onnx::infer_shapes(g, path.string());
    REQUIRE(g.outputs.size() == output_layers.size());
    if (!keras_oracle_ready()) return g;

    keras_scratch scratch(fs::path(model).stem().string());
    const fs::path onnx = scratch.path / "model.onnx";
    ktc::onnx::save(g, onnx);
    tensor_map inputs;
    unsigned seed = 1;
    for (const auto& in : g.inputs) inputs.emplace(in.name, keras_random(in.shape, seed++));

    const tensor_map expected = keras_oracle(path, inputs, output_layers, scratch.path);
    const tensor_map simulated = ktc::sim::float_simulator(g).run(inputs);
    const std::vector<tensor> ort = keras_onnx_runtime(onnx, g, inputs, scratch.path);
    for (std::size_t i = 0; i < g.outputs.size(); ++i) {
        CAPTURE(model);
        CAPTURE(output_layers[i]);
        const tensor& reference = expected.at(output_layers[i]);
        const double sim_error = keras_relative_error(simulated.at(g.outputs[i].name), reference);
        const double ort_error = keras_relative_error(ort[i], reference);
        MESSAGE(model << " " << output_layers[i] << ": max rel error float sim " << sim_error << ", ONNX Runtime "
                      << ort_error);
        CHECK(sim_error <= 1e-4);
        CHECK(ort_error <= 1e-4);
    }
    return g;
}

std::string keras_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void keras_write(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

// The exit code class of what converting `path` throws (success when it converts).
ktc::exit_code keras_outcome(const fs::path& path, std::string* message = nullptr) {
    try {
        ktc::convert::from_keras(path);
        return ktc::exit_code::success;
    } catch (const ktc::error& e) {
        if (message) *message = e.what();
        return e.code();
    }
}

}  // namespace

TEST_CASE("keras: fer2013 mini-Xception (Keras 2.0.5, SeparableConv2D, BN, residual Add) matches TensorFlow.js") {
    if (keras_file("").empty()) return;
    const auto g = keras_check_against_oracle(keras_file("fer2013_mini_XCEPTION.102-0.66.hdf5"), {"predictions"});
    REQUIRE(g.inputs.size() == 1);
    CHECK(g.inputs[0].name == "input_1");
    CHECK(g.inputs[0].shape == ktc::shape_t{1, 1, 64, 64});  // NCHW
    CHECK(g.outputs[0].name == "predictions");
    CHECK(g.outputs[0].shape == ktc::shape_t{1, 7});
}

TEST_CASE("keras: stackedgan generator (two inputs, Concatenate, Dense, BN on 2-D) matches TensorFlow.js") {
    if (keras_file("").empty()) return;
    const auto g = keras_check_against_oracle(keras_file("stackedgan_mnist-gen1.h5"), {"dense_8"});
    REQUIRE(g.inputs.size() == 2);
    CHECK(g.inputs[0].shape == ktc::shape_t{1, 10});
    CHECK(g.inputs[1].shape == ktc::shape_t{1, 50});
}

TEST_CASE(
    "keras: cyclegan generator (keras_contrib InstanceNormalization, Conv2DTranspose, skip Concatenate) matches") {
    if (keras_file("").empty()) return;
    const auto g =
        keras_check_against_oracle(keras_file("cyclegan_cifar10-g_source_keras220.h5"), {"conv2d_transpose_8"});
    CHECK(g.outputs[0].shape == ktc::shape_t{1, 1, 32, 32});
}

TEST_CASE("keras: every converted layer kind matches TensorFlow.js (tools/oracles/keras/layer_zoo.py models)") {
    // Sequential without an InputLayer (Keras 2.0 config list), ZeroPadding2D, strided SAME Conv2D,
    // DepthwiseConv2D, SAME AveragePooling2D, PReLU, Conv2DTranspose same and valid, UpSampling2D,
    // Cropping2D, Flatten after a 4-D tensor into Dense, Reshape to 4-D; a functional model with two
    // inputs and outputs, SeparableConv2D with depth_multiplier, dilation, Multiply/Minimum/Maximum/
    // Average, Concatenate, BatchNormalization, LeakyReLU, ReLU(max_value), global pooling, one
    // Dense called twice, Permute, Reshape to 3-D, Dense on 3-D, Softmax; a Keras 2.2 Sequential.
    if (!keras_oracle_ready()) return;
    keras_scratch zoo("zoo");
    const std::string cmd = "/usr/bin/python3 " + keras_quote(keras_source_dir / "tools/oracles/keras/layer_zoo.py") +
                            " " + keras_quote(zoo.path);
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "layer_zoo.py failed: " << cmd);
    const auto sequential = keras_check_against_oracle(zoo.path / "zoo_sequential.h5", {"conv_1x1"});
    CHECK(sequential.inputs.at(0).name == "pad_input");
    keras_check_against_oracle(zoo.path / "zoo_functional.h5", {"probabilities", "row_softmax"});
    // Keras 2.2's Sequential form with an InputLayer; selu/softplus/softsign activations, ELU,
    // ThresholdedReLU.
    const auto v22 = keras_check_against_oracle(zoo.path / "zoo_sequential_v22.h5", {"scores"});
    CHECK(v22.inputs.at(0).name == "pixels");
}

TEST_CASE("keras: a layer class ktc does not know is refused, naming the layer, its class and the file") {
    const fs::path source = keras_file("fer2013_mini_XCEPTION.102-0.66.hdf5");
    if (source.empty()) return;
    keras_scratch scratch("unknown");
    // The same file with one class renamed in model_config (same length: the HDF5 layout holds).
    std::string bytes = keras_bytes(source);
    const std::string from = "\"class_name\": \"GlobalAveragePooling2D\"",
                      to = "\"class_name\": \"GlobalAveragePooling9D\"";
    const auto at = bytes.find(from);
    REQUIRE(at != std::string::npos);
    bytes.replace(at, from.size(), to);
    const fs::path edited = scratch.path / "custom_layer.hdf5";
    keras_write(edited, bytes);
    std::string message;
    CHECK(keras_outcome(edited, &message) == ktc::exit_code::unsupported);
    CHECK(message.find(edited.string()) != std::string::npos);
    CHECK(message.find("'global_average_pooling2d_1' (GlobalAveragePooling9D)") != std::string::npos);
}

TEST_CASE("keras: missing, non-HDF5, truncated and corrupted files are refused with a file_error") {
    const fs::path source = keras_file("fer2013_mini_XCEPTION.102-0.66.hdf5");
    if (source.empty()) return;
    keras_scratch scratch("damaged");
    const std::string bytes = keras_bytes(source);
    std::string message;

    CHECK(keras_outcome(scratch.path / "absent.h5", &message) == ktc::exit_code::bad_file);
    const fs::path text = scratch.path / "text.h5";
    keras_write(text, "not an HDF5 file\n");
    CHECK(keras_outcome(text, &message) == ktc::exit_code::bad_file);
    CHECK(message.find("not an HDF5 file") != std::string::npos);

    for (const std::size_t keep :
         {std::size_t{0}, std::size_t{8}, std::size_t{100}, std::size_t{2048}, bytes.size() / 2, bytes.size() - 1}) {
        CAPTURE(keep);
        const fs::path cut = scratch.path / "truncated.h5";
        keras_write(cut, bytes.substr(0, keep));
        CHECK(keras_outcome(cut, &message) == ktc::exit_code::bad_file);
        CHECK(message.rfind(cut.string() + ": ", 0) == 0);
        CHECK(message.find('\n') == std::string::npos);
    }

    // model_config that is not JSON.
    std::string broken = bytes;
    const auto json_at = broken.find("{\"class_name\": \"Model\"");
    REQUIRE(json_at != std::string::npos);
    broken[json_at] = '#';
    const fs::path bad_json = scratch.path / "bad_json.h5";
    keras_write(bad_json, broken);
    CHECK(keras_outcome(bad_json, &message) == ktc::exit_code::bad_file);
    CHECK(message.find("model_config is not valid JSON") != std::string::npos);

    // Bit flips across the HDF5 metadata (superblock, object headers, attributes, B-trees): each
    // file converts or is refused with a ktc error; none crashes or hangs.
    std::mt19937 rng(7);
    const std::size_t metadata_end = std::min<std::size_t>(bytes.size(), json_at + 40000);
    for (int trial = 0; trial < 60; ++trial) {
        std::string flipped = bytes;
        const std::size_t at = std::uniform_int_distribution<std::size_t>(0, metadata_end - 1)(rng);
        flipped[at] = static_cast<char>(flipped[at] ^ (1 << (trial % 8)));
        const fs::path file = scratch.path / "flipped.h5";
        keras_write(file, flipped);
        CAPTURE(at);
        const auto outcome = keras_outcome(file, &message);
        CHECK((outcome == ktc::exit_code::success || outcome == ktc::exit_code::bad_file ||
               outcome == ktc::exit_code::unsupported));
    }
}
