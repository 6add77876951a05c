// ktc/kernels/float/registry.hpp - the float kernel set: every op the float simulator runs.
//
// Declared here, defined in registry.ipp: the table takes the address of every float kernel, so
// whoever defines it compiles them all (core/config.hpp says where that happens).
#pragma once

#include "ktc/core/config.hpp"
#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::floating {

KTC_DECL const kernel_table& kernels();

}  // namespace ktc::kernels::floating

#if KTC_HEADER_ONLY
#include "ktc/kernels/float/registry.ipp"
#endif
