// ktc/convert/keras/layers.hpp - one function per Keras layer class: its inputs (held values) ->
// ONNX opset-17 nodes -> its output, with Keras's output shape worked out here (the converter
// needs it for padding, Flatten and Reshape). `layer_converters()` is the one table of classes.
//
// Weights are transposed once, here, from Keras's channels-last layout to ONNX's: Conv kernels
// (kh,kw,in,out) -> (out,in,kh,kw), depthwise (kh,kw,in,m) -> (in*m,1,kh,kw), transposed-conv
// kernels (kh,kw,out,in) -> (in,out,kh,kw). Dense kernels (in,out) stay: Gemm reads them as B.
#pragma once

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <numeric>

#include "ktc/convert/keras/builder.hpp"

namespace ktc::convert::keras {

using layer_converter = std::function<value(layer_builder&, const std::vector<value>&)>;

namespace layers {

inline const value& only_input(layer_builder& b, const std::vector<value>& in, std::size_t rank = 0) {
    if (in.size() != 1) b.malformed("expects one input, has " + std::to_string(in.size()));
    if (rank && in[0].shape.size() != rank)
        b.unsupported("input of rank " + std::to_string(in[0].shape.size()) + "; ktc converts rank " +
                      std::to_string(rank) + " here (batch included)");
    return in[0];
}

// ---- activations (the `activation` of a layer or an Activation layer) -------------------------
inline value activate(layer_builder& b, const value& x, const std::string& activation) {
    // The activation's node makes the layer's result, so it carries the layer's name.
    const std::string part;
    auto unary = [&](const std::string& op, graph::attributes a = {}) {
        return value{b.node(op, {x.name}, std::move(a), part), x.shape};
    };
    if (activation == "linear") return x;
    if (activation == "relu") return unary("Relu");
    if (activation == "sigmoid") return unary("Sigmoid");
    if (activation == "tanh") return unary("Tanh");
    if (activation == "softplus") return unary("Softplus");
    if (activation == "softsign") return unary("Softsign");
    if (activation == "selu") return unary("Selu");  // ONNX's default alpha and gamma are Keras's
    if (activation == "exponential") return unary("Exp");
    graph::attributes a;
    if (activation == "elu") {
        a.set("alpha", 1.f);
        return unary("Elu", a);
    }
    if (activation == "hard_sigmoid") {  // Keras: clip(0.2 x + 0.5, 0, 1)
        a.set("alpha", 0.2f);
        a.set("beta", 0.5f);
        return unary("HardSigmoid", a);
    }
    if (activation == "softmax") {
        a.set("axis", held_axis(-1, x.shape.size()));
        return unary("Softmax", a);
    }
    if (activation == "relu6")
        return value{b.node("Clip", {x.name, b.floats("min", {}, {0.f}), b.floats("max", {}, {6.f})}, {}, part),
                     x.shape};
    if (activation == "swish") {
        const std::string s = b.node("Sigmoid", {x.name}, {}, "swish_sigmoid");
        return value{b.node("Mul", {x.name, s}, {}, part), x.shape};
    }
    b.unsupported("activation '" + activation + "' is not one ktc converts");
}

inline value fused_activation(layer_builder& b, const value& x) {
    return activate(b, x, b.text("activation", "linear"));
}

// ---- convolution windows -----------------------------------------------------------------------
struct window {
    std::vector<std::int64_t> pads;  // ONNX order: begin of each axis, then end of each axis
    std::vector<std::int64_t> out;   // output size of each spatial axis
};

// TensorFlow's rule: "valid" takes whole windows only; "same" makes out = ceil(in / stride) and
// pads the total needed, the odd element at the end.
inline window spatial_window(layer_builder& b, const std::vector<std::int64_t>& in,
                             const std::vector<std::int64_t>& kernel, const std::vector<std::int64_t>& strides,
                             const std::vector<std::int64_t>& dilations) {
    const std::string padding = b.text("padding", "valid");
    if (padding != "same" && padding != "valid") b.unsupported("padding '" + padding + "'");
    const std::size_t r = in.size();
    window w{std::vector<std::int64_t>(2 * r, 0), std::vector<std::int64_t>(r, 0)};
    for (std::size_t d = 0; d < r; ++d) {
        if (kernel[d] < 1 || strides[d] < 1 || dilations[d] < 1)
            b.malformed("kernel, strides and dilation must be positive");
        const std::int64_t span = (kernel[d] - 1) * dilations[d] + 1;
        if (padding == "valid") {
            if (in[d] < span) b.malformed("window larger than its input");
            w.out[d] = (in[d] - span) / strides[d] + 1;
        } else {
            w.out[d] = (in[d] + strides[d] - 1) / strides[d];
            const std::int64_t total = std::max<std::int64_t>((w.out[d] - 1) * strides[d] + span - in[d], 0);
            w.pads[d] = total / 2;
            w.pads[d + r] = total - total / 2;
        }
    }
    return w;
}

inline graph::attributes window_attrs(const std::vector<std::int64_t>& kernel, const std::vector<std::int64_t>& strides,
                                      const window& w) {
    graph::attributes a;
    a.set("kernel_shape", kernel);
    a.set("strides", strides);
    a.set("pads", w.pads);
    return a;
}

// ---- convolutions ------------------------------------------------------------------------------
inline value conv2d(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in, 4);
    b.require_channels_last();
    const auto kernel = b.integers("kernel_size", 2), strides = b.integers("strides", 2, {{1, 1}}),
               dilations = b.integers("dilation_rate", 2, {{1, 1}});
    const std::int64_t filters = b.integer("filters"), groups = b.integer("groups", 1), channels = x.shape[3];
    if (groups < 1 || channels % groups || filters % groups) b.malformed("groups does not divide the channels");
    const window w = spatial_window(b, {x.shape[1], x.shape[2]}, kernel, strides, dilations);
    graph::attributes a = window_attrs(kernel, strides, w);
    a.set("dilations", dilations);
    a.set("group", groups);
    std::vector<std::string> inputs = {
        x.name, b.initializer("kernel", permuted(b.weight("kernel", {kernel[0], kernel[1], channels / groups, filters}),
                                                 {3, 2, 0, 1}))};
    if (b.flag("use_bias", true)) inputs.push_back(b.initializer("bias", b.weight("bias", {filters})));
    const value y{
        b.node("Conv", std::move(inputs), std::move(a), b.text("activation", "linear") == "linear" ? "" : "conv"),
        {1, w.out[0], w.out[1], filters}};
    return fused_activation(b, y);
}

// The depthwise step of DepthwiseConv2D and SeparableConv2D: one group per input channel.
inline value depthwise_step(layer_builder& b, const value& x, bool with_bias, const std::string& part) {
    const auto kernel = b.integers("kernel_size", 2), strides = b.integers("strides", 2, {{1, 1}}),
               dilations = b.integers("dilation_rate", 2, {{1, 1}});
    const std::int64_t channels = x.shape[3], multiplier = b.integer("depth_multiplier", 1);
    const window w = spatial_window(b, {x.shape[1], x.shape[2]}, kernel, strides, dilations);
    graph::attributes a = window_attrs(kernel, strides, w);
    a.set("dilations", dilations);
    a.set("group", channels);
    // (kh,kw,c,m) -> output channel c*m + j: flatten (c,m), move it first, add the group axis.
    tensor k = b.weight("depthwise_kernel", {kernel[0], kernel[1], channels, multiplier});
    k = permuted(std::move(k).reshaped({kernel[0], kernel[1], channels * multiplier}), {2, 0, 1})
            .reshaped({channels * multiplier, 1, kernel[0], kernel[1]});
    std::vector<std::string> inputs = {x.name, b.initializer("depthwise_kernel", std::move(k))};
    if (with_bias) inputs.push_back(b.initializer("bias", b.weight("bias", {channels * multiplier})));
    return {b.node("Conv", std::move(inputs), std::move(a), part), {1, w.out[0], w.out[1], channels * multiplier}};
}

inline value depthwise_conv2d(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in, 4);
    b.require_channels_last();
    const bool has_activation = b.text("activation", "linear") != "linear";
    return fused_activation(b, depthwise_step(b, x, b.flag("use_bias", true), has_activation ? "conv" : ""));
}

