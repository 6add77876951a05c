// ktc/platform/limits.hpp - the vocabulary platform traits state their constraints in: integer
// ranges, small sets of allowed values and pooling windows. Each one can say "no limit" and can
// describe itself, so a broken constraint is reported in the words of the table it comes from.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>

namespace ktc::platform {

// Inclusive range of integers.
struct int_range {
    std::int64_t lo = std::numeric_limits<std::int64_t>::min();
    std::int64_t hi = std::numeric_limits<std::int64_t>::max();

    constexpr bool contains(std::int64_t v) const { return lo <= v && v <= hi; }
    constexpr bool unbounded() const { return *this == int_range{}; }
    constexpr bool operator==(const int_range&) const = default;
    std::string to_string() const {
        if (lo == hi) return std::to_string(lo);
        if (hi == std::numeric_limits<std::int64_t>::max()) return ">= " + std::to_string(lo);
        if (lo == std::numeric_limits<std::int64_t>::min()) return "<= " + std::to_string(hi);
        return std::to_string(lo) + ".." + std::to_string(hi);
    }
};
inline constexpr int_range any_int{};
constexpr int_range up_to(std::int64_t hi) { return {std::numeric_limits<std::int64_t>::min(), hi}; }

// A few allowed integers; an empty set allows any value.
struct int_set {
    std::array<std::int64_t, 4> values{};
    std::size_t count = 0;

    constexpr bool any() const { return count == 0; }
    constexpr bool contains(std::int64_t v) const {
        if (any()) return true;
        for (std::size_t i = 0; i < count; ++i)
            if (values[i] == v) return true;
        return false;
    }
    std::string to_string() const {
        if (any()) return "any";
        std::string s;
        for (std::size_t i = 0; i < count; ++i) s += (i ? ", " : "") + std::to_string(values[i]);
        return s;
    }
};
inline constexpr int_set any_value{};
template <class... T>
constexpr int_set one_of(T... v) {
    static_assert(sizeof...(T) >= 1 && sizeof...(T) <= 4, "int_set holds 1 to 4 values");
    return int_set{{static_cast<std::int64_t>(v)...}, sizeof...(T)};
}

// A pooling window the NPU runs: a square kernel (0: any kernel) and the strides allowed with it
// on each spatial axis.
struct pool_window {
    std::int64_t kernel = 0;
    int_set strides = any_value;
};

}  // namespace ktc::platform
