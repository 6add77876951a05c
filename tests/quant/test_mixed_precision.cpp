// Mixed-precision suggestions (quant/mixed_precision.hpp): on a graph with a layer that int8
// ruins, the nodes chosen for int16 reach the target SNR, measured here independently, and include
// that layer, then the next one that only helps once it is in int16; every step raises the SNR; a target already met chooses nothing; 520, int16
// activations and a target <= 0 are usage errors; model_config::analysis merges the choice and
// says so.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "ktc/api/model_config.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/quant/mixed_precision.hpp"
#include "ktc/sim/fixed_simulator.hpp"
#include "support/onnx_builder.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// x[1,4,8,8] -> conv0 (3x3) -> conv1 (1x1) -> conv2 (1x1, 4->2) -> y[1,2,8,8].
// conv1's channel 0 carries a bias of 20 that conv2 all but ignores (weight 0.001), so conv1's
// int8 output spends its range on that channel and rounds the small channels conv2 reads (|v| <
// 0.3, a step of 0.25) to nearly nothing: the layer int8 ruins (output SNR ~0 dB). With conv1 in
// int16 the output's own int8 rounding is left (~16 dB); conv2 in int16 too gives ~42 dB, though
// conv2 alone gains nothing: the second step shows only after the first.
graph::graph outlier_model() {
    model_builder b(13);
    b.input("x", {1, 4, 8, 8});
    b.output("y", {1, 2, 8, 8});
    std::vector<float> w0(4 * 4 * 9), w1(4 * 4, 0.f), w2(2 * 4);
    for (std::size_t i = 0; i < w0.size(); ++i) w0[i] = 0.15f * std::sin(0.9f * float(i) + 0.2f);
    for (std::size_t c = 1; c < 4; ++c)
        for (std::size_t k = 0; k < 4; ++k) w1[c * 4 + k] = 0.1f * std::cos(1.7f * float(c * 4 + k));
    for (std::size_t m = 0; m < 2; ++m) {
        w2[m * 4] = 0.001f;
        for (std::size_t c = 1; c < 4; ++c) w2[m * 4 + c] = m == 0 ? 1.f : (c % 2 ? -1.f : 0.7f);
    }
    add_float_initializer(b, "w0", {4, 4, 3, 3}, w0);
    add_float_initializer(b, "w1", {4, 4, 1, 1}, w1);
    add_float_initializer(b, "b1", {4}, {20.f, 0.f, 0.f, 0.f});
    add_float_initializer(b, "w2", {2, 4, 1, 1}, w2);
    auto* conv0 = b.node("Conv", {"x", "w0"}, {"c0"});
    conv0->set_name("conv0");
    set_ints(conv0, "pads", {1, 1, 1, 1});
    b.node("Conv", {"c0", "w1", "b1"}, {"c1"})->set_name("conv1");
    b.node("Conv", {"c1", "w2"}, {"y"})->set_name("conv2");
    return ktc::onnx::parse(b.bytes(), "outlier.onnx");
}

constexpr std::size_t sample_count = 6;

sim::tensor_map outlier_sample(std::size_t i) {
    tensor x(dtype::float32, {1, 4, 8, 8});
    for (std::int64_t k = 0; k < x.size(); ++k)
        x.data<float>()[k] = 0.9f * std::sin(0.53f * float(k) + 1.3f * float(i));
    return {{"x", x}};
}

// The output SNR of `o` on every calibration sample, computed here, not by the code under test.
double output_snr(const sim::float_simulator& reference, const quant::calibration& cal,
                  const quant::quantize_options& o) {
    const sim::fixed_simulator fixed(quant::quantize<platform::kdp720>(reference.graph(), cal, o));
    double signal = 0, noise = 0;
    for (std::size_t s = 0; s < sample_count; ++s) {
        const auto want_outputs = reference.run(outlier_sample(s)),
                   got_outputs = fixed.run(outlier_sample(s));  // alive while read
        const auto want = want_outputs.at("y").values<float>(), got = got_outputs.at("y").values<float>();
        for (std::size_t i = 0; i < want.size(); ++i) {
            signal += double(want[i]) * want[i];
            noise += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
        }
    }
    return 10 * std::log10(signal / noise);
}

// Every step that adds nodes raises the SNR; one that puts a node back to int8 keeps the target.
void check_steps(const quant::mixed_precision_choice& c) {
    double before = c.int8_snr_db;
    for (const auto& step : c.steps) {
        CAPTURE(step.nodes.front());
        if (step.back_to_int8) CHECK(step.snr_db >= c.target_snr_db);
        else CHECK(step.snr_db > before);
        before = step.snr_db;
    }
}

}  // namespace

TEST_CASE("mixed precision: the int16 nodes chosen reach the target and include the layer int8 ruins") {
    const sim::float_simulator reference(outlier_model());
    const auto cal = quant::calibrate(reference, sample_count, outlier_sample);
    const quant::quantize_options o;
    const double int8 = output_snr(reference, cal, o);
    quant::quantize_options conv1_wide = o, both_wide = o;
    conv1_wide.int16_nodes = {"conv1"};
    both_wide.int16_nodes = {"conv1", "conv2"};
    const double conv1_alone = output_snr(reference, cal, conv1_wide), both = output_snr(reference, cal, both_wide);
    CAPTURE(int8);
    CAPTURE(conv1_alone);
    CAPTURE(both);
    // The premises: int8 ruins the output, conv1 is the layer to blame, and 30 dB needs conv2 too.
    REQUIRE(int8 < 5.0);
    REQUIRE(conv1_alone > int8 + 10.0);
    REQUIRE(conv1_alone < 25.0);
    REQUIRE(both > 35.0);

    const double target = 30.0;
    const auto choice =
        quant::choose_int16_nodes<platform::kdp720>(reference, cal, o, sample_count, outlier_sample, target);
    CHECK(choice.int8_snr_db == doctest::Approx(int8).epsilon(1e-9));
    CHECK(choice.samples == sample_count);
    CHECK(choice.reached);
    REQUIRE_FALSE(choice.steps.empty());
    CHECK(choice.steps.front().nodes == std::vector<std::string>{"conv1"});  // the best gain per byte
    CHECK(choice.nodes().count("conv1") == 1);
    check_steps(choice);
    quant::quantize_options chosen = o;
    chosen.int16_nodes = choice.nodes();
    const double reached = output_snr(reference, cal, chosen);
    CHECK(reached >= target);
    CHECK(reached == doctest::Approx(choice.snr_db()).epsilon(1e-9));
    CHECK(choice.nodes().count("conv2") == 1);
    CHECK(choice.steps.size() <= 3);
}

