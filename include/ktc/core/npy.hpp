// ktc/core/npy.hpp - NumPy .npy files (format versions 1, 2 and 3) to and from ktc::tensor.
//
// Reads little-endian float32/64, int8/16/32/64, uint8/16/32/64 and bool arrays in C order.
// Every malformed header is a file_error naming the file and the field; the declared shape is
// checked against the limits and the file size before any allocation.
#pragma once

#include "ktc/core/config.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "ktc/core/atomic_file.hpp"
#include "ktc/core/read_file.hpp"
#include "ktc/core/tensor.hpp"

namespace ktc::npy {

namespace detail {

KTC_DECL const char* descr_of(dtype t);

KTC_DECL bool dtype_from_descr(std::string_view d, dtype& out);

// Finds `'key':` in the header dict and returns the text after the colon.
KTC_DECL std::string_view value_after(std::string_view header, std::string_view key);

}  // namespace detail

// Parses a whole .npy image held in memory; `name` is used in error messages.
KTC_DECL tensor parse(std::string_view bytes, const std::string& name);

// Largest .npy file ktc reads (8 GiB + header), checked before reading.
inline constexpr std::uintmax_t max_file_bytes = (std::uintmax_t{1} << 33) + 4096;

KTC_DECL tensor load(const std::filesystem::path& path);

// The .npy image of a tensor (format version 1, header padded to 64 bytes).
KTC_DECL std::string serialize(const tensor& t);

KTC_DECL void save(const std::filesystem::path& path, const tensor& t);

}  // namespace ktc::npy

#if KTC_HEADER_ONLY
#include "ktc/core/npy.ipp"
#endif
