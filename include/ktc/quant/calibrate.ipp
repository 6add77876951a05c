// ktc/quant/calibrate.ipp - the definition behind calibrate.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/quant/calibrate.hpp"

namespace ktc::quant {

namespace calibrate_detail {

// The MAC layers whose input patches weight rounding reads, by the value they read.
inline std::map<std::string, std::vector<const graph::node*>> patch_readers(const graph::graph& g) {
    std::map<std::string, std::vector<const graph::node*>> readers;
    for (const graph::vertex v : g.nodes())
        if (const auto& n = g[v];
            n.has_input(0) && (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul"))
            readers[n.input(0)].push_back(&n);
    return readers;
}

// Which samples' patches are kept: layer_input_samples of them spread over the set, alternately
// into the fit and the check half.
enum class patch_use { none, fit, check };
inline patch_use patches_use(std::size_t i, std::size_t sample_count, const calibration_options& options) {
    const std::size_t stride =
        std::max<std::size_t>(1, sample_count / std::max<std::size_t>(1, options.layer_input_samples));
    if (options.layer_input_samples == 0 || i % stride != 0 || i / stride >= options.layer_input_samples)
        return patch_use::none;
    return (i / stride) % 2 == 0 ? patch_use::fit : patch_use::check;
}

// Calls work(t, i) for every sample i in [0, count) whose `wanted(i)` holds, on `threads` threads
// taking samples from a shared counter (t the thread's index), with progress over the samples
// done; the first exception stops every thread and is rethrown.
inline void for_each_sample(unsigned threads, std::size_t count, const std::function<bool(std::size_t)>& wanted,
                            const std::function<void(unsigned, std::size_t)>& work,
                            const std::function<void(std::size_t, std::size_t)>& progress) {
    std::atomic<std::size_t> next{0}, done{0};
    std::mutex progress_mutex, failure_mutex;
    std::exception_ptr failure;
    auto worker = [&](unsigned t) {
        try {
            for (std::size_t i; (i = next++) < count;) {
                {
                    std::lock_guard lock(failure_mutex);
                    if (failure) return;
                }
                if (!wanted(i)) continue;
                work(t, i);
                const std::size_t finished = ++done;
                if (progress) {
                    std::lock_guard lock(progress_mutex);
                    progress(finished, count);
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
}

inline unsigned thread_count(const calibration_options& options, std::size_t sample_count) {
    const unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
    return static_cast<unsigned>(std::min<std::size_t>(threads, std::max<std::size_t>(1, sample_count)));
}

}  // namespace calibrate_detail

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
    for_each_sample(
        threads, sample_count, [](std::size_t) { return true; }, work, options.progress);

    calibration result;
    for (auto& p : partial) {
        result.samples += p.samples;
        for (auto& [name, r] : p.ranges) result.ranges[name].merge(r);
        for (auto& [name, m] : p.channel_means) result.channel_means[name].merge(m);
        for (auto& [name, m] : p.layer_inputs) result.layer_inputs[name].merge(m);
    }
    return result;
}

KTC_DECL std::map<std::string, layer_input_moments> upstream_layer_inputs(
    const sim::runner& reference, const sim::runner& quantized, const std::set<std::string>& layers,
    std::size_t sample_count, const std::function<sim::tensor_map(std::size_t)>& sample,
    const calibration_options& options) {
    using namespace calibrate_detail;
    const unsigned threads = thread_count(options, sample_count);
    const graph::graph& g = reference.graph();
    auto readers = patch_readers(g);
    for (auto it = readers.begin(); it != readers.end();) {
        std::erase_if(it->second, [&](const graph::node* n) { return !layers.count(n->name); });
        it = it->second.empty() ? readers.erase(it) : std::next(it);
    }
    const auto input_formats = fixed::edge_formats(quantized.graph());

    std::vector<std::map<std::string, layer_input_moments>> partial(threads);
    const auto wanted = [&](std::size_t i) { return patches_use(i, sample_count, options) != patch_use::none; };
    const auto work = [&](unsigned t, std::size_t i) {
        // Each MAC input of both runs, as float values: the quantized run's at their formats.
        std::map<std::string, tensor> floats, quantized_values;
        const auto keep = [&](std::map<std::string, tensor>& into, const std::string& value, const tensor& x) {
            if (readers.count(value)) into[value] = x;
        };
        const sim::tensor_map inputs = sample(i);
        for (const auto& [name, x] : inputs) {
            if (x.type() != dtype::float32) continue;
            keep(floats, name, x);
            const auto f = input_formats.find(name);
            keep(quantized_values, name,
                 f == input_formats.end() ? x
                                          : fixed::dequantize_tensor(fixed::quantize_tensor(x, f->second), f->second));
        }
        // Each run stops once it has given every value the layers read.
        struct enough {};
        const auto run_until_read = [&](const sim::runner& r, const std::map<std::string, tensor>& kept,
                                        const sim::node_observer& observe) {
            try {
                r.run(inputs, [&](const graph::node& n, std::span<const tensor> outs) {
                    observe(n, outs);
                    if (kept.size() == readers.size()) throw enough{};
                });
            } catch (const enough&) {
            }
        };
        run_until_read(reference, floats, [&](const graph::node& n, std::span<const tensor> outs) {
            for (std::size_t k = 0; k < outs.size() && k < n.outputs.size(); ++k)
                if (outs[k].type() == dtype::float32) keep(floats, n.outputs[k], outs[k]);
        });
        run_until_read(quantized, quantized_values, [&](const graph::node& n, std::span<const tensor> outs) {
            const auto radix = n.attrs.get_ints(fixed::attr::output_radix, {});
            for (std::size_t k = 0; k < outs.size() && k < n.outputs.size(); ++k) {
                if (!readers.count(n.outputs[k])) continue;
                if (is_floating(outs[k].type())) {
                    keep(quantized_values, n.outputs[k],
                         outs[k].type() == dtype::float32 ? outs[k] : outs[k].cast(dtype::float32));
                } else if (k < radix.size() && radix[k] != fixed::not_quantized) {
                    keep(quantized_values, n.outputs[k], fixed::dequantize_tensor(outs[k], fixed::output_format(n, k)));
                }
            }
        });
        const patch_use use = patches_use(i, sample_count, options);
        for (const auto& [value, x] : floats) {
            const auto q = quantized_values.find(value);
            if (q == quantized_values.end() || q->second.shape() != x.shape()) continue;
            for (const graph::node* reader : readers.at(value))
                if (const auto geometry = patches_of(*reader, g, x.shape())) {
                    layer_input_moments& m = partial[t][reader->name];
                    (use == patch_use::fit ? m.fit : m.check)
                        .observe(*geometry, q->second.values<float>(), x.values<float>());
                }
        }
    };
    for_each_sample(threads, sample_count, wanted, work, {});

    std::map<std::string, layer_input_moments> result;
    for (auto& p : partial)
        for (auto& [name, m] : p) result[name].merge(m);
    return result;
}

}  // namespace ktc::quant
