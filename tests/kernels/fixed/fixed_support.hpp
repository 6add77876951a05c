// tests/kernels/fixed/fixed_support.hpp - running one fixed-point kernel on a hand-built
// quantized node, and comparing it with its float twin within a bound.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ktc/kernels/fixed/fixed_point.hpp"
#include "ktc/kernels/fixed/registry.hpp"
#include "ktc/fixed/annotations.hpp"
#include "support/kernel_runner.hpp"

namespace ktc::testing {

using fixed::value_format;

// The format of an input that is not an activation (a constant weight, an int64 shape).
inline constexpr value_format not_q{static_cast<int>(fixed::not_quantized), 0};

// `a` plus the fixed-point annotations of a node with these input and output formats.
inline graph::attributes quantized(graph::attributes a, const std::vector<value_format>& ins,
                                   const std::vector<value_format>& outs) {
    std::vector<std::int64_t> ir, ib, orad, ob;
    std::vector<float> is, os;
    for (const auto& f : ins) {
        ir.push_back(f.radix);
        ib.push_back(f.bits);
        is.push_back(static_cast<float>(f.scale));
    }
    for (const auto& f : outs) {
        orad.push_back(f.radix);
        ob.push_back(f.bits);
        os.push_back(static_cast<float>(f.scale));
    }
    a.set(fixed::attr::input_radix, ir);
    a.set(fixed::attr::input_bits, ib);
    a.set(fixed::attr::output_radix, orad);
    a.set(fixed::attr::output_bits, ob);
    const auto any_scale = [](const std::vector<float>& s) {
        return std::any_of(s.begin(), s.end(), [](float x) { return x != 1.f; });
    };
    if (any_scale(is))
        a.set(fixed::attr::input_scale, is);  // written only where one differs from 1, as the quantizer does
    if (any_scale(os)) a.set(fixed::attr::output_scale, os);
    return a;
}

// Runs the fixed-point kernel registered for `op` on node "n0" (inputs "in<i>", outputs "out<i>").
inline std::vector<tensor> run_fixed(const std::string& op, const graph::attributes& attrs,
                                     std::vector<const tensor*> inputs, std::size_t outputs = 1) {
    graph::node node;
    node.name = "n0";
    node.op_type = op;
    node.attrs = attrs;
    for (std::size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back(inputs[i] ? "in" + std::to_string(i) : "");
    for (std::size_t i = 0; i < outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
    std::vector<tensor> out(outputs);
    kernels::fixed::kernels().at(op)(kernels::kernel_call{node, inputs, out});
    return out;
}
inline tensor run_fixed1(const std::string& op, const graph::attributes& attrs, std::vector<const tensor*> inputs) {
    return std::move(run_fixed(op, attrs, std::move(inputs))[0]);
}

// Float <-> fixed for whole tensors, element by element through fixed_point.hpp.
inline tensor quantize(const tensor& f, int radix, int bits) {
    const auto v = f.to_vector<double>();
    tensor q(fixed::integer_type(bits), f.shape());
    std::vector<std::int64_t> codes(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) codes[i] = fixed::quantize(v[i], radix, bits);
    return tensor::from<std::int64_t>(f.shape(), codes).cast(q.type());
}
inline tensor quantize(const tensor& f, const value_format& format) {
    const auto v = f.to_vector<double>();
    std::vector<std::int64_t> codes(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) codes[i] = fixed::quantize(v[i], format);
    return tensor::from<std::int64_t>(f.shape(), codes).cast(fixed::integer_type(format.bits));
}
inline tensor dequantize(const tensor& q, const value_format& format) {
    const auto v = q.to_vector<std::int64_t>();
    std::vector<float> f(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) f[i] = fixed::dequantize(v[i], format);
    return tensor::from<float>(q.shape(), f);
}
inline tensor dequantize(const tensor& q, int radix) {
    const auto v = q.to_vector<std::int64_t>();
    std::vector<float> f(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) f[i] = fixed::dequantize(v[i], radix);
    return tensor::from<float>(q.shape(), f);
}
// Per-channel quantization along axis `axis` (the weight of a conv: axis 0).
inline tensor quantize_per_channel(const tensor& f, const std::vector<int>& radix, int bits, int axis) {
    const auto v = f.to_vector<double>();
    const auto st = strides_of(f.shape());
    std::vector<std::int64_t> codes(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        const std::int64_t c = (static_cast<std::int64_t>(i) / st[axis]) % f.shape()[axis];
        codes[i] = fixed::quantize(v[i], radix[radix.size() == 1 ? 0 : c], bits);
    }
    return tensor::from<std::int64_t>(f.shape(), codes).cast(fixed::integer_type(bits));
}
inline tensor dequantize_per_channel(const tensor& q, const std::vector<int>& radix, int axis) {
    const auto v = q.to_vector<std::int64_t>();
    const auto st = strides_of(q.shape());
    std::vector<float> f(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        const std::int64_t c = (static_cast<std::int64_t>(i) / st[axis]) % q.shape()[axis];
        f[i] = fixed::dequantize(v[i], radix[radix.size() == 1 ? 0 : c]);
    }
    return tensor::from<float>(q.shape(), f);
}

// Uniform integer codes of a width (the whole range unless limited), deterministic per rng.
inline tensor random_codes(std::mt19937& rng, shape_t shape, int bits, std::int64_t lo, std::int64_t hi) {
    std::uniform_int_distribution<std::int64_t> d(lo, hi);
    std::vector<std::int64_t> v(static_cast<std::size_t>(element_count(shape)));
    for (auto& x : v) x = d(rng);
    return tensor::from<std::int64_t>(shape, v).cast(fixed::integer_type(bits));
}
inline tensor random_codes(std::mt19937& rng, shape_t shape, int bits) {
    return random_codes(rng, std::move(shape), bits, fixed::min_of(bits), fixed::max_of(bits));
}
inline tensor random_floats(std::mt19937& rng, shape_t shape, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(static_cast<std::size_t>(element_count(shape)));
    for (auto& x : v) x = d(rng);
    return tensor::from<float>(shape, v);
}
inline tensor abs_of(const tensor& f) {
    auto v = f.to_vector<float>();
    for (auto& x : v) x = std::abs(x);
    return tensor::from<float>(f.shape(), v);
}

inline double lsb(int radix) { return std::ldexp(1.0, -radix); }
inline double lsb(const value_format& f) { return std::ldexp(1.0, -f.radix) / f.scale; }  // one code of f

// Checks |dequantize(got) - clamp(want)| <= bound[i] for each element, where clamp limits the
// float reference to the output's representable range (saturation is 1-Lipschitz, so a bound
// on the unsaturated error holds for the saturated one). Returns the largest error seen, in LSBs.
inline double check_within(const tensor& got, value_format f, const tensor& want, const std::vector<double>& bound) {
    REQUIRE(got.type() == fixed::integer_type(f.bits));
    REQUIRE(got.shape() == want.shape());
    REQUIRE(bound.size() == static_cast<std::size_t>(want.size()));
    const auto q = got.to_vector<std::int64_t>();
    const auto w = want.to_vector<double>();
    const double lo = fixed::min_of(f.bits) * lsb(f), hi = fixed::max_of(f.bits) * lsb(f);
    double worst = 0;
    std::size_t failures = 0;
    for (std::size_t i = 0; i < q.size(); ++i) {
        const double g = fixed::dequantize(q[i], f), ref = std::min(std::max(w[i], lo), hi);
        const double err = std::abs(g - ref);
        worst = std::max(worst, err / lsb(f));
        if (err > bound[i] && failures++ < 5) {
            INFO("element " << i << ": got " << g << " (code " << q[i] << "), float " << w[i] << ", bound "
                            << bound[i]);
            CHECK(err <= bound[i]);
        }
    }
    CHECK(failures == 0);
    return worst;
}
inline double check_within(const tensor& got, value_format f, const tensor& want, double bound) {
    return check_within(got, f, want, std::vector<double>(static_cast<std::size_t>(want.size()), bound));
}

// The integer codes of a tensor, for exact checks.
inline std::vector<std::int64_t> codes(const tensor& t) { return t.to_vector<std::int64_t>(); }

}  // namespace ktc::testing
