// ktc/compiler/compile.hpp - one quantized model (.bie) compiled for its platform: lowering,
// tiling, memory plan, command stream and blobs, ready for nef.hpp to write.
//
// The setup plan (JSON, docs/formats.md) names every DRAM value (index, name, integer type,
// shape, area, offset, bytes), every step (kind, nodes, input and output value indices, tiled,
// tile count) and every weight (name, type, shape, offset and bytes in the weight blob). Weights
// are the quantized graph's initializers in ONNX order (OIHW), each 16-byte aligned; the graph
// travels without them as an ONNX ModelProto.
#pragma once

#include "ktc/core/config.hpp"

#include <cstdio>
#include <string>
#include <vector>

#include "ktc/compiler/memory_plan.hpp"
#include "ktc/compiler/nef.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/quant/bie.hpp"

namespace ktc::compiler {

struct compile_options {
    tiling_options tiling;
};

// One row of ioinfo.csv: kind 'i' (input), 'c' (CPU node output) or 'o' (output).
struct io_row {
    char kind;
    std::size_t index;
    std::string name;
    std::int64_t c, h, w;
};

struct compiled_model {
    nef_model model;
    std::vector<io_row> io;
    std::size_t layers = 0, tiles = 0, cpu_steps = 0;
};

namespace compile_detail {

KTC_DECL std::array<std::int64_t, 3> chw(const shape_t& s);

}  // namespace compile_detail

template <class P>
compiled_model compile_model(const quant::bie_model& bie, std::uint32_t id, std::uint16_t version,
                             const std::string& name, const compile_options& options = {}) {
    const graph::graph& g = bie.graph;
    if (bie.platform != platform::platform_traits<P>::id)
        throw usage_error("model '" + name + "' is quantized for platform " + platform::to_string(bie.platform) +
                          ", not " + std::string(platform::platform_traits<P>::name));
    const lowered_model low = lower<P>(g);
    const auto tiles = plan_tiles<P>(g, low, options.tiling);
    const memory_plan mem = plan_memory(g, low);

    compiled_model out;
    nef_model& m = out.model;
    m.id = id, m.version = version, m.name = name;
    m.input_bytes = mem.input_bytes, m.output_bytes = mem.output_bytes, m.working_bytes = mem.working_bytes;

    using nlohmann::json;
    json values = json::array(), layers = json::array(), weights = json::array();
    std::map<std::string, std::uint32_t> value_index;
    for (const auto& b : mem.buffers) {
        value_index[b.value] = static_cast<std::uint32_t>(values.size());
        const auto& d = low.values.at(b.value);
        values.push_back({{"name", b.value},
                          {"dtype", name_of(d.type)},
                          {"shape", d.shape},
                          {"region", name_of(b.where)},
                          {"offset", b.offset},
                          {"bytes", b.bytes}});
    }

    const auto formats = fixed::edge_formats(g);
    const auto io_tensor = [&](const std::string& value) {
        nef_tensor t;
        t.name = value;
        const auto f = formats.find(value);
        if (f == formats.end())
            throw unsupported_error("model '" + name + "': graph input/output '" + value + "' is not quantized");
        t.bits = f->second.bits, t.radix = f->second.radix, t.scale = static_cast<float>(f->second.scale);
        t.shape = low.values.at(value).shape;
        t.dram_offset = mem.find(value)->offset;
        return t;
    };
    for (const auto& in : g.inputs) m.inputs.push_back(io_tensor(in.name));
    for (const auto& o : g.outputs) m.outputs.push_back(io_tensor(o.name));

    std::vector<command> cmds;
    for (std::size_t s = 0; s < low.layers.size(); ++s) {
        const layer& l = low.layers[s];
        const auto sid = static_cast<std::uint32_t>(s);
        json entry = {
            {"kind", name_of(l.kind)}, {"nodes", l.nodes}, {"tiled", tiles[s].tiled}, {"tiles", tiles[s].tiles.size()}};
        json ins = json::array(), outs = json::array();
        for (const auto& v : l.inputs) ins.push_back(value_index.at(v));
        for (const auto& v : l.outputs) outs.push_back(value_index.at(v));
        entry["inputs"] = ins, entry["outputs"] = outs;
        json local = json::array();  // values made and used inside the layer (never in DRAM)
        for (std::size_t k = 0; k + 1 < l.nodes.size(); ++k)
            for (const auto& v : g[*g.find_node(l.nodes[k])].outputs)
                if (!v.empty())
                    local.push_back(
                        {{"name", v}, {"dtype", name_of(low.values.at(v).type)}, {"shape", low.values.at(v).shape}});
        entry["local"] = local;
        layers.push_back(entry);
        ++out.layers;
        if (l.kind == layer_kind::cpu) {
            cmds.push_back({opcode::cpu_op, sid, 0, 0});
            ++out.cpu_steps;
            continue;
        }
        const auto rows = [&](const std::string& v) {
            return static_cast<std::uint32_t>(rows_of(low.values.at(v).shape));
        };
        if (!tiles[s].tiled) {
            for (const auto& v : l.inputs) cmds.push_back({opcode::load_tile, value_index.at(v), 0, rows(v)});
            cmds.push_back({opcode::run_layer, sid, 0, l.outputs.empty() ? 1u : rows(l.outputs[0])});
            for (const auto& v : l.outputs) cmds.push_back({opcode::store_tile, value_index.at(v), 0, rows(v)});
            ++out.tiles;
            continue;
        }
        const auto windows = *layer_windows(g, l, low.values);
        const auto in_rows = chain_input_rows(g, l, low.values);
        const auto slots = chain_slots(g, l);
        for (const auto& [begin, end] : tiles[s].tiles) {
            const auto r = rows_for_tile(windows, in_rows, begin, end);
            std::map<std::string, std::pair<std::int64_t, std::int64_t>> need;  // value -> rows
            for (std::size_t k = 0; k < l.nodes.size(); ++k) {
                const graph::node& n = g[*g.find_node(l.nodes[k])];
                for (std::size_t i = 0; i < n.inputs.size(); ++i) {
                    const auto& v = n.inputs[i];
                    if (v.empty() || g.initializer(v) || (k > 0 && i == slots[k])) continue;
                    const bool main = k == 0 && i == slots[0];
                    const std::pair<std::int64_t, std::int64_t> span =
                        main ? std::pair{r[k].in_begin, r[k].in_end} : std::pair{r[k].out_begin, r[k].out_end};
                    auto [it, added] = need.emplace(v, span);
                    if (!added)
                        it->second = {std::min(it->second.first, span.first), std::max(it->second.second, span.second)};
                }
            }
            for (const auto& v : l.inputs)  // in the layer's input order
                if (auto it = need.find(v); it != need.end() && it->second.second > it->second.first)
                    cmds.push_back({opcode::load_tile, value_index.at(v), static_cast<std::uint32_t>(it->second.first),
                                    static_cast<std::uint32_t>(it->second.second - it->second.first)});
            cmds.push_back(
                {opcode::run_layer, sid, static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end - begin)});
            cmds.push_back({opcode::store_tile, value_index.at(l.outputs[0]), static_cast<std::uint32_t>(begin),
                            static_cast<std::uint32_t>(end - begin)});
            ++out.tiles;
        }
    }
    cmds.push_back({opcode::end, 0, 0, 0});
    m.commands = encode_commands(cmds);

