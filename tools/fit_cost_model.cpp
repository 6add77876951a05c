// tools/fit_cost_model.cpp - fit the cost model's hardware parameters (eval/cost.hpp) to the
// published rows of the seed's performance tables (tests/models/calibration_data.hpp), and say how
// well the fit predicts rows it did not see (leave-one-out cross-validation).
//
//   g++ -std=c++20 -O2 -Iinclude -Itests -I/usr/include/eigen3 -DONNX_ML=1 -DONNX_NAMESPACE=onnx \
//       tools/fit_cost_model.cpp -o /tmp/fit_cost_model -lonnx -lonnx_proto -lprotobuf -lpthread
//   /tmp/fit_cost_model [CALIBRATION_DIR] [--fit 520|720] [--free NAME,NAME...] [--rounds N]
//                       [--set NAME=VALUE]... [--dump FILE] [--scan NAME] [--multistart]
//                       [--nested [--grid NAME=V1,V2,...]... [--objective maxmed|squares]]
//
// Loads every model of the calibration zoo (tools/calibration_zoo.py), runs onnx2onnx_flow and
// the support check, then, per chip, prints every row with its in-sample error (the parameters of
// platform_traits<P>) and its leave-one-out error (the free parameters refitted without that
// row, from platform_traits' values; tests/models/cost_fit.hpp has the fit), and the median and
// max of both. With --fit it first fits that chip's free parameters (default: mac_efficiency,
// dram_bytes_per_second, layer_overhead_us; --free names others: sram_bytes, mac_*_lanes,
// mac_pointwise_taps) from platform_traits (or --set values) and prints them as traits members to
// paste. --dump writes one line per layer and chip with the shapes the cost model reads (for
// trying model variants outside C++). --scan NAME (an integer parameter, e.g. mac_pointwise_taps)
// re-chooses it in the fit and in every leave-one-out fold by trying each candidate with the free
// parameters refitted (a profile search, so that a choice of geometry is cross-validated too);
// --multistart runs every fit from 9 starting points (mac_efficiency and dram_bytes_per_second x
// 0.8, 1, 1.25) and keeps the best, to show how much the figures owe to the coordinate descent's
// starting point (docs/cost-model.md).
//
// --nested is the honest protocol: the continuous parameters named by --free (of mac_efficiency,
// dram_bytes_per_second, layer_overhead_us) are fitted by a global search (a grid, then descent:
// calibration::fit_folds), so that no fold starts from values fitted on its held-out row, and every
// discrete candidate of the --grid lists (their product; any parameter, sram_bytes included) is
// tried, each fold keeping the one with the best objective on its own rows. `--set` moves the
// starting point (the grid's centre) or holds a parameter that is not free. --objective picks what
// a fit minimises over |log(estimated / published)|: max + median (default) or the mean square.
// (Discrete names in --free are ignored by --nested: list their candidates with --grid.)
// --dump also writes each layer's terms at platform_traits (tiles, compute, weights, feature maps).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <map>
#include <string>
#include <vector>

#include "ktc/eval/cost.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/rewrite/flows.hpp"
#include "models/calibration_data.hpp"
#include "models/cost_fit.hpp"

namespace fs = std::filesystem;
using namespace ktc;

struct loaded {
    graph::graph g;
    eval::support_report s520, s720;
};

