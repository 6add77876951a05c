// ktc/convert/tflite.hpp - a float TFLite flatbuffer -> the ktc graph (NCHW, ONNX opset 17 ops).
//
// The reader (tflite/reader.hpp) verifies the file and hands over tensors and operators; this
// file maps each operator to ONNX nodes. Rank-4 activations are held NCHW from the graph input
// on (tflite/layout.hpp): weights are transposed here, at conversion time, and a Transpose is
// emitted only where a reshape changes the element order, as the vendor's release_mode does.
// The graph's rank-4 inputs and outputs are therefore NCHW; other ranks keep TFLite's shape.
#pragma once

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ktc/convert/tflite/layout.hpp"
#include "ktc/convert/tflite/reader.hpp"
#include "ktc/core/error.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::convert {

namespace tflite {

class converter {
public:
    explicit converter(model m) : m_(std::move(m)), value_(m_.tensors.size()) {}

    graph::graph run() {
        refuse_what_is_not_converted();
        g_.name = std::filesystem::path(m_.path).stem().string();
        for (const auto t : m_.inputs) {
            require_float(t, "graph input");
            value_[t] = unique(tensor_name(t));
            g_.inputs.push_back({value_[t], dtype::float32, held_shape(nhwc(t)), true});
        }
        for (std::size_t i = 0; i < m_.operators.size(); ++i) convert(m_.operators[i], i);
        for (const auto t : m_.outputs) {
            require_float(t, "graph output");
            g_.outputs.push_back({input(t), dtype::float32, held_shape(nhwc(t)), true});
        }
        return std::move(g_);
    }

private:
    using op_info = operator_info;
    using act = schema::activation;

    // ---- refusals, all before any node is made -------------------------------------------------
    void refuse_what_is_not_converted() const {
        for (const auto& t : m_.tensors) {
            const auto type = static_cast<schema::tensor_type>(t.type);
            if (type == schema::tensor_type::int8 || type == schema::tensor_type::uint8 ||
                type == schema::tensor_type::int16)
                throw unsupported_error(m_.path + ": a quantized TFLite model (tensor '" + t.name + "' is " +
                                        schema::type_name(t.type) + "); ktc converts float TFLite models only");
            if (type == schema::tensor_type::float16)
                throw unsupported_error(
                    m_.path + ": tensor '" + t.name +
                    "' is float16 (a float16-quantized model); ktc converts float32 TFLite models only");
        }
        std::string unknown;
        std::set<std::string> named;
        for (std::size_t i = 0; i < m_.operators.size(); ++i) {
            const auto& op = m_.operators[i];
            if (converts(op.opcode)) continue;
            const std::string name = op_name(op);
            if (!named.insert(name).second) continue;
            unknown +=
                (unknown.empty() ? "" : ", ") + name + " (operator " + std::to_string(i) + why_not(op.opcode) + ")";
        }
        if (!unknown.empty())
            throw unsupported_error(m_.path + ": TFLite operator(s) ktc does not convert: " + unknown);
    }

    static std::string why_not(int opcode) {
        switch (opcode) {
            case schema::UNIDIRECTIONAL_SEQUENCE_LSTM:
            case schema::LSTM:
                return ": recurrent ops are not converted (no LSTM on the NPU and none in ktc's simulators)";
            case schema::QUANTIZE:
            case schema::DEQUANTIZE: return ": a quantized model";
            default: return "";
        }
    }

    std::string op_name(const op_info& op) const {
        return op.opcode == schema::CUSTOM ? "CUSTOM '" + op.custom_code + "'" : schema::builtin_name(op.opcode);
    }

    static bool converts(int opcode) {
        static const std::set<int> known = {schema::ADD,
                                            schema::SUB,
                                            schema::MUL,
                                            schema::DIV,
                                            schema::MAXIMUM,
                                            schema::MINIMUM,
                                            schema::CONV_2D,
                                            schema::DEPTHWISE_CONV_2D,
                                            schema::TRANSPOSE_CONV,
                                            schema::FULLY_CONNECTED,
                                            schema::AVERAGE_POOL_2D,
                                            schema::MAX_POOL_2D,
                                            schema::CONCATENATION,
                                            schema::RESHAPE,
                                            schema::SQUEEZE,
                                            schema::EXPAND_DIMS,
                                            schema::TRANSPOSE,
                                            schema::SOFTMAX,
                                            schema::LOG_SOFTMAX,
                                            schema::PAD,
                                            schema::PADV2,
                                            schema::MIRROR_PAD,
                                            schema::MEAN,
                                            schema::REDUCE_MAX,
                                            schema::RESIZE_BILINEAR,
                                            schema::RESIZE_NEAREST_NEIGHBOR,
                                            schema::DEPTH_TO_SPACE,
                                            schema::SPACE_TO_DEPTH,
                                            schema::RELU,
                                            schema::RELU6,
                                            schema::RELU_N1_TO_1,
                                            schema::LEAKY_RELU,
                                            schema::PRELU,
                                            schema::LOGISTIC,
                                            schema::TANH,
                                            schema::ELU,
                                            schema::HARD_SWISH,
                                            schema::EXP,
                                            schema::LOG,
                                            schema::SQRT,
                                            schema::ABS,
                                            schema::NEG};
        return known.count(opcode) != 0;
    }

