// The one rounding and saturation rule (kernels/fixed/fixed_point.hpp) at its edges.
#include <doctest/doctest.h>

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
    CHECK(rescale(102, 7, 5, 8) == 26);   // 25.5 -> 26
    CHECK(rescale(-102, 7, 5, 8) == -25); // -25.5 -> -25
    CHECK(rescale(100, 5, 7, 8) == 127);  // 400 saturates
    CHECK(rescale(-100, 5, 7, 8) == -128);
}

TEST_CASE("quantize is floor(v * 2^radix + 1/2), saturated; dequantize inverts it exactly") {
    CHECK(quantize(0.5, 8, 8) == 127);  // the vendor's radix 8 for inputs in [-0.5, 0.5]
    CHECK(quantize(-0.5, 8, 8) == -128);
    CHECK(quantize(0.25, 7, 8) == 32);
    CHECK(quantize(1.0 / 256, 7, 8) == 1);    // 0.5 -> 1
    CHECK(quantize(-1.0 / 256, 7, 8) == 0);   // -0.5 -> 0
    CHECK(quantize(3.0, -1, 8) == 2);         // negative radix: 1.5 -> 2
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
        CHECK(multiply_shift(9000, m.multiplier, m.shift) == std::llround(std::floor(9000 * std::ldexp(double(m.multiplier), -m.shift) + 0.5)));
    }
    CHECK_THROWS_AS(to_multiplier(0), ktc::error);
    CHECK_THROWS_AS(to_multiplier(-1), ktc::error);
}
