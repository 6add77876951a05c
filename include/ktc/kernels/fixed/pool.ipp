// ktc/kernels/fixed/pool.ipp - the definitions behind pool.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/fixed/pool.hpp"

namespace ktc::kernels::fixed {

KTC_DECL void add_pool_kernels(kernel_table& t) {
    t["MaxPool"] = &max_pool;
    t["AveragePool"] = &average_pool;
    t["GlobalMaxPool"] = &global_max_pool;
    t["GlobalAveragePool"] = &global_average_pool;
}

}  // namespace ktc::kernels::fixed
