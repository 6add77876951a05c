// src/isa.cpp - the choice between the kernels' baseline copy and their AVX-512 copy
// (kernels/isa.hpp). Compiled for the baseline, as all of src/ but the copy itself.
#include <cstdlib>
#include <string_view>

#include "ktc/kernels/isa.hpp"

#if KTC_AVX512_KERNELS
extern "C" const ktc::kernels::kernel_table* ktc_avx512_float_kernels();
extern "C" const ktc::kernels::kernel_table* ktc_avx512_fixed_kernels();
#endif

namespace ktc::kernels::isa {

namespace {

bool avx512_copy_runs() {
#if KTC_AVX512_KERNELS
    static const bool runs = [] {
        if (const char* forced = std::getenv("KTC_ISA"); forced && std::string_view(forced) == "baseline") return false;
        // libgcc's answers include the OS check (XGETBV): an AVX-512 CPU whose OS does not save the
        // 512-bit registers reads as lacking it.
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vnni") &&
               __builtin_cpu_supports("avx512vbmi");
    }();
    return runs;
#else
    return false;
#endif
}

}  // namespace

const kernel_table* avx512_float_kernels() {
#if KTC_AVX512_KERNELS
    if (avx512_copy_runs()) return ktc_avx512_float_kernels();
#endif
    return nullptr;
}

const kernel_table* avx512_fixed_kernels() {
#if KTC_AVX512_KERNELS
    if (avx512_copy_runs()) return ktc_avx512_fixed_kernels();
#endif
    return nullptr;
}

const char* running() { return avx512_copy_runs() ? "avx512" : "baseline"; }

}  // namespace ktc::kernels::isa
