// tests/support/synthetic_images.hpp - deterministic test images for models trained on real
// ones: random noise would drive their activations where no real input takes them.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "ktc/core/tensor.hpp"

namespace ktc::testing {

// A white page (1.0, as PaddleOCR normalizes it) with dark glyph-like strokes (-1.0) on lines of
// text: random noise would drive the detector's probabilities to ~1e-5 everywhere and compare
// nothing but rounding.
inline tensor synthetic_text_page(const shape_t& nchw, std::uint32_t seed = 20261127) {
    tensor x(dtype::float32, nchw);
    const std::int64_t C = nchw[1], H = nchw[2], W = nchw[3];
    std::vector<float> page(H * W, 1.f);
    std::mt19937 rng(seed);
    const std::int64_t line_height = std::max<std::int64_t>(8, H / 5);
    for (std::int64_t top = line_height / 3; top + line_height <= H; top += line_height + line_height / 2) {
        for (std::int64_t left = 4; left + 8 < W;) {
            const std::int64_t glyph = 4 + rng() % (line_height / 2 + 1);
            for (std::int64_t y = top + 2; y < top + line_height - 2; ++y)
                for (std::int64_t x0 = left; x0 < std::min(W, left + glyph); ++x0) {
                    const bool stroke = x0 == left || x0 == left + glyph - 1 ||
                                        y == top + 2 + static_cast<std::int64_t>(rng() % 2) * (line_height / 2);
                    if (stroke) page[y * W + x0] = -1.f;
                }
            left += glyph + 2 + rng() % 4;
        }
    }
    for (std::int64_t c = 0; c < C; ++c) std::copy(page.begin(), page.end(), x.values<float>().begin() + c * H * W);
    return x;
}

// A natural-looking image in NCHW: per channel a sum of a few random low-frequency waves plus a
// little noise, about zero-mean with standard deviation ~0.5 (inputs normalized the ImageNet way).
inline tensor synthetic_smooth_image(const shape_t& nchw, std::uint32_t seed) {
    tensor x(dtype::float32, nchw);
    const std::int64_t C = nchw[1], H = nchw[2], W = nchw[3];
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> frequency(0.5f, 6.f), phase(0.f, 6.2832f), amplitude(0.2f, 1.f);
    std::normal_distribution<float> noise(0.f, 0.1f);
    const float side = float(std::max(H, W));
    auto out = x.values<float>();
    for (std::int64_t c = 0; c < C; ++c) {
        float fx[4], fy[4], ph[4], amp[4];
        for (int k = 0; k < 4; ++k)
            fx[k] = frequency(rng), fy[k] = frequency(rng), ph[k] = phase(rng), amp[k] = amplitude(rng);
        for (std::int64_t y = 0; y < H; ++y)
            for (std::int64_t x0 = 0; x0 < W; ++x0) {
                float v = noise(rng);
                for (int k = 0; k < 4; ++k) v += amp[k] * std::sin(6.2832f * (fx[k] * x0 + fy[k] * y) / side + ph[k]);
                out[(c * H + y) * W + x0] = 0.5f * v;
            }
    }
    return x;
}

}  // namespace ktc::testing
