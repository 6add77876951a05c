// src/sim.cpp - the graph interpreter, the sample helpers and the .nef hardware simulator, compiled
// once for ktc's own binaries (core/config.hpp: they are built with KTC_SEPARATE_COMPILATION).
#include "ktc/sim/interpreter.ipp"
#include "ktc/sim/samples.ipp"
#include "ktc/sim/nef_simulator.ipp"
