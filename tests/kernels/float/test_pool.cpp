// Pool kernels against an independent reference: a direct numpy transcription of the ONNX pooling
// definitions (checked against the ONNX backend test data), and hand-worked cases.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ktc/kernels/float/pool.hpp"
#include "support/kernel_runner.hpp"

using namespace ktc;
using namespace ktc::testing;
using ktc::kernels::kernel_call;

namespace {

// Float results are checked to 1e-5 relative and 1e-5 absolute unless a test says otherwise.
const tolerance tol_pool = within(1e-5, 1e-5);

graph::attributes window(std::vector<std::int64_t> kernel, std::vector<std::int64_t> strides = {},
                         std::vector<std::int64_t> pads = {}) {
    graph::attributes a;
    a.set("kernel_shape", kernel);
    if (!strides.empty()) a.set("strides", strides);
    if (!pads.empty()) a.set("pads", pads);
    return a;
}

}  // namespace

TEST_CASE("MaxPool 3x3 stride 2 with padding ignores the padding") {
    const tensor x = exact_pattern({1, 2, 5, 6});
    const auto y = run_kernel("MaxPool", window({3, 3}, {2, 2}, {1, 1, 1, 1}), {&x});
    check_close<float>(y[0], {1, 2, 3, 3},
                       {0.875f, 5.5f, 4.25f, 5.875f, 5.875f, 4.625f, 5.875f, 5.875f, 5.0f, 6.25f, 5.375f, 4.125f, 5.75f,
                        5.75f, 4.5f, 5.75f, 5.75f, 4.875f},
                       tol_pool);
}

TEST_CASE("MaxPool with dilations, asymmetric pads and ceil_mode") {
    const tensor x = exact_pattern({1, 1, 6, 7});
    auto a = window({2, 3}, {2, 1}, {0, 1, 1, 0});
    a.set("dilations", std::vector<std::int64_t>{2, 1});
    a.set("ceil_mode", std::int64_t{1});
    check_close<float>(run_kernel1("MaxPool", a, {&x}), {1, 1, 3, 6},
                       {0.0f, 4.625f, 4.625f, 4.625f, 5.875f, 5.875f, 1.625f, 6.25f, 6.25f, 6.25f, 5.875f, 5.875f,
                        1.625f, 6.25f, 6.25f, 6.25f, 2.875f, 2.875f},
                       tol_pool);
}

TEST_CASE("AveragePool divides by the taps inside the input unless count_include_pad") {
    const tensor x = exact_pattern({1, 2, 5, 6});
    auto a = window({3, 3}, {2, 2}, {1, 1, 1, 1});
    check_close<float>(run_kernel1("AveragePool", a, {&x}), {1, 2, 3, 3},
                       {-2.6875f, 0.0416666679f, -1.22916663f, 1.0625f, 0.986111104f, -0.986111104f, 1.65625f,
                        1.22916663f, -0.0416666679f, 0.34375f, -0.0833333358f, -1.35416663f, 0.9375f, 0.861111104f,
                        -1.11111116f, 1.53125f, 1.10416663f, -0.166666672f},
                       tol_pool);
    a.set("count_include_pad", std::int64_t{1});
    check_close<float>(run_kernel1("AveragePool", a, {&x}), {1, 2, 3, 3},
                       {-1.19444442f, 0.027777778f, -0.819444418f, 0.708333313f, 0.986111104f, -0.986111104f,
                        0.736111104f, 0.819444418f, -0.027777778f, 0.152777776f, -0.055555556f, -0.902777791f, 0.625f,
                        0.861111104f, -1.11111116f, 0.680555582f, 0.736111104f, -0.111111112f},
                       tol_pool);
}

TEST_CASE("AveragePool ceil_mode windows are clipped at the padded input") {
    const tensor x = exact_pattern({1, 1, 6, 6});
    auto a = window({3, 3}, {2, 2}, {1, 1, 1, 1});
    a.set("ceil_mode", std::int64_t{1});
    check_close<float>(run_kernel1("AveragePool", a, {&x}), {1, 1, 4, 4},
                       {-2.6875f, 0.0416666679f, -1.22916663f, -0.8125f, 1.0625f, 0.986111104f, -0.986111104f, -3.375f,
                        1.85416663f, 0.375f, -0.194444448f, 1.625f, 2.25f, -1.33333337f, -0.5f, 4.125f},
                       tol_pool);
    a.set("count_include_pad", std::int64_t{1});
    check_close<float>(
        run_kernel1("AveragePool", a, {&x}), {1, 1, 4, 4},
        {-1.19444442f, 0.027777778f, -0.819444418f, -0.270833343f, 0.708333313f, 0.986111104f, -0.986111104f, -1.6875f,
         1.23611116f, 0.375f, -0.194444448f, 0.8125f, 0.75f, -0.666666687f, -0.25f, 1.03125f},
        tol_pool);
}

