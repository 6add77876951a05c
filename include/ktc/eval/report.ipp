// ktc/eval/report.ipp - the definitions behind report.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/eval/report.hpp"

namespace ktc::eval {
namespace report_detail {

KTC_DECL std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

KTC_DECL std::string num(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

KTC_DECL std::string people(double v) {
    if (!std::isfinite(v)) return num(v);
    if (v == 0) return "0";
    const int magnitude = static_cast<int>(std::floor(std::log10(std::abs(v))));
    const double unit = std::pow(10.0, magnitude - 2);
    const double rounded = std::round(v / unit) * unit;
    const int decimals = std::max(0, 2 - static_cast<int>(std::floor(std::log10(std::abs(rounded)))));
    std::string s = fixed(rounded, decimals);
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
    }
    return s;
}

KTC_DECL std::string pad_right(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

KTC_DECL std::string pad_left(std::string s, std::size_t width) {
    if (s.size() < width) s.insert(0, width - s.size(), ' ');
    return s;
}

KTC_DECL std::string shorten(const std::string& s, std::size_t limit) {
    if (s.size() <= limit) return s;
    std::size_t begin = s.size() - limit;
    while (begin < s.size() && (static_cast<unsigned char>(s[begin]) & 0xC0) == 0x80) ++begin;
    return "..." + s.substr(begin);
}

KTC_DECL std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            case '\0': out += "\xEF\xBF\xBD"; break;  // U+FFFD: NUL is not allowed in HTML text
            default: out += c;
        }
    }
    return out;
}

KTC_DECL std::map<std::string, const node_support*> by_name(const support_report& s) {
    std::map<std::string, const node_support*> m;
    for (const auto& n : s.nodes) m.emplace(n.node, &n);
    return m;
}

KTC_DECL placement placement_of(const layer_estimate& l, const std::map<std::string, const node_support*>& nodes) {
    if (auto it = nodes.find(l.name); it != nodes.end()) return it->second->where;
    return l.limited_by == bound::cpu ? placement::cpu : placement::npu;
}

KTC_DECL std::string ops_of(const layer_estimate& l, const std::map<std::string, const node_support*>& nodes) {
    std::string s = l.op;
    for (const auto& f : l.fused) {
        auto it = nodes.find(f);
        s += "+" + (it != nodes.end() ? it->second->op : f);
    }
    return s;
}

KTC_DECL node_counts count(const support_report& s) {
    node_counts c;
    for (const auto& n : s.nodes) {
        if (n.folded) ++c.folded;
        else if (n.where == placement::npu) ++c.npu;
        else if (n.where == placement::cpu) ++c.cpu;
        else ++c.unsupported;
    }
    return c;
}

KTC_DECL std::vector<const node_support*> cpu_nodes(const support_report& s) {
    std::vector<const node_support*> out;
    for (const auto& n : s.nodes)
        if (!n.folded && n.where == placement::cpu) out.push_back(&n);
    return out;
}

KTC_DECL std::vector<summary_line> summary(const performance_estimate& p) {
    return {
        {"estimate FPS", p.fps(), ""},
        {"total time", p.total_ms(), "ms"},
        {"total theoretical convolution time", p.theoretical_conv_ms(), "ms"},
        {"average DRAM bandwidth", p.average_dram_gbps(), "GB/s"},
        {"MAC efficiency to total time", 100.0 * p.mac_efficiency(), "%"},
        {"MAC idle time", p.mac_idle_ms, "ms"},
        {"MAC running time", p.mac_running_ms, "ms"},
    };
}

