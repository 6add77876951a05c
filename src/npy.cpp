// src/npy.cpp - the .npy reader and writer, compiled once for ktc's own binaries
// (core/config.hpp: ktc's own binaries are built with KTC_SEPARATE_COMPILATION).
#include "ktc/core/npy.ipp"
