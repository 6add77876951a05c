// ktc/quant/calibrate.ipp - the definition behind calibrate.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/quant/calibrate.hpp"

namespace ktc::quant {

KTC_DECL calibration calibrate(const sim::runner& model, std::size_t sample_count,
                               const std::function<sim::tensor_map(std::size_t)>& sample,
                               const calibration_options& options) {
    using namespace calibrate_detail;
    if (sample_count == 0) throw usage_error("calibration needs at least one sample input");
    const unsigned threads = thread_count(options, sample_count);
    const graph::graph& g = model.graph();
    const auto readers = options.layer_input_samples > 0 ? patch_readers(g) : decltype(patch_readers(g)){};

    std::vector<calibration> partial(threads);
    const auto work = [&](unsigned t, std::size_t i) {
        auto& ranges = partial[t].ranges;
        auto& means = partial[t].channel_means;
        const patch_use use = patches_use(i, sample_count, options);  // whether, and where, its MAC inputs are kept
        const auto keep_patches = [&](const std::string& value, const tensor& x) {
            const auto found = readers.find(value);
            if (use == patch_use::none || found == readers.end()) return;
            for (const graph::node* reader : found->second)
                if (const auto geometry = patches_of(*reader, g, x.shape())) {
                    layer_input_moments& m = partial[t].layer_inputs[reader->name];
                    (use == patch_use::fit ? m.fit : m.check).observe(*geometry, x.values<float>());
                }
        };
        const sim::node_observer observe = [&](const graph::node& n, std::span<const tensor> outs) {
            for (std::size_t k = 0; k < outs.size() && k < n.outputs.size(); ++k)
                if (!n.outputs[k].empty() && outs[k].type() == dtype::float32) {
                    ranges[n.outputs[k]].observe(outs[k].values<float>());
                    means[n.outputs[k]].observe(outs[k].values<float>(), outs[k].shape());
                    keep_patches(n.outputs[k], outs[k]);
                }
        };
        const sim::tensor_map inputs = sample(i);
        for (const auto& [name, x] : inputs)
            if (x.type() == dtype::float32) {
                require_finite_sample(name, i, x);
                ranges[name].observe(x.values<float>());
                means[name].observe(x.values<float>(), x.shape());
                keep_patches(name, x);
            }
        model.run(inputs, observe);
        ++partial[t].samples;
    };
    for_each_sample(threads, sample_count, work, options.progress);

    calibration result;
    for (auto& p : partial) {
        result.samples += p.samples;
        for (auto& [name, r] : p.ranges) result.ranges[name].merge(r);
        for (auto& [name, m] : p.channel_means) result.channel_means[name].merge(m);
        for (auto& [name, m] : p.layer_inputs) result.layer_inputs[name].merge(m);
    }
    return result;
}

}  // namespace ktc::quant
