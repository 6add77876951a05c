// Reduction and along-an-axis float kernels. Expected values are worked by hand, taken from
// numpy (noted), or produced by a naive index-by-index reference written here independently of
// the kernels' collapsed plan.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "support/kernel_runner.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// Float results here are checked to 1e-6 relative and 1e-6 absolute.
const tolerance tol_reduce = within(1e-6, 1e-6);

// The ONNX Reduce* example: shape [3, 2, 2].
const tensor& example() {
    static const tensor t = tensor::from<float>({3, 2, 2}, {5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2});
    return t;
}

}  // namespace

TEST_CASE("ReduceSum takes axes from its second input and honours keepdims") {
    const tensor axes = tensor::from<std::int64_t>({1}, {1});
    const tensor y = run_kernel1("ReduceSum", {}, {&example(), &axes});
    CHECK(y.shape() == shape_t{3, 1, 2});
    check_close<float>(y, {25, 3, 70, 3, 115, 3}, tol_reduce);
    const tensor y2 = run_kernel1("ReduceSum", attrs_of({{"keepdims", std::int64_t{0}}}), {&example(), &axes});
    CHECK(y2.shape() == shape_t{3, 2});
    const tensor negative = tensor::from<std::int64_t>({2}, {-1, 0});
    const tensor y3 = run_kernel1("ReduceSum", {}, {&example(), &negative});
    CHECK(y3.shape() == shape_t{1, 2, 1});
    check_close<float>(y3, {93, 126}, tol_reduce);
}

TEST_CASE("ReduceSum with empty axes reduces everything, or nothing with noop_with_empty_axes") {
    const tensor none = tensor::from<std::int64_t>({0}, std::span<const std::int64_t>{});
    const tensor all = run_kernel1("ReduceSum", {}, {&example(), &none});
    CHECK(all.shape() == shape_t{1, 1, 1});
    check_close<float>(all, {219}, tol_reduce);
    const tensor omitted = run_kernel1("ReduceSum", attrs_of({{"keepdims", std::int64_t{0}}}), {&example()});
    CHECK(omitted.shape().empty());
    check_close<float>(omitted, {219}, tol_reduce);
    const tensor same =
        run_kernel1("ReduceSum", attrs_of({{"noop_with_empty_axes", std::int64_t{1}}}), {&example(), &none});
    CHECK(same.shape() == shape_t{3, 2, 2});
    check_close<float>(same, {5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2}, tol_reduce);
}

