// The evaluator's reports from a real support check and a hand-built estimate: every summary
// field in the text with the vendor's invariants, the CPU warnings, the JSON fields, the HTML chart
// with every model-supplied name escaped, and the reports of a model that cannot run.
#include <doctest/doctest.h>

#include <cmath>

#include "ktc/eval/report.hpp"

using namespace ktc;
using eval::bound;
using eval::layer_estimate;
using eval::performance_estimate;
using platform::kdp520;

namespace {

// The name no report may print raw.
const std::string evil = "<script>alert(\"x&y\")</script>'";

// x -> Conv (evil name) -> Relu -> Softmax: the Conv and Relu on the NPU, Softmax on the CPU of
// the 520; or, with `unsupported`, a 3-D Conv and a MatMul that neither chip runs.
graph::graph sample_graph(bool unsupported = false) {
    graph::graph g;
    g.name = "m";
    if (unsupported) {
        g.inputs.push_back({"x", dtype::float32, {1, 1, 4, 4, 4}});
        g.inputs.push_back({"a", dtype::float32, {2, 3, 4}});
        g.inputs.push_back({"b", dtype::float32, {2, 4, 5}});
        g.initializers.emplace("w", tensor::zeros(dtype::float32, {1, 1, 3, 3, 3}));
        g.add_node(graph::node{"conv3d", "Conv", "", {}, {"x", "w"}, {"y"}});
        g.add_node(graph::node{"matmul", "MatMul", "", {}, {"a", "b"}, {"z"}});
        g.outputs.push_back({"y", dtype::float32, {1, 1, 2, 2, 2}});
        g.outputs.push_back({"z", dtype::float32, {2, 3, 5}});
        return g;
    }
    g.inputs.push_back({"x", dtype::float32, {1, 3, 8, 8}});
    g.initializers.emplace("w", tensor::zeros(dtype::float32, {4, 3, 3, 3}));
    g.add_node(graph::node{evil, "Conv", "", {}, {"x", "w"}, {"c"}});
    g.add_node(graph::node{"relu", "Relu", "", {}, {"c"}, {"r"}});
    g.add_node(graph::node{"prob", "Softmax", "", {}, {"r"}, {"y"}});
    g.outputs.push_back({"y", dtype::float32, {1, 4, 6, 6}});
    return g;
}

// An estimate shaped like the cost model's: one NPU layer (Conv with Relu fused), one CPU layer.
performance_estimate sample_estimate() {
    performance_estimate p;
    p.platform = ktc::platform::chip::kdp520;
    layer_estimate conv;
    conv.name = evil;
    conv.op = "Conv";
    conv.fused = {"relu"};
    conv.macs = 4 * 3 * 9 * 36;
    conv.theoretical_ms = 0.002;
    conv.compute_ms = 0.004;
    conv.memory_ms = 0.001;
    conv.time_ms = 0.005;
    conv.dram_bytes = 1000;
    conv.limited_by = bound::compute;
    layer_estimate softmax;
    softmax.name = "prob";
    softmax.op = "Softmax";
    softmax.time_ms = 0.015;
    softmax.dram_bytes = 288;
    softmax.limited_by = bound::cpu;
    p.layers = {conv, softmax};
    p.mac_running_ms = 0.004;
    p.mac_idle_ms = 0.016;
    p.dram_bytes = 1288;
    return p;
}

eval::evaluation sample_evaluation() {
    const graph::graph g = sample_graph();
    return {"models/m.onnx", eval::support_check<kdp520>(g), sample_estimate()};
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The number printed after "label = " on its own line of the text report.
double figure(const std::string& text, const std::string& label) {
    const auto at = text.find("\n" + label + " = ");
    REQUIRE_MESSAGE(at != std::string::npos, label);
    return std::stod(text.substr(at + label.size() + 4));
}

}  // namespace

TEST_CASE("the text report has the layer table, every summary field and the vendor's invariants") {
    const auto e = sample_evaluation();
    const std::string t = eval::text_report(e);
    CHECK(has(t, "models/m.onnx on KDP520"));
    CHECK(has(t, "nodes: 2 NPU, 1 CPU, 0 unsupported, 0 folded"));
    // The table: a header, the conv layer with its fused Relu, the CPU layer.
    CHECK(has(t, "layer"));
    CHECK(has(t, "MACs"));
    CHECK(has(t, "time ms"));
    CHECK(has(t, "placement"));
    CHECK(has(t, "Conv+Relu"));
    CHECK(has(t, std::to_string(4 * 3 * 9 * 36)));
    CHECK(has(t, "0.015  "));  // 3 significant digits, trailing zeros dropped

    const double fps = figure(t, "estimate FPS"), total = figure(t, "total time"),
                 theoretical = figure(t, "total theoretical convolution time"),
                 dram = figure(t, "average DRAM bandwidth"), efficiency = figure(t, "MAC efficiency to total time"),
                 idle = figure(t, "MAC idle time"), running = figure(t, "MAC running time");
    CHECK(total == doctest::Approx(0.02));
    CHECK(fps == doctest::Approx(1000.0 / total));
    CHECK(total == doctest::Approx(idle + running));
    CHECK(efficiency == doctest::Approx(100.0 * theoretical / total));
    CHECK(theoretical == doctest::Approx(0.002));
    CHECK(dram == doctest::Approx(1288 / (0.02 * 1e6)));
    CHECK(has(t, "total time = 0.02 ms"));
    CHECK(has(t, "average DRAM bandwidth = 0.0644 GB/s"));
    CHECK(has(t, "MAC efficiency to total time = 10 %"));
    CHECK(has(t, "CPU operator time (included above) = 0.015 ms; NPU alone = 0.005 ms"));
}

TEST_CASE("the text report warns about every CPU operator by name, after the summary") {
    const std::string t = eval::text_report(sample_evaluation());
    const auto warning = t.find("warning: CPU operator Softmax (node 'prob')");
    REQUIRE(warning != std::string::npos);
    CHECK(warning > t.find("MAC running time"));
    CHECK(std::count(t.begin(), t.end(), '\n') > 10);
    std::size_t warnings = 0;
    for (auto at = t.find("warning:"); at != std::string::npos; at = t.find("warning:", at + 1)) ++warnings;
    CHECK(warnings == 1);
}

TEST_CASE("the JSON report parses and holds the summary, CPU nodes and layers") {
    const auto e = sample_evaluation();
    const auto j = nlohmann::json::parse(eval::json_text(e));
    CHECK(j.at("platform") == "520");
    CHECK(j.at("model") == "models/m.onnx");
    CHECK(j.at("runnable") == true);
    CHECK(j.at("fps").get<double>() == doctest::Approx(50000.0));
    CHECK(j.at("total_time_ms").get<double>() == doctest::Approx(0.02));
    CHECK(j.at("theoretical_conv_time_ms").get<double>() == doctest::Approx(0.002));
    CHECK(j.at("mac_efficiency").get<double>() == doctest::Approx(10.0));
    CHECK(j.at("mac_idle_ms").get<double>() == doctest::Approx(0.016));
    CHECK(j.at("mac_running_ms").get<double>() == doctest::Approx(0.004));
    CHECK(j.at("avg_dram_gbps").get<double>() == doctest::Approx(0.0644));
    CHECK(j.at("cpu_time_ms").get<double>() == doctest::Approx(0.015));
    CHECK(j.at("cpu_nodes") == nlohmann::json::array({"prob"}));
    CHECK(j.at("unsupported").empty());
    CHECK(j.at("nodes").at("npu") == 2);
    const auto& layers = j.at("layers");
    REQUIRE(layers.size() == 2);
    CHECK(layers[0].at("name") == evil);  // JSON escapes on its own; the string survives whole
    CHECK(layers[0].at("op") == "Conv");
    CHECK(layers[0].at("fused") == nlohmann::json::array({"relu"}));
    CHECK(layers[0].at("macs") == 4 * 3 * 9 * 36);
    CHECK(layers[0].at("bound") == "compute");
    CHECK(layers[0].at("placement") == "npu");
    CHECK(layers[1].at("time_ms").get<double>() == doctest::Approx(0.015));
    CHECK(layers[1].at("bound") == "cpu");
    CHECK(layers[1].at("placement") == "cpu");
    for (const char* term : {"compute_ms", "weight_ms", "fmap_in_ms", "fmap_out_ms", "memory_ms"})
        CHECK_MESSAGE(layers[0].at(term).is_number(), term);
    CHECK(layers[0].at("memory_ms").get<double>() == doctest::Approx(0.001));  // full precision
}

TEST_CASE("figures for people: 3 significant digits, no exponent, no trailing zeros") {
    using eval::report_detail::people;
    CHECK(people(1639.4) == "1640");
    CHECK(people(22.5861) == "22.6");
    CHECK(people(0.01504) == "0.015");
    CHECK(people(0.0644) == "0.0644");
    CHECK(people(999.7) == "1000");
    CHECK(people(0.00099996) == "0.001");
    CHECK(people(12345678) == "12300000");
    CHECK(people(-3.14159) == "-3.14");
    CHECK(people(0) == "0");
    CHECK(people(100) == "100");
    // the text and HTML reports use it; the JSON does not round
    const auto e = sample_evaluation();
    CHECK(has(eval::text_report(e), "average DRAM bandwidth = 0.0644 GB/s"));
    CHECK(has(eval::html_report(e), "<td class=\"n\">50000</td>"));  // estimate FPS: 1000 / 0.02 ms
}

TEST_CASE("the reports sum the time by what bounds each layer: why the model is slow") {
    const auto e = sample_evaluation();
    CHECK(has(eval::text_report(e), "\ntime by bound: compute 0.005 ms (25%), cpu 0.015 ms (75%)\n"));
    const auto j = eval::json_report(e);
    const auto& by = j.at("time_by_bound");
    CHECK(by.at("compute").get<double>() == doctest::Approx(0.005));
    CHECK(by.at("weights").get<double>() == 0);
    CHECK(by.at("fmap_in").get<double>() == 0);
    CHECK(by.at("fmap_out").get<double>() == 0);
    CHECK(by.at("cpu").get<double>() == doctest::Approx(0.015));
    const std::string h = eval::html_report(e);
    CHECK(has(h, "id=\"ktc-bounds\""));
    CHECK(has(h, "compute-bound 0.005 ms (25%)"));
}

TEST_CASE("the JSON report survives names that are not UTF-8") {
    auto e = sample_evaluation();
    e.performance->layers[1].name = "bad\xff\xfe";
    const std::string text = eval::json_text(e);
    const auto j = nlohmann::json::parse(text);
    CHECK(j.at("layers")[1].at("name") == "bad\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("the HTML report is self-contained, charts the time in inline SVG and escapes names") {
    const std::string h = eval::html_report(sample_evaluation());
    CHECK(h.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(has(h, "<svg id=\"ktc-time-chart\""));
    CHECK(has(h, "</svg>"));
    CHECK(has(h, "class=\"bar bound-compute\""));
    CHECK(has(h, "class=\"bar bound-cpu\""));
    CHECK(has(h, "id=\"ktc-summary\""));
    CHECK(has(h, "id=\"ktc-layers\""));
    for (const char* label :
         {"estimate FPS", "total time", "total theoretical convolution time", "average DRAM bandwidth",
          "MAC efficiency to total time", "MAC idle time", "MAC running time"})
        CHECK_MESSAGE(has(h, label), label);
    // Nothing external.
    CHECK_FALSE(has(h, "src="));
    CHECK_FALSE(has(h, "href="));
    CHECK_FALSE(has(h, "@import"));
    CHECK_FALSE(has(h, "url("));
    // The evil name appears only escaped; the only <script> would be the name's.
    CHECK_FALSE(has(h, "<script"));
    CHECK_FALSE(has(h, "alert(\"x"));
    CHECK(has(h, "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"));
    CHECK(has(h, "CPU operator Softmax (node 'prob')"));
}

TEST_CASE("the HTML chart shows the slowest layers and sums the rest in one bar") {
    auto e = sample_evaluation();
    auto& layers = e.performance->layers;
    for (int i = 0; i < 40; ++i) {
        layer_estimate l;
        l.name = "filler" + std::to_string(i);
        l.op = "Add";
        l.time_ms = 0.0001 * (i + 1);
        l.limited_by = i % 2 ? bound::weights : bound::fmap_in;
        layers.push_back(l);
    }
    const std::string h = eval::html_report(e);
    std::size_t bars = 0;
    for (auto at = h.find("class=\"bar "); at != std::string::npos; at = h.find("class=\"bar ", at + 1)) ++bars;
    CHECK(bars == 26);  // 25 slowest + "others"
    CHECK(has(h, "17 other layers"));
    CHECK(has(h, "class=\"bar bound-weights\""));
    CHECK(has(h, "class=\"bar bound-fmap_in\""));
    CHECK(has(h, "class=\"bound bound-fmap_in\""));  // the table's bound cell, coloured the same
    const std::string chart = h.substr(h.find("<svg"), h.find("</svg>") - h.find("<svg"));
    CHECK(has(chart, ">filler39<"));
    CHECK_FALSE(has(chart, ">filler0<"));  // among the rest in the chart...
    CHECK(has(h, "<td>filler0</td>"));     // ...but in the full table
}

TEST_CASE("a model that cannot run: every unsupported node listed with its rule, no figures") {
    const graph::graph g = sample_graph(true);
    const eval::evaluation e{"bad.onnx", eval::support_check<kdp520>(g), std::nullopt};
    const std::string message = eval::unsupported_message(e.support, e.model);
    CHECK(message.substr(0, message.find('\n')) == "bad.onnx: 2 nodes cannot run on KDP520:");
    CHECK(std::count(message.begin(), message.end(), '\n') == 2);
    CHECK(has(message, "\n  conv3d (Conv): Conv window 3-D (allowed: 2-D)"));
    CHECK(has(message, "\n  matmul (MatMul): MatMul not in Table 1.1"));

    const std::string t = eval::text_report(e);
    CHECK(has(t, "0 NPU, 0 CPU, 2 unsupported"));
    CHECK(has(t, message));

    const auto j = nlohmann::json::parse(eval::json_text(e));
    CHECK(j.at("runnable") == false);
    CHECK(j.at("fps").is_null());
    CHECK(j.at("total_time_ms").is_null());
    CHECK(j.at("cpu_time_ms").is_null());
    CHECK(j.at("time_by_bound").is_null());
    CHECK(j.at("layers").empty());
    REQUIRE(j.at("unsupported").size() == 2);
    for (const auto& u : j.at("unsupported")) {  // topological order; the two are independent
        if (u.at("node") == "conv3d") {
            CHECK(u.at("op") == "Conv");
            CHECK(has(u.at("rule").get<std::string>(), "3-D"));
        } else {
            CHECK(u.at("node") == "matmul");
            CHECK(u.at("op") == "MatMul");
        }
    }

    const std::string h = eval::html_report(e);
    CHECK(has(h, "id=\"ktc-unsupported\""));
    CHECK(has(h, "<td>conv3d</td>"));
    CHECK(has(h, "<td>matmul</td>"));
    CHECK_FALSE(has(h, "ktc-time-chart"));
    CHECK(eval::unsupported_message(sample_evaluation().support, "m").empty());
}

TEST_CASE("chart labels keep the end of a long name, cut on a UTF-8 character boundary") {
    using eval::report_detail::shorten;
    CHECK(shorten("/fc/Gemm", 16) == "/fc/Gemm");
    CHECK(shorten("/features/features.5/features.5.0/Conv", 16) == "...eatures.5.0/Conv");
    CHECK(shorten("x\xC3\xA9z", 2) == "...z");  // the é's continuation byte is not split off
    CHECK(shorten("x\xC3\xA9z", 3) == "...\xC3\xA9z");
}
