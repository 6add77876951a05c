// ktc/quant/equalize.ipp - the definitions behind equalize.hpp
// (compiled once in src/, or included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/quant/equalize.hpp"

namespace ktc::quant {

KTC_DECL equalization_report equalize_cross_layer(graph::graph& g, std::size_t max_sweeps) {
    struct pair {
        graph::vertex producer;
        tensor* weight;
        tensor* bias;
        detail::channel_reader reader;
    };
    std::vector<pair> pairs;
    for (const graph::vertex v : g.topological_order()) {
        const graph::node& a = g[v];
        if (a.op_type != "Conv" || a.outputs.size() != 1) continue;
        tensor* w = detail::private_weight(g, a.input(1));
        tensor* b = a.has_input(2) ? detail::private_weight(g, a.input(2)) : nullptr;
        if (!w || w->rank() < 3 || (a.has_input(2) && !b)) continue;
        if (auto reader = detail::channel_consumer(g, a.outputs[0], w->dim(0))) pairs.push_back({v, w, b, *reader});
    }

    equalization_report report;
    report.pairs = pairs.size();
    for (; report.sweeps < max_sweeps && !pairs.empty(); ++report.sweeps) {
        double largest_change = 0;
        for (pair& p : pairs) {
            const std::int64_t channels = p.weight->dim(0), per_channel = p.weight->size() / channels;
            std::vector<double> range_a(channels, 0.0), range_b(channels, 0.0);
            const auto wa = p.weight->values<float>();
            for (std::int64_t c = 0, i = 0; c < channels; ++c)
                for (std::int64_t k = 0; k < per_channel; ++k, ++i)
                    range_a[c] = std::max(range_a[c], double(std::fabs(wa[i])));
            const auto wb = p.reader.weight->values<float>();
            p.reader.for_each_element(
                [&](std::int64_t i, std::int64_t c) { range_b[c] = std::max(range_b[c], double(std::fabs(wb[i]))); });
            std::vector<float> scale(channels, 1.0f);
            for (std::int64_t c = 0; c < channels; ++c)
                if (range_a[c] > 0 && range_b[c] > 0) {
                    scale[c] = static_cast<float>(std::sqrt(range_a[c] / range_b[c]));
                    largest_change = std::max(largest_change, std::fabs(std::log(double(scale[c]))));
                }
            auto wa_out = p.weight->values<float>();
            for (std::int64_t c = 0, i = 0; c < channels; ++c)
                for (std::int64_t k = 0; k < per_channel; ++k, ++i) wa_out[i] /= scale[c];
            if (p.bias)
                for (std::int64_t c = 0; c < channels; ++c) p.bias->values<float>()[c] /= scale[c];
            auto wb_out = p.reader.weight->values<float>();
            p.reader.for_each_element([&](std::int64_t i, std::int64_t c) { wb_out[i] *= scale[c]; });
        }
        if (largest_change < 1e-3) break;
    }
    return report;
}

}  // namespace ktc::quant
