// src/fixed_kernels.cpp - the fixed-point kernel table, compiled once for ktc's own binaries
// (core/config.hpp: they are built with KTC_SEPARATE_COMPILATION, which leaves it undefined elsewhere).
#include "ktc/kernels/fixed/registry.ipp"
