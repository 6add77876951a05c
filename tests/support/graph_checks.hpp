// tests/support/graph_checks.hpp - what rewrite tests ask of a graph: how many nodes of an op it
// has, and whether it still computes what the original computed (float simulator).
#pragma once

#include <doctest/doctest.h>

#include "ktc/sim/float_simulator.hpp"

namespace ktc::testing {

inline std::size_t count_op(const graph::graph& g, const std::string& op) {
    std::size_t n = 0;
    for (auto v : g.nodes()) n += g[v].op_type == op;
    return n;
}

// Every output of `after` equals the same output of `before` within `relative`.
inline void check_same_outputs(const graph::graph& before, const graph::graph& after, const sim::tensor_map& inputs,
                               double relative = 1e-6) {
    const auto a = sim::float_simulator(before).run(inputs), b = sim::float_simulator(after).run(inputs);
    REQUIRE(a.size() == b.size());
    for (const auto& [name, t] : a) {
        CAPTURE(name);
        REQUIRE(b.count(name) == 1);
        REQUIRE(t.shape() == b.at(name).shape());
        const auto u = t.to_vector<float>(), v = b.at(name).to_vector<float>();
        for (std::size_t i = 0; i < u.size(); ++i) CHECK(v[i] == doctest::Approx(u[i]).epsilon(relative));
    }
}

}  // namespace ktc::testing
