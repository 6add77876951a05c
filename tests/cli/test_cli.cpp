// The command-line contract: exit codes, one-line errors naming the culprit, and `ktc infer`
// on the bundled example against the logits PyTorch computed.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>

#include "ktc/core/npy.hpp"
#include "support/cli_runner.hpp"
#include "support/onnx_builder.hpp"

namespace fs = std::filesystem;
using namespace ktc;

using testing::ktc_run;
using testing::line_count;
using testing::temp_dir;

TEST_CASE("usage errors exit with 2") {
    CHECK(ktc_run("").code == 2);
    CHECK(ktc_run("no-such-verb").code == 2);
    const auto r = ktc_run("infer --input x.npy -o out");
    CHECK(r.code == 2);
    CHECK(r.output.find("--onnx") != std::string::npos);
    CHECK(ktc_run("infer --onnx m.onnx -o out --layout sideways").code == 2);
    const auto threads = ktc_run("infer --onnx m.onnx -i x.npy -o out --threads -1");  // not 4294967295 threads
    CHECK(threads.code == 2);
    CHECK(threads.output.find("--threads -1") != std::string::npos);
}

TEST_CASE("--help describes the tool and each verb, exit 0") {
    const auto top = ktc_run("--help");
    CHECK(top.code == 0);
    CHECK(top.output.find("infer") != std::string::npos);
    const auto infer = ktc_run("infer --help");
    CHECK(infer.code == 0);
    CHECK(infer.output.find("channel-last") != std::string::npos);
}

TEST_CASE("unreadable files exit with 4 and one line naming the file") {
    temp_dir tmp;
    const auto garbage = tmp.file("garbage.onnx", "definitely not a model");
    auto r = ktc_run("infer --onnx " + garbage + " --input x.npy -o " + (tmp.path / "out").string());
    CHECK(r.code == 4);
    CHECK(line_count(r.output) == 1);
    CHECK(r.output.find("garbage.onnx") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp.path / "out"));

    testing::model_builder b(13);
    b.input("x", {1, 2});
    b.output("y", {1, 2});
    b.node("Relu", {"x"}, {"y"});
    const auto model = tmp.file("relu.onnx", b.bytes());
    const auto bad_npy = tmp.file("bad.npy", "\x93NUMPY\x01\x00 nonsense");
    r = ktc_run("infer --onnx " + model + " --input x=" + bad_npy + " -o " + (tmp.path / "out").string());
    CHECK(r.code == 4);
    CHECK(r.output.find("bad.npy") != std::string::npos);
    r = ktc_run("infer --onnx " + model + " --input x=" + (tmp.path / "absent.npy").string() + " -o " +
                (tmp.path / "out").string());
    CHECK(r.code == 4);
}

TEST_CASE("inputs of the wrong shape or name are usage errors naming the input") {
    temp_dir tmp;
    testing::model_builder b(13);
    b.input("x", {1, 2});
    b.output("y", {1, 2});
    b.node("Relu", {"x"}, {"y"});
    const auto model = tmp.file("relu.onnx", b.bytes());
    const auto wrong = tmp.file("wrong.npy", npy::serialize(tensor::from<float>({3}, {1, 2, 3})));
    auto r = ktc_run("infer --onnx " + model + " --input x=" + wrong + " -o " + (tmp.path / "out").string());
    CHECK(r.code == 2);
    CHECK(r.output.find("'x'") != std::string::npos);
    const auto good = tmp.file("good.npy", npy::serialize(tensor::from<float>({1, 2}, {-1, 2})));
    r = ktc_run("infer --onnx " + model + " --input nope=" + good + " -o " + (tmp.path / "out").string());
    CHECK(r.code == 2);
    r = ktc_run("infer --onnx " + model + " --input " + good + " -o " + (tmp.path / "out").string() + " --quiet");
    CHECK(r.code == 0);
    CHECK(npy::load(tmp.path / "out" / "y.npy").to_vector<float>() == std::vector<float>{0, 2});
}

