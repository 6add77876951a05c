// ktc/api/model_config.hpp - the seed's ktc.ModelConfig (manual 3.2, 4.1): one model for one
// chip, with the IP evaluator (evaluate) and quantization (analysis) as member functions.
//
//   ktc::model_config km{32769, "0001", "520", {}, "LittleNet.onnx"};
//   auto report = km.evaluate();
//   km.analysis({{"data_out", images}}, {.output_bie = "LittleNet.bie"});
//
// Give exactly one of `onnx` (an in-memory model), `onnx_path` and `bie_path`. analysis() keeps
// the quantized model in `bie` (and writes it where analysis_options::output_bie says); compile()
// takes `bie`, or reads `bie_path`. Errors are ktc::error types, never an exit.
#pragma once

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ktc/api/inputs.hpp"
#include "ktc/api/version.hpp"
#include "ktc/eval/cost.hpp"
#include "ktc/eval/report.hpp"
#include "ktc/eval/support.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/onnx/shape_inference.hpp"
#include "ktc/platform/platform.hpp"
#include "ktc/io/bie.hpp"
#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/centre.hpp"
#include "ktc/quant/equalize.hpp"
#include "ktc/quant/mixed_precision.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/quant/range_search.hpp"
#include "ktc/quant/tune.hpp"
#include "ktc/quant/upstream_rounding.hpp"
#include "ktc/rewrite/flows.hpp"
#include "ktc/sim/samples.hpp"

