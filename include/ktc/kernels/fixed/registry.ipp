// ktc/kernels/fixed/registry.ipp - the definitions behind kernels/fixed/registry.hpp.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "ktc/graph/ops.hpp"
#include "ktc/kernels/fixed/conv.hpp"
#include "ktc/kernels/fixed/elementwise.hpp"
#include "ktc/kernels/fixed/fallback.hpp"
#include "ktc/kernels/fixed/layout.hpp"
#include "ktc/kernels/fixed/linear.hpp"
#include "ktc/kernels/fixed/pool.hpp"
#include "ktc/kernels/fixed/registry.hpp"
#include "ktc/kernels/isa.hpp"
#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::fixed {

KTC_DECL const std::vector<std::string>& integer_ops() {
    static const std::vector<std::string> names = ops::with(ops::integer_kernel);
    return names;
}

KTC_DECL bool is_integer_op(const std::string& op) {
    return std::binary_search(integer_ops().begin(), integer_ops().end(), op);
}

namespace registry_detail {

// Add, Sub, Mul, Concat and the unary ops also do integer shape arithmetic (Shape -> Gather ->
// Mul -> Concat -> Reshape in exported graphs): a node with no quantized input and no fixed-point
// output format is not an activation node, and runs its float kernel on the values as they are.
template <kernel_fn Integer>
void unless_plain(const kernel_call& call) {
    bool activation = detail::has_output_format(call, 0);
    for (std::size_t i = 0; i < call.input_count() && !activation; ++i)
        activation = detail::is_quantized_input(call, i);
    if (!activation && !call.attrs().has(ktc::fixed::attr::lookup_table)) return run_in_float(call);
    Integer(call);
}

}  // namespace registry_detail

KTC_DECL const kernel_table& kernels() {
#if KTC_AVX512_KERNELS  // ktc_compiled with the AVX-512 copy linked (cmake/avx512_kernels.cmake)
    if (const kernel_table* avx512 = isa::avx512_fixed_kernels()) return *avx512;
#endif
    static const kernel_table table = [] {
        kernel_table t;
        add_fallback_kernels(t);  // first: the integer kernels below replace it for their ops
        add_conv_kernels(t);
        add_linear_kernels(t);
        add_elementwise_kernels(t);
        add_pool_kernels(t);
        add_layout_kernels(t);
        t["Add"] = &registry_detail::unless_plain<&add>;
        t["Sub"] = &registry_detail::unless_plain<&sub>;
        t["Mul"] = &registry_detail::unless_plain<&mul>;
        t["Concat"] = &registry_detail::unless_plain<&concat>;
        for (const auto& op : lookup_ops()) t[op] = &registry_detail::unless_plain<&lookup>;
        t["PRelu"] = &registry_detail::unless_plain<&prelu>;
        return t;
    }();
    return table;
}

}  // namespace ktc::kernels::fixed
