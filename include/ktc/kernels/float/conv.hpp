// ktc/kernels/float/conv.hpp - Conv and ConvTranspose in float, any number of spatial axes.
//
// Conv lowers each group to one matrix product, Y[M/g, out] = W[M/g, C/g*k] * cols[C/g*k, out]:
// a 1x1 stride-1 unpadded conv reads the input itself as `cols`; other convs gather it with
// im2col; depthwise convs (one input and one output channel per group) skip the product and
// slide the window directly. ConvTranspose is the adjoint: cols = W^T * X, then col2im adds the
// columns into the output.
#pragma once

#include "ktc/core/config.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>
#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include "ktc/kernels/attributes.hpp"
#include "ktc/kernels/kernel.hpp"
#include "ktc/kernels/simd.hpp"
#include "ktc/kernels/window.hpp"

namespace ktc::kernels::floating {

namespace detail {

using row_major = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using matrix_map = Eigen::Map<row_major>;
using const_matrix_map = Eigen::Map<const row_major>;

// Visits every (kernel offset, output position) pair of a window and the input index it reads
// (-1 when it falls in the padding). Plain 2-D loops when rank is 2; an odometer otherwise.
template <class F>
void for_each_tap(const window& w, F&& f) {
    const std::size_t r = w.rank();
    if (r == 2) {
        const std::int64_t H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
        std::int64_t tap = 0;
        for (std::int64_t kh = 0; kh < w.kernel[0]; ++kh)
            for (std::int64_t kw = 0; kw < w.kernel[1]; ++kw, ++tap) {
                std::int64_t o = 0;
                for (std::int64_t oh = 0; oh < OH; ++oh) {
                    const std::int64_t ih = oh * w.strides[0] - w.pads_begin[0] + kh * w.dilations[0];
                    const bool row_in = ih >= 0 && ih < H;
                    for (std::int64_t ow = 0; ow < OW; ++ow, ++o) {
                        const std::int64_t iw = ow * w.strides[1] - w.pads_begin[1] + kw * w.dilations[1];
                        f(tap, o, row_in && iw >= 0 && iw < W ? ih * W + iw : -1);
                    }
                }
            }
        return;
    }
    shape_t k(r, 0), o(r, 0);
    for (std::int64_t tap = 0; tap < w.kernel_size(); ++tap) {
        std::fill(o.begin(), o.end(), 0);
        for (std::int64_t out = 0; out < w.out_size(); ++out) {
            std::int64_t index = 0;
            bool inside = true;
            for (std::size_t d = 0; d < r; ++d) {
                const std::int64_t i = o[d] * w.strides[d] - w.pads_begin[d] + k[d] * w.dilations[d];
                inside = inside && i >= 0 && i < w.in[d];
                index = index * w.in[d] + i;
            }
            f(tap, out, inside ? index : -1);
            for (std::size_t d = r; d-- > 0;)
                if (++o[d] < w.out[d]) break;
                else o[d] = 0;
        }
        for (std::size_t d = r; d-- > 0;)
            if (++k[d] < w.kernel[d]) break;
            else k[d] = 0;
    }
}

// cols[c * taps + tap, o] = x[c, input index of (tap, o)], 0 in the padding, for the output
// positions o of output rows [row_begin, row_end) of a 2-D window (all positions otherwise).
// Float for the float conv; int8 for the fixed one's VNNI route (kernels/fixed/conv_vnni.hpp).
template <class T>
void im2col(const T* x, std::int64_t channels, const window& w, T* cols, std::int64_t row_begin = 0,
            std::int64_t row_end = -1) {
    const std::int64_t taps = w.kernel_size(), in = w.in_size();
    if (w.rank() != 2) {
        const std::int64_t out = w.out_size();
        for (std::int64_t c = 0; c < channels; ++c)
            for_each_tap(
                w, [&, xc = x + c * in, cc = cols + c * taps * out](std::int64_t tap, std::int64_t o, std::int64_t i) {
                    cc[tap * out + o] = i < 0 ? T{} : xc[i];
                });
        return;
    }
    const std::int64_t H = w.in[0], W = w.in[1], OW = w.out[1];
    if (row_end < 0) row_end = w.out[0];
    const std::int64_t sh = w.strides[0], sw = w.strides[1], dh = w.dilations[0], dw = w.dilations[1];
    const std::int64_t out = (row_end - row_begin) * OW;
    for (std::int64_t c = 0; c < channels; ++c) {
        const T* xc = x + c * in;
        for (std::int64_t kh = 0; kh < w.kernel[0]; ++kh)
            for (std::int64_t kw = 0; kw < w.kernel[1]; ++kw) {
                T* dst = cols + (c * taps + kh * w.kernel[1] + kw) * out;
                // Output columns whose input column lies inside the image: [ow_lo, ow_hi).
                const std::int64_t off = kw * dw - w.pads_begin[1];
                const std::int64_t ow_lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                const std::int64_t ow_hi = W - off <= 0 ? 0 : std::min(OW, (W - off + sw - 1) / sw);
                for (std::int64_t oh = row_begin; oh < row_end; ++oh, dst += OW) {
                    const std::int64_t ih = oh * sh - w.pads_begin[0] + kh * dh;
                    if (ih < 0 || ih >= H || ow_lo >= ow_hi) {
                        std::fill(dst, dst + OW, T{});
                        continue;
                    }
                    const T* src = xc + ih * W + off;
                    std::fill(dst, dst + ow_lo, T{});
                    if (sw == 1) {
                        std::copy(src + ow_lo, src + ow_hi, dst + ow_lo);
                    } else {
                        for (std::int64_t ow = ow_lo; ow < ow_hi; ++ow) dst[ow] = src[ow * sw];
                    }
                    std::fill(dst + ow_hi, dst + OW, T{});
                }
            }
    }
}

// The adjoint of im2col: x[c, input index of (tap, out)] += cols[c * taps + tap, out].
inline void col2im(const float* cols, std::int64_t channels, const window& w, float* x) {
    const std::int64_t taps = w.kernel_size(), out = w.out_size(), in = w.in_size();
    for (std::int64_t c = 0; c < channels; ++c) {
        const float* cc = cols + c * taps * out;
        float* xc = x + c * in;
        for_each_tap(w, [&](std::int64_t tap, std::int64_t o, std::int64_t i) {
            if (i >= 0) xc[i] += cc[tap * out + o];
        });
    }
}

// What a conv does to its results before storing them: add the bias, then clamp (the clamp is an
// activation the simulator fused into the conv, see sim/float_simulator.hpp; +-inf when none).
struct epilogue {
    const float* bias;  // per output channel, or nullptr
    float lo, hi;

