// ktc/kernels/fixed/conv.ipp - the definitions behind conv.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/fixed/conv.hpp"

namespace ktc::kernels::fixed {

KTC_DECL void add_conv_kernels(kernel_table& t) {
    t["Conv"] = &conv;
    t["ConvTranspose"] = &conv_transpose;
}

}  // namespace ktc::kernels::fixed
