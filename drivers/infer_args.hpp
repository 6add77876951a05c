// drivers/infer_args.hpp - `ktc infer`'s command line, parsed without touching any file: the
// driver runs what it returns, and fuzz/fuzz_infer_args.cpp feeds it arbitrary argument lists.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "ktc/api/inference.hpp"
#include "ktc/core/layout.hpp"

namespace ktc::cli {

inline const char* infer_usage =
    "usage: ktc infer (--onnx MODEL.onnx | --bie MODEL.bie | --nef MODEL.nef [--model-id ID]) --input NAME=FILE.npy ... -o OUTDIR [options]\n\n"
    "Runs the float end-to-end simulator (--onnx) or the fixed-point simulator of a quantized model\n"
    "(--bie; outputs dequantized) and writes OUTDIR/<output>.npy (float32) for every model output.\n"
    "Inputs are channel-last by default, as in the vendor's toolchain: for a model input\n"
    "[1,3,224,224] give [1,224,224,3]; outputs of rank >= 3 are written channel-last too. A file\n"
    "with one more leading axis holds N samples (a folder of .npy files too): all N run and the\n"
    "outputs are stacked the same way. With a single model input, --input FILE.npy is enough.\n"
    "--nef runs the compiled model's command stream (the hardware simulator; equal to --bie bit for\n"
    "bit); --model-id picks the model of a multi-model .nef. Samples run in parallel on --threads\n"
    "threads (default: every core); the outputs are the same for any thread count.";

struct infer_command {
    inference_options model;               // which model, and how to feed it
    std::vector<std::string> input_specs;  // NAME=PATH or PATH, as given (see read_inputs)
    std::string out_dir;
    bool quiet = false;
    bool verbose = false;  // print the time split: load, run, write
};

// The command `a` asks for; std::nullopt when it asked for --help (printed). Throws usage_error.
inline std::optional<infer_command> parse_infer_args(const args& a) {
    po::options_description options("options");
    infer_command c;
    std::string onnx_path, bie_path, nef_path, layout_name, platform_name;
    std::int64_t model_id = 0;  // signed: an unsigned option would read -1 as 4294967295
    int radix = 0;
    std::int64_t threads = 0;  // thread_count
    // clang-format off
    options.add_options()
        ("onnx", po::value(&onnx_path), "ONNX model to run (float simulator)")
        ("bie", po::value(&bie_path), "quantized model to run (fixed-point simulator)")
        ("nef", po::value(&nef_path), "compiled model to run (hardware simulator of its command stream)")
        ("model-id", po::value(&model_id), "--nef: the model to run (default: the only one)")
        ("input,i", po::value(&c.input_specs)->composing(), "NAME=FILE.npy (or a folder of .npy), once per model input")
        ("output,o", po::value(&c.out_dir)->required(), "folder for the output .npy files")
        ("layout", po::value(&layout_name)->default_value("nhwc"), "layout of inputs and outputs: nhwc (channel-last) or nchw")
        ("radix", po::value(&radix), "--bie: quantize the inputs at this radix instead of the model's")
        ("platform", po::value(&platform_name), "--bie: the platform the model must be for (520 or 720)")
        ("threads", po::value(&threads)->default_value(0), "samples run in parallel on this many threads (0: every core)")
        ("verbose,v", "print where the time went: load (model and inputs), run, write")
        ("quiet,q", "no progress output");
    // clang-format on
    po::variables_map vm;
    if (!parse(a, options, vm, infer_usage)) return std::nullopt;
    if (onnx_path.empty() + bie_path.empty() + nef_path.empty() != 2)
        throw usage_error("give exactly one of --onnx, --bie and --nef");
    if (vm.count("model-id") && nef_path.empty()) throw usage_error("--model-id applies to --nef models only");
    if (vm.count("model-id") && (model_id <= 0 || model_id > 0xffffffffll))
        throw usage_error("--model-id " + std::to_string(model_id) + ": must be an integer > 0 (and below 2^32)");
    if (!onnx_path.empty() && (vm.count("radix") || vm.count("platform")))
        throw usage_error("--radix and --platform apply to --bie and --nef models only");
    if (c.out_dir.empty()) throw usage_error("-o: the output folder name is empty");
    auto& m = c.model;
    m.onnx_file = onnx_path, m.bie_file = bie_path, m.nef_file = nef_path;
    if (vm.count("model-id")) m.model_id = static_cast<std::uint32_t>(model_id);
    if (vm.count("radix")) m.radix = radix;
    if (vm.count("platform")) m.platform = platform_name;
    m.input_layout = parse_layout(layout_name);
    c.quiet = vm.count("quiet") != 0;
    c.verbose = vm.count("verbose") != 0;
    c.model.threads = thread_count(threads);
    return c;
}

}  // namespace ktc::cli
