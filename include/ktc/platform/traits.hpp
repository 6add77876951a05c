// ktc/platform/traits.hpp - what each chip can do, one member per fact.
//
// Shaped like Eigen's NumTraits: the primary template platform_traits<P> is left undefined (a
// platform without traits does not compile), generic_platform_traits holds the defaults with the
// meaning of every member, and each chip's specialization overrides only what differs. The
// operator limits are the seed manual's section 2.3 (Table 1.1 for KDP520, Table 1.2 for KDP720);
// eval/support.hpp is the one reader that turns them into NPU / CPU / unsupported verdicts.
//
// Members a specialization must provide (the defaults below cover everything else):
//   name         the CLI spelling: "520", "720"
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
        "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Split", "Slice",
        "Pad", "Gather", "Shape", "Cast", "Expand", "Tile", "DepthToSpace", "SpaceToDepth",
        // elementwise
        "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish",
        "Add", "Sub", "Mul", "Div", "Max", "Min", "Exp", "Log", "Sqrt", "Neg", "Abs",
        "BatchNormalization",
        // pooling, reductions, softmax
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean",
        "ReduceMax", "ReduceSum", "ArgMax", "Softmax", "LogSoftmax",
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
    static constexpr std::array<std::int64_t, 2> conv_strides_below = {
        std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::max()};
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

    // ---- hardware, for the cost model --------------------------------------------------------
    // TODO(issue 4, part 2): UNCALIBRATED. The cost model fits MACs per cycle, on-chip memory,
    // DRAM bandwidth and per-op efficiencies against ../shared/reference/perf-calibration.csv.
    // 0 means "unknown"; nothing reads these yet.
    static constexpr double npu_clock_mhz = 0;
    static constexpr double dram_clock_mhz = 0;
    static constexpr double macs_per_cycle = 0;
    static constexpr double sram_bytes = 0;
    static constexpr double dram_bytes_per_second = 0;
};

// KDP520 (KL520): seed manual Table 1.1.
template <>
struct platform_traits<kdp520> : generic_platform_traits {
    static constexpr std::string_view name = "520";
    static constexpr std::string_view ops_table = "Table 1.1";
    static constexpr std::array data_types = {dtype::int8};

    static constexpr std::string_view npu_ops[] = {
        "Conv", "Pad", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
        "Relu", "LeakyRelu", "PRelu", "BatchNormalization", "Add", "Concat", "Gemm",
        "Flatten", "Clip"};

    static constexpr int_range conv_kernel = {1, 11};         // "1x1 up to 11x11"
    static constexpr int_set conv_strides = one_of(1, 2, 4);  // "Strides 1,2,4"
    static constexpr int_range conv_pads = {0, 15};           // "Pad 0-15"
    static constexpr bool conv_plain_or_depthwise_only = true;  // "Depthwise Conv: Yes"
    // No ConvTranspose: "Deconvolution: use Upsampling + Conv".

    static constexpr pool_window max_pool_windows[] = {{3, one_of(1, 2, 3)},
                                                       {2, one_of(1, 2)}};
    static constexpr pool_window average_pool_windows[] = {{3, one_of(1, 2, 3)},
                                                           {2, one_of(1, 2)}};

    static constexpr int_range pad_amounts = {0, 15};  // "Pad 0-15"
    static constexpr int_set concat_axes = one_of(1);
    static constexpr std::optional<float> clip_min = 0.f;

    // Hardware: nothing published (facts §4); Tiny YOLOv3's theoretical conv time implies about
    // 170 GMAC/s. Left to the calibration of part 2.
};

// KDP720 (KL720): seed manual Table 1.2.
template <>
struct platform_traits<kdp720> : generic_platform_traits {
    static constexpr std::string_view name = "720";
    static constexpr std::string_view ops_table = "Table 1.2";
    static constexpr std::array data_types = {dtype::int8, dtype::int16};

    static constexpr std::string_view npu_ops[] = {
        "Relu", "PRelu", "LeakyRelu", "Sigmoid", "Clip", "Tanh", "BatchNormalization", "Conv",
        "Pad", "ConvTranspose", "Upsample", "Resize", "Gemm", "Flatten", "Add", "Concat", "Mul",
        "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "MaxRoiPool", "Slice"};
    // "Resize" is the table's Upsample: the importer rewrites every Upsample into Resize.

    static constexpr std::array<std::int64_t, 2> conv_strides_below = {4, 16};  // "< [4, 16]"
    static constexpr int_set conv_transpose_square_strides = one_of(1, 2);  // "[1,1], [2,2]"

    static constexpr pool_window max_pool_windows[] = {{1}, {2}, {3}};  // kernel [1,1]..[3,3]
    static constexpr pool_window average_pool_windows[] = {{1}, {2}, {3}};
    static constexpr int_range global_average_pool_rank = {4, 4};  // "4D input"

    static constexpr bool pad_spatial_only = true;  // "spacial dimension only"
    static constexpr int_set concat_axes = one_of(1);
    static constexpr std::optional<float> clip_min = 0.f;
    static constexpr int_range gemm_input_rank = {2, 2};       // "2D input"
    static constexpr bool flatten_only_before_gemm = true;    // "Before Gemm"
    static constexpr int_range batch_norm_rank = up_to(4);     // "up to 4D input"
    static constexpr int_range slice_input_rank = up_to(4);    // "input dimension <= 4"

    // Published clocks (facts §4); the rest is left to the calibration of part 2.
    static constexpr double npu_clock_mhz = 700;
    static constexpr double dram_clock_mhz = 533;
};

// Whether the NPU of P computes in integer type `t`.
template <class P>
constexpr bool supports_data_type(dtype t) {
    for (dtype d : platform_traits<P>::data_types)
        if (d == t) return true;
    return false;
}

}  // namespace ktc::platform
