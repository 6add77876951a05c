// The cost model's fit and its leave-one-out cross-validation, shared by tools/fit_cost_model.cpp
// (which prints them) and tests/models/test_calibration.cpp (which reports and checks them).
//
// A fit chooses the free parameters of eval::hardware that minimise
//   max |log(estimated / published)| + median |log(estimated / published)|
// over one chip's published rows, by coordinate descent from a starting point (platform_traits'
// values): each integer parameter over its candidate values, each real one on a log grid (steps
// x2, x1.41, x1.19, x1.09, x1.04, x1.02), for a few rounds. Leave-one-out refits once per row
// without that row, from the same starting point, and predicts the row with the result.
//
// That starting point was fitted on all rows, the held-out one included, and the descent stays near
// it, so the plain leave-one-out is optimistic. The nested protocol below (fit_folds,
// nested_leave_one_out) fits globally instead (a grid over the continuous parameters, then
// descent), and re-chooses discrete numbers (taps, SRAM, lanes) inside every fold.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ktc/eval/cost.hpp"
#include "ktc/graph/ops.hpp"

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
    double eval::hardware::*real = nullptr;
    int eval::hardware::*integer = nullptr;
    double upper = std::numeric_limits<double>::infinity();  // reals: the largest value allowed
    std::vector<int> candidates = {};                        // integers: the values tried
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
                        if (v > p.upper) {
                            v = keep;
                            break;
                        }
                        const double s = objective(rows, hw, skip);
                        if (s < best - 1e-9) best = s;
                        else {
                            v = keep;
                            break;
                        }
                    }
                }
            }
        }
    }
    return hw;
}

// ---- A fast fit for a fixed geometry and SRAM ------------------------------------------------
// With the discrete parameters fixed (array geometry, pointwise taps, sram_bytes), a row's time is
//   sum over its NPU layers of max(compute / e, weights / b) + spilled feature maps / b + o
// (compute of a MAC layer at efficiency 1, of a lone op as it is; e = mac_efficiency,
// b = dram_bytes_per_second, o = layer_overhead_us), so one estimate per row and geometry gives
// every continuous point's time by a sum. This lets a fit search the continuous parameters
// globally (a grid, then coordinate descent from its best point) and re-choose the discrete ones
// inside every leave-one-out fold (tools/fit_cost_model.cpp --nested).
struct row_terms {
    std::vector<double> compute_ms;  // MAC layers at mac_efficiency 1; lone ops as they are
    std::vector<char> mac;           // 1: compute_ms scales with 1 / mac_efficiency
    std::vector<double> weight_bytes;
    std::vector<double> fmap_bytes;  // spilled feature maps in + out (halo re-reads included)
};

inline row_terms terms_of(const fit_row& r, eval::hardware hw) {
    hw.mac_efficiency = 1;
    hw.dram_bytes_per_second = 1e3;  // so that a layer's *_ms is its bytes
    hw.layer_overhead_us = 0;
    const auto e = eval::estimate_performance(*r.g, *r.support, hw);
    row_terms t;
    for (const auto& l : e.layers) {
        if (l.limited_by == eval::bound::cpu || ops::only_relabels(l.op)) continue;  // not in npu_only_ms / free
        t.compute_ms.push_back(l.compute_ms);
        t.mac.push_back(l.macs > 0 ? 1 : 0);
        t.weight_bytes.push_back(l.weight_ms);
        t.fmap_bytes.push_back(l.fmap_in_ms + l.fmap_out_ms);
    }
    return t;
}

// The continuous parameters.
struct continuous {
    double efficiency = 1, dram_bytes_per_second = 1, overhead_us = 0;
};

inline continuous continuous_of(const eval::hardware& hw) {
    return {hw.mac_efficiency, hw.dram_bytes_per_second, hw.layer_overhead_us};
}

inline double fast_ms(const row_terms& t, const continuous& c) {
    const double per_ms = c.dram_bytes_per_second * 1e-3, setup = c.overhead_us * 1e-3;
    double s = 0;
    for (std::size_t i = 0; i < t.compute_ms.size(); ++i)
        s += std::max(t.mac[i] ? t.compute_ms[i] / c.efficiency : t.compute_ms[i], t.weight_bytes[i] / per_ms) +
             t.fmap_bytes[i] / per_ms + setup;
    return s;
}

