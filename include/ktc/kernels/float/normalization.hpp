// ktc/kernels/float/normalization.hpp - normalization kernels as ONNX opset 17 defines them:
// BatchNormalization (inference, and training_mode=1 with its running statistics),
// InstanceNormalization, LpNormalization, LRN, MeanVarianceNormalization, LayerNormalization.
//
// Float32 and float64 inputs. Statistics (means, variances, norms) accumulate in double and use two
// passes (mean, then the mean of squared deviations), so a large mean does not cancel the variance;
// the per-element work then runs in the input type over contiguous rows.
#pragma once

#include "ktc/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "ktc/kernels/kernel.hpp"

namespace ktc::kernels::floating {
namespace norm_detail {

template <class F>
void visit_float(const kernel_call& call, dtype t, F&& f) {
    if (t == dtype::float32) return f(float{});
    if (t == dtype::float64) return f(double{});
    throw call.unsupported(std::string("input type ") + name_of(t) + " (float32 or float64 only)");
}

inline bool wants_output(const kernel_call& call, std::size_t i) {
    return i < call.outputs.size() && (i >= call.node.outputs.size() || !call.node.outputs[i].empty());
}

// A per-channel parameter input as doubles; it must hold exactly `channels` values.
inline std::vector<double> channel_param(const kernel_call& call, std::size_t i, std::int64_t channels,
                                         const char* what) {
    const tensor& t = call.input(i);
    if (t.size() != channels)
        throw call.fail(std::string(what) + " has shape " + to_string(t.shape()) + ", expected " +
                        std::to_string(channels) + " values");
    if (!is_floating(t.type())) throw call.unsupported(std::string(what) + " of type " + name_of(t.type()));
    return t.to_vector<double>();
}

// x viewed as [N, C, S]: S is the product of the axes after the channel axis.
struct ncs {
    std::int64_t n = 1, c = 1, s = 1;
};
inline ncs ncs_of(const kernel_call& call, const tensor& x) {
    if (x.rank() < 2) throw call.fail("input must be [N, C, ...], got shape " + to_string(x.shape()));
    ncs d{x.shape()[0], x.shape()[1], 1};
    for (std::int64_t a = 2; a < x.rank(); ++a) d.s *= x.shape()[a];
    return d;
}

// Values of t broadcast (numpy rules, right-aligned) to `target`, in row-major order of target.
template <class T>
std::vector<T> broadcast_to(const kernel_call& call, const tensor& t, const shape_t& target, const char* what) {
    shape_t s = t.shape();
    while (s.size() > target.size() && s.front() == 1) s.erase(s.begin());
    bool ok = s.size() <= target.size();
    for (std::size_t i = 0; ok && i < s.size(); ++i) {
        const std::int64_t d = s[s.size() - 1 - i];
        ok = d == 1 || d == target[target.size() - 1 - i];
    }
    if (!ok)
        throw call.fail(std::string(what) + " shape " + to_string(t.shape()) + " does not broadcast to " +
                        to_string(target));
    const std::vector<double> v = t.to_vector<double>();
    std::vector<T> out(static_cast<std::size_t>(element_count(target)));
    if (v.size() == out.size()) {
        std::copy(v.begin(), v.end(), out.begin());
        return out;
    }
    // Source strides aligned to target axes (0 where broadcast).
    const std::size_t r = target.size();
    shape_t src_strides(r, 0);
    const shape_t own = strides_of(s);
    for (std::size_t i = 0; i < s.size(); ++i)
        if (s[i] != 1) src_strides[r - s.size() + i] = own[i];
    shape_t idx(r, 0);
    for (std::size_t k = 0; k < out.size(); ++k) {
        std::int64_t off = 0;
        for (std::size_t a = 0; a < r; ++a) off += idx[a] * src_strides[a];
        out[k] = static_cast<T>(v[static_cast<std::size_t>(off)]);
        for (std::size_t a = r; a-- > 0;) {
            if (++idx[a] < target[a]) break;
            idx[a] = 0;
        }
    }
    return out;
}

// Sum of f(x[i]) over n contiguous values, accumulated in double over 8 interleaved lanes so that
// the compiler vectorizes it.
template <class T, class F>
double lane_sum(const T* x, std::int64_t n, F f) {
    constexpr int lanes = 8;
    double acc[lanes] = {};
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes)
        for (int k = 0; k < lanes; ++k) acc[k] += f(static_cast<double>(x[i + k]));
    for (int k = 0; i < n; ++i, ++k) acc[k] += f(static_cast<double>(x[i]));
    double r = 0;
    for (int k = 0; k < lanes; ++k) r += acc[k];
    return r;
}

// Mean and population variance of n contiguous values, two passes in double.
template <class T>
std::pair<double, double> mean_var(const T* x, std::int64_t n) {
    if (n == 0) return {0.0, 0.0};
    const double mean = lane_sum(x, n, [](double v) { return v; }) / static_cast<double>(n);
    const double var = lane_sum(x, n, [mean](double v) { return (v - mean) * (v - mean); }) / static_cast<double>(n);
    return {mean, var};
}

// y = x * a + b over n contiguous values.
template <class T>
void affine(const T* x, T* y, std::int64_t n, T a, T b) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] * a + b;
}

}  // namespace norm_detail

