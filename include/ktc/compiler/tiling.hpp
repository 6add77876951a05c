// ktc/compiler/tiling.hpp - splitting a layer's output rows into tiles that fit on-chip memory.
//
// A layer is row-tiled when every node of it is row-local on 4-D [1, C, H, W] feature maps:
// Conv and MaxPool/AveragePool (no ceil_mode, no Indices output) read a window of input rows
// (the halo: (kernel - 1) * dilation + 1 - stride rows beyond the stride), and element-wise
// nodes and channel Concat read the same rows they write (their constant operands must not vary
// along H). Anything else (Gemm, global pools, Resize, reshapes, CPU steps) is one tile: the
// whole tensor. The tile height is the largest that keeps the layer's input tiles (with halos),
// its intermediates and its output tile within the on-chip budget: the platform's sram_bytes,
// or tiling_options::onchip_bytes when set (tests force tiny budgets). A layer whose single row
// does not fit still runs one row per tile. The .nef simulator uses rows_for_tile() too, so the
// rows the compiler loads and the rows the simulator computes come from one function.
#pragma once

#include <algorithm>
#include <optional>
#include <utility>

#include "ktc/compiler/lower.hpp"
#include "ktc/graph/ops.hpp"
#include "ktc/platform/traits.hpp"

namespace ktc::compiler {

struct tiling_options {
    std::uint64_t onchip_bytes = 0;  // 0: the platform's on-chip memory (platform_traits::sram_bytes)
};

// How a node's output rows depend on the rows of its main input (input 0, or the chain input).
struct row_window {
    std::int64_t kernel = 1, stride = 1, dilation = 1, pad_begin = 0;
    bool windowed = false;  // Conv or pool; false: output row r reads input row r
};

// The rows of one node for one tile: the output rows it makes, the main input rows it reads and
// the pads (of the original node, clipped to the tile) that complete its windows.
struct node_rows {
    std::int64_t out_begin, out_end, in_begin, in_end, pad_begin, pad_end;
};

struct layer_tiling {
    bool tiled = false;                                        // false: one tile, the whole tensors
    std::vector<std::pair<std::int64_t, std::int64_t>> tiles;  // output rows [begin, end)
};

// Rows of a value: the H axis of a 4-D feature map, else 1 (the whole tensor).
inline std::int64_t rows_of(const shape_t& s) { return s.size() == 4 ? s[2] : 1; }

// NPU layout (docs/formats.md): each row of W elements padded to 16 bytes, channel after channel.
inline std::uint64_t align16(std::uint64_t n) { return (n + 15) / 16 * 16; }
inline std::uint64_t row_bytes(const value_desc& v) {
    if (v.shape.size() != 4) return align16(static_cast<std::uint64_t>(element_count(v.shape)) * size_of(v.type));
    return static_cast<std::uint64_t>(v.shape[1]) * align16(static_cast<std::uint64_t>(v.shape[3]) * size_of(v.type));
}

namespace tiling_detail {

inline bool varies_along_rows(const shape_t& s, const shape_t& out) {
    if (s.size() < 2) return false;
    const std::int64_t h = s[s.size() - 2];
    return h != 1 || out.size() != 4;
}

inline bool is_row_elementwise(const graph::node& n) {
    return ops::is_row_tiled(n.op_type) || n.attrs.has(fixed::attr::lookup_table);
}

}  // namespace tiling_detail

// The row window of `n` if it is row-local with `main` as the chain input, else nullopt.
inline std::optional<row_window> row_window_of(const graph::graph& g, const graph::node& n, std::size_t main_slot,
                                               const std::map<std::string, value_desc>& values) {
    using namespace tiling_detail;
    const auto real_outputs = std::count_if(n.outputs.begin(), n.outputs.end(), [](auto& o) { return !o.empty(); });
    if (real_outputs != 1 || n.outputs.empty() || n.outputs[0].empty() || !values.count(n.outputs[0]))
        return std::nullopt;
    const shape_t& out = values.at(n.outputs[0]).shape;
    if (out.size() != 4 || out[0] != 1 || !n.has_input(main_slot) || !values.count(n.input(main_slot)))
        return std::nullopt;
    const shape_t& in = values.at(n.input(main_slot)).shape;
    if (in.size() != 4 || in[0] != 1) return std::nullopt;
    row_window w;
    const bool conv = n.op_type == "Conv", pool = n.op_type == "MaxPool" || n.op_type == "AveragePool";
    if (conv || pool) {
        if (main_slot != 0) return std::nullopt;
        if (conv) {
            const tensor* weight = g.initializer(n.input(1));
            if (!weight || weight->rank() != 4) return std::nullopt;
            w.kernel = weight->dim(2);
        } else {
            if (n.attrs.get_int("ceil_mode", 0) != 0) return std::nullopt;
            const auto k = n.attrs.get_ints("kernel_shape", {});
            if (k.size() != 2) return std::nullopt;
            w.kernel = k[0];
        }
        const auto strides = n.attrs.get_ints("strides", {1, 1}), dil = n.attrs.get_ints("dilations", {1, 1});
        if (strides.size() != 2 || dil.size() != 2) return std::nullopt;
        w.stride = strides[0], w.dilation = dil[0];
        const std::string auto_pad = n.attrs.get_string("auto_pad", "NOTSET");
        const std::int64_t span = (w.kernel - 1) * w.dilation + 1;
        if (auto_pad == "NOTSET") {
            const auto pads = n.attrs.get_ints("pads", {0, 0, 0, 0});
            if (pads.size() != 4) return std::nullopt;
            w.pad_begin = pads[0];
        } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            const std::int64_t total = std::max<std::int64_t>(0, (out[2] - 1) * w.stride + span - in[2]);
            w.pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
        } else if (auto_pad != "VALID") {
            return std::nullopt;
        }
        w.windowed = true;
        return w;
    }
    if (n.op_type == "Concat") {
        if (normalize_axis(n.attrs.get_int("axis", 0), 4) != 1) return std::nullopt;
    } else if (!is_row_elementwise(n)) {
        return std::nullopt;
    }
    // Every other operand: an activation with the same rows, or a constant that does not vary by row.
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
        if (i == main_slot || n.inputs[i].empty()) continue;
        if (const tensor* c = g.initializer(n.inputs[i])) {
            if (varies_along_rows(c->shape(), out) && !(c->rank() == 4 && c->dim(2) == 1)) return std::nullopt;
            continue;
        }
        if (!values.count(n.inputs[i])) return std::nullopt;
        const shape_t& s = values.at(n.inputs[i]).shape;
        if (s.size() != 4 || s[2] != out[2] || s[0] != 1) return std::nullopt;
    }
    if (in[2] != out[2]) return std::nullopt;
    return w;
}