namespace ktc {

struct evaluate_options {
    bool optimize = true;          // run onnx2onnx_flow on an ONNX model first, as the vendor evaluates
    bool require_runnable = true;  // throw unsupported_error (every node named) when a node cannot run
};

// The seed's analysis(input_mapping, output_bie, threads) and its fine-tuning parameters.
struct analysis_options {
    std::filesystem::path output_bie;   // where to write the .bie ("" : keep it in memory only)
    unsigned threads = 0;               // calibration threads (0: every core)
    int bitwidth = 8;                   // 8, or 16 (720 only)
    std::set<std::string> int16_nodes;  // mixed precision on 720: these nodes' outputs in int16
    // The quantizer's own defaults (quant/quantize.hpp): one place decides them.
    quant::range_method range = quant::quantize_options{}.method;
    double outlier = quant::quantize_options{}.outlier;  // the percentile method's fraction
    bool per_channel_weights = quant::quantize_options{}.per_channel_weights;
    bool bias_correction = quant::quantize_options{}.bias_correction;
    quant::scale_policy scales = quant::quantize_options{}.scales;
    bool range_search = false;  // choose ranges against the output error (quant/range_search.hpp)
    // Choose scales, weight rounding and ranges for this model on held-out calibration samples
    // (quant/tune.hpp); the candidates' SNRs go to `notice`.
    bool tune = false;
    // Mixed precision on 720 with bitwidth 8 (quant/mixed_precision.hpp): after calibration (and
    // the range search), keep in int16, besides int16_nodes, the nodes that bring the graph
    // outputs' SNR on calibration samples to this many dB (> 0); each step goes to `notice`. 0: off.
    double target_snr = 0;
    quant::weight_rounding weight_rounding = quant::quantize_options{}.rounding;  // quant/weight_rounding.hpp
    bool post_sigmoid = false;  // the seed's quantize_mode "post_sigmoid"
    bool optimize = true;       // run onnx2onnx_flow first (off: quantize the model as given)
    bool equalize = true;       // cross-layer equalization of channel ranges (docs/numerics.md)
    // Move Conv -> Relu and Conv -> Clip(0, B) outputs down so that they use every int8 code (quant/centre.hpp);
    // with 8-bit activations and scales only.
    bool centre = true;
    layout input_layout = layout::channel_last;
    std::string source;  // provenance written into the .bie ("" : the model's file name)
    std::function<void(std::size_t done, std::size_t total)> progress;  // calibration progress
    // What analysis decided on the user's behalf, one line each (a dynamic input shape fixed to
    // the calibration inputs' shape, the nodes target_snr kept in int16); unset: not reported.
    std::function<void(const std::string&)> notice;
};

namespace api_detail {

// The lines that tell what the mixed-precision choice did, ending with the --int16-node flags
// that give the same model (`given`: the nodes the caller kept in int16 already).
inline std::vector<std::string> mixed_precision_notes(const quant::mixed_precision_choice& c,
                                                      const std::set<std::string>& given) {
    const auto db = [](double v) {
        if (std::isinf(v)) return std::string(v > 0 ? "exact" : "-inf");
        std::ostringstream s;
        s << std::fixed << std::setprecision(1) << v;
        return s.str();
    };
    std::vector<std::string> notes;
    const std::string on = " on " + std::to_string(c.samples) + " calibration sample" + (c.samples == 1 ? "" : "s");
    if (c.steps.empty() && c.reached) {
        notes.push_back("mixed precision: output SNR " + db(c.int8_snr_db) + " dB" + on + " meets the target " +
                        db(c.target_snr_db) + " dB: no node needs int16");
        return notes;
    }
    double before = c.int8_snr_db;
    for (const auto& step : c.steps) {
        std::string nodes;
        for (const auto& n : step.nodes) nodes += (nodes.empty() ? "'" : " + '") + n + "'";
        notes.push_back("mixed precision: " + nodes +
                        (step.back_to_int8       ? " back to int8, the target still met"
                         : step.nodes.size() > 1 ? " in int16 together"
                                                 : " in int16") +
                        ": output SNR " + db(before) + " -> " + db(step.snr_db) + " dB");
        before = step.snr_db;
    }
    const std::set<std::string> chosen = c.nodes();
    std::set<std::string> all = given;
    all.insert(chosen.begin(), chosen.end());
    std::string flags;
    for (const auto& n : all) flags += " --int16-node '" + n + "'";
    const std::string count = std::to_string(chosen.size()) + " node" + (chosen.size() == 1 ? "" : "s");
    notes.push_back(c.reached ? "mixed precision: target " + db(c.target_snr_db) + " dB reached" + on + " with " +
                                    count + " in int16; the same model:" + flags
                              : "mixed precision: target " + db(c.target_snr_db) + " dB NOT reached" + on +
                                    ": output SNR " + db(c.snr_db()) + " dB with every node that helped in int16 (" +
                                    count + ")" + (flags.empty() ? std::string() : "; the same model:" + flags));
    return notes;
}

// One line per tuning candidate with its held-out SNR, the chosen one marked.
inline std::vector<std::string> tuning_notes(const quant::tuning_result& t) {
    if (t.held_out_samples == 0)
        return {"tune: fewer than " + std::to_string(quant::min_tuning_samples) +
                " calibration samples: the settings as given"};
    std::vector<std::string> notes;
    for (std::size_t c = 0; c < t.candidates.size(); ++c) {
        std::ostringstream line;
        line << "tune: " << (t.candidates[c].flags.empty() ? "as given" : t.candidates[c].flags) << ": output SNR "
             << std::fixed << std::setprecision(1) << t.snr_db[c] << " dB on " << t.held_out_samples
             << " held-out calibration samples (fitted on " << t.fit_samples << ")"
             << (c == t.chosen ? ", chosen" : "");
        notes.push_back(line.str());
    }
    return notes;
}

// Gives every model input with unknown dimensions (-1, or an unknown rank) the shape of its
// calibration samples (model layout), so the quantized model has fixed shapes and compiles, then
// infers the intermediates' shapes again. Returns one line per input it fixed. Samples of
// different shapes for such an input, or a sample that contradicts a known dimension, are a
// usage error naming the input.
inline std::vector<std::string> fix_dynamic_inputs(graph::graph& g, const sim::sample_set& set,
                                                   const std::string& model) {
    std::vector<std::string> notes;
    if (set.samples.empty()) return notes;
    for (auto& in : g.inputs) {
        const bool dynamic =
            !in.rank_known || std::any_of(in.shape.begin(), in.shape.end(), [](std::int64_t d) { return d < 0; });
        const auto first = set.samples.front().find(in.name);
        if (!dynamic || first == set.samples.front().end()) continue;
        const shape_t& shape = first->second.shape();
        for (std::size_t i = 1; i < set.samples.size(); ++i)
            if (const auto& other = set.samples[i].at(in.name).shape(); other != shape)
                throw usage_error("input '" + in.name + "' has a dynamic shape " + to_string(in.shape) +
                                  " and samples of shapes " + to_string(shape) + " and " + to_string(other) +
                                  " (sample " + std::to_string(i) +
                                  "): analysis fixes it to one shape; give samples of one shape");
        for (std::size_t d = 0; in.rank_known && d < in.shape.size(); ++d)
            if (in.shape[d] >= 0 && in.shape[d] != shape.at(d))
                throw usage_error("input '" + in.name + "' has shape " + to_string(shape) +
                                  " (model layout); the model expects " + to_string(in.shape));
        notes.push_back("input '" + in.name + "': dynamic shape " +
                        (in.rank_known ? to_string(in.shape) : std::string("of unknown rank")) + " fixed to " +
                        to_string(shape) + ", the calibration inputs' shape");
        in.shape = shape;
        in.rank_known = true;
    }
    if (!notes.empty()) onnx::infer_shapes(g, model);
    return notes;
}

}  // namespace api_detail

struct model_config {
    std::uint32_t id = 0;              // > 0; ids below 32768 are reserved for the vendor's models
    std::string version;               // four hex digits, e.g. "0001"
    std::string platform;              // "520" or "720"
    std::optional<graph::graph> onnx;  // give exactly one of onnx, onnx_path and bie_path
    std::filesystem::path onnx_path;
    std::filesystem::path bie_path;
    std::optional<quant::bie_model> bie;  // set by analysis()
    std::string label;                    // how messages name an in-memory model ("" : "model <id>")