// BatchNormalization. Inference: y = (x - mean) / sqrt(var + epsilon) * scale + B per channel
// (axis 1). With training_mode=1 the batch's own statistics (mean and population variance over
// every axis but 1) normalize x, and the optional outputs running_mean and running_var are
// input * momentum + batch statistic * (1 - momentum), as the ONNX reference computes them.
inline void batch_normalization(const kernel_call& call) {
    using namespace norm_detail;
    const tensor& x = call.input(0);
    const ncs d = ncs_of(call, x);
    const auto scale = channel_param(call, 1, d.c, "scale");
    const auto bias = channel_param(call, 2, d.c, "B");
    auto mean = channel_param(call, 3, d.c, "input_mean");
    auto var = channel_param(call, 4, d.c, "input_var");
    const double eps = call.attrs().get_float("epsilon", 1e-5f);
    const double momentum = call.attrs().get_float("momentum", 0.9f);
    const bool training = call.attrs().get_int("training_mode", 0) != 0;
    if (!training && (wants_output(call, 1) || wants_output(call, 2)))
        throw call.fail("running_mean and running_var outputs need training_mode=1");
    tensor y(x.type(), x.shape());
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        const T* xd = x.data<T>();
        T* yd = y.data<T>();
        if (training) {
            // Batch statistics per channel, two passes in double.
            const double count = static_cast<double>(d.n * d.s);
            std::vector<double> bmean(d.c, 0.0), bvar(d.c, 0.0);
            for (std::int64_t n = 0; n < d.n; ++n)
                for (std::int64_t c = 0; c < d.c; ++c) {
                    const T* p = xd + (n * d.c + c) * d.s;
                    double s = 0;
                    for (std::int64_t i = 0; i < d.s; ++i) s += p[i];
                    bmean[c] += s;
                }
            for (auto& m : bmean) m = count > 0 ? m / count : 0.0;
            for (std::int64_t n = 0; n < d.n; ++n)
                for (std::int64_t c = 0; c < d.c; ++c) {
                    const T* p = xd + (n * d.c + c) * d.s;
                    double s = 0;
                    for (std::int64_t i = 0; i < d.s; ++i) {
                        const double v = p[i] - bmean[c];
                        s += v * v;
                    }
                    bvar[c] += s;
                }
            for (auto& v : bvar) v = count > 0 ? v / count : 0.0;
            for (std::int64_t c = 0; c < d.c; ++c) {
                mean[c] = mean[c] * momentum + bmean[c] * (1 - momentum);
                var[c] = var[c] * momentum + bvar[c] * (1 - momentum);
            }
            std::swap(bmean, mean);  // normalize with the batch statistics
            std::swap(bvar, var);
            for (std::size_t i = 1; i <= 2; ++i) {
                if (!wants_output(call, i)) continue;
                const tensor& like = call.input(i + 2);
                const std::vector<double>& v = i == 1 ? bmean : bvar;  // the running values
                call.output(i) = tensor::from<double>(like.shape(), v).cast(like.type());
            }
        }
        std::vector<T> a(d.c), b(d.c);
        for (std::int64_t c = 0; c < d.c; ++c) {
            const double k = scale[c] / std::sqrt(var[c] + eps);
            a[c] = static_cast<T>(k);
            b[c] = static_cast<T>(bias[c] - mean[c] * k);
        }
        for (std::int64_t n = 0; n < d.n; ++n)
            for (std::int64_t c = 0; c < d.c; ++c) {
                const std::int64_t off = (n * d.c + c) * d.s;
                affine(xd + off, yd + off, d.s, a[c], b[c]);
            }
    });
    call.output(0) = std::move(y);
}

