// ktc/core/dtype.hpp - element types of tensors, with their sizes and names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ktc/core/error.hpp"

namespace ktc {

// The element types ktc stores. Values follow no external numbering: onnx/ and the .npy reader map
// their own codes onto these.
enum class dtype : std::uint8_t {
    float32,
    float64,
    int8,
    uint8,
    int16,
    uint16,
    int32,
    uint32,
    int64,
    uint64,
    boolean,
};

constexpr std::size_t size_of(dtype t) {
    switch (t) {
        case dtype::int8:
        case dtype::uint8:
        case dtype::boolean: return 1;
        case dtype::int16:
        case dtype::uint16: return 2;
        case dtype::float32:
        case dtype::int32:
        case dtype::uint32: return 4;
        case dtype::float64:
        case dtype::int64:
        case dtype::uint64: return 8;
    }
    return 0;
}

inline const char* name_of(dtype t) {
    switch (t) {
        case dtype::float32: return "float32";
        case dtype::float64: return "float64";
        case dtype::int8: return "int8";
        case dtype::uint8: return "uint8";
        case dtype::int16: return "int16";
        case dtype::uint16: return "uint16";
        case dtype::int32: return "int32";
        case dtype::uint32: return "uint32";
        case dtype::int64: return "int64";
        case dtype::uint64: return "uint64";
        case dtype::boolean: return "bool";
    }
    return "?";
}

constexpr bool is_floating(dtype t) { return t == dtype::float32 || t == dtype::float64; }

// The C++ type of each dtype, and back.
// clang-format off
template <dtype T> struct cpp_type_of;
template <> struct cpp_type_of<dtype::float32> { using type = float; };
template <> struct cpp_type_of<dtype::float64> { using type = double; };
template <> struct cpp_type_of<dtype::int8> { using type = std::int8_t; };
template <> struct cpp_type_of<dtype::uint8> { using type = std::uint8_t; };
template <> struct cpp_type_of<dtype::int16> { using type = std::int16_t; };
template <> struct cpp_type_of<dtype::uint16> { using type = std::uint16_t; };
template <> struct cpp_type_of<dtype::int32> { using type = std::int32_t; };
template <> struct cpp_type_of<dtype::uint32> { using type = std::uint32_t; };
template <> struct cpp_type_of<dtype::int64> { using type = std::int64_t; };
template <> struct cpp_type_of<dtype::uint64> { using type = std::uint64_t; };
template <> struct cpp_type_of<dtype::boolean> { using type = bool; };
// clang-format on

template <class T>
constexpr dtype dtype_of();
template <>
constexpr dtype dtype_of<float>() {
    return dtype::float32;
}
template <>
constexpr dtype dtype_of<double>() {
    return dtype::float64;
}
template <>
constexpr dtype dtype_of<std::int8_t>() {
    return dtype::int8;
}
template <>
constexpr dtype dtype_of<std::uint8_t>() {
    return dtype::uint8;
}
template <>
constexpr dtype dtype_of<std::int16_t>() {
    return dtype::int16;
}
template <>
constexpr dtype dtype_of<std::uint16_t>() {
    return dtype::uint16;
}
template <>
constexpr dtype dtype_of<std::int32_t>() {
    return dtype::int32;
}
template <>
constexpr dtype dtype_of<std::uint32_t>() {
    return dtype::uint32;
}
template <>
constexpr dtype dtype_of<std::int64_t>() {
    return dtype::int64;
}
template <>
constexpr dtype dtype_of<std::uint64_t>() {
    return dtype::uint64;
}
template <>
constexpr dtype dtype_of<bool>() {
    return dtype::boolean;
}

// Calls f(T{}) with T the C++ type of `t`: the one place a runtime dtype becomes a static type.
template <class F>
decltype(auto) visit_dtype(dtype t, F&& f) {
    switch (t) {
        case dtype::float32: return f(float{});
        case dtype::float64: return f(double{});
        case dtype::int8: return f(std::int8_t{});
        case dtype::uint8: return f(std::uint8_t{});
        case dtype::int16: return f(std::int16_t{});
        case dtype::uint16: return f(std::uint16_t{});
        case dtype::int32: return f(std::int32_t{});
        case dtype::uint32: return f(std::uint32_t{});
        case dtype::int64: return f(std::int64_t{});
        case dtype::uint64: return f(std::uint64_t{});
        case dtype::boolean: return f(bool{});
    }
    throw error("invalid dtype");
}

}  // namespace ktc
