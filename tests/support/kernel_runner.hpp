// tests/support/kernel_runner.hpp - run one float kernel on a hand-built node, and compare the
// result with expected values.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ktc/kernels/float/registry.hpp"

namespace ktc::testing {

// Runs the float kernel registered for `op` on a node "n0" whose inputs are named "in<i>" ("" for
// a nullptr, i.e. an omitted optional input) and whose `outputs` outputs are named "out<i>".
// A float32 tensor of varied values that every kernel computes on exactly:
// ((i * 37) % 101 - 50) / 8 for element i.
inline tensor exact_pattern(shape_t shape) {
    tensor t(dtype::float32, std::move(shape));
    float* d = t.data<float>();
    for (std::int64_t i = 0; i < t.size(); ++i) d[i] = static_cast<float>((i * 37) % 101 - 50) * 0.125f;
    return t;
}

// Attributes from a brace list: attrs_of({{"axis", std::int64_t{1}}, {"mode", std::string("linear")}}).
inline graph::attributes attrs_of(std::initializer_list<std::pair<std::string, graph::attribute>> list) {
    graph::attributes a;
    for (const auto& [name, value] : list) a.set(name, value);
    return a;
}

inline std::vector<tensor> run_kernel(const std::string& op, const graph::attributes& attrs,
                                      std::vector<const tensor*> inputs, std::size_t outputs = 1) {
    graph::node node;
    node.name = "n0";
    node.op_type = op;
    node.attrs = attrs;
    for (std::size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back(inputs[i] ? "in" + std::to_string(i) : "");
    for (std::size_t i = 0; i < outputs; ++i) node.outputs.push_back("out" + std::to_string(i));
    std::vector<tensor> out(outputs);
    kernels::floating::kernels().at(op)(kernels::kernel_call{node, inputs, out});
    return out;
}

// run_kernel for a node with one output; returns that output.
inline tensor run_kernel1(const std::string& op, const graph::attributes& attrs, std::vector<const tensor*> inputs) {
    return std::move(run_kernel(op, attrs, std::move(inputs))[0]);
}

// How close a floating-point element must be: |got - want| <= atol + rtol * |want|.
// Make one with within(rtol, atol), or use `exactly`; the default is within(1e-6, 1e-7).
// It has no constructor taking numbers, so a braced list of expected values can never be taken
// for a tolerance when choosing between the check_close overloads.
struct tolerance {
    constexpr tolerance() = default;
    double rtol = 1e-6;
    double atol = 1e-7;
};

constexpr tolerance within(double rtol, double atol) {
    tolerance t;
    t.rtol = rtol;
    t.atol = atol;
    return t;
}

inline constexpr tolerance exactly = within(0, 0);

// Checks that `got` holds elements of type T (its dtype must be dtype_of<T>()) matching `want`
// element by element. Floating-point elements match within `tol`, an expected NaN by any NaN and
// an expected infinity only by the same infinity; integer and bool elements must be equal.
// `want` may hold a wider type than T (double expected values for a float tensor).
template <class T, class E = T>
void check_close(const tensor& got, const std::vector<E>& want, tolerance tol = {}) {
    REQUIRE(got.type() == dtype_of<T>());
    REQUIRE(got.size() == static_cast<std::int64_t>(want.size()));
    const T* p = got.data<T>();
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO("element " << i << ": got " << +p[i] << ", expected " << +want[i]);
        if constexpr (std::is_floating_point_v<T>) {
            const double g = p[i];
            const double w = want[i];
            if (std::isnan(w)) CHECK(std::isnan(g));
            else if (std::isinf(w)) CHECK(g == w);
            else CHECK(std::abs(g - w) <= tol.atol + tol.rtol * std::abs(w));
        } else {
            CHECK(static_cast<E>(p[i]) == want[i]);
        }
    }
}

// check_close that first requires `got` to have shape `shape`.
template <class T, class E = T>
void check_close(const tensor& got, const shape_t& shape, const std::vector<E>& want, tolerance tol = {}) {
    REQUIRE(got.shape() == shape);
    check_close<T>(got, want, tol);
}

}  // namespace ktc::testing
