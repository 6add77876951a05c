// ktc/convert/caffe.hpp - a Caffe deploy prototxt + caffemodel -> the ktc graph (ONNX opset 17 ops).
//
// The prototxt gives the network (new-style `layer { }` entries; the net's `input`/`input_dim`/
// `input_shape` fields or Input layers give the inputs, batch set to 1); the caffemodel gives the
// weights, found by layer name. A caffemodel is often a training snapshot: its data, loss and
// accuracy layers, and weights of heads the deploy net dropped, are simply never looked up.
// Layers are kept as Caffe keeps them for the TEST phase (include/exclude rules).
//
// Caffe blobs are rewritten into SSA values: a layer writing its own bottom (in-place ReLU,
// PReLU, Dropout, ...) gets a new value each time. The last write of a blob keeps the blob's name,
// so the graph outputs carry the names Caffe users know ("prob1"); earlier writes are named
// "blob@layer". Dropout and Split produce no node: their tops are the values they read.
// The network's outputs are the blobs no later layer reads, in the order they were written.
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ktc/convert/caffe/layers.hpp"
#include "ktc/convert/caffe/reader.hpp"
#include "ktc/convert/caffe/schema.hpp"
#include "ktc/core/error.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::convert {

struct caffe_options {
    // Input name -> shape replacing the prototxt's (e.g. MTCNN's fully convolutional PNet at
    // another image size); the batch dimension is still set to 1.
    std::map<std::string, shape_t> input_shapes;
};

namespace caffe::net_detail {

// The NetState a deploy net is run in: phase TEST, with the level and stages the prototxt sets.
struct net_state {
    std::int64_t level = 0;
    std::vector<std::string> stages;
};

inline bool rule_met(const message_view& rule, const net_state& state) {
    auto has_stage = [&](const std::string& s) { return std::count(state.stages.begin(), state.stages.end(), s) > 0; };
    if (rule.has("phase") && rule.enum_name("phase") != "TEST") return false;
    if (rule.has("min_level") && state.level < rule.integer("min_level")) return false;
    if (rule.has("max_level") && state.level > rule.integer("max_level")) return false;
    for (const auto& s : rule.texts("stage"))
        if (!has_stage(s)) return false;
    for (const auto& s : rule.texts("not_stage"))
        if (has_stage(s)) return false;
    return true;
}

inline bool in_test_net(const message_view& layer, const net_state& state) {
    const auto include = layer.subs("include"), exclude = layer.subs("exclude");
    if (!include.empty())
        return std::any_of(include.begin(), include.end(), [&](auto& r) { return rule_met(r, state); });
    return std::none_of(exclude.begin(), exclude.end(), [&](auto& r) { return rule_met(r, state); });
}

inline blob read_blob(const message_view& m, const std::string& file, const std::string& layer, std::size_t index) {
    blob b;
    if (m.has("shape")) {
        b.dims = m.sub("shape").integers("dim");
    } else if (m.has("num") || m.has("channels") || m.has("height") || m.has("width")) {
        b.dims = {m.integer("num"), m.integer("channels"), m.integer("height"), m.integer("width")};
    }
    b.values = m.reals("data");
    if (b.values.empty()) {
        const auto wide = m.reals64("double_data");
        b.values.assign(wide.begin(), wide.end());
    }
    if (!b.dims.empty()) {
        std::int64_t n = 1;
        for (auto d : b.dims) {
            if (d < 0 || (d > 0 && n > max_tensor_elements / d))
                throw file_error(file, "layer '" + layer + "' blob " + std::to_string(index) + " has a bad shape " +
                                           to_string(b.dims));
            n *= d;
        }
        if (n != static_cast<std::int64_t>(b.values.size()))
            throw file_error(file, "layer '" + layer + "' blob " + std::to_string(index) + " of shape " +
                                       to_string(b.dims) + " holds " + std::to_string(b.values.size()) + " values");
    }
    return b;
}

// Layer name -> its blobs, from the new-style and the V1 layer lists of a caffemodel.
inline std::map<std::string, message_view> weight_layers(const message_view& model) {
    std::map<std::string, message_view> by_name;
    for (const char* list : {"layers", "layer"})
        for (const auto& l : model.subs(list))
            if (l.count("blobs") > 0) by_name.insert_or_assign(l.text("name"), l);
    return by_name;
}

// The fixed shape of each declared input, batch set to 1.
inline shape_t input_shape(const std::string& file, const std::string& name, shape_t dims) {
    if (dims.empty()) throw unsupported_error(file + ": input '" + name + "' has no shape");
    dims[0] = 1;
    for (auto d : dims)
        if (d < 1 || d > max_tensor_elements)
            throw unsupported_error(file + ": input '" + name + "' has shape " + to_string(dims) +
                                    "; ktc needs fixed positive dimensions");
    return dims;
}

// One Caffe blob version: the SSA value holding it and whether a later layer reads it.
struct binding {
    std::string blob, value;
    bool read = false;
};

class net_converter {
public:
    net_converter(const std::filesystem::path& prototxt, const std::filesystem::path& caffemodel,
                  const caffe_options& options)
        : prototxt_(prototxt.string()), caffemodel_(caffemodel.string()), options_(options), builder_(g_) {}

