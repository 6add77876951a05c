// ktc/quant/upstream_rounding.hpp - weights rounded layer after layer against what the quantized
// model gives each layer (`--weight-rounding upstream`, docs/numerics.md rule 7).
//
// Adaptive rounding (weight_rounding.hpp) fits each layer's codes to the float model's inputs of
// that layer. In the quantized model those inputs carry what every layer above lost; a layer can
// take some of it back if its codes are fitted to the inputs it will really get, against the float
// model's output (the cross moment of layer_inputs.hpp). Fitting every layer at once to the inputs
// of one quantized model counts each loss twice: the layers above move too and take back their
// own share (MobileNetV1 int16 lost 16 dB that way). So the layers go in waves, each wave the MAC
// layers whose MAC layers upstream are all done: the model is quantized, run over the samples up to
// the wave's inputs, and quantized again with the wave's new moments, until every layer is done.
// A layer's rounding is remembered while its moments stay (layer_input_moments::memo), so each
// round re-fits only the wave. Cost: one run of the float and the quantized model, up to the wave,
// per wave, over the samples adaptive rounding keeps (resnet50: 54 waves, ~5x adaptive's time).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/fixed_simulator.hpp"

namespace ktc::quant {

// The MAC layers named in `layers`, in waves: each after every one of them that lies upstream of it.
inline std::vector<std::set<std::string>> waves_of(const graph::graph& g, const std::set<std::string>& layers) {
    std::map<std::string, std::size_t> depth_of_value;  // 1 + the deepest wave upstream of a value
    std::vector<std::set<std::string>> waves;
    for (const graph::vertex v : g.topological_order()) {
        const graph::node& n = g[v];
        std::size_t depth = 0;  // the wave n's inputs wait for, plus one
        for (const auto& in : n.inputs)
            if (const auto d = depth_of_value.find(in); d != depth_of_value.end()) depth = std::max(depth, d->second);
        if (layers.count(n.name)) {
            if (waves.size() <= depth) waves.resize(depth + 1);
            waves[depth].insert(n.name);
            ++depth;
        }
        for (const auto& out : n.outputs) depth_of_value[out] = depth;
    }
    return waves;
}

// quantize<P>(reference.graph(), cal, o) with each layer's weights rounded on the quantized model's
// inputs; `cal` must hold the layer inputs (calibration_options::layer_input_samples), and
// `options` are the calibration's, so that the same samples and halves are kept.
template <class P>
graph::graph quantize_rounding_upstream(const sim::runner& reference, const calibration& cal, const quantize_options& o,
                                        std::size_t sample_count,
                                        const std::function<sim::tensor_map(std::size_t)>& sample,
                                        const calibration_options& options) {
    // Layers not done yet round to nearest: none of them lies upstream of the wave being fitted.
    calibration upstream = cal;
    upstream.layer_inputs.clear();
    std::set<std::string> layers;
    for (const auto& [name, moments] : cal.layer_inputs) layers.insert(name);
    graph::graph q = quantize<P>(reference.graph(), upstream, o);
    for (const auto& wave : waves_of(reference.graph(), layers)) {
        const sim::fixed_simulator quantized{graph::graph(q)};
        for (auto& [name, moments] : upstream_layer_inputs(reference, quantized, wave, sample_count, sample, options))
            (upstream.layer_inputs[name] = std::move(moments)).memoize = true;
        q = quantize<P>(reference.graph(), upstream, o);
        for (const auto& name : wave)  // rounded: only the memo is read again
            if (const auto m = upstream.layer_inputs.find(name); m != upstream.layer_inputs.end())
                m->second.release_sums();
    }
    return q;
}

}  // namespace ktc::quant
