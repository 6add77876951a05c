// Settings chosen per model on held-out calibration samples (quant/tune.hpp): every candidate is
// measured on the half it was not fitted on, the best one is chosen and written into the .bie,
// and too few samples keep the caller's settings.
#include <doctest/doctest.h>

#include <algorithm>

#include "compiler/small_model.hpp"
#include "ktc/api.hpp"
#include "ktc/quant/tune.hpp"

using namespace ktc;

TEST_CASE("tune: each candidate measured on held-out samples, the best chosen") {
    const sim::float_simulator reference(testing::small_float_model());
    quant::calibration_options co;
    co.threads = 1;
    const quant::quantize_options given;
    const auto r = quant::tune_settings<platform::kdp720>(reference, 9, testing::small_sample, given, co);
    REQUIRE(r.candidates.size() == 6);
    REQUIRE(r.snr_db.size() == r.candidates.size());
    CHECK(r.fit_samples == 5);  // samples 0, 2, 4, 6, 8
    CHECK(r.held_out_samples == 4);
    CHECK(r.candidates.front().flags.empty());  // the caller's settings come first
    CHECK(r.chosen == std::size_t(std::max_element(r.snr_db.begin(), r.snr_db.end()) - r.snr_db.begin()));
    for (const double db : r.snr_db) CHECK(db > 10);  // every candidate quantized and ran

    // The same measure by hand for the caller's settings: calibrated on the even samples, run on
    // the odd ones.
    co.layer_input_samples = quant::adaptive_rounding_samples;  // the defaults round weights adaptively
    const auto fit = quant::calibrate(
        reference, 5, [](std::size_t i) { return testing::small_sample(2 * i); }, co);
    const quant::output_error_meter meter(
        reference, fit, 4, [](std::size_t i) { return testing::small_sample(2 * i + 1); }, 4);
    CHECK(meter.snr_db<platform::kdp720>(given) == doctest::Approx(r.snr_db[0]).epsilon(1e-12));

    // Too few samples to hold any out: the settings as given.
    const auto few = quant::tune_settings<platform::kdp720>(reference, 3, testing::small_sample, given, co);
    CHECK(few.candidates.size() == 1);
    CHECK(few.chosen == 0);
    CHECK(few.held_out_samples == 0);
}

TEST_CASE("tune through the API: the chosen settings are the .bie's, one note per candidate") {
    tensor x(dtype::float32, {8, 1, 3, 17, 12});
    const std::int64_t per = x.size() / 8;
    for (std::size_t i = 0; i < 8; ++i) {
        const tensor one = testing::small_sample(i).at("x");
        std::memcpy(x.raw() + std::int64_t(i) * per * 4, one.raw(), one.byte_size());
    }
    model_config km{32769, "0001", "720", testing::small_float_model(), {}, {}, std::nullopt, {}};
    analysis_options o;
    o.input_layout = layout::channel_first;
    o.threads = 1;
    o.tune = true;
    std::vector<std::string> notes;
    o.notice = [&](const std::string& line) { notes.push_back(line); };
    const quant::bie_model& bie = km.analysis(input_mapping{{"x", {x}}}, o);
    REQUIRE(notes.size() == 6);
    const auto chosen =
        std::find_if(notes.begin(), notes.end(), [](const std::string& n) { return n.ends_with(", chosen"); });
    REQUIRE(chosen != notes.end());
    CHECK(std::count_if(notes.begin(), notes.end(), [](const std::string& n) { return n.ends_with(", chosen"); }) == 1);
    const bool scales_auto = chosen->find("--scales auto") != std::string::npos,
               nearest = chosen->find("--weight-rounding nearest") != std::string::npos,
               percentile = chosen->find("--range percentile") != std::string::npos;
    CHECK((bie.options.scales == quant::scale_policy::automatic) == scales_auto);
    CHECK((bie.options.rounding == quant::weight_rounding::nearest) == nearest);
    CHECK((bie.options.method == quant::range_method::percentile) == percentile);
    CHECK(bie.calibration_samples == 8);  // calibrated again on every sample
}
