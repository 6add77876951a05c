// ktc/io/bytes.hpp - fixed-size values in ktc's file formats (.bie, .nef): written and read as
// their in-memory bytes, which is little-endian on every host ktc targets (x86-64, AArch64).
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace ktc::io {

template <class T>
void put(std::string& out, T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
}

// The T at byte `at` of `bytes`; the caller has checked that it lies inside.
template <class T>
T get_at(std::string_view bytes, std::size_t at) {
    T v;
    std::memcpy(&v, bytes.data() + at, sizeof(T));
    return v;
}

}  // namespace ktc::io
