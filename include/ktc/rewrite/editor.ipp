// ktc/rewrite/editor.ipp - the definitions behind editor.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/rewrite/editor.hpp"

namespace ktc::rewrite {
namespace detail::edit {

KTC_DECL std::string join(const std::vector<std::string>& names) {
    std::string s;
    for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", '" : "'") + names[i] + "'";
    return s;
}

KTC_DECL bool value_exists(const graph::graph& g, const std::string& value) {
    return !value.empty() && (g.is_graph_input(value) || g.producer(value) || g.initializer(value));
}

KTC_DECL std::vector<graph::vertex> find_nodes(const graph::graph& g, const std::vector<std::string>& names,
                                               const std::string& function) {
    std::vector<graph::vertex> found;
    std::vector<std::string> missing;
    for (const auto& name : names) {
        if (auto v = g.find_node(name)) found.push_back(*v);
        else missing.push_back(name);
    }
    if (!missing.empty()) throw usage_error(function + ": no node named " + join(missing) + " in the model");
    return found;
}

KTC_DECL bool compatible(const graph::value_info& a, const graph::value_info& b) {
    if (a.type != b.type) return false;
    if (!a.rank_known || !b.rank_known) return true;
    if (a.shape.size() != b.shape.size()) return false;
    for (std::size_t i = 0; i < a.shape.size(); ++i)
        if (a.shape[i] >= 0 && b.shape[i] >= 0 && a.shape[i] != b.shape[i]) return false;
    return true;
}

KTC_DECL std::string describe(const graph::value_info& v) {
    return std::string(name_of(v.type)) + (v.rank_known ? " " + to_string(v.shape) : " (rank unknown)");
}

KTC_DECL std::set<graph::vertex> downstream_of(const graph::graph& g, std::vector<std::string> values) {
    std::set<graph::vertex> seen;
    while (!values.empty()) {
        const std::string value = values.back();
        values.pop_back();
        for (const auto& [v, slot] : g.consumers(value))
            if (seen.insert(v).second)
                for (const auto& out : g[v].outputs)
                    if (!out.empty()) values.push_back(out);
    }
    return seen;
}

KTC_DECL graph::value_info info_or_unknown(const graph::graph& g, const std::string& value) {
    if (const graph::value_info* i = g.info(value)) {
        graph::value_info copy = *i;
        copy.name = value;
        return copy;
    }
    if (const tensor* t = g.initializer(value)) return {value, t->type(), t->shape(), true};
    return {value, dtype::float32, {}, false};
}

KTC_DECL void remove_dead_logged(graph::graph& g, rewriter& r) {
    std::set<std::string> before;
    for (const auto v : g.nodes()) before.insert(g[v].name);
    g.remove_dead_nodes();
    for (const auto v : g.nodes()) before.erase(g[v].name);
    for (const auto& name : before) r.note(name, "removed: reaches no graph output any more");
}

KTC_DECL void remove_nodes(graph::graph& g, rewriter& r, const std::set<graph::vertex>& nodes, const std::string& why) {
    std::set<std::string> gone;
    for (const auto v : nodes) {
        for (const auto& out : g[v].outputs)
            if (!out.empty()) gone.insert(out);
        r.note(g[v].name, "removed: " + why);
        g.remove_node(v);
    }
    std::erase_if(g.outputs, [&](const graph::value_info& o) {
        if (!gone.count(o.name)) return false;
        r.note("", "graph output '" + o.name + "' removed");
        return true;
    });
}

KTC_DECL std::string bypass_problem(const graph::graph& g, graph::vertex v) {
    const graph::node& n = g[v];
    for (std::size_t slot = 1; slot < n.outputs.size(); ++slot) {
        const std::string& out = n.outputs[slot];
        if (!out.empty() && (!g.consumers(out).empty() || g.is_graph_output(out)))
            return "its output #" + std::to_string(slot) + " '" + out +
                   "' is read; only the first output can be passed on";
    }
    if (n.outputs.empty() || n.outputs[0].empty()) return "";
    const std::string& out = n.outputs[0];
    if (g.consumers(out).empty() && !g.is_graph_output(out)) return "";
    if (!n.has_input(0)) return "it has no input to pass on to the readers of '" + out + "'";
    const auto in = info_or_unknown(g, n.input(0)), produced = info_or_unknown(g, out);
    if (!compatible(in, produced))
        return "its output '" + out + "' (" + describe(produced) + ") differs from its input '" + n.input(0) + "' (" +
               describe(in) + "); use cut_graph_from_nodes to end the graph there instead";
    return "";
}

KTC_DECL void bypass(graph::graph& g, rewriter& r, graph::vertex v) {
    const std::string name = g[v].name, op = g[v].op_type;
    const std::string in = g[v].input(0);
    const std::string out = g[v].outputs.empty() ? std::string() : g[v].outputs[0];
    if (out.empty() || (g.consumers(out).empty() && !g.is_graph_output(out))) {
        g.remove_node(v);
        r.note(name, "deleted (" + op + "), its output was unused");
        return;
    }
    const auto in_producer = g.producer(in);
    const bool keep_output_name =
        g.is_graph_output(out) && in_producer && !g.is_graph_input(in) && !g.initializer(in) && !g.is_graph_output(in);
    if (keep_output_name) {
        // `in` is renamed to `out`: the graph output keeps its name.
        for (const auto& [c, slot] : g.consumers(out)) g.set_input(c, slot, in);
        g.remove_node(v);
        const auto readers = g.consumers(in);
        const auto& outs = g[*in_producer].outputs;
        const auto slot = static_cast<std::size_t>(std::find(outs.begin(), outs.end(), in) - outs.begin());
        g.set_output(*in_producer, slot, out);
        for (const auto& [c, s] : readers) g.set_input(c, s, out);
        g.value_infos.erase(in);
        r.note(name,
               "deleted (" + op + "); '" + in + "' renamed '" + out + "' so that the graph output keeps its name");
    } else {
        g.replace_all_uses(out, in);
        g.remove_node(v);
        // `in` may have been a graph output already: list it once.
        std::set<std::string> listed;
        std::erase_if(g.outputs, [&](const graph::value_info& o) { return !listed.insert(o.name).second; });
        r.note(name, "deleted (" + op + "); its readers read '" + in + "'");
    }
    r.drop_unused_initializers();
}

KTC_DECL std::string insert_after(graph::graph& g, rewriter& r, const std::string& value, graph::node n,
                                  const std::string& suffix, const std::string& why) {
    const auto readers = g.consumers(value);
    const auto producer = g.producer(value);
    graph::value_info info = info_or_unknown(g, value);
    const std::string fresh = r.unique_value_name(value + suffix);
    if (g.is_graph_output(value) && producer) {
        // The producer writes `fresh`; the new node writes the graph output's name.
        const auto& outs = g[*producer].outputs;
        const auto slot = static_cast<std::size_t>(std::find(outs.begin(), outs.end(), value) - outs.begin());
        for (const auto& [c, s] : readers) g.set_input(c, s, fresh);
        g.set_output(*producer, slot, fresh);
        n.inputs.insert(n.inputs.begin(), fresh);
        n.outputs = {value};
    } else {
        n.inputs.insert(n.inputs.begin(), value);
        n.outputs = {fresh};
    }
    info.name = fresh;
    g.value_infos[fresh] = info;
    const graph::vertex v = r.insert(std::move(n), why);
    if (!(g.is_graph_output(value) && producer))
        for (const auto& [c, s] : readers) g.set_input(c, s, fresh);
    return g[v].name;
}

KTC_DECL std::int64_t channels_of(const graph::graph& g, const std::string& value, std::size_t min_rank,
                                  const std::string& function) {
    const graph::value_info* info = g.info(value);
    if (!info || !info->rank_known)
        throw usage_error(function + ": the shape of '" + value + "' is unknown (shape inference first)");
    if (info->shape.size() < min_rank || (min_rank == 4 && info->shape.size() != 4))
        throw usage_error(function + ": '" + value + "' is " + to_string(info->shape) + ", not " +
                          (min_rank == 4 ? "4-D (NCHW)" : "of rank >= " + std::to_string(min_rank)));
    if (info->type != dtype::float32)
        throw usage_error(function + ": '" + value + "' is " + name_of(info->type) + ", not float32");
    if (info->shape[1] <= 0) throw usage_error(function + ": the channel count of '" + value + "' is unknown");
    return info->shape[1];
}

KTC_DECL void check_values(const graph::graph& g, const std::vector<std::string>& values, const std::string& function) {
    std::vector<std::string> missing;
    for (const auto& v : values)
        if (!g.is_graph_input(v) && !g.producer(v)) missing.push_back(v);
    if (!missing.empty()) throw usage_error(function + ": no graph input or node output named " + join(missing));
}

KTC_DECL graph::node batch_norm(rewriter& r, const std::string& base, const std::vector<float>& scale,
                                const std::vector<float>& bias) {
    const auto c = static_cast<std::int64_t>(scale.size());
    auto vec = [&](const std::string& what, std::vector<float> v) {
        return r.add_initializer(base + "_" + what, tensor::from<float>({c}, v));
    };
    graph::node n{base, "BatchNormalization", "", {}, {}, {}};
    n.inputs = {vec("scale", scale), vec("bias", bias), vec("mean", std::vector<float>(scale.size(), 0.f)),
                vec("var", std::vector<float>(scale.size(), 1.f - identity_bn_epsilon))};
    n.attrs.set("epsilon", identity_bn_epsilon);
    return n;
}

}  // namespace detail::edit
KTC_DECL void delete_nodes(graph::graph& g, const std::vector<std::string>& names, change_log& log) {
    namespace e = detail::edit;
    rewriter r(g, log, "edit");
    r.set_pattern("delete_nodes");
    std::vector<std::string> unique;  // a name given twice is deleted once
    for (const auto& name : names)
        if (std::find(unique.begin(), unique.end(), name) == unique.end()) unique.push_back(name);
    const auto nodes = e::find_nodes(g, unique, "delete_nodes");
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        // Checked just before each deletion: an earlier one may have rewired this node.
        if (const auto problem = e::bypass_problem(g, nodes[i]); !problem.empty())
            throw usage_error("delete_nodes: cannot delete node '" + unique[i] + "': " + problem);
        e::bypass(g, r, nodes[i]);
    }
}