    bool clamps() const {
        return lo > -std::numeric_limits<float>::infinity() || hi < std::numeric_limits<float>::infinity();
    }
    // y[0, n) = clamp(v) for n <= 16 lanes, the bias already in v (a NaN stays NaN, as in the
    // ONNX ops).
    void store(simd::f32x16 v, std::int64_t n, float* y) const {
        if (clamps()) v = simd::clamp(v, simd::broadcast(lo), simd::broadcast(hi));
        if (n == simd::lanes) simd::store(y, v);
        else simd::store_first(y, v, n);
    }
    // y[r, i] for r < rows, i < width (rows `stride` apart) belong to channels first_channel + r.
    void apply(float* y, std::int64_t rows, std::int64_t width, std::int64_t stride, std::int64_t first_channel) const {
        if (!bias && !clamps()) return;
        for (std::int64_t r = 0; r < rows; ++r) {
            float* row = y + r * stride;
            const simd::f32x16 b = simd::broadcast(bias ? bias[first_channel + r] : 0.f);
            for (std::int64_t i = 0; i < width; i += simd::lanes) {
                const std::int64_t n = std::min(simd::lanes, width - i);
                if (n == simd::lanes) {
                    store(simd::load(row + i) + b, n, row + i);
                } else {
                    float tail[simd::lanes] = {};
                    std::copy(row + i, row + i + n, tail);
                    store(simd::load(tail) + b, n, row + i);
                }
            }
        }
    }
};

// A depthwise conv, one channel at a time: y = sum over taps of w[tap] * x[window], then `post`.
// 2-D: each channel is copied into zero-padded "phase planes", plane (a, b) holding the padded
// rows a, a + sh, ... and columns b, b + sw, ... for strides (sh, sw). Every tap then reads the
// same plane position for output (oh, ow) plus a fixed offset, so the outputs are computed over a
// flat grid of rows `grid_w` wide (the output width plus the columns the window overhangs): 16
// grid positions per vector whatever the map's width, a 7x7 map as full vectors as a 112x112
// one. The grid's overhanging columns are computed and dropped when the rows are copied out. The
// planes are laid out once per layer: the padding is zeroed then, and each channel overwrites
// only the image inside it (a per-channel set-up dominated the small maps of late layers).
class depthwise_planes {
public:
    // Lays the planes out for window w, reusing the memory of an earlier layout (the simulators
    // keep one per thread: no allocation or page faults per call). w must outlive the runs.
    void reset(const window& w) {
        w_ = &w;
        tap_offset_.clear();
        if (w.rank() != 2) return;
        H = w.in[0], W = w.in[1], OH = w.out[0], OW = w.out[1];
        sh = w.strides[0], sw = w.strides[1], pt = w.pads_begin[0], pl = w.pads_begin[1];
        const std::int64_t KH = w.kernel[0], KW = w.kernel[1], dh = w.dilations[0], dw = w.dilations[1];
        // A plane row holds every column a tap reads: output column ow reads plane column
        // ow + (kw * dw) / sw. Likewise the plane rows.
        grid_w = OW + (KW - 1) * dw / sw;
        plane_rows = OH + (KH - 1) * dh / sh;
        grid_size = (OH * grid_w + group - 1) / group * group;
        // The grid's last step and its overhanging columns read up to group + grid_w positions
        // past the last plane (values that only dropped positions see).
        planes_.assign(static_cast<std::size_t>(sh * sw * plane_rows * grid_w + group + grid_w), 0.f);
        line_.assign(static_cast<std::size_t>(grid_w * sw), 0.f);
        byte_line_.assign(line_.size(), 0);
        // 8 bytes per position (any output type) and 64 bytes of slack for copy_rows' blocks.
        scratch_.resize(static_cast<std::size_t>(grid_size + 8));
        // Input row ih is padded row r = ih + pt: row r / sh of the planes of row phase r % sh (the
        // rows below the last one a tap reads are not laid out).
        row_start_.clear();
        for (std::int64_t r = pt; r < pt + H && r / sh < plane_rows; ++r)
            row_start_.push_back(((r % sh) * sw * plane_rows + r / sh) * grid_w);
        for (std::int64_t kh = 0; kh < KH; ++kh)
            for (std::int64_t kw = 0; kw < KW; ++kw) {
                const std::int64_t r = kh * dh, c = kw * dw;  // padded position read by output (0, 0)
                tap_offset_.push_back((((r % sh) * sw + c % sw) * plane_rows + r / sh) * grid_w + c / sw);
            }
    }

