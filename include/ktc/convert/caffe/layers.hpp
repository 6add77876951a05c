// ktc/convert/caffe/layers.hpp - one Caffe layer -> ONNX opset-17 nodes, with the static shape of
// every value it produces.
//
// Shapes are tracked here (not left to ONNX shape inference) because several layers need them to
// be converted at all: Caffe's pooling rounds its output size up, InnerProduct and Flatten fold
// axes, Scale and PReLU broadcast per channel, Reshape copies dimensions with 0. Caffe's rules
// are applied as Caffe's layers state them; a layer whose parameters or weights do not fit its
// input is refused with an error naming it.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "ktc/convert/caffe/reader.hpp"
#include "ktc/core/tensor.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::convert::caffe {

// A weight blob of the caffemodel: its declared dimensions and its values.
struct blob {
    shape_t dims;
    std::vector<float> values;
};

// One deploy layer, wired: `inputs` are the SSA values it reads, `outputs` the names it must
// produce (see caffe.hpp for how in-place tops are renamed).
struct layer_call {
    std::string name, type;
    message_view param;  // the LayerParameter
    std::vector<std::string> inputs, outputs;
    std::vector<blob> weights;
    std::string weights_file;  // for errors about the weights
};

inline std::string describe(const layer_call& l) { return "layer '" + l.name + "' (" + l.type + ")"; }

[[noreturn]] inline void refuse(const layer_call& l, const std::string& why) {
    throw unsupported_error(describe(l) + ": " + why);
}

// The graph under construction and what is known of its values.
class net_builder {
public:
    explicit net_builder(graph::graph& g) : g_(g) {}

    const shape_t& shape(const std::string& value) const { return shapes_.at(value); }
    void set_shape(const std::string& value, shape_t s) { shapes_[value] = std::move(s); }
    // How many layers read `value` (a graph output counts as one more).
    int readers(const std::string& value) const {
        auto it = readers_.find(value);
        return it == readers_.end() ? 0 : it->second;
    }
    void add_reader(const std::string& value) { ++readers_[value]; }

    // A name no value, node or initializer has yet: `wanted`, or `wanted_2`, `wanted_3`, ...
    std::string fresh(const std::string& wanted) {
        std::string name = wanted;
        for (int i = 2; taken_.count(name); ++i) name = wanted + "_" + std::to_string(i);
        taken_.insert(name);
        return name;
    }
    void reserve(const std::string& name) { taken_.insert(name); }
    bool is_taken(const std::string& name) const { return taken_.count(name) != 0; }

    std::string constant(const std::string& wanted, tensor t) {
        const std::string name = fresh(wanted);
        shapes_[name] = t.shape();
        g_.initializers.emplace(name, std::move(t));
        return name;
    }
    std::string floats(const std::string& wanted, shape_t s, std::span<const float> v) {
        return constant(wanted, tensor::from<float>(std::move(s), v));
    }
    std::string int64s(const std::string& wanted, const std::vector<std::int64_t>& v) {
        return constant(wanted, tensor::from<std::int64_t>({static_cast<std::int64_t>(v.size())}, v));
    }

    // Adds one node producing `output` (of shape `s`); returns the output name.
    std::string node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                     const std::string& output, shape_t s, graph::attributes attrs = {}) {
        graph::node n;
        n.name = name;
        for (int i = 2; !node_names_.insert(n.name).second; ++i) n.name = name + "_" + std::to_string(i);
        n.op_type = op;
        n.inputs = std::move(inputs);
        n.outputs = {output};
        n.attrs = std::move(attrs);
        g_.add_node(std::move(n));
        shapes_[output] = std::move(s);
        return output;
    }
    graph::graph& graph() { return g_; }

private:
    graph::graph& g_;
    std::map<std::string, shape_t> shapes_;
    std::map<std::string, int> readers_;
    std::set<std::string> taken_;       // value and initializer names
    std::set<std::string> node_names_;  // node names (a separate namespace in ONNX)
};

