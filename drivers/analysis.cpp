// drivers/analysis.cpp - `ktc analysis`: calibrate a float model on sample inputs, quantize it
// for a chip, write the .bie, and show where accuracy is lost.
#include <chrono>
#include <iomanip>
#include <iostream>
#include <thread>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "io.hpp"
#include "ktc/api/model_config.hpp"
#include "ktc/quant/accuracy.hpp"
#include "ktc/sim/fixed_simulator.hpp"

namespace ktc::cli {

namespace {

const char* analysis_usage =
    "usage: ktc analysis MODEL.onnx --platform 520|720 --input NAME=PATH ... -o OUT.bie [options]\n\n"
    "Runs the float model over the sample inputs (PATH: a .npy with one sample or N stacked, or a\n"
    "folder of .npy files; channel-last unless --layout nchw), chooses a radix for every tensor and\n"
    "every weight channel (docs/numerics.md), and writes the quantized model. Then it runs the float\n"
    "and fixed-point models side by side on the first --snr-samples inputs and prints the SNR of\n"
    "every tensor, worst first: the layers that lose accuracy (the 15 worst; -v: every tensor).\n"
    "--snr-input NAME=PATH measures that table on held-out inputs instead of calibration ones.\n"
    "An input with unknown dimensions (-1) is fixed to the shape of the sample inputs, which must\n"
    "then share one shape; analysis says so, and the .bie compiles.\n"
    "--target-snr DB (720, --bitwidth 8) chooses the nodes to keep in int16: it adds, best gain per\n"
    "byte first, those that raise the outputs' SNR on calibration samples until DB is reached, puts\n"
    "back to int8 those the target no longer needs, and prints each step and the --int16-node flags\n"
    "that give the same model (docs/numerics.md, \"Mixed precision suggestions\").";

// The per-tensor table: whole tensor names. The name column is as wide as the longest name shown
// (at most name_column_max); a longer name is printed whole on a line of its own, its figures on
// the next, so no name is ever cut.
constexpr std::size_t name_column_max = 64;

std::string db(double v) {
    if (std::isinf(v)) return v > 0 ? "exact" : "-inf";
    std::ostringstream s;
    s << std::fixed << std::setprecision(1) << v;
    return s.str();
}

}  // namespace

int run_analysis(const args& a) {
    po::options_description options("options");
    std::vector<std::string> input_specs, snr_input_specs, int16_nodes;
    std::string model_path, out_path, platform_name, layout_name, mode, range, scales, rounding;
    std::int64_t threads = 0;  // thread_count
    int bits = 8;
    double outlier = 0.999, target_snr = 0;
    std::size_t snr_samples = 8;
    // clang-format off
    options.add_options()
        ("model", po::value(&model_path)->required(), "the float ONNX model")
        ("platform", po::value(&platform_name)->required(), "520 or 720")
        ("input,i", po::value(&input_specs)->composing(), "NAME=PATH (.npy or folder), once per model input")
        ("output,o", po::value(&out_path)->required(), "the .bie file to write")
        ("threads", po::value(&threads)->default_value(0), "calibration threads (0: every core)")
        ("bitwidth", po::value(&bits)->default_value(8), "8, or 16 (720 only)")
        ("int16-node", po::value(&int16_nodes)->composing(), "keep this node's output in int16 (720; repeatable)")
        ("target-snr", po::value(&target_snr)->value_name("DB"), "720, --bitwidth 8: keep in int16 the nodes that bring the outputs' SNR on calibration samples to DB (docs/numerics.md)")
        ("quantize-mode", po::value(&mode)->default_value("default"), "default or post_sigmoid")
        ("range", po::value(&range)->default_value("auto"), "range of a tensor: auto (mse; percentile for an 8-bit tensor without a scale), percentile, max or mse")
        ("outlier", po::value(&outlier)->default_value(0.999), "the percentile range's fraction")
        ("per-tensor-weights", "one radix per weight tensor instead of per output channel")
        ("layout", po::value(&layout_name)->default_value("nhwc"), "layout of the inputs: nhwc or nchw")
        ("no-optimize", "quantize the model as given (default: onnx2onnx flow first)")
        ("no-equalize", "skip cross-layer equalization of channel ranges (docs/numerics.md)")
        ("no-centre", "keep Conv -> Relu and Conv -> Clip(0, B) outputs at codes 0..127 instead of moving them onto every int8 code (docs/numerics.md)")
        ("bias-correction", "correct the shift of output means that rounding the weights causes (docs/numerics.md)")
        ("scales", po::value(&scales)->default_value("all"), "all, auto or power-of-two: which values get a scale beside the radix (docs/numerics.md)")
        ("range-search", "choose each activation's range against the error at the outputs (slow on large models; docs/numerics.md)")
        ("tune", "choose --scales, --weight-rounding and --range for this model: each candidate fitted on half the samples and measured on the other half (docs/numerics.md)")
        ("weight-rounding", po::value(&rounding)->default_value("upstream"), "upstream: each weight rounds down or up to lower its layer's output error, layer after layer on the inputs the quantized layers above give it (docs/numerics.md); adaptive: on the float model's inputs (faster); or nearest")
        ("snr-samples", po::value(&snr_samples)->default_value(8), "inputs for the per-layer SNR table (0: none)")
        ("snr-input", po::value(&snr_input_specs)->composing(), "NAME=PATH: measure the per-layer SNR table on these inputs (held out from calibration) instead of the calibration inputs; once per model input")
        ("verbose,v", "the per-layer SNR table with every tensor (default: the 15 worst), then the time split")
        ("quiet,q", "no progress output");
    // clang-format on
    po::positional_options_description positional;
    positional.add("model", 1);
    po::variables_map vm;
    if (!parse(a, options, vm, analysis_usage, &positional)) return 0;
    if (mode != "default" && mode != "post_sigmoid")
        throw usage_error("--quantize-mode must be default or post_sigmoid, not '" + mode + "'");
    if (vm.count("target-snr")) quant::check_target_snr(platform_name, target_snr, bits);
    const unsigned workers = thread_count(threads);
    const bool quiet = vm.count("quiet") != 0, verbose = vm.count("verbose") != 0;
    using clock = std::chrono::steady_clock;
    const auto started = clock::now();
    const auto seconds = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };

    // One implementation with the C++ API: model_config::analysis (include/ktc/api/model_config.hpp).
    model_config model;
    model.id = 1, model.version = "0001", model.platform = platform_name, model.onnx_path = model_path;
    const progress show("calibrate", quiet);
    analysis_options o;
    o.output_bie = out_path;
    o.threads = workers;
    o.bitwidth = bits;
    o.int16_nodes.insert(int16_nodes.begin(), int16_nodes.end());
    o.range = quant::range_method_named(range);
    o.outlier = outlier;
    o.per_channel_weights = !vm.count("per-tensor-weights");
    o.post_sigmoid = mode == "post_sigmoid";
    o.optimize = !vm.count("no-optimize");
    o.equalize = !vm.count("no-equalize");
    o.centre = !vm.count("no-centre");
    o.bias_correction = vm.count("bias-correction") != 0;
    o.scales = quant::parse_scale_policy(scales);
    o.range_search = vm.count("range-search") != 0;
    o.tune = vm.count("tune") != 0;
    o.target_snr = target_snr;
    o.weight_rounding = quant::parse_weight_rounding(rounding);
    o.input_layout = parse_layout(layout_name);
    o.source = std::filesystem::path(model_path).filename().string();
    // When each progress sequence (tuning, calibration, range search, ...) ended, for -v's time split.
    std::vector<std::pair<clock::time_point, std::size_t>> finished;
    o.progress = [&](std::size_t done, std::size_t total) {
        if (done == total) finished.emplace_back(clock::now(), total);
        show(std::int64_t(done), std::int64_t(total));
    };
    o.notice = [](const std::string& line) { std::cout << "note: " << line << "\n"; };