TEST_CASE("mixed precision: a target beyond reach keeps only nodes that helped and says it was missed") {
    const sim::float_simulator reference(outlier_model());
    const auto cal = quant::calibrate(reference, sample_count, outlier_sample);
    const auto choice =
        quant::choose_int16_nodes<platform::kdp720>(reference, cal, {}, sample_count, outlier_sample, 200.0);
    CHECK_FALSE(choice.reached);
    CHECK(choice.snr_db() < 200.0);
    CHECK(choice.nodes().count("conv1") == 1);
    check_steps(choice);
    // Nodes the caller keeps in int16 are a starting point, never chosen again.
    quant::quantize_options given;
    given.int16_nodes = {"conv1"};
    const auto rest =
        quant::choose_int16_nodes<platform::kdp720>(reference, cal, given, sample_count, outlier_sample, 200.0);
    CHECK(rest.nodes().count("conv1") == 0);
    CHECK(rest.int8_snr_db > choice.int8_snr_db + 10.0);
}

TEST_CASE("mixed precision: a target already met chooses nothing") {
    const sim::float_simulator reference(outlier_model());
    const auto cal = quant::calibrate(reference, sample_count, outlier_sample);
    quant::quantize_options given;  // conv1 and conv2 in int16 already: the output is fine
    given.int16_nodes = {"conv1", "conv2"};
    const double start = output_snr(reference, cal, given);
    CAPTURE(start);
    REQUIRE(start > 31.0);
    const auto choice =
        quant::choose_int16_nodes<platform::kdp720>(reference, cal, given, sample_count, outlier_sample, 30.0);
    CHECK(choice.reached);
    CHECK(choice.steps.empty());
    CHECK(choice.snr_db() == doctest::Approx(start).epsilon(1e-9));
}

TEST_CASE("mixed precision: 520, int16 activations and a target <= 0 are usage errors") {
    const sim::float_simulator reference(outlier_model());
    const auto cal = quant::calibrate(reference, sample_count, outlier_sample);
    CHECK_THROWS_WITH_AS(
        quant::choose_int16_nodes<platform::kdp520>(reference, cal, {}, sample_count, outlier_sample, 30.0),
        doctest::Contains("--target-snr: platform 520"), usage_error);
    quant::quantize_options wide;
    wide.bits = 16;
    CHECK_THROWS_WITH_AS(
        quant::choose_int16_nodes<platform::kdp720>(reference, cal, wide, sample_count, outlier_sample, 30.0),
        doctest::Contains("--bitwidth 8"), usage_error);
    CHECK_THROWS_AS(quant::choose_int16_nodes<platform::kdp720>(reference, cal, {}, sample_count, outlier_sample, 0.0),
                    usage_error);
    CHECK_THROWS_WITH_AS(quant::check_target_snr("520", 30.0, 8), doctest::Contains("520"), usage_error);
    CHECK_NOTHROW(quant::check_target_snr("720", 30.0, 8));
}

TEST_CASE("mixed precision through model_config::analysis: the chosen nodes in the .bie, each step a notice") {
    tensor stacked(dtype::float32, {std::int64_t(sample_count), 1, 4, 8, 8});
    for (std::size_t s = 0; s < sample_count; ++s) {
        const auto sample = outlier_sample(s);  // alive while read
        const auto one = sample.at("x").values<float>();
        std::copy(one.begin(), one.end(), stacked.data<float>() + s * one.size());
    }
    analysis_options o;
    o.optimize = false;
    o.equalize = false;
    o.input_layout = layout::channel_first;
    o.target_snr = 25.0;
    std::vector<std::string> notes;
    o.notice = [&](const std::string& line) { notes.push_back(line); };
    model_config km{32769, "0001", "720", outlier_model(), {}, {}, std::nullopt, "outlier"};
    const quant::bie_model& bie = km.analysis(sim::tensor_map{{"x", stacked}}, o);
    for (const auto& line : notes) INFO(line);
    CAPTURE(notes.front());
    CHECK(bie.options.int16_nodes.count("conv1") == 1);
    REQUIRE(notes.size() >= 3);
    CHECK(notes.front().find("mixed precision: 'conv1' in int16: output SNR ") == 0);
    CHECK(notes.back().find("target 25.0 dB reached") != std::string::npos);
    CHECK(notes.back().find("--int16-node 'conv1' --int16-node 'conv2'") != std::string::npos);

    model_config km520{32769, "0001", "520", outlier_model(), {}, {}, std::nullopt, "outlier"};
    CHECK_THROWS_WITH_AS(km520.analysis(sim::tensor_map{{"x", stacked}}, o), doctest::Contains("--target-snr"),
                         usage_error);
}
