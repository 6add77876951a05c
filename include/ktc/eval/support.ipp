// ktc/eval/support.ipp - the definitions behind support.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/eval/support.hpp"

namespace ktc::eval {

KTC_DECL const char* name_of(placement p) {
    switch (p) {
        case placement::npu: return "npu";
        case placement::cpu: return "cpu";
        case placement::unsupported: return "unsupported";
    }
    return "?";
}

namespace detail {

KTC_DECL std::string dims(const shape_t& values) {
    std::string s;
    for (std::size_t i = 0; i < values.size(); ++i) s += (i ? "x" : "") + std::to_string(values[i]);
    return s;
}

KTC_DECL std::string number(float v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

KTC_DECL std::string broken(const std::string& op, const std::string& what, const std::string& value,
                            const std::string& allowed) {
    return op + " " + what + " " + value + " (allowed: " + allowed + ")";
}

KTC_DECL std::string check_input_rank(const node_view& x, std::size_t slot, const int_range& allowed) {
    if (allowed.unbounded()) return "";
    const auto shape = x.input_shape(slot);
    if (!shape) return broken(x.op(), "input rank", "unknown", allowed.to_string());
    const auto rank = static_cast<std::int64_t>(shape->size());
    return allowed.contains(rank) ? "" : broken(x.op(), "input rank", std::to_string(rank), allowed.to_string());
}

KTC_DECL shape_t conv_pads(const node_view& x, const shape_t& kernel, const shape_t& strides) {
    const std::size_t r = kernel.size();
    const std::string auto_pad = x.n.attrs.get_string("auto_pad", "NOTSET");
    if (auto_pad == "VALID") return shape_t(2 * r, 0);
    if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER") return x.ints("pads", 2 * r, 0);
    shape_t pads(2 * r, 0);
    const auto in = x.input_shape(0);
    for (std::size_t i = 0; i < r; ++i) {
        std::int64_t total = kernel[i] - 1;
        if (in && in->size() == r + 2 && (*in)[2 + i] > 0) {
            const std::int64_t extent = (*in)[2 + i], out = (extent + strides[i] - 1) / strides[i];
            total = std::max<std::int64_t>(0, (out - 1) * strides[i] + kernel[i] - extent);
        }
        pads[i] = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        pads[i + r] = total - pads[i];
    }
    return pads;
}

}  // namespace detail
KTC_DECL std::vector<segment> partition(const std::vector<node_support>& nodes, const graph::graph& g) {
    enum class side { npu, host, none };  // none: a folded node with nothing before it
    struct mark {
        int switches = 0;  // NPU<->CPU switches on the longest path up to this node
        side on = side::none;
    };
    std::map<graph::vertex, mark> marks;
    for (const auto& s : nodes) {  // topological order: producers are marked first
        mark m{0, s.folded ? side::none : s.where == placement::npu ? side::npu : side::host};
        for (const auto& in : g[s.v].inputs) {
            const auto p = g.producer(in);
            if (!p) continue;
            const mark before = marks.at(*p);
            if (s.folded && m.on == side::none) m.on = before.on;
            const bool crosses = m.on != side::none && before.on != side::none && m.on != before.on;
            m.switches = std::max(m.switches, before.switches + (crosses ? 1 : 0));
        }
        marks[s.v] = m;
    }
    std::map<std::pair<int, std::size_t>, segment> ordered;  // (switches, first position) -> segment
    std::map<int, std::size_t> npu_segment_start;            // switches -> its first position
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const auto& s = nodes[i];
        if (s.folded) continue;
        const int switches = marks.at(s.v).switches;
        if (s.where != placement::npu) {
            ordered[{switches, i}] = segment{s.where, {s.v}};
            continue;
        }
        const std::size_t start = npu_segment_start.try_emplace(switches, i).first->second;
        ordered.try_emplace({switches, start}, segment{placement::npu, {}}).first->second.nodes.push_back(s.v);
    }
    std::vector<segment> out;
    for (auto& [key, seg] : ordered) out.push_back(std::move(seg));
    return out;
}

#if !KTC_HEADER_ONLY
template support_report support_check<platform::kdp520>(const graph::graph&);
template support_report support_check<platform::kdp720>(const graph::graph&);
#endif

}  // namespace ktc::eval
