// ktc/kernels/float/normalization.ipp - the definitions behind normalization.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/float/normalization.hpp"

namespace ktc::kernels::floating {

KTC_DECL void add_normalization_kernels(kernel_table& t) {
    t["BatchNormalization"] = &batch_normalization;
    t["InstanceNormalization"] = &instance_normalization;
    t["LpNormalization"] = &lp_normalization;
    t["LRN"] = &lrn;
    t["MeanVarianceNormalization"] = &mean_variance_normalization;
    t["LayerNormalization"] = &layer_normalization;
}

}  // namespace ktc::kernels::floating