    // ---- tensors ---------------------------------------------------------------------------------
    const tensor_info& info(std::int32_t t) const {
        // -1 is an absent optional input: an operator whose required input is absent is corrupt.
        if (t < 0 || static_cast<std::size_t>(t) >= m_.tensors.size())
            throw file_error(m_.path, "an operator refers to tensor " + std::to_string(t) + " of " +
                                          std::to_string(m_.tensors.size()));
        return m_.tensors[static_cast<std::size_t>(t)];
    }
    std::string tensor_name(std::int32_t t) const {
        const auto& n = info(t).name;
        return n.empty() ? "tensor_" + std::to_string(t) : n;
    }
    shape_t nhwc(std::int32_t t) const {
        shape_t s;
        for (const auto d : info(t).shape) {
            if (d < 0) throw unsupported_error(m_.path + ": tensor '" + info(t).name + "' has a dynamic shape");
            s.push_back(d);
        }
        return s;
    }
    std::int64_t rank(std::int32_t t) const { return static_cast<std::int64_t>(info(t).shape.size()); }
    bool is_constant(std::int32_t t) const { return !info(t).data.empty(); }

    void require_float(std::int32_t t, const std::string& role) const {
        if (info(t).type != static_cast<std::int8_t>(schema::tensor_type::float32))
            throw unsupported_error(m_.path + ": " + role + " '" + info(t).name + "' is " +
                                    schema::type_name(info(t).type) + ", not float32");
    }

    // A constant tensor's contents as TFLite lays them out (NHWC).
    tensor constant(std::int32_t t) const {
        const auto& ti = info(t);
        dtype type;
        switch (static_cast<schema::tensor_type>(ti.type)) {
            case schema::tensor_type::float32: type = dtype::float32; break;
            case schema::tensor_type::int32: type = dtype::int32; break;
            case schema::tensor_type::int64: type = dtype::int64; break;
            default: throw unsupported_error(m_.path + ": constant '" + ti.name + "' is " + schema::type_name(ti.type));
        }
        const shape_t shape = nhwc(t);
        std::size_t bytes = size_of(type);
        for (const auto d : shape)  // checked before allocating: a corrupt shape may be huge
            bytes = d == 0                                                  ? 0
                    : bytes <= ti.data.size() / static_cast<std::size_t>(d) ? bytes * static_cast<std::size_t>(d)
                                                                            : ti.data.size() + 1;
        if (bytes != ti.data.size())
            throw file_error(m_.path, "constant '" + ti.name + "' has " + std::to_string(ti.data.size()) +
                                          " bytes for shape " + to_string(shape));
        tensor out(type, shape);
        if (bytes) std::memcpy(out.raw(), ti.data.data(), bytes);
        return out;
    }
    std::vector<std::int64_t> constant_ints(std::int32_t t, const std::string& role) const {
        if (t < 0 || !is_constant(t)) throw unsupported_error(m_.path + ": " + role + " must be a constant tensor");
        return constant(t).to_vector<std::int64_t>();
    }
    tensor weights(const op_info& op, std::size_t slot, std::int64_t want_rank) const {
        const auto t = arg(op, slot);
        if (t < 0 || !is_constant(t) || rank(t) != want_rank)
            throw unsupported_error(where(op) + ": input " + std::to_string(slot) + " must be a constant rank-" +
                                    std::to_string(want_rank) + " float tensor");
        return constant(t);
    }

