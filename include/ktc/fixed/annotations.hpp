// ktc/fixed/annotations.hpp - how a quantized graph records its fixed-point parameters.
//
// A quantized graph is the optimized float graph with, on every node, the attributes below
// (written by the quantizer, read by the fixed-point kernels, the compiler and the .bie writer;
// hence this module sits below all of them),
// and with the constants MAC ops read (weights, biases) replaced by integer initializers. The
// fixed-point interpreter then runs it exactly like the float one, with another kernel table.
// Attribute names live here and nowhere else. docs/numerics.md gives the arithmetic.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <map>

#include "ktc/fixed/format.hpp"
#include "ktc/graph/graph.hpp"

namespace ktc::fixed {

namespace attr {
// ints, one per node input: the radix that input's integer values are at, or `not_quantized`
// for an input that is not a fixed-point activation (an int64 shape, a float constant of a CPU
// op, a per-channel weight whose radices are in weight_radix).
inline constexpr const char* input_radix = "ktc.input_radix";
// ints, one per node input: the width of each quantized input (8 or 16; 0 if not quantized).
inline constexpr const char* input_bits = "ktc.input_bits";
// ints, one per node output: radix and width of what the node produces.
inline constexpr const char* output_radix = "ktc.output_radix";
inline constexpr const char* output_bits = "ktc.output_bits";
// floats, one per node input / output: the scale of each format (v = q / (scale * 2^radix), a
// multiple of 2^-14 in [1, 2)); absent means 1 for every value (power-of-two formats, .bie 1).
inline constexpr const char* input_scale = "ktc.input_scale";
inline constexpr const char* output_scale = "ktc.output_scale";
// ints, per output channel (size 1 when per tensor): the radix of the integer weight (input 1 of
// Conv, ConvTranspose, Gemm, MatMul).
inline constexpr const char* weight_radix = "ktc.weight_radix";
// floats, per output channel (size 1 when per tensor; absent: 1): the scale of the weight.
inline constexpr const char* weight_scale = "ktc.weight_scale";
// ints, per output channel: the radix of the int32 bias (input 2 of Conv, ConvTranspose, Gemm);
// the bias is at its channel's accumulator scale (input scale times weight scale).
inline constexpr const char* bias_radix = "ktc.bias_radix";
// ints, one per element of PRelu's slope (input 1, an integer tensor; size 1 for all): the radix
// of each slope value (docs/numerics.md, "PRelu").
inline constexpr const char* slope_radix = "ktc.slope_radix";
// tensor (int8 or int16), 2^input_bits entries: the table of a unary element-wise op, indexed by
// q - min_of(input_bits) (docs/numerics.md, "Unary element-wise ops").
inline constexpr const char* lookup_table = "ktc.lookup_table";
// (The bounds of an activation fused into a Conv/Gemm are kernels::attr::fused_min/max: the
// float simulator's fusion sets them, and the quantized graph keeps them.)
}  // namespace attr

// The input_radix of an input that is not a fixed-point activation.
inline constexpr std::int64_t not_quantized = -1000;

// Entry `slot` of a floats attribute of scales, 1 when the attribute is absent.
inline double scale_at(const graph::node& n, const char* name, std::size_t slot) {
    if (!n.attrs.has(name)) return 1.0;
    const auto s = n.attrs.get_floats(name);
    return slot < s.size() ? double(s[slot]) : 1.0;
}

inline std::vector<std::int64_t> radices_of_inputs(const graph::node& n) {
    return n.attrs.get_ints(attr::input_radix, std::vector<std::int64_t>(n.inputs.size(), not_quantized));
}

inline value_format output_format(const graph::node& n, std::size_t slot = 0) {
    const auto r = n.attrs.get_ints(attr::output_radix), b = n.attrs.get_ints(attr::output_bits);
    if (slot >= r.size() || slot >= b.size())
        throw error("node '" + n.name + "' (" + n.op_type + "): no fixed-point format for output " +
                    std::to_string(slot) + " (not a quantized graph?)");
    return {static_cast<int>(r[slot]), static_cast<int>(b[slot]), scale_at(n, attr::output_scale, slot)};
}

inline value_format input_format(const graph::node& n, std::size_t slot) {
    const auto r = n.attrs.get_ints(attr::input_radix), b = n.attrs.get_ints(attr::input_bits);
    if (slot >= r.size() || slot >= b.size() || r[slot] == not_quantized)
        throw error("node '" + n.name + "' (" + n.op_type + "): input " + std::to_string(slot) +
                    " has no fixed-point format (not a quantized graph?)");
    return {static_cast<int>(r[slot]), static_cast<int>(b[slot]), scale_at(n, attr::input_scale, slot)};
}

// Largest |radix| a quantized graph may carry: real models stay within +-40 (weights near 1e-9
// would need 37 at 8 bits); bounding it keeps every radix sum and difference far from overflow.
inline constexpr std::int64_t max_abs_radix = 127;

// "radix 4, 8 bits, scale 1.3228" for an error message.
inline std::string describe(const value_format& f) {
    return "radix " + std::to_string(f.radix) + ", " + std::to_string(f.bits) + " bits, scale " +
           std::to_string(f.scale);
}

// Checks the annotations of a quantized graph read from a file (a .bie, the setup of a .nef)
// before any kernel trusts them: one radix and width per input and output, widths of 8 or 16
// bits, radices within max_abs_radix, and one format per value (below). Throws file_error naming
// `source`, the node and, for a disagreement, the value.
inline void check_annotations(const graph::graph& q, const std::string& source) {
    for (const graph::vertex v : q.nodes()) {
        const auto& n = q[v];
        const auto bad = [&](const std::string& what) {
            return file_error(source, "node '" + n.name + "' (" + n.op_type + "): " + what);
        };
        const auto check_formats = [&](const char* radix_attr, const char* bits_attr, std::size_t count) {
            if (!n.attrs.has(radix_attr) && !n.attrs.has(bits_attr)) return;
            const auto r = n.attrs.get_ints(radix_attr, {}), b = n.attrs.get_ints(bits_attr, {});
            if (r.size() != count || b.size() != count)
                throw bad(std::string(radix_attr) + "/" + bits_attr + " hold " + std::to_string(r.size()) + "/" +
                          std::to_string(b.size()) + " entries for " + std::to_string(count) + " values");
            for (std::size_t i = 0; i < count; ++i) {
                if (r[i] == not_quantized) continue;
                if (b[i] != 8 && b[i] != 16)
                    throw bad(std::string(bits_attr) + " " + std::to_string(b[i]) + " (8 or 16)");
                if (r[i] < -max_abs_radix || r[i] > max_abs_radix)
                    throw bad(std::string(radix_attr) + " " + std::to_string(r[i]) + " out of range");
            }
        };
        check_formats(attr::input_radix, attr::input_bits, n.inputs.size());
        check_formats(attr::output_radix, attr::output_bits, n.outputs.size());
        const auto check_scales = [&](const char* name, std::size_t count) {
            if (!n.attrs.has(name)) return;
            const auto s = n.attrs.get_floats(name);
            if (count && s.size() != count)
                throw bad(std::string(name) + " holds " + std::to_string(s.size()) + " entries for " +
                          std::to_string(count) + " values");
            for (const float x : s)
                if (!is_valid_scale(x))
                    throw bad(std::string(name) + " " + std::to_string(x) + " is not a scale in [1, 2)");
        };
        check_scales(attr::input_scale, n.inputs.size());
        check_scales(attr::output_scale, n.outputs.size());
        check_scales(attr::weight_scale, 0);
        for (const char* per_channel : {attr::weight_radix, attr::bias_radix, attr::slope_radix})
            for (const auto r : n.attrs.get_ints(per_channel, {}))
                if (r < -max_abs_radix || r > max_abs_radix)
                    throw bad(std::string(per_channel) + " " + std::to_string(r) + " out of range");
    }

    // One value, one format. A value's format is stored on the node that writes it and on every
    // node that reads it, and the kernels read the reader's copy: a file where the two differ
    // would run and be silently wrong. The readers of a graph input must agree among themselves.
    std::map<std::string, std::pair<value_format, std::string>> format_of;  // value -> (format, whose)
    for (const graph::vertex v : q.nodes()) {
        const auto& n = q[v];
        const auto r = n.attrs.get_ints(attr::output_radix, {});
        for (std::size_t k = 0; k < n.outputs.size() && k < r.size(); ++k)
            if (!n.outputs[k].empty() && r[k] != not_quantized)
                format_of[n.outputs[k]] = {output_format(n, k), "written by node '" + n.name + "'"};
    }
    for (const graph::vertex v : q.nodes()) {
        const auto& n = q[v];
        const auto r = n.attrs.get_ints(attr::input_radix, {});
        for (std::size_t i = 0; i < n.inputs.size() && i < r.size(); ++i) {
            if (n.inputs[i].empty() || r[i] == not_quantized) continue;
            const value_format read = input_format(n, i);
            const auto [known, first] = format_of.try_emplace(n.inputs[i], read, "read by node '" + n.name + "'");
            if (!first && known->second.first != read)
                throw file_error(source, "value '" + n.inputs[i] + "' is " + known->second.second + " at " +
                                             describe(known->second.first) + " but read by node '" + n.name + "' (" +
                                             n.op_type + ") at " + describe(read));
        }
    }
}

// The format of every graph input and graph output of a quantized graph, from the annotations of
// the nodes that read or write it.
inline std::map<std::string, value_format> edge_formats(const graph::graph& q) {
    std::map<std::string, value_format> f;
    for (const graph::vertex v : q.nodes()) {
        const auto& n = q[v];
        const auto r = n.attrs.get_ints(attr::input_radix, {});
        for (std::size_t i = 0; i < n.inputs.size() && i < r.size(); ++i)
            if (q.is_graph_input(n.inputs[i]) && r[i] != not_quantized) f[n.inputs[i]] = input_format(n, i);
        const auto ro = n.attrs.get_ints(attr::output_radix, {});
        for (std::size_t k = 0; k < n.outputs.size() && k < ro.size(); ++k)
            if (q.is_graph_output(n.outputs[k]) && ro[k] != not_quantized) f[n.outputs[k]] = output_format(n, k);
    }
    return f;
}

}  // namespace ktc::fixed
