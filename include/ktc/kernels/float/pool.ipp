// ktc/kernels/float/pool.ipp - the definitions behind pool.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/float/pool.hpp"

namespace ktc::kernels::floating {

KTC_DECL void add_pool_kernels(kernel_table& t) {
    t["MaxPool"] = &max_pool;
    t["AveragePool"] = &average_pool;
    t["LpPool"] = &lp_pool;
    t["GlobalAveragePool"] = &global_average_pool;
    t["GlobalMaxPool"] = &global_max_pool;
    t["GlobalLpPool"] = &global_lp_pool;
    t["MaxRoiPool"] = &max_roi_pool;
    t["MaxUnpool"] = &max_unpool;
}

}  // namespace ktc::kernels::floating