    graph::graph run(const message_view& net, const message_view& model) {
        if (net.count("layers") > 0)
            throw unsupported_error(prototxt_ +
                                    ": uses the V1 'layers { }' format; upgrade it with Caffe's "
                                    "upgrade_net_proto_text first");
        g_.name = net.text("name").empty() ? "caffe" : net.text("name");
        net_state state;
        if (net.has("state")) {
            state.level = net.sub("state").integer("level");
            state.stages = net.sub("state").texts("stage");
        }
        std::vector<message_view> layers;
        for (const auto& l : net.subs("layer"))
            if (in_test_net(l, state)) layers.push_back(l);
        refuse_unknown_types(layers);
        declare_net_inputs(net);
        for (const auto& [name, shape] : options_.input_shapes)
            if (!current_.count(name) && !declares_input_layer(layers, name))
                throw usage_error("input shape given for '" + name + "', which " + prototxt_ + " does not declare");
        const auto weights = weight_layers(model);
        const auto calls = wire(layers, weights);
        for (const auto& call : calls) layer_converters().at(call.type)(builder_, call);
        declare_outputs();
        return std::move(g_);
    }

private:
    static bool is_wiring_only(const std::string& type) {
        return type == "Input" || type == "Dropout" || type == "Split" || type == "Silence";
    }

    static bool declares_input_layer(const std::vector<message_view>& layers, const std::string& name) {
        for (const auto& l : layers)
            if (l.text("type") == "Input") {
                const auto tops = l.texts("top");
                if (std::count(tops.begin(), tops.end(), name)) return true;
            }
        return false;
    }

    // Every layer ktc cannot convert, named in one message.
    void refuse_unknown_types(const std::vector<message_view>& layers) const {
        std::string unknown;
        for (const auto& l : layers) {
            const std::string type = l.text("type");
            if (!is_wiring_only(type) && !layer_converters().count(type))
                unknown += (unknown.empty() ? "" : ", ") + ("'" + l.text("name") + "' (" + type + ")");
        }
        if (!unknown.empty())
            throw unsupported_error(prototxt_ + ": layer types ktc's Caffe converter does not know: " + unknown);
    }

    void add_input(const std::string& name, shape_t shape) {
        if (current_.count(name)) throw file_error(prototxt_, "input '" + name + "' is declared twice");
        if (auto it = options_.input_shapes.find(name); it != options_.input_shapes.end())
            shape = input_shape("the input shape option", name, it->second);
        g_.inputs.push_back({name, dtype::float32, shape, true});
        builder_.reserve(name);
        builder_.set_shape(name, shape);
        current_[name] = bindings_.size();
        bindings_.push_back({name, name, true});  // an unread input is no output
        input_blobs_.insert(name);
    }

    void declare_net_inputs(const message_view& net) {
        const auto names = net.texts("input");
        const auto shapes = net.subs("input_shape");
        const auto dims = net.integers("input_dim");
        if (!shapes.empty() && shapes.size() != names.size())
            throw file_error(prototxt_, std::to_string(names.size()) + " inputs but " + std::to_string(shapes.size()) +
                                            " input_shape entries");
        if (shapes.empty() && dims.size() != 4 * names.size())
            throw file_error(prototxt_, std::to_string(names.size()) + " inputs need " +
                                            std::to_string(4 * names.size()) + " input_dim values, not " +
                                            std::to_string(dims.size()));
        for (std::size_t i = 0; i < names.size(); ++i)
            add_input(names[i], input_shape(prototxt_, names[i],
                                            shapes.empty() ? shape_t(dims.begin() + 4 * i, dims.begin() + 4 * i + 4)
                                                           : shapes[i].integers("dim")));
    }