inline value separable_conv2d(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in, 4);
    b.require_channels_last();
    const value d = depthwise_step(b, x, false, "depthwise");
    const std::int64_t filters = b.integer("filters"), channels = d.shape[3];
    graph::attributes a;
    a.set("kernel_shape", std::vector<std::int64_t>{1, 1});
    std::vector<std::string> inputs = {
        d.name, b.initializer("pointwise_kernel",
                              permuted(b.weight("pointwise_kernel", {1, 1, channels, filters}), {3, 2, 0, 1}))};
    if (b.flag("use_bias", true)) inputs.push_back(b.initializer("bias", b.weight("bias", {filters})));
    const value y{
        b.node("Conv", std::move(inputs), std::move(a), b.text("activation", "linear") == "linear" ? "" : "pointwise"),
        {1, d.shape[1], d.shape[2], filters}};
    return fused_activation(b, y);
}

// Keras's output length of a transposed convolution, then the pads TensorFlow's gradient of the
// matching forward convolution implies; what those pads leave short is ONNX output_padding.
inline value conv2d_transpose(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in, 4);
    b.require_channels_last();
    const auto kernel = b.integers("kernel_size", 2), strides = b.integers("strides", 2, {{1, 1}}),
               dilations = b.integers("dilation_rate", 2, {{1, 1}});
    const std::int64_t filters = b.integer("filters"), channels = x.shape[3];
    const std::string padding = b.text("padding", "valid");
    if (padding != "same" && padding != "valid") b.unsupported("padding '" + padding + "'");
    std::vector<std::int64_t> pads(4, 0), output_padding(2, 0), out(2, 0);
    const bool keras_output_padding = b.has("output_padding");
    const auto given = keras_output_padding ? b.integers("output_padding", 2) : std::vector<std::int64_t>{0, 0};
    for (int d = 0; d < 2; ++d) {
        const std::int64_t n = x.shape[1 + d], s = strides[d], span = (kernel[d] - 1) * dilations[d] + 1;
        if (kernel[d] < 1 || s < 1 || dilations[d] < 1) b.malformed("kernel, strides and dilation must be positive");
        if (!keras_output_padding) out[d] = padding == "same" ? n * s : n * s + std::max<std::int64_t>(span - s, 0);
        else out[d] = (n - 1) * s + span + given[d] - (padding == "same" ? 2 * (span / 2) : 0);
        const std::int64_t total = padding == "same" ? std::max<std::int64_t>((n - 1) * s + span - out[d], 0) : 0;
        pads[d] = total / 2;
        pads[d + 2] = total - total / 2;
        output_padding[d] = out[d] - ((n - 1) * s + span - total);
        if (output_padding[d] < 0) b.unsupported("an output_padding that crops the output");
    }
    graph::attributes a;
    a.set("kernel_shape", kernel);
    a.set("strides", strides);
    a.set("dilations", dilations);
    a.set("pads", pads);
    a.set("output_padding", output_padding);
    std::vector<std::string> inputs = {
        x.name,
        b.initializer("kernel", permuted(b.weight("kernel", {kernel[0], kernel[1], filters, channels}), {3, 2, 0, 1}))};
    if (b.flag("use_bias", true)) inputs.push_back(b.initializer("bias", b.weight("bias", {filters})));
    const value y{b.node("ConvTranspose", std::move(inputs), std::move(a),
                         b.text("activation", "linear") == "linear" ? "" : "conv_transpose"),
                  {1, out[0], out[1], filters}};
    return fused_activation(b, y);
}

