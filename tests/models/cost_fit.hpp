// The cost model's fit and its leave-one-out cross-validation, shared by tools/fit_cost_model.cpp
// (which prints them) and tests/models/test_calibration.cpp (which reports and checks them).
//
// A fit chooses the free parameters of eval::hardware that minimise
//   max |log(estimated / published)| + median |log(estimated / published)|
// over one chip's published rows, by coordinate descent from a starting point (platform_traits'
// values): each integer parameter over its candidate values, each real one on a log grid (steps
// x2, x1.41, x1.19, x1.09, x1.04, x1.02), for a few rounds. Leave-one-out refits once per row
// without that row, from the same starting point, and predicts the row with the result.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "ktc/eval/cost.hpp"

namespace ktc::calibration {

// One published row, ready to estimate: the graph (after onnx2onnx_flow) and its support report.
struct fit_row {
    std::string label;
    const graph::graph* g = nullptr;
    const eval::support_report* support = nullptr;
    double published_ms = 0;
};

inline double estimate_ms(const fit_row& r, const eval::hardware& hw) {
    return eval::estimate_performance(*r.g, *r.support, hw).npu_only_ms();  // the tables time the NPU only
}

// A parameter the fit may vary: a real member of eval::hardware or an integer one with candidates.
struct parameter {
    const char* name;
    double eval::hardware::* real = nullptr;
    int eval::hardware::* integer = nullptr;
    double upper = std::numeric_limits<double>::infinity();  // reals: the largest value allowed
    std::vector<int> candidates = {};                         // integers: the values tried
};

inline const std::vector<parameter>& parameters() {
    using H = eval::hardware;
    static const std::vector<int> lanes = {1, 2, 4, 8, 16, 32, 64};
    static const std::vector<parameter> all = {
        {"mac_efficiency", &H::mac_efficiency, nullptr, 1.0},
        {"dram_bytes_per_second", &H::dram_bytes_per_second},
        {"layer_overhead_us", &H::layer_overhead_us},
        {"sram_bytes", &H::sram_bytes},
        {"mac_input_lanes", nullptr, &H::mac_input_lanes, 0, lanes},
        {"mac_output_lanes", nullptr, &H::mac_output_lanes, 0, lanes},
        {"mac_column_lanes", nullptr, &H::mac_column_lanes, 0, lanes},
        {"mac_kernel_lanes", nullptr, &H::mac_kernel_lanes, 0, {1, 2, 3, 4}},
        {"mac_pointwise_taps", nullptr, &H::mac_pointwise_taps, 0, {1, 2, 3, 4, 5, 6, 7, 8, 9}},
    };
    return all;
}

inline const parameter& parameter_named(const std::string& name) {
    for (const auto& p : parameters())
        if (name == p.name) return p;
    throw std::invalid_argument("unknown cost-model parameter: " + name);
}

// What traits.hpp's fit lets vary: the chip's busy fraction, its DRAM rate and the per-layer setup.
// Geometry and on-chip memory are held where platform_traits has them (docs/cost-model.md).
inline std::vector<std::string> default_free() {
    return {"mac_efficiency", "dram_bytes_per_second", "layer_overhead_us"};
}

inline double median_of(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// The objective over `rows` without row `skip` (npos: all of them).
inline double objective(const std::vector<fit_row>& rows, const eval::hardware& hw,
                        std::size_t skip = static_cast<std::size_t>(-1)) {
    std::vector<double> a;
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (i != skip) a.push_back(std::abs(std::log(estimate_ms(rows[i], hw) / rows[i].published_ms)));
    if (a.empty()) return 0;
    std::sort(a.begin(), a.end());
    return a.back() + a[a.size() / 2];
}

inline eval::hardware fit(const std::vector<fit_row>& rows, eval::hardware hw, const std::vector<std::string>& free,
                          std::size_t skip = static_cast<std::size_t>(-1), int rounds = 4) {
    double best = objective(rows, hw, skip);
    for (int round = 0; round < rounds; ++round) {
        for (const std::string& name : free) {
            const parameter& p = parameter_named(name);
            if (p.integer) {
                int& v = hw.*p.integer;
                int chosen = v;
                for (int c : p.candidates) {
                    v = c;
                    const double s = objective(rows, hw, skip);
                    if (s < best - 1e-9) best = s, chosen = c;
                }
                v = chosen;
                continue;
            }
            double& v = hw.*p.real;
            if (v <= 0) {  // a log grid cannot leave 0: try one unit first
                v = std::min(1.0, p.upper);
                const double s = objective(rows, hw, skip);
                if (s < best - 1e-9) best = s;
                else v = 0;
            }
            for (double step : {2.0, 1.41, 1.19, 1.09, 1.04, 1.02}) {
                for (int dir = 0; dir < 2; ++dir) {
                    for (;;) {
                        const double keep = v;
                        v = dir == 0 ? keep * step : keep / step;
                        if (v > p.upper) { v = keep; break; }
                        const double s = objective(rows, hw, skip);
                        if (s < best - 1e-9) best = s;
                        else { v = keep; break; }
                    }
                }
            }
        }
    }
    return hw;
}

// Relative errors (estimated / published - 1) per row: in-sample with `hw` as given, and held out
// (each row estimated with the parameters fitted to the other rows from `hw`).
struct cross_validation {
    std::vector<double> in_sample;
    std::vector<double> held_out;
};

inline cross_validation leave_one_out(const std::vector<fit_row>& rows, const eval::hardware& hw,
                                      const std::vector<std::string>& free, int rounds = 4) {
    cross_validation cv;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        cv.in_sample.push_back(estimate_ms(rows[i], hw) / rows[i].published_ms - 1);
        const eval::hardware without = fit(rows, hw, free, i, rounds);
        cv.held_out.push_back(estimate_ms(rows[i], without) / rows[i].published_ms - 1);
    }
    return cv;
}

inline double median_abs(const std::vector<double>& e) {
    std::vector<double> a;
    for (double x : e) a.push_back(std::abs(x));
    return median_of(a);
}

inline double max_abs(const std::vector<double>& e) {
    double m = 0;
    for (double x : e) m = std::max(m, std::abs(x));
    return m;
}

}  // namespace ktc::calibration
