// Tests of the layout kernels. Expected values were computed with numpy (np.pad, np.tile,
// np.take, np.triu, reshape/transpose formulations of DepthToSpace/SpaceToDepth, ...) or by hand;
// the fast transpose paths are checked element for element against a plain index-mapping twin.
#include <doctest/doctest.h>

#include <numeric>
#include <string>
#include <vector>

#include "support/kernel_runner.hpp"

namespace {

using namespace ktc;
using namespace ktc::testing;

template <class T>
tensor iota_tensor(shape_t shape, T start = T(0)) {
    std::vector<T> v(static_cast<std::size_t>(element_count(shape)));
    if (v.empty()) return tensor(dtype_of<T>(), std::move(shape));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(start + static_cast<T>(i));
    return tensor::from<T>(std::move(shape), std::span<const T>(v));
}

tensor ints_layout(std::vector<std::int64_t> v) {
    return tensor::from<std::int64_t>({static_cast<std::int64_t>(v.size())}, std::span<const std::int64_t>(v));
}

// Plain twin of Transpose: out[j...] = in[perm-mapped index].
template <class T>
std::vector<T> naive_transpose(const tensor& in, const std::vector<std::int64_t>& perm) {
    const auto& s = in.shape();
    const std::size_t r = s.size();
    shape_t os(r);
    for (std::size_t j = 0; j < r; ++j) os[j] = s[perm[j]];
    const auto is = strides_of(s);
    std::vector<T> out(static_cast<std::size_t>(in.size()));
    std::vector<std::int64_t> idx(r, 0);
    for (std::int64_t o = 0; o < in.size(); ++o) {
        std::int64_t rem = o, src = 0;
        const auto ost = strides_of(os);
        for (std::size_t j = 0; j < r; ++j) {
            const std::int64_t i = rem / ost[j];
            rem %= ost[j];
            src += i * is[perm[j]];
        }
        out[o] = in.data<T>()[src];
    }
    return out;
}

}  // namespace

TEST_CASE("Transpose matches the plain index mapping on fast and generic paths") {
    struct tcase {
        shape_t shape;
        std::vector<std::int64_t> perm;
    };
    const std::vector<tcase> cases = {
        {{2, 3, 4, 5}, {0, 2, 3, 1}},        // NCHW -> NHWC
        {{2, 4, 5, 3}, {0, 3, 1, 2}},        // NHWC -> NCHW
        {{1, 2, 3, 4, 5}, {0, 2, 1, 3, 4}},  // channel shuffle
        {{3, 1, 4, 1, 5}, {4, 3, 2, 1, 0}},  // reverse with unit dims
        {{37, 19}, {1, 0}},                  // 2-D, tiles not a multiple of 16
        {{2, 3, 4}, {1, 2, 0}},
        {{2, 3, 4}, {2, 0, 1}},
        {{2, 3, 4, 5}, {3, 1, 0, 2}},
        {{2, 3, 4, 5}, {1, 0, 3, 2}},
        {{1, 1, 1}, {2, 1, 0}},
    };
    for (const auto& c : cases) {
        CAPTURE(to_string(c.shape));
        const tensor f = iota_tensor<float>(c.shape);
        const tensor out = run_kernel1("Transpose", attrs_of({{"perm", c.perm}}), {&f});
        shape_t expect_shape;
        for (auto p : c.perm) expect_shape.push_back(c.shape[p]);
        check_close<float>(out, expect_shape, naive_transpose<float>(f, c.perm), exactly);
        const tensor b = iota_tensor<std::uint8_t>(c.shape);
        check_close<std::uint8_t>(run_kernel1("Transpose", attrs_of({{"perm", c.perm}}), {&b}), expect_shape,
                                  naive_transpose<std::uint8_t>(b, c.perm));
        const tensor l = iota_tensor<std::int64_t>(c.shape);
        check_close<std::int64_t>(run_kernel1("Transpose", attrs_of({{"perm", c.perm}}), {&l}), expect_shape,
                                  naive_transpose<std::int64_t>(l, c.perm));
    }
}

