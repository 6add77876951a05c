// tools/fit_cost_model.cpp - fit the cost model's hardware parameters (eval/cost.hpp) to the
// published rows of the seed's performance tables (tests/models/calibration_data.hpp).
//
//   g++ -std=c++20 -O2 -Iinclude -Itests -I/usr/include/eigen3 -DONNX_ML=1 -DONNX_NAMESPACE=onnx \
//       tools/fit_cost_model.cpp -o /tmp/fit_cost_model -lonnx -lonnx_proto -lprotobuf -lpthread
//   /tmp/fit_cost_model [CALIBRATION_DIR] [--fit 520|720] [--rounds N]
//
// Loads every model of the calibration zoo (tools/calibration_zoo.py), runs onnx2onnx_flow and
// the support check, then prints the table with the parameters of platform_traits<P>. With --fit
// it searches the parameters of one chip: the array geometry over small powers of two, the
// continuous ones (efficiency, SRAM, DRAM rate, per-layer setup) by coordinate descent on a log
// grid, minimising max |log(estimated / published)| + median |log(...)| over that chip's rows
// with numbers. Clock, MACs per cycle and the CPU rates stay as platform_traits has them (the
// published or implied ones). The result is printed as traits members to paste.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "ktc/eval/cost.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/flows.hpp"
#include "models/calibration_data.hpp"

namespace fs = std::filesystem;
using namespace ktc;

struct loaded {
    graph::graph g;
    eval::support_report s520, s720;
};

static double score(const std::vector<double>& log_errors) {
    if (log_errors.empty()) return 0;
    std::vector<double> a;
    for (double e : log_errors) a.push_back(std::abs(e));
    std::sort(a.begin(), a.end());
    return a.back() + a[a.size() / 2];
}

