// ktc/kernels/fixed/fallback.ipp - the definitions behind fallback.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/fixed/fallback.hpp"

namespace ktc::kernels::fixed {

KTC_DECL void add_fallback_kernels(kernel_table& t) {
    for (const auto& [op, kernel] : floating::kernels()) t[op] = &run_in_float;
}

}  // namespace ktc::kernels::fixed
