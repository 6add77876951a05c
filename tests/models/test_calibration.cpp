// The cost model against the seed manual's performance tables: every model of the calibration zoo
// (tools/calibration_zoo.py) through onnx2onnx_flow, the support check and the estimate on its
// platform. Published rows: error within 15% on the median and 30% on every row, per platform.
// All rows (withheld ones too): the "Has CPU node(s)?" column. docs/cost-model.md has the fit.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "ktc/eval/cost.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/flows.hpp"
#include "models/calibration_data.hpp"

namespace fs = std::filesystem;
using namespace ktc;

namespace {

fs::path calibration_dir() {
    if (const char* dir = std::getenv("KTC_CALIBRATION_DIR")) return dir;
    return KTC_DEFAULT_CALIBRATION_DIR;
}

struct outcome {
    double estimated_ms = 0;
    bool has_cpu_nodes = false;
    std::string cpu_nodes;  // "op name; ..." of the nodes off the NPU
};

template <class P>
outcome run(const graph::graph& g) {
    const auto support = eval::support_check<P>(g);
    const auto e = eval::estimate_performance<P>(g, support);
    outcome o;
    o.estimated_ms = e.npu_only_ms();  // the tables time the NPU only
    for (const auto& n : support.nodes)
        if (n.where != eval::placement::npu) {
            o.has_cpu_nodes = true;
            o.cpu_nodes += n.op + " " + n.node + "; ";
        }
    return o;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

TEST_CASE("cost model reproduces the seed's performance tables (calibration zoo)") {
    const fs::path dir = calibration_dir();
    if (!fs::is_directory(dir)) {
        MESSAGE("skipped: no calibration zoo in " << dir
                                                  << " (run /usr/bin/python3 tools/calibration_zoo.py --out " << dir
                                                  << " or set KTC_CALIBRATION_DIR)");
        return;
    }
    std::map<std::string, graph::graph> models;
    for (const auto& row : calibration::rows) {
        const std::string name(row.model);
        if (models.count(name)) continue;
        const fs::path file = dir / (name + ".onnx");
        REQUIRE_MESSAGE(fs::exists(file), "missing " << file << ": run /usr/bin/python3 tools/calibration_zoo.py --out " << dir);
        graph::graph& g = models[name];  // in place: support reports name the graph's vertices
        g = ktc::onnx::load(file);
        rewrite::onnx2onnx_flow(g);
    }

    std::map<std::string, std::vector<double>> errors;  // platform -> |relative error| of published rows
    std::printf("%-8s %-22s %-8s %10s %10s %8s  %s\n", "platform", "model", "input", "published", "estimated",
                "error", "CPU nodes (table / ktc)");
    for (const auto& row : calibration::rows) {
        CAPTURE(row.platform);
        CAPTURE(row.label);
        const graph::graph& g = models.at(std::string(row.model));
        const outcome o = row.platform == "520" ? run<platform::kdp520>(g) : run<platform::kdp720>(g);
        char published[32] = "withheld", error[32] = "";
        if (row.published_ms > 0) {
            const double e = o.estimated_ms / row.published_ms - 1;
            errors[std::string(row.platform)].push_back(std::abs(e));
            std::snprintf(published, sizeof published, "%.4g ms", row.published_ms);
            std::snprintf(error, sizeof error, "%+.1f%%", 100 * e);
            CHECK_MESSAGE(std::abs(e) <= 0.30, row.label << " on " << row.platform << ": estimated " << o.estimated_ms
                                                         << " ms, published " << row.published_ms << " ms");
        }
        std::printf("%-8s %-22s %-8s %10s %7.4g ms %8s  %s / %s\n", std::string(row.platform).c_str(),
                    std::string(row.label).c_str(), std::string(row.input).c_str(), published, o.estimated_ms,
                    error, row.has_cpu_nodes ? "Yes" : "No", o.has_cpu_nodes ? "Yes" : "No");
        CHECK_MESSAGE(o.has_cpu_nodes == row.has_cpu_nodes, "off the NPU: " << o.cpu_nodes);
    }
    for (const auto& [platform, e] : errors) {
        const double med = median(e), max = *std::max_element(e.begin(), e.end());
        std::printf("KDP%s: %zu published rows, median |error| %.1f%%, max %.1f%%\n", platform.c_str(), e.size(),
                    100 * med, 100 * max);
        CHECK_MESSAGE(med <= 0.15, "KDP" << platform << " median error " << 100 * med << "%");
    }
}
