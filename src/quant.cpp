// src/quant.cpp - the quantizer, instantiated once for each chip for ktc's own binaries
// (core/config.hpp: they are built with KTC_SEPARATE_COMPILATION, and quantize.hpp declares these
// instantiations extern there).
#include "ktc/quant/calibrate.ipp"
#include "ktc/quant/upstream_rounding.ipp"
#include "ktc/quant/quantize.hpp"

namespace ktc::quant {

template graph::graph quantize<platform::kdp520>(graph::graph, const calibration&, const quantize_options&);
template graph::graph quantize<platform::kdp720>(graph::graph, const calibration&, const quantize_options&);

}  // namespace ktc::quant

#include "ktc/quant/range_search.hpp"

namespace ktc::quant {

template std::map<std::string, double> search_ranges<platform::kdp520>(
    const sim::float_simulator&, const calibration&, quantize_options, std::size_t,
    const std::function<sim::tensor_map(std::size_t)>&, const range_search_options&);
template std::map<std::string, double> search_ranges<platform::kdp720>(
    const sim::float_simulator&, const calibration&, quantize_options, std::size_t,
    const std::function<sim::tensor_map(std::size_t)>&, const range_search_options&);

}  // namespace ktc::quant

#include "ktc/quant/mixed_precision.hpp"

namespace ktc::quant {

template mixed_precision_choice choose_int16_nodes<platform::kdp520>(const sim::float_simulator&, const calibration&,
                                                                     quantize_options, std::size_t,
                                                                     const std::function<sim::tensor_map(std::size_t)>&,
                                                                     double, const mixed_precision_options&);
template mixed_precision_choice choose_int16_nodes<platform::kdp720>(const sim::float_simulator&, const calibration&,
                                                                     quantize_options, std::size_t,
                                                                     const std::function<sim::tensor_map(std::size_t)>&,
                                                                     double, const mixed_precision_options&);

}  // namespace ktc::quant
#include "ktc/quant/centre.ipp"
#include "ktc/quant/equalize.ipp"