int main(int argc, char** argv) {
    fs::path dir = fs::path(std::getenv("HOME") ? std::getenv("HOME") : ".") / ".cache/ktc/calibration";
    std::string fit;
    int rounds = 4;
    std::vector<std::string> sets;  // NAME=VALUE: a starting point other than platform_traits
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--fit" && i + 1 < argc) fit = argv[++i];
        else if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
        else if (a == "--set" && i + 1 < argc) sets.push_back(argv[++i]);
        else dir = a;
    }
    std::map<std::string, loaded> models;
    for (const auto& row : calibration::rows) {
        const std::string name(row.model);
        if (models.count(name)) continue;
        loaded& m = models[name];  // in place: a support report names the graph's vertices
        m.g = ktc::onnx::load(dir / (name + ".onnx"));
        rewrite::onnx2onnx_flow(m.g);
        m.s520 = eval::support_check<platform::kdp520>(m.g);
        m.s720 = eval::support_check<platform::kdp720>(m.g);
    }
    eval::hardware hw520 = eval::hardware_of<platform::kdp520>();
    eval::hardware hw720 = eval::hardware_of<platform::kdp720>();

    const auto errors = [&](const eval::hardware& hw, bool print) {
        std::vector<double> out;
        for (const auto& row : calibration::rows) {
            if (row.platform != hw.platform) continue;
            const loaded& m = models.at(std::string(row.model));
            const auto& s = hw.platform == "520" ? m.s520 : m.s720;
            const auto e = eval::estimate_performance(m.g, s, hw);
            const double est = e.npu_only_ms();
            if (row.published_ms > 0) out.push_back(std::log(est / row.published_ms));
            if (print) {
                std::cout << std::left << std::setw(5) << row.platform << std::setw(22) << row.label
                          << std::right << std::setw(9) << (row.published_ms > 0 ? std::to_string(row.published_ms).substr(0, 7) : "withheld")
                          << std::setw(10) << std::fixed << std::setprecision(2) << est;
                if (row.published_ms > 0)
                    std::cout << std::setw(8) << std::setprecision(1) << 100 * (est / row.published_ms - 1) << "%";
                else
                    std::cout << std::setw(9) << "";
                std::cout << "  GMAC " << std::setprecision(2) << e.total_macs() / 1e9 << " theo "
                          << e.theoretical_conv_ms() << " run " << e.mac_running_ms << " idle "
                          << e.mac_idle_ms << " cpu " << e.cpu_ms() << " dram MB " << e.dram_bytes / 1e6
                          << " layers " << e.layers.size() << "\n";
            }
        }
        return out;
    };

    if (fit.empty()) {
        for (auto* hw : {&hw520, &hw720}) {
            const auto e = errors(*hw, true);
            std::cout << "score " << score(e) << "\n";
        }
        return 0;
    }
    eval::hardware hw = fit == "520" ? hw520 : hw720;
    for (const std::string& kv : sets) {
        const auto eq = kv.find('=');
        const std::string k = kv.substr(0, eq);
        const double v = std::atof(kv.c_str() + eq + 1);
        std::map<std::string, int*> ints = {{"mac_input_lanes", &hw.mac_input_lanes}, {"mac_output_lanes", &hw.mac_output_lanes},
                                            {"mac_column_lanes", &hw.mac_column_lanes}, {"mac_kernel_lanes", &hw.mac_kernel_lanes},
                                            {"mac_pointwise_taps", &hw.mac_pointwise_taps}};
        std::map<std::string, double*> reals = {{"mac_efficiency", &hw.mac_efficiency}, {"sram_bytes", &hw.sram_bytes},
                                                {"dram_bytes_per_second", &hw.dram_bytes_per_second},
                                                {"layer_overhead_us", &hw.layer_overhead_us}, {"memory_overlap", &hw.memory_overlap}};
        if (ints.count(k)) *ints[k] = static_cast<int>(v);
        else if (reals.count(k)) *reals[k] = v;
        else { std::cerr << "unknown parameter " << k << "\n"; return 2; }
    }
    double best = score(errors(hw, false));
    const int lane_values[] = {1, 2, 4, 8, 16, 32, 64};
    for (int round = 0; round < rounds; ++round) {
        for (int* lanes : {&hw.mac_input_lanes, &hw.mac_output_lanes, &hw.mac_column_lanes, &hw.mac_kernel_lanes,
                           &hw.mac_pointwise_taps}) {
            const int keep = *lanes;
            int chosen = keep;
            const bool kernel = lanes == &hw.mac_kernel_lanes, taps = lanes == &hw.mac_pointwise_taps;
            for (int v : kernel ? std::vector<int>{1, 2, 3, 4}
                         : taps ? std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9}
                                : std::vector<int>(std::begin(lane_values), std::end(lane_values))) {
                *lanes = v;
                const double s = score(errors(hw, false));
                if (s < best - 1e-9) best = s, chosen = v;
            }
            *lanes = chosen;
        }
        for (double* p : {&hw.mac_efficiency, &hw.sram_bytes, &hw.dram_bytes_per_second, &hw.layer_overhead_us,
                          &hw.memory_overlap}) {
            for (double step : {2.0, 1.41, 1.19, 1.09}) {
                for (int dir = 0; dir < 2; ++dir) {
                    for (;;) {
                        const double keep = *p;
                        *p = dir == 0 ? keep * step : keep / step;
                        if ((p == &hw.mac_efficiency || p == &hw.memory_overlap) && *p > 1) { *p = keep; break; }
                        const double s = score(errors(hw, false));
                        if (s < best - 1e-9) best = s;
                        else { *p = keep; break; }
                    }
                }
            }
        }
        std::cout << "round " << round << " score " << best << "\n";
    }
    errors(hw, true);
    std::cout << "mac_input_lanes = " << hw.mac_input_lanes << "\nmac_output_lanes = " << hw.mac_output_lanes
              << "\nmac_column_lanes = " << hw.mac_column_lanes << "\nmac_kernel_lanes = " << hw.mac_kernel_lanes << "\nmac_pointwise_taps = " << hw.mac_pointwise_taps
              << std::setprecision(4) << std::defaultfloat << "\nmac_efficiency = " << hw.mac_efficiency
              << "\nsram_bytes = " << hw.sram_bytes << "\ndram_bytes_per_second = " << hw.dram_bytes_per_second
              << "\nlayer_overhead_us = " << hw.layer_overhead_us << "\nmemory_overlap = " << hw.memory_overlap << "\n";
    return 0;
}
