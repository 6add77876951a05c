// `ktc flow` end to end: the whole workflow on the bundled example for both chips (its float
// outputs against the logits PyTorch saved, its hardware outputs against `ktc infer --nef` on the
// .nef it wrote), and each kind of failure stopping the flow at its step, with the step named,
// the exit code of its kind, and no file of a failed or later step left in OUTDIR.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "ktc/core/npy.hpp"
#include "support/cli_runner.hpp"
#include "support/onnx_builder.hpp"

namespace fs = std::filesystem;
using namespace ktc;
using testing::ktc_run;
using testing::temp_dir;

namespace {

const std::string flow_example = std::string(KTC_SOURCE_DIR) + "/examples/fashion_mnist/";

bool flow_has(const std::string& s, const std::string& what) { return s.find(what) != std::string::npos; }

std::set<std::string> flow_entries(const fs::path& dir) {
    std::set<std::string> names;
    if (fs::exists(dir))
        for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

bool flow_same_file(const fs::path& a, const fs::path& b) {
    std::ifstream fa(a, std::ios::binary), fb(b, std::ios::binary);
    std::stringstream sa, sb;
    sa << fa.rdbuf(), sb << fb.rdbuf();
    return fa && fb && sa.str() == sb.str();
}

}  // namespace

TEST_CASE("flow runs the whole workflow on the example for 520 and 720 and writes every step's file") {
    temp_dir tmp("flow");
    const std::string model = flow_example + "fashion_cnn.onnx", inputs = flow_example + "inputs_batch.npy";
    // The labels of the 8 bundled images (examples/fashion_mnist/README.md).
    npy::save(tmp / "labels.npy", tensor::from<std::int64_t>({8}, {9, 2, 1, 1, 6, 1, 4, 6}));
    for (const std::string platform : {"520", "720"}) {
        CAPTURE(platform);
        const fs::path out = tmp / ("out_" + platform);
        const auto r = ktc_run("flow " + model + " --input " + inputs + " --labels " + tmp / "labels.npy" +
                               " --platform " + platform + " -o " + out.string());
        REQUIRE(r.code == 0);
        for (const char* step :
             {"[1/8] inputs", "[2/8] optimize", "[3/8] evaluate", "[4/8] float inference", "[5/8] analysis",
              "[6/8] fixed inference", "[7/8] compile", "[8/8] hardware inference"})
            CHECK(flow_has(r.output, step));
        CHECK(flow_has(r.output, "original"));  // the optimized model compared with the original
        CHECK(flow_has(r.output, "vs float: SNR"));
        CHECK(flow_has(r.output, "bit-exact with fixed, argmax 8/8"));
        CHECK(flow_has(r.output, "summary: fashion_cnn.onnx on KDP" + platform));
        CHECK(flow_has(r.output, "100.00%"));  // the model classifies the 8 bundled images right

        CHECK(flow_entries(out) == std::set<std::string>{"fashion_cnn.opt.onnx", "evaluate.txt", "evaluate.json",
                                                         "evaluate.html", "float", "fashion_cnn.bie", "fixed",
                                                         "models_" + platform + ".nef", "ioinfo.csv", "hardware",
                                                         "flow.txt"});
        // The float run against PyTorch's logits, saved when the example was made.
        const auto logits = npy::load(out / "float" / "logits.npy").to_vector<float>();
        const auto expected = npy::load(flow_example + "expected_logits.npy").to_vector<float>();
        REQUIRE(logits.size() == expected.size());
        for (std::size_t i = 0; i < logits.size(); ++i) CHECK(std::abs(logits[i] - expected[i]) < 1e-4f);
        // The .nef it wrote runs through `ktc infer --nef` to the same outputs, bit for bit.
        REQUIRE(ktc_run("infer --nef " + (out / ("models_" + platform + ".nef")).string() + " --input " + inputs +
                        " -o " + tmp / "nef_out" + " --quiet")
                    .code == 0);
        CHECK(flow_same_file(out / "hardware" / "logits.npy", tmp.path / "nef_out" / "logits.npy"));
        std::ifstream summary(out / "flow.txt");
        std::stringstream text;
        text << summary.rdbuf();
        CHECK(flow_has(text.str(), "hardware inference"));
    }
    // 16 bits on 720, calibrated on other inputs than the ones compared; --quiet: the summary only.
    const auto r = ktc_run("flow " + model + " --input " + inputs + " --calibration-input " + flow_example + "inputs" +
                           " --platform 720 --bitwidth 16 --quiet -o " + tmp / "out16");
    REQUIRE(r.code == 0);
    CHECK_FALSE(flow_has(r.output, "[1/8]"));
    CHECK(flow_has(r.output, "int16"));
    CHECK(flow_has(r.output, "bit-exact with fixed"));
    CHECK(ktc_run("flow --help").code == 0);
}

TEST_CASE(
    "a failing step stops the flow naming the step, exits with its kind's code, leaves only finished steps' files") {
    temp_dir tmp("flow_bad");
    const std::string model = flow_example + "fashion_cnn.onnx", inputs = flow_example + "inputs_batch.npy";
    const fs::path out = tmp.path / "out";
    // An earlier run's files: a failed run must not leave them looking like its own.
    fs::create_directories(out / "hardware");
    tmp.file("out/flow.txt", "old summary");
    tmp.file("out/models_520.nef", "old");
    tmp.file("out/keep.txt", "not the flow's");

    // A bad input file: step 'inputs', exit 4, nothing written.
    const auto garbage = tmp.file("garbage.npy", "\x93NUMPY garbage");
    auto r = ktc_run("flow " + model + " --input " + garbage + " --platform 520 -o " + out.string());
    CHECK(r.code == 4);
    CHECK(flow_has(r.output, "ktc flow: error: step 'inputs': "));
    CHECK(flow_has(r.output, "garbage.npy"));
    CHECK(testing::line_count(r.output) == 1);
    CHECK(flow_entries(out) == std::set<std::string>{"keep.txt"});

    // Missing sample inputs: a name the model lacks (2), a folder without .npy files (4), no --input (2).
    r = ktc_run("flow " + model + " --input nope=" + inputs + " --platform 520 -o " + out.string());
    CHECK(r.code == 2);
    CHECK(flow_has(r.output, "step 'inputs': 'nope' is not an input of the model"));
    fs::create_directories(tmp.path / "empty");
    r = ktc_run("flow " + model + " --input " + tmp / "empty" + " --platform 520 -o " + out.string());
    CHECK(r.code == 4);
    CHECK(flow_has(r.output, "step 'inputs'"));
    CHECK(ktc_run("flow " + model + " --platform 520 -o " + out.string()).code == 2);
    r = ktc_run("flow " + model + " --input " + inputs + " --labels " + inputs + " --platform 520 -o " + out.string());
    CHECK(r.code == 2);  // labels that do not match the samples
    CHECK(flow_entries(out) == std::set<std::string>{"keep.txt"});

    // An unsupported op: step 'evaluate', exit 3, every node named; only the optimized model is left.
    testing::model_builder b(13);
    b.input("x", {1, 1, 4, 4, 4});
    b.output("y", {1, 1, 2, 2, 2});
    testing::add_float_initializer(b, "w", {1, 1, 3, 3, 3}, std::vector<float>(27, 0.1f));
    b.node("Conv", {"x", "w"}, {"y"})->set_name("conv3d");
    const auto conv3d = tmp.file("conv3d.onnx", b.bytes());
    npy::save(tmp / "x.npy", tensor(dtype::float32, {1, 4, 4, 4, 1}));
    r = ktc_run("flow " + conv3d + " --input " + tmp / "x.npy" + " --platform 520 -o " + out.string());
    CHECK(r.code == 3);
    CHECK(flow_has(r.output, "step 'evaluate': "));
    CHECK(flow_has(r.output, "conv3d (Conv)"));
    CHECK(flow_entries(out) == std::set<std::string>{"keep.txt", "conv3d.opt.onnx"});

    // A step in the middle: int16 on 520 fails at analysis; the three steps before it left their files.
    r = ktc_run("flow " + model + " --input " + inputs + " --bitwidth 16 --platform 520 -o " + out.string());
    CHECK(r.code == 2);
    CHECK(flow_has(r.output, "step 'analysis': "));
    CHECK(flow_has(r.output, "[4/8] float inference"));
    CHECK_FALSE(flow_has(r.output, "[5/8]"));
    CHECK(flow_entries(out) == std::set<std::string>{"keep.txt", "conv3d.opt.onnx", "fashion_cnn.opt.onnx",
                                                     "evaluate.txt", "evaluate.json", "evaluate.html", "float"});

    // Bad options fail before any step.
    CHECK(ktc_run("flow " + model + " --input " + inputs + " --platform 530 -o " + out.string()).code == 2);
    CHECK(ktc_run("flow " + model + " --input " + inputs + " --platform 520 --version 1 -o " + out.string()).code == 2);
    CHECK(ktc_run("flow " + model + " --input " + inputs + " --platform 520 --bitwidth 4 -o " + out.string()).code ==
          2);
}
