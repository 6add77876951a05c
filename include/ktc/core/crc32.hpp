// ktc/core/crc32.hpp - CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, the zlib/PNG one),
// the checksum of ktc's .bie and .nef files.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace ktc {

namespace detail {
constexpr std::array<std::uint32_t, 256> crc32_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}
inline constexpr auto crc32_lookup = crc32_table();
}  // namespace detail

// crc32("123456789") == 0xCBF43926. `crc` continues an earlier call over preceding bytes.
inline std::uint32_t crc32(std::string_view bytes, std::uint32_t crc = 0) {
    crc = ~crc;
    for (const unsigned char b : bytes) crc = detail::crc32_lookup[(crc ^ b) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

}  // namespace ktc