TEST_CASE("Transpose defaults to reversing the axes") {
    const tensor x = iota_tensor<float>({2, 3});
    check_close<float>(run_kernel1("Transpose", {}, {&x}), {3, 2}, {0, 3, 1, 4, 2, 5}, exactly);
}

TEST_CASE("Transpose rejects a perm that is not a permutation") {
    const tensor x = iota_tensor<float>({2, 3});
    CHECK_THROWS_AS(run_kernel1("Transpose", attrs_of({{"perm", std::vector<std::int64_t>{0, 0}}}), {&x}), ktc::error);
}

TEST_CASE("Reshape copies 0 dims, infers -1, honours allowzero") {
    const tensor x = iota_tensor<float>({2, 3, 4});
    const tensor s1 = ints_layout({0, -1});
    const tensor r1 = run_kernel1("Reshape", {}, {&x, &s1});
    CHECK(r1.shape() == shape_t{2, 12});
    CHECK(r1.to_vector<float>() == x.to_vector<float>());
    const tensor s2 = ints_layout({4, 0, -1});
    CHECK(run_kernel1("Reshape", {}, {&x, &s2}).shape() == shape_t{4, 3, 2});
    const tensor e = iota_tensor<float>({0, 3});
    const tensor s3 = ints_layout({3, 0});
    CHECK(run_kernel1("Reshape", attrs_of({{"allowzero", std::int64_t{1}}}), {&e, &s3}).shape() == shape_t{3, 0});
    const tensor bad = ints_layout({5, -1});
    CHECK_THROWS_AS(run_kernel1("Reshape", {}, {&x, &bad}), ktc::error);
}

TEST_CASE("Flatten, Squeeze and Unsqueeze change only the shape") {
    const tensor x = iota_tensor<float>({2, 1, 3, 1});
    CHECK(run_kernel1("Flatten", {}, {&x}).shape() == shape_t{2, 3});
    CHECK(run_kernel1("Flatten", attrs_of({{"axis", std::int64_t{0}}}), {&x}).shape() == shape_t{1, 6});
    CHECK(run_kernel1("Flatten", attrs_of({{"axis", std::int64_t{-1}}}), {&x}).shape() == shape_t{6, 1});
    CHECK(run_kernel1("Squeeze", {}, {&x}).shape() == shape_t{2, 3});
    const tensor ax = ints_layout({-1});
    CHECK(run_kernel1("Squeeze", {}, {&x, &ax}).shape() == shape_t{2, 1, 3});
    const tensor bad = ints_layout({0});
    CHECK_THROWS_AS(run_kernel1("Squeeze", {}, {&x, &bad}), ktc::error);
    const tensor un = ints_layout({0, -1});
    const tensor y = iota_tensor<float>({2, 3});
    const tensor u = run_kernel1("Unsqueeze", {}, {&y, &un});
    check_close<float>(u, {1, 2, 3, 1}, {0, 1, 2, 3, 4, 5}, exactly);
}

TEST_CASE("Concat joins along an axis, including empty inputs") {
    const tensor a = iota_tensor<float>({1, 2, 2});
    const tensor b = iota_tensor<float>({1, 1, 2}, 10.f);
    const tensor e = iota_tensor<float>({1, 0, 2});
    check_close<float>(run_kernel1("Concat", attrs_of({{"axis", std::int64_t{1}}}), {&a, &e, &b}), {1, 3, 2},
                       {0, 1, 2, 3, 10, 11}, exactly);
    check_close<float>(run_kernel1("Concat", attrs_of({{"axis", std::int64_t{-1}}}), {&a, &a}), {1, 2, 4},
                       {0, 1, 0, 1, 2, 3, 2, 3}, exactly);
    CHECK_THROWS_AS(run_kernel1("Concat", attrs_of({{"axis", std::int64_t{2}}}), {&a, &b}), ktc::error);
}

