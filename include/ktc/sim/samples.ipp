// ktc/sim/samples.ipp - the definitions behind samples.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/sim/samples.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

namespace ktc::sim {

KTC_DECL sample_set split_samples(const std::vector<graph::value_info>& model_inputs, const tensor_map& user,
                                  layout user_layout) {
    sample_set set;
    bool decided = false;
    for (const auto& info : model_inputs) {
        auto it = user.find(info.name);
        if (it == user.end()) throw usage_error("missing model input '" + info.name + "'");
        const tensor& t = it->second;
        const auto rank = static_cast<std::int64_t>(info.shape.size());
        bool stacked = info.rank_known && t.rank() == rank + 1;
        if (info.rank_known && !stacked && t.rank() != rank)
            throw usage_error("input '" + info.name + "' has shape " + to_string(t.shape()) +
                              "; the model expects rank " + std::to_string(rank) + " " + to_string(info.shape) +
                              (user_layout == layout::channel_last && rank >= 3 ? " in channel-last order" : "") +
                              ", or rank " + std::to_string(rank + 1) + " for a stack of samples");
        const std::int64_t n = stacked ? t.dim(0) : 1;
        if (decided && (n != set.count || stacked != set.stacked))
            throw usage_error("input '" + info.name + "' holds " + std::to_string(n) + " samples, other inputs hold " +
                              std::to_string(set.count));
        set.count = n, set.stacked = stacked, decided = true;
    }
    for (const auto& [name, t] : user)
        if (std::none_of(model_inputs.begin(), model_inputs.end(), [n = &name](auto& i) { return i.name == *n; }))
            throw usage_error("'" + name + "' is not an input of the model");

    set.samples.resize(static_cast<std::size_t>(set.count));
    for (const auto& info : model_inputs) {
        tensor t = user.at(info.name);
        if (is_floating(t.type()) && is_floating(info.type) && t.type() != info.type) t = t.cast(info.type);
        const std::int64_t per = set.stacked ? t.size() / std::max<std::int64_t>(set.count, 1) : t.size();
        shape_t one(t.shape().begin() + (set.stacked ? 1 : 0), t.shape().end());
        for (std::int64_t s = 0; s < set.count; ++s) {
            tensor sample(t.type(), one);
            std::memcpy(sample.raw(), t.raw() + s * per * size_of(t.type()), sample.byte_size());
            set.samples[s].emplace(
                info.name, user_layout == layout::channel_last ? channel_last_to_first(sample) : std::move(sample));
        }
    }
    return set;
}

KTC_DECL tensor_map join_samples(const std::vector<tensor_map>& per_sample, bool stacked, layout user_layout) {
    tensor_map out;
    if (per_sample.empty()) return out;
    for (const auto& [name, first] : per_sample.front()) {
        auto user_of = [&](const tensor& t) {
            return user_layout == layout::channel_last ? channel_first_to_last(t) : t;
        };
        if (!stacked) {
            out[name] = user_of(first);
            continue;
        }
        const tensor one = user_of(first);
        shape_t shape = one.shape();
        shape.insert(shape.begin(), static_cast<std::int64_t>(per_sample.size()));
        tensor all(one.type(), shape);
        for (std::size_t s = 0; s < per_sample.size(); ++s) {
            const tensor t = s == 0 ? one : user_of(per_sample[s].at(name));
            if (t.shape() != one.shape()) throw error("output '" + name + "' changes shape between samples");
            std::memcpy(all.raw() + s * one.byte_size(), t.raw(), one.byte_size());
        }
        out[name] = std::move(all);
    }
    return out;
}

KTC_DECL tensor_map run_samples(const std::vector<graph::value_info>& model_inputs,
                                const std::function<tensor_map(const tensor_map&)>& run_one, const tensor_map& user,
                                layout user_layout, const std::function<void(std::int64_t, std::int64_t)>& progress,
                                unsigned threads) {
    const sample_set set = split_samples(model_inputs, user, user_layout);
    const std::size_t count = set.samples.size();
    std::vector<tensor_map> results(count);
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<std::size_t>(threads, count));
    if (threads <= 1) {
        for (std::size_t i = 0; i < count; ++i) {
            results[i] = run_one(set.samples[i]);
            if (progress) progress(static_cast<std::int64_t>(i + 1), set.count);
        }
        return join_samples(results, set.stacked, user_layout);
    }

    std::atomic<std::size_t> next{0};
    std::mutex lock;  // guards done, the failure and progress calls
    std::size_t done = 0, failed_at = count;
    std::exception_ptr failure;
    const auto worker = [&] {
        for (std::size_t i = next++; i < count; i = next++) {
            {
                const std::lock_guard<std::mutex> held(lock);
                if (i > failed_at) return;  // a lower sample failed: its error is the one reported
            }
            try {
                results[i] = run_one(set.samples[i]);
            } catch (...) {
                const std::lock_guard<std::mutex> held(lock);
                if (i < failed_at) failed_at = i, failure = std::current_exception();
                continue;
            }
            const std::lock_guard<std::mutex> held(lock);
            ++done;
            if (progress && !failure) progress(static_cast<std::int64_t>(done), set.count);
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    if (failure) std::rethrow_exception(failure);
    return join_samples(results, set.stacked, user_layout);
}

KTC_DECL tensor_map run_samples(const interpreter& interp, const tensor_map& user, layout user_layout,
                                const std::function<void(std::int64_t, std::int64_t)>& progress, unsigned threads) {
    return run_samples(
        interp.graph().inputs, [&](const tensor_map& one) { return interp.run(one); }, user, user_layout, progress,
        threads);
}

}  // namespace ktc::sim
