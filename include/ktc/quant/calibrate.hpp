// ktc/quant/calibrate.hpp - run the float model over the calibration samples and learn the range
// of every tensor (the first half of the vendor's `analysis`). It takes a runner (sim/runner.hpp),
// not the float simulator itself.
//
// Threads take samples one at a time from a shared counter; each keeps its own range_observer per
// tensor and they are merged at the end (exactly: observer merging is order-independent), so the
// result does not depend on the thread count and memory does not grow with the sample count.
// Samples are produced on demand by the caller (`sample(i)`), never all held as activations.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ktc/core/config.hpp"
#include "ktc/quant/layer_inputs.hpp"
#include "ktc/quant/observer.hpp"
#include "ktc/sim/runner.hpp"

namespace ktc::quant {

struct calibration {
    std::map<std::string, range_observer> ranges;                // graph inputs and every float value computed
    std::map<std::string, channel_mean_observer> channel_means;  // the same values, per channel
    // By MAC node name: its input patches' second moments (weight rounding against the output
    // error), from calibration_options::layer_input_samples samples, alternately into fit and
    // check; empty when not asked for.
    std::map<std::string, layer_input_moments> layer_inputs;
    std::size_t samples = 0;

    // The same calibration without its layer inputs (the bulk of it: megabytes a layer).
    calibration without_layer_inputs() const { return {ranges, channel_means, {}, samples}; }
};

struct calibration_options {
    unsigned threads = 0;                 // 0: every core
    std::size_t layer_input_samples = 0;  // samples, spread over the set, whose MAC inputs are kept (0: none)
    std::function<void(std::size_t done, std::size_t total)> progress;  // called from one thread
};

// A NaN or an infinity in a calibration sample has no range to learn: the observers skip
// non-finite values, so the radices would silently ignore it (all the data, for an all-NaN input).
inline void require_finite_sample(const std::string& input, std::size_t sample, const tensor& x) {
    const auto v = x.values<float>();
    const auto bad = std::find_if(v.begin(), v.end(), [](float f) { return !std::isfinite(f); });
    if (bad == v.end()) return;
    throw usage_error("calibration input '" + input + "', sample " + std::to_string(sample) + ", element " +
                      std::to_string(bad - v.begin()) + " is " +
                      (std::isnan(*bad) ? "NaN"
                       : *bad > 0       ? "+inf"
                                        : "-inf") +
                      ": calibration data must be finite");
}

// `model` runs the float graph that will be quantized (its graph() names the values): the float
// simulator, or any runner that observes float outputs.
KTC_DECL calibration calibrate(const sim::runner& model, std::size_t sample_count,
                               const std::function<sim::tensor_map(std::size_t)>& sample,
                               const calibration_options& options = {});

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

// Calls work(t, i) for every sample i in [0, count), on `threads` threads taking samples from a
// shared counter (t the thread's index), with progress over the samples done; the first exception
// stops every thread and is rethrown.
inline void for_each_sample(unsigned threads, std::size_t count, const std::function<void(unsigned, std::size_t)>& work,
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

}  // namespace ktc::quant

#if KTC_HEADER_ONLY
#include "ktc/quant/calibrate.ipp"
#endif
