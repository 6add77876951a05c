// ktc/platform/traits.hpp - what each chip can do, one member per fact.
//
// Shaped like Eigen's NumTraits: the primary template platform_traits<P> is left undefined (a
// platform without traits does not compile), generic_platform_traits holds the defaults with the
// meaning of every member, and each chip's specialization overrides only what differs. The
// operator limits are the seed manual's section 2.3 (Table 1.1 for KDP520, Table 1.2 for KDP720);
// eval/support.hpp is the one reader that turns them into NPU / CPU / unsupported verdicts.
//
// Members a specialization must provide (the defaults below cover everything else):
//   name, id     the CLI spelling ("520", "720") and the chip value
//   ops_table    where the operator limits come from, for messages
//   data_types   activation/weight integer widths the NPU computes in
//   npu_ops      the op types of the chip's table
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "ktc/core/dtype.hpp"
#include "ktc/platform/limits.hpp"
#include "ktc/platform/tags.hpp"

namespace ktc::platform {

template <class P>
struct platform_traits;  // undefined on purpose: only the chips below have traits

struct generic_platform_traits {
    // ---- operators the chip's CPU runs when the NPU cannot (docs/platforms.md) ---------------
    // The host CPUs (Cortex-M4, plus a DSP on 720) run ops without multiply-accumulate work:
    // data movement, elementwise math, pooling, resampling, softmax. MAC-heavy ops (Conv,
    // ConvTranspose, Gemm, MatMul, recurrent ops) that the NPU refuses are unsupported instead:
    // the vendor's compiler rejects them rather than running them on a microcontroller.
    static constexpr std::string_view cpu_ops[] = {
        // layout and data movement
        "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Split", "Slice", "Pad", "Gather", "Shape",
        "Cast", "Expand", "Tile", "DepthToSpace", "SpaceToDepth",
        // elementwise
        "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Add", "Sub", "Mul", "Div",
        "Max", "Min", "Exp", "Log", "Sqrt", "Neg", "Abs", "BatchNormalization",
        // pooling, reductions, softmax
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax", "ReduceSum",
        "ArgMax", "Softmax", "LogSoftmax",
        // resampling (the importer turns Upsample into Resize)
        "Resize", "Upsample"};
    // Ops that compute nothing at inference: folded into the compiled model, never scheduled.
    static constexpr std::string_view folded_ops[] = {"Constant", "Identity", "Dropout"};

    // ---- operator limits: "no limit" unless a table states one --------------------------------
    // The NPU's sliding-window engine works on 2-D feature maps (NCHW); a 1-D or 3-D Conv or
    // pool is not NPU work. This is ktc's reading: the tables only ever speak of 2-D windows.
    static constexpr std::size_t window_spatial_rank = 2;

    // Conv
    static constexpr int_range conv_kernel = any_int;   // each spatial axis of the kernel
    static constexpr int_set conv_strides = any_value;  // each spatial axis
    // Exclusive upper bound of the stride on each axis (height, width).
    static constexpr std::array<std::int64_t, 2> conv_strides_below = {std::numeric_limits<std::int64_t>::max(),
                                                                       std::numeric_limits<std::int64_t>::max()};
    static constexpr int_range conv_pads = any_int;  // each begin and end pad
    // Only group == 1 or depthwise (one input channel per group); else any grouping.
    static constexpr bool conv_plain_or_depthwise_only = false;

    // ConvTranspose: square strides [s, s] with s from this set.
    static constexpr int_set conv_transpose_square_strides = any_value;

    // Pooling: a node runs on the NPU when it matches one of the windows.
    static constexpr pool_window max_pool_windows[] = {{0, any_value}};
    static constexpr pool_window average_pool_windows[] = {{0, any_value}};
    static constexpr int_range global_average_pool_rank = any_int;

    // Pad node: each pad amount, and whether batch and channel axes must stay unpadded.
    static constexpr int_range pad_amounts = any_int;
    static constexpr bool pad_spatial_only = false;

    static constexpr int_set concat_axes = any_value;
    static constexpr std::optional<float> clip_min = std::nullopt;  // required lower bound
    static constexpr int_range gemm_input_rank = any_int;
    static constexpr bool flatten_only_before_gemm = false;
    static constexpr int_range batch_norm_rank = any_int;
    static constexpr int_range slice_input_rank = any_int;