// InstanceNormalization: each (n, c) plane normalized by its own mean and population variance,
// then scaled and shifted per channel.
inline void instance_normalization(const kernel_call& call) {
    using namespace norm_detail;
    const tensor& x = call.input(0);
    const ncs d = ncs_of(call, x);
    const auto scale = channel_param(call, 1, d.c, "scale");
    const auto bias = channel_param(call, 2, d.c, "B");
    const double eps = call.attrs().get_float("epsilon", 1e-5f);
    tensor y(x.type(), x.shape());
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        for (std::int64_t n = 0; n < d.n; ++n)
            for (std::int64_t c = 0; c < d.c; ++c) {
                const std::int64_t off = (n * d.c + c) * d.s;
                const auto [m, v] = mean_var(x.data<T>() + off, d.s);
                const double k = scale[c] / std::sqrt(v + eps);
                affine(x.data<T>() + off, y.data<T>() + off, d.s, static_cast<T>(k), static_cast<T>(bias[c] - m * k));
            }
    });
    call.output(0) = std::move(y);
}

// LpNormalization: x divided by its L1 or L2 norm along `axis` (an all-zero vector stays zero).
inline void lp_normalization(const kernel_call& call) {
    using namespace norm_detail;
    const tensor& x = call.input(0);
    const std::int64_t p = call.attrs().get_int("p", 2);
    if (p != 1 && p != 2) throw call.fail("p must be 1 or 2, got " + std::to_string(p));
    if (x.rank() < 1) throw call.fail("input must have at least one axis");
    std::int64_t axis;
    try {
        axis = normalize_axis(call.attrs().get_int("axis", -1), x.rank());
    } catch (const error& e) {
        throw call.fail(e.what());
    }
    std::int64_t outer = 1, inner = 1;
    const std::int64_t len = x.shape()[axis];
    for (std::int64_t a = 0; a < axis; ++a) outer *= x.shape()[a];
    for (std::int64_t a = axis + 1; a < x.rank(); ++a) inner *= x.shape()[a];
    tensor y(x.type(), x.shape());
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        std::vector<double> norm(static_cast<std::size_t>(inner));
        std::vector<T> inv(static_cast<std::size_t>(inner));
        for (std::int64_t o = 0; o < outer; ++o) {
            const T* xs = x.data<T>() + o * len * inner;
            T* ys = y.data<T>() + o * len * inner;
            std::fill(norm.begin(), norm.end(), 0.0);
            for (std::int64_t l = 0; l < len; ++l)
                for (std::int64_t i = 0; i < inner; ++i) {
                    const double v = xs[l * inner + i];
                    norm[i] += p == 1 ? std::abs(v) : v * v;
                }
            for (std::int64_t i = 0; i < inner; ++i) {
                const double nv = p == 1 ? norm[i] : std::sqrt(norm[i]);
                inv[i] = nv > 0 ? static_cast<T>(1.0 / nv) : T(0);
            }
            for (std::int64_t l = 0; l < len; ++l)
                for (std::int64_t i = 0; i < inner; ++i) ys[l * inner + i] = xs[l * inner + i] * inv[i];
        }
    });
    call.output(0) = std::move(y);
}

