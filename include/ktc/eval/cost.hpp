// ktc/eval/cost.hpp - the cost model: how long one inference of a graph takes on a chip.
//
// A layer-by-layer roofline with the MAC array's geometry (docs/cost-model.md has the derivation
// and the fitted numbers):
//   layers      the support check's segments in execution order. In an NPU segment a MAC op
//               (Conv, ConvTranspose, Gemm, MatMul) leads a layer and takes in the nodes the NPU
//               runs in its output stage (BN, activations, Add/Mul, one pool) while its output has
//               no other reader; any other NPU node is a layer of its own; data-layout nodes
//               (Concat on channels, Flatten, Reshape, ...) cost nothing. Each CPU or
//               unsupported node is a CPU layer.
//   compute     MACs / (MACs per cycle x utilisation x mac_efficiency) cycles. Utilisation is
//               what the array's blocks (input channels x output channels x output columns x
//               kernel columns) hold of real work: a partial block wastes the rest, a depthwise
//               conv uses one input lane of each block.
//   memory      weights, plus feature maps that do not stay on chip, plus re-reads when a layer
//               is tiled (input + output + weights past the on-chip memory: weights per tile, a
//               conv's input rows shared by neighbouring tiles twice), at the DRAM rate.
//   time        max(compute, weights) + spilled feature maps in + out + a fixed per-layer setup
//               (weights are prefetched behind the compute; spilled feature maps are not hidden);
//               the layer's bound is its largest term. A CPU layer moves its bytes at the host's
//               rate plus a hand-off cost.
//   totals      MAC running = compute time of the layers; idle = everything else, so that
//               total = idle + running (estimate.hpp keeps the report's invariants).
// The graph should have been through rewrite::onnx2onnx_flow (BN fused, shapes inferred); an
// unfused BN is still costed, as part of the layer it follows.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ktc/eval/estimate.hpp"
#include "ktc/eval/support.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/graph/ops.hpp"
#include "ktc/platform/platform.hpp"

namespace ktc::eval {

// The hardware parameters the cost model reads: platform_traits<P>'s "hardware" members, as a
// value so that a calibration tool can vary them (tools/fit_cost_model.cpp).
struct hardware {
    platform::chip platform = platform::chip::kdp520;
    double npu_clock_mhz = 0;
    double macs_per_cycle = 0;
    int mac_input_lanes = 1;
    int mac_output_lanes = 1;
    int mac_column_lanes = 1;
    int mac_kernel_lanes = 1;
    int mac_pointwise_taps = 1;  // taps of the k x k window a 1x1 conv fills with input channels
    double mac_efficiency = 1;
    double sram_bytes = 0;
    double dram_bytes_per_second = 0;
    double layer_overhead_us = 0;
    double cpu_bytes_per_second = 0;
    double cpu_node_overhead_us = 0;
    double bytes_per_value = 1;  // the chip's data width: int8

    double peak_macs_per_second() const { return npu_clock_mhz * 1e6 * macs_per_cycle; }
};

template <class P>
hardware hardware_of() {
    using T = platform::platform_traits<P>;
    hardware h;
    h.platform = T::id;
    h.npu_clock_mhz = T::npu_clock_mhz;
    h.macs_per_cycle = T::macs_per_cycle;
    h.mac_input_lanes = T::mac_input_lanes;
    h.mac_output_lanes = T::mac_output_lanes;
    h.mac_column_lanes = T::mac_column_lanes;
    h.mac_kernel_lanes = T::mac_kernel_lanes;
    h.mac_pointwise_taps = T::mac_pointwise_taps;
    h.mac_efficiency = T::mac_efficiency;
    h.sram_bytes = T::sram_bytes;
    h.dram_bytes_per_second = T::dram_bytes_per_second;
    h.layer_overhead_us = T::layer_overhead_us;
    h.cpu_bytes_per_second = T::cpu_bytes_per_second;
    h.cpu_node_overhead_us = T::cpu_node_overhead_us;
    h.bytes_per_value = 1;  // int8: the width every chip computes in (platform data_types)
    return h;
}

namespace cost_detail {

KTC_DECL std::optional<shape_t> shape_of(const graph::graph& g, const std::string& value);

// Elements of a value; unknown dimensions count as 1, an unknown shape as 0.
KTC_DECL double elements(const graph::graph& g, const std::string& value);

inline double round_up_ratio(double have, double lanes) {  // have / (have rounded up to lanes)
    if (lanes <= 1 || have <= 0) return 1;
    return have / (std::ceil(have / lanes) * lanes);
}

struct mac_work {
    double macs = 0;
    double weights = 0;      // weight values (bias excluded)
    double bias = 0;         // bias values (32-bit on chip)
    double utilisation = 1;  // fraction of the array's lanes doing real work
};

// MACs, weights and array utilisation of one MAC op.
KTC_DECL mac_work mac_op_work(const graph::graph& g, const graph::node& n, const hardware& hw);

// Input rows a Conv cut into `tiles` bands of output rows reads, over the input it reads once when
// untiled: each band reads its rows' receptive field, so neighbouring bands read their overlap
// (the halo, kernel height - stride rows) twice. 1 when untiled.
KTC_DECL double halo_factor(const graph::graph& g, const graph::node& conv, int tiles);

// The nodes an NPU layer led by `lead` takes in: its output stage, while each link has one reader.
KTC_DECL std::vector<graph::vertex> output_stage(const graph::graph& g, graph::vertex lead,
                                                 const std::map<graph::vertex, const node_support*>& where,
                                                 const std::set<graph::vertex>& taken);

}  // namespace cost_detail

// The estimate for `g` with explicit hardware parameters (what the calibration varies).
KTC_DECL performance_estimate estimate_performance(const graph::graph& g, const support_report& support,
                                                   const hardware& hw);

// The estimate for `g` on platform P with P's calibrated hardware (platform_traits<P>).
template <class P>
performance_estimate estimate_performance(const graph::graph& g, const support_report& support) {
    return estimate_performance(g, support, hardware_of<P>());
}

#if !KTC_HEADER_ONLY
// Instantiated once for each chip, in src/ (core/config.hpp).
extern template performance_estimate estimate_performance<platform::kdp520>(const graph::graph&, const support_report&);
extern template performance_estimate estimate_performance<platform::kdp720>(const graph::graph&, const support_report&);
#endif

}  // namespace ktc::eval

#if KTC_HEADER_ONLY
#include "ktc/eval/cost.ipp"
#endif
