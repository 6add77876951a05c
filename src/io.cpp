// src/io.cpp - ktc's file formats (.bie, .nef), compiled once for ktc's own binaries
// (core/config.hpp: ktc's own binaries are built with KTC_SEPARATE_COMPILATION).
#include "ktc/io/bie.ipp"
#include "ktc/io/nef.ipp"
