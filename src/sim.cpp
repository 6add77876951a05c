// src/sim.cpp - the graph interpreter, the sample helpers and the simulators' graph preparation,
// compiled once for ktc's own binaries (core/config.hpp: they are built with KTC_SEPARATE_COMPILATION).
#include "ktc/sim/interpreter.ipp"
#include "ktc/sim/samples.ipp"
#include "ktc/sim/float_simulator.ipp"
#include "ktc/sim/fixed_simulator.ipp"