    // ---- hardware, for the cost model (eval/cost.hpp; docs/cost-model.md) ---------------------
    // Few parameters per chip, none per model; both chips share one model and differ only here.
    // Each value is "published" (kneron-facts §4), "derived" (from a published figure),
    // "assumed", "chosen" (picked once against all published rows of perf-calibration.csv and
    // held fixed since) or "fitted" (refitted by tools/fit_cost_model.cpp, also in every
    // leave-one-out fold). docs/cost-model.md has the table. 0 means unknown.
    static constexpr double npu_clock_mhz = 0;   // NPU (MAC array) clock
    static constexpr double dram_clock_mhz = 0;  // DDR / AXI clock
    static constexpr double macs_per_cycle = 0;  // int8 multiply-accumulates per NPU cycle
    // MAC array geometry: a conv occupies the array in blocks of input channels x output channels
    // x output columns x kernel columns; a partial block wastes the rest of it.
    static constexpr int mac_input_lanes = 1;           // input channels per block (depthwise: 1 used)
    static constexpr int mac_output_lanes = 1;          // output channels per block
    static constexpr int mac_column_lanes = 1;          // output columns (width) per block
    static constexpr int mac_kernel_lanes = 1;          // kernel window k x k per block
    static constexpr int mac_pointwise_taps = 1;        // taps of it a 1x1 conv fills with input channels
    static constexpr double mac_efficiency = 1;         // busy fraction of a perfectly shaped conv
    static constexpr double sram_bytes = 0;             // on-chip memory for feature maps and weights
    static constexpr double dram_bytes_per_second = 0;  // sustained DRAM bandwidth
    static constexpr double layer_overhead_us = 0;      // fixed setup per NPU layer
    static constexpr double cpu_bytes_per_second = 0;   // host CPU throughput on a CPU node's data
    static constexpr double cpu_node_overhead_us = 0;   // fixed cost per CPU node (hand-off)
};

// KDP520 (KL520): seed manual Table 1.1.
template <>
struct platform_traits<kdp520> : generic_platform_traits {
    static constexpr std::string_view name = "520";
    static constexpr chip id = chip::kdp520;
    static constexpr std::string_view ops_table = "Table 1.1";
    static constexpr std::array data_types = {dtype::int8};

    static constexpr std::string_view npu_ops[] = {
        "Conv",          "Pad",    "MaxPool",   "AveragePool", "GlobalAveragePool",
        "GlobalMaxPool", "Relu",   "LeakyRelu", "PRelu",       "BatchNormalization",
        "Add",           "Concat", "Gemm",      "Flatten",     "Clip"};

    static constexpr int_range conv_kernel = {1, 11};           // "1x1 up to 11x11"
    static constexpr int_set conv_strides = one_of(1, 2, 4);    // "Strides 1,2,4"
    static constexpr int_range conv_pads = {0, 15};             // "Pad 0-15"
    static constexpr bool conv_plain_or_depthwise_only = true;  // "Depthwise Conv: Yes"
    // No ConvTranspose: "Deconvolution: use Upsampling + Conv".

    static constexpr pool_window max_pool_windows[] = {{3, one_of(1, 2, 3)}, {2, one_of(1, 2)}};
    static constexpr pool_window average_pool_windows[] = {{3, one_of(1, 2, 3)}, {2, one_of(1, 2)}};

    static constexpr int_range pad_amounts = {0, 15};  // "Pad 0-15"
    static constexpr int_set concat_axes = one_of(1);
    static constexpr std::optional<float> clip_min = 0.f;

    // Hardware, for the cost model: nothing published (facts §4) but Tiny YOLOv3's theoretical
    // conv time, which implies about 170 GMAC/s (clock x MACs below: 172.8). The rest is fitted
    // (docs/cost-model.md).
    static constexpr double npu_clock_mhz = 300;               // assumed: only clock x MACs is constrained
    static constexpr double dram_clock_mhz = 0;                // unpublished
    static constexpr double macs_per_cycle = 576;              // 170 GMAC/s at 300 MHz
    static constexpr int mac_input_lanes = 1;                  // chosen (geometry search, 1..64)
    static constexpr int mac_output_lanes = 1;                 // chosen
    static constexpr int mac_column_lanes = 1;                 // chosen
    static constexpr int mac_kernel_lanes = 3;                 // chosen (search 1..4): 3x3 windows
    static constexpr int mac_pointwise_taps = 8;               // chosen (profile search 1..9, cross-validated)
    static constexpr double mac_efficiency = 0.3483;           // fitted
    static constexpr double sram_bytes = 1.478e6;              // chosen (1.41 MiB)
    static constexpr double dram_bytes_per_second = 0.3798e9;  // fitted
    static constexpr double layer_overhead_us = 0;             // fitted: the optimum is 0
    static constexpr double cpu_bytes_per_second = 50e6;       // assumed (Cortex-M4)
    static constexpr double cpu_node_overhead_us = 100;        // assumed
};

// KDP720 (KL720): seed manual Table 1.2.
template <>
struct platform_traits<kdp720> : generic_platform_traits {
    static constexpr std::string_view name = "720";
    static constexpr chip id = chip::kdp720;
    static constexpr std::string_view ops_table = "Table 1.2";
    static constexpr std::array data_types = {dtype::int8, dtype::int16};

