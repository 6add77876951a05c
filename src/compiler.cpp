// src/compiler.cpp - the compiler (lowering, memory plan, the compiled program, the .nef
// hardware simulator), compiled once for ktc's own binaries
// (core/config.hpp: ktc's own binaries are built with KTC_SEPARATE_COMPILATION).
#include "ktc/compiler/lower.ipp"
#include "ktc/compiler/memory_plan.ipp"
#include "ktc/compiler/nef.ipp"
#include "ktc/compiler/compile.ipp"
#include "ktc/compiler/combine.ipp"
#include "ktc/compiler/nef_simulator.ipp"
