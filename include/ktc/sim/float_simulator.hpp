// ktc/sim/float_simulator.hpp - the float end-to-end simulator (the vendor's kneron_inference on
// an ONNX model): the interpreter over the float kernels, on a graph prepared for speed.
//
// Preparation changes how, never what, is computed: a Relu or a Clip with constant bounds that
// is the only reader of a Conv's output is folded into the Conv's epilogue (clamp after the
// bias), which gives bit-identical results in one pass over memory instead of two.
#pragma once

#include <cmath>
#include <limits>

#include "ktc/core/config.hpp"
#include "ktc/graph/constants.hpp"
#include "ktc/kernels/attributes.hpp"
#include "ktc/kernels/float/registry.hpp"
#include "ktc/sim/samples.hpp"

namespace ktc::sim {

namespace detail {

// The clamp bounds of a Relu or Clip node when they are known constants.
inline std::optional<std::pair<float, float>> clamp_bounds(const graph::graph& g, const graph::node& n) {
    constexpr float inf = std::numeric_limits<float>::infinity();
    if (!n.domain.empty()) return std::nullopt;
    if (n.op_type == "Relu") return std::pair{0.f, inf};
    if (n.op_type != "Clip") return std::nullopt;
    float bounds[2] = {-inf, inf};
    for (std::size_t i = 1; i <= 2; ++i) {
        if (!n.has_input(i)) continue;
        const auto t = graph::constant_value(g, n.input(i));
        if (!t || t->size() != 1 || t->type() != dtype::float32) return std::nullopt;
        bounds[i - 1] = t->values<float>()[0];
        if (std::isnan(bounds[i - 1])) return std::nullopt;
    }
    return std::pair{bounds[0], bounds[1]};
}

}  // namespace detail

// Folds Conv -> Relu / Clip(constant bounds) into the Conv, where the Conv's output has no other
// reader and is not a graph output.
KTC_DECL graph::graph fuse_conv_activations(graph::graph g);

struct float_simulator_options {
    bool fuse_activations = true;  // off when every intermediate tensor must be observable
};

class float_simulator final : public runner {
public:
    // Throws unsupported_error listing every op without a float kernel.
    explicit float_simulator(graph::graph g, float_simulator_options opts = {})
        : graph_(opts.fuse_activations ? fuse_conv_activations(std::move(g)) : std::move(g)),
          interp_(graph_, kernels::floating::kernels()) {}
    float_simulator(const float_simulator&) = delete;  // interp_ refers to graph_
    float_simulator& operator=(const float_simulator&) = delete;

    // One sample, model layout, by graph input name.
    tensor_map run(const tensor_map& inputs, const node_observer& observe = {}) const override {
        return interp_.run(inputs, observe);
    }
    // User data: `user_layout`, one sample or a stack of samples per input, on `threads` threads
    // (0: every core; sim/samples.hpp).
    tensor_map run_samples(const tensor_map& user, layout user_layout,
                           const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                           unsigned threads = 1) const {
        return sim::run_samples(interp_, user, user_layout, progress, threads);
    }
    const graph::graph& graph() const override { return graph_; }
    // One sample's run that can stop after any node and go on later (interpreter::session).
    interpreter::session start(const tensor_map& inputs) const { return interpreter::session(interp_, inputs); }

private:
    graph::graph graph_;
    interpreter interp_;
};

}  // namespace ktc::sim

#if KTC_HEADER_ONLY
#include "ktc/sim/float_simulator.ipp"
#endif
