// ktc/quant/mixed_precision.hpp - which nodes to keep in int16 on KDP720 to reach a target output
// SNR (`ktc analysis --target-snr`, docs/numerics.md "Mixed precision suggestions").
//
// int16 costs memory and bandwidth (each element of a node's output and weights takes a second
// byte), and a few layers usually lose most of the accuracy, so the choice asks the model, as the
// range search does (quant/range_search.hpp): quantize, run the fixed-point simulator on
// calibration samples spread over the set, compare the graph outputs with the float simulator's.
//   1. Measure the output SNR with every node int8 (the nodes the caller already keeps in int16
//      stay so). At or above the target: nothing to choose.
//   2. Measure each candidate alone in int16. Candidates are the nodes whose output format the
//      quantizer chooses itself (not an op that keeps its input's format, not a nearest Resize)
//      and that have a float output: MAC ops and the other computing ops.
//   3. Rank them by dB gained per element int16 adds (the node's output elements plus its weight
//      elements, i.e. the bytes it adds), best first.
//   4. Add them in that order, measuring after each; a node is kept only if the SNR rose (errors
//      interact: one that helped alone may not help with the others). Stop when the target is
//      reached. Nodes not kept are tried again, in the same order, while a pass keeps one (with
//      the larger noise sources gone, a small one shows). When a pass keeps none, the shortest
//      run of the rest, in that order, that raises the SNR together is kept as one step, and the
//      passes go on; when not even all of them together raise it, the candidates have run out
//      and the choice says the target was missed.
//   5. Target reached: put each chosen node back to int8, most elements first, where the SNR
//      stays at or above the target (a run kept together, or an early node whose noise a later
//      one's hid, may hold nodes the target no longer needs).
// Rounds: 1 + candidates for the ranking, then the passes: usually a few times the candidates,
// each round a quantize and `samples` fixed-point runs (MobileNetV1 0.25: docs/numerics.md).
// The SNR is over calibration samples; unseen inputs differ (the CLI says where it was measured).
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ktc/graph/constants.hpp"
#include "ktc/graph/ops.hpp"
#include "ktc/quant/output_error.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace ktc::quant {

struct mixed_precision_options {
    std::size_t samples = 16;  // calibration samples each round runs on (spread over the set)
    std::function<void(std::size_t done, std::size_t total)> progress;
};

// The node the choice kept in int16 (or the nodes, when only together they helped), or put back
// to int8 once the target was reached, and the output SNR after this step and those before it.
struct mixed_precision_step {
    std::vector<std::string> nodes;
    double snr_db = 0;
    bool back_to_int8 = false;
};

struct mixed_precision_choice {
    double target_snr_db = 0;
    double int8_snr_db = 0;                   // before the choice: int8, but the nodes the caller kept in int16
    std::vector<mixed_precision_step> steps;  // in the order they were taken
    bool reached = false;                     // the last SNR is at or above the target
    std::size_t samples = 0;                  // calibration samples the SNRs were measured on

    double snr_db() const { return steps.empty() ? int8_snr_db : steps.back().snr_db; }
    std::set<std::string> nodes() const {
        std::set<std::string> s;
        for (const auto& step : steps)
            for (const auto& n : step.nodes) {
                if (step.back_to_int8) s.erase(n);
                else s.insert(n);
            }
        return s;
    }
};

// The usage rule of a target SNR: > 0 dB, int8 activations, a chip with an int16 data path. The
// CLI asks before any work; choose_int16_nodes asks again.
template <class P>
void check_target_snr(double target_snr_db, int bits) {
    if (!platform::supports_data_type<P>(dtype::int16))
        throw usage_error("--target-snr: platform " + std::string(platform::platform_traits<P>::name) +
                          " has no int16 data path (int8 only); mixed precision needs 720");
    if (bits != 8)
        throw usage_error("--target-snr needs --bitwidth 8 (at " + std::to_string(bits) + " bits every node is int" +
                          std::to_string(bits) + " already)");
    if (!(target_snr_db > 0)) throw usage_error("--target-snr must be a number of dB > 0");
}
// The same for a chip by name ("520", "720").
inline void check_target_snr(const std::string& platform_name, double target_snr_db, int bits) {
    platform::with_platform(platform_name, [&](auto tag) {
        check_target_snr<decltype(tag)>(target_snr_db, bits);
        return 0;
    });
}

