// tests/convert/test_convert_cli.cpp - what every converter shares: the testdata folder.
#include <doctest/doctest.h>

#include <filesystem>

#include "convert/testdata.hpp"

TEST_CASE("the converter testdata folder is where the tests look") {
    const auto dir = ktc::testing::converter_testdata();
    if (dir.empty()) return;
    CHECK(std::filesystem::is_directory(dir / "tflite"));
}
