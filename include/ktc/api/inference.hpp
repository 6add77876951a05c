// ktc/api/inference.hpp - the seed's ktc.kneron_inference (manual 3.3, 4.2, 5.2): run a float
// (.onnx), quantized (.bie) or compiled (.nef) model on preprocessed inputs with the float,
// fixed-point or hardware simulator. Outputs are float (dequantized for .bie and .nef), in the
// layout of the inputs (channel-last by default).
//
//   auto outs = ktc::kneron_inference({image}, {.bie_file = "m.bie", .radix = ktc::get_radix({image})});
//
// model_runner loads a model once and runs it on any number of inputs; kneron_inference is one
// model_runner run.
#pragma once

#include "ktc/core/config.hpp"

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ktc/api/inputs.hpp"
#include "ktc/compiler/nef_simulator.hpp"
#include "ktc/io/bie.hpp"
#include "ktc/io/nef.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "ktc/sim/samples.hpp"

namespace ktc {

// Exactly one model: a file, or an object in memory (not owned; it must outlive the call).
struct inference_options {
    std::filesystem::path onnx_file, bie_file, nef_file;
    const graph::graph* onnx = nullptr;
    const quant::bie_model* bie = nullptr;
    const compiler::nef_file* nef = nullptr;
    std::vector<std::string> input_names;   // list form: the input each tensor feeds (default: model order)
    std::optional<std::uint32_t> model_id;  // .nef: the model to run (default: the only one)
    std::optional<int> radix;               // .bie/.nef: quantize the inputs at this radix (get_radix)
    std::string platform;                   // .bie/.nef: when given, the model must be for it
    layout input_layout = layout::channel_last;
    // Samples run in parallel on this many threads (0: every core); the outputs do not depend on
    // it, and progress is called one call at a time.
    unsigned threads = 0;
};

using progress_function = std::function<void(std::int64_t done, std::int64_t total)>;

class model_runner {
public:
    explicit model_runner(const inference_options& o) : layout_(o.input_layout), threads_(o.threads) {
        const int given = !o.onnx_file.empty() + !o.bie_file.empty() + !o.nef_file.empty() + (o.onnx != nullptr) +
                          (o.bie != nullptr) + (o.nef != nullptr);
        if (given != 1)
            throw usage_error("kneron_inference: give exactly one model (onnx, bie or nef, a file or in memory)");
        if (o.model_id && !o.nef && o.nef_file.empty())
            throw usage_error("kneron_inference: model_id applies to .nef models only");
        if ((o.onnx || !o.onnx_file.empty()) && (o.radix || !o.platform.empty()))
            throw usage_error("kneron_inference: radix and platform apply to .bie and .nef models only");
        if (o.onnx || !o.onnx_file.empty()) {
            float_ = std::make_unique<sim::float_simulator>(o.onnx ? *o.onnx : onnx::load(o.onnx_file));
            inputs_ = float_->graph().inputs;
            outputs_ = float_->graph().outputs;
        } else if (o.bie || !o.bie_file.empty()) {
            const std::string name = o.bie ? "the .bie model" : o.bie_file.string();
            quant::bie_model m = o.bie ? *o.bie : io::load_bie(o.bie_file);
            if (!o.platform.empty() && platform::chip_named(o.platform) != m.platform)
                throw usage_error(name + " is quantized for platform " + platform::to_string(m.platform) + ", not " +
                                  o.platform);
            fixed_ = std::make_unique<sim::fixed_simulator>(std::move(m.graph), o.radix);
            // The user's data is float: read it against float declarations of the model inputs.
            inputs_ = fixed_->graph().inputs;
            for (auto& in : inputs_) in.type = dtype::float32;
            outputs_ = fixed_->graph().outputs;
        } else {
            const std::string name = o.nef ? "the .nef" : o.nef_file.string();
            std::optional<compiler::nef_file> loaded;
            if (!o.nef) loaded = io::load_nef(o.nef_file);
            const compiler::nef_file& nef = o.nef ? *o.nef : *loaded;
            if (!o.platform.empty() && platform::chip_named(o.platform) != nef.platform)
                throw usage_error(name + " is compiled for platform " + platform::to_string(nef.platform) + ", not " +
                                  o.platform);
            if (!o.model_id && nef.models.size() != 1)
                throw usage_error(name + " holds " + std::to_string(nef.models.size()) +
                                  " models; pick one with model_id (ktc infer --model-id)");
            const compiler::nef_model* chosen = o.model_id ? nullptr : &nef.models.front();
            for (const auto& m : nef.models)
                if (o.model_id && m.id == *o.model_id) chosen = &m;
            if (!chosen) throw usage_error(name + " has no model " + std::to_string(*o.model_id));
            nef_ = std::make_unique<compiler::nef_simulator>(*chosen, name, o.radix);
            inputs_ = nef_->inputs();
            outputs_ = nef_->graph().outputs;
        }
    }

    // The model inputs as the user gives them (float, model-layout shapes).
    const std::vector<graph::value_info>& inputs() const { return inputs_; }
    const std::vector<graph::value_info>& outputs() const { return outputs_; }

    // Named form: one tensor per input (one sample, or N stacked); outputs by name, stacked alike.
    sim::tensor_map run(const sim::tensor_map& user, const progress_function& progress = {}) const {
        if (float_) return float_->run_samples(user, layout_, progress, threads_);
        if (fixed_) return fixed_->run_samples(user, layout_, progress, threads_);
        return nef_->run_samples(user, layout_, progress, threads_);
    }

    // List form (the seed's): input_data[i] feeds input_names[i] (default: the model's i-th input);
    // outputs in the model's output order.
    std::vector<tensor> run(const std::vector<tensor>& input_data, const std::vector<std::string>& input_names = {},
                            const progress_function& progress = {}) const {
        if (!input_names.empty() && input_names.size() != input_data.size())
            throw usage_error("kneron_inference: " + std::to_string(input_data.size()) + " inputs but " +
                              std::to_string(input_names.size()) + " input names");
        if (input_names.empty() && input_data.size() != inputs_.size())
            throw usage_error("kneron_inference: the model has " + std::to_string(inputs_.size()) + " inputs, " +
                              std::to_string(input_data.size()) + " given");
        sim::tensor_map named;
        for (std::size_t i = 0; i < input_data.size(); ++i) {
            const std::string& name = input_names.empty() ? inputs_[i].name : input_names[i];
            if (!named.emplace(name, input_data[i]).second) throw usage_error("input '" + name + "' given twice");
        }
        sim::tensor_map out = run(named, progress);
        std::vector<tensor> ordered;
        for (const auto& o : outputs_) ordered.push_back(std::move(out.at(o.name)));
        return ordered;
    }

private:
    layout layout_;
    unsigned threads_;
    std::unique_ptr<sim::float_simulator> float_;
    std::unique_ptr<sim::fixed_simulator> fixed_;
    std::unique_ptr<compiler::nef_simulator> nef_;
    std::vector<graph::value_info> inputs_, outputs_;
};

// The seed's kneron_inference(input_data, onnx_file | bie_file | nef_file, input_names, radix,
// platform, model_id): the outputs in the model's output order.
KTC_DECL std::vector<tensor> kneron_inference(const std::vector<tensor>& input_data, const inference_options& o);

// Named inputs and outputs.
KTC_DECL sim::tensor_map kneron_inference(const sim::tensor_map& inputs, const inference_options& o);

}  // namespace ktc

#if KTC_HEADER_ONLY
#include "ktc/api/inference.ipp"
#endif
