// ktc/quant/bie.hpp - a quantized model as ktc keeps it in memory: the annotated graph, the options
// that made it and what calibration saw. Its file, the .bie, is io/bie.hpp (docs/formats.md).
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "ktc/graph/graph.hpp"
#include "ktc/platform/tags.hpp"
#include "ktc/quant/quantize.hpp"

namespace ktc::quant {

struct value_statistics {
    float min = 0, max = 0;
    double range = 0;  // the range the radix was chosen from
};

struct bie_model {
    platform::chip platform = platform::chip::kdp520;
    graph::graph graph;  // quantized (fixed/annotations.hpp)
    quantize_options options;
    std::map<std::string, value_statistics> statistics;
    std::size_t calibration_samples = 0;
    std::string source;             // the model file it was made from
    std::string toolchain_version;  // ktc's version that wrote it
};

}  // namespace ktc::quant
