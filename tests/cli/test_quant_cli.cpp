// The quantization verbs end to end: ktc analysis writes a .bie whose fixed-point run (ktc infer
// --bie) stays close to the float run of the bundled example; ktc radix is the vendor's
// get_radix; ktc compare reports SNR and argmax agreement; bad input gets its exit code.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "ktc/core/npy.hpp"
#include "support/cli_runner.hpp"

namespace fs = std::filesystem;
using namespace ktc;
using testing::ktc_run;
using testing::temp_dir;

namespace {
const std::string example = std::string(KTC_SOURCE_DIR) + "/examples/fashion_mnist/";
}

TEST_CASE("analysis then infer --bie: the int8 and int16 runs of the example agree with the float run") {
    temp_dir tmp("quant");
    const std::string model = example + "fashion_cnn.onnx", inputs = example + "inputs_batch.npy";
    REQUIRE(ktc_run("infer --onnx " + model + " --input " + inputs + " -o " + tmp / "float" + " --quiet").code == 0);

    const auto a520 =
        ktc_run("analysis " + model + " --platform 520 --input " + inputs + " -o " + tmp / "m520.bie" + " --threads 2");
    CHECK(a520.code == 0);
    CHECK(a520.output.find("per-tensor SNR") != std::string::npos);
    CHECK(a520.output.find("input  input: int8, radix 7") != std::string::npos);
    REQUIRE(fs::exists(tmp / "m520.bie"));
    REQUIRE(
        ktc_run("infer --bie " + tmp / "m520.bie" + " --input " + inputs + " -o " + tmp / "q520" + " --quiet").code ==
        0);
    const auto c8 = ktc_run("compare " + tmp / "float" + " " + tmp / "q520");
    CHECK(c8.code == 0);
    CHECK(c8.output.find("logits") != std::string::npos);

    const auto f = npy::load(tmp / "float/logits.npy"), q = npy::load(tmp / "q520/logits.npy");
    REQUIRE(f.shape() == q.shape());
    double signal = 0, noise = 0;
    for (std::int64_t i = 0; i < f.size(); ++i) {
        const double x = f.values<float>()[i], d = q.values<float>()[i] - x;
        signal += x * x, noise += d * d;
    }
    CHECK(10 * std::log10(signal / noise) > 20.0);  // measured 23 dB at int8

    REQUIRE(ktc_run("analysis " + model + " --platform 720 --bitwidth 16 --input " + inputs + " -o " + tmp / "m16.bie" +
                    " --snr-samples 0")
                .code == 0);
    REQUIRE(ktc_run("infer --bie " + tmp / "m16.bie" + " --platform 720 --input " + inputs + " -o " + tmp / "q16" +
                    " --quiet")
                .code == 0);
    const auto q16 = npy::load(tmp / "q16/logits.npy");
    noise = 0;
    for (std::int64_t i = 0; i < f.size(); ++i) {
        const double d = q16.values<float>()[i] - f.values<float>()[i];
        noise += d * d;
    }
    CHECK(10 * std::log10(signal / noise) > 45.0);  // int16

    // The .bie is for 520: asking for 720 is a usage error; --radix overrides the input radix.
    CHECK(ktc_run("infer --bie " + tmp / "m520.bie" + " --platform 720 --input " + inputs + " -o " + tmp / "x").code ==
          2);
    CHECK(ktc_run("infer --bie " + tmp / "m520.bie" + " --radix 6 --input " + inputs + " -o " + tmp / "r6" + " --quiet")
              .code == 0);
}

TEST_CASE("analysis --snr-input measures the per-tensor table on held-out inputs, read before the .bie is written") {
    temp_dir tmp("snr_input");
    const std::string model = example + "fashion_cnn.onnx", calibration = example + "inputs_batch.npy";
    const auto held_out = ktc_run("analysis " + model + " --platform 520 --input " + calibration +
                                  " --snr-input input=" + example + "inputs/sample_0.npy -o " + tmp / "m.bie -q");
    CHECK(held_out.code == 0);
    CHECK(held_out.output.find("per-tensor SNR, float vs fixed point, on 1 --snr-input samples") != std::string::npos);

    const auto missing = ktc_run("analysis " + model + " --platform 520 --input " + calibration +
                                 " --snr-input input=" + tmp / "absent.npy" + " -o " + tmp / "bad.bie -q");
    CHECK(missing.code == 4);
    CHECK(missing.output.find("absent.npy") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "bad.bie"));
}

