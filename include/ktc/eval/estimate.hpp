// ktc/eval/estimate.hpp - what the cost model says about one model on one chip.
//
// The result types only: eval/cost.hpp fills them, eval/report.hpp prints them. The totals keep
// the invariants of the vendor's evaluator report (kneron-facts §3), so they are computed here in
// one place from the per-layer figures rather than stored twice:
//   total = MAC idle + MAC running;  efficiency = theoretical / total;  FPS = 1000 / total.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ktc/platform/tags.hpp"

namespace ktc::eval {

// What limits a layer's time: the largest of its terms (eval/cost.hpp). compute: the MAC array
// (or the lone op's lanes); weights: reading the weights from DRAM; fmap_in / fmap_out: feature
// maps that do not fit on chip, read from / written to DRAM; cpu: a node the host CPU runs.
enum class bound { compute, weights, fmap_in, fmap_out, cpu };

inline const char* name_of(bound b) {
    switch (b) {
        case bound::compute: return "compute";
        case bound::weights: return "weights";
        case bound::fmap_in: return "fmap_in";
        case bound::fmap_out: return "fmap_out";
        case bound::cpu: return "cpu";
    }
    return "?";
}

// One scheduled layer: an NPU layer (a MAC op with what is fused into it, or a lone NPU op) or
// a CPU node.
struct layer_estimate {
    std::string name;                // the leading node's name
    std::string op;                  // the leading node's op type
    std::vector<std::string> fused;  // other nodes executed as part of this layer
    std::int64_t macs = 0;           // multiply-accumulates
    double weight_bytes = 0;         // at the chip's data width
    double input_bytes = 0;          // feature maps read
    double output_bytes = 0;         // feature maps written
    double dram_bytes = 0;           // traffic to DRAM, tiling re-reads included
    int tiles = 1;                   // > 1 when the feature maps exceed on-chip memory
    double theoretical_ms = 0;       // MACs at 100% MAC efficiency (0 for non-MAC layers)
    double compute_ms = 0;           // MAC array busy time
    double memory_ms = 0;            // DRAM transfer time: weight_ms + fmap_in_ms + fmap_out_ms
    double weight_ms = 0;            // weights from DRAM (re-reads per tile included)
    double fmap_in_ms = 0;           // input feature maps from DRAM (0 while they stay on chip)
    double fmap_out_ms = 0;          // output feature maps to DRAM (0 while they stay on chip)
    double time_ms = 0;              // the layer's share of the total
    bound limited_by = bound::compute;
};

struct performance_estimate {
    platform::chip platform = platform::chip::kdp520;
    std::vector<layer_estimate> layers;

    // MAC running time: layers during which the MAC array computes; idle: everything else
    // (memory-bound stalls, CPU nodes, per-layer setup).
    double mac_running_ms = 0;
    double mac_idle_ms = 0;
    double dram_bytes = 0;  // total DRAM traffic

    double total_ms() const { return mac_idle_ms + mac_running_ms; }
    double fps() const { return total_ms() > 0 ? 1000.0 / total_ms() : 0; }
    double theoretical_conv_ms() const {
        double t = 0;
        for (const auto& l : layers) t += l.theoretical_ms;
        return t;
    }
    double mac_efficiency() const { return total_ms() > 0 ? theoretical_conv_ms() / total_ms() : 0; }
    double average_dram_gbps() const { return total_ms() > 0 ? dram_bytes / (total_ms() * 1e6) : 0; }
    // Time of the CPU layers, and what is left: the vendor's tables time the NPU only.
    double cpu_ms() const {
        double t = 0;
        for (const auto& l : layers)
            if (l.limited_by == bound::cpu) t += l.time_ms;
        return t;
    }
    double npu_only_ms() const { return total_ms() - cpu_ms(); }
    std::int64_t total_macs() const {
        std::int64_t m = 0;
        for (const auto& l : layers) m += l.macs;
        return m;
    }
};

}  // namespace ktc::eval
