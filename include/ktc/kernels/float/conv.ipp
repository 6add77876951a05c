// ktc/kernels/float/conv.ipp - the definitions behind conv.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/float/conv.hpp"

namespace ktc::kernels::floating {

KTC_DECL void add_conv_kernels(kernel_table& t) {
    t["Conv"] = &conv;
    t["ConvTranspose"] = &conv_transpose;
}

}  // namespace ktc::kernels::floating
