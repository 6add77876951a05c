// ktc/quant/observer.hpp - what calibration learns about one tensor, sample after sample.
//
// A range_observer sees every value a tensor takes over the calibration set and keeps, in memory
// that does not grow with the number of samples: min, max, and a histogram of |x| whose range
// doubles (merging bin pairs) whenever a larger value arrives. From those it answers the three
// range methods of `ktc analysis` (docs/numerics.md):
//   max         max |x|                                   (the vendor's "default" statistics)
//   percentile  the |x| below which a fraction p of values lie (the vendor's outlier = 0.999)
//   mse         the clip c that minimizes the expected squared error of quantizing to c at a
//               given bit width (clipping error above c + rounding error below it), among the
//               clips the tensor's format can express
//   auto        mse (the default), except percentile for an 8-bit tensor without a scale: a
//               radix alone only offers clips a factor of 2 apart, and there the percentile's
//               clip rounded up to one held better on unseen inputs
// Observers of the same tensor from different threads merge exactly (same doubling ladder).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ktc/core/error.hpp"

namespace ktc::quant {

enum class range_method { automatic, max, percentile, mse };

// The names `ktc analysis --range` and the .bie use.
inline const char* name_of(range_method m) {
    switch (m) {
        case range_method::max: return "max";
        case range_method::percentile: return "percentile";
        case range_method::mse: return "mse";
        case range_method::automatic: break;
    }
    return "auto";
}
inline range_method range_method_named(const std::string& s) {
    for (auto m : {range_method::automatic, range_method::max, range_method::percentile, range_method::mse})
        if (s == name_of(m)) return m;
    throw usage_error("range method must be auto, percentile, max or mse, not '" + s + "'");
}

class range_observer {
public:
    static constexpr std::size_t bins = 2048;

    void observe(std::span<const float> values) {
        float lo = min_, hi = max_, top = 0;
        std::uint64_t finite = 0, zero_values = 0;
        for (const float v : values) {
            if (!std::isfinite(v)) {
                ++non_finite_;
                continue;
            }
            ++finite;
            if (v == 0) ++zero_values;
            lo = std::min(lo, v);
            hi = std::max(hi, v);
            top = std::max(top, std::abs(v));
        }
        min_ = lo;
        max_ = hi;
        grow_to(top);
        if (range_ == 0) {  // all zeros so far
            zeros_ += finite;
            return;
        }
        exact_zeros_ += zero_values;
        const double per_bin = bins / range_;
        for (const float v : values) {
            if (!std::isfinite(v)) continue;
            const auto b = std::min<std::size_t>(bins - 1, static_cast<std::size_t>(std::abs(v) * per_bin));
            ++histogram_[b];
        }
        count_ += finite;
    }

    void merge(const range_observer& other) {
        min_ = std::min(min_, other.min_);
        max_ = std::max(max_, other.max_);
        non_finite_ += other.non_finite_;
        range_observer o = other;
        grow_to(o.range_);
        o.grow_to(range_);
        for (std::size_t b = 0; b < bins; ++b) histogram_[b] += o.histogram_[b];
        zeros_ += o.zeros_;
        exact_zeros_ += o.exact_zeros_;
        count_ += o.count_;
    }

    bool empty() const { return count_ + zeros_ == 0; }
    float min() const { return empty() ? 0.f : min_; }
    float max() const { return empty() ? 0.f : max_; }
    double max_abs() const { return empty() ? 0.0 : std::max(std::abs(double(min_)), std::abs(double(max_))); }
    std::uint64_t non_finite() const { return non_finite_; }

    // The smallest bin edge below which at least `fraction` of the values lie (never above max_abs).
    double percentile_abs(double fraction) const {
        if (!(fraction > 0 && fraction <= 1))
            throw usage_error("percentile " + std::to_string(fraction) + " is not in (0, 1]");
        const double total = double(count_ + zeros_);
        if (total == 0 || range_ == 0) return 0;
        double seen = double(zeros_);
        for (std::size_t b = 0; b < bins; ++b) {
            seen += double(histogram_[b]);
            if (seen >= fraction * total) return std::min(max_abs(), (b + 1) * range_ / bins);
        }
        return max_abs();
    }

    // The clip that minimizes the histogram's expected squared error at `bits` bits: clipping
    // error above it, a uniform rounding error below it (exact zeros excepted: a zero is a code).
    // `scaled`: any clip is a format (a scale beside the radix, top code 2^(bits-1) - 1), so the
    // candidates step down from max |x| by 2^(1/16); otherwise only the power-of-two clips a
    // radix alone can express.
    double mse_abs(int bits, bool scaled = false) const {
        if (range_ == 0) return 0;
        const double top = max_abs();
        const int steps = scaled ? 16 : 1;
        const double codes =
            scaled ? double((std::int64_t{1} << (bits - 1)) - 1) : double(std::int64_t{1} << (bits - 1));
        const double first = scaled ? top : std::exp2(std::ceil(std::log2(top)));
        // The occupied bins once (their centres and counts), not once per candidate clip.
        std::vector<std::pair<double, double>> occupied;
        for (std::size_t b = 0; b < bins; ++b) {
            const double count = double(histogram_[b]) - (b == 0 ? double(exact_zeros_) : 0.0);
            if (count > 0) occupied.emplace_back((b + 0.5) * range_ / bins, count);
        }
        double best = top, best_error = std::numeric_limits<double>::infinity();
        for (int k = 0; k < 24 * steps; ++k) {
            const double clip = first * std::exp2(-double(k) / steps);
            const double step = clip / codes;
            double err = 0;
            for (const auto& [centre, count] : occupied)
                err += count * (centre > clip ? (centre - clip) * (centre - clip) : step * step / 12);
            if (err < best_error) {
                best_error = err;
                best = std::min(clip, top);
            }
        }
        return best;
    }

