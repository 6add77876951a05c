#include <doctest/doctest.h>

#include <cmath>

#include "ktc/core/npy.hpp"

using namespace ktc;

TEST_CASE("npy round-trips shape, dtype and values") {
    const tensor t = tensor::from<float>({2, 3}, {1, 2, 3, 4, 5, 6});
    const tensor back = npy::parse(npy::serialize(t), "mem");
    CHECK(back.type() == dtype::float32);
    CHECK(back.shape() == shape_t{2, 3});
    CHECK(back.to_vector<float>() == t.to_vector<float>());

    const tensor scalar = tensor::scalar<std::int64_t>(7);
    CHECK(npy::parse(npy::serialize(scalar), "mem").shape().empty());
    const tensor vec = tensor::from<std::int32_t>({3}, {1, 2, 3});
    CHECK(npy::parse(npy::serialize(vec), "mem").shape() == shape_t{3});
}

TEST_CASE("npy header length keeps the data 64-byte aligned") {
    const std::string bytes = npy::serialize(tensor::from<float>({1}, {1.f}));
    CHECK((bytes.size() - 4) % 64 == 0);
}

TEST_CASE("npy rejects malformed files with a file error") {
    const std::string good = npy::serialize(tensor::from<float>({4}, {1, 2, 3, 4}));
    CHECK_THROWS_AS(npy::parse("", "f.npy"), file_error);
    CHECK_THROWS_AS(npy::parse("hello world, not numpy", "f.npy"), file_error);
    for (std::size_t cut : {5u, 9u, 20u, 70u, static_cast<unsigned>(good.size() - 1)})
        CHECK_THROWS_AS(npy::parse(good.substr(0, cut), "f.npy"), file_error);
    std::string huge = good;
    const auto at = huge.find("(4,)");
    huge.replace(at, 4, "(99999999999,)");
    CHECK_THROWS_AS(npy::parse(huge, "f.npy"), file_error);
    std::string fortran = good;
    fortran.replace(fortran.find("False"), 5, "True ");
    CHECK_THROWS_AS(npy::parse(fortran, "f.npy"), file_error);
    std::string big_endian = good;
    big_endian.replace(big_endian.find("<f4"), 3, ">f4");
    CHECK_THROWS_AS(npy::parse(big_endian, "f.npy"), file_error);
    try {
        npy::parse(good.substr(0, 70), "in.npy");
    } catch (const error& e) {
        CHECK(std::string(e.what()).starts_with("in.npy: "));
        CHECK(e.code() == exit_code::bad_file);
    }
}

TEST_CASE("casting floats to integers saturates and maps NaN to zero") {
    const tensor f = tensor::from<float>({4}, {1e20f, -1e20f, std::nanf(""), -2.7f});
    CHECK(f.cast(dtype::int8).to_vector<int>() == std::vector<int>{127, -128, 0, -2});
    CHECK(f.to_vector<std::int32_t>() == std::vector<std::int32_t>{2147483647, -2147483648, 0, -2});
    CHECK(tensor::from<float>({0}, std::span<const float>{}).size() == 0);
}
