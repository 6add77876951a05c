// tests/convert/test_tflite.cpp - the TFLite converter on the third-party files of
// ../shared/testdata/converters/tflite, checked against LiteRT.js (Google's TFLite runtime,
// tools/oracles/tflite): ktc's float simulator on the converted graph and ONNX Runtime on the
// written .onnx must both match it. Also: quantized and LSTM models refused by name, truncated
// and corrupted files refused as file errors, never a crash.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>

#include "convert/testdata.hpp"
#include "ktc/convert/tflite.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/shape_inference.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace {

namespace fs = std::filesystem;
using ktc::tensor;

// A folder of its own (scratches nest: the checks make one inside a test that has one).
struct tflite_scratch {
    static inline int made = 0;
    fs::path path =
        fs::temp_directory_path() / ("ktc_tflite_test_" + std::to_string(::getpid()) + "_" + std::to_string(made++));
    tflite_scratch() { fs::create_directories(path); }
    ~tflite_scratch() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

tensor tflite_random_input(const ktc::shape_t& shape, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.f, 1.f);
    tensor t(ktc::dtype::float32, shape);
    for (auto& v : t.values<float>()) v = dist(rng);
    return t;
}

// NHWC <-> NCHW for rank 4; other ranks unchanged.
tensor tflite_to_held(const tensor& t) { return t.rank() == 4 ? ktc::convert::tflite::permuted(t, {0, 3, 1, 2}) : t; }

double tflite_max_rel_error(const tensor& got, const tensor& want) {
    REQUIRE(got.shape() == want.shape());
    return ktc::testing::max_relative_error(want, got);
}

// LiteRT.js on NHWC inputs; nullopt when node or the oracle's npm package is missing.
std::optional<std::vector<tensor>> tflite_run_litert(const fs::path& model, const std::vector<tensor>& inputs,
                                                     const fs::path& scratch) {
    const fs::path oracle = fs::path(KTC_SOURCE_DIR) / "tools/oracles/tflite";
    if (!fs::exists(oracle / "node_modules/@litertjs/core") || std::system("node --version >/dev/null 2>&1") != 0)
        return std::nullopt;
    const fs::path out = scratch / (model.stem().string() + "_litert");
    std::string cmd =
        "node '" + (oracle / "tflite_run.mjs").string() + "' '" + model.string() + "' '" + out.string() + "'";
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const fs::path in = scratch / ("litert_input_" + std::to_string(i) + ".npy");
        ktc::npy::save(in, inputs[i]);
        cmd += " '" + in.string() + "'";
    }
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "LiteRT.js failed: " << cmd);
    std::vector<tensor> outputs;
    for (std::size_t i = 0; fs::exists(out / ("output_" + std::to_string(i) + ".npy")); ++i)
        outputs.push_back(ktc::npy::load(out / ("output_" + std::to_string(i) + ".npy")));
    return outputs;
}

// ONNX Runtime (tools/peers) on held inputs; nullopt when it is missing.
std::optional<std::vector<tensor>> tflite_run_ort(const fs::path& onnx, const ktc::graph::graph& g,
                                                  const std::vector<tensor>& inputs, const fs::path& scratch) {
    const fs::path peers = fs::path(KTC_SOURCE_DIR) / "tools/peers";
    if (!fs::exists(peers / "node_modules/onnxruntime-node") || std::system("node --version >/dev/null 2>&1") != 0)
        return std::nullopt;
    const fs::path out = scratch / (onnx.stem().string() + "_ort");
    std::string cmd = "node '" + (peers / "ort_run.js").string() + "' '" + onnx.string() + "' '" + out.string() + "'";
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const fs::path in = scratch / ("ort_input_" + std::to_string(i) + ".npy");
        ktc::npy::save(in, inputs[i]);
        cmd += " '" + g.inputs[i].name + "=" + in.string() + "'";
    }
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "ONNX Runtime failed: " << cmd);
    std::vector<tensor> outputs;
    for (const auto& o : g.outputs) {
        std::string file = o.name;
        for (char& c : file)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') c = '_';
        outputs.push_back(ktc::npy::load(out / (file + ".npy")));
    }
    return outputs;
}

std::size_t tflite_count_op(const ktc::graph::graph& g, const std::string& op) {
    std::size_t n = 0;
    for (auto v : g.nodes()) n += g[v].op_type == op;
    return n;
}

