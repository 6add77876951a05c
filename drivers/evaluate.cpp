// drivers/evaluate.cpp - `ktc evaluate`: the IP evaluator. Which nodes the chip runs, and how fast.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>

#include "cli.hpp"
#include "ktc/api/model_config.hpp"
#include "ktc/core/atomic_file.hpp"
#include "ktc/eval/cost.hpp"
#include "ktc/eval/report.hpp"
#include "ktc/eval/support.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/platform/platform.hpp"
#include "ktc/io/bie.hpp"
#include "ktc/rewrite/flows.hpp"

namespace ktc::cli {

namespace {

const char* evaluate_usage =
    "usage: ktc evaluate MODEL(.onnx|.bie) --platform 520|720 [--json FILE] [--html FILE] [--quiet]\n"
    "                    [--no-optimize]\n\n"
    "Checks that every node of the model can run on the chip (on its NPU, or on its CPU with a\n"
    "warning) and estimates the model's performance there: a per-layer table with what bounds each\n"
    "layer (compute, weights, fmap_in, fmap_out: feature maps through DRAM, cpu) and the vendor's\n"
    "summary (estimate FPS, total time, theoretical convolution time, average DRAM bandwidth, MAC\n"
    "efficiency, MAC idle and running time) on stdout, rounded to 3 significant digits (the JSON\n"
    "keeps full precision; docs/cost-model.md has the estimate's error). The model is first\n"
    "optimized by the onnx2onnx flow, as the vendor evaluates optimized models (--no-optimize: as\n"
    "given).\n"
    "A .bie (from `ktc analysis`) is evaluated as quantized, for the platform it was made for.\n"
    "Exit 3 when a node cannot run anywhere on the chip: every such node is listed with the rule\n"
    "it breaks, and the --json/--html reports are still written with that list.";

std::string lowercase_extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext;
}

template <class P>
int evaluate_on(const std::string& model_path, const po::variables_map& vm) {
    const std::string ext = lowercase_extension(model_path);
    if (ext != ".onnx" && ext != ".bie") throw usage_error(model_path + ": expected a .onnx or .bie model");

    // The API's evaluate (ktc/api/model_config.hpp): one implementation for ktc evaluate, ktc flow
    // and C++ users.
    const std::string chip(platform::platform_traits<P>::name);
    model_config km{32768, "0001", chip, std::nullopt, {}, {}, std::nullopt, {}};
    if (ext == ".bie") {
        // Quantized from the optimized graph already: evaluated as it is, on its own chip.
        km.bie = io::load_bie(model_path);
        if (km.bie->platform != platform::platform_traits<P>::id)
            throw usage_error(model_path + ": quantized for KDP" + platform::to_string(km.bie->platform) + ", not KDP" +
                              chip + " (use --platform " + platform::to_string(km.bie->platform) + ")");
        km.bie_path = model_path;
    } else {
        km.onnx_path = model_path;
    }
    evaluate_options eo;
    eo.optimize = !vm.count("no-optimize");
    eo.require_runnable = false;  // the reports are written first, with the list of what cannot run
    const eval::evaluation e = km.evaluate(eo);

    if (vm.count("json")) write_file_atomically(vm["json"].as<std::string>(), eval::json_text(e));
    if (vm.count("html")) write_file_atomically(vm["html"].as<std::string>(), eval::html_report(e));
    if (!e.support.runnable()) throw unsupported_error(eval::unsupported_message(e.support, model_path));
    if (!vm.count("quiet")) std::cout << eval::text_report(e);
    return 0;
}

}  // namespace

int run_evaluate(const args& a) {
    po::options_description options("options");
    std::string model_path, platform_name;
    // clang-format off
    options.add_options()
        ("model", po::value(&model_path), "the model (also the first positional argument)")
        ("platform,p", po::value(&platform_name)->required(), "target chip: 520 or 720")
        ("json", po::value<std::string>(), "also write the report as JSON to FILE")
        ("html", po::value<std::string>(), "also write the report as one self-contained HTML page to FILE")
        ("no-optimize", "evaluate the model as given, without the onnx2onnx flow")
        ("quiet,q", "print nothing on success (files asked for are still written)");
    // clang-format on
    po::positional_options_description positional;
    positional.add("model", 1);
    po::variables_map vm;
    if (!parse(a, options, vm, evaluate_usage, &positional)) return 0;
    if (model_path.empty()) throw usage_error("no MODEL given (ktc evaluate MODEL.onnx --platform 520|720)");
    return platform::with_platform(platform_name, [&](auto tag) { return evaluate_on<decltype(tag)>(model_path, vm); });
}

}  // namespace ktc::cli