// GCC 12 reports its own AVX-512 intrinsics (the _mm512_undefined_* idiom) as maybe-uninitialized
// when Eigen's vectorized sqrt/log/exp inline into LRN; the warning is a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// LRN across channels: y = x / (bias + alpha / size * sum of x^2 over channels
// [c - floor((size-1)/2), c + ceil((size-1)/2)])^beta.
inline void lrn(const kernel_call& call) {
    using namespace norm_detail;
    const tensor& x = call.input(0);
    const ncs d = ncs_of(call, x);
    if (!call.attrs().has("size")) throw call.fail("attribute size is required");
    const std::int64_t size = call.attrs().get_int("size");
    if (size < 1) throw call.fail("size must be positive");
    const double alpha = call.attrs().get_float("alpha", 1e-4f);
    const double beta = call.attrs().get_float("beta", 0.75f);
    const double bias = call.attrs().get_float("bias", 1.0f);
    const std::int64_t before = (size - 1) / 2, after = size - 1 - before;
    tensor y(x.type(), x.shape());
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        const T k = static_cast<T>(alpha / static_cast<double>(size));
        const T t_bias = static_cast<T>(bias), t_beta = static_cast<T>(beta);
        std::vector<T> sq(static_cast<std::size_t>(d.c * d.s)), acc(static_cast<std::size_t>(d.s));
        for (std::int64_t n = 0; n < d.n; ++n) {
            const T* xs = x.data<T>() + n * d.c * d.s;
            T* ys = y.data<T>() + n * d.c * d.s;
            for (std::int64_t i = 0; i < d.c * d.s; ++i) sq[i] = xs[i] * xs[i];
            for (std::int64_t c = 0; c < d.c; ++c) {
                std::fill(acc.begin(), acc.end(), T(0));
                const std::int64_t lo = std::max<std::int64_t>(0, c - before);
                const std::int64_t hi = std::min(d.c - 1, c + after);
                for (std::int64_t cc = lo; cc <= hi; ++cc) {
                    const T* s = sq.data() + cc * d.s;
                    for (std::int64_t i = 0; i < d.s; ++i) acc[i] += s[i];
                }
                // Eigen's array functions vectorize sqrt, log and exp (std:: ones stay scalar
                // for errno's sake).
                using array = Eigen::Array<T, Eigen::Dynamic, 1>;
                const Eigen::Map<const array> xc(xs + c * d.s, d.s);
                Eigen::Map<array> yc(ys + c * d.s, d.s), base(acc.data(), d.s);
                base = t_bias + k * base;
                if (beta == 0.75) {
                    base = base.sqrt();
                    yc = xc / (base * base.sqrt());
                } else if (beta == 0.5) {
                    yc = xc / base.sqrt();
                } else {
                    yc = xc * (base.log() * -t_beta).exp();
                }
            }
        }
    });
    call.output(0) = std::move(y);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// MeanVarianceNormalization over `axes` (default [0, 2, 3]), as its opset-13 function body
