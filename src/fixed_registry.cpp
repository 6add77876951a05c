// src/fixed_registry.cpp - the fixed kernel table: the list of families, whose kernels src/fixed_*.cpp
// compile (core/config.hpp: ktc's own binaries are built with KTC_SEPARATE_COMPILATION).
#include "ktc/kernels/fixed/registry.ipp"