TEST_CASE("Pooling honours auto_pad SAME_LOWER, SAME_UPPER and VALID") {
    const tensor x = exact_pattern({1, 1, 5, 5});
    auto a = window({3, 2}, {2, 2});
    a.set("auto_pad", std::string("SAME_LOWER"));
    a.set("pads", std::vector<std::int64_t>{7, 7, 7, 7});  // ignored under auto_pad
    check_close<float>(run_kernel1("AveragePool", a, {&x}), {1, 1, 3, 3},
                       {-1.0f, -0.375f, -0.59375f, 2.125f, -1.45833337f, 1.47916663f, -1.0625f, -0.4375f, 2.5f},
                       tol_pool);
    a.set("auto_pad", std::string("SAME_UPPER"));
    check_close<float>(run_kernel1("MaxPool", a, {&x}), {1, 1, 3, 3},
                       {4.25f, 5.5f, -0.375f, 4.625f, 5.5f, 5.875f, 4.625f, 1.25f, 5.875f}, tol_pool);
    auto v = window({3, 2}, {1, 2});
    v.set("auto_pad", std::string("VALID"));
    check_close<float>(run_kernel1("AveragePool", v, {&x}), {1, 1, 3, 2},
                       {-1.85416663f, 1.08333337f, 0.229166672f, 1.0625f, 0.208333328f, -1.0625f}, tol_pool);
}

TEST_CASE("Pooling works over one and three spatial axes") {
    const tensor x1 = exact_pattern({1, 2, 7});
    check_close<float>(run_kernel1("MaxPool", window({3}, {2}, {1, 1}), {&x1}), {1, 2, 4},
                       {-1.625f, 3.0f, 4.25f, 4.25f, 5.5f, 5.5f, 2.125f, 3.375f}, tol_pool);
    auto a = window({3}, {2}, {1, 1});
    a.set("count_include_pad", std::int64_t{1});
    check_close<float>(run_kernel1("AveragePool", a, {&x1}), {1, 2, 4},
                       {-2.625f, -1.20833337f, -0.375f, 0.166666672f, 2.125f, 1.70833337f, -1.66666663f, 0.708333313f},
                       tol_pool);

    const tensor x3 = exact_pattern({1, 1, 3, 4, 5});
    check_close<float>(run_kernel1("MaxPool", window({2, 2, 2}), {&x3}), {1, 1, 2, 3, 4},
                       {4.25f, 5.0f, 5.5f, 5.5f,  6.25f, 5.0f, 5.5f, 5.5f,  6.25f, 4.625f, 5.375f, 5.875f,
                        4.5f,  5.0f, 5.0f, 5.75f, 6.25f, 5.0f, 5.0f, 5.75f, 6.25f, 4.875f, 5.375f, 5.375f},
                       tol_pool);
    check_close<float>(
        run_kernel1("AveragePool", window({2, 3, 2}, {1, 1, 2}, {1, 0, 1, 0, 1, 1}), {&x3}), {1, 1, 3, 3, 3},
        {0.0416666679f, -1.4375f,     -0.604166687f, 2.125f,        -1.45833337f,   1.47916663f,   1.0625f,
         -1.46875f,     1.46875f,     0.0f,          -0.427083343f, -0.645833313f,  2.08333325f,   -0.447916657f,
         0.385416657f,  3.125f,       -0.984375f,    0.375f,        -0.0833333358f, -0.510416687f, 0.322916657f,
         -0.104166664f, 0.520833313f, 0.302083343f,  0.9375f,       -0.015625f,     -0.234375f},
        tol_pool);
}