    // ---- the ONNX side ---------------------------------------------------------------------------
    std::string unique(const std::string& base) {
        std::string name = base;
        for (int i = 1; !used_.insert(name).second; ++i) name = base + "_" + std::to_string(i);
        return name;
    }
    std::string initializer(const std::string& base, tensor t) {
        const std::string name = unique(base);
        g_.initializers.emplace(name, std::move(t));
        return name;
    }
    std::string ints_initializer(const std::string& base, const std::vector<std::int64_t>& v) {
        return initializer(
            base, tensor::from<std::int64_t>({static_cast<std::int64_t>(v.size())}, std::span<const std::int64_t>(v)));
    }
    std::string float_scalar(float v) {
        auto [it, fresh] = scalars_.try_emplace(v);
        if (fresh) it->second = initializer("scalar_" + std::to_string(scalars_.size()), tensor::scalar<float>(v));
        return it->second;
    }
    void add(const std::string& op_type, std::vector<std::string> inputs, const std::string& output,
             graph::attributes attrs = {}) {
        g_.add_node(graph::node{output, op_type, "", std::move(attrs), std::move(inputs), {output}});
    }
    std::string where(const op_info& op) const {
        return m_.path + ": " + op_name(op) + " producing '" + info(op.outputs.at(0)).name + "'";
    }

    // The held value of tensor `t`; a constant becomes an initializer (NCHW when rank 4).
    std::string input(std::int32_t t) {
        if (t < 0) throw error(m_.path + ": a required operator input is missing");
        if (!value_[t].empty()) return value_[t];
        if (!is_constant(t))
            throw file_error(m_.path, "tensor '" + info(t).name + "' is read before any operator writes it");
        tensor c = constant(t);
        if (c.rank() == 4) c = permuted(c, perm_vector(to_nchw));
        value_[t] = initializer(tensor_name(t), std::move(c));
        return value_[t];
    }

    // Tensor `t` as an operand of a rank-4 (held NCHW) elementwise op: TFLite broadcasts against
    // the trailing NHWC axes, so a lower-rank operand is padded with leading 1s, then held.
    std::string broadcast_operand(std::int32_t t, std::int64_t out_rank) {
        if (out_rank != 4 || rank(t) == 4) return input(t);
        shape_t four = nhwc(t);
        four.insert(four.begin(), 4 - four.size(), 1);
        if (is_constant(t)) {
            tensor c = constant(t);
            c.reshape(four);
            return initializer(tensor_name(t) + "_nchw", permuted(c, perm_vector(to_nchw)));
        }
        return reshaped(input(t), nhwc(t), four, unique(tensor_name(t) + "_4d"));
    }

    // `value` (held, of TFLite shape `from`) reshaped to TFLite shape `to`, written to `out`.
    // Transposes only where NHWC and NCHW element orders differ.
    std::string reshaped(std::string value, const shape_t& from, const shape_t& to, const std::string& out) {
        if (from.size() == 4 && !same_order_in_both_layouts(from)) {
            const std::string nhwc_value = unique(out + "_nhwc");
            graph::attributes a;
            a.set("perm", perm_vector(to_nhwc));
            add("Transpose", {value}, nhwc_value, a);
            value = nhwc_value;
        }
        if (to.size() == 4 && !same_order_in_both_layouts(to)) {
            const std::string flat = unique(out + "_nhwc");
            add("Reshape", {value, ints_initializer(out + "_shape", to)}, flat);
            graph::attributes a;
            a.set("perm", perm_vector(to_nchw));
            add("Transpose", {flat}, out, a);
            return out;
        }
        add("Reshape", {value, ints_initializer(out + "_shape", held_shape(to))}, out);
        return out;
    }

    // Names the value of output tensor `t`; with a fused activation the op writes a "_linear"
    // value the activation node reads. TFLite's kernels apply a fused activation as a clamp to
    // its range, and TANH and SIGN_BIT have none: the runtime ignores them, so ktc does too.
    void produce(std::int32_t t, act activation, const std::function<void(const std::string&)>& build) {
        value_[t] = unique(tensor_name(t));
        if (activation == act::none || activation == act::tanh || activation == act::sign_bit) return build(value_[t]);
        const std::string linear = unique(value_[t] + "_linear");
        build(linear);
        activation_node(activation, linear, value_[t], t);
    }

    void activation_node(act activation, const std::string& in, const std::string& out, std::int32_t t) {
        switch (activation) {
            case act::relu: return add("Relu", {in}, out);
            case act::relu6: return add("Clip", {in, float_scalar(0.f), float_scalar(6.f)}, out);
            case act::relu_n1_to_1: return add("Clip", {in, float_scalar(-1.f), float_scalar(1.f)}, out);
            default:
                throw unsupported_error(m_.path + ": fused activation " + std::to_string(static_cast<int>(activation)) +
                                        " on '" + info(t).name + "' is not converted");
        }
    }

    static graph::attributes ints_attr(const std::string& name, std::vector<std::int64_t> v) {
        graph::attributes a;
        a.set(name, std::move(v));
        return a;
    }

