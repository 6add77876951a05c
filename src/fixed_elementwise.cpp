// src/fixed_elementwise.cpp - the fixed elementwise kernels, compiled once for ktc's own binaries (one file per
// family, so that changing a kernel recompiles its family only; core/config.hpp).
#include "ktc/kernels/fixed/elementwise.ipp"
