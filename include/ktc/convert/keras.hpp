// ktc/convert/keras.hpp - a Keras model saved by model.save (.h5/.hdf5) -> the ktc graph.
//
// The file holds the topology as JSON in the root attribute `model_config` and the weights under
// `model_weights/<layer>/`, listed by each layer group's `weight_names` attribute (the datasets'
// inner group names need not be the layer's). Sequential and functional (Model) topologies are
// read, with the Keras 2.0-2.2 form of `inbound_nodes` ([layer, node, tensor, kwargs] lists).
// The result is ONNX opset 17, NCHW activations (keras/builder.hpp has the layout rule), batch 1.
#pragma once

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "ktc/convert/keras/builder.hpp"
#include "ktc/convert/keras/hdf5.hpp"
#include "ktc/convert/keras/layers.hpp"
#include "ktc/core/error.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::convert {

namespace keras {

// One output of one call of a layer: [layer name, node (call) index, tensor index].
struct tensor_ref {
    std::string layer;
    std::int64_t node = 0, index = 0;
    bool operator<(const tensor_ref& o) const {
        return std::tie(layer, node, index) < std::tie(o.layer, o.node, o.index);
    }
};

struct layer_entry {
    std::string name, class_name;
    json config;
    std::vector<std::vector<tensor_ref>> calls;  // the inputs of each call
};

struct topology {
    std::string name;
    std::vector<layer_entry> layers;
    std::vector<tensor_ref> inputs, outputs;
};

namespace detail {

inline std::string keras_text(const json& j, const std::string& key, const std::string& file,
                              const std::string& where) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_string())
        throw file_error(file, "model_config: " + where + " has no '" + key + "' string");
    return j[key].get<std::string>();
}

inline tensor_ref keras_ref(const json& j, const std::string& file, const std::string& where) {
    if (j.is_object())
        throw unsupported_error(file + ": " + where + ": inbound nodes in the Keras 3 form; ktc reads Keras 2 files");
    if (!j.is_array() || j.empty() || !j[0].is_string() || (j.size() > 1 && !j[1].is_number_integer()) ||
        (j.size() > 2 && !j[2].is_number_integer()))
        throw file_error(file, "model_config: " + where + ": not a [layer, node, tensor] reference");
    return {j[0].get<std::string>(), j.size() > 1 ? j[1].get<std::int64_t>() : 0,
            j.size() > 2 ? j[2].get<std::int64_t>() : 0};
}

// input_layers / output_layers: a list of references, or one reference when there is one.
inline std::vector<tensor_ref> keras_refs(const json& j, const std::string& file, const std::string& where) {
    if (!j.is_array()) throw file_error(file, "model_config: " + where + " is not a list");
    if (!j.empty() && j[0].is_string()) return {keras_ref(j, file, where)};
    std::vector<tensor_ref> refs;
    for (const auto& e : j) refs.push_back(keras_ref(e, file, where));
    return refs;
}

inline topology sequential_topology(const json& config, const std::string& file) {
    topology t;
    const json& layers = config.is_array()                                 ? config
                         : config.is_object() && config.contains("layers") ? config["layers"]
                                                                           : json();
    if (!layers.is_array() || layers.empty()) throw file_error(file, "model_config: a Sequential model without layers");
    t.name = config.is_object() && config.contains("name") && config["name"].is_string()
                 ? config["name"].get<std::string>()
                 : "sequential";
    std::string previous;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        layer_entry e;
        e.class_name = keras_text(layers[i], "class_name", file, "layer " + std::to_string(i));
        if (!layers[i].contains("config") || !layers[i]["config"].is_object())
            throw file_error(file, "model_config: layer " + std::to_string(i) + " has no config");
        e.config = layers[i]["config"];
        e.name = keras_text(e.config, "name", file, "layer " + std::to_string(i) + " config");
        if (i == 0 && e.class_name != "InputLayer") {
            // The first layer carries the input's shape; Keras names the input after it.
            layer_entry input{e.name + "_input", "InputLayer", json::object(), {}};
            for (const char* key : {"batch_input_shape", "batch_shape", "dtype"})
                if (e.config.contains(key)) input.config[key] = e.config[key];
            t.layers.push_back(input);
            previous = input.name;
            t.inputs.push_back({previous, 0, 0});
        }
        if (e.class_name == "InputLayer") {
            if (i != 0) throw file_error(file, "model_config: InputLayer '" + e.name + "' inside a Sequential model");
            t.inputs.push_back({e.name, 0, 0});
        } else {
            e.calls.push_back({{previous, 0, 0}});
        }
        previous = e.name;
        t.layers.push_back(std::move(e));
    }
    t.outputs.push_back({previous, 0, 0});
    return t;
}