TEST_CASE("Split equal and by sizes") {
    const tensor x = iota_tensor<float>({2, 4});
    auto parts = run_kernel("Split", attrs_of({{"axis", std::int64_t{1}}}), {&x}, 2);
    check_close<float>(parts[0], {2, 2}, {0, 1, 4, 5}, exactly);
    check_close<float>(parts[1], {2, 2}, {2, 3, 6, 7}, exactly);
    const tensor sizes = ints_layout({1, 0, 3});
    parts = run_kernel("Split", attrs_of({{"axis", std::int64_t{-1}}}), {&x, &sizes}, 3);
    check_close<float>(parts[0], {2, 1}, {0, 4}, exactly);
    CHECK(parts[1].shape() == shape_t{2, 0});
    check_close<float>(parts[2], {2, 3}, {1, 2, 3, 5, 6, 7}, exactly);
    CHECK_THROWS_AS(run_kernel("Split", attrs_of({{"axis", std::int64_t{1}}}), {&x}, 3), ktc::error);
}

TEST_CASE("Slice clamps, steps backwards and accepts negative axes") {
    const tensor x = iota_tensor<float>({4, 5});
    const tensor starts = ints_layout({1, -1}), ends = ints_layout({1000, -1000}), axes = ints_layout({0, -1}),
                 steps = ints_layout({2, -2});
    check_close<float>(run_kernel1("Slice", {}, {&x, &starts, &ends, &axes, &steps}), {2, 3}, {9, 7, 5, 19, 17, 15},
                       exactly);
    const tensor s2 = ints_layout({-3, 1}), e2 = ints_layout({3, -1});
    check_close<float>(run_kernel1("Slice", {}, {&x, &s2, &e2}), {2, 3}, {6, 7, 8, 11, 12, 13}, exactly);
    const tensor s3 = ints_layout({10}), e3 = ints_layout({20}), a3 = ints_layout({1});
    CHECK(run_kernel1("Slice", {}, {&x, &s3, &e3, &a3}).shape() == shape_t{4, 0});
}

TEST_CASE("Pad constant, reflect, edge and negative pads") {
    const tensor y = iota_tensor<std::int32_t>({2, 3});
    const tensor p1 = ints_layout({1, 2, 1, 2});
    check_close<std::int32_t>(run_kernel1("Pad", attrs_of({{"mode", std::string("reflect")}}), {&y, &p1}), {4, 7},
                              {5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0, 5, 4, 3, 4, 5, 4, 3, 2, 1, 0, 1, 2, 1, 0});
    const tensor p2 = ints_layout({0, 1, 1, 2});
    check_close<std::int32_t>(run_kernel1("Pad", attrs_of({{"mode", std::string("edge")}}), {&y, &p2}), {3, 6},
                              {0, 0, 1, 2, 2, 2, 3, 3, 4, 5, 5, 5, 3, 3, 4, 5, 5, 5});
    const tensor p3 = ints_layout({1, 0, 0, 1});
    const tensor v = tensor::scalar<std::int32_t>(7);
    check_close<std::int32_t>(run_kernel1("Pad", {}, {&y, &p3, &v}), {3, 4}, {7, 7, 7, 7, 0, 1, 2, 7, 3, 4, 5, 7});
    const tensor p4 = ints_layout({0, -1, 0, 0});
    check_close<std::int32_t>(run_kernel1("Pad", {}, {&y, &p4}), {2, 2}, {1, 2, 4, 5});
}

TEST_CASE("Gather, GatherElements and GatherND with negative indices") {
    const tensor x = iota_tensor<float>({3, 4});
    const tensor idx = tensor::from<std::int64_t>({1, 2}, {-1, 0});
    check_close<float>(run_kernel1("Gather", attrs_of({{"axis", std::int64_t{1}}}), {&x, &idx}), {3, 1, 2},
                       {3, 0, 7, 4, 11, 8}, exactly);
    const tensor big = tensor::from<std::int64_t>({1}, {4});
    CHECK_THROWS_AS(run_kernel1("Gather", attrs_of({{"axis", std::int64_t{1}}}), {&x, &big}), ktc::error);
    const tensor d = iota_tensor<std::int32_t>({3, 3});
    const tensor ei = tensor::from<std::int32_t>({2, 2}, {1, -1, 0, 2});
    check_close<std::int32_t>(run_kernel1("GatherElements", {}, {&d, &ei}), {2, 2}, {3, 7, 0, 7});
    const tensor dd = iota_tensor<float>({2, 2, 2});
    const tensor ni = tensor::from<std::int64_t>({2, 2}, {1, 0, 0, 1});
    check_close<float>(run_kernel1("GatherND", {}, {&dd, &ni}), {2, 2}, {4, 5, 2, 3}, exactly);
}

