// ktc/kernels/float/elementwise.hpp - float kernels (placeholder until implemented).
#pragma once

#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::floating {

inline void add_elementwise_kernels(kernel_table&) {}

}  // namespace ktc::kernels::floating