// ---- dense ---------------------------------------------------------------------------------------
inline value dense(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    if (x.shape.size() < 2) b.unsupported("input of rank < 2");
    const std::int64_t units = b.integer("units"), features = x.shape.back();
    const std::string kernel = b.initializer("kernel", b.weight("kernel", {features, units}));
    const bool bias = b.flag("use_bias", true);
    const std::string bias_name = bias ? b.initializer("bias", b.weight("bias", {units})) : "";
    const bool has_activation = b.text("activation", "linear") != "linear";
    shape_t out_shape = x.shape;
    out_shape.back() = units;
    if (x.shape.size() == 2) {
        std::vector<std::string> inputs = {x.name, kernel};
        if (bias) inputs.push_back(bias_name);
        return fused_activation(b, {b.node("Gemm", std::move(inputs), {}, has_activation ? "gemm" : ""), out_shape});
    }
    // Dense on a higher-rank tensor acts on Keras's last axis.
    std::string y = b.node("MatMul", {b.to_keras_layout(x), kernel}, {}, "matmul");
    if (bias) y = b.node("Add", {y, bias_name}, {}, "bias");
    return fused_activation(b, b.from_keras_layout(y, out_shape, has_activation ? "to_nchw" : ""));
}

// ---- normalization -------------------------------------------------------------------------------
inline value batch_normalization(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    const std::size_t rank = x.shape.size();
    std::int64_t axis = -1;
    if (b.has("axis") && b.config()["axis"].is_array()) {
        if (b.config()["axis"].size() != 1) b.unsupported("normalization over several axes");
        axis = b.config()["axis"][0].get<std::int64_t>();
    } else {
        axis = b.integer("axis", -1);
    }
    const std::int64_t keras_axis = normalize_axis(axis, static_cast<std::int64_t>(rank));
    if (keras_axis == 0) b.unsupported("normalization over the batch axis");
    const std::int64_t c = x.shape[keras_axis];
    const float epsilon = static_cast<float>(b.number("epsilon", 1e-3));
    std::vector<float> gamma(c, 1.f), beta(c, 0.f);
    if (b.flag("scale", true))
        gamma.assign(b.weight("gamma", {c}).values<float>().begin(), b.weight("gamma", {c}).values<float>().end());
    if (b.flag("center", true))
        beta.assign(b.weight("beta", {c}).values<float>().begin(), b.weight("beta", {c}).values<float>().end());
    const auto mean = b.weight("moving_mean", {c}).values<float>();
    const auto variance = b.weight("moving_variance", {c}).values<float>();
    const std::int64_t axis_held = held_axis(keras_axis, rank);
    if (axis_held == 1) {
        graph::attributes a;
        a.set("epsilon", epsilon);
        return {b.node("BatchNormalization",
                       {x.name, b.floats("gamma", {c}, gamma), b.floats("beta", {c}, beta),
                        b.floats("moving_mean", {c}, {mean.begin(), mean.end()}),
                        b.floats("moving_variance", {c}, {variance.begin(), variance.end()})},
                       std::move(a)),
                x.shape};
    }
    // Another axis: the same affine map as a broadcast Mul and Add.
    std::vector<float> scale(c), shift(c);
    for (std::int64_t i = 0; i < c; ++i) {
        scale[i] = gamma[i] / std::sqrt(variance[i] + epsilon);
        shift[i] = beta[i] - mean[i] * scale[i];
    }
    shape_t bshape(rank, 1);
    bshape[axis_held] = c;
    const std::string scaled = b.node("Mul", {x.name, b.floats("scale", bshape, scale)}, {}, "scale");
    return {b.node("Add", {scaled, b.floats("shift", bshape, shift)}), x.shape};
}