    // ---- operators -------------------------------------------------------------------------------
    void convert(const op_info& op, std::size_t index) {
        if (op.outputs.empty()) throw file_error(m_.path, "operator " + std::to_string(index) + " has no output");
        for (const auto t : op.outputs) require_float(t, op_name(op) + " output");
        switch (op.opcode) {
            case schema::CONV_2D: return conv2d(op);
            case schema::DEPTHWISE_CONV_2D: return depthwise_conv2d(op);
            case schema::TRANSPOSE_CONV: return transpose_conv(op);
            case schema::FULLY_CONNECTED: return fully_connected(op);
            case schema::AVERAGE_POOL_2D: return pool(op, "AveragePool");
            case schema::MAX_POOL_2D: return pool(op, "MaxPool");
            case schema::ADD: return binary(op, "Add", true);
            case schema::SUB: return binary(op, "Sub", true);
            case schema::MUL: return binary(op, "Mul", true);
            case schema::DIV: return binary(op, "Div", true);
            case schema::MAXIMUM: return binary(op, "Max", false);
            case schema::MINIMUM: return binary(op, "Min", false);
            case schema::CONCATENATION: return concatenation(op);
            case schema::RESHAPE:
            case schema::SQUEEZE:
            case schema::EXPAND_DIMS: return reshape(op);
            case schema::TRANSPOSE: return transpose(op);
            case schema::SOFTMAX: return softmax(op, "Softmax");
            case schema::LOG_SOFTMAX: return softmax(op, "LogSoftmax");
            case schema::PAD:
            case schema::PADV2:
            case schema::MIRROR_PAD: return pad(op);
            case schema::MEAN: return reduce(op, "ReduceMean");
            case schema::REDUCE_MAX: return reduce(op, "ReduceMax");
            case schema::RESIZE_BILINEAR:
            case schema::RESIZE_NEAREST_NEIGHBOR: return resize(op);
            case schema::DEPTH_TO_SPACE: return block_rearrange(op, "DepthToSpace");
            case schema::SPACE_TO_DEPTH: return block_rearrange(op, "SpaceToDepth");
            case schema::RELU: return unary(op, "Relu");
            case schema::LOGISTIC: return unary(op, "Sigmoid");
            case schema::TANH: return unary(op, "Tanh");
            case schema::ELU: return unary(op, "Elu");
            case schema::HARD_SWISH: return unary(op, "HardSwish");
            case schema::EXP: return unary(op, "Exp");
            case schema::LOG: return unary(op, "Log");
            case schema::SQRT: return unary(op, "Sqrt");
            case schema::ABS: return unary(op, "Abs");
            case schema::NEG: return unary(op, "Neg");
            case schema::RELU6: return clip(op, act::relu6);
            case schema::RELU_N1_TO_1: return clip(op, act::relu_n1_to_1);
            case schema::LEAKY_RELU: return leaky_relu(op);
            case schema::PRELU: return prelu(op);
        }
        throw unsupported_error(where(op) + ": not converted");
    }

    // Input `slot` of `op`, which the file must provide.
    std::int32_t arg(const op_info& op, std::size_t slot) const {
        if (slot >= op.inputs.size())
            throw file_error(m_.path, op_name(op) + " producing '" + info(op.outputs[0]).name + "' has no input " +
                                          std::to_string(slot));
        return op.inputs[slot];
    }

    // A stride, dilation or window size from the options: at least 1.
    std::int64_t positive(const op_info& op, std::int64_t v, const char* what) const {
        if (v < 1) throw file_error(m_.path, where(op) + ": " + what + " is " + std::to_string(v));
        return v;
    }

    std::int32_t activation_input(const op_info& op) const {
        const auto x = arg(op, 0);
        if (rank(x) != 4) throw unsupported_error(where(op) + ": the input must be rank 4 (NHWC)");
        return x;
    }

    // Spatial pads [top, left, bottom, right] of a TFLite window op.
    static std::vector<std::int64_t> window_pads(schema::padding padding, const shape_t& in_nhwc, std::int64_t kh,
                                                 std::int64_t kw, std::int64_t sh, std::int64_t sw, std::int64_t dh,
                                                 std::int64_t dw) {
        if (padding == schema::padding::valid) return {0, 0, 0, 0};
        const auto h = same_padding(in_nhwc[1], kh, sh, dh), w = same_padding(in_nhwc[2], kw, sw, dw);
        return {h[0], w[0], h[1], w[1]};
    }