inline topology functional_topology(const json& config, const std::string& file) {
    topology t;
    if (!config.is_object() || !config.contains("layers") || !config["layers"].is_array())
        throw file_error(file, "model_config: a functional model without a layer list");
    t.name = config.contains("name") && config["name"].is_string() ? config["name"].get<std::string>() : "model";
    for (const auto& l : config["layers"]) {
        layer_entry e;
        e.class_name = keras_text(l, "class_name", file, "a layer");
        e.name = keras_text(l, "name", file, "a " + e.class_name + " layer");
        if (!l.contains("config") || !l["config"].is_object())
            throw file_error(file, "model_config: layer '" + e.name + "' has no config");
        e.config = l["config"];
        const json nodes = l.contains("inbound_nodes") ? l["inbound_nodes"] : json::array();
        if (!nodes.is_array())
            throw file_error(file, "model_config: layer '" + e.name + "': inbound_nodes is not a list");
        for (const auto& node : nodes) {
            if (!node.is_array()) keras_ref(node, file, "layer '" + e.name + "'");  // throws: Keras 3 or malformed
            std::vector<tensor_ref> inputs;
            for (const auto& r : node) inputs.push_back(keras_ref(r, file, "layer '" + e.name + "'"));
            e.calls.push_back(std::move(inputs));
        }
        t.layers.push_back(std::move(e));
    }
    for (const char* key : {"input_layers", "output_layers"}) {
        if (!config.contains(key)) throw file_error(file, std::string("model_config: no ") + key);
        (key[0] == 'i' ? t.inputs : t.outputs) = keras_refs(config[key], file, key);
    }
    return t;
}

// The model's graph inputs: each InputLayer's shape, batch set to 1.
inline void keras_inputs(const topology& t, conversion& c, std::map<tensor_ref, value>& made) {
    for (const auto& ref : t.inputs) {
        auto it = std::find_if(t.layers.begin(), t.layers.end(), [&](auto& l) { return l.name == ref.layer; });
        if (it == t.layers.end() || it->class_name != "InputLayer")
            throw file_error(c.file, "model_config: input '" + ref.layer + "' is not an InputLayer of the model");
        const json& cfg = it->config;
        const json& dims = cfg.contains("batch_input_shape") ? cfg["batch_input_shape"]
                           : cfg.contains("batch_shape")     ? cfg["batch_shape"]
                                                             : json();
        if (!dims.is_array() || dims.empty())
            throw file_error(c.file, "input '" + ref.layer + "' has no batch_input_shape");
        if (cfg.contains("dtype") && cfg["dtype"].is_string() && cfg["dtype"] != "float32")
            throw unsupported_error(c.file + ": input '" + ref.layer + "' is " + cfg["dtype"].get<std::string>() +
                                    "; ktc converts float32 models");
        shape_t shape = {1};
        for (std::size_t d = 1; d < dims.size(); ++d) {
            if (!dims[d].is_number_integer() || dims[d].get<std::int64_t>() <= 0)
                throw unsupported_error(c.file + ": input '" + ref.layer + "' has an unknown dimension " + dims.dump() +
                                        "; ktc converts models with static shapes");
            shape.push_back(dims[d].get<std::int64_t>());
        }
        if (shape.size() == 4 && cfg.value("data_format", "channels_last") != "channels_last")
            throw unsupported_error(c.file + ": input '" + ref.layer + "': ktc converts channels_last models");
        const std::string name = c.fresh(ref.layer);
        c.g.inputs.push_back({name, dtype::float32, held_shape(shape), true});
        made[{ref.layer, 0, 0}] = {name, shape};
    }
}

// Every layer's weights by their base name ("kernel", "gamma", ...), read through weight_names.
class weight_reader {
public:
    explicit weight_reader(const hdf5::file& f) : f_(f) {
        if (!f.has_object(f.id(), "model_weights"))
            f.fail("no 'model_weights' group: not a whole model saved by model.save");
        root_ = f.open_group(f.id(), "model_weights");
    }
    const std::map<std::string, tensor>& of(const std::string& layer) {
        auto [it, fresh] = cache_.try_emplace(layer);
        if (!fresh || !f_.has_object(root_.get(), layer)) return it->second;
        const hdf5::handle group = f_.open_group(root_.get(), layer);
        for (const auto& path : f_.strings_attribute(group.get(), "weight_names")) {
            std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
            base = base.substr(0, base.find(':'));
            if (!it->second.emplace(base, f_.float_dataset(group.get(), path, "model_weights/" + layer + "/" + path))
                     .second)
                f_.fail("model_weights/" + layer + ": two weights named '" + base + "'");
        }
        return it->second;
    }

private:
    const hdf5::file& f_;
    hdf5::handle root_;
    std::map<std::string, std::map<std::string, tensor>> cache_;
};

inline void refuse_unknown_layers(const topology& t, const std::string& file) {
    std::string unknown;
    for (const auto& l : t.layers)
        if (l.class_name != "InputLayer" && !layer_converters().count(l.class_name))
            unknown += (unknown.empty() ? "" : ", ") + ("'" + l.name + "' (" + l.class_name + ")");
    if (!unknown.empty())
        throw unsupported_error(file + ": layers ktc does not convert (custom or not in ktc's Keras list): " + unknown);
}