KTC_DECL void remove_nodes_with_types(graph::graph& g, const std::vector<std::string>& types, change_log& log) {
    std::vector<std::string> names, missing;
    const auto order = g.topological_order();
    for (const auto& type : types) {
        bool any = false;
        for (const auto v : order)
            if (g[v].op_type == type) names.push_back(g[v].name), any = true;
        if (!any) missing.push_back(type);
    }
    if (!missing.empty())
        throw usage_error("remove_nodes_with_types: no node of type " + detail::edit::join(missing) + " in the model");
    std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
        auto pos = [&](const std::string& n) {
            return std::find_if(order.begin(), order.end(), [&](auto v) { return g[v].name == n; }) - order.begin();
        };
        return pos(a) < pos(b);
    });
    names.erase(std::unique(names.begin(), names.end()), names.end());
    delete_nodes(g, names, log);
}

KTC_DECL void delete_inputs(graph::graph& g, const std::vector<std::string>& names, change_log& log) {
    namespace e = detail::edit;
    std::vector<std::string> missing;
    for (const auto& name : names)
        if (!g.is_graph_input(name)) missing.push_back(name);
    if (!missing.empty()) throw usage_error("delete_inputs: no graph input named " + e::join(missing));
    const auto doomed = e::downstream_of(g, names);
    std::set<std::string> gone(names.begin(), names.end());
    for (const auto v : doomed)
        for (const auto& out : g[v].outputs) gone.insert(out);
    if (std::all_of(g.outputs.begin(), g.outputs.end(), [&](auto& o) { return gone.count(o.name) != 0; }))
        throw usage_error("delete_inputs: deleting " + e::join(names) + " would leave the model without outputs");
    rewriter r(g, log, "edit");
    r.set_pattern("delete_inputs");
    e::remove_nodes(g, r, doomed, "depends on a deleted input");
    std::erase_if(g.outputs, [&](const graph::value_info& o) { return gone.count(o.name) != 0; });
    for (const auto& name : names) {
        std::erase_if(g.inputs, [&](const graph::value_info& i) { return i.name == name; });
        r.note("", "graph input '" + name + "' deleted");
    }
    e::remove_dead_logged(g, r);
}