int main(int argc, char** argv) {
    fs::path dir = fs::path(std::getenv("HOME") ? std::getenv("HOME") : ".") / ".cache/ktc/calibration";
    std::string fit;
    int rounds = 4;
    std::string free_list;
    std::string dump;                // FILE: one line per layer and chip with the shapes the cost model reads
    std::vector<std::string> sets;   // NAME=VALUE: a starting point other than platform_traits
    std::string scan;                // an integer parameter re-chosen by profile search
    bool multistart = false;         // every fit from 9 starting points
    bool nested = false;             // global continuous search, discrete choices re-made per fold
    std::vector<std::string> grids;  // NAME=V1,V2,...: the discrete candidates --nested re-chooses
    calibration::objective_kind kind = calibration::objective_kind::max_median;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--fit" && i + 1 < argc) fit = argv[++i];
        else if (a == "--rounds" && i + 1 < argc) rounds = std::atoi(argv[++i]);
        else if (a == "--set" && i + 1 < argc) sets.push_back(argv[++i]);
        else if (a == "--dump" && i + 1 < argc) dump = argv[++i];
        else if (a == "--free" && i + 1 < argc) free_list = argv[++i];
        else if (a == "--scan" && i + 1 < argc) scan = argv[++i];
        else if (a == "--multistart") multistart = true;
        else if (a == "--nested") nested = true;
        else if (a == "--grid" && i + 1 < argc) grids.push_back(argv[++i]);
        else if (a == "--objective" && i + 1 < argc) {
            const std::string k = argv[++i];
            if (k == "squares") kind = calibration::objective_kind::squares;
            else if (k == "maxmed") kind = calibration::objective_kind::max_median;
            else throw std::invalid_argument("--objective takes maxmed or squares: " + k);
        } else dir = a;
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

    if (!dump.empty()) {
        std::ofstream f(dump);
        f << "platform\tmodel\tkind\top\tcin\tcout\tgroup\tkh\tkw\tstride\tout_h\tout_w\tmacs\tweight_bytes"
             "\tin_bytes\tout_bytes\tout_values\twindow\tfused"
             "\ttiles\tcompute_ms\tweight_ms\tfmap_in_ms\tfmap_out_ms\ttime_ms\n";
        for (const auto* hw : {&hw520, &hw720}) {
            std::set<std::string> done;
            for (const auto& row : calibration::rows) {
                const std::string name(row.model);
                if (row.platform != platform::name_of(hw->platform) || done.count(name)) continue;
                done.insert(name);
                const loaded& m = models.at(name);
                const auto& s = hw->platform == platform::chip::kdp520 ? m.s520 : m.s720;
                const auto e = eval::estimate_performance(m.g, s, *hw);
                for (const auto& l : e.layers) {
                    const auto v = m.g.find_node(l.name);
                    const graph::node& n = m.g[*v];
                    std::string kind = l.limited_by == eval::bound::cpu ? "cpu" : "lone";
                    double cin = 0, cout = 0, group = 1, kh = 1, kw = 1, stride = 1, oh = 1, ow = 1, window = 1;
                    const auto shape = [&](const std::string& value) {
                        return eval::cost_detail::shape_of(m.g, value);
                    };
                    if (kind != "cpu" && ops::only_relabels(n.op_type)) kind = "layout";
                    if (kind != "cpu" && ops::is_mac(n.op_type)) {
                        const auto w = shape(n.input(1));
                        const auto out = shape(n.outputs.at(0));
                        if (n.op_type == "Conv" || n.op_type == "ConvTranspose") {
                            group = static_cast<double>(n.attrs.get_int("group", 1));
                            kh = static_cast<double>((*w)[2]);
                            kw = static_cast<double>((*w)[3]);
                            oh = static_cast<double>((*out)[2]);
                            ow = static_cast<double>((*out)[3]);
                            if (n.op_type == "Conv") {
                                cin = static_cast<double>((*w)[1]);
                                cout = static_cast<double>((*w)[0]) / group;
                                kind = group > 1 && cin == 1 && cout == 1 ? "dw" : "conv";
                            } else {
                                cin = static_cast<double>((*w)[0]) / group;
                                cout = static_cast<double>((*w)[1]);
                                kind = "convT";
                                for (auto st : n.attrs.get_ints("strides", {1, 1})) stride *= static_cast<double>(st);
                            }
                            for (auto st : n.attrs.get_ints("strides", {1, 1}))
                                if (n.op_type == "Conv") stride *= static_cast<double>(st);
                        } else {
                            const bool tb = n.op_type == "Gemm" && n.attrs.get_int("transB", 0) != 0;
                            cin = static_cast<double>(tb ? (*w)[1] : (*w)[0]);
                            cout = static_cast<double>(tb ? (*w)[0] : (*w)[1]);
                            kind = "gemm";
                            ow = eval::cost_detail::elements(m.g, n.outputs.at(0)) / cout;
                        }
                    }
                    if (kind == "lone") {
                        for (auto k : n.attrs.get_ints("kernel_shape", {})) window *= static_cast<double>(k);
                        if (n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool")
                            window = l.output_bytes > 0 ? l.input_bytes / l.output_bytes : 1;
                    }
                    std::string fused;
                    for (const auto& fn : l.fused) fused += m.g[*m.g.find_node(fn)].op_type + ",";
                    f << platform::name_of(hw->platform) << "\t" << name << "\t" << kind << "\t" << n.op_type << "\t"
                      << cin << "\t" << cout << "\t" << group << "\t" << kh << "\t" << kw << "\t" << stride << "\t"
                      << oh << "\t" << ow << "\t" << l.macs << "\t" << l.weight_bytes << "\t" << l.input_bytes << "\t"
                      << l.output_bytes << "\t" << l.output_bytes << "\t" << window << "\t"
                      << (fused.empty() ? "-" : fused) << "\t" << l.tiles << "\t" << l.compute_ms << "\t" << l.weight_ms
                      << "\t" << l.fmap_in_ms << "\t" << l.fmap_out_ms << "\t" << l.time_ms << "\n";
                }
            }
        }
        std::cout << "wrote " << dump << "\n";
        return 0;
    }
    std::vector<std::string> free = calibration::default_free();
    if (!free_list.empty()) {
        free.clear();
        std::stringstream names(free_list);
        for (std::string name; std::getline(names, name, ',');) free.push_back(name);
    }
    for (const std::string& name : free) calibration::parameter_named(name);  // throws on a typo

    const auto rows_of = [&](platform::chip chip) {
        std::vector<calibration::fit_row> rows;
        for (const auto& row : calibration::rows) {
            if (row.platform != platform::name_of(chip) || row.published_ms <= 0) continue;
            const loaded& m = models.at(std::string(row.model));
            rows.push_back(
                {std::string(row.label), &m.g, chip == platform::chip::kdp520 ? &m.s520 : &m.s720, row.published_ms});
        }
        return rows;
    };
    if (!scan.empty() && !calibration::parameter_named(scan).integer)
        throw std::invalid_argument("--scan takes an integer parameter: " + scan);
    // The best fit without row `skip` over the scanned parameter's candidates and the starts.
    const auto best_fit = [&](const std::vector<calibration::fit_row>& rows, const eval::hardware& from,
                              std::size_t skip) {
        std::vector<eval::hardware> starts;
        const std::vector<int> candidates =
            scan.empty() ? std::vector<int>{0} : calibration::parameter_named(scan).candidates;
        for (int c : candidates) {
            eval::hardware h = from;
            if (!scan.empty()) h.*calibration::parameter_named(scan).integer = c;
            if (!multistart) {
                starts.push_back(h);
                continue;
            }
            for (double fe : {0.8, 1.0, 1.25})
                for (double fd : {0.8, 1.0, 1.25}) {
                    eval::hardware s = h;
                    s.mac_efficiency = std::min(1.0, h.mac_efficiency * fe);
                    s.dram_bytes_per_second = h.dram_bytes_per_second * fd;
                    starts.push_back(s);
                }
        }
        eval::hardware best = from;
        double best_score = std::numeric_limits<double>::infinity();
        for (const eval::hardware& s : starts) {
            const eval::hardware h = calibration::fit(rows, s, free, skip, rounds);
            const double score = calibration::objective(rows, h, skip);
            if (score < best_score - 1e-12) best_score = score, best = h;
        }
        return best;
    };
    const auto show = [&](const eval::hardware& hw) {
        const auto rows = rows_of(hw.platform);
        calibration::cross_validation cv;
        if (scan.empty() && !multistart) cv = calibration::leave_one_out(rows, hw, free, rounds);
        else
            for (std::size_t i = 0; i < rows.size(); ++i) {
                cv.in_sample.push_back(calibration::estimate_ms(rows[i], hw) / rows[i].published_ms - 1);
                const eval::hardware without = best_fit(rows, hw, i);
                cv.held_out.push_back(calibration::estimate_ms(rows[i], without) / rows[i].published_ms - 1);
                if (!scan.empty())
                    std::cout << "  without " << rows[i].label << ": " << scan << " = "
                              << without.*calibration::parameter_named(scan).integer << "\n";
            }
        std::cout << "KDP" << platform::name_of(hw.platform) << " (leave-one-out refits:";
        for (const auto& f : free) std::cout << " " << f;
        std::cout << ")\n"
                  << std::left << std::setw(24) << "model" << std::right << std::setw(12) << "published"
                  << std::setw(12) << "estimated" << std::setw(11) << "in-sample" << std::setw(15) << "leave-one-out"
                  << "\n";
        for (std::size_t i = 0; i < rows.size(); ++i)
            std::cout << std::left << std::setw(24) << rows[i].label << std::right << std::setw(9)
                      << std::setprecision(4) << std::defaultfloat << rows[i].published_ms << " ms" << std::setw(9)
                      << rows[i].published_ms * (1 + cv.in_sample[i]) << " ms" << std::setw(10) << std::fixed
                      << std::setprecision(1) << std::showpos << 100 * cv.in_sample[i] << "%" << std::setw(14)
                      << 100 * cv.held_out[i] << "%" << std::noshowpos << "\n";
        std::cout << std::fixed << std::setprecision(1) << "in-sample     median "
                  << 100 * calibration::median_abs(cv.in_sample) << "%  max "
                  << 100 * calibration::max_abs(cv.in_sample) << "%\nleave-one-out median "
                  << 100 * calibration::median_abs(cv.held_out) << "%  max " << 100 * calibration::max_abs(cv.held_out)
                  << "%\n\n"
                  << std::defaultfloat;
    };

    // --nested: every discrete candidate of the --grid lists (their product) is tried; for each,
    // the continuous parameters are searched globally (calibration::fit_folds) on all rows and
    // without each row; each fold keeps the candidate with the best objective on its own rows,
    // and predicts its held-out row with it. So every choice made with data is re-made per fold.
    const auto run_nested = [&](const eval::hardware& base) {
        const auto rows = rows_of(base.platform);
        const std::size_t n = rows.size();
        {  // the fast sum reproduces the estimate
            double worst = 0;
            for (const auto& r : rows)
                worst = std::max(worst, std::abs(calibration::fast_ms(calibration::terms_of(r, base),
                                                                      calibration::continuous_of(base)) /
                                                     calibration::estimate_ms(r, base) -
                                                 1));
            if (worst > 1e-9)
                throw std::runtime_error("fast sum differs from the estimate by " + std::to_string(worst));
        }
        std::vector<std::pair<std::string, std::vector<double>>> grid;
        for (const std::string& spec : grids) {
            const auto eq = spec.find('=');
            std::pair<std::string, std::vector<double>> axis{calibration::parameter_named(spec.substr(0, eq)).name, {}};
            std::stringstream list(spec.substr(eq + 1));
            for (std::string v; std::getline(list, v, ',');) axis.second.push_back(std::atof(v.c_str()));
            grid.push_back(axis);
        }
        const auto candidates = calibration::candidates_of(base, grid);
        const auto v = calibration::nested_leave_one_out(rows, candidates, kind, calibration::free_continuous_of(free));
        const auto describe = [&](const eval::hardware& h) {
            std::ostringstream o;
            o << std::setprecision(3) << "eff " << h.mac_efficiency << ", DRAM " << h.dram_bytes_per_second / 1e9
              << " GB/s, setup " << h.layer_overhead_us << " us";
            for (const auto& axis : grid) {
                const calibration::parameter& p = calibration::parameter_named(axis.first);
                o << ", " << axis.first << " " << (p.integer ? static_cast<double>(h.*p.integer) : h.*p.real);
            }
            return o.str();
        };
        std::cout << "KDP" << platform::name_of(base.platform) << " nested (" << candidates.size()
                  << " discrete candidates, objective "
                  << (kind == calibration::objective_kind::squares ? "mean square" : "max + median")
                  << " of |log error|)\n  all rows: " << describe(v.chosen[0]) << "\n";
        for (std::size_t i = 0; i < n; ++i)
            std::cout << std::left << "  " << std::setw(22) << rows[i].label << std::right << std::setw(9)
                      << std::setprecision(4) << std::defaultfloat << rows[i].published_ms << " ms" << std::fixed
                      << std::setprecision(1) << std::showpos << std::setw(9) << 100 * v.in_sample[i] << "%"
                      << std::setw(9) << 100 * v.held_out[i] << "%" << std::noshowpos << std::defaultfloat
                      << "   without it: " << describe(v.chosen[i + 1]) << "\n";
        std::cout << std::fixed << std::setprecision(1) << "  in-sample     median "
                  << 100 * calibration::median_abs(v.in_sample) << "%  max " << 100 * calibration::max_abs(v.in_sample)
                  << "%\n  leave-one-out median " << 100 * calibration::median_abs(v.held_out) << "%  max "
                  << 100 * calibration::max_abs(v.held_out) << "%\n\n"
                  << std::defaultfloat;
    };
    const auto apply_sets = [&](eval::hardware& h) {
        for (const std::string& kv : sets) {
            const auto eq = kv.find('=');
            const calibration::parameter& p = calibration::parameter_named(kv.substr(0, eq));
            const double v = std::atof(kv.c_str() + eq + 1);
            if (p.integer) h.*p.integer = static_cast<int>(v);
            else h.*p.real = v;
        }
    };
    if (nested) {
        for (eval::hardware* h : {&hw520, &hw720}) {
            if (!fit.empty() && fit != h->platform) continue;
            apply_sets(*h);
            run_nested(*h);
        }
        return 0;
    }

    if (fit.empty()) {
        show(hw520);
        show(hw720);
        return 0;
    }
    eval::hardware hw = fit == "520" ? hw520 : hw720;
    apply_sets(hw);
    hw = best_fit(rows_of(hw.platform), hw, static_cast<std::size_t>(-1));
    std::cout << "fitted KDP" << platform::name_of(hw.platform) << ":\n" << std::setprecision(4);
    for (const auto& p : calibration::parameters()) {
        std::cout << "    " << p.name << " = ";
        if (p.integer) std::cout << hw.*p.integer << "\n";
        else std::cout << hw.*p.real << "\n";
    }
    std::cout << "\n";
    show(hw);
    return 0;
}
