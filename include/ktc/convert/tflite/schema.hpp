// ktc/convert/tflite/schema.hpp - the facts of the TFLite flatbuffer schema (schema.fbs, version 3)
// that the reader needs: field ids of the tables it reads, and the enum values it interprets.
//
// A field's id is its position in the schema's table declaration (a union takes two ids: its type,
// then its value); its vtable slot is 4 + 2 * id.
#pragma once

#include <cstdint>
#include <string>

// One line per schema table, as the schema lays them out:
// clang-format off
namespace ktc::convert::tflite::schema {

inline constexpr const char* file_identifier = "TFL3";

namespace model { enum : int { version = 0, operator_codes = 1, subgraphs = 2, description = 3, buffers = 4 }; }
namespace operator_code { enum : int { deprecated_builtin_code = 0, custom_code = 1, version = 2, builtin_code = 3 }; }
namespace subgraph { enum : int { tensors = 0, inputs = 1, outputs = 2, operators = 3, name = 4 }; }
namespace tensor { enum : int { shape = 0, type = 1, buffer = 2, name = 3, quantization = 4, is_variable = 5, sparsity = 6 }; }
namespace buffer { enum : int { data = 0, offset = 1, size = 2 }; }
namespace op {  // table Operator
enum : int { opcode_index = 0, inputs = 1, outputs = 2, builtin_options_type = 3, builtin_options = 4 };
}

// TensorType
enum class tensor_type : std::int8_t {
    float32 = 0, float16 = 1, int32 = 2, uint8 = 3, int64 = 4, string = 5, boolean = 6, int16 = 7,
    complex64 = 8, int8 = 9, float64 = 10,
};

inline std::string type_name(std::int8_t t) {
    static const char* const names[] = {"float32", "float16", "int32", "uint8", "int64", "string",
                                        "bool", "int16", "complex64", "int8", "float64"};
    return t >= 0 && t < 11 ? names[t] : "type " + std::to_string(t);
}

// Padding
enum class padding : std::int8_t { same = 0, valid = 1 };

// ActivationFunctionType
enum class activation : std::int8_t { none = 0, relu = 1, relu_n1_to_1 = 2, relu6 = 3, tanh = 4, sign_bit = 5 };

// BuiltinOperator: the values the converter handles or names in errors.
enum builtin : int {
    ADD = 0, AVERAGE_POOL_2D = 1, CONCATENATION = 2, CONV_2D = 3, DEPTHWISE_CONV_2D = 4,
    DEPTH_TO_SPACE = 5, DEQUANTIZE = 6, FULLY_CONNECTED = 9, L2_NORMALIZATION = 11, LOGISTIC = 14,
    LSTM = 16, MAX_POOL_2D = 17, MUL = 18, RELU = 19, RELU_N1_TO_1 = 20, RELU6 = 21, RESHAPE = 22,
    RESIZE_BILINEAR = 23, SOFTMAX = 25, SPACE_TO_DEPTH = 26, TANH = 28, CUSTOM = 32, PAD = 34,
    TRANSPOSE = 39, MEAN = 40, SUB = 41, DIV = 42, SQUEEZE = 43, UNIDIRECTIONAL_SEQUENCE_LSTM = 44,
    EXP = 47, LOG_SOFTMAX = 50, PRELU = 54, MAXIMUM = 55, MINIMUM = 57, NEG = 59, PADV2 = 60,
    TRANSPOSE_CONV = 67, EXPAND_DIMS = 70, LOG = 73, SQRT = 75, RSQRT = 76, REDUCE_MAX = 82,
    QUANTIZE = 114, RESIZE_NEAREST_NEIGHBOR = 97, LEAKY_RELU = 98, MIRROR_PAD = 100, ABS = 101,
    ELU = 111, HARD_SWISH = 117,
};

// The names of BuiltinOperator values 0..127 in schema order, for error messages.
inline std::string builtin_name(int code) {
    static const char* const names[] = {
        "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
        "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP",
        "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION",
        "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
        "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL",
        "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER",
        "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
        "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2",
        "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM",
        "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL",
        "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL",
        "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT",
        "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT",
        "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD",
        "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
        "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK", "ELU",
        "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF",
        "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2",
        "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES"};
    constexpr int count = static_cast<int>(sizeof(names) / sizeof(names[0]));
    return code >= 0 && code < count ? names[code] : "builtin operator " + std::to_string(code);
}

// Field ids of the builtin options tables the converter reads.
namespace conv2d_options { enum : int { padding = 0, stride_w = 1, stride_h = 2, activation = 3, dilation_w = 4, dilation_h = 5 }; }
namespace depthwise_options { enum : int { padding = 0, stride_w = 1, stride_h = 2, depth_multiplier = 3, activation = 4, dilation_w = 5, dilation_h = 6 }; }
namespace pool2d_options { enum : int { padding = 0, stride_w = 1, stride_h = 2, filter_w = 3, filter_h = 4, activation = 5 }; }
namespace fully_connected_options { enum : int { activation = 0, weights_format = 1, keep_num_dims = 2 }; }
namespace softmax_options { enum : int { beta = 0 }; }
namespace concatenation_options { enum : int { axis = 0, activation = 1 }; }
namespace arithmetic_options { enum : int { activation = 0 }; }  // Add, Sub, Mul, Div
namespace reducer_options { enum : int { keep_dims = 0 }; }
namespace resize_bilinear_options { enum : int { align_corners = 2, half_pixel_centers = 3 }; }
namespace resize_nearest_options { enum : int { align_corners = 0, half_pixel_centers = 1 }; }
namespace transpose_conv_options { enum : int { padding = 0, stride_w = 1, stride_h = 2, activation = 3 }; }
namespace leaky_relu_options { enum : int { alpha = 0 }; }
namespace mirror_pad_options { enum : int { mode = 0 }; }  // REFLECT = 0, SYMMETRIC = 1
namespace block_size_options { enum : int { block_size = 0 }; }  // SpaceToDepth, DepthToSpace

}  // namespace ktc::convert::tflite::schema
// clang-format on
