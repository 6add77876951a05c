// ktc/kernels/fixed/elementwise.ipp - the definitions behind elementwise.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/fixed/elementwise.hpp"

namespace ktc::kernels::fixed {

KTC_DECL void add_elementwise_kernels(kernel_table& t) {
    t["Add"] = &add;
    t["Sub"] = &sub;
    t["Mul"] = &mul;
    t["Concat"] = &concat;
    for (const auto& op : lookup_ops()) t[op] = &lookup;
    t["PRelu"] = &prelu;
}

}  // namespace ktc::kernels::fixed
