// ktc/quant/calibrate.ipp - the definition behind calibrate.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/quant/calibrate.hpp"

namespace ktc::quant {

KTC_DECL calibration calibrate(const sim::runner& model, std::size_t sample_count,
                               const std::function<sim::tensor_map(std::size_t)>& sample,
                               const calibration_options& options) {
    if (sample_count == 0) throw usage_error("calibration needs at least one sample input");
    unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, sample_count));

    // The MAC layers whose input patches are kept, by the value they read.
    const graph::graph& g = model.graph();
    std::map<std::string, std::vector<const graph::node*>> patch_readers;
    if (options.layer_input_samples > 0)
        for (const graph::vertex v : g.nodes())
            if (const auto& n = g[v];
                n.has_input(0) && (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul"))
                patch_readers[n.input(0)].push_back(&n);
    const std::size_t patch_stride =
        std::max<std::size_t>(1, sample_count / std::max<std::size_t>(1, options.layer_input_samples));
    enum class patch_use { none, fit, check };
    const auto patches_use = [&](std::size_t i) {
        if (options.layer_input_samples == 0 || i % patch_stride != 0 ||
            i / patch_stride >= options.layer_input_samples)
            return patch_use::none;
        return (i / patch_stride) % 2 == 0 ? patch_use::fit : patch_use::check;
    };

    std::vector<calibration> partial(threads);
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex progress_mutex;
    std::exception_ptr failure;
    std::mutex failure_mutex;

    auto worker = [&](unsigned t) {
        auto& ranges = partial[t].ranges;
        auto& means = partial[t].channel_means;
        patch_use use = patch_use::none;  // whether, and where, this sample's MAC inputs are kept
        const auto keep_patches = [&](const std::string& value, const tensor& x) {
            const auto readers = patch_readers.find(value);
            if (use == patch_use::none || readers == patch_readers.end()) return;
            for (const graph::node* reader : readers->second)
                if (const auto geometry = patches_of(*reader, g, x.shape())) {
                    layer_input_moments& m = partial[t].layer_inputs[reader->name];
                    (use == patch_use::fit ? m.fit : m.check).observe(*geometry, x.values<float>());
                }
        };
        const sim::node_observer observe = [&](const graph::node& n, std::span<const tensor> outs) {
            for (std::size_t i = 0; i < outs.size() && i < n.outputs.size(); ++i)
                if (!n.outputs[i].empty() && outs[i].type() == dtype::float32) {
                    ranges[n.outputs[i]].observe(outs[i].values<float>());
                    means[n.outputs[i]].observe(outs[i].values<float>(), outs[i].shape());
                    keep_patches(n.outputs[i], outs[i]);
                }
        };
        try {
            for (std::size_t i; (i = next++) < sample_count;) {
                {
                    std::lock_guard lock(failure_mutex);
                    if (failure) return;
                }
                const sim::tensor_map inputs = sample(i);
                use = patches_use(i);
                for (const auto& [name, x] : inputs)
                    if (x.type() == dtype::float32) {
                        require_finite_sample(name, i, x);
                        ranges[name].observe(x.values<float>());
                        means[name].observe(x.values<float>(), x.shape());
                        keep_patches(name, x);
                    }
                model.run(inputs, observe);
                ++partial[t].samples;
                const std::size_t finished = ++done;
                if (options.progress) {
                    std::lock_guard lock(progress_mutex);
                    options.progress(finished, sample_count);
                }
            }
        } catch (...) {
            std::lock_guard lock(failure_mutex);
            if (!failure) failure = std::current_exception();
        }
    };

    if (threads == 1) {
        worker(0);
    } else {
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker, t);
        for (auto& th : pool) th.join();
    }
    if (failure) std::rethrow_exception(failure);

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
