// Normalization kernels against numpy transcriptions of the ONNX definitions.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "support/kernel_runner.hpp"

using namespace ktc;
using namespace ktc::testing;

namespace {

// Float results are checked to 1e-5 relative and 1e-5 absolute unless a test says otherwise.
const tolerance tol_normalization = within(1e-5, 1e-5);

}  // namespace

TEST_CASE("BatchNormalization normalizes each channel with the given statistics") {
    const tensor x = exact_pattern({2, 3, 2, 2});
    const tensor s = tensor::from<float>({3}, {0.5f, 1.5f, -2.0f});
    const tensor b = tensor::from<float>({3}, {0.25f, -1.0f, 3.0f});
    const tensor m = tensor::from<float>({3}, {0.1f, -0.2f, 0.3f});
    const tensor v = tensor::from<float>({3}, {1.0f, 2.5f, 0.5f});
    graph::attributes a;
    a.set("epsilon", 1e-3f);
    const auto y = run_kernel("BatchNormalization", a, {&x, &s, &b, &m, &v});
    check_close<float>(y[0], {2, 3, 2, 2},
                       {-2.92341375f,  -0.61206907f,  1.69927549f,  -2.29872584f, -1.16598642f, 3.22079659f,
                        -4.36715221f,  0.0196306389f, -11.6931353f, 10.9116879f,  -2.15672541f, 20.4480972f,
                        -0.424662739f, 1.88668191f,   -2.11131954f, 0.200024977f, 3.57648182f,  -4.01146746f,
                        0.375315756f,  4.76209879f,   9.85208702f,  -3.21632648f, 19.3884964f,  6.32008362f},
                       tol_normalization);

    // Double precision and a rank-2 [N, C] input.
    const tensor xd = exact_pattern({4, 3}).cast(dtype::float64);
    const auto yd = run_kernel1("BatchNormalization", a, {&xd, &s, &b, &m, &v});
    REQUIRE(yd.type() == dtype::float64);
    const auto xv = xd.to_vector<double>();
    const double sv[] = {0.5, 1.5, -2.0}, bv[] = {0.25, -1.0, 3.0}, mv[] = {0.1, -0.2, 0.3}, vv[] = {1.0, 2.5, 0.5};
    for (int i = 0; i < 12; ++i) {
        const int c = i % 3;
        CHECK(yd.to_vector<double>()[i] == doctest::Approx((xv[i] - mv[c]) / std::sqrt(vv[c] + 1e-3) * sv[c] + bv[c]));
    }
}

TEST_CASE("BatchNormalization training_mode uses batch statistics and updates running ones") {
    const tensor x = exact_pattern({2, 3, 2, 2});
    const tensor s = tensor::from<float>({3}, {0.5f, 1.5f, -2.0f});
    const tensor b = tensor::from<float>({3}, {0.25f, -1.0f, 3.0f});
    const tensor m = tensor::from<float>({3}, {0.1f, -0.2f, 0.3f});
    const tensor v = tensor::from<float>({3}, {1.0f, 2.5f, 0.5f});
    graph::attributes a;
    a.set("epsilon", 1e-3f);
    a.set("momentum", 0.8f);
    a.set("training_mode", std::int64_t{1});
    const auto y = run_kernel("BatchNormalization", a, {&x, &s, &b, &m, &v}, 3);
    check_close<float>(y[0], {2, 3, 2, 2},
                       {-0.44757387f, 0.238412395f, 0.924398661f,  -0.262172163f, -1.68830383f, 0.369655013f,
                        -3.19005752f, -1.13209867f, -0.396565139f, 3.88678789f,   1.41047442f,  5.69382763f,
                        0.294032902f, 0.980019152f, -0.206551671f, 0.479434609f,  0.536516547f, -3.02319598f,
                        -0.9652372f,  1.09272158f,  3.68600583f,   1.20969224f,   5.49304533f,  3.01673174f},
                       tol_normalization);
    check_close<float>(y[1], {3}, {-0.229375005f, 0.0743750036f, 0.0712499991f}, tol_normalization);
    check_close<float>(y[2], {3}, {3.07260752f, 4.27260733f, 3.19042969f}, tol_normalization);

    // Without training_mode the running outputs are an error.
    a.set("training_mode", std::int64_t{0});
    CHECK_THROWS_AS(run_kernel("BatchNormalization", a, {&x, &s, &b, &m, &v}, 3), error);
}