TEST_CASE("LpPool takes the p-norm of each window") {
    const tensor x = exact_pattern({1, 1, 4, 4});
    check_close<float>(run_kernel1("LpPool", window({2, 2}, {2, 2}), {&x}), {1, 1, 2, 2},
                       {7.73991299f, 6.98771238f, 7.03229141f, 7.77315092f}, tol_pool);
    const tensor x2 = exact_pattern({1, 2, 4, 5});
    auto a = window({3, 3}, {1, 1}, {1, 1, 1, 1});
    a.set("p", std::int64_t{3});
    check_close<float>(
        run_kernel1("LpPool", a, {&x2}), {1, 2, 4, 5},
        {7.22999096f, 7.4022975f,  7.21810198f, 6.94323254f, 6.74638271f, 8.38865948f, 8.52669621f, 8.52356148f,
         7.79725313f, 7.63133287f, 7.61054993f, 7.83990622f, 8.44501114f, 8.26787758f, 8.06256866f, 6.77739477f,
         7.05871105f, 7.25903034f, 7.25903034f, 6.99392271f, 4.672925f,   7.32740116f, 6.94323254f, 7.21810198f,
         4.39156961f, 7.05761337f, 8.7358532f,  7.92883253f, 8.11586761f, 6.03160763f, 7.68964338f, 8.45246315f,
         8.09105206f, 7.87615442f, 6.97544003f, 7.22962952f, 7.38069344f, 7.22805977f, 6.92641878f, 6.75412703f},
        within(1e-4, 1e-4));
}

TEST_CASE("MaxPool Indices are flat input indices in row- or column-major order") {
    const tensor x = exact_pattern({1, 1, 4, 4});
    auto a = window({2, 2}, {1, 1}, {0, 0, 1, 1});
    auto out = run_kernel("MaxPool", a, {&x}, 2);
    check_close<float>(out[0], {1, 1, 4, 4},
                       {4.25f, 4.25f, 3.0f, 0.875f, 5.5f, 4.25f, 2.125f, 0.875f, 5.5f, 3.375f, 2.125f, 0.0f, 3.375f,
                        3.375f, 0.0f, 0.0f},
                       tol_pool);
    REQUIRE(out[1].type() == dtype::int64);
    CHECK(out[1].to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{5, 5, 2, 7, 8, 5, 10, 7, 8, 13, 10, 15, 13, 13, 15, 15});
    a.set("storage_order", std::int64_t{1});
    out = run_kernel("MaxPool", a, {&x}, 2);
    CHECK(out[1].to_vector<std::int64_t>() ==
          std::vector<std::int64_t>{5, 5, 8, 13, 2, 5, 10, 13, 2, 7, 10, 15, 7, 7, 15, 15});

    // Indices count the batch and channel planes before the window's own.
    const tensor x2 = exact_pattern({2, 3, 2, 2});
    out = run_kernel("MaxPool", window({2, 2}), {&x2}, 2);
    const auto idx = out[1].to_vector<std::int64_t>();
    const auto yv = out[0].to_vector<float>();
    const auto xv = x2.to_vector<float>();
    for (std::size_t i = 0; i < idx.size(); ++i) {
        CHECK(idx[i] / 4 == static_cast<std::int64_t>(i));
        CHECK(xv[idx[i]] == yv[i]);
    }
}

TEST_CASE("MaxPool keeps integer types") {
    const tensor x = tensor::from<std::uint8_t>({1, 1, 3, 3}, {3, 250, 7, 9, 0, 4, 1, 2, 255});
    const auto y = run_kernel("MaxPool", window({2, 2}, {1, 1}, {0, 0, 1, 1}), {&x});
    REQUIRE(y[0].type() == dtype::uint8);
    CHECK(y[0].to_vector<int>() == std::vector<int>{250, 250, 7, 9, 255, 255, 2, 255, 255});
}