// What a fit minimises over |log(estimated / published)| of its rows: max + median (the floors'
// shape, not smooth), or the mean square (smooth, no row dominates).
enum class objective_kind { max_median, squares };

inline double score_of(std::vector<double> a, objective_kind kind) {  // a: |log errors|
    if (a.empty()) return 0;
    if (kind == objective_kind::squares) {
        double s = 0;
        for (double x : a) s += x * x;
        return s / static_cast<double>(a.size());
    }
    std::sort(a.begin(), a.end());
    return a.back() + a[a.size() / 2];
}

// The best continuous point for one geometry, on all rows (result[0]) and without each row i
// (result[1 + i]): a grid over the free ones (mac_efficiency 0.04..1 and the DRAM rate over
// 2^-5..2^5 of `from`'s, both in steps of 2^(1/4); the setup at 0, 1, 3, 10, 30 us), then
// coordinate descent (log steps x1.19 down to x1.005) from the grid's best point. The grid makes
// the fit global: it does not depend on where it starts (from's values set only the grid's centre
// and the values of parameters held fixed), so a fold learns nothing from the traits that were
// fitted on all rows, the held-out one included.
struct fold_fit {
    double score = std::numeric_limits<double>::infinity();
    continuous c;
};

// Which of the three a fit varies (the others stay at `from`'s values).
struct free_continuous {
    bool efficiency = true, dram_bytes_per_second = true, overhead_us = true;
};

inline free_continuous free_continuous_of(const std::vector<std::string>& free) {
    const auto has = [&](const char* name) { return std::find(free.begin(), free.end(), name) != free.end(); };
    return {has("mac_efficiency"), has("dram_bytes_per_second"), has("layer_overhead_us")};
}

inline std::vector<fold_fit> fit_folds(const std::vector<row_terms>& terms, const std::vector<double>& published,
                                       const continuous& from, objective_kind kind, free_continuous vary = {}) {
    const std::size_t n = std::min(terms.size(), published.size());
    if (n == 0) return std::vector<fold_fit>(1);
    std::vector<double> effs, rates, setups;
    if (vary.efficiency)
        for (int k = 0; k <= 18; ++k) effs.push_back(std::min(1.0, std::pow(2.0, -k / 4.0)));
    else effs = {from.efficiency};
    if (vary.dram_bytes_per_second)
        for (int k = -20; k <= 20; ++k) rates.push_back(from.dram_bytes_per_second * std::pow(2.0, k / 4.0));
    else rates = {from.dram_bytes_per_second};
    if (vary.overhead_us) setups = {0, 1, 3, 10, 30};
    else setups = {from.overhead_us};
    const auto log_errors = [&](const continuous& c, std::size_t skip) {
        std::vector<double> a;
        for (std::size_t r = 0; r < n; ++r)
            if (r != skip) a.push_back(std::abs(std::log(fast_ms(terms[r], c) / published[r])));
        return a;
    };
    std::vector<fold_fit> best(n + 1);
    std::vector<double> all(n);
    for (double e : effs)
        for (double b : rates)
            for (double o : setups) {
                const continuous c{e, b, o};
                for (std::size_t r = 0; r < n; ++r) all[r] = std::abs(std::log(fast_ms(terms[r], c) / published[r]));
                for (std::size_t f = 0; f <= n; ++f) {
                    std::vector<double> a;
                    for (std::size_t r = 0; r < n; ++r)
                        if (r + 1 != f) a.push_back(all[r]);
                    const double s = score_of(a, kind);
                    if (s < best[f].score) best[f] = {s, c};
                }
            }
    for (std::size_t f = 0; f <= n; ++f) {  // refine: coordinate descent on log steps
        const std::size_t skip = f == 0 ? static_cast<std::size_t>(-1) : f - 1;
        continuous c = best[f].c;
        double s = best[f].score;
        for (int round = 0; round < 6; ++round) {
            const double before = s;
            for (int which = 0; which < 3; ++which) {
                if (!(which == 0 ? vary.efficiency : which == 1 ? vary.dram_bytes_per_second : vary.overhead_us))
                    continue;
                double& v = which == 0 ? c.efficiency : which == 1 ? c.dram_bytes_per_second : c.overhead_us;
                if (which == 2 && v <= 0) {
                    v = 0.5;
                    const double t = score_of(log_errors(c, skip), kind);
                    if (t < s - 1e-12) s = t;
                    else v = 0;
                    if (v <= 0) continue;
                }
                for (double step : {1.19, 1.09, 1.04, 1.02, 1.01, 1.005}) {
                    for (int dir = 0; dir < 2; ++dir) {
                        for (;;) {
                            const double keep = v;
                            v = dir == 0 ? keep * step : keep / step;
                            if (which == 0 && v > 1) {
                                v = keep;
                                break;
                            }
                            const double t = score_of(log_errors(c, skip), kind);
                            if (t < s - 1e-12) s = t;
                            else {
                                v = keep;
                                break;
                            }
                        }
                    }
                }
            }
            if (s >= before - 1e-12) break;
        }
        best[f] = {s, c};
    }
    return best;
}

