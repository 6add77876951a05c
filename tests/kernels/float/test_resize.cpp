// Tests of the Resize kernel. Expected values come from the ONNX reference implementation
// (onnx/backend/test/case/node/resize.py, interpolate_nd with nearest/linear/cubic coefficients,
// onnx 1.12), run with numpy on the inputs built below.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ktc/kernels/float/resize.hpp"
#include "support/kernel_runner.hpp"

namespace {

using namespace ktc;
using namespace ktc::testing;

tensor floats(shape_t shape, std::vector<float> v) {
    return tensor::from<float>(std::move(shape), std::span<const float>(v));
}
tensor ints_resize(std::vector<std::int64_t> v) {
    return tensor::from<std::int64_t>({static_cast<std::int64_t>(v.size())}, std::span<const std::int64_t>(v));
}

// Float results are checked to 1e-5 relative and 1e-5 absolute.
const tolerance tol_resize = within(1e-5, 1e-5);

// Inputs of the reference computations.
tensor input_x() {  // arange(18).reshape(1,2,3,3) * 0.5 - 2
    std::vector<float> v(18);
    for (int i = 0; i < 18; ++i) v[i] = static_cast<float>(i) * 0.5f - 2.f;
    return floats({1, 2, 3, 3}, v);
}
tensor input_z() {  // arange(24).reshape(1,2,3,4) ** 1.5 / 7, float32
    std::vector<float> v(24);
    for (int i = 0; i < 24; ++i) v[i] = std::pow(static_cast<float>(i), 1.5f) / 7.f;
    return floats({1, 2, 3, 4}, v);
}
tensor input_w() {  // (arange(24).reshape(2,3,4) % 5) * 1.25
    std::vector<float> v(24);
    for (int i = 0; i < 24; ++i) v[i] = static_cast<float>(i % 5) * 1.25f;
    return floats({2, 3, 4}, v);
}

// nearest 2x half_pixel
const shape_t nearest_2x_half_pixel_shape = {1, 2, 6, 6};
// clang-format off
const std::vector<double> nearest_2x_half_pixel = {-2.0, -2.0, -1.5, -1.5, -1.0, -1.0, -2.0, -2.0, -1.5, -1.5, -1.0, -1.0, -0.5, -0.5, 0.0, 0.0, 0.5, 0.5, -0.5, -0.5, 0.0, 0.0, 0.5, 0.5, 1.0, 1.0, 1.5, 1.5, 2.0, 2.0, 1.0, 1.0, 1.5, 1.5, 2.0, 2.0, 2.5, 2.5, 3.0, 3.0, 3.5, 3.5, 2.5, 2.5, 3.0, 3.0, 3.5, 3.5, 4.0, 4.0, 4.5, 4.5, 5.0, 5.0, 4.0, 4.0, 4.5, 4.5, 5.0, 5.0, 5.5, 5.5, 6.0, 6.0, 6.5, 6.5, 5.5, 5.5, 6.0, 6.0, 6.5, 6.5};
// clang-format on

// nearest asym floor 2x3
const shape_t nearest_asym_floor_2x3_shape = {1, 1, 4, 6};
// clang-format off
const std::vector<double> nearest_asym_floor_2x3 = {1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.0, 4.0, 4.0, 4.0};
// clang-format on

// linear 2x half_pixel
const shape_t linear_2x_half_pixel_shape = {1, 2, 6, 8};
// clang-format off
const std::vector<double> linear_2x_half_pixel = {0.0, 0.0357142873108387, 0.1071428656578064, 0.20815812051296234, 0.33876004815101624, 0.48862266540527344, 0.657745897769928, 0.7423075437545776, 0.2857142984867096, 0.3408958911895752, 0.4512591063976288, 0.5868146419525146, 0.7475625276565552, 0.9254944324493408, 1.1206104755401611, 1.2181684970855713, 0.8571429252624512, 0.9512591361999512, 1.1394916772842407, 1.3441277742385864, 1.5651674270629883, 1.7992379665374756, 2.046339511871338, 2.1698904037475586, 1.6652649641036987, 1.7894935607910156, 2.0379507541656494, 2.2976486682891846, 2.5685875415802, 2.849860906600952, 3.1414690017700195, 3.2872731685638428, 2.71008038520813, 2.8555991649627686, 3.146636486053467, 3.4473776817321777, 3.7578227519989014, 4.077363014221191, 4.405999183654785, 4.570316791534424, 3.2324881553649902, 3.3886518478393555, 3.700979232788086, 4.022242069244385, 4.352440357208252, 4.69111442565918, 5.03826379776001, 5.211838722229004, 5.938460350036621, 6.1278510093688965, 6.5066328048706055, 6.89284610748291, 7.286491870880127, 7.68729829788208, 8.095266342163086, 8.299249649047852, 6.739559650421143, 6.936002731323242, 7.328888893127441, 7.728973388671875, 8.136256217956543, 8.550488471984863, 8.971670150756836, 9.18226146697998, 8.341758728027344, 8.552306175231934, 8.973401069641113, 9.401226997375488, 9.835784912109375, 10.27686882019043, 10.724479675292969, 10.948285102844238, 10.051526069641113, 10.275362968444824, 10.723037719726562, 11.177046775817871, 11.63739013671875, 12.103898048400879, 12.576569557189941, 12.812905311584473, 11.868863105773926, 12.105175018310547, 12.577797889709473, 13.05643081665039, 13.541071891784668, 14.031575202941895, 14.527939796447754, 14.776123046875, 12.777531623840332, 13.02008056640625, 13.505178451538086, 13.996122360229492, 14.492912292480469, 14.995412826538086, 15.503625869750977, 15.757731437683105};
// clang-format on

// linear align_corners sizes 1,2,5,3
const shape_t linear_align_corners_sizes_1_2_5_3_shape = {1, 2, 5, 3};
// clang-format off
const std::vector<double> linear_align_corners_sizes_1_2_5_3 = {0.0, 0.2734590768814087, 0.7423075437545776, 0.5714285969734192, 1.0609180927276611, 1.6940293312072754, 1.1428571939468384, 1.848376989364624, 2.6457512378692627, 2.1876726150512695, 3.0178592205047607, 3.9287948608398438, 3.2324881553649902, 4.187341213226318, 5.211838722229004, 5.938460350036621, 7.089669227600098, 8.299249649047852, 7.540658950805664, 8.77556037902832, 10.06527328491211, 9.142857551574707, 10.46145248413086, 11.831296920776367, 10.96019458770752, 12.352984428405762, 13.794513702392578, 12.777531623840332, 14.24451732635498, 15.757731437683105};
// clang-format on

// cubic 2x half_pixel
const shape_t cubic_2x_half_pixel_shape = {1, 2, 6, 8};
// clang-format off
const std::vector<double> cubic_2x_half_pixel = {-0.13213792443275452, -0.1039011999964714, -0.06031909957528114, 0.043368320912122726, 0.1423283815383911, 0.32176992297172546, 0.4781773090362549, 0.5749150514602661, 0.16358673572540283, 0.22155418992042542, 0.31317993998527527, 0.4717164933681488, 0.6000902056694031, 0.8220447897911072, 1.0081230401992798, 1.1234365701675415, 0.6249572038650513, 0.7312601804733276, 0.9009987115859985, 1.1485868692398071, 1.3246121406555176, 1.6154013872146606, 1.8494819402694702, 1.994849681854248, 1.6813722848892212, 1.8361310958862305, 2.0840346813201904, 2.424591302871704, 2.653541326522827, 3.021968364715576, 3.3113813400268555, 3.491342306137085, 2.7362680435180664, 2.9122397899627686, 3.194220542907715, 3.579162359237671, 3.836423635482788, 4.2474493980407715, 4.5682783126831055, 4.767836093902588, 3.3851027488708496, 3.574669122695923, 3.87849497795105, 4.291712284088135, 4.56688117980957, 5.004810810089111, 5.345442295074463, 5.557354927062988, 5.521852493286133, 5.742162227630615, 6.095398902893066, 6.5722737312316895, 6.887514591217041, 7.386098861694336, 7.771668434143066, 8.011609077453613, 6.454449653625488, 6.684880256652832, 7.054380416870117, 7.552306175231934, 7.8808674812316895, 8.399699211120605, 8.800335884094238, 9.049671173095703, 7.945523262023926, 8.192255973815918, 8.587949752807617, 9.11977767944336, 9.469788551330566, 10.021221160888672, 10.446115493774414, 10.710576057434082, 10.2088623046875, 10.476628303527832, 10.906116485595703, 11.48178768157959, 11.859611511230469, 12.453408241271973, 12.909890174865723, 13.194046020507812, 11.966346740722656, 12.248000144958496, 12.699797630310059, 13.304495811462402, 13.700790405273438, 14.32278823852539, 14.800353050231934, 15.097650527954102, 13.057440757751465, 13.347780227661133, 13.813529968261719, 14.43637752532959, 14.844220161437988, 15.483848571777344, 15.974590301513672, 16.28010368347168};
// clang-format on

// cubic asym A=-0.5 exclude_outside sizes 1,2,2,7
const shape_t cubic_asym_a_0_5_exclude_outside_sizes_1_2_2_7_shape = {1, 2, 2, 7};
// clang-format off
const std::vector<double> cubic_asym_a_0_5_exclude_outside_sizes_1_2_2_7 = {0.0, 0.06257133185863495, 0.1732875257730484, 0.32036563754081726, 0.5116729736328125, 0.7126212120056152, 0.7824952602386475, 2.316359281539917, 2.591388702392578, 2.962648391723633, 3.3041536808013916, 3.6896891593933105, 4.061244964599609, 4.191898822784424, 5.938460350036621, 6.310019016265869, 6.80668306350708, 7.255419731140137, 7.754034519195557, 8.228944778442383, 8.39619255065918, 11.255590438842773, 11.712464332580566, 12.320296287536621, 12.864631652832031, 13.464975357055664, 14.033580780029297, 14.233967781066895};
// clang-format on

// trilinear sizes 3,5,3
const shape_t trilinear_sizes_3_5_3_shape = {3, 5, 3};
// clang-format off
const std::vector<double> trilinear_sizes_3_5_3 = {0.2083333283662796, 1.875, 3.5416667461395264, 1.7916666269302368, 1.375, 3.0416667461395264, 4.166666507720947, 0.625, 2.2916667461395264, 4.041666507720947, 1.75, 1.5416666269302368, 3.9583332538604736, 2.5, 1.0416666269302368, 1.4583333730697632, 3.125, 2.1875, 2.0, 2.625, 2.7291667461395264, 2.8125, 1.875, 3.5416667461395264, 2.375, 2.0625, 2.7916667461395264, 2.0833332538604736, 2.1875, 2.2916667461395264, 2.7083332538604736, 4.375, 0.8333333134651184, 2.2083332538604736, 3.875, 2.4166667461395264, 1.4583333730697632, 3.125, 4.791666507720947, 0.7083333134651184, 2.375, 4.041666507720947, 0.2083333283662796, 1.875, 3.5416667461395264};
// clang-format on

// tf_crop_and_resize
const shape_t tf_crop_and_resize_shape = {1, 2, 3, 3};
// clang-format off
const std::vector<double> tf_crop_and_resize = {0.796125054359436, 1.0107275247573853, 1.2508310079574585, 2.3851327896118164, 2.7150001525878906, 3.061204433441162, -1.0, -1.0, -1.0, 8.189103126525879, 8.687661170959473, 9.197135925292969, 11.318707466125488, 11.874035835266113, 12.439178466796875, -1.0, -1.0, -1.0};
// clang-format on

// nearest int64 round_prefer_ceil asym down
const shape_t nearest_int64_round_prefer_ceil_asym_down_shape = {1, 1, 2, 2};
const std::vector<double> nearest_int64_round_prefer_ceil_asym_down = {0, 2, 4, 6};

}  // namespace