    // Resolves every layer's bottoms to SSA values and names its tops; no nodes yet.
    std::vector<layer_call> wire(const std::vector<message_view>& layers,
                                 const std::map<std::string, message_view>& weights) {
        std::map<std::string, int> writes_left;
        for (const auto& l : layers)
            for (const auto& top : l.texts("top")) ++writes_left[top];
        std::vector<layer_call> calls;
        for (const auto& l : layers) {
            layer_call call{l.text("name"), l.text("type"), l, {}, {}, {}, caffemodel_};
            for (const auto& bottom : l.texts("bottom")) {
                auto it = current_.find(bottom);
                if (it == current_.end())
                    throw file_error(prototxt_, describe(call) + " reads blob '" + bottom +
                                                    "', which no earlier layer or input produces");
                bindings_[it->second].read = true;
                call.inputs.push_back(bindings_[it->second].value);
            }
            const auto tops = l.texts("top");
            if (call.type == "Input") {
                const auto shapes = l.sub("input_param").subs("shape");
                if (shapes.size() != 1 && shapes.size() != tops.size())
                    throw file_error(prototxt_, describe(call) + " needs one input_param shape, or one per top");
                for (std::size_t i = 0; i < tops.size(); ++i)
                    add_input(tops[i],
                              input_shape(prototxt_, tops[i], shapes[shapes.size() == 1 ? 0 : i].integers("dim")));
                continue;
            }
            if (call.type == "Dropout" || call.type == "Split") {
                if (call.inputs.size() != 1) throw unsupported_error(describe(call) + ": expects one bottom");
                for (const auto& top : tops) {
                    --writes_left[top];
                    bind(top, call.inputs[0]);
                }
                continue;
            }
            if (call.type == "Silence") continue;
            for (const auto& top : tops) {
                const bool last = --writes_left[top] == 0 && !input_blobs_.count(top);
                const std::string value = last && !builder_.is_taken(top) ? top : top + "@" + call.name;
                call.outputs.push_back(builder_.fresh(value));
                bind(top, call.outputs.back());
            }
            for (const auto& v : call.inputs) builder_.add_reader(v);
            if (needs_weights(call.type, call.inputs.size())) {
                auto w = weights.find(call.name);
                const auto blobs = w != weights.end() ? w->second.subs("blobs") : l.subs("blobs");
                if (blobs.empty()) throw file_error(caffemodel_, "has no weights for " + describe(call));
                for (std::size_t i = 0; i < blobs.size(); ++i)
                    call.weights.push_back(read_blob(blobs[i], caffemodel_, call.name, i));
            }
            calls.push_back(std::move(call));
        }
        for (const auto& b : bindings_)
            if (!b.read) builder_.add_reader(b.value);  // an output counts as a reader
        return calls;
    }

    void bind(const std::string& blob, const std::string& value) {
        current_[blob] = bindings_.size();
        bindings_.push_back({blob, value, false});
    }

    // Blob versions nothing read are the outputs; one whose value came through Dropout or Split
    // under another name is copied to its own name by an Identity.
    void declare_outputs() {
        for (const auto& b : bindings_) {
            if (b.read) continue;
            std::string name = b.value;
            if (b.value != b.blob && !builder_.is_taken(b.blob)) {
                name = builder_.fresh(b.blob);
                builder_.node("Identity", b.blob, {b.value}, name, builder_.shape(b.value));
            }
            if (g_.is_graph_output(name)) continue;
            g_.outputs.push_back({name, dtype::float32, builder_.shape(name), true});
        }
        if (g_.outputs.empty()) throw unsupported_error(prototxt_ + ": the network has no outputs");
    }

    std::string prototxt_, caffemodel_;
    const caffe_options& options_;
    graph::graph g_;
    net_builder builder_;
    std::vector<binding> bindings_;
    std::map<std::string, std::size_t> current_;  // blob -> its binding now
    std::set<std::string> input_blobs_;
};

}  // namespace caffe::net_detail

// Reads the network from `prototxt` and its weights from `caffemodel`.
inline graph::graph from_caffe(const std::filesystem::path& prototxt, const std::filesystem::path& caffemodel,
                               const caffe_options& options = {}) {
    const caffe::schema schema;
    const auto net = caffe::read_prototxt(schema, prototxt);
    const auto model = caffe::read_caffemodel(schema, caffemodel);
    return caffe::net_detail::net_converter(prototxt, caffemodel, options)
        .run(caffe::message_view(*net), caffe::message_view(*model));
}

}  // namespace ktc::convert
