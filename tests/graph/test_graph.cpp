#include <doctest/doctest.h>

#include "ktc/graph/graph.hpp"

using namespace ktc;
using graph::node;

namespace {

// x -> A -> a -> B -> b (output);  a -> C -> c (dead end)
graph::graph diamond() {
    graph::graph g;
    g.name = "g";
    g.inputs.push_back({"x", dtype::float32, {1, 4}});
    g.outputs.push_back({"b", dtype::float32, {1, 4}});
    // Added out of order on purpose: edges must still follow the values.
    g.add_node(node{"B", "Relu", "", {}, {"a"}, {"b"}});
    g.add_node(node{"A", "Relu", "", {}, {"x"}, {"a"}});
    g.add_node(node{"C", "Relu", "", {}, {"a"}, {"c"}});
    return g;
}

std::vector<std::string> names_in_order(const graph::graph& g) {
    std::vector<std::string> names;
    for (auto v : g.topological_order()) names.push_back(g[v].name);
    return names;
}

}  // namespace

TEST_CASE("edges follow value names whatever order nodes are added in") {
    const auto g = diamond();
    CHECK(g.edge_count() == 2);
    const auto order = names_in_order(g);
    const auto pos = [&](const std::string& n) { return std::find(order.begin(), order.end(), n) - order.begin(); };
    CHECK(pos("A") < pos("B"));
    CHECK(pos("A") < pos("C"));
    CHECK(g[*g.producer("a")].name == "A");
    CHECK(g.consumers("a").size() == 2);
    CHECK_FALSE(g.producer("x"));
}

TEST_CASE("dead nodes and unused initializers are removed, live ones kept") {
    auto g = diamond();
    g.initializers.emplace("unused", tensor::scalar(1.f));
    CHECK(g.remove_dead_nodes() == 1);
    CHECK_FALSE(g.find_node("C"));
    CHECK(g.find_node("A"));
    CHECK(g.initializers.empty());
    CHECK(g.edge_count() == 1);
}

TEST_CASE("a cycle is reported, not looped on") {
    graph::graph g;
    g.name = "loop";
    g.add_node(node{"P", "Relu", "", {}, {"q"}, {"p"}});
    g.add_node(node{"Q", "Relu", "", {}, {"p"}, {"q"}});
    CHECK_THROWS_WITH_AS(g.topological_order(), doctest::Contains("cycle"), error);
}

TEST_CASE("replace_all_uses rewires node inputs, edges and graph outputs") {
    auto g = diamond();
    g.add_node(node{"D", "Relu", "", {}, {"x"}, {"d"}});
    g.replace_all_uses("a", "d");
    CHECK(g.consumers("a").empty());
    CHECK(g.consumers("d").size() == 2);
    g.replace_all_uses("b", "d");
    CHECK(g.outputs[0].name == "d");
    // A no longer feeds anything and goes with the dead-node sweep.
    g.remove_dead_nodes();
    CHECK_FALSE(g.find_node("A"));
    CHECK_FALSE(g.find_node("B"));
}

TEST_CASE("descriptors of other nodes survive removals") {
    auto g = diamond();
    const auto a = *g.find_node("A");
    g.remove_node(*g.find_node("C"));
    CHECK(g[a].name == "A");
    CHECK_FALSE(g.producer("c"));
}

TEST_CASE("a copied graph is independent and fully connected") {
    const auto original = diamond();
    graph::graph copy = original;
    CHECK(copy.edge_count() == 2);
    CHECK(copy[*copy.producer("a")].name == "A");
    copy.remove_node(*copy.find_node("C"));
    CHECK(original.find_node("C"));
    CHECK(names_in_order(copy).size() == 2);
    graph::graph assigned;
    assigned = original;
    CHECK(assigned.consumers("a").size() == 2);
    CHECK(assigned[*assigned.producer("b")].name == "B");
}

TEST_CASE("a moved graph keeps its edges and producer index") {
    auto source = diamond();
    graph::graph moved = std::move(source);
    CHECK(moved.edge_count() == 2);
    CHECK(moved[*moved.producer("a")].name == "A");
    CHECK(names_in_order(moved).size() == 3);
    graph::graph assigned;
    assigned = std::move(moved);
    CHECK(assigned[*assigned.producer("b")].name == "B");
}
