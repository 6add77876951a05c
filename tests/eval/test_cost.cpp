// The cost model (eval/cost.hpp) on small graphs whose figures can be worked out by hand: MACs and
// weights of a conv, the report's invariants, compute- vs memory-bound layers, tiling past the
// on-chip memory, output-stage fusion, the array geometry and CPU-node layers.
#include <doctest/doctest.h>

#include "ktc/eval/cost.hpp"

using namespace ktc;
using graph::node;
using platform::kdp520;
using platform::kdp720;

namespace {

// A graph built node by node with every value's shape given (no shape inference needed).
struct model {
    graph::graph g;

    explicit model(shape_t x_shape) {
        g.name = "m";
        g.inputs.push_back({"x", dtype::float32, std::move(x_shape)});
    }
    model& weight(const std::string& name, shape_t shape) {
        g.initializers.emplace(name, tensor::zeros(dtype::float32, std::move(shape)));
        return *this;
    }
    model& add(const std::string& op, std::vector<std::string> ins, const std::string& out, shape_t out_shape,
               graph::attributes attrs_cost = {}) {
        g.value_infos[out] = {out, dtype::float32, std::move(out_shape)};
        g.add_node(node{out + "_node", op, "", std::move(attrs_cost), std::move(ins), {out}});
        return *this;
    }
    model& output(const std::string& name) {
        g.outputs.push_back(g.value_infos.at(name));
        return *this;
    }
};

graph::attributes attrs_cost(std::initializer_list<std::pair<const char*, graph::attribute>> list) {
    graph::attributes a;
    for (auto& [k, v] : list) a.set(k, v);
    return a;
}

// x[1,16,32,32] -> Conv 3x3 pad 1, 32 filters -> y[1,32,32,32]
model conv3x3(std::int64_t cin = 16, std::int64_t cout = 32, std::int64_t hw = 32) {
    model m({1, cin, hw, hw});
    m.weight("w", {cout, cin, 3, 3});
    m.add("Conv", {"x", "w"}, "y", {1, cout, hw, hw}, attrs_cost({{"pads", shape_t{1, 1, 1, 1}}}));
    m.output("y");
    return m;
}

// A chip with round numbers: 100 MHz x 100 MACs = 10 GMAC/s, no granularity, no setup cost.
eval::hardware simple_chip() {
    eval::hardware h;
    h.platform = ktc::platform::chip::kdp520;
    h.npu_clock_mhz = 100;
    h.macs_per_cycle = 100;
    h.mac_efficiency = 1;
    h.sram_bytes = 1 << 20;
    h.dram_bytes_per_second = 1e9;
    h.cpu_bytes_per_second = 1e8;
    return h;
}

template <class P = kdp520>
eval::performance_estimate estimate(const graph::graph& g, const eval::hardware& h) {
    return eval::estimate_performance(g, eval::support_check<P>(g), h);
}

}  // namespace

TEST_CASE("cost: a conv's MACs, weights and feature maps, worked by hand") {
    const model m = conv3x3();
    const auto e = estimate(m.g, simple_chip());
    REQUIRE(e.layers.size() == 1);
    const auto& l = e.layers[0];
    CHECK(l.op == "Conv");
    CHECK(l.macs == 32LL * 32 * 32 * 16 * 3 * 3);           // output values x (input channels x window)
    CHECK(l.weight_bytes == doctest::Approx(32 * 16 * 9));  // int8
    CHECK(l.input_bytes == doctest::Approx(16 * 32 * 32));
    CHECK(l.output_bytes == doctest::Approx(32 * 32 * 32));
    // 4718592 MACs at 10 GMAC/s with every lane busy
    CHECK(l.theoretical_ms == doctest::Approx(4718592 / 10e9 * 1e3));
    CHECK(l.compute_ms == doctest::Approx(l.theoretical_ms));
    CHECK(l.limited_by == eval::bound::compute);
    CHECK(e.total_macs() == l.macs);
}

TEST_CASE("cost: totals keep the report's invariants on both chips") {
    const model m = conv3x3(64, 64, 56);
    const auto e520 = eval::estimate_performance<kdp520>(m.g, eval::support_check<kdp520>(m.g));
    const auto e720 = eval::estimate_performance<kdp720>(m.g, eval::support_check<kdp720>(m.g));
    for (const auto* e : {&e520, &e720}) {
        CHECK(e->total_ms() > 0);
        CHECK(e->total_ms() == doctest::Approx(e->mac_idle_ms + e->mac_running_ms));
        CHECK(e->mac_efficiency() == doctest::Approx(e->theoretical_conv_ms() / e->total_ms()));
        CHECK(e->fps() == doctest::Approx(1000 / e->total_ms()));
        CHECK(e->mac_efficiency() <= 1.0);
        double sum = 0;
        for (const auto& l : e->layers) sum += l.time_ms;
        CHECK(sum == doctest::Approx(e->total_ms()));
    }
    CHECK(e520.platform == ktc::platform::chip::kdp520);
    CHECK(e720.total_ms() < e520.total_ms());  // the 720 is the faster chip
}