TEST_CASE("Resize nearest 2x with the default half_pixel / round_prefer_floor") {
    const tensor x = input_x();
    const tensor scales = floats({4}, {1, 1, 2, 2});
    check_close<float>(run_kernel1("Resize", {}, {&x, nullptr, &scales}), nearest_2x_half_pixel_shape,
                       nearest_2x_half_pixel, tol_resize);
}

TEST_CASE("Resize nearest asymmetric/floor is what Upsample means") {
    const tensor y = floats({1, 1, 2, 2}, {1, 2, 3, 4});
    const tensor scales = floats({4}, {1, 1, 2, 3});
    const auto a = attrs_of(
        {{"coordinate_transformation_mode", std::string("asymmetric")}, {"nearest_mode", std::string("floor")}});
    check_close<float>(run_kernel1("Resize", a, {&y, nullptr, &scales}), nearest_asym_floor_2x3_shape,
                       nearest_asym_floor_2x3, tol_resize);
}

TEST_CASE("Resize nearest keeps integer data exact") {
    std::vector<std::int64_t> v(12);
    for (int i = 0; i < 12; ++i) v[i] = i;
    const tensor x = tensor::from<std::int64_t>({1, 1, 3, 4}, std::span<const std::int64_t>(v));
    const tensor scales = floats({4}, {1, 1, 0.7f, 0.6f});
    const auto a = attrs_of({{"coordinate_transformation_mode", std::string("asymmetric")},
                             {"nearest_mode", std::string("round_prefer_ceil")}});
    const tensor out = run_kernel1("Resize", a, {&x, nullptr, &scales});
    REQUIRE(out.type() == dtype::int64);
    check_close<std::int64_t>(out, nearest_int64_round_prefer_ceil_asym_down_shape,
                              nearest_int64_round_prefer_ceil_asym_down);
}

