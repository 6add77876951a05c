// ktc/sim/samples.hpp - run a simulator over user data: layout conversion and N-sample batches.
//
// A user tensor for a model input of shape S is either one sample (rank of S, in the user's
// layout) or N samples stacked on a new leading axis. All inputs must hold the same N. Outputs
// come back in the user's layout, stacked the same way when the inputs were.
#pragma once

#include "ktc/core/config.hpp"

#include <functional>

#include "ktc/core/layout.hpp"
#include "ktc/sim/interpreter.hpp"

namespace ktc::sim {

struct sample_set {
    std::int64_t count = 1;
    bool stacked = false;             // inputs carried a leading sample axis
    std::vector<tensor_map> samples;  // per sample, inputs in the model's layout
};

// Splits user inputs into per-sample model inputs. `info_of(name)` describes each model input.
KTC_DECL sample_set split_samples(const std::vector<graph::value_info>& model_inputs, const tensor_map& user,
                                  layout user_layout);

// Joins per-sample outputs (model layout) into user outputs.
KTC_DECL tensor_map join_samples(const std::vector<tensor_map>& per_sample, bool stacked, layout user_layout);

// Runs `run_one` (one sample, model layout) on every sample of the user's data, on `threads`
// threads (0: every core; `run_one` must then be safe to call concurrently, as the simulators'
// const run is). Each sample's outputs go to its own slot, so the result does not depend on the
// thread count; a failure is the one the lowest failing sample raises, as on one thread.
// `progress(done, total)` is called after each sample, one call at a time.
KTC_DECL tensor_map run_samples(const std::vector<graph::value_info>& model_inputs,
                                const std::function<tensor_map(const tensor_map&)>& run_one, const tensor_map& user,
                                layout user_layout,
                                const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                                unsigned threads = 1);

KTC_DECL tensor_map run_samples(const interpreter& interp, const tensor_map& user, layout user_layout,
                                const std::function<void(std::int64_t, std::int64_t)>& progress = {},
                                unsigned threads = 1);

}  // namespace ktc::sim

#if KTC_HEADER_ONLY
#include "ktc/sim/samples.ipp"
#endif
