// ktc/convert/keras/builder.hpp - what converting one Keras layer call needs: its config with
// checked access, its weights, and the graph it adds nodes and initializers to, under names
// derived from the layer's.
//
// Layout rule (one place): a 4-D Keras tensor (N, H, W, C) is held in the graph as NCHW, every
// other rank as Keras has it. `value` keeps Keras's own shape; held_shape / held_axis translate.
#pragma once

#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ktc/core/error.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/kernels/float/layout.hpp"

namespace ktc::convert::keras {

using json = nlohmann::json;

// A Keras tensor as the graph holds it: the value's name and Keras's shape (batch 1 included).
struct value {
    std::string name;
    shape_t shape;
};

inline bool held_as_nchw(const shape_t& keras_shape) { return keras_shape.size() == 4; }

// The graph-side shape of a Keras shape.
inline shape_t held_shape(const shape_t& s) { return held_as_nchw(s) ? shape_t{s[0], s[3], s[1], s[2]} : s; }

// The graph-side axis of a (possibly negative) Keras axis of a tensor of rank `rank`.
inline std::int64_t held_axis(std::int64_t keras_axis, std::size_t rank) {
    const std::int64_t axis = normalize_axis(keras_axis, static_cast<std::int64_t>(rank));
    static constexpr std::int64_t nhwc_to_nchw[4] = {0, 2, 3, 1};
    return rank == 4 ? nhwc_to_nchw[axis] : axis;
}

inline tensor permuted(const tensor& t, const std::vector<std::int64_t>& perm) {
    return kernels::floating::layout_impl::transposed(t, perm);
}

// Graph-wide state shared by every layer call: the graph and the names already taken.
struct conversion {
    std::string file;
    graph::graph g;
    std::set<std::string> names;

    // `base`, or base_1, base_2, ... when taken.
    std::string fresh(const std::string& base) {
        std::string name = base;
        for (int i = 1; names.count(name); ++i) name = base + "_" + std::to_string(i);
        names.insert(name);
        return name;
    }
};

// One call of one Keras layer being converted.
class layer_builder {
public:
    layer_builder(conversion& c, std::string name, std::string class_name, const json& config,
                  const std::map<std::string, tensor>& weights)
        : c_(c), name_(std::move(name)), class_(std::move(class_name)), config_(config), weights_(weights) {}

    const std::string& name() const { return name_; }
    const std::string& class_name() const { return class_; }
    const json& config() const { return config_; }

    // ---- errors: one line naming the file, the layer and its class --------------------------
    std::string where() const { return "layer '" + name_ + "' (" + class_ + ")"; }
    [[noreturn]] void unsupported(const std::string& what) const {
        throw unsupported_error(c_.file + ": " + where() + ": " + what);
    }
    [[noreturn]] void malformed(const std::string& what) const { throw file_error(c_.file, where() + ": " + what); }