// defines it: y = (x - mean) / (sqrt(variance) + 1e-9).
inline void mean_variance_normalization(const kernel_call& call) {
    using namespace norm_detail;
    const tensor& x = call.input(0);
    const std::int64_t rank = x.rank();
    std::vector<bool> reduced(static_cast<std::size_t>(rank), false);
    for (auto a : call.attrs().get_ints("axes", {0, 2, 3})) {
        if (a < -rank || a >= rank)
            throw call.fail("axis " + std::to_string(a) + " out of range for rank " + std::to_string(rank));
        reduced[a < 0 ? a + rank : a] = true;
    }
    // Group (index over the kept axes) of every element, in row-major order.
    shape_t group_strides(static_cast<std::size_t>(rank), 0);
    std::int64_t groups = 1;
    for (std::int64_t a = rank; a-- > 0;)
        if (!reduced[a]) {
            group_strides[a] = groups;
            groups *= x.shape()[a];
        }
    std::vector<std::int64_t> group(static_cast<std::size_t>(x.size()));
    {
        shape_t idx(static_cast<std::size_t>(rank), 0);
        std::int64_t g = 0;
        for (std::int64_t i = 0; i < x.size(); ++i) {
            group[i] = g;
            for (std::int64_t a = rank; a-- > 0;) {
                g += group_strides[a];
                if (++idx[a] < x.shape()[a]) break;
                g -= group_strides[a] * idx[a];
                idx[a] = 0;
            }
        }
    }
    const double count = groups ? static_cast<double>(x.size()) / static_cast<double>(groups) : 0;
    tensor y(x.type(), x.shape());
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        const T* xd = x.data<T>();
        T* yd = y.data<T>();
        std::vector<double> mean(static_cast<std::size_t>(groups), 0.0), var(mean);
        for (std::int64_t i = 0; i < x.size(); ++i) mean[group[i]] += xd[i];
        for (auto& m : mean) m /= count;
        for (std::int64_t i = 0; i < x.size(); ++i) {
            const double v = xd[i] - mean[group[i]];
            var[group[i]] += v * v;
        }
        std::vector<double> inv(var.size());
        for (std::size_t g = 0; g < var.size(); ++g) inv[g] = 1.0 / (std::sqrt(var[g] / count) + 1e-9);
        for (std::int64_t i = 0; i < x.size(); ++i) yd[i] = static_cast<T>((xd[i] - mean[group[i]]) * inv[group[i]]);
    });
    call.output(0) = std::move(y);
}

// LayerNormalization (opset 17): each row of the axes [axis, rank) normalized by its mean and
// population variance, then multiplied by Scale and shifted by B (both broadcast to those axes).
// The optional outputs Mean and InvStdDev (float32, the stash type) have x's shape with the
// normalized axes set to 1.
inline void layer_normalization(const kernel_call& call) {
    using namespace norm_detail;
    const tensor& x = call.input(0);
    if (x.rank() < 1) throw call.fail("input must have at least one axis");
    std::int64_t axis;
    try {
        axis = normalize_axis(call.attrs().get_int("axis", -1), x.rank());
    } catch (const error& e) {
        throw call.fail(e.what());
    }
    const double eps = call.attrs().get_float("epsilon", 1e-5f);
    std::int64_t outer = 1, len = 1;
    shape_t norm_shape, stat_shape;
    for (std::int64_t a = 0; a < x.rank(); ++a) {
        if (a < axis) {
            outer *= x.shape()[a];
            stat_shape.push_back(x.shape()[a]);
        } else {
            len *= x.shape()[a];
            norm_shape.push_back(x.shape()[a]);
            stat_shape.push_back(1);
        }
    }
    const bool want_mean = wants_output(call, 1), want_inv = wants_output(call, 2);
    tensor y(x.type(), x.shape());
    tensor mean_out(dtype::float32, stat_shape), inv_out(dtype::float32, stat_shape);
    visit_float(call, x.type(), [&](auto tag) {
        using T = decltype(tag);
        const std::vector<T> scale = broadcast_to<T>(call, call.input(1), norm_shape, "Scale");
        std::vector<T> bias(scale.size(), T(0));
        if (call.has_input(2)) bias = broadcast_to<T>(call, call.input(2), norm_shape, "B");
        for (std::int64_t o = 0; o < outer; ++o) {
            const T* xs = x.data<T>() + o * len;
            T* ys = y.data<T>() + o * len;
            const auto [m, v] = mean_var(xs, len);
            const double inv = 1.0 / std::sqrt(v + eps);
            mean_out.data<float>()[o] = static_cast<float>(m);
            inv_out.data<float>()[o] = static_cast<float>(inv);
            const T tm = static_cast<T>(m), ti = static_cast<T>(inv);
            for (std::int64_t i = 0; i < len; ++i) ys[i] = (xs[i] - tm) * ti * scale[i] + bias[i];
        }
    });
    call.output(0) = std::move(y);
    if (want_mean) call.output(1) = std::move(mean_out);
    if (want_inv) call.output(2) = std::move(inv_out);
}

KTC_DECL void add_normalization_kernels(kernel_table& t);

}  // namespace ktc::kernels::floating

#if KTC_HEADER_ONLY
#include "ktc/kernels/float/normalization.ipp"
#endif