TEST_CASE("Resize linear 2x half_pixel (bilinear NCHW upsample)") {
    const tensor z = input_z();
    const tensor scales = floats({4}, {1, 1, 2, 2});
    const tensor roi(dtype::float32, {0});  // an empty roi is the same as none
    check_close<float>(run_kernel1("Resize", attrs_of({{"mode", std::string("linear")}}), {&z, &roi, &scales}),
                       linear_2x_half_pixel_shape, linear_2x_half_pixel, tol_resize);
}

TEST_CASE("Resize linear align_corners to sizes") {
    const tensor z = input_z();
    const tensor sizes = ints_resize({1, 2, 5, 3});
    const auto a =
        attrs_of({{"mode", std::string("linear")}, {"coordinate_transformation_mode", std::string("align_corners")}});
    check_close<float>(run_kernel1("Resize", a, {&z, nullptr, nullptr, &sizes}),
                       linear_align_corners_sizes_1_2_5_3_shape, linear_align_corners_sizes_1_2_5_3, tol_resize);
}

TEST_CASE("Resize linear over three axes is trilinear") {
    const tensor w = input_w();
    const tensor sizes = ints_resize({3, 5, 3});
    check_close<float>(
        run_kernel1("Resize", attrs_of({{"mode", std::string("linear")}}), {&w, nullptr, nullptr, &sizes}),
        trilinear_sizes_3_5_3_shape, trilinear_sizes_3_5_3, tol_resize);
}