// keras_contrib's InstanceNormalization: (x - mean) / (std + epsilon) * gamma + beta, the moments
// taken per sample over every non-batch axis except `axis` (all of them when axis is None). The
// epsilon is added to the standard deviation, so ONNX InstanceNormalization (epsilon under the
// root) is not the same function: the formula is written out.
inline value instance_normalization(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    const std::size_t rank = x.shape.size();
    std::int64_t kept = -1;  // held axis with its own gamma/beta, -1 for none
    if (b.has("axis")) {
        const std::int64_t k = normalize_axis(b.integer("axis"), static_cast<std::int64_t>(rank));
        if (k == 0) b.unsupported("normalization over the batch axis");
        kept = held_axis(k, rank);
    }
    std::vector<std::int64_t> axes;
    for (std::int64_t a = 1; a < static_cast<std::int64_t>(rank); ++a)
        if (a != kept) axes.push_back(a);
    const std::int64_t c = kept < 0 ? 1 : held_shape(x.shape)[kept];
    shape_t bshape(rank, 1);
    if (kept >= 0) bshape[kept] = c;
    graph::attributes reduce;
    reduce.set("axes", axes);
    reduce.set("keepdims", std::int64_t{1});
    const std::string mean = b.node("ReduceMean", {x.name}, reduce, "mean");
    const std::string centered = b.node("Sub", {x.name, mean}, {}, "centered");
    const std::string square = b.node("Mul", {centered, centered}, {}, "square");
    const std::string variance = b.node("ReduceMean", {square}, reduce, "variance");
    const std::string stddev = b.node("Sqrt", {variance}, {}, "stddev");
    const std::string denominator = b.node(
        "Add", {stddev, b.floats("epsilon", {}, {static_cast<float>(b.number("epsilon", 1e-3))})}, {}, "denominator");
    const bool scale = b.flag("scale", true), center = b.flag("center", true);
    std::string y = b.node("Div", {centered, denominator}, {}, scale || center ? "normalized" : "");
    if (scale)
        y = b.node("Mul", {y, b.initializer("gamma", tensor(b.weight("gamma", {c})).reshaped(bshape))}, {},
                   center ? "scaled" : "");
    if (center) y = b.node("Add", {y, b.initializer("beta", tensor(b.weight("beta", {c})).reshaped(bshape))});
    return {y, x.shape};
}

