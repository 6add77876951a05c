// drivers/infer.cpp - `ktc infer`: run a model on .npy inputs and write one .npy per output.
#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "ktc/core/npy.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/sim/float_simulator.hpp"

namespace ktc::cli {

namespace {

const char* infer_usage =
    "usage: ktc infer --onnx MODEL.onnx --input NAME=FILE.npy ... -o OUTDIR [options]\n\n"
    "Runs the float end-to-end simulator on the inputs and writes OUTDIR/<output>.npy (float32)\n"
    "for every model output. Inputs are channel-last by default, as in the vendor's toolchain:\n"
    "for a model input [1,3,224,224] give [1,224,224,3]; outputs of rank >= 3 are written\n"
    "channel-last too. A file with one more leading axis holds N samples: all N run and the\n"
    "outputs are stacked the same way. With a single model input, --input FILE.npy is enough.";

// Output names may hold characters a file name cannot.
std::string file_name_for(const std::string& value) {
    std::string s = value;
    for (char& c : s)
        if (c == '/' || c == '\\' || c == ':' || c == '\0') c = '_';
    return s.empty() || s == "." || s == ".." ? "_" + s : s;
}

}  // namespace

sim::tensor_map read_inputs(const std::vector<std::string>& specs,
                            const std::vector<graph::value_info>& model_inputs) {
    sim::tensor_map inputs;
    for (const auto& spec : specs) {
        const auto eq = spec.find('=');
        std::string name, path;
        if (eq == std::string::npos) {
            if (model_inputs.size() != 1)
                throw usage_error("--input " + spec + ": the model has " +
                                  std::to_string(model_inputs.size()) + " inputs; use NAME=FILE.npy");
            name = model_inputs.front().name, path = spec;
        } else {
            name = spec.substr(0, eq), path = spec.substr(eq + 1);
        }
        if (inputs.count(name)) throw usage_error("input '" + name + "' given twice");
        inputs.emplace(name, npy::load(path));
    }
    return inputs;
}

int run_infer(const args& a) {
    po::options_description options("options");
    std::vector<std::string> input_specs;
    std::string onnx_path, out_dir, layout_name;
    options.add_options()
        ("onnx", po::value(&onnx_path)->required(), "ONNX model to run (float simulator)")
        ("input,i", po::value(&input_specs)->composing(), "NAME=FILE.npy, once per model input")
        ("output,o", po::value(&out_dir)->required(), "folder for the output .npy files")
        ("layout", po::value(&layout_name)->default_value("nhwc"), "layout of inputs and outputs: nhwc (channel-last) or nchw")
        ("quiet,q", "no progress output");
    po::variables_map vm;
    if (!parse(a, options, vm, infer_usage)) return 0;
    const layout user_layout = parse_layout(layout_name);

    const sim::float_simulator simulator(onnx::load(onnx_path));
    const sim::tensor_map inputs = read_inputs(input_specs, simulator.graph().inputs);
    const progress show("infer", vm.count("quiet") != 0);
    const sim::tensor_map outputs = simulator.run_samples(inputs, user_layout, show);

    ensure_directory(out_dir);
    for (const auto& [name, t] : outputs) {
        const auto path = std::filesystem::path(out_dir) / (file_name_for(name) + ".npy");
        npy::save(path, t);
        if (!vm.count("quiet")) std::cout << path.string() << " " << to_string(t.shape()) << "\n";
    }
    return 0;
}

}  // namespace ktc::cli