KTC_DECL std::vector<std::pair<bound, double>> time_by_bound(const performance_estimate& p,
                                                             const std::map<std::string, const node_support*>& nodes) {
    std::vector<std::pair<bound, double>> out;
    for (bound b : {bound::compute, bound::weights, bound::fmap_in, bound::fmap_out, bound::cpu})
        out.push_back({b, 0.0});
    for (const auto& l : p.layers) {
        const bound b = placement_of(l, nodes) == placement::cpu ? bound::cpu : l.limited_by;
        out[static_cast<std::size_t>(b)].second += l.time_ms;
    }
    return out;
}

}  // namespace report_detail
KTC_DECL std::string unsupported_message(const support_report& s, const std::string& model) {
    const auto bad = s.placed(placement::unsupported);
    if (bad.empty()) return "";
    std::string m = model + ": " + std::to_string(bad.size()) + " node" + (bad.size() == 1 ? "" : "s") +
                    " cannot run on KDP" + platform::to_string(s.platform) + ":";
    for (const auto* n : bad) m += "\n  " + n->node + " (" + n->op + "): " + n->rule;
    return m;
}

KTC_DECL std::string text_report(const evaluation& e) {
    using namespace report_detail;
    const auto counts = count(e.support);
    std::string out = "ktc evaluate: " + e.model + " on KDP" + platform::to_string(e.support.platform) + "\n" +
                      "nodes: " + std::to_string(counts.npu) + " NPU, " + std::to_string(counts.cpu) + " CPU, " +
                      std::to_string(counts.unsupported) + " unsupported, " + std::to_string(counts.folded) +
                      " folded\n";
    if (!e.performance) {
        const std::string bad = unsupported_message(e.support, e.model);
        out += bad.empty() ? "no performance estimate\n" : "\n" + bad + "\n";
        return out;
    }
    const performance_estimate& p = *e.performance;
    const auto nodes = by_name(e.support);

    // The table: columns sized to their content, names capped so one long name cannot push
    // every row across the screen (the name is printed whole all the same).
    std::size_t name_w = 5, op_w = 2;
    for (const auto& l : p.layers) {
        name_w = std::max(name_w, std::min<std::size_t>(l.name.size(), 48));
        op_w = std::max(op_w, std::min<std::size_t>(ops_of(l, nodes).size(), 24));
    }
    out += "\n" + pad_right("layer", name_w) + "  " + pad_right("op", op_w) + "  " + pad_left("MACs", 12) + "  " +
           pad_left("time ms", 10) + "  " + pad_right("bound", 8) + "  placement\n";
    for (const auto& l : p.layers) {
        out += pad_right(l.name, name_w) + "  " + pad_right(ops_of(l, nodes), op_w) + "  " +
               pad_left(std::to_string(l.macs), 12) + "  " + pad_left(people(l.time_ms), 10) + "  " +
               pad_right(name_of(l.limited_by), 8) + "  " + name_of(placement_of(l, nodes)) + "\n";
    }
    out += pad_right("total", name_w) + "  " + pad_right("", op_w) + "  " +
           pad_left(std::to_string(p.total_macs()), 12) + "  " + pad_left(people(p.total_ms()), 10) + "\n";

    out += "\n***** Performance summary (KDP" + platform::to_string(e.support.platform) + ") *****\n";
    for (const auto& s : summary(p))
        out += std::string(s.label) + " = " + people(s.value) + (*s.unit ? std::string(" ") + s.unit : "") + "\n";
    // The vendor's report times the NPU alone; ktc's total includes the CPU layers. Say how much.
    if (p.cpu_ms() > 0)
        out += "CPU operator time (included above) = " + people(p.cpu_ms()) +
               " ms; NPU alone = " + people(p.npu_only_ms()) + " ms\n";

    std::string by = "time by bound:";
    for (const auto& [b, ms] : time_by_bound(p, nodes))
        if (ms > 0)
            by += std::string(by.back() == ':' ? " " : ", ") + name_of(b) + " " + people(ms) + " ms (" +
                  people(p.total_ms() > 0 ? 100.0 * ms / p.total_ms() : 0) + "%)";
    out += by + "\n";

    const auto cpu = cpu_nodes(e.support);
    if (!cpu.empty()) out += "\n";
    for (const auto* n : cpu)
        out += "warning: CPU operator " + n->op + " (node '" + n->node + "') runs on the host CPU: " + n->rule + "\n";
    return out;
}