// ---- pooling -------------------------------------------------------------------------------------
inline value pooling(layer_builder& b, const std::vector<value>& in, const std::string& op) {
    const value& x = only_input(b, in, 4);
    b.require_channels_last();
    const auto kernel = b.integers("pool_size", 2, {{2, 2}});
    const auto strides = b.integers("strides", 2, kernel);
    const window w = spatial_window(b, {x.shape[1], x.shape[2]}, kernel, strides, {1, 1});
    // AveragePool's default count_include_pad=0 divides by the valid elements, as TensorFlow does.
    return {b.node(op, {x.name}, window_attrs(kernel, strides, w)), {1, w.out[0], w.out[1], x.shape[3]}};
}

inline value global_pooling(layer_builder& b, const std::vector<value>& in, const std::string& op) {
    const value& x = only_input(b, in, 4);
    b.require_channels_last();
    if (b.flag("keepdims", false)) return {b.node(op, {x.name}), {1, 1, 1, x.shape[3]}};
    const std::string pooled = b.node(op, {x.name}, {}, "pool");
    return {b.node("Flatten", {pooled}), {1, x.shape[3]}};
}

// ---- merging -------------------------------------------------------------------------------------
inline shape_t merged_shape(layer_builder& b, const std::vector<value>& in) {
    if (in.size() < 2) b.malformed("a merge layer needs at least two inputs");
    for (const auto& v : in)
        if (v.shape != in[0].shape)
            b.unsupported("inputs of different shapes " + to_string(in[0].shape) + " and " + to_string(v.shape));
    return in[0].shape;
}

// Add, Multiply: a chain of binary nodes; Maximum, Minimum, Average: one variadic node.
inline value merge(layer_builder& b, const std::vector<value>& in, const std::string& op, bool variadic) {
    const shape_t shape = merged_shape(b, in);
    if (variadic) {
        std::vector<std::string> names;
        for (const auto& v : in) names.push_back(v.name);
        return {b.node(op, std::move(names)), shape};
    }
    std::string acc = in[0].name;
    for (std::size_t i = 1; i < in.size(); ++i)
        acc = b.node(op, {acc, in[i].name}, {}, i + 1 == in.size() ? "" : "partial");
    return {acc, shape};
}

inline value subtract(layer_builder& b, const std::vector<value>& in) {
    if (in.size() != 2) b.malformed("Subtract needs exactly two inputs");
    return {b.node("Sub", {in[0].name, in[1].name}), merged_shape(b, in)};
}