    // ---- config ------------------------------------------------------------------------------
    bool has(const std::string& key) const { return config_.contains(key) && !config_[key].is_null(); }
    std::int64_t integer(const std::string& key, std::optional<std::int64_t> fallback = {}) const {
        if (!has(key)) {
            if (fallback) return *fallback;
            malformed("config has no '" + key + "'");
        }
        const json& v = config_[key];
        if (v.is_array() && v.size() == 1 && v[0].is_number_integer()) return v[0].get<std::int64_t>();
        if (!v.is_number_integer()) malformed("config '" + key + "' is not an integer");
        return v.get<std::int64_t>();
    }
    double number(const std::string& key, double fallback) const {
        if (!has(key)) return fallback;
        if (!config_[key].is_number()) malformed("config '" + key + "' is not a number");
        return config_[key].get<double>();
    }
    std::string text(const std::string& key, const std::string& fallback) const {
        if (!has(key)) return fallback;
        if (!config_[key].is_string()) malformed("config '" + key + "' is not a string");
        return config_[key].get<std::string>();
    }
    bool flag(const std::string& key, bool fallback) const {
        if (!has(key)) return fallback;
        if (!config_[key].is_boolean()) malformed("config '" + key + "' is not true or false");
        return config_[key].get<bool>();
    }
    // `n` integers from a list of n or one integer repeated (Keras accepts both).
    std::vector<std::int64_t> integers(const std::string& key, std::size_t n,
                                       std::optional<std::vector<std::int64_t>> fallback = {}) const {
        if (!has(key)) {
            if (fallback) return *fallback;
            malformed("config has no '" + key + "'");
        }
        const json& v = config_[key];
        if (v.is_number_integer()) return std::vector<std::int64_t>(n, v.get<std::int64_t>());
        if (!v.is_array() || v.size() != n) malformed("config '" + key + "' is not " + std::to_string(n) + " integers");
        std::vector<std::int64_t> out;
        for (const auto& e : v) {
            if (!e.is_number_integer()) malformed("config '" + key + "' is not " + std::to_string(n) + " integers");
            out.push_back(e.get<std::int64_t>());
        }
        return out;
    }
    void require_channels_last() const {
        const std::string format = text("data_format", "channels_last");
        if (format != "channels_last") unsupported("data_format '" + format + "': ktc converts channels_last models");
    }

    // ---- weights -----------------------------------------------------------------------------
    // The weight called `base` ("kernel", "bias", "gamma", ...), checked against `shape`.
    const tensor& weight(const std::string& base, const shape_t& shape) const {
        auto it = weights_.find(base);
        if (it == weights_.end()) malformed("weight '" + base + "' is missing from model_weights");
        if (it->second.shape() != shape)
            malformed("weight '" + base + "' has shape " + to_string(it->second.shape()) + ", expected " +
                      to_string(shape));
        return it->second;
    }
    bool has_weight(const std::string& base) const { return weights_.count(base) != 0; }

    // ---- graph -------------------------------------------------------------------------------
    // Adds one node with one output; returns the output's name. `part` tells this layer's nodes
    // apart ("" for the node that makes the layer's result).
    std::string node(const std::string& op, std::vector<std::string> inputs, graph::attributes attrs = {},
                     const std::string& part = "") {
        const std::string base = part.empty() ? name_ : name_ + "/" + part;
        const std::string out = c_.fresh(base);
        graph::node n;
        n.name = out;
        n.op_type = op;
        n.inputs = std::move(inputs);
        n.outputs = {out};
        n.attrs = std::move(attrs);
        c_.g.add_node(std::move(n));
        return out;
    }
    std::string initializer(const std::string& part, tensor t) {
        const std::string name = c_.fresh(name_ + "/" + part);
        c_.g.initializers.emplace(name, std::move(t));
        return name;
    }
    std::string int64s(const std::string& part, const std::vector<std::int64_t>& v) {
        return initializer(part, tensor::from<std::int64_t>({static_cast<std::int64_t>(v.size())}, std::span(v)));
    }
    std::string floats(const std::string& part, const shape_t& shape, const std::vector<float>& v) {
        return initializer(part, tensor::from<float>(shape, std::span(v)));
    }

    // The value in Keras's own layout (a Transpose to NHWC for 4-D), and back.
    std::string to_keras_layout(const value& v, const std::string& part = "to_nhwc") {
        if (!held_as_nchw(v.shape)) return v.name;
        return node("Transpose", {v.name}, perm_attr({0, 2, 3, 1}), part);
    }
    value from_keras_layout(const std::string& name, const shape_t& keras_shape, const std::string& part = "") {
        if (!held_as_nchw(keras_shape)) return {name, keras_shape};
        return {node("Transpose", {name}, perm_attr({0, 3, 1, 2}), part), keras_shape};
    }
    static graph::attributes perm_attr(std::vector<std::int64_t> perm) {
        graph::attributes a;
        a.set("perm", std::move(perm));
        return a;
    }

private:
    conversion& c_;
    std::string name_, class_;
    const json& config_;
    const std::map<std::string, tensor>& weights_;
};

}  // namespace ktc::convert::keras