KTC_DECL nlohmann::ordered_json json_report(const evaluation& e) {
    using namespace report_detail;
    using json = nlohmann::ordered_json;
    const auto counts = count(e.support);
    json j;
    j["tool"] = "ktc evaluate";
    j["model"] = e.model;
    j["platform"] = platform::to_string(e.support.platform);
    j["runnable"] = e.support.runnable();
    j["nodes"] = {
        {"npu", counts.npu}, {"cpu", counts.cpu}, {"unsupported", counts.unsupported}, {"folded", counts.folded}};

    json cpu = json::array();
    for (const auto* n : cpu_nodes(e.support)) cpu.push_back(n->node);
    j["cpu_nodes"] = std::move(cpu);
    json bad = json::array();
    for (const auto* n : e.support.placed(placement::unsupported))
        bad.push_back({{"node", n->node}, {"op", n->op}, {"rule", n->rule}});
    j["unsupported"] = std::move(bad);

    json layers = json::array();
    if (e.performance) {
        const performance_estimate& p = *e.performance;
        const auto nodes = by_name(e.support);
        j["fps"] = p.fps();
        j["total_time_ms"] = p.total_ms();
        j["theoretical_conv_time_ms"] = p.theoretical_conv_ms();
        j["mac_efficiency"] = 100.0 * p.mac_efficiency();
        j["mac_idle_ms"] = p.mac_idle_ms;
        j["mac_running_ms"] = p.mac_running_ms;
        j["avg_dram_gbps"] = p.average_dram_gbps();
        j["cpu_time_ms"] = p.cpu_ms();
        j["dram_bytes"] = p.dram_bytes;
        j["total_macs"] = p.total_macs();
        json by = json::object();
        for (const auto& [b, ms] : time_by_bound(p, nodes)) by[name_of(b)] = ms;
        j["time_by_bound"] = std::move(by);
        for (const auto& l : p.layers) {
            layers.push_back({{"name", l.name},
                              {"op", l.op},
                              {"fused", l.fused},
                              {"macs", l.macs},
                              {"time_ms", l.time_ms},
                              {"bound", name_of(l.limited_by)},
                              {"placement", name_of(placement_of(l, nodes))},
                              {"theoretical_ms", l.theoretical_ms},
                              {"compute_ms", l.compute_ms},
                              {"memory_ms", l.memory_ms},
                              {"weight_ms", l.weight_ms},
                              {"fmap_in_ms", l.fmap_in_ms},
                              {"fmap_out_ms", l.fmap_out_ms},
                              {"weight_bytes", l.weight_bytes},
                              {"input_bytes", l.input_bytes},
                              {"output_bytes", l.output_bytes},
                              {"dram_bytes", l.dram_bytes},
                              {"tiles", l.tiles}});
        }
    } else {
        for (const char* k :
             {"fps", "total_time_ms", "theoretical_conv_time_ms", "mac_efficiency", "mac_idle_ms", "mac_running_ms",
              "avg_dram_gbps", "cpu_time_ms", "dram_bytes", "total_macs", "time_by_bound"})
            j[k] = nullptr;
    }
    j["layers"] = std::move(layers);
    return j;
}