// Keeps `node` in int16 in `o`. A range the search chose for one of its outputs goes: the search
// fits 8-bit tensors only (quant/range_search.hpp), and at 16 bits the rule's headroom is wanted.
inline void keep_in_int16(quantize_options& o, const graph::graph& g, const std::string& node) {
    o.int16_nodes.insert(node);
    if (const auto v = g.find_node(node))
        for (const auto& out : g[*v].outputs) o.chosen_ranges.erase(out);
}

// The nodes to keep in int16, besides o.int16_nodes, to bring the output SNR on the calibration
// samples to target_snr_db (the rule above). `o` is the quantization the choice starts from.
template <class P>
mixed_precision_choice choose_int16_nodes(const sim::float_simulator& reference, const calibration& cal,
                                          quantize_options o, std::size_t count,
                                          const std::function<sim::tensor_map(std::size_t)>& sample,
                                          double target_snr_db, const mixed_precision_options& mo = {}) {
    check_target_snr<P>(target_snr_db, o.bits);
    const graph::graph& g = reference.graph();
    const quantize_options start = o;
    mixed_precision_choice choice;
    choice.target_snr_db = target_snr_db;
    if (count == 0) return choice;

    // What int16 adds to each node: its float output elements (seen on the first sample) plus the
    // elements of a MAC op's weights.
    std::map<std::string, double> added_elements;
    const auto count_outputs = [&](const graph::node& n, std::span<const tensor> outputs) {
        for (const tensor& t : outputs)
            if (t.type() == dtype::float32) added_elements[n.name] += double(t.size());
    };
    const output_error_meter meter(reference, cal, count, sample, mo.samples, count_outputs);
    choice.samples = meter.samples();
    choice.int8_snr_db = meter.snr_db<P>(o);
    if (choice.int8_snr_db >= target_snr_db) {
        choice.reached = true;
        return choice;
    }

    std::vector<std::string> candidates;
    for (const graph::vertex v : g.topological_order()) {
        const auto& node = g[v];
        if (ops::keeps_input_format(node.op_type) || detail::is_resize_nearest(node) || o.int16_nodes.count(node.name))
            continue;
        const bool computes_float = std::any_of(node.outputs.begin(), node.outputs.end(), [&](const std::string& out) {
            const auto* info = g.info(out);
            return !out.empty() && cal.ranges.count(out) && (!info || info->type == dtype::float32);
        });
        if (!computes_float) continue;
        if (ops::is_mac(node.op_type) && node.has_input(1))
            if (const auto w = graph::constant_value(g, node.input(1))) added_elements[node.name] += double(w->size());
        candidates.push_back(node.name);
    }

    // Each candidate alone, then all of them by gain per added element, best first (a node that
    // lost alone comes last, not never: its loss may be rounding luck, its gain hidden by others).
    struct ranked {
        std::string node;
        double gain_per_element;
    };
    std::vector<ranked> order;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (mo.progress) mo.progress(i, candidates.size());
        quantize_options trial = o;
        keep_in_int16(trial, g, candidates[i]);
        const double gain = meter.snr_db<P>(trial) - choice.int8_snr_db;
        order.push_back({candidates[i], gain / std::max(1.0, added_elements[candidates[i]])});
    }
    if (mo.progress) mo.progress(candidates.size(), candidates.size());
    std::stable_sort(order.begin(), order.end(),
                     [](const ranked& a, const ranked& b) { return a.gain_per_element > b.gain_per_element; });

    // Passes over the nodes not kept yet, in that order, until the target is reached: a node that
    // did not help may help once others took their noise away. When a pass keeps none, the
    // shortest run of them, in that order, that helps together is kept as one step (errors that
    // mask each other: on MobileNetV1 each early layer's int8 noise, amplified downstream, hides
    // the others' removal). When even all of them together do not help, the candidates have run
    // out.
    std::vector<std::string> pending;
    for (const auto& r : order) pending.push_back(r.node);
    double snr = choice.int8_snr_db;
    // Tries pending[first, last) in int16 together; keeps them if the SNR rose.
    const auto try_keep = [&](std::size_t first, std::size_t last) {
        quantize_options trial = o;
        for (std::size_t i = first; i < last; ++i) keep_in_int16(trial, g, pending[i]);
        const double with = meter.snr_db<P>(trial);
        if (!(with > snr)) return false;
        snr = with;
        o = std::move(trial);
        choice.steps.push_back(
            {{pending.begin() + std::ptrdiff_t(first), pending.begin() + std::ptrdiff_t(last)}, with});
        return true;
    };
    while (snr < target_snr_db && !pending.empty()) {
        std::vector<std::string> rejected;
        for (std::size_t i = 0; i < pending.size(); ++i) {
            if (mo.progress) mo.progress(i, pending.size());
            if (snr >= target_snr_db || !try_keep(i, i + 1)) rejected.push_back(pending[i]);
        }
        if (mo.progress) mo.progress(pending.size(), pending.size());
        const bool kept = rejected.size() < pending.size();
        pending = std::move(rejected);
        if (kept || snr >= target_snr_db) continue;
        std::size_t run = 2;
        while (run <= pending.size() && !try_keep(0, run)) {
            if (mo.progress) mo.progress(run, pending.size());
            ++run;
        }
        if (mo.progress) mo.progress(pending.size(), pending.size());
        if (run > pending.size()) break;
        pending.erase(pending.begin(), pending.begin() + std::ptrdiff_t(run));
    }
    choice.reached = snr >= target_snr_db;
    if (!choice.reached) return choice;

    // Back to int8, most elements first, each chosen node the target no longer needs: a run kept
    // together, or an early node whose noise was small beside a later one's, may hold some.
    std::vector<std::string> chosen;
    for (const auto& n : choice.nodes()) chosen.push_back(n);
    std::stable_sort(chosen.begin(), chosen.end(),
                     [&](const std::string& a, const std::string& b) { return added_elements[a] > added_elements[b]; });
    for (std::size_t i = 0; i < chosen.size(); ++i) {
        if (mo.progress) mo.progress(i, chosen.size());
        quantize_options trial = o;
        trial.int16_nodes.erase(chosen[i]);
        for (const auto& out : g[*g.find_node(chosen[i])].outputs)  // the range search's choice again, if any
            if (const auto r = start.chosen_ranges.find(out); r != start.chosen_ranges.end())
                trial.chosen_ranges.insert(*r);
        const double without = meter.snr_db<P>(trial);
        if (without >= target_snr_db) {
            o = std::move(trial);
            choice.steps.push_back({{chosen[i]}, without, true});
        }
    }
    if (mo.progress) mo.progress(chosen.size(), chosen.size());
    return choice;
}

#if !KTC_HEADER_ONLY
// Instantiated once for each chip, in src/quant.cpp (core/config.hpp).
extern template mixed_precision_choice choose_int16_nodes<platform::kdp520>(
    const sim::float_simulator&, const calibration&, quantize_options, std::size_t,
    const std::function<sim::tensor_map(std::size_t)>&, double, const mixed_precision_options&);
extern template mixed_precision_choice choose_int16_nodes<platform::kdp720>(
    const sim::float_simulator&, const calibration&, quantize_options, std::size_t,
    const std::function<sim::tensor_map(std::size_t)>&, double, const mixed_precision_options&);
#endif

}  // namespace ktc::quant