KTC_DECL void delete_outputs(graph::graph& g, const std::vector<std::string>& names, change_log& log) {
    namespace e = detail::edit;
    std::vector<std::string> missing;
    for (const auto& name : names)
        if (!g.is_graph_output(name)) missing.push_back(name);
    if (!missing.empty()) throw usage_error("delete_outputs: no graph output named " + e::join(missing));
    const std::set<std::string> doomed(names.begin(), names.end());
    if (std::all_of(g.outputs.begin(), g.outputs.end(), [&](auto& o) { return doomed.count(o.name) != 0; }))
        throw usage_error("delete_outputs: deleting " + e::join(names) + " would leave the model without outputs");
    rewriter r(g, log, "edit");
    r.set_pattern("delete_outputs");
    std::erase_if(g.outputs, [&](const graph::value_info& o) { return doomed.count(o.name) != 0; });
    for (const auto& name : names) r.note("", "graph output '" + name + "' deleted");
    e::remove_dead_logged(g, r);
}

KTC_DECL void cut_graph_from_nodes(graph::graph& g, const std::vector<std::string>& names, change_log& log) {
    namespace e = detail::edit;
    const auto nodes = e::find_nodes(g, names, "cut_graph_from_nodes");
    rewriter r(g, log, "edit");
    r.set_pattern("cut_graph_from_nodes");
    std::vector<std::string> cut_values;
    for (const auto v : nodes)
        for (std::size_t slot = 0; slot < g[v].outputs.size(); ++slot) {
            const std::string& out = g[v].outputs[slot];
            if (!out.empty() && (slot == 0 || !g.consumers(out).empty() || g.is_graph_output(out)))
                cut_values.push_back(out);
        }
    // A named node after another named node goes with the rest of the tail.
    const auto doomed = e::downstream_of(g, cut_values);
    std::vector<graph::value_info> new_outputs;
    for (const auto v : nodes) {
        if (doomed.count(v)) continue;
        for (const auto& out : cut_values)
            if (g.producer(out) == v && !g.is_graph_output(out)) new_outputs.push_back(e::info_or_unknown(g, out));
    }
    e::remove_nodes(g, r, doomed, "after a cut node");
    for (auto& o : new_outputs) {
        r.note(g[*g.producer(o.name)].name, "its output '" + o.name + "' is now a graph output");
        g.outputs.push_back(std::move(o));
    }
    e::remove_dead_logged(g, r);
}

