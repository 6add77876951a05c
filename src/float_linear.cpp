// src/float_linear.cpp - the float linear kernels, compiled once for ktc's own binaries (one file per
// family, so that changing a kernel recompiles its family only; core/config.hpp).
#include "ktc/kernels/float/linear.ipp"