// Converts every layer call once its inputs exist, in as many sweeps as the order needs.
inline void keras_layers(const topology& t, conversion& c, weight_reader& weights, std::map<tensor_ref, value>& made) {
    std::vector<std::pair<const layer_entry*, std::size_t>> pending;
    for (const auto& l : t.layers)
        for (std::size_t call = 0; call < l.calls.size(); ++call) pending.emplace_back(&l, call);
    while (!pending.empty()) {
        std::vector<std::pair<const layer_entry*, std::size_t>> later;
        for (const auto& [layer, call] : pending) {
            std::vector<value> inputs;
            for (const auto& ref : layer->calls[call]) {
                auto it = made.find(ref);
                if (it == made.end()) break;
                inputs.push_back(it->second);
            }
            if (inputs.size() != layer->calls[call].size()) {
                later.emplace_back(layer, call);
                continue;
            }
            const std::string name = call == 0 ? layer->name : layer->name + "_call" + std::to_string(call);
            layer_builder b(c, name, layer->class_name, layer->config, weights.of(layer->name));
            try {
                made[{layer->name, static_cast<std::int64_t>(call), 0}] =
                    layer_converters().at(layer->class_name)(b, inputs);
            } catch (const json::exception& e) {
                b.malformed(std::string("malformed config: ") + e.what());
            }
        }
        if (later.size() == pending.size()) {
            const auto& [layer, call] = later.front();
            for (const auto& ref : layer->calls[call])
                if (!made.count(ref))
                    throw file_error(c.file, "model_config: layer '" + layer->name + "' reads output " +
                                                 std::to_string(ref.node) + "/" + std::to_string(ref.index) + " of '" +
                                                 ref.layer + "', which no layer makes (or the layers form a cycle)");
        }
        pending = std::move(later);
    }
}

inline void keras_outputs(const topology& t, conversion& c, const std::map<tensor_ref, value>& made) {
    for (const auto& ref : t.outputs) {
        auto it = made.find(ref);
        if (it == made.end()) throw file_error(c.file, "model_config: output '" + ref.layer + "' is made by no layer");
        std::string name = it->second.name;
        // A graph output must be made by a node and be listed once (a Dropout may forward an input).
        if (c.g.is_graph_input(name) || c.g.is_graph_output(name) || !c.g.producer(name)) {
            const std::string copy = c.fresh(ref.layer + "/output");
            c.g.add_node(graph::node{copy, "Identity", "", {}, {name}, {copy}});
            name = copy;
        }
        c.g.outputs.push_back({name, dtype::float32, held_shape(it->second.shape), true});
    }
}

}  // namespace detail

// The topology of a model_config JSON document (Sequential or functional).
inline topology parse_topology(const std::string& model_config, const std::string& file) {
    json model;
    try {
        model = json::parse(model_config);
    } catch (const json::parse_error& e) {
        throw file_error(file, std::string("model_config is not valid JSON: ") + e.what());
    }
    const std::string cls = detail::keras_text(model, "class_name", file, "the model");
    if (!model.contains("config")) throw file_error(file, "model_config: the model has no config");
    if (cls == "Sequential") return detail::sequential_topology(model["config"], file);
    if (cls == "Model" || cls == "Functional") return detail::functional_topology(model["config"], file);
    throw unsupported_error(file + ": model class '" + cls +
                            "'; ktc converts Sequential and functional (Model) models");
}

}  // namespace keras

// Reads `path` (HDF5: model_config + model_weights) and returns the equivalent ONNX-style graph.
inline graph::graph from_keras(const std::filesystem::path& path) {
    const hdf5::file f(path);
    if (!f.has_attribute(f.id(), "model_config"))
        f.fail(
            "no 'model_config' attribute: not a whole model saved by model.save (save_weights files hold no topology)");
    if (f.has_attribute(f.id(), "backend") && f.string_attribute(f.id(), "backend") == "theano")
        throw unsupported_error(f.path() +
                                ": saved with the Theano backend (flipped convolution kernels); ktc converts "
                                "TensorFlow-backend files");
    const keras::topology t = keras::parse_topology(f.string_attribute(f.id(), "model_config"), f.path());
    keras::detail::refuse_unknown_layers(t, f.path());

    keras::conversion c;
    c.file = f.path();
    c.g.name = t.name;
    c.g.opset = 17;
    keras::detail::weight_reader weights(f);
    std::map<keras::tensor_ref, keras::value> made;
    keras::detail::keras_inputs(t, c, made);
    keras::detail::keras_layers(t, c, weights, made);
    keras::detail::keras_outputs(t, c, made);
    c.g.remove_dead_nodes();
    return std::move(c.g);
}

}  // namespace ktc::convert
