// ktc/sim/interpreter.ipp - the definitions behind interpreter.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/sim/interpreter.hpp"

namespace ktc::sim {

KTC_DECL interpreter::interpreter(const graph::graph& g, const kernels::kernel_table& table) : graph_(g) {
    std::unordered_map<std::string, int> slot_of;
    auto slot = [&](const std::string& value) {
        auto [it, added] = slot_of.emplace(value, static_cast<int>(slot_names_.size()));
        if (added) slot_names_.push_back(value);
        return it->second;
    };
    for (const auto& in : g.inputs) input_slots_.push_back(slot(in.name));
    for (const auto& [name, t] : g.initializers) constants_.emplace_back(slot(name), &t);
    // A value is constant when an initializer gives it and no graph input overrides it.
    std::set<int> constant_slots;
    for (const auto& c : constants_) constant_slots.insert(c.first);
    for (int s : input_slots_) constant_slots.erase(s);

    std::map<std::string, std::vector<std::string>> missing;  // op -> nodes
    for (const graph::vertex v : g.topological_order()) {
        const graph::node& n = g[v];
        step s{&n, nullptr, {}, {}, {}, 0, std::make_shared<kernels::node_cache>()};
        auto k = table.find(n.op_type);
        if (k == table.end() || !n.domain.empty()) {
            missing[(n.domain.empty() ? "" : n.domain + ".") + n.op_type].push_back(n.name);
        } else {
            s.kernel = k->second;
        }
        for (const auto& in : n.inputs) {
            if (!in.empty() && !slot_of.count(in))
                throw error("node '" + n.name + "' (" + n.op_type + ") reads '" + in +
                            "', which no input, initializer or earlier node provides");
            s.inputs.push_back(in.empty() ? -1 : slot_of.at(in));
            if (s.inputs.size() <= 64 && constant_slots.count(s.inputs.back()))
                s.constant_inputs |= std::uint64_t{1} << (s.inputs.size() - 1);
        }
        for (const auto& out : n.outputs) s.outputs.push_back(out.empty() ? -1 : slot(out));
        steps_.push_back(std::move(s));
    }
    if (!missing.empty()) {
        std::string msg = "no kernel for";
        for (const auto& [op, nodes] : missing) {
            msg += " " + op + " (";
            for (std::size_t i = 0; i < nodes.size() && i < 3; ++i) msg += (i ? ", " : "") + nodes[i];
            if (nodes.size() > 3) msg += ", ... " + std::to_string(nodes.size()) + " nodes";
            msg += ");";
        }
        msg.pop_back();
        throw unsupported_error(msg);
    }
    for (const auto& out : g.outputs) {
        if (!slot_of.count(out.name)) throw error("graph output '" + out.name + "' is produced by nothing");
        output_slots_.push_back(slot_of.at(out.name));
    }
    plan_releases();
}

KTC_DECL interpreter::session::session(const interpreter& model, const tensor_map& inputs)
    : model_(&model), owned_(model.slot_names_.size()), view_(model.slot_names_.size(), nullptr) {
    for (const auto& [s, t] : model.constants_) view_[s] = t;
    for (std::size_t i = 0; i < model.graph_.inputs.size(); ++i) {
        const auto& info = model.graph_.inputs[i];
        auto it = inputs.find(info.name);
        if (it == inputs.end()) throw usage_error("missing model input '" + info.name + "'");
        model.check_input(info, it->second);
        view_[model.input_slots_[i]] = &it->second;
    }
    for (const auto& [name, t] : inputs)
        if (!model.graph_.is_graph_input(name)) throw usage_error("'" + name + "' is not an input of the model");
}

KTC_DECL bool interpreter::session::advance(const node_observer& observe, const std::function<bool()>& stop) {
    std::vector<const tensor*> args;
    std::vector<tensor> results;
    while (next_ < model_->steps_.size()) {
        const step& s = model_->steps_[next_++];
        args.clear();
        for (int in : s.inputs) args.push_back(in < 0 ? nullptr : view_[in]);
        results.assign(s.outputs.size(), tensor{});
        s.kernel(kernels::kernel_call{*s.node, args, results, s.cache.get(), s.constant_inputs});
        if (observe) observe(*s.node, results);
        for (std::size_t o = 0; o < s.outputs.size(); ++o) {
            if (s.outputs[o] < 0) continue;
            owned_[s.outputs[o]] = std::move(results[o]);
            view_[s.outputs[o]] = &owned_[s.outputs[o]];
        }
        for (int dead : s.releases) {
            owned_[dead] = tensor{};
            view_[dead] = nullptr;
        }
        if (stop && stop()) return next_ < model_->steps_.size();
    }
    return false;
}

KTC_DECL tensor_map interpreter::session::outputs() {
    if (next_ < model_->steps_.size()) throw error("the graph's outputs are asked for before every node has run");
    tensor_map out;
    for (std::size_t i = 0; i < model_->output_slots_.size(); ++i) {
        const int s = model_->output_slots_[i];
        tensor& result = out[model_->graph_.outputs[i].name];
        // Outputs made by a node move out; inputs or initializers listed as outputs are copied.
        result = view_[s] == &owned_[s] ? std::move(owned_[s]) : *view_[s];
        view_[s] = &result;
    }
    return out;
}

KTC_DECL tensor_map interpreter::run(const tensor_map& inputs, const node_observer& observe) const {
    session run(*this, inputs);
    run.advance(observe);
    return run.outputs();
}

KTC_DECL void interpreter::plan_releases() {
    std::vector<int> last_use(slot_names_.size(), -1);
    for (int i = 0; i < static_cast<int>(steps_.size()); ++i) {
        for (int in : steps_[i].inputs)
            if (in >= 0) last_use[in] = i;
        for (int out : steps_[i].outputs)  // an output nobody reads dies where it is made
            if (out >= 0 && last_use[out] < i) last_use[out] = i;
    }
    std::set<int> keep(output_slots_.begin(), output_slots_.end());
    keep.insert(input_slots_.begin(), input_slots_.end());
    for (const auto& [s, t] : constants_) keep.insert(s);
    for (int s = 0; s < static_cast<int>(last_use.size()); ++s)
        if (last_use[s] >= 0 && !keep.count(s)) steps_[last_use[s]].releases.push_back(s);
}

KTC_DECL void interpreter::check_input(const graph::value_info& info, const tensor& t) const {
    if (t.type() != info.type)
        throw usage_error("input '" + info.name + "' is " + name_of(t.type()) + ", the model expects " +
                          name_of(info.type));
    if (!info.rank_known) return;
    bool ok = t.rank() == static_cast<std::int64_t>(info.shape.size());
    for (std::size_t d = 0; ok && d < info.shape.size(); ++d) ok = info.shape[d] < 0 || info.shape[d] == t.shape()[d];
    if (!ok)
        throw usage_error("input '" + info.name + "' has shape " + to_string(t.shape()) + ", the model expects " +
                          to_string(info.shape));
}

}  // namespace ktc::sim
