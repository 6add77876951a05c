// ktc/io/bie.hpp - ktc's .bie file: a quantized model (quant::bie_model), open and documented
// (docs/formats.md).
//
// Layout, little-endian:
//   magic "KTCBIE\r\n" (8 bytes: the CR LF catches text-mode transfers, as PNG's does)
//   u32 format version, u32 section count
//   sections: char tag[4], u32 reserved (0), u64 payload length, payload, zero padding to 8 bytes
//   u32 CRC-32 of every byte before it
// Sections (each exactly once): "META" JSON (platform, options, edge formats, provenance),
// "GRPH" the quantized graph as an ONNX ModelProto (ktc.* attributes, integer initializers: not
// a model the onnx checker accepts, on purpose), "STAT" JSON calibration statistics per value.
// The reader checks size, magic, version, CRC and every length before it parses anything, and
// answers a bad file with file_error (exit 4) naming the file and what is wrong.
#pragma once

#include "ktc/core/config.hpp"

#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "ktc/core/atomic_file.hpp"
#include "ktc/core/crc32.hpp"
#include "ktc/core/read_file.hpp"
#include "ktc/io/bytes.hpp"
#include "ktc/onnx/export.hpp"
#include "ktc/onnx/import.hpp"
#include "ktc/quant/bie.hpp"

namespace ktc::io {

using quant::bie_model;
using quant::value_statistics;

inline constexpr std::string_view bie_magic{"KTCBIE\r\n", 8};
// Version 2 added the scales beside the radices (ktc.*_scale, docs/formats.md); version 1 files
// (radices only) still read, as power-of-two graphs.
inline constexpr std::uint32_t bie_version = 2;
inline constexpr std::uint32_t oldest_bie_version = 1;
inline constexpr std::uintmax_t max_bie_bytes = std::uintmax_t{2} << 30;

namespace bie_detail {

KTC_DECL void put_section(std::string& out, const char (&tag)[5], std::string_view payload);

}  // namespace bie_detail

KTC_DECL std::string serialize_bie(const bie_model& m);

KTC_DECL bie_model parse_bie(std::string_view bytes, const std::string& source);

KTC_DECL void save_bie(const bie_model& m, const std::filesystem::path& path);

KTC_DECL bie_model load_bie(const std::filesystem::path& path);

}  // namespace ktc::io

#if KTC_HEADER_ONLY
#include "ktc/io/bie.ipp"
#endif
