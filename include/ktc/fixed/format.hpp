// ktc/fixed/format.hpp - the fixed-point format of a value: what every layer that holds integers
// agrees on (the kernels read it, the quantizer chooses it, the file formats store it). The
// arithmetic on such values is kernels/fixed/fixed_point.hpp; docs/numerics.md gives the rules.
#pragma once

#include <cmath>
#include <string>

#include "ktc/core/dtype.hpp"
#include "ktc/core/error.hpp"

namespace ktc::fixed {

// A scale is m / 2^scale_bits with m in [2^scale_bits, 2^(scale_bits+1)): a 15-bit integer
// multiplier, exact in a float (the .bie and .nef store it as one).
inline constexpr int scale_bits = 14;

// The fixed-point format of a value: v = q / (scale * 2^radix), q of `bits` bits.
struct value_format {
    int radix = 0;
    int bits = 8;
    double scale = 1;
    bool operator==(const value_format&) const = default;
};

// Whether a stored scale is one this library writes: finite, in [1, 2), a multiple of 2^-14.
inline bool is_valid_scale(double s) {
    return s >= 1 && s < 2 && std::ldexp(s, scale_bits) == std::floor(std::ldexp(s, scale_bits));
}

// The integer dtype of a width.
inline dtype integer_type(int bits) {
    switch (bits) {
        case 8: return dtype::int8;
        case 16: return dtype::int16;
        case 32: return dtype::int32;
    }
    throw error("fixed point: unsupported width " + std::to_string(bits));
}

}  // namespace ktc::fixed
