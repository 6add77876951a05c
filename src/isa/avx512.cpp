// src/isa/avx512.cpp - the two entry points of the AVX-512 copy of the kernels.
// cmake/avx512_kernels.cmake compiles this file and every kernel family (src/fixed_*.cpp,
// src/float_*.cpp, their registries included) for AVX-512 with VNNI and VBMI, and keeps these two
// symbols global, nothing else. src/isa.cpp calls them only on a CPU that has those extensions.
#include "ktc/kernels/fixed/registry.hpp"
#include "ktc/kernels/float/registry.hpp"

extern "C" const ktc::kernels::kernel_table* ktc_avx512_float_kernels() { return &ktc::kernels::floating::kernels(); }
extern "C" const ktc::kernels::kernel_table* ktc_avx512_fixed_kernels() { return &ktc::kernels::fixed::kernels(); }