inline value concatenate(layer_builder& b, const std::vector<value>& in) {
    if (in.empty()) b.malformed("no inputs");
    const std::size_t rank = in[0].shape.size();
    const std::int64_t axis = normalize_axis(b.integer("axis", -1), static_cast<std::int64_t>(rank));
    if (axis == 0) b.unsupported("concatenation along the batch axis");
    shape_t shape = in[0].shape;
    shape[axis] = 0;
    std::vector<std::string> names;
    for (const auto& v : in) {
        for (std::size_t d = 0; d < rank; ++d)
            if (v.shape.size() != rank || (static_cast<std::int64_t>(d) != axis && v.shape[d] != in[0].shape[d]))
                b.malformed("inputs " + to_string(in[0].shape) + " and " + to_string(v.shape) + " do not concatenate");
        shape[axis] += v.shape[axis];
        names.push_back(v.name);
    }
    graph::attributes a;
    a.set("axis", held_axis(axis, rank));
    return {b.node("Concat", std::move(names), std::move(a)), shape};
}

// ---- spatial reshaping ---------------------------------------------------------------------------
// ZeroPadding2D's and Cropping2D's amounts: n, (h, w) or ((top, bottom), (left, right)).
inline std::array<std::int64_t, 4> edges(layer_builder& b, const std::string& key, std::int64_t fallback) {
    if (!b.has(key)) return {fallback, fallback, fallback, fallback};
    const json& v = b.config()[key];
    auto num = [&](const json& e) {
        if (!e.is_number_integer() || e.get<std::int64_t>() < 0) b.malformed("'" + key + "' is not a list of counts");
        return e.get<std::int64_t>();
    };
    if (v.is_number_integer()) return {num(v), num(v), num(v), num(v)};
    if (!v.is_array() || v.size() != 2) b.malformed("'" + key + "' is not two entries");
    if (v[0].is_array() && v[1].is_array() && v[0].size() == 2 && v[1].size() == 2)
        return {num(v[0][0]), num(v[0][1]), num(v[1][0]), num(v[1][1])};  // top, bottom, left, right
    return {num(v[0]), num(v[0]), num(v[1]), num(v[1])};
}

inline value zero_padding2d(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in, 4);
    b.require_channels_last();
    const auto [top, bottom, left, right] = edges(b, "padding", 1);
    const std::string pads = b.int64s("pads", {0, 0, top, left, 0, 0, bottom, right});
    return {b.node("Pad", {x.name, pads}), {1, x.shape[1] + top + bottom, x.shape[2] + left + right, x.shape[3]}};
}

inline value cropping2d(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in, 4);
    b.require_channels_last();
    const auto [top, bottom, left, right] = edges(b, "cropping", 0);
    const std::int64_t h = x.shape[1] - top - bottom, w = x.shape[2] - left - right;
    if (h <= 0 || w <= 0) b.malformed("crops more than its input");
    return {b.node("Slice", {x.name, b.int64s("starts", {top, left}), b.int64s("ends", {top + h, left + w}),
                             b.int64s("axes", {2, 3})}),
            {1, h, w, x.shape[3]}};
}

inline value up_sampling2d(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in, 4);
    b.require_channels_last();
    const auto size = b.integers("size", 2, {{2, 2}});
    const std::string interpolation = b.text("interpolation", "nearest");
    // Keras's bilinear changed its pixel-centre convention between TensorFlow versions that write
    // the same keras_version, so the file does not say which function it means.
    if (interpolation != "nearest") b.unsupported("interpolation '" + interpolation + "' (ktc converts nearest)");
    graph::attributes a;
    a.set("mode", std::string("nearest"));
    a.set("coordinate_transformation_mode", std::string("asymmetric"));
    a.set("nearest_mode", std::string("floor"));
    const std::string scales = b.floats("scales", {4}, {1.f, 1.f, float(size[0]), float(size[1])});
    return {b.node("Resize", {x.name, "", scales}, std::move(a)),
            {1, x.shape[1] * size[0], x.shape[2] * size[1], x.shape[3]}};
}

// ---- shape ---------------------------------------------------------------------------------------
// Flatten keeps Keras's element order: a 4-D input goes back to NHWC first (the Transpose before
// Flatten; ktc optimize's fold_transpose_into_gemm folds it into a following Dense's weights).
inline value flatten(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    if (held_as_nchw(x.shape)) b.require_channels_last();
    const std::int64_t n = std::accumulate(x.shape.begin() + 1, x.shape.end(), std::int64_t{1}, std::multiplies<>());
    graph::attributes a;
    a.set("axis", std::int64_t{1});
    return {b.node("Flatten", {b.to_keras_layout(x)}, std::move(a)), {1, n}};
}

