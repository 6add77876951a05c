// Calibration statistics: exact min/max, percentile and MSE ranges from a bounded histogram,
// and merging observers of one tensor from several threads.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "ktc/quant/observer.hpp"

using ktc::quant::range_method;
using ktc::quant::range_observer;

TEST_CASE("min, max and max_abs are exact over every sample") {
    range_observer o;
    CHECK(o.empty());
    const std::vector<float> a = {0.5f, -3.25f, 1.f}, b = {2.75f, 0.f};
    o.observe(a);
    o.observe(b);
    CHECK(o.min() == -3.25f);
    CHECK(o.max() == 2.75f);
    CHECK(o.max_abs() == 3.25);
    CHECK(o.range(range_method::max, 0.999, 8) == 3.25);
}

TEST_CASE("the percentile range ignores rare outliers; non-finite values are counted, not binned") {
    range_observer o;
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> v(100000);
    for (float& x : v) x = normal(rng);
    v[17] = 1000.f;  // one outlier
    v[18] = std::numeric_limits<float>::infinity();
    o.observe(v);
    CHECK(o.max_abs() == 1000.0);
    CHECK(o.non_finite() == 1);
    const double p = o.percentile_abs(0.999);
    CHECK(p > 3.0);  // |N(0,1)| 99.9th percentile is 3.29
    CHECK(p < 3.9);  // bin width 1024/2048 = 0.5 at this range
    CHECK(o.percentile_abs(1.0) <= 1000.0);
    CHECK_THROWS_AS(o.percentile_abs(0), ktc::usage_error);
}

TEST_CASE("the mse range clips a heavy tail and keeps a uniform range") {
    std::mt19937 rng(3);
    range_observer tail;
    std::vector<float> v(50000);
    std::normal_distribution<float> normal(0.f, 0.1f);
    for (float& x : v) x = normal(rng);
    v[0] = 3.f;  // clipping it to 2 costs 1; keeping it costs 4x the rounding error of clip 2
    tail.observe(v);
    CHECK(tail.mse_abs(8) == 2.0);

    range_observer flat;
    std::uniform_real_distribution<float> uniform(-4.f, 4.f);
    for (float& x : v) x = uniform(rng);
    flat.observe(v);
    CHECK(flat.mse_abs(8) >= 3.9);
}

TEST_CASE("with a scale the mse clip may lie between powers of two; exact zeros cost no rounding") {
    // N(0, 1): a radix alone offers the max (~4.3) or a power of two below it; a scaled format
    // clips where rounding and clipping errors balance, between them.
    std::mt19937 rng(5);
    std::normal_distribution<float> normal(0.f, 1.f);
    std::vector<float> v(50000);
    for (float& x : v) x = normal(rng);
    range_observer o;
    o.observe(v);
    const double scaled = o.mse_abs(8, /*scaled=*/true), plain = o.mse_abs(8);
    CAPTURE(scaled);
    CAPTURE(plain);
    CHECK((plain == o.max_abs() || std::exp2(std::round(std::log2(plain))) == plain));
    CHECK(scaled > 2.5);
    CHECK(scaled < o.max_abs() * 0.95);
    CHECK(std::exp2(std::round(std::log2(scaled))) != scaled);
    CHECK(o.range(range_method::automatic, 0.999, 8, /*scaled=*/true) == scaled);
    CHECK(o.range(range_method::automatic, 0.999, 8) == o.percentile_abs(0.999));          // no scale: percentile
    CHECK(o.range(range_method::automatic, 0.999, 16, /*scaled=*/true) == o.mse_abs(16));  // 16 bits: powers of two

    // A ReLU output, most of its values exactly zero. Zeros are codes, so they do not pull the clip
    // down the way as many small nonzero values would.
    std::exponential_distribution<float> exponential(1.f);
    std::vector<float> relu(v.size()), tiny(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        const float x = i % 4 ? 0.f : exponential(rng);  // three zeros in four: a sparse ReLU output
        relu[i] = x;
        tiny[i] = i % 4 ? 1e-4f : x;
    }
    range_observer with_zeros, with_tiny;
    with_zeros.observe(relu);
    with_tiny.observe(tiny);
    CHECK(with_zeros.mse_abs(8, true) > with_tiny.mse_abs(8, true));
}

TEST_CASE("merging observers equals observing everything in one") {
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> small(-0.3f, 0.3f), large(-40.f, 40.f);
    std::vector<float> a(1000), b(1000);
    for (float& x : a) x = small(rng);
    for (float& x : b) x = large(rng);
    range_observer one, left, right;
    one.observe(a);
    one.observe(b);
    left.observe(a);
    right.observe(b);
    left.merge(right);
    CHECK(left.max_abs() == one.max_abs());
    for (double p : {0.5, 0.9, 0.999}) CHECK(left.percentile_abs(p) == one.percentile_abs(p));
    CHECK(left.mse_abs(8) == one.mse_abs(8));
    CHECK(left.mse_abs(8, true) == one.mse_abs(8, true));
}

TEST_CASE("an all-zero tensor has a zero range") {
    range_observer o;
    const std::vector<float> z(10, 0.f);
    o.observe(z);
    CHECK(o.max_abs() == 0);
    CHECK(o.percentile_abs(0.999) == 0);
    CHECK(o.mse_abs(8) == 0);
}
