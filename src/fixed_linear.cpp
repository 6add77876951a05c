// src/fixed_linear.cpp - the fixed linear kernels, compiled once for ktc's own binaries (one file per
// family, so that changing a kernel recompiles its family only; core/config.hpp).
#include "ktc/kernels/fixed/linear.ipp"
