// ktc/sim/fixed_simulator.hpp - the fixed-point end-to-end simulator (the vendor's
// kneron_inference on a .bie): the interpreter over the fixed-point kernels, on a quantized graph.
//
// Float inputs are quantized at the model's input radix (or the --radix override), the integer
// graph runs, and the outputs come back dequantized (float = q * 2^-radix), so results compare
// directly with the float simulator's.
#pragma once

#include <optional>

#include "ktc/core/config.hpp"
#include "ktc/fixed/annotations.hpp"
#include "ktc/kernels/fixed/fixed_point.hpp"
#include "ktc/kernels/fixed/registry.hpp"
#include "ktc/sim/samples.hpp"

namespace ktc::sim {

namespace detail {

// The quantized graph with every reader of input `name` told that it now arrives at `radix`.
KTC_DECL graph::graph with_input_radix(graph::graph g, const std::string& name, int radix);

}  // namespace detail

class fixed_simulator final : public runner {
public:
    // `input_radix`: overrides the radix of every graph input (the seed's `radix` argument).
    explicit fixed_simulator(graph::graph quantized, std::optional<int> input_radix = std::nullopt)
        : graph_(prepare(std::move(quantized), input_radix)),
          formats_(fixed::edge_formats(graph_)),
          interp_(graph_, kernels::fixed::kernels()) {}
    fixed_simulator(const fixed_simulator&) = delete;  // interp_ refers to graph_
    fixed_simulator& operator=(const fixed_simulator&) = delete;

    // One sample, model layout, float inputs by name; float (dequantized) outputs. The observer
    // sees the integer tensors.
    tensor_map run(const tensor_map& inputs, const node_observer& observe = {}) const override {
        tensor_map q;
        for (const auto& [name, x] : inputs) {
            auto f = formats_.find(name);
            q.emplace(name, f == formats_.end() || !is_floating(x.type()) ? x : fixed::quantize_tensor(x, f->second));
        }
        tensor_map out = interp_.run(q, observe);
        for (auto& [name, t] : out) {
            auto f = formats_.find(name);
            if (f != formats_.end() && !is_floating(t.type())) t = fixed::dequantize_tensor(t, f->second);
        }
        return out;
    }

    // User data (one sample or a stack), on `threads` threads (0: every core; sim/samples.hpp).
    tensor_map run_samples(const tensor_map& user, layout user_layout,
                           const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                           unsigned threads = 1) const {
        return sim::run_samples(
            graph_.inputs, [this](const tensor_map& one) { return run(one); }, user, user_layout, progress, threads);
    }

    const graph::graph& graph() const override { return graph_; }
    // Radix and width of each graph input and output.
    const std::map<std::string, fixed::value_format>& edge_formats() const { return formats_; }

private:
    static graph::graph prepare(graph::graph g, std::optional<int> input_radix) {
        if (input_radix)
            for (const auto& in : g.inputs) g = detail::with_input_radix(std::move(g), in.name, *input_radix);
        // Inputs reach the integer graph already quantized: declare them so.
        const auto formats = fixed::edge_formats(g);
        for (auto& in : g.inputs)
            if (auto f = formats.find(in.name); f != formats.end()) in.type = fixed::integer_type(f->second.bits);
        return g;
    }

    graph::graph graph_;
    std::map<std::string, fixed::value_format> formats_;
    interpreter interp_;
};

}  // namespace ktc::sim

#if KTC_HEADER_ONLY
#include "ktc/sim/fixed_simulator.ipp"
#endif
