// ktc/rewrite/passes/match_helpers.hpp - the small questions most patterns ask of a node's
// neighbourhood (is this value read once, is its shape known, is that constant per-channel) and
// the few moves several of them make (erase a node wholesale, insert a BatchNormalization).
#pragma once

#include <algorithm>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ktc/graph/constants.hpp"
#include "ktc/rewrite/rewriter.hpp"

namespace ktc::rewrite::passes::match {

// `n` is the default-domain op `op`.
inline bool is(const graph::node& n, const char* op) { return n.domain.empty() && n.op_type == op; }

// The one (node, slot) reading `value`, when it has exactly one reader and is not a graph output:
// the only case where a pattern may change what `value` holds.
inline std::optional<std::pair<graph::vertex, std::size_t>> only_reader(const graph::graph& g,
                                                                        const std::string& value) {
    if (value.empty() || g.is_graph_output(value)) return std::nullopt;
    const auto readers = g.consumers(value);
    if (readers.size() != 1) return std::nullopt;
    return readers[0];
}

// The fully known shape of `value`: a constant's own shape, or the declared/inferred one when
// every dimension is known.
inline std::optional<shape_t> known_shape(const graph::graph& g, const std::string& value) {
    if (value.empty()) return std::nullopt;
    if (const tensor* t = g.initializer(value)) return t->shape();
    const graph::value_info* info = g.info(value);
    if (!info || !info->rank_known) return std::nullopt;
    if (std::any_of(info->shape.begin(), info->shape.end(), [](auto d) { return d < 0; })) return std::nullopt;
    return info->shape;
}

// The known rank of `value` (dimensions may be unknown).
inline std::optional<std::size_t> known_rank(const graph::graph& g, const std::string& value) {
    if (value.empty()) return std::nullopt;
    if (const tensor* t = g.initializer(value)) return t->shape().size();
    const graph::value_info* info = g.info(value);
    if (!info || !info->rank_known) return std::nullopt;
    return info->shape.size();
}

// The value of a float32 constant.
inline std::optional<tensor> float_constant(const graph::graph& g, const std::string& value) {
    if (value.empty()) return std::nullopt;
    auto t = graph::constant_value(g, value);
    if (!t || t->type() != dtype::float32) return std::nullopt;
    return t;
}

// When constant `c`, broadcast against a value of rank `rank` with `channels` channels on axis 1,
// varies along axis 1 only (shape [C,1,..,1], [1,C,1,..,1], or a single element) and does not
// raise the value's rank: its `channels` per-channel values.
inline std::optional<std::vector<float>> per_channel(const tensor& c, std::size_t rank, std::int64_t channels) {
    if (c.type() != dtype::float32 || rank < 2 || c.shape().size() > rank || channels <= 0) return std::nullopt;
    const auto v = c.values<float>();
    if (c.size() == 1) return std::vector<float>(static_cast<std::size_t>(channels), v[0]);
    shape_t s(rank - c.shape().size(), 1);
    s.insert(s.end(), c.shape().begin(), c.shape().end());
    for (std::size_t i = 0; i < rank; ++i)
        if (s[i] != 1 && !(i == 1 && s[i] == channels)) return std::nullopt;
    return std::vector<float>(v.begin(), v.end());
}

// Disconnects every input and output of `v`, then erases it (its outputs must have been renamed
// or have lost their readers).
inline void erase_node(rewriter& r, graph::vertex v, const std::string& why) {
    for (std::size_t i = 0; i < r[v].inputs.size(); ++i) r.set_input(v, i, "");
    for (std::size_t o = 0; o < r[v].outputs.size(); ++o) r.set_output(v, o, "");
    r.erase(v, why);
}

// Replaces `v` by a new default-domain node `op` with `inputs` and `attrs` that keeps the old
// node's name and outputs (so readers, graph outputs and value_infos stay valid).
inline graph::vertex replace_node(rewriter& r, graph::vertex v, std::string op, std::vector<std::string> inputs,
                                  graph::attributes attrs, const std::string& why) {
    const std::string name = r[v].name;
    const std::vector<std::string> outputs = r[v].outputs;
    erase_node(r, v, "replaced by " + op + " (" + why + ")");
    return r.insert(graph::node{name, std::move(op), "", std::move(attrs), std::move(inputs), outputs}, why);
}

// Inserts y = scale * x + bias (per channel, axis 1) as an inference BatchNormalization with
// mean 0, variance 1 - 2^-17 and epsilon 2^-17: var + epsilon is exactly 1 in float and double, so
// it computes exactly that, and epsilon stays positive for runtimes that reject 0 (the identity
// BNs of the flow options use the same convention).
inline graph::vertex insert_batch_norm(rewriter& r, const std::string& name, const std::string& x, const std::string& y,
                                       const std::vector<float>& scale, const std::vector<float>& bias,
                                       const std::string& why) {
    const auto C = static_cast<std::int64_t>(scale.size());
    constexpr float epsilon = 1.f / 131072.f;  // 2^-17
    const std::vector<float> zeros(scale.size(), 0.f), var(scale.size(), 1.f - epsilon);
    auto vec = [&](const std::vector<float>& v) { return tensor::from<float>({C}, std::span<const float>(v)); };
    graph::node bn{name, "BatchNormalization", "", {}, {}, {y}};
    bn.inputs = {x, r.add_initializer(name + "_scale", vec(scale)), r.add_initializer(name + "_B", vec(bias)),
                 r.add_initializer(name + "_mean", vec(zeros)), r.add_initializer(name + "_var", vec(var))};
    bn.attrs.set("epsilon", epsilon);
    return r.insert(std::move(bn), why);
}

// The permutation `perm` of a float tensor: out.shape[i] = t.shape[perm[i]].
inline tensor transposed(const tensor& t, const std::vector<std::int64_t>& perm) {
    const shape_t& s = t.shape();
    const std::size_t rank = s.size();
    shape_t out_shape(rank);
    for (std::size_t i = 0; i < rank; ++i) out_shape[i] = s[perm[i]];
    tensor out(dtype::float32, out_shape);
    std::vector<std::int64_t> in_strides(rank, 1);
    for (std::size_t i = rank; i-- > 1;) in_strides[i - 1] = in_strides[i] * s[i];
    const float* src = t.data<float>();
    float* dst = out.data<float>();
    std::vector<std::int64_t> index(rank, 0);
    for (std::int64_t k = 0; k < out.size(); ++k) {
        std::int64_t offset = 0;
        for (std::size_t i = 0; i < rank; ++i) offset += index[i] * in_strides[perm[i]];
        dst[k] = src[offset];
        for (std::size_t i = rank; i-- > 0;) {
            if (++index[i] < out_shape[i]) break;
            index[i] = 0;
        }
    }
    return out;
}

// A valid permutation of 0..rank-1.
inline bool is_permutation(const std::vector<std::int64_t>& perm) {
    std::vector<std::int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i)
        if (sorted[i] != static_cast<std::int64_t>(i)) return false;
    return true;
}

}  // namespace ktc::rewrite::passes::match