    void conv2d(const op_info& op) {
        namespace f = schema::conv2d_options;
        const auto x = activation_input(op);
        tensor w = weights(op, 1, 4);  // [O, KH, KW, I]
        const shape_t in = nhwc(x), ws = w.shape();
        if (ws[3] <= 0 || in[3] % ws[3] != 0)
            throw unsupported_error(where(op) + ": " + std::to_string(in[3]) + " input channels for filters of depth " +
                                    std::to_string(ws[3]));
        const auto& o = op.options;
        const std::int64_t sh = positive(op, o.i32(f::stride_h, 1), "stride_h"),
                           sw = positive(op, o.i32(f::stride_w, 1), "stride_w");
        const std::int64_t dh = positive(op, o.i32(f::dilation_h, 1), "dilation_h"),
                           dw = positive(op, o.i32(f::dilation_w, 1), "dilation_w");
        graph::attributes a;
        a.set("kernel_shape", std::vector<std::int64_t>{ws[1], ws[2]});
        a.set("strides", std::vector<std::int64_t>{sh, sw});
        a.set("dilations", std::vector<std::int64_t>{dh, dw});
        a.set("pads", window_pads(static_cast<schema::padding>(o.i8(f::padding)), in, ws[1], ws[2], sh, sw, dh, dw));
        a.set("group", in[3] / ws[3]);
        const std::string name = tensor_name(op.outputs[0]);
        std::vector<std::string> ins = {input(x), initializer(name + "_W", permuted(w, {0, 3, 1, 2}))};
        if (op.inputs.size() > 2 && op.inputs[2] >= 0) ins.push_back(input(op.inputs[2]));
        produce(op.outputs[0], static_cast<act>(o.i8(f::activation)),
                [&](const std::string& out) { add("Conv", ins, out, a); });
    }

    void depthwise_conv2d(const op_info& op) {
        namespace f = schema::depthwise_options;
        const auto x = activation_input(op);
        tensor w = weights(op, 1, 4);  // [1, KH, KW, C * multiplier]
        const shape_t in = nhwc(x), ws = w.shape();
        if (ws[0] != 1 || in[3] <= 0 || ws[3] % in[3] != 0)
            throw unsupported_error(where(op) + ": filter shape " + to_string(ws) + " does not fit " +
                                    std::to_string(in[3]) + " input channels");
        const auto& o = op.options;
        const std::int64_t sh = positive(op, o.i32(f::stride_h, 1), "stride_h"),
                           sw = positive(op, o.i32(f::stride_w, 1), "stride_w");
        const std::int64_t dh = positive(op, o.i32(f::dilation_h, 1), "dilation_h"),
                           dw = positive(op, o.i32(f::dilation_w, 1), "dilation_w");
        graph::attributes a;
        a.set("kernel_shape", std::vector<std::int64_t>{ws[1], ws[2]});
        a.set("strides", std::vector<std::int64_t>{sh, sw});
        a.set("dilations", std::vector<std::int64_t>{dh, dw});
        a.set("pads", window_pads(static_cast<schema::padding>(o.i8(f::padding)), in, ws[1], ws[2], sh, sw, dh, dw));
        // Output channel c * multiplier + m reads input channel c: ONNX's grouped Conv with one
        // group per input channel orders its outputs the same way.
        a.set("group", in[3]);
        const std::string name = tensor_name(op.outputs[0]);
        std::vector<std::string> ins = {input(x), initializer(name + "_W", permuted(w, {3, 0, 1, 2}))};
        if (op.inputs.size() > 2 && op.inputs[2] >= 0) ins.push_back(input(op.inputs[2]));
        produce(op.outputs[0], static_cast<act>(o.i8(f::activation)),
                [&](const std::string& out) { add("Conv", ins, out, a); });
    }

    void transpose_conv(const op_info& op) {
        namespace f = schema::transpose_conv_options;
        if (op.inputs.size() < 3) throw file_error(m_.path, where(op) + " has fewer than 3 inputs");
        const auto x = op.inputs[2];
        if (rank(x) != 4) throw unsupported_error(where(op) + ": the input must be rank 4 (NHWC)");
        const auto out_shape = constant_ints(op.inputs[0], where(op) + ": the output shape");
        tensor w = weights(op, 1, 4);  // [O, KH, KW, I]
        const shape_t in = nhwc(x), ws = w.shape();
        if (out_shape.size() != 4 || ws[3] != in[3])
            throw unsupported_error(where(op) + ": filter shape " + to_string(ws) + " does not fit the input");
        const auto& o = op.options;
        const std::int64_t strides[2] = {positive(op, o.i32(f::stride_h, 1), "stride_h"),
                                         positive(op, o.i32(f::stride_w, 1), "stride_w")};
        // The output size is given: total padding = what the full transposed conv would produce
        // beyond it, split as for SAME (odd pixel after); a larger output is output_padding.
        std::vector<std::int64_t> pads(4, 0), extra(2, 0);
        for (int i = 0; i < 2; ++i) {
            const std::int64_t total = (in[1 + i] - 1) * strides[i] + ws[1 + i] - out_shape[1 + i];
            if (total >= 0) pads[i] = total / 2, pads[2 + i] = total - total / 2;
            else extra[i] = -total;
        }
        graph::attributes a;
        a.set("kernel_shape", std::vector<std::int64_t>{ws[1], ws[2]});
        a.set("strides", std::vector<std::int64_t>{strides[0], strides[1]});
        a.set("pads", pads);
        if (extra[0] || extra[1]) a.set("output_padding", extra);
        const std::string name = tensor_name(op.outputs[0]);
        std::vector<std::string> ins = {input(x), initializer(name + "_W", permuted(w, {3, 0, 1, 2}))};
        if (op.inputs.size() > 3 && op.inputs[3] >= 0) ins.push_back(input(op.inputs[3]));
        produce(op.outputs[0], static_cast<act>(o.i8(f::activation)),
                [&](const std::string& out) { add("ConvTranspose", ins, out, a); });
    }