TEST_CASE("Resize cubic, default and with A=-0.5 exclude_outside") {
    const tensor z = input_z();
    const tensor scales = floats({4}, {1, 1, 2, 2});
    check_close<float>(run_kernel1("Resize", attrs_of({{"mode", std::string("cubic")}}), {&z, nullptr, &scales}),
                       cubic_2x_half_pixel_shape, cubic_2x_half_pixel, tol_resize);
    const tensor sizes = ints_resize({1, 2, 2, 7});
    const auto a = attrs_of({{"mode", std::string("cubic")},
                             {"cubic_coeff_a", -0.5f},
                             {"exclude_outside", std::int64_t{1}},
                             {"coordinate_transformation_mode", std::string("asymmetric")}});
    check_close<float>(run_kernel1("Resize", a, {&z, nullptr, nullptr, &sizes}),
                       cubic_asym_a_0_5_exclude_outside_sizes_1_2_2_7_shape,
                       cubic_asym_a_0_5_exclude_outside_sizes_1_2_2_7, tol_resize);
}

TEST_CASE("Resize tf_crop_and_resize extrapolates outside the roi") {
    const tensor z = input_z();
    const tensor roi = floats({8}, {0, 0, 0.2f, 0.4f, 1, 1, 1.1f, 0.8f});
    const tensor sizes = ints_resize({1, 2, 3, 3});
    const auto a = attrs_of({{"mode", std::string("linear")},
                             {"coordinate_transformation_mode", std::string("tf_crop_and_resize")},
                             {"extrapolation_value", -1.0f}});
    check_close<float>(run_kernel1("Resize", a, {&z, &roi, nullptr, &sizes}), tf_crop_and_resize_shape,
                       tf_crop_and_resize, tol_resize);
}