inline value reshape(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    if (!b.has("target_shape") || !b.config()["target_shape"].is_array()) b.malformed("no target_shape");
    const std::int64_t count = std::accumulate(x.shape.begin(), x.shape.end(), std::int64_t{1}, std::multiplies<>());
    shape_t shape = {1};
    std::int64_t known = 1, unknown_at = -1;
    for (const auto& e : b.config()["target_shape"]) {
        const std::int64_t d = e.is_null() ? -1 : e.get<std::int64_t>();
        if (d == -1) {
            if (unknown_at >= 0) b.malformed("target_shape has two unknown dimensions");
            unknown_at = static_cast<std::int64_t>(shape.size());
        } else if (d <= 0) {
            b.malformed("target_shape has a non-positive dimension");
        } else {
            known *= d;
        }
        shape.push_back(d);
    }
    if (unknown_at >= 0) shape[unknown_at] = known ? count / known : 0;
    if (std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>()) != count)
        b.malformed("cannot reshape " + to_string(x.shape) + " to " + to_string(shape));
    const std::string reshaped =
        b.node("Reshape", {b.to_keras_layout(x), b.int64s("shape", shape)}, {}, held_as_nchw(shape) ? "reshape" : "");
    return b.from_keras_layout(reshaped, shape);
}

inline value permute(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    const auto dims = b.integers("dims", x.shape.size() - 1);
    std::vector<std::int64_t> perm = {0};
    shape_t shape = {1};
    for (auto d : dims) {
        if (d < 1 || d >= static_cast<std::int64_t>(x.shape.size())) b.malformed("dims is not a permutation");
        perm.push_back(d);
        shape.push_back(x.shape[d]);
    }
    std::vector<std::int64_t> sorted = perm, identity(perm.size());
    std::sort(sorted.begin(), sorted.end());
    std::iota(identity.begin(), identity.end(), 0);
    if (sorted != identity) b.malformed("dims is not a permutation");
    const std::string t = b.node("Transpose", {b.to_keras_layout(x)}, layer_builder::perm_attr(perm),
                                 held_as_nchw(shape) ? "transpose" : "");
    return b.from_keras_layout(t, shape);
}

// ---- activation layers ---------------------------------------------------------------------------
inline value relu(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    const double slope = b.number("negative_slope", 0), threshold = b.number("threshold", 0);
    const bool capped = b.has("max_value");
    if (threshold != 0) b.unsupported("a threshold other than 0");
    if (slope != 0) {
        if (capped) b.unsupported("negative_slope together with max_value");
        graph::attributes a;
        a.set("alpha", static_cast<float>(slope));
        return {b.node("LeakyRelu", {x.name}, std::move(a)), x.shape};
    }
    if (!capped) return {b.node("Relu", {x.name}), x.shape};
    const float cap = static_cast<float>(b.number("max_value", 0));
    return {b.node("Clip", {x.name, b.floats("min", {}, {0.f}), b.floats("max", {}, {cap})}), x.shape};
}

inline value leaky_relu(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    graph::attributes a;
    a.set("alpha", static_cast<float>(b.number("alpha", b.number("negative_slope", 0.3))));
    return {b.node("LeakyRelu", {x.name}, std::move(a)), x.shape};
}

inline value prelu(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    shape_t alpha_shape(x.shape.begin() + 1, x.shape.end());
    if (b.has("shared_axes")) {
        const json& shared = b.config()["shared_axes"];
        for (const auto& e : shared.is_array() ? shared : json::array({shared})) {
            const std::int64_t axis = e.get<std::int64_t>();
            if (axis < 1 || axis > static_cast<std::int64_t>(alpha_shape.size()))
                b.malformed("shared_axes out of range");
            alpha_shape[axis - 1] = 1;
        }
    }
    tensor alpha = b.weight("alpha", alpha_shape);
    if (held_as_nchw(x.shape)) alpha = permuted(alpha, {2, 0, 1});  // (H,W,C) -> (C,H,W)
    return {b.node("PRelu", {x.name, b.initializer("alpha", std::move(alpha))}), x.shape};
}

