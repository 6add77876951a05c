// ktc/compiler/lower.ipp - the definitions behind lower.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/compiler/lower.hpp"

namespace ktc::compiler {

KTC_DECL const char* name_of(layer_kind k) {
    switch (k) {
        case layer_kind::mac: return "mac";
        case layer_kind::elementwise: return "elementwise";
        case layer_kind::pool: return "pool";
        case layer_kind::move: return "move";
        case layer_kind::cpu: return "cpu";
    }
    return "?";
}

namespace lower_detail {

KTC_DECL std::map<std::string, value_desc> value_shapes(const graph::graph& g) {
    graph::graph typed = g;
    const auto formats = fixed::edge_formats(typed);
    sim::tensor_map zeros;
    std::map<std::string, value_desc> values;
    for (auto& in : typed.inputs) {
        if (auto f = formats.find(in.name); f != formats.end()) in.type = fixed::integer_type(f->second.bits);
        for (auto d : in.shape)
            if (d < 0 || !in.rank_known)
                throw unsupported_error("input '" + in.name + "' has a dynamic shape " + to_string(in.shape) +
                                        "; compile needs fixed input shapes");
        zeros.emplace(in.name, tensor::zeros(in.type, in.shape));
        values[in.name] = {in.type, in.shape};
    }
    const sim::interpreter run(typed, kernels::fixed::kernels());
    run.run(zeros, [&](const graph::node& n, std::span<const tensor> outs) {
        for (std::size_t i = 0; i < outs.size() && i < n.outputs.size(); ++i)
            if (!n.outputs[i].empty()) values[n.outputs[i]] = {outs[i].type(), outs[i].shape()};
    });
    return values;
}

}  // namespace lower_detail

#if !KTC_HEADER_ONLY
template lowered_model lower<platform::kdp520>(const graph::graph&);
template lowered_model lower<platform::kdp720>(const graph::graph&);
#endif

}  // namespace ktc::compiler