    void fully_connected(const op_info& op) {
        namespace f = schema::fully_connected_options;
        const auto x = arg(op, 0);
        tensor w = weights(op, 1, 2);  // [N, K]
        const auto& o = op.options;
        if (o.i8(f::weights_format) != 0) throw unsupported_error(where(op) + ": shuffled weights are not converted");
        const shape_t in = nhwc(x);
        const std::int64_t k = w.shape()[1], n = w.shape()[0], count = element_count(in);
        if (k <= 0 || count % k != 0)
            throw unsupported_error(where(op) + ": input shape " + to_string(in) + " does not fit weights " +
                                    to_string(w.shape()));
        const std::string name = tensor_name(op.outputs[0]);
        // TFLite flattens the input to [count / K, K] in NHWC order.
        std::string a_in = input(x);
        const shape_t flat = {count / k, k};
        if (in != flat) a_in = reshaped(a_in, in, flat, unique(name + "_flat"));
        std::vector<std::string> ins = {a_in, initializer(name + "_W", std::move(w))};
        if (op.inputs.size() > 2 && op.inputs[2] >= 0) ins.push_back(input(op.inputs[2]));
        graph::attributes a;
        a.set("transB", std::int64_t{1});
        const shape_t out = nhwc(op.outputs[0]), gemm_out = {count / k, n};
        produce(op.outputs[0], static_cast<act>(o.i8(f::activation)), [&](const std::string& result) {
            if (out == gemm_out) return add("Gemm", ins, result, a);
            // keep_num_dims: the output keeps the input's leading axes.
            const std::string product = unique(name + "_gemm");
            add("Gemm", ins, product, a);
            reshaped(product, gemm_out, out, result);
        });
    }

    void pool(const op_info& op, const std::string& onnx_op) {
        namespace f = schema::pool2d_options;
        const auto x = activation_input(op);
        const auto& o = op.options;
        const std::int64_t kh = positive(op, o.i32(f::filter_h, 1), "filter_height"),
                           kw = positive(op, o.i32(f::filter_w, 1), "filter_width");
        const std::int64_t sh = positive(op, o.i32(f::stride_h, 1), "stride_h"),
                           sw = positive(op, o.i32(f::stride_w, 1), "stride_w");
        graph::attributes a;
        a.set("kernel_shape", std::vector<std::int64_t>{kh, kw});
        a.set("strides", std::vector<std::int64_t>{sh, sw});
        a.set("pads", window_pads(static_cast<schema::padding>(o.i8(f::padding)), nhwc(x), kh, kw, sh, sw, 1, 1));
        // TFLite averages over the window's pixels inside the input only.
        if (onnx_op == "AveragePool") a.set("count_include_pad", std::int64_t{0});
        produce(op.outputs[0], static_cast<act>(o.i8(f::activation)),
                [&](const std::string& out) { add(onnx_op, {input(x)}, out, a); });
    }

    void binary(const op_info& op, const std::string& onnx_op, bool has_activation) {
        const auto r = rank(op.outputs[0]);
        std::vector<std::string> ins = {broadcast_operand(arg(op, 0), r), broadcast_operand(arg(op, 1), r)};
        const auto activation =
            has_activation ? static_cast<act>(op.options.i8(schema::arithmetic_options::activation)) : act::none;
        produce(op.outputs[0], activation, [&](const std::string& out) { add(onnx_op, ins, out); });
    }

    void concatenation(const op_info& op) {
        namespace f = schema::concatenation_options;
        const auto r = rank(op.outputs[0]);
        std::vector<std::string> ins;
        for (const auto t : op.inputs) ins.push_back(input(t));
        graph::attributes a;
        a.set("axis", held_axis(op.options.i32(f::axis), r));
        produce(op.outputs[0], static_cast<act>(op.options.i8(f::activation)),
                [&](const std::string& out) { add("Concat", ins, out, a); });
    }

