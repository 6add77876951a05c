// ktc/api/inference.ipp - the definitions behind inference.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/api/inference.hpp"

namespace ktc {

KTC_DECL std::vector<tensor> kneron_inference(const std::vector<tensor>& input_data, const inference_options& o) {
    return model_runner(o).run(input_data, o.input_names);
}

KTC_DECL sim::tensor_map kneron_inference(const sim::tensor_map& inputs, const inference_options& o) {
    return model_runner(o).run(inputs);
}

}  // namespace ktc
