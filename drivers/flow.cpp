// drivers/flow.cpp - `ktc flow`: the seed's whole workflow (manual sections 3 to 5) on one model
// in one command, through the C++ API (ktc/api.hpp): optimize, evaluate, float inference,
// analysis, fixed-point inference, compile, hardware inference. One line per step (what it did,
// how long, how its results compare with the previous step's), then a summary table.
//
// Outputs: each step writes its files into OUTDIR when it has succeeded (files atomically,
// folders of outputs by renaming a finished temporary folder), so OUTDIR never holds a file of
// a step that failed or did not run; flow.txt (the summary) is written last, only when every step
// succeeded. Files of an earlier run with the same names are removed first, so nothing in OUTDIR
// can be mistaken for this run's.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <optional>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "cli.hpp"
#include "io.hpp"
#include "ktc/api.hpp"
#include "ktc/eval/report.hpp"
#include "ktc/quant/accuracy.hpp"

namespace ktc::cli {

namespace {

namespace fs = std::filesystem;

const char* flow_usage =
    "usage: ktc flow MODEL.onnx --platform 520|720 --input PATH ... -o OUTDIR [options]\n\n"
    "Runs the whole workflow on MODEL with the sample inputs (PATH: NAME=PATH or, for a one-input\n"
    "model, PATH; a .npy with one sample or N stacked, or a folder of .npy files; channel-last unless\n"
    "--layout nchw):\n"
    "  optimize            onnx2onnx flow (or --flow torch)       -> OUTDIR/<model>.opt.onnx\n"
    "  evaluate            support check and performance estimate -> OUTDIR/evaluate.{txt,json,html}\n"
    "  float inference     float simulator, vs the original model -> OUTDIR/float/\n"
    "  analysis            calibrate (--calibration-input, default the inputs) and quantize\n"
    "                                                              -> OUTDIR/<model>.bie\n"
    "  fixed inference     fixed-point simulator, vs float         -> OUTDIR/fixed/\n"
    "  compile             the .nef                                -> OUTDIR/models_<platform>.nef, ioinfo.csv\n"
    "  hardware inference  the .nef's command stream, vs fixed     -> OUTDIR/hardware/\n"
    "and prints one line per step, then a summary (also OUTDIR/flow.txt). With --labels, the top-1\n"
    "accuracy of every inference step. A failing step stops the flow: the error names the step and\n"
    "the exit code is its kind's; OUTDIR then holds only the files of the steps that completed and\n"
    "no flow.txt.";

using flow_clock = std::chrono::steady_clock;

struct flow_step_record {
    std::string name, file, accuracy, comparison;
    double seconds = 0;
};

// How one inference step's outputs agree with the previous one's.
struct flow_outputs_agreement {
    double snr_db = std::numeric_limits<double>::infinity();
    double max_abs_diff = 0;
    std::int64_t argmax_equal = 0, rows = 0;
    bool bit_exact = true;
};

flow_outputs_agreement flow_agreement(const sim::tensor_map& reference, const sim::tensor_map& other) {
    flow_outputs_agreement a;
    for (const auto& [name, ref] : reference) {
        const tensor& t = other.at(name);
        const auto r = quant::compare_outputs(name, ref, t);
        a.snr_db = std::min(a.snr_db, r.error.snr_db());
        a.max_abs_diff = std::max(a.max_abs_diff, r.error.max_abs_diff);
        a.argmax_equal += r.argmax_equal, a.rows += r.samples;
        a.bit_exact =
            a.bit_exact && ref.byte_size() == t.byte_size() && std::memcmp(ref.raw(), t.raw(), ref.byte_size()) == 0;
    }
    return a;
}

std::string flow_number(double v, int precision, bool fixed_point = true) {
    std::ostringstream s;
    if (fixed_point) s << std::fixed;
    s << std::setprecision(precision) << v;
    return s.str();
}

std::string flow_describe(const flow_outputs_agreement& a, const std::string& against) {
    const std::string argmax = "argmax " + std::to_string(a.argmax_equal) + "/" + std::to_string(a.rows);
    if (a.bit_exact) return "bit-exact with " + against + ", " + argmax;
    const std::string snr = std::isinf(a.snr_db) ? (a.snr_db > 0 ? "exact" : "-inf") : flow_number(a.snr_db, 2) + " dB";
    return "vs " + against + ": SNR " + snr + ", max |diff| " + flow_number(a.max_abs_diff, 3, false) + ", " + argmax;
}

// Top-1 accuracy of the model's first output against integer labels, one per sample.
std::string flow_top1(const sim::tensor_map& outputs, const std::string& first_output,
                      const std::optional<tensor>& labels) {
    if (!labels) return "";
    const auto x = outputs.at(first_output).to_vector<float>();
    const auto l = labels->to_vector<std::int64_t>();
    if (l.empty() || x.size() % l.size() != 0)
        throw usage_error("--labels: " + std::to_string(l.size()) + " labels for output '" + first_output + "' of " +
                          std::to_string(x.size()) + " values");
    const std::size_t row = x.size() / l.size();
    std::size_t correct = 0;
    for (std::size_t i = 0; i < l.size(); ++i) {
        const auto b = x.begin() + static_cast<std::ptrdiff_t>(i * row);
        correct += (std::max_element(b, b + static_cast<std::ptrdiff_t>(row)) - b) == l[i];
    }
    return flow_number(100.0 * double(correct) / double(l.size()), 2) + "%";
}

// Writes outputs as OUTDIR/<folder>/<output>.npy: into a temporary folder first, renamed when full.
void flow_publish(const fs::path& out_dir, const std::string& folder, const sim::tensor_map& outputs) {
    const fs::path partial = out_dir / ("." + folder + ".partial-" + std::to_string(::getpid()));
    try {
        fs::remove_all(partial);
        ensure_directory(partial);
        for (const auto& [name, t] : outputs) npy::save(partial / (file_name_for(name) + ".npy"), t);
        fs::remove_all(out_dir / folder);
        fs::rename(partial, out_dir / folder);
    } catch (...) {
        std::error_code ec;
        fs::remove_all(partial, ec);
        throw;
    }
}

// The model a runner runs (designated initializers would leave -Wextra warnings here).
inference_options flow_model(const graph::graph* onnx, const quant::bie_model* bie, const compiler::nef_file* nef,
                             layout l, unsigned threads) {
    inference_options o;
    o.onnx = onnx, o.bie = bie, o.nef = nef, o.input_layout = l, o.threads = threads;
    return o;
}

class flow_steps {
public:
    flow_steps(bool quiet, std::size_t total) : quiet_(quiet), total_(total) {}