KTC_DECL void change_input_output_shapes(graph::graph& g, const std::map<std::string, shape_t>& shapes,
                                         change_log& log) {
    namespace e = detail::edit;
    std::vector<std::string> missing;
    for (const auto& [name, shape] : shapes) {
        if (!g.is_graph_input(name) && !g.is_graph_output(name)) missing.push_back(name);
        for (const auto d : shape)
            if (d < -1 || d == 0)
                throw usage_error("change_input_output_shapes: '" + name + "': dimension " + std::to_string(d) +
                                  " (give a positive size, or -1 for unknown)");
    }
    if (!missing.empty())
        throw usage_error("change_input_output_shapes: no graph input or output named " + e::join(missing));
    rewriter r(g, log, "edit");
    r.set_pattern("change_input_output_shapes");
    for (auto* list : {&g.inputs, &g.outputs})
        for (auto& v : *list)
            if (auto it = shapes.find(v.name); it != shapes.end()) {
                r.note("", "'" + v.name + "' " + (v.rank_known ? to_string(v.shape) : "(rank unknown)") + " -> " +
                               to_string(it->second));
                v.shape = it->second;
                v.rank_known = true;
            }
    g.value_infos.clear();  // stale: the caller re-infers
}

KTC_DECL std::vector<std::string> add_conv_after(graph::graph& g, const std::vector<std::string>& values,
                                                 change_log& log) {
    namespace e = detail::edit;
    e::check_values(g, values, "add_conv_after");
    for (const auto& value : values) (void)e::channels_of(g, value, 4, "add_conv_after");
    rewriter r(g, log, "edit");
    r.set_pattern("add_conv_after");
    std::vector<std::string> added;
    for (const auto& value : values) {
        const std::int64_t c = e::channels_of(g, value, 4, "add_conv_after");
        tensor w = tensor::zeros(dtype::float32, {c, c, 1, 1});
        for (std::int64_t i = 0; i < c; ++i) w.values<float>()[static_cast<std::size_t>(i * c + i)] = 1.f;
        const std::string base = r.unique_node_name(value + "_conv");
        graph::node n{base,
                      "Conv",
                      "",
                      {},
                      {r.add_initializer(base + "_W", std::move(w)),
                       r.add_initializer(base + "_B", tensor::zeros(dtype::float32, {c}))},
                      {}};
        n.attrs.set("kernel_shape", std::vector<std::int64_t>{1, 1});
        added.push_back(
            e::insert_after(g, r, value, std::move(n), "_pre_conv", "identity 1x1 conv after '" + value + "'"));
    }
    return added;
}

