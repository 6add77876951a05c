// ktc/graph/ops.hpp - the op registry: what ktc's passes know about each ONNX op, said once.
//
// The quantizer, the compiler's lowering, the cost model and the fixed-point kernel table all ask
// the same questions of an op type (is it a MAC op, may it sit in a MAC layer's output stage,
// does its output keep its input's fixed-point format, ...). Each answer is a trait in the table
// below; every list of op names they use is derived from it. The chips' own operator tables
// (platform/traits.hpp) are facts of the vendor's manual, not of ktc: a test checks that every op
// they name is in this registry. Kernels are looked up by op name in their tables
// (kernels/float/registry.hpp, kernels/fixed/registry.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace ktc::ops {

enum trait : unsigned {
    mac = 1u << 0,                  // multiply-accumulate over a weight tensor (input 1)
    output_stage = 1u << 1,         // may follow a MAC op in its NPU layer's output stage
    keeps_format = 1u << 2,         // only moves or selects data: the output keeps the input's format
    lookup_unary = 1u << 3,         // unary element-wise, computed through a table of every input code
    activation_operands = 1u << 4,  // every input, constants too, is quantized as an activation
    moves_data = 1u << 5,           // lowered as a data-movement step (no MAC layer of its own)
    integer_kernel = 1u << 6,       // the fixed-point simulator computes it on integers only
    row_tiled = 1u << 7,            // element-wise: the compiler tiles it along rows with its input
                                    // (a lookup-table op is, whatever its type: compiler/tiling.hpp)
    relabels = 1u << 8,             // free on the NPU: re-labels or places data (a Concat on channels
                                    // is each producer writing its slice), for the cost model
};

struct op_info {
    std::string_view name;
    unsigned traits;
};

// Sorted by name (checked at compile time below). An op absent here has no trait.
inline constexpr op_info registry[] = {
    {"Abs", lookup_unary | integer_kernel},
    {"Add", output_stage | activation_operands | integer_kernel | row_tiled},
    {"ArgMax", 0},
    {"AveragePool", output_stage | integer_kernel},
    {"BatchNormalization", output_stage | row_tiled},
    {"Cast", moves_data},
    {"Clip", output_stage | lookup_unary | integer_kernel | row_tiled},
    {"Concat", activation_operands | moves_data | integer_kernel | relabels},
    {"Constant", moves_data},
    {"Conv", mac | integer_kernel},
    {"ConvTranspose", mac | integer_kernel},
    {"DepthToSpace", keeps_format | moves_data | integer_kernel},
    {"Div", 0},
    {"Dropout", keeps_format | moves_data | integer_kernel | row_tiled},
    {"Elu", lookup_unary | integer_kernel},
    {"Erf", lookup_unary | integer_kernel},
    {"Exp", lookup_unary | integer_kernel},
    {"Expand", keeps_format | moves_data | integer_kernel},
    {"Flatten", keeps_format | moves_data | integer_kernel | relabels},
    {"Gather", keeps_format | moves_data | integer_kernel},
    {"Gemm", mac | integer_kernel},
    {"GlobalAveragePool", integer_kernel},
    {"GlobalMaxPool", keeps_format | integer_kernel},
    {"HardSigmoid", output_stage | lookup_unary | integer_kernel | row_tiled},
    {"HardSwish", output_stage | lookup_unary | integer_kernel | row_tiled},
    {"Identity", keeps_format | moves_data | integer_kernel | row_tiled},
    {"LeakyRelu", output_stage | lookup_unary | integer_kernel | row_tiled},
    {"Log", lookup_unary | integer_kernel},
    {"LogSoftmax", 0},
    {"MatMul", mac | integer_kernel},
    {"Max", activation_operands},
    {"MaxPool", output_stage | keeps_format | integer_kernel},
    {"MaxRoiPool", 0},
    {"Min", activation_operands},
    {"Mul", output_stage | activation_operands | integer_kernel | row_tiled},
    {"Neg", lookup_unary | integer_kernel},
    {"PRelu", output_stage | integer_kernel | row_tiled},  // an integer slope per channel, no table
    {"Pad", keeps_format | moves_data | integer_kernel},
    {"Reciprocal", lookup_unary | integer_kernel},
    {"ReduceMax", 0},
    {"ReduceMean", 0},
    {"ReduceSum", 0},
    {"Relu", output_stage | lookup_unary | integer_kernel | row_tiled},
    {"Reshape", keeps_format | moves_data | integer_kernel | relabels},
    {"Resize", moves_data | integer_kernel},  // integer in mode "nearest" only (kernels/fixed/layout.hpp)
    {"Selu", lookup_unary | integer_kernel},
    {"Shape", moves_data | integer_kernel},
    {"Sigmoid", output_stage | lookup_unary | integer_kernel | row_tiled},
    {"Slice", keeps_format | moves_data | integer_kernel},
    {"Softmax", 0},
    {"Softplus", lookup_unary | integer_kernel},
    {"SpaceToDepth", keeps_format | moves_data | integer_kernel},
    {"Split", keeps_format | moves_data | integer_kernel},
    {"Sqrt", lookup_unary | integer_kernel},
    {"Squeeze", keeps_format | moves_data | integer_kernel | relabels},
    {"Sub", output_stage | activation_operands | integer_kernel | row_tiled},
    {"Sum", activation_operands},
    {"Tanh", output_stage | lookup_unary | integer_kernel | row_tiled},
    {"Tile", keeps_format | moves_data | integer_kernel},
    {"Transpose", keeps_format | moves_data | integer_kernel},
    {"Unsqueeze", keeps_format | moves_data | integer_kernel | relabels},
    {"Upsample", 0},  // the importer rewrites it into Resize
};

namespace detail {
constexpr bool sorted_and_unique() {
    for (std::size_t i = 1; i < std::size(registry); ++i)
        if (!(registry[i - 1].name < registry[i].name)) return false;
    return true;
}
static_assert(sorted_and_unique(), "ops::registry must stay sorted by name, one row per op");
}  // namespace detail

// The row of `op`, or nullptr when ktc records nothing about it.
constexpr const op_info* find(std::string_view op) {
    const auto* it = std::lower_bound(std::begin(registry), std::end(registry), op,
                                      [](const op_info& row, std::string_view name) { return row.name < name; });
    return it != std::end(registry) && it->name == op ? it : nullptr;
}

constexpr bool has(std::string_view op, trait t) {
    const op_info* row = find(op);
    return row && (row->traits & t) != 0;
}

constexpr bool is_mac(std::string_view op) { return has(op, mac); }
constexpr bool is_output_stage(std::string_view op) { return has(op, output_stage); }
constexpr bool keeps_input_format(std::string_view op) { return has(op, keeps_format); }
constexpr bool uses_lookup_table(std::string_view op) { return has(op, lookup_unary); }
constexpr bool all_inputs_are_activations(std::string_view op) { return has(op, activation_operands); }
constexpr bool moves_data_only(std::string_view op) { return has(op, moves_data); }
constexpr bool has_integer_kernel(std::string_view op) { return has(op, integer_kernel); }
constexpr bool is_row_tiled(std::string_view op) { return has(op, row_tiled); }
constexpr bool only_relabels(std::string_view op) { return has(op, relabels); }

// The names of every op with trait `t`, sorted.
inline std::vector<std::string> with(trait t) {
    std::vector<std::string> names;
    for (const op_info& row : registry)
        if (row.traits & t) names.emplace_back(row.name);
    return names;
}

}  // namespace ktc::ops
