// ktc/eval/support.hpp - which nodes a chip's NPU runs, which its CPU runs, and which nothing on
// the chip can run, each with the rule that decided it; and the partition of the graph into NPU
// segments and CPU nodes.
//
// The verdict for one node, in this order (docs/platforms.md has the tables):
//   folded       Constant, Identity, Dropout compute nothing at inference        -> npu
//   npu          the op is in the chip's table and meets every limit there       -> npu
//   cpu          otherwise, when the op is one the chip's CPU runs               -> cpu
//   unsupported  otherwise (MAC-heavy ops past the NPU's limits, unknown ops)    -> unsupported
// Limits that need a shape read the graph's value_infos (filled by ONNX shape inference on
// import) or the constant itself; a limit that cannot be checked for want of a shape is broken:
// the NPU is only promised what the check can prove.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "ktc/core/error.hpp"
#include "ktc/graph/constants.hpp"
#include "ktc/graph/graph.hpp"
#include "ktc/platform/platform.hpp"

namespace ktc::eval {

enum class placement { npu, cpu, unsupported };

KTC_DECL const char* name_of(placement p);

struct node_support {
    graph::vertex v;
    std::string node;  // node name
    std::string op;    // op type
    placement where;
    std::string rule;     // the constraint that decided, in words
    bool folded = false;  // computes nothing at inference (Constant, Identity, Dropout)
};

// Nodes run together: an NPU segment (any number of nodes, topological order) or one CPU or
// unsupported node.
struct segment {
    placement where;
    std::vector<graph::vertex> nodes;
};

struct support_report {
    platform::chip platform = platform::chip::kdp520;
    std::vector<node_support> nodes;  // every node, topological order
    std::vector<segment> segments;    // execution order; folded nodes belong to none

    std::vector<const node_support*> placed(placement where) const {
        std::vector<const node_support*> out;
        for (const auto& n : nodes)
            if (n.where == where) out.push_back(&n);
        return out;
    }
    bool runnable() const { return placed(placement::unsupported).empty(); }

    // Throws unsupported_error naming every node the chip cannot run, with its rule, on one line.
    void require_runnable(const std::string& model) const {
        const auto bad = placed(placement::unsupported);
        if (bad.empty()) return;
        std::string message = model + ": " + std::to_string(bad.size()) + " node" + (bad.size() == 1 ? "" : "s") +
                              " cannot run on KDP" + platform::to_string(platform);
        for (std::size_t i = 0; i < bad.size(); ++i)
            message += (i ? "; " : ": ") + bad[i]->node + " (" + bad[i]->op + ") " + bad[i]->rule;
        throw unsupported_error(message);
    }
};

namespace detail {

using platform::int_range;
using platform::int_set;
using platform::pool_window;

KTC_DECL std::string dims(const shape_t& values);

KTC_DECL std::string number(float v);

// The broken constraint in the tables' words: "<Op> <what> <value> (allowed: <limit>)".
KTC_DECL std::string broken(const std::string& op, const std::string& what, const std::string& value,
                            const std::string& allowed);

// A node seen with its graph, for shapes and constants of its inputs.
struct node_view {
    const graph::graph& g;
    const graph::node& n;