namespace layer_detail {

using ints = std::vector<std::int64_t>;

inline std::int64_t checked_count(const layer_call& l, const shape_t& s) {
    std::int64_t n = 1;
    for (auto d : s) {
        if (d <= 0) refuse(l, "shape " + to_string(s) + " has a dimension < 1");
        if (n > max_tensor_elements / d)
            refuse(l, "shape " + to_string(s) + " has more than " + std::to_string(max_tensor_elements) + " elements");
        n *= d;
    }
    return n;
}

inline std::int64_t axis_in(const layer_call& l, std::int64_t axis, std::int64_t rank, const char* what) {
    if (axis < -rank || axis >= rank)
        refuse(l,
               std::string(what) + " " + std::to_string(axis) + " is outside an input of rank " + std::to_string(rank));
    return axis < 0 ? axis + rank : axis;
}

// Weight blob `index` reshaped to `s`: the caffemodel must hold exactly that many values.
inline tensor weight(const layer_call& l, std::size_t index, const shape_t& s, const char* role) {
    const std::int64_t want = checked_count(l, s);
    if (index >= l.weights.size())
        throw file_error(l.weights_file, describe(l) + " has " + std::to_string(l.weights.size()) +
                                             " weight blob(s); the prototxt needs a " + role + " blob " +
                                             std::to_string(index));
    const auto& v = l.weights[index].values;
    if (static_cast<std::int64_t>(v.size()) != want)
        throw file_error(l.weights_file, describe(l) + ": its " + role + " blob holds " + std::to_string(v.size()) +
                                             " values, the prototxt needs " + to_string(s) + " = " +
                                             std::to_string(want));
    return tensor::from<float>(s, std::span<const float>(v));
}

inline std::int64_t product(const shape_t& s, std::size_t from, std::size_t to) {
    std::int64_t n = 1;
    for (std::size_t i = from; i < to; ++i) n *= s[i];
    return n;
}

// A shape for a per-axis parameter starting at `axis` of an input of rank `rank`: trailing ones
// so that ONNX's right-aligned broadcasting lines it up with the right axes.
inline shape_t aligned_at(shape_t param, std::int64_t axis, std::int64_t rank) {
    const std::int64_t trailing = rank - axis - static_cast<std::int64_t>(param.size());
    for (std::int64_t i = 0; i < trailing; ++i) param.push_back(1);
    return param;
}

inline const shape_t& only_input_shape(net_builder& b, const layer_call& l) {
    if (l.inputs.size() != 1 || l.outputs.size() != 1) refuse(l, "expects one bottom and one top");
    return b.shape(l.inputs[0]);
}

// ---- Convolution and Deconvolution --------------------------------------------------------------

// A window parameter for each of `spatial` axes: the _h/_w pair (2-D only) or the repeated field
// (one value for all axes, or one per axis), else `fallback` (< 0: required). `h` and `w` may be
// null (dilation has no such pair).
inline ints conv_axis_values(const layer_call& l, const message_view& p, const char* field, const char* h,
                             const char* w, std::size_t spatial, std::int64_t fallback) {
    if (h && (p.has(h) || p.has(w))) {
        if (spatial != 2) refuse(l, std::string(h) + "/" + w + " are for 2-D convolutions only");
        if (fallback < 0 && !(p.has(h) && p.has(w))) refuse(l, std::string("needs both ") + h + " and " + w);
        return {p.has(h) ? p.integer(h) : fallback, p.has(w) ? p.integer(w) : fallback};
    }
    const ints v = p.integers(field);
    if (v.empty()) {
        if (fallback < 0) refuse(l, std::string("no ") + field + " given");
        return ints(spatial, fallback);
    }
    if (v.size() == 1) return ints(spatial, v[0]);
    if (v.size() != spatial)
        refuse(l, std::string(field) + " has " + std::to_string(v.size()) + " values for " + std::to_string(spatial) +
                      " spatial axes");
    return v;
}

inline void convert_convolution(net_builder& b, const layer_call& l) {
    const bool transposed = l.type == "Deconvolution";
    const shape_t& in = only_input_shape(b, l);
    const message_view p = l.param.sub("convolution_param");
    if (in.size() < 3) refuse(l, "input " + to_string(in) + " has no spatial axes");
    if (p.integer("axis") != 1 && p.integer("axis") != -static_cast<std::int64_t>(in.size()) + 1)
        refuse(l, "only axis 1 (channels) is supported");
    const std::size_t spatial = in.size() - 2;
    const ints kernel = conv_axis_values(l, p, "kernel_size", "kernel_h", "kernel_w", spatial, -1);
    const ints pad = conv_axis_values(l, p, "pad", "pad_h", "pad_w", spatial, 0);
    const ints stride = conv_axis_values(l, p, "stride", "stride_h", "stride_w", spatial, 1);
    const ints dilation = conv_axis_values(l, p, "dilation", nullptr, nullptr, spatial, 1);
    const std::int64_t channels = in[1], outputs = p.integer("num_output"), group = p.integer("group");
    if (outputs < 1) refuse(l, "num_output must be at least 1");
    if (group < 1 || channels % group || outputs % group)
        refuse(l, "group " + std::to_string(group) + " does not divide channels " + std::to_string(channels) +
                      " and num_output " + std::to_string(outputs));
    for (std::size_t i = 0; i < spatial; ++i)
        if (kernel[i] < 1 || stride[i] < 1 || dilation[i] < 1 || pad[i] < 0)
            refuse(l, "kernel, stride and dilation must be >= 1 and pad >= 0");

    shape_t wshape = transposed ? shape_t{channels, outputs / group} : shape_t{outputs, channels / group};
    wshape.insert(wshape.end(), kernel.begin(), kernel.end());
    std::vector<std::string> inputs{l.inputs[0], b.constant(l.name + "/weight", weight(l, 0, wshape, "weight"))};
    if (p.flag("bias_term")) inputs.push_back(b.constant(l.name + "/bias", weight(l, 1, {outputs}, "bias")));

    shape_t out{in[0], outputs};
    for (std::size_t i = 0; i < spatial; ++i) {
        const std::int64_t extent = dilation[i] * (kernel[i] - 1) + 1;
        const std::int64_t size = transposed ? stride[i] * (in[2 + i] - 1) + extent - 2 * pad[i]
                                             : (in[2 + i] + 2 * pad[i] - extent) / stride[i] + 1;
        if (size < 1 || (!transposed && in[2 + i] + 2 * pad[i] < extent))
            refuse(l, "the window does not fit the input " + to_string(in));
        out.push_back(size);
    }
    ints pads = pad;
    pads.insert(pads.end(), pad.begin(), pad.end());
    graph::attributes a;
    a.set("kernel_shape", kernel);
    a.set("strides", stride);
    a.set("dilations", dilation);
    a.set("pads", pads);
    a.set("group", group);
    b.node(transposed ? "ConvTranspose" : "Conv", l.name, inputs, l.outputs[0], out, std::move(a));
}

// ---- Pooling -------------------------------------------------------------------------------------

// Caffe's pooled size along one axis: rounded up (or down with round_mode FLOOR), and a window
// that would start in the trailing padding is dropped.
inline std::int64_t caffe_pooled_size(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                                      bool ceil) {
    const std::int64_t span = in + 2 * pad - kernel;
    std::int64_t out = (ceil ? (span + stride - 1) / stride : span / stride) + 1;
    if (pad > 0 && (out - 1) * stride >= in + pad) --out;
    return out;
}

// Per output position along one axis: Caffe's average divisor (the window clipped to the padded
// input [-pad, in + pad)) and the count of real input elements it covers.
struct average_divisors {
    std::vector<std::int64_t> caffe, real;
};
inline average_divisors divisors_along(std::int64_t in, std::int64_t kernel, std::int64_t stride, std::int64_t pad,
                                       std::int64_t out) {
    average_divisors d;
    for (std::int64_t o = 0; o < out; ++o) {
        const std::int64_t start = o * stride - pad, end = std::min(start + kernel, in + pad);
        d.caffe.push_back(end - start);
        d.real.push_back(std::min(end, in) - std::max(start, std::int64_t{0}));
    }
    return d;
}

inline void convert_pooling(net_builder& b, const layer_call& l) {
    const shape_t& in = only_input_shape(b, l);
    const message_view p = l.param.sub("pooling_param");
    if (in.size() != 4) refuse(l, "Caffe pools 4-D inputs; this one is " + to_string(in));
    const std::string method = p.enum_name("pool");
    if (method == "STOCHASTIC") refuse(l, "STOCHASTIC pooling has no ONNX equivalent");
    const bool average = method == "AVE";
    if (p.flag("global_pooling")) {
        if (p.has("kernel_size") || p.has("kernel_h")) refuse(l, "global_pooling takes no kernel size");
        b.node(average ? "GlobalAveragePool" : "GlobalMaxPool", l.name, {l.inputs[0]}, l.outputs[0],
               {in[0], in[1], 1, 1});
        return;
    }
    auto pair = [&](const char* both, const char* h, const char* w, std::int64_t fallback) -> ints {
        if (p.has(h) || p.has(w)) {
            if (fallback < 0 && !(p.has(h) && p.has(w))) refuse(l, std::string("needs both ") + h + " and " + w);
            return {p.has(h) ? p.integer(h) : fallback, p.has(w) ? p.integer(w) : fallback};
        }
        if (!p.has(both) && fallback < 0) refuse(l, std::string("no ") + both + " given");
        const std::int64_t v = p.integer(both);  // the schema holds Caffe's default
        return {v, v};
    };
    const ints kernel = pair("kernel_size", "kernel_h", "kernel_w", -1);
    const ints stride = pair("stride", "stride_h", "stride_w", 1);
    const ints pad = pair("pad", "pad_h", "pad_w", 0);
    const bool ceil = p.enum_name("round_mode") == "CEIL";

    ints begin(2), end(2);
    shape_t out{in[0], in[1], 0, 0};
    std::vector<average_divisors> divisors;
    for (int i = 0; i < 2; ++i) {
        if (kernel[i] < 1 || stride[i] < 1 || pad[i] < 0 || pad[i] >= kernel[i])
            refuse(l, "needs kernel >= 1, stride >= 1 and 0 <= pad < kernel");
        if (in[2 + i] + 2 * pad[i] < kernel[i]) refuse(l, "the window does not fit the input " + to_string(in));
        out[2 + i] = caffe_pooled_size(in[2 + i], kernel[i], stride[i], pad[i], ceil);
        begin[i] = pad[i];
        // Explicit end padding gives exactly Caffe's output count with ONNX's floor rule (a window
        // ending before in + pad needs none; the floor then drops nothing more).
        end[i] = std::max<std::int64_t>(0, (out[2 + i] - 1) * stride[i] + kernel[i] - in[2 + i] - pad[i]);
        divisors.push_back(divisors_along(in[2 + i], kernel[i], stride[i], pad[i], out[2 + i]));
    }
    graph::attributes a;
    a.set("kernel_shape", kernel);
    a.set("strides", stride);
    a.set("pads", ints{begin[0], begin[1], end[0], end[1]});
    if (!average) {
        b.node("MaxPool", l.name, {l.inputs[0]}, l.outputs[0], out, std::move(a));
        return;
    }
    // Caffe divides by the window clipped to the input padded by `pad`. When that is always the
    // full kernel, count_include_pad=1 says so; when it is always the real elements (no padding),
    // count_include_pad=0 does; otherwise the real-element average is rescaled per position.
    auto all = [&](auto pred) {
        for (int i = 0; i < 2; ++i)
            for (std::size_t o = 0; o < divisors[i].caffe.size(); ++o)
                if (!pred(i, o)) return false;
        return true;
    };
    const bool full = all([&](int i, std::size_t o) { return divisors[i].caffe[o] == kernel[i]; });
    const bool real = all([&](int i, std::size_t o) { return divisors[i].caffe[o] == divisors[i].real[o]; });
    a.set("count_include_pad", std::int64_t{full ? 1 : 0});
    if (full || real) {
        b.node("AveragePool", l.name, {l.inputs[0]}, l.outputs[0], out, std::move(a));
        return;
    }
    const std::string pooled =
        b.node("AveragePool", l.name, {l.inputs[0]}, b.fresh(l.name + "/real_average"), out, std::move(a));
    std::vector<float> ratio;
    for (std::int64_t y = 0; y < out[2]; ++y)
        for (std::int64_t x = 0; x < out[3]; ++x)
            ratio.push_back(static_cast<float>(double(divisors[0].real[y] * divisors[1].real[x]) /
                                               double(divisors[0].caffe[y] * divisors[1].caffe[x])));
    const std::string factor = b.floats(l.name + "/divisor_ratio", {1, 1, out[2], out[3]}, ratio);
    b.node("Mul", l.name + "/caffe_divisor", {pooled, factor}, l.outputs[0], out);
}

// ---- InnerProduct ----------------------------------------------------------------------------

inline void convert_inner_product(net_builder& b, const layer_call& l) {
    const shape_t in = only_input_shape(b, l);
    const message_view p = l.param.sub("inner_product_param");
    const auto rank = static_cast<std::int64_t>(in.size());
    const std::int64_t axis = axis_in(l, p.integer("axis"), rank, "axis");
    const std::int64_t n = p.integer("num_output"), k = product(in, axis, in.size());
    const std::int64_t rows = product(in, 0, axis);
    if (n < 1) refuse(l, "num_output must be at least 1");
    const bool transposed = p.flag("transpose");
    std::vector<std::string> inputs{
        l.inputs[0],
        b.constant(l.name + "/weight", weight(l, 0, transposed ? shape_t{k, n} : shape_t{n, k}, "weight"))};
    if (p.flag("bias_term")) inputs.push_back(b.constant(l.name + "/bias", weight(l, 1, {n}, "bias")));
    graph::attributes a;
    a.set("transB", std::int64_t{transposed ? 0 : 1});

    shape_t out(in.begin(), in.begin() + axis);
    out.push_back(n);
    if (axis == 1) {  // the usual case: Flatten keeps the batch axis, Gemm gives [N, num_output]
        if (rank != 2)
            inputs[0] = b.node("Flatten", l.name + "/flatten", {l.inputs[0]}, b.fresh(l.name + "/flat"), {rows, k}, [] {
                graph::attributes f;
                f.set("axis", std::int64_t{1});
                return f;
            }());
        b.node("Gemm", l.name, inputs, l.outputs[0], out, std::move(a));
        return;
    }
    inputs[0] = b.node("Reshape", l.name + "/rows", {l.inputs[0], b.int64s(l.name + "/rows_shape", {rows, k})},
                       b.fresh(l.name + "/rows"), {rows, k});
    const std::string product2d = b.node("Gemm", l.name, inputs, b.fresh(l.name + "/gemm"), {rows, n}, std::move(a));
    b.node("Reshape", l.name + "/unfold", {product2d, b.int64s(l.name + "/out_shape", out)}, l.outputs[0], out);
}

// ---- activations ---------------------------------------------------------------------------------

inline void convert_relu(net_builder& b, const layer_call& l) {
    const shape_t in = only_input_shape(b, l);
    const float slope = l.param.sub("relu_param").real("negative_slope");
    if (slope == 0.f) {
        b.node("Relu", l.name, {l.inputs[0]}, l.outputs[0], in);
        return;
    }
    graph::attributes a;
    a.set("alpha", slope);
    b.node("LeakyRelu", l.name, {l.inputs[0]}, l.outputs[0], in, std::move(a));
}

inline void convert_prelu(net_builder& b, const layer_call& l) {
    const shape_t in = only_input_shape(b, l);
    if (in.size() < 2) refuse(l, "input " + to_string(in) + " has no channel axis");
    const bool shared = l.param.sub("prelu_param").flag("channel_shared");
    const std::int64_t channels = shared ? 1 : in[1];
    const shape_t slope_shape = shared ? shape_t{1} : aligned_at({channels}, 1, static_cast<std::int64_t>(in.size()));
    tensor slope = weight(l, 0, {channels}, "slope");
    slope.reshape(slope_shape);
    b.node("PRelu", l.name, {l.inputs[0], b.constant(l.name + "/slope", std::move(slope))}, l.outputs[0], in);
}

inline void convert_simple(net_builder& b, const layer_call& l, const char* op) {
    const shape_t in = only_input_shape(b, l);
    b.node(op, l.name, {l.inputs[0]}, l.outputs[0], in);
}

inline void convert_softmax(net_builder& b, const layer_call& l) {
    const shape_t in = only_input_shape(b, l);
    graph::attributes a;
    a.set("axis",
          axis_in(l, l.param.sub("softmax_param").integer("axis"), static_cast<std::int64_t>(in.size()), "axis"));
    b.node("Softmax", l.name, {l.inputs[0]}, l.outputs[0], in, std::move(a));
}

// ---- BatchNorm and Scale -------------------------------------------------------------------------

// Caffe's BatchNorm keeps running sums: mean and variance are blob 0 and 1 divided by blob 2[0]
// (0 there means the statistics are zero). The learned affine part is a separate Scale layer.
inline void convert_batch_norm(net_builder& b, const layer_call& l) {
    const shape_t in = only_input_shape(b, l);
    if (in.size() < 2) refuse(l, "input " + to_string(in) + " has no channel axis");
    const std::int64_t c = in[1];
    tensor mean = weight(l, 0, {c}, "mean"), var = weight(l, 1, {c}, "variance");
    const float factor_sum = weight(l, 2, {1}, "moving average factor").values<float>()[0];
    const float factor = factor_sum == 0.f ? 0.f : 1.f / factor_sum;
    for (float& v : mean.values<float>()) v *= factor;
    for (float& v : var.values<float>()) v *= factor;
    const std::vector<float> ones(c, 1.f), zeros(c, 0.f);
    graph::attributes a;
    a.set("epsilon", l.param.sub("batch_norm_param").real("eps"));
    b.node("BatchNormalization", l.name,
           {l.inputs[0], b.floats(l.name + "/scale", {c}, ones), b.floats(l.name + "/bias", {c}, zeros),
            b.constant(l.name + "/mean", std::move(mean)), b.constant(l.name + "/var", std::move(var))},
           l.outputs[0], in, std::move(a));
}

// A Scale right after a BatchNorm whose output nothing else reads becomes that node's scale and
// bias: the pair is one ONNX BatchNormalization, as the vendor's converter makes it.
inline bool fold_scale_into_batch_norm(net_builder& b, const layer_call& l, const tensor& scale, const tensor* bias) {
    auto& g = b.graph();
    const auto producer = g.producer(l.inputs[0]);
    if (!producer || g[*producer].op_type != "BatchNormalization" || b.readers(l.inputs[0]) != 1) return false;
    const graph::node& bn = g[*producer];
    const std::int64_t c = b.shape(l.inputs[0])[1];
    if (scale.size() != c) return false;
    g.initializers.at(bn.inputs[1]) = tensor(scale).reshaped({c});
    if (bias) g.initializers.at(bn.inputs[2]) = tensor(*bias).reshaped({c});
    const shape_t s = b.shape(l.inputs[0]);
    g.set_output(*producer, 0, l.outputs[0]);
    b.set_shape(l.outputs[0], s);
    return true;
}

inline void convert_scale(net_builder& b, const layer_call& l) {
    if (l.inputs.empty() || l.inputs.size() > 2 || l.outputs.size() != 1)
        refuse(l, "expects one or two bottoms and one top");
    const shape_t in = b.shape(l.inputs[0]);
    const auto rank = static_cast<std::int64_t>(in.size());
    const message_view p = l.param.sub("scale_param");
    const bool learned = l.inputs.size() == 1;
    // Scale's axis may equal the rank when the scale is a scalar (num_axes 0).
    const std::int64_t axis = p.integer("axis") == rank ? rank : axis_in(l, p.integer("axis"), rank, "axis");
    shape_t param_shape;
    if (learned) {
        const std::int64_t num_axes = p.integer("num_axes");
        const std::int64_t last = num_axes < 0 ? rank : axis + num_axes;
        if (num_axes < -1 || last > rank) refuse(l, "num_axes " + std::to_string(num_axes) + " runs past the input");
        param_shape.assign(in.begin() + axis, in.begin() + last);
    } else {
        param_shape = b.shape(l.inputs[1]);
        if (axis + static_cast<std::int64_t>(param_shape.size()) > rank ||
            !std::equal(param_shape.begin(), param_shape.end(), in.begin() + axis))
            refuse(l, "the scale bottom " + to_string(param_shape) + " does not match the input " + to_string(in) +
                          " at axis " + std::to_string(axis));
    }
    const std::int64_t count = product(param_shape, 0, param_shape.size());
    const bool has_bias = p.flag("bias_term");
    std::optional<tensor> scale, bias;
    if (learned) scale = weight(l, 0, {count}, "scale");
    if (has_bias) bias = weight(l, learned ? 1 : 0, {count}, "bias");

    if (learned && axis == 1 && param_shape.size() == 1 && rank >= 2 &&
        fold_scale_into_batch_norm(b, l, *scale, bias ? &*bias : nullptr))
        return;

    const shape_t aligned = aligned_at(param_shape, axis, rank);
    std::string factor;
    if (learned) {
        factor = b.constant(l.name + "/scale", std::move(*scale).reshaped(aligned));
    } else {
        factor = aligned == param_shape
                     ? l.inputs[1]
                     : b.node("Reshape", l.name + "/align", {l.inputs[1], b.int64s(l.name + "/align_shape", aligned)},
                              b.fresh(l.name + "/aligned_scale"), aligned);
    }
    if (!has_bias) {
        b.node("Mul", l.name, {l.inputs[0], factor}, l.outputs[0], in);
        return;
    }
    const std::string scaled = b.node("Mul", l.name, {l.inputs[0], factor}, b.fresh(l.name + "/scaled"), in);
    b.node("Add", l.name + "/bias", {scaled, b.constant(l.name + "/bias", std::move(*bias).reshaped(aligned))},
           l.outputs[0], in);
}

// ---- Eltwise and Concat --------------------------------------------------------------------------

inline void convert_eltwise(net_builder& b, const layer_call& l) {
    if (l.inputs.size() < 2 || l.outputs.size() != 1) refuse(l, "expects at least two bottoms and one top");
    const shape_t in = b.shape(l.inputs[0]);
    for (const auto& v : l.inputs)
        if (b.shape(v) != in) refuse(l, "bottoms differ in shape: " + to_string(in) + " and " + to_string(b.shape(v)));
    const message_view p = l.param.sub("eltwise_param");
    const std::string op = p.enum_name("operation");
    const std::vector<float> coeff = p.reals("coeff");
    if (!coeff.empty() && (op != "SUM" || coeff.size() != l.inputs.size()))
        refuse(l, "coeff is for SUM only, one per bottom");
    std::vector<std::string> terms = l.inputs;
    for (std::size_t i = 0; i < coeff.size(); ++i)
        if (coeff[i] != 1.f) {
            const std::string c =
                b.floats(l.name + "/coeff" + std::to_string(i), {}, std::span<const float>(&coeff[i], 1));
            terms[i] = b.node("Mul", l.name + "/coeff" + std::to_string(i), {terms[i], c},
                              b.fresh(l.name + "/term" + std::to_string(i)), in);
        }
    if (op == "MAX" || terms.size() > 2) {  // Max and Sum take any number of inputs
        if (op == "PROD") {
            std::string acc = terms[0];
            for (std::size_t i = 1; i < terms.size(); ++i)
                acc =
                    b.node("Mul", i + 1 == terms.size() ? l.name : l.name + "/mul" + std::to_string(i), {acc, terms[i]},
                           i + 1 == terms.size() ? l.outputs[0] : b.fresh(l.name + "/product" + std::to_string(i)), in);
            return;
        }
        b.node(op == "MAX" ? "Max" : "Sum", l.name, terms, l.outputs[0], in);
        return;
    }
    b.node(op == "PROD" ? "Mul" : "Add", l.name, terms, l.outputs[0], in);
}

inline void convert_concat(net_builder& b, const layer_call& l) {
    if (l.inputs.empty() || l.outputs.size() != 1) refuse(l, "expects bottoms and one top");
    const message_view p = l.param.sub("concat_param");
    shape_t out = b.shape(l.inputs[0]);
    const auto rank = static_cast<std::int64_t>(out.size());
    const std::int64_t axis =
        axis_in(l, p.has("concat_dim") && !p.has("axis") ? p.integer("concat_dim") : p.integer("axis"), rank, "axis");
    for (std::size_t i = 1; i < l.inputs.size(); ++i) {
        const shape_t& s = b.shape(l.inputs[i]);
        bool fits = static_cast<std::int64_t>(s.size()) == rank;
        for (std::int64_t d = 0; fits && d < rank; ++d) fits = d == axis || s[d] == out[d];
        if (!fits)
            refuse(l, "bottom " + to_string(s) + " does not fit " + to_string(out) + " along axis " +
                          std::to_string(axis));
        out[axis] += s[axis];
    }
    graph::attributes a;
    a.set("axis", axis);
    b.node("Concat", l.name, l.inputs, l.outputs[0], out, std::move(a));
}

// ---- shape layers --------------------------------------------------------------------------------

inline void reshape_to(net_builder& b, const layer_call& l, const shape_t& out) {
    b.node("Reshape", l.name, {l.inputs[0], b.int64s(l.name + "/shape", out)}, l.outputs[0], out);
}

inline void convert_flatten(net_builder& b, const layer_call& l) {
    const shape_t in = only_input_shape(b, l);
    const auto rank = static_cast<std::int64_t>(in.size());
    const message_view p = l.param.sub("flatten_param");
    const std::int64_t first = axis_in(l, p.integer("axis"), rank, "axis");
    const std::int64_t last = axis_in(l, p.integer("end_axis"), rank, "end_axis");
    if (last < first) refuse(l, "end_axis comes before axis");
    shape_t out(in.begin(), in.begin() + first);
    out.push_back(product(in, first, last + 1));
    out.insert(out.end(), in.begin() + last + 1, in.end());
    if (first == 1 && last == rank - 1) {
        graph::attributes a;
        a.set("axis", std::int64_t{1});
        b.node("Flatten", l.name, {l.inputs[0]}, l.outputs[0], out, std::move(a));
        return;
    }
    reshape_to(b, l, out);
}

// Caffe's Reshape replaces input axes [axis, axis + num_axes) by `shape`, where 0 copies the
// input dimension at the same place and one -1 takes what is left.
inline void convert_reshape(net_builder& b, const layer_call& l) {
    const shape_t in = only_input_shape(b, l);
    const auto rank = static_cast<std::int64_t>(in.size());
    const message_view p = l.param.sub("reshape_param");
    const ints dims = p.sub("shape").integers("dim");
    std::int64_t start = p.integer("axis");
    if (start < 0) start += rank + 1;
    const std::int64_t num_axes = p.integer("num_axes");
    const std::int64_t end = num_axes == -1 ? rank : start + num_axes;
    if (start < 0 || start > rank || num_axes < -1 || end > rank)
        refuse(l, "axis/num_axes run past the input " + to_string(in));
    shape_t out(in.begin(), in.begin() + start);
    int inferred = -1;
    for (std::size_t i = 0; i < dims.size(); ++i) {
        if (dims[i] == 0) {
            if (start + static_cast<std::int64_t>(i) >= rank) refuse(l, "dim 0 copies an axis the input lacks");
            out.push_back(in[start + i]);
        } else if (dims[i] == -1) {
            if (inferred >= 0) refuse(l, "more than one dim is -1");
            inferred = static_cast<int>(out.size());
            out.push_back(1);
        } else if (dims[i] < -1) {
            refuse(l, "dim " + std::to_string(dims[i]) + " is negative");
        } else {
            out.push_back(dims[i]);
        }
    }
    out.insert(out.end(), in.begin() + end, in.end());
    const std::int64_t total = checked_count(l, in), known = checked_count(l, out);
    if (inferred >= 0) {
        if (total % known)
            refuse(l, "cannot infer -1: " + std::to_string(total) + " values do not split by " + std::to_string(known));
        out[inferred] = total / known;
    } else if (known != total) {
        refuse(l, "shape " + to_string(out) + " does not hold the input's " + std::to_string(total) + " values");
    }
    reshape_to(b, l, out);
}

// SSD's Permute: `order` lists the new axis order; axes it leaves out follow in their order.
inline void convert_permute(net_builder& b, const layer_call& l) {
    const shape_t in = only_input_shape(b, l);
    const auto rank = static_cast<std::int64_t>(in.size());
    ints perm;
    for (auto axis : l.param.sub("permute_param").integers("order")) {
        if (axis < 0 || axis >= rank || std::count(perm.begin(), perm.end(), axis))
            refuse(l, "order has a repeated or out-of-range axis " + std::to_string(axis));
        perm.push_back(axis);
    }
    for (std::int64_t axis = 0; axis < rank; ++axis)
        if (!std::count(perm.begin(), perm.end(), axis)) perm.push_back(axis);
    shape_t out;
    for (auto axis : perm) out.push_back(in[axis]);
    graph::attributes a;
    a.set("perm", perm);
    b.node("Transpose", l.name, {l.inputs[0]}, l.outputs[0], out, std::move(a));
}

}  // namespace layer_detail

