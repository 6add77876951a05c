// src/api.cpp - the API's entry points (compile, inference, optimizer), compiled once for ktc's own binaries
// (core/config.hpp: ktc's own binaries are built with KTC_SEPARATE_COMPILATION).
#include "ktc/api/compile.ipp"
#include "ktc/api/inference.ipp"
#include "ktc/api/optimizer.ipp"