TEST_CASE("a model with an op ktc cannot run exits with 3 naming the node") {
    temp_dir tmp;
    testing::model_builder b(13);
    b.input("x", {2, 2});
    b.output("y", {});
    b.node("Det", {"x"}, {"y"})->set_name("the_det");
    const auto model = tmp.file("det.onnx", b.bytes());
    const auto in = tmp.file("x.npy", npy::serialize(tensor::from<float>({2, 2}, {1, 2, 3, 4})));
    const auto r = ktc_run("infer --onnx " + model + " --input x=" + in + " -o " + (tmp.path / "out").string());
    CHECK(r.code == 3);
    CHECK(r.output.find("the_det") != std::string::npos);
}

TEST_CASE("infer on the bundled example reproduces PyTorch's logits, 8 stacked samples") {
    const fs::path example = fs::path(KTC_SOURCE_DIR) / "examples" / "fashion_mnist";
    temp_dir tmp;
    const auto r = ktc_run("infer --onnx " + (example / "fashion_cnn.onnx").string() + " --input " +
                           (example / "inputs_batch.npy").string() + " -o " + tmp.path.string());
    REQUIRE_MESSAGE(r.code == 0, r.output);
    const tensor logits = npy::load(tmp.path / "logits.npy");
    const tensor expected = npy::load(example / "expected_logits.npy");
    REQUIRE(logits.shape() == expected.shape());
    const auto a = logits.values<float>(), e = expected.values<float>();
    float max_ref = 0, max_err = 0;
    for (std::size_t i = 0; i < e.size(); ++i) {
        max_ref = std::max(max_ref, std::abs(e[i]));
        max_err = std::max(max_err, std::abs(a[i] - e[i]));
    }
    CHECK(max_err <= 1e-4f * max_ref);
}

TEST_CASE("infer --threads: 1 and 3 threads write the same bytes; -v prints the time split") {
    const fs::path example = fs::path(KTC_SOURCE_DIR) / "examples" / "fashion_mnist";
    temp_dir tmp;
    const std::string model =
        " --onnx " + (example / "fashion_cnn.onnx").string() + " --input " + (example / "inputs_batch.npy").string();
    const auto one = ktc_run("infer" + model + " -o " + (tmp.path / "one").string() + " --threads 1 -q");
    const auto three = ktc_run("infer" + model + " -o " + (tmp.path / "three").string() + " --threads 3 -v");
    REQUIRE_MESSAGE(one.code == 0, one.output);
    REQUIRE_MESSAGE(three.code == 0, three.output);
    CHECK(three.output.find("time: load ") != std::string::npos);
    CHECK(three.output.find("(8 samples, ") != std::string::npos);
    std::ifstream a(tmp.path / "one" / "logits.npy", std::ios::binary),
        b(tmp.path / "three" / "logits.npy", std::ios::binary);
    const std::string bytes_a((std::istreambuf_iterator<char>(a)), {}),
        bytes_b((std::istreambuf_iterator<char>(b)), {});
    CHECK(!bytes_a.empty());
    CHECK(bytes_a == bytes_b);
}

TEST_CASE("a ktc run on a CPU that lacks an extension of its baseline: exit 1 and a line naming it") {
    // KTC_CPU_FEATURES stands for the CPU's extensions (drivers/cpu_check.cpp): an AVX-only machine.
    ::setenv("KTC_CPU_FEATURES", "avx", 1);
    const auto r = ktc_run("--version");
    ::unsetenv("KTC_CPU_FEATURES");
    const std::string built_for = KTC_BUILT_FOR;  // what KTC_ARCH turns on (empty: the check is off)
    if (built_for.empty() || built_for == "avx") {
        CHECK(r.code == 0);
        return;
    }
    CHECK(r.code == 1);
    CHECK(line_count(r.output) == 1);
    CHECK(r.output.find("this CPU lacks") != std::string::npos);
    CHECK(r.output.find("KTC_ARCH=x86-64") != std::string::npos);
    CHECK(ktc_run("--version").code == 0);  // on the CPU it was built on
}
