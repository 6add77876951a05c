// ktc/api/inputs.hpp - sample inputs as the seed's API takes them, and get_radix.
//
// An input_mapping maps a model input's name to its samples (the seed's
// `{"data_out": [img1, img2, ...]}`). Each tensor of a list is one sample in the user's layout
// (channel-last by default), or several samples stacked on a new leading axis; a list is joined
// into one stack. Everything the simulators take goes through sim::split_samples.
#pragma once

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ktc/core/error.hpp"
#include "ktc/core/layout.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/kernels/fixed/fixed_point.hpp"
#include "ktc/sim/interpreter.hpp"

namespace ktc {

using input_mapping = std::map<std::string, std::vector<tensor>>;

namespace api_detail {

// One stack [N, ...] of the samples in `list` for the model input `info`.
inline tensor stack_samples(const graph::value_info& info, const std::vector<tensor>& list) {
    if (list.empty()) throw usage_error("input '" + info.name + "': no sample given");
    if (list.size() == 1) return list.front();
    const auto rank = static_cast<std::int64_t>(info.shape.size());
    shape_t sample_shape;
    std::int64_t total = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const tensor& t = list[i];
        const bool one = !info.rank_known || t.rank() == rank;
        const shape_t s(t.shape().begin() + (one ? 0 : 1), t.shape().end());
        if (i == 0) sample_shape = s;
        else if (s != sample_shape || t.type() != list.front().type())
            throw usage_error("input '" + info.name + "': sample " + std::to_string(i) + " has shape " +
                              to_string(t.shape()) + ", sample 0 " + to_string(list.front().shape()));
        total += one ? 1 : t.dim(0);
    }
    shape_t stacked = sample_shape;
    stacked.insert(stacked.begin(), total);
    tensor all(list.front().type(), stacked);
    std::size_t at = 0;
    for (const auto& t : list) {
        std::memcpy(all.raw() + at, t.raw(), t.byte_size());
        at += t.byte_size();
    }
    return all;
}

// The mapping as one (stacked) tensor per input, checked against the model's inputs.
inline sim::tensor_map join_mapping(const input_mapping& mapping, const std::vector<graph::value_info>& model_inputs) {
    sim::tensor_map joined;
    for (const auto& [name, list] : mapping) {
        // Through a pointer: clang 14 cannot capture a structured binding.
        const auto info =
            std::find_if(model_inputs.begin(), model_inputs.end(), [n = &name](auto& i) { return i.name == *n; });
        if (info == model_inputs.end()) throw usage_error("'" + name + "' is not an input of the model");
        joined.emplace(name, stack_samples(*info, list));
    }
    return joined;
}

}  // namespace api_detail

// The seed's get_radix: the input radix that fits every value of the preprocessed inputs,
// (bits - 1) - ceil(log2(max|x|)). Non-finite values have no fixed-point form: a usage error.
inline int get_radix(const std::vector<tensor>& inputs, int bits = 8) {
    if (bits != 8 && bits != 16) throw usage_error("get_radix: bits must be 8 or 16, not " + std::to_string(bits));
    if (inputs.empty()) throw usage_error("get_radix: no input given");
    double max_abs = 0;
    for (std::size_t k = 0; k < inputs.size(); ++k) {
        const auto v = inputs[k].to_vector<double>();
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (!std::isfinite(v[i]))
                throw usage_error("get_radix: input " + std::to_string(k) + ", element " + std::to_string(i) +
                                  " is not finite: non-finite data has no fixed-point radix");
            max_abs = std::max(max_abs, std::abs(v[i]));
        }
    }
    return fixed::radix_for(max_abs, bits);
}

}  // namespace ktc