    static constexpr std::string_view npu_ops[] = {"Relu",
                                                   "PRelu",
                                                   "LeakyRelu",
                                                   "Sigmoid",
                                                   "Clip",
                                                   "Tanh",
                                                   "BatchNormalization",
                                                   "Conv",
                                                   "Pad",
                                                   "ConvTranspose",
                                                   "Upsample",
                                                   "Resize",
                                                   "Gemm",
                                                   "Flatten",
                                                   "Add",
                                                   "Concat",
                                                   "Mul",
                                                   "MaxPool",
                                                   "AveragePool",
                                                   "GlobalAveragePool",
                                                   "GlobalMaxPool",
                                                   "MaxRoiPool",
                                                   "Slice"};
    // "Resize" is the table's Upsample: the importer rewrites every Upsample into Resize.

    static constexpr std::array<std::int64_t, 2> conv_strides_below = {4, 16};  // "< [4, 16]"
    static constexpr int_set conv_transpose_square_strides = one_of(1, 2);      // "[1,1], [2,2]"

    static constexpr pool_window max_pool_windows[] = {{1}, {2}, {3}};  // kernel [1,1]..[3,3]
    static constexpr pool_window average_pool_windows[] = {{1}, {2}, {3}};
    static constexpr int_range global_average_pool_rank = {4, 4};  // "4D input"

    static constexpr bool pad_spatial_only = true;  // "spacial dimension only"
    static constexpr int_set concat_axes = one_of(1);
    static constexpr std::optional<float> clip_min = 0.f;
    static constexpr int_range gemm_input_rank = {2, 2};     // "2D input"
    static constexpr bool flatten_only_before_gemm = true;   // "Before Gemm"
    static constexpr int_range batch_norm_rank = up_to(4);   // "up to 4D input"
    static constexpr int_range slice_input_rank = up_to(4);  // "input dimension <= 4"

    // Hardware, for the cost model: published clocks (facts §4); the rest is fitted
    // (docs/cost-model.md).
    static constexpr double npu_clock_mhz = 700;     // measured (published default)
    static constexpr double dram_clock_mhz = 533;    // measured (published)
    static constexpr double macs_per_cycle = 1024;   // assumed (about 2x KL530's 512 x 500 MHz)
    static constexpr int mac_input_lanes = 2;        // chosen (geometry search, 1..64)
    static constexpr int mac_output_lanes = 32;      // chosen
    static constexpr int mac_column_lanes = 1;       // chosen
    static constexpr int mac_kernel_lanes = 3;       // chosen (search 1..4): 3x3 windows
    static constexpr int mac_pointwise_taps = 4;     // chosen (search 1..9)
    static constexpr double mac_efficiency = 0.653;  // fitted
    static constexpr double sram_bytes = 2.729e6;    // chosen (2.6 MiB)
    // fitted; above DDR 533 MHz x 2 x 32 bit = 4.26 GB/s, so the bus is wider than 32 bit or
    // some feature-map traffic is hidden after all (docs/cost-model.md)
    static constexpr double dram_bytes_per_second = 4.778e9;
    static constexpr double layer_overhead_us = 0;         // fitted: the optimum is 0
    static constexpr double cpu_bytes_per_second = 200e6;  // assumed (Cortex-M4 + DSP)
    static constexpr double cpu_node_overhead_us = 50;     // assumed
};

// Whether the NPU of P computes in integer type `t`.
template <class P>
constexpr bool supports_data_type(dtype t) {
    for (dtype d : platform_traits<P>::data_types)
        if (d == t) return true;
    return false;
}

}  // namespace ktc::platform
