// ktc/kernels/float/registry.ipp - the definition of the float kernel table (registry.hpp).
//
// Each family header defines `add_<family>_kernels(kernel_table&)`; this is the one list of them.
#pragma once

#include "ktc/kernels/float/conv.hpp"
#include "ktc/kernels/float/elementwise.hpp"
#include "ktc/kernels/float/layout.hpp"
#include "ktc/kernels/float/linear.hpp"
#include "ktc/kernels/float/normalization.hpp"
#include "ktc/kernels/float/pool.hpp"
#include "ktc/kernels/float/reduce.hpp"
#include "ktc/kernels/float/registry.hpp"
#include "ktc/kernels/float/resize.hpp"
#include "ktc/kernels/isa.hpp"

namespace ktc::kernels::floating {

KTC_DECL const kernel_table& kernels() {
#if KTC_AVX512_KERNELS  // ktc_compiled with the AVX-512 copy linked (cmake/avx512_kernels.cmake)
    if (const kernel_table* avx512 = isa::avx512_float_kernels()) return *avx512;
#endif
    static const kernel_table table = [] {
        kernel_table t;
        add_conv_kernels(t);
        add_elementwise_kernels(t);
        add_layout_kernels(t);
        add_linear_kernels(t);
        add_normalization_kernels(t);
        add_pool_kernels(t);
        add_reduce_kernels(t);
        add_resize_kernels(t);
        return t;
    }();
    return table;
}

}  // namespace ktc::kernels::floating
