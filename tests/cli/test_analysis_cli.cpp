// ktc analysis on models the bundled example does not cover: inputs with dynamic dimensions
// (fixed to the calibration inputs' shape, so the .bie compiles; samples of different shapes are
// a usage error naming the input), and the per-tensor SNR table (whole names; -v every row).
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "ktc/core/npy.hpp"
#include "support/cli_runner.hpp"
#include "support/onnx_builder.hpp"

namespace fs = std::filesystem;
using namespace ktc;
using testing::ktc_run;
using testing::temp_dir;

namespace {

tensor random_images(shape_t shape, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    tensor t(dtype::float32, shape);
    for (std::int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = d(rng);
    return t;
}

// x [1,3,H,W] (H and W unknown) -> Conv 3->4 3x3 pad 1 -> Relu -> GlobalAveragePool -> y [1,4,1,1]
std::string dynamic_conv_model() {
    testing::model_builder b(13);
    auto* vi = b.g->add_input();
    vi->set_name("x");
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(::onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(1);
    tt->mutable_shape()->add_dim()->set_dim_value(3);
    tt->mutable_shape()->add_dim()->set_dim_param("H");
    tt->mutable_shape()->add_dim()->set_dim_param("W");
    b.output("y", {1, 4, 1, 1});
    std::vector<float> w(4 * 3 * 9);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.05f * float(int(i % 11) - 5);
    testing::add_float_initializer(b, "w", {4, 3, 3, 3}, w);
    testing::add_float_initializer(b, "b", {4}, {0.1f, -0.1f, 0.2f, 0.f});
    auto* conv = b.node("Conv", {"x", "w", "b"}, {"c"});
    conv->set_name("conv");
    testing::set_ints(conv, "pads", {1, 1, 1, 1});
    b.node("Relu", {"c"}, {"r"})->set_name("relu");
    b.node("GlobalAveragePool", {"r"}, {"y"})->set_name("gap");
    return b.bytes();
}

}  // namespace

TEST_CASE("analysis fixes a dynamic input shape to the calibration inputs' and says so; the .bie compiles") {
    temp_dir tmp("dynamic");
    const std::string model = tmp.file("dyn.onnx", dynamic_conv_model());
    npy::save(tmp / "cal.npy", random_images({6, 1, 12, 16, 3}, 1));  // 6 samples, channel-last
    npy::save(tmp / "test.npy", random_images({3, 1, 12, 16, 3}, 2));

    const auto a =
        ktc_run("analysis " + model + " --platform 520 --input " + tmp / "cal.npy" + " -o " + tmp / "dyn.bie");
    CHECK(a.code == 0);
    CHECK(a.output.find(
              "note: input 'x': dynamic shape [1,3,-1,-1] fixed to [1,3,12,16], the calibration inputs' shape") !=
          std::string::npos);
    // Before, compile refused the .bie (exit 3: input 'x' has the dynamic shape [1,3,-1,-1]).
    const auto c = ktc_run("compile --model 32768:0001:" + tmp / "dyn.bie" + " --platform 520 -o " + tmp / "dyn.nef");
    CHECK(c.code == 0);
    CHECK(ktc_run("infer --bie " + tmp / "dyn.bie" + " --input " + tmp / "test.npy" + " -o " + tmp / "fixed -q").code ==
          0);
    CHECK(ktc_run("infer --nef " + tmp / "dyn.nef" + " --input " + tmp / "test.npy" + " -o " + tmp / "hw -q").code ==
          0);
    CHECK(ktc_run("compare " + tmp / "fixed" + " " + tmp / "hw").output.find("exact") != std::string::npos);

    // The whole flow on 720 the same way: the analysis line says what it fixed.
    const auto f = ktc_run("flow " + model + " --platform 720 --input " + tmp / "test.npy" + " --calibration-input " +
                           tmp / "cal.npy" + " -o " + tmp / "flow");
    CHECK(f.code == 0);
    CHECK(f.output.find("dynamic shape [1,3,-1,-1] fixed to [1,3,12,16]") != std::string::npos);
    CHECK(f.output.find("bit-exact with fixed") != std::string::npos);
}

TEST_CASE("samples of different shapes for one input are a usage error naming the input") {
    temp_dir tmp("dynamic_mixed");
    const std::string model = tmp.file("dyn.onnx", dynamic_conv_model());
    fs::create_directories(tmp.path / "samples");
    npy::save(tmp.path / "samples" / "a.npy", random_images({1, 12, 16, 3}, 3));
    npy::save(tmp.path / "samples" / "b.npy", random_images({1, 20, 16, 3}, 4));
    const auto a =
        ktc_run("analysis " + model + " --platform 520 --input x=" + tmp / "samples" + " -o " + tmp / "m.bie");
    CHECK(a.code == 2);
    CHECK(a.output.find("input 'x'") != std::string::npos);
    CHECK(a.output.find("b.npy") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp / "m.bie"));
    // A known dimension the samples contradict: also a usage error naming the input.
    npy::save(tmp / "four.npy", random_images({2, 1, 12, 16, 4}, 5));
    const auto b =
        ktc_run("analysis " + model + " --platform 520 --input " + tmp / "four.npy" + " -o " + tmp / "m.bie");
    CHECK(b.code == 2);
    CHECK(b.output.find("input 'x'") != std::string::npos);
}

namespace {

// x [1,2,5,5] -> 20 1x1 Convs in a chain; odd tensors have 70-character names that share their
// first 66 characters, even ones 38-character names.
std::string long_names_model(std::vector<std::string>& names) {
    testing::model_builder b(13);
    b.input("x", {1, 2, 5, 5});
    const std::string prefix = "a_rather_long_common_prefix/shared_by_every_tensor/of_this__";  // 60 characters
    std::string in = "x";
    for (int i = 0; i < 20; ++i) {
        char idx[8];
        std::snprintf(idx, sizeof idx, "%02d", i);
        const std::string name =
            i % 2 ? prefix + "layer_" + idx + "xx" : "medium_length_tensor_name/layer_" + std::string(idx) + "/out";
        names.push_back(name);
        const std::string w = "w" + std::string(idx);
        testing::add_float_initializer(b, w, {2, 2, 1, 1}, {0.9f, 0.2f - 0.01f * float(i), 0.1f, 1.05f});
        b.node("Conv", {in, w}, {name})->set_name("conv" + std::string(idx));
        in = name;
    }
    b.output(in, {1, 2, 5, 5});
    return b.bytes();
}

}  // namespace

TEST_CASE("the per-tensor SNR table shows whole names, the 15 worst, and with -v every tensor") {
    temp_dir tmp("snr_table");
    std::vector<std::string> names;
    const std::string model = tmp.file("long.onnx", long_names_model(names));
    REQUIRE(names.front().size() == 38);
    REQUIRE(names[1].size() == 70);
    npy::save(tmp / "cal.npy", random_images({4, 1, 5, 5, 2}, 6));
    const std::string base =
        "analysis " + model + " --platform 520 --no-optimize --input " + tmp / "cal.npy" + " -o " + tmp / "m.bie";

    // How many names appear whole in the table (between its title and the graph output's SNR line).
    const auto shown = [&](const std::string& out) {
        const std::size_t from = out.find("per-tensor SNR"), to = out.find("\noutput ", from);
        const std::string table = out.substr(from, to == std::string::npos ? std::string::npos : to - from);
        std::size_t n = 0;
        for (const auto& name : names) n += table.find(name) != std::string::npos;
        return n;
    };
    const auto a = ktc_run(base);
    REQUIRE(a.code == 0);
    CHECK(a.output.find("...") != std::string::npos);
    CHECK(a.output.find("5 more (-v shows every tensor)") != std::string::npos);
    CHECK(shown(a.output) == 15);  // the 15 rows shown, each under its whole name
    // A 70-character name stands on a line of its own, whole; its figures follow on the next.
    for (const auto& name : names)
        if (name.size() == 70 && a.output.find(name) != std::string::npos)
            CHECK(a.output.find("  " + name + "\n") != std::string::npos);

    const auto v = ktc_run(base + " -v");
    REQUIRE(v.code == 0);
    CHECK(shown(v.output) == 20);
    CHECK(v.output.find("more (-v") == std::string::npos);
}