    // Output channel `channel` of y from input channel x and its taps k.
    void run(const float* x, const float* k, const epilogue& post, std::int64_t channel, float* y) {
        if (w_->rank() != 2) {
            const std::int64_t out = w_->out_size();
            std::fill(y, y + out, 0.f);
            for_each_tap(*w_, [&](std::int64_t tap, std::int64_t o, std::int64_t i) {
                if (i >= 0) y[o] += k[tap] * x[i];
            });
            post.apply(y, 1, out, out, channel);
            return;
        }
        const bool clamps = post.clamps();
        const simd::f32x16 lo = simd::broadcast(post.lo), hi = simd::broadcast(post.hi);
        run_2d(x, k, post.bias ? post.bias[channel] : 0.f, y,
               [&](simd::f32x16 v, float* out) { simd::store(out, clamps ? simd::clamp(v, lo, hi) : v); });
    }

    // A 2-D window's channel from x (float, or integers a float holds exactly, converted as they
    // are laid out) into y[OH * OW]: finish(sums, out) receives the sums of 16 grid positions,
    // `bias` included, and writes 16 Y values at out; the float conv stores them through its
    // epilogue, the fixed conv requantizes them (kernels/fixed/conv.hpp).
    template <class X, class Y, class Finish>
    void run_2d(const X* x, const float* k, float bias, Y* y, Finish&& finish) {
        static_assert(sizeof(Y) <= sizeof(std::int64_t));
        lay_out(x);
        Y* grid = reinterpret_cast<Y*>(scratch_.data());
        // Four vectors at a time: four independent FMA chains per tap instead of one, which is
        // what keeps the FMA units busy (a single chain waits on latency). The accumulators are
        // named values so that they stay in registers.
        // Locals rather than members: an int8 store in `finish` may alias anything, and would
        // make the compiler reload every member after it.
        using simd::f32x16, simd::load;
        const f32x16 b = simd::broadcast(bias);
        const std::int64_t taps = static_cast<std::int64_t>(tap_offset_.size()), size = grid_size;
        const float* planes = planes_.data();
        const std::int64_t* offset = tap_offset_.data();
        constexpr std::int64_t L = simd::lanes;
        for (std::int64_t j = 0; j < size; j += group) {
            f32x16 a0 = b, a1 = b, a2 = b, a3 = b;
            for (std::int64_t t = 0; t < taps; ++t) {
                const float* p = planes + offset[t] + j;
                const f32x16 kv = simd::broadcast(k[t]);
                a0 += kv * load(p);
                a1 += kv * load(p + L);
                a2 += kv * load(p + 2 * L);
                a3 += kv * load(p + 3 * L);
            }
            finish(a0, grid + j);
            finish(a1, grid + j + L);
            finish(a2, grid + j + 2 * L);
            finish(a3, grid + j + 3 * L);
        }
        copy_rows(grid, OH, OW, grid_w, y);
    }

private:
    static constexpr std::int64_t group = 4 * simd::lanes;  // grid positions per step of run_2d

