// ktc/eval/cost.ipp - the definitions behind cost.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/eval/cost.hpp"

namespace ktc::eval {
namespace cost_detail {

KTC_DECL std::optional<shape_t> shape_of(const graph::graph& g, const std::string& value) {
    if (value.empty()) return std::nullopt;
    if (const tensor* t = g.initializer(value)) return t->shape();
    if (const auto* info = g.info(value); info && info->rank_known) return info->shape;
    return std::nullopt;
}

KTC_DECL double elements(const graph::graph& g, const std::string& value) {
    const auto s = shape_of(g, value);
    if (!s) return 0;
    double n = 1;
    for (auto d : *s) n *= d > 0 ? static_cast<double>(d) : 1.0;
    return n;
}

KTC_DECL mac_work mac_op_work(const graph::graph& g, const graph::node& n, const hardware& hw) {
    mac_work w;
    const auto in = shape_of(g, n.input(0));
    const auto out = shape_of(g, n.outputs.at(0));
    const auto weight = shape_of(g, n.input(1));
    if (n.has_input(2)) w.bias = elements(g, n.input(2));
    if (!weight) return w;
    for (auto d : *weight)
        w.weights = (w.weights == 0 ? 1 : w.weights) * static_cast<double>(std::max<std::int64_t>(d, 1));
    const double out_elems = elements(g, n.outputs.at(0));
    if (n.op_type == "Conv" || n.op_type == "ConvTranspose") {
        if (weight->size() < 3 || !in || !out || out->size() != weight->size() || in->size() != weight->size())
            return w;
        const double group = static_cast<double>(n.attrs.get_int("group", 1));
        double window = 1;
        for (std::size_t i = 2; i < weight->size(); ++i) window *= static_cast<double>((*weight)[i]);
        double kh = static_cast<double>((*weight)[weight->size() - 2]);
        double kw = static_cast<double>(weight->back());
        double channels_in, channels_out;  // per group
        double zero_inserted = 1;          // ConvTranspose: work per real MAC
        if (n.op_type == "Conv") {
            channels_in = static_cast<double>((*weight)[1]);
            channels_out = static_cast<double>((*weight)[0]) / group;
            w.macs = out_elems * channels_in * window;
        } else {  // ConvTranspose weight [C, M/group, k...]: every input pixel meets the kernel
            channels_in = static_cast<double>((*weight)[0]) / group;
            channels_out = static_cast<double>((*weight)[1]);
            w.macs = elements(g, n.input(0)) * channels_out * window;
            // The array runs it as a conv over the zero-inserted input: every output pixel
            // takes the whole kernel, of which 1 / (stride_h x stride_w) of the taps are real.
            const auto strides = n.attrs.get_ints("strides", shape_t(weight->size() - 2, 1));
            zero_inserted = 1;
            for (auto st : strides) zero_inserted *= static_cast<double>(std::max<std::int64_t>(st, 1));
        }
        const double columns = static_cast<double>(std::max<std::int64_t>(out->back(), 1));
        const bool depthwise = group > 1 && channels_in == 1 && channels_out == 1;
        const double taps = static_cast<double>(hw.mac_kernel_lanes) * hw.mac_kernel_lanes;
        double u = round_up_ratio(columns, hw.mac_column_lanes);
        if (depthwise) {  // channels spread over the output lanes, one input lane used
            u *= round_up_ratio(group, hw.mac_output_lanes) / std::max(1, hw.mac_input_lanes) *
                 round_up_ratio(kh, hw.mac_kernel_lanes) * round_up_ratio(kw, hw.mac_kernel_lanes);
        } else if (kh * kw == 1) {  // a 1x1 conv spreads its input channels over some kernel taps
            const double folded = std::clamp<double>(hw.mac_pointwise_taps, 1, taps);
            u *= round_up_ratio(channels_in, hw.mac_input_lanes * folded) *
                 round_up_ratio(channels_out, hw.mac_output_lanes) * folded / taps;
        } else {
            u *= round_up_ratio(channels_in, hw.mac_input_lanes) * round_up_ratio(channels_out, hw.mac_output_lanes) *
                 round_up_ratio(kh, hw.mac_kernel_lanes) * round_up_ratio(kw, hw.mac_kernel_lanes);
        }
        w.utilisation = u / zero_inserted;
        return w;
    }
    // Gemm / MatMul: out[M, N] = A[M, K] B[K, N]; rows of A play the output columns.
    if (!in || in->empty() || weight->size() < 2) return w;
    const bool trans_b = n.op_type == "Gemm" && n.attrs.get_int("transB", 0) != 0;
    const double k = static_cast<double>(trans_b ? (*weight)[weight->size() - 1] : (*weight)[weight->size() - 2]);
    const double cols = static_cast<double>(trans_b ? (*weight)[weight->size() - 2] : (*weight)[weight->size() - 1]);
    const double rows = out_elems / std::max(cols, 1.0);
    w.macs = out_elems * k;
    const double taps = static_cast<double>(hw.mac_kernel_lanes) * hw.mac_kernel_lanes;
    const double folded = std::clamp<double>(hw.mac_pointwise_taps, 1, taps);
    w.utilisation = round_up_ratio(rows, hw.mac_column_lanes) * round_up_ratio(k, hw.mac_input_lanes * folded) *
                    round_up_ratio(cols, hw.mac_output_lanes) * folded / taps;
    return w;
}

KTC_DECL double halo_factor(const graph::graph& g, const graph::node& conv, int tiles) {
    const auto out = shape_of(g, conv.outputs.at(0));
    const auto weight = shape_of(g, conv.input(1));
    if (tiles <= 1 || !out || !weight || out->size() < 3 || weight->size() != out->size()) return 1;
    const double rows = static_cast<double>(std::max<std::int64_t>((*out)[2], 1));
    const double kh = static_cast<double>(std::max<std::int64_t>((*weight)[2], 1));
    const auto strides = conv.attrs.get_ints("strides", {});
    const auto dilations = conv.attrs.get_ints("dilations", {});
    const double sh = strides.empty() ? 1.0 : static_cast<double>(std::max<std::int64_t>(strides[0], 1));
    const double dh = dilations.empty() ? 1.0 : static_cast<double>(std::max<std::int64_t>(dilations[0], 1));
    const double span = (kh - 1) * dh + 1;                     // input rows one output row reads
    const double per_tile = std::ceil(rows / tiles);           // output rows per tile
    const double read = tiles * ((per_tile - 1) * sh + span);  // input rows all tiles read
    const double whole = (rows - 1) * sh + span;               // the (padded) input, read once
    return std::max(1.0, read / whole);
}

KTC_DECL std::vector<graph::vertex> output_stage(const graph::graph& g, graph::vertex lead,
                                                 const std::map<graph::vertex, const node_support*>& where,
                                                 const std::set<graph::vertex>& taken) {
    std::vector<graph::vertex> chain;
    graph::vertex at = lead;
    bool pooled = false;
    for (;;) {
        const std::string& value = g[at].outputs.at(0);
        if (g.is_graph_output(value)) break;
        const auto readers = g.consumers(value);
        if (readers.size() != 1) break;
        const graph::vertex next = readers[0].first;
        const auto it = where.find(next);
        if (it == where.end() || it->second->where != placement::npu || taken.count(next)) break;
        const std::string& op = g[next].op_type;
        if (!ops::is_output_stage(op)) break;
        const bool pool = op == "MaxPool" || op == "AveragePool";
        if (pool && pooled) break;
        // Elementwise binaries: the other operand must be ready (produced outside this chain).
        pooled = pooled || pool;
        chain.push_back(next);
        at = next;
    }
    return chain;
}

}  // namespace cost_detail
KTC_DECL performance_estimate estimate_performance(const graph::graph& g, const support_report& support,
                                                   const hardware& hw) {
    using namespace cost_detail;
    performance_estimate r;
    r.platform = support.platform;
    std::map<graph::vertex, const node_support*> where;
    for (const auto& n : support.nodes) where[n.v] = &n;
    std::set<graph::vertex> taken;
    const double bytes = hw.bytes_per_value;
    const double peak = hw.peak_macs_per_second();
    const double dram_rate = hw.dram_bytes_per_second > 0 ? hw.dram_bytes_per_second : 1e18;
    const double clock_hz = hw.npu_clock_mhz * 1e6;

    // DRAM traffic and tiles of an NPU layer reading `in` and writing `out` bytes with `w` bytes
    // of weights. Feature maps stay on chip while the layer fits; past it, the output is cut into
    // tiles that each fit with their input, the feature maps go through DRAM, and weights that
    // cannot stay resident are read again for each tile.
    struct dram_traffic {
        double weights = 0, fmap_in = 0, fmap_out = 0;
    };
    const auto traffic = [&](layer_estimate& l, double in, double out, double w) {
        dram_traffic t;
        const double need = in + out + w;
        if (hw.sram_bytes <= 0 || need <= hw.sram_bytes) {
            l.tiles = 1;
            t.weights = w;
        } else {
            const double resident_w = w <= hw.sram_bytes / 2 ? w : 0;  // weights kept across tiles
            const double room = std::max(hw.sram_bytes - resident_w, hw.sram_bytes / 4);
            const double streamed_w = w - resident_w;
            l.tiles = static_cast<int>(std::ceil((in + out + (streamed_w > 0 ? hw.sram_bytes / 4 : 0)) / room));
            l.tiles = std::max(l.tiles, 1);
            t.weights = resident_w + streamed_w * l.tiles;
            t.fmap_in = in;
            t.fmap_out = out;
        }
        l.dram_bytes = t.weights + t.fmap_in + t.fmap_out;
        return t;
    };

    // Weights are prefetched while the array computes (the longer of the two counts); spilled
    // feature maps are not hidden (a tile waits for its input, the next waits for the output to
    // leave), so their DRAM time adds; then the fixed setup. The bound is the largest term.
    const auto finish_npu = [&](layer_estimate& l, double compute_s, const dram_traffic& t) {
        l.compute_ms = compute_s * 1e3;
        l.weight_ms = t.weights / dram_rate * 1e3;
        l.fmap_in_ms = t.fmap_in / dram_rate * 1e3;
        l.fmap_out_ms = t.fmap_out / dram_rate * 1e3;
        l.memory_ms = l.weight_ms + l.fmap_in_ms + l.fmap_out_ms;
        l.limited_by = bound::compute;
        double largest = l.compute_ms;
        for (const auto& [ms, b] : {std::pair{l.weight_ms, bound::weights}, std::pair{l.fmap_in_ms, bound::fmap_in},
                                    std::pair{l.fmap_out_ms, bound::fmap_out}})
            if (ms > largest) largest = ms, l.limited_by = b;
        l.time_ms = std::max(l.compute_ms, l.weight_ms) + l.fmap_in_ms + l.fmap_out_ms + hw.layer_overhead_us * 1e-3;
        r.dram_bytes += l.dram_bytes;
        r.mac_running_ms += l.macs > 0 ? l.compute_ms : 0;
        r.mac_idle_ms += l.time_ms - (l.macs > 0 ? l.compute_ms : 0);
    };

    for (const segment& seg : support.segments) {
        for (const graph::vertex v : seg.nodes) {
            if (taken.count(v)) continue;
            taken.insert(v);
            const graph::node& n = g[v];
            layer_estimate l;
            l.name = n.name;
            l.op = n.op_type;
            double in_values = 0;
            for (std::size_t i = 0; i < n.inputs.size(); ++i)
                if (!n.inputs[i].empty() && !g.initializer(n.inputs[i]) && !graph::constant_value(g, n.inputs[i]))
                    in_values += elements(g, n.inputs[i]);

            if (seg.where != placement::npu) {  // a CPU (or unsupported) node
                double out_values = 0;
                for (const auto& o : n.outputs) out_values += elements(g, o);
                l.input_bytes = in_values * 4;  // the host computes in float
                l.output_bytes = out_values * 4;
                l.limited_by = bound::cpu;
                const double rate = hw.cpu_bytes_per_second > 0 ? hw.cpu_bytes_per_second : 1e18;
                // the NPU's int8 output goes to DRAM and the CPU's result comes back
                l.dram_bytes = (in_values + out_values) * bytes;
                l.compute_ms = (l.input_bytes + l.output_bytes) / rate * 1e3;
                l.memory_ms = l.dram_bytes / dram_rate * 1e3;
                l.time_ms = l.compute_ms + l.memory_ms + hw.cpu_node_overhead_us * 1e-3;
                r.dram_bytes += l.dram_bytes;
                r.mac_idle_ms += l.time_ms;
                r.layers.push_back(std::move(l));
                continue;
            }

            if (ops::only_relabels(n.op_type)) {  // free: placement of data only
                r.layers.push_back(std::move(l));
                continue;
            }

            std::string last_out = n.outputs.at(0);
            if (ops::is_mac(n.op_type)) {
                const mac_work w = mac_op_work(g, n, hw);
                l.macs = static_cast<std::int64_t>(std::llround(w.macs));
                l.weight_bytes = w.weights * bytes + w.bias * 4;
                double extra_in = 0;  // second operands of fused elementwise nodes
                for (const graph::vertex f : output_stage(g, v, where, taken)) {
                    taken.insert(f);
                    const graph::node& fn = g[f];
                    l.fused.push_back(fn.name);
                    for (std::size_t i = 0; i < fn.inputs.size(); ++i) {
                        const std::string& value = fn.inputs[i];
                        if (value.empty() || value == last_out) continue;
                        if (g.initializer(value) || graph::constant_value(g, value)) continue;
                        extra_in += elements(g, value);
                    }
                    last_out = fn.outputs.at(0);
                }
                l.input_bytes = (elements(g, n.input(0)) + extra_in) * bytes;
                l.output_bytes = elements(g, last_out) * bytes;
                dram_traffic fmap = traffic(l, l.input_bytes, l.output_bytes, l.weight_bytes);
                if (l.tiles > 1 && n.op_type == "Conv") {  // each tile re-reads its input halo
                    const double extra = elements(g, n.input(0)) * bytes * (halo_factor(g, n, l.tiles) - 1);
                    fmap.fmap_in += extra;
                    l.dram_bytes += extra;
                }
                l.theoretical_ms = peak > 0 ? w.macs / peak * 1e3 : 0;
                const double rate = peak * std::max(w.utilisation, 1e-6) * hw.mac_efficiency;
                finish_npu(l, rate > 0 ? w.macs / rate : 0, fmap);
                r.layers.push_back(std::move(l));
                continue;
            }

            // A lone NPU op (pool, elementwise, resize, pad...): one value per output lane and
            // cycle, each reading its window.
            l.input_bytes = in_values * bytes;
            const double out_values = elements(g, last_out);
            l.output_bytes = out_values * bytes;
            double window = 1;
            for (auto k : n.attrs.get_ints("kernel_shape", {})) window *= static_cast<double>(k);
            if (n.op_type == "GlobalAveragePool" || n.op_type == "GlobalMaxPool")
                window = out_values > 0 ? in_values / out_values : 1;
            const dram_traffic fmap = traffic(l, l.input_bytes, l.output_bytes, 0);
            const double lanes = std::max(1, hw.mac_output_lanes) * std::max(1, hw.mac_column_lanes);
            finish_npu(l, clock_hz > 0 ? out_values * window / lanes / clock_hz : 0, fmap);
            r.layers.push_back(std::move(l));
        }
    }
    return r;
}

#if !KTC_HEADER_ONLY
template performance_estimate estimate_performance<platform::kdp520>(const graph::graph&, const support_report&);
template performance_estimate estimate_performance<platform::kdp720>(const graph::graph&, const support_report&);
#endif

}  // namespace ktc::eval