TEST_CASE("analysis refuses what a chip cannot do, and bad files, with their exit codes") {
    temp_dir tmp("quant_bad");
    const std::string model = example + "fashion_cnn.onnx", inputs = example + "inputs_batch.npy";
    auto r = ktc_run("analysis " + model + " --platform 520 --bitwidth 16 --input " + inputs + " -o " + tmp / "m.bie");
    CHECK(r.code == 2);
    CHECK(r.output.find("int16") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "m.bie"));
    CHECK(ktc_run("analysis " + model + " --platform 530 --input " + inputs + " -o " + tmp / "m.bie").code == 2);
    CHECK(ktc_run("analysis " + model + " --platform 520 --range widest --input " + inputs + " -o " + tmp / "m.bie")
              .code == 2);
    const auto garbage = tmp.file("garbage.bie", "KTCBIE\r\n not really");
    r = ktc_run("infer --bie " + garbage + " --input " + inputs + " -o " + tmp / "out");
    CHECK(r.code == 4);
    CHECK(r.output.find("garbage.bie") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "out"));
}

TEST_CASE("radix prints get_radix of the inputs; non-finite data is an error") {
    temp_dir tmp("radix");
    npy::save(tmp / "half.npy", tensor::from<float>({3}, {0.5f, -0.25f, 0.1f}));
    npy::save(tmp / "two.npy", tensor::from<float>({2}, {1.5f, -2.f}));
    auto r = ktc_run("radix " + tmp / "half.npy");
    CHECK(r.code == 0);
    CHECK(r.output == "8\n");
    CHECK(ktc_run("radix " + tmp / "half.npy" + " " + tmp / "two.npy").output == "6\n");
    CHECK(ktc_run("radix --bits 16 " + tmp / "half.npy").output == "16\n");
    npy::save(tmp / "nan.npy", tensor::from<float>({2}, {1.f, std::nanf("")}));
    r = ktc_run("radix " + tmp / "nan.npy");
    CHECK(r.code == 4);
    CHECK(r.output.find("nan.npy") != std::string::npos);
    CHECK(ktc_run("radix").code == 2);
}

TEST_CASE("compare reports exact agreement, a known SNR and argmax per row") {
    temp_dir tmp("compare");
    fs::create_directories(tmp.path / "a");
    fs::create_directories(tmp.path / "b");
    npy::save(tmp / "a/y.npy", tensor::from<float>({2, 3}, {1.f, 2.f, 3.f, 3.f, 2.f, 1.f}));
    npy::save(tmp / "b/y.npy", tensor::from<float>({2, 3}, {1.f, 2.f, 3.f, 3.f, 2.f, 1.f}));
    auto r = ktc_run("compare " + tmp / "a" + " " + tmp / "b");
    CHECK(r.code == 0);
    CHECK(r.output.find("exact") != std::string::npos);
    CHECK(r.output.find("2/2") != std::string::npos);
    npy::save(tmp / "b/y.npy", tensor::from<float>({2, 3}, {1.f, 2.f, 3.f, 1.f, 2.f, 3.f}));  // second row flips
    r = ktc_run("compare " + tmp / "a" + " " + tmp / "b");
    CHECK(r.output.find("1/2") != std::string::npos);
    npy::save(tmp / "b/y.npy", tensor::from<float>({3}, {1.f, 2.f, 3.f}));
    CHECK(ktc_run("compare " + tmp / "a" + " " + tmp / "b").code == 2);  // shapes differ
    CHECK(ktc_run("compare " + tmp / "a").code == 2);
    CHECK(ktc_run("compare " + tmp / "a" + " " + tmp / "nowhere").code == 4);
}