TEST_CASE("Reduce ops with the axes attribute match the ONNX examples") {
    const auto axis1 = attrs_of({{"axes", std::vector<std::int64_t>{1}}});
    check_close<float>(run_kernel1("ReduceMean", axis1, {&example()}), {12.5f, 1.5f, 35, 1.5f, 57.5f, 1.5f},
                       tol_reduce);
    check_close<float>(run_kernel1("ReduceMax", axis1, {&example()}), {20, 2, 40, 2, 60, 2}, tol_reduce);
    check_close<float>(run_kernel1("ReduceMin", axis1, {&example()}), {5, 1, 30, 1, 55, 1}, tol_reduce);
    check_close<float>(run_kernel1("ReduceProd", axis1, {&example()}), {100, 2, 1200, 2, 3300, 2}, tol_reduce);
    check_close<float>(run_kernel1("ReduceSumSquare", axis1, {&example()}), {425, 5, 2500, 5, 6625, 5}, tol_reduce);
    const tensor x = tensor::from<float>({3, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    const auto last = attrs_of({{"axes", std::vector<std::int64_t>{-1}}, {"keepdims", std::int64_t{0}}});
    check_close<float>(run_kernel1("ReduceL1", last, {&x}), {3, 7, 11, 15, 19, 23}, tol_reduce);
    // numpy: np.sqrt(np.sum(x**2, axis=-1))
    check_close<float>(run_kernel1("ReduceL2", last, {&x}),
                       {2.23606798f, 5.f, 7.81024968f, 10.63014581f, 13.45362405f, 16.2788206f}, tol_reduce);
    check_close<float>(run_kernel1("ReduceLogSum", last, {&x}),
                       {1.09861229f, 1.94591015f, 2.39789527f, 2.7080502f, 2.94443898f, 3.13549422f}, tol_reduce);
    // numpy: np.log(np.sum(np.exp(x), axis=-1))
    check_close<float>(run_kernel1("ReduceLogSumExp", last, {&x}),
                       {2.31326169f, 4.31326169f, 6.31326169f, 8.31326169f, 10.31326169f, 12.31326169f}, tol_reduce);
    const tensor all = run_kernel1("ReduceMean", {}, {&x});
    CHECK(all.shape() == shape_t{1, 1, 1});
    check_close<float>(all, {6.5f}, tol_reduce);
}

TEST_CASE("Reduce ops agree with a naive reference over many axis sets") {
    std::mt19937 rng(3);
    std::uniform_real_distribution<double> dist(0.5, 1.5);
    const shape_t shape{2, 3, 1, 4, 5};
    tensor x(dtype::float64, shape);
    for (auto& v : x.values<double>()) v = dist(rng);
    const std::vector<std::vector<std::int64_t>> axis_sets = {
        {0}, {1}, {2}, {3}, {4}, {0, 1}, {1, 3}, {0, 2, 4}, {3, 4}, {0, 4}, {1, 2, 3}, {0, 1, 2, 3, 4}};
    const shape_t strides = strides_of(shape);
    for (const auto& axes : axis_sets) {
        for (const char* op :
             {"ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceLogSumExp", "ReduceMean"}) {
            INFO(op << " over " << to_string(axes));
            const tensor y = run_kernel1(op, attrs_of({{"axes", axes}}), {&x});
            // Reference: visit every input index, fold into the output index it maps to.
            shape_t out_shape = shape;
            for (auto a : axes) out_shape[static_cast<std::size_t>(a)] = 1;
            REQUIRE(y.shape() == out_shape);
            const shape_t out_strides = strides_of(out_shape);
            const std::string o = op;
            const double init = o == "ReduceMax" ? -1e300 : o == "ReduceMin" ? 1e300 : o == "ReduceProd" ? 1 : 0;
            std::vector<double> ref(static_cast<std::size_t>(element_count(out_shape)), init);
            std::vector<double> count(ref.size(), 0);
            for (std::int64_t flat = 0; flat < x.size(); ++flat) {
                std::int64_t out_flat = 0;
                for (std::size_t d = 0; d < shape.size(); ++d) {
                    const std::int64_t i = flat / strides[d] % shape[d];
                    if (out_shape[d] != 1) out_flat += i * out_strides[d];
                }
                const double v = x.data<double>()[flat];
                double& r = ref[static_cast<std::size_t>(out_flat)];
                if (o == "ReduceMax") r = std::max(r, v);
                else if (o == "ReduceMin") r = std::min(r, v);
                else if (o == "ReduceProd") r *= v;
                else if (o == "ReduceL2") r += v * v;
                else if (o == "ReduceLogSumExp") r += std::exp(v);
                else r += v;
                count[static_cast<std::size_t>(out_flat)] += 1;
            }
            for (std::size_t i = 0; i < ref.size(); ++i) {
                if (o == "ReduceL2") ref[i] = std::sqrt(ref[i]);
                if (o == "ReduceLogSumExp") ref[i] = std::log(ref[i]);
                if (o == "ReduceMean") ref[i] /= count[i];
            }
            check_close<double>(y, ref, within(1e-12, 1e-12));
        }
    }
}

TEST_CASE("ReduceLogSumExp is stable for large inputs and ReduceMax propagates NaN") {
    const tensor big = tensor::from<float>({2, 2}, {1000, 1000, -1000, -1001});
    // 1000 + log 2; -1000 + log(1 + e^-1)
    check_close<float>(run_kernel1("ReduceLogSumExp", attrs_of({{"axes", std::vector<std::int64_t>{1}}}), {&big}),
                       {1000.6931472f, -999.6867383f}, tol_reduce);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const tensor x = tensor::from<float>({2, 3}, {1, nan, 3, 4, 5, 6});
    check_close<float>(run_kernel1("ReduceMax", attrs_of({{"axes", std::vector<std::int64_t>{1}}}), {&x}), {nan, 6},
                       tol_reduce);
    check_close<float>(run_kernel1("ReduceMin", attrs_of({{"axes", std::vector<std::int64_t>{0}}}), {&x}), {1, nan, 3},
                       tol_reduce);
}

TEST_CASE("integer reductions keep the integer type") {
    const tensor x = tensor::from<std::int32_t>({2, 3}, {1, 2, 3, 4, 5, 6});
    const auto axis1 = attrs_of({{"axes", std::vector<std::int64_t>{1}}, {"keepdims", std::int64_t{0}}});
    check_close<std::int32_t>(run_kernel1("ReduceMax", axis1, {&x}), {3, 6});
    check_close<std::int32_t>(run_kernel1("ReduceProd", axis1, {&x}), {6, 120});
    check_close<std::int32_t>(run_kernel1("ReduceMean", axis1, {&x}), {2, 5});
    CHECK_THROWS_AS(run_kernel1("ReduceL2", axis1, {&x}), unsupported_error);
}

TEST_CASE("invalid reduce axes are errors naming the node") {
    CHECK_THROWS_WITH_AS(run_kernel1("ReduceMean", attrs_of({{"axes", std::vector<std::int64_t>{3}}}), {&example()}),
                         doctest::Contains("'n0' (ReduceMean)"), error);
    CHECK_THROWS_AS(run_kernel1("ReduceMean", attrs_of({{"axes", std::vector<std::int64_t>{1, -2}}}), {&example()}),
                    error);
    const tensor float_axes = tensor::from<float>({1}, {1.f});
    CHECK_THROWS_AS(run_kernel1("ReduceSum", {}, {&example(), &float_axes}), error);
}

TEST_CASE("ArgMax and ArgMin pick the first or last extreme index") {
    const tensor x = tensor::from<float>({2, 2}, {2, 2, 3, -10});
    check_close<std::int64_t>(run_kernel1("ArgMax", attrs_of({{"axis", std::int64_t{1}}}), {&x}), {0, 0});
    check_close<std::int64_t>(
        run_kernel1("ArgMax", attrs_of({{"axis", std::int64_t{1}}, {"select_last_index", std::int64_t{1}}}), {&x}),
        {1, 0});
    const tensor y = run_kernel1("ArgMin", attrs_of({{"axis", std::int64_t{0}}, {"keepdims", std::int64_t{0}}}), {&x});
    CHECK(y.shape() == shape_t{2});
    check_close<std::int64_t>(y, {0, 1});
    const tensor z = run_kernel1("ArgMax", {}, {&x});
    CHECK(z.shape() == shape_t{1, 2});
    check_close<std::int64_t>(z, {1, 0});
    const tensor t = tensor::from<std::int32_t>({2, 3, 2}, {1, 9, 5, 9, 5, 0, 7, 7, 7, 8, 7, 8});
    check_close<std::int64_t>(run_kernel1("ArgMax", attrs_of({{"axis", std::int64_t{-2}}}), {&t}), {1, 0, 0, 1});
    check_close<std::int64_t>(
        run_kernel1("ArgMax", attrs_of({{"axis", std::int64_t{1}}, {"select_last_index", std::int64_t{1}}}), {&t}),
        {2, 1, 2, 2});
}

TEST_CASE("Softmax and LogSoftmax run along one axis") {
    const tensor x = tensor::from<float>({2, 3}, {1, 2, 3, 1, 1, 1});
    // numpy: np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)
    check_close<float>(run_kernel1("Softmax", {}, {&x}),
                       {0.09003057f, 0.24472847f, 0.66524096f, 1.f / 3, 1.f / 3, 1.f / 3}, tol_reduce);
    check_close<float>(run_kernel1("LogSoftmax", {}, {&x}),
                       {-2.40760596f, -1.40760596f, -0.40760596f, -1.09861229f, -1.09861229f, -1.09861229f},
                       tol_reduce);
    // Along axis 0 (a strided axis): columns (1,1), (2,1), (3,1).
    check_close<float>(run_kernel1("Softmax", attrs_of({{"axis", std::int64_t{0}}}), {&x}),
                       {0.5f, 0.73105858f, 0.88079708f, 0.5f, 0.26894142f, 0.11920292f}, tol_reduce);
    check_close<float>(run_kernel1("LogSoftmax", attrs_of({{"axis", std::int64_t{0}}}), {&x}),
                       {-0.69314718f, -0.31326169f, -0.12692801f, -0.69314718f, -1.31326169f, -2.12692801f},
                       tol_reduce);
    const tensor large = tensor::from<float>({1, 4}, {10000, 10001, 10002, 10003});
    check_close<float>(run_kernel1("Softmax", {}, {&large}), {0.0320586f, 0.08714432f, 0.23688282f, 0.64391426f},
                       tol_reduce);
}

TEST_CASE("Hardmax marks the first maximum along the axis") {
    const tensor x = tensor::from<float>({2, 3}, {3, 3, 1, 0, 2, 5});
    check_close<float>(run_kernel1("Hardmax", {}, {&x}), {1, 0, 0, 0, 0, 1}, tol_reduce);
    check_close<float>(run_kernel1("Hardmax", attrs_of({{"axis", std::int64_t{0}}}), {&x}), {1, 1, 0, 0, 0, 1},
                       tol_reduce);
    CHECK_THROWS_AS(run_kernel1("Hardmax", attrs_of({{"axis", std::int64_t{2}}}), {&x}), error);
}

TEST_CASE("CumSum supports exclusive and reverse along any axis") {
    const tensor x = tensor::from<double>({5}, {1, 2, 3, 4, 5});
    const tensor axis = tensor::scalar<std::int32_t>(0);
    check_close<double>(run_kernel1("CumSum", {}, {&x, &axis}), {1, 3, 6, 10, 15}, tol_reduce);
    check_close<double>(run_kernel1("CumSum", attrs_of({{"exclusive", std::int64_t{1}}}), {&x, &axis}),
                        {0, 1, 3, 6, 10}, tol_reduce);
    check_close<double>(run_kernel1("CumSum", attrs_of({{"reverse", std::int64_t{1}}}), {&x, &axis}),
                        {15, 14, 12, 9, 5}, tol_reduce);
    check_close<double>(
        run_kernel1("CumSum", attrs_of({{"reverse", std::int64_t{1}}, {"exclusive", std::int64_t{1}}}), {&x, &axis}),
        {14, 12, 9, 5, 0}, tol_reduce);
    const tensor m = tensor::from<std::int64_t>({2, 3}, {1, 2, 3, 4, 5, 6});
    const tensor axis0 = tensor::from<std::int64_t>({1}, {0});
    const tensor last = tensor::scalar<std::int64_t>(-1);
    check_close<std::int64_t>(run_kernel1("CumSum", {}, {&m, &axis0}), {1, 2, 3, 5, 7, 9});
    check_close<std::int64_t>(run_kernel1("CumSum", {}, {&m, &last}), {1, 3, 6, 4, 9, 15});
}

TEST_CASE("reductions and axis ops of empty tensors do not crash") {
    const tensor empty(dtype::float32, {2, 0, 3});
    const auto axis1 = attrs_of({{"axes", std::vector<std::int64_t>{1}}});
    const tensor s = run_kernel1("ReduceSum", axis1, {&empty});
    CHECK(s.shape() == shape_t{2, 1, 3});
    check_close<float>(s, {0, 0, 0, 0, 0, 0}, tol_reduce);
    const float inf = std::numeric_limits<float>::infinity();
    check_close<float>(run_kernel1("ReduceMax", axis1, {&empty}), {-inf, -inf, -inf, -inf, -inf, -inf}, tol_reduce);
    CHECK(run_kernel1("ReduceMean", attrs_of({{"axes", std::vector<std::int64_t>{2}}}), {&empty}).shape() ==
          shape_t{2, 0, 1});
    CHECK(run_kernel1("Softmax", {}, {&empty}).shape() == shape_t{2, 0, 3});
    CHECK_THROWS_AS(run_kernel1("ArgMax", attrs_of({{"axis", std::int64_t{1}}}), {&empty}), error);
    const tensor axis = tensor::scalar<std::int64_t>(1);
    CHECK(run_kernel1("CumSum", {}, {&empty, &axis}).shape() == shape_t{2, 0, 3});
}
