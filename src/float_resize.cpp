// src/float_resize.cpp - the float resize kernels, compiled once for ktc's own binaries (one file per
// family, so that changing a kernel recompiles its family only; core/config.hpp).
#include "ktc/kernels/float/resize.ipp"