// Converts `model`, then checks the float simulator and ONNX Runtime against LiteRT.js on
// `samples` random inputs; returns the worst relative error of each (-1 when not run).
std::pair<double, double> tflite_check_against_litert(const fs::path& model, int samples, float input_scale) {
    tflite_scratch scratch;
    auto g = ktc::convert::from_tflite(model);
    ktc::onnx::infer_shapes(g, model.string());
    const fs::path onnx = scratch.path / (model.stem().string() + ".onnx");
    ktc::onnx::save(g, onnx.string());
    ktc::sim::float_simulator sim(g);

    double worst_sim = 0, worst_ort = -1;
    for (int s = 0; s < samples; ++s) {
        std::vector<tensor> nhwc, held;
        ktc::sim::tensor_map feeds;
        for (std::size_t i = 0; i < g.inputs.size(); ++i) {
            // The model's own input shape, in TFLite's layout.
            const auto& shape = g.inputs[i].shape;
            const ktc::shape_t tfl = shape.size() == 4 ? ktc::shape_t{shape[0], shape[2], shape[3], shape[1]} : shape;
            tensor x = tflite_random_input(tfl, 1234u + 17u * static_cast<unsigned>(s) + static_cast<unsigned>(i));
            for (auto& v : x.values<float>()) v *= input_scale;
            held.push_back(tflite_to_held(x));
            nhwc.push_back(std::move(x));
            feeds.emplace(g.inputs[i].name, held.back());
        }
        const auto oracle = tflite_run_litert(model, nhwc, scratch.path);
        if (!oracle) {
            CHECK_MESSAGE(!ktc::testing::peers_required(),
                          "LiteRT.js (tools/oracles/tflite) is missing but KTC_REQUIRE_PEERS=1");
            MESSAGE("skipped: LiteRT.js is not installed (scripts/peers.sh)");
            return {-1, -1};
        }
        REQUIRE(oracle->size() == g.outputs.size());
        const auto got = sim.run(feeds);
        const auto ort = tflite_run_ort(onnx, g, held, scratch.path);
        if (!ort)
            CHECK_MESSAGE(!ktc::testing::peers_required(),
                          "ONNX Runtime (tools/peers) is missing but KTC_REQUIRE_PEERS=1");
        for (std::size_t i = 0; i < g.outputs.size(); ++i) {
            const tensor want = tflite_to_held((*oracle)[i]);
            worst_sim = std::max(worst_sim, tflite_max_rel_error(got.at(g.outputs[i].name), want));
            if (ort) worst_ort = std::max(worst_ort, tflite_max_rel_error((*ort)[i], want));
        }
    }
    MESSAGE(model.filename().string() << ": max relative error vs LiteRT.js: float simulator " << worst_sim
                                      << ", ONNX Runtime " << worst_ort);
    return {worst_sim, worst_ort};
}

void tflite_write_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string tflite_read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("tflite: MobileNetV1 0.25 (an old TOCO file: deprecated_builtin_code only) matches LiteRT.js") {
    const auto dir = ktc::testing::converter_testdata();
    if (dir.empty()) return;
    const auto model = dir / "tflite/mobilenet_v1_0.25_128.tflite";
    const auto g = ktc::convert::from_tflite(model);
    REQUIRE(g.inputs.size() == 1);
    CHECK(g.inputs[0].shape == ktc::shape_t{1, 3, 128, 128});  // NCHW
    REQUIRE(g.outputs.size() == 1);
    CHECK(g.outputs[0].shape == ktc::shape_t{1, 1001});
    CHECK(g.outputs[0].name == "MobilenetV1/Predictions/Reshape_1");
    CHECK(tflite_count_op(g, "Conv") == 28);
    CHECK(tflite_count_op(g, "Clip") == 27);      // the fused RELU6s
    CHECK(tflite_count_op(g, "Transpose") == 0);  // held NCHW throughout
    const auto [sim, ort] = tflite_check_against_litert(model, 2, 1.f);
    CHECK(sim <= 1e-4);
    CHECK(ort <= 1e-4);
}

TEST_CASE("tflite: hello_world (MLIR, FULLY_CONNECTED with fused RELU) matches LiteRT.js") {
    const auto dir = ktc::testing::converter_testdata();
    if (dir.empty()) return;
    const auto model = dir / "tflite/hello_world_float.tflite";
    const auto g = ktc::convert::from_tflite(model);
    CHECK(tflite_count_op(g, "Gemm") == 3);
    CHECK(tflite_count_op(g, "Relu") == 2);
    // Inputs over the sine's period (0 .. 2 pi).
    const auto [sim, ort] = tflite_check_against_litert(model, 4, 3.14159f);
    CHECK(sim <= 1e-4);
    CHECK(ort <= 1e-4);
}

