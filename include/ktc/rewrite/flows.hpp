// ktc/rewrite/flows.hpp - the vendor's optimizer flows, assembled from the passes.
//
// onnx2onnx_flow            preprocess -> common optimization -> postprocess -> options -> tail
// torch_exported_onnx_flow  preprocess -> constant folding with shape inference to a fixed point
//                           -> common optimization -> postprocess -> options -> tail
// (the vendor's torch flow takes no options; ktc applies them after either flow, once)
// (kneron-facts §2 lists each stage by effect; docs/passes.md lists every pass.)
//
// Each stage is a list of passes applied greedily in order. The whole sequence then runs again
// until a round changes nothing, so that running a flow twice changes nothing the second time
// (a pass late in the list can open a chance for an earlier one). Shapes are re-inferred after
// each round: later patterns read value_infos.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ktc/onnx/shape_inference.hpp"
#include "ktc/rewrite/pattern.hpp"
#include "ktc/rewrite/passes/bgr.hpp"
#include "ktc/rewrite/passes/bn_before_add.hpp"
#include "ktc/rewrite/passes/bn_on_skip.hpp"
#include "ktc/rewrite/passes/eliminate_tail.hpp"
#include "ktc/rewrite/passes/fold_transpose_into_gemm.hpp"
#include "ktc/rewrite/passes/norm.hpp"
#include "ktc/rewrite/passes/rgba2yynn.hpp"
#include "ktc/rewrite/passes/eliminate_identity.hpp"
#include "ktc/rewrite/passes/eliminate_noop.hpp"
#include "ktc/rewrite/passes/fold_constants.hpp"
#include "ktc/rewrite/passes/fuse_bn_into_conv.hpp"
#include "ktc/rewrite/passes/fuse_into_consumer.hpp"
#include "ktc/rewrite/passes/bake_gemm_transb.hpp"
#include "ktc/rewrite/passes/constant_to_initializer.hpp"
#include "ktc/rewrite/passes/eliminate_single_input_concat.hpp"
#include "ktc/rewrite/passes/fix_graph_inputs.hpp"
#include "ktc/rewrite/passes/fuse_add_into_conv_bias.hpp"
#include "ktc/rewrite/passes/fuse_bn_into_gemm.hpp"
#include "ktc/rewrite/passes/fuse_consecutive_gemms.hpp"
#include "ktc/rewrite/passes/fuse_consecutive_reduce_mean.hpp"
#include "ktc/rewrite/passes/gemm_input_flatten.hpp"
#include "ktc/rewrite/passes/global_average_pool.hpp"
#include "ktc/rewrite/passes/squeeze_to_reshape.hpp"
#include "ktc/rewrite/passes/sum_to_adds.hpp"
#include "ktc/rewrite/passes/to_batch_norm.hpp"
#include "ktc/rewrite/passes/transpose.hpp"

