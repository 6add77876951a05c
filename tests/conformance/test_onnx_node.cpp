// ONNX backend node tests (Debian package libonnx-testdata) through the float simulator.
//
// Every test directory whose nodes all have a float kernel runs and must match the stored outputs
// within the tolerance of onnx's own backend runner (rtol 1e-3, atol 1e-7). Tests of ops ktc does
// not implement are counted as skipped; tests of implemented ops that are out of scope are listed
// in the excluded_*.inc files with the reason.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "ktc/kernels/float/registry.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/sim/interpreter.hpp"

namespace fs = std::filesystem;
using namespace ktc;

namespace {

const fs::path node_test_root = "/usr/share/libonnx-testdata/data/node";

struct exclusion {
    const char* test;
    const char* reason;
};
const exclusion excluded[] = {
#include "excluded_elementwise.inc"
#include "excluded_layout.inc"
#include "excluded_linear.inc"
#include "excluded_normalization.inc"
#include "excluded_pool.inc"
#include "excluded_reduce.inc"
#include "excluded_resize.inc"
#include "excluded_conv.inc"
    {"", ""}};

const char* exclusion_reason(const std::string& test) {
    for (const auto& e : excluded)
        if (test == e.test) return e.reason;
    return nullptr;
}

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

tensor read_tensor_pb(const fs::path& p) {
    ::onnx::TensorProto proto;
    if (!proto.ParseFromString(read_bytes(p))) throw error(p.string() + ": not a TensorProto");
    return ktc::onnx::from_proto(proto, p.string());
}

// True when every node of the model (outside subgraphs) has a float kernel.
bool all_ops_implemented(const fs::path& model_path) {
    ::onnx::ModelProto m;
    if (!m.ParseFromString(read_bytes(model_path))) return false;
    const auto& table = kernels::floating::kernels();
    for (const auto& n : m.graph().node()) {
        if (!n.domain().empty() && n.domain() != "ai.onnx") return false;
        // Upsample is imported as Resize.
        const std::string op = n.op_type() == "Upsample" ? "Resize" : n.op_type();
        if (!table.count(op)) return false;
    }
    return true;
}

// Returns "" when `actual` matches `expected`, else what differs.
std::string compare(const tensor& expected, const tensor& actual) {
    if (expected.shape() != actual.shape())
        return "shape " + to_string(actual.shape()) + ", expected " + to_string(expected.shape());
    if (expected.type() != actual.type())
        return std::string("dtype ") + name_of(actual.type()) + ", expected " + name_of(expected.type());
    const auto e = expected.to_vector<double>(), a = actual.to_vector<double>();
    for (std::size_t i = 0; i < e.size(); ++i) {
        if (std::isnan(e[i]) && std::isnan(a[i])) continue;
        if (std::isinf(e[i]) && e[i] == a[i]) continue;
        if (!(std::abs(a[i] - e[i]) <= 1e-7 + 1e-3 * std::abs(e[i])))
            return "element " + std::to_string(i) + " is " + std::to_string(a[i]) + ", expected " +
                   std::to_string(e[i]);
    }
    return "";
}

// Runs one test directory; returns "" on success, else the failure.
std::string run_node_test(const fs::path& dir) {
    const graph::graph g = ktc::onnx::load(dir / "model.onnx");
    const sim::interpreter interp(g, kernels::floating::kernels());
    int sets = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (!entry.is_directory() || !entry.path().filename().string().starts_with("test_data_set")) continue;
        ++sets;
        sim::tensor_map inputs;
        for (std::size_t i = 0; i < g.inputs.size(); ++i) {
            const fs::path p = entry.path() / ("input_" + std::to_string(i) + ".pb");
            if (!fs::exists(p)) break;  // omitted optional inputs
            inputs.emplace(g.inputs[i].name, read_tensor_pb(p));
        }
        const auto outputs = interp.run(inputs);
        for (std::size_t i = 0; i < g.outputs.size(); ++i) {
            const fs::path p = entry.path() / ("output_" + std::to_string(i) + ".pb");
            if (!fs::exists(p)) continue;
            const std::string diff = compare(read_tensor_pb(p), outputs.at(g.outputs[i].name));
            if (!diff.empty()) return "output '" + g.outputs[i].name + "': " + diff;
        }
    }
    return sets ? "" : "no test_data_set";
}

}  // namespace

TEST_CASE("ONNX backend node tests pass for every implemented op") {
    REQUIRE_MESSAGE(fs::exists(node_test_root), "install the Debian package libonnx-testdata");
    const char* filter = std::getenv("KTC_CONFORMANCE_FILTER");
    std::vector<fs::path> dirs;
    for (const auto& entry : fs::directory_iterator(node_test_root))
        if (!filter || entry.path().filename().string().find(filter) != std::string::npos) dirs.push_back(entry.path());
    std::sort(dirs.begin(), dirs.end());

    int passed = 0, failed = 0, skipped = 0, excluded_count = 0;
    for (const auto& dir : dirs) {
        const std::string name = dir.filename().string();
        if (exclusion_reason(name)) {
            ++excluded_count;
            continue;
        }
        if (!all_ops_implemented(dir / "model.onnx")) {
            ++skipped;
            continue;
        }
        std::string failure;
        try {
            failure = run_node_test(dir);
        } catch (const std::exception& e) {
            failure = std::string("threw: ") + e.what();
        }
        if (failure.empty()) {
            ++passed;
        } else {
            ++failed;
            FAIL_CHECK(name << ": " << failure);
        }
    }
    MESSAGE("conformance: " << passed << " passed, " << failed << " failed, " << excluded_count << " excluded, "
                            << skipped << " skipped (op not implemented)");
    std::cout << "conformance: " << passed << " passed, " << failed << " failed, " << excluded_count << " excluded, "
              << skipped << " skipped (op not implemented)\n";
}