KTC_DECL std::string json_text(const evaluation& e) {
    return json_report(e).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

namespace report_detail {

KTC_DECL const char* colour_of(bound b) {
    switch (b) {
        case bound::compute: return "#3a6fb0";
        case bound::weights: return "#e0901f";
        case bound::fmap_in: return "#3d9a5b";
        case bound::fmap_out: return "#8a5cb8";
        case bound::cpu: return "#c23b3b";
    }
    return "#888888";
}

KTC_DECL const char* legend_of(bound b) {
    switch (b) {
        case bound::compute: return "compute-bound";
        case bound::weights: return "weight traffic";
        case bound::fmap_in: return "feature maps in";
        case bound::fmap_out: return "feature maps out";
        case bound::cpu: return "host CPU";
    }
    return "?";
}

KTC_DECL std::string time_chart(const performance_estimate& p, const std::map<std::string, const node_support*>& nodes,
                                std::size_t top) {
    std::vector<const layer_estimate*> order;
    for (const auto& l : p.layers) order.push_back(&l);
    std::stable_sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->time_ms > b->time_ms; });
    double rest = 0;
    std::size_t rest_count = 0;
    if (order.size() > top) {
        for (std::size_t i = top; i < order.size(); ++i) rest += order[i]->time_ms, ++rest_count;
        order.resize(top);
    }
    const double total = p.total_ms();
    double longest = rest;
    for (auto* l : order) longest = std::max(longest, l->time_ms);
    if (longest <= 0) longest = 1;

    const int label_w = 260, bar_w = 420, value_w = 170, row_h = 22, top_pad = 30;
    const std::size_t rows = order.size() + (rest_count ? 1 : 0);
    const int width = label_w + bar_w + value_w, height = top_pad + static_cast<int>(rows) * row_h + 10;
    std::string s = "<svg id=\"ktc-time-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
                    std::to_string(height) + "\" role=\"img\" aria-label=\"time per layer\">\n";
    // Legend.
    int x = 0;
    for (bound b : all_bounds) {
        s += "<rect x=\"" + std::to_string(x) + "\" y=\"6\" width=\"12\" height=\"12\" fill=\"" + colour_of(b) + "\"/>";
        s += "<text x=\"" + std::to_string(x + 16) + "\" y=\"16\" class=\"legend\">" + legend_of(b) + "</text>\n";
        x += 170;
    }
    auto row = [&](std::size_t i, const std::string& label, const std::string& title, double ms, const char* colour,
                   const std::string& cls) {
        const int y = top_pad + static_cast<int>(i) * row_h;
        const double w = std::max(1.0, bar_w * ms / longest);
        const std::string share = total > 0 ? people(100.0 * ms / total) + "%" : "";
        s += "<g class=\"row\"><title>" + html_escape(title) + "</title>";
        s += "<text x=\"" + std::to_string(label_w - 8) + "\" y=\"" + std::to_string(y + 15) +
             "\" text-anchor=\"end\" class=\"label\">" + html_escape(shorten(label, 34)) + "</text>";
        s += "<rect class=\"" + cls + "\" x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y + 3) +
             "\" width=\"" + fixed(w, 1) + "\" height=\"" + std::to_string(row_h - 6) + "\" fill=\"" + colour + "\"/>";
        s += "<text x=\"" + fixed(label_w + w + 6, 1) + "\" y=\"" + std::to_string(y + 15) + "\" class=\"value\">" +
             people(ms) + " ms " + share + "</text></g>\n";
    };
    for (std::size_t i = 0; i < order.size(); ++i) {
        const layer_estimate& l = *order[i];
        const placement where = placement_of(l, nodes);
        const bound b = where == placement::cpu ? bound::cpu : l.limited_by;
        row(i, l.name,
            l.name + " (" + ops_of(l, nodes) + "): " + people(l.time_ms) + " ms, " + name_of(b) + ", " + name_of(where),
            l.time_ms, colour_of(b), std::string("bar bound-") + name_of(b));
    }
    if (rest_count) {
        const std::string label = std::to_string(rest_count) + " other layers";
        row(order.size(), label, label, rest, "#aaaaaa", "bar rest");
    }
    s += "</svg>\n";
    return s;
}

}  // namespace report_detail
KTC_DECL std::string html_report(const evaluation& e) {
    using namespace report_detail;
    const auto counts = count(e.support);
    const std::string title = "ktc evaluate: " + e.model + " on KDP" + platform::to_string(e.support.platform);
    std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                    html_escape(title) +
                    "</title>\n<style>\n"
                    "body{font-family:sans-serif;margin:2em;color:#222}\n"
                    "h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.6em}\n"
                    "table{border-collapse:collapse;font-size:0.9em}\n"
                    "td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}\n"
                    "td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
                    "tr.cpu td{background:#fbecec}tr.unsupported td{background:#f6d0d0}\n"
                    "td.bound{color:#fff;font-weight:bold}\n"
                    "svg text{font-family:sans-serif;font-size:12px;fill:#222}\n"
                    ".warn{color:#a02020}\n"
                    "</style>\n</head>\n<body>\n<h1>" +
                    html_escape(title) + "</h1>\n<p id=\"ktc-node-counts\">nodes: " + std::to_string(counts.npu) +
                    " NPU, " + std::to_string(counts.cpu) + " CPU, " + std::to_string(counts.unsupported) +
                    " unsupported, " + std::to_string(counts.folded) + " folded</p>\n";

    const auto bad = e.support.placed(placement::unsupported);
    if (!bad.empty()) {
        h += "<h2 class=\"warn\">" + std::to_string(bad.size()) + " node" + (bad.size() == 1 ? "" : "s") +
             " cannot run on KDP" + html_escape(platform::to_string(e.support.platform)) +
             "</h2>\n<table id=\"ktc-unsupported\">\n<tr><th>node</th><th>op</th><th>rule</th></tr>\n";
        for (const auto* n : bad)
            h += "<tr class=\"unsupported\"><td>" + html_escape(n->node) + "</td><td>" + html_escape(n->op) +
                 "</td><td>" + html_escape(n->rule) + "</td></tr>\n";
        h += "</table>\n";
    }

    if (e.performance) {
        const performance_estimate& p = *e.performance;
        const auto nodes = by_name(e.support);
        h += "<h2>Performance summary</h2>\n<table id=\"ktc-summary\">\n";
        for (const auto& s : summary(p))
            h += "<tr><th>" + std::string(s.label) + (*s.unit ? std::string(" (") + s.unit + ")" : "") +
                 "</th><td class=\"n\">" + people(s.value) + "</td></tr>\n";
        h += "</table>\n<h2>Where the time goes</h2>\n<p id=\"ktc-bounds\">time by bound:";
        for (const auto& [b, ms] : time_by_bound(p, nodes))
            if (ms > 0)
                h += std::string(" <span class=\"bound-") + name_of(b) + "\" style=\"color:" + colour_of(b) +
                     "\">&#9632; " + legend_of(b) + " " + people(ms) + " ms (" +
                     people(p.total_ms() > 0 ? 100.0 * ms / p.total_ms() : 0) + "%)</span>";
        h += "</p>\n" + time_chart(p, nodes);

        h += "<h2>Layers</h2>\n<table id=\"ktc-layers\">\n<tr><th>#</th><th>layer</th><th>op</th><th>MACs</th>"
             "<th>time ms</th><th>share</th><th>bound</th><th>placement</th><th>DRAM bytes</th><th>tiles</th></tr>\n";
        const double total = p.total_ms();
        for (std::size_t i = 0; i < p.layers.size(); ++i) {
            const auto& l = p.layers[i];
            const placement where = placement_of(l, nodes);
            h += std::string("<tr class=\"") + name_of(where) + "\"><td class=\"n\">" + std::to_string(i + 1) +
                 "</td><td>" + html_escape(l.name) + "</td><td>" + html_escape(ops_of(l, nodes)) +
                 "</td><td class=\"n\">" + std::to_string(l.macs) + "</td><td class=\"n\">" + people(l.time_ms) +
                 "</td><td class=\"n\">" + (total > 0 ? people(100.0 * l.time_ms / total) + "%" : "") +
                 "</td><td class=\"bound bound-" + name_of(l.limited_by) +
                 "\" style=\"background:" + colour_of(l.limited_by) + "\">" + name_of(l.limited_by) + "</td><td>" +
                 name_of(where) + "</td><td class=\"n\">" + people(l.dram_bytes) + "</td><td class=\"n\">" +
                 std::to_string(l.tiles) + "</td></tr>\n";
        }
        h += "</table>\n";
    }

    const auto cpu = cpu_nodes(e.support);
    if (!cpu.empty()) {
        h += "<h2>Warnings</h2>\n<ul id=\"ktc-warnings\">\n";
        for (const auto* n : cpu)
            h += "<li class=\"warn\">CPU operator " + html_escape(n->op) + " (node '" + html_escape(n->node) +
                 "') runs on the host CPU: " + html_escape(n->rule) + "</li>\n";
        h += "</ul>\n";
    }
    h += "</body>\n</html>\n";
    return h;
}

}  // namespace ktc::eval
