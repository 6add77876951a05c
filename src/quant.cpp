// src/quant.cpp - the quantizer, instantiated once for each chip for ktc's own binaries
// (core/config.hpp: they are built with KTC_SEPARATE_COMPILATION, and quantize.hpp declares these
// instantiations extern there).
#include "ktc/quant/bie.ipp"
#include "ktc/quant/quantize.hpp"

namespace ktc::quant {

template graph::graph quantize<platform::kdp520>(graph::graph, const calibration&, const quantize_options&);
template graph::graph quantize<platform::kdp720>(graph::graph, const calibration&, const quantize_options&);

}  // namespace ktc::quant
