#include <doctest/doctest.h>

#include <type_traits>

#include "ktc/platform/platform.hpp"

using namespace ktc;
using namespace ktc::platform;

TEST_CASE_TEMPLATE("a platform's CLI name dispatches back to its own tag", P, kdp520, kdp720) {
    const std::string name(platform_traits<P>::name);
    const bool same = with_platform(name, [](auto tag) { return std::is_same_v<decltype(tag), P>; });
    CHECK(same);
}

TEST_CASE_TEMPLATE("a chip value names its own tag, and its name spells it back", P, kdp520, kdp720) {
    constexpr chip c = platform_traits<P>::id;
    const bool same = with_platform(c, [](auto tag) { return std::is_same_v<decltype(tag), P>; });
    CHECK(same);
    CHECK(name_of(c) == platform_traits<P>::name);
    CHECK(chip_named(std::string(platform_traits<P>::name)) == c);
    CHECK(chip_spelled(platform_traits<P>::name) == c);
    CHECK(static_cast<std::uint32_t>(c) == std::stoul(std::string(platform_traits<P>::name)));  // the files' number
}

TEST_CASE("a name that is no chip: nothing from chip_spelled, a usage error from chip_named") {
    CHECK_FALSE(chip_spelled("530").has_value());
    CHECK_FALSE(chip_spelled("").has_value());
    CHECK_THROWS_WITH_AS(chip_named("kdp720"), doctest::Contains("'kdp720'"), usage_error);
}

TEST_CASE("with_platform returns what the callable returns for each tag") {
    const auto width = [](auto tag) { return platform_traits<decltype(tag)>::data_types.size(); };
    CHECK(with_platform("520", width) == 1);
    CHECK(with_platform("720", width) == 2);
}

TEST_CASE("an unknown platform name is a usage error naming the value") {
    const auto call = [] { with_platform("530", [](auto) { return 0; }); };
    CHECK_THROWS_WITH_AS(call(), doctest::Contains("'530'"), usage_error);
    try {
        call();
    } catch (const error& e) {
        CHECK(e.code() == exit_code::usage);
    }
    CHECK_THROWS_AS(with_platform("", [](auto) { return 0; }), usage_error);
    CHECK_THROWS_AS(with_platform("kdp520", [](auto) { return 0; }), usage_error);
}

TEST_CASE("data widths: 520 computes in int8 only, 720 in int8 and int16") {
    static_assert(supports_data_type<kdp520>(dtype::int8));
    static_assert(!supports_data_type<kdp520>(dtype::int16));
    static_assert(supports_data_type<kdp720>(dtype::int8));
    static_assert(supports_data_type<kdp720>(dtype::int16));
    static_assert(!supports_data_type<kdp720>(dtype::int32));
    CHECK(platform_traits<kdp520>::name == "520");
    CHECK(platform_traits<kdp720>::name == "720");
}

TEST_CASE("specializations override only what their table limits, the rest keeps the defaults") {
    using T520 = platform_traits<kdp520>;
    using T720 = platform_traits<kdp720>;
    // Table 1.1 limits Conv kernels, strides and pads; Table 1.2 only Conv strides.
    CHECK(T520::conv_kernel.contains(11));
    CHECK_FALSE(T520::conv_kernel.contains(12));
    CHECK(T720::conv_kernel.unbounded());
    CHECK(T520::conv_pads.to_string() == "0..15");
    CHECK(T720::conv_pads.unbounded());
    CHECK(T520::conv_strides.to_string() == "1, 2, 4");
    CHECK(T720::conv_strides.any());
    CHECK(T720::conv_strides_below[0] == 4);
    CHECK(T720::conv_strides_below[1] == 16);
    // Both tables: Concat on axis 1, Clip from 0.
    CHECK(T520::concat_axes.to_string() == "1");
    CHECK(T720::concat_axes.to_string() == "1");
    CHECK(*T520::clip_min == 0.f);
    CHECK(*T720::clip_min == 0.f);
    // Rank limits are Table 1.2's only.
    CHECK(T520::batch_norm_rank.unbounded());
    CHECK(T720::batch_norm_rank.to_string() == "<= 4");
    CHECK(T720::global_average_pool_rank.to_string() == "4");
    CHECK(T720::gemm_input_rank.to_string() == "2");
}

TEST_CASE("the vocabulary of limits: ranges, sets and 'any'") {
    CHECK(int_range{0, 15}.contains(0));
    CHECK_FALSE(int_range{0, 15}.contains(-1));
    CHECK(any_int.contains(std::numeric_limits<std::int64_t>::min()));
    CHECK(up_to(4).to_string() == "<= 4");
    CHECK(int_range{1, std::numeric_limits<std::int64_t>::max()}.to_string() == ">= 1");
    constexpr auto s = one_of(1, 2, 4);
    static_assert(s.contains(4) && !s.contains(3));
    CHECK(any_value.contains(-7));
    CHECK(any_value.to_string() == "any");
}

TEST_CASE("hardware parameters: the published 720 clocks, the 520's implied 170 GMAC/s, all set") {
    CHECK(platform_traits<kdp720>::npu_clock_mhz == 700);
    CHECK(platform_traits<kdp720>::dram_clock_mhz == 533);
    // facts §4: Tiny YOLOv3's theoretical conv time implies about 170 GMAC/s on KDP520
    const double gmacs = platform_traits<kdp520>::npu_clock_mhz * platform_traits<kdp520>::macs_per_cycle / 1e3;
    CHECK(gmacs == doctest::Approx(170).epsilon(0.05));
    // the calibrated ones (docs/cost-model.md) are all set
    CHECK(platform_traits<kdp520>::sram_bytes > 0);
    CHECK(platform_traits<kdp720>::sram_bytes > 0);
    CHECK(platform_traits<kdp520>::dram_bytes_per_second > 0);
    CHECK(platform_traits<kdp720>::dram_bytes_per_second > 0);
    CHECK(platform_traits<kdp720>::macs_per_cycle > platform_traits<kdp520>::macs_per_cycle);
}