    // Copies the channel's image into the planes; the padding around it stays zero.
    template <class X>
    void lay_out(const X* x) {
        // Locals rather than members, as in run_2d (an int8 source may alias them).
        const std::int64_t width = grid_w, stride = sw, in_w = W, left = pl;
        const std::int64_t copy_w = std::max<std::int64_t>(0, std::min(in_w, width * stride - left));
        const std::int64_t plane_step = plane_rows * width;  // from column phase b to b + 1
        const std::int64_t rows = static_cast<std::int64_t>(row_start_.size());
        for (std::int64_t ih = 0; ih < rows; ++ih) {
            const X* src = x + ih * in_w;
            float* row = planes_.data() + row_start_[static_cast<std::size_t>(ih)];
            if (stride == 1) {
                simd::convert(src, copy_w, row + left);
                continue;
            }
            if constexpr (std::is_same_v<X, std::int8_t>)
                if (stride == 2) {  // the bytes dealt and converted in one pass
                    std::copy_n(src, copy_w, byte_line_.data() + left);
                    deal_pairs(byte_line_.data(), width, row, row + plane_step);
                    continue;
                }
            // Each input row is laid into a zero-padded line, then dealt round-robin to the planes.
            simd::convert(src, copy_w, line_.data() + left);
            const float* line = line_.data();
            if (stride == 2) {  // the common strided case, 16 columns per plane at a time
                float* even = row;
                float* odd = row + plane_step;
                std::int64_t j = 0;
                for (; j + simd::lanes <= width; j += simd::lanes) simd::deinterleave(line + 2 * j, even + j, odd + j);
                for (; j < width; ++j) {
                    even[j] = line[2 * j];
                    odd[j] = line[2 * j + 1];
                }
                continue;
            }
            for (std::int64_t b = 0; b < stride; ++b)
                for (std::int64_t j = 0; j < width; ++j) row[b * plane_step + j] = line[j * stride + b];
        }
    }

    // y's rows from the grid's: whole 64-byte blocks (no call per row: a 7x7 map has 7 rows of 7
    // bytes per channel), each row's tail overwritten by the next row, except where a block
    // would pass the end of y. The grid's scratch holds at least 64 bytes past its last row.
    template <class Y>
    static void copy_rows(const Y* grid, std::int64_t rows, std::int64_t width, std::int64_t grid_w, Y* y) {
        constexpr std::int64_t block = 64 / sizeof(Y);
        const std::int64_t blocks = (width + block - 1) / block * block, total = rows * width;
        for (std::int64_t r = 0; r < rows; ++r) {
            const Y* src = grid + r * grid_w;
            Y* dst = y + r * width;
            if (r * width + blocks <= total)
                for (std::int64_t c = 0; c < blocks; c += block) std::memcpy(dst + c, src + c, 64);
            else std::copy_n(src, width, dst);
        }
    }