TEST_CASE("Resize with unit scales is a copy") {
    const tensor z = input_z();
    const tensor scales = floats({4}, {1, 1, 1, 1});
    for (const char* mode : {"nearest", "linear", "cubic"}) {
        const tensor out = run_kernel1("Resize", attrs_of({{"mode", std::string(mode)}}), {&z, nullptr, &scales});
        CHECK(out.shape() == z.shape());
        CHECK(out.to_vector<float>() == z.to_vector<float>());
    }
}

TEST_CASE("Resize fast paths agree with the generic per-element formula on a 2x NCHW upsample") {
    // Bilinear half_pixel 2x computed element by element here (the plain twin) vs the kernel's
    // separable passes.
    const std::int64_t n = 2, c = 3, h = 5, w = 7;
    std::vector<float> v(static_cast<std::size_t>(n * c * h * w));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 37) % 101) / 10.f;
    const tensor x = floats({n, c, h, w}, v);
    const tensor scales = floats({4}, {1, 1, 2, 2});
    const tensor out = run_kernel1("Resize", attrs_of({{"mode", std::string("linear")}}), {&x, nullptr, &scales});
    REQUIRE(out.shape() == shape_t{n, c, 2 * h, 2 * w});
    auto coord = [](std::int64_t o, std::int64_t len, double& frac) {
        const double xo = std::clamp((o + 0.5) / 2.0 - 0.5, 0.0, static_cast<double>(len - 1));
        const auto i0 = static_cast<std::int64_t>(std::floor(xo));
        frac = xo - static_cast<double>(i0);
        return i0;
    };
    const float* o = out.data<float>();
    for (std::int64_t p = 0; p < n * c; ++p)
        for (std::int64_t y = 0; y < 2 * h; ++y)
            for (std::int64_t xx = 0; xx < 2 * w; ++xx) {
                double fy, fx;
                const auto y0 = coord(y, h, fy), x0 = coord(xx, w, fx);
                const auto y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
                auto at = [&](std::int64_t yy, std::int64_t xi) {
                    return static_cast<double>(v[(p * h + yy) * w + xi]);
                };
                const double expect = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) +
                                      fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1));
                REQUIRE(std::abs(o[(p * 2 * h + y) * 2 * w + xx] - expect) < 1e-5);
            }
}

