// `ktc evaluate`: the bundled example on both chips, the exit-3 listing of every node a chip
// cannot run, the JSON report, and the HTML report as headless Chromium renders it.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "ktc/onnx/import.hpp"
#include "ktc/io/bie.hpp"
#include "ktc/quant/calibrate.hpp"
#include "ktc/rewrite/flows.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "support/cli_runner.hpp"
#include "support/onnx_builder.hpp"

namespace fs = std::filesystem;
using namespace ktc;

using testing::ktc_run;
using testing::temp_dir;

namespace {

const fs::path example_model = fs::path(KTC_SOURCE_DIR) / "examples" / "fashion_mnist" / "fashion_cnn.onnx";

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Two nodes neither chip runs, on independent branches: a 3-D Conv (the NPU's windows are 2-D
// and a Conv never falls back to the CPU) and a batched MatMul of two graph inputs (no Gemm can
// come of it). A Relu after the MatMul gives the listing something runnable to leave out.
std::string unrunnable_model(const temp_dir& tmp) {
    testing::model_builder b(13);
    b.input("x", {1, 1, 4, 4, 4});
    b.input("a", {2, 3, 4});
    b.input("b", {2, 4, 5});
    b.output("y", {1, 1, 2, 2, 2});
    b.output("z", {2, 3, 5});
    std::vector<float> w(27, 0.1f);
    testing::add_float_initializer(b, "w", {1, 1, 3, 3, 3}, w);
    b.node("Conv", {"x", "w"}, {"y"})->set_name("conv3d");
    b.node("MatMul", {"a", "b"}, {"m"})->set_name("batched_matmul");
    b.node("Relu", {"m"}, {"z"})->set_name("after_matmul");
    return tmp.file("unrunnable.onnx", b.bytes());
}

// Runs `command` through the shell; its exit status, stdout in `out`.
int shell(const std::string& command, std::string& out) {
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return -1;
    char buf[4096];
    out.clear();
    while (std::size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    const int status = pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("evaluate on the bundled example: the layer table and every summary field, on 520 and 720") {
    for (const std::string platform : {"520", "720"}) {
        CAPTURE(platform);
        const auto r = ktc_run("evaluate " + example_model.string() + " --platform " + platform);
        REQUIRE_MESSAGE(r.code == 0, r.output);
        CHECK(has(r.output, "on KDP" + platform));
        CHECK(has(r.output, "placement"));
        CHECK(has(r.output, "Conv"));
        CHECK(has(r.output, "Gemm"));
        for (const char* field :
             {"estimate FPS = ", "total time = ", "total theoretical convolution time = ", "average DRAM bandwidth = ",
              "MAC efficiency to total time = ", "MAC idle time = ", "MAC running time = "})
            CHECK_MESSAGE(has(r.output, field), field);
        CHECK_FALSE(has(r.output, "error"));
    }
}

TEST_CASE("evaluate --json writes a report that parses, with consistent figures, on 520 and 720") {
    temp_dir tmp("evaluate_json");
    for (const std::string platform : {"520", "720"}) {
        CAPTURE(platform);
        const auto json_path = tmp / ("report" + platform + ".json");
        const auto r =
            ktc_run("evaluate " + example_model.string() + " -p " + platform + " --json " + json_path + " --quiet");
        REQUIRE_MESSAGE(r.code == 0, r.output);
        CHECK(r.output.empty());  // --quiet: the file only
        const auto j = nlohmann::json::parse(slurp(json_path));
        CHECK(j.at("platform") == platform);
        CHECK(j.at("runnable") == true);
        const double total = j.at("total_time_ms"), idle = j.at("mac_idle_ms"), running = j.at("mac_running_ms");
        CHECK(total > 0);
        CHECK(total == doctest::Approx(idle + running));
        CHECK(j.at("fps").get<double>() == doctest::Approx(1000.0 / total));
        CHECK(j.at("mac_efficiency").get<double>() ==
              doctest::Approx(100.0 * j.at("theoretical_conv_time_ms").get<double>() / total));
        CHECK(j.at("avg_dram_gbps").get<double>() >= 0);
        CHECK(j.at("cpu_nodes").is_array());
        CHECK(j.at("unsupported").empty());
        REQUIRE(!j.at("layers").empty());
        double sum = 0;
        bool has_conv = false;
        for (const auto& l : j.at("layers")) {
            CHECK(l.at("name").is_string());
            CHECK(l.at("macs").get<std::int64_t>() >= 0);
            CHECK(l.at("time_ms").get<double>() >= 0);
            const std::string b = l.at("bound");
            CHECK((b == "compute" || b == "weights" || b == "fmap_in" || b == "fmap_out" || b == "cpu"));
            has_conv = has_conv || l.at("op") == "Conv";
            sum += l.at("time_ms").get<double>();
        }
        CHECK(has_conv);
        CHECK(sum == doctest::Approx(total).epsilon(0.01));
    }
}

TEST_CASE("a model with nodes no chip runs exits 3 listing every one with its rule, one line each") {
    temp_dir tmp("evaluate_bad");
    const auto model = unrunnable_model(tmp);
    for (const std::string platform : {"520", "720"}) {
        CAPTURE(platform);
        const auto json_path = tmp / "bad.json", html_path = tmp / "bad.html";
        const auto r =
            ktc_run("evaluate " + model + " --platform " + platform + " --json " + json_path + " --html " + html_path);
        CHECK(r.code == 3);
        const std::string first = r.output.substr(0, r.output.find('\n'));
        CHECK(has(first, "2 nodes cannot run on KDP" + platform));
        CHECK(has(first, "unrunnable.onnx"));
        CHECK(testing::line_count(r.output) == 3);
        CHECK(has(r.output, "\n  conv3d (Conv): Conv window 3-D"));
        CHECK(has(r.output, "\n  batched_matmul (MatMul): MatMul not in Table"));
        CHECK_FALSE(has(r.output, "after_matmul"));
        CHECK_FALSE(has(r.output, "estimate FPS"));

        // The reports asked for are written all the same, with the list.
        const auto j = nlohmann::json::parse(slurp(json_path));
        CHECK(j.at("runnable") == false);
        CHECK(j.at("fps").is_null());
        REQUIRE(j.at("unsupported").size() == 2);
        std::set<std::string> names;
        for (const auto& u : j.at("unsupported")) {
            names.insert(u.at("node").get<std::string>());
            CHECK(!u.at("rule").get<std::string>().empty());
        }
        CHECK(names == std::set<std::string>{"conv3d", "batched_matmul"});
        const std::string html = slurp(html_path);
        CHECK(has(html, "<td>conv3d</td>"));
        CHECK(has(html, "<td>batched_matmul</td>"));
    }
}

TEST_CASE("evaluate: usage errors exit 2, unreadable models 4") {
    temp_dir tmp("evaluate_usage");
    CHECK(ktc_run("evaluate --help").code == 0);
    CHECK(has(ktc_run("--help").output, "evaluate"));
    CHECK(ktc_run("evaluate " + example_model.string()).code == 2);  // no --platform
    CHECK(ktc_run("evaluate --platform 520").code == 2);             // no model
    const auto r = ktc_run("evaluate " + example_model.string() + " --platform 530");
    CHECK(r.code == 2);
    CHECK(has(r.output, "530"));
    CHECK(ktc_run("evaluate model.txt --platform 520").code == 2);

    const auto garbage = tmp.file("garbage.onnx", "not a model at all");
    const auto bad = ktc_run("evaluate " + garbage + " --platform 720");
    CHECK(bad.code == 4);
    CHECK(testing::line_count(bad.output) == 1);
    CHECK(has(bad.output, "garbage.onnx"));

    const auto bie = ktc_run("evaluate " + tmp.file("model.bie", "not a bie") + " --platform 520");
    CHECK(bie.code == 4);
    CHECK(testing::line_count(bie.output) == 1);
    CHECK(has(bie.output, "model.bie"));
}

TEST_CASE("evaluate a .bie: the quantized example on the chip it was made for; another chip is a usage error") {
    temp_dir tmp("evaluate_bie");
    graph::graph g = ktc::onnx::load(example_model);
    rewrite::onnx2onnx_flow(g);
    const sim::float_simulator simulator(std::move(g));
    const auto sample = [](std::size_t i) {
        tensor x(dtype::float32, {1, 1, 28, 28});
        for (std::int64_t k = 0; k < x.size(); ++k) x.data<float>()[k] = float((k * 7 + i * 13) % 256) / 255.f;
        return sim::tensor_map{{"input", x}};
    };
    REQUIRE(simulator.graph().inputs.size() == 1);
    REQUIRE(simulator.graph().inputs[0].name == "input");
    const auto calibration = quant::calibrate(simulator, 2, sample);
    quant::bie_model bie;
    bie.platform = ktc::platform::chip::kdp520;
    bie.graph = quant::quantize<platform::kdp520>(simulator.graph(), calibration, {});
    bie.calibration_samples = calibration.samples;
    bie.source = example_model.string();
    bie.toolchain_version = "test";
    const auto path = tmp / "fashion_cnn.bie";
    io::save_bie(bie, path);

    const auto json_path = tmp / "bie.json";
    const auto r = ktc_run("evaluate " + path + " --platform 520 --json " + json_path);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(has(r.output, "on KDP520"));
    CHECK(has(r.output, "estimate FPS = "));
    const auto j = nlohmann::json::parse(slurp(json_path));
    CHECK(j.at("runnable") == true);
    CHECK(j.at("total_time_ms").get<double>() > 0);

    const auto other = ktc_run("evaluate " + path + " --platform 720");
    CHECK(other.code == 2);
    CHECK(testing::line_count(other.output) == 1);
    CHECK(has(other.output, "quantized for KDP520"));
}

TEST_CASE("evaluate --no-optimize evaluates the model as given") {
    const auto r = ktc_run("evaluate " + example_model.string() + " --platform 520 --no-optimize");
    REQUIRE_MESSAGE(r.code == 0, r.output);
    CHECK(has(r.output, "estimate FPS = "));
}

TEST_CASE("evaluate --html renders in headless Chromium with the time chart") {
    temp_dir tmp("evaluate_html");
    const auto html_path = tmp / "report.html";
    const auto r = ktc_run("evaluate " + example_model.string() + " --platform 720 --quiet --html " + html_path);
    REQUIRE_MESSAGE(r.code == 0, r.output);
    const std::string html = slurp(html_path);
    CHECK(has(html, "<svg id=\"ktc-time-chart\""));

    std::string ignored;
    if (shell("command -v chromium", ignored) != 0) {
        MESSAGE("chromium not installed (scripts/setup.sh installs it): the rendering check is skipped");
        return;
    }
    std::string dom;
    const int code = shell("timeout 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir=" +
                               (tmp / "chromium-profile") + " --dump-dom file://" + html_path + " 2>/dev/null",
                           dom);
    REQUIRE_MESSAGE(code == 0, "chromium exit status " << code);
    // The serialized DOM: the page parsed into elements, the chart an svg element with its bars.
    CHECK(has(dom, "<svg id=\"ktc-time-chart\""));
    CHECK(has(dom, "class=\"bar bound-"));
    CHECK(has(dom, "id=\"ktc-summary\""));
    CHECK(has(dom, "id=\"ktc-layers\""));
    CHECK(has(dom, "estimate FPS"));
}
