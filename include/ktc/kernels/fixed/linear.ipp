// ktc/kernels/fixed/linear.ipp - the definitions behind linear.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/fixed/linear.hpp"

namespace ktc::kernels::fixed {

KTC_DECL void add_linear_kernels(kernel_table& t) {
    t["Gemm"] = &gemm;
    t["MatMul"] = &matmul;
}

}  // namespace ktc::kernels::fixed