TEST_CASE("Global pools reduce every spatial axis") {
    const tensor x = exact_pattern({2, 3, 2, 3});
    const shape_t s{2, 3, 1, 1};
    check_close<float>(run_kernel1("GlobalAveragePool", {}, {&x}), s,
                       {-1.0f, -0.604166687f, -0.208333328f, 0.1875f, 0.583333313f, 0.979166687f}, tol_pool);
    check_close<float>(run_kernel1("GlobalMaxPool", {}, {&x}), s, {4.25f, 5.5f, 4.625f, 5.875f, 5.0f, 6.25f}, tol_pool);
    check_close<float>(run_kernel1("GlobalLpPool", {}, {&x}), s,
                       {9.6905241f, 9.50575447f, 8.19298458f, 8.82379627f, 8.30097866f, 9.69132996f}, tol_pool);
    graph::attributes p3;
    p3.set("p", std::int64_t{3});
    check_close<float>(run_kernel1("GlobalLpPool", p3, {&x}), s,
                       {7.81475401f, 7.65046787f, 6.51635408f, 7.34958458f, 6.58733225f, 7.81987858f}, tol_pool);

    // A 7x7 plane (more than one vector of lanes, with a tail) and a 1-D input.
    const tensor big = exact_pattern({1, 2, 7, 7});
    const auto xv = big.to_vector<float>();
    const auto avg = run_kernel1("GlobalAveragePool", {}, {&big});
    const auto mx = run_kernel1("GlobalMaxPool", {}, {&big});
    for (int c = 0; c < 2; ++c) {
        double sum = 0;
        float m = -1e30f;
        for (int i = 0; i < 49; ++i) {
            sum += xv[c * 49 + i];
            m = std::max(m, xv[c * 49 + i]);
        }
        CHECK(avg.to_vector<float>()[c] == doctest::Approx(sum / 49).epsilon(1e-6));
        CHECK(mx.to_vector<float>()[c] == m);
    }
    const tensor x1 = exact_pattern({1, 1, 5});
    CHECK(run_kernel1("GlobalAveragePool", {}, {&x1}).shape() == shape_t{1, 1, 1});
}

TEST_CASE("MaxRoiPool follows Caffe's ROIPooling") {
    const tensor x = exact_pattern({2, 2, 6, 8});
    const tensor rois =
        tensor::from<float>({4, 5}, {0, 1, 1, 5, 4, 1, 0.4f, 0.6f, 7.6f, 5.4f, 1, 2, 2, 2, 2, 0, -3, -3, 20, 20});
    graph::attributes a;
    a.set("pooled_shape", std::vector<std::int64_t>{2, 3});
    check_close<float>(
        run_kernel1("MaxRoiPool", a, {&x, &rois}), {4, 2, 2, 3},
        {2.125f, 5.875f, 3.375f, 0.375f, 5.0f,   1.625f, 4.875f,  6.125f,  6.125f,  3.125f,  4.375f,  4.375f,
         5.875f, 5.5f,   2.125f, 5.875f, 6.25f,  0.375f, 6.125f,  3.625f,  4.875f,  5.25f,   5.625f,  6.0f,
         3.375f, 3.375f, 3.375f, 3.375f, 3.375f, 3.375f, -1.875f, -1.875f, -1.875f, -1.875f, -1.875f, -1.875f,
         5.875f, 6.25f,  0.0f,   0.0f,   0.0f,   0.0f,   6.125f,  5.625f,  0.0f,    0.0f,    0.0f,    0.0f},
        tol_pool);
    const tensor roi2 = tensor::from<float>({1, 5}, {1, 2, 3, 13, 9});
    a.set("pooled_shape", std::vector<std::int64_t>{3, 2});
    a.set("spatial_scale", 0.5f);
    check_close<float>(run_kernel1("MaxRoiPool", a, {&x, &roi2}), {1, 2, 3, 2},
                       {3.375f, 4.625f, 6.25f, 3.75f, 6.25f, 2.875f, 6.125f, 4.0f, 5.625f, 5.625f, 5.625f, 6.0f},
                       tol_pool);
    const tensor bad = tensor::from<float>({1, 5}, {2, 0, 0, 1, 1});
    CHECK_THROWS_AS(run_kernel("MaxRoiPool", a, {&x, &bad}), error);
}

TEST_CASE("MaxUnpool scatters values to their indices") {
    // MaxPool 2x2 stride 2 over [[1,2,3,4],[5,6,7,8],[9,10,11,12],[13,14,15,16]] keeps
    // 6, 8, 14, 16 at flat indices 5, 7, 13, 15.
    const tensor v = tensor::from<float>({1, 1, 2, 2}, {6, 8, 14, 16});
    const tensor i = tensor::from<std::int64_t>({1, 1, 2, 2}, {5, 7, 13, 15});
    const auto a = window({2, 2}, {2, 2});
    auto y = run_kernel1("MaxUnpool", a, {&v, &i});
    CHECK(y.shape() == shape_t{1, 1, 4, 4});
    CHECK(y.to_vector<float>() == std::vector<float>{0, 0, 0, 0, 0, 6, 0, 8, 0, 0, 0, 0, 0, 14, 0, 16});
    const tensor shape = tensor::from<std::int64_t>({4}, {1, 1, 5, 5});
    y = run_kernel1("MaxUnpool", a, {&v, &i, &shape});
    CHECK(y.shape() == shape_t{1, 1, 5, 5});
    std::vector<float> want(25, 0.f);
    want[5] = 6, want[7] = 8, want[13] = 14, want[15] = 16;
    CHECK(y.to_vector<float>() == want);
    const tensor far = tensor::from<std::int64_t>({1, 1, 2, 2}, {5, 7, 13, 16});
    CHECK_THROWS_AS(run_kernel("MaxUnpool", a, {&v, &far}), error);
}

