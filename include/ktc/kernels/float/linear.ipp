// ktc/kernels/float/linear.ipp - the definitions behind linear.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/float/linear.hpp"

namespace ktc::kernels::floating {

KTC_DECL void add_linear_kernels(kernel_table& t) {
    t["Gemm"] = &gemm;
    t["MatMul"] = &matmul;
}

}  // namespace ktc::kernels::floating