    void reshape(const op_info& op) {
        const auto x = arg(op, 0), y = op.outputs[0];
        if (element_count(nhwc(x)) != element_count(nhwc(y)))
            throw unsupported_error(where(op) + ": output shape " + to_string(nhwc(y)) + " does not hold input " +
                                    to_string(nhwc(x)));
        produce(y, act::none, [&](const std::string& out) { reshaped(input(x), nhwc(x), nhwc(y), out); });
    }

    void transpose(const op_info& op) {
        const auto x = arg(op, 0);
        const auto perm = constant_ints(arg(op, 1), where(op) + ": the permutation");
        std::vector<std::int64_t> held_perm = perm;
        if (perm.size() == 4) {
            // held output axis i = NHWC output axis to_nchw[i] = NHWC input axis perm[to_nchw[i]].
            for (std::size_t i = 0; i < 4; ++i)
                held_perm[i] = held_axis(perm.at(static_cast<std::size_t>(to_nchw[i])), 4);
        }
        produce(op.outputs[0], act::none,
                [&](const std::string& out) { add("Transpose", {input(x)}, out, ints_attr("perm", held_perm)); });
    }

    void softmax(const op_info& op, const std::string& onnx_op) {
        const auto x = arg(op, 0);
        std::string in = input(x);
        if (onnx_op == "Softmax") {
            const float beta = op.options.f32(schema::softmax_options::beta, 1.f);
            if (beta != 1.f) {
                const std::string scaled = unique(tensor_name(op.outputs[0]) + "_scaled");
                add("Mul", {in, float_scalar(beta)}, scaled);
                in = scaled;
            }
        }
        graph::attributes a;
        a.set("axis", held_axis(-1, rank(x)));
        produce(op.outputs[0], act::none, [&](const std::string& out) { add(onnx_op, {in}, out, a); });
    }

    void pad(const op_info& op) {
        const auto x = arg(op, 0);
        const auto r = rank(x);
        const auto paddings = constant_ints(arg(op, 1), where(op) + ": the paddings");
        if (static_cast<std::int64_t>(paddings.size()) != 2 * r)
            throw unsupported_error(where(op) + ": paddings do not match the input's rank");
        std::vector<std::int64_t> pads(static_cast<std::size_t>(2 * r));
        for (std::int64_t a = 0; a < r; ++a) {
            const auto h = static_cast<std::size_t>(held_axis(a, r));
            pads[h] = paddings[static_cast<std::size_t>(2 * a)];
            pads[h + static_cast<std::size_t>(r)] = paddings[static_cast<std::size_t>(2 * a + 1)];
        }
        const std::string name = tensor_name(op.outputs[0]);
        std::vector<std::string> ins = {input(x), ints_initializer(name + "_pads", pads)};
        graph::attributes a;
        if (op.opcode == schema::PADV2 && op.inputs.size() > 2 && op.inputs[2] >= 0) ins.push_back(input(op.inputs[2]));
        if (op.opcode == schema::MIRROR_PAD) {
            if (op.options.i8(schema::mirror_pad_options::mode) != 0)
                throw unsupported_error(where(op) + ": SYMMETRIC mirror padding has no ONNX Pad mode");
            a.set("mode", std::string("reflect"));
        }
        produce(op.outputs[0], act::none, [&](const std::string& out) { add("Pad", ins, out, a); });
    }

    void reduce(const op_info& op, const std::string& onnx_op) {
        const auto x = arg(op, 0);
        const auto r = rank(x);
        std::set<std::int64_t> axes;  // NHWC
        for (auto a : constant_ints(arg(op, 1), where(op) + ": the axes")) axes.insert(a < 0 ? a + r : a);
        const bool keep = op.options.flag(schema::reducer_options::keep_dims);
        std::vector<std::int64_t> held_axes;
        for (const auto a : axes) held_axes.push_back(held_axis(a, r));
        std::sort(held_axes.begin(), held_axes.end());
        graph::attributes a;
        a.set("axes", held_axes);
        a.set("keepdims", std::int64_t{keep});
        // Without keep_dims a rank-4 input leaves a lower-rank result in TFLite's axis order,
        // while the held result lists the kept axes in NCHW order: reorder if they differ.
        std::vector<std::int64_t> kept_nhwc, kept_held;
        if (r == 4 && !keep)
            for (std::int64_t i = 0; i < 4; ++i) {
                if (!axes.count(i)) kept_nhwc.push_back(i);
                if (!axes.count(to_nchw[static_cast<std::size_t>(i)]))
                    kept_held.push_back(to_nchw[static_cast<std::size_t>(i)]);
            }
        produce(op.outputs[0], act::none, [&](const std::string& out) {
            if (kept_nhwc == kept_held) return add(onnx_op, {input(x)}, out, a);
            const std::string reduced = unique(out + "_nchw");
            add(onnx_op, {input(x)}, reduced, a);
            std::vector<std::int64_t> perm;
            for (const auto axis : kept_nhwc)
                perm.push_back(std::find(kept_held.begin(), kept_held.end(), axis) - kept_held.begin());
            add("Transpose", {reduced}, out, ints_attr("perm", perm));
        });
    }