KTC_DECL std::vector<std::string> add_bn_after(graph::graph& g, const std::vector<std::string>& values,
                                               change_log& log) {
    namespace e = detail::edit;
    e::check_values(g, values, "add_bn_after");
    for (const auto& value : values) (void)e::channels_of(g, value, 2, "add_bn_after");
    rewriter r(g, log, "edit");
    r.set_pattern("add_bn_after");
    std::vector<std::string> added;
    for (const auto& value : values) {
        const auto c = static_cast<std::size_t>(e::channels_of(g, value, 2, "add_bn_after"));
        graph::node n =
            e::batch_norm(r, r.unique_node_name(value + "_bn"), std::vector<float>(c, 1.f), std::vector<float>(c, 0.f));
        added.push_back(e::insert_after(g, r, value, std::move(n), "_pre_bn", "identity BN after '" + value + "'"));
    }
    return added;
}

KTC_DECL std::string pixel_modify(graph::graph& g, const std::vector<float>& scale, const std::vector<float>& bias,
                                  change_log& log, std::string input) {
    namespace e = detail::edit;
    if (input.empty()) {
        std::vector<std::string> four_d;
        for (const auto& i : g.inputs)
            if (i.rank_known && i.shape.size() == 4) four_d.push_back(i.name);
        if (four_d.size() != 1)
            throw usage_error("pixel_modify: the model has " + std::to_string(four_d.size()) +
                              " 4-D inputs; name the one to modify");
        input = four_d.front();
    } else if (!g.is_graph_input(input)) {
        throw usage_error("pixel_modify: no graph input named '" + input + "'");
    }
    const std::int64_t c = e::channels_of(g, input, 4, "pixel_modify");
    if (static_cast<std::int64_t>(scale.size()) != c || static_cast<std::int64_t>(bias.size()) != c)
        throw usage_error("pixel_modify: input '" + input + "' has " + std::to_string(c) + " channels; got " +
                          std::to_string(scale.size()) + " scales and " + std::to_string(bias.size()) + " biases");
    rewriter r(g, log, "edit");
    r.set_pattern("pixel_modify");
    graph::node n = e::batch_norm(r, r.unique_node_name(input + "_pixel_modify"), scale, bias);
    return e::insert_after(g, r, input, std::move(n), "_modified", "x * scale + bias per channel of '" + input + "'");
}

KTC_DECL void rename_output(graph::graph& g, const std::string& from, const std::string& to, change_log& log) {
    if (!g.is_graph_output(from)) throw usage_error("rename_output: no graph output named '" + from + "'");
    if (to.empty()) throw usage_error("rename_output: the new name of '" + from + "' is empty");
    if (from == to) return;
    if (detail::edit::value_exists(g, to) || g.is_graph_output(to) || !g.consumers(to).empty())
        throw usage_error("rename_output: the name '" + to + "' is already used in the model");
    const auto producer = g.producer(from);
    if (!producer)
        throw usage_error("rename_output: output '" + from +
                          "' is a graph input or constant passed through; "
                          "it cannot be renamed alone");
    rewriter r(g, log, "edit");
    r.set_pattern("rename_output");
    const auto readers = g.consumers(from);
    const auto& outs = g[*producer].outputs;
    const auto slot = static_cast<std::size_t>(std::find(outs.begin(), outs.end(), from) - outs.begin());
    g.set_output(*producer, slot, to);
    for (const auto& [c, s] : readers) g.set_input(c, s, to);
    for (auto& o : g.outputs)
        if (o.name == from) o.name = to;
    if (auto it = g.value_infos.find(from); it != g.value_infos.end()) {
        graph::value_info info = it->second;
        info.name = to;
        g.value_infos.erase(it);
        g.value_infos[to] = info;
    }
    r.note(g[*producer].name, "output '" + from + "' renamed '" + to + "'");
}

}  // namespace ktc::rewrite
