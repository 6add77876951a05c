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
// round re-fits only the wave. Each kept sample's float run goes on from where the last wave
// stopped (interpreter::session); the quantized one, whose weights change, runs from the start
// to the wave. Cost: resnet50 on 32 images, 54 waves, ~4x adaptive's time (docs/numerics.md).
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ktc/core/config.hpp"
#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace ktc::quant {

// The MAC layers named in `layers`, in waves: each after every one of them that lies upstream of it.
KTC_DECL std::vector<std::set<std::string>> waves_of(const graph::graph& g, const std::set<std::string>& layers);

// The MAC layers' input patches in the quantized model beside the float model's, wave after wave,
// on the samples and in the fit and check halves that calibrate() keeps with the same options.
class upstream_inputs {
public:
    // `layers`: the MAC layers the waves will name.
    upstream_inputs(const sim::float_simulator& reference, const std::set<std::string>& layers,
                    std::size_t sample_count, const std::function<sim::tensor_map(std::size_t)>& sample,
                    const calibration_options& options);

    // The moments of the layers in `wave` (layer_input_moments with the cross moment), read from
    // `quantized`, the graph quantized from the reference's and annotated (its integer tensors
    // read at their formats). Waves come in the order waves_of gives.
    std::map<std::string, layer_input_moments> next_wave(const sim::runner& quantized,
                                                         const std::set<std::string>& wave);

private:
    struct kept_sample {
        bool fit = true;  // the fit half, or the check half
        sim::tensor_map inputs;
        std::optional<sim::interpreter::session> float_run;
        std::map<std::string, tensor> floats;  // values made and still to be read by a later wave
    };
    const sim::float_simulator& reference_;
    calibration_options options_;
    std::map<std::string, std::vector<const graph::node*>> readers_;  // MAC layers by the value they read
    std::set<std::string> done_;                                      // layers of the waves already given
    std::vector<kept_sample> kept_;
};

// quantize<P>(reference.graph(), cal, o) with each layer's weights rounded on the quantized model's
// inputs; `cal` must hold the layer inputs (calibration_options::layer_input_samples), and
// `options` are the calibration's, so that the same samples and halves are kept.
template <class P>
graph::graph quantize_rounding_upstream(const sim::float_simulator& reference, const calibration& cal,
                                        const quantize_options& o, std::size_t sample_count,
                                        const std::function<sim::tensor_map(std::size_t)>& sample,
                                        const calibration_options& options) {
    // Layers not done yet round to nearest: none of them lies upstream of the wave being fitted.
    calibration upstream = cal.without_layer_inputs();
    std::set<std::string> layers;
    for (const auto& [name, moments] : cal.layer_inputs) layers.insert(name);
    upstream_inputs inputs(reference, layers, sample_count, sample, options);
    graph::graph q = quantize<P>(reference.graph(), upstream, o);
    for (const auto& wave : waves_of(reference.graph(), layers)) {
        const sim::fixed_simulator quantized{graph::graph(q)};
        auto moments = inputs.next_wave(quantized, wave);
        for (const auto& name : wave)  // a layer the quantized run gave no inputs for stays adaptive
            if (!moments.count(name)) moments[name] = cal.layer_inputs.at(name);
        for (auto& [name, m] : moments) (upstream.layer_inputs[name] = std::move(m)).memoize = true;
        q = quantize<P>(reference.graph(), upstream, o);
        for (const auto& name : wave)  // rounded: only the memo is read again
            if (const auto m = upstream.layer_inputs.find(name); m != upstream.layer_inputs.end())
                m->second.release_sums();
    }
    return q;
}

}  // namespace ktc::quant

#if KTC_HEADER_ONLY
#include "ktc/quant/upstream_rounding.ipp"
#endif
