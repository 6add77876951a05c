// ktc/compiler/nef_simulator.ipp - the definitions behind nef_simulator.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/compiler/nef_simulator.hpp"

namespace ktc::compiler {

KTC_DECL nef_simulator::nef_simulator(const compiler::nef_model& m, const std::string& source,
                                      std::optional<int> input_radix)
    : where_("model " + std::to_string(m.id)),
      source_(source),
      input_bytes_(m.input_bytes),
      output_bytes_(m.output_bytes),
      working_bytes_(m.working_bytes) {
    const std::string where = source + ": model " + std::to_string(m.id);
    const auto bad = [&](const std::string& what) {
        return file_error(source, "model " + std::to_string(m.id) + ": " + what);
    };
    try {
        const auto setup = compiler::split_setup(m.setup, where);
        ::onnx::ModelProto proto;
        if (!proto.ParseFromArray(setup.graph.data(), static_cast<int>(setup.graph.size())))
            throw std::runtime_error("setup graph is not a model");
        for (const auto& w : setup.plan.at("weights")) {
            const auto offset = w.at("offset").get<std::uint64_t>(), bytes = w.at("bytes").get<std::uint64_t>();
            if (offset > m.weights.size() || bytes > m.weights.size() - offset)
                throw std::runtime_error("weight '" + w.at("name").get<std::string>() + "' outside the weight blob");
            tensor t(dtype_named(w.at("dtype").get<std::string>()), w.at("shape").get<shape_t>());
            if (t.byte_size() != bytes) throw std::runtime_error("weight size does not match its shape");
            std::memcpy(t.raw(), m.weights.data() + offset, bytes);
            *proto.mutable_graph()->add_initializer() = onnx::to_proto(t, w.at("name").get<std::string>());
        }
        graph_ = onnx::from_model(proto, source);
        graph_.topological_order();
        fixed::check_annotations(graph_, source);
        for (const auto& v : setup.plan.at("values")) {
            value x;
            x.name = v.at("name").get<std::string>();
            x.desc = {dtype_named(v.at("dtype").get<std::string>()), v.at("shape").get<shape_t>()};
            const auto r = v.at("region").get<std::string>();
            x.area = r == "input"     ? 0
                     : r == "output"  ? 1
                     : r == "working" ? 2
                                      : throw std::runtime_error("region '" + r + "'");
            x.offset = v.at("offset").get<std::uint64_t>();
            (void)element_count(x.desc.shape);  // the shape's limits, before any size is derived from it
            const std::uint64_t size = area_size(x.area);
            if (compiler::bytes_of(x.desc) > size || x.offset > size - compiler::bytes_of(x.desc))
                throw std::runtime_error("value '" + x.name + "' lies outside its DRAM area");
            descs_[x.name] = x.desc;
            values_.push_back(std::move(x));
        }
        // The planner packs an area's values (reusing space in the working area), so no area
        // spreads over more bytes than its values hold; the simulator allocates that extent,
        // not the size the header declares.
        std::array<std::uint64_t, 3> held{};
        for (const auto& x : values_) {
            held[x.area] += compiler::align16(std::max<std::uint64_t>(16, compiler::bytes_of(x.desc)));
            extent_[x.area] = std::max(extent_[x.area], x.offset + compiler::bytes_of(x.desc));
        }
        for (int a = 0; a < 3; ++a)
            if (extent_[a] > held[a])
                throw std::runtime_error("values of DRAM area " + std::to_string(a) + " spread over " +
                                         std::to_string(extent_[a]) + " bytes, more than the " +
                                         std::to_string(held[a]) + " they hold");
        for (const auto& l : setup.plan.at("layers"))
            for (const auto& x : l.value("local", nlohmann::json::array()))
                descs_[x.at("name").get<std::string>()] = {dtype_named(x.at("dtype").get<std::string>()),
                                                           x.at("shape").get<shape_t>()};
        for (const auto& l : setup.plan.at("layers")) {
            step s;
            s.l.kind = l.at("kind") == "cpu" ? compiler::layer_kind::cpu : compiler::layer_kind::mac;
            s.l.nodes = l.at("nodes").get<std::vector<std::string>>();
            if (s.l.nodes.empty()) throw std::runtime_error("a layer without nodes");
            for (const auto& i : l.at("inputs")) s.l.inputs.push_back(values_.at(i.get<std::size_t>()).name);
            for (const auto& o : l.at("outputs")) s.l.outputs.push_back(values_.at(o.get<std::size_t>()).name);
            for (const auto& name : s.l.nodes) {
                const auto v = graph_.find_node(name);
                if (!v) throw std::runtime_error("layer names node '" + name + "', which the graph lacks");
                s.nodes.push_back(&graph_[*v]);
            }
            if (l.at("tiled").get<bool>()) {
                const auto& descs = descs_;
                auto w = compiler::layer_windows(graph_, s.l, descs);
                if (!w)
                    throw std::runtime_error("layer of '" + s.l.nodes[0] + "' is marked tiled but is not row-local");
                s.windows = *w;
                s.in_rows = compiler::chain_input_rows(graph_, s.l, descs);
                s.slots = compiler::chain_slots(graph_, s.l);
                s.tiled = true;
            }
            steps_.push_back(std::move(s));
        }
        commands_ = compiler::decode_commands(m.commands, where);
    } catch (const file_error&) {
        throw;
    } catch (const std::exception& e) {
        throw bad(e.what());
    }
    if (input_radix)
        for (const auto& in : graph_.inputs)
            graph_ = sim::detail::with_input_radix(std::move(graph_), in.name, *input_radix);
    formats_ = fixed::edge_formats(graph_);
    // with_input_radix rebuilt the graph: find the nodes again
    for (auto& s : steps_)
        for (std::size_t k = 0; k < s.nodes.size(); ++k) s.nodes[k] = &graph_[*graph_.find_node(s.l.nodes[k])];
    for (auto in : graph_.inputs) {
        in.type = dtype::float32;
        float_inputs_.push_back(in);
    }
}

KTC_DECL sim::tensor_map nef_simulator::run(const sim::tensor_map& inputs) const {
    try {
        return run_commands(inputs);
    } catch (const ktc::error&) {
        throw;
    } catch (const std::bad_alloc&) {
        throw;
    } catch (const std::logic_error& e) {
        // The constructor checks the plan's structure; what only running shows (a command naming
        // a value or format the plan lacks) ends in a failed lookup: the file is inconsistent.
        throw file_error(source_, where_ + ": inconsistent setup or command stream (" + e.what() + ")");
    }
}

KTC_DECL sim::tensor_map nef_simulator::run_commands(const sim::tensor_map& inputs) const {
    machine mc{std::vector<std::byte>(extent_[0]),
               std::vector<std::byte>(extent_[1]),
               std::vector<std::byte>(extent_[2]),
               {},
               {}};
    for (const auto& in : graph_.inputs) {
        auto it = inputs.find(in.name);
        if (it == inputs.end()) throw usage_error("missing model input '" + in.name + "'");
        if (it->second.shape() != values_.at(index_of(in.name)).desc.shape)
            throw usage_error("input '" + in.name + "' has shape " + to_string(it->second.shape()) +
                              ", the model expects " + to_string(values_.at(index_of(in.name)).desc.shape));
        const auto f = formats_.at(in.name);
        store(mc, index_of(in.name), fixed::quantize_tensor(it->second, f), 0);
    }
    for (const auto& [name, t] : inputs)
        if (!graph_.is_graph_input(name)) throw usage_error("'" + name + "' is not an input of the model");
    for (const auto& c : commands_) execute(mc, c);
    sim::tensor_map out;
    for (const auto& o : graph_.outputs) {
        const std::size_t v = index_of(o.name);
        tensor t = load(mc, v, 0, compiler::rows_of(values_[v].desc.shape));
        auto f = formats_.find(o.name);
        out[o.name] = f != formats_.end() && !is_floating(t.type()) ? fixed::dequantize_tensor(t, f->second) : t;
    }
    return out;
}

KTC_DECL tensor nef_simulator::load(machine& mc, std::size_t v, std::int64_t begin, std::int64_t count) const {
    const value& x = values_.at(v);
    const std::byte* at = base(mc, x.area) + x.offset;
    const auto& s = x.desc.shape;
    if (s.size() != 4) {
        tensor t(x.desc.type, s);
        std::memcpy(t.raw(), at, t.byte_size());
        return t;
    }
    if (begin < 0 || count < 0 || begin + count > s[2])
        throw error("nef: rows " + std::to_string(begin) + "+" + std::to_string(count) + " of '" + x.name + "' (" +
                    std::to_string(s[2]) + " rows)");
    tensor t(x.desc.type, {s[0], s[1], count, s[3]});
    const std::size_t es = size_of(x.desc.type), line = static_cast<std::size_t>(s[3]) * es;
    const std::size_t stride = compiler::align16(line);
    for (std::int64_t n = 0; n < s[0]; ++n)
        for (std::int64_t c = 0; c < s[1]; ++c)
            for (std::int64_t r = 0; r < count; ++r)
                std::memcpy(t.raw() + (((n * s[1] + c) * count + r) * line),
                            at + ((n * s[1] + c) * s[2] + begin + r) * stride, line);
    return t;
}

KTC_DECL void nef_simulator::store(machine& mc, std::size_t v, const tensor& t, std::int64_t begin) const {
    const value& x = values_.at(v);
    std::byte* at = base(mc, x.area) + x.offset;
    const auto& s = x.desc.shape;
    if (t.type() != x.desc.type) throw error("nef: value '" + x.name + "' computed as " + name_of(t.type()));
    if (s.size() != 4) {
        if (t.shape() != s) throw error("nef: value '" + x.name + "' computed with shape " + to_string(t.shape()));
        std::memcpy(at, t.raw(), t.byte_size());
        return;
    }
    const std::int64_t count = t.dim(2);
    if (t.rank() != 4 || t.dim(0) != s[0] || t.dim(1) != s[1] || t.dim(3) != s[3] || begin + count > s[2])
        throw error("nef: tile of '" + x.name + "' has shape " + to_string(t.shape()));
    const std::size_t es = size_of(x.desc.type), line = static_cast<std::size_t>(s[3]) * es;
    const std::size_t stride = compiler::align16(line);
    for (std::int64_t n = 0; n < s[0]; ++n)
        for (std::int64_t c = 0; c < s[1]; ++c)
            for (std::int64_t r = 0; r < count; ++r)
                std::memcpy(at + ((n * s[1] + c) * s[2] + begin + r) * stride,
                            t.raw() + (((n * s[1] + c) * count + r) * line), line);
}

KTC_DECL tensor nef_simulator::slice_rows(const tile& t, std::int64_t begin, std::int64_t end,
                                          const std::string& what) {
    const tensor& d = t.data;
    if (d.rank() != 4) return d;
    if (begin < t.begin || end > t.begin + d.dim(2))
        throw error("nef: rows [" + std::to_string(begin) + ", " + std::to_string(end) + ") of '" + what +
                    "' were not loaded on chip");
    if (begin == t.begin && end == t.begin + d.dim(2)) return d;
    tensor out(d.type(), {d.dim(0), d.dim(1), end - begin, d.dim(3)});
    const std::size_t line = static_cast<std::size_t>(d.dim(3)) * size_of(d.type());
    for (std::int64_t nc = 0; nc < d.dim(0) * d.dim(1); ++nc)
        std::memcpy(out.raw() + (nc * (end - begin)) * line, d.raw() + (nc * d.dim(2) + (begin - t.begin)) * line,
                    static_cast<std::size_t>(end - begin) * line);
    return out;
}

KTC_DECL void nef_simulator::call(const graph::node& n, std::vector<const tensor*> args, std::vector<tensor>& results) {
    results.assign(n.outputs.size(), tensor{});
    kernels::kernel_table::const_iterator k = kernels::fixed::kernels().find(n.op_type);
    if (k == kernels::fixed::kernels().end())
        throw unsupported_error("nef: no kernel for '" + n.name + "' (" + n.op_type + ")");
    k->second(kernels::kernel_call{n, args, results});
}

KTC_DECL void nef_simulator::run_layer(machine& mc, const step& s, std::int64_t begin, std::int64_t end) const {
    mc.produced.clear();
    std::map<std::string, tile> local;  // values made inside the layer
    // Rows [b, e) of a value made inside the layer or loaded on chip (whole when not tiled).
    const auto fetch = [&](const std::string& name, std::int64_t b, std::int64_t e) -> tensor {
        const tile* t = nullptr;
        if (auto it = local.find(name); it != local.end()) t = &it->second;
        else if (auto l = mc.loaded.find(index_of(name)); l != mc.loaded.end()) t = &l->second;
        else throw error("nef: layer of '" + s.l.nodes[0] + "' reads '" + name + "', which was not loaded");
        return s.tiled ? slice_rows(*t, b, e, name) : t->data;
    };
    std::vector<compiler::node_rows> rows;
    if (s.tiled) rows = compiler::rows_for_tile(s.windows, s.in_rows, begin, end);
    std::vector<tensor> held, results;
    for (std::size_t k = 0; k < s.nodes.size(); ++k) {
        const graph::node& n = *s.nodes[k];
        held.clear();
        held.reserve(n.inputs.size());
        std::vector<const tensor*> args;
        for (std::size_t i = 0; i < n.inputs.size(); ++i) {
            const auto& in = n.inputs[i];
            if (in.empty()) {
                args.push_back(nullptr);
                continue;
            }
            if (const tensor* c = constant(in)) {
                args.push_back(c);
                continue;
            }
            std::int64_t b = 0, e = 1 << 30;
            if (s.tiled) {
                const bool main = i == s.slots[k];
                b = main ? rows[k].in_begin : rows[k].out_begin;
                e = main ? rows[k].in_end : rows[k].out_end;
            }
            held.push_back(fetch(in, b, e));
            args.push_back(nullptr);
        }
        for (std::size_t i = 0, h = 0; i < n.inputs.size(); ++i)
            if (!n.inputs[i].empty() && !constant(n.inputs[i])) args[i] = &held[h++];
        if (s.tiled && s.windows[k].windowed) {
            graph::node clipped = n;  // the same window with the pads clipped to this tile
            const auto& in = *args[0];
            auto pads = n.attrs.get_ints("pads", {0, 0, 0, 0});
            const std::string auto_pad = n.attrs.get_string("auto_pad", "NOTSET");
            if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
                const std::int64_t out_w = values_width(n), in_w = in.dim(3);
                const auto strides = n.attrs.get_ints("strides", {1, 1}), dil = n.attrs.get_ints("dilations", {1, 1});
                const std::int64_t kw =
                    n.op_type == "Conv" ? constant(n.inputs[1])->dim(3) : n.attrs.get_ints("kernel_shape")[1];
                const std::int64_t total =
                    std::max<std::int64_t>(0, (out_w - 1) * strides[1] + (kw - 1) * dil[1] + 1 - in_w);
                pads[1] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
                pads[3] = total - pads[1];
            } else if (auto_pad == "VALID") {
                pads = {0, 0, 0, 0};
            }
            pads[0] = rows[k].pad_begin, pads[2] = rows[k].pad_end;
            clipped.attrs.set("pads", pads);
            clipped.attrs.set("auto_pad", std::string("NOTSET"));
            call(clipped, args, results);
        } else {
            call(n, args, results);
        }
        const std::int64_t first = s.tiled ? rows[k].out_begin : 0;
        for (std::size_t o = 0; o < n.outputs.size(); ++o)
            if (!n.outputs[o].empty()) local[n.outputs[o]] = tile{first, std::move(results[o])};
    }
    for (const auto& out : s.l.outputs) mc.produced[index_of(out)] = std::move(local.at(out));
    mc.loaded.clear();
}