    // even[j] = line[2j], odd[j] = line[2j + 1] as floats, j < n. With VBMI 32 pairs at a time (the
    // last step masked): one byte permutation gathers the even bytes in the low half of a vector
    // and the odd ones in the high half, each 16 then widened to float; elsewhere a loop the
    // compiler vectorizes, with a scalar tail.
    static void deal_pairs(const std::int8_t* __restrict line, std::int64_t n, float* __restrict even,
                           float* __restrict odd) {
        std::int64_t j = 0;
#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
        alignas(64) static constexpr std::int8_t order[64] = {
            0,  2,  4,  6,  8,  10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40, 42,
            44, 46, 48, 50, 52, 54, 56, 58, 60, 62, 1,  3,  5,  7,  9,  11, 13, 15, 17, 19, 21, 23,
            25, 27, 29, 31, 33, 35, 37, 39, 41, 43, 45, 47, 49, 51, 53, 55, 57, 59, 61, 63};
        const __m512i index = _mm512_load_si512(order);
        const auto widen = [](__m128i bytes) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)); };
        for (; j < n; j += 32) {  // the last step masked: fewer than 32 pairs left
            const std::int64_t left = std::min<std::int64_t>(32, n - j);
            const __mmask64 bytes = left == 32 ? ~__mmask64{0} : (__mmask64{1} << (2 * left)) - 1;
            const __mmask16 low = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1);
            const __mmask16 high = static_cast<__mmask16>(left >= 32  ? 0xFFFF
                                                          : left > 16 ? (1u << (left - 16)) - 1
                                                                      : 0);
            const __m512i v = _mm512_permutexvar_epi8(index, _mm512_maskz_loadu_epi8(bytes, line + 2 * j));
            _mm512_mask_storeu_ps(even + j, low, widen(_mm512_extracti32x4_epi32(v, 0)));
            _mm512_mask_storeu_ps(even + j + 16, high, widen(_mm512_extracti32x4_epi32(v, 1)));
            _mm512_mask_storeu_ps(odd + j, low, widen(_mm512_extracti32x4_epi32(v, 2)));
            _mm512_mask_storeu_ps(odd + j + 16, high, widen(_mm512_extracti32x4_epi32(v, 3)));
        }
#endif
        for (; j < n; ++j) {
            even[j] = static_cast<float>(line[2 * j]);
            odd[j] = static_cast<float>(line[2 * j + 1]);
        }
    }

    const window* w_ = nullptr;
    std::int64_t H = 0, W = 0, OH = 0, OW = 0, sh = 1, sw = 1, pt = 0, pl = 0;
    std::int64_t grid_w = 0, plane_rows = 0, grid_size = 0;
    std::vector<float> planes_, line_;
    std::vector<std::int8_t> byte_line_;    // an int8 row with its padding, before a stride-2 deal
    std::vector<std::int64_t> scratch_;     // the grid's outputs before their rows are copied out
    std::vector<std::int64_t> tap_offset_;  // where each tap reads, relative to grid position 0
    std::vector<std::int64_t> row_start_;   // where each input row is laid out
};

inline bool is_pointwise(const window& w) {
    for (std::size_t d = 0; d < w.rank(); ++d)
        if (w.kernel[d] != 1 || w.strides[d] != 1 || w.pads_begin[d] || w.pads_end[d]) return false;
    return true;
}

// A conv's geometry: the window, batch, channels in and out, groups.
struct conv_shape {
    window w;
    std::int64_t N = 1, C = 1, M = 1, group = 1;
};