    void resize(const op_info& op) {
        const auto x = activation_input(op);
        const auto size = constant_ints(arg(op, 1), where(op) + ": the size");
        if (size.size() != 2) throw unsupported_error(where(op) + ": the size must have 2 values");
        const shape_t in = nhwc(x);
        const bool bilinear = op.opcode == schema::RESIZE_BILINEAR;
        namespace bl = schema::resize_bilinear_options;
        namespace nn = schema::resize_nearest_options;
        const bool align_corners = op.options.flag(bilinear ? int{bl::align_corners} : int{nn::align_corners});
        const bool half_pixel = op.options.flag(bilinear ? int{bl::half_pixel_centers} : int{nn::half_pixel_centers});
        graph::attributes a;
        a.set("mode", std::string(bilinear ? "linear" : "nearest"));
        // TFLite's source coordinate: align_corners maps corner to corner; half_pixel_centers
        // samples pixel centres (for nearest, floor((x + 0.5) * in / out)); else x * in / out.
        std::string coordinates = align_corners ? "align_corners" : "asymmetric";
        if (half_pixel && !align_corners) coordinates = bilinear ? "half_pixel" : "tf_half_pixel_for_nn";
        a.set("coordinate_transformation_mode", coordinates);
        if (!bilinear) a.set("nearest_mode", std::string(align_corners ? "round_prefer_ceil" : "floor"));
        const std::string sizes =
            ints_initializer(tensor_name(op.outputs[0]) + "_sizes", {in[0], in[3], size[0], size[1]});
        produce(op.outputs[0], act::none, [&](const std::string& out) {
            add("Resize", {input(x), "", "", sizes}, out, a);
        });
    }

    void block_rearrange(const op_info& op, const std::string& onnx_op) {
        const auto x = activation_input(op);
        graph::attributes a;
        a.set("blocksize", std::int64_t{op.options.i32(schema::block_size_options::block_size)});
        // TensorFlow orders the moved channels depth-column-row, ONNX's DCR.
        if (onnx_op == "DepthToSpace") a.set("mode", std::string("DCR"));
        produce(op.outputs[0], act::none, [&](const std::string& out) { add(onnx_op, {input(x)}, out, a); });
    }

    void unary(const op_info& op, const std::string& onnx_op) {
        produce(op.outputs[0], act::none, [&](const std::string& out) { add(onnx_op, {input(arg(op, 0))}, out); });
    }

    void clip(const op_info& op, act bounds) {
        produce(op.outputs[0], act::none,
                [&](const std::string& out) { activation_node(bounds, input(arg(op, 0)), out, op.outputs[0]); });
    }

    void leaky_relu(const op_info& op) {
        graph::attributes a;
        a.set("alpha", op.options.f32(schema::leaky_relu_options::alpha, 0.f));
        produce(op.outputs[0], act::none,
                [&](const std::string& out) { add("LeakyRelu", {input(arg(op, 0))}, out, a); });
    }

    void prelu(const op_info& op) {
        const auto r = rank(op.outputs[0]);
        std::vector<std::string> ins = {input(arg(op, 0)), broadcast_operand(arg(op, 1), r)};
        produce(op.outputs[0], act::none, [&](const std::string& out) { add("PRelu", ins, out); });
    }

    model m_;
    graph::graph g_;
    std::vector<std::string> value_;  // per TFLite tensor: its held ONNX value, once made
    std::set<std::string> used_;      // every value, initializer and node name given out
    std::map<float, std::string> scalars_;
};

}  // namespace tflite

// Reads `path` (a float .tflite file) and returns the equivalent ONNX-style graph. Throws
// file_error for an unreadable or corrupt file, unsupported_error for a quantized model or an
// operator ktc does not convert (all of them named).
inline graph::graph from_tflite(const std::filesystem::path& path) {
    return tflite::converter(tflite::read_model(path)).run();
}

}  // namespace ktc::convert