// Which input of each node of a layer is its chain input: the previous node's output (the lead:
// input 0).
inline std::vector<std::size_t> chain_slots(const graph::graph& g, const layer& l) {
    std::vector<std::size_t> slots;
    std::string previous;
    for (std::size_t k = 0; k < l.nodes.size(); ++k) {
        const graph::node& n = g[*g.find_node(l.nodes[k])];
        std::size_t slot = 0;
        if (k > 0)
            for (std::size_t i = 0; i < n.inputs.size(); ++i)
                if (n.inputs[i] == previous) {
                    slot = i;
                    break;
                }
        slots.push_back(slot);
        previous = n.outputs.at(0);
    }
    return slots;
}

// The row windows of a layer's nodes, or nullopt when it is not row-tiled.
inline std::optional<std::vector<row_window>> layer_windows(const graph::graph& g, const layer& l,
                                                            const std::map<std::string, value_desc>& values) {
    if (l.kind == layer_kind::cpu || l.outputs.size() != 1) return std::nullopt;
    const auto slots = chain_slots(g, l);
    std::vector<row_window> windows;
    for (std::size_t k = 0; k < l.nodes.size(); ++k) {
        auto w = row_window_of(g, g[*g.find_node(l.nodes[k])], slots[k], values);
        if (!w) return std::nullopt;
        windows.push_back(*w);
    }
    return windows;
}