TEST_CASE("cost: a layer is bound by its weights when their traffic outweighs its compute") {
    // A 1x1 conv on a 1x1 map: 1 MAC per weight byte.
    model m({1, 512, 1, 1});
    m.weight("w", {512, 512, 1, 1});
    m.add("Conv", {"x", "w"}, "y", {1, 512, 1, 1});
    m.output("y");
    eval::hardware h = simple_chip();
    h.dram_bytes_per_second = 1e8;  // 262144 bytes: 2.6 ms; 262144 MACs: 0.026 ms
    auto l = estimate(m.g, h).layers.at(0);
    CHECK(l.limited_by == eval::bound::weights);
    CHECK(l.time_ms == doctest::Approx(512.0 * 512 / 1e8 * 1e3));
    CHECK(l.weight_ms == doctest::Approx(l.time_ms));
    h.dram_bytes_per_second = 1e12;
    l = estimate(m.g, h).layers.at(0);
    CHECK(l.limited_by == eval::bound::compute);
    CHECK(l.time_ms == doctest::Approx(l.compute_ms));
}

TEST_CASE("cost: tiling past the on-chip memory sends feature maps through DRAM") {
    const model m = conv3x3(16, 32, 64);  // in 64 KiB, out 128 KiB, weights 4.5 KiB
    eval::hardware h = simple_chip();
    auto l = estimate(m.g, h).layers.at(0);
    CHECK(l.tiles == 1);
    CHECK(l.dram_bytes == doctest::Approx(l.weight_bytes));  // feature maps stay on chip
    h.sram_bytes = 64 * 1024;
    l = estimate(m.g, h).layers.at(0);
    CHECK(l.tiles > 1);
    CHECK(l.dram_bytes >= l.input_bytes + l.output_bytes + l.weight_bytes);
    // 4 tiles of 16 output rows (room: 64 KiB less the 4.6 KiB of resident weights): each reads
    // its 16 + 2 rows of the padded input (66 rows), so the halo rows are read twice: 72 / 66
    CHECK(l.tiles == 4);
    CHECK(eval::cost_detail::halo_factor(m.g, m.g[*m.g.find_node("y_node")], l.tiles) == doctest::Approx(72.0 / 66));
    // spilled feature maps are not hidden behind the compute: their DRAM time adds
    CHECK(l.fmap_in_ms == doctest::Approx(l.input_bytes * 72.0 / 66 / 1e9 * 1e3));
    CHECK(l.fmap_out_ms == doctest::Approx(l.output_bytes / 1e9 * 1e3));
    CHECK(l.time_ms == doctest::Approx(std::max(l.compute_ms, l.weight_ms) + l.fmap_in_ms + l.fmap_out_ms));
    CHECK(l.memory_ms == doctest::Approx(l.weight_ms + l.fmap_in_ms + l.fmap_out_ms));
    // with slow DRAM the larger feature map (the output, 128 KiB) bounds the layer
    h.dram_bytes_per_second = 1e7;
    CHECK(estimate(m.g, h).layers.at(0).limited_by == eval::bound::fmap_out);
}

TEST_CASE("cost: a tiled conv re-reads the input rows its tiles share (the halo)") {
    const model m = conv3x3(16, 32, 64);
    const graph::node& conv = m.g[*m.g.find_node("y_node")];
    CHECK(eval::cost_detail::halo_factor(m.g, conv, 1) == doctest::Approx(1));  // untiled: read once
    // 64 output rows in 8 tiles of 8: each reads 8 + 2 rows of the 66 padded ones
    CHECK(eval::cost_detail::halo_factor(m.g, conv, 8) == doctest::Approx(80.0 / 66));
    // a 1x1 conv at stride 1 shares no rows between tiles
    model pw({1, 16, 64, 64});
    pw.weight("w", {16, 16, 1, 1});
    pw.add("Conv", {"x", "w"}, "y", {1, 16, 64, 64});
    pw.output("y");
    CHECK(eval::cost_detail::halo_factor(pw.g, pw.g[*pw.g.find_node("y_node")], 8) == doctest::Approx(1));
}

TEST_CASE("cost: a layer whose input outweighs the rest is bound by feature maps in") {
    // A stride-4 1x1 conv: 64 KiB in, 4 KiB out, 256 weights.
    model m({1, 16, 64, 64});
    m.weight("w", {16, 16, 1, 1});
    m.add("Conv", {"x", "w"}, "y", {1, 16, 16, 16}, attrs_cost({{"strides", shape_t{4, 4}}}));
    m.output("y");
    eval::hardware h = simple_chip();
    h.sram_bytes = 32 * 1024;
    h.dram_bytes_per_second = 1e7;
    const auto l = estimate(m.g, h).layers.at(0);
    CHECK(l.limited_by == eval::bound::fmap_in);
    CHECK(l.fmap_in_ms > l.fmap_out_ms);
}

