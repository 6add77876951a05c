// ktc/rewrite/passes/fuse_into_consumer.hpp - fold a node into the one node that reads it.
//
// fuse_pad_into_conv     matches a constant-mode Pad with zero value and constant pads that touch
//                        only spatial axes, whose only reader is a Conv (as its data input) with
//                        auto_pad NOTSET. Produces: the Conv reads the Pad's input with the pads
//                        added to its own. Must not fire: reflect/edge pads, a non-zero value,
//                        pads on N or C, a Pad output with other readers or that is a graph output.
// fuse_matmul_add_into_gemm  matches MatMul(A, B) with A known 2-D and B a 2-D constant, whose
//                        only reader is an Add of a constant bias of shape [N] or [1,N].
//                        Produces: Gemm(A, B, bias) named after the Add, producing its output.
//                        Must not fire: A of unknown or other rank, a non-constant bias, a MatMul
//                        output with other readers or that is a graph output.
#pragma once

#include <algorithm>

#include "ktc/graph/constants.hpp"
#include "ktc/rewrite/pattern.hpp"

namespace ktc::rewrite::passes {

namespace detail {
// The node reading `value` when it has exactly one reader and is not a graph output.
inline std::optional<std::pair<graph::vertex, std::size_t>> sole_reader(const graph::graph& g,
                                                                        const std::string& value) {
    const auto readers = g.consumers(value);
    if (readers.size() != 1 || g.is_graph_output(value)) return std::nullopt;
    return readers[0];
}
}  // namespace detail

struct fuse_pad_into_conv final : pattern {
    const char* name() const override { return "fuse_pad_into_conv"; }
    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& pad = g[v];
        if (pad.op_type != "Pad" || !pad.domain.empty() || !pad.has_input(1)) return false;
        if (pad.attrs.get_string("mode", "constant") != "constant") return false;
        if (pad.has_input(2)) {
            const auto value = graph::constant_value(g, pad.input(2));
            if (!value || value->size() != 1 || value->to_vector<double>()[0] != 0.0) return false;
        }
        const auto pads_t = graph::constant_value(g, pad.input(1));
        if (!pads_t) return false;
        const auto pads = pads_t->to_vector<std::int64_t>();
        const std::size_t rank = pads.size() / 2;
        if (rank < 3 || pads.size() != 2 * rank) return false;
        if (pads[0] || pads[1] || pads[rank] || pads[rank + 1]) return false;  // N and C untouched
        if (std::any_of(pads.begin(), pads.end(), [](auto p) { return p < 0; })) return false;
        const auto reader = detail::sole_reader(g, pad.outputs.at(0));
        if (!reader || reader->second != 0) return false;
        const graph::vertex conv_v = reader->first;
        const graph::node& conv = g[conv_v];
        if (conv.op_type != "Conv" || !conv.domain.empty()) return false;
        if (conv.attrs.get_string("auto_pad", "NOTSET") != "NOTSET") return false;
        const std::size_t spatial = rank - 2;
        auto conv_pads = conv.attrs.get_ints("pads", std::vector<std::int64_t>(2 * spatial, 0));
        if (conv_pads.size() != 2 * spatial) return false;
        for (std::size_t i = 0; i < spatial; ++i) {
            conv_pads[i] += pads[2 + i];
            conv_pads[spatial + i] += pads[rank + 2 + i];
        }
        const std::string in = pad.input(0), pad_name = pad.name;
        r.set_attribute(conv_v, "pads", conv_pads);
        r.set_input(conv_v, 0, in);
        r.set_output(v, 0, "");
        r.erase(v, "padding folded into Conv '" + g[conv_v].name + "'");
        return true;
    }
};

struct fuse_matmul_add_into_gemm final : pattern {
    const char* name() const override { return "fuse_matmul_add_into_gemm"; }
    bool match_and_rewrite(graph::vertex v, rewriter& r) const override {
        const graph::graph& g = r.graph();
        const graph::node& mm = g[v];
        if (mm.op_type != "MatMul" || !mm.domain.empty()) return false;
        const auto* a_info = g.info(mm.input(0));
        if (!a_info || !a_info->rank_known || a_info->shape.size() != 2) return false;
        const auto b = graph::constant_value(g, mm.input(1));
        if (!b || b->rank() != 2) return false;
        const auto reader = detail::sole_reader(g, mm.outputs.at(0));
        if (!reader) return false;
        const graph::vertex add_v = reader->first;
        const graph::node& add = g[add_v];
        if (add.op_type != "Add" || !add.domain.empty() || add.inputs.size() != 2) return false;
        const std::string bias_name = add.input(1 - reader->second);
        const auto bias = graph::constant_value(g, bias_name);
        const std::int64_t N = b->dim(1);
        if (!bias || bias->type() != b->type() || bias->size() != N) return false;
        if (!(bias->shape() == shape_t{N} || bias->shape() == shape_t{1, N})) return false;

        graph::node gemm{add.name, "Gemm", "", {}, {mm.input(0), mm.input(1), bias_name}, {}};
        const std::string out = add.outputs.at(0), add_name = add.name;
        r.set_output(add_v, 0, "");
        r.set_input(add_v, 0, "");
        r.set_input(add_v, 1, "");
        r.erase(add_v, "folded into Gemm");
        r.set_output(v, 0, "");
        r.erase(v, "MatMul + Add -> Gemm '" + add_name + "'");
        gemm.outputs = {out};
        r.insert(std::move(gemm), "MatMul + constant Add");
        return true;
    }
};

}  // namespace ktc::rewrite::passes
