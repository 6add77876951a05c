// ktc/rewrite/flows.ipp - the definitions behind flows.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/rewrite/flows.hpp"

namespace ktc::rewrite {

KTC_DECL std::vector<pass> preprocess_passes(const flow_options& o) {
    std::vector<pass> passes;
    passes.push_back(make_pass<passes::constant_to_initializer>("constant_to_initializer"));
    passes.push_back(make_pass<passes::eliminate_identity, passes::eliminate_noop_pad, passes::eliminate_trivial_pool>(
        "eliminate_noops"));
    passes.push_back(make_pass<passes::fuse_matmul_add_into_gemm>("fuse_matmul_add_into_gemm"));
    passes.push_back(make_pass<passes::fuse_pad_into_conv>("fuse_pad_into_conv"));
    if (o.fuse_bn) passes.push_back(make_pass<passes::fuse_bn_into_conv>("fuse_bn_into_conv"));
    return passes;
}

KTC_DECL std::vector<pass> constant_folding_passes() { return {make_pass<passes::fold_constants>("fold_constants")}; }

KTC_DECL std::vector<pass> common_optimization_passes(const flow_options& o) {
    std::vector<pass> passes;
    passes.push_back(make_pass<passes::bake_gemm_transb>("bake_gemm_transb"));
    passes.push_back(make_pass<passes::flatten_gemm_input, passes::reshape_to_flatten>("gemm_input_flatten"));
    passes.push_back(make_pass<passes::squeeze_to_reshape>("squeeze_to_reshape"));
    if (o.fuse_bn) passes.push_back(make_pass<passes::fuse_bn_into_gemm>("fuse_bn_into_gemm"));
    passes.push_back(make_pass<passes::fuse_consecutive_gemms>("fuse_consecutive_gemms"));
    passes.push_back(make_pass<passes::fuse_consecutive_reduce_mean>("fuse_consecutive_reduce_mean"));
    passes.push_back(
        make_pass<passes::average_pool_to_global, passes::reduce_mean_to_global_pool>("global_average_pool"));
    passes.push_back(make_pass<passes::sum_to_adds>("sum_to_adds"));
    return passes;
}

KTC_DECL std::vector<pass> postprocess_passes(const flow_options& o) {
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

namespace detail {

KTC_DECL void run_to_fixed_point(graph::graph& g, const std::vector<pass>& sequence, const flow_options& o,
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

KTC_DECL void apply_options_and_tail(graph::graph& g, const flow_options& o, flow_report& report) {
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

KTC_DECL std::vector<pass> concat(std::vector<std::vector<pass>> stages) {
    std::vector<pass> all;
    for (auto& s : stages)
        for (auto& p : s) all.push_back(std::move(p));
    return all;
}

KTC_DECL flow_report run_flow(const char* name, graph::graph& g, const flow_options& o) {
    flow_report report;
    report.flow = name;
    preprocess_graph_inputs(g, report.changes);
    onnx::infer_shapes(g, report.flow);
    run_to_fixed_point(
        g,
        concat({preprocess_passes(o), constant_folding_passes(), common_optimization_passes(o), postprocess_passes(o)}),
        o, report);
    apply_options_and_tail(g, o, report);
    return report;
}

}  // namespace detail
KTC_DECL flow_report onnx2onnx_flow(graph::graph& g, const flow_options& o) {
    return detail::run_flow("onnx2onnx", g, o);
}

KTC_DECL flow_report torch_exported_onnx_flow(graph::graph& g, const flow_options& o) {
    return detail::run_flow("torch_exported", g, o);
}

}  // namespace ktc::rewrite
