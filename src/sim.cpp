// src/sim.cpp - the graph interpreter and the sample helpers, compiled
// once for ktc's own binaries (core/config.hpp: they are built with KTC_SEPARATE_COMPILATION).
#include "ktc/sim/interpreter.ipp"
#include "ktc/sim/samples.ipp"
