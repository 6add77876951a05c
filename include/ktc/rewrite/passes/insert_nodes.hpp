// ktc/rewrite/passes/insert_nodes.hpp - the shared moves of the flow options (bn_on_skip,
// bn_before_add, bgr, norm, rgba2yynn): put a node between a value and one of its readers, or
// between a graph input and all of its readers.
//
// The options are graph-level functions, applied once per flow after the fixed point of the
// optimizing passes (flows.hpp): they add nodes those passes would fold away again, and some of
// them (bgr) are not idempotent by nature. Each goes through a rewriter so that every change is
// in the change log.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ktc/graph/graph.hpp"
#include "ktc/rewrite/rewriter.hpp"

namespace ktc::rewrite::passes {

// The identity BatchNormalization: scale 1, B 0, mean 0, var 1 - 2^-17 and epsilon 2^-17.
// Both are powers of two apart, so var + epsilon is exactly 1 in float and in double and
// y = (x - 0) / sqrt(1) * 1 + 0 = x bit for bit; epsilon stays positive for runtimes that
// reject epsilon = 0. (The usual epsilon 1e-5 with var 1 would scale by 0.999995.)
inline constexpr float identity_bn_epsilon = 1.0f / 131072.0f;  // 2^-17
inline constexpr float identity_bn_var = 1.0f - identity_bn_epsilon;

// The channel count (axis 1) of a float value of rank >= 2, when the graph knows it.
inline std::optional<std::int64_t> channels_of(const graph::graph& g, const std::string& value) {
    const graph::value_info* info = g.info(value);
    if (!info || !info->rank_known || info->type != dtype::float32 || info->shape.size() < 2) return std::nullopt;
    if (info->shape[1] <= 0) return std::nullopt;
    return info->shape[1];
}

// Is `value` a constant (an initializer or the output of a Constant node)?
inline bool is_constant_value(const graph::graph& g, const std::string& value) {
    if (g.initializer(value)) return true;
    const auto p = g.producer(value);
    return p && g[*p].op_type == "Constant" && g[*p].domain.empty();
}

// Hands out the four identity-BN parameter tensors once per channel count and application.
class identity_bn_params {
public:
    explicit identity_bn_params(std::string base) : base_(std::move(base)) {}

    // scale, B, mean, var for `c` channels.
    std::vector<std::string> get(rewriter& r, std::int64_t c) {
        auto it = names_.find(c);
        if (it != names_.end()) return it->second;
        const float fill[4] = {1.f, 0.f, 0.f, identity_bn_var};
        const char* suffix[4] = {"_scale", "_B", "_mean", "_var"};
        std::vector<std::string> names;
        for (int i = 0; i < 4; ++i) {
            tensor t(dtype::float32, {c});
            for (auto& v : t.values<float>()) v = fill[i];
            names.push_back(r.add_initializer(base_ + std::to_string(c) + suffix[i], std::move(t)));
        }
        return names_[c] = names;
    }

private:
    std::string base_;
    std::map<std::int64_t, std::vector<std::string>> names_;
};

// Puts an identity BN between `value` (with `channels` channels) and input `slot` of `reader`;
// returns the BN's output value.
inline std::string insert_identity_bn(rewriter& r, identity_bn_params& params, const std::string& value,
                                      std::int64_t channels, graph::vertex reader, std::size_t slot,
                                      const std::string& name, const std::string& why) {
    graph::node bn;
    bn.name = name;
    bn.op_type = "BatchNormalization";
    bn.inputs = {value};
    for (const auto& p : params.get(r, channels)) bn.inputs.push_back(p);
    const std::string out = r.unique_value_name(name);
    bn.outputs = {out};
    bn.attrs.set("epsilon", identity_bn_epsilon);
    r.insert(std::move(bn), why);
    r.set_input(reader, slot, out);
    return out;
}

// Puts a 1x1 Conv (weight `w` [M, C/group, 1, 1], bias `b` [M]) after graph input `input` and
// points every node reading `input` at its output instead. A graph output named `input` keeps
// reading the input itself. Returns the Conv's output value.
inline std::string insert_conv_after_input(rewriter& r, const std::string& input, tensor w, tensor b,
                                           std::int64_t group, const std::string& name, const std::string& why) {
    const auto readers = r.graph().consumers(input);  // before the new node reads it too
    graph::node conv;
    conv.name = name;
    conv.op_type = "Conv";
    conv.inputs = {input, r.add_initializer(name + "_W", std::move(w)), r.add_initializer(name + "_B", std::move(b))};
    const std::string out = r.unique_value_name(name);
    conv.outputs = {out};
    conv.attrs.set("kernel_shape", std::vector<std::int64_t>{1, 1});
    conv.attrs.set("group", group);
    r.insert(std::move(conv), why);
    for (const auto& [reader, slot] : readers) r.set_input(reader, slot, out);
    return out;
}

// The float graph inputs of rank 4 with a known channel count that some node reads.
inline std::vector<std::pair<std::string, std::int64_t>> image_inputs(const graph::graph& g) {
    std::vector<std::pair<std::string, std::int64_t>> found;
    for (const auto& in : g.inputs) {
        if (!in.rank_known || in.type != dtype::float32 || in.shape.size() != 4 || in.shape[1] <= 0) continue;
        if (g.consumers(in.name).empty()) continue;
        found.emplace_back(in.name, in.shape[1]);
    }
    return found;
}

}  // namespace ktc::rewrite::passes