TEST_CASE("InstanceNormalization normalizes each (n, c) plane") {
    const tensor x = exact_pattern({2, 3, 5});
    const tensor s = tensor::from<float>({3}, {0.5f, 1.5f, -2.0f});
    const tensor b = tensor::from<float>({3}, {0.25f, -1.0f, 3.0f});
    graph::attributes a;
    a.set("epsilon", 1e-3f);
    check_close<float>(run_kernel1("InstanceNormalization", a, {&x, &s, &b}), {2, 3, 5},
                       {-0.384118497f, 0.314166754f, 1.01245201f,  -0.195392758f,   0.502892494f, 0.397995353f,
                        -2.91577148f,  -1.0f,        0.915771425f, -2.39799523f,    1.13600624f,  5.55436182f,
                        3.0f,          0.44563812f,  4.86399364f,  -0.00289249676f, 0.695392728f, -0.512452006f,
                        0.185833246f,  0.884118497f, -1.75867748f, 0.336178273f,    -3.2873559f,  -1.19250023f,
                        0.902355492f,  5.53647423f,  2.7433331f,   -0.0498080179f,  4.78157091f,  1.98843002f},
                       tol_normalization);
}

TEST_CASE("LpNormalization divides by the L1 or L2 norm along an axis") {
    const tensor x = exact_pattern({2, 3, 4});
    check_close<float>(run_kernel1("LpNormalization", {}, {&x}), {2, 3, 4},
                       {-0.718328536f, -0.186765417f, 0.344797701f,  -0.574662805f, -0.0652482361f, 0.739479959f,
                        -0.652482331f, 0.152245879f,  0.632847905f,  -0.287658155f, 0.244509429f,   -0.675996661f,
                        -0.213297695f, 0.575903773f,  -0.789201438f, 0.0f,          0.557352841f,   -0.406716913f,
                        0.150635898f,  0.707988739f,  -0.328751862f, 0.386766881f,  -0.850887179f,  -0.135368407f},
                       tol_normalization);
    graph::attributes a;
    a.set("p", std::int64_t{1});
    a.set("axis", std::int64_t{1});
    check_close<float>(run_kernel1("LpNormalization", a, {&x}), {2, 3, 4},
                       {-0.515463889f, -0.194029853f, 0.338028163f,  -0.425531924f, -0.030927835f, 0.50746268f,
                        -0.422535211f, 0.0744680837f, 0.453608245f,  -0.298507452f, 0.239436626f,  -0.5f,
                        -0.15625f,     0.364864856f,  -0.406593412f, 0.0f,          0.578125f,     -0.364864856f,
                        0.109890111f,  0.870370388f,  -0.265625f,    0.270270258f,  -0.483516484f, -0.129629627f},
                       tol_normalization);
    const tensor zero = tensor::zeros(dtype::float32, {2, 2});
    CHECK(run_kernel1("LpNormalization", {}, {&zero}).to_vector<float>() == std::vector<float>(4, 0.f));
    a.set("p", std::int64_t{3});
    CHECK_THROWS_AS(run_kernel("LpNormalization", a, {&x}), error);
}

TEST_CASE("LRN sums squares over a window of neighbouring channels") {
    const tensor x = exact_pattern({1, 5, 2, 2});
    graph::attributes a;
    a.set("size", std::int64_t{3});
    a.set("alpha", 0.02f);
    a.set("beta", 0.75f);
    a.set("bias", 1.5f);
    check_close<float>(
        run_kernel1("LRN", a, {&x}), {1, 5, 2, 2},
        {-4.08785057f, -1.12231255f, 2.05716372f,  -3.40084982f, -0.22611928f, 2.88049793f,   -2.53689742f,
         0.540283322f, 3.67316723f,  -1.65157676f, 1.38685608f,  -3.88592267f, -0.786514878f, 2.27340531f,
         -3.12985682f, 0.0f,         3.17250991f,  -2.31627917f, 0.857435107f, 3.89451766f},
        tol_normalization);
    // An even size puts the extra channel after; a general beta takes the pow path.
    a.set("size", std::int64_t{4});
    a.set("beta", 0.6f);
    check_close<float>(
        run_kernel1("LRN", a, {&x}), {1, 5, 2, 2},
        {-4.32476377f, -1.20998526f, 2.23126078f,  -3.51239228f, -0.258829594f, 3.10021663f,   -2.68520427f,
         0.614668608f, 3.90896916f,  -1.79593217f, 1.54141176f,  -4.06301022f,  -0.888614297f, 2.50351095f,
         -3.44054961f, 0.0f,         3.46933341f,  -2.53248453f, 0.937657654f,  4.31495237f},
        tol_normalization);
    CHECK_THROWS_AS(run_kernel("LRN", {}, {&x}), error);
}