TEST_CASE("Resize rejects inconsistent operands") {
    const tensor z = input_z();
    const tensor scales = floats({4}, {1, 1, 2, 2});
    const tensor sizes = ints_resize({1, 2, 6, 8});
    CHECK_THROWS_AS(run_kernel1("Resize", {}, {&z, nullptr, &scales, &sizes}), ktc::error);
    CHECK_THROWS_AS(run_kernel1("Resize", {}, {&z}), ktc::error);
    const tensor short_scales = floats({2}, {2, 2});
    CHECK_THROWS_AS(run_kernel1("Resize", {}, {&z, nullptr, &short_scales}), ktc::error);
    const tensor zero = floats({4}, {1, 1, 0, 2});
    CHECK_THROWS_AS(run_kernel1("Resize", {}, {&z, nullptr, &zero}), ktc::error);
    const tensor i = tensor::from<std::int32_t>({1, 1, 1, 2}, {1, 2});
    CHECK_THROWS_AS(run_kernel1("Resize", attrs_of({{"mode", std::string("linear")}}), {&i, nullptr, &scales}),
                    ktc::unsupported_error);
}

TEST_CASE("Resize fused last-two-axes kernel equals the separable passes bit for bit") {
    using namespace ktc::kernels::floating::resize_impl;
    const std::int64_t n = 2, c = 3, h = 5, w = 6;
    std::vector<float> v(static_cast<std::size_t>(n * c * h * w));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 53) % 97) / 7.f - 3.f;
    const tensor x = floats({n, c, h, w}, v);
    struct variant {
        interpolation mode;
        coordinate_mode coords;
        std::int64_t out_h, out_w;
    };
    for (const variant& var : {variant{interpolation::linear, coordinate_mode::half_pixel, 10, 12},
                               variant{interpolation::linear, coordinate_mode::align_corners, 3, 13},
                               variant{interpolation::cubic, coordinate_mode::half_pixel, 10, 12},
                               variant{interpolation::cubic, coordinate_mode::asymmetric, 7, 4}}) {
        options o;
        o.mode = var.mode;
        o.coordinates = var.coords;
        const shape_t out_shape = {n, c, var.out_h, var.out_w};
        std::vector<axis_taps> taps;
        for (std::size_t a = 0; a < 4; ++a) {
            axis_geometry g;
            g.in = x.shape()[a];
            g.out = out_shape[a];
            g.scale = static_cast<double>(g.out) / static_cast<double>(g.in);
            g.resized_length = static_cast<double>(g.out);
            taps.push_back(make_taps(o, g));
        }
        tensor fused, separable;
        interpolate<float>(x, fused, taps, 0.f);
        interpolate_separable<float>(x, separable, taps, 0.f);
        REQUIRE(fused.shape() == out_shape);
        REQUIRE(separable.shape() == out_shape);
        CHECK(fused.to_vector<float>() == separable.to_vector<float>());
    }
}

TEST_CASE("Resize rejects absurd output sizes and handles empty outputs") {
    const tensor z = input_z();
    const tensor huge = ints_resize({1, 2, std::int64_t{1} << 40, 4});
    CHECK_THROWS_AS(run_kernel1("Resize", {}, {&z, nullptr, nullptr, &huge}), ktc::error);
    const tensor huge_scales = floats({4}, {1, 1, 1e30f, 1});
    CHECK_THROWS_AS(run_kernel1("Resize", {}, {&z, nullptr, &huge_scales}), ktc::error);
    const tensor empty = ints_resize({1, 0, std::int64_t{1} << 31, 4});
    CHECK(run_kernel1("Resize", {}, {&z, nullptr, nullptr, &empty}).size() == 0);  // no tap tables allocated
    const tensor zero = ints_resize({1, 0, 5, 4});
    CHECK(run_kernel1("Resize", attrs_of({{"mode", std::string("linear")}}), {&z, nullptr, nullptr, &zero}).shape() ==
          shape_t{1, 0, 5, 4});
}
