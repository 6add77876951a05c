// Where a simulator's time goes: one run's time per op type (convs split by kind: their kernels
// take different paths), measured between observer calls, and per node with its output shape.
// Both benchmarks print it (--profile, --profile-nodes); the simulators' observers see each node
// once its outputs are computed.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <span>
#include <string>

#include "ktc/graph/graph.hpp"
#include "ktc/kernels/attributes.hpp"
#include "ktc/sim/interpreter.hpp"

namespace ktc::bench {

template <class Simulator>
void print_profile(const Simulator& sim, const ktc::sim::tensor_map& inputs, bool per_node) {
    std::map<std::string, double> by_op;
    auto last = std::chrono::steady_clock::now();
    sim.run(inputs, [&](const ktc::graph::node& n, std::span<const ktc::tensor> outputs) {
        const auto now = std::chrono::steady_clock::now();
        std::string key = n.op_type;
        if (key == "Conv" && n.attrs.has(ktc::kernels::attr::fused_min)) key += "+act";
        if (key.starts_with("Conv")) {
            const auto k = n.attrs.get_ints("kernel_shape");
            key += n.attrs.get_int("group", 1) > 1     ? " (grouped)"
                   : k.size() == 2 && k[0] * k[1] == 1 ? " (1x1)"
                                                       : " (kxk)";
        }
        const double ms = std::chrono::duration<double, std::milli>(now - last).count();
        by_op[key] += ms;
        if (per_node)
            std::printf("    %-40s %-20s %s %8.3f ms\n", n.name.c_str(), key.c_str(),
                        outputs.empty() ? "" : ktc::to_string(outputs[0].shape()).c_str(), ms);
        last = now;
    });
    for (const auto& [op, ms] : by_op) std::printf("    %-20s %8.2f ms\n", op.c_str(), ms);
}

}  // namespace ktc::bench
