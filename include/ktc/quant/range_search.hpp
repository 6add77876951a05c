// ktc/quant/range_search.hpp - ranges chosen against the error that reaches the outputs
// (`ktc analysis --range-search`, docs/numerics.md rule 3).
//
// Calibration gives each activation a range by a rule of its own (a percentile at 8 bits): a
// rule that cannot know whether the values it clips, or the resolution it spends on headroom,
// matter downstream. The search asks the model: visiting the activations in topological order,
// it tries each candidate range of one tensor (the rule's format; the percentile and the max
// with a scale; 1.5 times the percentile), keeps the others as chosen so far, quantizes, runs
// the fixed-point simulator on calibration samples and keeps the candidate with the smallest
// output error (the sum over graph outputs of noise energy / signal energy). One greedy pass:
// tensors x candidates quantize-and-run rounds, so it suits models that simulate in milliseconds.
// 8-bit tensors only: at 16 bits the rule's headroom is what holds on unseen inputs, and a range
// fitted to the calibration samples lost 30-40 dB on MTCNN's test faces (docs/numerics.md).
#pragma once

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "ktc/graph/ops.hpp"
#include "ktc/quant/output_error.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace ktc::quant {

struct range_search_options {
    std::size_t samples = 16;  // calibration samples each candidate runs on (spread over the set)
    std::function<void(std::size_t done, std::size_t total)> progress;
};

// The chosen range of every activation the search moved from its rule (quantize_options::
// chosen_ranges). `o` is the quantization the search refines; its own chosen_ranges are kept.
template <class P>
std::map<std::string, double> search_ranges(const sim::float_simulator& reference, const calibration& cal,
                                            quantize_options o, std::size_t count,
                                            const std::function<sim::tensor_map(std::size_t)>& sample,
                                            const range_search_options& so = {}) {
    if (o.scales == scale_policy::power_of_two || count == 0) return o.chosen_ranges;
    const graph::graph& g = reference.graph();
    const output_error_meter meter(reference, cal, count, sample, so.samples);
    const auto output_error = [&](const quantize_options& trial) { return meter.error<P>(trial); };

    // The activations whose range is the quantizer's own choice (not a graph input, not an op that
    // keeps its input's format), in topological order, at their width.
    struct tensor_choice {
        std::string value;
        int bits;
    };
    std::vector<tensor_choice> tensors;
    for (const graph::vertex v : g.topological_order()) {
        const auto& node = g[v];
        if (ops::keeps_input_format(node.op_type) || detail::is_resize_nearest(node)) continue;
        const int bits = o.int16_nodes.count(node.name) ? 16 : o.bits;
        if (bits != 8) continue;
        for (const auto& out : node.outputs) {
            const auto r = cal.ranges.find(out);
            const auto* info = g.info(out);
            if (out.empty() || r == cal.ranges.end() || (info && info->type != dtype::float32) ||
                r->second.max_abs() == 0)
                continue;
            tensors.push_back({out, bits});
        }
    }
    double best = output_error(o);
    for (std::size_t t = 0; t < tensors.size(); ++t) {
        if (so.progress) so.progress(t, tensors.size());
        const auto& [value, bits] = tensors[t];
        const range_observer& r = cal.ranges.at(value);
        const double rule = r.range(o.method, o.outlier, bits, /*scaled=*/true),
                     top = r.max_abs();  // every candidate has a scale
        for (const double candidate : {rule, 1.5 * rule, top}) {
            if (!(candidate > 0) || (o.chosen_ranges.count(value) && o.chosen_ranges.at(value) == candidate)) continue;
            quantize_options trial = o;
            trial.chosen_ranges[value] = candidate;
            const double error = output_error(trial);
            if (error < best) {
                best = error;
                o.chosen_ranges = std::move(trial.chosen_ranges);
            }
        }
    }
    if (so.progress) so.progress(tensors.size(), tensors.size());
    return o.chosen_ranges;
}

#if !KTC_HEADER_ONLY
// Instantiated once for each chip, in src/quant.cpp (core/config.hpp).
extern template std::map<std::string, double> search_ranges<platform::kdp520>(
    const sim::float_simulator&, const calibration&, quantize_options, std::size_t,
    const std::function<sim::tensor_map(std::size_t)>&, const range_search_options&);
extern template std::map<std::string, double> search_ranges<platform::kdp720>(
    const sim::float_simulator&, const calibration&, quantize_options, std::size_t,
    const std::function<sim::tensor_map(std::size_t)>&, const range_search_options&);
#endif

}  // namespace ktc::quant