    // Runs one step; a failure becomes an error naming the step, with the exit code of its kind.
    template <class F>
    void run(const std::string& name, F&& body) {
        flow_step_record r;
        r.name = name;
        const auto start = flow_clock::now();
        try {
            body(r);
        } catch (const error& e) {
            throw error("step '" + name + "': " + e.what(), e.code());
        } catch (const std::bad_alloc&) {
            throw error("step '" + name + "': out of memory");
        } catch (const std::exception& e) {
            throw error("step '" + name + "': " + e.what());
        }
        r.seconds = std::chrono::duration<double>(flow_clock::now() - start).count();
        records_.push_back(r);
        if (quiet_) return;
        std::cout << "[" << records_.size() << "/" << total_ << "] " << std::left << std::setw(19) << name << std::right
                  << std::setw(9) << flow_number(1000 * r.seconds, 1) << " ms  " << line_ << "\n"
                  << std::flush;
        line_.clear();
    }
    // What the current step did, for its line.
    std::string line_;

    std::string summary(const std::string& title) const {
        std::ostringstream s;
        double total = 0;
        for (const auto& r : records_) total += r.seconds;
        s << title << "\n"
          << std::left << std::setw(20) << "step" << std::right << std::setw(10) << "time ms"
          << "  " << std::left << std::setw(28) << "output" << std::setw(9) << "top-1"
          << "vs previous step\n";
        for (const auto& r : records_)
            s << std::left << std::setw(20) << r.name << std::right << std::setw(10) << flow_number(1000 * r.seconds, 1)
              << "  " << std::left << std::setw(28) << (r.file.empty() ? "-" : r.file) << std::setw(9)
              << (r.accuracy.empty() ? "-" : r.accuracy) << (r.comparison.empty() ? "-" : r.comparison) << "\n";
        s << std::left << std::setw(20) << "total" << std::right << std::setw(10) << flow_number(1000 * total, 1)
          << "\n";
        return s.str();
    }

private:
    bool quiet_;
    std::size_t total_;
    std::vector<flow_step_record> records_;
};

}  // namespace

int run_flow(const args& a) {
    po::options_description options("options");
    std::vector<std::string> input_specs, calibration_specs;
    std::string model_path, out_dir, platform_name, layout_name, flow_name, version, labels_path, scales, range,
        rounding;
    double outlier = 0.999, target_snr = 0;
    std::uint32_t id = 32768;
    int bits = 8;
    std::int64_t threads = 0;  // thread_count
    // clang-format off
    options.add_options()
        ("model", po::value(&model_path)->required(), "the float ONNX model (positional)")
        ("platform", po::value(&platform_name)->required(), "520 or 720")
        ("input,i", po::value(&input_specs)->composing()->required(), "sample inputs: NAME=PATH (.npy or folder), once per model input")
        ("output,o", po::value(&out_dir)->required(), "folder for every file the flow writes")
        ("calibration-input", po::value(&calibration_specs)->composing(), "NAME=PATH for analysis (default: the --input data)")
        ("labels", po::value(&labels_path), "integer class labels [N] of the --input samples: top-1 accuracy per step")
        ("bitwidth", po::value(&bits)->default_value(8), "8, or 16 (720 only)")
        ("id", po::value(&id)->default_value(32768), "model id in the .nef (> 0; below 32768 is the vendor's range)")
        ("version", po::value(&version)->default_value("0001"), "model version in the .nef, 4 hex digits")
        ("flow", po::value(&flow_name)->default_value("onnx"), "optimizer flow: onnx (onnx2onnx) or torch (torch_exported)")
        ("layout", po::value(&layout_name)->default_value("nhwc"), "layout of the inputs: nhwc or nchw")
        ("threads", po::value(&threads)->default_value(0), "calibration and inference threads (0: every core)")
        ("bias-correction", "analysis: correct the shift of output means that rounding the weights causes")
        ("no-centre", "analysis: keep Conv -> Relu and Conv -> Clip(0, B) outputs at codes 0..127 (docs/numerics.md)")
        ("scales", po::value(&scales)->default_value("all"), "analysis: all, auto or power-of-two (docs/numerics.md)")
        ("range", po::value(&range)->default_value("auto"), "analysis: range of a tensor: auto, percentile, max or mse")
        ("outlier", po::value(&outlier)->default_value(0.999), "analysis: the percentile range's fraction")
        ("range-search", "analysis: choose each activation's range against the error at the outputs")
        ("tune", "analysis: choose --scales, --weight-rounding and --range for this model on held-out calibration samples")
        ("target-snr", po::value(&target_snr)->value_name("DB"), "analysis (720, --bitwidth 8): keep in int16 the nodes that bring the outputs' SNR on calibration samples to DB")
        ("weight-rounding", po::value(&rounding)->default_value("upstream"), "analysis: upstream, adaptive or nearest (docs/numerics.md)")
        ("quiet,q", "print only the summary");
    // clang-format on
    po::positional_options_description positional;
    positional.add("model", 1);
    po::variables_map vm;
    if (!parse(a, options, vm, flow_usage, &positional)) return 0;
    if (flow_name != "onnx" && flow_name != "torch")
        throw usage_error("--flow " + flow_name + ": expected onnx or torch");
    const layout user_layout = parse_layout(layout_name);
    const bool quiet = vm.count("quiet") != 0, bias_correction = vm.count("bias-correction") != 0;
    const quant::scale_policy scale_policy = quant::parse_scale_policy(scales);
    const quant::range_method range_method = quant::range_method_named(range);
    const quant::weight_rounding weight_rounding = quant::parse_weight_rounding(rounding);
    ktc::model_config km{id, version, platform_name, std::nullopt, model_path, {}, std::nullopt, {}};
    km.validate();  // id, version and platform before any work
    if (bits != 8 && bits != 16) throw usage_error("--bitwidth must be 8 or 16");
    const unsigned workers = thread_count(threads);
    if (vm.count("target-snr")) quant::check_target_snr(platform_name, target_snr, bits);

    const fs::path out(out_dir);
    const std::string stem = fs::path(model_path).stem().string();
    const std::string opt_name = stem + ".opt.onnx", bie_name = stem + ".bie",
                      nef_name = "models_" + platform_name + ".nef";
    // A failure before any step wrote a file leaves no empty OUTDIR behind when this run made it
    // (removing a folder that is not empty fails, harmlessly: finished steps' files stay).
    struct remove_if_empty {
        fs::path dir;
        bool made;
        ~remove_if_empty() {
            std::error_code ec;
            if (made) fs::remove(dir, ec);
        }
    } made_out{out, !fs::exists(out)};
    ensure_directory(out);
    for (const std::string& stale :
         {opt_name, std::string("evaluate.txt"), std::string("evaluate.json"), std::string("evaluate.html"), bie_name,
          nef_name, std::string("ioinfo.csv"), std::string("flow.txt"), std::string("float"), std::string("fixed"),
          std::string("hardware")})
        fs::remove_all(out / stale);

    flow_steps steps(quiet, 8);
    const auto show = [&](const char* label) { return progress(label, quiet); };
    graph::graph original, optimized;
    sim::tensor_map inputs, calibration_inputs, float_out, fixed_out;
    std::optional<tensor> labels;
    std::string first_output;
    std::int64_t sample_count = 0;

    steps.run("inputs", [&](flow_step_record& r) {
        original = onnx::load(model_path);
        inputs = read_inputs(input_specs, original.inputs);
        sample_count = sim::split_samples(original.inputs, inputs, user_layout).count;
        calibration_inputs = calibration_specs.empty() ? inputs : read_inputs(calibration_specs, original.inputs);
        const auto calibration_count = sim::split_samples(original.inputs, calibration_inputs, user_layout).count;
        if (!labels_path.empty()) {
            labels = npy::load(labels_path);
            if (labels->size() != sample_count)
                throw usage_error(labels_path + ": " + std::to_string(labels->size()) + " labels for " +
                                  std::to_string(sample_count) + " samples");
        }
        steps.line_ = model_path + ": " + std::to_string(sample_count) + " samples";
        for (const auto& [name, t] : inputs) steps.line_ += ", " + name + " " + to_string(t.shape());
        if (!calibration_specs.empty())
            steps.line_ += "; " + std::to_string(calibration_count) + " calibration samples";
        r.comparison = std::to_string(sample_count) + " samples";
    });

    steps.run("optimize", [&](flow_step_record& r) {
        optimized = original;
        const auto report =
            flow_name == "torch" ? rewrite::torch_exported_onnx_flow(optimized) : rewrite::onnx2onnx_flow(optimized);
        onnx::save(optimized, out / opt_name);
        const std::string nodes =
            std::to_string(original.node_count()) + " -> " + std::to_string(optimized.node_count());
        r.file = opt_name;
        r.comparison = nodes + " nodes";
        steps.line_ = opt_name + ": " + report.flow + " flow, nodes " + nodes + ", " +
                      std::to_string(report.changes.size()) + " changes" +
                      (report.converged ? "" : " (NOT converged: bound reached)");
    });

    km.onnx = optimized;
    km.onnx_path.clear();
    km.label = opt_name;

    steps.run("evaluate", [&](flow_step_record& r) {
        eval::evaluation e = km.evaluate({.optimize = false, .require_runnable = false});
        e.model = opt_name;
        if (!e.support.runnable()) throw unsupported_error(eval::unsupported_message(e.support, opt_name));
        write_file_atomically(out / "evaluate.txt", eval::text_report(e));
        write_file_atomically(out / "evaluate.json", eval::json_text(e));
        write_file_atomically(out / "evaluate.html", eval::html_report(e));
        std::size_t npu = 0, cpu = 0;
        for (const auto& n : e.support.nodes)
            npu += n.where == eval::placement::npu, cpu += n.where == eval::placement::cpu;
        const auto& p = *e.performance;
        r.file = "evaluate.txt";
        r.comparison = flow_number(p.fps(), 0) + " FPS estimated";
        steps.line_ = "KDP" + platform_name + ": " + std::to_string(npu) + " nodes on the NPU, " + std::to_string(cpu) +
                      " on the CPU; estimate " + flow_number(p.fps(), 0) + " FPS (" + flow_number(p.total_ms(), 4) +
                      " ms)";
    });

    steps.run("float inference", [&](flow_step_record& r) {
        const model_runner runner(flow_model(&optimized, nullptr, nullptr, user_layout, workers));
        first_output = runner.outputs().front().name;
        float_out = runner.run(inputs, show("float"));
        flow_publish(out, "float", float_out);
        r.file = "float/";
        r.accuracy = flow_top1(float_out, first_output, labels);
        // The previous step's model: the original, when the float simulator runs it and the
        // optimizer kept its outputs.
        try {
            const sim::tensor_map before =
                model_runner(flow_model(&original, nullptr, nullptr, user_layout, workers)).run(inputs);
            bool same_outputs = before.size() == float_out.size();
            for (const auto& [name, t] : float_out)
                same_outputs = same_outputs && before.count(name) && before.at(name).shape() == t.shape();
            r.comparison = same_outputs ? flow_describe(flow_agreement(before, float_out), "original")
                                        : "outputs differ from the original's (not compared)";
        } catch (const error& e) {
            r.comparison = "original model not simulated (" + std::string(e.what()) + ")";
        }
        steps.line_ = "float/: " + std::to_string(float_out.size()) + " output(s); " + r.comparison +
                      (r.accuracy.empty() ? "" : "; top-1 " + r.accuracy);
    });

    steps.run("analysis", [&](flow_step_record& r) {
        const progress calibration_progress("calibrate", quiet);
        analysis_options o;
        o.output_bie = out / bie_name;
        o.threads = workers;
        o.bitwidth = bits;
        o.bias_correction = bias_correction;
        o.centre = vm.count("no-centre") == 0;
        o.scales = scale_policy;
        o.range = range_method;
        o.range_search = vm.count("range-search") != 0;
        o.tune = vm.count("tune") != 0;
        o.target_snr = target_snr;
        o.weight_rounding = weight_rounding;
        o.outlier = outlier;
        o.optimize = false;
        o.input_layout = user_layout;
        o.source = fs::path(model_path).filename().string();
        o.progress = [&](std::size_t done, std::size_t total) {
            calibration_progress(std::int64_t(done), std::int64_t(total));
        };
        std::string notes;  // a dynamic input shape fixed to the calibration inputs', the int16 nodes chosen
        o.notice = [&](const std::string& line) { notes += "\n    note: " + line; };
        const quant::bie_model& bie = km.analysis(calibration_inputs, o);
        r.file = bie_name;
        std::string radices;
        for (const auto& [name, f] : fixed::edge_formats(bie.graph))
            if (bie.graph.is_graph_input(name)) radices += ", input '" + name + "' radix " + std::to_string(f.radix);
        const std::size_t wide = bie.options.int16_nodes.size();
        r.comparison = "int" + std::to_string(bits) +
                       (wide ? " (+" + std::to_string(wide) + " int16 nodes)" : std::string()) + ", " +
                       std::to_string(bie.calibration_samples) + " calibration samples";
        steps.line_ = bie_name + ": " + r.comparison + radices + notes;
    });

    steps.run("fixed inference", [&](flow_step_record& r) {
        const model_runner runner(flow_model(nullptr, &*km.bie, nullptr, user_layout, workers));
        fixed_out = runner.run(inputs, show("fixed"));
        flow_publish(out, "fixed", fixed_out);
        r.file = "fixed/";
        r.accuracy = flow_top1(fixed_out, first_output, labels);
        r.comparison = flow_describe(flow_agreement(float_out, fixed_out), "float");
        steps.line_ = "fixed/: " + r.comparison + (r.accuracy.empty() ? "" : "; top-1 " + r.accuracy);
    });

    compile_result compiled;
    steps.run("compile", [&](flow_step_record& r) {
        compile_options co;
        co.output = out / nef_name;
        compiled = ktc::compile({km}, co);
        const auto& m = compiled.models.front();
        r.file = nef_name;
        r.comparison = std::to_string(m.steps) + " steps (" + std::to_string(m.cpu_steps) + " on the CPU), " +
                       std::to_string(m.tiles) + " tiles";
        steps.line_ = nef_name + ": model " + std::to_string(m.id) + " v" + compiler::version_string(m.version) + ", " +
                      r.comparison + ", " + std::to_string(fs::file_size(out / nef_name)) + " bytes; ioinfo.csv";
        for (const auto& w : compiled.warnings) steps.line_ += "\n    warning: " + w;
    });

    steps.run("hardware inference", [&](flow_step_record& r) {
        const model_runner runner(flow_model(nullptr, nullptr, &compiled.nef, user_layout, workers));
        const sim::tensor_map hardware_out = runner.run(inputs, show("hardware"));
        flow_publish(out, "hardware", hardware_out);
        r.file = "hardware/";
        r.accuracy = flow_top1(hardware_out, first_output, labels);
        r.comparison = flow_describe(flow_agreement(fixed_out, hardware_out), "fixed");
        steps.line_ = "hardware/: " + r.comparison + (r.accuracy.empty() ? "" : "; top-1 " + r.accuracy);
    });

    const std::string summary = steps.summary("summary: " + fs::path(model_path).filename().string() + " on KDP" +
                                              platform_name + ", int" + std::to_string(bits) + ", " +
                                              std::to_string(sample_count) + " samples, outputs in " + out.string());
    write_file_atomically(out / "flow.txt", summary);
    std::cout << (quiet ? "" : "\n") << summary;
    return 0;
}

}  // namespace ktc::cli