TEST_CASE("cost: the NPU's output stage is fused into the MAC layer") {
    model m({1, 16, 32, 32});
    m.weight("w", {32, 16, 3, 3});
    m.add("Conv", {"x", "w"}, "c", {1, 32, 32, 32}, attrs_cost({{"pads", shape_t{1, 1, 1, 1}}}));
    m.add("Relu", {"c"}, "r", {1, 32, 32, 32});
    m.add("MaxPool", {"r"}, "y", {1, 32, 16, 16},
          attrs_cost({{"kernel_shape", shape_t{2, 2}}, {"strides", shape_t{2, 2}}}));
    m.output("y");
    const auto e = estimate(m.g, simple_chip());
    REQUIRE(e.layers.size() == 1);
    CHECK(e.layers[0].fused.size() == 2);
    CHECK(e.layers[0].output_bytes == doctest::Approx(32 * 16 * 16));  // after the pool
}

TEST_CASE("cost: array geometry - depthwise, small channel counts and 1x1 use the array poorly") {
    eval::hardware h = simple_chip();
    h.mac_input_lanes = 8;
    h.mac_output_lanes = 8;
    h.mac_kernel_lanes = 3;
    const auto per_mac = [&](const graph::graph& g) {
        const auto l = estimate(g, h).layers.at(0);
        return l.compute_ms / static_cast<double>(l.macs);
    };
    const double full = per_mac(conv3x3(16, 32).g);  // every lane busy
    // (ratios: doctest's Approx has an absolute floor far above these per-MAC times)
    CHECK(per_mac(conv3x3(3, 32).g) / full == doctest::Approx(8.0 / 3));  // 3 of 8 input lanes
    CHECK(per_mac(conv3x3(16, 4).g) / full == doctest::Approx(2));        // 4 of 8 output lanes

    model dw({1, 32, 32, 32});
    dw.weight("w", {32, 1, 3, 3});
    dw.add("Conv", {"x", "w"}, "y", {1, 32, 32, 32},
           attrs_cost({{"pads", shape_t{1, 1, 1, 1}}, {"group", std::int64_t{32}}}));
    dw.output("y");
    CHECK(per_mac(dw.g) / full == doctest::Approx(8));  // one input lane of eight

    model wide({1, 64, 32, 32});
    wide.weight("w", {32, 64, 7, 7});
    wide.add("Conv", {"x", "w"}, "y", {1, 32, 32, 32}, attrs_cost({{"pads", shape_t{3, 3, 3, 3}}}));
    wide.output("y");
    CHECK(per_mac(wide.g) / full == doctest::Approx(81.0 / 49));  // 7x7 in 3x3 blocks: 9x9 taps

    model pointwise({1, 72, 32, 32});  // a 1x1 conv: one tap of nine, unless it folds channels
    pointwise.weight("w", {32, 72, 1, 1});
    pointwise.add("Conv", {"x", "w"}, "y", {1, 32, 32, 32});
    pointwise.output("y");
    h.mac_pointwise_taps = 1;
    CHECK(per_mac(pointwise.g) / full == doctest::Approx(9));
    h.mac_pointwise_taps = 9;  // 72 input channels over 8 lanes x 9 taps
    CHECK(per_mac(pointwise.g) / full == doctest::Approx(1));
    h.mac_pointwise_taps = 3;  // 72 channels over 8 x 3: 3 of 9 taps
    CHECK(per_mac(pointwise.g) / full == doctest::Approx(3));
}

TEST_CASE("cost: a node the NPU cannot run is a CPU layer, idle for the MAC array") {
    // Resize is not in KDP520's table: the CPU upsamples between two NPU convs.
    model m({1, 8, 16, 16});
    m.weight("w1", {8, 8, 1, 1});
    m.weight("w2", {8, 8, 1, 1});
    m.g.initializers.emplace("scales", tensor::from<float>({4}, std::vector<float>{1, 1, 2, 2}));
    m.add("Conv", {"x", "w1"}, "a", {1, 8, 16, 16});
    m.add("Resize", {"a", "", "scales"}, "u", {1, 8, 32, 32}, attrs_cost({{"mode", std::string("nearest")}}));
    m.add("Conv", {"u", "w2"}, "y", {1, 8, 32, 32});
    m.output("y");
    const auto e520 = estimate<kdp520>(m.g, simple_chip());
    REQUIRE(e520.layers.size() == 3);
    const auto& cpu = e520.layers[1];
    CHECK(cpu.op == "Resize");
    CHECK(cpu.limited_by == eval::bound::cpu);
    CHECK(cpu.macs == 0);
    CHECK(cpu.time_ms > 0);
    CHECK(e520.cpu_ms() == doctest::Approx(cpu.time_ms));
    CHECK(e520.npu_only_ms() == doctest::Approx(e520.total_ms() - cpu.time_ms));
    CHECK(e520.mac_idle_ms >= cpu.time_ms);
    // KDP720 runs Resize on its NPU
    const auto e720 = estimate<kdp720>(m.g, simple_chip());
    CHECK(e720.cpu_ms() == 0);
}