namespace ktc::rewrite {

struct flow_options {
    bool fuse_bn = true;         // off: --no-fuse-bn (the vendor's disable_fuse_bn)
    bool bn_on_skip = false;     // identity BN on skip branches feeding an Add
    bool bn_before_add = false;  // identity BNs before Add inputs and lone activations
    bool bgr = false;            // the first Conv takes BGR instead of RGB
    bool norm = false;           // a conv that adds 0.5 to the input
    bool rgba2yynn = false;      // a 4->4 channel luma conv at the input
    bool eliminate_tail = false; // drop trailing layout/softmax nodes (reported)
    int max_rounds = 8;          // bound on repeats of the whole sequence
    int max_sweeps = 32;         // bound on sweeps of one pass
};

struct step_report {
    std::string pass;
    pass_result result;
};

struct flow_report {
    std::string flow;
    change_log changes;
    std::vector<step_report> steps;  // one per pass application that changed something
    int rounds = 0;
    bool converged = false;  // every pass converged and the last round changed nothing
    std::optional<passes::tail_report> tail;  // what eliminate_tail removed (when it ran)
};

// ---- the stages ------------------------------------------------------------------------------

inline std::vector<pass> preprocess_passes(const flow_options& o) {
    std::vector<pass> passes;
    passes.push_back(make_pass<passes::constant_to_initializer>("constant_to_initializer"));
    passes.push_back(make_pass<passes::eliminate_identity, passes::eliminate_noop_pad,
                               passes::eliminate_trivial_pool>("eliminate_noops"));
    passes.push_back(make_pass<passes::fuse_matmul_add_into_gemm>("fuse_matmul_add_into_gemm"));
    passes.push_back(make_pass<passes::fuse_pad_into_conv>("fuse_pad_into_conv"));
    if (o.fuse_bn) passes.push_back(make_pass<passes::fuse_bn_into_conv>("fuse_bn_into_conv"));
    return passes;
}

inline std::vector<pass> constant_folding_passes() {
    return {make_pass<passes::fold_constants>("fold_constants")};
}

inline std::vector<pass> common_optimization_passes(const flow_options& o) {
    std::vector<pass> passes;
    passes.push_back(make_pass<passes::bake_gemm_transb>("bake_gemm_transb"));
    passes.push_back(make_pass<passes::flatten_gemm_input, passes::reshape_to_flatten>("gemm_input_flatten"));
    passes.push_back(make_pass<passes::squeeze_to_reshape>("squeeze_to_reshape"));
    if (o.fuse_bn) passes.push_back(make_pass<passes::fuse_bn_into_gemm>("fuse_bn_into_gemm"));
    passes.push_back(make_pass<passes::fuse_consecutive_gemms>("fuse_consecutive_gemms"));
    passes.push_back(make_pass<passes::fuse_consecutive_reduce_mean>("fuse_consecutive_reduce_mean"));
    passes.push_back(make_pass<passes::average_pool_to_global, passes::reduce_mean_to_global_pool>("global_average_pool"));
    passes.push_back(make_pass<passes::sum_to_adds>("sum_to_adds"));
    return passes;
}

inline std::vector<pass> postprocess_passes(const flow_options& o) {
    std::vector<pass> passes;
    passes.push_back(make_pass<passes::eliminate_single_input_concat>("eliminate_single_input_concat"));
    passes.push_back(make_pass<passes::eliminate_identity_transpose, passes::merge_transposes,
                               passes::push_transpose_through_elementwise>("transposes"));
    passes.push_back(make_pass<passes::fold_transpose_into_gemm>("fold_transpose_into_gemm"));
    passes.push_back(make_pass<passes::fuse_add_into_conv_bias>("fuse_add_into_conv_bias"));
    passes.push_back(make_pass<passes::depthwise_conv_to_bn>("depthwise_conv_to_bn"));
    passes.push_back(make_pass<passes::mul_add_to_bn, passes::per_channel_to_bn>("per_channel_to_bn"));
    return passes;
}

// ---- the driver --------------------------------------------------------------------------------

namespace detail {

// Applies every pass of `stages` in order, to a fixed point of the whole sequence.
inline void run_to_fixed_point(graph::graph& g, const std::vector<pass>& sequence, const flow_options& o,
                               flow_report& report) {
    report.converged = false;
    for (report.rounds = 1; report.rounds <= o.max_rounds; ++report.rounds) {
        bool changed = false, all_converged = true;
        for (const pass& p : sequence) {
            const pass_result r = apply_greedily(g, p, report.changes, o.max_sweeps);
            all_converged = all_converged && r.converged;
            if (r.rewrites > 0) {
                changed = true;
                report.steps.push_back({p.name, r});
            }
        }
        if (g.remove_dead_nodes() > 0) changed = true;
        onnx::infer_shapes(g, report.flow);
        if (!changed) {
            report.converged = all_converged;
            return;
        }
    }
    report.rounds = o.max_rounds;
}

// The options and the tail: graph-level functions applied once, after the fixed point. They add
// nodes the optimizing passes would fold away again (identity BNs, 1x1 input convs) and some are
// not idempotent (bgr swaps back, norm adds 0.5 again), so they never run inside the loop; a
// flow applies each at most once. Order: bn_on_skip, bn_before_add, bgr, norm, rgba2yynn, then
// eliminate_tail; shapes are re-inferred after them.
inline void apply_options_and_tail(graph::graph& g, const flow_options& o, flow_report& report) {
    auto step = [&](const char* name, bool on, auto&& apply) {
        if (!on) return;
        const std::size_t n = apply(g, report.changes);
        if (n > 0) report.steps.push_back({name, pass_result{true, 1, n}});
    };
    step("bn_on_skip", o.bn_on_skip, passes::add_bn_on_skip);
    step("bn_before_add", o.bn_before_add, passes::add_bn_before_add);
    step("bgr", o.bgr, passes::swap_input_rgb_bgr);
    step("norm", o.norm, passes::add_half_to_inputs);
    step("rgba2yynn", o.rgba2yynn, passes::convert_rgba_to_yynn);
    if (o.eliminate_tail) {
        report.tail = passes::eliminate_tail(g, report.changes);
        if (!report.tail->removed.empty())
            report.steps.push_back({"eliminate_tail", pass_result{true, 1, report.tail->removed.size()}});
    }
    if (o.bn_on_skip || o.bn_before_add || o.bgr || o.norm || o.rgba2yynn || o.eliminate_tail)
        onnx::infer_shapes(g, report.flow);
}

inline std::vector<pass> concat(std::vector<std::vector<pass>> stages) {
    std::vector<pass> all;
    for (auto& s : stages)
        for (auto& p : s) all.push_back(std::move(p));
    return all;
}

// Both flows: inputs fixed, shapes inferred, the stages to a fixed point, then options and tail.
// (The vendor's torch flow adds the constant folding the onnx flow also runs here: folding is
// harmless on a graph without constant chains, and it keeps one sequence to reason about.)
inline flow_report run_flow(const char* name, graph::graph& g, const flow_options& o) {
    flow_report report;
    report.flow = name;
    preprocess_graph_inputs(g, report.changes);
    onnx::infer_shapes(g, report.flow);
    run_to_fixed_point(g,
                       concat({preprocess_passes(o), constant_folding_passes(), common_optimization_passes(o),
                               postprocess_passes(o)}),
                       o, report);
    apply_options_and_tail(g, o, report);
    return report;
}

}  // namespace detail

inline flow_report onnx2onnx_flow(graph::graph& g, const flow_options& o = {}) {
    return detail::run_flow("onnx2onnx", g, o);
}

inline flow_report torch_exported_onnx_flow(graph::graph& g, const flow_options& o = {}) {
    return detail::run_flow("torch_exported", g, o);
}

}  // namespace ktc::rewrite