    const std::string& op() const { return n.op_type; }
    std::optional<shape_t> input_shape(std::size_t slot) const {
        const std::string& value = n.input(slot);
        if (value.empty()) return std::nullopt;
        if (const tensor* t = g.initializer(value)) return t->shape();
        if (const auto* info = g.info(value); info && info->rank_known) return info->shape;
        if (auto c = graph::constant_value(g, value)) return c->shape();
        return std::nullopt;
    }
    std::optional<tensor> input_constant(std::size_t slot) const {
        if (!n.has_input(slot)) return std::nullopt;
        return graph::constant_value(g, n.input(slot));
    }
    shape_t ints(const std::string& attr, std::size_t count, std::int64_t fallback) const {
        return n.attrs.get_ints(attr, shape_t(count, fallback));
    }
};

// "" when the input's rank is within `allowed`.
KTC_DECL std::string check_input_rank(const node_view& x, std::size_t slot, const int_range& allowed);

// The spatial kernel of a Conv/ConvTranspose from its weight [M, C/group, k...], or "" and the
// reason when it is not a 2-D window.
template <class T>
std::string window_kernel(const node_view& x, shape_t& kernel) {
    const std::string rank = std::to_string(T::window_spatial_rank) + "-D";
    if (x.op() == "MaxPool" || x.op() == "AveragePool") {
        kernel = x.n.attrs.get_ints("kernel_shape");
    } else {
        const auto weight = x.input_shape(1);
        if (!weight) return broken(x.op(), "weight shape", "unknown", rank + " kernel");
        kernel.assign(weight->begin() + std::min<std::size_t>(2, weight->size()), weight->end());
    }
    if (kernel.size() != T::window_spatial_rank)
        return broken(x.op(), "window", std::to_string(kernel.size()) + "-D", rank);
    return "";
}

// Begin and end pads of a Conv per spatial axis. With auto_pad SAME the amount comes from the
// input extent; unknown extents take the largest SAME can ask for, kernel - 1.
KTC_DECL shape_t conv_pads(const node_view& x, const shape_t& kernel, const shape_t& strides);

template <class T>
std::string check_conv(const node_view& x) {
    shape_t kernel;
    if (auto why = window_kernel<T>(x, kernel); !why.empty()) return why;
    for (auto k : kernel)
        if (!T::conv_kernel.contains(k))
            return broken("Conv", "kernel", dims(kernel), T::conv_kernel.to_string() + " per axis");
    const shape_t strides = x.ints("strides", kernel.size(), 1);
    for (std::size_t i = 0; i < strides.size(); ++i) {
        if (!T::conv_strides.contains(strides[i]))
            return broken("Conv", "strides", dims(strides), T::conv_strides.to_string() + " per axis");
        if (i < T::conv_strides_below.size() && strides[i] >= T::conv_strides_below[i])
            return broken("Conv", "strides", dims(strides),
                          "below " + dims({T::conv_strides_below.begin(), T::conv_strides_below.end()}));
    }
    for (auto p : conv_pads(x, kernel, strides))
        if (!T::conv_pads.contains(p)) return broken("Conv", "pad", std::to_string(p), T::conv_pads.to_string());
    const std::int64_t group = x.n.attrs.get_int("group", 1);
    const auto weight = x.input_shape(1);  // known: window_kernel read it
    const bool depthwise = weight->size() > 1 && (*weight)[1] == 1;
    if (T::conv_plain_or_depthwise_only && group != 1 && !depthwise)
        return broken("Conv", "group",
                      std::to_string(group) + " with " + std::to_string((*weight)[1]) + " input channels per group",
                      "1 or depthwise");
    return "";
}

template <class T>
std::string check_conv_transpose(const node_view& x) {
    shape_t kernel;
    if (auto why = window_kernel<T>(x, kernel); !why.empty()) return why;
    const shape_t strides = x.ints("strides", kernel.size(), 1);
    const bool square = std::all_of(strides.begin(), strides.end(), [&](auto s) { return s == strides[0]; });
    if (!square || !T::conv_transpose_square_strides.contains(strides[0])) {
        std::string allowed = "square, each " + T::conv_transpose_square_strides.to_string();
        return broken("ConvTranspose", "strides", dims(strides), allowed);
    }
    return "";
}

template <class T, std::size_t N>
std::string check_pool(const node_view& x, const pool_window (&windows)[N]) {
    shape_t kernel;
    if (auto why = window_kernel<T>(x, kernel); !why.empty()) return why;
    const shape_t strides = x.ints("strides", kernel.size(), 1);
    const auto fits = [&](const pool_window& w) {
        const bool kernel_ok =
            std::all_of(kernel.begin(), kernel.end(), [&](auto k) { return w.kernel == 0 || k == w.kernel; });
        const bool strides_ok =
            std::all_of(strides.begin(), strides.end(), [&](auto s) { return w.strides.contains(s); });
        return kernel_ok && strides_ok;
    };
    if (std::any_of(std::begin(windows), std::end(windows), fits)) return "";
    std::string allowed;
    for (const auto& w : windows) {
        allowed += (allowed.empty() ? "" : "; ") + dims(shape_t(kernel.size(), w.kernel));
        if (!w.strides.any()) allowed += " strides " + w.strides.to_string();
    }
    return broken(x.op(), "kernel", dims(kernel) + " strides " + dims(strides), allowed);
}

template <class T>
std::string check_pad(const node_view& x) {
    const auto pads_tensor = x.input_constant(1);
    if (!pads_tensor) return broken("Pad", "pads", "not constant", "constant pads");
    const auto pads = pads_tensor->to_vector<std::int64_t>();
    const std::size_t rank = pads.size() / 2;
    if (rank == 0) return "";
    for (std::size_t i = 0; i < pads.size(); ++i) {
        const std::size_t axis = i % rank;
        if (T::pad_spatial_only && axis < 2 && pads[i] != 0)
            return broken("Pad", "pads", "on axis " + std::to_string(axis), "spatial axes only");
        if (!T::pad_amounts.contains(pads[i]))
            return broken("Pad", "pad", std::to_string(pads[i]), T::pad_amounts.to_string());
    }
    return "";
}

template <class T>
std::string check_concat(const node_view& x) {
    std::int64_t axis = x.n.attrs.get_int("axis");
    if (axis < 0) {
        const auto shape = x.input_shape(0);
        if (!shape)
            return broken("Concat", "axis", std::to_string(axis) + " of unknown rank", T::concat_axes.to_string());
        axis = normalize_axis(axis, static_cast<std::int64_t>(shape->size()));
    }
    return T::concat_axes.contains(axis) ? ""
                                         : broken("Concat", "axis", std::to_string(axis), T::concat_axes.to_string());
}

template <class T>
std::string check_clip(const node_view& x) {
    if (!T::clip_min) return "";
    const std::string allowed = number(*T::clip_min);
    if (!x.n.has_input(1)) return broken("Clip", "min", "absent", allowed);
    const auto min = x.input_constant(1);
    if (!min || min->size() != 1) return broken("Clip", "min", "not a constant scalar", allowed);
    const float value = min->to_vector<float>()[0];
    return value == *T::clip_min ? "" : broken("Clip", "min", number(value), allowed);
}

template <class T>
std::string check_flatten(const node_view& x) {
    if (!T::flatten_only_before_gemm) return "";
    const auto readers = x.g.consumers(x.n.outputs.at(0));
    if (readers.empty()) return broken("Flatten", "feeds", "no node", "Gemm only");
    for (const auto& [v, slot] : readers)
        if (x.g[v].op_type != "Gemm") return broken("Flatten", "feeds", x.g[v].op_type, "Gemm only");
    return "";
}

// "" when the node meets every limit P's table sets for its op. An op the table lists without a
// subset ("support") has no limit to meet.
template <class P>
std::string npu_violation(const node_view& x) {
    using T = platform::platform_traits<P>;
    const std::string& op = x.op();
    if (op == "Conv") return check_conv<T>(x);
    if (op == "ConvTranspose") return check_conv_transpose<T>(x);
    if (op == "MaxPool") return check_pool<T>(x, T::max_pool_windows);
    if (op == "AveragePool") return check_pool<T>(x, T::average_pool_windows);
    if (op == "GlobalAveragePool") return check_input_rank(x, 0, T::global_average_pool_rank);
    if (op == "Pad") return check_pad<T>(x);
    if (op == "Concat") return check_concat<T>(x);
    if (op == "Clip") return check_clip<T>(x);
    if (op == "Gemm") return check_input_rank(x, 0, T::gemm_input_rank);
    if (op == "Flatten") return check_flatten<T>(x);
    if (op == "BatchNormalization") return check_input_rank(x, 0, T::batch_norm_rank);
    if (op == "Slice") return check_input_rank(x, 0, T::slice_input_rank);
    return "";
}

template <std::size_t N>
bool listed(const std::string_view (&ops)[N], const std::string& op) {
    return std::find(std::begin(ops), std::end(ops), op) != std::end(ops);
}

template <class P>
node_support classify(const graph::graph& g, graph::vertex v) {
    using T = platform::platform_traits<P>;
    const graph::node& n = g[v];
    node_support s{v, n.name, n.op_type, placement::npu, "", false};
    if (!n.domain.empty()) {
        s.where = placement::unsupported;
        s.rule = "custom-domain op '" + n.domain + "." + n.op_type + "' runs nowhere on the chip";
        return s;
    }
    if (listed(T::folded_ops, n.op_type)) {
        s.folded = true;
        s.rule = n.op_type + " computes nothing at inference (folded into the model)";
        return s;
    }
    std::string why = n.op_type + " not in " + std::string(T::ops_table);
    if (listed(T::npu_ops, n.op_type)) {
        why = npu_violation<P>(node_view{g, n});
        if (why.empty()) {
            s.rule = n.op_type + " within " + std::string(T::ops_table);
            return s;
        }
    }
    const bool on_cpu = listed(T::cpu_ops, n.op_type);
    s.where = on_cpu ? placement::cpu : placement::unsupported;
    s.rule = why + (on_cpu ? "; runs on the CPU" : "; not a CPU op either");
    return s;
}

}  // namespace detail

// Execution order of the classified nodes: NPU nodes are grouped by how many NPU<->CPU switches
// lie on the longest path before them, so independent NPU work shares one segment; each CPU or
// unsupported node is a segment of its own. Folded nodes pass their producer's side on and belong
// to no segment. Segments are listed by that switch count, then by topological position.
KTC_DECL std::vector<segment> partition(const std::vector<node_support>& nodes, const graph::graph& g);

// Every node of `g` classified for platform P, all at once, and the graph partitioned.
template <class P>
support_report support_check(const graph::graph& g) {
    support_report r;
    r.platform = platform::platform_traits<P>::id;
    for (const graph::vertex v : g.topological_order()) r.nodes.push_back(detail::classify<P>(g, v));
    r.segments = partition(r.nodes, g);
    return r;
}

#if !KTC_HEADER_ONLY
// Instantiated once for each chip, in src/ (core/config.hpp).
extern template support_report support_check<platform::kdp520>(const graph::graph&);
extern template support_report support_check<platform::kdp720>(const graph::graph&);
#endif

}  // namespace ktc::eval

#if KTC_HEADER_ONLY
#include "ktc/eval/support.ipp"
#endif