    // The method `m` stands for on a tensor of `bits` bits, with or without a scale.
    static range_method effective(range_method m, int bits, bool scaled) {
        if (m != range_method::automatic) return m;
        return bits <= 8 && !scaled ? range_method::percentile : range_method::mse;
    }

    double range(range_method m, double percentile, int bits, bool scaled = false) const {
        switch (effective(m, bits, scaled)) {
            case range_method::max: return max_abs();
            case range_method::percentile: return percentile_abs(percentile);
            // At 16 bits the clips stay powers of two even with a scale: a clip just below the
            // calibrated max cost unseen inputs more than the finer step gave (docs/numerics.md).
            case range_method::mse: return mse_abs(bits, scaled && bits <= 8);
            case range_method::automatic: break;
        }
        return max_abs();
    }

private:
    // Doubles the histogram's range (merging bin pairs) until it covers `top`. The ladder starts
    // at a power of two, so two observers of one tensor always land on the same ranges.
    void grow_to(double top) {
        if (!(top > 0)) return;
        if (range_ == 0) {
            range_ = std::exp2(std::ceil(std::log2(top)));
            if (range_ < top) range_ *= 2;
            return;
        }
        while (range_ < top) {
            for (std::size_t b = 0; b < bins / 2; ++b) histogram_[b] = histogram_[2 * b] + histogram_[2 * b + 1];
            std::fill(histogram_.begin() + bins / 2, histogram_.end(), 0);
            range_ *= 2;
        }
    }

    float min_ = std::numeric_limits<float>::infinity();
    float max_ = -std::numeric_limits<float>::infinity();
    double range_ = 0;  // the histogram covers |x| in [0, range_)
    std::vector<std::uint64_t> histogram_ = std::vector<std::uint64_t>(bins, 0);
    std::uint64_t count_ = 0;        // values in the histogram
    std::uint64_t zeros_ = 0;        // values seen while every value so far was zero
    std::uint64_t exact_zeros_ = 0;  // zeros among the histogram's values (all in its bin 0)
    std::uint64_t non_finite_ = 0;
};

// The mean of every channel (axis 1, NCHW; the last axis of a [N, K] matrix) of one tensor over
// the calibration set, for bias correction (quant/quantize.hpp). Each observed tensor's channel
// means are added as integers at radix 40, so merging observers from several threads is exact
// and the result does not depend on the thread count or the order of the samples.
class channel_mean_observer {
public:
    static constexpr int radix = 40;
    __extension__ using wide = __int128;  // GCC and Clang; exact sums of 2^60-bounded terms

    void observe(std::span<const float> values, std::span<const std::int64_t> shape) {
        if (shape.size() < 2 || shape[1] <= 0) return;
        const std::int64_t channels = shape[1];
        std::int64_t inner = 1;
        for (std::size_t d = 2; d < shape.size(); ++d) inner *= shape[d];
        const std::int64_t outer =
            static_cast<std::int64_t>(values.size()) / std::max<std::int64_t>(1, channels * inner);
        if (outer * channels * inner != static_cast<std::int64_t>(values.size())) return;
        if (sums_.empty()) sums_.assign(static_cast<std::size_t>(channels), 0);
        if (static_cast<std::int64_t>(sums_.size()) != channels) return;  // a tensor whose shape varies
        for (std::int64_t c = 0; c < channels; ++c) {
            double sum = 0;
            for (std::int64_t n = 0; n < outer; ++n)
                for (std::int64_t i = 0; i < inner; ++i) {
                    const float x = values[static_cast<std::size_t>((n * channels + c) * inner + i)];
                    if (std::isfinite(x)) sum += x;
                }
            // Clamped far above any activation a network computes, so the integer cannot overflow.
            const double mean = std::clamp(sum / double(outer * inner), -double(1 << 20), double(1 << 20));
            sums_[static_cast<std::size_t>(c)] += static_cast<wide>(std::llround(std::ldexp(mean, radix)));
        }
        ++count_;
    }

    void merge(const channel_mean_observer& other) {
        if (other.sums_.empty()) return;
        if (sums_.empty()) sums_.assign(other.sums_.size(), 0);
        if (sums_.size() != other.sums_.size()) return;
        for (std::size_t c = 0; c < sums_.size(); ++c) sums_[c] += other.sums_[c];
        count_ += other.count_;
    }

    // One mean per channel; empty when nothing was observed.
    std::vector<double> means() const {
        std::vector<double> m(sums_.size(), 0.0);
        if (count_ == 0) return {};
        for (std::size_t c = 0; c < sums_.size(); ++c)
            m[c] = std::ldexp(double(sums_[c] / static_cast<wide>(count_)), -radix);
        return m;
    }

private:
    std::vector<wide> sums_;
    std::uint64_t count_ = 0;
};

}  // namespace ktc::quant