// The layer types that become nodes; Input, Dropout, Split and Silence are handled by the wiring.
using layer_converter = std::function<void(net_builder&, const layer_call&)>;

inline const std::map<std::string, layer_converter>& layer_converters() {
    using namespace layer_detail;
    static const std::map<std::string, layer_converter> table{
        {"Convolution", convert_convolution},
        {"Deconvolution", convert_convolution},
        {"Pooling", convert_pooling},
        {"InnerProduct", convert_inner_product},
        {"ReLU", convert_relu},
        {"PReLU", convert_prelu},
        {"Sigmoid", [](net_builder& b, const layer_call& l) { convert_simple(b, l, "Sigmoid"); }},
        {"TanH", [](net_builder& b, const layer_call& l) { convert_simple(b, l, "Tanh"); }},
        {"Softmax", convert_softmax},
        {"BatchNorm", convert_batch_norm},
        {"Scale", convert_scale},
        {"Eltwise", convert_eltwise},
        {"Concat", convert_concat},
        {"Flatten", convert_flatten},
        {"Reshape", convert_reshape},
        {"Permute", convert_permute},
    };
    return table;
}

// Layers that need weights from the caffemodel (Scale only when its scale is learned).
inline bool needs_weights(const std::string& type, std::size_t bottoms) {
    return type == "Convolution" || type == "Deconvolution" || type == "InnerProduct" || type == "PReLU" ||
           type == "BatchNorm" || (type == "Scale" && bottoms == 1);
}

}  // namespace ktc::convert::caffe