TEST_CASE("Shape honours start and end, Size counts elements") {
    const tensor x = iota_tensor<float>({2, 3, 4});
    check_close<std::int64_t>(run_kernel1("Shape", {}, {&x}), {3}, {2, 3, 4});
    check_close<std::int64_t>(run_kernel1("Shape", attrs_of({{"start", std::int64_t{-2}}}), {&x}), {2}, {3, 4});
    check_close<std::int64_t>(
        run_kernel1("Shape", attrs_of({{"start", std::int64_t{1}}, {"end", std::int64_t{-1}}}), {&x}), {1}, {3});
    check_close<std::int64_t>(
        run_kernel1("Shape", attrs_of({{"start", std::int64_t{-10}}, {"end", std::int64_t{10}}}), {&x}), {3},
        {2, 3, 4});
    check_close<std::int64_t>(run_kernel1("Size", {}, {&x}), {}, {24});
}

TEST_CASE("Cast and CastLike convert values; float16 is unsupported") {
    const tensor x = tensor::from<float>({4}, {1.7f, -1.7f, 0.f, 2.5f});
    check_close<std::int32_t>(run_kernel1("Cast", attrs_of({{"to", std::int64_t{6}}}), {&x}), {4}, {1, -1, 0, 2});
    check_close<bool>(run_kernel1("Cast", attrs_of({{"to", std::int64_t{9}}}), {&x}), {4}, {true, true, false, true});
    const tensor like = tensor::scalar<double>(0.0);
    check_close<double>(run_kernel1("CastLike", {}, {&x, &like}), {4}, {double(1.7f), double(-1.7f), 0.0, 2.5},
                        exactly);
    CHECK_THROWS_AS(run_kernel1("Cast", attrs_of({{"to", std::int64_t{10}}}), {&x}), ktc::unsupported_error);
}

TEST_CASE("Constant and ConstantOfShape") {
    const tensor v = tensor::from<std::int32_t>({2}, {4, 5});
    check_close<std::int32_t>(run_kernel1("Constant", attrs_of({{"value", v}}), {}), {2}, {4, 5});
    check_close<float>(run_kernel1("Constant", attrs_of({{"value_float", 1.5f}}), {}), {}, {1.5f}, exactly);
    check_close<std::int64_t>(run_kernel1("Constant", attrs_of({{"value_ints", std::vector<std::int64_t>{1, 2}}}), {}),
                              {2}, {1, 2});
    const tensor shape = ints_layout({2, 2});
    check_close<float>(run_kernel1("ConstantOfShape", {}, {&shape}), {2, 2}, {0, 0, 0, 0}, exactly);
    const tensor one = tensor::from<std::int64_t>({1}, {9});
    check_close<std::int64_t>(run_kernel1("ConstantOfShape", attrs_of({{"value", one}}), {&shape}), {2, 2},
                              {9, 9, 9, 9});
    const tensor empty(dtype::int64, {0});
    check_close<float>(run_kernel1("ConstantOfShape", {}, {&empty}), {}, {0}, exactly);
}