// y[N, M, out...] = conv(x[N, C, in...], wt[M, C/group, k...]), then `post` per output channel.
// The one float conv loop: the float kernel runs it, and so does the fixed-point kernel on int8
// operands held exactly in float (kernels/fixed/conv.hpp).
inline void conv_groups(const conv_shape& s, const float* x, const float* wt, float* y, const epilogue& post) {
    const window& w = s.w;
    const std::int64_t N = s.N, C = s.C, M = s.M, group = s.group;
    const std::int64_t Cg = C / group, Mg = M / group, taps = w.kernel_size(), out = w.out_size();
    const bool depthwise = Cg == 1 && Mg == 1;
    const bool pointwise = is_pointwise(w);
    // The product runs over bands of output columns sized so a band's operands stay near L2
    // while the product reads them and the epilogue finds the band's results in cache: a 1x1
    // band's input and output together take ~1 MiB; a 2-D conv's band is whole output rows whose
    // im2col takes ~2 MiB (a whole-image im2col of a large early layer is tens of MiB).
    const std::int64_t K = Cg * taps;
    constexpr std::int64_t band_floats = 512 * 1024;
    const std::int64_t OW = w.rank() == 2 ? w.out[1] : out;
    const std::int64_t band_rows =
        w.rank() == 2 ? std::clamp<std::int64_t>(band_floats / std::max<std::int64_t>(K * OW, 1), 1, w.out[0]) : 1;
    const std::int64_t band_cols =
        std::clamp<std::int64_t>(band_floats / 2 / (K + Mg) / 16 * 16, 256, std::max<std::int64_t>(out, 1));
    std::vector<float> cols;
    if (!depthwise && !pointwise) cols.resize(static_cast<std::size_t>(w.rank() == 2 ? K * band_rows * OW : K * out));
    thread_local depthwise_planes planes;  // depthwise scratch, laid out once per call
    if (depthwise) planes.reset(w);
    using strided = Eigen::Map<row_major, 0, Eigen::OuterStride<>>;
    using const_strided = Eigen::Map<const row_major, 0, Eigen::OuterStride<>>;
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t g = 0; g < group; ++g) {
            const float* xg = x + (n * C + g * Cg) * w.in_size();
            const float* wg = wt + g * Mg * K;
            float* yg = y + (n * M + g * Mg) * out;
            const const_matrix_map weights(wg, Mg, K);
            const std::int64_t m0 = g * Mg;  // first output channel of the group
            if (depthwise) {
                planes.run(xg, wg, post, m0, yg);
            } else if (pointwise) {
                for (std::int64_t c0 = 0; c0 < out; c0 += band_cols) {
                    const std::int64_t width = std::min(band_cols, out - c0);
                    strided(yg + c0, Mg, width, Eigen::OuterStride<>(out)).noalias() =
                        weights * const_strided(xg + c0, K, width, Eigen::OuterStride<>(out));
                    post.apply(yg + c0, Mg, width, out, m0);
                }
            } else if (w.rank() != 2) {
                im2col(xg, Cg, w, cols.data());
                matrix_map(yg, Mg, out).noalias() = weights * const_matrix_map(cols.data(), K, out);
                post.apply(yg, Mg, out, out, m0);
            } else {
                for (std::int64_t r0 = 0; r0 < w.out[0]; r0 += band_rows) {
                    const std::int64_t r1 = std::min(w.out[0], r0 + band_rows), width = (r1 - r0) * OW;
                    im2col(xg, Cg, w, cols.data(), r0, r1);
                    strided(yg + r0 * OW, Mg, width, Eigen::OuterStride<>(out)).noalias() =
                        weights * const_matrix_map(cols.data(), K, width);
                    post.apply(yg + r0 * OW, Mg, width, out, m0);
                }
            }
        }
}

}  // namespace detail

inline void conv(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& wt = call.input(1);
    if (x.type() != dtype::float32 || wt.type() != dtype::float32)
        throw call.unsupported("only float32 Conv is implemented");
    if (x.rank() < 3 || wt.rank() != x.rank())
        throw call.fail("input " + to_string(x.shape()) + " and weight " + to_string(wt.shape()) +
                        " must both be N x C x spatial...");
    const std::int64_t N = x.dim(0), C = x.dim(1), M = wt.dim(0);
    const std::int64_t group = call.attrs().get_int("group", 1);
    if (group < 1 || C % group || M % group || wt.dim(1) != C / group)
        throw call.fail("group " + std::to_string(group) + " does not divide input channels " + std::to_string(C) +
                        " and weight " + to_string(wt.shape()));
    const shape_t in(x.shape().begin() + 2, x.shape().end());
    const shape_t kernel(wt.shape().begin() + 2, wt.shape().end());
    if (call.attrs().has("kernel_shape") && call.attrs().get_ints("kernel_shape") != kernel)
        throw call.fail("kernel_shape does not match the weight");
    const window w = resolve_window(call, in, kernel);
    const float* bias = nullptr;
    if (call.has_input(2)) {
        const tensor& b = call.input(2);
        if (b.type() != dtype::float32 || b.size() != M) throw call.fail("bias must be float32 [M]");
        bias = b.data<float>();
    }

    shape_t out_shape{N, M};
    out_shape.insert(out_shape.end(), w.out.begin(), w.out.end());
    tensor y(dtype::float32, out_shape);
    const detail::epilogue post{bias, call.attrs().get_float(attr::fused_min, -std::numeric_limits<float>::infinity()),
                                call.attrs().get_float(attr::fused_max, std::numeric_limits<float>::infinity())};
    detail::conv_groups({w, N, C, M, group}, x.data<float>(), wt.data<float>(), y.data<float>(), post);
    call.output() = std::move(y);
}