// Nested leave-one-out: for every discrete candidate (a hardware differing from the others in its
// geometry, taps or SRAM), the free continuous parameters are fitted globally (fit_folds) on all
// rows and without each row; each fold keeps the candidate whose fit scores best on its own rows and
// predicts its held-out row with it. So every choice made with data, discrete ones included, is
// re-made inside each fold. chosen[0]: all rows; chosen[1 + i]: without row i.
struct nested_validation {
    std::vector<double> in_sample;  // the candidate and fit chosen on all rows
    std::vector<double> held_out;
    std::vector<eval::hardware> chosen;
};

inline nested_validation nested_leave_one_out(const std::vector<fit_row>& rows,
                                              const std::vector<eval::hardware>& candidates, objective_kind kind,
                                              free_continuous vary = {}) {
    const std::size_t n = rows.size();
    std::vector<double> published;
    for (const auto& r : rows) published.push_back(r.published_ms);
    std::vector<double> score(n + 1, std::numeric_limits<double>::infinity());
    std::vector<std::vector<double>> estimate(n + 1);  // fold 0: every row; fold 1 + i: row i
    nested_validation v;
    v.chosen.resize(n + 1);
    for (const eval::hardware& h : candidates) {
        std::vector<row_terms> terms;
        for (const auto& r : rows) terms.push_back(terms_of(r, h));
        const auto folds = fit_folds(terms, published, continuous_of(h), kind, vary);
        for (std::size_t f = 0; f <= n; ++f) {
            if (folds[f].score >= score[f] - 1e-12) continue;  // ties: the earlier candidate
            score[f] = folds[f].score;
            v.chosen[f] = h;
            v.chosen[f].mac_efficiency = folds[f].c.efficiency;
            v.chosen[f].dram_bytes_per_second = folds[f].c.dram_bytes_per_second;
            v.chosen[f].layer_overhead_us = folds[f].c.overhead_us;
            estimate[f].clear();
            for (std::size_t r = 0; r < n; ++r)
                if (f == 0 || r + 1 == f) estimate[f].push_back(fast_ms(terms[r], folds[f].c));
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        v.in_sample.push_back(estimate[0][i] / published[i] - 1);
        v.held_out.push_back(estimate[i + 1][0] / published[i] - 1);
    }
    return v;
}

// The candidates: `base` with each combination of the listed values (an integer parameter's values
// are truncated to int).
inline std::vector<eval::hardware> candidates_of(const eval::hardware& base,
                                                 const std::vector<std::pair<std::string, std::vector<double>>>& grid) {
    std::vector<eval::hardware> all{base};
    for (const auto& [name, values] : grid) {
        const parameter& p = parameter_named(name);
        std::vector<eval::hardware> next;
        for (const auto& h : all)
            for (double x : values) {
                eval::hardware c = h;
                if (p.integer) c.*p.integer = static_cast<int>(x);
                else c.*p.real = x;
                next.push_back(c);
            }
        all = next;
    }
    return all;
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