inline value elu(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    graph::attributes a;
    a.set("alpha", static_cast<float>(b.number("alpha", 1.0)));
    return {b.node("Elu", {x.name}, std::move(a)), x.shape};
}

inline value thresholded_relu(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    graph::attributes a;
    a.set("alpha", static_cast<float>(b.number("theta", 1.0)));
    return {b.node("ThresholdedRelu", {x.name}, std::move(a)), x.shape};
}

inline value softmax(layer_builder& b, const std::vector<value>& in) {
    const value& x = only_input(b, in);
    graph::attributes a;
    a.set("axis", held_axis(b.integer("axis", -1), x.shape.size()));
    return {b.node("Softmax", {x.name}, std::move(a)), x.shape};
}

// Layers that compute nothing at inference: their output is their input.
inline value pass_through(layer_builder& b, const std::vector<value>& in) { return only_input(b, in); }

}  // namespace layers

// Every Keras layer class ktc converts (InputLayer is the graph's input, handled by the reader).
inline const std::map<std::string, layer_converter>& layer_converters() {
    using namespace layers;
    static const std::map<std::string, layer_converter> table = [] {
        std::map<std::string, layer_converter> t;
        t["Conv2D"] = conv2d;
        t["Convolution2D"] = conv2d;
        t["DepthwiseConv2D"] = depthwise_conv2d;
        t["SeparableConv2D"] = separable_conv2d;
        t["SeparableConvolution2D"] = separable_conv2d;
        t["Conv2DTranspose"] = conv2d_transpose;
        t["Deconvolution2D"] = conv2d_transpose;
        t["Dense"] = dense;
        t["BatchNormalization"] = batch_normalization;
        t["InstanceNormalization"] = instance_normalization;
        t["MaxPooling2D"] = [](layer_builder& b, const std::vector<value>& in) { return pooling(b, in, "MaxPool"); };
        t["AveragePooling2D"] = [](layer_builder& b, const std::vector<value>& in) {
            return pooling(b, in, "AveragePool");
        };
        t["GlobalAveragePooling2D"] = [](layer_builder& b, const std::vector<value>& in) {
            return global_pooling(b, in, "GlobalAveragePool");
        };
        t["GlobalMaxPooling2D"] = [](layer_builder& b, const std::vector<value>& in) {
            return global_pooling(b, in, "GlobalMaxPool");
        };
        t["Add"] = [](layer_builder& b, const std::vector<value>& in) { return merge(b, in, "Add", false); };
        t["Multiply"] = [](layer_builder& b, const std::vector<value>& in) { return merge(b, in, "Mul", false); };
        t["Maximum"] = [](layer_builder& b, const std::vector<value>& in) { return merge(b, in, "Max", true); };
        t["Minimum"] = [](layer_builder& b, const std::vector<value>& in) { return merge(b, in, "Min", true); };
        t["Average"] = [](layer_builder& b, const std::vector<value>& in) { return merge(b, in, "Mean", true); };
        t["Subtract"] = subtract;
        t["Concatenate"] = concatenate;
        t["ZeroPadding2D"] = zero_padding2d;
        t["Cropping2D"] = cropping2d;
        t["UpSampling2D"] = up_sampling2d;
        t["Flatten"] = flatten;
        t["Reshape"] = reshape;
        t["Permute"] = permute;
        t["Activation"] = [](layer_builder& b, const std::vector<value>& in) {
            return activate(b, only_input(b, in), b.text("activation", "linear"));
        };
        t["ReLU"] = relu;
        t["LeakyReLU"] = leaky_relu;
        t["PReLU"] = prelu;
        t["ELU"] = elu;
        t["ThresholdedReLU"] = thresholded_relu;
        t["Softmax"] = softmax;
        for (const char* inert : {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
                                  "ActivityRegularization"})
            t[inert] = pass_through;
        return t;
    }();
    return table;
}

}  // namespace ktc::convert::keras
