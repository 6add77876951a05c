// ktc/compiler/memory_plan.ipp - the definitions behind memory_plan.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/compiler/memory_plan.hpp"

namespace ktc::compiler {

KTC_DECL const char* name_of(region r) {
    return r == region::input ? "input" : r == region::output ? "output" : "working";
}

KTC_DECL std::uint64_t bytes_of(const value_desc& v) {
    if (v.shape.size() == 4) return align16(row_bytes(v) * static_cast<std::uint64_t>(v.shape[0] * v.shape[2]));
    return row_bytes(v);
}

KTC_DECL bool overlaps(const buffer& a, const buffer& b) {
    return a.where == b.where && a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
}

KTC_DECL memory_plan plan_memory(const graph::graph& g, const lowered_model& m) {
    memory_plan plan;
    std::map<std::string, std::size_t> index;
    const auto add = [&](const std::string& value, std::int64_t step) {
        auto [it, added] = index.emplace(value, plan.buffers.size());
        if (added) {
            buffer b;
            b.value = value;
            b.bytes = std::max<std::uint64_t>(16, bytes_of(m.values.at(value)));
            b.first = b.last = step;
            b.where = g.is_graph_input(value)    ? region::input
                      : g.is_graph_output(value) ? region::output
                                                 : region::working;
            plan.buffers.push_back(b);
        }
        return it->second;
    };
    for (const auto& in : g.inputs) add(in.name, -1);
    for (std::size_t s = 0; s < m.layers.size(); ++s) {
        const auto step = static_cast<std::int64_t>(s);
        for (const auto& in : m.layers[s].inputs) {
            if (!index.count(in))
                throw error("memory plan: layer " + std::to_string(s) + " reads '" + in +
                            "' before anything writes it");
            auto& b = plan.buffers[index.at(in)];
            b.last = std::max(b.last, step);
        }
        for (const auto& out : m.layers[s].outputs) add(out, step);
    }
    const auto last_step = static_cast<std::int64_t>(m.layers.size());
    for (auto& b : plan.buffers)
        if (b.where != region::working) b.first = -1, b.last = last_step;  // the host's, for the whole run
    // Inputs and outputs: one after another.
    for (auto& b : plan.buffers) {
        if (b.where == region::input) b.offset = plan.input_bytes, plan.input_bytes += align16(b.bytes);
        if (b.where == region::output) b.offset = plan.output_bytes, plan.output_bytes += align16(b.bytes);
    }
    // Working buffers: largest first, each at the lowest offset clear of every placed buffer
    // live at the same time.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < plan.buffers.size(); ++i)
        if (plan.buffers[i].where == region::working) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](auto a, auto b) { return plan.buffers[a].bytes > plan.buffers[b].bytes; });
    std::vector<std::size_t> placed;
    for (const std::size_t i : order) {
        buffer& b = plan.buffers[i];
        std::vector<std::pair<std::uint64_t, std::uint64_t>> busy;  // [begin, end) of conflicting buffers
        for (const std::size_t j : placed)
            if (live_together(b, plan.buffers[j]))
                busy.emplace_back(plan.buffers[j].offset, plan.buffers[j].offset + plan.buffers[j].bytes);
        std::sort(busy.begin(), busy.end());
        std::uint64_t at = 0;
        for (const auto& [begin, end] : busy) {
            if (at + b.bytes <= begin) break;
            at = std::max(at, align16(end));
        }
        b.offset = at;
        plan.working_bytes = std::max(plan.working_bytes, align16(at + b.bytes));
        placed.push_back(i);
    }
    return plan;
}

}  // namespace ktc::compiler
