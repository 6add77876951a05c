// src/float_kernels.cpp - the float kernel table, compiled once for ktc's own binaries
// (core/config.hpp: they are built with KTC_SEPARATE_COMPILATION, which leaves it undefined elsewhere).
#include "ktc/kernels/float/registry.ipp"