TEST_CASE("MeanVarianceNormalization normalizes over the given axes") {
    const tensor x = exact_pattern({2, 3, 2, 2});
    check_close<float>(run_kernel1("MeanVarianceNormalization", {}, {&x}), {2, 3, 2, 2},
                       {-1.39520907f,  -0.0231762305f, 1.34885669f,   -1.02438939f, -0.458889395f, 0.913143516f,
                        -1.46010256f,  -0.0880696774f, 1.6983434f,    -0.44340986f, 0.794791281f,  -1.34696198f,
                        0.0880696774f, 1.46010256f,    -0.913143516f, 0.458889395f, 1.02438939f,   -1.34885669f,
                        0.0231762305f, 1.39520907f,    -0.343015164f, 0.895185947f, -1.24656737f,  -0.00836622342f},
                       tol_normalization);
    graph::attributes a;
    a.set("axes", std::vector<std::int64_t>{1});
    check_close<float>(run_kernel1("MeanVarianceNormalization", a, {&x}), {2, 3, 2, 2},
                       {-1.22474492f,  -0.556092143f, 0.848040581f,  -0.556092143f, 0.0f,          1.40413272f,
                        -1.40413272f,  1.40413272f,   1.22474492f,   -0.848040581f, 0.556092143f,  -0.848040581f,
                        -0.556092143f, 0.848040581f,  -0.556092143f, -0.556092143f, 1.40413272f,   -1.40413272f,
                        1.40413272f,   1.40413272f,   -0.848040581f, 0.556092143f,  -0.848040581f, -0.848040581f},
                       within(1e-4, 1e-4));
}

TEST_CASE("LayerNormalization normalizes the trailing axes and reports its statistics") {
    const tensor x = exact_pattern({2, 3, 4});
    const tensor w = tensor::from<float>({4}, {1.0f, -0.5f, 2.0f, 0.25f});
    const tensor b = tensor::from<float>({4}, {0.0f, 1.0f, -1.0f, 0.5f});
    graph::attributes a;
    a.set("axis", std::int64_t{1});
    a.set("epsilon", 1e-2f);
    // Scale [4] broadcasts over the normalized [3, 4]; B omitted.
    const auto y = run_kernel("LayerNormalization", a, {&x, &w, nullptr}, 3);
    check_close<float>(y[0], {2, 3, 4},
                       {-1.41985869f,  0.107235983f,  1.98182952f,   -0.273519605f,   0.111308232f, -0.658347487f,
                        -1.53659654f,  0.109272107f,  1.64247513f,   0.221259043f,    1.52573717f,  -0.33053115f,
                        -0.356474161f, -0.486781925f, -2.65408492f,  0.000748895283f, 1.33303356f,  0.483786345f,
                        0.724930644f,  0.423125833f,  -0.608102977f, -0.360967517f,   -3.15734243f, -0.0621583089f},
                       tol_normalization);
    REQUIRE(y[1].type() == dtype::float32);
    check_close<float>(y[1], {2, 1, 1}, {-0.802083313f, -0.010416667f}, tol_normalization);
    check_close<float>(y[2], {2, 1, 1}, {0.260624141f, 0.287575781f}, tol_normalization);

    const auto y2 = run_kernel("LayerNormalization", {}, {&x, &w, &b});
    check_close<float>(y2[0], {2, 3, 4},
                       {-1.05561137f,  0.882225156f, 2.05342126f,   0.323337764f, -0.218321741f, 0.301370412f,
                        -3.79451823f,  0.55458045f,  1.31006432f,   1.26633179f,  0.0653270259f, 0.172483921f,
                        -0.218321741f, 0.301370412f, -3.79451823f,  0.55458045f,  0.706648886f,  1.76335526f,
                        -1.47109926f,  0.763902843f, -0.218321741f, 0.301370412f, -3.79451823f,  0.55458045f},
                       tol_normalization);

    const tensor bad = tensor::from<float>({3}, {1, 2, 3});
    CHECK_THROWS_AS(run_kernel("LayerNormalization", {}, {&x, &bad, nullptr}), error);
    a.set("axis", std::int64_t{3});
    CHECK_THROWS_AS(run_kernel("LayerNormalization", a, {&x, &w, nullptr}), error);
}

TEST_CASE("Normalization kernels reject bad shapes and types") {
    const tensor x = exact_pattern({2, 3, 2});
    const tensor two = tensor::from<float>({2}, {1, 2});
    const tensor three = tensor::from<float>({3}, {1, 2, 3});
    CHECK_THROWS_AS(run_kernel("BatchNormalization", {}, {&x, &two, &three, &three, &three}), error);
    CHECK_THROWS_AS(run_kernel("InstanceNormalization", {}, {&x, &three}), error);
    const tensor ints = tensor::zeros(dtype::int32, {2, 3, 2});
    CHECK_THROWS_AS(run_kernel("InstanceNormalization", {}, {&ints, &three, &three}), unsupported_error);
    graph::attributes a;
    a.set("axes", std::vector<std::int64_t>{5});
    CHECK_THROWS_AS(run_kernel("MeanVarianceNormalization", a, {&x}), error);
}
