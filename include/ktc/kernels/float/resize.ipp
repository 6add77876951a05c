// ktc/kernels/float/resize.ipp - the definitions behind resize.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/float/resize.hpp"

namespace ktc::kernels::floating {

KTC_DECL void add_resize_kernels(kernel_table& t) { t["Resize"] = &resize_kernel; }

}  // namespace ktc::kernels::floating