TEST_CASE("Expand broadcasts and Tile repeats") {
    const tensor x = iota_tensor<float>({3, 1});
    const tensor s = ints_layout({2, 1, 4});
    check_close<float>(run_kernel1("Expand", {}, {&x, &s}), {2, 3, 4},
                       {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, exactly);
    const tensor y = iota_tensor<std::int64_t>({2, 3});
    const tensor rep = ints_layout({2, 2});
    check_close<std::int64_t>(run_kernel1("Tile", {}, {&y, &rep}), {4, 6},
                              {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5});
}

TEST_CASE("Range for floats and integers") {
    const tensor a = tensor::scalar<float>(1.f), b = tensor::scalar<float>(2.f), d = tensor::scalar<float>(0.3f);
    const tensor r = run_kernel1("Range", {}, {&a, &b, &d});
    REQUIRE(r.shape() == shape_t{4});
    const std::vector<float> expect = {1.0f, 1.2999999523162842f, 1.5999999046325684f, 1.8999998569488525f};
    for (int i = 0; i < 4; ++i) CHECK(r.data<float>()[i] == doctest::Approx(expect[i]).epsilon(1e-6));
    const tensor s = tensor::scalar<std::int32_t>(10), l = tensor::scalar<std::int32_t>(1),
                 st = tensor::scalar<std::int32_t>(-3);
    check_close<std::int32_t>(run_kernel1("Range", {}, {&s, &l, &st}), {3}, {10, 7, 4});
}

TEST_CASE("DepthToSpace (DCR, CRD) and SpaceToDepth") {
    const tensor x = iota_tensor<float>({1, 8, 1, 2});
    check_close<float>(run_kernel1("DepthToSpace", attrs_of({{"blocksize", std::int64_t{2}}}), {&x}), {1, 2, 2, 4},
                       {0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15}, exactly);
    check_close<float>(
        run_kernel1("DepthToSpace", attrs_of({{"blocksize", std::int64_t{2}}, {"mode", std::string("CRD")}}), {&x}),
        {1, 2, 2, 4}, {0, 2, 1, 3, 4, 6, 5, 7, 8, 10, 9, 11, 12, 14, 13, 15}, exactly);
    const tensor s = iota_tensor<float>({1, 1, 4, 4});
    check_close<float>(run_kernel1("SpaceToDepth", attrs_of({{"blocksize", std::int64_t{2}}}), {&s}), {1, 4, 2, 2},
                       {0, 2, 8, 10, 1, 3, 9, 11, 4, 6, 12, 14, 5, 7, 13, 15}, exactly);
}

TEST_CASE("Trilu keeps the upper or lower triangle") {
    const tensor t = iota_tensor<std::int64_t>({3, 4}, 1);
    const tensor k1 = tensor::scalar<std::int64_t>(1), km1 = tensor::scalar<std::int64_t>(-1);
    check_close<std::int64_t>(run_kernel1("Trilu", {}, {&t, &k1}), {3, 4}, {0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12});
    check_close<std::int64_t>(run_kernel1("Trilu", attrs_of({{"upper", std::int64_t{0}}}), {&t, &km1}), {3, 4},
                              {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
}

TEST_CASE("NonZero, OneHot and Dropout") {
    const tensor x = tensor::from<float>({3, 2}, {1, 0, 0, 3, 2, 0});
    check_close<std::int64_t>(run_kernel1("NonZero", {}, {&x}), {2, 3}, {0, 1, 2, 0, 1, 0});
    const tensor ind = tensor::from<std::int64_t>({4}, {1, -1, 5, 0});
    const tensor depth = tensor::scalar<std::int64_t>(3);
    const tensor values = tensor::from<float>({2}, {0.f, 1.f});
    check_close<float>(run_kernel1("OneHot", attrs_of({{"axis", std::int64_t{0}}}), {&ind, &depth, &values}), {3, 4},
                       {0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0}, exactly);
    auto outs = run_kernel("Dropout", {}, {&x}, 2);
    check_close<float>(outs[0], {3, 2}, {1, 0, 0, 3, 2, 0}, exactly);
    check_close<bool>(outs[1], {3, 2}, {true, true, true, true, true, true});
    const tensor ratio = tensor::scalar<float>(0.5f);
    const tensor training = tensor::scalar<bool>(true);
    CHECK_THROWS_AS(run_kernel("Dropout", {}, {&x, &ratio, &training}, 1), ktc::unsupported_error);
}

TEST_CASE("Compress, ScatterElements, ScatterND, EyeLike and ReverseSequence") {
    const tensor x = iota_tensor<float>({3, 2});
    const tensor c = tensor::from<bool>({3}, {false, true, true});
    check_close<float>(run_kernel1("Compress", attrs_of({{"axis", std::int64_t{0}}}), {&x, &c}), {2, 2}, {2, 3, 4, 5},
                       exactly);
    const tensor cf = tensor::from<bool>({4}, {true, false, false, true});
    check_close<float>(run_kernel1("Compress", {}, {&x, &cf}), {2}, {0, 3}, exactly);

    const tensor data = tensor::zeros(dtype::float32, {1, 5});
    const tensor idx = tensor::from<std::int64_t>({1, 3}, {1, 3, -4});
    const tensor upd = tensor::from<float>({1, 3}, {1, 2, 3});
    check_close<float>(
        run_kernel1("ScatterElements", attrs_of({{"axis", std::int64_t{1}}, {"reduction", std::string("add")}}),
                    {&data, &idx, &upd}),
        {1, 5}, {0, 4, 0, 2, 0}, exactly);
    check_close<float>(run_kernel1("ScatterElements", attrs_of({{"axis", std::int64_t{1}}}), {&data, &idx, &upd}),
                       {1, 5}, {0, 3, 0, 2, 0}, exactly);

    const tensor d8 = iota_tensor<std::int32_t>({8});
    const tensor nd = tensor::from<std::int64_t>({4, 1}, {4, 3, 1, 7});
    const tensor nu = tensor::from<std::int32_t>({4}, {9, 10, 11, 12});
    check_close<std::int32_t>(run_kernel1("ScatterND", {}, {&d8, &nd, &nu}), {8}, {0, 11, 2, 10, 9, 5, 6, 12});

    const tensor shape_src = tensor::zeros(dtype::int32, {3, 4});
    check_close<float>(
        run_kernel1("EyeLike", attrs_of({{"k", std::int64_t{1}}, {"dtype", std::int64_t{1}}}), {&shape_src}), {3, 4},
        {0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, exactly);

    const tensor seq = iota_tensor<float>({4, 2});  // [time, batch]
    const tensor lens = ints_layout({4, 2});
    check_close<float>(run_kernel1("ReverseSequence", {}, {&seq, &lens}), {4, 2}, {6, 3, 4, 1, 2, 5, 0, 7}, exactly);
}

TEST_CASE("Layout kernels reject absurd sizes with an error instead of crashing") {
    const tensor x = iota_tensor<float>({2, 3});
    const tensor huge_reps = ints_layout({std::int64_t{1} << 40, std::int64_t{1} << 40});
    CHECK_THROWS_AS(run_kernel1("Tile", {}, {&x, &huge_reps}), ktc::error);
    const tensor huge_pads = ints_layout({0, 0, std::int64_t{1} << 62, 0});
    CHECK_THROWS_AS(run_kernel1("Pad", {}, {&x, &huge_pads}), ktc::error);
    const tensor huge_shape = ints_layout({std::int64_t{1} << 40, std::int64_t{1} << 40});
    CHECK_THROWS_AS(run_kernel1("ConstantOfShape", {}, {&huge_shape}), ktc::error);
    CHECK_THROWS_AS(run_kernel1("Reshape", {}, {&x, &huge_shape}), ktc::error);
    CHECK_THROWS_AS(run_kernel1("Expand", {}, {&x, &huge_shape}), ktc::error);
    // A huge step picks one element.
    const tensor s = ints_layout({0}), e = ints_layout({3}), a = ints_layout({1}), st = ints_layout({INT64_MAX});
    check_close<float>(run_kernel1("Slice", {}, {&x, &s, &e, &a, &st}), {2, 1}, {0, 3}, exactly);
    const tensor st2 = ints_layout({INT64_MIN}), s2 = ints_layout({-1}), e2 = ints_layout({INT64_MIN});
    check_close<float>(run_kernel1("Slice", {}, {&x, &s2, &e2, &a, &st2}), {2, 1}, {2, 5}, exactly);
}