    // The float graph analysis() calibrates, kept here for the per-layer comparison.
    graph::graph prepared = model.analysis_graph(o);
    const sim::tensor_map user_inputs = read_inputs(input_specs, prepared.inputs);
    const bool held_out = !snr_input_specs.empty();  // read before anything is written
    const sim::tensor_map snr_inputs = held_out ? read_inputs(snr_input_specs, prepared.inputs) : sim::tensor_map{};
    prepared = model.centred_graph(std::move(prepared), user_inputs, o);
    const sim::float_simulator reference(prepared);
    const auto prepared_at = clock::now();
    const quant::bie_model& bie = model.analysis(std::move(prepared), user_inputs, o);
    const auto written = clock::now();
    {
        const auto& qo = bie.options;
        std::cout << out_path << ": platform " << platform_name << ", int" << bits
                  << (qo.int16_nodes.empty() ? "" : " (+" + std::to_string(qo.int16_nodes.size()) + " int16 nodes)")
                  << ", " << bie.calibration_samples << " calibration samples, " << std::fixed << std::setprecision(1)
                  << seconds(written - started) << " s\n";
        for (const auto& [name, f] : fixed::edge_formats(bie.graph))
            std::cout << "  " << (bie.graph.is_graph_input(name) ? "input  " : "output ") << name << ": int" << f.bits
                      << ", radix " << f.radix << (f.scale != 1 ? ", scale " + std::to_string(f.scale) : std::string())
                      << "\n";

        if (snr_samples > 0) {
            const sim::sample_set set =
                sim::split_samples(reference.graph().inputs, held_out ? snr_inputs : user_inputs, o.input_layout);
            const auto sample = [&](std::size_t i) { return set.samples.at(i); };
            const sim::fixed_simulator fixed(graph::graph(bie.graph));
            const auto layers =
                quant::per_layer_accuracy(reference, fixed, std::min(snr_samples, set.samples.size()), sample);
            const std::size_t shown = verbose ? layers.size() : std::min<std::size_t>(layers.size(), 15);
            std::size_t width = 6;  // "tensor"
            for (std::size_t i = 0; i < shown; ++i)
                if (layers[i].value.size() <= name_column_max) width = std::max(width, layers[i].value.size());
            std::cout << "\nper-tensor SNR, float vs fixed point, on " << std::min(snr_samples, set.samples.size())
                      << (held_out ? " --snr-input samples" : " calibration samples") << " (worst first):\n"
                      << "  " << std::left << std::setw(int(width + 2)) << "tensor" << std::setw(20) << "op"
                      << std::right << std::setw(6) << "bits" << std::setw(7) << "radix" << std::setw(8) << "scale"
                      << std::setw(10) << "SNR dB"
                      << "\n";
            for (std::size_t i = 0; i < shown; ++i) {
                const auto& l = layers[i];
                const bool out = bie.graph.is_graph_output(l.value);
                const bool wrapped = l.value.size() > width;
                if (wrapped) std::cout << "  " << l.value << "\n";
                std::cout << "  " << std::left << std::setw(int(width + 2)) << (wrapped ? "" : l.value) << std::setw(20)
                          << l.op << std::right << std::setw(6) << l.bits << std::setw(7) << l.radix << std::setw(8)
                          << std::setprecision(4) << l.scale << std::setprecision(1) << std::setw(10)
                          << db(l.error.snr_db()) << (out ? "  (graph output)" : "") << "\n";
            }
            if (layers.size() > shown)
                std::cout << "  ... " << layers.size() - shown << " more (-v shows every tensor)\n";
            for (const auto& l : layers)
                if (bie.graph.is_graph_output(l.value))
                    std::cout << "output " << l.value << ": SNR " << db(l.error.snr_db()) << " dB\n";
        }
    }
    if (verbose) {
        // Calibration: the last sequence over every sample, from the end of the one before it.
        auto calibration_start = prepared_at, calibration_end = prepared_at;
        for (std::size_t i = 0; i < finished.size(); ++i)
            if (finished[i].second == bie.calibration_samples)
                calibration_start = i ? finished[i - 1].first : prepared_at, calibration_end = finished[i].first;
        const double calibration = seconds(calibration_end - calibration_start);
        const unsigned used = workers ? workers : std::max(1u, std::thread::hardware_concurrency());
        std::cout << std::fixed << std::setprecision(3) << "time: load and prepare " << seconds(prepared_at - started)
                  << " s, ";
        if (o.tune) std::cout << "tuning " << seconds(calibration_start - prepared_at) << " s, ";
        std::cout << "calibration " << calibration << " s (" << bie.calibration_samples << " samples, "
                  << std::setprecision(1) << (calibration > 0 ? double(bie.calibration_samples) / calibration : 0.0)
                  << " samples/s on " << used << (used == 1 ? " thread" : " threads") << "), quantize and write "
                  << std::setprecision(3) << seconds(written - calibration_end) << " s, per-layer table "
                  << seconds(clock::now() - written) << " s\n";
    }
    return 0;
}

}  // namespace ktc::cli