inline void conv_transpose(const kernel_call& call) {
    const tensor& x = call.input(0);
    const tensor& wt = call.input(1);
    if (x.type() != dtype::float32 || wt.type() != dtype::float32)
        throw call.unsupported("only float32 ConvTranspose is implemented");
    if (x.rank() < 3 || wt.rank() != x.rank()) throw call.fail("input and weight must both be N x C x spatial...");
    const auto& a = call.attrs();
    const std::int64_t N = x.dim(0), C = x.dim(1);
    const std::int64_t group = a.get_int("group", 1);
    if (group < 1 || C % group || wt.dim(0) != C) throw call.fail("weight must be [C, M/group, k...]");
    const std::int64_t Cg = C / group, Mg = wt.dim(1), M = Mg * group;
    const std::size_t r = static_cast<std::size_t>(x.rank() - 2);
    const shape_t in(x.shape().begin() + 2, x.shape().end());
    const shape_t kernel(wt.shape().begin() + 2, wt.shape().end());
    const shape_t strides = a.get_ints("strides", shape_t(r, 1));
    const shape_t dilations = a.get_ints("dilations", shape_t(r, 1));
    const shape_t output_padding = a.get_ints("output_padding", shape_t(r, 0));
    if (strides.size() != r || dilations.size() != r || output_padding.size() != r)
        throw call.fail("strides, dilations and output_padding need one value per spatial axis");
    shape_t pads = a.get_ints("pads", shape_t(2 * r, 0));
    if (pads.size() != 2 * r) throw call.fail("pads must have 2 values per spatial axis");
    const std::string auto_pad = a.get_string("auto_pad", "NOTSET");
    shape_t out_spatial(r);
    const shape_t output_shape = a.get_ints("output_shape");
    for (std::size_t d = 0; d < r; ++d) {
        const std::int64_t full = strides[d] * (in[d] - 1) + output_padding[d] + (kernel[d] - 1) * dilations[d] + 1;
        if (!output_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
            const std::int64_t target =
                !output_shape.empty() ? output_shape[output_shape.size() - r + d] : in[d] * strides[d];
            const std::int64_t total = full - target;
            // ONNX: SAME_UPPER puts the odd pad at the end, otherwise at the start; an output_shape
            // beyond what the conv produces grows the output at the end, like output_padding.
            pads[d] = total < 0 ? 0 : auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
            pads[d + r] = total - pads[d];
        }
        out_spatial[d] = full - pads[d] - pads[d + r];
    }
    // The transposed conv's output is the forward conv's input: describe the window that way.
    window w;
    w.kernel = kernel;
    w.strides = strides;
    w.dilations = dilations;
    w.pads_begin.assign(pads.begin(), pads.begin() + r);
    w.pads_end.assign(pads.begin() + r, pads.end());
    w.in = out_spatial;
    w.out = in;
    const std::int64_t taps = w.kernel_size(), in_size = w.out_size(), out_size = w.in_size();

    shape_t out_shape{N, M};
    out_shape.insert(out_shape.end(), out_spatial.begin(), out_spatial.end());
    tensor y = tensor::zeros(dtype::float32, out_shape);
    std::vector<float> cols(static_cast<std::size_t>(Mg * taps * in_size));
    for (std::int64_t n = 0; n < N; ++n)
        for (std::int64_t g = 0; g < group; ++g) {
            const float* xg = x.data<float>() + (n * C + g * Cg) * in_size;
            const float* wg = wt.data<float>() + g * Cg * Mg * taps;
            float* yg = y.data<float>() + (n * M + g * Mg) * out_size;
            detail::matrix_map(cols.data(), Mg * taps, in_size).noalias() =
                detail::const_matrix_map(wg, Cg, Mg * taps).transpose() * detail::const_matrix_map(xg, Cg, in_size);
            detail::col2im(cols.data(), Mg, w, yg);
        }
    if (call.has_input(2)) {
        const tensor& b = call.input(2);
        if (b.type() != dtype::float32 || b.size() != M) throw call.fail("bias must be float32 [M]");
        for (std::int64_t n = 0; n < N; ++n)
            for (std::int64_t m = 0; m < M; ++m) {
                float* row = y.data<float>() + (n * M + m) * out_size;
                for (std::int64_t i = 0; i < out_size; ++i) row[i] += b.data<float>()[m];
            }
    }
    call.output() = std::move(y);
}

KTC_DECL void add_conv_kernels(kernel_table& t);

}  // namespace ktc::kernels::floating

#if KTC_HEADER_ONLY
#include "ktc/kernels/float/conv.ipp"
#endif
