// drivers/cpu_check.cpp - before anything else in `ktc` runs: does this CPU have the instruction-set
// extensions of the baseline the build targets (CMake's KTC_ARCH, x86-64-v3 by default)? A ktc
// run on an older CPU would otherwise die on its first illegal instruction, with no word of why.
// (The kernels' AVX-512 copy is chosen at run time, src/isa.cpp, and needs no check here.)
//
// This file alone is compiled for the x86-64 baseline (drivers/CMakeLists.txt), so the check itself
// runs anywhere; it runs as a constructor of priority 101, before the other translation units'
// static initializers (compiled for the baseline) can execute one of those instructions.
// KTC_BUILT_FOR lists the extensions KTC_ARCH turns on (CMakeLists.txt, at configure time).
// The environment variable KTC_CPU_FEATURES (comma-separated) stands for this CPU's extensions
// when set: the tests use it to play an older CPU.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#ifndef KTC_BUILT_FOR
#define KTC_BUILT_FOR ""
#endif
#ifndef KTC_BUILT_ARCH
#define KTC_BUILT_ARCH ""
#endif

namespace {

bool cpu_has(const std::string& feature) {
    if (const char* assumed = std::getenv("KTC_CPU_FEATURES"))
        return ("," + std::string(assumed) + ",").find("," + feature + ",") != std::string::npos;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (feature == "avx") return __builtin_cpu_supports("avx");
    if (feature == "avx2") return __builtin_cpu_supports("avx2");
    if (feature == "fma") return __builtin_cpu_supports("fma");
    if (feature == "bmi2") return __builtin_cpu_supports("bmi2");
    if (feature == "avx512f") return __builtin_cpu_supports("avx512f");
    if (feature == "avx512bw") return __builtin_cpu_supports("avx512bw");
    if (feature == "avx512dq") return __builtin_cpu_supports("avx512dq");
    if (feature == "avx512vl") return __builtin_cpu_supports("avx512vl");
    if (feature == "avx512vnni") return __builtin_cpu_supports("avx512vnni");
    if (feature == "avx512vbmi") return __builtin_cpu_supports("avx512vbmi");
#endif
    return true;  // not one the check knows: no refusal on a guess
}

__attribute__((constructor(101))) void require_the_build_cpu_features() {
    std::string missing;
    const std::string built_for = KTC_BUILT_FOR;
    for (std::size_t at = 0; at < built_for.size();) {
        const std::size_t end = std::min(built_for.find(',', at), built_for.size());
        const std::string feature = built_for.substr(at, end - at);
        if (!feature.empty() && !cpu_has(feature)) missing += (missing.empty() ? "" : " ") + feature;
        at = end + 1;
    }
    if (missing.empty()) return;
    std::fprintf(stderr,
                 "ktc: error: this ktc was built for %s (%s) and this CPU lacks %s; "
                 "build one for it (cmake -DKTC_ARCH=x86-64 runs on any x86-64 CPU)\n",
                 KTC_BUILT_ARCH, built_for.c_str(), missing.c_str());
    std::_Exit(1);
}

}  // namespace