TEST_CASE("tflite: the operators the real files lack, on generated models, match LiteRT.js") {
    // tools/oracles/tflite/make_op_models.py writes them with Debian's python3-flatbuffers.
    tflite_scratch scratch;
    const std::string cmd = "/usr/bin/python3 '" + std::string(KTC_SOURCE_DIR) +
                            "/tools/oracles/tflite/make_op_models.py' '" + scratch.path.string() + "' 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
        CHECK_MESSAGE(!ktc::testing::peers_required(),
                      "make_op_models.py failed (python3-flatbuffers?) but KTC_REQUIRE_PEERS=1");
        MESSAGE("skipped: make_op_models.py failed (needs /usr/bin/python3 with python3-flatbuffers and numpy)");
        return;
    }
    for (const char* model : {"ops_windows", "ops_elementwise", "ops_resizing", "ops_rearranging"}) {
        const std::string name = model;
        CAPTURE(name);
        const auto [sim, ort] = tflite_check_against_litert(scratch.path / (name + ".tflite"), 2, 1.f);
        CHECK(sim <= 1e-4);
        CHECK(ort <= 1e-4);
    }
}

TEST_CASE("tflite: quantized models are refused by name") {
    const auto dir = ktc::testing::converter_testdata();
    if (dir.empty()) return;
    for (const char* model :
         {"person_detect.tflite", "hello_world_int8.tflite", "mobilenet_v1_0.25_128_quant.tflite"}) {
        const std::string file = model;
        CAPTURE(file);
        try {
            ktc::convert::from_tflite(dir / "tflite/int8" / file);
            FAIL("a quantized model was converted");
        } catch (const ktc::unsupported_error& e) {
            CHECK(std::string(e.what()).find("quantized") != std::string::npos);
        }
    }
}

TEST_CASE("tflite: the LSTM model is refused naming UNIDIRECTIONAL_SEQUENCE_LSTM") {
    const auto dir = ktc::testing::converter_testdata();
    if (dir.empty()) return;
    try {
        ktc::convert::from_tflite(dir / "tflite/trained_lstm.tflite");
        FAIL("the LSTM model was converted");
    } catch (const ktc::unsupported_error& e) {
        CHECK(std::string(e.what()).find("UNIDIRECTIONAL_SEQUENCE_LSTM") != std::string::npos);
    }
}

TEST_CASE("tflite: truncated and corrupted files are file errors") {
    const auto dir = ktc::testing::converter_testdata();
    if (dir.empty()) return;
    tflite_scratch scratch;
    const std::string bytes = tflite_read_bytes(dir / "tflite/mobilenet_v1_0.25_128.tflite");
    const fs::path broken = scratch.path / "broken.tflite";
    for (const std::size_t size :
         {std::size_t{0}, std::size_t{7}, std::size_t{64}, std::size_t{4096}, bytes.size() / 2}) {
        CAPTURE(size);
        tflite_write_bytes(broken, bytes.substr(0, size));
        CHECK_THROWS_AS(ktc::convert::from_tflite(broken), ktc::file_error);
    }
    // The root table offset pointing past the end.
    std::string flipped = bytes;
    flipped[3] = static_cast<char>(flipped[3] ^ 0x40);
    tflite_write_bytes(broken, flipped);
    CHECK_THROWS_AS(ktc::convert::from_tflite(broken), ktc::file_error);
    // Not a TFLite file at all.
    tflite_write_bytes(broken, std::string(256, 'x'));
    CHECK_THROWS_AS(ktc::convert::from_tflite(broken), ktc::file_error);
}

TEST_CASE("tflite: any single corrupted byte converts or throws a ktc error, never crashes") {
    const auto dir = ktc::testing::converter_testdata();
    if (dir.empty()) return;
    tflite_scratch scratch;
    const std::string bytes = tflite_read_bytes(dir / "tflite/hello_world_float.tflite");
    const fs::path broken = scratch.path / "broken.tflite";
    std::size_t refused = 0;
    // Every byte of the small model's structure and some of its data, each flipped in turn.
    for (std::size_t at = 0; at < bytes.size(); at += 3) {
        std::string copy = bytes;
        copy[at] = static_cast<char>(copy[at] ^ 0xA5);
        tflite_write_bytes(broken, copy);
        try {
            ktc::convert::from_tflite(broken);
        } catch (const ktc::error&) {
            ++refused;
        }
    }
    MESSAGE(refused << " of " << (bytes.size() + 2) / 3 << " corrupted copies refused");
    CHECK(refused > 0);
}
