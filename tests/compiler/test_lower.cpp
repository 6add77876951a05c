// Lowering, tiling and the memory plan on a small model: MAC layers take in their output stage,
// CPU nodes become CPU steps, tiles cover every output row once with the halo rows their windows
// need, and buffers that are live together never share bytes.
#include <doctest/doctest.h>

#include "compiler/small_model.hpp"
#include "ktc/compiler/memory_plan.hpp"

using namespace ktc;
using namespace ktc::compiler;

namespace {

template <class P>
struct fixture {
    graph::graph g = testing::small_quantized_model<P>();
    lowered_model low = lower<P>(g);

    const layer* with(const std::string& node) const {
        for (const auto& l : low.layers)
            if (std::find(l.nodes.begin(), l.nodes.end(), node) != l.nodes.end()) return &l;
        return nullptr;
    }
};

}  // namespace

TEST_CASE_TEMPLATE("lowering fuses a MAC op with its activation and pool and keeps CPU nodes apart", P,
                   platform::kdp520, platform::kdp720) {
    fixture<P> f;
    const layer* first = f.with("conv1");
    REQUIRE(first);
    CHECK(first->kind == layer_kind::mac);
    CHECK(first->nodes.front() == "conv1");
    CHECK(first->nodes.back() == "pool1");
    CHECK(first->inputs == std::vector<std::string>{"x"});
    CHECK(first->outputs == std::vector<std::string>{"p1"});
    // every node is in exactly one step
    std::size_t nodes = 0;
    for (const auto& l : f.low.layers) nodes += l.nodes.size();
    CHECK(nodes == f.g.node_count());
    REQUIRE(f.with("softmax"));
    CHECK(f.with("softmax")->kind == layer_kind::cpu);
    CHECK(f.with("gemm")->kind == layer_kind::mac);
    CHECK(f.with("flatten")->kind == layer_kind::move);
    // the Add joins the second of the two Convs that feed it (its other operand is ready), and
    // the AveragePool after it joins too
    const layer* add = f.with("add");
    REQUIRE(add);
    CHECK(add->kind == layer_kind::mac);
    CHECK(add->nodes.size() == 3);
    CHECK(add->nodes.back() == "avg");
    CHECK(add->inputs.size() == 2);
    // steps run in an order where every input is written before it is read
    std::set<std::string> written = {"x"};
    for (const auto& l : f.low.layers) {
        for (const auto& in : l.inputs) CHECK_MESSAGE(written.count(in), in);
        written.insert(l.outputs.begin(), l.outputs.end());
    }
}

TEST_CASE_TEMPLATE("tiles cover every output row exactly once and read the halo their windows need", P,
                   platform::kdp520, platform::kdp720) {
    fixture<P> f;
    for (std::uint64_t budget : {std::uint64_t{0}, std::uint64_t{64}, std::uint64_t{600}, std::uint64_t{3000}}) {
        const auto plan = plan_tiles<P>(f.g, f.low, {budget});
        REQUIRE(plan.size() == f.low.layers.size());
        for (std::size_t s = 0; s < plan.size(); ++s) {
            const layer& l = f.low.layers[s];
            const std::int64_t height = rows_of(f.low.values.at(l.outputs[0]).shape);
            std::int64_t next = 0;
            for (const auto& [b, e] : plan[s].tiles) {
                CHECK(b == next);
                CHECK(e > b);
                next = e;
            }
            CHECK(next == height);
            if (!plan[s].tiled) continue;
            if (budget == 64) CHECK(plan[s].tiles.size() == static_cast<std::size_t>(height));  // one row each
            const auto windows = *layer_windows(f.g, l, f.low.values);
            const auto in_rows = chain_input_rows(f.g, l, f.low.values);
            for (const auto& [b, e] : plan[s].tiles) {
                const auto rows = rows_for_tile(windows, in_rows, b, e);
                for (std::size_t k = 0; k < rows.size(); ++k) {
                    const auto& w = windows[k];
                    const auto& r = rows[k];
                    // the padded input rows span exactly the windows of the output rows
                    CHECK(r.in_end - r.in_begin + r.pad_begin + r.pad_end ==
                          (r.out_end - r.out_begin - 1) * w.stride + (w.kernel - 1) * w.dilation + 1);
                    CHECK(r.in_begin == std::max<std::int64_t>(0, r.out_begin * w.stride - w.pad_begin));
                    CHECK(r.in_begin >= 0);
                    CHECK(r.in_end <= in_rows[k]);
                    if (k + 1 < rows.size())
                        CHECK((rows[k + 1].in_begin == r.out_begin && rows[k + 1].in_end == r.out_end));
                }
            }
        }
        if (budget == 64) {  // conv1+relu1+pool1: a 3x3 pool after a 3x3 conv reads 2 + 2 halo rows
            const auto& first = plan[0];
            CHECK(first.tiled);
            const auto rows = rows_for_tile(*layer_windows(f.g, f.low.layers[0], f.low.values),
                                            chain_input_rows(f.g, f.low.layers[0], f.low.values), 3, 4);
            CHECK(rows.back().in_begin == 5);  // pool rows 5..7 of the conv output
            CHECK(rows.back().in_end == 8);
            CHECK(rows.front().in_begin == 4);  // conv rows 4..8 of the input
            CHECK(rows.front().in_end == 9);
        }
    }
}

TEST_CASE_TEMPLATE("the memory plan never lets two live buffers share bytes", P, platform::kdp520, platform::kdp720) {
    fixture<P> f;
    const memory_plan m = plan_memory(f.g, f.low);
    CHECK(m.find("x")->where == region::input);
    CHECK(m.find("y")->where == region::output);
    std::uint64_t total_working = 0;
    for (const auto& a : m.buffers) {
        CHECK(a.offset % 16 == 0);
        CHECK(a.bytes >= bytes_of(f.low.values.at(a.value)));
        const std::uint64_t area = a.where == region::input    ? m.input_bytes
                                   : a.where == region::output ? m.output_bytes
                                                               : m.working_bytes;
        CHECK(a.offset + a.bytes <= area);
        if (a.where == region::working) total_working += a.bytes;
        for (const auto& b : m.buffers)
            if (&a != &b && live_together(a, b)) CHECK_MESSAGE(!overlaps(a, b), a.value << " / " << b.value);
    }
    CHECK(m.working_bytes % 16 == 0);
    CHECK(m.working_bytes < total_working);  // liveness lets dead buffers be reused
}
