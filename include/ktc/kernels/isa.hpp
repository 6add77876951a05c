// ktc/kernels/isa.hpp - which compiled copy of the kernel families a process runs.
//
// ktc's own binaries are built for a baseline instruction set (CMake's KTC_ARCH, x86-64-v3 by
// default) and may carry a second copy of every kernel family compiled for AVX-512 with VNNI and
// VBMI (cmake/avx512_kernels.cmake). The kernel tables (kernels/float/registry.hpp,
// kernels/fixed/registry.hpp) ask here which to use; both give the same results bit for bit.
// Defined in src/isa.cpp, for ktc's own binaries only: whoever embeds ktc header-only compiles
// the kernels for their own flags and has one copy.
#pragma once

#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::isa {

// The AVX-512 copy's tables, when the binary has that copy, the CPU (and its OS) runs AVX-512
// F, BW, DQ, VL and CD with VNNI and VBMI, and the environment variable KTC_ISA is not
// "baseline"; nullptr otherwise. Decided once per process.
const kernel_table* avx512_float_kernels();
const kernel_table* avx512_fixed_kernels();

// "avx512" or "baseline": the copy the tables use, for the benchmarks' and `ktc --version`'s
// reports.
const char* running();

}  // namespace ktc::kernels::isa