// The rows each node of a row-tiled layer computes and reads for output rows [begin, end) of
// the layer, lead first. `in_rows[k]`: the height of node k's chain input.
inline std::vector<node_rows> rows_for_tile(const std::vector<row_window>& windows,
                                            const std::vector<std::int64_t>& in_rows, std::int64_t begin,
                                            std::int64_t end) {
    std::vector<node_rows> r(windows.size());
    for (std::size_t k = windows.size(); k-- > 0;) {
        const row_window& w = windows[k];
        node_rows& x = r[k];
        x.out_begin = begin, x.out_end = end;
        if (!w.windowed) {
            x.in_begin = begin, x.in_end = end, x.pad_begin = x.pad_end = 0;
        } else {
            const std::int64_t first = begin * w.stride - w.pad_begin;
            const std::int64_t last = (end - 1) * w.stride - w.pad_begin + (w.kernel - 1) * w.dilation + 1;
            x.in_begin = std::max<std::int64_t>(0, first);
            x.in_end = std::min(in_rows[k], last);
            x.pad_begin = x.in_begin - first;
            x.pad_end = last - x.in_end;
        }
        begin = x.in_begin, end = x.in_end;
    }
    return r;
}

// Heights of each node's chain input in a layer.
inline std::vector<std::int64_t> chain_input_rows(const graph::graph& g, const layer& l,
                                                  const std::map<std::string, value_desc>& values) {
    const auto slots = chain_slots(g, l);
    std::vector<std::int64_t> rows;
    for (std::size_t k = 0; k < l.nodes.size(); ++k)
        rows.push_back(rows_of(values.at(g[*g.find_node(l.nodes[k])].input(slots[k])).shape));
    return rows;
}

template <class P>
std::vector<layer_tiling> plan_tiles(const graph::graph& g, const lowered_model& m, const tiling_options& o = {}) {
    const std::uint64_t budget =
        o.onchip_bytes ? o.onchip_bytes : static_cast<std::uint64_t>(platform::platform_traits<P>::sram_bytes);
    std::vector<layer_tiling> plan;
    for (const layer& l : m.layers) {
        layer_tiling t;
        const auto windows = layer_windows(g, l, m.values);
        const std::int64_t height = l.outputs.empty() ? 1 : rows_of(m.values.at(l.outputs[0]).shape);
        if (!windows || height <= 1) {
            t.tiles.emplace_back(0, height);
            plan.push_back(std::move(t));
            continue;
        }
        t.tiled = true;
        const auto in_rows = chain_input_rows(g, l, m.values);
        const auto slots = chain_slots(g, l);
        // On-chip bytes of a tile of `h` output rows starting at row 0 (the worst halo is at any
        // interior tile; the first tile is as large up to the top pad, so take the interior one).
        const auto bytes_for = [&](std::int64_t h) {
            const std::int64_t begin = std::min(height - h, height / 2);
            const auto rows = rows_for_tile(*windows, in_rows, begin, begin + h);
            std::uint64_t total = row_bytes(m.values.at(l.outputs[0])) * static_cast<std::uint64_t>(h);
            for (std::size_t k = 0; k < l.nodes.size(); ++k) {
                const graph::node& n = g[*g.find_node(l.nodes[k])];
                for (std::size_t i = 0; i < n.inputs.size(); ++i) {
                    if (n.inputs[i].empty() || g.initializer(n.inputs[i])) continue;
                    const bool main = i == slots[k];
                    const std::int64_t r =
                        main ? rows[k].in_end - rows[k].in_begin : rows[k].out_end - rows[k].out_begin;
                    total += row_bytes(m.values.at(n.inputs[i])) * static_cast<std::uint64_t>(r);
                }
            }
            return total;
        };
        std::int64_t h = height;
        while (h > 1 && bytes_for(h) > budget) --h;
        for (std::int64_t r = 0; r < height; r += h) t.tiles.emplace_back(r, std::min(height, r + h));
        plan.push_back(std::move(t));
    }
    return plan;
}

}  // namespace ktc::compiler