KTC_DECL std::int64_t nef_simulator::values_width(const graph::node& n) const {
    const auto it = descs_.find(n.outputs[0]);
    if (it == descs_.end() || it->second.shape.size() != 4) throw error("nef: no shape for '" + n.outputs[0] + "'");
    return it->second.shape[3];
}

KTC_DECL void nef_simulator::execute(machine& mc, const compiler::command& c) const {
    using compiler::opcode;
    switch (c.op) {
        case opcode::end: return;
        case opcode::load_tile:
            mc.loaded[c.a] =
                tile{c.b, load(mc, c.a, c.b, values_.at(c.a).desc.shape.size() == 4 ? std::int64_t{c.c} : 1)};
            return;
        case opcode::run_layer: return run_layer(mc, steps_.at(c.a), c.b, std::int64_t{c.b} + c.c);
        case opcode::store_tile: {
            auto it = mc.produced.find(c.a);
            if (it == mc.produced.end())
                throw error("nef: STORE_TILE of '" + values_.at(c.a).name + "', which the last layer did not make");
            if (values_.at(c.a).desc.shape.size() != 4) return store(mc, c.a, it->second.data, 0);
            return store(mc, c.a, slice_rows(it->second, c.b, std::int64_t{c.b} + c.c, values_.at(c.a).name), c.b);
        }
        case opcode::cpu_op: {
            const step& s = steps_.at(c.a);
            const graph::node& n = *s.nodes.at(0);
            std::vector<tensor> held;
            std::vector<const tensor*> args;
            for (const auto& in : n.inputs) {
                if (in.empty()) held.emplace_back();
                else if (const tensor* k = constant(in)) held.push_back(*k);
                else {
                    const std::size_t v = index_of(in);
                    held.push_back(load(mc, v, 0, compiler::rows_of(values_[v].desc.shape)));
                }
            }
            for (std::size_t i = 0; i < n.inputs.size(); ++i) args.push_back(n.inputs[i].empty() ? nullptr : &held[i]);
            std::vector<tensor> results;
            call(n, args, results);
            for (std::size_t o = 0; o < n.outputs.size(); ++o)
                if (!n.outputs[o].empty()) store(mc, index_of(n.outputs[o]), results[o], 0);
            return;
        }
    }
}

}  // namespace ktc::compiler
