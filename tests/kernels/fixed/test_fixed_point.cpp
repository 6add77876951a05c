// The one rounding and saturation rule (kernels/fixed/fixed_point.hpp) at its edges.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "ktc/kernels/fixed/fixed_point.hpp"

using namespace ktc::fixed;

TEST_CASE("round_shift rounds half toward +infinity, for positive and negative values") {
    CHECK(round_shift(5, 1) == 3);    // 2.5 -> 3
    CHECK(round_shift(-5, 1) == -2);  // -2.5 -> -2
    CHECK(round_shift(7, 2) == 2);    // 1.75 -> 2
    CHECK(round_shift(-7, 2) == -2);  // -1.75 -> -2
    CHECK(round_shift(-6, 2) == -1);  // -1.5 -> -1
    CHECK(round_shift(6, 2) == 2);    // 1.5 -> 2
    CHECK(round_shift(3, 0) == 3);
    CHECK(round_shift(3, -4) == 48);  // a negative shift multiplies exactly
    CHECK(round_shift(-3, -4) == -48);
}

TEST_CASE("round_shift clamps left shifts that would overflow 64 bits, and handles shifts past 62") {
    constexpr std::int64_t most = std::numeric_limits<std::int64_t>::max();
    CHECK(round_shift(std::int64_t{1} << 40, -30) == most);
    CHECK(round_shift(-(std::int64_t{1} << 40), -30) == -most - 1);
    CHECK(round_shift(5, -70) == most);
    CHECK(round_shift(0, -70) == 0);
    CHECK(saturate(round_shift(std::int64_t{1} << 40, -30), 8) == 127);
    CHECK(round_shift(std::int64_t{1} << 62, 63) == 1);
    CHECK(round_shift(-(std::int64_t{1} << 62), 63) == 0);
    CHECK(round_shift(-(std::int64_t{1} << 62) - 1, 63) == -1);
    CHECK(round_shift(most, 64) == 0);
    CHECK(round_shift(-most - 1, 64) == 0);
}

TEST_CASE("saturate clamps to the two's-complement range of the width") {
    CHECK(saturate(128, 8) == 127);
    CHECK(saturate(-129, 8) == -128);
    CHECK(saturate(-128, 8) == -128);
    CHECK(saturate(40000, 16) == 32767);
    CHECK(saturate(-40000, 16) == -32768);
    CHECK(saturate(std::int64_t{1} << 40, 32) == 2147483647);
}

TEST_CASE("rescale moves between radices with the same rounding and saturates") {
    CHECK(rescale(100, 7, 5, 8) == 25);
    CHECK(rescale(102, 7, 5, 8) == 26);    // 25.5 -> 26
    CHECK(rescale(-102, 7, 5, 8) == -25);  // -25.5 -> -25
    CHECK(rescale(100, 5, 7, 8) == 127);   // 400 saturates
    CHECK(rescale(-100, 5, 7, 8) == -128);
}

TEST_CASE("quantize is floor(v * 2^radix + 1/2), saturated; dequantize inverts it exactly") {
    CHECK(quantize(0.5, 8, 8) == 127);  // the vendor's radix 8 for inputs in [-0.5, 0.5]
    CHECK(quantize(-0.5, 8, 8) == -128);
    CHECK(quantize(0.25, 7, 8) == 32);
    CHECK(quantize(1.0 / 256, 7, 8) == 1);   // 0.5 -> 1
    CHECK(quantize(-1.0 / 256, 7, 8) == 0);  // -0.5 -> 0
    CHECK(quantize(3.0, -1, 8) == 2);        // negative radix: 1.5 -> 2
    CHECK(quantize(std::nan(""), 7, 8) == 0);
    CHECK(quantize(1e30, 7, 16) == 32767);
    for (int q = -128; q <= 127; ++q) CHECK(quantize(dequantize(q, 6), 6, 8) == q);
}

TEST_CASE("radix_for follows get_radix: 7 - ceil(log2(max|x|)) at 8 bits") {
    CHECK(radix_for(0.5, 8) == 8);
    CHECK(radix_for(1.0, 8) == 7);
    CHECK(radix_for(1.5, 8) == 6);
    CHECK(radix_for(255, 8) == -1);
    CHECK(radix_for(0.5, 16) == 16);
    CHECK(radix_for(0, 8) == 7);
    // A range below 2^-32 (denormal, or a dead channel's noise) counts as 2^-32: radix <= bits + 31.
    CHECK(radix_for(0x1p-32, 8) == 39);
    CHECK(radix_for(2e-34, 8) == 39);
    CHECK(radix_for(1e-41, 8) == 39);
    CHECK(radix_for(1e-41, 16) == 47);
    CHECK(radix_for(0x1p-31, 8) == 38);
}