TEST_CASE("The separable fast path matches the plain twin") {
    using namespace kernels::floating::pool_detail;
    std::mt19937 rng(7);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    const char* pads_modes[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
    int tried = 0;
    for (int iter = 0; iter < 300; ++iter) {
        const int nsp = pick(1, 3);
        shape_t xs{pick(1, 2), pick(1, 3)};
        std::vector<std::int64_t> k, s, d, p(2 * nsp);
        for (int a = 0; a < nsp; ++a) {
            xs.push_back(pick(1, nsp == 3 ? 6 : 12));
            k.push_back(pick(1, 4));
            s.push_back(pick(1, 3));
            d.push_back(pick(1, 2));
            p[a] = pick(0, 4);
            p[a + nsp] = pick(0, 4);
        }
        graph::attributes at = window(k, s, p);
        at.set("dilations", d);
        at.set("ceil_mode", std::int64_t{pick(0, 1)});
        at.set("auto_pad", std::string(pads_modes[pick(0, 3)]));
        const tensor x = exact_pattern(xs);
        graph::node node;
        node.name = "n";
        node.op_type = "MaxPool";
        node.attrs = at;
        const tensor* in[] = {&x};
        std::vector<tensor> outs(1);
        const kernel_call call{node, in, outs};
        pool_params pp;
        try {
            pp = parse_pool(call, xs);
        } catch (const error&) {
            continue;  // a window larger than the input
        }
        ++tried;
        INFO("iteration " << iter);
        tensor fast(dtype::float32, pp.output_shape()), plain(dtype::float32, pp.output_shape());
        pool_separable<pool_mode::max, float>(x.data<float>(), fast.data<float>(), pp);
        pool_direct<float>(x.data<float>(), plain.data<float>(), pp, direct_mode::max);
        CHECK(fast.to_vector<float>() == plain.to_vector<float>());
        for (bool include : {false, true}) {
            pool_separable<pool_mode::sum, float>(x.data<float>(), fast.data<float>(), pp, true, include);
            pool_direct<float>(x.data<float>(), plain.data<float>(), pp,
                               include ? direct_mode::average_include_pad : direct_mode::average);
            const auto f = fast.to_vector<float>(), q = plain.to_vector<float>();
            for (std::size_t i = 0; i < f.size(); ++i) CHECK(f[i] == doctest::Approx(q[i]).epsilon(1e-5).scale(1.0));
        }
    }
    CHECK(tried > 150);
}

TEST_CASE("Pool kernels reject bad attributes and shapes") {
    const tensor x = exact_pattern({1, 1, 4, 4});
    const tensor flat = exact_pattern({4, 4});
    CHECK_THROWS_AS(run_kernel("MaxPool", window({2}), {&x}), error);
    CHECK_THROWS_AS(run_kernel("MaxPool", window({2, 2}), {&flat}), error);
    CHECK_THROWS_AS(run_kernel("MaxPool", window({5, 5}), {&x}), error);
    CHECK_THROWS_AS(run_kernel("MaxPool", window({0, 2}), {&x}), error);
    CHECK_THROWS_AS(run_kernel("MaxPool", window({2, 2}, {0, 1}), {&x}), error);
    CHECK_THROWS_AS(run_kernel("MaxPool", window({2, 2}, {}, {1, 1}), {&x}), error);
    CHECK_THROWS_AS(run_kernel("MaxPool", graph::attributes{}, {&x}), error);
    auto bad_pad = window({2, 2});
    bad_pad.set("auto_pad", std::string("SAME"));
    CHECK_THROWS_AS(run_kernel("MaxPool", bad_pad, {&x}), error);
    const tensor ints = tensor::zeros(dtype::int32, {1, 1, 4, 4});
    CHECK_THROWS_AS(run_kernel("AveragePool", window({2, 2}), {&ints}), unsupported_error);
    CHECK_THROWS_AS(run_kernel("MaxPool", window({2, 2}), {nullptr}), error);
}
