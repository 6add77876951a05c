// src/fixed_fallback.cpp - the fixed fallback kernels, compiled once for ktc's own binaries (one file per
// family, so that changing a kernel recompiles its family only; core/config.hpp).
#include "ktc/kernels/fixed/fallback.ipp"