TEST_CASE("to_multiplier represents a real factor within its precision") {
    for (double f : {1.0 / 9, 0.1, 0.5, 0.999, 1.0, 3.7, 1e-4}) {
        CAPTURE(f);
        const auto m = to_multiplier(f, 15);
        CHECK(m.multiplier >= (1 << 14));
        CHECK(m.multiplier < (1 << 15));
        CHECK(std::ldexp(double(m.multiplier), -m.shift) == doctest::Approx(f).epsilon(1.0 / (1 << 14)));
        CHECK(multiply_shift(9000, m.multiplier, m.shift) ==
              std::llround(std::floor(9000 * std::ldexp(double(m.multiplier), -m.shift) + 0.5)));
    }
    CHECK_THROWS_AS(to_multiplier(0), ktc::error);
    CHECK_THROWS_AS(to_multiplier(-1), ktc::error);
}

// ---- scales beside the radix ----------------------------------------------------------------

TEST_CASE("multiply_round is round_shift at multiplier 1 and exact (one rounding) otherwise") {
    for (std::int64_t x :
         {std::int64_t{-1000003}, std::int64_t{-5}, std::int64_t{0}, std::int64_t{7}, std::int64_t{123456789}})
        for (int s : {-3, 0, 1, 5, 20}) CHECK(multiply_round(x, 1, s) == round_shift(x, s));
    CHECK(multiply_round(3, 3, 1) == 5);    // 4.5 -> 5
    CHECK(multiply_round(-3, 3, 1) == -4);  // -4.5 -> -4
    CHECK(multiply_round(std::int64_t{1} << 60, 30000, 20) ==
          ((std::int64_t{1} << 40) * 30000));  // no 64-bit overflow inside
    constexpr std::int64_t most = std::numeric_limits<std::int64_t>::max();
    CHECK(multiply_round(std::int64_t{1} << 60, 30000, 0) == most);  // clamped, as round_shift clamps
    CHECK(multiply_round(-(std::int64_t{1} << 60), 30000, -5) == -most - 1);
    CHECK(multiply_round(most, 32767, 200) == 0);
}

TEST_CASE("format_for gives the range every code when a scale is allowed, radix_for's power of two otherwise") {
    const value_format relu6 = format_for(6.0, 8, false);
    CHECK(relu6.radix == radix_for(6.0, 8));
    CHECK(relu6.radix == 4);
    CHECK(is_valid_scale(relu6.scale));
    CHECK(relu6.scale == doctest::Approx(127.0 / 96.0).epsilon(1e-4));
    CHECK(quantize(6.0, relu6) == 127);  // the top code itself: not clipped
    CHECK(quantize(5.9, relu6) == 125);  // a power of two would give 94
    CHECK(format_for(6.0, 8, true) == value_format{4, 8, 1.0});
    CHECK(format_for(0.5, 8, true) == value_format{8, 8, 1.0});  // radix_for: 0.5 -> 128 saturates to 127
    CHECK(format_for(0.5, 8, false).radix == 7);                 // 0.5 -> 127 exactly
    CHECK(quantize(0.5, format_for(0.5, 8, false)) == 127);
    CHECK(format_for(0.0, 8, false) == value_format{7, 8, 1.0});
    for (double r : {1e-9, 0.013, 0.3, 1.7, 3.0, 250.0, 9e6}) {
        const value_format f = format_for(r, 16, false);
        CHECK(is_valid_scale(f.scale));
        CHECK(r * f.scale * std::ldexp(1.0, f.radix) <= 32767.0);
        CHECK(r * f.scale * std::ldexp(1.0, f.radix) > 32767.0 * (1 - 1e-4));
    }
    CHECK_FALSE(is_valid_scale(2.0));
    CHECK_FALSE(is_valid_scale(0.75));
    CHECK_FALSE(is_valid_scale(1.0 + 1e-9));
    CHECK_FALSE(is_valid_scale(std::nan("")));
}

TEST_CASE("requantizer_to: a pure shift between equal scales, otherwise within one rounding of the real factor") {
    const value_format out{5, 8, 1.25};
    const requantizer same = requantizer_to(9, 1.25, out);
    CHECK(same.multiplier == 1);
    CHECK(same.shift == 4);
    for (std::int64_t x = -3000; x <= 3000; x += 7) CHECK(same(x) == rescale(x, 9, 5, 8));
    // accumulator at radix 11, scale 1.5 * 1.0625 -> out: factor 2^-6 * 1.25 / 1.59375
    const double factor = std::ldexp(1.25 / (1.5 * 1.0625), -6);
    const requantizer r = requantizer_to(11, 1.5 * 1.0625, out);
    int exact = 0, total = 0;
    for (std::int64_t x = -12000; x <= 12000; x += 3) {
        const double want = std::floor(double(x) * factor + 0.5);
        const std::int64_t got = r(x);
        CHECK(std::abs(double(got) - std::clamp(want, -128.0, 127.0)) <= 1);
        exact += double(got) == std::clamp(want, -128.0, 127.0);
        ++total;
    }
    CHECK(exact > total * 98 / 100);  // the 15-bit multiplier is off by one code only near rounding ties
}