    for (const auto& [wname, t] : g.initializers) {
        const std::uint64_t offset = m.weights.size();
        m.weights.append(reinterpret_cast<const char*>(t.raw()), t.byte_size());
        m.weights.append((16 - m.weights.size() % 16) % 16, '\0');
        weights.push_back({{"name", wname},
                           {"dtype", name_of(t.type())},
                           {"shape", t.shape()},
                           {"offset", offset},
                           {"bytes", t.byte_size()}});
    }
    ::onnx::ModelProto proto = onnx::to_model(g);
    proto.mutable_graph()->clear_initializer();
    std::string graph_bytes;
    if (!proto.SerializeToString(&graph_bytes)) throw error("compile: graph serialization failed");
    m.setup = make_setup({{"values", values}, {"layers", layers}, {"weights", weights}}, graph_bytes);

    // ioinfo.csv rows: inputs, CPU node outputs, outputs.
    for (std::size_t i = 0; i < g.inputs.size(); ++i) {
        const auto d = compile_detail::chw(low.values.at(g.inputs[i].name).shape);
        out.io.push_back({'i', i, g.inputs[i].name, d[0], d[1], d[2]});
    }
    std::size_t c = 0;
    for (const auto& l : low.layers)
        if (l.kind == layer_kind::cpu)
            for (const auto& v : l.outputs) {
                const auto d = compile_detail::chw(low.values.at(v).shape);
                out.io.push_back({'c', c++, v, d[0], d[1], d[2]});
            }
    for (std::size_t i = 0; i < g.outputs.size(); ++i) {
        const auto d = compile_detail::chw(low.values.at(g.outputs[i].name).shape);
        out.io.push_back({'o', i, g.outputs[i].name, d[0], d[1], d[2]});
    }
    return out;
}

// Runtime dispatch on the .bie's own platform.
KTC_DECL compiled_model compile_model(const quant::bie_model& bie, std::uint32_t id, std::uint16_t version,
                                      const std::string& name, const compile_options& options = {});

#if !KTC_HEADER_ONLY
// Instantiated once for each chip, in src/ (core/config.hpp).
extern template compiled_model compile_model<platform::kdp520>(const quant::bie_model&, std::uint32_t, std::uint16_t,
                                                               const std::string&, const compile_options&);
extern template compiled_model compile_model<platform::kdp720>(const quant::bie_model&, std::uint32_t, std::uint16_t,
                                                               const std::string&, const compile_options&);
#endif

}  // namespace ktc::compiler

#if KTC_HEADER_ONLY
#include "ktc/compiler/compile.ipp"
#endif