    // How errors name this model: its label, its file, or "model <id>".
    std::string name() const {
        if (!label.empty()) return label;
        if (!onnx_path.empty()) return onnx_path.string();
        if (!bie_path.empty()) return bie_path.string();
        return "model " + std::to_string(id);
    }

    // Throws usage_error for a bad id, version or platform, or not exactly one model given.
    void validate() const {
        if (id == 0) throw usage_error(name() + ": model id must be an integer > 0");
        version_number();
        chip();
        if (onnx.has_value() + !onnx_path.empty() + !bie_path.empty() != 1)
            throw usage_error("model " + std::to_string(id) + ": give exactly one of onnx, onnx_path and bie_path");
    }

    // The chip `platform` names (a usage error for any other name): what everything below the API
    // reads.
    platform::chip chip() const { return platform::chip_named(platform); }

    std::uint16_t version_number() const {
        if (version.size() != 4 || version.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
            throw usage_error(name() + ": version '" + version + "' is not 4 hex digits (e.g. 0001)");
        return static_cast<std::uint16_t>(std::stoul(version, nullptr, 16));
    }

    // The float model (from onnx or onnx_path).
    graph::graph float_model() const {
        validate();
        if (onnx) return *onnx;
        if (!onnx_path.empty()) return onnx::load(onnx_path);
        throw usage_error(name() + ": a .bie has no float model; give onnx or onnx_path");
    }

    // The quantized model: what analysis() made, or bie_path read; it must be for `platform`.
    quant::bie_model quantized() const {
        if (!bie && bie_path.empty())
            throw usage_error(name() + ": no quantized model; run analysis() first or give bie_path");
        quant::bie_model m = bie ? *bie : io::load_bie(bie_path);
        if (m.platform != chip())
            throw usage_error(name() + ": quantized for KDP" + platform::to_string(m.platform) + ", not KDP" +
                              platform + " (use platform " + platform::to_string(m.platform) + ")");
        return m;
    }

    // The IP evaluator (manual 3.2): every node's placement and the performance estimate. A .bie
    // is evaluated as quantized; an ONNX model after onnx2onnx_flow unless options say otherwise.
    eval::evaluation evaluate(const evaluate_options& o = {}) const {
        validate();
        graph::graph g;
        if (!bie_path.empty()) {
            g = quantized().graph;
        } else {
            g = float_model();
            if (o.optimize) rewrite::onnx2onnx_flow(g);
        }
        return platform::with_platform(chip(), [&](auto tag) {
            using P = decltype(tag);
            eval::evaluation e{name(), eval::support_check<P>(g), std::nullopt};
            if (e.support.runnable()) e.performance = eval::estimate_performance<P>(g, e.support);
            else if (o.require_runnable) throw unsupported_error(eval::unsupported_message(e.support, name()));
            return e;
        });
    }

    // Quantization (manual 4.1): calibrates on the samples of every input, quantizes for
    // `platform`, keeps the result in `bie` and writes it to options.output_bie when given.
    const quant::bie_model& analysis(const input_mapping& inputs, const analysis_options& o = {}) {
        graph::graph g = analysis_graph(o);
        const sim::tensor_map joined = api_detail::join_mapping(inputs, g.inputs);
        return quantize(centred_graph(std::move(g), joined, o), joined, o);
    }
    // The same with one tensor per input: one sample, or N stacked on a leading axis.
    const quant::bie_model& analysis(const sim::tensor_map& inputs, const analysis_options& o = {}) {
        return quantize(centred_graph(analysis_graph(o), inputs, o), inputs, o);
    }

    // The same on the graph centred_graph(analysis_graph(o), ...) made, for a caller that keeps a
    // float simulator of it (ktc analysis's per-layer table) and need not optimize twice.
    const quant::bie_model& analysis(graph::graph prepared, const sim::tensor_map& inputs,
                                     const analysis_options& o = {}) {
        return quantize(std::move(prepared), inputs, o);
    }

    // The float graph analysis() calibrates: the model, optimized and equalized as `o` says. Its
    // float simulator runs the same value names as the quantized graph (for per-layer accuracy).
    graph::graph analysis_graph(const analysis_options& o = {}) const {
        validate();
        if (o.bitwidth != 8 && o.bitwidth != 16) throw usage_error("analysis: bitwidth must be 8 or 16");
        graph::graph g = float_model();
        if (o.optimize) rewrite::onnx2onnx_flow(g);
        if (o.equalize) quant::equalize_cross_layer(g);
        return g;
    }

    // `g` (analysis_graph's) with its bounded activations centred (quant/centre.hpp) at the ranges a
    // first calibration on `inputs` gives them, as analysis() quantizes it; `g` itself when
    // centring is off or nothing qualifies. Fixes dynamic input shapes to the samples' first.
    graph::graph centred_graph(graph::graph g, const sim::tensor_map& inputs, const analysis_options& o) const {
        if (!o.centre || o.bitwidth != 8 || o.scales == quant::scale_policy::power_of_two) return g;
        if (quant::centrable_activations(g) == 0) return g;
        const sim::sample_set set = sim::split_samples(g.inputs, inputs, o.input_layout);
        for (const auto& line : api_detail::fix_dynamic_inputs(g, set, name()))
            if (o.notice) o.notice(line);
        // A model the chip cannot run is refused as quantize() refuses it, before any calibration.
        platform::with_platform(chip(),
                                [&](auto tag) { eval::support_check<decltype(tag)>(g).require_runnable(name()); });
        quant::calibration_options co;
        co.threads = o.threads;
        const quant::calibration first = quant::calibrate(
            sim::float_simulator(g), set.samples.size(), [&](std::size_t i) { return set.samples.at(i); }, co);
        quant::centre_bounded_activations(g, o.bitwidth, first, o.range, o.outlier);
        return g;
    }

private:
    const quant::bie_model& quantize(graph::graph g, const sim::tensor_map& inputs, const analysis_options& o) {
        quant::quantize_options qo;
        qo.bits = o.bitwidth;
        qo.int16_nodes = o.int16_nodes;
        qo.method = o.range;
        qo.outlier = o.outlier;
        qo.per_channel_weights = o.per_channel_weights;
        qo.bias_correction = o.bias_correction;
        qo.rounding = o.weight_rounding;
        qo.scales = o.scales;
        qo.post_sigmoid = o.post_sigmoid;
        quant::bie_model model = platform::with_platform(chip(), [&](auto tag) {
            using P = decltype(tag);
            const sim::sample_set set = sim::split_samples(g.inputs, inputs, o.input_layout);
            for (const auto& line : api_detail::fix_dynamic_inputs(g, set, name()))
                if (o.notice) o.notice(line);
            eval::support_check<P>(g).require_runnable(name());
            if (o.target_snr != 0) quant::check_target_snr<P>(o.target_snr, qo.bits);  // before the long work
            const sim::float_simulator reference(std::move(g));
            quant::calibration_options co;
            co.threads = o.threads;
            co.progress = o.progress;
            const auto sample = [&](std::size_t i) { return set.samples.at(i); };
            if (o.tune) {
                const quant::tuning_result t = quant::tune_settings<P>(reference, set.samples.size(), sample, qo, co);
                for (const auto& line : api_detail::tuning_notes(t))
                    if (o.notice) o.notice(line);
                qo = t.options();
            }
            if (qo.rounding != quant::weight_rounding::nearest)
                co.layer_input_samples = quant::adaptive_rounding_samples;
            const quant::calibration cal = quant::calibrate(reference, set.samples.size(), sample, co);
            if (o.range_search) {
                quant::range_search_options so;
                so.progress = o.progress;
                qo.chosen_ranges = quant::search_ranges<P>(reference, cal, qo, set.samples.size(), sample, so);
            }
            if (o.target_snr != 0) {
                quant::mixed_precision_options mo;
                mo.progress = o.progress;
                const auto choice =
                    quant::choose_int16_nodes<P>(reference, cal, qo, set.samples.size(), sample, o.target_snr, mo);
                const std::set<std::string> given = qo.int16_nodes;
                for (const auto& node : choice.nodes()) quant::keep_in_int16(qo, reference.graph(), node);
                for (const auto& line : api_detail::mixed_precision_notes(choice, given))
                    if (o.notice) o.notice(line);
            }
            quant::bie_model m;
            m.platform = chip();
            m.graph = qo.rounding == quant::weight_rounding::upstream
                          ? quant::quantize_rounding_upstream<P>(reference, cal, qo, set.samples.size(), sample, co)
                          : quant::quantize<P>(reference.graph(), cal, qo);
            m.options = qo;
            m.calibration_samples = cal.samples;
            m.source = !o.source.empty() ? o.source : !onnx_path.empty() ? onnx_path.filename().string() : name();
            m.toolchain_version = ktc::version;
            const bool scaled = qo.scales == quant::scale_policy::all;
            for (const auto& [value, r] : cal.ranges) {
                const auto chosen = qo.chosen_ranges.find(value);
                const double range =
                    chosen != qo.chosen_ranges.end() ? chosen->second : r.range(qo.method, qo.outlier, qo.bits, scaled);
                m.statistics[value] = {r.min(), r.max(), range};
            }
            return m;
        });
        if (!o.output_bie.empty()) io::save_bie(model, o.output_bie);
        bie = std::move(model);
        return *bie;
    }
};

}  // namespace ktc