TEST_CASE("quantize and dequantize at a format with a scale") {
    const value_format f{3, 8, 1.5};
    CHECK(quantize(1.0, f) == 12);  // 1 * 1.5 * 8
    CHECK(dequantize(12, f) == doctest::Approx(1.0));
    CHECK(quantize(100.0, f) == 127);
    for (int q = -128; q <= 127; ++q) CHECK(quantize(dequantize(q, f), f) == q);
    const ktc::tensor t = quantize_tensor(ktc::tensor::from<float>({2}, {1.0f, -2.0f}), f);
    CHECK(t.to_vector<std::int64_t>() == std::vector<std::int64_t>{12, -24});
}

TEST_CASE("a float tensor quantized at one format gives quantize()'s code for every element") {
    // The whole-tensor path multiplies by scale * 2^radix at once: the same codes on ties
    // (k + 1/2 codes exactly), NaN (0), infinities and values far out of range (saturated).
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> radix(-20, 30), fraction(0, (1 << scale_bits) - 1), bits(0, 1);
    std::uniform_real_distribution<float> value(-300.f, 300.f);
    for (int trial = 0; trial < 50; ++trial) {
        const value_format f{radix(rng), bits(rng) ? 16 : 8, 1 + std::ldexp(fraction(rng), -scale_bits)};
        CAPTURE(f.radix);
        CAPTURE(f.scale);
        std::vector<float> v{std::numeric_limits<float>::quiet_NaN(),
                             std::numeric_limits<float>::infinity(),
                             -std::numeric_limits<float>::infinity(),
                             0.f,
                             -0.f,
                             1e30f,
                             -1e30f,
                             1e-30f};
        for (int k = -200; k < 200; ++k)  // the values that quantize to a tie k + 1/2, when a float holds them
            v.push_back(static_cast<float>((k + 0.5) / (f.scale * std::ldexp(1.0, f.radix))));
        for (int i = 0; i < 200; ++i) v.push_back(value(rng) * std::ldexp(1.f, -f.radix / 2));
        const auto q =
            quantize_tensor(ktc::tensor::from<float>({std::int64_t(v.size())}, v), f).to_vector<std::int64_t>();
        for (std::size_t i = 0; i < v.size(); ++i)
            if (q[i] != quantize(double(v[i]), f)) CHECK(q[i] == quantize(double(v[i]), f));
    }
}

TEST_CASE("the biased requantizer gives the same codes 16 at a time as one by one, at every shift") {
    // apply16 (AVX-512: the 64-bit form for shifts below 16, the high-half form from 16 on)
    // against operator(), the definition, on random and extreme accumulators and biases.
    std::mt19937 rng(17);
    std::uniform_int_distribution<std::int64_t> multiplier(1, (1 << 15) - 1),
        bias(-(std::int64_t{1} << 31) + 1, (std::int64_t{1} << 31) - 1);
    std::uniform_int_distribution<std::int32_t> acc(std::numeric_limits<std::int32_t>::min(),
                                                    std::numeric_limits<std::int32_t>::max());
    std::uniform_int_distribution<int> small(-300, 300);
    for (int shift = 1; shift <= 62; ++shift)
        for (int trial = 0; trial < 40; ++trial) {
            CAPTURE(shift);
            const int bits = trial % 3 == 0 ? 16 : trial % 3 == 1 ? 8 : 32;
            const std::int64_t lo = trial % 4 == 0 ? 0 : min_of(bits),
                               hi = trial % 4 == 0 ? max_of(bits) / 2 : max_of(bits);
            const unguarded_requantizer r{multiplier(rng), std::int64_t{1} << (shift - 1), shift, lo, hi};
            const std::int64_t b =
                trial % 5 == 0 ? (trial % 2 ? 1 : -1) * ((std::int64_t{1} << 31) - 1) : bias(rng) >> (trial % 31);
            const auto step = r.with_bias(b);
            std::int32_t a[16];
            for (int j = 0; j < 16; ++j)
                a[j] = j < 2 ? (j ? std::numeric_limits<std::int32_t>::min() : std::numeric_limits<std::int32_t>::max())
                       : trial % 2 ? acc(rng)
                                   : small(rng) << (trial % 20);
            std::int32_t out32[16];
            std::int16_t out16[16];
            std::int8_t out8[16];
            step.apply16(a, out32);
            if (bits <= 16) step.apply16(a, out16);
            if (bits == 8) step.apply16(a, out8);
            for (int j = 0; j < 16; ++j) {
                const std::int64_t want = step(a[j]);
                if (want != r(b + a[j])) CHECK(want == r(b + a[j]));  // the biased form is the same integer
                if (out32[j] != want) CHECK(out32[j] == want);
                if (bits <= 16 && out16[j] != want) CHECK(out16[j] == want);
                if (bits == 8 && out8[j] != want) CHECK(out8[j] == want);
            }
        }
}
