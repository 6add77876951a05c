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

#include "ktc/core/config.hpp"

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
    bool fuse_bn = true;          // off: --no-fuse-bn (the vendor's disable_fuse_bn)
    bool bn_on_skip = false;      // identity BN on skip branches feeding an Add
    bool bn_before_add = false;   // identity BNs before Add inputs and lone activations
    bool bgr = false;             // the first Conv takes BGR instead of RGB
    bool norm = false;            // a conv that adds 0.5 to the input
    bool rgba2yynn = false;       // a 4->4 channel luma conv at the input
    bool eliminate_tail = false;  // drop trailing layout/softmax nodes (reported)
    int max_rounds = 8;           // bound on repeats of the whole sequence
    int max_sweeps = 32;          // bound on sweeps of one pass
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
    bool converged = false;                   // every pass converged and the last round changed nothing
    std::optional<passes::tail_report> tail;  // what eliminate_tail removed (when it ran)
};

// ---- the stages ------------------------------------------------------------------------------

KTC_DECL std::vector<pass> preprocess_passes(const flow_options& o);

KTC_DECL std::vector<pass> constant_folding_passes();

KTC_DECL std::vector<pass> common_optimization_passes(const flow_options& o);

KTC_DECL std::vector<pass> postprocess_passes(const flow_options& o);

// ---- the driver --------------------------------------------------------------------------------

namespace detail {

// Applies every pass of `stages` in order, to a fixed point of the whole sequence.
KTC_DECL void run_to_fixed_point(graph::graph& g, const std::vector<pass>& sequence, const flow_options& o,
                                 flow_report& report);

// The options and the tail: graph-level functions applied once, after the fixed point. They add
// nodes the optimizing passes would fold away again (identity BNs, 1x1 input convs) and some are
// not idempotent (bgr swaps back, norm adds 0.5 again), so they never run inside the loop; a
// flow applies each at most once. Order: bn_on_skip, bn_before_add, bgr, norm, rgba2yynn, then
// eliminate_tail; shapes are re-inferred after them.
KTC_DECL void apply_options_and_tail(graph::graph& g, const flow_options& o, flow_report& report);

KTC_DECL std::vector<pass> concat(std::vector<std::vector<pass>> stages);

// Both flows: inputs fixed, shapes inferred, the stages to a fixed point, then options and tail.
// (The vendor's torch flow adds the constant folding the onnx flow also runs here: folding is
// harmless on a graph without constant chains, and it keeps one sequence to reason about.)
KTC_DECL flow_report run_flow(const char* name, graph::graph& g, const flow_options& o);

}  // namespace detail

KTC_DECL flow_report onnx2onnx_flow(graph::graph& g, const flow_options& o = {});

KTC_DECL flow_report torch_exported_onnx_flow(graph::graph& g, const flow_options& o = {});

}  // namespace ktc::rewrite

#if KTC_HEADER_ONLY
#include "ktc/rewrite/flows.ipp"
#endif
