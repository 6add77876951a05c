// The interpreter's per-node cache (kernels/kernel.hpp, node_cache): what a kernel prepares from
// a constant input is made once per node across runs; from any other input, on every call.
#include <doctest/doctest.h>

#include <atomic>

#include "ktc/sim/interpreter.hpp"

using namespace ktc;

namespace {

std::atomic<int> made{0};

// y = x + (the sum of input 1's values, prepared from input 1).
void add_prepared_sum(const kernels::kernel_call& call) {
    const auto sum = call.prepared<float>(1, [&] {
        ++made;
        float s = 0;
        for (float v : call.input(1).values<float>()) s += v;
        return s;
    });
    tensor y = call.input(0);
    for (float& v : y.values<float>()) v += *sum;
    call.output() = std::move(y);
}

// x -> A(x, w) -> a -> B(a, x) -> b: A's second input is an initializer, B's is the graph input.
graph::graph two_nodes() {
    graph::graph g;
    g.inputs.push_back({"x", dtype::float32, {2}});
    g.outputs.push_back({"b", dtype::float32, {2}});
    g.initializers.emplace("w", tensor::from<float>({2}, {1.f, 2.f}));
    g.add_node(graph::node{"A", "AddSum", "", {}, {"x", "w"}, {"a"}});
    g.add_node(graph::node{"B", "AddSum", "", {}, {"a", "x"}, {"b"}});
    return g;
}

}  // namespace

TEST_CASE("a kernel's data prepared from a constant input is made once per node, from other inputs every call") {
    const graph::graph g = two_nodes();
    const kernels::kernel_table table{{"AddSum", &add_prepared_sum}};
    const sim::interpreter interp(g, table);
    made = 0;
    for (float x0 : {1.f, 10.f, 100.f}) {
        const auto out = interp.run({{"x", tensor::from<float>({2}, {x0, 0.f})}});
        // a = x + 3; b = a + (x0 + 0): the graph input's sum is this run's, never a cached one.
        CHECK(out.at("b").values<float>()[0] == doctest::Approx(x0 + 3 + x0));
        CHECK(out.at("b").values<float>()[1] == doctest::Approx(3 + x0));
    }
    CHECK(made == 1 + 3);  // A's sum once; B's on each of the 3 runs
    // Called directly (no interpreter), nothing is cached.
    const tensor x = tensor::from<float>({2}, {0.f, 0.f}), w = tensor::from<float>({2}, {1.f, 2.f});
    const tensor* args[] = {&x, &w};
    tensor result[1];
    made = 0;
    for (int i = 0; i < 2; ++i) add_prepared_sum(kernels::kernel_call{g[*g.find_node("A")], args, result});
    CHECK(made == 2);
}

TEST_CASE("a session runs the graph in pieces: stopped after a node, it goes on where it stopped") {
    const graph::graph g = two_nodes();
    const kernels::kernel_table table{{"AddSum", &add_prepared_sum}};
    const sim::interpreter interp(g, table);
    const sim::tensor_map inputs{{"x", tensor::from<float>({2}, {5.f, 1.f})}};
    const auto whole = interp.run(inputs);

    sim::interpreter::session run(interp, inputs);
    std::vector<std::string> seen;
    const sim::node_observer observe = [&](const graph::node& n, std::span<const tensor>) { seen.push_back(n.name); };
    CHECK_THROWS_AS(run.outputs(), error);                          // nothing has run yet
    CHECK(run.advance(observe, [&] { return seen.size() == 1; }));  // stopped after A, B still to run
    CHECK(seen == std::vector<std::string>{"A"});
    CHECK(!run.advance(observe));  // B, then the end
    CHECK(seen == std::vector<std::string>{"A", "B"});
    CHECK(!run.advance(observe));  // nothing more
    CHECK(run.outputs().at("b").to_vector<float>() == whole.at("b").to_vector<float>());
}
