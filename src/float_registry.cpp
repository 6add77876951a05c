// src/float_registry.cpp - the float kernel table: the list of families, whose kernels src/float_*.cpp
// compile (core/config.hpp: ktc's own binaries are built with KTC_SEPARATE_COMPILATION).
#include "ktc/kernels/float/registry.ipp"
