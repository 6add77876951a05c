// ktc/sim/fixed_simulator.ipp - the definitions behind fixed_simulator.hpp
// (compiled once in src/, or included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/sim/fixed_simulator.hpp"

namespace ktc::sim::detail {

KTC_DECL graph::graph with_input_radix(graph::graph g, const std::string& name, int radix) {
    for (const auto& [v, slot] : g.consumers(name)) {
        auto r = fixed::radices_of_inputs(g[v]);
        r.at(slot) = radix;
        g[v].attrs.set(fixed::attr::input_radix, r);
        // A MAC op's bias sits at most at the accumulator radix r_in + r_w[c]: a lower input
        // radix moves the accumulator down, and the bias follows (one rounding, fixed_point.hpp).
        auto bias_radix = g[v].attrs.get_ints(fixed::attr::bias_radix, {});
        const auto weight_radix = g[v].attrs.get_ints(fixed::attr::weight_radix, {});
        if (slot != 0 || bias_radix.empty() || !g[v].has_input(2)) continue;
        const tensor* bias = g.initializer(g[v].input(2));
        if (!bias || bias->type() != dtype::int32) continue;
        tensor moved = *bias;
        for (std::size_t c = 0; c < bias_radix.size(); ++c) {
            const std::int64_t accumulator = radix + weight_radix.at(weight_radix.size() == 1 ? 0 : c);
            // A higher input radix moves the accumulator up, away from the bias: past the bound
            // the kernel refuses, so the override is refused here, naming it (not an exit-1 kernel error).
            if (accumulator - bias_radix[c] > fixed::max_bias_shift)
                throw usage_error("radix " + std::to_string(radix) + " for input '" + name + "' is too high: node '" +
                                  g[v].name + "' (" + g[v].op_type + ") would need its bias more than " +
                                  std::to_string(fixed::max_bias_shift) + " bits below its accumulator radix " +
                                  std::to_string(accumulator));
            if (bias_radix[c] <= accumulator) continue;
            auto& b = moved.data<std::int32_t>()[c];
            b = static_cast<std::int32_t>(fixed::round_shift(b, static_cast<int>(bias_radix[c] - accumulator)));
            bias_radix[c] = accumulator;
        }
        std::string moved_name = g[v].input(2) + "_radix" + std::to_string(radix);
        while (g.initializers.count(moved_name)) moved_name += "_";
        g.initializers.emplace(moved_name, std::move(moved));
        g.set_input(v, 2, moved_name);
        g[v].attrs.set(fixed::attr::bias_radix, bias_radix);
    }
    return g;
}

}  // namespace ktc::sim::detail
